"""tapchiqptd.vn: the quirks of the National Defence Journal, and a crawl of its replica."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from scrapy.http import HtmlResponse
from support import sitecheck

from crawler.archive import read_table
from crawler.items import Article
from crawler.mirror.replica import article_pages
from crawler.mirror.replica import manifest as replica_manifest
from crawler.mirror.server import SITES_ROOT, MirrorServer, Site
from crawler.pipelines import clean
from crawler.sites.blocks import text_of
from crawler.sites.parser import select
from crawler.sites.tapchiqptd import TapchiqptdSpider

SITE = "tapchiqptd.vn"
MANIFEST = replica_manifest(SITE)
EXPECTED = {a["url"]: a for a in MANIFEST["articles"]}
PAGES = dict(article_pages(SITE))
BOILERPLATE = (
    "Ý KIẾN BẠN ĐỌC",
    "CÁC TIN, BÀI ĐÃ ĐƯA",
    "TIÊU ĐIỂM",
    "TIN, BÀI XEM NHIỀU",
    "Tòa soạn:",
)
CLOCK_DATE = {
    "vi": "22/11/2024",
    "en": "November 22, 2024",
}  # the site clock: Thứ Sáu, 22/11/2024, 16:08
ENGLISH_BOXES = ("READERS' COMMENTS", "OTHER NEWS", "FOCUS", "MOST READ")


def response(url: str, body: bytes | None = None) -> HtmlResponse:
    return HtmlResponse(url=url, body=body or PAGES[url].read_bytes(), encoding="utf-8")


def extract(url: str, body: bytes | None = None) -> Article:
    return clean(TapchiqptdSpider().extract(response(url, body)), check=True)


def url_of(language: str, article_id: str) -> str:
    return next(
        u
        for u, a in EXPECTED.items()
        if a["language"] == language and a["article_id"] == article_id
    )


def test_replica_mixes_languages() -> None:
    languages = [a["language"] for a in MANIFEST["articles"]]
    assert len(languages) >= 10 and languages.count("vi") >= 4 and languages.count("en") >= 4


@pytest.mark.parametrize("url", sorted(EXPECTED))
def test_every_replica_article(url: str) -> None:
    """Language and section from the URL, title from the div, date from the article block."""
    article, expected = extract(url), EXPECTED[url]
    assert article.language == expected["language"] == url.split("/")[3]
    assert article.section == expected["section"]
    assert article.title == expected["title"]
    assert article.article_id == expected["article_id"]
    assert article.published_raw == expected["published_raw"]
    assert article.published_at == datetime.fromisoformat(expected["published"]).astimezone(UTC)
    assert len(article.images) == expected["image_count"]
    assert [i.url for i in article.images] == [i["url"] for i in expected["images"]]
    assert article.byline == expected["byline"]
    for furniture in (*BOILERPLATE, *ENGLISH_BOXES):
        assert furniture not in article.body
    for image in article.images:
        assert not image.caption or image.caption not in article.body


@pytest.mark.parametrize("language", ["vi", "en"])
def test_the_first_date_on_the_page_is_the_clock_not_the_publish_date(language: str) -> None:
    url = next(u for u, a in EXPECTED.items() if a["language"] == language)
    page = response(url)
    text = " ".join(page.xpath("//body//text()").getall())
    date = r"\d{1,2}/\d{2}/\d{4}" if language == "vi" else r"[A-Z][a-z]+ \d{1,2}, \d{4}"
    naive = re.search(date, text)
    assert naive is not None
    assert naive.group(0) == CLOCK_DATE[language]
    assert naive.group(0) not in EXPECTED[url]["published_raw"]
    assert extract(url).published_raw == EXPECTED[url]["published_raw"]


def test_title_is_not_an_h1() -> None:
    url = url_of("en", "24903")
    assert not select(response(url), "h1")
    assert extract(url).title == EXPECTED[url]["title"]


@pytest.mark.parametrize(
    ("language", "article_id", "authors"),
    [
        ("vi", "24871", ["Nguyễn Văn Hùng"]),  # Đại tá NGUYỄN VĂN HÙNG
        ("vi", "24655", ["Nguyễn Mạnh Hùng"]),  # Đại tá, TS. NGUYỄN MẠNH HÙNG
        ("vi", "25012", ["Phạm Văn Long"]),  # Chuẩn Đô đốc PHẠM VĂN LONG, Phó Chính ủy …
        ("vi", "25233", ["Nguyễn Thu Hà", "Phạm Quang Minh"]),  # two ranks, two names
        ("en", "24877", ["Nguyen Van Hung"]),  # Senior Colonel NGUYEN VAN HUNG
        ("en", "24903", ["Tran Van Long"]),  # Major General, Assoc. Prof., PhD …, Director …
        ("en", "24956", ["Pham Duc Thanh"]),  # Colonel, PhD PHAM DUC THANH
    ],
)
def test_ranked_author_leaves_the_body(language: str, article_id: str, authors: list[str]) -> None:
    url = url_of(language, article_id)
    article = extract(url)
    byline = EXPECTED[url]["byline"]
    assert article.byline == byline
    assert article.authors == authors
    assert byline not in article.body
    assert not any(name.upper() in article.body for name in authors)


def test_article_without_credit_keeps_its_last_paragraph() -> None:
    url = url_of("vi", "25410")
    article = extract(url)
    assert article.byline is None and article.authors == []
    assert article.body.endswith("không để bị động, bất ngờ trong mọi tình huống.")


def test_bold_italic_text_without_a_name_is_not_a_credit() -> None:
    url = url_of("en", "25422")
    page = (
        PAGES[url]
        .read_bytes()
        .replace(
            b"modern navigation and communication systems.</p>",
            b"modern navigation and communication systems.</p>\n"
            b"<p><strong><em>The ceremony was broadcast live.</em></strong></p>",
        )
    )
    article = extract(url, page)
    assert article.byline is None
    assert article.body.endswith("The ceremony was broadcast live.")


def test_boilerplate_sits_where_a_loose_selector_catches_it() -> None:
    """The comment box (and on some pages the focus box) follow the text inside its parent."""
    caught: set[str] = set()
    for url, expected in EXPECTED.items():
        if expected["language"] != "vi":
            continue
        loose = " ".join(text_of(e) for e in select(response(url), ".page-main-left-newsdt"))
        caught |= {b for b in BOILERPLATE if b in loose}
        assert BOILERPLATE[0] in text_of(select(response(url), ".newsdt-page-ct")[0])
        assert not any(b in extract(url).body for b in BOILERPLATE)
    assert {"Ý KIẾN BẠN ĐỌC", "CÁC TIN, BÀI ĐÃ ĐƯA", "TIÊU ĐIỂM"} <= caught


def test_image_tables_give_captions_and_credits() -> None:
    article = extract(url_of("vi", "24980"))
    assert [(i.caption, i.credit) for i in article.images] == [
        ("Các lực lượng thực hành nội dung diễn tập bắn đạn thật.", "Quân khu 4"),
        ("Lãnh đạo Bộ Tư lệnh Quân khu 4 kiểm tra công tác chuẩn bị diễn tập.", None),
    ]
    english = extract(url_of("en", "25422"))
    assert [(i.caption, i.credit) for i in english.images] == [
        ("The new patrol vessels at the ceremony", "qdnd.vn"),
        (None, None),
    ]


def test_urls() -> None:
    spider = TapchiqptdSpider()
    for url, expected in EXPECTED.items():
        assert spider.article_id(url) == expected["article_id"]
    assert not spider.is_article_url("https://tapchiqptd.vn/vi/tin-tuc-14.html")
    assert not spider.is_article_url("https://tapchiqptd.vn/en/news-54.html?pageindex=2")
    assert spider.is_article_url("https://www.tapchiqptd.vn/en/news/some-slug/26936.html")


# -- the replica, crawled ----------------------------------------------------------


def test_replica_server_serves_listing_pages_by_query_string() -> None:
    """``/vi/tin-tuc-14.html?pageindex=2`` is stored as ``tin-tuc-14@pageindex=2.html``."""
    site = Site.load(SITES_ROOT / SITE)
    page = site.resolve("/vi/tin-tuc-14.html", "pageindex=2")
    assert page is not None and page.name == "tin-tuc-14@pageindex=2.html", (
        "the replica server must look up <stem>@<query><suffix> for a path with an extension "
        "(crawler/mirror/server.py, Site.resolve), as it does <name>@<query>.html without one"
    )


@pytest_twisted.ensureDeferred
async def test_crawl_of_the_replica(tmp_path: Path) -> None:
    with MirrorServer() as server:
        crawler = await sitecheck.crawl(server, tmp_path, TapchiqptdSpider)
        listing_hits = {
            path: server.requests_for(SITE, path, status=200)
            for path in ("/vi/tin-tuc-14.html", "/en/news-54.html")
        }
        dead = server.requests_for(
            SITE, MANIFEST["dead_urls"][0].removeprefix("https://tapchiqptd.vn")
        )
    stats: dict[str, Any] = crawler.stats.get_stats()
    assert stats["finish_reason"] == "finished"
    assert not stats.get("log_count/ERROR")
    assert listing_hits == {"/vi/tin-tuc-14.html": 3, "/en/news-54.html": 2}  # paged to the end
    assert dead == 1
    rows = read_table(tmp_path).to_pylist()
    urls = [row["url"] for row in rows]
    assert sorted(urls) == sorted(EXPECTED) and len(set(urls)) == len(urls)
    for row in rows:
        expected = EXPECTED[row["url"]]
        assert row["title"] == expected["title"]
        assert row["language"] == expected["language"]
        assert len(row["images"]) == expected["image_count"]
        assert sum(1 for i in row["images"] if i["caption"]) == expected["caption_count"]
        assert row["byline"] == expected["byline"]
        assert row["published_at"] == datetime.fromisoformat(expected["published"]).astimezone(UTC)
