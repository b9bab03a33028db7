"""Acknowledging requests once their items are archived, and the worker's heartbeat."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Self

import redis
from scrapy import Request, signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from twisted.internet import task

from crawler.crawling.distributed.worker import ENTRY_META, worker_for

logger = logging.getLogger(__name__)


def _entry(response: Response | None) -> str | None:
    request = getattr(response, "request", None)
    return None if request is None else request.meta.get(ENTRY_META)


class AcknowledgeMiddleware:
    """Spider middleware: tells the worker when a response's callback and items are done.

    It also releases next listing pages that the spider holds back until an
    article of their page is in the date window (``--since``): that article may
    be parsed by another worker, so here they go to the queue at once.
    """

    def __init__(self, crawler: Any) -> None:
        self.worker = worker_for(crawler)
        crawler.signals.connect(self._item_done, signal=signals.item_scraped)
        crawler.signals.connect(self._item_done, signal=signals.item_dropped)
        crawler.signals.connect(self._item_done, signal=signals.item_error)

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        return cls(crawler)

    def _item_done(self, response: Response | None = None, **_: Any) -> None:
        self.worker.item_finished(_entry(response))

    def _held_back(self) -> list[Request]:
        held: dict[Any, Request] | None = getattr(self.worker.spider, "_pending_next", None)
        if not held:
            return []
        requests = list(held.values())
        held.clear()
        return requests

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        entry = _entry(response)
        self.worker.parsing(entry)
        try:
            for output in result:
                if not isinstance(output, Request):
                    self.worker.item_started(entry)
                yield output
            yield from self._held_back()
        finally:
            self.worker.callback_done(entry)

    async def process_spider_output_async(
        self, response: Response, result: AsyncIterator[Any]
    ) -> AsyncIterator[Any]:
        entry = _entry(response)
        self.worker.parsing(entry)
        try:
            async for output in result:
                if not isinstance(output, Request):
                    self.worker.item_started(entry)
                yield output
            for request in self._held_back():
                yield request
        finally:
            self.worker.callback_done(entry)


class WorkerHeartbeat:
    """Extension: heartbeats, recovery of dead workers, and closing when the crawl is idle."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.worker = worker_for(crawler)
        self.loop: task.LoopingCall | None = None
        crawler.signals.connect(self.opened, signal=signals.spider_opened)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)
        crawler.signals.connect(self.idle, signal=signals.spider_idle)

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        return cls(crawler)

    def opened(self) -> None:
        self.loop = task.LoopingCall(self.tick)
        self.loop.start(self.worker.heartbeat_every, now=True)

    def closed(self) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()

    def _locally_idle(self) -> bool:
        try:
            return bool(self.crawler.engine.spider_is_idle())
        except (RuntimeError, AttributeError):
            return True

    def tick(self) -> None:
        try:
            idle = self._locally_idle()
            self.worker.beat(busy=not idle)
            self.worker.ack_flushed()
            self.worker.send_acks()
            if not idle:
                self.worker.idle_since = None
                return
            if self.worker.crawl_idle():
                if self.worker.idle_since is None:
                    self.worker.idle_since = time.monotonic()
            else:
                self.worker.idle_since = None
            # Requests another worker queued, or the time to close: look now, not at
            # the engine's next 5-second heartbeat.
            slot = getattr(self.crawler.engine, "_slot", None)
            if slot is not None:
                slot.nextcall.schedule()
        except redis.RedisError:
            logger.exception("distributed: redis unreachable; retrying at the next heartbeat")
        except Exception:  # the heartbeat must go on, or other workers take this one for dead
            logger.exception("distributed: heartbeat failed; retrying at the next one")

    def idle(self) -> None:
        since = self.worker.idle_since
        if since is None or time.monotonic() - since < self.worker.idle_seconds:
            raise DontCloseSpider("the shared crawl is not idle yet")
