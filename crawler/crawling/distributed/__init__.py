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

from crawler.crawling.distributed.addon import Distributed
from crawler.crawling.distributed.middleware import AcknowledgeMiddleware, WorkerHeartbeat
from crawler.crawling.distributed.scheduler import RedisScheduler, ReliableQueue
from crawler.crawling.distributed.worker import KEY_PREFIX, Worker, connect, prefix, worker_for

__all__ = [
    "KEY_PREFIX",
    "AcknowledgeMiddleware",
    "Distributed",
    "RedisScheduler",
    "ReliableQueue",
    "Worker",
    "WorkerHeartbeat",
    "connect",
    "prefix",
    "worker_for",
]
