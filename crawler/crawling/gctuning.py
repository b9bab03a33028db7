"""Garbage-collector settings for a long crawl (a Scrapy extension).

Python's cyclic collector walks every tracked object of the generations it
collects. A crawl process starts with ~130,000 of them (modules, classes, the
public-suffix trie …) that live as long as the process, and each full
collection walked them all again: about 14% of a crawl's time (bench/RESULTS.md).
At spider open this extension collects once and freezes what is alive
(``gc.freeze``), so later collections skip it, and raises the young
generation's threshold so fewer collections run. At spider close the frozen
objects are handed back to the collector (a process that runs several crawls
in a row frees what an earlier one left).

Settings: ``CRAWLER_GC_FREEZE`` (default on), ``CRAWLER_GC_THRESHOLD`` (the
young generation's threshold; 0 keeps Python's 700).
"""

from __future__ import annotations

import gc
from typing import Any, Self

STATS_PREFIX = "crawler/gc"
_active: list[tuple[int, int, int]] = []  # per running crawl: the thresholds before it


class GcTuning:
    """Freeze the start-up heap while the spider runs; collect less often."""

    def __init__(self, freeze: bool, threshold: int, stats: Any | None = None) -> None:
        self.freeze = freeze
        self.threshold = threshold
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        from scrapy import signals
        from scrapy.exceptions import NotConfigured

        freeze = crawler.settings.getbool("CRAWLER_GC_FREEZE", True)
        threshold = crawler.settings.getint("CRAWLER_GC_THRESHOLD", 0)
        if threshold < 0:
            raise ValueError(f"CRAWLER_GC_THRESHOLD must be 0 or more, got {threshold}")
        if not freeze and not threshold:
            raise NotConfigured("CRAWLER_GC_FREEZE is off and CRAWLER_GC_THRESHOLD is 0")
        extension = cls(freeze, threshold, crawler.stats)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_opened(self) -> None:
        before = gc.get_threshold()
        _active.append(before)
        if self.freeze:
            gc.collect()
            gc.freeze()
            if self.stats is not None:
                self.stats.set_value(f"{STATS_PREFIX}/frozen_objects", gc.get_freeze_count())
        if self.threshold:
            gc.set_threshold(self.threshold, *before[1:])

    def spider_closed(self) -> None:
        """The last crawl of the process to close restores what the first one found."""
        if not _active:
            return
        first = _active[0]
        _active.pop()
        if not _active:
            gc.set_threshold(*first)
            gc.unfreeze()
