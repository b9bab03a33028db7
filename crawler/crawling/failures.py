"""What went wrong in a crawl, counted from what happened, never from log lines.

Scrapy's ``log_count/ERROR`` only counts the records that pass ``LOG_LEVEL``
(with ``--log-level CRITICAL`` a crawl that lost articles counted none), and
counts every crawler's records in every crawler of the process (one failing
site of ``crawl-all`` marked all of them). So a run's verdict is taken from
the stats below instead, each counted by the component where the failure
happens, whatever the log shows.

A request that failed for good is also counted by kind (``DNS lookup failed``,
``connection refused``, ``HTTP 503`` …, :func:`failure_kind`), so that a run can
say why a site failed, and is logged in one line instead of Scrapy's traceback
per request (a site that does not resolve used to fill the log with hundreds of
lines of them).
"""

from __future__ import annotations

import logging
import ssl
from collections import Counter
from collections.abc import Mapping
from typing import Any, Self

from OpenSSL import SSL
from scrapy import Request, signals
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response
from twisted.internet import defer
from twisted.internet import error as tx
from twisted.web.client import ResponseFailed, ResponseNeverReceived
from twisted.web.http import PotentialDataLoss

from crawler.crawling.netguard import REFUSED_STAT, PrivateAddressRefused

logger = logging.getLogger(__name__)

DOWNLOAD_FAILED = "crawler/errors/download"
DOWNLOAD_KIND = DOWNLOAD_FAILED + "/"  # + the kind: the same requests, counted by kind
ITEM_FAILED = "crawler/errors/item"

ERROR_STATS = (
    "crawler/archive/rows_lost",  # articles that could not be written (disk full, I/O error)
    "crawler/archive/rejected",  # articles whose values the archive refused
    "crawler/raw/write_errors",  # WARC files that could not be made durable
    DOWNLOAD_FAILED,  # requests that failed for good: no response, or 5xx/429 after the retries
    ITEM_FAILED,  # exceptions in the item pipelines (other than dropping an item)
    "spider_exceptions/count",  # exceptions in spider callbacks (Scrapy's own count)
    REFUSED_STAT,  # requests to a host that is not a public address
)
"""Stats that each count failures; their sum is a run's number of errors."""

# How each of the other error stats is named among a run's kinds of failure.
_KIND_OF_STAT = {
    "crawler/archive/rows_lost": "articles not written",
    "crawler/archive/rejected": "articles refused by the archive",
    "crawler/raw/write_errors": "raw pages not written",
    ITEM_FAILED: "exception in a pipeline",
    REFUSED_STAT: "not a public address",
}

# The kinds of download failure, most specific first: an exception is of the first
# kind that it, its cause or one of its reasons (Twisted's ResponseFailed) is.
_KINDS: tuple[tuple[str, tuple[type[BaseException], ...]], ...] = (
    ("not a public address", (PrivateAddressRefused,)),
    ("DNS lookup failed", (CannotResolveHostError, tx.DNSLookupError)),
    (
        "connection refused",
        (DownloadConnectionRefusedError, tx.ConnectionRefusedError, ConnectionRefusedError),
    ),
    (
        "timeout",
        (
            DownloadTimeoutError,
            tx.TimeoutError,
            tx.TCPTimedOutError,
            defer.TimeoutError,
            TimeoutError,
        ),
    ),
    ("TLS error", (SSL.Error, ssl.SSLError, tx.SSLError)),
    ("no route to host", (tx.NoRouteError,)),
    ("incomplete response", (ResponseDataLossError, PotentialDataLoss)),
    (
        "connection lost",
        (
            tx.ConnectionLost,
            tx.ConnectionDone,
            ConnectionResetError,
            ConnectionAbortedError,
            BrokenPipeError,
        ),
    ),
    ("download cancelled", (DownloadCancelledError, defer.CancelledError)),
    ("connection failed", (tx.ConnectError,)),
    ("download failed", (DownloadFailedError, ResponseFailed, ResponseNeverReceived)),
)

LOGGED_PER_KIND = 10
"""Failed requests of one kind logged per spider; the rest are counted only."""


class DownloadFailed(IgnoreRequest):
    """A request that failed for good, already counted and logged in one line.

    An ``IgnoreRequest``, so that Scrapy logs no traceback for it (nor does the
    robots.txt middleware); spiders' errbacks see it with the original
    exception as its ``__cause__``.
    """


def _related(exception: BaseException) -> list[BaseException]:
    """The exception, its causes and contexts, and the reasons Twisted wraps."""
    found: list[BaseException] = []
    todo = [exception]
    while todo and len(found) < 32:
        current = todo.pop(0)
        if any(current is seen for seen in found):
            continue
        found.append(current)
        todo += [e for e in (current.__cause__, current.__context__) if e is not None]
        for reason in getattr(current, "reasons", None) or ():
            value = getattr(reason, "value", reason)
            if isinstance(value, BaseException):
                todo.append(value)
    return found


def failure_kind(exception: BaseException) -> str | None:
    """What kind of network failure ``exception`` is, or None for anything else (a bug)."""
    related = _related(exception)
    for kind, classes in _KINDS:
        if any(isinstance(e, classes) for e in related):
            return kind
    return None


def error_count(stats: Mapping[str, Any]) -> int:
    """Failures in a crawl's stats (0: nothing went wrong)."""
    return sum(int(stats.get(key, 0) or 0) for key in ERROR_STATS)


def _count(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def failure_kinds(stats: Mapping[str, Any]) -> dict[str, int]:
    """A crawl's errors by kind, most frequent first; the counts add up to ``error_count``."""
    kinds: Counter[str] = Counter()
    for key, value in stats.items():
        if key.startswith(DOWNLOAD_KIND):
            kinds[key.removeprefix(DOWNLOAD_KIND)] += _count(value)
    unnamed = _count(stats.get(DOWNLOAD_FAILED)) - sum(kinds.values())
    if unnamed > 0:  # counted where no kind was recorded (stats of an older run, say)
        kinds["download failed"] += unnamed
    for key, kind in _KIND_OF_STAT.items():
        kinds[kind] += _count(stats.get(key))
    spider = _count(stats.get("spider_exceptions/count"))
    for key, value in stats.items():
        if key.startswith("spider_exceptions/") and key != "spider_exceptions/count":
            kinds[f"spider exception {key.removeprefix('spider_exceptions/')}"] += _count(value)
            spider -= _count(value)
    if spider > 0:
        kinds["spider exception"] += spider
    ordered = sorted((kind for kind in kinds if kinds[kind] > 0), key=lambda k: (-kinds[k], k))
    return {kind: kinds[kind] for kind in ordered}


def describe(kinds: Mapping[str, int]) -> str:
    """``DNS lookup failed ×20, HTTP 503 ×12, connection refused``: one line for people."""
    return ", ".join(kind if count == 1 else f"{kind} ×{count}" for kind, count in kinds.items())


class CountFailures:
    """Downloader middleware, outermost: counts the requests that failed for good.

    Placed before every other downloader middleware, it sees an exception or a
    response only once the others are done with it: retries given up, redirects
    followed. It counts each by kind and logs it in one line (Scrapy's own
    "Gave up retrying" line is turned down to DEBUG in the settings), at most
    ``LOGGED_PER_KIND`` per kind and spider. It also counts exceptions raised by
    item pipelines (``item_error``).
    """

    def __init__(self, crawler: Any) -> None:
        self.stats = crawler.stats
        self.retry_codes = {int(code) for code in crawler.settings.getlist("RETRY_HTTP_CODES")}
        self.logged: Counter[str] = Counter()

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        middleware = cls(crawler)
        crawler.signals.connect(middleware.item_error, signal=signals.item_error)
        return middleware

    def failed(self, kind: str, request: Request, detail: str) -> None:
        self.stats.inc_value(DOWNLOAD_FAILED)
        self.stats.inc_value(DOWNLOAD_KIND + kind)
        self.logged[kind] += 1
        tries = int(request.meta.get("retry_times", 0)) + 1
        if self.logged[kind] <= LOGGED_PER_KIND:
            logger.error(
                "failed (%s): %s after %d %s: %s",
                kind,
                request,
                tries,
                "try" if tries == 1 else "tries",
                " ".join(detail.split())[:300],
            )
        elif self.logged[kind] == LOGGED_PER_KIND + 1:
            logger.error("failed (%s): more requests; counted from here on, not logged", kind)

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status in self.retry_codes:
            self.failed(f"HTTP {response.status}", request, f"status {response.status}")
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        if isinstance(exception, IgnoreRequest):
            return
        kind = failure_kind(exception)
        if kind is None:  # not the network's doing: Scrapy logs it with its traceback
            self.stats.inc_value(DOWNLOAD_FAILED)
            self.stats.inc_value(DOWNLOAD_KIND + type(exception).__name__)
            return
        self.failed(kind, request, str(exception) or type(exception).__name__)
        raise DownloadFailed(f"{kind}: {request.url}") from exception

    def item_error(self, *args: Any, **kwargs: Any) -> None:
        self.stats.inc_value(ITEM_FAILED)
