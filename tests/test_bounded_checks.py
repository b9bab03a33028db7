"""validate and compact with memory bounded by a partition (issue 14): same answers.

``validate`` spills every row's key to bucket files on disk instead of a Python
dict, and checks the row index by per-file sums; ``compact`` reads only the chosen
partitions and, through the row index, the files that share a key with them. These
tests hold the results to what the whole-archive computation gives.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from bench.synthetic import build_archive
from crawler.archive import ArchiveWriter, read_table
from crawler.archive import checking as checking_module
from crawler.archive import compaction as compact_module
from crawler.archive.catalog import rebuild
from crawler.archive.checking import archive_files, validate
from crawler.archive.compaction import compact
from crawler.archive.layout import index_path
from crawler.cli import main


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(
        tmp_path_factory.mktemp("bounded") / "archive", 300, runs=3, flush_rows=40, days=120
    )


@pytest.fixture
def archive(built: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(built, tmp_path / "archive"))


def dated(root: Path) -> list[dict[str, Any]]:
    return [r for r in read_table(root).to_pylist() if r["published_at"]]


def month_of(row: dict[str, Any]) -> str:
    return f"{row['published_at']:%Y-%m}"


def moved(row: dict[str, Any], published: Any, run: str) -> dict[str, Any]:
    """Another row of the same article: published then, fetched a day later."""
    return {
        **row,
        "published_at": published,
        "fetched_at": row["fetched_at"] + timedelta(days=1),
        "crawl_run": run,
        "title": f"{run}: {row['title']}",
    }


def rows_by_key(root: Path) -> dict[str, list[tuple[str, str]]]:
    """Each url_key's rows as (month, title), sorted: what compaction left."""
    out: dict[str, list[tuple[str, str]]] = {}
    for row in read_table(root).to_pylist():
        when = month_of(row) if row["published_at"] else "unknown"
        out.setdefault(row["url_key"], []).append((when, row["title"]))
    return {key: sorted(rows) for key, rows in out.items()}


def two_month_articles(root: Path) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    """Article A: older row in month M, newer in another month N of its site. Article B:
    older in N, newer in M. Returns (A's newer row, B's newer row, M, N)."""
    rows = dated(root)
    a = rows[0]
    b = next(r for r in rows if r["site"] == a["site"] and month_of(r) != month_of(a))
    newer_a = moved(a, b["published_at"], "20990101T000000Z-a")
    newer_b = moved(b, a["published_at"], "20990101T000000Z-b")
    for record in (newer_a, newer_b):
        with ArchiveWriter(root, record["crawl_run"]) as writer:
            writer.add(record)
    return newer_a, newer_b, month_of(a), month_of(b)


# -- compact --------------------------------------------------------------------------


def test_month_compaction_weighs_rows_of_the_same_article_in_other_months(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = Path(shutil.copytree(archive, archive.with_name("whole")))
    newer_a, newer_b, first, second = two_month_articles(archive)
    two_month_articles(whole)
    rebuild(archive)  # an index that covers every file
    assert main(["compact", "--archive", str(archive), "--month", first]) == 0
    capsys.readouterr()
    left = rows_by_key(archive)
    # A's older row (in `first`) lost to its newer row in `second`, which is untouched.
    assert left[newer_a["url_key"]] == [(second, newer_a["title"])]
    # B's newer row (in `first`) is kept; its older row waits in `second`.
    assert (first, newer_b["title"]) in left[newer_b["url_key"]]
    assert len(left[newer_b["url_key"]]) == 2
    notes = validate(archive).notes
    assert [n.kind for n in notes] == ["older_rows"] and newer_b["url_key"] in notes[0].detail
    # The other month next: the archive is then what one whole compaction makes.
    assert main(["compact", "--archive", str(archive), "--month", second]) == 0
    compact(whole, months=[compact_module.parse_month(m) for m in (first, second)])
    assert rows_by_key(archive) == rows_by_key(whole)
    assert rows_by_key(archive)[newer_b["url_key"]] == [(first, newer_b["title"])]


@pytest.mark.parametrize("index", ["missing", "stale", "unreadable"])
def test_month_compaction_is_right_whatever_the_index(
    archive: Path, index: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compact_module, "INDEX_BATCH", 2)  # a key's rows span batches
    if index == "stale":
        rebuild(archive)  # built before the newer rows are written: they are not in it
    newer_a, newer_b, first, _second = two_month_articles(archive)
    if index == "unreadable":
        index_path(archive).parent.mkdir(exist_ok=True)
        index_path(archive).write_bytes(b"not parquet")
    compact(archive, months=[compact_module.parse_month(first)])
    left = rows_by_key(archive)
    assert left[newer_a["url_key"]] == [(month_of(newer_a), newer_a["title"])]
    assert (first, newer_b["title"]) in left[newer_b["url_key"]]


def test_small_batches_decide_as_one_whole_pass(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Partitions compacted one per batch: a later batch finds an article's other rows
    in partitions already rewritten (their files renamed) and decides as one pass does."""
    one_pass = Path(shutil.copytree(archive, archive.with_name("one-pass")))
    for root in (archive, one_pass):
        two_month_articles(root)
        rows = dated(root)
        # The same article copied, same fetch and run, into another month (a tie:
        # broken by the file's path, which compaction does not change across months).
        with ArchiveWriter(root, rows[5]["crawl_run"]) as writer:
            writer.add({**rows[5], "published_at": rows[5]["published_at"] + timedelta(days=40)})
        shutil.copy(
            next((root / "articles").rglob("*.parquet")),
            next((root / "articles").rglob("*.parquet")).with_name("part-copy-1-00000.parquet"),
        )
    monkeypatch.setattr(compact_module, "DECIDE_ROWS", 1)
    monkeypatch.setattr(compact_module, "INDEX_BATCH", 3)
    small = compact(archive)
    monkeypatch.setattr(compact_module, "DECIDE_ROWS", 10**9)
    monkeypatch.setattr(compact_module, "SWAP_BATCH", 10**9)
    whole = compact(one_pass)
    assert rows_by_key(archive) == rows_by_key(one_pass)
    assert all(len(rows) == 1 for rows in rows_by_key(archive).values())
    assert read_table(archive).num_rows == 300
    assert small.as_dict()["rows_after"] == whole.as_dict()["rows_after"]
    assert small.untouched == whole.untouched


def test_month_compaction_reads_no_other_partition(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    newer_a, _newer_b, first, second = two_month_articles(archive)
    rebuild(archive)
    read: list[Path] = []
    real = compact_module.expected_rows

    def spy(files: list[Path]) -> Any:
        read.extend(files)
        return real(files)

    monkeypatch.setattr(compact_module, "expected_rows", spy)
    compact(archive, months=[compact_module.parse_month(first)])
    year, month = first.split("-")
    outside = {
        p.parent.relative_to(archive / "articles").as_posix()
        for p in read
        if f"year={year}/month={month}" not in p.as_posix()
    }
    # Only the partition holding the other rows of the month's articles is read.
    site = newer_a["site"]
    other_year, other_month = second.split("-")
    assert outside == {f"site={site}/year={other_year}/month={other_month}"}


# -- validate -------------------------------------------------------------------------


def old_repeated(root: Path) -> list[tuple[str, list[tuple[str, int, str, str]]]]:
    """Repeated keys as the Python dict of every key found them (the way before)."""
    keys: dict[str, list[tuple[str, int, str, str]]] = {}
    for path in archive_files(root):
        name = path.relative_to(root).as_posix()
        table = pq.read_table(path, columns=["url_key", "url", "crawl_run"]).to_pylist()
        for row, record in enumerate(table):
            if record["url_key"] is not None:
                keys.setdefault(record["url_key"], []).append(
                    (name, row, record["url"] or "", record["crawl_run"] or "")
                )
    return [(key, places) for key, places in keys.items() if len(places) > 1]


@pytest.mark.parametrize("small", [False, True])
def test_repeated_keys_are_reported_as_before(
    archive: Path, monkeypatch: pytest.MonkeyPatch, small: bool
) -> None:
    if small:  # keys spilled 7 rows at a time into 3 buckets: many keys share one
        monkeypatch.setattr(checking_module, "_KEYS_BATCH", 7)
        monkeypatch.setattr(checking_module, "KEY_BUCKETS", 3)
    two_month_articles(archive)
    victims = sorted((archive / "articles").rglob("*.parquet"))
    shutil.copy(victims[3], victims[3].with_name("part-copy-1-00000.parquet"))
    shutil.copy(victims[1], victims[1].with_name("part-copy-2-00000.parquet"))
    rows = read_table(archive).to_pylist()[:4]
    with ArchiveWriter(archive, "20990101T000000Z-later") as writer:
        for row in rows:
            writer.add({**row, "crawl_run": "20990101T000000Z-later"})
    report = validate(archive)
    expected = old_repeated(archive)
    got = [p for p in report.problems + report.notes if p.kind in ("duplicate", "older_rows")]
    assert len(got) == len(expected) > 0
    assert {p.kind for p in got} == {"duplicate", "older_rows"}
    # In the order the files were read, each with its places in that order.
    found = sorted(
        got, key=lambda p: [key for key, _ in expected].index(p.detail.split()[1].rstrip(":"))
    )
    for problem, (key, places) in zip(found, expected, strict=True):
        assert problem.detail.startswith(f"url_key {key}: {len(places)} rows")
        assert problem.file == places[0][0] and problem.url == places[0][2]
        assert problem.places == [f"{f} row {r} (run {run})" for f, r, _u, run in places]
    dups = [p for p in report.problems if p.kind == "duplicate"]
    notes = [p for p in report.notes if p.kind == "older_rows"]
    assert dups == [p for p in found if p.kind == "duplicate"]
    assert notes == [p for p in found if p.kind == "older_rows"]


def test_an_index_that_differs_is_counted_row_by_row(archive: Path) -> None:
    rebuild(archive)
    path = index_path(archive)
    table = pq.read_table(path)
    metadata = pq.read_metadata(path).metadata
    rows = table.to_pylist()
    # Two rows of one file trade keys (2 rows wrong on each side), one row is dropped.
    first = rows[0]["file"]
    a, b = [n for n, r in enumerate(rows) if r["file"] == first][:2]
    rows[a]["url_key"], rows[b]["url_key"] = rows[b]["url_key"], rows[a]["url_key"]
    dropped = next(n for n, r in enumerate(rows) if r["file"] != first)
    del rows[dropped]
    changed = table.from_pylist(rows, schema=table.schema)
    pq.write_table(changed.replace_schema_metadata(metadata), path)
    (problem,) = [p for p in validate(archive).problems if p.kind == "index"]
    assert "5 rows differ from the archive's files" in problem.detail
