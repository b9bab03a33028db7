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
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from crawler.archive.views import ArchiveError, retrying
from crawler.progress import Progress

if TYPE_CHECKING:
    import _csv

    import duckdb

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


def export_query(
    sites: Sequence[str] | None,
    since: date | None,
    until: date | None,
    all_versions: bool,
    zones: Mapping[str, tzinfo] | None = None,
    default_zone: tzinfo = UTC,
) -> tuple[str, str, list[Any]]:
    """The SELECT behind ``crawler export``, a cheap count of its rows (for the progress
    bar: no window over whole rows), and their parameters. Dates are each site's local
    days (``zones``; ``default_zone`` for sites not in it)."""
    from crawler.archive.views import RECORD_COLUMNS
    from crawler.archive.window import date_window

    where, params = [], []
    if sites:
        where.append("site IN (" + ", ".join("?" for _ in sites) + ")")
        params += list(sites)
    window, values = date_window(since, until, zones or {}, default_zone)
    if window:
        where.append(window)
        params += values
    condition = (" WHERE " + " AND ".join(where)) if where else ""
    view = "articles" if all_versions else "latest"
    sql = f"SELECT {', '.join(RECORD_COLUMNS)} FROM {view}{condition}"
    sql += " ORDER BY site, published_at NULLS LAST, url_key"
    counted = "count(*)" if all_versions else "count(DISTINCT url_key)"
    return sql, f"SELECT {counted} FROM articles{condition}", params


def _batches(
    con: duckdb.DuckDBPyConnection, sql: str, count_sql: str, params: list[Any]
) -> tuple[int, Iterator[list[dict[str, Any]]]]:
    total = con.execute(count_sql, params).fetchall()
    count = int(total[0][0]) if total else 0
    relation = con.sql(sql, params=params)
    # DuckDB 1.4+ names it to_arrow_reader; earlier ones fetch_record_batch.
    fetch = getattr(relation, "to_arrow_reader", None) or relation.fetch_record_batch
    reader = fetch(BATCH_ROWS)

    def rows() -> Iterator[list[dict[str, Any]]]:
        for batch in reader:
            yield batch.to_pylist()

    return count, rows()


def write_rows(
    out: IO[str],
    fmt: str,
    names: Sequence[str],
    batches: Iterator[list[dict[str, Any]]],
    progress: Progress,
    raw_cells: bool = False,
) -> int:
    """Write batches of rows as JSON lines or CSV; return how many rows were written."""
    written = 0
    writer = csv_writer(out, names, raw_cells) if fmt == "csv" else None
    for batch in batches:
        if writer is not None:
            writer.writerows([csv_cell(row[n], raw_cells) for n in names] for row in batch)
        else:
            out.write(
                "".join(
                    json.dumps({n: plain(row[n]) for n in names}, ensure_ascii=False) + "\n"
                    for row in batch
                )
            )
        written += len(batch)
        progress.advance(len(batch))
    return written


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
    """Export the archive to ``out``; return the number of rows."""
    from crawler.archive.views import RECORD_COLUMNS

    sql, count_sql, params = export_query(sites, since, until, all_versions, zones, default_zone)

    def work(con: duckdb.DuckDBPyConnection) -> int:
        count, batches = _batches(con, sql, count_sql, params)
        with Progress("export", count, "rows") as progress:
            return write_rows(out, fmt, RECORD_COLUMNS, batches, progress, raw_cells)

    return retrying(root, work, tries=1)
