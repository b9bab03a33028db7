"""baohaiquanvietnam.vn, Báo Hải quân Việt Nam (the Navy newspaper), Vietnamese.

Quirks: the publish time is one of the breadcrumb's links (``dd/mm/yyyy
hh:mm:ss``), and the breadcrumb's category link gives the section; the
headline is the ``h1`` (an ``h2`` subtitle may follow); images have relative
addresses and their captions are the paragraphs under them (moved by the shared
caption rule, whether ``… Ảnh: X``, ``… (Ảnh: X)`` or italic); the author is a
right-aligned paragraph, often names in lower case (``Quang Hưng - Minh
Thành``); the contribution notice and share links are dropped. No feed is
known: listings only, paged with ``?page=N`` (a listing of one page has no
pagination block: the page after it is probed and comes back empty).
"""

from __future__ import annotations

import re

from scrapy.http import TextResponse

from crawler.sites.base import NewsSpider
from crawler.sites.blocks import text_of
from crawler.sites.parser import ArticleParser, select
from crawler.text.bylines import authors_from, parse_byline

HOME = "https://baohaiquanvietnam.vn"
_DATE = re.compile(r"\d{1,2}/\d{1,2}/\d{4}")


class HaiquanParser(ArticleParser):
    title_css = "h1.title-news-detail-left"
    summary_css = "div.que_news p strong"
    body_css = ("div.content_news",)
    byline_css = "div.content_news p[style*='text-align: right'], div.content_news p[style*='text-align:right']"
    exclude_css = ("div.messenger_single", "div.social-likes")
    boilerplate = (r"Bài viết, video, hình ảnh đóng góp cho chuyên mục vui lòng gửi về\b.*",)

    def published_raw(self, response: TextResponse) -> str | None:
        """The breadcrumb link that holds a date (the others name the home page and category)."""
        texts = (text_of(a) for a in select(response, "ol.breadcrumb a"))
        return next((t.strip() for t in texts if _DATE.search(t)), None)

    def section(self, url: str, response: TextResponse) -> str | None:
        """The category slug of the breadcrumb (``/danh-muc/tin-tuc``)."""
        links = select(response, "ol.breadcrumb a[href*='/danh-muc/']")
        return str(links[0].get("href")).rstrip("/").rsplit("/", 1)[-1] if links else None

    def authors(self, byline: str) -> list[str]:
        """Bylines are often names in lower case, several joined by ``-``."""
        return parse_byline(byline) or authors_from(byline)


class HaiquanSpider(NewsSpider):
    name = "haiquan"
    site = "baohaiquanvietnam.vn"
    language = "vi"
    canonical_host = "baohaiquanvietnam.vn"
    allowed_domains = ["baohaiquanvietnam.vn"]
    parser = HaiquanParser

    listing_urls = tuple(
        f"{HOME}/danh-muc/{c}" for c in ("tin-tuc", "bien-dao-que-huong", "hai-quan-the-gioi")
    )
    article_url_pattern = (
        r"^https?://(?:www\.)?baohaiquanvietnam\.vn/ban-tin/[a-z0-9-]+-(?P<id>\d+)\.html$"
    )
    # The sidebar (``div.navleft``) has a ``.wrap-news-list`` too, on every page.
    listing_link_css = 'div[class*="col-sm-"]:not(.navleft) .wrap-news-list a[href]'
    next_page_format = "{listing}?page={page}"
    pagination_css = "ul.pagination"
