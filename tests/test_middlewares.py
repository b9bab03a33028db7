"""The project's downloader middlewares, one behaviour at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawler.crawling.middlewares import CookieGateMiddleware, retry_after
from crawler.urls import canonical_url

URL = "https://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/bai-812345"


def gate() -> CookieGateMiddleware:
    crawler = get_crawler()
    crawler.stats.open_spider()
    return CookieGateMiddleware.from_crawler(crawler)


def redirect(location: str, cookie: bool = True) -> Response:
    headers = {"Location": location, **({"Set-Cookie": "muid_mly=1; Path=/"} if cookie else {})}
    return Response(URL, status=302, headers=headers)


def test_cookie_gate_resends_the_same_url_past_the_duplicate_filter() -> None:
    request = Request(URL)
    again = gate().process_response(request, redirect(URL))
    assert isinstance(again, Request) and again.url == URL and again.dont_filter


@pytest.mark.parametrize(
    "response",
    [
        redirect(
            "https://evil.example/phish"
        ),  # another host: the redirect middleware and the offsite filter decide
        redirect(URL + "-other"),
        redirect(URL, cookie=False),  # a plain redirect to itself is a loop, not a gate
        Response(URL, status=200),
    ],
)
def test_cookie_gate_leaves_everything_else_alone(response: Response) -> None:
    request = Request(URL)
    assert gate().process_response(request, response) is response


def test_cookie_gate_gives_up() -> None:
    request = Request(URL, meta={"cookie_gate_tries": 2})
    with pytest.raises(IgnoreRequest, match="still redirected"):
        gate().process_response(request, redirect(URL))


def test_retry_after_values() -> None:
    assert retry_after(b"120") == 120.0
    later = datetime.now(UTC) + timedelta(seconds=30)
    assert 25 <= (retry_after(format_datetime(later, usegmt=True).encode()) or 0) <= 31
    assert retry_after(b"soon") is None
    assert retry_after(None) is None


@pytest.mark.parametrize(
    "variant",
    [
        "https://qdnd.vn/quoc-phong-an-ninh/tin-tuc/bai-812345",
        "http://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/bai-812345/",
        "https://WWW.QDND.VN/quoc-phong-an-ninh/tin-tuc/bai-812345?utm_source=fb&utm_medium=social",
        "https://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/bai-812345#comments",
        "https://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/bai-812345?fbclid=abc",
    ],
)
def test_one_article_one_url(variant: str) -> None:
    assert canonical_url(variant, "www.qdnd.vn") == URL
