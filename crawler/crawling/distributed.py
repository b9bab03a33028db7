"""Distributed crawling on scrapy-redis: any number of workers share one crawl.

Set ``CRAWLER_REDIS_URL`` (``crawler crawl SPIDER --redis redis://HOST:PORT/DB``)
and the :class:`Distributed` add-on (enabled in ``crawler/settings.py``) turns a
crawl into a worker of a shared crawl. Without the setting it does nothing.

What the workers share, in redis, under ``crawler:<spider>:``:

- ``crawl``: the id of the crawl in progress. The first worker sets it (its
  ``CRAWLER_RUN_ID``); later ones join it. Each worker writes its own Parquet
  files under run id ``<crawl id>-w<N>`` (``N`` counts the workers that
  joined): a per-worker run id, because the archive's file names carry run id
  and pid, and workers in containers on several machines often share a pid.
  The rows of one crawl are those whose ``crawl_run`` starts with
  ``<crawl id>-w``.
- ``requests``: scrapy-redis' priority queue (a sorted set) and ``dupefilter``:
  scrapy-redis' duplicate filter. Every worker seeds the spider's start
  requests; the shared duplicate filter lets the first seeding through and
  drops the others, so seeding is idempotent.
- ``inflight:<worker>``: the *reliable queue*. Taking a request moves it
  atomically (one Lua script) from ``requests`` into the worker's in-flight
  hash; it leaves the hash (is acknowledged) only when the worker is done
  with it: its callback has run, every item it made has passed the pipelines
  and, for a request that made items, the archive has written them to a file
  (the writer buffers rows, and a buffered row dies with its process). Retries,
  redirects and the cookie gate's second try stay with the worker that took
  the request (its cookies, its retry count) under the same in-flight entry.
- ``worker:<worker>``: a heartbeat (``busy`` or ``idle``) refreshed every
  ``CRAWLER_REDIS_HEARTBEAT`` seconds that expires after
  ``CRAWLER_REDIS_WORKER_TIMEOUT``. A worker whose heartbeat has expired is
  dead: the next worker that starts or idles claims its in-flight hash (one
  script, so only one claims it) and puts its requests back in the queue,
  except those whose article the archive already holds (the dead worker wrote
  its file but died before acknowledging). So a worker killed at any moment,
  even with ``kill -9``, loses nothing that another worker does not pick up;
  if every worker dies, the next one started resumes the crawl.

A worker stops when the shared queue is empty and every live worker has been
idle for ``CRAWLER_REDIS_IDLE_SECONDS``; a worker stopped early (Ctrl-C, a
close-spider limit) puts what it had not finished back in the queue. The last
worker to leave a finished crawl deletes its keys, so the next
``crawler crawl --redis`` starts a new crawl (and, being incremental, fetches
only what the archive lacks).

Delivery is at least once: a request may be fetched twice (a worker declared
dead while merely stalled for longer than the timeout), never lost. The redis
client is synchronous; its calls are sub-millisecond on a LAN.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Self

import redis
from scrapy import Request, Spider, signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response
from scrapy.utils.request import request_from_dict
from scrapy_redis import picklecompat
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler as RedisSchedulerBase
from twisted.internet import task

from crawler.archive import known_url_keys
from crawler.items import sha256_hex
from crawler.pipelines.archive import new_run_id
from crawler.urls import canonical_url

logger = logging.getLogger(__name__)

KEY_PREFIX = "crawler:{spider}"
ENTRY_META = "crawler_redis_entry"
"""Request meta key: the id of the request's in-flight entry."""
STATS = "crawler/redis"

# Taking requests: pop the best ARGV[1] and keep each (with its score) in this worker's hash.
# KEYS: queue, inflight, seq. Returns {id1, data1, id2, data2, ...}.
_TAKE = """
local popped = redis.call('ZPOPMIN', KEYS[1], ARGV[1])
local out = {}
for i = 1, #popped, 2 do
  local id = tostring(redis.call('INCR', KEYS[3]))
  redis.call('HSET', KEYS[2], id, popped[i + 1] .. ' ' .. popped[i])
  out[#out + 1] = id
  out[#out + 1] = popped[i]
end
return out
"""

# Queueing a request unless the duplicate filter has seen it, in one round trip.
# Within a priority the newest request goes first (LIFO, Scrapy's own default order):
# a listing's next page, yielded after its articles, is fetched before them, so the
# frontier never runs dry. KEYS: dupefilter, queue, seq. ARGV: fingerprint ('' for
# dont_filter), priority, data. Returns 1 if queued.
_PUSH = """
if ARGV[1] ~= '' and redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
local seq = redis.call('INCR', KEYS[3])
redis.call('ZADD', KEYS[2], -tonumber(ARGV[2]) * 4294967296 - seq, ARGV[3])
return 1
"""

# Joining the crawl in progress, or starting one. KEYS: crawl, seq, workers.
# ARGV: proposed crawl id, heartbeat key prefix, heartbeat ttl (ms). Returns {crawl id, worker id}.
_JOIN = """
local crawl = redis.call('GET', KEYS[1])
if not crawl then
  redis.call('SET', KEYS[1], ARGV[1])
  crawl = ARGV[1]
end
local worker = crawl .. '-w' .. redis.call('INCR', KEYS[2])
redis.call('SADD', KEYS[3], worker)
redis.call('SET', ARGV[2] .. worker, 'busy', 'PX', ARGV[3])
return {crawl, worker}
"""

# Claiming a dead worker's in-flight entries into ours, if its heartbeat is still absent.
# KEYS: its heartbeat, its inflight, workers, our inflight. ARGV: its id. Returns the count.
_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 then return -1 end
local entries = redis.call('HGETALL', KEYS[2])
for i = 1, #entries, 2 do redis.call('HSET', KEYS[4], entries[i], entries[i + 1]) end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return #entries / 2
"""

# Putting in-flight entries back in the queue. KEYS: inflight, queue. ARGV: entry ids.
_REQUEUE = """
local n = 0
for _, id in ipairs(ARGV) do
  local v = redis.call('HGET', KEYS[1], id)
  if v then
    local sp = string.find(v, ' ', 1, true)
    redis.call('ZADD', KEYS[2], tonumber(string.sub(v, 1, sp - 1)), string.sub(v, sp + 1))
    redis.call('HDEL', KEYS[1], id)
    n = n + 1
  end
end
return n
"""

# Leaving. KEYS: workers, heartbeat, inflight, queue, then the crawl's keys to delete
# when this was the last worker and nothing is queued. ARGV: worker id. Returns 1 if deleted.
_LEAVE = """
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2], KEYS[3])
if redis.call('SCARD', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[4]) == 0 then
  for i = 5, #KEYS do redis.call('DEL', KEYS[i]) end
  return 1
end
return 0
"""

_TAKEN, _PARSING = "taken", "parsing"


def prefix(spider_name: str) -> str:
    return KEY_PREFIX.format(spider=spider_name)


def connect(url: str) -> redis.Redis:
    """A client for ``url`` (``redis://HOST:PORT/DB``), with scrapy-redis' timeouts."""
    return redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=30)


class Distributed:
    """Scrapy add-on: with ``CRAWLER_REDIS_URL`` set, make this crawl a worker of a shared one.

    It joins (or starts) the crawl in redis, takes the worker's run id, and
    installs the redis scheduler, the heartbeat extension and the middleware
    that acknowledges finished requests.
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        return cls(crawler)

    def update_settings(self, settings: Any) -> None:
        url = (settings.get("CRAWLER_REDIS_URL") or "").strip()
        if not url:
            return
        if not url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"CRAWLER_REDIS_URL must be a redis:// URL, got {url!r}")
        name = self.crawler.spidercls.name
        timeout = settings.getfloat("CRAWLER_REDIS_WORKER_TIMEOUT", 30.0)
        keys = prefix(name)
        server = connect(url)
        proposed = settings.get("CRAWLER_RUN_ID") or new_run_id()
        crawl_id, worker_id = (
            value.decode()
            for value in server.eval(
                _JOIN,
                3,
                f"{keys}:crawl",
                f"{keys}:seq",
                f"{keys}:workers",
                proposed,
                f"{keys}:worker:",
                int(timeout * 1000),
            )
        )
        server.close()
        logger.info("distributed: worker %s of crawl %s at %s", worker_id, crawl_id, url)
        for key, value in {
            "REDIS_URL": url,
            "SCHEDULER": "crawler.crawling.distributed.RedisScheduler",
            "SCHEDULER_QUEUE_CLASS": "crawler.crawling.distributed.ReliableQueue",
            "SCHEDULER_QUEUE_KEY": f"{KEY_PREFIX.replace('{spider}', '%(spider)s')}:requests",
            "SCHEDULER_DUPEFILTER_KEY": f"{KEY_PREFIX.replace('{spider}', '%(spider)s')}:dupefilter",
            "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
            "SCHEDULER_PERSIST": True,  # the last worker to leave deletes the keys
            "SCHEDULER_IDLE_BEFORE_CLOSE": 0,  # never block the reactor on redis
            "CRAWLER_RUN_ID": worker_id,
            "CRAWLER_REDIS_WORKER": worker_id,
            "CRAWLER_REDIS_CRAWL": crawl_id,
        }.items():
            settings.set(key, value, priority="cmdline")
        settings.set_in_component_priority_dict("SPIDER_MIDDLEWARES", AcknowledgeMiddleware, 10)
        settings.set_in_component_priority_dict("EXTENSIONS", WorkerHeartbeat, 0)


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
        self._take = self.server.register_script(_TAKE)
        self._push = self.server.register_script(_PUSH)
        self._claim = self.server.register_script(_CLAIM)
        self._requeue = self.server.register_script(_REQUEUE)
        self._leave = self.server.register_script(_LEAVE)

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
        known: set[str] | None = None
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
                    known = set()
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


_WORKERS: weakref.WeakKeyDictionary[Any, Worker] = weakref.WeakKeyDictionary()


def worker_for(crawler: Any) -> Worker:
    """The one :class:`Worker` of ``crawler``."""
    worker = _WORKERS.get(crawler)
    if worker is None:
        worker = _WORKERS[crawler] = Worker(crawler)
    return worker


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
