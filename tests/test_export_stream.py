"""crawler export streams a partition at a time: the same rows, in the same order, in
every format, as one sort of the whole archive would give; and one flat Parquet file."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from bench.synthetic import build_archive
from crawler.archive import RECORD_COLUMNS, ArchiveWriter, read_table
from crawler.cli import main


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("stream") / "arc [x] 'q'"
    build_archive(root, 400, runs=2, flush_rows=70, days=120)
    rows = read_table(root).to_pylist()
    with ArchiveWriter(root, "20991231T000000Z-later") as writer:
        # a newer version of one article, published a month later (another partition)
        moved = {**rows[5], "title": "moved", "crawl_run": "20991231T000000Z-later"}
        if moved["published_at"] is not None:
            moved["published_at"] = moved["published_at"].replace(day=1, month=12, year=2030)
        moved["fetched_at"] = datetime(2099, 1, 1, tzinfo=UTC)
        writer.add(moved)
        writer.add({**rows[9], "title": "newer", "fetched_at": datetime(2099, 1, 1, tzinfo=UTC)})
    return root


def expected(root: Path) -> list[dict[str, object]]:
    """The newest row of each article, sorted as export promises, by pyarrow alone."""
    rows = read_table(root).to_pylist()
    newest: dict[str, dict[str, object]] = {}
    for row in rows:
        key = str(row["url_key"])
        old = newest.get(key)
        if old is None or (row["fetched_at"], row["crawl_run"]) > (
            old["fetched_at"],
            old["crawl_run"],
        ):
            newest[key] = row
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(
        newest.values(),
        key=lambda r: (r["site"], r["published_at"] or far, r["url_key"]),  # type: ignore[return-value]
    )


def test_jsonl_is_the_newest_rows_in_order(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--archive", str(archive)]) == 0
    out = capsys.readouterr().out
    got = [json.loads(line) for line in out.splitlines()]
    want = expected(archive)
    assert [r["url_key"] for r in got] == [r["url_key"] for r in want]
    titles = {r["title"] for r in got}
    assert "moved" in titles and "newer" in titles
    assert all(list(r) == list(RECORD_COLUMNS) for r in got)
    sample = next(r for r in want if r["published_at"] is not None)
    line = next(r for r in got if r["url_key"] == sample["url_key"])
    assert line["published_at"] == sample["published_at"].isoformat()  # type: ignore[attr-defined]
    assert line["images"] == sample["images"] and line["body"] == sample["body"]


def test_parquet_is_one_flat_file_with_the_same_rows(archive: Path, tmp_path: Path) -> None:
    target = tmp_path / "flat [1].parquet"
    assert (
        main(["export", "--archive", str(archive), "--format", "parquet", "-o", str(target)]) == 0
    )
    table = pq.read_table(target)
    assert table.column_names == list(RECORD_COLUMNS)
    want = expected(archive)
    assert table.column("url_key").to_pylist() == [r["url_key"] for r in want]
    assert table.to_pylist() == [{n: r[n] for n in RECORD_COLUMNS} for r in want]
    assert not list(tmp_path.glob(".*.tmp"))


def test_parquet_needs_a_file_and_all_versions_keeps_every_row(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--archive", str(archive), "--format", "parquet"]) == 2
    assert "-o FILE" in capsys.readouterr().err
    target = tmp_path / "all.parquet"
    argv = ["export", "--archive", str(archive), "--format", "parquet", "--all-versions"]
    assert main([*argv, "-o", str(target)]) == 0
    assert pq.read_metadata(target).num_rows == read_table(archive).num_rows


def test_csv_site_and_dates_filter_in_order(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import csv

    target = tmp_path / "one.csv"
    argv = ["export", "--archive", str(archive), "--format", "csv", "--site", "qdnd.vn"]
    assert main([*argv, "--since", "2023-02-01", "-o", str(target)]) == 0
    with target.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    cut = datetime(2023, 2, 1, tzinfo=UTC)
    want = [
        r
        for r in expected(archive)
        if r["site"] == "qdnd.vn" and r["published_at"] is not None and r["published_at"] >= cut  # type: ignore[operator]
    ]
    assert [r["url_key"] for r in rows] == [r["url_key"] for r in want] and rows


def test_latest_view_is_the_newest_rows_with_and_without_filters(archive: Path) -> None:
    from crawler.archive.views import connect

    want = expected(archive)
    con = connect(archive)
    try:
        keys = [k for (k,) in con.execute("SELECT url_key FROM latest ORDER BY url_key").fetchall()]
        assert keys == sorted(str(r["url_key"]) for r in want)
        for site in ("qdnd.vn", "en.qdnd.vn"):  # a filter that prunes files keeps the rule
            got = con.execute(
                "SELECT url_key, title FROM latest WHERE site = ? ORDER BY url_key", [site]
            ).fetchall()
            assert got == sorted((r["url_key"], r["title"]) for r in want if r["site"] == site)
    finally:
        con.close()


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_runs_of_any_size_give_the_same_bytes(
    archive: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """Partitions are read in runs, two at a time: how they are cut changes nothing."""
    from crawler.archive import query

    outputs = []
    # a run per partition, runs of a few, one run; one run read in chunks of 7 rows
    for size, chunk in ((1, 8192), (60_000, 8192), (10**12, 8192), (10**12, 7)):
        monkeypatch.setattr(query, "RUN_BYTES", size)
        monkeypatch.setattr(query, "CHUNK_ROWS", chunk)
        assert main(["export", "--archive", str(archive), "--format", fmt]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] == outputs[2] == outputs[3]
    assert outputs[0].count("\n") >= len(expected(archive))


def test_output_to_a_named_pipe_is_written_in_place(archive: Path, tmp_path: Path) -> None:
    """-o on a device or a pipe (/dev/null, a FIFO) writes into it: no file is renamed
    over it (which, as root, would replace /dev/null itself)."""
    import os
    import stat
    import threading

    fifo = tmp_path / "out [p] 'q'.jsonl"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    assert main(["export", "--archive", str(archive), "-o", str(fifo)]) == 0
    reader.join(timeout=60)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    lines = got[0].decode("utf-8").splitlines()
    assert [json.loads(line)["url_key"] for line in lines] == [
        r["url_key"] for r in expected(archive)
    ]
    assert not list(tmp_path.glob(".*.tmp"))


def test_parquet_in_chunks_has_the_same_rows(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A partition too large to sort at once is read in chunks, in the same order."""
    from crawler.archive import query

    monkeypatch.setattr(query, "CHUNK_ROWS", 5)
    target = tmp_path / "chunks.parquet"
    argv = ["export", "--archive", str(archive), "--format", "parquet", "-o", str(target)]
    assert main(argv) == 0
    want = expected(archive)
    assert pq.read_table(target).to_pylist() == [{n: r[n] for n in RECORD_COLUMNS} for r in want]
