"""The parser's own element tree: same text as parsel's for every encoding, parsed once."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse

from crawler.sites.parser import document, first, parse_html, select

PAGE = "<html><head><title>t</title></head><body><h1>Quân đội nhân dân</h1><p>Hải quân 海军</p></body></html>"


@pytest.mark.parametrize(
    ("encoding", "title"),
    [
        ("utf-8", "Quân đội nhân dân"),
        ("gb18030", "Quân đội nhân dân"),
        ("utf-16", "Quân đội nhân dân"),
        ("windows-1252", "Défense nationale"),
    ],
)
def test_text_matches_parsel_in_every_encoding(encoding: str, title: str) -> None:
    text = PAGE.replace("Quân đội nhân dân", title)
    if encoding == "windows-1252":
        text = text.replace("Hải quân 海军", "Marine")
    response = HtmlResponse(
        url="https://example.vn/a", body=text.encode(encoding), encoding=encoding
    )
    ours = parse_html(response)
    theirs = response.selector.root
    for tag in ("h1", "p"):
        assert [e.xpath("string()") for e in ours.iter(tag)] == [
            e.xpath("string()") for e in theirs.iter(tag)
        ]
    assert first(response, "h1") == title


def test_encoding_from_the_header_wins_over_a_wrong_meta() -> None:
    body = '<meta charset="windows-1252"><h1>Quân đội</h1>'.encode()
    response = HtmlResponse(
        url="https://example.vn/a",
        body=body,
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    assert first(response, "h1") == "Quân đội"


def test_nul_bytes_dropped_and_bad_bytes_replaced_like_parsel() -> None:
    body = b"<h1>Qu\x00\xc3\xa2n</h1><p>a\xff b</p><p>after</p>"
    response = HtmlResponse(url="https://example.vn/a", body=body, encoding="utf-8")
    assert first(response, "h1") == "Quân"
    assert [e.xpath("string()") for e in select(response, "p")] == ["a\ufffd b", "after"]


@pytest.mark.parametrize("body", [b"", b"   \n", b"\x00"])
def test_empty_page_is_an_empty_document(body: bytes) -> None:
    response = HtmlResponse(url="https://example.vn/a", body=body, encoding="utf-8")
    assert parse_html(response).tag == "html"
    assert first(response, "h1") == ""


def test_parsed_once_per_response() -> None:
    response = HtmlResponse(url="https://example.vn/a", body=PAGE.encode(), encoding="utf-8")
    assert document(response) is document(response)
    other = HtmlResponse(url="https://example.vn/a", body=PAGE.encode(), encoding="utf-8")
    assert document(other) is not document(response)


def test_base_href_resolves_relative_links() -> None:
    from crawler.sites.parser import base_url

    page = b'<html><head><base href="/media/"></head><body><p>x</p></body></html>'
    response = HtmlResponse(url="https://example.vn/a/b", body=page, encoding="utf-8")
    assert base_url(response) == "https://example.vn/media/"
    plain = HtmlResponse(url="https://example.vn/a/b", body=b"<p>x</p>", encoding="utf-8")
    assert base_url(plain) == "https://example.vn/a/b"
    assert base_url(plain) == plain.urljoin("")  # Scrapy's own resolution agrees
    assert base_url(response) == response.urljoin("")


BAD_LINKS = ("http://[x", "//[::1", "http://a]b/")


def test_a_link_urllib_cannot_split_costs_that_link_not_the_page() -> None:
    """``urljoin`` raises on ``http://[x``: before, one such href on a listing page lost
    every link of the page, and one in an image or a ``<base>`` lost the article."""
    from crawler.mirror.server import SITES_ROOT
    from crawler.sites.qdnd import QdndSpider

    pages = SITES_ROOT / "qdnd.vn" / "pages" / "quoc-phong-an-ninh" / "xay-dung-quan-doi"
    spider = QdndSpider()
    listing_url = "https://www.qdnd.vn/quoc-phong-an-ninh/xay-dung-quan-doi"
    listing = (pages / "index.html").read_text("utf-8")
    good = spider.listing_links(HtmlResponse(listing_url, body=listing.encode(), encoding="utf-8"))
    assert good
    hostile = listing.replace(' href="', ' href="http://[x" data-was="', 1)
    hostile = hostile.replace(
        "</body>", "".join(f'<a href="{b}">b</a>' for b in BAD_LINKS) + "</body>"
    )
    found = spider.listing_links(HtmlResponse(listing_url, body=hostile.encode(), encoding="utf-8"))
    assert set(found) <= set(good) and len(found) >= len(good) - 1

    page = pages / "tet-som-nha-gian-812342.html"
    url = listing_url + "/tet-som-nha-gian-812342"
    clean = spider.extract(HtmlResponse(url, body=page.read_bytes(), encoding="utf-8"))
    text = page.read_text("utf-8")
    text = text.replace(
        "<head>", '<head><base href="http://[x"><link rel="canonical" href="//[::1">', 1
    )
    text = text.replace("<img ", '<img src="//[bad" data-x="', 1).replace(
        "</p>", '</p><img src="http://a]b/">', 1
    )
    article = spider.extract(HtmlResponse(url, body=text.encode(), encoding="utf-8"))
    assert article.url == clean.url
    assert article.title == clean.title and article.body == clean.body
    assert len(article.images) >= len(clean.images) - 1
