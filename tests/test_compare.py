"""The body score shared by the benchmark, `crawler demo --generic` and the tests."""

from __future__ import annotations

import pytest

from crawler.generic.compare import body_f1, compare_crawls, comparison_table, score, shingles


def test_the_same_words_score_1_whatever_the_spacing_and_punctuation() -> None:
    assert body_f1("Một, hai ba bốn năm.\n\nSáu", "Một hai  ba bốn năm Sáu") == 1.0


def test_a_caption_in_the_body_costs_precision_not_recall() -> None:
    body = "The frigate left port on Monday for a week of drills at sea"
    found = score(body + " Photo: the frigate at its berth in Cam Ranh", body)
    assert found.recall == 1.0
    assert found.precision == pytest.approx(10 / 19)  # 10 shared shingles of 19
    assert body_f1(body + " Photo: the frigate at its berth", body) < 0.8


def test_a_lost_paragraph_costs_recall() -> None:
    first, second = "one two three four five six", "seven eight nine ten eleven twelve"
    found = score(first, first + "\n\n" + second)
    assert found.precision == 1.0
    assert found.recall == pytest.approx(3 / 9)


def test_order_matters_through_the_shingles() -> None:
    text = "alpha beta gamma delta epsilon zeta eta theta"
    shuffled = "epsilon zeta eta theta alpha beta gamma delta"
    assert body_f1(shuffled, text) < 0.8


def test_empty_and_short_texts() -> None:
    assert body_f1("", "") == 1.0
    assert body_f1("", "something expected here and more") == 0.0
    assert body_f1("extra words nobody expected", "") == 0.0
    assert shingles("hai ba") == {("hai", "ba"): 1}
    assert body_f1("中国 军网", "中国 军网") == 1.0


def test_two_crawls_are_compared_per_site_by_article_url() -> None:
    by_site = [
        {"url": "https://www.a.vn/x-1", "title": "Tàu  hộ vệ", "body": "one two three four five"},
        {"url": "https://www.a.vn/x-2", "title": "Hai", "body": "six seven eight nine ten"},
        {"url": "https://b.vn/y-1", "title": "B", "body": "alpha beta gamma delta"},
    ]
    by_generic = [
        {"url": "https://a.vn/x-1/", "title": "tàu hộ vệ", "body": "one two three four five"},
        {"url": "https://a.vn/x-9", "title": "Other", "body": "not in the site crawl"},
        {"url": "https://c.vn/z", "title": "C", "body": "a site the site spiders do not have"},
    ]
    a, b = compare_crawls(by_site, by_generic)
    assert (a.site, a.by_site, a.by_generic, a.both, a.titles_matching) == ("a.vn", 2, 2, 1, 1)
    assert a.found_share == 0.5 and a.title_share == 1.0 and a.median_body_f1 == 1.0
    assert (b.site, b.by_generic, b.both, b.median_body_f1, b.title_share) == (
        "b.vn",
        0,
        0,
        0.0,
        0.0,
    )
    table = comparison_table([a, b]).splitlines()
    assert table[1].split() == ["a.vn", "2", "2", "1", "50%", "100%", "1.000"]
