"""Hostile and broken input over loopback: every fault provoked, the outcome asserted.

One crawl of the fault server (tests/support/faultserver.py) through Scrapy's engine;
docs/reliability.md lists each guarantee with the test that checks it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import pytest_twisted
from scrapy.crawler import Crawler, CrawlerRunner
from support.fault_spider import FaultSpider, TrapSpider
from support.faultserver import FaultServer
from twisted.internet import defer

from crawler.archive import read_table
from crawler.crawling.runner import project_settings

SETTINGS: dict[str, Any] = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "RETRY_TIMES": 2,
    "CRAWLER_RETRY_BACKOFF": 0.2,
    "DOWNLOAD_TIMEOUT": 1.5,
    "DOWNLOAD_MAXSIZE": 4 * 1024 * 1024,
    "DOWNLOAD_WARNSIZE": 2 * 1024 * 1024,
    "LOG_LEVEL": "WARNING",
    # The fault server listens on loopback, which the crawler otherwise refuses (netguard).
    "CRAWLER_ALLOW_PRIVATE_NETWORKS": "127.0.0.1/32",
}


@pytest.fixture(scope="module")
def faults() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


async def _crawl(server: FaultServer, out: Path) -> Crawler:
    runner = CrawlerRunner(project_settings({**SETTINGS, "CRAWLER_ARCHIVE_DIR": str(out)}))
    crawler = runner.create_crawler(FaultSpider)
    await runner.crawl(crawler, base=server.base)
    return crawler


@pytest.fixture(scope="module")
def run(
    faults: FaultServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Crawler, dict[str, dict[str, Any]], Path]:
    out = tmp_path_factory.mktemp("archive")
    crawler: Crawler = pytest_twisted.blockon(defer.ensureDeferred(_crawl(faults, out)))
    rows = {row["url"]: row for row in read_table(out).to_pylist()}
    return crawler, rows, out


def case_of(url: str) -> str:
    return url.rsplit("/", 1)[-1].rsplit("-", 1)[0]


def test_good_and_recovered_articles_are_archived_once(run: Any, faults: FaultServer) -> None:
    _, rows, _ = run
    archived = sorted(case_of(url) for url in rows)
    assert archived == sorted(
        ["ok", "retry503", "retry429", "truncated", "slow", "cp1258", "hostile"]
    )
    assert rows[faults.url("ok")]["body"].startswith(
        "Quân đội nhân dân"
    )  # the tracking-parameter copy: one row


def test_5xx_truncated_and_timeouts_are_retried_with_backoff(run: Any, faults: FaultServer) -> None:
    crawler, _, _ = run
    hits = faults.hits
    path = "/a/retry503-2"
    assert len(hits[path]) == 3
    assert hits[path][1] - hits[path][0] >= 0.2 and hits[path][2] - hits[path][1] >= 0.4  # doubled
    assert len(hits["/a/truncated-7"]) == 2
    assert len(hits["/a/slow-8"]) == 2
    assert crawler.stats.get_value("retry/count") >= 5


def test_retry_after_is_honoured(run: Any, faults: FaultServer) -> None:
    first, second = faults.hits["/a/retry429-3"]
    assert second - first >= 2.0


def test_resets_give_up_and_are_counted_as_errors(run: Any, faults: FaultServer) -> None:
    crawler, rows, _ = run
    assert len(faults.hits["/a/reset-6"]) == 3  # one try and two retries
    assert crawler.stats.get_value("retry/max_reached") >= 1
    assert crawler.stats.get_value("log_count/ERROR") >= 1
    # Counted where it happens too (crawler.crawling.failures), whatever LOG_LEVEL: reset, huge.
    assert crawler.stats.get_value("crawler/errors/download") == 2
    assert not any(case_of(url) == "reset" for url in rows)


def test_404_and_410_give_no_row_and_are_counted(run: Any) -> None:
    crawler, rows, _ = run
    stats = crawler.stats.get_stats()
    assert stats["httperror/response_ignored_status_count/404"] >= 1
    assert stats["httperror/response_ignored_status_count/410"] == 1
    assert not {"gone", "missing"} & {case_of(url) for url in rows}


def test_redirect_loops_offsite_and_file_redirects_are_not_followed(
    run: Any, faults: FaultServer
) -> None:
    crawler, _, _ = run
    stats = crawler.stats.get_stats()
    assert 1 < len(faults.hits["/a/loop-9"]) <= 6  # REDIRECT_MAX_TIMES = 5
    assert stats.get("offsite/filtered", 0) >= 1  # localhost is not 127.0.0.1
    assert "/etc/passwd" not in str(faults.hits)
    assert len(faults.hits["/a/ok-1"]) == 1  # the offsite redirect did not fetch it again


def test_oversized_pages_and_compression_bombs_are_refused(run: Any) -> None:
    crawler, rows, _ = run
    assert not {"huge", "bomb"} & {case_of(url) for url in rows}
    stats = crawler.stats.get_stats()
    cancelled = [
        k
        for k in stats
        if "maxsize" in k.lower() or "Cancelled" in k or "DecompressionMaxSize" in k
    ]
    assert cancelled or stats.get("downloader/exception_count", 0) >= 1


def test_character_sets(run: Any, faults: FaultServer) -> None:
    crawler, rows, _ = run
    assert rows[faults.url("cp1258")]["body"].startswith("Quân đội nhân dân Việt Nam")
    assert crawler.stats.get_value("crawler/validate/dropped/garbled_text") == 2  # liar, metaliar
    assert not {"liar", "metaliar"} & {case_of(url) for url in rows}


def test_empty_and_picture_only_pages_are_dropped_with_a_reason(run: Any) -> None:
    crawler, rows, _ = run
    stats = crawler.stats.get_stats()
    assert stats["crawler/validate/dropped/no_body"] >= 2  # picture, video
    assert (
        stats.get("crawler/validate/dropped/no_title", 0) + stats.get("crawler/extract/not_html", 0)
        >= 1
    )
    assert not {"empty", "picture", "video"} & {case_of(url) for url in rows}


def test_hostile_content_is_neutralised(run: Any, faults: FaultServer) -> None:
    _, rows, _ = run
    row = rows[faults.url("hostile")]
    assert row["title"] == "Hostile title"
    assert "alert" not in row["body"] and "secret" not in row["body"] and "color" not in row["body"]
    assert "\x01" not in row["body"] and "\x00" not in row["title"]
    assert row["body"].startswith("Text with control chars")
    assert len(row["body"]) > 1_000_000


def test_robots_txt_is_obeyed(run: Any, faults: FaultServer) -> None:
    crawler, _, _ = run
    assert "/a/private-99" not in faults.hits
    assert crawler.stats.get_value("robotstxt/forbidden") == 1


def test_every_visible_file_reads(run: Any) -> None:
    _, _, out = run
    for path in (out / "articles").rglob("*.parquet"):
        pq.read_table(path)


@pytest_twisted.ensureDeferred
async def test_endless_pagination_is_bounded(faults: FaultServer, tmp_path: Path) -> None:
    runner = CrawlerRunner(
        project_settings(
            {**SETTINGS, "CRAWLER_ARCHIVE_DIR": str(tmp_path), "CRAWLER_MAX_LISTING_PAGES": 5}
        )
    )
    crawler = runner.create_crawler(TrapSpider)
    await runner.crawl(crawler, base=faults.base)
    assert len(faults.hits["/trap"]) == 5
    assert crawler.stats.get_value("crawler/discovery/listing_page_limit") == 1
    assert read_table(tmp_path).num_rows == 15


def test_run_wide_page_limit_is_set() -> None:
    settings = project_settings()
    assert 0 < settings.getint("CLOSESPIDER_PAGECOUNT") <= 1_000_000
    assert settings.getint("CRAWLER_MAX_LISTING_PAGES") == 500


def test_politeness_and_security_settings() -> None:
    settings = project_settings()
    assert settings.getbool("ROBOTSTXT_OBEY")
    assert not settings.getbool("TELNETCONSOLE_ENABLED")
    assert not settings.getbool("REMOTE_CONTROL_ENABLED")  # an HTTP server that runs code
    assert settings.getdict("EXTENSIONS").get("scrapy.extensions.telnet.TelnetConsole", 0) is None
    handlers = settings.getdict("DOWNLOAD_HANDLERS")
    assert all(handlers.get(scheme, "") is None for scheme in ("file", "data", "ftp", "s3"))
    assert settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN") <= 4
    assert settings.getfloat("DOWNLOAD_DELAY") >= 0.5 and settings.getbool("AUTOTHROTTLE_ENABLED")
    assert settings.getint("DOWNLOAD_MAXSIZE") <= 64 * 1024 * 1024
    assert "defence-news-crawler" in settings.get("USER_AGENT")


def test_no_spider_sets_dont_filter() -> None:
    """dont_filter bypasses the offsite filter: only the cookie gate (same URL) may set it."""
    sources = Path(__file__).parent.parent / "crawler" / "sites"
    offenders = [p.name for p in sources.glob("*.py") if "dont_filter" in p.read_text("utf-8")]
    assert offenders == []
