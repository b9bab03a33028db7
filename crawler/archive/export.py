"""``crawler export``: the newest row of each article as JSON lines, CSV or one Parquet file.

The export is a stream, in the same order whatever the archive's size: a site's dated
partitions, then its undated ones; in each, by publication time, then key. It is made
in two steps, so that memory is bounded by a few chunks of rows, not by the archive
or by its largest partition:

- **The order**, from the row index (:mod:`crawler.archive.catalog`): DuckDB picks the
  rows (the newest of each article, within the filters) over the index's few small
  columns and sorts them, spilling to disk beyond :data:`EXPORT_MEMORY`. What it hands
  back, in order, is where each row is: a file number and a row number.
- **The rows**, from their files, :data:`CHUNK_ROWS` at a time: pyarrow decodes each
  file a chunk needs (once; it is kept for the next chunks while the files kept fit in
  :data:`CACHE_BYTES`), the chunk's rows are taken in order and formatted (JSON lines by
  polars, CSV lines by DuckDB, Parquet row groups by pyarrow) on :data:`WORKERS`
  threads, one per core, and the main thread writes the chunks in order.

Decoding the bodies and formatting them is most of the cost; a DuckDB sort of whole
rows, bodies included, cost more time and more memory than this (bench/RESULTS.md).
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, tzinfo
from itertools import pairwise
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from crawler.archive.query import csv_writer
from crawler.archive.views import NEWEST_FIRST, sql_string
from crawler.progress import Progress

if TYPE_CHECKING:
    import duckdb
    import numpy as np
    import pyarrow as pa

T = TypeVar("T")

FORMATS = ("jsonl", "csv", "parquet")

EXPORT_MEMORY = "200MB"
"""DuckDB's memory for finding and sorting the rows' order (its sort spills beyond)."""
CHUNK_ROWS = 1024
"""Rows read, formatted and written at a time (a Parquet row group holds at most this)."""
CACHE_BYTES = 24 << 20
"""Decoded files kept for the next chunks (a file's rows usually span two chunks)."""
WORKERS = 2
"""Chunks prepared at once: decoding and formatting run on both cores."""
AHEAD = 3
"""Chunks prepared, or being prepared, while the main thread writes."""
ORDER_BATCH = 65536
"""Rows of the order fetched from DuckDB at a time."""

PARTITION_ORDER = "site, year = 'unknown', year, month"
"""The partitions in output order: a site's dated partitions, then its undated ones."""
EXPORT_ORDER = "published_at NULLS LAST, url_key"
"""The rows of one partition in output order."""

_TIMESTAMPS = ("published_at", "fetched_at")
_NESTED = ("images", "authors", "tags")


# -- the order ---------------------------------------------------------------------


def _conditions(
    sites: Sequence[str] | None,
    since: date | None,
    until: date | None,
    zones: Mapping[str, tzinfo] | None,
    default_zone: tzinfo,
) -> tuple[list[str], list[Any]]:
    """The WHERE conditions of an export; dates are each site's local days (``zones``,
    ``default_zone`` for the sites not in it)."""
    from crawler.archive.window import date_window

    where: list[str] = []
    params: list[Any] = []
    if sites:
        where.append("site IN (" + ", ".join("?" for _ in sites) + ")")
        params += list(sites)
    window, values = date_window(since, until, zones or {}, default_zone)
    if window:
        where.append(window)
        params += values
    return where, params


def mark_older(con: duckdb.DuckDBPyConnection) -> int:
    """Fill the table ``_older`` with where the rows are that are not the newest of
    their article; return how many. Keys are grouped by a 64-bit hash first (8 bytes
    a row), then only the keys seen twice are ranked, over the columns that rank them."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _twice AS SELECT hash(url_key) AS h FROM _keys "
        "GROUP BY h HAVING count(*) > 1"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _older AS SELECT _file, _row FROM _keys "
        "WHERE hash(url_key) IN (SELECT h FROM _twice) "
        f"QUALIFY row_number() OVER (PARTITION BY url_key ORDER BY {NEWEST_FIRST}) > 1"
    )
    return int(con.execute("SELECT count(*) FROM _older").fetchall()[0][0])


@dataclass(frozen=True)
class Plan:
    """The files an export reads (by number) and how many rows it writes."""

    paths: list[str]
    sites: list[str]
    parts: list[int]
    """Each file's partition, numbered: a Parquet row group never mixes two."""
    total: int


def plan(
    con: duckdb.DuckDBPyConnection,
    root: Path | str,
    sites: Sequence[str] | None,
    since: date | None,
    until: date | None,
    all_versions: bool,
    zones: Mapping[str, tzinfo] | None,
    default_zone: tzinfo,
) -> tuple[Plan, Iterator[pa.RecordBatch]]:
    """The export's files, and where its rows are, in output order: batches of
    (file number, row number), streamed from DuckDB's sort."""
    from crawler.archive.layout import ARTICLES_DIR
    from crawler.archive.views import absolute

    where, params = _conditions(sites, since, until, zones, default_zone)
    if not all_versions and mark_older(con):
        where.append("(_file, _row) NOT IN (SELECT (_file, _row) FROM _older)")
    condition = " AND ".join(where) or "true"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _files AS SELECT _file, any_value(site) AS _site, "
        "count(*) AS _rows, CAST(row_number() OVER (ORDER BY _file) - 1 AS INTEGER) AS _id "
        f"FROM _keys WHERE {condition} GROUP BY _file",
        params,
    )
    listed = con.execute("SELECT _file, _site, _rows FROM _files ORDER BY _id").fetchall()
    articles = absolute(Path(root) / ARTICLES_DIR)
    numbers: dict[str, int] = {}
    parts = [numbers.setdefault(name.rpartition("/")[0], len(numbers)) for name, _, _ in listed]
    found = Plan(
        [f"{articles}/{name}" for name, _, _ in listed],
        [str(site) for _, site, _ in listed],
        parts,
        sum(int(n) for _, _, n in listed),
    )
    order = con.sql(
        "SELECT f._id, CAST(k._row AS INTEGER) FROM _keys AS k JOIN _files AS f USING (_file) "
        f"WHERE {condition} ORDER BY {PARTITION_ORDER}, {EXPORT_ORDER}",
        params=params,
    )
    fetch = getattr(order, "to_arrow_reader", None) or order.fetch_record_batch
    return found, iter(fetch(ORDER_BATCH))


def chunks(
    batches: Iterator[pa.RecordBatch], parts: Sequence[int] | None, size: int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The order cut into chunks of at most ``size`` rows (file numbers, row numbers);
    with ``parts`` (each file's partition), also where the partition changes."""
    import numpy as np

    of_file = None if parts is None else np.asarray(parts, dtype=np.int64)
    files = np.empty(0, np.int32)
    rows = np.empty(0, np.int32)
    done = False
    while not done:
        batch = next(batches, None)
        if batch is None:
            done = True
        else:
            files = np.concatenate([files, batch.column(0).to_numpy()])
            rows = np.concatenate([rows, batch.column(1).to_numpy()])
        bounds = [0, len(files)]
        if of_file is not None and len(files):
            changes = np.flatnonzero(np.diff(of_file[files])) + 1
            bounds = [0, *changes.tolist(), len(files)]
        ends: list[int] = []
        for start, end in pairwise(bounds):
            ends += [*range(start + size, end, size), end]
        if not done:
            ends = ends[:-1]  # the last may grow with the next batch
        start = 0
        for end in ends:
            if end > start:
                yield files[start:end], rows[start:end]
            start = end
        files, rows = files[start:], rows[start:]


# -- the rows ----------------------------------------------------------------------


def record_schema() -> pa.Schema:
    """The export's columns, with the archive's types (``site`` a column)."""
    import pyarrow as pa

    from crawler.archive.schema import ARTICLE_SCHEMA
    from crawler.archive.views import RECORD_COLUMNS

    return pa.schema([ARTICLE_SCHEMA.field(name) for name in RECORD_COLUMNS])


def read_file(path: str, site: str, schema: pa.Schema) -> pa.Table:
    """Every row of one archive file as ``schema`` has it: ``site`` added (its directory
    holds it), a column the file lacks (``raw_ref`` before schema v2) null."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = pq.ParquetFile(path, pre_buffer=False)
    present = set(source.schema_arrow.names)
    table = source.read(columns=[n for n in schema.names if n in present], use_threads=False)
    rows = table.num_rows
    columns = []
    for field in schema:
        if field.name == "site":
            columns.append(pa.array([site] * rows, field.type))
        elif field.name in present:
            column = table.column(field.name)
            columns.append(column if column.type == field.type else column.cast(field.type))
        else:
            columns.append(pa.nulls(rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def unreadable(root: Path | str, path: str, error: Exception) -> Exception:
    """The one-line error for a file that cannot be read: gone since the index listed it
    (a compaction ran meanwhile), or damaged (named as every command names a bad file)."""
    from crawler.archive.views import ArchiveReadError, BadArchiveFile, one_line

    if isinstance(error, FileNotFoundError):
        return ArchiveReadError(f"{path} is gone (compacted while the export ran?): run it again")
    return BadArchiveFile(root, path, f"unreadable ({one_line(error)})")


class FileCache:
    """Decoded files by number, read once by whichever worker needs one first (the
    other waits for it), the least recently used dropped beyond ``limit`` bytes."""

    def __init__(
        self, root: Path | str, plan: Plan, schema: pa.Schema, limit: int | None = None
    ) -> None:
        self._root = root
        self._plan = plan
        self._schema = schema
        self._limit = CACHE_BYTES if limit is None else limit
        self._lock = threading.Lock()
        self._files: OrderedDict[int, Future[pa.Table]] = OrderedDict()
        self._held = 0

    def get(self, number: int) -> pa.Table:
        with self._lock:
            future = self._files.get(number)
            mine = future is None
            if future is None:
                future = self._files[number] = Future()
            else:
                self._files.move_to_end(number)
        if not mine:
            return future.result()
        path = self._plan.paths[number]
        try:
            try:
                table = read_file(path, self._plan.sites[number], self._schema)
            except Exception as error:
                raise unreadable(self._root, path, error) from None
        except BaseException as error:
            with self._lock:
                self._files.pop(number, None)
            future.set_exception(error)
            raise
        future.set_result(table)
        with self._lock:
            self._held += table.nbytes
            while self._held > self._limit and len(self._files) > 1:
                oldest, dropped = next(iter(self._files.items()))
                if oldest == number or not dropped.done() or dropped.exception():
                    break
                del self._files[oldest]
                self._held -= dropped.result().nbytes
        return table


def gather(cache: FileCache, files: np.ndarray, rows: np.ndarray) -> pa.Table:
    """The rows of one chunk, in the chunk's order. Each file's rows are taken together
    (a run of consecutive rows is a slice, not a copy), then put back in order if the
    chunk goes back and forth between files (the usual chunk does not: files are written
    in crawl order, which is mostly publication order)."""
    import numpy as np
    import pyarrow as pa

    by_file = np.argsort(files, kind="stable")
    grouped = files[by_file]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]]).tolist()
    pieces = []
    for start, end in zip(starts, [*starts[1:], len(grouped)], strict=False):
        table = cache.get(int(grouped[start]))
        wanted = rows[by_file[start:end]]
        first = int(wanted[0])
        if bool(np.all(wanted == np.arange(first, first + len(wanted)))):
            pieces.append(table.slice(first, len(wanted)))
        else:
            pieces.append(table.take(pa.array(wanted)))
    together = pa.concat_tables(pieces)
    if bool(np.all(by_file == np.arange(len(by_file)))):
        return together
    back = np.empty(len(by_file), np.int64)
    back[by_file] = np.arange(len(by_file))
    return together.take(pa.array(back))


# -- formats -----------------------------------------------------------------------


def _iso(column: str) -> str:
    """A UTC timestamp as Python's ``isoformat()`` writes it (microseconds only if any)."""
    return (
        f"CASE WHEN {column} IS NULL THEN NULL "
        f"WHEN epoch_us({column}) % 1000000 = 0 "
        f"THEN strftime({column}, '%Y-%m-%dT%H:%M:%S+00:00') "
        f"ELSE strftime({column}, '%Y-%m-%dT%H:%M:%S.%f+00:00') END"
    )


def _formula_guard(text: str) -> str:
    """``text`` with a leading ``'`` where a spreadsheet would run it (``csv_cell``)."""
    from crawler.archive.query import FORMULA_STARTS

    starts = ", ".join(sql_string(c) for c in FORMULA_STARTS)
    return f"CASE WHEN left({text}, 1) IN ({starts}) THEN concat('''', {text}) ELSE {text} END"


def _csv_field(column: str, raw: bool) -> str:
    if column in _TIMESTAMPS:
        return f"coalesce({_iso(column)}, '')"  # digits, '-', ':', '+': nothing to quote
    if column in _NESTED:
        text = f"CAST(to_json({column}) AS VARCHAR)"
    else:
        text = column if raw else _formula_guard(column)
    return f"""replace(coalesce({text}, ''), '"', '""')"""


def csv_line_sql(columns: Sequence[str], raw_cells: bool = False) -> str:
    """The SELECT list that makes each row one CSV line, as ``csv_writer`` writes it
    (every field quoted), its newline included. One ``concat`` a line: a chain of
    ``||`` would copy the line once per field."""
    parts: list[str] = []
    for n, column in enumerate(columns):
        parts += ["""'"'""" if n == 0 else """'","'""", _csv_field(column, raw_cells)]
    parts.append("""'"\n'""")
    return f"concat({', '.join(parts)}) AS line"


def csv_header(columns: Sequence[str], raw_cells: bool = False) -> str:
    out = io.StringIO()
    csv_writer(out, columns, raw_cells)
    return out.getvalue()


def jsonl_text(table: pa.Table) -> bytes:
    """The rows as JSON lines, as Python's ``json.dumps(row, ensure_ascii=False)``
    writes them; timestamps as ``isoformat()`` writes them. Polars writes them: a
    third of DuckDB's ``to_json`` time, and most of the export's work."""
    import polars as pl

    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    frame = frame.with_columns(
        pl.when(pl.col(name).dt.microsecond() == 0)
        .then(pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
        .otherwise(pl.col(name).dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00"))
        .alias(name)
        for name in _TIMESTAMPS
    )
    out = io.BytesIO()
    frame.write_ndjson(out)
    return out.getvalue()


class CsvLines:
    """Formats chunks as CSV lines with DuckDB, one cursor per worker thread."""

    def __init__(self, con: duckdb.DuckDBPyConnection, columns: Sequence[str], raw: bool) -> None:
        self._con = con
        self._select = csv_line_sql(columns, raw)
        self._local = threading.local()

    def __call__(self, table: pa.Table) -> bytes:
        import pyarrow as pa
        import pyarrow.compute as pc

        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            cursor = self._local.cursor = self._con.cursor()
        numbered = table.append_column("_pos", pa.array(range(table.num_rows), pa.int64()))
        cursor.register("_chunk", numbered)
        try:
            # DuckDB may hand the lines back out of order (it scans the chunk's pieces in
            # parallel): they are put back by number, a copy of the lines, not a sort of rows.
            lines = cursor.sql(f"SELECT _pos, {self._select} FROM _chunk").to_arrow_table()
        finally:
            cursor.unregister("_chunk")
        ordered = lines.column(1).take(pc.sort_indices(lines.column(0)))
        return utf8_bytes(ordered.combine_chunks())

    def close(self) -> None:
        cursor = getattr(self._local, "cursor", None)
        if cursor is not None:
            cursor.close()


def utf8_bytes(column: pa.Array) -> bytes:
    """A column of text (no nulls) as its UTF-8 bytes, end to end, from Arrow's buffer."""
    import numpy as np
    import pyarrow as pa

    if len(column) == 0:
        return b""
    if not pa.types.is_large_string(column.type):
        column = column.cast(pa.large_string())
    _validity, offsets, data = column.buffers()
    assert offsets is not None and data is not None
    ends = np.frombuffer(offsets, np.int64)[column.offset : column.offset + len(column) + 1]
    return memoryview(data)[int(ends[0]) : int(ends[-1])].tobytes()


# -- export ------------------------------------------------------------------------


def _stream(
    con: duckdb.DuckDBPyConnection,
    root: Path | str,
    filters: Filters,
    per_partition: bool,
    make: Callable[[pa.Table], T],
) -> tuple[int, Iterator[tuple[int, T]]]:
    """How many rows the export has, and its chunks (their rows, and what ``make``
    made of them on a worker), in output order."""
    found, order = plan(con, root, *filters)
    cache = FileCache(root, found, record_schema())
    parts = found.parts if per_partition else None

    def work(files: np.ndarray, rows: np.ndarray) -> tuple[int, T]:
        return len(files), make(gather(cache, files, rows))

    def results() -> Iterator[tuple[int, T]]:
        import pyarrow as pa

        from crawler.archive.views import give_back_memory

        pool_memory = pa.default_memory_pool()
        pending: deque[Future[tuple[int, T]]] = deque()
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            try:
                for files, rows in chunks(order, parts, CHUNK_ROWS):
                    pending.append(pool.submit(work, files, rows))
                    if len(pending) >= AHEAD:
                        yield pending.popleft().result()
                        pool_memory.release_unused()  # else freed buffers pile up, chunk by chunk
                while pending:
                    yield pending.popleft().result()
            finally:
                for future in pending:
                    future.cancel()
        give_back_memory()

    return found.total, results()


@dataclass(frozen=True)
class Filters:
    """What an export keeps: sites, a window of local days, every version or the newest."""

    sites: Sequence[str] | None = None
    since: date | None = None
    until: date | None = None
    all_versions: bool = False
    zones: Mapping[str, tzinfo] | None = None
    default_zone: tzinfo = UTC

    def __iter__(self) -> Iterator[Any]:
        return iter(
            (
                self.sites,
                self.since,
                self.until,
                self.all_versions,
                self.zones,
                self.default_zone,
            )
        )


def _with_export_connection(root: Path | str, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """Run ``work`` with the view ``_keys``: of every row, the columns that filter it and
    pick the newest, and where it is. It is the row index (files it does not cover are
    read and checked directly), so that setting out costs a read of its few small
    columns, not of every file."""
    import tempfile

    import duckdb

    from crawler.archive.catalog import open_index, rows_view
    from crawler.archive.views import read_error

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET memory_limit = {sql_string(EXPORT_MEMORY)}")
        con.execute(f"SET temp_directory = {sql_string(tempfile.gettempdir())}")
        rows_view(open_index(root, con), con, "_rows_index", shared=True)  # for every cursor
        con.execute(
            "CREATE VIEW _keys AS SELECT url_key, fetched_at, crawl_run, published_at, site, "
            "year, month, file AS _file, row AS _row FROM _rows_index"
        )
        return work(con)
    except duckdb.Error as error:
        raise read_error(root, error) from None
    finally:
        con.close()


def export(
    root: Path | str,
    out: IO[str],
    fmt: str,
    sites: Sequence[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    all_versions: bool = False,
    raw_cells: bool = False,
    zones: Mapping[str, tzinfo] | None = None,
    default_zone: tzinfo = UTC,
) -> int:
    """Export the archive to ``out`` as JSON lines or CSV; return the number of rows."""
    from crawler.archive.views import RECORD_COLUMNS

    filters = Filters(sites, since, until, all_versions, zones, default_zone)

    def work(con: duckdb.DuckDBPyConnection) -> int:
        lines = CsvLines(con, RECORD_COLUMNS, raw_cells) if fmt == "csv" else None
        try:
            total, texts = _stream(con, root, filters, False, lines or jsonl_text)
            if fmt == "csv":
                out.write(csv_header(RECORD_COLUMNS, raw_cells))
            raw = getattr(out, "buffer", None)
            if raw is not None:
                out.flush()  # what was written as text goes first
            written = 0
            with Progress("export", total, "rows") as progress:
                for rows, text in texts:
                    if raw is not None:
                        raw.write(text)
                    else:
                        out.write(text.decode("utf-8"))
                    written += rows
                    progress.advance(rows)
            if raw is not None:
                raw.flush()
            return written
        finally:
            if lines is not None:
                lines.close()

    return _with_export_connection(root, work)


def export_parquet(
    root: Path | str,
    target: Path,
    sites: Sequence[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    all_versions: bool = False,
    zones: Mapping[str, tzinfo] | None = None,
    default_zone: tzinfo = UTC,
) -> int:
    """Export the archive as one flat Parquet file at ``target``: the record's columns
    with the archive's types (``site`` a column); return the number of rows. A row group
    holds rows of one partition."""
    import pyarrow.parquet as pq

    from crawler.archive.writer import COMPRESSION

    filters = Filters(sites, since, until, all_versions, zones, default_zone)

    def work(con: duckdb.DuckDBPyConnection) -> int:
        total, tables = _stream(con, root, filters, True, lambda table: table)
        written = 0
        with (
            Progress("export", total, "rows") as progress,
            pq.ParquetWriter(target, record_schema(), compression=COMPRESSION) as writer,
        ):
            for rows, table in tables:
                writer.write_table(table)
                written += rows
                progress.advance(rows)
        return written

    return _with_export_connection(root, work)
