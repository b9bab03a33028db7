"""A huge RSS feed over loopback: time to the first article request, and peak RSS.

Issue 11 found that a 100,000-item feed held a crawl for half a minute before
its first article request and took half a gigabyte (the whole feed parsed into
one tree first). Run alone, in a fresh process, so that its peak RSS is its
own; the figures are printed as JSON, never asserted::

    python -m bench.feed                      # CRAWLER_FEED_MAX_ITEMS as set (1,000)
    python -m bench.feed --max-items 100000   # the whole feed
    python -m bench.feed --items 0            # the baseline: an empty feed

``first_yield_s``: when ``parse_feed`` yielded its first request;
``first_article_request_s``: when the server received it; both from the start
of the crawl. The feed is about 14 MB (under ``DOWNLOAD_MAXSIZE``); the crawl
stops after ``--pages`` pages.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.http import Response

from crawler.crawling.runner import project_settings
from crawler.sites.base import NewsSpider

ARTICLE = b"<html><body><h1>t</h1><p>x</p></body></html>"


def feed(base: str, items: int) -> bytes:
    entries = "".join(
        f"<item><title>Article {n}</title><link>{base}/news/article-{n}</link>"
        "<pubDate>Mon, 06 Jan 2025 10:00:00 +0700</pubDate></item>"
        for n in range(items)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"{entries}</channel></rss>"
    ).encode()


class FeedServer:
    """Serves ``/feed.rss`` and a tiny page for every article; notes the first article request."""

    def __init__(self, items: int) -> None:
        self.first_article: float | None = None
        self.articles = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                status, body = 404, b""
                if self.path == "/feed.rss":
                    status, body = 200, server.body
                elif self.path.startswith("/news/"):
                    if server.first_article is None:
                        server.first_article = time.monotonic()
                    server.articles += 1
                    status, body = 200, ARTICLE
                self.send_response(status)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.body = feed(self.base, items)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


class FeedSpider(NewsSpider):
    name = "feedbench"
    site = "127.0.0.1"
    article_url_pattern = r"/news/article-(?P<id>\d+)$"
    first_yield: float | None = None

    def __init__(self, *args: Any, base: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.feed_urls = (f"{base}/feed.rss",)  # type: ignore[misc]

    def parse_feed(self, response: Response) -> Iterator[Any]:
        for request in super().parse_feed(response):
            if FeedSpider.first_yield is None:
                FeedSpider.first_yield = time.monotonic()
            yield request

    def parse_article(self, response: Response) -> Iterator[Any]:
        return iter(())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--max-items", type=int, default=0, help="CRAWLER_FEED_MAX_ITEMS")
    parser.add_argument("--pages", type=int, default=200, help="CLOSESPIDER_PAGECOUNT")
    args = parser.parse_args()
    server = FeedServer(args.items)
    settings: dict[str, Any] = {
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "ROBOTSTXT_OBEY": False,
        "CRAWLER_RAW_PAGES": False,
        "LOG_LEVEL": "ERROR",
        "CLOSESPIDER_PAGECOUNT": args.pages,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    }
    if args.max_items:
        settings["CRAWLER_FEED_MAX_ITEMS"] = args.max_items
    with tempfile.TemporaryDirectory() as out:
        settings["CRAWLER_ARCHIVE_DIR"] = out
        process = CrawlerProcess(project_settings(settings))
        start = time.monotonic()
        process.crawl(FeedSpider, base=server.base)
        process.start()
        end = time.monotonic()

    def since_start(moment: float | None) -> float | None:
        return None if moment is None else round(moment - start, 2)

    figures = {
        "items": args.items,
        "feed_bytes": len(server.body),
        "first_yield_s": since_start(FeedSpider.first_yield),
        "first_article_request_s": since_start(server.first_article),
        "run_s": round(end - start, 2),
        "article_requests": server.articles,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
