"""End to end: the qdnd spider crawls the replica through Scrapy's engine over
loopback, and the Parquet archive is checked article by article against the
replica's manifest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import pytest_twisted
from scrapy.crawler import Crawler
from support import sitecheck
from twisted.internet import defer

from crawler.archive import read_table
from crawler.archive.schema import SCHEMA_VERSION_KEY
from crawler.items import sha256_hex
from crawler.mirror.replica import manifest as replica_manifest
from crawler.mirror.server import MirrorServer
from crawler.sites.qdnd import QdndSpider

HOST = "www.qdnd.vn"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return replica_manifest("qdnd.vn")


async def crawl(server: MirrorServer, out: Path, **spider_args: Any) -> Crawler:
    return await sitecheck.crawl(server, out, QdndSpider, **spider_args)


@pytest.fixture(scope="module")
def full_crawl(
    mirror: MirrorServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Crawler, Path]:
    out = tmp_path_factory.mktemp("archive")
    crawler: Crawler = pytest_twisted.blockon(defer.ensureDeferred(crawl(mirror, out)))
    return crawler, out


def test_crawl_finishes_cleanly(full_crawl: tuple[Crawler, Path], mirror: MirrorServer) -> None:
    crawler, _ = full_crawl
    stats = crawler.stats.get_stats()
    assert stats["finish_reason"] == "finished"
    assert not stats.get("log_count/ERROR")
    assert stats["crawler/cookie_gate/answered"] >= 1
    assert (
        stats["crawler/gc/frozen_objects"] > 1000
    )  # crawler/crawling/gctuning.py ran at spider open
    assert mirror.requests_for(HOST, "/robots.txt", status=200) >= 1
    assert mirror.requests_for(HOST, "/quoc-phong-an-ninh/p/6", status=200) == 1  # paged to the end


def test_every_article_archived_once(
    full_crawl: tuple[Crawler, Path], manifest: dict[str, Any]
) -> None:
    _, out = full_crawl
    table = read_table(out)
    urls = table.column("url").to_pylist()
    assert sorted(urls) == sorted(a["url"] for a in manifest["articles"])
    assert len(set(table.column("url_key").to_pylist())) == table.num_rows
    for tracking in manifest["tracking_urls"]:  # the same article under a second URL
        assert urls.count(tracking["canonical"]) == 1
    assert not set(manifest["dead_urls"]) & set(urls)


def test_rows_match_the_replica_article_by_article(
    full_crawl: tuple[Crawler, Path], manifest: dict[str, Any]
) -> None:
    _, out = full_crawl
    rows = {row["url"]: row for row in read_table(out).to_pylist()}
    for expected in manifest["articles"]:
        row = rows[expected["url"]]
        assert row["url_key"] == sha256_hex(row["url"])
        assert row["site"] == "qdnd.vn"
        assert row["spider"] == "qdnd"
        assert row["language"] == "vi"
        assert row["article_id"] == expected["article_id"]
        assert row["section"] == expected["section"]
        assert row["title"] == expected["title"]
        assert row["summary"] == (expected["summary"] or None)
        assert row["published_raw"] == expected["published_raw"]
        assert row["published_at"].isoformat() == _utc(expected["published"])
        assert row["byline"] == expected["byline"]
        assert row["authors"]
        assert row["tags"] == expected["tags"]
        assert row["content_hash"] == sha256_hex(row["body"])
        # Images: all of them, in order, captions out of the body.
        assert len(row["images"]) == expected["image_count"]
        assert sum(1 for image in row["images"] if image["caption"]) == expected["caption_count"]
        for image in row["images"]:
            if image["caption"] and not _caption_is_also_body(expected):
                assert image["caption"] not in row["body"]
        # Nothing of the page furniture is left.
        for column in ("title", "summary", "body"):
            text = row[column] or ""
            assert "leftcenterrightdel" not in text.lower()
            assert "xem các tin, bài liên quan" not in text
            assert not text.rstrip().endswith("./.")
        assert row["byline"] not in row["body"].split("\n\n")


def _caption_is_also_body(expected: dict[str, Any]) -> bool:
    """04.html repeats its first paragraph as a caption: there, both places are right."""
    return expected.get("source_file", "").endswith("04.html")


def _utc(local_iso: str) -> str:
    from datetime import UTC, datetime

    return datetime.fromisoformat(local_iso).astimezone(UTC).isoformat()


def test_archive_files_are_partitioned_and_versioned(full_crawl: tuple[Crawler, Path]) -> None:
    _, out = full_crawl
    files = sorted((out / "articles").rglob("*.parquet"))
    assert files
    years = set()
    for path in files:
        site, year, month = path.parent.parts[-3:]
        assert site == "site=qdnd.vn"
        assert year.startswith("year=") and month.startswith("month=")
        years.add(year)
        assert pq.read_schema(path).metadata[SCHEMA_VERSION_KEY] == b"2"
    assert {"year=2022", "year=2025"} <= years
    assert not list((out / "articles").rglob(".*"))  # no temporary file left visible


@pytest_twisted.ensureDeferred
async def test_since_window_stops_paging(
    mirror: MirrorServer, manifest: dict[str, Any], tmp_path: Path
) -> None:
    mirror.reset_counts()
    crawler = await crawl(mirror, tmp_path, since="2025-01-16")
    rows = read_table(tmp_path).to_pylist()
    expected = {a["url"] for a in manifest["articles"] if a["published"] >= "2025-01-16"}
    assert {row["url"] for row in rows} == expected
    assert crawler.stats.get_value("crawler/window/articles_skipped", 0) > 0
    # The main listing has 6 pages; its old pages are never requested.
    assert mirror.requests_for(HOST, "/quoc-phong-an-ninh/p/6") == 0
