"""``crawler sql`` and ``crawler export``: the archive through DuckDB, and out of it.

``sql`` runs one query with the views ``articles`` (every row) and ``latest``
(the newest row of each article) ready; ``export`` writes the newest row of
each article as JSON lines or CSV, for people who do not read Parquet.

``sql`` reads and never writes. A statement is run only if DuckDB parses it as
one query (:func:`check_query`), and on a connection that may read the
archive's own files and nothing else (:func:`crawler.duck.connect`,
``sandbox``): ``COPY``, ``ATTACH``, ``INSTALL``, ``SET``, ``CREATE`` … are
refused before they run, and ``read_text('/etc/passwd')`` inside a query is
refused by DuckDB itself.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from crawler.cli import CommandError, _date, print_json
from crawler.duck import ArchiveError, one_line, printable, protected_dir, retrying
from crawler.inspect import add_archive_option
from crawler.progress import Progress

if TYPE_CHECKING:
    import _csv

    import duckdb

MAX_CELL = 40
BATCH_ROWS = 2048


# -- sql ---------------------------------------------------------------------------


QUERY_KINDS = "SELECT, WITH, VALUES, FROM, DESCRIBE, SUMMARIZE, SHOW, or EXPLAIN of one of them"
_EXPLAIN = re.compile(r"^\s*EXPLAIN\s+(?:ANALYZE\s+)?", re.IGNORECASE)


def check_query(con: duckdb.DuckDBPyConnection, text: str) -> duckdb.Statement:
    """The one query ``text`` holds, or a one-line :class:`CommandError` saying why not.

    A query is what DuckDB parses as a ``SELECT`` statement (that includes
    ``WITH``, ``VALUES``, ``FROM`` first, ``DESCRIBE``, ``SUMMARIZE`` and
    ``SHOW``), or ``EXPLAIN [ANALYZE]`` of one. Everything else is refused,
    ``PRAGMA`` and ``CALL`` too (some of them change settings or write files).
    """
    import duckdb

    statements = con.extract_statements(text)
    if len(statements) != 1:
        raise CommandError(
            f"give one statement, not {len(statements)}: only a query is run ({QUERY_KINDS})"
        )
    statement = statements[0]
    kind = statement.type
    if kind == duckdb.StatementType.EXPLAIN:
        inner = _EXPLAIN.sub("", statement.query, count=1)
        explained = con.extract_statements(inner) if inner != statement.query else []
        if len(explained) == 1 and explained[0].type == duckdb.StatementType.SELECT:
            return statement
        raise CommandError(f"refused: only a query can be explained ({QUERY_KINDS})")
    if kind != duckdb.StatementType.SELECT:
        raise CommandError(
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


def _plain(value: Any) -> Any:
    """A cell as JSON would hold it: timestamps as ISO 8601, nested values kept."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Decimal):
        return float(value)
    return value


def _text(value: Any) -> str:
    """A cell as text: nested values as JSON, null as empty."""
    value = _plain(value)
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
    text = _text(value)
    if raw or isinstance(value, int | float | Decimal) or not text.startswith(FORMULA_STARTS):
        return text
    return "'" + text


def csv_writer(out: IO[str], names: Sequence[str], raw: bool = False) -> _csv.Writer:
    """A CSV writer that has written the header: every field quoted, so that a bare
    carriage return in a cell cannot split its row."""
    writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow([csv_cell(n, raw) for n in names])  # a PIVOT names columns by data
    return writer


def render_table(
    names: Sequence[str], rows: Sequence[Sequence[Any]], max_cell: int = MAX_CELL
) -> str:
    """Rows as an aligned text table; long cells are cut with an ellipsis, newlines shown as ⏎."""

    def cell(value: Any) -> str:
        text = _text(value).replace("\n", "⏎")
        return text if len(text) <= max_cell else text[: max_cell - 1] + "…"

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max([len(n), *(len(r[i]) for r in cells)]) for i, n in enumerate(names)]
    numeric = [
        all(
            isinstance(row[i], int | float) and not isinstance(row[i], bool)
            for row in rows
            if row[i] is not None
        )
        and any(row[i] is not None for row in rows)
        for i in range(len(names))
    ]

    def line(values: Sequence[str]) -> str:
        return " | ".join(
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    out = [line(list(names)), "-+-".join("-" * w for w in widths)]
    out += [line(r) for r in cells]
    return "\n".join(out)


def cmd_sql(args: argparse.Namespace) -> int:
    import duckdb

    statement = args.statement
    if statement == "-":
        statement = sys.stdin.read()
    if not statement.strip():
        raise CommandError(
            'give a SQL statement, e.g. "SELECT site, count(*) FROM articles GROUP BY site"'
        )
    limit = None if args.csv or args.json or args.max_rows == 0 else args.max_rows
    try:
        names, rows, more = run_sql(args.archive, statement, limit)
    except ArchiveError as error:
        raise CommandError(str(error)) from None
    except duckdb.PermissionException as error:
        raise CommandError(
            f"refused: {one_line(error)} (crawler sql reads the archive's own files only)"
        ) from None
    except duckdb.Error as error:
        raise CommandError(one_line(error)) from None
    if args.json:
        print_json([{n: _plain(v) for n, v in zip(names, row, strict=True)} for row in rows])
    elif args.csv:
        writer = csv_writer(sys.stdout, names, args.raw_cells)
        writer.writerows([csv_cell(v, args.raw_cells) for v in row] for row in rows)
    elif names:
        sys.stdout.write(render_table(names, rows) + "\n")
        note = f"{len(rows):,} row{'s' if len(rows) != 1 else ''}"
        if more:
            note += " shown; more left out (--max-rows 0 for all, or --csv / --json)"
        print(note, file=sys.stderr)
    return 0


# -- export ------------------------------------------------------------------------


def export_query(
    sites: Sequence[str] | None, since: date | None, until: date | None, all_versions: bool
) -> tuple[str, str, list[Any]]:
    """The SELECT behind ``crawler export``, a cheap count of its rows (for the progress
    bar: no window over whole rows), and their parameters."""
    from crawler.duck import RECORD_COLUMNS

    where, params = [], []
    if sites:
        where.append("site IN (" + ", ".join("?" for _ in sites) + ")")
        params += list(sites)
    if since:
        where.append("published_at >= CAST(? AS TIMESTAMPTZ)")
        params.append(f"{since.isoformat()} 00:00:00+00")
    if until:
        where.append("published_at < CAST(? AS TIMESTAMPTZ) + INTERVAL 1 DAY")
        params.append(f"{until.isoformat()} 00:00:00+00")
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
                    json.dumps({n: _plain(row[n]) for n in names}, ensure_ascii=False) + "\n"
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
) -> int:
    """Export the archive to ``out``; return the number of rows."""
    from crawler.duck import RECORD_COLUMNS

    sql, count_sql, params = export_query(sites, since, until, all_versions)

    def work(con: duckdb.DuckDBPyConnection) -> int:
        count, batches = _batches(con, sql, count_sql, params)
        with Progress("export", count, "rows") as progress:
            return write_rows(out, fmt, RECORD_COLUMNS, batches, progress, raw_cells)

    return retrying(root, work, tries=1)


def cmd_export(args: argparse.Namespace) -> int:
    import duckdb

    if args.since and args.until and args.since > args.until:
        raise CommandError(f"--since {args.since} is after --until {args.until}")
    target: Path | None = Path(args.output) if args.output and args.output != "-" else None
    try:
        if target is None:
            n = export(
                args.archive,
                sys.stdout,
                args.format,
                args.site,
                args.since,
                args.until,
                args.all_versions,
                args.raw_cells,
            )
        else:
            n = _export_to_file(args, target)
    except ArchiveError as error:
        raise CommandError(str(error)) from None
    except duckdb.Error as error:
        raise CommandError(one_line(error)) from None
    where = "" if target is None else f" to {target}"
    print(f"export: {n:,} rows{where}", file=sys.stderr)
    return 0


def check_output(target: Path) -> None:
    """Refuse to write into an archive's own directories (``articles/``, ``raw/`` …)."""
    inside = protected_dir(target)
    if inside is not None:
        raise CommandError(
            printable(
                f"refused to write {target}: it is inside {inside}, one of the archive's own "
                "directories (only crawls, compaction and `crawler validate --quarantine` "
                "write there); give a path outside it"
            )
        )


def _export_to_file(args: argparse.Namespace, target: Path) -> int:
    """Write beside the target, then rename: a reader never sees half an export."""
    check_output(target)
    if target.is_dir():
        raise CommandError(f"cannot write {target}: it is a directory")
    if not target.parent.is_dir():
        raise CommandError(f"cannot write {target}: no such directory {target.parent}")
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "w", encoding="utf-8", newline="") as handle:
            n = export(
                args.archive,
                handle,
                args.format,
                args.site,
                args.since,
                args.until,
                args.all_versions,
                args.raw_cells,
            )
        os.replace(temporary, target)
    except OSError as error:
        raise CommandError(f"cannot write {target}: {error.strerror or error}") from None
    finally:
        if temporary.exists():
            temporary.unlink()
    return n


def add_raw_cells_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--raw-cells",
        action="store_true",
        help="in CSV, leave cells as they are: by default a text cell that starts with "
        "= + - @ (or their full-width forms), a tab or a carriage return gets a leading ' "
        "so that a spreadsheet does not run it as a formula (JSON is always raw)",
    )


def register(sub: Any, command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``sql`` and ``export`` to the ``crawler`` command."""
    p = command(
        "sql",
        "Run a DuckDB query over the archive and print the result.\n\n"
        "Views: articles (every row: the record's columns, then year and month) and latest "
        "(the newest row of each url_key). Results print as a table (long cells cut), or as "
        "CSV or JSON with a flag.\n\n"
        f"Only one query is run ({QUERY_KINDS}); it reads the archive's own files and "
        "nothing else. COPY, ATTACH, INSTALL, SET, CREATE, PRAGMA, several statements, or "
        "reading another file are refused (exit 2).",
    )
    p.add_argument(
        "statement", metavar="SQL", help="the statement, or - to read it from standard input"
    )
    add_archive_option(p)
    form = p.add_mutually_exclusive_group()
    form.add_argument("--csv", action="store_true", help="print CSV (every row)")
    form.add_argument(
        "--json", action="store_true", help="print a JSON array of objects (every row)"
    )
    p.add_argument(
        "--max-rows", type=int, default=100, help="rows shown in a table (default 100; 0 for all)"
    )
    add_raw_cells_option(p)
    p.set_defaults(func=cmd_sql)

    p = command(
        "export",
        "Write the newest row of each article as JSON lines or CSV (nested columns as JSON "
        "text in CSV; timestamps ISO 8601, UTC).",
    )
    add_archive_option(p)
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl", help="default jsonl")
    p.add_argument("--site", action="append", help="only this site (repeatable)")
    p.add_argument("--since", type=_date, help="published on or after this date (UTC), YYYY-MM-DD")
    p.add_argument("--until", type=_date, help="published on or before this date (UTC), YYYY-MM-DD")
    p.add_argument(
        "--all-versions", action="store_true", help="every row, not only the newest of each article"
    )
    p.add_argument("-o", "--output", metavar="FILE", help="write here (default: standard output)")
    add_raw_cells_option(p)
    p.set_defaults(func=cmd_export)
