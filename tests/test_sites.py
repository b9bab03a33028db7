"""One test over every spider (the Fundus way): fixtures that match, a replica, and an
end-to-end crawl of the replica that archives exactly its articles.

A spider added without these fails here, with a message that says what to add.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from scrapy.spiderloader import SpiderLoader
from support import sitecheck

from crawler.archive import read_table
from crawler.crawling.runner import project_settings
from crawler.kit.fixtures import expected_record, fixture_page
from crawler.mirror.server import SITES_ROOT, MirrorServer

FIXTURES = Path(__file__).parent / "fixtures"
LOADER = SpiderLoader.from_settings(project_settings())
# Site spiders: each archives one site. The generic spider has no site of its own
# (tests/test_generic_spider.py crawls every replica with it).
SPIDERS = sorted(name for name in LOADER.list() if LOADER.load(name).site)
MIN_FIXTURES = 5
MIN_ARTICLES = 10


def replica_manifest(spider: str) -> dict[str, Any]:
    site = LOADER.load(spider).site
    path = SITES_ROOT / site / "manifest.json"
    assert path.is_file(), (
        f"spider {spider!r} has no replica: add crawler/mirror/sites/{site}/ with site.json, "
        f"pages/ and manifest.json (see docs/adding-a-site.md)"
    )
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def fixture_cases() -> list[tuple[str, Path]]:
    return [
        (spider, case) for spider in SPIDERS for case in sorted((FIXTURES / spider).glob("*.json"))
    ]


@pytest.mark.parametrize("spider", SPIDERS)
def test_spider_has_fixtures(spider: str) -> None:
    cases = sorted((FIXTURES / spider).glob("*.json"))
    assert len(cases) >= MIN_FIXTURES, (
        f"spider {spider!r} has {len(cases)} fixtures in tests/fixtures/{spider}/; add at least "
        f"{MIN_FIXTURES}: crawler fixture {spider} PAGE.html --url URL (then review the JSON)"
    )
    for case in cases:
        assert fixture_page(case).is_file(), f"{case.name}: no {case.stem}.html, no replica_page"
    for page in (FIXTURES / spider).glob("*.html"):
        assert page.with_suffix(".json").is_file(), f"{page.name} has no expected {page.stem}.json"


@pytest.mark.parametrize("spider", SPIDERS)
def test_callbacks_return_no_value(spider: str) -> None:
    """Scrapy's per-response check is off (WARN_ON_GENERATOR_RETURN_VALUE, see settings.py):
    a generator callback that returns a value would lose it silently, so check here once."""
    from scrapy.utils.misc import is_generator_with_return_value

    cls = LOADER.load(spider)
    callbacks = [getattr(cls, name) for name in dir(cls) if name.startswith(("parse", "start"))]
    offending = [f.__name__ for f in callbacks if callable(f) and is_generator_with_return_value(f)]
    assert not offending, f"spider {spider!r}: generator callbacks that return a value: {offending}"


@pytest.mark.parametrize(("spider", "case"), fixture_cases(), ids=lambda v: getattr(v, "stem", v))
def test_fixture_matches(spider: str, case: Path) -> None:
    """Each case's page, its own or a replica's, parsed as the page it is."""
    expected = json.loads(case.read_text("utf-8"))
    version = expected["record"]["parser_version"]
    page = fixture_page(case).read_bytes()
    got = expected_record(LOADER.load(spider), page, expected["url"], version)
    assert got == expected["record"], (
        f"run: crawler fixture --refresh {spider}  to see the difference"
    )


@pytest.mark.parametrize("spider", SPIDERS)
def test_spider_has_a_replica(spider: str) -> None:
    articles = replica_manifest(spider)["articles"]
    assert len(articles) >= MIN_ARTICLES, (
        f"the replica of {spider!r} lists {len(articles)} articles in its manifest.json; "
        f"it needs at least {MIN_ARTICLES} article pages"
    )


@pytest.mark.parametrize("spider", SPIDERS)
@pytest_twisted.ensureDeferred
async def test_crawl_of_the_replica_archives_its_articles(spider: str, tmp_path: Path) -> None:
    spidercls = LOADER.load(spider)
    expected = {a["url"]: a for a in replica_manifest(spider)["articles"]}
    with MirrorServer() as server:
        crawler = await sitecheck.crawl(server, tmp_path, spidercls)
    stats = crawler.stats.get_stats()
    assert stats.get("finish_reason") == "finished"
    assert not stats.get("log_count/ERROR"), f"the crawl of {spider}'s replica logged errors"
    rows = read_table(tmp_path).to_pylist() if (tmp_path / "articles").exists() else []
    urls = [row["url"] for row in rows]
    assert len(urls) == len(set(urls)), "an article was archived twice"
    assert sorted(urls) == sorted(expected), "archived articles differ from the replica's manifest"
    for row in rows:
        article = expected[row["url"]]
        assert row["title"] == article["title"]
        assert row["spider"] == spider
        assert row["language"] == article.get("language", spidercls.language)
        assert len(row["images"]) == article["image_count"]
        assert sum(1 for image in row["images"] if image["caption"]) == article["caption_count"]
        assert row["byline"] == article["byline"]
        assert row["body"]
        published = article["published"]
        if published:
            assert row["published_at"] == datetime.fromisoformat(published).astimezone(UTC)
