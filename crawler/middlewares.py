"""Downloader middlewares of the project."""

from __future__ import annotations

import logging
from typing import Any, Self
from urllib.parse import urljoin

import scrapy.downloadermiddlewares.cookies
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from tldextract import TLDExtract

logger = logging.getLogger(__name__)

# Scrapy's cookie middleware splits domains with tldextract, which downloads the
# public suffix list on first use. A crawler must not talk to hosts it was not
# asked to crawl: use the snapshot tldextract ships instead.
scrapy.downloadermiddlewares.cookies._split_domain = TLDExtract(
    suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True
)

_REDIRECTS = frozenset((301, 302, 303, 307, 308))


class CookieGateMiddleware:
    """Gets through a cookie gate: a redirect back to the same URL that sets a cookie.

    Scrapy's redirect would be dropped by the duplicate filter (the URL was
    already seen), so the gate is answered here: the same request is sent again,
    now carrying the cookie (CookiesMiddleware stored it on the way in), and
    exempt from the filter because it is the same URL, never another host.
    """

    def __init__(self, stats: Any, max_tries: int = 2) -> None:
        self.stats = stats
        self.max_tries = max_tries

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        return cls(crawler.stats, crawler.settings.getint("CRAWLER_COOKIE_GATE_TRIES", 2))

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status not in _REDIRECTS or b"Set-Cookie" not in response.headers:
            return response
        location = response.headers.get(b"Location")
        if location is None:
            return response
        target = urljoin(request.url, location.decode("latin-1"))
        if target.split("#")[0] != request.url.split("#")[0]:
            return response
        tries = int(request.meta.get("cookie_gate_tries", 0))
        if tries >= self.max_tries:
            self.stats.inc_value("crawler/cookie_gate/failed")
            raise IgnoreRequest(f"cookie gate: still redirected after {tries} tries: {request.url}")
        self.stats.inc_value("crawler/cookie_gate/answered")
        meta = {**request.meta, "cookie_gate_tries": tries + 1}
        return request.replace(dont_filter=True, meta=meta)
