"""A new site's parser: generic extraction until its selectors are filled, field by field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scrapy.http import HtmlResponse

from crawler.generic.parser import GenericParser
from crawler.generic.starter import StarterParser
from crawler.kit.fixtures import fixture_page
from crawler.pipelines import clean
from crawler.sites.qdnd import QdndSpider

CASE = Path(__file__).parent / "fixtures" / "qdnd" / "2022-701234.json"
EXPECTED = json.loads(CASE.read_text("utf-8"))["record"]


def parse(parser: type[StarterParser]) -> dict[str, Any]:
    response = HtmlResponse(EXPECTED["url"], body=fixture_page(CASE).read_bytes(), encoding="utf-8")
    return clean(parser(QdndSpider.description()).parse(response), check=True).record()


def test_with_no_selector_it_is_the_generic_parser() -> None:
    class New(StarterParser):
        pass

    response = HtmlResponse(EXPECTED["url"], body=fixture_page(CASE).read_bytes(), encoding="utf-8")
    generic = clean(GenericParser(QdndSpider.description()).parse(response), check=True).record()
    record = parse(New)
    for key in ("fetched_at", "crawl_run"):
        record.pop(key), generic.pop(key)
    assert record == generic
    assert record["parser_version"] == GenericParser.version


def test_a_filled_selector_takes_over_its_field_only() -> None:
    class Dated(StarterParser):
        date_css = "span.post-subinfo"
        summary_css = "h1.post-title"  # a selector wins even where it is wrong

    record, generic = parse(Dated), parse(StarterParser)
    assert record["published_at"].isoformat() == EXPECTED["published_at"]
    assert record["published_raw"] == EXPECTED["published_raw"]
    assert record["summary"] == EXPECTED["title"] != generic["summary"]
    assert record["body"] == generic["body"] and record["title"] == generic["title"]


def test_every_selector_filled_gives_the_site_parsers_record() -> None:
    class Full(StarterParser):
        title_css = "h1.post-title"
        summary_css = "div.post-summary"
        date_css = "span.post-subinfo"
        body_css = ('div.post-content div[itemprop="articleBody"]',)
        tags_css = ".post-tag a"

    record = parse(Full)
    for key in ("title", "summary", "body", "images", "published_raw", "tags", "byline", "authors"):
        assert record[key] == EXPECTED[key], key


def test_a_selector_that_finds_nothing_leaves_the_generic_answer() -> None:
    class Wrong(StarterParser):
        title_css = "h1.no-such-class"
        body_css = ("div.no-such-body",)

    record, generic = parse(Wrong), parse(StarterParser)
    assert record["title"] == generic["title"] != ""
    assert record["body"] == generic["body"] != ""
