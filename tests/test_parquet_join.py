"""One Parquet file joined from parts encoded apart: the export's workers encode its row
groups in parallel, and the file must read as one file written at once would, by every
reader (pyarrow, DuckDB, polars), row group by row group too."""

from __future__ import annotations

import io
from pathlib import Path

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from crawler.archive import parquet_join
from crawler.archive.parquet_join import MAGIC, Footer, ParquetPartError, split


def table(rows: int) -> pa.Table:
    """Rows with the footer's hard cases: text with quotes and `</script>`, nulls, a list
    of structs (nested offsets), a timestamp and a dictionary-encoded column."""
    return pa.table(
        {
            "body": [f'dòng {n} "x" </script> ' + "chữ " * (n % 50) for n in range(rows)],
            "site": ["qdnd.vn" if n % 3 else "en.qdnd.vn" for n in range(rows)],
            "published_at": pa.array(
                [None if n % 7 == 0 else n * 1_000_000 for n in range(rows)],
                pa.timestamp("us", tz="UTC"),
            ),
            "images": [
                [{"url": f"u{n}", "caption": None if n % 2 else "c"}] * (n % 3) for n in range(rows)
            ],
        }
    )


def part(rows: pa.Table, **options: object) -> bytes:
    sink = io.BytesIO()
    with pq.ParquetWriter(sink, rows.schema, compression="zstd", **options) as writer:  # type: ignore[arg-type]
        if rows.num_rows:
            writer.write_table(rows, row_group_size=300)
    return sink.getvalue()


def join(whole: pa.Table, target: Path, size: int, **options: object) -> None:
    with Footer(split(part(whole.slice(0, 0)))[1]) as footer, open(target, "wb") as out:
        out.write(MAGIC)
        at = len(MAGIC)
        for start in range(0, whole.num_rows, size):
            pages, tail = split(part(whole.slice(start, size), **options))
            out.write(pages)
            footer.add(tail, at - len(MAGIC))
            at += len(pages)
        footer.write(out)


@pytest.mark.parametrize("options", [{}, {"write_page_index": True, "use_dictionary": ["site"]}])
def test_a_joined_file_reads_as_the_table(tmp_path: Path, options: dict[str, object]) -> None:
    whole = table(2_000)
    target = tmp_path / "joined.parquet"
    join(whole, target, 700, **options)
    assert pq.read_table(target).equals(whole)
    parquet = pq.ParquetFile(target)
    # 700 rows a part, 300 a row group: 3 groups a part, the last part's 2
    assert parquet.metadata.num_row_groups == 8 and parquet.metadata.num_rows == 2_000
    groups = [parquet.read_row_group(n) for n in range(parquet.metadata.num_row_groups)]
    assert pa.concat_tables(groups).equals(whole)
    assert pl.read_parquet(target).equals(pl.from_arrow(whole))  # type: ignore[arg-type]
    with duckdb.connect() as con:  # its own: the module's default one is shared
        read = con.execute(
            "SELECT count(*), sum(length(body)), count(published_at) FROM read_parquet(?)",
            [str(target)],
        ).fetchall()[0]
    assert read == (2_000, sum(len(b) for b in whole.column("body").to_pylist()), 2_000 - 286)


def test_no_parts_is_an_empty_file_with_the_schema(tmp_path: Path) -> None:
    whole = table(0)
    target = tmp_path / "empty.parquet"
    join(whole, target, 10)
    read = pq.read_table(target)
    assert read.num_rows == 0 and read.schema == whole.schema


def test_many_row_groups_need_a_long_list_head(tmp_path: Path) -> None:
    """Past 14 row groups a Thrift list gives its size apart; past 127, in two bytes."""
    whole = table(40_000)
    target = tmp_path / "many.parquet"
    join(whole, target, 300)
    assert pq.ParquetFile(target).metadata.num_row_groups == 134
    assert pq.read_table(target).equals(whole)


def test_row_groups_spooled_to_disk_are_copied_back_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The row groups wait in a temporary file and are copied into the footer in blocks:
    blocks of 7 bytes cut every row group's metadata somewhere."""
    monkeypatch.setattr(parquet_join, "COPY_BYTES", 7)
    whole = table(3_000)
    target = tmp_path / "spooled.parquet"
    join(whole, target, 700)
    assert pq.ParquetFile(target).metadata.num_row_groups == 13  # 4 parts of 3, one of 1
    assert pq.read_table(target).equals(whole)


@pytest.mark.parametrize(
    "data",
    [b"", b"PAR1", b"PAR1" + b"\0" * 20 + b"PAR1", b"PAR1\x05\0\0\0PAR1", b"not parquet at all"],
)
def test_what_is_not_a_part_is_refused(data: bytes) -> None:
    with pytest.raises(ParquetPartError), Footer(split(part(table(0)))[1]) as footer:
        footer.add(split(data)[1], 0)
