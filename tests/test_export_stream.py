"""crawler export streams a partition at a time: the same rows, in the same order, in
every format, as one sort of the whole archive would give; and one flat Parquet file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from bench.synthetic import build_archive
from crawler.archive import RECORD_COLUMNS, ArchiveWriter, read_table
from crawler.archive.export_rows import Chunk
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
def test_chunks_of_any_size_give_the_same_bytes(
    archive: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    """Rows are read, formatted and written in chunks, here or by worker processes, or
    (a partition whose rows go back and forth between its files) sorted in runs spilled
    to disk and merged: how they are cut, who makes them and which way a partition goes
    change nothing."""
    from crawler.archive import export

    outputs = []
    for chunk, workers, inline, scattered, run, batch, ahead in (
        (10**6, 2, 10**9, 3, 4096, 128, 2),  # one chunk a partition, made here
        (7, 2, 0, 10**6, 4096, 128, 2),  # chunks of 7 rows by two workers, never in runs
        (1, 3, 0, 10**6, 4096, 128, 2),  # a row at a time by three workers
        (7, 2, 0, 0, 5, 2, 2),  # every partition in runs of 5 rows, merged 2 at a time
        (3, 1, 10**9, 0, 10**6, 1, 2),  # one run a partition, chunks of 3, made here
        # a third of the partitions made ahead of their turn, between chunks in turn
        (7, 2, 0, 1.2, 5, 2, 2),
        (7, 3, 0, 1.2, 4096, 128, 1),
        (2, 2, 0, 1.2, 4096, 128, 3),
    ):
        monkeypatch.setattr(export, "AHEAD_PARTITIONS", ahead)
        monkeypatch.setattr(export, "CHUNK_ROWS", chunk)
        monkeypatch.setattr(export, "WORKERS", workers)
        monkeypatch.setattr(export, "INLINE_ROWS", inline)
        monkeypatch.setattr(export, "SCATTERED", scattered)
        monkeypatch.setattr(export, "RUN_ROWS", run)
        monkeypatch.setattr(export, "MERGE_BATCH", batch)
        assert main(["export", "--archive", str(archive), "--format", fmt]) == 0
        outputs.append(capsys.readouterr().out)
    assert all(output == outputs[0] for output in outputs)
    assert outputs[0].count("\n") >= len(expected(archive))
    if fmt == "jsonl":
        got = [json.loads(line)["url_key"] for line in outputs[0].splitlines()]
        assert got == [r["url_key"] for r in expected(archive)]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_workers_write_the_file_as_this_process_does(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """Worker processes write their chunks straight into the output file, each in its
    turn (or send them back, for Parquet), and the partitions made ahead of their turn
    are copied in: the file is the one made without them."""
    from crawler.archive import export

    made = []
    for inline in (10**9, 0):
        monkeypatch.setattr(export, "INLINE_ROWS", inline)
        monkeypatch.setattr(export, "CHUNK_ROWS", 4)
        monkeypatch.setattr(export, "SCATTERED", 1.2)  # some partitions made ahead
        target = tmp_path / f"out {inline} [x].{fmt}"
        argv = ["export", "--archive", str(archive), "--format", fmt, "-o", str(target)]
        assert main([*argv, *(["--excel"] if fmt == "csv" else [])]) == 0
        made.append(target)
    if fmt == "parquet":
        assert pq.read_table(made[0]).equals(pq.read_table(made[1]))
        assert pq.read_table(made[1]).num_rows == len(expected(archive))
    else:
        assert made[0].read_bytes() == made[1].read_bytes()
        assert made[1].read_bytes().count(b"\n") >= len(expected(archive))
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_scattered_partition_is_found() -> None:
    """Rows in file order read each file once; rows that alternate between files would
    read every file for every chunk."""
    import numpy as np

    from crawler.archive.export import cuts, scattered

    in_order = np.repeat(np.arange(10, dtype=np.int32), 100)
    assert not scattered(in_order, cuts(in_order, 128))  # cut between files
    assert scattered(in_order, [*range(64, 1000, 64), 1000])  # most files read twice
    back_and_forth = np.tile(np.arange(10, dtype=np.int32), 100)
    assert scattered(back_and_forth, cuts(back_and_forth, 128))
    assert not scattered(back_and_forth, [1000])  # one chunk reads each file once


def test_chunks_are_cut_between_files() -> None:
    """A partition is cut where no file has rows on both sides, when there is such a
    place within half a chunk of the size: ten files written at once over the same
    days (rows interleaved) are read by one chunk each, not by two."""
    import numpy as np

    from crawler.archive.export import cuts

    in_order = np.repeat(np.arange(20, dtype=np.int32), 300)
    assert cuts(in_order, 2048) == [2100, 4200, 6000]
    together = np.stack([np.repeat(np.arange(c * 20, c * 20 + 20), 300) for c in range(10)], 1)
    found = cuts(together.reshape(-1).astype(np.int32), 2048)
    assert found == list(range(3000, 60001, 3000))
    anywhere = np.arange(5000, dtype=np.int32) % 7  # no place is better: the nearest
    assert cuts(anywhere, 2048) == [2048, 5000]
    assert cuts(in_order[:100], 2048) == [100]
    assert cuts(in_order[:5], 1) == [1, 2, 3, 4, 5]  # every chunk moves on


def test_output_to_a_named_pipe_is_written_in_place(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """-o on a device or a pipe (/dev/null, a FIFO) writes into it: no file is renamed
    over it (which, as root, would replace /dev/null itself)."""
    import os
    import stat
    import threading

    from crawler.archive import export

    monkeypatch.setattr(export, "INLINE_ROWS", 0)  # the workers write into the pipe
    monkeypatch.setattr(export, "CHUNK_ROWS", 3)
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
    from crawler.archive import export

    monkeypatch.setattr(export, "CHUNK_ROWS", 5)
    monkeypatch.setattr(export, "RUN_ROWS", 4)
    target = tmp_path / "chunks.parquet"
    argv = ["export", "--archive", str(archive), "--format", "parquet", "-o", str(target)]
    assert main(argv) == 0
    want = expected(archive)
    assert pq.read_table(target).to_pylist() == [{n: r[n] for n in RECORD_COLUMNS} for r in want]


def test_csv_is_what_python_csv_writes_for_any_text(tmp_path: Path) -> None:
    """Every field quoted, quotes doubled, newlines kept inside quotes, lists as compact
    JSON text, formulas neutralised unless ``raw``: each line is what Python's csv
    module writes for the record, cell by cell as ``csv_cell`` makes it."""
    import csv
    import io

    from crawler.archive.export_rows import csv_text, read_file, record_schema
    from crawler.archive.query import csv_cell
    from crawler.archive.views import parquet_files

    root = tmp_path / "odd"
    build_archive(root, 30, runs=1, flush_rows=30, days=30)
    odd = '=cmd|"x"\n\r\t,;\\</script>\u2028 Trường \x01'
    rows = read_table(root).to_pylist()
    with ArchiveWriter(root, "20991231T000000Z-odd") as writer:
        for start in ("=", "+", "-", "@", "\t", "\uff1d", "x"):
            writer.add({**rows[0], "title": start + odd, "authors": [odd, "@a"], "summary": None})
    tables = [read_file(str(path), "s", record_schema()) for path in parquet_files(root)]
    for raw in (False, True):
        got = b"".join(p for table in tables for p in csv_text(table, raw)).decode("utf-8")
        out = io.StringIO()
        writer_ = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
        for table in tables:
            for record in table.to_dicts():
                writer_.writerow(
                    [
                        json.dumps(value, ensure_ascii=False, separators=(",", ":"))
                        if isinstance(value, list)
                        else csv_cell(value, raw)
                        for value in (record[name] for name in RECORD_COLUMNS)
                    ]
                )
        assert got == out.getvalue()
        assert got.count(odd.replace('"', '""')) >= 7


def test_jsonl_is_what_python_json_writes_for_any_text(tmp_path: Path) -> None:
    """Every control character, quotes, backslashes, ``</script>``, line and paragraph
    separators, astral characters and timestamps with and without microseconds: each
    line is ``json.dumps`` of the record (compact, UTF-8), and reads back equal."""
    import io

    root = tmp_path / "odd"
    build_archive(root, 40, runs=1, flush_rows=40, days=30)
    rows = read_table(root).to_pylist()
    odd = "".join(chr(c) for c in range(1, 32)) + '"\\/</script>\u2028\u2029\U0001f600 Trường ='
    with ArchiveWriter(root, "20991231T000000Z-odd") as writer:
        for n, row in enumerate(rows[:3]):
            writer.add(
                {
                    **row,
                    "title": odd[n:],
                    "body": odd * 3,
                    "authors": [odd, ""],
                    "fetched_at": datetime(2099, 1, 1, 0, 0, n, n * 7, tzinfo=UTC),
                }
            )
    out = io.StringIO()
    from crawler.archive.export import export

    assert export(root, out, "jsonl") == 40
    lines = [line + "\n" for line in out.getvalue().split("\n")[:-1]]  # not at U+2028
    want = expected(root)
    for line, record in zip(lines, want, strict=True):
        plain = {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in record.items()
            if name in RECORD_COLUMNS
        }
        plain = {name: plain[name] for name in RECORD_COLUMNS}
        assert line == json.dumps(plain, ensure_ascii=False, separators=(",", ":")) + "\n"
    assert sum(json.loads(line)["body"] == odd * 3 for line in lines) == 3


def test_no_room_for_the_order_is_one_line_and_no_file(
    archive: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The order is spooled to a temporary file: a full disk there is said in one line,
    exit 2, and the export's file is not made."""
    import errno
    import io
    import tempfile

    class Full(io.BytesIO):
        def write(self, data: object) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "TemporaryFile", lambda **kwargs: Full())
    target = tmp_path / "out.jsonl"
    assert main(["export", "--archive", str(archive), "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cannot write the export's order to" in err and "No space left on device" in err
    assert not target.exists() and not list(tmp_path.glob(".*.tmp"))


@pytest.fixture
def with_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every export made by worker processes, a few rows a chunk."""
    from crawler.archive import export

    monkeypatch.setattr(export, "INLINE_ROWS", 0)
    monkeypatch.setattr(export, "CHUNK_ROWS", 16)


@pytest.mark.usefixtures("with_workers")
def test_a_damaged_page_read_by_a_worker_is_named_in_one_line(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A worker that cannot read a file says so; the export fails with the line every
    command gives for a bad file, and leaves no output file."""
    import shutil

    from tests.test_bad_files import plant

    root = shutil.copytree(archive, tmp_path / "archive")
    bad = plant(root, "damaged")
    target = tmp_path / "out.jsonl"
    assert main(["export", "--archive", str(root), "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"crawler export: error: {bad}: unreadable (")
    assert f"crawler validate --quarantine --archive {root}" in err
    assert not target.exists() and not list(tmp_path.glob(".*.tmp"))


@pytest.mark.usefixtures("with_workers")
def test_a_file_gone_after_the_plan_is_said_in_one_line(
    archive: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A file deleted between the plan and its reading (a compaction meanwhile): one
    line that says to run the export again; no output file."""
    import shutil

    from crawler.archive import export

    root = shutil.copytree(archive, tmp_path / "archive")
    planned = export.chunks

    def chunks_then_delete(*args: object, **kwargs: object) -> object:
        todo, ahead = planned(*args, **kwargs)  # type: ignore[arg-type]

        def deleting() -> Iterator[Chunk | None]:
            first = next(todo)
            assert first is not None
            Path(first.paths[0]).unlink()
            yield first
            yield from todo

        return deleting(), ahead

    monkeypatch.setattr(export, "chunks", chunks_then_delete)
    target = tmp_path / "out.jsonl"
    assert main(["export", "--archive", str(root), "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is gone (compacted while the export ran?)" in err
    assert not target.exists() and not list(tmp_path.glob(".*.tmp"))


def test_a_worker_that_dies_stops_the_export_with_one_line(archive: Path) -> None:
    """A worker killed (out of memory, by hand) makes the export fail, naming it; the
    others are stopped with it."""
    import signal

    import numpy as np

    from crawler.archive.export import _Workers
    from crawler.archive.export_rows import Chunk
    from crawler.archive.views import ArchiveReadError, parquet_files

    path = str(parquet_files(archive)[0])
    one = Chunk([path], ["qdnd.vn"], np.zeros(1, np.int32), np.zeros(1, np.int32), "jsonl")
    workers = _Workers(2, None)
    try:
        workers.processes[1].send_signal(signal.SIGKILL)
        with pytest.raises(ArchiveReadError, match=r"export worker \d+ stopped \(exit status -9\)"):
            list(workers.pieces(archive, iter([one, one, one])))
    finally:
        workers.close()
    assert all(process.poll() is not None for process in workers.processes)


def test_a_worker_makes_its_next_chunk_while_one_waits_for_its_turn(archive: Path) -> None:
    """A piece waiting for its turn does not stop its worker: the next chunk is made and
    announced before the first is let through; then both are handed over, in order."""
    import numpy as np

    from crawler.archive.export import _Workers
    from crawler.archive.views import parquet_files

    path = str(parquet_files(archive)[0])
    first = Chunk([path], ["qdnd.vn"], np.zeros(1, np.int32), np.zeros(1, np.int32), "jsonl")
    second = Chunk(
        [path], ["qdnd.vn"], np.zeros(2, np.int32), np.arange(2, dtype=np.int32), "jsonl"
    )
    workers = _Workers(1, None)
    try:
        connection = workers.connections[0]
        connection.send(("chunk", 0, first))
        connection.send(("chunk", 1, second))
        assert connection.recv() == ("ready", 0, 1, True)
        assert connection.poll(60), "the second chunk waited for the first one's turn"
        assert connection.recv() == ("ready", 1, 2, True)
        pieces = []
        for _ in range(2):
            connection.send("go")
            kind, size = connection.recv()
            assert kind == "piece"
            pieces.append(connection.recv_bytes())
            assert len(pieces[-1]) == size
    finally:
        workers.close()
    lines = [json.loads(line) for piece in pieces for line in piece.decode().splitlines()]
    assert len(lines) == 3
    assert lines[0]["url_key"] == lines[1]["url_key"] != lines[2]["url_key"]


@pytest.mark.usefixtures("with_workers")
def test_workers_read_other_writers_spellings(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file written by another program (large strings and lists, milliseconds, a zone
    spelled "+00:00") is exported as the writer's own files are."""
    import shutil

    from tests.test_bad_files import plant_other_writer

    root = shutil.copytree(archive, tmp_path / "archive")
    url, row = plant_other_writer(root)
    assert main(["export", "--archive", str(root)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    other = [line for line in lines if line["url"] == url]
    assert len(other) == 1 and len(lines) == len(expected(archive)) + 1
    original = row.to_pylist()[0]
    assert other[0]["fetched_at"] == original["fetched_at"].astimezone(UTC).isoformat()
    assert other[0]["authors"] == original["authors"]
    published = original["published_at"]
    assert other[0]["published_at"] == (published and published.astimezone(UTC).isoformat())


@pytest.mark.parametrize("whole_file_bytes", [0, 1 << 30])
def test_a_file_of_many_row_groups_is_read_in_part(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, whole_file_bytes: int
) -> None:
    """A compacted file holds many row groups: a chunk reads the rows it needs (only
    their row groups, from a large file), and they are the file's rows, whatever the
    slice and whether the file was read whole."""
    import pyarrow as pa

    from crawler.archive import export_rows
    from crawler.archive.export_rows import read_file, record_schema

    monkeypatch.setattr(export_rows, "WHOLE_FILE_BYTES", whole_file_bytes)

    first = sorted((archive / "articles").rglob("*.parquet"))[0]
    table = pq.read_table(first)
    many = tmp_path / "many [groups].parquet"
    pq.write_table(pa.concat_tables([table] * 5), many, row_group_size=7)
    schema = record_schema()
    whole = read_file(str(many), "qdnd.vn", schema)
    assert whole.height == 5 * table.num_rows and whole["site"].unique().to_list() == ["qdnd.vn"]
    for start, count in ((0, 3), (6, 2), (13, 20), (whole.height - 1, 1)):
        part = read_file(str(many), "qdnd.vn", schema, start, count)
        assert part.equals(whole.slice(start, count))


@pytest.mark.usefixtures("with_workers")
@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_a_plan_made_in_its_own_process_gives_the_same_file(
    archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """A large archive's export is planned in a process of its own (its DuckDB memory
    goes with it): the file is the one planned here."""
    from crawler.archive import export

    made = []
    for apart in (1 << 60, 0):
        monkeypatch.setattr(export, "PLAN_APART_BYTES", apart)
        target = tmp_path / f"out {apart} [x].{fmt}"
        argv = ["export", "--archive", str(archive), "--format", fmt, "-o", str(target)]
        assert main([*argv, "--site", "qdnd.vn", "--since", "2020-01-01"]) == 0
        made.append(target)
    if fmt == "parquet":
        assert pq.read_table(made[0]).equals(pq.read_table(made[1]))
    else:
        assert made[0].read_bytes() == made[1].read_bytes()
    sites = (
        {json.loads(line)["site"] for line in made[0].read_text().splitlines()}
        if (fmt == "jsonl")
        else set(pq.read_table(made[0]).column("site").to_pylist())
    )
    assert sites == {"qdnd.vn"}


@pytest.mark.parametrize("kind", ["truncated", "foreign"])
def test_a_bad_file_met_by_a_plan_apart_is_one_line(
    archive: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    kind: str,
) -> None:
    """The plan's process meets a file it cannot read (not in the row index yet, so
    read directly): its error comes back as the one line this process would give."""
    import shutil

    from crawler.archive import export
    from crawler.archive.layout import index_path
    from tests.test_bad_files import plant

    assert main(["index", "--archive", str(archive)]) == 0
    capsys.readouterr()
    root = shutil.copytree(archive, tmp_path / "archive")
    assert index_path(root).is_file()  # so the plan is made apart
    bad = plant(root, kind)
    monkeypatch.setattr(export, "PLAN_APART_BYTES", 0)
    target = tmp_path / "out.jsonl"
    assert main(["export", "--archive", str(root), "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("crawler export: error: ")
    assert bad.name in err
    assert not target.exists() and not list(tmp_path.glob(".*.tmp"))


def test_when_every_partition_is_scattered_every_worker_makes_them(archive: Path) -> None:
    """An archive whose every partition goes back and forth between its files (many
    runs crawling the same days): no chunk is made in turn, and the workers make the
    partitions side by side, each copied in its turn."""
    import numpy as np

    from crawler.archive.export import _Workers
    from crawler.archive.export_rows import Chunk
    from crawler.archive.views import parquet_files

    path = str(parquet_files(archive)[0])
    partitions = [
        Chunk(
            [path],
            ["qdnd.vn"],
            np.zeros(n, np.int32),
            np.arange(n, dtype=np.int32),
            "jsonl",
            scattered=True,
            size=2,
        )
        for n in (3, 1, 4, 2)
    ]
    workers = _Workers(2, None)
    given: list[tuple[int, str]] = []
    for number, connection in enumerate(workers.connections):
        send = connection.send

        def recorded(message: object, number: int = number, send: Any = send) -> None:
            given.append((number, message[0] if isinstance(message, tuple) else str(message)))
            send(message)

        connection.send = recorded  # type: ignore[method-assign]
    try:
        pieces = list(workers.pieces(archive, iter([None] * 4), iter(partitions)))
    finally:
        workers.close()
    assert [rows for rows, _ in pieces] == [2, 1, 1, 2, 2, 2]  # two rows a piece
    lines = b"".join(bytes(p) for _, text in pieces for p in text or []).splitlines()
    first = [json.loads(line)["url_key"] for line in lines[:3]]
    assert len(lines) == 10 and len(set(first)) == 3  # the first partition's three rows
    assert {worker for worker, kind in given if kind == "ahead"} == {0, 1}
