"""Shared by the tests that crawl replicas: start a crawl in the test reactor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy.crawler import Crawler, CrawlerRunner

from crawler.crawling.runner import project_settings
from crawler.mirror.demo import DEMO_SETTINGS
from crawler.mirror.server import MirrorServer


async def crawl(
    server: MirrorServer,
    out: Path,
    spidercls: Any,
    settings: dict[str, Any] | None = None,
    **spider_args: Any,
) -> Crawler:
    """Crawl ``spidercls`` against the replica server into the archive at ``out``."""
    merged = project_settings(
        {
            **DEMO_SETTINGS,
            "CRAWLER_MIRROR_URL": server.base_url,
            "CRAWLER_ARCHIVE_DIR": str(out),
            "CRAWLER_ARCHIVE_FLUSH_ROWS": 10,
            "LOG_LEVEL": "WARNING",
            **(settings or {}),
        }
    )
    runner = CrawlerRunner(merged)
    crawler = runner.create_crawler(spidercls)
    await runner.crawl(crawler, **spider_args)
    return crawler
