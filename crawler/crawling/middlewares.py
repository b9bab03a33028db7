"""Downloader middlewares of the project."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Self

import scrapy.downloadermiddlewares.cookies
import scrapy.downloadermiddlewares.robotstxt
from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message
from tldextract import TLDExtract
from twisted.internet.defer import Deferred

from crawler.urls import join_url

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
        target = join_url(request.url, location.decode("latin-1"))
        if target is None or target.split("#")[0] != request.url.split("#")[0]:
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


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry, with a pause before each try: exponential backoff, or the server's
    ``Retry-After`` (429, 503) when it sends one, capped. Scrapy itself retries at once
    and ignores ``Retry-After``.

    Settings: ``CRAWLER_RETRY_BACKOFF`` (seconds before the first retry, doubled each
    time, at most ``CRAWLER_RETRY_BACKOFF_MAX``), ``CRAWLER_RETRY_AFTER_MAX`` (cap on
    ``Retry-After``). Giving up is counted (``retry/max_reached``); the request that
    failed for good is logged, in one line with its kind, by ``failures.CountFailures``.
    """

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        middleware: Self = super().from_crawler(crawler)
        settings = crawler.settings
        middleware.backoff = settings.getfloat("CRAWLER_RETRY_BACKOFF", 1.0)
        middleware.backoff_max = settings.getfloat("CRAWLER_RETRY_BACKOFF_MAX", 60.0)
        middleware.retry_after_max = settings.getfloat("CRAWLER_RETRY_AFTER_MAX", 300.0)
        return middleware

    def pause(self, request: Request, response: Response | None = None) -> float:
        """Seconds to wait before retrying ``request``."""
        if response is not None and response.status in (429, 503):
            wait = retry_after(response.headers.get(b"Retry-After"))
            if wait is not None:
                return float(min(wait, self.retry_after_max))
        tries = int(request.meta.get("retry_times", 0))
        return float(min(self.backoff * 2**tries, self.backoff_max))

    async def process_response(self, request: Request, response: Response) -> Request | Response:  # type: ignore[override]
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        wait = self.pause(request, response)
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        self.crawler.stats.inc_value("crawler/retry/paused_seconds", round(wait, 3))
        await asyncio.sleep(wait)
        return retry

    async def process_exception(self, request: Request, exception: Exception) -> Request | None:  # type: ignore[override]
        if not isinstance(exception, self.exceptions_to_retry) or request.meta.get(
            "dont_retry", False
        ):
            return None
        wait = self.pause(request)
        retry = self._retry(request, exception)
        if retry is not None:
            await asyncio.sleep(wait)
        return retry


def retry_after(value: bytes | None) -> float | None:
    """``Retry-After`` in seconds: delta-seconds or an HTTP date; ``None`` if absent or unreadable."""
    if not value:
        return None
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class RobotsTxtMiddleware(scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, with every request that waits for robots.txt checked.

    In Scrapy 2.19 the requests to a host that arrive while its robots.txt is
    being fetched all wait on one Deferred; the first waiter's conversion to a
    future consumes the result, so the later ones get ``None`` and go out
    unchecked (tests/test_robots_concurrency.py shows it). Here each waiter gets
    its own Deferred, fired with the parser and passing it on.
    """

    async def robot_parser(self, request: Request) -> Any:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(pending, Deferred):
            waiter: Deferred[Any] = Deferred()

            def share(result: Any) -> Any:
                waiter.callback(result)
                return result

            pending.addBoth(share)
            return await maybe_deferred_to_future(waiter)
        return await super().robot_parser(request)
