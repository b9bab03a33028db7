"""``make bench``: every benchmark of issue 7, side by side in one run.

Writes ``bench/results.json`` and regenerates ``bench/RESULTS.md`` from it.
Absolute figures depend on the machine and are reported, never asserted;
targets are ratios measured in the same run:

1. a large generated replica (``bench/replica.py``), served from its own process;
2. the ceiling (a bare spider that only follows links, ``bench/crawl.py``) and the
   full crawler on it, alternating for ``--rounds`` rounds (best of each kept):
   target full >= 85% of the ceiling's pages/s;
3. extraction and cleaning vs ``trafilatura.extract`` (``bench/extract_speed.py``):
   target >= 5 times faster;
4. the archive the full crawl wrote: rows/s written, bytes on disk per byte of
   text, ``crawler inspect`` time;
5. peak RSS of the full crawl at two sizes: target larger <= 1.3 x smaller;
6. distributed mode (``crawler/crawling/distributed/``) with 1 and 2 workers: speed-up;
7. a cProfile of the full crawl, summarised;
8. generic extraction on 181 real pages vs ``trafilatura.extract`` (``bench/extraction.py``):
   body F1 >= 0.96 with precision >= 0.95, captions, >= 5 times faster.

Default sizes are the issue's; smaller ones for a quick check::

    python -m bench --articles 1000 --memory-sizes 500,2000 --profile-articles 500 --rounds 1
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import pstats
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench import extract_speed, extraction, scale
from bench.report import write_results

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
CRAWL_TARGET = 0.85
MEMORY_TARGET = 1.3
TEXT_COLUMNS = ("title", "summary", "body", "byline")


def log(message: str) -> None:
    print(f"[bench {datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


@contextmanager
def replica(articles: int) -> Iterator[str]:
    """Serve a generated replica of ``articles`` articles; yield its base URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.replica", "--articles", str(articles)],
        cwd=PROJECT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().split()
        if not line or line[0] != "READY":
            raise RuntimeError(f"replica server did not start: {line}")
        yield line[1]
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def crawl_process(
    mode: str, mirror: str, out: Path, *settings: str, profile: Path | None = None
) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "bench.crawl", mode, "--mirror", mirror, "--out", str(out)]
    for setting in settings:
        command += ["-s", setting]
    if profile is not None:
        command += ["--profile", str(profile)]
    return subprocess.Popen(
        command, cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def finish(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate()
    if process.returncode != 0 or not out.strip():
        raise RuntimeError(f"crawl failed ({process.returncode}): {err[-3000:]}")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def crawl(
    mode: str, mirror: str, out: Path, *settings: str, profile: Path | None = None
) -> dict[str, Any]:
    shutil.rmtree(out, ignore_errors=True)
    return finish(crawl_process(mode, mirror, out, *settings, profile=profile))


# -- the steps -------------------------------------------------------------------------


def ceiling_vs_full(mirror: str, work: Path, rounds: int, articles: int) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {"ceiling": [], "full": []}
    for round_ in range(rounds):
        for mode in ("ceiling", "full"):
            result = crawl(mode, mirror, work / mode)
            log(
                f"round {round_ + 1} {mode}: {result['pages']} pages, {result['pages_per_s']} pages/s"
            )
            runs[mode].append(result)
    # The finding behind CONCURRENT_ITEMS = 8 (crawler/settings.py), re-measured: Scrapy's default.
    items_100 = crawl("full", mirror, work / "full-items", "CONCURRENT_ITEMS=100")
    runs["full, CONCURRENT_ITEMS=100"] = [items_100]
    log(f"full with CONCURRENT_ITEMS=100: {items_100['pages_per_s']} pages/s")
    best = {mode: max(r["pages_per_s"] for r in results) for mode, results in runs.items()}
    full_articles = runs["full"][-1]["articles"]
    if full_articles != articles:
        raise RuntimeError(f"the full crawl archived {full_articles} of {articles} articles")
    ratio = best["full"] / best["ceiling"]
    return {
        "articles": articles,
        "runs": runs,
        "ceiling_pages_per_s": best["ceiling"],
        "full_pages_per_s": best["full"],
        "full_pages_per_s_concurrent_items_100": items_100["pages_per_s"],
        "ratio": round(ratio, 3),
        "target": CRAWL_TARGET,
        "target_met": ratio >= CRAWL_TARGET,
        "full_ms_per_page": round(1000 / best["full"], 3),
        "ceiling_ms_per_page": round(1000 / best["ceiling"], 3),
    }


def archive_figures(archive: Path) -> dict[str, Any]:
    from crawler.archive import ArchiveWriter, read_table

    files = sorted(p for p in (archive / "articles").rglob("*.parquet"))
    on_disk = sum(p.stat().st_size for p in files)
    table = read_table(archive)
    text_bytes = 0
    for column in TEXT_COLUMNS:
        values = table.column(column).fill_null("")
        text_bytes += int(pc.sum(pc.binary_length(values.cast("binary"))).as_py() or 0)
    captions = pc.struct_field(pc.list_flatten(table.column("images")), "caption").fill_null("")
    text_bytes += int(pc.sum(pc.binary_length(captions.cast("binary"))).as_py() or 0)
    records = table.to_pylist()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        writer = ArchiveWriter(Path(tmp), "bench-rewrite", flush_rows=2000)
        for record in records:
            writer.add(record)
        writer.close()
        seconds = time.perf_counter() - start
    result: dict[str, Any] = {
        "rows": table.num_rows,
        "files": len(files),
        "bytes_on_disk": on_disk,
        "text_bytes": text_bytes,
        "disk_bytes_per_text_byte": round(on_disk / text_bytes, 3) if text_bytes else None,
        "rows_per_s_written": round(len(records) / seconds, 1),
        "write_seconds": round(seconds, 3),
        "raw_pages_bytes": sum(
            p.stat().st_size for p in (archive / "raw").rglob("*") if p.is_file()
        )
        if (archive / "raw").is_dir()
        else None,
    }
    for path in files[:1]:
        result["compression"] = pq.ParquetFile(path).metadata.row_group(0).column(0).compression
    result["inspect"] = time_inspect(archive)
    return result


def time_inspect(archive: Path) -> dict[str, Any]:
    crawler_bin = Path(sys.executable).with_name("crawler")
    command = [str(crawler_bin) if crawler_bin.exists() else "crawler", "inspect"]
    probe = subprocess.run([*command, "--help"], capture_output=True, text=True, cwd=PROJECT)
    if probe.returncode != 0:
        return {"available": False, "note": "`crawler inspect` does not exist yet: not timed"}
    args = ["--archive", str(archive)] if "--archive" in probe.stdout else [str(archive)]
    times = []
    for _ in range(3):
        start = time.perf_counter()
        done = subprocess.run([*command, *args], capture_output=True, text=True, cwd=PROJECT)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            return {"available": True, "error": done.stderr[-500:]}
    return {
        "available": True,
        "seconds": round(sorted(times)[1], 3),
        "runs": [round(t, 3) for t in times],
    }


def memory(sizes: list[int], work: Path) -> dict[str, Any]:
    runs = []
    for size in sizes:
        with replica(size) as mirror:
            result = crawl("full", mirror, work / f"memory-{size}")
        log(f"memory {size}: {result['peak_rss_mib']} MiB, {result['articles']} articles")
        runs.append({"articles": size, "archived": result["articles"], "peak_rss_mib": result["peak_rss_mib"],
                     "pages_per_s": result["pages_per_s"]})  # fmt: skip
    ratio = runs[-1]["peak_rss_mib"] / runs[0]["peak_rss_mib"]
    return {
        "runs": runs,
        "ratio": round(ratio, 3),
        "target": MEMORY_TARGET,
        "target_met": ratio <= MEMORY_TARGET,
    }


def distributed(mirror: str, work: Path, counts: list[int], articles: int) -> dict[str, Any]:
    from crawler.archive import read_table
    from tests.support.redisserver import redis_server

    runs = []
    with redis_server() as url:
        for count in counts:
            out = work / f"distributed-{count}"
            shutil.rmtree(out, ignore_errors=True)
            settings = (
                f"CRAWLER_REDIS_URL={url}",
                "CRAWLER_REDIS_IDLE_SECONDS=2",
                "CRAWLER_REDIS_HEARTBEAT=0.5",
            )
            processes = [crawl_process("full", mirror, out, *settings) for _ in range(count)]
            results = [finish(p) for p in processes]
            table = read_table(out, columns=["url", "fetched_at"])
            urls = table.column("url").to_pylist()
            start = min(datetime.fromisoformat(r["start_time"]) for r in results)
            end = pc.max(table.column("fetched_at")).as_py()
            span = (end - start.astimezone(UTC)).total_seconds()
            pages = sum(r["pages"] for r in results)
            run = {
                "workers": count,
                "articles": len(urls),
                "unique_articles": len(set(urls)),
                "pages": pages,
                "span_s": round(span, 3),
                "pages_per_s": round(pages / span, 1),
                "per_worker_articles": [r["articles"] for r in results],
                "peak_rss_mib": [r["peak_rss_mib"] for r in results],
            }
            log(f"distributed {count}: {run}")
            runs.append(run)
    for run in runs:
        if run["unique_articles"] != articles or run["articles"] != articles:
            raise RuntimeError(f"distributed run lost or doubled articles: {run}")
    return {"runs": runs, "speedup": round(runs[-1]["pages_per_s"] / runs[0]["pages_per_s"], 2)}


# Parts of a crawl, by (function, file) as py-spy and cProfile name them.
PROFILE_PARTS = {
    "extraction (spider parse_article)": ("parse_article", "crawler/sites/base.py"),
    "  of which block walk (_blocks)": ("_blocks", "crawler/sites/blocks.py"),
    "cleaning steps (pipelines 100-600)": ("process_item", "crawler/pipelines/base.py"),
    "archive pipeline": ("process_item", "crawler/pipelines/archive.py"),
    "raw pages (WARC)": ("keep", "crawler/archive/warc.py"),
    "mirror middleware (both sides pay it)": ("process_request", "crawler/mirror/middleware.py"),
    "lxml parse of article pages": ("parse_html", "crawler/sites/parser.py"),
    "selector look-ups": ("select", "crawler/sites/parser.py"),
    "asyncio task creation": ("create_task", "asyncio/base_events.py"),
}


def profile(articles: int, work: Path) -> dict[str, Any]:
    """Where a full crawl's time goes: py-spy (sampling, ~no overhead), else cProfile."""
    spy = Path(sys.executable).with_name("py-spy")
    with replica(articles) as mirror:
        if spy.exists():
            raw = work / "full.spy"
            out = work / "profile"
            command = [str(spy), "record", "-r", "200", "-f", "raw", "-o", str(raw), "--"]
            command += [
                sys.executable,
                "-m",
                "bench.crawl",
                "full",
                "--mirror",
                mirror,
                "--out",
                str(out),
            ]
            done = subprocess.run(command, cwd=PROJECT, capture_output=True, text=True)
            if done.returncode == 0 and raw.exists():
                lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
                result = json.loads(lines[-1])  # py-spy writes to standard output too
                return {"articles": articles, "tool": "py-spy (200 samples/s)",
                        "pages_per_s_profiled": result["pages_per_s"], **spy_summary(raw)}  # fmt: skip
            log(f"py-spy failed ({done.stderr[-300:]}); using cProfile")
        stats_file = work / "full.prof"
        result = crawl("full", mirror, work / "profile", profile=stats_file)
    stats = pstats.Stats(str(stats_file))
    table: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    total = max(v[3] for v in table.values())
    shares = {
        label: round(100 * sum(v[3] for (f, _, fn), v in table.items() if f.endswith(path) and fn == name) / total, 1)
        for label, (name, path) in PROFILE_PARTS.items()
    }  # fmt: skip
    text = io.StringIO()
    pstats.Stats(str(stats_file), stream=text).sort_stats("tottime").print_stats(15)
    top = [line for line in text.getvalue().splitlines() if line.strip()][-16:]
    return {"articles": articles, "tool": "cProfile", "pages_per_s_profiled": result["pages_per_s"],
            "share_percent": shares, "top_own_time": top}  # fmt: skip


def spy_summary(raw: Path) -> dict[str, Any]:
    """Inclusive shares of the parts, and the functions with most own samples (main thread)."""
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [_frame(f) for f in stack.split(";")]
        if not frames or not frames[0][0].startswith("_run_module_as_main"):
            continue  # idle worker threads
        n = int(count)
        total += n
        for label, (name, path) in PROFILE_PARTS.items():
            if any(fn.rsplit(".", 1)[-1] == name and file.endswith(path) for fn, file in frames):
                inclusive[label] += n
        fn, file = frames[-1]
        own[f"{fn} ({file.split('site-packages/')[-1].split(str(PROJECT) + '/')[-1]})"] += n
    shares = {label: round(100 * inclusive[label] / total, 1) for label in PROFILE_PARTS}
    top = [f"{100 * n / total:5.1f}%  {name}" for name, n in own.most_common(15)]
    return {"samples": total, "share_percent": shares, "top_own_time": top}


def _frame(text: str) -> tuple[str, str]:
    name, _, where = text.rpartition(" (")
    return name, where.rsplit(":", 1)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Run every benchmark; write bench/results.json and RESULTS.md."
    )
    parser.add_argument(
        "--articles", type=int, default=10_000, help="replica size (default 10,000)"
    )
    parser.add_argument("--memory-sizes", default="2000,20000", help="two crawl sizes for peak RSS")
    parser.add_argument("--workers", default="1,2", help="distributed worker counts")
    parser.add_argument("--profile-articles", type=int, default=2000)
    parser.add_argument(
        "--rounds", type=int, default=3, help="ceiling/full alternations (best kept)"
    )
    parser.add_argument(
        "--skip",
        default="",
        help="comma list of steps to skip: crawl,extract,archive,memory,distributed,profile,generic",
    )
    parser.add_argument(
        "--out", type=Path, default=HERE, help="where results.json and RESULTS.md go"
    )
    args = parser.parse_args(argv)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    results: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
    }
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        work = Path(tmp)
        with replica(args.articles) as mirror:
            if "crawl" not in skip:
                log(f"ceiling vs full crawl on {args.articles} articles")
                results["crawl"] = ceiling_vs_full(mirror, work, args.rounds, args.articles)
                if "archive" not in skip:
                    log("archive")
                    results["archive"] = archive_figures(work / "full")
            if "distributed" not in skip:
                log("distributed")
                counts = [int(c) for c in args.workers.split(",")]
                results["distributed"] = distributed(mirror, work, counts, args.articles)
        if "extract" not in skip:
            log("extraction vs trafilatura")
            results["extraction"] = extract_speed.measure()
        if "generic" not in skip and (extraction.DATA / "ground-truth.json").is_file():
            log("generic extraction on real pages vs trafilatura")
            results["generic_extraction"] = extraction.measure()
        if "memory" not in skip:
            sizes = [int(s) for s in args.memory_sizes.split(",")]
            results["memory"] = memory(sizes, work)
        if "profile" not in skip:
            log("profile")
            results["profile"] = profile(args.profile_articles, work)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    write_results(args.out / "RESULTS.md", results)
    if (args.out / "scale.json").is_file():  # the scale section (`make bench-scale`) stays
        data = json.loads((args.out / "scale.json").read_text())
        scale.write_section(args.out / "RESULTS.md", scale.render_section(data))
    log(f"wrote {args.out / 'results.json'} and {args.out / 'RESULTS.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
