"""Every spider against its saved pages: the record must match the reviewed JSON.

Fixtures live in ``tests/fixtures/<spider>/``: ``<case>.html`` (the page) and
``<case>.json`` (``{"url": …, "record": {…}}``, the expected record without the
per-run columns ``fetched_at`` and ``crawl_run``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from scrapy.http import HtmlResponse
from scrapy.spiderloader import SpiderLoader

from crawler.pipelines import clean
from crawler.runner import project_settings

FIXTURES = Path(__file__).parent / "fixtures"
PER_RUN = ("fetched_at", "crawl_run")
LOADER = SpiderLoader.from_settings(project_settings())
MIN_FIXTURES = 8


def record_of(spider_name: str, page: Path, url: str, version: str | None = None) -> dict[str, Any]:
    """The record the spider's parser (``version``, default the current one) makes of a page."""
    spidercls = LOADER.load(spider_name)
    parser = spidercls.parser_versions()[version] if version else spidercls.parser
    response = HtmlResponse(url=url, body=page.read_bytes(), encoding="utf-8")
    record = clean(parser(spidercls()).parse(response), check=True).record()
    for key in PER_RUN:
        record.pop(key)
    published = record["published_at"]
    record["published_at"] = published.isoformat() if published else None
    return record


def cases() -> list[tuple[str, Path]]:
    return [
        (spider, page)
        for spider in LOADER.list()
        for page in sorted((FIXTURES / spider).glob("*.html"))
    ]


@pytest.mark.parametrize("spider", LOADER.list())
def test_every_spider_has_fixtures(spider: str) -> None:
    pages = sorted((FIXTURES / spider).glob("*.html"))
    assert len(pages) >= MIN_FIXTURES, (
        f"spider {spider!r} has {len(pages)} fixtures in {FIXTURES / spider}; add at least "
        f"{MIN_FIXTURES} saved pages with their expected records (<case>.html + <case>.json)"
    )
    for page in pages:
        assert page.with_suffix(".json").is_file(), f"{page.name} has no expected {page.stem}.json"


@pytest.mark.parametrize(("spider", "page"), cases(), ids=lambda v: getattr(v, "name", v))
def test_fixture_matches(spider: str, page: Path) -> None:
    expected = json.loads(page.with_suffix(".json").read_text("utf-8"))
    got = record_of(spider, page, expected["url"], expected["record"]["parser_version"])
    assert got == expected["record"]
