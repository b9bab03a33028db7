"""en.qdnd.vn: qdnd.vn's parser and spider in English, its credits, and a crawl of the replica."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from scrapy.crawler import Crawler
from scrapy.http import HtmlResponse
from support import sitecheck
from twisted.internet import defer

from crawler.archive import read_table
from crawler.items import Article
from crawler.kit.fixtures import fixture_page
from crawler.mirror.replica import manifest as replica_manifest
from crawler.mirror.server import SITES_ROOT, MirrorServer
from crawler.pipelines import clean
from crawler.sites.qdnd import QdndParser, QdndSpider
from crawler.sites.qdnd_en import QdndEnSpider
from crawler.text.bylines import parse_byline

FIXTURES = Path(__file__).parent / "fixtures" / "qdnd_en"
HOST = "en.qdnd.vn"


def fixture(stem_end: str) -> tuple[str, bytes]:
    case = next(FIXTURES.glob(f"*{stem_end}.json"))
    return json.loads(case.read_text("utf-8"))["url"], fixture_page(case).read_bytes()


def parse(url: str, page: bytes | str) -> Article:
    body = page.encode("utf-8") if isinstance(page, str) else page
    response = HtmlResponse(url, body=body, encoding="utf-8")
    return clean(QdndEnSpider.parser(QdndEnSpider.description()).parse(response), check=True)


# -- qdnd.vn, reused ------------------------------------------------------------------


def test_parser_and_spider_are_qdnds_with_english_identity() -> None:
    assert QdndEnSpider.parser is QdndParser and issubclass(QdndEnSpider, QdndSpider)
    for inherited in ("listing_link_css", "next_page_format", "pagination_css"):
        assert inherited not in vars(QdndEnSpider)
    spider = QdndEnSpider()
    assert (spider.name, spider.site, spider.language) == ("qdnd_en", "en.qdnd.vn", "en")
    assert spider.canonical_host == "en.qdnd.vn" and spider.allowed_domains == ["en.qdnd.vn"]
    assert "https://en.qdnd.vn/military/news" in spider.listing_urls
    assert "https://en.qdnd.vn/military/intl-relations-and-cooperation" in spider.listing_urls


@pytest.mark.parametrize(
    ("url", "article_id"),
    [
        (
            "https://en.qdnd.vn/military/news/division-308-holds-live-fire-tactical-exercise-586288",
            "586288",
        ),
        (
            "http://en.qdnd.vn/military/intl-relations-and-cooperation/vietnam-laos-dialogue-586390/",
            "586390",
        ),
        ("https://en.qdnd.vn/military/news", None),
        ("https://en.qdnd.vn/military/news/p/2", None),
        ("https://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/thuong-tuong-812439", None),
    ],
)
def test_article_urls(url: str, article_id: str | None) -> None:
    spider = QdndEnSpider()
    assert spider.is_article_url(url) is (article_id is not None)
    assert spider.article_id(url) == article_id
    assert not QdndSpider().is_article_url(url) or "www.qdnd.vn" in url


def test_canonical_urls_keep_the_english_host_and_drop_tracking() -> None:
    spider = QdndEnSpider()
    url = "http://en.qdnd.vn/military/news/x-586288?utm_source=rss"
    assert spider.parser(spider.description()).url(HtmlResponse(url, body=b"<html></html>")) == (
        "https://en.qdnd.vn/military/news/x-586288"
    )


# -- English pages -----------------------------------------------------------------------


def test_the_pano_tag_leaves_the_lead() -> None:
    url, page = fixture("586411")
    assert b'<div class="post-summary">PANO - From June 12' in page
    article = parse(url, page)
    assert article.summary is not None and article.summary.startswith("From June 12 to 15")
    text = (
        page.decode("utf-8")
        .replace("PANO - From", "<p>(PANO) – From")
        .replace("units.</div>", "units.</p></div>")
    )
    assert parse(url, text).summary == article.summary


def test_english_date_in_vietnam_time() -> None:
    url, page = fixture("586411")
    article = parse(url, page)
    assert article.published_raw == "Monday, June 16, 2025 - 07:42"
    assert article.published_at == datetime(2025, 6, 16, 0, 42, tzinfo=UTC)


def test_image_tables_captions_and_english_credits() -> None:
    article = parse(*fixture("586372"))
    assert [(i.caption, i.credit) for i in article.images] == [
        ("The delegation inspects on-duty aircraft at an airfield of Division 371.", "qdnd.vn"),
        (None, None),  # the caption cell holds a no-break space only
    ]
    sar = parse(*fixture("586397"))
    assert [(i.caption, i.credit) for i in sar.images] == [
        ("A rescue team brings a “victim” aboard a naval ship.", "VNA")
    ]
    for image in (*article.images, *sar.images):
        assert image.caption is None or image.caption not in article.body


@pytest.mark.parametrize(
    ("line", "authors"),
    [
        ("By HONG PHUC", ["Hong Phuc"]),
        ("Translated by MINH ANH", ["Minh Anh"]),
        ("Translated by Mai Huong", ["Mai Huong"]),
        ("By THANH SON and HUU DUNG", ["Thanh Son", "Huu Dung"]),
        ("By Colonel NGUYEN VAN HUNG", ["Nguyen Van Hung"]),
        ("VNA", ["VNA"]),
        ("By HONG PHUC - Translated by MINH ANH", ["Hong Phuc", "Minh Anh"]),
        ("Story and photos: VAN TOAN", ["Van Toan"]),
        ("Article and photos: HOANG VIET", ["Hoang Viet"]),
        ("Photo: VNA", ["VNA"]),  # the article's photo credit closing it
        # Not credits:
        ("By the end of the year, the army had grown.", None),
    ],
)
def test_english_credit_lines(line: str, authors: list[str] | None) -> None:
    assert parse_byline(line) == authors


@pytest.mark.parametrize(
    ("stem", "byline", "authors"),
    [
        ("586372", "By HONG PHUC - Translated by MINH ANH", ["Hong Phuc", "Minh Anh"]),
        ("586355", "Story and photos: VAN TOAN", ["Van Toan"]),
        ("586397", "Translated by MINH ANH", ["Minh Anh"]),
        ("586259", "VNA", ["VNA"]),
    ],
)
def test_closing_credit_leaves_the_body(stem: str, byline: str, authors: list[str]) -> None:
    article = parse(*fixture(stem))
    assert article.byline == byline
    assert article.authors == authors
    assert byline not in article.body
    assert not article.paragraphs[-1].startswith(("By ", "Translated", "Story"))


def test_a_last_paragraph_that_is_text_stays() -> None:
    url, page = fixture("586411")
    text = page.decode("utf-8").replace(
        "<p><strong>By HONG PHUC</strong></p>", "<p>By then, the drill had ended.</p>"
    )
    article = parse(url, text)
    assert article.byline is None
    assert article.paragraphs[-1] == "By then, the drill had ended."


# -- the replica -------------------------------------------------------------------------------


def test_replica_follows_the_site() -> None:
    site = json.loads((SITES_ROOT / HOST / "site.json").read_text("utf-8"))
    assert site == {
        "hosts": ["en.qdnd.vn"],
        "cookie_gate": {"name": "muid_mly", "exempt": ["/robots.txt"]},
    }
    robots = (SITES_ROOT / HOST / "pages" / "robots.txt").read_text("utf-8")
    for path in ("/preview/", "/services/", "/api/", "/search/", "/tim-kiem/"):
        assert f"Disallow: {path}\n" in robots


@pytest.fixture(scope="module")
def crawl(mirror: MirrorServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Crawler, Path]:
    out = tmp_path_factory.mktemp("archive")
    coroutine = sitecheck.crawl(mirror, out, QdndEnSpider)
    crawler: Crawler = pytest_twisted.blockon(defer.ensureDeferred(coroutine))
    return crawler, out


def test_crawl_gets_through_the_cookie_gate_and_archives_every_article_once(
    crawl: tuple[Crawler, Path], mirror: MirrorServer
) -> None:
    crawler, out = crawl
    stats = crawler.stats.get_stats()
    assert stats["finish_reason"] == "finished"
    assert not stats.get("log_count/ERROR")
    assert stats["crawler/cookie_gate/answered"] >= 1
    assert stats["crawler/discovery/feeds"] == 3
    manifest: dict[str, Any] = replica_manifest("en.qdnd.vn")
    table = read_table(out)
    rows = {row["url"]: row for row in table.to_pylist()}
    assert len(rows) == table.num_rows
    assert sorted(rows) == sorted(a["url"] for a in manifest["articles"])
    assert not set(manifest["dead_urls"]) & set(rows)
    for expected in manifest["articles"]:
        row = rows[expected["url"]]
        assert row["title"] == expected["title"]
        assert row["summary"] == expected["summary"]
        assert (row["spider"], row["site"], row["language"]) == ("qdnd_en", "en.qdnd.vn", "en")
        assert row["article_id"] == expected["article_id"]
        assert len(row["images"]) == expected["image_count"]
        assert sum(1 for i in row["images"] if i["caption"]) == expected["caption_count"]
        assert row["byline"] == expected["byline"] and row["authors"]
        assert row["byline"] not in row["body"]
        assert row["tags"] == expected["tags"]
        assert row["published_raw"] == expected["published_raw"]
        assert row["published_at"] == datetime.fromisoformat(expected["published"]).astimezone(UTC)
    assert mirror.requests_for(HOST, "/military/news/p/3", status=200) == 1
    assert mirror.requests_for(HOST, "/military/news/p/4") == 0  # the pager has no page 4
    assert mirror.requests_for(HOST, "/robots.txt", status=200) >= 1
