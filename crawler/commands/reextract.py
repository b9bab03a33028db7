"""``crawler reextract``: re-parse stored pages with today's code (crawler.crawling.replay)."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from crawler.commands._common import (
    SITE_HELP,
    CommandError,
    add_archive_option,
    add_log_level_option,
    add_settings_option,
    positive_int,
    settings_pairs,
)
from crawler.crawling.stored_rows import RowsAhead, SelectionError

if TYPE_CHECKING:
    from crawler.crawling.replay import Plan
    from crawler.crawling.runner import RunResult


def cmd_reextract(args: argparse.Namespace) -> int:
    _no_collection_at_exit()
    try:
        with _start_up():
            settings = settings_pairs(args.set)
            # The rows (and, for the unchanged check, their fingerprints) are read on the
            # other core while this process imports Scrapy, the spiders and the pipelines,
            # which load only here: every other command starts without them. With
            # --outdated, most rows may be left out of the plan: only the planned ones'
            # fingerprints are read, once it is made (run_plan).
            prints = not args.force and not args.outdated
            ahead = RowsAhead(args.archive, args.site, args.spider_version, prints)
            from crawler.crawling.replay import default_workers, make_plan, run_plan

            try:
                rows, old = ahead.rows()
            except SelectionError as error:
                raise CommandError(str(error)) from None
            plan = make_plan(args.archive, args.site, args.spider_version, args.outdated, rows)
            plan.old = old
        if not plan.pages:
            skipped = ", ".join(f"{n:,} {reason}" for reason, n in sorted(plan.skipped.items()))
            print(
                "reextract: nothing to re-parse" + (f" ({skipped})" if skipped else ""),
                file=sys.stderr,
            )
            return 0
        workers = args.workers or default_workers(plan.total)
        result = run_plan(plan, args.log_level, settings, args.force, workers)
    finally:
        gc.unfreeze()  # what the start-up froze goes back to the collector
    print(report(plan, result), file=sys.stderr)
    for failure in result.failures:
        print(f"crawler reextract: error: {failure}", file=sys.stderr)
    return 0 if result.ok else 1


@contextmanager
def _start_up() -> Iterator[None]:
    """No collection while the command starts: the imports and the plan make objects that
    live as long as the run, which the collector walked hundreds of times (about 0.15 s of
    CPU, before any worker starts) to free a few thousand. They are then frozen, so that the
    collections of the run (and of every forked worker) leave them alone."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.enable()


def _no_collection_at_exit() -> None:
    """When the process exits, Python collects once more every object it holds: after a
    run, those of Scrapy, pyarrow, pandas, the spiders and the plan, 0.1-0.5 s (more than
    the command's last pages) to free memory the exit gives back anyway. Frozen at exit
    (after the command, so an in-process caller's collector is as it was), they are left
    to it. The command's own files are closed by then (the workers, and a run in this
    process, close theirs when their spiders close)."""
    import atexit

    atexit.unregister(gc.freeze)  # once, however many runs this process makes
    atexit.register(gc.freeze)


def register(sub: Any, command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``reextract`` to the ``crawler`` command."""
    p = command(
        "reextract",
        "Re-parse the stored pages (raw/) with the current spiders and pipelines, without "
        "the network; write a new row, with the current parser_version, for each article "
        "whose record differs from its archived row in anything but fetched_at, crawl_run, "
        "raw_ref and parser_version (--force: for every one). Then run `crawler compact` to "
        "keep only the newest row of each article.\n\n"
        "Exit status: 0 done; 1 a spider logged errors or a worker process died; 2 bad "
        "arguments.",
    )
    add_archive_option(p)
    p.add_argument("--site", action="append", help=f"only this site: {SITE_HELP}")
    p.add_argument(
        "--spider-version",
        action="append",
        metavar="VERSION",
        help="only rows made by this parser version, e.g. 1 (repeatable; 1 takes the rows "
        "the generic parser completed, 1+generic-1, too)",
    )
    p.add_argument(
        "--outdated",
        action="store_true",
        help="only rows whose parser version is not their spider's current one (nor the "
        "current one completed by the current generic parser)",
    )
    p.add_argument(
        "--force",
        action="store_true",
        help="write a new row for every page, also when the record is the same as the "
        "archived one but for its parser version (by default such a page is counted unchanged)",
    )
    p.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="worker processes that share the pages out (default: one per core, one for "
        "fewer than 200 pages)",
    )
    add_log_level_option(p)
    add_settings_option(p)
    p.set_defaults(func=cmd_reextract)


def report(plan: Plan, result: RunResult) -> str:
    """What the run did, for standard error."""
    from crawler.crawling.replay import STATS_PREFIX
    from crawler.crawling.unchanged import STAT_UNCHANGED as unchanged_stat

    lines = [
        f"reextract run {result.run_id}: {result.stat(STATS_PREFIX + '/pages'):,} stored pages "
        f"re-parsed, {result.stat('crawler/archive/rows_written'):,} rows written, "
        f"{result.stat(unchanged_stat):,} unchanged"
    ]
    for spider in result.spiders:
        stats = spider.stats
        unchanged = stats.get(unchanged_stat, 0)
        lines.append(
            f"  {spider.spider}: {len(plan.pages.get(spider.spider, [])):,} pages, "
            f"{stats.get('crawler/archive/rows_written', 0):,} rows, "
            f"{unchanged:,} unchanged, "
            f"{stats.get('item_dropped_count', 0) - unchanged:,} dropped, "
            f"{stats.get(STATS_PREFIX + '/missing', 0):,} pages missing, "
            f"{stats.get('log_count/ERROR', 0):,} errors"
        )
    for reason, count in sorted(plan.skipped.items()):
        lines.append(f"  skipped {count:,} articles: {reason}")
    if result.stat("crawler/archive/rows_written"):
        lines.append("  next: `crawler compact` keeps the newest row of each article")
    return "\n".join(lines)
