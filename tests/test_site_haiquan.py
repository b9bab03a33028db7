"""baohaiquanvietnam.vn: the site's quirks on the parser, and a crawl of its replica."""

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
from crawler.sites.haiquan import HaiquanSpider

SITE = "baohaiquanvietnam.vn"
HOST = "baohaiquanvietnam.vn"
URL = "https://baohaiquanvietnam.vn/ban-tin/bai-viet-40001.html"
NOTICE = "Bài viết, video, hình ảnh đóng góp cho chuyên mục vui lòng gửi về: "


def response(body: str, url: str = URL) -> HtmlResponse:
    return HtmlResponse(url, body=body.encode("utf-8"), encoding="utf-8")


def extract(body: str, url: str = URL) -> Article:
    return clean(HaiquanSpider().extract(response(body, url)), check=True)


def article_html(content: str, *, after: str = "") -> str:
    return f"""<html><body>
<h1 class="logo"><a href="/">Báo Hải quân Việt Nam</a></h1>
<ol class="breadcrumb">
<li><a href="https://baohaiquanvietnam.vn">Trang chủ</a></li>
<li><a href="https://baohaiquanvietnam.vn/danh-muc/tin-tuc">Tin tức</a></li>
<li><a href="https://baohaiquanvietnam.vn/danh-muc/tin-tuc">17/07/2025 14:05:30</a></li>
<li><span>1,318</span></li>
</ol>
<h1 class=" title-news-detail-left ">Tiêu đề bài viết</h1>
<h2 class="title-news-detail">Phụ đề không phải tiêu đề</h2>
<div class="que_news"><p class="hqol">HQO - </p><p><strong>Tóm tắt bài viết.</strong></p></div>
<div class="content_news">{content}</div>
{after}
</body></html>"""


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return replica_manifest(SITE)


@pytest.fixture(scope="module")
def records() -> dict[str, dict[str, Any]]:
    """Every replica article page through the parser and the pipelines."""
    return {
        url: clean(HaiquanSpider().extract(response(path.read_text("utf-8"), url))).record()
        for url, path in article_pages(SITE)
    }


# -- title, lead, date, section ----------------------------------------------------


def test_headline_lead_date_and_section() -> None:
    article = extract(article_html("<p>Đoạn một.</p>"))
    assert article.title == "Tiêu đề bài viết"  # the h1, not the logo's nor the subtitle
    assert article.summary == "Tóm tắt bài viết."  # without the "HQO - " prefix paragraph
    assert article.published_raw == "17/07/2025 14:05:30"
    assert article.published_at == datetime(2025, 7, 17, 7, 5, 30, tzinfo=UTC)
    assert article.section == "tin-tuc"
    assert article.article_id == "40001"


def test_no_dated_breadcrumb_means_no_date() -> None:
    page = article_html("<p>Đoạn một.</p>").replace("17/07/2025 14:05:30", "Tin tức")
    article = extract(page)
    assert (article.published_raw, article.published_at) == (None, None)


# -- images and captions -----------------------------------------------------------

IMG = '<p style="text-align: center;"><img alt="" src="{}" style="width: 800px;" /></p>'


@pytest.mark.parametrize(
    ("caption_html", "caption", "credit"),
    [
        (
            '<p style="text-align: center;">Quang cảnh buổi lễ. Ảnh: Ngọc Hiệp</p>',
            "Quang cảnh buổi lễ.",
            "Ngọc Hiệp",
        ),
        (
            '<p style="text-align: center;">Quang cảnh buổi lễ (Ảnh: Ngọc Hiệp)</p>',
            "Quang cảnh buổi lễ",
            "Ngọc Hiệp",
        ),
        (
            '<p style="text-align: center;"><em>Quang cảnh buổi lễ. Ảnh: Ngọc Hiệp</em></p>',
            "Quang cảnh buổi lễ.",
            "Ngọc Hiệp",
        ),
    ],
    ids=["trailing-credit", "bracketed-credit", "italic"],
)
def test_caption_paragraph_under_the_image(caption_html: str, caption: str, credit: str) -> None:
    article = extract(
        article_html(
            f"<p>Đoạn một.</p>{IMG.format('/storage/users/user_8/2025/Thang 7/a.jpg')}{caption_html}<p>Đoạn hai.</p>"
        )
    )
    assert article.body == "Đoạn một.\n\nĐoạn hai."
    [image] = article.images
    assert image.url == "https://baohaiquanvietnam.vn/storage/users/user_8/2025/Thang%207/a.jpg"
    assert (image.caption, image.credit) == (caption, credit)


def test_relative_image_addresses_and_an_uncaptioned_image() -> None:
    article = extract(
        article_html(
            f"{IMG.format('../../storage/users/user_12/b.jpg')}<p>Đoạn văn ngay dưới ảnh, không phải chú thích.</p>"
        )
    )
    [image] = article.images
    assert image.url == "https://baohaiquanvietnam.vn/storage/users/user_12/b.jpg"
    assert image.caption is None
    assert article.body == "Đoạn văn ngay dưới ảnh, không phải chú thích."


# -- author, notice and share links ------------------------------------------------


@pytest.mark.parametrize(
    ("line", "byline", "authors"),
    [
        (
            '<p style="text-align: right;"><strong>Hữu Thiết</strong></p>',
            "Hữu Thiết",
            ["Hữu Thiết"],
        ),
        (
            '<p style="text-align: right;"><em><strong>Quang Hưng - Minh Thành</strong></em></p>',
            "Quang Hưng - Minh Thành",
            ["Quang Hưng", "Minh Thành"],
        ),
        (
            '<p style="text-align:right">Văn Thắng (tổng hợp)</p>',
            "Văn Thắng (tổng hợp)",
            ["Văn Thắng"],
        ),
        (
            '<p style="text-align: right;"><strong>Bài, ảnh: NGỌC HIỆP</strong></p>',
            "Bài, ảnh: NGỌC HIỆP",
            ["Ngọc Hiệp"],
        ),
    ],
)
def test_author_line(line: str, byline: str, authors: list[str]) -> None:
    article = extract(
        article_html(f"<p>Đoạn một.</p>{line}<blockquote><p>Ghi chú cuối bài.</p></blockquote>")
    )
    assert (article.byline, article.authors) == (byline, authors)
    assert article.body == "Đoạn một.\n\nGhi chú cuối bài."


def test_contribution_notice_and_share_links_are_not_body() -> None:
    notice = f'{NOTICE}<a href="mailto:bhqdt@baohaiquanvietnam.vn">bhqdt@baohaiquanvietnam.vn</a>'
    share = '<div class="social-likes"><div><a href="https://www.facebook.com/sharer/sharer.php?u=x">Facebook</a></div><div><a>Twitter</a></div></div>'
    for inside in (
        f"<p><em>{notice}</em></p>",
        f'<div class="messenger_single"><p class="text-center">{notice}</p></div>',
        share,
    ):
        article = extract(
            article_html(
                f'<p>Đoạn một.</p><p style="text-align: right;"><strong>Hữu Thiết</strong></p>{inside}',
                after=f'<div class="messenger_single"><p>{notice}</p></div>{share}',
            )
        )
        assert article.body == "Đoạn một."
        assert article.byline == "Hữu Thiết"


def test_replica_records_match_the_manifest(
    records: dict[str, dict[str, Any]], manifest: dict[str, Any]
) -> None:
    for expected in manifest["articles"]:
        record = records[expected["url"]]
        assert record["title"] == expected["title"]
        assert record["title"] != expected["subtitle"]
        assert record["summary"] == expected["summary"]
        assert record["section"] == expected["section"]
        assert record["byline"] == expected["byline"]
        assert record["published_raw"] == expected["published_raw"]
        assert record["published_at"] == datetime.fromisoformat(expected["published"]).astimezone(
            UTC
        )
        assert [i["url"] for i in record["images"]] == [i["url"] for i in expected["images"]]
        for image, printed in zip(record["images"], expected["images"], strict=True):
            assert bool(image["caption"]) == bool(printed["caption"])
            assert bool(image["credit"]) == bool(printed["caption"])
            assert not image["caption"] or image["caption"] not in record["body"]
        for text in ("Ảnh:", "đóng góp cho chuyên mục", "Facebook", "Twitter", expected["byline"]):
            assert text not in record["body"]


# -- discovery ---------------------------------------------------------------------


def listing_page(name: str, url: str) -> HtmlResponse:
    page = SITES_ROOT / "baohaiquanvietnam.vn" / "pages" / "danh-muc" / name
    return response(page.read_text("utf-8"), url)


def test_listing_pages_by_query_string() -> None:
    spider = HaiquanSpider()
    listing = spider.listing_urls[0]
    first = listing_page("tin-tuc.html", listing)
    request = spider.next_page(first, listing, 1)
    assert request is not None and request.url == f"{listing}?page=2"
    last = listing_page("tin-tuc@page=3.html", f"{listing}?page=3")
    assert spider.next_page(last, listing, 3) is None


def test_listing_links_are_the_items_not_the_sidebar(manifest: dict[str, Any]) -> None:
    spider = HaiquanSpider()
    for page in manifest["listings"]:
        name = page["url"].rsplit("/", 1)[-1].replace("?", "@") + ".html"
        links = spider.listing_links(listing_page(name, page["url"]))
        assert list(dict.fromkeys(links)) == page["links"]  # an empty page after the last


# -- a crawl of the replica --------------------------------------------------------


@pytest.fixture(scope="module")
def crawl(mirror: MirrorServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Crawler, Path]:
    out = tmp_path_factory.mktemp("haiquan")
    crawler: Crawler = pytest_twisted.blockon(
        defer.ensureDeferred(sitecheck.crawl(mirror, out, HaiquanSpider))
    )
    return crawler, out


def test_crawl_archives_every_article_once(
    crawl: tuple[Crawler, Path], manifest: dict[str, Any]
) -> None:
    crawler, out = crawl
    stats = crawler.stats.get_stats()
    assert stats["finish_reason"] == "finished"
    assert not stats.get("log_count/ERROR")
    table = read_table(out)
    rows = {row["url"]: row for row in table.to_pylist()}
    assert len(rows) == table.num_rows
    assert sorted(rows) == sorted(a["url"] for a in manifest["articles"])
    for expected in manifest["articles"]:
        row = rows[expected["url"]]
        assert row["title"] == expected["title"]
        assert len(row["images"]) == expected["image_count"]
        assert sum(1 for i in row["images"] if i["caption"]) == expected["caption_count"]
        assert row["byline"] == expected["byline"]
        assert row["authors"]
    assert not set(manifest["dead_urls"]) & set(rows)


def test_crawl_pages_the_listing_to_the_end(
    crawl: tuple[Crawler, Path], mirror: MirrorServer
) -> None:
    # The query string is not part of the counted path: 1 + ?page=2 + ?page=3;
    # a listing of one page is probed once more, and its page 2 is empty.
    assert mirror.requests_for(HOST, "/danh-muc/tin-tuc", status=200) == 3
    assert mirror.requests_for(HOST, "/danh-muc/bien-dao-que-huong", status=200) == 2
    assert mirror.requests_for(HOST, "/danh-muc/hai-quan-the-gioi", status=200) == 2
    assert mirror.requests_for(HOST, "/robots.txt", status=200) == 1
