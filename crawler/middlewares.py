"""Downloader middlewares of the project."""

from __future__ import annotations

import logging
from typing import Any, Self
from urllib.parse import urljoin

import scrapy.downloadermiddlewares.cookies
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro
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


# Pages that anti-bot services serve instead of content.
_CHALLENGE_MARKERS = (
    b"cf-browser-verification",
    b"/cdn-cgi/challenge-platform",
    b"_incapsula_resource",
    b"ddos protection by",
    b"captcha-delivery.com",
    b"<title>just a moment...</title>",
)
_RELOADS = (b"location.reload", b"location.href", b"location.replace", b"location.assign")


def looks_like_challenge(body: bytes) -> bool:
    """A bot challenge: a known anti-bot page, or a tiny page whose script sets a cookie and reloads."""
    head = body[:16384].lower()
    if any(marker in head for marker in _CHALLENGE_MARKERS):
        return True
    return len(body) < 4096 and b"document.cookie" in head and any(r in head for r in _RELOADS)


class ChallengeMiddleware:
    """A site that answers with a bot challenge is blocked: say so, stop, archive nothing.

    Every response is checked, robots.txt included (mod.gov.vn serves its
    challenge there, and parsed as robots.txt it would allow everything).
    The spider closes with reason ``blocked``; ``crawler crawl`` exits non-zero.
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.blocked = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if not looks_like_challenge(response.body):
            return response
        host = request.url.split("/")[2]
        self.crawler.stats.inc_value("crawler/blocked/responses")
        if not self.blocked:
            self.blocked = True
            self.crawler.stats.set_value("crawler/blocked", host)
            logger.error(
                "blocked: %s answered %s with a bot challenge instead of content; "
                "stopping this site, nothing from it is archived",
                host,
                request.url,
            )
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="blocked"))
        raise IgnoreRequest(f"bot challenge from {host}: {request.url}")
