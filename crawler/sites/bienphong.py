"""bienphong.com.vn, Báo Biên phòng (the Border Guard newspaper), Vietnamese.

Quirks: words split over inline elements (``<span>Biên</span> <span>phòng</span>``,
``<a>Hà</a>\\n<a>Giang</a>``) must keep their space, which the shared text
extraction does; the lead opens with ``(BP) - `` or a bare ``BP - ``, which the
shared dateline rule removes (``BP`` is in its list); article URLs carry no
section, the breadcrumb does; tag pages are the listings, and since the form of
their further pages is not known, the spider follows the pagination block's
link to the next page, whatever its address.
"""

from __future__ import annotations

from scrapy.http import TextResponse

from crawler.sites.base import NewsSpider
from crawler.sites.parser import ArticleParser, select

HOME = "https://www.bienphong.com.vn"


class BienphongParser(ArticleParser):
    title_css = "h1.bp-detail-content-title-h1"
    summary_css = "p.bp-detail-sapo"
    date_css = "span.bp-date-time"
    body_css = ("div.bp-detail-text-content",)
    tags_css = "div.bp-detail-tags a"
    exclude_css = ("div.bp-detail-relate",)

    def section(self, url: str, response: TextResponse) -> str | None:
        """The category slug of the breadcrumb's last link (``/thoi-su/``)."""
        links = select(response, "div.bp-breadcrumb a[href]")
        return str(links[-1].get("href")).strip("/").split("/")[-1] or None if links else None


class BienphongSpider(NewsSpider):
    name = "bienphong"
    site = "bienphong.com.vn"
    language = "vi"
    canonical_host = "www.bienphong.com.vn"
    allowed_domains = ["bienphong.com.vn"]
    parser = BienphongParser

    listing_urls = (
        f"{HOME}/tag/bo-doi-bien-phong-2165.html",
        f"{HOME}/tag/chu-quyen-bien-dao-3871.html",
    )
    feed_urls = tuple(
        f"{HOME}/rss/{c}.rss" for c in ("thoi-su", "quoc-phong-an-ninh", "kinh-te", "phap-luat")
    )
    article_url_pattern = (
        r"^https?://(?:www\.)?bienphong\.com\.vn/[a-z0-9-]+-post(?P<id>\d+)\.html$"
    )
    listing_link_css = "div.bp-list-news h3 a"
    pagination_css = "div.bp-pagination"  # no next_page_format: follow its link to page + 1
