"""en.qdnd.vn, the People's Army Newspaper in English.

The same CMS, page layout and cookie gate as qdnd.vn, so the parser and the
spider are qdnd's with English identity and URLs. English text differs only in
what the shared rules already know: the ``PANO - `` tag opening a lead,
captions ending with ``Photo: VNA``, and closing credits such as ``By HONG
PHUC - Translated by MINH ANH`` or ``Story and photos: VAN TOAN``.
"""

from __future__ import annotations

from crawler.sites.qdnd import QdndSpider

HOME = "https://en.qdnd.vn"
SECTIONS = ("military/news", "military/intl-relations-and-cooperation", "politics")


class QdndEnSpider(QdndSpider):
    name = "qdnd_en"
    site = "en.qdnd.vn"
    language = "en"
    canonical_host = "en.qdnd.vn"
    allowed_domains = ["en.qdnd.vn"]

    listing_urls = tuple(f"{HOME}/{section}" for section in SECTIONS)
    feed_urls = (
        f"{HOME}/rss/cate/latest-news.rss",
        f"{HOME}/rss/cate/military.rss",
        f"{HOME}/rss/cate/politics.rss",
    )
    article_url_pattern = (
        r"^https?://en\.qdnd\.vn/[a-z0-9-]+/(?:[a-z0-9-]+/)*[a-z0-9-]+-(?P<id>\d+)/?$"
    )
