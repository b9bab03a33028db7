"""en.baochinhphu.vn, the Government news portal (VGP) in English: its defence section.

A VCCorp CMS site. Headlines may start with a soft hyphen (U+00AD) and leads with
``VGP - ``; the shared normalisation and dateline rules remove both, as they remove
the ``./.`` that closes many articles. The date is ``article:published_time``
(+07:00). Images sit in the body as ``div.VCSortableInPreviewMode[type=Photo]``
boxes whose caption is a sibling ``div.PhotoCMS_Caption``: the shared block
extraction would read that caption as a body paragraph, so each box is read as a
``figure`` here. Related-news boxes inside the body are dropped. The defence
listing is ``/defense.html`` (items ``div.timeline > div.box-stream``), then
``/defense/trang-N.htm``.
"""

from __future__ import annotations

from scrapy.http import TextResponse

from crawler.sites.base import NewsSpider
from crawler.sites.parser import ArticleParser, first

HOME = "https://en.baochinhphu.vn"
BOX = "div.VCSortableInPreviewMode"


class BaochinhphuEnParser(ArticleParser):
    title_css = 'h1.detail-title[data-role="title"]'
    summary_css = "h2.detail-sapo"
    date_css = 'meta[property="article:published_time"]@content'
    body_css = ('div.detail-content[data-role="content"]',)
    byline_css = ".detail-author-top-name"
    exclude_css = (f'{BOX}[type="RelatedOneNews"]', f'{BOX}[type="RelatedNewsBox"]')

    def section(self, url: str, response: TextResponse) -> str | None:
        return first(response, 'meta[property="article:section"]@content') or None


class BaochinhphuEnSpider(NewsSpider):
    name = "baochinhphu_en"
    site = "en.baochinhphu.vn"
    language = "en"
    canonical_host = "en.baochinhphu.vn"
    allowed_domains = ["en.baochinhphu.vn"]
    parser = BaochinhphuEnParser

    listing_urls = (f"{HOME}/defense.html",)
    feed_urls = (f"{HOME}/rss/defense.rss",)  # unverified: no feed is known for the site
    article_url_pattern = r"^https?://en\.baochinhphu\.vn/[a-z0-9-]+-(?P<id>\d{17,18})\.htm$"
    listing_link_css = "div.timeline > div.box-stream a.box-stream-link-title"
    # Page 1 is /defense.html, the next ones /defense/trang-N.htm (one listing only).
    next_page_format = f"{HOME}/defense/trang-{{page}}.htm"
    pagination_css = "div.list__pagination"
