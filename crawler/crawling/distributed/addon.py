"""The add-on that turns a crawl into a worker when ``CRAWLER_REDIS_URL`` is set."""

from __future__ import annotations

import logging
from typing import Any, Self

from crawler.crawling.distributed.middleware import AcknowledgeMiddleware, WorkerHeartbeat
from crawler.crawling.distributed.scripts import JOIN
from crawler.crawling.distributed.worker import KEY_PREFIX, connect, prefix
from crawler.pipelines.archive import new_run_id

logger = logging.getLogger(__name__)


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
                JOIN,
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
