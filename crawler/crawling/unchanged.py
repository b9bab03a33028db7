"""Item pipeline of ``crawler reextract``: a re-made row that says nothing new is not
written (``--force`` writes it anyway).

The run's plan holds the content fingerprint of the row each page re-makes
(:attr:`crawler.crawling.replay.Plan.old`, made while the command started); an article
whose record matches its old row's, field for field but for
:data:`~crawler.crawling.fingerprints.IGNORED_FIELDS`, is dropped quietly and counted as
unchanged.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Self

from scrapy.exceptions import DropItem

from crawler.archive.schema import normalise_record
from crawler.crawling.fingerprints import fingerprint
from crawler.items import Article

STAT_UNCHANGED = "crawler/reextract/unchanged"


class Unchanged(DropItem):
    """The re-made record is its old row's: nothing to write."""


class SkipUnchanged:
    """Drops (at DEBUG, counted in ``crawler/reextract/unchanged``) an article whose
    re-made record equals the row it re-makes."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.old: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        return cls(crawler)

    def open_spider(self) -> None:
        from crawler.crawling import replay

        plan = replay.current_plan()
        self.old = (plan.old if plan is not None else None) or {}

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        old = self.old.get(item.url_key)
        if old is None:
            return item
        # The row as the writer would store it: the values Parquet gives back (text, lists,
        # image dicts with every key, UTC timestamps), without building an Arrow table per
        # page (a third of the check's time; tests/test_raw_reextract.py checks they agree).
        # Its run and fetch time are stamped later, by the archive; they are not compared.
        record = {**item.record(), "crawl_run": "-", "fetched_at": datetime.now(UTC)}
        try:
            new = normalise_record(record)
        except (ValueError, TypeError):
            return item  # the archive's writer refuses it, and says why
        if fingerprint(new) != old:
            return item
        self.crawler.stats.inc_value(STAT_UNCHANGED)
        raise Unchanged(f"unchanged: {item.url}", log_level="DEBUG")
