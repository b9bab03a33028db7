"""One benchmark crawl in this process, its figures printed as JSON on standard output.

``full``: the real crawler (``run_spiders``: the qdnd spider, every pipeline, the
archive). ``ceiling``: a bare spider that only follows the same listing, pagination
and feed links and fetches the pages; same settings, same downloader middlewares
(the mirror, cookies, the cookie gate, robots.txt), no item pipelines. Both fetch
from the replica at ``--mirror``. Run by ``bench/__main__.py``, each crawl in a
fresh process so that its peak RSS is its own::

    python -m bench.crawl full --mirror http://127.0.0.1:PORT --out /tmp/archive
"""

from __future__ import annotations

import argparse
import cProfile
import json
import re
import resource
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import scrapy
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response

from crawler.crawling.runner import project_settings, run_spiders
from crawler.mirror.demo import DEMO_SETTINGS
from crawler.sites.qdnd import QdndSpider

_FEED_LINK = re.compile(r"<link>([^<]+)</link>")


class CeilingSpider(scrapy.Spider):
    """Follows what the qdnd spider follows, extracts nothing."""

    name = "ceiling"

    async def start(self) -> AsyncIterator[Any]:
        for url in QdndSpider.feed_urls:
            yield scrapy.Request(url, callback=self.parse_feed)
        for url in QdndSpider.listing_urls:
            yield scrapy.Request(url, callback=self.parse_listing)

    def parse_feed(self, response: Response) -> Iterator[Any]:
        for link in _FEED_LINK.findall(response.text)[1:]:  # the first is the channel's
            yield scrapy.Request(link, callback=self.parse_article)

    def parse_listing(self, response: Response) -> Iterator[Any]:
        for href in response.css(QdndSpider.listing_link_css + "::attr(href)").getall():
            yield response.follow(href, callback=self.parse_article)
        following = response.css("ul.pagination li.next a::attr(href)").get()
        if following:
            yield response.follow(following, callback=self.parse_listing)

    def parse_article(self, response: Response) -> None:
        return None


def settings(mirror: str, out: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The settings both sides share: loopback is not a site to be polite to."""
    return {
        **DEMO_SETTINGS,
        "CRAWLER_MIRROR_URL": mirror,
        "CRAWLER_ARCHIVE_DIR": out,
        "LOG_LEVEL": "WARNING",
        **(extra or {}),
    }


def summarise(stats: dict[str, Any]) -> dict[str, Any]:
    elapsed = float(stats.get("elapsed_time_seconds") or 0.0)
    pages = int(stats.get("response_received_count", 0))
    return {
        "pages": pages,
        "articles": int(stats.get("crawler/archive/rows_written", 0)),
        "elapsed_s": round(elapsed, 3),
        "pages_per_s": round(pages / elapsed, 1) if elapsed else None,
        "finish_reason": stats.get("finish_reason"),
        "errors": int(stats.get("log_count/ERROR", 0)),
        "start_time": str(stats.get("start_time")),
        "finish_time": str(stats.get("finish_time")),
    }


def run_full(mirror: str, out: str, extra: dict[str, Any]) -> dict[str, Any]:
    result = run_spiders(["qdnd"], settings(mirror, out, extra))
    return summarise(result.spiders[0].stats)


def run_ceiling(mirror: str, out: str, extra: dict[str, Any]) -> dict[str, Any]:
    process = CrawlerProcess(
        project_settings(settings(mirror, out, {"ITEM_PIPELINES": {}, **extra}))
    )
    crawler = process.create_crawler(CeilingSpider)
    process.crawl(crawler)
    process.start()
    assert crawler.stats is not None
    return summarise(crawler.stats.get_stats())


def peak_rss_mib() -> float:
    """This process's peak RSS. ``VmHWM``, not ``ru_maxrss``: Linux carries ``ru_maxrss``
    over ``exec``, so a child of a big parent would report the parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("mode", choices=["full", "ceiling"])
    parser.add_argument("--mirror", required=True, help="replica base URL")
    parser.add_argument("--out", required=True, help="archive root")
    parser.add_argument("--profile", help="write cProfile statistics to this file")
    parser.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    extra = dict(pair.split("=", 1) for pair in args.set)
    run = run_full if args.mode == "full" else run_ceiling
    if args.profile:
        profiler = cProfile.Profile()
        result = profiler.runcall(run, args.mirror, args.out, extra)
        profiler.dump_stats(args.profile)
    else:
        result = run(args.mirror, args.out, extra)
    result["peak_rss_mib"] = peak_rss_mib()
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
