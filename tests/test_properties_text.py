"""Property tests of the text rules: whatever the Unicode, cleaning never raises and
never lets a layout token through; normalising twice changes nothing; the byline
and date parsers never raise and give only timezone-aware dates.

Budget: the ``ci`` hypothesis profile of tests/conftest.py (a long run:
``HYPOTHESIS_PROFILE=long .venv/bin/pytest tests/test_properties_*.py``).
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import example, given
from hypothesis import strategies as st

from crawler.archive import normalise_record
from crawler.items import Article, Image
from crawler.pipelines import clean
from crawler.text.bylines import authors_from, parse_byline, split_byline, title_case
from crawler.text.captions import split_credit
from crawler.text.datelines import strip_dateline
from crawler.text.dates import (
    CHINA,
    VIETNAM,
    parse_chinese,
    parse_date,
    parse_dmy,
    parse_english,
    parse_iso,
)
from crawler.text.encoding import garbled
from crawler.text.layout import DEFAULT_RULES, blocks_from_flat_text, drop_layout_tokens
from crawler.text.normalise import _TRANSLATE, normalise, normalise_lines
from tests.support.strategies import (
    OFFSETS,
    articles,
    entity_text,
    hard_text,
    layout_tokens,
    short_text,
)

# Characters normalised text never holds (line feeds aside, in flattened text).
_GONE = frozenset(map(chr, _TRANSLATE))


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# -- normalise -------------------------------------------------------------------


@given(hard_text() | entity_text())
@example("&amp;amp;")  # entities decoded once left a new entity behind
@example("&&#108;t;")  # a decoded letter completes the entity before it
@example("&l\u200bt;")  # an invisible character hid an entity
@example("&&#x212a;opf;")  # a decoded KELVIN SIGN becomes K under NFC: &Kopf;
@example("left&#8203;centerrightdel")
@example("&#" + "0" * 5000 + "65;")  # html.unescape raised: int() refuses 4300+ digits
def test_normalise_is_idempotent_and_leaves_only_clean_text(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    assert not _GONE.intersection(once)  # no invisible, control, surrogate, odd space or break
    assert once == once.strip() and "  " not in once
    assert unicodedata.is_normalized("NFC", once)
    assert _utf8(once)


@given(hard_text() | entity_text())
@example("a&#13;&#10;b\r\nc")
def test_normalise_lines_is_idempotent_and_keeps_lines(text: str) -> None:
    once = normalise_lines(text)
    assert normalise_lines(once) == once
    assert not (_GONE - {"\n"}).intersection(once)
    assert all(line == line.strip() and "  " not in line for line in once.split("\n"))
    assert unicodedata.is_normalized("NFC", once)


# -- layout tokens and the whole cleaning ---------------------------------------------


def _no_token(text: str | None) -> bool:
    return text is None or DEFAULT_RULES.token.search(text) is None


def _texts(article: Article) -> list[tuple[str, str | None]]:
    """Every text column of the record the article will become, by name."""
    fields: list[tuple[str, str | None]] = [
        ("title", article.title),
        ("summary", article.summary),
        ("section", article.section),
        ("published_raw", article.published_raw),
        ("byline", article.byline),
    ]
    fields += [("tags", tag) for tag in article.tags]
    fields += [("authors", name) for name in article.authors]
    fields += [("body", paragraph) for paragraph in article.paragraphs]
    for image in article.images:
        fields += [("images.caption", image.caption), ("images.credit", image.credit)]
    return fields


@given(articles())
@example(
    Article(
        url="https://www.qdnd.vn/tin/1",
        site="qdnd.vn",
        spider="qdnd",
        language="vi",
        # Removing the glued token left the spaced one whole.
        title="leftleftcenterrightdel center right del",
        summary="left center right delleftcenterrightdel",
        blocks=[
            "leftcenterrightdelleft center right del tail",
            Image(caption="leftleftcenterrightdel center right del"),
        ],
        # Fields the token step did not look at.
        section="leftcenterrightdel",
        tags=["LeftCenterRightDel"],
        byline="Tin: leftcenterrightdel SƠN BÌNH",
        published_raw="left center right del 22/07/2022",
    )
)
def test_cleaning_never_raises_and_no_layout_token_survives(article: Article) -> None:
    clean(article)
    for name, text in _texts(article):
        assert _no_token(text), (name, text)
        assert text is None or _utf8(text), name
    # Every single-line field is in normal form: cleaning did not un-normalise it.
    for name, text in _texts(article):
        if text is not None and name != "body":
            assert normalise(text) == text, (name, text)
    assert all(normalise(p) == p and p for p in article.paragraphs)
    # And the archive takes what cleaning leaves.
    article.fetched_at = datetime(2024, 1, 1, tzinfo=UTC)
    normalise_record(article.record())


@given(st.lists(st.one_of(short_text(), layout_tokens()), max_size=10).map("".join))
@example("leftcenterrightdelleft center right del")
@example("left center right delleftcenterrightdel")
def test_no_layout_token_survives_in_flat_text_or_blocks(text: str) -> None:
    text = normalise_lines(text)
    blocks, _ = blocks_from_flat_text(text)
    assert all(_no_token(b if isinstance(b, str) else b.caption) for b in blocks)
    paragraphs = [line for line in text.split("\n") if line]
    blocks, _ = drop_layout_tokens([*paragraphs, Image(caption=text.replace("\n", " "))])
    assert all(_no_token(b if isinstance(b, str) else b.caption) for b in blocks)


@given(hard_text())
def test_text_without_tokens_is_not_changed_by_the_layout_step(text: str) -> None:
    text = normalise_lines(text)
    if not _no_token(text):
        return
    blocks, count = blocks_from_flat_text(text)
    assert count == 0
    assert blocks == [line for line in text.split("\n") if line]


# -- bylines, captions, datelines, encoding --------------------------------------------


@given(hard_text(max_pieces=6))
@example("LEFT. CENTER RIGHT DEL")
@example("A ;QĐND - Sáng 22-7, tại Hà Nội")  # a byline of no author: the paragraph left the body
def test_byline_rules_never_raise(text: str) -> None:
    for line in (text, normalise(text)):
        authors = parse_byline(line)
        assert authors is None or (authors and all(a and a == a.strip() for a in authors))
        assert all(isinstance(a, str) for a in authors_from(line))
        title_case(line)
        paragraphs = ["Đoạn đầu.", line]
        rest, byline, found = split_byline(paragraphs)
        if byline is None:
            assert rest == paragraphs and found == []
        else:
            assert rest == paragraphs[:1] and byline == line and found == authors


@given(hard_text(max_pieces=6))
def test_caption_dateline_and_encoding_rules_never_raise(text: str) -> None:
    caption, credit = split_credit(text)
    assert caption is None or caption
    assert credit is None or credit
    assert text.endswith(strip_dateline(text))
    garbled(text)


# -- dates --------------------------------------------------------------------------

_DATE_PIECES = st.sampled_from(
    [
        "/", "-", ".", ":", " ", ", ", "T", "Z", "+07:00", "-05:00", "h", "g", "年", "月", "日",
        "时", "：", "AM", "pm", "June", "Sept", "may", "(GMT+7)", "0001", "9999", "0000", "1",
        "12", "31", "60", "99", "2024", "\u0663",
    ]
)  # fmt: skip
_ZONES = st.one_of(st.sampled_from([VIETNAM, CHINA, UTC]), OFFSETS)


@given(st.lists(st.one_of(_DATE_PIECES, st.text(max_size=4)), max_size=14).map("".join), _ZONES)
@example("01/01/0001", VIETNAM)  # the CMS's "no date": before year 1 in UTC
@example("0001-01-01", VIETNAM)
@example("January 1, 0001", VIETNAM)
@example("0001年1月1日", CHINA)
@example("31/12/9999 23:59", timezone(timedelta(hours=-5)))  # after year 9999 in UTC
@example("9999-12-31T23:59-05:00", VIETNAM)
def test_date_parsers_never_raise_and_give_aware_utc(text: str, tz: timezone) -> None:
    for parse in (parse_date, parse_dmy, parse_iso, parse_english, parse_chinese):
        value = parse(text, tz)
        if value is not None:
            assert value.tzinfo is not None and value.utcoffset() == timedelta(0), parse
            # A parsed date is always one the archive can store.
            normalise_record({**_RECORD, "published_at": value})


_RECORD = {
    "url": "u",
    "url_key": "k",
    "site": "s",
    "spider": "x",
    "language": "vi",
    "title": "t",
    "body": "b",
    "images": [],
    "authors": [],
    "tags": [],
    "fetched_at": datetime(2024, 1, 1, tzinfo=UTC),
    "crawl_run": "r",
    "content_hash": "h",
    "parser_version": "1",
}
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")  # fmt: skip


def _printed(moment: datetime, style: int) -> str:
    d, m, y, hh, mm = moment.day, moment.month, moment.year, moment.hour, moment.minute
    return [
        f"{d:02d}/{m:02d}/{y:04d} - {hh:02d}:{mm:02d}",
        f"{d}/{m}/{y:04d} {hh}:{mm:02d}",
        f"{hh:02d}:{mm:02d} {d:02d}-{m:02d}-{y:04d}",
        f"{y:04d}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:00",
        f"Tuesday, {_MONTHS[m - 1]} {d}, {y:04d}, {hh:02d}:{mm:02d} (GMT+7)",
        f"{d} {_MONTHS[m - 1][:3]} {y:04d} {hh:02d}:{mm:02d}",
        f"{y:04d}年{m:02d}月{d:02d}日 {hh:02d}:{mm:02d}",
    ][style]


@given(
    st.one_of(
        st.datetimes(max_value=datetime(9999, 12, 31, 23, 59)),
        # The first and last day a datetime holds: in UTC they may fall outside it.
        st.datetimes(max_value=datetime(1, 1, 1, 23, 59)),
        st.datetimes(min_value=datetime(9999, 12, 31)),
    ),
    st.integers(0, 6),
    _ZONES,
)
def test_a_printed_date_parses_to_its_instant(local: datetime, style: int, tz: timezone) -> None:
    local = local.replace(second=0, microsecond=0, tzinfo=tz)
    try:
        expected: datetime | None = local.astimezone(UTC)
    except OverflowError:
        expected = None  # outside what a datetime can hold in UTC: no date rather than a crash
    assert parse_date(_printed(local, style), tz) == expected
