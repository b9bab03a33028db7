"""``crawler crawl-all``: every enabled site, one at a time per archive, with a manifest.

A run holds a lock on the archive so that a second run started meanwhile exits
at once; it writes ``<archive>/_runs/<run id>.json`` (what each site did, the
layout alarm's verdict, the stats that matter) and says in its exit status
whether all went well.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from crawler.archive import read_table
from crawler.archive.layout import RUNS_DIR, run_prefix
from crawler.archive.views import ArchiveError, one_line
from crawler.crawling.runner import SpiderResult, run_spiders
from crawler.exit_codes import EXIT_ALARM, EXIT_BLOCKED, EXIT_FAILED, EXIT_OK
from crawler.pipelines.archive import new_run_id
from crawler.runs.alarm import check, health_from
from crawler.runs.config import Config
from crawler.runs.manifest import earlier_manifests, write_manifest

# Stats copied into the manifest for each site.
KEPT_STATS = (
    "finish_reason",
    "start_time",
    "finish_time",
    "elapsed_time_seconds",
    "response_received_count",
    "downloader/request_count",
    "downloader/response_status_count/200",
    "downloader/response_status_count/404",
    "retry/count",
    "retry/max_reached",
    "httperror/response_ignored_count",
    "item_scraped_count",
    "item_dropped_count",
    "log_count/ERROR",
    "log_count/WARNING",
    "robotstxt/forbidden",
    "crawler/archive/rows_written",
    "crawler/archive/files_written",
    "crawler/archive/rows_lost",
    "crawler/archive/write_errors",
    "crawler/archive/rejected",
    "crawler/errors/download",
    "crawler/errors/item",
    "spider_exceptions/count",
    "crawler/private_address/refused",
    "crawler/incremental/skipped_known",
    "crawler/incremental/known_in_archive",
    "crawler/incremental/listings_stopped",
    "crawler/blocked",
)


def site_entry(
    result: SpiderResult, rows: list[dict[str, Any]], alarm_problems: list[str]
) -> dict[str, Any]:
    stats = result.stats
    dropped = {
        k.removeprefix("crawler/validate/dropped/"): v
        for k, v in stats.items()
        if k.startswith("crawler/validate/dropped/")
    }
    if stats.get("crawler/dedupe/duplicates"):
        dropped["duplicate"] = stats["crawler/dedupe/duplicates"]
    blocked = bool(stats.get("crawler/blocked"))
    failed = not blocked and not result.ok
    return {
        "spider": result.spider,
        "status": "blocked"
        if blocked
        else "failed"
        if failed
        else "alarm"
        if alarm_problems
        else "ok",
        "pages_fetched": int(stats.get("response_received_count", 0)),
        "articles_new": len(rows),
        "skipped_known": int(stats.get("crawler/incremental/skipped_known", 0)),
        "dropped": dropped,
        "not_written": int(stats.get("crawler/archive/rows_lost", 0) or 0),
        "errors": result.errors,
        "blocked": blocked,
        "alarm": alarm_problems,
        "stats": {key: stats[key] for key in KEPT_STATS if key in stats},
    }


def crawl_all(config: Config, log_level: str = "INFO") -> tuple[dict[str, Any], int]:
    """Run every enabled site of ``config``; returns the manifest and the exit status."""
    run_id = new_run_id()
    started = datetime.now(UTC)
    sites = config.enabled
    earlier = earlier_manifests(config.runs_dir)
    result = run_spiders(
        [site.spider for site in sites],
        {
            **config.settings,
            "CRAWLER_ARCHIVE_DIR": str(config.archive),
            "CRAWLER_RUN_ID": run_id,
            "LOG_LEVEL": log_level,
        },
        per_spider={site.spider: site.scrapy_settings() for site in sites},
    )
    read_error = None
    try:  # this run's own files: a damaged file of an earlier run is not this run's news
        rows = read_table(
            config.archive, filter=pc.field("crawl_run") == run_id, name_prefix=run_prefix(run_id)
        ).to_pylist()
    except ArchiveError as error:
        rows, read_error = [], one_line(error)
    entries = {}
    for site, spider in zip(sites, result.spiders, strict=True):
        own = [row for row in rows if row["spider"] == spider.spider]
        history = [
            m["sites"][site.spider]["health"]["found"]
            for m in earlier
            if site.spider in m.get("sites", {})
        ]
        health = health_from(spider.stats, own)
        problems = check(health, site.alarm, history) if spider.reason == "finished" else []
        entries[site.spider] = {**site_entry(spider, own, problems), "health": health.as_dict()}
    manifest: dict[str, Any] = {
        "run_id": run_id,
        "config": str(config.path),
        "archive": str(config.archive),
        "start": started.isoformat(),
        "end": datetime.now(UTC).isoformat(),
        "sites": entries,
    }
    if read_error:
        manifest["read_error"] = read_error
    statuses = [entry["status"] for entry in entries.values()]
    status = EXIT_OK
    for code, name in ((EXIT_FAILED, "failed"), (EXIT_BLOCKED, "blocked"), (EXIT_ALARM, "alarm")):
        if name in statuses:
            status = code
            break
    if read_error and status == EXIT_OK:
        status = EXIT_FAILED
    manifest["exit_status"] = status
    try:
        write_manifest(config.runs_dir, manifest)
    except OSError as error:  # the disk filled up during the run, say
        manifest["manifest_error"] = f"{error.strerror or error}"
        if status == EXIT_OK:
            status = manifest["exit_status"] = EXIT_FAILED
    return manifest, status


def summary(manifest: dict[str, Any]) -> str:
    """One screen: a line per site, then the problems."""
    lines = [
        f"crawl-all run {manifest['run_id']} ({manifest['start'][:19]} to {manifest['end'][11:19]} UTC)"
    ]
    lines.append(
        f"  {'site':<16} {'status':<8} {'pages':>6} {'new':>5} {'known':>6} {'dropped':>8} {'errors':>6}"
    )
    problems = []
    for name, entry in manifest["sites"].items():
        dropped = sum(entry["dropped"].values())
        lines.append(
            f"  {name:<16} {entry['status']:<8} {entry['pages_fetched']:>6} {entry['articles_new']:>5} "
            f"{entry['skipped_known']:>6} {dropped:>8} {entry['errors']:>6}"
        )
        problems += [f"  {name}: layout alarm: {problem}" for problem in entry["alarm"]]
        if entry["blocked"]:
            problems.append(
                f"  {name}: blocked by a bot challenge ({entry['stats'].get('crawler/blocked')})"
            )
        if entry["status"] == "failed":
            reason = entry["stats"].get("finish_reason")
            lost = entry.get("not_written", 0)
            problems.append(
                f"  {name}: failed (finish reason {reason}, {entry['errors']} errors"
                + (f", {lost} articles not written" if lost else "")
                + ")"
            )
    if "read_error" in manifest:
        problems.append(f"  this run's rows could not be read back: {manifest['read_error']}")
    lines += problems
    path = Path(manifest["archive"]) / RUNS_DIR / (manifest["run_id"] + ".json")
    if "manifest_error" in manifest:
        lines.append(f"  manifest: not written to {path}: {manifest['manifest_error']}")
    else:
        lines.append(f"  manifest: {path}")
    return "\n".join(lines)
