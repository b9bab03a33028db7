"""The generic parser as every site spider's fallback when its layout changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scrapy.http import HtmlResponse, Request
from scrapy.utils.test import get_crawler

from crawler.generic.compare import body_f1
from crawler.generic.parser import GenericParser
from crawler.kit.fixtures import fixture_page
from crawler.pipelines import clean
from crawler.runs.alarm import SiteHealth, check
from crawler.runs.config import Alarm
from crawler.runs.metrics import metrics_text
from crawler.sites.base import FALLBACK_STAT, missing_fields
from crawler.sites.qdnd import QdndSpider

CASE = Path(__file__).parent / "fixtures" / "qdnd" / "2025-812203.json"
FALLBACK = f"1+{GenericParser.version}"


def page(*renames: tuple[str, str]) -> tuple[HtmlResponse, dict[str, Any]]:
    """The replica page of the case, with its layout "changed" by ``renames``."""
    case = json.loads(CASE.read_text("utf-8"))
    text = fixture_page(CASE).read_text("utf-8")
    for old, new in renames:
        assert old in text
        text = text.replace(old, new)
    request = Request(case["url"])
    response = HtmlResponse(case["url"], body=text.encode(), encoding="utf-8", request=request)
    return response, case["record"]


def test_a_healthy_page_needs_no_fallback() -> None:
    response, expected = page()
    article, filled = QdndSpider().extract_with_fallback(response)
    assert filled == ()
    assert clean(article).record()["parser_version"] == "1"
    assert article.body == expected["body"]


def test_a_renamed_body_container_is_filled_by_the_generic_parser() -> None:
    response, expected = page(('itemprop="articleBody"', 'itemprop="articleText"'))
    assert QdndSpider.parser(QdndSpider.description()).parse(response).blocks == []
    article, filled = QdndSpider().extract_with_fallback(response)
    assert filled == ("body",)
    record = clean(article, check=True).record()
    assert record["parser_version"] == FALLBACK
    # Only the body was missing: the rest is still the site parser's.
    for key in ("title", "published_raw", "url", "site", "spider", "language", "tags"):
        assert record[key] == expected[key], key
    assert record["published_at"].isoformat() == expected["published_at"]
    assert body_f1(record["body"], expected["body"]) >= 0.95


def test_a_renamed_title_is_filled_and_the_site_body_kept() -> None:
    response, expected = page(('class="post-title"', 'class="article-heading"'))
    article, filled = QdndSpider().extract_with_fallback(response)
    assert filled == ("title",)
    record = clean(article, check=True).record()
    assert record["title"] == expected["title"]
    assert record["body"] == expected["body"]
    assert record["parser_version"] == FALLBACK


def test_nothing_found_by_either_leaves_the_site_version() -> None:
    response = HtmlResponse(
        "https://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/x-1", body=b"<html><body></body></html>"
    )
    article, filled = QdndSpider().extract_with_fallback(response)
    assert filled == ()
    assert missing_fields(article) == ("title", "body", "date")
    assert article.parser_version == "1"


def test_the_crawl_counts_the_fallback_per_field() -> None:
    crawler = get_crawler(QdndSpider)
    spider = QdndSpider.from_crawler(crawler)
    response, _ = page(('itemprop="articleBody"', 'itemprop="x"'))
    items = list(spider.parse_article(response))
    assert len(items) == 1 and items[0].parser_version == FALLBACK
    healthy, _ = page()
    list(spider.parse_article(healthy))
    assert crawler.stats.get_value(FALLBACK_STAT) == 1
    assert crawler.stats.get_value(f"{FALLBACK_STAT}/body") == 1
    assert crawler.stats.get_value(f"{FALLBACK_STAT}/title") is None


def health(archived: int, fallback: int) -> SiteHealth:
    return SiteHealth(
        parsed=archived, archived=archived, no_title=0, no_body=0, dated=archived,
        images=0, captioned=0, found=archived, fallback=fallback,
    )  # fmt: skip


def test_the_alarm_reports_the_share_that_needed_the_fallback() -> None:
    assert check(health(35, 3), Alarm(), []) == []  # 9%: a few odd pages
    problems = check(health(35, 35), Alarm(), [])
    assert problems == [
        "generic fallback: 100% (35 of 35) needed the generic parser for a title, body or "
        "date, above the maximum 10%"
    ]
    assert check(health(35, 35), Alarm(max_fallback=1.0), []) == []


def test_metrics_give_each_site_its_fallback_count() -> None:
    entry = {"status": "alarm", "alarm": ["generic fallback: …"], "articles_new": 35}
    manifest = {
        "run_id": "r",
        "start": "2026-01-01T00:00:00+00:00",
        "end": "2026-01-01T00:01:00+00:00",
        "status": "finished",
        "exit_status": 4,
        "sites": {
            "qdnd": {**entry, "generic_fallback": {"articles": 35, "title": 35}},
            "old": {**entry},  # a manifest from before the fallback: no sample
        },
    }
    text = metrics_text(manifest, [])
    assert 'crawler_site_generic_fallback{site="qdnd"} 35' in text
    assert 'crawler_site_generic_fallback{site="old"}' not in text
