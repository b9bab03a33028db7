"""Run spiders in this process and report what each one did."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import SETTINGS_PRIORITIES, Settings
from scrapy.spiderloader import SpiderLoader
from scrapy.utils.project import get_project_settings

from crawler.archive.writer import check_writable
from crawler.crawling.failures import describe, error_count, failure_kinds
from crawler.crawling.netguard import AddressGuard
from crawler.pipelines.archive import new_run_id


def project_settings(overrides: dict[str, Any] | None = None) -> Settings:
    """The project's settings wherever the command runs (no scrapy.cfg needed)."""
    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    settings = get_project_settings()
    if overrides:
        settings.setdict(overrides, priority="cmdline")
    return settings


OWN_PRIORITY = SETTINGS_PRIORITIES["cmdline"] + 1
"""Priority of one crawl's own settings (``per_spider``, ``per_crawl``) over the run's."""


class SettingError(ValueError):
    """A setting the crawl cannot use; the message is one line."""


@dataclass
class SpiderResult:
    spider: str
    reason: str
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        """Failures counted as they happened (crawler.crawling.failures), whatever LOG_LEVEL hid."""
        return error_count(self.stats)

    @property
    def ok(self) -> bool:
        return self.reason == "finished" and self.errors == 0

    def summary(self) -> str:
        """One line: how the spider ended, what it archived, what went wrong."""
        stats = self.stats
        lost = int(stats.get("crawler/archive/rows_lost", 0) or 0)
        return (
            f"{self.reason or 'not closed'}; "
            f"{stats.get('crawler/archive/rows_written', 0)} articles archived, "
            + (f"{lost} not written (write errors), " if lost else "")
            + f"{stats.get('item_dropped_count', 0)} dropped, {self.errors} errors"
            + (f" ({describe(failure_kinds(stats))})" if self.errors else "")
        )


@dataclass
class RunResult:
    run_id: str
    spiders: list[SpiderResult]
    failures: list[str] = field(default_factory=list)
    """What went wrong outside every spider (a worker process that died), one line each."""

    @property
    def ok(self) -> bool:
        return bool(self.spiders) and all(s.ok for s in self.spiders) and not self.failures

    def stat(self, key: str) -> int:
        return sum(int(s.stats.get(key, 0) or 0) for s in self.spiders)


def run_spiders(
    names: list[str],
    overrides: dict[str, Any] | None = None,
    spider_args: dict[str, Any] | None = None,
    per_spider: dict[str, dict[str, Any]] | None = None,
    per_crawl: Sequence[tuple[dict[str, Any], dict[str, Any]]] | None = None,
) -> RunResult:
    """Crawl ``names`` together in one reactor; returns when all have closed.

    ``per_spider`` adds settings for one spider only (its limits, say);
    ``per_crawl``, one ``(settings, spider arguments)`` pair per name, in the
    order of ``names``, for a spider that runs more than once (``generic``, one
    crawl per site); the results come in the order of ``names``.
    Unknown spider names raise ``KeyError``, an archive that cannot be written
    ``ArchiveNotWritable``, a bad setting ``SettingError``, before any request is sent.
    """
    settings = project_settings(overrides)
    if not settings.get("CRAWLER_RUN_ID"):
        # One id for every spider of this run, so its rows can be found together.
        settings.set("CRAWLER_RUN_ID", new_run_id(), priority="cmdline")
    loader = SpiderLoader.from_settings(settings)
    known = set(loader.list())
    unknown = [name for name in names if name not in known]
    if unknown:
        raise KeyError(f"unknown spider {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        AddressGuard.from_settings(settings)
    except ValueError as error:
        raise SettingError(str(error)) from None
    root = settings.get("CRAWLER_ARCHIVE_DIR") or "output"
    check_writable(root)  # before Scrapy starts logging
    process = CrawlerProcess(settings)
    crawlers: list[Crawler] = []
    extra = list(per_crawl) if per_crawl is not None else [({}, {})] * len(names)
    if len(extra) != len(names):
        raise ValueError("per_crawl needs one (settings, arguments) pair per spider name")
    for name, (own_settings, _) in zip(names, extra, strict=True):
        crawler = process.create_crawler(name)
        # Above "cmdline": when the crawl starts, Scrapy merges the process's settings (the
        # command line's among them) into the crawler's again, and equal priority loses.
        crawler.settings.setdict((per_spider or {}).get(name, {}), priority=OWN_PRIORITY)
        crawler.settings.setdict(own_settings, priority=OWN_PRIORITY)
        crawlers.append(crawler)
    for other in sorted({c.settings.get("CRAWLER_ARCHIVE_DIR") or "output" for c in crawlers}):
        if other != root:
            check_writable(other)  # a spider with an archive of its own
    for crawler, (_, own_args) in zip(crawlers, extra, strict=True):
        process.crawl(crawler, **{**(spider_args or {}), **own_args})
    process.start()
    results = []
    for crawler in crawlers:
        stats = crawler.stats.get_stats() if crawler.stats else {}
        results.append(
            SpiderResult(crawler.spidercls.name, str(stats.get("finish_reason", "")), stats)
        )
    return RunResult(settings.get("CRAWLER_RUN_ID"), results)
