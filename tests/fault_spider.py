"""A test-only spider over the fault server (tests/faultserver.py)."""

from __future__ import annotations

from typing import Any

from crawler.sites.base import NewsSpider
from crawler.sites.parser import ArticleParser


class FaultParser(ArticleParser):
    title_css = "h1"
    body_css = ("article",)


class FaultSpider(NewsSpider):
    name = "faults"
    site = "127.0.0.1"
    language = "vi"
    allowed_domains = ["127.0.0.1"]
    parser = FaultParser
    article_url_pattern = r"/a/[a-z0-9]+-(?P<id>\d+)$"
    listing_link_css = "li a"

    def __init__(self, *args: Any, base: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.listing_urls = (f"{base}/list",)  # type: ignore[misc]  # the server's port is known late


class TrapSpider(FaultSpider):
    """The fault server's endless calendar (``/trap``)."""

    name = "trap"
    next_page_format = "{listing}?page={page}"
    pagination_css = "div.pages"

    def __init__(self, *args: Any, base: str = "", **kwargs: Any) -> None:
        super().__init__(*args, base=base, **kwargs)
        self.listing_urls = (f"{base}/trap",)  # type: ignore[misc]
