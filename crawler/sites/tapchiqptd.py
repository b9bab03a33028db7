"""tapchiqptd.vn, Tạp chí Quốc phòng toàn dân (National Defence Journal), Vietnamese and English.

One spider, both editions: a page's language is the first segment of its path
(``/vi/``, ``/en/``), its section the second. The headline is a
``div.newsdt-page-ct-tit``, not an ``h1``. A site clock and a breadcrumb sit above
the article, so the date is read only inside the article block. The author closes
the text as a ``p`` with ``strong > em`` behind a rank (``Senior Colonel NGUYEN VAN
HUNG``, ``Đại tá, TS. NGUYỄN VĂN HÙNG``): the shared byline rule moves it to
byline/authors. Reader comments
and related news follow the text in the same parent and stay out of the body.
Dates: ``Tuesday, June 18, 2024, 10:08 (GMT+7)`` on English pages, assumed
``Thứ Ba, 18/06/2024, 10:08 (GMT+7)`` on Vietnamese ones; the shared parser reads
both. Listings page with ``?pageindex=N`` (links in ``#pagenav``).
"""

from __future__ import annotations

from scrapy.http import TextResponse

from crawler.sites.base import NewsSpider
from crawler.sites.parser import ArticleParser

HOME = "https://tapchiqptd.vn"
VI = ("tin-tuc-14", "bien-dao-viet-nam-98")
EN = ("news-54", "theory-and-practice-56", "events-and-comments-57", "research-and-discussion-58")
ARTICLE = ".page-main-left-newsdt .newsdt-page-ct"


class TapchiqptdParser(ArticleParser):
    title_css = f"{ARTICLE} .newsdt-page-ct-tit"
    date_css = f"{ARTICLE} .newsdt-page-ct-time span"  # not the clock in the header
    body_css = (f"{ARTICLE} .newsdt-page-ct-text",)
    # The headings of the blocks after the article, should one ever reach the text.
    boilerplate = (r"Ý KIẾN BẠN ĐỌC|CÁC TIN, BÀI ĐÃ ĐƯA|TIÊU ĐIỂM|TIN, BÀI XEM NHIỀU|Tòa soạn:.*",)

    def language(self, url: str, response: TextResponse) -> str:
        return "en" if url.split("/")[3:4] == ["en"] else "vi"

    def section(self, url: str, response: TextResponse) -> str | None:
        parts = url.split("?")[0].split("/")
        return parts[4] if len(parts) > 5 else None


class TapchiqptdSpider(NewsSpider):
    name = "tapchiqptd"
    site = "tapchiqptd.vn"
    language = "vi"  # English pages say "en" (TapchiqptdParser.language)
    canonical_host = "tapchiqptd.vn"
    allowed_domains = ["tapchiqptd.vn"]
    parser = TapchiqptdParser

    listing_urls = tuple(f"{HOME}/vi/{c}.html" for c in VI) + tuple(
        f"{HOME}/en/{c}.html" for c in EN
    )
    article_url_pattern = (
        r"^https?://(?:www\.)?tapchiqptd\.vn/(?:vi|en)/[a-z0-9-]+/[a-z0-9-]+/"
        r"(?P<id>\d+)\.html$"
    )
    listing_link_css = ".news-other-list p a"
    next_page_format = "{listing}?pageindex={page}"
    pagination_css = "#pagenav"
