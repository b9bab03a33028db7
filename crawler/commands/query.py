"""``crawler sql`` and ``crawler export``: the command lines over crawler.archive.query
and crawler.archive.export."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, tzinfo
from pathlib import Path
from typing import IO, Any

from crawler.archive.export import FORMATS, export, export_parquet
from crawler.archive.query import QUERY_KINDS, cell_text, csv_cell, csv_writer, plain, run_sql
from crawler.archive.views import ArchiveError, one_line
from crawler.commands._common import (
    DATE_HELP,
    SITE_HELP,
    CommandError,
    add_archive_option,
    check_output,
    parse_date,
    print_json,
    site_zones,
)

MAX_CELL = 40
BOM = "\ufeff"
"""What tells a spreadsheet that a CSV file is UTF-8 (Excel guesses a legacy code page)."""


def render_table(
    names: Sequence[str], rows: Sequence[Sequence[Any]], max_cell: int = MAX_CELL
) -> str:
    """Rows as an aligned text table; long cells are cut with an ellipsis, newlines shown as ⏎."""

    def cell(value: Any) -> str:
        text = cell_text(value).replace("\n", "⏎")
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
        print_json([{n: plain(v) for n, v in zip(names, row, strict=True)} for row in rows])
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


def cmd_export(args: argparse.Namespace) -> int:
    if args.since and args.until and args.since > args.until:
        raise CommandError(f"--since {args.since} is after --until {args.until}")
    if args.excel and args.format != "csv":
        raise CommandError("--excel goes with --format csv")
    target: Path | None = Path(args.output) if args.output and args.output != "-" else None
    if args.format == "parquet" and target is None:
        raise CommandError("--format parquet writes a file: give -o FILE.parquet")
    try:
        if target is None and args.excel:
            sys.stdout.write(BOM)
        n = _export(args, sys.stdout) if target is None else _export_to_file(args, target)
    except ArchiveError as error:
        raise CommandError(str(error)) from None
    except Exception as error:
        # DuckDB's errors, without loading DuckDB here (the export's plan runs apart):
        # if it is not loaded, the error is not its
        duckdb = sys.modules.get("duckdb")
        if duckdb is None or not isinstance(error, duckdb.Error):
            raise
        raise CommandError(one_line(error)) from None
    where = "" if target is None else f" to {target}"
    print(f"export: {n:,} rows{where}", file=sys.stderr)
    return 0


def _zones(args: argparse.Namespace) -> tuple[Mapping[str, tzinfo], tzinfo]:
    """The sites' time zones, for a date window (the spiders are loaded only then)."""
    return site_zones() if args.since or args.until else ({}, UTC)


def _export(args: argparse.Namespace, out: IO[str]) -> int:
    zones, default_zone = _zones(args)
    return export(
        args.archive,
        out,
        args.format,
        args.site,
        args.since,
        args.until,
        args.all_versions,
        args.raw_cells,
        zones,
        default_zone,
    )


def _export_to_file(args: argparse.Namespace, target: Path) -> int:
    """Write beside the target, then rename: a reader never sees half an export (a
    device or a named pipe is written as it is)."""
    check_output(target)
    if target.is_dir():
        raise CommandError(f"cannot write {target}: it is a directory")
    if not target.parent.is_dir():
        raise CommandError(f"cannot write {target}: no such directory {target.parent}")
    if target.exists() and not target.is_file():
        # A device or a pipe (-o /dev/null, a named pipe): written in place. Renaming a
        # finished file over it would replace /dev/null itself for everyone.
        return _export_to(args, target, target)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        n = _export_to(args, temporary, target)
        os.replace(temporary, target)
    except OSError as error:
        raise CommandError(f"cannot write {target}: {error.strerror or error}") from None
    finally:
        if temporary.exists():
            temporary.unlink()
    return n


def _export_to(args: argparse.Namespace, path: Path, target: Path) -> int:
    """Export into ``path`` (``target`` itself, or the file renamed to it after)."""
    try:
        if args.format == "parquet":
            zones, default_zone = _zones(args)
            return export_parquet(
                args.archive, path, args.site, args.since, args.until, args.all_versions,
                zones, default_zone,
            )  # fmt: skip
        encoding = "utf-8-sig" if args.excel else "utf-8"  # -sig: the BOM first
        with open(path, "w", encoding=encoding, newline="") as handle:
            return _export(args, handle)
    except OSError as error:
        raise CommandError(f"cannot write {target}: {error.strerror or error}") from None


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
        "Write the newest row of each article as JSON lines, CSV (nested columns as JSON "
        "text in CSV; timestamps ISO 8601, UTC) or one flat Parquet file (-o FILE), ordered "
        "by site, publish date, url_key. It streams, a partition at a time: memory stays "
        "flat whatever the archive's size.",
    )
    add_archive_option(p)
    p.add_argument("--format", choices=FORMATS, default="jsonl", help="default jsonl")
    p.add_argument("--site", action="append", help=f"only this site: {SITE_HELP}")
    p.add_argument("--since", type=parse_date, help=DATE_HELP.format("on or after"))
    p.add_argument("--until", type=parse_date, help=DATE_HELP.format("on or before"))
    p.add_argument(
        "--all-versions", action="store_true", help="every row, not only the newest of each article"
    )
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write here, whole or not at all (default: standard output, streamed: "
        "for an export larger than the disk, pipe it on); a device or a named pipe is "
        "written in place",
    )
    p.add_argument(
        "--excel",
        action="store_true",
        help="with --format csv: UTF-8 with a byte-order mark, so that Excel and other "
        "spreadsheets show Vietnamese and Chinese text as it is",
    )
    add_raw_cells_option(p)
    p.set_defaults(func=cmd_export)
