"""Property tests of the archive writer: whatever the schema allows comes back exactly;
a row it cannot store is refused when it is added, alone, and never takes its batch
with it.

Budget: the ``ci`` hypothesis profile of tests/conftest.py (a long run:
``HYPOTHESIS_PROFILE=long .venv/bin/pytest tests/test_properties_*.py``).
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scrapy.exceptions import DropItem

from crawler.archive import ArchiveWriter, check_path_component, normalise_record, read_table
from crawler.items import Article, Image
from crawler.pipelines.archive import ParquetArchive
from tests.support.strategies import aware_datetimes

# Writing files is slower than checking text: fewer examples, same profile.
FEWER = settings(max_examples=max(10, settings().max_examples // 3))

# Any string UTF-8 can hold: NUL, controls, every plane; no lone surrogate.
TEXT = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=30),
    st.sampled_from(
        ["", "\x00", "a\x00b", "\u200b", "Quân đội", "中国军网", "𝕂", "</script>", "="]
    ),
    st.integers(5_000, 100_000).map(lambda n: "Việt\x00" * n),  # a long one
)
STRINGS = st.lists(TEXT, max_size=6)
_SITE_CHARS = st.characters(exclude_categories=("Cs", "Cc"), exclude_characters="/\\:=%")
SITES = st.one_of(
    st.sampled_from(["qdnd.vn", "quânđội.vn", "english.news.cn", "a b", "x" * 200, "[x]*?", "+"]),
    st.text(_SITE_CHARS, min_size=1, max_size=20).filter(
        lambda s: not s.startswith((".", "_")) and s.strip() == s
    ),
)


def _storable(moment: datetime) -> bool:
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return False
    return True


MOMENTS = aware_datetimes().filter(_storable)
IMAGES = st.lists(
    st.fixed_dictionaries(
        {},
        optional={"url": st.none() | TEXT, "caption": st.none() | TEXT, "credit": st.none() | TEXT},
    ),
    max_size=4,
)


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """A record the schema allows: any strings, lists of any length, any instant."""
    return {
        "url": draw(TEXT),
        "url_key": "",  # made unique by the test
        "site": draw(SITES),
        "spider": draw(TEXT),
        "article_id": draw(st.none() | TEXT),
        "language": draw(TEXT),
        "section": draw(st.none() | TEXT),
        "title": draw(TEXT),
        "summary": draw(st.none() | TEXT),
        "body": draw(TEXT),
        "images": draw(IMAGES),
        "byline": draw(st.none() | TEXT),
        "authors": draw(STRINGS),
        "tags": draw(STRINGS | STRINGS.map(tuple)),
        "published_at": draw(st.none() | MOMENTS),
        "published_raw": draw(st.none() | TEXT),
        "fetched_at": draw(MOMENTS),
        "crawl_run": draw(TEXT),
        "content_hash": draw(TEXT),
        "parser_version": draw(TEXT),
        "raw_ref": draw(st.none() | TEXT),
    }


_MINIMAL: dict[str, Any] = {
    "url": "https://qdnd.vn/a",
    "url_key": "",
    "site": "qdnd.vn",
    "spider": "qdnd",
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

# One change that makes a record unstorable, and what it breaks.
BAD_CHANGES: list[dict[str, Any]] = [
    {"published_at": datetime(2024, 1, 1)},  # naive: no instant
    {"fetched_at": datetime(2024, 1, 1)},
    {
        "published_at": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=7)))
    },  # before year 1 in UTC
    {"fetched_at": datetime.max.replace(tzinfo=timezone(timedelta(hours=-1)))},  # after 9999
    {"title": "lone \ud800 surrogate"},
    {"url": "https://x/\udcff"},
    {"site": "qd\udcffnd.vn"},
    {"spider": "\udfff"},
    {"authors": ["ok", "\ud83d"]},
    {"images": [{"caption": "\udc80"}]},
    {"title": 5},
    {"authors": "not a list"},
    {"tags": [None]},
    {"images": [{"url": 1}]},
    {"images": [{"href": "x"}]},
    {"images": ["x"]},
    {"body": None},
    {"extra_column": "x"},
    {"site": "../escape"},
    {"site": "a/b"},
    {"site": ".hidden"},
    {"site": "_x"},
    {"site": "a=b"},
    {"site": "a%2Fb"},
    {"site": "a\x00b"},
    {"site": "x" * 201},  # longer than a file name may be
    {"site": "đ" * 101},  # 202 bytes in UTF-8
    {"site": ""},
]


def _expected(record: dict[str, Any]) -> dict[str, Any]:
    return normalise_record(record)


def _read_back(root: Path) -> list[dict[str, Any]]:
    return sorted(read_table(root).to_pylist(), key=lambda row: row["url_key"])


@FEWER
@given(
    st.lists(records(), min_size=1, max_size=8),
    st.lists(st.tuples(st.integers(0, 8), st.sampled_from(BAD_CHANGES)), max_size=3),
    st.integers(1, 5),
)
@example(
    [_MINIMAL, _MINIMAL, _MINIMAL],
    [
        (0, {"title": "lone \ud800 surrogate"}),  # buffered, then failed every flush after it
        (1, {"site": "x" * 250}),  # a directory name too long: the same
        (2, {"published_at": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=7)))}),
    ],
    2,
)
def test_what_the_schema_allows_round_trips_and_a_bad_row_fails_alone(
    good: list[dict[str, Any]], bad: list[tuple[int, dict[str, Any]]], flush_rows: int
) -> None:
    good = [{**record, "url_key": f"{n:04d}"} for n, record in enumerate(good)]
    batch: list[tuple[dict[str, Any], bool]] = [(record, True) for record in good]
    for position, change in bad:
        broken = {**good[position % len(good)], **change, "url_key": f"bad{position}"}
        batch.insert(position % (len(batch) + 1), (broken, False))
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        writer = ArchiveWriter(root, "run-1", flush_rows)
        for record, storable in batch:
            before = writer.buffered + writer.rows_written
            if storable:
                writer.add(record)
            else:
                with pytest.raises((ValueError, TypeError)):
                    writer.add(record)
                assert writer.buffered + writer.rows_written == before  # nothing of it kept
        writer.close()
        assert writer.rows_written == len(good)
        assert _read_back(root) == [_expected(record) for record in good]


class _Stats:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def set_value(self, key: str, value: Any) -> None:
        self.values[key] = value

    def inc_value(self, key: str, count: int = 1) -> None:
        self.values[key] = self.values.get(key, 0) + count

    def get_value(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)


def _article(n: int, title: str, body: str, published: datetime | None) -> Article:
    return Article(
        url=f"https://qdnd.vn/tin/{n}",
        site="qdnd.vn",
        spider="qdnd",
        language="vi",
        title=title,
        blocks=[body, Image(url="https://qdnd.vn/a.jpg", caption=None, credit=None)],
        images=[Image(caption=title or None)],
        published_at=published,
    )


_UNARCHIVABLE: list[dict[str, Any]] = [
    {"title": "\ud800"},
    {"byline": "\udcff"},
    {"tags": ["\udfff"]},
    {"images": [Image(credit="\ud800")]},
    {"published_at": datetime(2024, 1, 1)},
    {"published_at": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=7)))},
    {"site": "x" * 300},
    {"site": "../x"},
    {"raw_ref": "\udc80"},
]


@FEWER
@given(
    st.lists(st.tuples(TEXT, TEXT, st.none() | MOMENTS), min_size=1, max_size=6),
    st.lists(st.tuples(st.integers(0, 6), st.sampled_from(_UNARCHIVABLE)), max_size=3),
    st.integers(1, 4),
)
def test_the_pipeline_drops_and_counts_an_unarchivable_article_and_keeps_its_batch(
    good: list[tuple[str, str, datetime | None]],
    bad: list[tuple[int, dict[str, Any]]],
    flush_rows: int,
) -> None:
    items = [(_article(n, *fields), True) for n, fields in enumerate(good)]
    for position, change in bad:
        article = _article(1000 + len(items), "t", "b", None)
        for name, value in change.items():
            setattr(article, name, value)
        items.insert(position % (len(items) + 1), (article, False))
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        stats = _Stats()
        pipeline = ParquetArchive(root, "run-1", flush_rows, stats)
        pipeline.open_spider()
        for article, storable in items:
            if storable:
                assert pipeline.process_item(article) is article
            else:
                with pytest.raises(DropItem, match="not archivable"):
                    pipeline.process_item(article)
        pipeline.close_spider()
        assert stats.get_value("crawler/archive/rejected", 0) == len(bad)
        rows = read_table(root).to_pylist()
        assert sorted(row["url"] for row in rows) == sorted(a.url for a, ok in items if ok)
        by_url = {row["url"]: row for row in rows}
        for article, ok in items:
            if ok:
                assert by_url[article.url] == {**_expected(article.record()), "site": "qdnd.vn"}


@given(SITES)
def test_every_site_the_writer_takes_is_a_safe_directory_name(site: str) -> None:
    check_path_component(site, "site")
    assert len(f"site={site}".encode()) <= 255
