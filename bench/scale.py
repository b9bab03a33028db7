"""Every archive command at a million rows (and ten million when asked), timed as a user runs it.

Builds a synthetic archive per row count with :func:`bench.synthetic.build_archive`
(written by the real ArchiveWriter, the way crawls write it) and caches it under
``--cache`` (default ``/tmp/crawler-scale``): ``rows-<N>/archive``, reused while its
``built.json`` says it was finished. Each command then runs as a whole ``crawler …``
process (start-up included); its wall-clock time and peak RSS (``os.wait4`` of that
one child) are recorded beside the targets of issue 14, in ``bench/scale.json`` and
in a section of ``bench/RESULTS.md``.

Commands that change the archive (``compact``) run on a hard-linked copy, so the
cached archive stays as the writer left it. A command or format the installed
``crawler`` rejects is skipped and reported as such.

Run: ``python -m bench.scale --rows 1000000 [--rows 10000000]``;
``python -m bench.scale --build-only --rows 1000000`` builds (or finds) the archive
and prints its path.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.memory import tree_memory
from bench.synthetic import COPY_STRIDE, SITES, build_archive, multiply_archive
from crawler.items import sha256_hex

HERE = Path(__file__).parent
DEFAULT_CACHE = Path("/tmp/crawler-scale")
GNU_TIME = "/usr/bin/time"
MARK_START = "<!-- scale:start -->"
MARK_END = "<!-- scale:end -->"
EXPORT_ROWS_PER_S = 50_000
EXPORT_MIB = 500
BASE_ROWS = 1_000_000
"""Larger archives are this one copied (bench.synthetic.multiply_archive)."""
FILE_EXPORT_ROWS = 2_000_000
"""Above this, jsonl and csv exports go to standard output, discarded: the file would not fit."""


@dataclass
class Step:
    """One command to time, with the issue's targets (None: no number given)."""

    name: str
    argv: list[str]
    target_s: float | None = None
    target_mib: float | None = None
    note: str = ""
    python: bool = False  # argv is a Python snippet run with ``python -c``
    discard: bool = False  # standard output goes to /dev/null (a stream too large to keep)
    rows_per_s: bool = False  # also report rows/s (exports, index build)
    probe: list[str] = field(default_factory=list)  # `crawler …--help` must mention this


@dataclass
class Result:
    name: str
    seconds: float | None
    peak_mib: float | None
    status: int | None
    target_s: float | None
    target_mib: float | None
    note: str = ""
    rows_per_s: float | None = None
    met: bool | None = None


def archive_dir(cache: Path, rows: int) -> Path:
    return cache / f"rows-{rows}" / "archive"


def ensure_archive(cache: Path, rows: int) -> tuple[Path, dict[str, Any]]:
    """The cached archive of ``rows`` rows, built first if missing or half-built."""
    archive = archive_dir(cache, rows)
    marker = archive.parent / "built.json"
    archive.parent.mkdir(parents=True, exist_ok=True)
    with open(archive.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process building it: wait for it
        if marker.is_file():
            return archive, dict(json.loads(marker.read_text()))
        return _build(archive, rows, marker)


def _build(archive: Path, rows: int, marker: Path) -> tuple[Path, dict[str, Any]]:
    if archive.exists():
        shutil.rmtree(archive)  # a build that was killed: start over
    start = time.perf_counter()
    if rows > BASE_ROWS and rows % BASE_ROWS == 0:
        base, _info = ensure_archive(marker.parent.parent, BASE_ROWS)
        print(f"copying {base} to {rows:,} rows in {archive} …", file=sys.stderr, flush=True)
        multiply_archive(base, archive, rows // BASE_ROWS)
        how = f"the {BASE_ROWS:,}-row archive, {rows // BASE_ROWS} copies renumbered"
    else:
        print(f"building {rows:,} rows in {archive} …", file=sys.stderr, flush=True)
        build_archive(archive, rows)
        how = "bench.synthetic.build_archive"
    seconds = time.perf_counter() - start
    files = list((archive / "articles").rglob("*.parquet"))
    info = {
        "rows": rows,
        "files": len(files),
        "archive_mib": round(sum(f.stat().st_size for f in files) / 2**20, 1),
        "build_seconds": round(seconds, 1),
        "built_as": how,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    marker.write_text(json.dumps(info, indent=2) + "\n")
    return archive, info


def crawler_command() -> list[str]:
    """The console script beside this Python, as a user runs it."""
    script = Path(sys.executable).with_name("crawler")
    return [str(script)] if script.exists() else [sys.executable, "-m", "crawler.cli"]


def run_timed(
    argv: list[str], scratch: Path, discard: bool = False
) -> tuple[float, float, int, str, float]:
    """Wall-clock seconds, peak RSS in MiB, exit status and the last line of stderr of
    one fresh process (standard output goes to a file, as a pipe to a pager would);
    and the peak of its whole process tree (workers included), as the sum of each
    process's proportional set size (shared pages counted once), sampled."""
    import threading

    out = scratch / "stdout"
    err = scratch / "stderr"
    rss = scratch / "rss"
    # A child's ru_maxrss starts at its parent's size at fork (it is kept across exec):
    # GNU time, a small process, forks the command and reports the command's own peak.
    timer = [GNU_TIME, "-f", "%M", "-o", str(rss)] if os.access(GNU_TIME, os.X_OK) else []
    tree = [0.0]
    with open(os.devnull if discard else out, "wb") as o, open(err, "wb") as e:
        start = time.perf_counter()
        process = subprocess.Popen([*timer, *argv], stdout=o, stderr=e)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.1):
                tree[0] = max(tree[0], tree_memory(process.pid)["pss"] / 1024)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
        done.set()
        sampler.join()
        process.returncode = os.waitstatus_to_exitcode(status)
    lines = err.read_text(errors="replace").strip().splitlines()
    peak = int(rss.read_text().split()[-1]) if timer else usage.ru_maxrss
    return seconds, peak / 1024, process.returncode, lines[-1] if lines else "", tree[0]


def accepts(command: list[str], name: str, words: list[str]) -> bool:
    """Whether ``crawler NAME --help`` mentions every word (a command or option exists)."""
    done = subprocess.run([*command, name, "--help"], capture_output=True, text=True)
    return done.returncode == 0 and all(w in done.stdout for w in words)


def sample_url(rows: int) -> str:
    """The URL of a row the synthetic archive holds (near the middle)."""
    n = rows // 2 + 1
    if rows > BASE_ROWS:  # copies: copy c holds BASE_ROWS numbers from c * COPY_STRIDE
        copy = min(n // COPY_STRIDE, rows // BASE_ROWS - 1)
        n = copy * COPY_STRIDE + min(n - copy * COPY_STRIDE, BASE_ROWS - 1)
    return SITES[n % len(SITES)][3].format(n=n)


def steps(archive: Path, rows: int, scratch: Path, copy: Path) -> list[Step]:
    url = sample_url(rows)
    a = ["--archive", str(archive)]
    export_s = rows / EXPORT_ROWS_PER_S
    site = SITES[0][0]
    known = (
        "import resource, sys, time;"
        "t = time.perf_counter();"
        "from crawler.archive import known_url_keys;"
        f"keys = known_url_keys({str(archive)!r}, {site!r});"
        "print(len(keys), round(time.perf_counter() - t, 3),"
        " resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, file=sys.stderr)"
    )
    return [
        Step(
            "index (the row index, built again)",
            ["index", *a],
            note="derived; the first read command on an archive without it builds it",
        ),
        Step("inspect", ["inspect", *a], 2.0),
        Step("show URL", ["show", url, *a], 1.0),
        Step("show URL_KEY", ["show", sha256_hex(url), *a], 1.0),
        Step("sample -n 5", ["sample", "-n", "5", "--seed", "1", *a], 1.0),
        Step(
            "sql LIKE over bodies",
            ["sql", "SELECT count(*) FROM latest WHERE body LIKE '%chủ quyền biển%'", *a],
            note="reads every body: linear",
        ),
        *(
            Step(
                f"export {fmt}" + (" to /dev/null" if to_null else ""),
                [
                    "export",
                    "--format",
                    fmt,
                    "-o",
                    "-" if to_null else str(scratch / f"export.{fmt}"),
                    *a,
                ],
                export_s,
                EXPORT_MIB,
                rows_per_s=True,
                probe=[fmt],
                discard=to_null,
            )
            for fmt in ("jsonl", "csv", "parquet")
            for to_null in [fmt != "parquet" and rows > FILE_EXPORT_ROWS]
        ),
        Step("report --html", ["report", "--html", str(scratch / "report.html"), *a], 10.0),
        Step("validate", ["validate", *a], note="linear; memory of one partition"),
        Step(
            f"compact {site} (copy)",
            ["compact", "--site", site, "--archive", str(copy)],
            note="a hard-linked copy of the archive",
        ),
        Step(
            "search --rebuild (index build)",
            ["search", "--rebuild", *a],
            rows_per_s=True,
            probe=["--rebuild"],
        ),
        Step('search "chủ quyền"', ["search", "chủ quyền", *a], 1.0, probe=["QUERY"]),
        Step("search chu quyen (no diacritics)", ["search", "chu quyen", *a], 1.0, probe=["QUERY"]),
        Step(
            "search sovereignty --site en.qdnd.vn",
            ["search", "sovereignty", "--site", "en.qdnd.vn", *a],
            1.0,
            probe=["QUERY"],
        ),
        Step(
            'search "biển đảo" --since 2025-06-01',
            ["search", '"biển đảo"', "--since", "2025-06-01", *a],
            1.0,
            probe=["QUERY"],
        ),
        Step('search "Trường Sa" (no hit)', ["search", "Trường Sa", *a], 1.0, probe=["QUERY"]),
        Step("search 海军 (no hit)", ["search", "海军", *a], 1.0, probe=["QUERY"]),
        Step(
            "search 8 words found in every article",
            ["search", "quân đội nhân dân bộ quốc phòng huấn luyện", *a],
            1.0,
            probe=["QUERY"],
            note="the synthetic text has 54 words: each is in almost every article",
        ),
        Step(
            f"incremental start ({site} keys)",
            [known],
            2.0,
            200.0,
            python=True,
            note="known_url_keys, what a spider's start calls",
        ),
    ]


def measure(rows: int, cache: Path, only: list[str] | None) -> dict[str, Any]:
    archive, info = ensure_archive(cache, rows)
    command = crawler_command()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(dir=cache) as tmp:
        scratch = Path(tmp)
        copy = scratch / "copy"
        for step in steps(archive, rows, scratch, copy):
            if only and not any(o in step.name for o in only):
                continue
            if step.python:
                argv = [sys.executable, "-c", *step.argv]
            else:
                name = step.argv[0]
                if step.probe and not accepts(command, name, step.probe):
                    results.append(
                        Result(
                            step.name,
                            None,
                            None,
                            None,
                            step.target_s,
                            step.target_mib,
                            f"skipped: `crawler {name}` does not take {' '.join(step.probe)}",
                        )
                    )
                    continue
                argv = [*command, *step.argv]
            if step.argv[0] == "compact":
                subprocess.run(["cp", "-al", str(archive), str(copy)], check=True)
            print(f"{rows:,} rows: {step.name} …", file=sys.stderr, flush=True)
            seconds, mib, status, last, tree = run_timed(argv, scratch, step.discard)
            if copy.exists():
                shutil.rmtree(copy)
            for leftover in scratch.glob("export.*"):
                leftover.unlink()
            note = step.note
            if status != 0:
                note = f"exit {status}: {last[:160]}"
            elif step.python:
                note = f"{step.note}; keys, s in-process, MiB: {last}"
            if tree > mib + 16:  # worker processes: the memory of them all counts
                note = "; ".join(
                    filter(None, [note, f"with its workers {tree:,.0f} MiB (PSS, sampled)"])
                )
            met = None
            if status == 0 and (step.target_s is not None or step.target_mib is not None):
                met = (step.target_s is None or seconds <= step.target_s) and (
                    step.target_mib is None or max(mib, tree) <= step.target_mib
                )
            results.append(
                Result(
                    step.name,
                    round(seconds, 3),
                    round(mib, 1),
                    status,
                    None if step.target_s is None else round(step.target_s, 1),
                    step.target_mib,
                    note,
                    round(rows / seconds) if step.rows_per_s and status == 0 else None,
                    met,
                )
            )
            print(f"  {seconds:.2f} s, {mib:.0f} MiB, exit {status}", file=sys.stderr)
    return {**info, "archive": str(archive), "results": [asdict(r) for r in results]}


def _cell(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    return (f"{value:,.2f} {unit}" if unit == "s" else f"{value:,.0f} {unit}").strip()


def render_section(data: dict[str, Any]) -> str:
    """The scale section of RESULTS.md, from scale.json."""
    sizes = data["sizes"]
    lines = [
        MARK_START,
        "## Scale (`python -m bench.scale`, issue 14)",
        "",
        f"Measured {data['measured_at']} on {data['machine']}. Each command is a fresh "
        "`crawler` process (start-up included), timed wall-clock, with its peak RSS "
        "(GNU time's, the command's own process); a "
        "synthetic archive written by the real ArchiveWriter (`bench/synthetic.py`), "
        "cached under the `--cache` directory. `compact` runs on a hard-linked copy.",
        "",
    ]
    for size in sizes:
        lines += [
            f"### {size['rows']:,} rows ({size['files']:,} files, {size['archive_mib']:,} MiB; "
            f"built in {size['build_seconds']:,} s)",
            "",
            "| command | time | peak RSS | rows/s | target | met | note |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in size["results"]:
            target = " and ".join(
                t
                for t in (
                    f"≤ {r['target_s']:,} s" if r["target_s"] is not None else "",
                    f"≤ {r['target_mib']:,} MiB" if r["target_mib"] is not None else "",
                )
                if t
            )
            met = "" if r["met"] is None else "met" if r["met"] else "**not met**"
            lines.append(
                f"| {r['name']} | {_cell(r['seconds'], 's')} | {_cell(r['peak_mib'], 'MiB')} | "
                f"{_cell(r['rows_per_s'], '')} | {target} | {met} | {r['note']} |"
            )
        lines.append("")
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        lines += [
            f"### Growth from {small['rows']:,} to {large['rows']:,} rows "
            f"(×{large['rows'] / small['rows']:g} the rows)",
            "",
            "| command | time ratio | memory ratio |",
            "| --- | --- | --- |",
        ]
        before = {r["name"]: r for r in small["results"]}
        for r in large["results"]:
            b = before.get(r["name"])
            if b and b["seconds"] and r["seconds"]:
                lines.append(
                    f"| {r['name']} | {r['seconds'] / b['seconds']:.2f}x | "
                    f"{r['peak_mib'] / b['peak_mib']:.2f}x |"
                )
        lines.append("")
    lines.append(MARK_END)
    return "\n".join(lines)


def write_section(results_md: Path, section: str) -> None:
    """Put the section into RESULTS.md in place of the previous one (or at its end)."""
    text = results_md.read_text() if results_md.exists() else "# Benchmark results\n"
    if MARK_START in text and MARK_END in text:
        head, _, rest = text.partition(MARK_START)
        _, _, tail = rest.partition(MARK_END)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    results_md.write_text(text)


def merge(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Sizes measured before, with the commands measured now put in place of theirs."""
    by_rows = {size["rows"]: size for size in old}
    for size in new:
        before = by_rows.get(size["rows"])
        if before is None:
            by_rows[size["rows"]] = size
            continue
        fresh = {r["name"]: r for r in size["results"]}
        kept = [fresh.pop(r["name"], r) for r in before["results"]]
        by_rows[size["rows"]] = {**size, "results": kept + list(fresh.values())}
    return [by_rows[rows] for rows in sorted(by_rows)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--rows", type=int, action="append", help="archive size (repeatable; default 1000000)"
    )
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="where archives are kept")
    parser.add_argument(
        "--build-only", action="store_true", help="build (or find) the archives, print their paths"
    )
    parser.add_argument(
        "--only", action="append", help="only the commands whose name contains this (repeatable)"
    )
    parser.add_argument("--out", type=Path, default=HERE, help="where scale.json and RESULTS.md go")
    args = parser.parse_args(argv)
    sizes = sorted(set(args.rows or [1_000_000]))
    if args.build_only:
        for rows in sizes:
            archive, info = ensure_archive(args.cache, rows)
            print(
                f"{rows:,} rows ({info['files']:,} files): built in {info['build_seconds']} s",
                file=sys.stderr,
            )
            print(archive)
        return 0
    measured = [measure(rows, args.cache, args.only) for rows in sizes]
    if args.only and (args.out / "scale.json").is_file():  # keep the other commands' figures
        measured = merge(json.loads((args.out / "scale.json").read_text())["sizes"], measured)
    data = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} CPUs, Python {platform.python_version()}",
        "sizes": measured,
    }
    (args.out / "scale.json").write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    write_section(args.out / "RESULTS.md", render_section(data))
    print(render_section(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
