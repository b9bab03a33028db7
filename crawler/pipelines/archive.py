"""Item pipeline: write each article into the Parquet archive.

A thin adapter over :class:`crawler.archive.ArchiveWriter`; the writer knows
files and partitions, this class only knows Scrapy (settings, stats, logs).
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from scrapy.exceptions import DropItem

from crawler.archive import ARTICLES_DIR, ArchiveWriter, check_path_component, sweep_temp_files
from crawler.archive.writer import check_writable
from crawler.crawling.faults import crash_point
from crawler.items import Article

logger = logging.getLogger(__name__)

STATS_PREFIX = "crawler/archive"
RUN_ID_STAT = "crawler/run_id"


def new_run_id(now: datetime | None = None) -> str:
    """A fresh run id, sortable by start time: ``20261126T071500Z-3fa2c1``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


class ParquetArchive:
    """Stamps each article with the run id and fetch time, then archives it.

    Settings: ``CRAWLER_ARCHIVE_DIR`` (archive root), ``CRAWLER_ARCHIVE_FLUSH_ROWS``,
    ``CRAWLER_RUN_ID`` (empty: a fresh id). The run id is published as the
    ``crawler/run_id`` stat so other components and the run summary can use it.

    A file that cannot be written (disk full, I/O error) does not stop the
    crawl: its rows stay buffered and are tried again with the next flush. What
    is still not written when the spider closes is counted in
    ``crawler/archive/rows_lost`` (a run error, crawler.crawling.failures) and logged;
    each failed write in ``crawler/archive/write_errors``.
    """

    def __init__(
        self, root: Path, run_id: str, flush_rows: int = 2000, stats: Any | None = None
    ) -> None:
        self.root = root
        self.run_id = check_path_component(run_id, "CRAWLER_RUN_ID")
        self.flush_rows = flush_rows
        self.stats = stats
        self.writer: ArchiveWriter | None = None
        self.accepted = 0  # rows handed to the writer: each one is written or counted lost
        self._last_error = ""
        if stats is not None:
            stats.set_value(RUN_ID_STAT, self.run_id)

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        settings = crawler.settings
        root = Path(settings.get("CRAWLER_ARCHIVE_DIR") or "output")
        flush_rows = settings.getint("CRAWLER_ARCHIVE_FLUSH_ROWS", 2000)
        if flush_rows < 1:
            raise ValueError(f"CRAWLER_ARCHIVE_FLUSH_ROWS must be at least 1, got {flush_rows}")
        run_id = settings.get("CRAWLER_RUN_ID") or new_run_id()
        return cls(root, run_id, flush_rows, crawler.stats)

    def open_spider(self) -> None:
        check_writable(self.root)
        swept = sweep_temp_files(self.root)
        if swept:
            logger.info("archive: removed %d stale temporary files under %s", swept, self.root)
        self.writer = ArchiveWriter(self.root, self.run_id, self.flush_rows)
        if self.stats is not None:  # stats may have been reset since __init__
            self.stats.set_value(RUN_ID_STAT, self.run_id)

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, Article):
            return item
        if self.writer is None:
            raise RuntimeError("ParquetArchive.process_item called before open_spider")
        item.crawl_run = self.run_id
        if item.fetched_at is None:
            item.fetched_at = datetime.now(UTC)
        held = self.writer.rows_written + self.writer.buffered  # a flush only moves rows
        try:
            self.writer.add(item.record())
        except (ValueError, TypeError) as error:
            # One bad article must not take its batch down: drop it, count it, go on.
            if self.stats is not None:
                self.stats.inc_value(f"{STATS_PREFIX}/rejected")
            raise DropItem(f"not archivable ({error}): {item.url}") from error
        except OSError as error:
            self.accepted += 1
            self._write_failed(error)
            if self.writer.rows_written + self.writer.buffered == held:  # not even buffered
                self._update_stats()
                raise DropItem(f"not written ({self._last_error}): {item.url}") from None
        else:
            self.accepted += 1
        self._update_stats()
        return item

    def close_spider(self) -> None:
        crash_point("shutdown")
        if self.writer is None:
            return
        try:
            files = self.writer.close()
        except OSError as error:
            self._write_failed(error)
            files = self.writer.files
        lost = self._update_stats(closing=True)
        if lost:
            logger.error(
                "archive: run %s: %d articles were not written under %s (last error: %s)",
                self.run_id,
                lost,
                self.root / ARTICLES_DIR,
                self._last_error,
            )
        if files:
            logger.info(
                "archive: run %s wrote %d rows in %d files under %s",
                self.run_id,
                self.writer.rows_written,
                len(files),
                self.root / ARTICLES_DIR,
            )
        else:
            logger.info("archive: run %s: no articles: nothing written", self.run_id)

    def _write_failed(self, error: OSError) -> None:
        """Count a failed write; log it when it differs from the last one (a full disk
        would otherwise log the same line for every article)."""
        if self.stats is not None:
            self.stats.inc_value(f"{STATS_PREFIX}/write_errors")
        message = error.strerror or str(error)
        if message != self._last_error:
            logger.error(
                "archive: cannot write under %s (%s); %d rows kept in memory, tried again later",
                self.root / ARTICLES_DIR,
                message,
                self.writer.buffered if self.writer else 0,
            )
        self._last_error = message

    def _update_stats(self, closing: bool = False) -> int:
        """Publish the counts; return the rows lost (once closing, the buffered ones too)."""
        if self.writer is None:
            return 0
        lost = self.accepted - self.writer.rows_written - (0 if closing else self.writer.buffered)
        if self.stats is not None:
            self.stats.set_value(f"{STATS_PREFIX}/rows_written", self.writer.rows_written)
            self.stats.set_value(f"{STATS_PREFIX}/files_written", self.writer.files_written)
            if lost or self.stats.get_value(f"{STATS_PREFIX}/rows_lost"):
                self.stats.set_value(f"{STATS_PREFIX}/rows_lost", lost)
        return lost
