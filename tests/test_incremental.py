"""Incremental crawling: the archive is the memory of what has been seen."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import pytest_twisted
from support import sitecheck

from crawler.archive import read_table
from crawler.mirror.replica import manifest as replica_manifest
from crawler.mirror.server import MirrorServer
from crawler.sites.qdnd import QdndSpider

HOST = "www.qdnd.vn"


@pytest.fixture(scope="module")
def articles() -> list[dict[str, Any]]:
    return list(replica_manifest("qdnd.vn")["articles"])


def article_fetches(server: MirrorServer, articles: list[dict[str, Any]]) -> int:
    return sum(server.requests_for(HOST, urlsplit(a["url"]).path, status=200) for a in articles)


@pytest_twisted.ensureDeferred
async def test_second_run_fetches_nothing_it_already_has(
    mirror: MirrorServer, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    mirror.reset_counts()
    await sitecheck.crawl(mirror, tmp_path, QdndSpider)
    assert article_fetches(mirror, articles) == len(articles)
    first_rows = read_table(tmp_path).num_rows

    mirror.reset_counts()
    crawler = await sitecheck.crawl(mirror, tmp_path, QdndSpider)
    stats = crawler.stats.get_stats()
    assert article_fetches(mirror, articles) == 0
    assert stats["crawler/incremental/known_in_archive"] == len(articles)
    assert stats["crawler/incremental/skipped_known"] >= len(articles)
    assert stats["crawler/incremental/listings_stopped"] >= 1
    # Paging stopped at the first page with nothing new.
    assert mirror.requests_for(HOST, "/quoc-phong-an-ninh/p/2") == 0
    assert read_table(tmp_path).num_rows == first_rows  # nothing archived twice


@pytest_twisted.ensureDeferred
async def test_a_new_article_is_found_and_only_it_is_fetched(
    mirror: MirrorServer, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    await sitecheck.crawl(mirror, tmp_path, QdndSpider)
    newest = max(articles, key=lambda a: a["published"])
    # Forget the newest article: the next run must fetch it, and nothing else.
    from crawler.archive import dataset

    table = read_table(tmp_path)
    keep = table.filter(table.column("url").to_numpy(zero_copy_only=False) != newest["url"])
    for path in (tmp_path / "articles").rglob("*.parquet"):
        path.unlink()
    from crawler.archive import ArchiveWriter

    with ArchiveWriter(tmp_path, "rewrite") as writer:
        for row in keep.to_pylist():
            writer.add(row)
    assert dataset(tmp_path).count_rows() == len(articles) - 1

    mirror.reset_counts()
    await sitecheck.crawl(mirror, tmp_path, QdndSpider)
    assert article_fetches(mirror, articles) == 1
    assert mirror.requests_for(HOST, urlsplit(newest["url"]).path, status=200) == 1
    assert read_table(tmp_path).num_rows == len(articles)


@pytest_twisted.ensureDeferred
async def test_refetch_fetches_known_articles_again(
    mirror: MirrorServer, articles: list[dict[str, Any]], tmp_path: Path
) -> None:
    await sitecheck.crawl(mirror, tmp_path, QdndSpider)
    mirror.reset_counts()
    await sitecheck.crawl(mirror, tmp_path, QdndSpider, settings={"CRAWLER_REFETCH": True})
    assert article_fetches(mirror, articles) == len(articles)
