"""The row index build (crawler.archive.indexbuild): rows computed with pyarrow are the rows
DuckDB's SQL computes, and sorted runs merged by key ranges give the one-shot sort's order."""

from __future__ import annotations

import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench.synthetic import build_archive, synthetic_row
from crawler.archive import ArchiveWriter
from crawler.archive import indexbuild as build
from crawler.archive.catalog import INDEX_COLUMNS, KEY64_SQL, rebuild, row_sql, survey
from crawler.archive.layout import index_path
from tests.conftest import DATA

ODD_KEYS = [
    "a" * 64,
    "F" * 64,  # upper-case hex: a key64 too
    "0123456789abcdef" * 4,
    "g" + "0" * 63,  # 64 characters, not hex
    "abc",  # short
    "é" * 32 + "0" * 32,  # 64 characters, 96 bytes
    "0" * 65,
    "",
    "Z",
    "~~",
]


def test_key64_is_what_duckdb_reads() -> None:
    keys = [*ODD_KEYS, None]
    con = duckdb.connect()
    con.execute("CREATE TABLE k (i INTEGER, url_key VARCHAR)")
    con.executemany("INSERT INTO k VALUES (?, ?)", list(enumerate(keys)))
    expected = [v for (v,) in con.execute(f"SELECT {KEY64_SQL} FROM k ORDER BY i").fetchall()]
    got = build.key64(pa.array(keys, pa.string())).to_pylist()
    assert got == expected
    assert got[0] == int("a" * 16, 16) and got[1] == int("f" * 16, 16) and got[3] is None
    # a slice of a larger array (an offset into its buffers) reads the same
    assert build.key64(pa.array(keys, pa.string()).slice(2, 5)).to_pylist() == expected[2:7]


def _odd_archive(root: Path) -> Path:
    """Rows with what the SQL treats specially: no date, images without a caption or with
    an empty one, keys that are not hex, a key twice; and a v1 file."""
    rng = random.Random(7)
    start = datetime(2024, 5, 1, tzinfo=UTC)
    records = []
    for n, key in enumerate(ODD_KEYS * 2):
        row = synthetic_row(rng, n, None if n % 3 == 0 else start + timedelta(days=n), "run-a")
        row["url_key"] = key
        row["url"] = f"https://www.qdnd.vn/odd-{n}"
        row["images"] = [
            {"url": "https://www.qdnd.vn/i.jpg", "caption": caption, "credit": None}
            for caption in (None, "", "a caption", "x")[: n % 5]
        ]
        records.append(row)
    with ArchiveWriter(root, "20990101T000000Z-odd", flush_rows=7) as writer:
        for record in records:
            writer.add(record)
    shutil.copytree(DATA / "archive_v1", root, dirs_exist_ok=True)  # no raw_ref column
    return root


def test_the_rows_of_each_file_are_the_rows_duckdb_computes(tmp_path: Path) -> None:
    root = _odd_archive(tmp_path / "odd")
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    catalog = survey(root, con)
    assert len(catalog.files) > 3
    schema = build.index_schema()
    columns = ", ".join(INDEX_COLUMNS)
    for file in catalog.files:
        expected = con.execute(
            f"SELECT {columns} FROM ({row_sql(root, [file], con)}) ORDER BY row"
        ).fetchall()
        rows = build.file_rows(root, catalog.relative(file), schema).rows
        con.register("mine", rows)
        got = con.execute(f"SELECT {columns} FROM mine ORDER BY row").fetchall()
        con.unregister("mine")
        assert got == expected, file
    # what the rows hold that matters here
    every = pa.concat_tables(
        build.file_rows(root, catalog.relative(f), schema).rows for f in catalog.files
    )
    assert every.column("published_at").null_count > 0
    assert every.column("key64").null_count > 0
    captions, captioned = every.column("captions"), every.column("captioned")
    counted = zip(captions.to_pylist(), captioned.to_pylist(), strict=True)
    assert any(some != named for some, named in counted)


def test_partitions_are_read_from_the_file_name() -> None:
    assert build.partitions("site=qdnd.vn/year=2024/month=05/part-x.parquet") == {
        "site": "qdnd.vn",
        "year": "2024",
        "month": "05",
    }
    assert build.partitions("loose.parquet") == {"site": None, "year": None, "month": None}


def _index_rows(n: int, seed: int) -> pa.Table:
    """``n`` index rows with keys of every kind, many of them several times."""
    rng = random.Random(seed)
    schema = build.index_schema()
    pool = [*ODD_KEYS, *(f"{rng.getrandbits(256):064x}" for _ in range(n // 3))]
    keys = [rng.choice(pool) for _ in range(n)]
    when = datetime(2024, 1, 1, tzinfo=UTC)
    data = {
        "url_key": keys,
        "key64": build.key64(pa.array(keys, pa.string())),
        "site": ["qdnd.vn"] * n,
        "year": ["2024"] * n,
        "month": ["01"] * n,
        "file": [f"site=qdnd.vn/year=2024/month=01/part-{rng.randrange(5)}.parquet" for _ in keys],
        "row": [rng.randrange(10**6) for _ in keys],
        "published_at": [None if i % 4 == 0 else when + timedelta(hours=i) for i in range(n)],
        "fetched_at": [when + timedelta(hours=i) for i in range(n)],
        "crawl_run": ["r"] * n,
        "images": [i % 3 for i in range(n)],
        "captioned": [0] * n,
        "captions": [0] * n,
        "body_chars": [i for i in range(n)],
        "with_raw": [False] * n,
        "authors": [["a"] if i % 2 else [] for i in range(n)],
        "tags": [[] for _ in range(n)],
    }
    return pa.table(data).cast(schema)


@pytest.mark.parametrize("seed", [1, 2])
def test_merged_runs_are_the_one_shot_sort(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    monkeypatch.setattr(build, "RUN_ROWS", 97)
    monkeypatch.setattr(build, "MERGE_ROWS", 40)
    monkeypatch.setattr(build, "RUN_GROUP_ROWS", 8)
    rows = _index_rows(1000, seed)
    runs = build.Runs(tmp_path, build.index_schema())
    for start in range(0, rows.num_rows, 37):
        runs.add(rows.slice(start, 37))
    pieces = list(runs.merged())
    assert len(runs.runs) >= 10 and len(pieces) > 10  # it did merge, range by range
    merged = pa.concat_tables(pieces)
    expected = duckdb.sql("SELECT * FROM rows ORDER BY url_key, file, row").to_arrow_table()
    assert merged.num_rows == rows.num_rows
    assert merged.to_pylist() == expected.to_pylist()
    # a key's rows are in one range: what is counted per key can be counted per range
    firsts = [piece.column("url_key")[0].as_py() for piece in pieces]
    lasts = [piece.column("url_key")[-1].as_py() for piece in pieces]
    assert all(last < first for last, first in zip(lasts, firsts[1:], strict=False))


def test_no_rows_make_one_empty_run(tmp_path: Path) -> None:
    runs = build.Runs(tmp_path, build.index_schema())
    assert list(runs.merged()) == [] and len(runs.runs) == 1
    assert pq.read_table(runs.paths[0]).num_rows == 0


def test_exact_row_groups_across_merge_ranges(tmp_path: Path) -> None:
    schema = build.index_schema()
    rows = build.sort_rows(_index_rows(300, 3))
    parts = [rows.slice(0, 7), rows.slice(7, 100), rows.slice(107, 193)]
    writer = build.write_sorted(tmp_path / "x.parquet", schema, iter(parts), 64)
    writer.add_key_value_metadata({"k": "v"})
    writer.close()
    meta = pq.read_metadata(tmp_path / "x.parquet")
    sizes = [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
    assert sizes == [64, 64, 64, 64, 44]
    assert meta.metadata == {b"k": b"v"}  # no Arrow schema beside the index's own keys
    assert pq.read_table(tmp_path / "x.parquet").equals(rows)


def test_a_refresh_gives_the_index_a_rebuild_gives(tmp_path: Path) -> None:
    """The incremental path (old index rows kept, stale ones dropped, new files read)."""
    root = tmp_path / "arc"
    build_archive(root, 200, runs=2, flush_rows=30)
    rebuild(root)
    files = sorted((root / "articles").rglob("*.parquet"))
    files[0].unlink()  # gone
    shutil.copyfile(files[2], files[1])  # changed
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    from crawler.archive.catalog import write_index

    catalog = survey(root, con)
    assert catalog.stale and catalog.fresh and catalog.index is not None
    write_index(catalog, con)
    refreshed = pq.read_table(index_path(root))
    refreshed_meta = pq.read_metadata(index_path(root)).metadata
    rebuild(root)
    rebuilt = pq.read_table(index_path(root))
    assert refreshed.to_pylist() == rebuilt.to_pylist()
    rebuilt_meta = pq.read_metadata(index_path(root)).metadata
    assert refreshed_meta.keys() == rebuilt_meta.keys()
    for key in refreshed_meta:  # the same values; JSON lists of groups in any order
        assert _canonical(refreshed_meta[key]) == _canonical(rebuilt_meta[key]), key


def _canonical(value: bytes) -> object:
    import json

    try:
        data = json.loads(value)
    except ValueError:
        return value
    if isinstance(data, dict):
        return {
            k: sorted(map(json.dumps, v)) if isinstance(v, list) else v for k, v in data.items()
        }
    return data


def test_keys_counted_in_the_merge_are_what_the_summary_sql_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crawler.archive.summary import _DISTINCT_SQL

    monkeypatch.setattr(build, "RUN_ROWS", 61)
    monkeypatch.setattr(build, "MERGE_ROWS", 30)
    monkeypatch.setattr(build, "RUN_GROUP_ROWS", 8)
    rows = _index_rows(600, 5)
    sites = pa.array([("qdnd.vn", "en.qdnd.vn", "bienphong.com.vn")[i % 3] for i in range(600)])
    rows = rows.set_column(rows.schema.get_field_index("site"), "site", sites)
    runs = build.Runs(tmp_path, build.index_schema())
    runs.add(rows)
    counts = build.KeyCounts()
    assert pa.concat_tables(counts.counted(runs.merged())).num_rows == 600
    con = duckdb.connect()
    con.register("src", rows)
    expected = dict(con.execute(_DISTINCT_SQL.format(source="src", where="")).fetchall())
    assert counts.articles == expected and len(expected) == 4
    several = con.execute(
        "SELECT url_key FROM src GROUP BY url_key HAVING count(*) > 1 ORDER BY url_key"
    ).fetchall()
    assert sorted(counts.duplicated().column("url_key").to_pylist()) == [k for (k,) in several]
    assert len(several) > 10
