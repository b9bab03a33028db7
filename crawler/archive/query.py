"""``crawler sql`` and ``crawler export``: the archive through DuckDB, and out of it.

``sql`` runs one query with the views ``articles`` (every row) and ``latest``
(the newest row of each article) ready; ``export`` writes the newest row of
each article as JSON lines or CSV, for people who do not read Parquet.

``sql`` reads and never writes. A statement is run only if DuckDB parses it as
one query (:func:`check_query`), and on a connection that may read the
archive's own files and nothing else (:func:`crawler.archive.views.connect`,
``sandbox``): ``COPY``, ``ATTACH``, ``INSTALL``, ``SET``, ``CREATE`` … are
refused before they run, and ``read_text('/etc/passwd')`` inside a query is
refused by DuckDB itself.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from queue import Full, Queue
from threading import Event
from typing import IO, TYPE_CHECKING, Any, TypeVar

from crawler.archive.views import NEWEST_FIRST, ArchiveError, retrying, sql_string
from crawler.progress import Progress

if TYPE_CHECKING:
    import _csv

    import duckdb
    import pyarrow as pa

T = TypeVar("T")

BATCH_ROWS = 2048


# -- sql ---------------------------------------------------------------------------


QUERY_KINDS = "SELECT, WITH, VALUES, FROM, DESCRIBE, SUMMARIZE, SHOW, or EXPLAIN of one of them"
_EXPLAIN = re.compile(r"^\s*EXPLAIN\s+(?:ANALYZE\s+)?", re.IGNORECASE)


def check_query(con: duckdb.DuckDBPyConnection, text: str) -> duckdb.Statement:
    """The one query ``text`` holds, or a one-line :class:`ArchiveError` saying why not.

    A query is what DuckDB parses as a ``SELECT`` statement (that includes
    ``WITH``, ``VALUES``, ``FROM`` first, ``DESCRIBE``, ``SUMMARIZE`` and
    ``SHOW``), or ``EXPLAIN [ANALYZE]`` of one. Everything else is refused,
    ``PRAGMA`` and ``CALL`` too (some of them change settings or write files).
    """
    import duckdb

    statements = con.extract_statements(text)
    if len(statements) != 1:
        raise ArchiveError(
            f"give one statement, not {len(statements)}: only a query is run ({QUERY_KINDS})"
        )
    statement = statements[0]
    kind = statement.type
    if kind == duckdb.StatementType.EXPLAIN:
        inner = _EXPLAIN.sub("", statement.query, count=1)
        explained = con.extract_statements(inner) if inner != statement.query else []
        if len(explained) == 1 and explained[0].type == duckdb.StatementType.SELECT:
            return statement
        raise ArchiveError(f"refused: only a query can be explained ({QUERY_KINDS})")
    if kind != duckdb.StatementType.SELECT:
        raise ArchiveError(
            f"refused: {kind.name} statements are not run; crawler sql only reads ({QUERY_KINDS})"
        )
    return statement


def run_sql(
    root: Path | str, statement: str, limit: int | None = None
) -> tuple[list[str], list[tuple[Any, ...]], bool]:
    """Column names, rows (at most ``limit``) and whether more rows were left out."""

    def work(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[tuple[Any, ...]], bool]:
        cursor = con.execute(check_query(con, statement))
        if cursor.description is None:
            return [], [], False
        names = [d[0] for d in cursor.description]
        if limit is None:
            return names, cursor.fetchall(), False
        rows = cursor.fetchmany(limit + 1)
        return names, rows[:limit], len(rows) > limit

    return retrying(root, work, sandbox=True)


def plain(value: Any) -> Any:
    """A cell as JSON would hold it: timestamps as ISO 8601, nested values kept."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Decimal):
        return float(value)
    return value


def cell_text(value: Any) -> str:
    """A cell as text: nested values as JSON, null as empty."""
    value = plain(value)
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# A spreadsheet runs a cell that starts with one of these as a formula (=HYPERLINK …):
# OWASP's six, and their full-width forms, which some spreadsheets read the same way.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def csv_cell(value: Any, raw: bool = False) -> str:
    """A cell as CSV text; text a spreadsheet would run as a formula gets a leading ``'``.

    Numbers are left alone: ``-5`` is a number, not a formula. ``raw`` keeps every
    cell as it is.
    """
    text = cell_text(value)
    if raw or isinstance(value, int | float | Decimal) or not text.startswith(FORMULA_STARTS):
        return text
    return "'" + text


def csv_writer(out: IO[str], names: Sequence[str], raw: bool = False) -> _csv.Writer:
    """A CSV writer that has written the header: every field quoted, so that a bare
    carriage return in a cell cannot split its row."""
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow([csv_cell(n, raw) for n in names])  # a PIVOT names columns by data
    return writer


# -- export ------------------------------------------------------------------------
#
# The export streams partitions (site, year, month) in the order of the output (a
# site's dated partitions, then its undated ones), sorted on their own, small ones
# a few together and two such runs at once (:data:`RUN_BYTES`), so that memory is
# bounded by a partition or two whatever the archive's size. The
# rows to leave out (older versions of an article) are found first over the few
# columns that pick the newest row, never the bodies. DuckDB formats every cell and
# every line (JSON, or quoted CSV); Python only writes the text it is handed.

EXPORT_MEMORY = "300MB"
"""DuckDB's memory for an export; beyond it, its sorts and aggregates spill to disk.
Not all do: the sort of one partition of a 10,000,000-row archive (46,000 rows, 310 MB
of JSON lines) failed with DuckDB's "Out of Memory" at 200MB and at 300MB, so a run
of more than :data:`CHUNK_ROWS` rows is read in chunks instead; and a whole export
of 1,000,000 rows failed at 200MB with two runs read at once (measured on a loaded
machine), so it has 300MB (peak 390-400 MiB for the process)."""
READERS = 2  # groups of partitions read (and sorted) at once, one on each core
QUEUED_BATCHES = 2  # batches a reader may have ready before it waits
RUN_BYTES = 7 << 20
"""Consecutive partitions whose files hold up to this many bytes (compressed, on disk)
are read and sorted together, in one query: each query has a fixed cost (binding its
files, planning, a sort). A larger partition is one query of its own. Two runs are
read at once only while their files hold at most twice this (about 9,000 rows of the
benchmark's articles); a large partition (a busy site's month at ten million rows)
is read alone, DuckDB's sort then spilling beyond :data:`EXPORT_MEMORY`."""
CHUNK_ROWS = 8192
"""A run with more rows is read in chunks of this many (:func:`read_in_chunks`)."""
_DONE = object()
PARTITION_ORDER = "site, year = 'unknown', year, month"
"""The partitions in output order: a site's dated partitions, then its undated ones
(as ``export_batches`` sorts them in Python)."""
EXPORT_ORDER = "published_at NULLS LAST, url_key"
"""The rows of one partition in output order."""

FORMATS = ("jsonl", "csv", "parquet")

_TIMESTAMPS = ("published_at", "fetched_at")
_NESTED = ("images", "authors", "tags")


def _iso(column: str) -> str:
    """A UTC timestamp as Python's ``isoformat()`` writes it (microseconds only if any)."""
    return (
        f"CASE WHEN {column} IS NULL THEN NULL "
        f"WHEN epoch_us({column}) % 1000000 = 0 "
        f"THEN strftime({column}, '%Y-%m-%dT%H:%M:%S+00:00') "
        f"ELSE strftime({column}, '%Y-%m-%dT%H:%M:%S.%f+00:00') END"
    )


def _formula_guard(text: str) -> str:
    """``text`` with a leading ``'`` where a spreadsheet would run it (:func:`csv_cell`)."""
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


def line_sql(fmt: str, columns: Sequence[str], raw_cells: bool = False) -> str:
    """The SELECT list that makes each row one line of output text, its newline included:
    CSV as :func:`csv_writer` writes it (every field quoted), or a JSON object.

    One ``concat`` a line: a chain of ``||`` would copy the line once per field.
    """
    parts: list[str] = []
    if fmt == "csv":
        for n, column in enumerate(columns):
            parts += ["""'"'""" if n == 0 else """'","'""", _csv_field(column, raw_cells)]
        parts.append("""'"\n'""")
    else:
        for n, column in enumerate(columns):
            value = _iso(column) if column in _TIMESTAMPS else column
            parts += [
                sql_string(("{" if n == 0 else ",") + json.dumps(column) + ":"),
                f"coalesce(CAST(to_json({value}) AS VARCHAR), 'null')",
            ]
        parts.append("'}\n'")
    return f"concat({', '.join(parts)}) AS line"


def csv_header(columns: Sequence[str], raw_cells: bool = False) -> str:
    out = io.StringIO()
    csv_writer(out, columns, raw_cells)
    return out.getvalue()


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


def partition_of(root: Path | str, path: Path) -> tuple[str, str, str] | None:
    """The (site, year, month) of an archive file, from its directories."""
    from crawler.archive.layout import ARTICLES_DIR

    parts = path.relative_to(Path(root) / ARTICLES_DIR).parts
    if len(parts) != 4 or not all("=" in p for p in parts[:3]):
        return None
    site, year, month = (p.partition("=")[2] for p in parts[:3])
    return site, year, month


def mark_older(con: duckdb.DuckDBPyConnection) -> int:
    """Fill the table ``_older`` with where the rows are that are not the newest of
    their article; return how many. Keys are grouped by a 64-bit hash first (8 bytes
    a row), then only the keys seen twice are ranked, over the columns that rank them."""
    con.execute(
        "CREATE OR REPLACE TABLE _twice AS SELECT hash(url_key) AS h FROM _keys "
        "GROUP BY h HAVING count(*) > 1"
    )
    con.execute(
        "CREATE OR REPLACE TABLE _older AS SELECT _file, _row FROM _keys "
        "WHERE hash(url_key) IN (SELECT h FROM _twice) "
        f"QUALIFY row_number() OVER (PARTITION BY url_key ORDER BY {NEWEST_FIRST}) > 1"
    )
    return int(con.execute("SELECT count(*) FROM _older").fetchall()[0][0])


def export_batches(
    con: duckdb.DuckDBPyConnection,
    root: Path | str,
    select: str,
    sites: Sequence[str] | None,
    since: date | None,
    until: date | None,
    all_versions: bool,
    zones: Mapping[str, tzinfo] | None = None,
    default_zone: tzinfo = UTC,
    together: bool = True,
) -> tuple[int, Iterator[pa.RecordBatch]]:
    """How many rows the export has, and its rows (``select`` of each), partition by
    partition in output order, as Arrow record batches. Small partitions are read
    ``together`` (:data:`RUN_BYTES`); else a batch never holds rows of two partitions
    (a Parquet export writes a row group per batch)."""
    from crawler.archive.views import parquet_files

    where, params = _conditions(sites, since, until, zones, default_zone)
    if not all_versions and mark_older(con):
        where.append("(_file, _row) NOT IN (SELECT (_file, _row) FROM _older)")
    condition = " AND ".join(where) or "true"
    counts = {
        (str(site), str(year), str(month)): int(n)
        for site, year, month, n in con.execute(
            f"SELECT site, year, month, count(*) FROM _keys WHERE {condition} GROUP BY ALL",
            params,
        ).fetchall()
    }
    groups: dict[tuple[str, str, str], list[Path]] = {}
    for path in parquet_files(root):
        part = partition_of(root, path)
        if part is not None and part in counts:
            groups.setdefault(part, []).append(path)
    chosen = sorted(groups, key=lambda p: (p[0], p[1] == "unknown", p[1], p[2]))
    total = sum(counts[part] for part in chosen)
    runs: list[Run] = []  # consecutive partitions read by one query
    for part in chosen:
        size = sum(path.stat().st_size for path in groups[part])
        if not runs or not together or runs[-1].held + size > RUN_BYTES:
            runs.append(Run())
        runs[-1].add(part, groups[part], size, counts[part])

    def read(run: Run, out: Queue[object], stop: Event) -> None:
        """Read one run of partitions into ``out``, batch by batch, then ``_DONE`` (or
        the error)."""

        def put(item: object) -> bool:
            while not stop.is_set():
                try:
                    out.put(item, timeout=0.2)
                    return True
                except Full:
                    continue
            return False

        cursor = con.cursor()
        try:
            if run.rows > CHUNK_ROWS:
                rows = read_in_chunks(cursor, run.parts, select, condition, params)
            else:
                rows = read_partition(cursor, run.files, select, condition, params)
            for batch in rows:
                if not put(batch):
                    return
            put(_DONE)
        except BaseException as error:  # handed to the consumer, raised there
            put(error)
        finally:
            cursor.close()

    def batches() -> Iterator[pa.RecordBatch]:
        # Two runs are read at once, each by its own query on its own cursor: DuckDB
        # decompresses, formats and sorts one while the other's sorted rows are
        # handed to the writer, so both cores work. Each streams through a short
        # queue; the runs are taken in order, and a finished run's reader starts the
        # run after the next. Memory: two sorts (capped, they spill) and a few batches.
        from collections import deque
        from concurrent.futures import ThreadPoolExecutor

        from crawler.archive.views import give_back_memory

        stop = Event()
        pending: deque[tuple[Queue[object], int]] = deque()
        todo = deque(runs)
        with ThreadPoolExecutor(max_workers=READERS) as pool:

            def start() -> None:
                # A second run only while both are small (:data:`RUN_BYTES`).
                while todo and (
                    not pending
                    or (
                        len(pending) < READERS
                        and sum(n for _, n in pending) + todo[0].held <= READERS * RUN_BYTES
                    )
                ):
                    run = todo.popleft()
                    queue: Queue[object] = Queue(maxsize=QUEUED_BATCHES)
                    pool.submit(read, run, queue, stop)
                    pending.append((queue, run.held))

            try:
                start()
                while pending:
                    queue, _held = pending.popleft()
                    while (item := queue.get()) is not _DONE:
                        if isinstance(item, BaseException):
                            raise item
                        yield item  # type: ignore[misc]
                    del item
                    give_back_memory()  # else the peak creeps up, run by run
                    start()
            finally:
                stop.set()

    return total, batches()


@dataclass
class Run:
    """Consecutive partitions read by one query: their files, bytes and rows."""

    parts: list[tuple[str, str, str]] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    held: int = 0
    rows: int = 0

    def add(self, part: tuple[str, str, str], files: list[Path], size: int, rows: int) -> None:
        self.parts.append(part)
        self.files += files
        self.held += size
        self.rows += rows


def read_in_chunks(
    cursor: duckdb.DuckDBPyConnection,
    parts: list[tuple[str, str, str]],
    select: str,
    condition: str,
    params: Sequence[Any],
) -> Iterator[pa.RecordBatch]:
    """The rows of ``parts`` in output order, when they are too many to sort at once in
    bounded memory (DuckDB failed to spill a sort of 46,000 rows with their bodies):
    their order is found over the few columns that give it, then they are read
    :data:`CHUNK_ROWS` at a time, in that order, each chunk from the files that hold it."""
    import threading

    import pyarrow as pa

    from crawler.archive.views import rows_sql

    which = " OR ".join("(site = ? AND year = ? AND month = ?)" for _ in parts)
    order = cursor.sql(
        f"SELECT _file, _row FROM _keys WHERE ({which}) AND {condition} "
        f"ORDER BY {PARTITION_ORDER}, {EXPORT_ORDER}",
        params=[*(value for part in parts for value in part), *params],
    ).to_arrow_table()
    if order is None:
        return
    name = f"_chunk_{threading.get_ident()}"
    for start in range(0, order.num_rows, CHUNK_ROWS):
        piece = order.slice(start, CHUNK_ROWS)
        piece = piece.append_column("_rank", pa.array(range(piece.num_rows), pa.int64()))
        files = [Path(f) for f in sorted(set(piece.column("_file").to_pylist()))]
        cursor.register(name, piece)
        try:
            yield from _arrow_reader(
                cursor.sql(
                    f"SELECT {select} FROM ({rows_sql(cursor, files)}) AS r "
                    f"JOIN {name} AS c ON r._file = c._file AND r._row = c._row "
                    "ORDER BY c._rank"
                ),
                BATCH_ROWS,
            )
        finally:
            cursor.unregister(name)


def read_partition(
    cursor: duckdb.DuckDBPyConnection,
    files: list[Path],
    select: str,
    condition: str,
    params: Sequence[Any],
) -> Iterator[pa.RecordBatch]:
    """The rows of ``files`` (one or more whole partitions; ``select`` of each) in output
    order, sorted by DuckDB (which spills to disk beyond :data:`EXPORT_MEMORY`).

    The partitions are read from their own files (binding a view of every file costs a
    look at every file's schema, for each query).
    """
    from crawler.archive.views import rows_sql

    ordered = (
        f"SELECT {select} FROM ({rows_sql(cursor, files)}) WHERE {condition} "
        f"ORDER BY {PARTITION_ORDER}, {EXPORT_ORDER}"
    )
    yield from _arrow_reader(cursor.sql(ordered, params=list(params)), BATCH_ROWS)


def _arrow_reader(relation: duckdb.DuckDBPyRelation, rows: int) -> Iterator[pa.RecordBatch]:
    # DuckDB 1.4+ names it to_arrow_reader; earlier ones fetch_record_batch.
    fetch = getattr(relation, "to_arrow_reader", None) or relation.fetch_record_batch
    yield from fetch(rows)


def _with_export_connection(root: Path | str, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """Run ``work`` with the view ``_keys``: of every row, the columns that filter it and
    pick the newest, and where it is. It is the row index (:mod:`crawler.archive.catalog`:
    files it does not cover are read and checked directly), so that setting out costs a
    read of its few small columns, not of every file's footer and keys; partitions are
    then read from their own files (:func:`export_batches`)."""
    import tempfile

    import duckdb

    from crawler.archive.catalog import open_index, rows_view
    from crawler.archive.layout import ARTICLES_DIR
    from crawler.archive.views import absolute, read_error, sql_string

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET memory_limit = {sql_string(EXPORT_MEMORY)}")
        con.execute(f"SET temp_directory = {sql_string(tempfile.gettempdir())}")
        rows_view(open_index(root, con), con, "_rows_index", shared=True)  # for every cursor
        # DuckDB's own name of a file (``filename``), as the partitions' reads give it.
        articles = absolute(Path(root) / ARTICLES_DIR) + "/"
        con.execute(
            "CREATE VIEW _keys AS SELECT url_key, fetched_at, crawl_run, published_at, site, "
            f"year, month, {sql_string(articles)} || file AS _file, row AS _row FROM _rows_index"
        )
        return work(con)
    except duckdb.Error as error:
        raise read_error(root, error) from None
    finally:
        con.close()


def write_utf8(out: IO[bytes], column: pa.Array) -> bool:
    """Write a column of text as its UTF-8 bytes, straight from Arrow's buffer (no
    Python strings); False if the column is not laid out so (then nothing is written)."""
    import struct

    import pyarrow as pa

    if pa.types.is_string(column.type):
        width, form = 4, "<i"
    elif pa.types.is_large_string(column.type):
        width, form = 8, "<q"
    else:
        return False
    if len(column) == 0:
        return True
    _validity, offsets, data = column.buffers()
    if offsets is None or data is None:
        return False
    start = struct.unpack_from(form, offsets, width * column.offset)[0]
    end = struct.unpack_from(form, offsets, width * (column.offset + len(column)))[0]
    out.write(memoryview(data)[start:end])
    return True


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

    def work(con: duckdb.DuckDBPyConnection) -> int:
        select = line_sql(fmt, RECORD_COLUMNS, raw_cells)
        total, batches = export_batches(
            con, root, select, sites, since, until, all_versions, zones, default_zone
        )
        written = 0
        if fmt == "csv":
            out.write(csv_header(RECORD_COLUMNS, raw_cells))
        raw = getattr(out, "buffer", None)
        if raw is not None:
            out.flush()  # what was written as text goes first
        with Progress("export", total, "rows") as progress:
            for batch in batches:
                column = batch.column(0)
                if raw is None or not write_utf8(raw, column):
                    out.write("".join(column.to_pylist()))
                written += batch.num_rows
                progress.advance(batch.num_rows)
        if raw is not None:
            raw.flush()
        return written

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
    with the archive's types (``site`` a column); return the number of rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from crawler.archive.schema import ARTICLE_SCHEMA
    from crawler.archive.views import RECORD_COLUMNS
    from crawler.archive.writer import COMPRESSION

    schema = pa.schema([ARTICLE_SCHEMA.field(name) for name in RECORD_COLUMNS])

    def work(con: duckdb.DuckDBPyConnection) -> int:
        total, batches = export_batches(
            con,
            root,
            ", ".join(RECORD_COLUMNS),
            sites,
            since,
            until,
            all_versions,
            zones,
            default_zone,
            together=False,  # the row groups as they were: one or more a partition
        )
        written = 0
        with (
            Progress("export", total, "rows") as progress,
            pq.ParquetWriter(target, schema, compression=COMPRESSION) as writer,
        ):
            for batch in batches:
                columns = [batch.column(n).cast(schema.field(n).type) for n in RECORD_COLUMNS]
                writer.write_batch(pa.RecordBatch.from_arrays(columns, schema=schema))
                written += batch.num_rows
                progress.advance(batch.num_rows)
        return written

    return _with_export_connection(root, work)
