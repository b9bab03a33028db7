"""The redis scheduler and the reliable queue: a request taken is in flight until done."""

from __future__ import annotations

import logging
from collections import deque
from typing import Any, Self

from scrapy import Request, Spider
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler as RedisSchedulerBase

from crawler.crawling.distributed.worker import ENTRY_META, STATS, Worker, worker_for

logger = logging.getLogger(__name__)


class ReliableQueue(PriorityQueue):
    """scrapy-redis' priority queue, newest first within a priority, whose pop keeps the
    request in the worker's in-flight hash. Requests are taken a few at a time
    (``TAKE_BATCH``): fewer round trips, and they are in flight, so safe, while held."""

    TAKE_BATCH = 4
    worker: Worker | None = None
    dupefilter_key: str = ""
    held: deque[Request]

    def _worker(self) -> Worker:
        if self.worker is None:
            raise RuntimeError("ReliableQueue used without a worker")
        return self.worker

    def __len__(self) -> int:
        return len(getattr(self, "held", ())) + int(self.server.zcard(self.key))

    def push_new(self, request: Request, fingerprint: str) -> bool:
        """Queue ``request`` unless the duplicate filter knows ``fingerprint``."""
        data = self._encode_request(request)
        return self._worker().push(self.dupefilter_key, fingerprint, request.priority, data)

    def push(self, request: Request) -> None:
        self.push_new(request, "")

    def pop(self, timeout: int = 0) -> Request | None:
        if not hasattr(self, "held"):
            self.held = deque()
        if not self.held:
            for entry, data in self._worker().take(self.TAKE_BATCH):
                request: Request = self._decode_request(data)
                request.meta[ENTRY_META] = entry
                self.held.append(request)
        return self.held.popleft() if self.held else None


class RedisScheduler(RedisSchedulerBase):
    """scrapy-redis' scheduler with the reliable queue, and retries kept local."""

    worker: Worker
    local: deque[Request]

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        instance: Self = super().from_crawler(crawler)
        instance.worker = worker_for(crawler)
        instance.local = deque()
        return instance

    def open(self, spider: Spider) -> None:
        super().open(spider)
        self.queue.worker = self.worker
        self.queue.dupefilter_key = self.df.key
        self.worker.spider = spider
        if self.stats is not None:
            self.stats.set_value(f"{STATS}/worker", self.worker.worker_id)
            self.stats.set_value(f"{STATS}/crawl", self.worker.crawl_id)
        recovered = self.worker.recover()
        if recovered:
            self.worker.stat("recovered_on_start", recovered)

    def enqueue_request(self, request: Request) -> bool:
        if self.worker.owns_unparsed(request):
            if not request.dont_filter and self.df.request_seen(request):
                self.df.log(request, self.spider)
                return False
            self.local.append(request)  # same in-flight entry: done when this one is
            return True
        request.meta.pop(ENTRY_META, None)
        fingerprint = "" if request.dont_filter else self.df.request_fingerprint(request)
        if not self.queue.push_new(request, fingerprint):
            self.df.log(request, self.spider)
            return False
        if self.stats is not None:
            self.stats.inc_value("scheduler/enqueued/redis")
        return True

    def next_request(self) -> Request | None:
        if self.local:
            return self.local.popleft()
        request: Request | None = self.queue.pop()
        if request is not None and self.stats is not None:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        return bool(self.local) or len(self) > 0

    def close(self, reason: str) -> None:
        self.worker.leave(finished=reason == "finished")
