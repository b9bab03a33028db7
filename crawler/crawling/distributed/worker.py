"""One worker of a shared crawl: its place in redis, its in-flight requests, joining,
claiming dead workers' requests, leaving."""

from __future__ import annotations

import logging
import weakref
from typing import Any

import redis
from scrapy import Request, Spider
from scrapy.utils.request import request_from_dict
from scrapy_redis import picklecompat

from crawler.archive import KnownKeys, known_url_keys
from crawler.crawling.distributed.scripts import CLAIM, LEAVE, PUSH, REQUEUE, TAKE
from crawler.items import sha256_hex
from crawler.urls import canonical_url

logger = logging.getLogger(__name__)

_TAKEN, _PARSING = "taken", "parsing"

KEY_PREFIX = "crawler:{spider}"


ENTRY_META = "crawler_redis_entry"
"""Request meta key: the id of the request's in-flight entry."""


STATS = "crawler/redis"


def prefix(spider_name: str) -> str:
    return KEY_PREFIX.format(spider=spider_name)


def connect(url: str) -> redis.Redis:
    """A client for ``url`` (``redis://HOST:PORT/DB``), with scrapy-redis' timeouts."""
    return redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=30)


class Worker:
    """One worker's side of the shared crawl: in-flight bookkeeping, heartbeat, recovery.

    Shared by the scheduler, the extension and the middleware of one crawler.
    """

    def __init__(self, crawler: Any) -> None:
        settings = crawler.settings
        self.crawler = crawler
        self.server: Any = connect(settings["CRAWLER_REDIS_URL"])  # untyped: bytes replies
        self.worker_id: str = settings["CRAWLER_REDIS_WORKER"]
        self.crawl_id: str = settings["CRAWLER_REDIS_CRAWL"]
        self.keys = prefix(crawler.spidercls.name)
        self.heartbeat_every = max(0.1, settings.getfloat("CRAWLER_REDIS_HEARTBEAT", 1.0))
        self.timeout = settings.getfloat("CRAWLER_REDIS_WORKER_TIMEOUT", 30.0)
        # Several heartbeats of idleness, so a stale "idle" of another worker cannot end the crawl.
        self.idle_seconds = max(
            settings.getfloat("CRAWLER_REDIS_IDLE_SECONDS", 10.0), 3 * self.heartbeat_every
        )
        self.archive_root = settings.get("CRAWLER_ARCHIVE_DIR") or "output"
        self.spider: Spider | None = None
        self.state: dict[str, str] = {}  # entry id -> _TAKEN or _PARSING
        self.pending_items: dict[str, int] = {}
        self.made_items: set[str] = set()
        self.output_done: set[str] = set()
        self.awaiting_flush: list[str] = []  # settled, but their rows may still be buffered
        self.to_ack: list[str] = []
        self.idle_since: float | None = None
        self._writer: Any = None
        self._writer_found = False
        self._take = self.server.register_script(TAKE)
        self._push = self.server.register_script(PUSH)
        self._claim = self.server.register_script(CLAIM)
        self._requeue = self.server.register_script(REQUEUE)
        self._leave = self.server.register_script(LEAVE)

    # -- keys ------------------------------------------------------------------

    @property
    def queue_key(self) -> str:
        return f"{self.keys}:requests"

    @property
    def workers_key(self) -> str:
        return f"{self.keys}:workers"

    def heartbeat_key(self, worker: str) -> str:
        return f"{self.keys}:worker:{worker}"

    def inflight_key(self, worker: str) -> str:
        return f"{self.keys}:inflight:{worker}"

    def stat(self, name: str, n: int = 1) -> None:
        if self.crawler.stats is not None and n:
            self.crawler.stats.inc_value(f"{STATS}/{name}", n)

    # -- taking and acknowledging -------------------------------------------------

    def take(self, count: int) -> list[tuple[str, bytes]]:
        """Move the best ``count`` queued requests into this worker's in-flight hash."""
        found = self._take(
            keys=[self.queue_key, self.inflight_key(self.worker_id), f"{self.keys}:seq"],
            args=[count],
        )
        taken = [(found[i].decode(), found[i + 1]) for i in range(0, len(found), 2)]
        for entry, _ in taken:
            self.state[entry] = _TAKEN
        return taken

    def push(self, dupefilter_key: str, fingerprint: str, priority: int, data: bytes) -> bool:
        """Queue ``data`` unless ``fingerprint`` was seen (empty: queue anyway)."""
        keys = [dupefilter_key, self.queue_key, f"{self.keys}:seq"]
        return bool(self._push(keys=keys, args=[fingerprint, priority, data]))

    def owns_unparsed(self, request: Request) -> bool:
        """True for a request of ours whose response has not reached the spider yet
        (a retry, a redirect, the cookie gate's second try)."""
        entry = request.meta.get(ENTRY_META)
        return entry is not None and self.state.get(entry) == _TAKEN

    def parsing(self, entry: str | None) -> None:
        if entry in self.state:
            self.state[entry] = _PARSING

    def item_started(self, entry: str | None) -> None:
        if entry is None or entry not in self.state:
            return
        self.pending_items[entry] = self.pending_items.get(entry, 0) + 1
        self.made_items.add(entry)

    def item_finished(self, entry: str | None) -> None:
        if entry is None or entry not in self.pending_items:
            return
        self.pending_items[entry] -= 1
        if self.pending_items[entry] <= 0:
            del self.pending_items[entry]
            if entry in self.output_done:
                self.settle(entry)
        self.ack_flushed()

    def callback_done(self, entry: str | None) -> None:
        if entry is None or entry not in self.state:
            return
        if self.pending_items.get(entry):
            self.output_done.add(entry)
        else:
            self.settle(entry)

    def settle(self, entry: str) -> None:
        """The worker is done with ``entry``: acknowledge it once its rows are in a file."""
        self.state.pop(entry, None)
        self.output_done.discard(entry)
        if entry in self.made_items:
            self.made_items.discard(entry)
            self.awaiting_flush.append(entry)
            self.ack_flushed()
        else:
            self.to_ack.append(entry)
        if len(self.to_ack) >= 64:
            self.send_acks()

    def _archive_writer(self) -> Any:
        if not self._writer_found:
            self._writer_found = True
            itemproc = getattr(getattr(self.crawler.engine, "scraper", None), "itemproc", None)
            for pipeline in getattr(itemproc, "middlewares", ()):
                if hasattr(pipeline, "writer") and hasattr(pipeline, "flush_rows"):
                    self._writer = pipeline
        return getattr(self._writer, "writer", None)

    def ack_flushed(self) -> None:
        """When the archive holds no buffered row, every settled request's rows are in files."""
        if not self.awaiting_flush:
            return
        writer = self._archive_writer()
        if writer is None or writer.buffered == 0:
            self.to_ack.extend(self.awaiting_flush)
            self.awaiting_flush.clear()

    def send_acks(self) -> None:
        if self.to_ack:
            self.server.hdel(self.inflight_key(self.worker_id), *self.to_ack)
            self.stat("acknowledged", len(self.to_ack))
            self.to_ack.clear()

    # -- heartbeat, idleness, recovery ---------------------------------------------

    def beat(self, busy: bool) -> None:
        self.server.set(
            self.heartbeat_key(self.worker_id),
            "busy" if busy else "idle",
            px=int(self.timeout * 1000),
        )

    def crawl_idle(self) -> bool:
        """Queue empty and every other live worker idle; dead workers' requests recovered."""
        with self.server.pipeline(transaction=False) as pipe:
            pipe.zcard(self.queue_key)
            pipe.smembers(self.workers_key)
            queued, members = pipe.execute()
        if queued:
            return False
        others = sorted(m.decode() for m in members if m.decode() != self.worker_id)
        if not others:
            return True
        states = self.server.mget([self.heartbeat_key(w) for w in others])
        if any(state is None for state in states):
            self.recover()
            return False
        return all(state == b"idle" for state in states)

    def recover(self) -> int:
        """Put the requests of dead workers back in the queue; return how many."""
        if self.spider is None:
            return 0
        recovered = 0
        self.send_acks()  # what is settled must not be requeued with the claimed entries
        mine = self.inflight_key(self.worker_id)
        for member in sorted(self.server.smembers(self.workers_key)):
            worker = member.decode()
            if worker == self.worker_id:
                continue
            claimed = self._claim(
                keys=[
                    self.heartbeat_key(worker),
                    self.inflight_key(worker),
                    self.workers_key,
                    mine,
                ],
                args=[worker],
            )
            if claimed < 0:
                continue  # alive
            logger.warning(
                "distributed: worker %s is gone (no heartbeat for %.0f s): "
                "taking back its %d unfinished requests",
                worker,
                self.timeout,
                claimed,
            )
            recovered += self.requeue_claimed(set(self.state))
        return recovered

    def requeue_claimed(self, keep: set[str]) -> int:
        """Requeue every entry of our hash not in ``keep``, but drop those whose
        article the archive already holds."""
        mine = self.inflight_key(self.worker_id)
        entries = {
            k.decode(): v for k, v in self.server.hgetall(mine).items() if k.decode() not in keep
        }
        entries = {k: v for k, v in entries.items() if k not in self.awaiting_flush}
        if not entries:
            return 0
        archived = self._archived(entries)
        if archived:
            self.server.hdel(mine, *archived)
            self.stat("recovered_already_archived", len(archived))
        ids = [k for k in entries if k not in archived]
        if ids:
            self._requeue(keys=[mine, self.queue_key], args=ids)
            self.stat("requeued", len(ids))
        return len(ids)

    def _archived(self, entries: dict[str, bytes]) -> list[str]:
        spider = self.spider
        assert spider is not None
        host = getattr(spider, "canonical_host", None)
        known: KnownKeys | None = None
        archived = []
        for entry, value in entries.items():
            try:
                request = request_from_dict(
                    picklecompat.loads(value.split(b" ", 1)[1]), spider=spider
                )
            except Exception:
                logger.exception("distributed: unreadable in-flight entry %s, requeued", entry)
                continue
            if known is None:
                site = getattr(spider, "site", None) or None
                try:
                    known = known_url_keys(self.archive_root, site)
                except Exception:  # an unreadable archive must not stop the recovery
                    logger.exception("distributed: cannot read the archive; requeueing all")
                    known = KnownKeys.empty()
            if sha256_hex(canonical_url(request.url, host)) in known:
                archived.append(entry)
        return archived

    def leave(self, finished: bool) -> None:
        """Acknowledge what is done; requeue the rest unless the crawl finished; unregister."""
        self.ack_flushed()
        self.to_ack.extend(self.awaiting_flush)  # the archive was closed (flushed) before us
        self.awaiting_flush.clear()
        self.send_acks()
        if not finished:
            requeued = self.requeue_claimed(set())
            if requeued:
                logger.info("distributed: put %d unfinished requests back in the queue", requeued)
        deleted = self._leave(
            keys=[
                self.workers_key,
                self.heartbeat_key(self.worker_id),
                self.inflight_key(self.worker_id),
                self.queue_key,
                f"{self.keys}:crawl",
                f"{self.keys}:dupefilter",
                f"{self.keys}:seq",
            ],
            args=[self.worker_id],
        )
        if deleted:
            logger.info("distributed: crawl %s finished; its redis keys are deleted", self.crawl_id)
        self.server.close()


def worker_for(crawler: Any) -> Worker:
    """The one :class:`Worker` of ``crawler``."""
    worker = _WORKERS.get(crawler)
    if worker is None:
        worker = _WORKERS[crawler] = Worker(crawler)
    return worker


_WORKERS: weakref.WeakKeyDictionary[Any, Worker] = weakref.WeakKeyDictionary()
