"""Discovery with no site code (crawler.generic.discover), on the seven replicas and on
hand-made pages: where articles are listed, and which pages are articles."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
import pytest

from crawler.generic.discover import (
    feed_links,
    likely_article_url,
    looks_like_article,
    next_page_links,
    section_links,
    sitemaps_from_robots,
    text_weight,
)
from crawler.mirror.replica import replica_sites
from crawler.mirror.server import SITES_ROOT

SITES = replica_sites()  # those with articles


def page_of(site: str, url: str) -> Path:
    path = urlsplit(url).path.lstrip("/")
    pages = SITES_ROOT / site / "pages"
    for candidate in (pages / path, pages / f"{path}.html", pages / path / "index.html"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(url)


def tree(path: Path) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(path.read_bytes())


@pytest.mark.parametrize("site", SITES)
def test_every_replica_article_is_an_article_and_no_listing_is(site: str) -> None:
    manifest = json.loads((SITES_ROOT / site / "manifest.json").read_text("utf-8"))
    articles = manifest["articles"]
    assert articles
    for article in articles:
        page = tree(page_of(site, article["url"]))
        assert looks_like_article(page, link_text=article["title"]), article["url"]
    listings = list((SITES_ROOT / site / "pages").rglob("index.html"))
    assert listings
    for listing in listings:
        assert not looks_like_article(tree(listing)), listing


@pytest.mark.parametrize("site", SITES)
def test_the_home_page_leads_to_sections_or_feeds(site: str) -> None:
    info = json.loads((SITES_ROOT / site / "site.json").read_text("utf-8"))
    hosts = info["hosts"]
    home = f"https://{hosts[0]}/"
    page = tree(SITES_ROOT / site / "pages" / "index.html")
    sections = section_links(page, home, hosts)
    feeds = feed_links(page, home)
    assert sections or feeds
    for url in sections:
        host = urlsplit(url).hostname or ""
        assert host.removeprefix("www.") in {h.removeprefix("www.") for h in hosts}


def test_sitemaps_from_robots_txt() -> None:
    robots = (
        "User-agent: *\nDisallow: /admin\nSitemap: https://www.example.vn/sitemap.xml\n"
        "sitemap:/news-sitemap.xml\nSitemap: https://www.example.vn/sitemap.xml\n"
        "Sitemap: http://[broken\n"
    )
    assert sitemaps_from_robots(robots, "https://www.example.vn/robots.txt") == [
        "https://www.example.vn/sitemap.xml",
        "https://www.example.vn/news-sitemap.xml",
    ]


def test_feeds_pagination_and_menus_of_a_page() -> None:
    page = lxml.html.fromstring(
        """<html><head>
        <link rel="alternate" type="application/rss+xml" href="/rss/home.rss">
        <link rel="alternate" type="application/atom+xml; charset=utf-8" href="https://www.example.vn/atom.xml">
        <link rel="alternate" hreflang="en" href="/en/">
        <link rel="next" href="/tin-tuc/p/2">
        </head><body>
        <nav><a href="/quoc-phong">Quốc phòng</a><a href="/tag/bien-dao">Biển đảo</a>
        <a href="https://other.example/x">elsewhere</a><a href="/tim-kiem">search</a></nav>
        <div class="main-menu"><a href="/the-gioi/">Thế giới</a><a href="javascript:void(0)">x</a></div>
        <div class="pager"><a href="/tin-tuc/p/3">Trang sau</a><a href="http://[x">»</a></div>
        <a href="/tin-tuc/mot-bai-viet-rat-dai-ve-quoc-phong-812345">an article</a>
        </body></html>"""
    )
    base = "https://www.example.vn/tin-tuc"
    assert feed_links(page, base) == [
        "https://www.example.vn/rss/home.rss",
        "https://www.example.vn/atom.xml",
    ]
    assert next_page_links(page, base) == [
        "https://www.example.vn/tin-tuc/p/2",
        "https://www.example.vn/tin-tuc/p/3",
    ]
    assert section_links(page, base, ["www.example.vn"]) == [
        "https://www.example.vn/quoc-phong",
        "https://www.example.vn/the-gioi/",
    ]
    assert likely_article_url(
        "https://www.example.vn/tin-tuc/mot-bai-viet-rat-dai-ve-quoc-phong-812345"
    )
    assert not likely_article_url("https://www.example.vn/quoc-phong")
    assert not likely_article_url("https://www.example.vn/tag/bien-dao-va-hai-dao-viet-nam")


def test_a_page_that_says_what_it_is_is_believed() -> None:
    article = '<html><head><script type="application/ld+json">{"@graph": [{"@type": ["NewsArticle"]}]}</script></head><body><p>short</p></body></html>'
    listing = (
        '<html><head><script type="application/ld+json">{"@type": "CollectionPage"}</script></head><body><time datetime="2025-01-01">1/1/2025</time>'
        + "<p>"
        + "word " * 400
        + "</p></body></html>"
    )
    broken = '<html><head><script type="application/ld+json">{not json</script></head><body><p>x</p></body></html>'
    assert looks_like_article(lxml.html.fromstring(article))
    assert not looks_like_article(lxml.html.fromstring(listing))
    assert not looks_like_article(lxml.html.fromstring(broken))


def test_a_dated_long_text_is_an_article_without_any_markup_saying_so() -> None:
    body = "".join(
        f"<p>{'Bộ đội biên phòng tuần tra trên tuyến biên giới. ' * 3}</p>" for _ in range(6)
    )
    page = lxml.html.fromstring(
        f"<html><body><h1>Tuần tra</h1><span>12/03/2025 08:30</span><div>{body}</div></body></html>"
    )
    undated = lxml.html.fromstring(f"<html><body><h1>Tuần tra</h1><div>{body}</div></body></html>")
    assert looks_like_article(page)
    assert not looks_like_article(undated)


def test_chinese_text_weighs_more_per_character() -> None:
    assert text_weight("海军") == 6 and text_weight("navy") == 4
