"""DuckDB over the archive: the ``articles`` and ``latest`` views every read command uses.

``articles`` has every row of every file, with the record's columns in the
contract's order (``site`` from the ``site=`` directory), then the ``year`` and
``month`` partition keys as text. Files of schema v1 read with ``raw_ref``
null (``union_by_name``). ``latest`` keeps one row per ``url_key``, the
newest: see :data:`NEWEST_FIRST`.

The file list is taken once, by this module (the same rule as pyarrow: names
starting with ``.`` or ``_`` are not archive files), so a writer's temporary
file is never read. If ``crawler compact`` swaps a partition between that list
and the read, the read fails on a vanished file; :func:`retrying` lists again
and repeats it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import duckdb

T = TypeVar("T")

NEWEST_FIRST = "fetched_at DESC, crawl_run DESC"
"""Which row of a ``url_key`` is the newest: the latest fetch; among rows of one
fetch (re-extractions of one stored page), the latest run. Run ids made by the
crawler (``20261126T071500Z-3fa2c1``) sort by start time."""

PARTITION_COLUMNS = ("year", "month")
ARTICLES_DIR = "articles"  # crawler.archive.writer.ARTICLES_DIR

# crawler.archive.schema.RECORD_COLUMNS (a test keeps them equal), spelled out so
# that the read commands start without importing pyarrow.dataset (and pandas).
RECORD_COLUMNS = (
    "url",
    "url_key",
    "site",
    "spider",
    "article_id",
    "language",
    "section",
    "title",
    "summary",
    "body",
    "images",
    "byline",
    "authors",
    "tags",
    "published_at",
    "published_raw",
    "fetched_at",
    "crawl_run",
    "content_hash",
    "parser_version",
    "raw_ref",
)


class ArchiveMissing(Exception):
    """There is no archive at the path given; the message says what is there instead."""


def check_archive(root: Path | str) -> Path:
    """The archive root, or :class:`ArchiveMissing` with a one-line reason."""
    path = Path(root)
    if not path.exists():
        raise ArchiveMissing(
            f"no archive at {path}: no such directory (crawl into it first, or give --archive DIR)"
        )
    if not path.is_dir():
        raise ArchiveMissing(f"no archive at {path}: it is a file, not an archive directory")
    if not (path / ARTICLES_DIR).is_dir():
        raise ArchiveMissing(
            f"no archive at {path}: it has no {ARTICLES_DIR}/ directory "
            "(give the directory a crawl wrote into, e.g. output)"
        )
    return path


def iter_parquet_files(root: Path | str) -> Iterator[Path]:
    """Every visible Parquet file under ``<root>/articles``, in a stable order."""
    articles = Path(root) / ARTICLES_DIR
    for directory, dirs, names in os.walk(articles):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        for name in sorted(names):
            if name.endswith(".parquet") and not name.startswith((".", "_")):
                yield Path(directory) / name


def parquet_files(root: Path | str) -> list[Path]:
    """The visible Parquet files of the archive; :class:`ArchiveMissing` when there are none."""
    path = check_archive(root)
    files = list(iter_parquet_files(path))
    if not files:
        raise ArchiveMissing(f"no archive at {path}: {path / ARTICLES_DIR} holds no Parquet files")
    return files


def _sql_list(files: list[Path]) -> str:
    return "[" + ", ".join("'" + str(f).replace("'", "''") + "'" for f in files) + "]"


def connect(root: Path | str, files: list[Path] | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the ``articles`` and ``latest`` views."""
    import duckdb

    files = parquet_files(root) if files is None else files
    con = duckdb.connect()
    con.execute("SET parquet_metadata_cache = true")  # footers are read once, at DESCRIBE
    con.execute("SET TimeZone = 'UTC'")  # days and hours in UTC, whatever the machine's zone
    source = (
        f"read_parquet({_sql_list(files)}, hive_partitioning = true, union_by_name = true, "
        "hive_types = {'site': VARCHAR, 'year': VARCHAR, 'month': VARCHAR}, "
        "hive_types_autocast = false)"
    )
    present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    columns = [
        name if name in present else f"CAST(NULL AS VARCHAR) AS {name}"
        for name in (*RECORD_COLUMNS, *PARTITION_COLUMNS)
    ]
    con.execute(f"CREATE VIEW articles AS SELECT {', '.join(columns)} FROM {source}")
    con.execute(
        "CREATE VIEW latest AS SELECT * FROM articles "
        f"QUALIFY row_number() OVER (PARTITION BY url_key ORDER BY {NEWEST_FIRST}) = 1"
    )
    return con


def vanished_file(error: BaseException) -> bool:
    """True for DuckDB's error on a file listed a moment ago and gone now (compaction)."""
    text = str(error)
    return "No such file" in text or "No files found" in text or "does not exist" in text


def retrying(
    root: Path | str, work: Callable[[duckdb.DuckDBPyConnection], T], tries: int = 10
) -> T:
    """Run ``work`` on a fresh connection; list the files again if one vanished meanwhile."""
    import duckdb

    for attempt in range(tries):
        try:
            con = connect(root)
            try:
                return work(con)
            finally:
                con.close()
        except duckdb.IOException as error:
            if attempt == tries - 1 or not vanished_file(error):
                raise
    raise AssertionError("unreachable")


def one_line(error: BaseException) -> str:
    """DuckDB's message on one line (it spreads hints over several)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip().strip("^")]
    text = " ".join(lines)
    return text if len(text) <= 400 else text[:397] + "..."
