"""The generic parser's shortcuts (taken for speed) select exactly what the rules they
stand for select: marks in any case, byline elements, visible dates."""

from __future__ import annotations

from scrapy.http import HtmlResponse

from crawler.sites.parser import parse_html


def test_boilerplate_marks_read_alike_in_any_case() -> None:
    """Class words are matched case-sensitively in lower-cased ASCII marks, a shortcut
    that holds only while the word list is lower-case; upper-case and non-ASCII marks
    still read as the case-insensitive pattern reads them."""
    from lxml import etree

    from crawler.generic.extract import _BOILERPLATE, is_boilerplate

    assert _BOILERPLATE.pattern == _BOILERPLATE.pattern.lower()
    for marks, expected in [
        ("Share-Bar", True),
        ("SIDEBAR widget", True),
        ("article-body", False),
        ("ſhare-tools", True),  # long s: the same letter to a case-insensitive match
        ("Reklame cookie-Banner", True),
        ("shareholders", False),
        ("post_AUTHOR", True),
    ]:
        element = etree.Element("div", {"class": marks})
        assert is_boilerplate(element) is expected, marks
        assert (_BOILERPLATE.search(f"{marks} ") is not None) is expected, marks


def test_byline_elements_are_found_in_page_order_below_the_area_only() -> None:
    from crawler.generic.metadata import _byline_elements

    root = parse_html(
        HtmlResponse(
            url="https://example.com/a",
            body=b"""<html><head><meta class="author" content="x"></head><body>
            <div class="author-box" id="top"><span rel="author">A</span>
            <p itemprop="author">B</p><i id="main-author">C</i><b class="Byline">D</b>
            <em class="byline">E</em></div><meta itemprop="author" content="y"></body></html>""",
        )
    )
    found = [e.get("id") or e.text for e in _byline_elements(root)]
    assert found == ["top", "A", "B", "main-author", "E"]  # no meta; "Byline" is not "byline"
    area = next(root.iter("div"))
    assert [e.text for e in _byline_elements(area)] == ["A", "B", "C", "E"]  # not the area
    # What the XPath it replaced selects (the walk is lazy, the set the same).
    from lxml import etree

    xpath = etree.XPath(
        "descendant::*[@rel='author' or @itemprop='author' or contains(@class, 'byline')"
        " or contains(@class, 'author') or contains(@id, 'author')][not(self::meta)]"
    )
    for top in (root, area):
        assert list(_byline_elements(top)) == xpath(top)


def test_visible_dates_are_found_wherever_they_start() -> None:
    """The scan only tries positions where a date can start (a digit, a month's initial);
    every form is still found, in any case, and nothing else."""
    from crawler.generic.metadata import _VISIBLE_DATE

    text = (
        "x 2024年3月5日 12:30 y 16/01/2025 - 16:40 z 2019-11-18T17:56 w JAN. 5, 2019 at 9:05 PM "
        "v 7 sept 2018 u ſept 7, 2018 t 12:05 01.02.2020 s nothing 12345 here"
    )
    assert [m.group(0) for m in _VISIBLE_DATE.finditer(text)] == [
        "2024年3月5日 12:30",
        "16/01/2025 - 16:40",
        "2019-11-18T17:56",
        "JAN. 5, 2019 at 9:05 PM",
        "7 sept 2018",
        "ſept 7, 2018",
        "12:05 01.02.2020",
    ]
