"""en.baochinhphu.vn: the quirks of the Government portal's English defence news, and a crawl
of its replica."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from lxml import html
from scrapy.http import HtmlResponse
from support import sitecheck

from crawler.archive import read_table
from crawler.items import Article, Image
from crawler.mirror.replica import article_pages
from crawler.mirror.replica import manifest as replica_manifest
from crawler.mirror.server import MirrorServer
from crawler.pipelines import clean
from crawler.sites.baochinhphu_en import BaochinhphuEnSpider
from crawler.sites.blocks import blocks_from_element

SITE = "en.baochinhphu.vn"
HOME = "https://en.baochinhphu.vn"
MANIFEST = replica_manifest(SITE)
EXPECTED = {a["url"]: a for a in MANIFEST["articles"]}
PAGES = dict(article_pages(SITE))
PHOTO = (
    '<div class="VCSortableInPreviewMode" type="Photo"><div><a href="/a.jpg"><img src="{src}"></a></div>'
    '<div class="PhotoCMS_Caption"><p data-placeholder="[nhập chú thích]">{caption}</p></div></div>'
)


def response(url: str, body: bytes | None = None) -> HtmlResponse:
    return HtmlResponse(url=url, body=body or PAGES[url].read_bytes(), encoding="utf-8")


def extract(url: str, body: bytes | None = None) -> Article:
    return clean(BaochinhphuEnSpider().extract(response(url, body)), check=True)


def page_with(body: str, title: str = "Title", sapo: str = "VGP - Lead.") -> bytes:
    return (
        '<html><head><meta property="article:published_time" content="2024-06-18T10:08:00+07:00">'
        f'</head><body><h1 class="detail-title" data-role="title">{title}</h1>'
        f'<h2 class="detail-sapo" data-role="sapo">{sapo}</h2>'
        f'<div class="detail-content afcbc-body" data-role="content">{body}</div></body></html>'
    ).encode()


URL = f"{HOME}/some-defence-news-111240618100812345.htm"


@pytest.mark.parametrize("url", sorted(EXPECTED))
def test_every_replica_article(url: str) -> None:
    article, expected = extract(url), EXPECTED[url]
    assert article.title == expected["title"]
    assert not article.title.startswith("\u00ad")
    assert article.summary == expected["summary"]
    assert article.published_at == datetime.fromisoformat(expected["published"]).astimezone(UTC)
    assert article.published_raw == expected["published"]
    assert article.article_id == expected["article_id"] and len(article.article_id) in (17, 18)
    assert article.byline == expected["byline"]
    assert [(i.url, i.caption and f"{i.caption}") for i in article.images] == [
        (i["url"], i["caption"] and i["caption"].split(" - Photo:")[0]) for i in expected["images"]
    ]
    assert "./." not in article.body and "Photo:" not in article.body
    assert "Related news" not in article.body


def test_soft_hyphen_titles_are_in_the_replica() -> None:
    printed = [a["title_printed"] for a in MANIFEST["articles"]]
    assert sum(t.startswith("\u00ad") for t in printed) >= 3
    assert sum(not t.startswith("\u00ad") for t in printed) >= 3


def test_soft_hyphen_and_vgp_tag_are_removed() -> None:
    article = clean(
        BaochinhphuEnSpider().extract(
            HtmlResponse(
                URL, body=page_with("<p>Text.</p>", "\u00adDefence news", "VGP - The lead.")
            )
        )
    )
    assert article.title == "Defence news"
    assert article.summary == "The lead."
    assert article.published_at == datetime(2024, 6, 18, 3, 8, tzinfo=UTC)


def test_the_shared_extraction_reads_a_vccorp_photo_box_as_a_figure() -> None:
    box = html.fromstring(
        "<div>"
        + PHOTO.format(src="https://bcp.cdnchinhphu.vn/a.jpg", caption="Delegates")
        + "<p>Body.</p></div>"
    )
    assert blocks_from_element(box, URL) == [
        Image(url="https://bcp.cdnchinhphu.vn/a.jpg", caption="Delegates"),
        "Body.",
    ]


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        (
            "Delegates at the talks - Photo: VGP/Nhat Bac",
            ("Delegates at the talks", "VGP/Nhat Bac"),
        ),
        (
            "Naval ships during the exercise - Photo: VNA",
            ("Naval ships during the exercise", "VNA"),
        ),
        ("Officers at the send-off ceremony", ("Officers at the send-off ceremony", None)),
        ("", (None, None)),
    ],
)
def test_photo_boxes_become_images_with_captions(caption: str, expected: tuple[Any, Any]) -> None:
    body = "<p>First.</p>" + PHOTO.format(src="https://bcp.cdnchinhphu.vn/a.jpg", caption=caption)
    body += "<p>Last./.</p>"
    article = clean(BaochinhphuEnSpider().extract(HtmlResponse(URL, body=page_with(body))))
    assert [(i.caption, i.credit) for i in article.images] == [expected]
    assert article.body == "First.\n\nLast."


def test_related_news_box_inside_the_body_is_dropped() -> None:
    url = next(u for u, a in EXPECTED.items() if a["related_boxes"])
    page = response(url)
    assert page.css('div.detail-content div[type="RelatedOneNews"] img')
    article = extract(url)
    assert len(article.images) == EXPECTED[url]["image_count"]
    related = page.css('div[type="RelatedOneNews"] .PreviewRelatedOneNews a::text').get()
    assert related and related not in article.body


def test_end_marker_closes_the_last_paragraph() -> None:
    url = next(u for u, a in EXPECTED.items() if a["end_marker"])
    assert b"./.</p>" in PAGES[url].read_bytes()
    body = extract(url).body
    assert body.endswith(".") and not body.endswith("./.")


def test_author_from_the_header() -> None:
    url = next(u for u, a in EXPECTED.items() if a["byline"] == "Thu Trang")
    article = extract(url)
    assert (article.byline, article.authors) == ("Thu Trang", ["Thu Trang"])
    nobody = next(u for u, a in EXPECTED.items() if a["byline"] is None)
    assert extract(nobody).byline is None


def test_urls() -> None:
    spider = BaochinhphuEnSpider()
    assert spider.is_article_url(
        f"{HOME}/viet-nam-japan-boost-defence-cooperation-111241118153012345.htm"
    )
    assert spider.is_article_url(f"{HOME}/viet-nam-laos-sign-plan-10223121210151234.htm")
    assert not spider.is_article_url(f"{HOME}/defense.html")
    assert not spider.is_article_url(f"{HOME}/defense/trang-2.htm")
    assert not spider.is_article_url(f"{HOME}/short-id-1234567.htm")


# -- the replica, crawled ----------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_crawl_of_the_replica(tmp_path: Path) -> None:
    with MirrorServer() as server:
        crawler = await sitecheck.crawl(server, tmp_path, BaochinhphuEnSpider)
        hits = {
            path: server.requests_for(SITE, path, status=200)
            for path in (
                "/defense.html",
                "/defense/trang-2.htm",
                "/defense/trang-3.htm",
                "/rss/defense.rss",
            )
        }
        dead = server.requests_for(SITE, MANIFEST["dead_urls"][0].removeprefix(HOME), status=404)
        # The last page shows no "View more": the page after it is probed once and is a 404.
        after_last = server.requests_for(SITE, "/defense/trang-4.htm", status=404)
    stats: dict[str, Any] = crawler.stats.get_stats()
    assert stats["finish_reason"] == "finished"
    assert not stats.get("log_count/ERROR")
    assert hits == dict.fromkeys(hits, 1)  # every listing page once, and the feed
    assert dead == 1
    assert after_last == 1
    rows = read_table(tmp_path).to_pylist()
    urls = [row["url"] for row in rows]
    assert sorted(urls) == sorted(EXPECTED) and len(set(urls)) == len(urls)
    for row in rows:
        expected = EXPECTED[row["url"]]
        assert row["title"] == expected["title"]
        assert len(row["images"]) == expected["image_count"]
        assert sum(1 for i in row["images"] if i["caption"]) == expected["caption_count"]
        assert row["byline"] == expected["byline"]
        assert row["published_at"] == datetime.fromisoformat(expected["published"]).astimezone(UTC)
