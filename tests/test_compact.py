"""crawler compact: one row per url_key (the newest), few files, swapped in atomically."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from bench.synthetic import build_archive
from crawler.archive import SCHEMA_VERSION_KEY, ArchiveWriter, read_table
from crawler.archive import compaction as compact_module
from crawler.archive.checking import validate
from crawler.archive.compaction import compact
from crawler.cli import main
from crawler.runs.lock import run_lock
from tests.conftest import DATA


def files(root: Path) -> list[Path]:
    return sorted((root / "articles").rglob("*.parquet"))


def add_newer_versions(root: Path, every: int = 5) -> dict[str, str]:
    """Newer rows (re-extractions: same fetch, later run) of every ``every``-th article."""
    rows = read_table(root).to_pylist()[::every]
    titles = {}
    with ArchiveWriter(root, "20991231T000000Z-newer", flush_rows=7) as writer:
        for row in rows:
            title = "re-extracted: " + row["title"]
            writer.add({**row, "title": title, "crawl_run": "20991231T000000Z-newer"})
            titles[row["url_key"]] = title
    return titles


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return build_archive(tmp_path / "archive", 400, runs=4, flush_rows=60, days=100)


def test_keeps_the_newest_row_of_each_article_in_one_file_per_partition(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    titles = add_newer_versions(archive)
    shutil.copy(files(archive)[0], files(archive)[0].with_name("part-copy-1-00000.parquet"))
    before = read_table(archive)
    assert before.num_rows > 400
    assert main(["compact", "--archive", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "compact: rewrote" in out
    after = read_table(archive).to_pylist()
    assert len(after) == 400 == len({r["url_key"] for r in after})
    for row in after:
        if row["url_key"] in titles:
            assert row["title"] == titles[row["url_key"]]
    partitions = Counter(path.parent for path in files(archive))
    assert set(partitions.values()) == {1}
    for path in files(archive):
        assert pq.read_schema(path).metadata[SCHEMA_VERSION_KEY] == b"2"
    assert validate(archive).problems == []
    assert not (archive / "_compact").exists()
    # A second run has nothing to do.
    assert main(["compact", "--archive", str(archive), "--json"]) == 0
    assert '"partitions_rewritten": 0' in capsys.readouterr().out


def test_max_rows_splits_a_partition(archive: Path) -> None:
    compact(archive, max_rows=20)
    sizes = [pq.read_metadata(p).num_rows for p in files(archive)]
    assert max(sizes) <= 20 and sum(sizes) == 400


def test_dry_run_changes_nothing(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    add_newer_versions(archive)
    before = files(archive)
    assert main(["compact", "--archive", str(archive), "--dry-run"]) == 0
    assert "would rewrite" in capsys.readouterr().out
    assert files(archive) == before


def test_v1_files_are_upgraded_and_keep_their_rows(tmp_path: Path) -> None:
    shutil.copytree(DATA / "archive_v1", tmp_path, dirs_exist_ok=True)
    row = read_table(tmp_path).to_pylist()[0]
    with ArchiveWriter(tmp_path, "20991231T000000Z-v2") as writer:
        writer.add(
            {**row, "crawl_run": "20991231T000000Z-v2", "raw_ref": "raw/site=qdnd.vn/x.warc.gz:0:9"}
        )
    compact(tmp_path)
    (only,) = files(tmp_path)
    assert pq.read_schema(only).metadata[SCHEMA_VERSION_KEY] == b"2"
    rows = {r["url_key"]: r for r in read_table(tmp_path).to_pylist()}
    assert len(rows) == 3
    assert rows[row["url_key"]]["raw_ref"] == "raw/site=qdnd.vn/x.warc.gz:0:9"


def test_an_article_that_moved_month_keeps_one_row(archive: Path) -> None:
    row = next(r for r in read_table(archive).to_pylist() if r["published_at"])
    moved = {
        **row,
        "published_at": row["published_at"] + timedelta(days=62),
        "fetched_at": row["fetched_at"] + timedelta(days=1),
    }
    with ArchiveWriter(archive, "later") as writer:
        writer.add(moved)
    compact(archive)
    mine = [r for r in read_table(archive).to_pylist() if r["url_key"] == row["url_key"]]
    assert len(mine) == 1 and mine[0]["published_at"] == moved["published_at"]


def test_refuses_while_crawl_all_holds_the_lock(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with run_lock(archive / "_runs" / "crawl-all.lock"):
        assert main(["compact", "--archive", str(archive)]) == 5
    assert "holds" in capsys.readouterr().err


def test_skips_a_partition_a_crawl_is_writing(archive: Path) -> None:
    add_newer_versions(archive, every=1)
    busy = files(archive)[0].parent
    (busy / f".part-live-{os.getpid()}-00001.parquet.tmp").write_bytes(b"")
    result = compact(archive)
    skipped = [p for p in result.partitions if p.skipped]
    assert [p.partition for p in skipped] == [busy.relative_to(archive / "articles").as_posix()]
    assert len(list(busy.glob("*.parquet"))) > 1


def test_without_atomic_exchange_two_renames_do(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unsupported(a: Path, b: Path) -> None:
        raise OSError(errno.EINVAL, "not here")

    monkeypatch.setattr(compact_module, "exchange", unsupported)
    add_newer_versions(archive)
    compact(archive)
    assert read_table(archive).num_rows == 400


def partition_counts(table: pa.Table) -> Counter[tuple[str, str, str]]:
    rows = table.select(["site", "year", "month"]).to_pylist()
    return Counter((str(r["site"]), str(r["year"]), str(r["month"])) for r in rows)


def test_readers_never_see_a_partition_half_done(tmp_path: Path) -> None:
    root = build_archive(tmp_path / "archive", 1500, runs=5, flush_rows=100, days=120)
    add_newer_versions(root, every=3)
    before = partition_counts(read_table(root, columns=["site", "year", "month"]))
    seen: list[Counter[tuple[str, str, str]]] = []
    vanished = []
    errors: list[BaseException] = []
    done = threading.Event()

    def project_reader() -> None:  # crawler.archive.read_table: lists again after a swap
        while not done.is_set():
            try:
                seen.append(partition_counts(read_table(root, columns=["site", "year", "month"])))
            except BaseException as error:
                errors.append(error)

    def plain_reader() -> None:  # pyarrow alone: may find a file gone, never wrong rows
        while not done.is_set():
            dataset = ds.dataset(root / "articles", format="parquet", partitioning="hive")
            try:
                table = dataset.to_table(columns=["site", "year", "month"])
            except FileNotFoundError:
                vanished.append(1)
                continue
            seen.append(partition_counts(table))

    threads = [threading.Thread(target=project_reader), threading.Thread(target=plain_reader)]
    for thread in threads:
        thread.start()
    try:
        compact(root)
    finally:
        done.set()
        for thread in threads:
            thread.join()
    after = partition_counts(read_table(root, columns=["site", "year", "month"]))
    assert errors == []
    assert sum(after.values()) == 1500 < sum(before.values())
    assert len(seen) >= 2
    for counts in seen:
        for partition, n in counts.items():
            assert n in (before[partition], after[partition]), (partition, n)


def test_month_compacts_that_month_only(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    titles = add_newer_versions(archive)
    by_partition = Counter(path.parent for path in files(archive))
    target = next(
        p for p, n in sorted(by_partition.items()) if n > 1 and p.parent.name != "year=unknown"
    )
    year, month = target.parent.name.removeprefix("year="), target.name.removeprefix("month=")
    others = {
        path: (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in files(archive)
        if path.parent.parent.name != f"year={year}" or path.parent.name != f"month={month}"
    }
    assert others and len(others) < len(files(archive))
    assert main(["compact", "--archive", str(archive), "--month", f"{year}-{month}"]) == 0
    assert "compact: rewrote" in capsys.readouterr().out
    # Every other partition's files are the very same files, untouched.
    now = {
        path: (path.stat().st_ino, path.stat().st_mtime_ns)
        for path in files(archive)
        if path.parent.parent.name != f"year={year}" or path.parent.name != f"month={month}"
    }
    assert now == others
    # The month's partitions (every site's) are one file each, one row per article,
    # the newest: the re-extracted title where there is one.
    rewritten = {p.parent for p in files(archive)} - {p.parent for p in others}
    assert target in rewritten
    for partition in rewritten:
        (only,) = partition.glob("*.parquet")
        rows = pq.read_table(only, columns=["url_key", "title"]).to_pylist()
        assert len(rows) == len({r["url_key"] for r in rows})
        for row in rows:
            assert row["title"] == titles.get(row["url_key"], row["title"])
        assert any(row["url_key"] in titles for row in rows) or partition != target


@pytest.mark.parametrize("month", ["2024-13", "2024-1", "24-01", "2024/01", "later"])
def test_month_must_be_a_month(
    archive: Path, month: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = files(archive)
    with pytest.raises(SystemExit) as exit_:
        main(["compact", "--archive", str(archive), "--month", month])
    assert exit_.value.code == 2
    assert "not a month (YYYY-MM" in capsys.readouterr().err
    assert files(archive) == before


def whole_in_memory(root: Path) -> dict[Path, list[dict[str, object]]]:
    """What compaction leaves in each partition, built as it was before it streamed: every
    row read whole, the newest of each url_key kept (the latest fetch, then the latest
    run), each partition's rows sorted by publish date (undated last), then url_key."""
    newest: dict[str, tuple[tuple[object, ...], Path, dict[str, object]]] = {}
    for path in files(root):
        for row in compact_module.conform(pq.read_table(path)).to_pylist():
            rank = (row["fetched_at"], row["crawl_run"])
            key = str(row["url_key"])
            if key not in newest or rank > newest[key][0]:
                newest[key] = (rank, path.parent, row)
    partitions: dict[Path, list[dict[str, object]]] = {}
    for _rank, partition, row in newest.values():
        partitions.setdefault(partition, []).append(row)
    for rows in partitions.values():
        rows.sort(key=lambda r: (r["published_at"] is None, r["published_at"] or 0, r["url_key"]))
    return partitions


def test_a_partition_larger_than_a_batch_keeps_the_same_rows_in_the_same_order(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows read 2 at a time and dealt into buckets of 3 (a row group each, files of 7 cut
    across buckets): the files hold what the whole partition, sorted in memory, gave,
    column for column, in order."""
    add_newer_versions(archive, every=3)
    shutil.copy(files(archive)[0], files(archive)[0].with_name("part-copy-1-00000.parquet"))
    expected = whole_in_memory(archive)
    monkeypatch.setattr(compact_module, "STREAM_ROWS", 2)
    monkeypatch.setattr(compact_module, "_bucket_rows", lambda sources: 3)
    compact(archive, max_rows=7)
    written: dict[Path, list[Path]] = {}
    for path in files(archive):  # names sort in the order they were written
        written.setdefault(path.parent, []).append(path)
    assert written.keys() == expected.keys()
    for partition, paths in written.items():
        rows = [row for path in paths for row in pq.read_table(path).to_pylist()]
        assert rows == expected[partition], partition
        assert all(pq.read_metadata(path).num_rows <= 7 for path in paths)
    groups = [pq.read_metadata(path).num_row_groups for path in files(archive)]
    assert max(groups) > 1  # the batches were smaller than a file
    assert validate(archive).problems == []


@pytest.mark.parametrize("point", ["mid-write", "before-rename"])
def test_a_compaction_killed_while_it_writes_loses_nothing(point: str, archive: Path) -> None:
    add_newer_versions(archive)
    before = sorted(
        (r["url_key"], r["crawl_run"])
        for r in read_table(archive, columns=["url_key", "crawl_run"]).to_pylist()
    )
    repo = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(repo), "CRAWLER_CRASH_AT": point}
    killed = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "compact", "--archive", str(archive)],
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert list((archive / "_compact").rglob("*.parquet*"))  # it was killed while writing
    after = sorted(
        (r["url_key"], r["crawl_run"])
        for r in read_table(archive, columns=["url_key", "crawl_run"]).to_pylist()
    )
    assert after == before  # the archive as it was: every row, every file readable
    assert validate(archive).problems == []
    compact(archive)  # the next compaction clears what was left and does the work
    assert not (archive / "_compact").exists()
    keys = read_table(archive, columns=["url_key"]).column("url_key").to_pylist()
    assert len(keys) == len(set(keys)) == 400
