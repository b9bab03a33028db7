"""What went wrong in a crawl, counted from what happened, never from log lines.

Scrapy's ``log_count/ERROR`` only counts the records that pass ``LOG_LEVEL``
(with ``--log-level CRITICAL`` a crawl that lost articles counted none), and
counts every crawler's records in every crawler of the process (one failing
site of ``crawl-all`` marked all of them). So a run's verdict is taken from
the stats below instead, each counted by the component where the failure
happens, whatever the log shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response

DOWNLOAD_FAILED = "crawler/errors/download"
ITEM_FAILED = "crawler/errors/item"

ERROR_STATS = (
    "crawler/archive/rows_lost",  # articles that could not be written (disk full, I/O error)
    "crawler/archive/rejected",  # articles whose values the archive refused
    "crawler/raw/write_errors",  # WARC files that could not be made durable
    DOWNLOAD_FAILED,  # requests that failed for good: no response, or 5xx/429 after the retries
    ITEM_FAILED,  # exceptions in the item pipelines (other than dropping an item)
    "spider_exceptions/count",  # exceptions in spider callbacks (Scrapy's own count)
    "crawler/private_address/refused",  # requests to a host that is not a public address
)
"""Stats that each count failures; their sum is a run's number of errors."""


def error_count(stats: Mapping[str, Any]) -> int:
    """Failures in a crawl's stats (0: nothing went wrong)."""
    return sum(int(stats.get(key, 0) or 0) for key in ERROR_STATS)


class CountFailures:
    """Downloader middleware, outermost: counts the requests that failed for good.

    Placed before every other downloader middleware, it sees an exception or a
    response only once the others are done with it: retries given up, redirects
    followed. It also counts exceptions raised by item pipelines (``item_error``).
    """

    def __init__(self, crawler: Any) -> None:
        self.stats = crawler.stats
        self.retry_codes = {int(code) for code in crawler.settings.getlist("RETRY_HTTP_CODES")}

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        middleware = cls(crawler)
        crawler.signals.connect(middleware.item_error, signal=signals.item_error)
        return middleware

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status in self.retry_codes:
            self.stats.inc_value(DOWNLOAD_FAILED)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        if not isinstance(exception, IgnoreRequest):
            self.stats.inc_value(DOWNLOAD_FAILED)

    def item_error(self, *args: Any, **kwargs: Any) -> None:
        self.stats.inc_value(ITEM_FAILED)
