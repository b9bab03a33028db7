"""``crawler reextract`` timed as a user runs it: whole commands, process start included.

An archive of ``--articles`` qdnd pages is crawled once from the generated replica
(``bench/replica.py``, on 127.0.0.1) into ``<work>/archive-<N>`` (kept: the next
run reuses it). Then, for ``--rounds`` rounds, each code tree given by ``--code``
(a directory put first on ``PYTHONPATH``; default: this one) runs
``crawler reextract`` and ``crawler reextract --force`` on a fresh hard-linked copy
of it (the archive replaces files by rename, never in place), back to back::

    python -m bench.reextract --articles 3000 --work /tmp/reextract-bench \\
        --code /path/to/main --code . --rounds 3

One JSON line per command on standard output: code, mode, seconds, pages/s, peak
RSS, exit status, the load average before it, and the summary line it printed.
``peak_rss_mib`` is ``/usr/bin/time``'s, the largest single process's; a run shared out
between worker processes is also sampled ten times a second as a whole tree:
``tree_rss_mib``, the highest sum of its processes' RSS (pages shared by a parent and
its forked workers counted in each), and ``tree_pss_mib``, the highest sum of their PSS
(shared pages divided between the processes that share them).
With ``--keep``, each copy stays (``<work>/run-<label>-<mode>-<round>``), so that
the rows the runs wrote can be compared (DuckDB; ``--compare`` does it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench.__main__ import PROJECT, crawl, log, replica
from bench.memory import tree_memory

MODES = {"unchanged": [], "force": ["--force"]}


def build(articles: int, work: Path) -> Path:
    """The archive of an ``articles``-page crawl of the replica, made once."""
    archive = work / f"archive-{articles}"
    done = archive / "bench-built.json"
    if done.exists():
        return archive
    log(f"crawling {articles:,} replica articles into {archive}")
    with replica(articles) as mirror:
        result = crawl("full", mirror, archive)
    done.write_text(json.dumps(result) + "\n")
    log(f"built: {result}")
    return archive


def timed(code: Path, archive: Path, extra: list[str]) -> dict[str, Any]:
    """Run ``crawler reextract`` from ``code`` on ``archive`` under /usr/bin/time."""
    env = {**os.environ, "PYTHONPATH": str(code)}
    with open("/proc/loadavg") as handle:
        load = handle.read().split()[0]
    command = ["/usr/bin/time", "-f", "TIME %e %M %U %S", sys.executable, "-m", "crawler.cli"]
    command += ["reextract", "--archive", str(archive), *extra]
    started = time.monotonic()
    peak = {"rss": 0, "pss": 0}
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=code
    ) as process:
        outputs: list[str] = []
        reader = threading.Thread(target=lambda: outputs.extend(process.communicate()))
        reader.start()
        while reader.is_alive():
            for name, kib in tree_memory(process.pid).items():
                peak[name] = max(peak[name], kib)
            reader.join(0.1)
    done = subprocess.CompletedProcess(command, process.returncode, *outputs)
    wall = time.monotonic() - started
    lines = done.stderr.strip().splitlines()
    timing = next((line.split() for line in reversed(lines) if line.startswith("TIME ")), None)
    seconds = float(timing[1]) if timing else wall
    summary = next((line for line in lines if line.startswith("reextract")), "")
    pages = int(summary.split(": ", 1)[1].split()[0].replace(",", "")) if ": " in summary else 0
    return {
        "seconds": seconds,
        "pages_per_s": round(pages / seconds, 1) if seconds else None,
        "cpu_seconds": round(float(timing[3]) + float(timing[4]), 2) if timing else None,
        "peak_rss_mib": round(int(timing[2]) / 1024, 1) if timing else None,
        "tree_rss_mib": round(peak["rss"] / 1024, 1),
        "tree_pss_mib": round(peak["pss"] / 1024, 1),
        "status": done.returncode,
        "load": load,
        "summary": summary,
    }


def compare(first: Path, second: Path) -> dict[str, Any]:
    """The rows the two runs wrote (each copy's newest run): every column but crawl_run
    compared as multisets, and the order they were written in (partition, the file's
    sequence number in the run, row in the file)."""
    import duckdb

    def rows(root: Path) -> str:
        glob = str(root / "articles" / "**" / "*.parquet")
        source = (
            f"read_parquet('{glob}', hive_partitioning=false, filename=true, file_row_number=true)"
        )
        return f"(SELECT * FROM {source} WHERE crawl_run = (SELECT max(crawl_run) FROM {source}))"

    con = duckdb.connect()
    a, b = rows(first), rows(second)
    columns = "* EXCLUDE (crawl_run, filename, file_row_number)"
    order = (
        "SELECT url_key FROM {} ORDER BY regexp_replace(filename, '/[^/]*$', ''),"
        " regexp_extract(filename, '-([0-9]+)[.]parquet$', 1), file_row_number"
    )

    def one(sql: str) -> Any:
        found = con.execute(sql).fetchone()
        return found[0] if found else None

    return {
        "rows": [one(f"SELECT count(*) FROM {a}"), one(f"SELECT count(*) FROM {b}")],
        "only_first": one(
            f"SELECT count(*) FROM (SELECT {columns} FROM {a} EXCEPT ALL SELECT {columns} FROM {b})"
        ),
        "only_second": one(
            f"SELECT count(*) FROM (SELECT {columns} FROM {b} EXCEPT ALL SELECT {columns} FROM {a})"
        ),
        "same_order": [r[0] for r in con.execute(order.format(a)).fetchall()]
        == [r[0] for r in con.execute(order.format(b)).fetchall()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--articles", type=int, default=3000)
    parser.add_argument("--work", type=Path, required=True, help="where archives and copies go")
    parser.add_argument("--code", type=Path, action="append", help="a code tree (repeatable)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--mode", choices=sorted(MODES), action="append", help="default: both")
    parser.add_argument("--keep", action="store_true", help="keep each run's copy")
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    archive = build(args.articles, args.work)
    if args.build_only:
        return 0
    codes = [path.resolve() for path in (args.code or [PROJECT])]
    modes = args.mode or ["unchanged", "force"]
    kept: dict[tuple[str, int], list[Path]] = {}
    for round_ in range(args.rounds):
        for mode in modes:
            for number, code in enumerate(codes):
                copy = args.work / f"run-{number}-{mode}-{round_}"
                shutil.rmtree(copy, ignore_errors=True)
                subprocess.run(["cp", "-al", str(archive), str(copy)], check=True)
                result = timed(code, copy, MODES[mode])
                result = {"articles": args.articles, "code": str(code), "mode": mode, **result}
                sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
                sys.stdout.flush()
                if args.keep:
                    kept.setdefault((mode, round_), []).append(copy)
                else:
                    shutil.rmtree(copy)
    for (mode, _round), copies in sorted(kept.items()):
        if mode == "force" and len(copies) > 1:
            for other in copies[1:]:
                figures = {"compare": [str(copies[0]), str(other)], **compare(copies[0], other)}
                sys.stdout.write(json.dumps(figures) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
