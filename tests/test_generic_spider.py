"""The generic spider over each replica, as if it knew nothing of the site: it finds the
articles the site spider archives, and only article pages count as found."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from scrapy.http import Response
from support import sitecheck

from crawler.mirror.replica import replica_sites
from crawler.mirror.server import SITES_ROOT, MirrorServer
from crawler.sites.generic import GenericSpider, start_urls_of

SITES = replica_sites()  # those with articles


class Recording(GenericSpider):
    """Remembers which pages it took for articles."""

    found: set[str]

    def parse_article(self, response: Response) -> Iterator[Any]:
        if not hasattr(self, "found"):
            self.found = set()
        stats = self.crawler.stats
        before = stats.get_value("crawler/generic/articles_found", 0)
        yield from super().parse_article(response)
        if stats.get_value("crawler/generic/articles_found", 0) > before:
            self.found.add(self.canonical(response.url))


@pytest.mark.parametrize("site", SITES)
@pytest_twisted.ensureDeferred
async def test_the_generic_spider_finds_nine_in_ten_articles_of_each_replica(
    site: str, mirror: MirrorServer, tmp_path: Path
) -> None:
    info = json.loads((SITES_ROOT / site / "site.json").read_text("utf-8"))
    manifest = json.loads((SITES_ROOT / site / "manifest.json").read_text("utf-8"))
    home = manifest.get("home") or f"https://{info['hosts'][0]}/"
    crawler = await sitecheck.crawl(mirror, tmp_path, Recording, start=home)
    spider = crawler.spider
    assert isinstance(spider, Recording)
    expected = {spider.canonical(a["url"]) for a in manifest["articles"]}
    found = getattr(spider, "found", set())
    share = len(found & expected) / len(expected)
    assert share >= 0.9, sorted(expected - found)[:5]
    # Every page it took for an article is one (the replica lists dead and video pages too).
    assert found <= expected, sorted(found - expected)[:5]


def test_start_urls_are_checked() -> None:
    assert start_urls_of("https://a.vn/, https://b.vn/x") == ["https://a.vn/", "https://b.vn/x"]
    assert start_urls_of(["https://a.vn/", "https://c.vn/"]) == ["https://a.vn/", "https://c.vn/"]
    with pytest.raises(ValueError, match="not an http"):
        start_urls_of("ftp://a.vn/")
    spider = GenericSpider(start="https://www.a.vn/")
    assert spider.hosts == ["a.vn"]
    assert spider.is_article_url("https://a.vn/tin-tuc/x-1") and not spider.is_article_url(
        "https://b.vn/x"
    )
