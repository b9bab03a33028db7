"""robots.txt is obeyed for every request, also for those that arrive while it is being fetched.

Reportedly, since Scrapy 2.14, the third and later requests to a host that wait
for its robots.txt are let through unchecked. This test sends several start
requests at once, disallowed ones among the third and later.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest_twisted
import scrapy
from scrapy.crawler import CrawlerRunner
from support.faultserver import FaultServer

from crawler.crawling.runner import project_settings


class Burst(scrapy.Spider):
    name = "burst"

    def __init__(self, *args: Any, base: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base = base

    async def start(self) -> AsyncIterator[Any]:
        for path in (
            "/a/ok-1",
            "/a/retry503-2",
            "/a/private-1",
            "/a/private-2",
            "/a/private-3",
            "/a/gone-4",
        ):
            yield scrapy.Request(self.base + path, callback=self.parse, dont_filter=True)

    def parse(self, response: Any) -> None:
        pass


@pytest_twisted.ensureDeferred
async def test_requests_waiting_for_robots_txt_are_all_checked() -> None:
    with FaultServer(robots_delay=1.0) as server:
        settings = project_settings(
            {
                "LOG_LEVEL": "WARNING",
                "DOWNLOAD_DELAY": 0,
                "RETRY_TIMES": 0,
                "CRAWLER_ALLOW_PRIVATE_NETWORKS": "127.0.0.1/32",  # the fault server (netguard)
            }
        )
        runner = CrawlerRunner(settings)
        crawler = runner.create_crawler(Burst)
        await runner.crawl(crawler, base=server.base)
    fetched = set(server.hits)
    assert not {p for p in fetched if p.startswith("/a/private")}, (
        f"disallowed pages fetched: {sorted(fetched)}"
    )
    assert crawler.stats.get_value("robotstxt/forbidden") == 3
    assert "/a/ok-1" in fetched
