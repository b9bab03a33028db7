"""Schema v2 (raw_ref added): files written by v1 still read, beside v2 files, everywhere."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest

from crawler.archive import (
    ARTICLE_SCHEMA,
    SCHEMA_VERSION,
    SCHEMA_VERSION_KEY,
    ArchiveWriter,
    read_table,
)
from crawler.cli import main
from crawler.items import Article, sha256_hex
from tests.conftest import DATA

V1 = DATA / "archive_v1"


def v1_files() -> list[Path]:
    return sorted((V1 / "articles").rglob("*.parquet"))


def test_the_stored_v1_file_is_a_real_v1_file() -> None:
    (path,) = v1_files()
    schema = pq.read_schema(path)
    assert schema.metadata[SCHEMA_VERSION_KEY] == b"1"
    assert "raw_ref" not in schema.names


def test_v2_adds_one_nullable_column_at_the_end() -> None:
    assert SCHEMA_VERSION == 2
    assert ARTICLE_SCHEMA.names[-1] == "raw_ref"
    assert ARTICLE_SCHEMA.field("raw_ref").nullable
    article = Article(url="u", site="s", spider="x", language="vi", raw_ref="raw/a.warc.gz:0:1")
    assert article.record()["raw_ref"] == "raw/a.warc.gz:0:1"


def test_v1_and_v2_files_read_together(tmp_path: Path) -> None:
    shutil.copytree(V1, tmp_path, dirs_exist_ok=True)
    old = read_table(tmp_path).to_pylist()
    assert len(old) == 3 and all(row["raw_ref"] is None for row in old)
    new = {
        **old[0],
        "url": "https://www.qdnd.vn/new-1",
        "url_key": "k",
        "crawl_run": "v2",
        "raw_ref": "raw/site=qdnd.vn/x.warc.gz:0:5",
        "fetched_at": datetime(2024, 3, 1, tzinfo=UTC),
    }
    writer = ArchiveWriter(tmp_path, "v2")
    writer.add(new)
    (written,) = writer.close()
    assert pq.read_schema(written).metadata[SCHEMA_VERSION_KEY] == b"2"
    both = {row["url"]: row["raw_ref"] for row in read_table(tmp_path).to_pylist()}
    assert len(both) == 4 and both["https://www.qdnd.vn/new-1"] == new["raw_ref"]
    # Third-party readers: DuckDB with union_by_name (as the README says), pandas.
    articles = tmp_path / "articles"
    count = duckdb.sql(
        f"SELECT count(*), count(raw_ref) FROM read_parquet('{articles}/**/*.parquet', "
        "hive_partitioning = true, union_by_name = true)"
    ).fetchall()
    assert count == [(4, 1)]
    assert len(pd.read_parquet(articles)) == 4


def test_compact_upgrades_v1_files_so_that_polars_reads_the_archive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(V1, tmp_path, dirs_exist_ok=True)
    old = read_table(tmp_path).to_pylist()
    writer = ArchiveWriter(tmp_path, "v2")  # a v2 file in another partition
    url = "https://www.qdnd.vn/new-1"
    writer.add({**old[0], "url": url, "url_key": sha256_hex(url), "crawl_run": "v2",
                "published_at": datetime(2024, 5, 1, tzinfo=UTC)})  # fmt: skip
    writer.close()
    articles = tmp_path / "articles"
    with pytest.raises(pl.exceptions.SchemaError, match="raw_ref"):
        pl.read_parquet(f"{articles}/")  # what a user meets before the upgrade

    # validate: not a problem, a note naming the old file and the command that upgrades it.
    assert main(["validate", "--archive", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "note: 1 files of an older schema version" in out
    assert v1_files()[0].name in out and "(schema v1)" in out
    assert f"`crawler compact --archive {tmp_path}` upgrades them" in out

    assert main(["compact", "--archive", str(tmp_path)]) == 0
    assert "1 files of an older schema were upgraded to v2" in capsys.readouterr().out
    versions = {pq.read_schema(p).metadata[SCHEMA_VERSION_KEY] for p in articles.rglob("*.parquet")}
    assert versions == {b"2"}
    frame = pl.read_parquet(f"{articles}/")
    assert frame.height == 4 and frame["raw_ref"].null_count() == 4
    assert sorted(frame["url"].to_list()) == sorted([r["url"] for r in old] + [
        "https://www.qdnd.vn/new-1"])  # fmt: skip
    assert main(["validate", "--archive", str(tmp_path)]) == 0
    assert "note" not in capsys.readouterr().out
