"""The spider middleware that keeps each article's page (crawler.archive.warc stores it).

It sits after the spider's parse: an article goes on to the pipelines only once
its page is written and flushed, with ``raw_ref`` pointing to it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any, Self

from crawler.archive.warc import REPLAY_META, RawStore, ref_length

logger = logging.getLogger(__name__)

_DROPPED_HEADERS = frozenset({b"content-encoding", b"transfer-encoding", b"content-length"})

STATS_PREFIX = "crawler/raw"


def response_headers(response: Any) -> list[tuple[str, str]]:
    """A Scrapy response's headers as stored: the body is decoded, so its length is new."""
    headers: list[tuple[str, str]] = []
    for name, values in response.headers.items():
        if name.lower() in _DROPPED_HEADERS:
            continue
        for value in values:
            headers.append((name.decode("latin-1"), value.decode("latin-1")))
    headers.append(("Content-Length", str(len(response.body))))
    return headers


class RawPagesMiddleware:
    """Spider middleware: store the page of every article a spider yields.

    It sits next to the spider, so it sees each :class:`~crawler.items.Article`
    with the response it was parsed from, before any pipeline; the stored
    record's reference goes into ``article.raw_ref``. A page replayed from the
    store (``crawler reextract``) is not stored again: the article keeps the
    reference and the fetch time of the original.

    Settings: ``CRAWLER_RAW_PAGES`` (default on), ``CRAWLER_ARCHIVE_DIR``,
    ``CRAWLER_RAW_FSYNC_SECONDS`` (default 1). The run id is the archive pipeline's,
    so a run's WARC and Parquet files carry the same one.
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        settings = crawler.settings
        self.root = Path(settings.get("CRAWLER_ARCHIVE_DIR") or "output")
        self.fsync_seconds = settings.getfloat("CRAWLER_RAW_FSYNC_SECONDS", 1.0)
        self.pages: RawStore | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        from scrapy import signals
        from scrapy.exceptions import NotConfigured

        if not crawler.settings.getbool("CRAWLER_RAW_PAGES", True):
            raise NotConfigured("CRAWLER_RAW_PAGES is off")
        middleware = cls(crawler)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def _run_id(self) -> str:
        from crawler.pipelines.archive import RUN_ID_STAT, new_run_id

        stats = self.crawler.stats
        run_id = stats.get_value(RUN_ID_STAT) if stats else None
        return str(run_id or self.crawler.settings.get("CRAWLER_RUN_ID") or new_run_id())

    def page_of(self, item: Any, response: Any) -> tuple[Any, ...] | None:
        """What to store for ``item`` (the arguments of ``RawStore.store``), or None: not
        an article, or a replayed page, which keeps its reference and fetch time."""
        from crawler.items import Article

        if not isinstance(item, Article) or response is None:
            return None
        request = getattr(response, "request", None)
        replay = request.meta.get(REPLAY_META) if request is not None else None
        if replay:
            item.raw_ref = replay["ref"]
            if replay.get("fetched_at") is not None:
                item.fetched_at = replay["fetched_at"]
            return None
        headers = response_headers(response)
        return (item.site, response.url, response.status, headers, response.body, item.fetched_at)

    def keep(self, item: Any, response: Any) -> Any:
        """Store the page of ``item`` (an article) and point the article to it."""
        page = self.page_of(item, response)
        if page is None:
            return item
        if self.pages is None:
            self.pages = RawStore(self.root, self._run_id(), self.fsync_seconds)
        item.raw_ref = self.pages.store(*page)
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value(f"{STATS_PREFIX}/pages_stored")
            stats.inc_value(f"{STATS_PREFIX}/bytes", ref_length(item.raw_ref))
        return item

    def process_spider_output(
        self, response: Any, result: Iterable[Any], spider: Any = None
    ) -> Iterator[Any]:
        for item in result:
            yield self.keep(item, response)

    async def process_spider_output_async(
        self, response: Any, result: AsyncIterator[Any], spider: Any = None
    ) -> AsyncIterator[Any]:
        async for item in result:
            yield self.keep(item, response)

    def spider_closed(self) -> None:
        if self.pages is not None:
            try:
                self.pages.close()
            except OSError as error:
                # A run error (crawler.crawling.failures): the pages may not survive a power loss.
                self.crawler.stats.inc_value(f"{STATS_PREFIX}/write_errors")
                logger.error("raw: cannot make the stored pages durable: %s", error)
                return
            logger.info(
                "raw: stored %s pages in %s",
                self.crawler.stats.get_value(f"{STATS_PREFIX}/pages_stored", 0),
                ", ".join(str(p) for p in self.pages.files),
            )
