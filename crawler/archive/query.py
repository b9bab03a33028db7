"""``crawler sql``: the archive through DuckDB, and its cells as text.

``sql`` runs one query with the views ``articles`` (every row) and ``latest``
(the newest row of each article) ready. Its cells as CSV text (:func:`csv_cell`)
are also the export's (:mod:`crawler.archive.export`).

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
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

from crawler.archive.views import ArchiveError, retrying

if TYPE_CHECKING:
    import _csv

    import duckdb

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
