"""The Parquet archive: schema, atomic partitioned writer, readers, pipeline."""

from __future__ import annotations

import itertools
import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the project is not necessarily installed
    sys.path.insert(0, str(ROOT))

from crawler.archive import (  # noqa: E402
    ARTICLE_SCHEMA,
    FILE_SCHEMA,
    RECORD_COLUMNS,
    SCHEMA_VERSION,
    SCHEMA_VERSION_KEY,
    SITE_KEY,
    ArchiveReadError,
    ArchiveWriter,
    dataset,
    known_url_keys,
    normalise_record,
    read_table,
    records_to_table,
    sweep_temp_files,
)
from crawler.archive import writer as writer_module  # noqa: E402
from crawler.items import Article, Image  # noqa: E402
from crawler.pipelines.archive import ParquetArchive  # noqa: E402

ICT = timezone(timedelta(hours=7))
FILE_NAME_RE = re.compile(r"^part-(?P<run>.+)-(?P<pid>\d+)-(?P<seq>\d{5,})\.parquet$")
CHILD_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def article(n: int, site: str = "qdnd.vn", published: datetime | None = None) -> Article:
    return Article(
        url=f"https://{site}/tin/{n}",
        site=site,
        spider=site.split(".")[0],
        language="vi",
        title=f"Bài {n}",
        summary=None if n % 2 else f"Tóm tắt {n}",
        section="quoc-phong",
        article_id=str(n) if n % 3 else None,
        tags=["a", "b"] if n % 2 else [],
        published_at=published,
        published_raw=published.isoformat() if published else None,
        fetched_at=datetime(2026, 11, 26, 14, 0, n % 60, tzinfo=ICT),
        crawl_run="run-1",
        blocks=[f"Đoạn một {n}.", f"Đoạn hai {n}."],
        images=[Image("https://x/1.jpg", "Chú thích", None), Image("https://x/2.jpg", None, None)],
        byline="Tin, ảnh: SƠN BÌNH" if n % 2 else None,
        authors=["Sơn Bình"] if n % 2 else [],
    )


def record(n: int, site: str = "qdnd.vn", published: datetime | None = None) -> dict[str, Any]:
    return article(n, site, published).record()


def visible_parquet(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*.parquet") if not path.name.startswith((".", "_")))


def hidden_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob(".*") if path.is_file())


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """Two sites, dated (in three months) and undated articles."""
    with ArchiveWriter(tmp_path, "run-1", flush_rows=1000) as writer:
        for n in range(12):
            site = "qdnd.vn" if n % 2 else "baoquankhu7.vn"
            published = None if n % 4 == 0 else datetime(2024, 1 + n % 3, 10, 8, tzinfo=ICT)
            writer.add(record(n, site, published))
    return tmp_path


# Schema and round trip.


def test_schema_follows_the_design_table() -> None:
    assert SCHEMA_VERSION == 2
    assert ARTICLE_SCHEMA.metadata[SCHEMA_VERSION_KEY] == b"2"
    assert tuple(article(1).record()) == RECORD_COLUMNS
    assert ARTICLE_SCHEMA.field("images").type == pa.list_(
        pa.struct([("url", pa.string()), ("caption", pa.string()), ("credit", pa.string())])
    )
    assert ARTICLE_SCHEMA.field("authors").type == pa.list_(pa.string())
    for name in ("published_at", "fetched_at"):
        assert ARTICLE_SCHEMA.field(name).type == pa.timestamp("us", tz="UTC")
    nullable = {field.name for field in ARTICLE_SCHEMA if field.nullable}
    assert nullable == {
        "article_id",
        "section",
        "summary",
        "byline",
        "published_at",
        "published_raw",
        "raw_ref",
    }


def test_records_to_table_converts_to_utc() -> None:
    published = datetime(2024, 3, 1, 6, 30, tzinfo=ICT)
    table = records_to_table([record(1, published=published)])
    assert table.schema == ARTICLE_SCHEMA
    assert table.schema.metadata[SCHEMA_VERSION_KEY] == b"2"
    assert table.column("published_at")[0].as_py() == datetime(2024, 2, 29, 23, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"published_at": datetime(2024, 3, 1)}, ValueError),  # naive
        ({"title": None}, ValueError),  # required
        ({"extra": "x"}, ValueError),  # not in schema v1
        ({"title": 3}, TypeError),
        ({"authors": "Sơn Bình"}, TypeError),
        ({"images": [{"url": "u", "alt": "x"}]}, ValueError),
    ],
)
def test_bad_records_are_rejected(change: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        normalise_record({**record(1), **change})


def test_round_trip(tmp_path: Path) -> None:
    published = [
        datetime(2024, 5, 2, 1, 15, tzinfo=ICT),
        None,
        datetime(2023, 12, 31, 23, tzinfo=UTC),
    ]
    records = [record(n, published=p) for n, p in enumerate(published)]
    with ArchiveWriter(tmp_path, "run-1") as writer:
        for row in records:
            writer.add(row)

    table = read_table(tmp_path)
    assert table.column_names == list(RECORD_COLUMNS)
    rows = sorted(table.to_pylist(), key=lambda row: row["url"])
    expected = sorted((normalise_record(row) for row in records), key=lambda row: row["url"])
    assert rows == expected
    first = rows[0]
    assert first["images"] == [
        {"url": "https://x/1.jpg", "caption": "Chú thích", "credit": None},
        {"url": "https://x/2.jpg", "caption": None, "credit": None},
    ]
    assert first["published_at"] == datetime(2024, 5, 1, 18, 15, tzinfo=UTC)
    assert first["published_at"].utcoffset() == timedelta(0)
    assert rows[1]["published_at"] is None
    assert rows[1]["authors"] == ["Sơn Bình"]
    assert rows[0]["article_id"] is None and rows[0]["authors"] == []


def test_files_carry_schema_version_and_site(archive: Path) -> None:
    for path in visible_parquet(archive):
        schema = pq.read_schema(path)
        assert schema.metadata[SCHEMA_VERSION_KEY] == str(SCHEMA_VERSION).encode()
        assert schema.metadata[SITE_KEY].decode() == path.parts[-4].removeprefix("site=")
        assert schema.remove_metadata() == FILE_SCHEMA.remove_metadata()
        assert "site" not in schema.names  # the site= directory carries it
        assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"


# Layout.


def test_partition_paths(tmp_path: Path) -> None:
    # 23:30 at UTC-1 on 31 March is 1 April in UTC.
    late = datetime(2024, 3, 31, 23, 30, tzinfo=timezone(timedelta(hours=-1)))
    with ArchiveWriter(tmp_path, "run-7") as writer:
        writer.add(record(1, "qdnd.vn", late))
        writer.add(record(2, "qdnd.vn", None))
        writer.add(record(3, "baoquankhu7.vn", datetime(2025, 11, 2, tzinfo=UTC)))
        files = writer.close()

    relative = sorted(str(path.parent.relative_to(tmp_path)) for path in files)
    assert relative == [
        "articles/site=baoquankhu7.vn/year=2025/month=11",
        "articles/site=qdnd.vn/year=2024/month=04",
        "articles/site=qdnd.vn/year=unknown/month=unknown",
    ]
    assert visible_parquet(tmp_path) == sorted(files)
    for path in files:
        match = FILE_NAME_RE.match(path.name)
        assert match is not None
        assert match["run"] == "run-7"
        assert match["pid"] == str(os.getpid())
    assert hidden_files(tmp_path) == []


def test_reused_run_id_never_overwrites(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writer_module, "_SEQUENCE", itertools.count())
    with ArchiveWriter(tmp_path, "nightly") as first:
        first.add(record(1))
    monkeypatch.setattr(writer_module, "_SEQUENCE", itertools.count())  # as in a new process
    with ArchiveWriter(tmp_path, "nightly") as second:
        second.add(record(2))
    assert first.files[0] != second.files[0]
    assert len(read_table(tmp_path)) == 2


@pytest.mark.parametrize(
    "site",
    [
        "../evil",
        "a/b",
        "/etc",
        "..",
        ".",
        ".hidden",
        "_tmp",
        "a\x00b",
        "",
        "C:\\x",
        "a=b",
        "%2e%2e",
    ],
)
def test_path_escaping_site_rejected(tmp_path: Path, site: str) -> None:
    writer = ArchiveWriter(tmp_path / "out", "run-1")
    with pytest.raises(ValueError, match="site"):
        writer.add(record(1, site=site))
    assert writer.close() == []
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("run_id", ["../x", "a/b", "", "/abs", ".x", "a\x00"])
def test_path_escaping_run_id_rejected(tmp_path: Path, run_id: str) -> None:
    with pytest.raises(ValueError, match="run_id"):
        ArchiveWriter(tmp_path, run_id)


def test_nothing_written_without_rows(tmp_path: Path) -> None:
    writer = ArchiveWriter(tmp_path, "run-1")
    assert writer.close() == []
    assert list(tmp_path.iterdir()) == []
    assert read_table(tmp_path).num_rows == 0
    assert known_url_keys(tmp_path) == set()
    assert known_url_keys(tmp_path / "missing") == set()


def test_flush_rows_bounds_the_buffer(tmp_path: Path) -> None:
    flush_rows = 4
    writer = ArchiveWriter(tmp_path, "run-1", flush_rows=flush_rows)
    peak = 0
    for n in range(int(2.5 * flush_rows)):
        writer.add(record(n, published=datetime(2024, 1, 1, tzinfo=UTC)))
        peak = max(peak, writer.buffered)
        assert writer.buffered < flush_rows  # full means written
    files = writer.close()
    assert peak == flush_rows - 1
    assert [pq.read_metadata(path).num_rows for path in files] == [4, 4, 2]
    assert writer.rows_written == 10
    assert writer.buffered == 0


def test_one_file_per_partition_per_flush(tmp_path: Path) -> None:
    writer = ArchiveWriter(tmp_path, "run-1", flush_rows=4)
    for n in range(4):
        writer.add(record(n, "qdnd.vn" if n % 2 else "baoquankhu7.vn"))
    assert writer.buffered == 0
    assert writer.files_written == 2


# The three readers, with no custom code.


@pytest.mark.parametrize("undated", [True, False])
def test_pandas_duckdb_and_pyarrow_read_the_archive(tmp_path: Path, undated: bool) -> None:
    expected: dict[str, str] = {}
    with ArchiveWriter(tmp_path, "run-1", flush_rows=5) as writer:
        for n in range(12):
            site = "qdnd.vn" if n % 2 else "baoquankhu7.vn"
            dated = not undated or n % 4
            row = record(n, site, datetime(2024, 1 + n % 3, 10, tzinfo=ICT) if dated else None)
            writer.add(row)
            expected[row["url"]] = site
    articles = str(tmp_path / "articles")

    frame = pd.read_parquet(articles)
    table = ds.dataset(articles, format="parquet", partitioning="hive").to_table()
    duck = (
        duckdb.connect()
        .execute(f"SELECT * FROM read_parquet('{articles}/**/*.parquet', hive_partitioning=true)")
        .df()
    )
    for name, got in [("pandas", frame), ("pyarrow", table.to_pandas()), ("duckdb", duck)]:
        assert set(RECORD_COLUMNS) <= set(got.columns), name
        assert len(got) == 12, name
        assert dict(zip(got["url"], got["site"].astype(str), strict=True)) == expected, name
        assert getattr(got["published_at"].dtype, "tz", None) is not None, name


def test_why_site_is_not_stored_in_the_files(tmp_path: Path) -> None:
    """The finding behind the file layout: a file column named like a hive key
    breaks pandas (partition keys come as dictionaries), so ``site`` lives only
    in the path. If this starts passing, pandas changed; the layout still works."""
    directory = tmp_path / "articles" / "site=qdnd.vn" / "year=2024" / "month=01"
    directory.mkdir(parents=True)
    pq.write_table(pa.table({"url": ["u"], "site": ["qdnd.vn"]}), directory / "part.parquet")
    with pytest.raises(pa.ArrowTypeError, match="site"):
        pd.read_parquet(tmp_path / "articles")


def test_reader_dataset_filters_on_partitions(archive: Path) -> None:
    dset = dataset(archive)
    assert dset.schema.names[: len(RECORD_COLUMNS)] == list(RECORD_COLUMNS)
    assert dset.schema.field("year").type == pa.string()
    undated = read_table(archive, filter=pc.field("year") == "unknown")
    assert undated.num_rows == 3
    assert undated.column("published_at").null_count == 3
    qdnd = read_table(archive, columns=["url", "site"], filter=pc.field("site") == "qdnd.vn")
    assert qdnd.column_names == ["url", "site"]
    assert set(qdnd.column("site").to_pylist()) == {"qdnd.vn"}
    assert qdnd.num_rows == 6
    sites = ["qdnd.vn" if n % 2 else "baoquankhu7.vn" for n in range(12)]
    assert known_url_keys(archive) == {record(n, site)["url_key"] for n, site in enumerate(sites)}


# Unreadable files.


def test_truncated_file_is_named(archive: Path) -> None:
    good = visible_parquet(archive)[0]
    bad = good.with_name("part-other-1-00000.parquet")
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ArchiveReadError, match=re.escape(str(bad))):
        read_table(archive)
    with pytest.raises(ArchiveReadError, match=re.escape(str(bad))):
        known_url_keys(archive)


def test_corrupt_page_is_named(tmp_path: Path) -> None:
    with ArchiveWriter(tmp_path, "run-1") as writer:
        for n in range(200):
            writer.add(record(n, published=datetime(2024, 1, 1, tzinfo=UTC)))
    (path,) = writer.files
    data = bytearray(path.read_bytes())
    data[100 : len(data) // 2] = b"\x55" * (len(data) // 2 - 100)  # footer intact
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveReadError, match=re.escape(path.name)):
        read_table(tmp_path)


def test_bad_query_is_not_blamed_on_a_file(archive: Path) -> None:
    with pytest.raises(pa.ArrowInvalid):
        read_table(archive, columns=["no_such_column"])


# Atomic visibility.


def test_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = pq.ParquetWriter.write_table

    def fail_half_way(self: pq.ParquetWriter, table: pa.Table, *args: Any, **kwargs: Any) -> None:
        real_write(self, table.slice(0, 1), *args, **kwargs)  # some bytes reach the file
        raise OSError("disk full")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", fail_half_way)
    writer = ArchiveWriter(tmp_path, "run-1", flush_rows=3)
    writer.add(record(1))
    writer.add(record(2))
    with pytest.raises(OSError, match="disk full"):
        writer.add(record(3))
    assert visible_parquet(tmp_path) == []
    assert hidden_files(tmp_path) == []  # the temp file was removed
    assert writer.buffered == 3  # nothing lost, nothing beyond the bound
    with pytest.raises(OSError, match="disk full"):
        writer.add(record(4))  # the retry fails first, the row is not taken
    assert writer.buffered == 3

    monkeypatch.setattr(pq.ParquetWriter, "write_table", real_write)
    files = writer.close()
    assert len(files) == 1
    assert read_table(tmp_path).num_rows == 3


SLOW_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from datetime import datetime, timezone
    from pathlib import Path
    import pyarrow.parquet as pq
    from crawler.archive import ArchiveWriter
    from crawler.archive import writer as writer_module

    real_writer = pq.ParquetWriter

    class Stalls:
        # Passes bytes through, then stalls once a good part of the file is out.
        def __init__(self, handle):
            self.handle, self.size = handle, 0
        def write(self, data):
            self.size += self.handle.write(data)
            if self.size > 1_000_000:
                self.handle.flush()
                print("writing", flush=True)
                time.sleep(60)
            return len(data)
        def __getattr__(self, name):
            return getattr(self.handle, name)

    writer_module.pq.ParquetWriter = lambda where, schema, **kw: real_writer(
        Stalls(where), schema, **kw
    )
    writer = ArchiveWriter(Path(sys.argv[1]), "killed", flush_rows=100_000)
    when = datetime(2024, 6, 1, tzinfo=timezone.utc)
    for n in range(3000):
        writer.add({
            "url": f"https://qdnd.vn/{n}", "url_key": str(n), "site": "qdnd.vn",
            "spider": "qdnd", "language": "vi", "title": "t", "body": os.urandom(1024).hex(),
            "images": [], "authors": [], "tags": [], "published_at": when, "fetched_at": when,
            "crawl_run": "killed", "content_hash": "h", "parser_version": "1",
        })
    writer.close()
    """
)


def test_sigkill_during_write_leaves_only_a_hidden_temp_file(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, str(tmp_path)],
        stdout=subprocess.PIPE,
        env=CHILD_ENV,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "writing"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait(timeout=10)
    assert child.returncode == -signal.SIGKILL

    assert visible_parquet(tmp_path) == []
    (temp,) = hidden_files(tmp_path)
    assert temp.name.startswith(".part-killed-") and temp.name.endswith(".parquet.tmp")
    assert temp.stat().st_size > 1_000_000
    # Every reader sees an empty archive, not a broken file.
    assert read_table(tmp_path).num_rows == 0
    articles = tmp_path / "articles"
    assert ds.dataset(articles, format="parquet", partitioning="hive").count_rows() == 0
    assert duckdb.connect().execute(
        f"SELECT count(*) FROM glob('{articles}/**/*.parquet')"
    ).fetchall() == [(0,)]

    assert sweep_temp_files(tmp_path) == 1
    assert hidden_files(tmp_path) == []
    assert sweep_temp_files(tmp_path) == 0


def test_sweep_spares_live_writers_and_foreign_files(tmp_path: Path) -> None:
    directory = tmp_path / "articles" / "site=qdnd.vn" / "year=2024" / "month=01"
    directory.mkdir(parents=True)
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead_pid = int(finished.stdout)
    mine = directory / f".part-run-1-{os.getpid()}-00000.parquet.tmp"
    stale = directory / f".part-run-1-{dead_pid}-00003.parquet.tmp"
    foreign = [directory / ".keep", directory / ".part-run-1-1-00000.parquet", directory / "x.tmp"]
    for path in [mine, stale, *foreign]:
        path.write_bytes(b"x")
    assert sweep_temp_files(tmp_path) == 1
    assert not stale.exists()
    assert mine.exists() and all(path.exists() for path in foreign)
    assert sweep_temp_files(tmp_path / "missing") == 0


# Several processes, one archive.


CONCURRENT_WRITER = textwrap.dedent(
    """
    import sys
    from datetime import datetime, timezone
    from pathlib import Path
    from crawler.archive import ArchiveWriter

    root, tag = Path(sys.argv[1]), sys.argv[2]
    with ArchiveWriter(root, "shared-run", flush_rows=7) as writer:
        for n in range(200):
            when = datetime(2024, 1 + n % 12, 1, tzinfo=timezone.utc) if n % 5 else None
            writer.add({
                "url": f"https://qdnd.vn/{tag}/{n}", "url_key": f"{tag}-{n}",
                "site": "qdnd.vn" if n % 2 else "baoquankhu7.vn", "spider": "s",
                "language": "vi", "title": "t", "body": "b", "images": [], "authors": [],
                "tags": [], "published_at": when, "fetched_at": datetime.now(timezone.utc),
                "crawl_run": "shared-run", "content_hash": "h", "parser_version": "1",
            })
    print(len(writer.files))
    """
)


def test_two_processes_write_one_archive(tmp_path: Path) -> None:
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_WRITER, str(tmp_path), tag],
            stdout=subprocess.PIPE,
            env=CHILD_ENV,
            text=True,
        )
        for tag in ("a", "b")
    ]
    counts = []
    for child in children:
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        counts.append(int(out))

    files = visible_parquet(tmp_path)
    assert len(files) == sum(counts)
    pids = {FILE_NAME_RE.match(path.name)["pid"] for path in files}  # type: ignore[index]
    assert pids == {str(child.pid) for child in children}
    assert known_url_keys(tmp_path) == {f"{tag}-{n}" for tag in "ab" for n in range(200)}
    assert read_table(tmp_path).num_rows == 400
    assert hidden_files(tmp_path) == []


# The Scrapy pipeline.


@pytest.fixture
def crawler_factory() -> Iterator[Any]:
    from scrapy.utils.test import get_crawler

    def make(**settings: Any) -> Any:
        return get_crawler(settings_dict=settings)

    yield make


def test_pipeline_archives_articles(
    tmp_path: Path, crawler_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    crawler = crawler_factory(
        CRAWLER_ARCHIVE_DIR=str(tmp_path), CRAWLER_ARCHIVE_FLUSH_ROWS=2, CRAWLER_RUN_ID=""
    )
    pipeline = ParquetArchive.from_crawler(crawler)
    run_id = crawler.stats.get_value("crawler/run_id")
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", run_id)

    pipeline.open_spider()
    items = [article(n, published=datetime(2024, 2, 1, tzinfo=ICT)) for n in range(3)]
    items[0].fetched_at = None
    before = datetime.now(UTC)
    for item in items:
        assert pipeline.process_item(item) is item
        assert item.crawl_run == run_id
    assert items[0].fetched_at is not None and items[0].fetched_at >= before
    assert pipeline.process_item({"not": "an article"}) == {"not": "an article"}
    with caplog.at_level(logging.INFO, logger="crawler.pipelines.archive"):
        pipeline.close_spider()

    assert crawler.stats.get_value("crawler/archive/rows_written") == 3
    assert crawler.stats.get_value("crawler/archive/files_written") == 2
    assert "3 rows in 2 files" in caplog.text and str(tmp_path / "articles") in caplog.text
    table = read_table(tmp_path)
    assert set(table.column("crawl_run").to_pylist()) == {run_id}
    assert sorted(table.column("url").to_pylist()) == sorted(item.url for item in items)
    assert all(path.name.startswith(f"part-{run_id}-") for path in visible_parquet(tmp_path))


def test_pipeline_without_articles_writes_nothing(
    tmp_path: Path, crawler_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    crawler = crawler_factory(CRAWLER_ARCHIVE_DIR=str(tmp_path), CRAWLER_RUN_ID="fixed-run")
    pipeline = ParquetArchive.from_crawler(crawler)
    assert crawler.stats.get_value("crawler/run_id") == "fixed-run"
    with caplog.at_level(logging.INFO, logger="crawler.pipelines.archive"):
        pipeline.open_spider()
        pipeline.close_spider()
    assert "no articles: nothing written" in caplog.text
    assert list(tmp_path.iterdir()) == []
    assert crawler.stats.get_value("crawler/archive/rows_written") == 0


def test_pipeline_rejects_unsafe_run_id(tmp_path: Path, crawler_factory: Any) -> None:
    crawler = crawler_factory(CRAWLER_ARCHIVE_DIR=str(tmp_path), CRAWLER_RUN_ID="../up")
    with pytest.raises(ValueError, match="CRAWLER_RUN_ID"):
        ParquetArchive.from_crawler(crawler)


def test_pipeline_drops_an_unarchivable_article_and_keeps_its_batch(
    tmp_path: Path, crawler_factory: Any
) -> None:
    from scrapy.exceptions import DropItem

    crawler = crawler_factory(CRAWLER_ARCHIVE_DIR=str(tmp_path), CRAWLER_ARCHIVE_FLUSH_ROWS=10)
    pipeline = ParquetArchive.from_crawler(crawler)
    pipeline.open_spider()
    items = [article(n, published=datetime(2024, 2, 1, tzinfo=ICT)) for n in range(3)]
    items[1].blocks = ["a lone surrogate \udcff cannot be stored"]
    pipeline.process_item(items[0])
    with pytest.raises(DropItem, match="not archivable"):
        pipeline.process_item(items[1])
    pipeline.process_item(items[2])
    pipeline.close_spider()
    assert crawler.stats.get_value("crawler/archive/rejected") == 1
    assert sorted(read_table(tmp_path).column("url").to_pylist()) == sorted(
        [items[0].url, items[2].url]
    )


def test_known_keys_streamed_in_small_batches(archive: Path, monkeypatch: Any) -> None:
    """Keys read a few at a time (as a million are, in batches) are all found, once each."""
    from crawler.archive import reader

    monkeypatch.setattr(reader, "KEY_BATCH_ROWS", 5)
    sites = ["qdnd.vn" if n % 2 else "baoquankhu7.vn" for n in range(12)]
    expected = {record(n, site)["url_key"] for n, site in enumerate(sites)}
    assert known_url_keys(archive) == expected
    qdnd = known_url_keys(archive, "qdnd.vn")
    assert qdnd == {record(n, "qdnd.vn")["url_key"] for n in range(1, 12, 2)}
    assert len(qdnd) == 6


def test_sorted_unique_prefixes() -> None:
    from array import array

    from crawler.archive.reader import _sorted_unique

    values = array("Q", [5, 2**64 - 1, 5, 0, 3, 3, 2**63])
    assert list(_sorted_unique(values)) == [0, 3, 5, 2**63, 2**64 - 1]
    assert list(_sorted_unique(array("Q", [7]))) == [7]
    assert list(_sorted_unique(array("Q"))) == []


@pytest.mark.parametrize("indexed", [True, False])
def test_known_keys_keep_a_key_that_is_not_hex(tmp_path: Path, indexed: bool) -> None:
    """An archive copied from elsewhere may hold odd keys: they are known all the same,
    from the row index's ``key64`` column (NULL for them) as from the files."""
    from crawler.archive.catalog import rebuild

    rows = [record(n, "qdnd.vn") for n in range(4)]
    rows[1]["url_key"] = "not-a-hex-key"
    rows[2]["url_key"] = "ABCDEF" + rows[2]["url_key"][6:]  # upper case: still hex
    with ArchiveWriter(tmp_path, "20260101T000000Z-odd") as writer:
        for row in rows:
            writer.add(row)
    if indexed:
        rebuild(tmp_path)
    known = known_url_keys(tmp_path, "qdnd.vn")
    assert "not-a-hex-key" in known and rows[0]["url_key"] in known
    assert rows[2]["url_key"] in known and len(known) == 4
    assert record(9, "qdnd.vn")["url_key"] not in known


@pytest.mark.parametrize(
    "values",
    [[1, 1, 2, 3, 3, 3, 5, 2**64 - 1], [3, 1, 2, 2, 9, 0], [4, 4, 4, 4], [7], [], [2, 3, 1, 1]],
)
def test_known_prefixes_ordered_or_not_come_out_sorted_and_once(
    values: list[int], monkeypatch: Any
) -> None:
    """The index gives prefixes in order (repeats dropped on the way, across batches);
    files give them in any order (sorted at the end): the same set either way."""
    import duckdb

    from crawler.archive import reader

    monkeypatch.setattr(reader, "KEY_BATCH_ROWS", 2)
    con = duckdb.connect()
    con.execute("CREATE TABLE k (key64 UBIGINT)")
    for value in values:
        con.execute("INSERT INTO k VALUES (?)", [value])
    known = reader._known(con.sql("SELECT key64 FROM k ORDER BY rowid"), set())
    assert list(known._prefixes) == sorted(set(values))
