"""Item pipeline of ``crawler reextract``: a re-made row that says nothing new is not
written (``--force`` writes it anyway).

The run's plan names the row each page re-makes (its ``url_key`` and ``crawl_run``);
at the spider's start the pipeline reads those rows' content fingerprints, and an
article whose record matches its old row's, field for field but for
:data:`IGNORED_FIELDS`, is dropped quietly and counted as unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Self

import pyarrow.compute as pc
from scrapy.exceptions import DropItem

from crawler.archive import read_table
from crawler.archive.schema import normalise_record
from crawler.items import Article

STAT_UNCHANGED = "crawler/reextract/unchanged"

IGNORED_FIELDS = frozenset({"fetched_at", "crawl_run", "raw_ref", "parser_version"})
"""What a re-made row may differ in and still be the same record: when and by which
run the page was fetched or re-parsed and where it is stored are bookkeeping, not
content; and a new parser version that makes the same record changes nothing a
reader sees (``--force`` writes such rows anyway, to stamp the current version)."""


class Unchanged(DropItem):
    """The re-made record is its old row's: nothing to write."""


def fingerprint(row: dict[str, Any]) -> str:
    """A digest of what a row (as read back from Parquet) says about its article: every
    field but :data:`IGNORED_FIELDS`, by name, each value written out with its kind and
    length (so that no two different rows write the same text), a timestamp as its text
    (its instant and its offset). ``json.dumps`` with sorted keys did the same at twice
    the cost, twice a page (the archived row, the new record)."""
    parts: list[str] = []
    add = parts.append
    for name in sorted(row):
        if name not in IGNORED_FIELDS:
            add(f"\n{name}=")
            _write(row[name], add)
    return hashlib.sha256("".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _write(value: Any, add: Callable[[str], None]) -> None:
    """``value`` as :func:`fingerprint` writes it."""
    kind = type(value)
    if kind is str:
        add(f"s{len(value)}:")
        add(value)
    elif value is None:
        add("n")
    elif kind is list:
        add(f"l{len(value)}:")
        for item in value:
            _write(item, add)
    elif kind is dict:
        add(f"d{len(value)}:")
        for key in sorted(value):
            _write(key, add)
            _write(value[key], add)
    else:  # a timestamp (its text), or a kind the schema does not have
        text = str(value) if isinstance(value, datetime) else f"{kind.__name__} {value!r}"
        add(f"v{len(text)}:")
        add(text)


def old_fingerprints(root: Any, rows: list[dict[str, Any]]) -> dict[str, str]:
    """url_key -> fingerprint of the archive row each planned page re-makes."""
    if not rows:
        return {}
    wanted = {(row["url_key"], row["crawl_run"]) for row in rows}
    sites = sorted({row["site"] for row in rows})
    keys = sorted({key for key, _ in wanted})
    table = read_table(root, filter=pc.field("site").isin(sites) & pc.field("url_key").isin(keys))
    found = {}
    # Python objects for a thousand rows at a time, not for all of them at once (at
    # 10,000 pages, that was the run's peak memory).
    for batch in table.to_batches(max_chunksize=1024):
        for row in batch.to_pylist():
            if (row["url_key"], row["crawl_run"]) in wanted:
                found[row["url_key"]] = fingerprint(row)
    return found


class SkipUnchanged:
    """Drops (at DEBUG, counted in ``crawler/reextract/unchanged``) an article whose
    re-made record equals the row it re-makes."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.old: dict[str, str] = {}
        self.plan: Any = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        return cls(crawler)

    def open_spider(self) -> None:
        from pathlib import Path

        from crawler.crawling import replay

        plan = replay.current_plan()
        spider = self.crawler.spider
        if plan is not None:
            self.old = old_fingerprints(Path(plan.root), plan.pages.get(spider.name, []))
        self.plan = plan

    def _read_stolen(self) -> None:
        """The old rows of the pages this worker took from another's share since."""
        from pathlib import Path

        stolen = self.plan.stolen.pop(self.crawler.spider.name, None)
        if stolen:
            self.old.update(old_fingerprints(Path(self.plan.root), stolen))

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        if self.plan is not None and self.plan.stolen:
            self._read_stolen()
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
