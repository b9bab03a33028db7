"""Hostile feeds and sitemaps over loopback: every attack provoked, the outcome asserted.

One crawl of a small server on 127.0.0.1 that serves endless sitemap chains,
oversized feeds and sitemaps, gzip sitemaps without a compression header, a
gzip bomb, XML broken part-way, entity bombs and external entities, and links
that are not articles. docs/reliability.md lists each guarantee with its test.
"""

from __future__ import annotations

import gzip
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from scrapy.crawler import Crawler, CrawlerRunner
from support.fault_spider import FaultSpider
from support.faultserver import VIETNAMESE, article, cp1258
from twisted.internet import defer

from crawler.crawling.runner import project_settings
from crawler.sites.discovery import FEED_RECORDS, XmlRecords, feed_link, sitemap_body

MAX_DEPTH = 3
MAX_ENTRIES = 20
MAX_ITEMS = 30
MAX_SIZE = 4 * 1024 * 1024

SETTINGS: dict[str, Any] = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "RETRY_TIMES": 0,
    "DOWNLOAD_MAXSIZE": MAX_SIZE,
    "DOWNLOAD_WARNSIZE": MAX_SIZE,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
    "LOG_LEVEL": "WARNING",
    "CRAWLER_ALLOW_PRIVATE_NETWORKS": "127.0.0.0/8",  # the test server; see test_netguard
    "CRAWLER_SITEMAP_MAX_DEPTH": MAX_DEPTH,
    "CRAWLER_SITEMAP_MAX_ENTRIES": MAX_ENTRIES,
    "CRAWLER_FEED_MAX_ITEMS": MAX_ITEMS,
}

FEEDS = ("big.rss", "broken.rss", "mixed.rss", "atom.xml", "laughs.rss", "xxe.rss", "cp1258.rss")
SITEMAPS = (
    "chain/0.xml",
    "wide.xml",
    "gz.xml.gz",
    "gz2.xml.gz",
    "bomb.xml.gz",
    "broken.xml",
    "page.xml",
    "mixed.xml",
)

LAUGHS = "".join(
    f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
)  # 10^9 "lol"s once expanded


def urlset(locs: list[str], tail: str = "</urlset>") -> str:
    entries = "".join(f"<url><loc>{loc}</loc><lastmod>2025-01-06</lastmod></url>" for loc in locs)
    return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}{tail}'


def index(locs: list[str]) -> str:
    entries = "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs)
    return f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>'


def rss(links: list[str], head: str = "", tail: str = "</channel></rss>") -> str:
    items = "".join(
        f"<item><title>t</title><link>{link}</link>"
        "<pubDate>Mon, 06 Jan 2025 10:00:00 +0700</pubDate></item>"
        for link in links
    )
    return f'<?xml version="1.0"?>{head}<rss version="2.0"><channel><title>f</title>{items}{tail}'


class DiscoveryServer:
    """Serves the hostile feeds and sitemaps; every ``/a/...`` path is a good article."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.hits[self.path] += 1
                status, body, headers = server.page(self.path)
                self.send_response(status)
                headers.setdefault("Content-Type", "text/html; charset=utf-8")
                for name, value in {**headers, "Content-Length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> DiscoveryServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def a(self, name: str) -> str:
        return f"{self.base}/a/{name}"

    def articles(self, kind: str) -> set[str]:
        """The article paths of one kind that were fetched."""
        return {path for path in self.hits if path.startswith(f"/a/{kind}-")}

    def page(self, path: str) -> tuple[int, bytes, dict[str, str]]:
        xml = {"Content-Type": "application/xml"}
        a = self.a
        if path.startswith("/a/"):
            return 200, article(f"Bài {path}", VIETNAMESE).encode(), {}
        if path.startswith("/chain/"):  # an endless chain of sitemap indexes, a leaf at each level
            n = int(path.removeprefix("/chain/").removesuffix(".xml"))
            body = index([f"{self.base}/chain/{n + 1}.xml", f"{self.base}/leaf/{n}.xml"])
            return 200, body.encode(), xml
        if path.startswith("/leaf/"):
            n = int(path.removeprefix("/leaf/").removesuffix(".xml"))
            return 200, urlset([a(f"leaf-{n}")]).encode(), xml
        if path == "/wide.xml":
            return 200, urlset([a(f"wide-{n}") for n in range(100)]).encode(), xml
        if path == "/gz.xml.gz":  # a real .xml.gz, no Content-Encoding
            body = gzip.compress(urlset([a(f"gz-{n}") for n in range(3)]).encode())
            return 200, body, {"Content-Type": "application/x-gzip"}
        if path == "/gz2.xml.gz":  # the file gzipped once more on the fly
            body = gzip.compress(gzip.compress(urlset([a("gztwice-1")]).encode()))
            return (
                200,
                body,
                {"Content-Type": "application/octet-stream", "Content-Encoding": "gzip"},
            )
        if path == "/bomb.xml.gz":  # 2 kB that decompress to 20 MB
            padding = "<!--" + " " * 20_000_000 + "-->"
            body = gzip.compress(urlset([a("bomb-1")], tail=padding + "</urlset>").encode())
            return 200, body, {"Content-Type": "application/x-gzip"}
        if (
            path == "/broken.xml"
        ):  # cut in the middle of an entry: /a/sbroken-150 reads /a/sbroken-15
            body = urlset(
                [a(f"sbroken-{n}") for n in range(10, 15)], tail=f"<url><loc>{a('sbroken-15')}"
            )
            return 200, body.encode(), xml
        if path == "/page.xml":  # an HTML page where a sitemap should be
            return 200, b"<!doctype html><html><body><a href='/a/page-1'>x</a></body></html>", {}
        if path == "/mixed.xml":
            body = urlset([a("smixed-1"), f"{self.base}/about", f"{self.base}/video/clip"])
            return 200, body.encode(), xml
        if path == "/big.rss":  # broken only after the cap: never read that far
            body = rss([a(f"big-{n}") for n in range(1000)], tail="<item><link>")
            return 200, body.encode(), xml
        if (
            path == "/broken.rss"
        ):  # cut in the middle of an item: /a/fbroken-500 reads /a/fbroken-50
            body = rss([a(f"fbroken-{n}") for n in range(4)], tail=f"<item><link>{a('fbroken-50')}")
            return 200, body.encode(), xml
        if path == "/mixed.rss":  # one article, three links that are not articles
            links = [
                a("fmixed-1"),
                a("category"),
                f"{self.base}/tag/defence-12",
                "javascript:alert(1)",
            ]
            return 200, rss(links).encode(), xml
        if path == "/atom.xml":
            body = (
                '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
                '<entry><link rel="enclosure" href="/a/enclosure-9"/><link href="/a/atom-1"/>'
                "<published>2025-01-06T10:00:00+07:00</published></entry></feed>"
            )
            return 200, body.encode(), xml
        if path == "/cp1258.rss":  # the charset only in the header, Vietnamese titles
            body = rss([a("cp-1"), a("cp-2")]).replace(
                "<title>t</title>", f"<title>{VIETNAMESE}</title>"
            )
            body = body.replace('<?xml version="1.0"?>', "")
            return 200, cp1258(body), {"Content-Type": "application/rss+xml; charset=windows-1258"}
        if path == "/laughs.rss":
            body = rss(
                [a("laughs-1") + "&lol9;", a("laughs-2")],
                head=f"<!DOCTYPE rss [<!ENTITY lol0 'lol'>{LAUGHS}]>",
            )
            return 200, body.encode(), xml
        if path == "/xxe.rss":  # external entities: a file and a URL on this very server
            head = (
                f'<!DOCTYPE rss [<!ENTITY file SYSTEM "file:///etc/passwd">'
                f'<!ENTITY net SYSTEM "{self.base}/xxe">]>'
            )
            items = [a("xxe-1") + "&net;", a("xxe-2")]
            body = rss(items, head=head).replace("<title>t</title>", "<title>&file;</title>")
            return 200, body.encode(), xml
        return 404, b"not found", {}


class DiscoverySpider(FaultSpider):
    name = "discovery"

    def __init__(self, *args: Any, base: str = "", **kwargs: Any) -> None:
        super().__init__(*args, base=base, **kwargs)
        self.listing_urls = ()  # type: ignore[misc]
        self.feed_urls = tuple(f"{base}/{path}" for path in FEEDS)  # type: ignore[misc]
        self.sitemap_urls = tuple(f"{base}/{path}" for path in SITEMAPS)  # type: ignore[misc]


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def server() -> Iterator[DiscoveryServer]:
    with DiscoveryServer() as running:
        yield running


async def _crawl(server: DiscoveryServer, out: Path) -> Crawler:
    runner = CrawlerRunner(project_settings({**SETTINGS, "CRAWLER_ARCHIVE_DIR": str(out)}))
    crawler = runner.create_crawler(DiscoverySpider)
    await runner.crawl(crawler, base=server.base)
    return crawler


@pytest.fixture(scope="module")
def run(
    server: DiscoveryServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], list[str]]:
    out = tmp_path_factory.mktemp("archive")
    records = Records()
    logger = logging.getLogger(DiscoverySpider.name)
    logger.addHandler(records)
    try:
        crawler: Crawler = pytest_twisted.blockon(defer.ensureDeferred(_crawl(server, out)))
    finally:
        logger.removeHandler(records)
    assert crawler.stats is not None
    return crawler.stats.get_stats(), records.messages


def warnings_about(messages: list[str], stat: str) -> list[str]:
    return [m for m in messages if m.endswith(f"stat crawler/discovery/{stat})")]


def test_nested_sitemap_indexes_are_followed_to_the_depth_cap(
    run: Any, server: DiscoveryServer
) -> None:
    stats, messages = run
    chain = sorted(path for path in server.hits if path.startswith("/chain/"))
    assert chain == [f"/chain/{n}.xml" for n in range(MAX_DEPTH + 1)]  # the first and 3 levels
    assert server.articles("leaf") == {f"/a/leaf-{n}" for n in range(MAX_DEPTH)}
    assert "/leaf/3.xml" not in server.hits
    assert stats["crawler/discovery/sitemap_depth_capped"] == 2  # chain/4 and leaf/3
    assert len(warnings_about(messages, "sitemap_depth_capped")) == 1


def test_sitemap_entries_are_capped(run: Any, server: DiscoveryServer) -> None:
    stats, messages = run
    assert server.articles("wide") == {f"/a/wide-{n}" for n in range(MAX_ENTRIES)}
    assert stats["crawler/discovery/sitemaps_capped"] == 1
    assert len(warnings_about(messages, "sitemaps_capped")) == 1


def test_gzip_sitemaps_are_read_by_their_magic_bytes(run: Any, server: DiscoveryServer) -> None:
    assert server.articles("gz") == {"/a/gz-0", "/a/gz-1", "/a/gz-2"}
    assert server.articles("gztwice") == {"/a/gztwice-1"}


def test_gzip_sitemap_bombs_and_pages_that_are_not_sitemaps_are_refused(
    run: Any, server: DiscoveryServer
) -> None:
    stats, messages = run
    assert server.hits["/bomb.xml.gz"] == 1
    assert not server.articles("bomb") and not server.articles("page")
    assert stats["crawler/discovery/sitemap_invalid"] == 2
    assert len(warnings_about(messages, "sitemap_invalid")) == 1


def test_broken_sitemap_keeps_the_entries_before_the_break(
    run: Any, server: DiscoveryServer
) -> None:
    stats, messages = run
    assert server.articles("sbroken") == {f"/a/sbroken-{n}" for n in range(10, 15)}
    assert stats["crawler/discovery/sitemap_broken"] == 1
    assert len(warnings_about(messages, "sitemap_broken")) == 1


def test_sitemap_links_that_are_not_articles_are_skipped_and_counted(
    run: Any, server: DiscoveryServer
) -> None:
    stats, _ = run
    assert server.articles("smixed") == {"/a/smixed-1"}
    assert "/about" not in server.hits and "/video/clip" not in server.hits
    assert stats["crawler/discovery/sitemap_links_not_article"] == 2


def test_feed_items_are_capped_and_reading_stops_there(run: Any, server: DiscoveryServer) -> None:
    stats, messages = run
    assert server.articles("big") == {f"/a/big-{n}" for n in range(MAX_ITEMS)}
    assert stats["crawler/discovery/feeds_capped"] == 1
    assert len(warnings_about(messages, "feeds_capped")) == 1
    # big.rss breaks after its 1,000th item: never reached, so not counted as broken.
    assert stats["crawler/discovery/feed_broken"] == 2  # broken.rss and laughs.rss


def test_broken_feed_keeps_the_items_before_the_break(run: Any, server: DiscoveryServer) -> None:
    stats, messages = run
    assert server.articles("fbroken") == {f"/a/fbroken-{n}" for n in range(4)}
    assert stats["crawler/discovery/feed_broken"] == 2  # broken.rss and laughs.rss
    assert len(warnings_about(messages, "feed_broken")) == 1


def test_feed_links_go_through_the_article_url_check(run: Any, server: DiscoveryServer) -> None:
    stats, _ = run
    assert server.articles("fmixed") == {"/a/fmixed-1"}
    assert "/a/category" not in server.hits and "/tag/defence-12" not in server.hits
    assert stats["crawler/discovery/feed_links_not_article"] == 3
    assert server.articles("atom") == {"/a/atom-1"}  # Atom: the alternate link, made absolute
    assert not server.articles("enclosure")


def test_feed_charset_from_the_header_is_honoured(run: Any, server: DiscoveryServer) -> None:
    assert server.articles("cp") == {"/a/cp-1", "/a/cp-2"}


def test_feed_entities_are_never_expanded_nor_fetched(run: Any, server: DiscoveryServer) -> None:
    stats, _ = run
    assert "/xxe" not in server.hits
    assert server.articles("xxe") == {"/a/xxe-2"}  # the link holding an entity is incomplete
    assert not any("passwd" in path or "root:" in path for path in server.hits)
    assert not server.articles("laughs")  # libxml2 refuses the billion laughs outright
    assert stats["crawler/discovery/feeds"] == len(FEEDS)


def test_every_article_was_fetched_once(run: Any, server: DiscoveryServer) -> None:
    fetched = [path for path in server.hits if path.startswith("/a/")]
    assert fetched and all(server.hits[path] == 1 for path in fetched)


def test_a_feed_is_streamed_and_its_elements_dropped_as_read() -> None:
    body = rss([f"http://x/a/n-{n}" for n in range(20_000)], tail="<item><link>")
    records = XmlRecords(body.encode(), FEED_RECORDS)
    seen = 0
    for item in records:
        # Read ones are dropped (the one before is kept, empty); the parser reads ahead a chunk.
        before = item.getprevious()
        assert before is None or (len(before) == 0 and before.getprevious() is None)
        assert len(item.getparent()) < 1_000
        assert feed_link(item) == f"http://x/a/n-{seen}"
        seen += 1
    assert seen == 20_000 and records.error is not None


def test_sitemap_body_limits_the_decompressed_size() -> None:
    xml = urlset(["http://x/a/n-1"]).encode()
    assert sitemap_body(gzip.compress(xml), len(xml)) == xml
    assert sitemap_body(xml, 1) == xml  # not gzip: left alone (its download was limited already)
    with pytest.raises(ValueError, match="gzip"):
        sitemap_body(gzip.compress(xml), len(xml) - 1)
    with pytest.raises(ValueError, match="gzip"):
        sitemap_body(b"\x1f\x8b\x08garbage", 1000)
