"""Downloader middleware that fetches every page from the local replica server.

Set ``CRAWLER_MIRROR_URL`` (e.g. ``http://127.0.0.1:8123``, the ``base_url`` of
a running ``MirrorServer``) and every http/https request of the crawl is
answered by the replica instead of the internet. Without the setting the
middleware switches itself off (``NotConfigured``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urlsplit

from scrapy.exceptions import NotConfigured

from crawler.mirror.server import HOST_HEADER, SCHEME_HEADER

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response

ORIGINAL_URL_META = "mirror_original_url"
"""Meta key of the replica request that names the real URL it stands for."""

MIRROR_FLAG = "mirror"
"""Response flag (shown in Scrapy's "Crawled (200) ... ['mirror']" log line)."""


class MirrorMiddleware:
    """Answer http/https requests from the replica server, under their real URLs.

    Why it fetches the page itself instead of returning a rewritten request:
    a ``Request`` returned from ``process_request`` goes back to the engine,
    which schedules it like a new one (``ExecutionEngine.crawl``): through the
    scheduler and then through *every* downloader middleware again, now
    carrying the ``127.0.0.1`` URL. The cookie middleware would then keep the
    replica's cookies under ``127.0.0.1`` instead of ``www.qdnd.vn``, robots.txt
    would be looked up on ``127.0.0.1``, the offsite filter would drop the
    request, and redirects would be built from the loopback URL. Changing the
    URL of the request in place would need Scrapy's private ``_set_url`` and
    would leave ``urlparse_cached`` answering with the old URL.

    So this middleware works like ``HttpCacheMiddleware`` (900), which serves
    responses from ``process_request``: placed at 950, after every built-in
    middleware, it sees the request exactly as it would go on the wire (with
    cookies, user agent, default headers added), sends a copy addressed to the
    replica (path and query of the real URL, the real host and scheme in
    ``X-Mirror-Host`` / ``X-Mirror-Scheme``, the real URL in
    ``meta["mirror_original_url"]``) straight to Scrapy's HTTP download
    handler, and returns the response relabelled with the real URL. Scrapy then
    runs every ``process_response`` with the original request: the cookie
    middleware stores the gate's ``Set-Cookie`` under the real domain, the
    redirect middleware follows a real ``Location`` (which comes back through
    here), and spiders, pipelines and records only ever see real URLs.

    Costs of the shortcut, acceptable on loopback: mirrored requests skip the
    downloader's per-domain slots, so ``DOWNLOAD_DELAY``, per-domain
    concurrency and AutoThrottle do not apply to them (``CONCURRENT_REQUESTS``
    still does), and the ``request_reached_downloader`` /
    ``response_downloaded`` signals are not sent for them.

    Every http/https host is routed to the replica, not only those it serves:
    a host without a replica gets a 404 from it, so a crawl with
    ``CRAWLER_MIRROR_URL`` set can never reach the internet. Requests already
    addressed to the replica itself pass untouched.
    """

    def __init__(self, crawler: Crawler, mirror_url: str) -> None:
        parts = urlsplit(mirror_url)
        # A bad value must fail loudly: NotConfigured here would quietly send
        # the crawl to the real sites.
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"CRAWLER_MIRROR_URL must be an http:// URL, got {mirror_url!r}")
        self.crawler = crawler
        self.mirror_url = f"http://{parts.netloc}{parts.path.rstrip('/')}"
        self._mirror_netloc = parts.netloc.lower()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> MirrorMiddleware:
        mirror_url = (crawler.settings.get("CRAWLER_MIRROR_URL") or "").strip()
        if not mirror_url:
            # No message: Scrapy would warn "Disabled …" in every live crawl's log.
            raise NotConfigured
        return cls(crawler, mirror_url)

    def should_mirror(self, request: Request) -> bool:
        """True for http/https requests not already addressed to the replica."""
        parts = urlsplit(request.url)
        return parts.scheme in {"http", "https"} and parts.netloc.lower() != self._mirror_netloc

    def mirror_request(self, request: Request) -> Request:
        """The copy of ``request`` that the replica server answers."""
        parts = urlsplit(request.url)
        url = self.mirror_url + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        headers = request.headers.copy()
        headers[HOST_HEADER] = parts.netloc.rpartition("@")[2]
        headers[SCHEME_HEADER] = parts.scheme
        mirrored: Request = request.replace(url=url, headers=headers, dont_filter=True)
        mirrored.meta[ORIGINAL_URL_META] = request.url
        return mirrored

    async def process_request(self, request: Request) -> Response | None:
        if not self.should_mirror(request):
            return None
        mirrored = self.mirror_request(request)
        handlers: Any = self.crawler.engine.downloader.handlers
        response: Response = await handlers.download_request_async(mirrored)
        if "download_latency" in mirrored.meta:
            request.meta["download_latency"] = mirrored.meta["download_latency"]
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("mirror/response_count")
            self.crawler.stats.inc_value(f"mirror/response_status_count/{response.status}")
        real: Response = response.replace(
            url=urldefrag(request.url)[0],
            request=request,
            flags=[*response.flags, MIRROR_FLAG],
        )
        return real
