"""A test-only spider over the fault server (tests/support/faultserver.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
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
    listing_path = "/list"

    def __init__(self, *args: Any, base: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.base = base

    async def start(self) -> AsyncIterator[Any]:
        # The server's port is known late: a spider argument in-process, the FAULT_BASE
        # setting from the command line (`crawler crawl disk -s FAULT_BASE=http://…`).
        base = self.base or self.settings.get("FAULT_BASE", "")
        self.listing_urls = (f"{base}{self.listing_path}",)  # type: ignore[misc]
        async for request in super().start():
            yield request


class TrapSpider(FaultSpider):
    """The fault server's endless calendar (``/trap``)."""

    name = "trap"
    next_page_format = "{listing}?page={page}"
    pagination_css = "div.pages"
    listing_path = "/trap"


class DiskSpider(FaultSpider):
    """Small and big articles (``/disk``), to fill a size-limited disk."""

    name = "disk"
    listing_path = "/disk"


class NamedSpider(FaultSpider):
    """The fault server under a name (``www.news.test``, given by a fake resolver)."""

    name = "named"
    site = "news.test"
    allowed_domains = ["news.test"]
    listing_path = "/dns"


class BrokenSpider(FaultSpider):
    """A site whose listing never answers (the connection is reset every time)."""

    name = "broken"
    listing_path = "/a/reset-6"
