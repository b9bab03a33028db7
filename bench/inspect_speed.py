"""How long ``crawler inspect`` takes on an archive of 100,000 rows.

Builds a synthetic archive (:mod:`bench.synthetic`: six sites, three years,
bodies of realistic length, 20 crawl runs, about 900 files) with the real
ArchiveWriter, then runs ``crawler inspect`` on it as a user would (a new
process each time: start-up, DuckDB, the scans) and keeps the median of five
runs. Target: a couple of seconds (2.0 s).
Run: ``python -m bench.inspect_speed [--rows N] [--archive DIR]`` (an existing
``--archive`` is reused instead of rebuilt).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.synthetic import build_archive

TARGET_SECONDS = 2.0
RUNS = 5


def time_inspect(archive: Path) -> list[float]:
    """Wall-clock seconds of ``crawler inspect`` runs, each in a fresh process."""
    command = [sys.executable, "-m", "crawler.cli", "inspect", "--archive", str(archive)]
    subprocess.run(command, check=True, capture_output=True)  # warm the page cache
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--archive", type=Path, help="reuse or keep the archive here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        archive = args.archive or Path(scratch) / "archive"
        built = 0.0
        if not (archive / "articles").is_dir():
            start = time.perf_counter()
            build_archive(archive, args.rows)
            built = time.perf_counter() - start
        files = sorted((archive / "articles").rglob("*.parquet"))
        size = sum(f.stat().st_size for f in files)
        times = time_inspect(archive)
    median = statistics.median(times)
    result = {
        "rows": args.rows,
        "files": len(files),
        "archive_mib": round(size / 2**20, 1),
        "build_seconds": round(built, 1),
        "inspect_seconds": [round(t, 3) for t in times],
        "median_seconds": round(median, 3),
        "target_seconds": TARGET_SECONDS,
        "target_met": median <= TARGET_SECONDS,
    }
    Path(__file__).with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0 if result["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
