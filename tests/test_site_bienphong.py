"""bienphong.com.vn: the site's quirks on the parser, and a crawl of its replica."""

from __future__ import annotations

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
from crawler.mirror.replica import article_pages
from crawler.mirror.replica import manifest as replica_manifest
from crawler.mirror.server import SITES_ROOT, MirrorServer
from crawler.pipelines import clean
from crawler.sites.bienphong import BienphongSpider

SITE = "bienphong.com.vn"
HOST = "www.bienphong.com.vn"
URL = "https://www.bienphong.com.vn/bai-viet-post400001.html"
GLUED = ("Biênphòng", "HàGiang", "Bộđội", "BiênPhòng")


def response(body: str, url: str = URL) -> HtmlResponse:
    return HtmlResponse(url, body=body.encode("utf-8"), encoding="utf-8")


def extract(body: str, url: str = URL) -> Article:
    return clean(BienphongSpider().extract(response(body, url)), check=True)


def article_html(*, title: str = "Tiêu đề", sapo: str = "", body: str = "<p>Đoạn văn.</p>") -> str:
    return f"""<html><body>
<div class="bp-breadcrumb"><a href="/">Trang chủ</a> <a href="/thoi-su/">Thời sự</a></div>
<h1 class="bp-detail-content-title-h1">{title}</h1>
<span class="bp-date-time">Thứ Sáu, 18/07/2025 | 09:20</span>
<p class="bp-detail-sapo">{sapo}</p>
<div class="bp-detail-text-content">{body}</div>
</body></html>"""


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return replica_manifest(SITE)


@pytest.fixture(scope="module")
def records(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every replica article page through the parser and the pipelines."""
    pages = article_pages(SITE)
    return {
        url: clean(BienphongSpider().extract(response(path.read_text("utf-8"), url))).record()
        for url, path in pages
    }


# -- glued words ------------------------------------------------------------------


def test_inline_elements_keep_the_space_between_words() -> None:
    page = article_html(
        title='<span>Biên</span> <span>phòng</span> <a href="/tag/ha-giang-1024.html">Hà</a>\n<a href="/tag/ha-giang-1024.html">Giang</a>',
        sapo="(BP) - Bộ đội <strong>Biên</strong><em> phòng</em> tỉnh <a>Hà</a>\n<a>Giang</a>.",
        body=(
            "<p>Đồn <span>Biên</span> <span>phòng</span> <a>Hà</a>\n<a>Giang</a>"
            " và <strong>Bộ</strong> <em>đội</em>.</p><p>Đoạn hai.</p>"
            "<div>Khối một.</div><div>Khối hai.</div>"
        ),
    )
    # The trap is real: a naive join of the text nodes glues the words.
    naive = "".join(t.strip() for t in response(page).css("h1 ::text").getall())
    assert naive == "BiênphòngHàGiang"
    article = extract(page)
    assert article.title == "Biên phòng Hà Giang"
    assert article.summary == "Bộ đội Biên phòng tỉnh Hà Giang."
    assert article.paragraphs == [
        "Đồn Biên phòng Hà Giang và Bộ đội.",
        "Đoạn hai.",
        "Khối một.",
        "Khối hai.",
    ]


def test_no_replica_article_has_glued_words(records: dict[str, dict[str, Any]]) -> None:
    for record in records.values():
        captions = " ".join(image["caption"] or "" for image in record["images"])
        for text in (record["title"], record["summary"] or "", record["body"], captions):
            assert not any(glued in text for glued in GLUED), text
    first = records[
        "https://www.bienphong.com.vn/bo-doi-bien-phong-ha-giang-ra-quan-tuan-tra-song-phuong-tren-tuyen-bien-gioi-post495301.html"
    ]
    assert first["title"].startswith("Bộ đội Biên phòng Hà Giang ")
    assert "Bộ Chỉ huy Bộ đội Biên phòng tỉnh Hà Giang" in first["body"]
    assert (
        first["images"][0]["caption"]
        == "Cán bộ, chiến sĩ Đồn Biên phòng Lũng Cú kiểm tra mốc quốc giới."
    )


# -- the lead's dateline -----------------------------------------------------------


@pytest.mark.parametrize(
    "printed",
    [
        "(BP) - Sáng 17/7, đơn vị ra quân.",
        "BP - Sáng 17/7, đơn vị ra quân.",
        "BP – Sáng 17/7, đơn vị ra quân.",
        "Sáng 17/7, đơn vị ra quân.",
    ],
)
def test_dateline_leaves_the_lead(printed: str) -> None:
    assert extract(article_html(sapo=printed)).summary == "Sáng 17/7, đơn vị ra quân."


def test_lead_that_only_starts_like_a_tag_is_kept() -> None:
    assert (
        extract(article_html(sapo="BPTV phát sóng chương trình mới.")).summary
        == "BPTV phát sóng chương trình mới."
    )


# -- the other fields --------------------------------------------------------------


def test_date_section_byline_and_inline_related_box() -> None:
    article = extract(
        article_html(
            body=(
                "<p>Đoạn một.</p>"
                '<div class="bp-detail-relate"><span>Tin liên quan:</span> <a href="/x-post1.html">Tin khác</a></div>'
                "<p>Đoạn hai.</p>"
                '<p style="text-align: right;"><strong>Bài, ảnh: THANH HẢI</strong></p>'
            )
        )
    )
    assert article.published_at == datetime(2025, 7, 18, 2, 20, tzinfo=UTC)
    assert article.published_raw == "Thứ Sáu, 18/07/2025 | 09:20"
    assert article.section == "thoi-su"
    assert article.article_id == "400001"
    assert article.body == "Đoạn một.\n\nĐoạn hai."
    assert (article.byline, article.authors) == ("Bài, ảnh: THANH HẢI", ["Thanh Hải"])


def test_replica_records_match_the_manifest(
    records: dict[str, dict[str, Any]], manifest: dict[str, Any]
) -> None:
    for expected in manifest["articles"]:
        record = records[expected["url"]]
        assert record["title"] == expected["title"]
        assert record["summary"] == expected["summary"]
        assert record["section"] == expected["section"]
        assert record["tags"] == expected["tags"]
        assert record["byline"] == expected["byline"]
        assert [i["url"] for i in record["images"]] == [i["url"] for i in expected["images"]]
        assert record["published_at"] == datetime.fromisoformat(expected["published"]).astimezone(
            UTC
        )
        assert "Tin liên quan" not in record["body"]
        for image in record["images"]:
            assert image["url"].startswith("https://files.bienphong.com.vn/bbpmedia/")
            assert not image["caption"] or image["caption"] not in record["body"]


# -- discovery ---------------------------------------------------------------------


def listing(path: Path, url: str) -> HtmlResponse:
    return response(path.read_text("utf-8"), url)


def test_tag_pages_follow_the_pagination_link() -> None:
    spider = BienphongSpider()
    pages = SITES_ROOT / "bienphong.com.vn" / "pages" / "tag"
    first = listing(pages / "bo-doi-bien-phong-2165.html", spider.listing_urls[0])
    request = spider.next_page(first, spider.listing_urls[0], 1)
    assert request is not None
    assert request.url == "https://www.bienphong.com.vn/tag/bo-doi-bien-phong-2165/trang-2.html"
    assert request.cb_kwargs == {"listing": spider.listing_urls[0], "page": 2}
    last = listing(
        pages / "bo-doi-bien-phong-2165" / "trang-4.html",
        "https://www.bienphong.com.vn/tag/bo-doi-bien-phong-2165/trang-4.html",
    )
    assert spider.next_page(last, spider.listing_urls[0], 4) is None
    # Only article links: the video item of the page is not one.
    links = spider.listing_links(first)
    assert links and all(spider.is_article_url(u) and "/videos/" not in u for u in links)


# -- a crawl of the replica --------------------------------------------------------


@pytest.fixture(scope="module")
def crawl(mirror: MirrorServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Crawler, Path]:
    out = tmp_path_factory.mktemp("bienphong")
    crawler: Crawler = pytest_twisted.blockon(
        defer.ensureDeferred(sitecheck.crawl(mirror, out, BienphongSpider))
    )
    return crawler, out


def test_crawl_archives_every_article_once(
    crawl: tuple[Crawler, Path], manifest: dict[str, Any]
) -> None:
    crawler, out = crawl
    stats = crawler.stats.get_stats()
    assert stats["finish_reason"] == "finished"
    assert not stats.get("log_count/ERROR")
    rows = {row["url"]: row for row in read_table(out).to_pylist()}
    assert len(rows) == read_table(out).num_rows  # each article once
    assert sorted(rows) == sorted(a["url"] for a in manifest["articles"])
    for expected in manifest["articles"]:
        row = rows[expected["url"]]
        assert row["title"] == expected["title"]
        assert len(row["images"]) == expected["image_count"]
        assert sum(1 for i in row["images"] if i["caption"]) == expected["caption_count"]
        assert row["byline"] == expected["byline"]
        assert row["summary"] == expected["summary"]
    assert not set(manifest["dead_urls"]) & set(rows)


def test_crawl_reads_feeds_and_pages_tags_to_the_end(
    crawl: tuple[Crawler, Path], mirror: MirrorServer
) -> None:
    for n in (2, 3, 4):
        assert (
            mirror.requests_for(HOST, f"/tag/bo-doi-bien-phong-2165/trang-{n}.html", status=200)
            == 1
        )
    assert mirror.requests_for(HOST, "/tag/bo-doi-bien-phong-2165/trang-5.html") == 0
    for feed in ("thoi-su", "quoc-phong-an-ninh", "kinh-te", "phap-luat"):
        assert mirror.requests_for(HOST, f"/rss/{feed}.rss", status=200) == 1
    assert mirror.requests_for(HOST, "/robots.txt", status=200) == 1
