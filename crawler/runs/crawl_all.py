"""``crawler crawl-all``: every enabled site, one at a time per archive, with a manifest.

A run holds a lock on the archive so that a second run started meanwhile exits
at once; it writes ``<archive>/_runs/<run id>.json`` when it starts (``running``)
and when it ends (what each site did and why a site failed, the layout alarm's
verdict, the stats that matter), closes the manifests of runs that were killed,
writes ``metrics.prom``, sends the alerts of ``[notify]``, and says in its exit
status whether all went well.
"""

from __future__ import annotations

import contextlib
import logging
import os
from datetime import UTC, datetime
from typing import Any

import pyarrow.compute as pc

from crawler.archive import read_table
from crawler.archive.layout import manifest_path, run_prefix
from crawler.archive.views import ArchiveError, one_line
from crawler.archive.writer import ArchiveNotWritable
from crawler.crawling.failures import describe, failure_kinds
from crawler.crawling.runner import SettingError, SpiderResult, run_spiders
from crawler.exit_codes import EXIT_ALARM, EXIT_BLOCKED, EXIT_FAILED, EXIT_OK
from crawler.pipelines.archive import new_run_id
from crawler.runs.alarm import check, health_from
from crawler.runs.config import Config, SiteConfig
from crawler.runs.manifest import (
    FINISHED,
    RUNNING,
    close_interrupted,
    earlier_manifests,
    finished,
    write_manifest,
)
from crawler.runs.metrics import write_metrics
from crawler.runs.notify import send
from crawler.sites.base import FALLBACK_FIELDS, FALLBACK_STAT
from crawler.urls import site_of

logger = logging.getLogger(__name__)

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
    FALLBACK_STAT,
    *(f"{FALLBACK_STAT}/{name}" for name in FALLBACK_FIELDS),
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
        "failures": failure_kinds(stats),
        "blocked": blocked,
        "generic_fallback": generic_fallback(stats),
        "alarm": alarm_problems,
        "stats": {key: stats[key] for key in KEPT_STATS if key in stats},
    }


def generic_fallback(stats: dict[str, Any]) -> dict[str, int]:
    """Articles the generic parser completed, in all and per field it filled."""
    counts = {"articles": int(stats.get(FALLBACK_STAT, 0))}
    for name in FALLBACK_FIELDS:
        counts[name] = int(stats.get(f"{FALLBACK_STAT}/{name}", 0))
    return counts


def crawl_all(
    config: Config,
    log_level: str = "WARNING",
    settings: dict[str, Any] | None = None,
    overrides: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], int]:
    """Run every enabled site of ``config``; returns the manifest and the exit status.

    Call it holding the run lock. ``settings`` override the file's (``--replica``);
    ``overrides`` (``-s`` on the command line) win over the sites' own settings too.
    """
    run_id = new_run_id()
    started = datetime.now(UTC)
    sites = config.enabled
    try:
        closed = close_interrupted(config.archive, run_id)
    except OSError as error:  # a full disk, say: this run may still work
        logger.error("crawl-all: could not close the manifests of interrupted runs: %s", error)
        closed = []
    earlier = earlier_manifests(config.runs_dir)
    effective = {**config.settings, **(settings or {}), **(overrides or {})}
    manifest: dict[str, Any] = {
        "run_id": run_id,
        "config": str(config.path),
        "archive": str(config.archive),
        "start": started.isoformat(),
        "status": RUNNING,
        "pid": os.getpid(),
        "planned": [site.label for site in sites],
        "sites": {},
    }
    if effective.get("CRAWLER_MIRROR_URL"):
        manifest["replica"] = True  # the pages came from a replica server, not the sites
    if closed:
        manifest["closed_runs"] = {
            m["run_id"]: sum(site["articles_new"] for site in m["sites"].values()) for m in closed
        }
    try:  # so that a run killed from here on leaves a manifest behind
        write_manifest(config.runs_dir, manifest)
    except OSError as error:
        logger.error("crawl-all: could not write the manifest at the start: %s", error)
    try:
        result = run_spiders(
            [site.spider for site in sites],
            {
                **effective,
                "CRAWLER_ARCHIVE_DIR": str(config.archive),
                "CRAWLER_RUN_ID": run_id,
                "LOG_LEVEL": log_level,
            },
            per_crawl=[
                ({**site.scrapy_settings(), **(overrides or {})}, site.spider_args())
                for site in sites
            ],
        )
    except (KeyError, SettingError, ArchiveNotWritable):  # refused before any request
        manifest_path(config.archive, run_id).unlink(missing_ok=True)
        raise
    read_error = None
    try:  # this run's own files: a damaged file of an earlier run is not this run's news
        rows = read_table(
            config.archive, filter=pc.field("crawl_run") == run_id, name_prefix=run_prefix(run_id)
        ).to_pylist()
    except ArchiveError as error:
        rows, read_error = [], one_line(error)
    history_runs = [m for m in earlier if finished(m)]
    entries = {}
    for site, spider in zip(sites, result.spiders, strict=True):
        own = [row for row in rows if _belongs(row, site)]
        history = [found for m in history_runs if (found := _found(m, site.label)) is not None]
        health = health_from(spider.stats, own)
        problems = check(health, site.alarm, history) if spider.reason == "finished" else []
        entry = site_entry(spider, own, problems)
        if site.start:
            entry["start"] = list(site.start)
        entries[site.label] = {**entry, "health": health.as_dict()}
    manifest["end"] = datetime.now(UTC).isoformat()
    manifest["status"] = FINISHED
    manifest["sites"] = entries
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
        # The one written at the start would say "running", and the next run "interrupted".
        with contextlib.suppress(OSError):
            manifest_path(config.archive, run_id).unlink(missing_ok=True)
        if status == EXIT_OK:
            status = manifest["exit_status"] = EXIT_FAILED
    after_run(config, manifest, earlier)
    return manifest, status


def _belongs(row: dict[str, Any], site: SiteConfig) -> bool:
    """Whether a row of the run is this site's: its spider's; for a generic site, of the
    sites its start URLs name (several generic sites share the spider)."""
    if row["spider"] != site.spider:
        return False
    return not site.start or row["site"] in {site_of(url) for url in site.start}


def _found(manifest: dict[str, Any], spider: str) -> int | None:
    """Articles a site found in an earlier run, if its manifest says (it may be hand-edited)."""
    sites = manifest.get("sites")
    entry = sites.get(spider) if isinstance(sites, dict) else None
    health = entry.get("health") if isinstance(entry, dict) else None
    found = health.get("found") if isinstance(health, dict) else None
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def after_run(config: Config, manifest: dict[str, Any], earlier: list[dict[str, Any]]) -> None:
    """Alerts and metrics: what they could not do is recorded, the exit status stays."""
    outcome = send(config.notify, manifest, earlier[-1] if earlier else None, summary(manifest))
    if outcome is not None:
        manifest["notify"] = outcome
    try:
        write_metrics(config.archive, manifest, earlier)
    except OSError as error:
        manifest["metrics_error"] = f"{error.strerror or error}"
        logger.error("crawl-all: metrics not written: %s", manifest["metrics_error"])
    if "manifest_error" not in manifest and (outcome is not None or "metrics_error" in manifest):
        try:
            write_manifest(config.runs_dir, manifest)
        except OSError as error:  # the manifest of the end stays, without these keys
            logger.error("crawl-all: the manifest could not take the alerts' outcome: %s", error)


def summary(manifest: dict[str, Any]) -> str:
    """One screen: a line per site, then the problems and why, then where everything is."""
    lines = [
        f"crawl-all run {manifest['run_id']} ({manifest['start'][:19]} to {manifest['end'][11:19]} UTC)"
        + (", pages from the bundled replicas" if manifest.get("replica") else "")
    ]
    width = max([16, *(len(name) for name in manifest["sites"])])
    lines.append(
        f"  {'site':<{width}} {'status':<8} {'pages':>6} {'new':>5} {'known':>6} {'dropped':>8} {'errors':>6}"
    )
    problems = []
    for name, entry in manifest["sites"].items():
        dropped = sum(entry["dropped"].values())
        lines.append(
            f"  {name:<{width}} {entry['status']:<8} {entry['pages_fetched']:>6} {entry['articles_new']:>5} "
            f"{entry['skipped_known']:>6} {dropped:>8} {entry['errors']:>6}"
        )
        problems += [f"  {name}: layout alarm: {problem}" for problem in entry["alarm"]]
        fallback = entry.get("generic_fallback", {})
        if fallback.get("articles") and not entry["alarm"]:
            fields = ", ".join(f"{k} {v}" for k, v in fallback.items() if k != "articles" and v)
            problems.append(
                f"  {name}: the generic parser completed {fallback['articles']} articles ({fields})"
            )
        if entry["blocked"]:
            problems.append(
                f"  {name}: blocked by a bot challenge ({entry['stats'].get('crawler/blocked')})"
            )
        if entry["status"] == "failed":
            reason = entry["stats"].get("finish_reason")
            lost = entry.get("not_written", 0)
            why = describe(entry.get("failures", {}))
            problems.append(
                f"  {name}: failed (finish reason {reason}, {entry['errors']} errors"
                + (f", {lost} articles not written" if lost else "")
                + ")"
                + (f": {why}" if why else "")
            )
    if "read_error" in manifest:
        problems.append(f"  this run's rows could not be read back: {manifest['read_error']}")
    for run_id, articles in manifest.get("closed_runs", {}).items():
        problems.append(
            f"  earlier run {run_id} was interrupted (killed before its end; {articles} articles "
            "archived, kept): its manifest says so now"
        )
    notify = manifest.get("notify")
    if notify:
        if notify["sent"]:
            problems.append(f"  notified ({notify['event']}): {', '.join(notify['sent'])}")
        problems += [f"  notify: {name} not sent: {why}" for name, why in notify["failed"].items()]
    if "metrics_error" in manifest:
        problems.append(f"  metrics: not written: {manifest['metrics_error']}")
    lines += problems
    lines.append(f"  archive: {manifest['archive']}")
    path = manifest_path(manifest["archive"], manifest["run_id"])
    if "manifest_error" in manifest:
        lines.append(f"  manifest: not written to {path}: {manifest['manifest_error']}")
    else:
        lines.append(f"  manifest: {path}")
    return "\n".join(lines)
