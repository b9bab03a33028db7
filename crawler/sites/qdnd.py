"""qdnd.vn, Quân đội nhân dân (the army newspaper), Vietnamese.

Both image layouts go through the shared block extraction: the editor table
of 2024 on (``img`` row, caption row) and ``table.imgEditor`` up to 2023, whose
toolbar row (``leftcenterrightdel``) is recognised and skipped.
"""

from __future__ import annotations

from crawler.sites.base import NewsSpider
from crawler.sites.parser import ArticleParser

HOME = "https://www.qdnd.vn"
SECTIONS = ("quoc-phong-an-ninh", "chinh-tri", "quoc-te", "kinh-te", "van-hoa", "phong-su-dieu-tra")


class QdndParser(ArticleParser):
    title_css = "h1.post-title"
    summary_css = "div.post-summary"
    date_css = "span.post-subinfo"
    body_css = ('div.post-content div[itemprop="articleBody"]', 'div[itemprop="articleBody"]')
    tags_css = ".post-tag a"


class QdndSpider(NewsSpider):
    name = "qdnd"
    site = "qdnd.vn"
    language = "vi"
    canonical_host = "www.qdnd.vn"
    allowed_domains = ["qdnd.vn"]
    parser = QdndParser

    listing_urls = tuple(f"{HOME}/{section}" for section in SECTIONS)
    feed_urls = (
        f"{HOME}/rss/cate/tin-tuc-moi-nhat.rss",
        f"{HOME}/rss/cate/quoc-phong-an-ninh-3424.rss",
        f"{HOME}/rss/cate/chinh-tri-3429.rss",
    )
    article_url_pattern = (
        r"^https?://(?:www\.)?qdnd\.vn/[a-z0-9-]+/(?:[a-z0-9-]+/)*[a-z0-9-]+-(?P<id>\d+)/?$"
    )
    listing_link_css = "div.list-news-category article h3 a"
    next_page_format = "{listing}/p/{page}"
    pagination_css = "ul.pagination, div.pagination, nav.pagination"
