"""``crawler compact``: the command line over crawler.archive.compaction, under the run lock."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from crawler.archive.compaction import (
    DEFAULT_MAX_ROWS,
    CheckFailed,
    CompactResult,
    compact,
    parse_month,
)
from crawler.archive.layout import lock_path
from crawler.archive.views import ArchiveError, one_line, parquet_files
from crawler.commands._common import SITE_HELP, CommandError, add_archive_option, print_json
from crawler.exit_codes import EXIT_LOCKED
from crawler.runs.lock import LockHeld, run_lock


def render(result: CompactResult) -> str:
    from crawler.archive.schema import SCHEMA_VERSION  # imports pyarrow: not at every start

    data = result.as_dict()
    verb = "would rewrite" if result.dry_run else "rewrote"
    lines = [
        f"compact: {verb} {data['partitions_rewritten']:,} partitions "
        f"({data['files_before']:,} files, {data['rows_before']:,} rows -> "
        f"{data['files_after']:,} files, {data['rows_after']:,} rows); "
        f"{data['partitions_untouched']:,} already compact"
        + (
            f"; {data['files_upgraded']:,} files of an older schema "
            f"{'would be' if result.dry_run else 'were'} upgraded to v{SCHEMA_VERSION}"
            if data["files_upgraded"]
            else ""
        )
    ]
    for p in result.partitions:
        if p.skipped:
            lines.append(f"  skipped {p.partition}: {p.skipped}")
        elif p.rows_before != p.rows_after:
            lines.append(
                f"  {p.partition}: {p.files_before} files -> {p.files_after}, "
                f"{p.rows_before - p.rows_after:,} older rows dropped"
            )
    return "\n".join(lines)


@contextlib.contextmanager
def _locked(root: Path) -> Iterator[None]:
    try:
        with run_lock(lock_path(root)):
            yield
    except LockHeld as error:
        raise _Locked(str(error).replace("; not starting", "")) from None


class _Locked(Exception):
    pass


def _month(text: str) -> tuple[str, str]:
    """An argparse type: ``YYYY-MM`` or ``unknown``."""
    try:
        return parse_month(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def cmd_compact(args: argparse.Namespace) -> int:
    import duckdb

    if args.old_max_rows is not None:  # the old spelling, before sql's --max-rows meant rows shown
        print("crawler compact: --max-rows is now --rows-per-file", file=sys.stderr)
        args.rows_per_file = args.old_max_rows
    if args.rows_per_file < 1:
        raise CommandError(f"--rows-per-file must be at least 1, got {args.rows_per_file}")
    try:
        parquet_files(args.archive)
        with _locked(Path(args.archive)):
            result = compact(args.archive, args.site, args.rows_per_file, args.dry_run, args.month)
    except _Locked as error:
        print(f"crawler compact: {error}; compact when it has finished", file=sys.stderr)
        return EXIT_LOCKED
    except ArchiveError as error:
        raise CommandError(str(error)) from None
    except CheckFailed as error:
        raise CommandError(f"compaction stopped: {error}") from None
    except duckdb.Error as error:
        raise CommandError(one_line(error)) from None
    except OSError as error:
        raise CommandError(f"compaction stopped: {error}") from None
    if args.json:
        print_json(result.as_dict())
    else:
        print(render(result))
    return 0


def cmd_index(args: argparse.Namespace) -> int:
    import duckdb

    from crawler.archive.catalog import rebuild
    from crawler.archive.layout import index_path

    try:
        catalog = rebuild(args.archive)
    except ArchiveError as error:
        raise CommandError(str(error)) from None
    except duckdb.Error as error:
        raise CommandError(one_line(error)) from None
    except OSError as error:
        raise CommandError(f"cannot write the index: {error}") from None
    rows = sum(int(entry[2] or 0) for entry in catalog.entries.values())
    print(
        f"index: {index_path(args.archive)} ({len(catalog.names):,} files, {rows:,} rows)",
        file=sys.stderr,
    )
    return 0


def register(sub: Any, command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``compact`` to the ``crawler`` command."""
    p = command(
        "compact",
        "Merge each partition's files into large ones, keeping one row per url_key (the "
        "newest), swapped in atomically: a reader never sees a partition half done. It "
        "checks itself first (the rows to keep chosen twice, each new file read back) and "
        "changes nothing if the result does not add up. Files of an older schema version "
        "are rewritten in the current one (older files make some readers, Polars, fail).\n\n"
        "Exit status: 0 done; 2 bad arguments, a file it cannot read (see crawler validate "
        "--quarantine), or a failed self-check (nothing changed); 5 a crawl-all run holds "
        "the archive's lock.",
    )
    add_archive_option(p)
    p.add_argument("--site", action="append", help=f"only this site's partitions: {SITE_HELP}")
    p.add_argument(
        "--month",
        action="append",
        type=_month,
        metavar="YYYY-MM",
        help="only this month's partitions (the month in the archive's directories, from "
        "each article's publish date); 'unknown' for the undated ones (repeatable). "
        "No other partition is rewritten, and only the files the row index names as "
        "holding other rows of the month's articles are read",
    )
    p.add_argument(
        "--rows-per-file",
        type=int,
        default=DEFAULT_MAX_ROWS,
        metavar="N",
        help=f"rows per file at most (default {DEFAULT_MAX_ROWS:,})",
    )
    p.add_argument("--max-rows", dest="old_max_rows", type=int, help=argparse.SUPPRESS)
    p.add_argument("--dry-run", action="store_true", help="say what would be done, do nothing")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_compact)

    p = command(
        "index",
        "Build the archive's row index again from its Parquet files: a few small columns of "
        "every row, sorted by url_key, in <archive>/_index/ (derived, safe to delete). "
        "inspect, show, sample and report read it and keep it up to date by themselves; "
        "run this after copying an archive, or to build it ahead of the first of them.",
    )
    add_archive_option(p)
    p.set_defaults(func=cmd_index)
