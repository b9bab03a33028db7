"""``crawler validate``: the command line over crawler.archive.checking."""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crawler.archive.checking import (
    Problem,
    Report,
    quarantine,
    validate,
)
from crawler.archive.layout import QUARANTINE_DIR
from crawler.archive.views import ArchiveError, one_line, printable
from crawler.commands._common import CommandError, add_archive_option, print_json
from crawler.exit_codes import EXIT_FAILED

SHOWN_PER_KIND = 20


KIND_TITLES = {
    "unreadable": "unreadable files",
    "schema": "files whose schema is not the archive's",
    "misplaced": "files outside the archive layout",
    "duplicate": "url_keys with more than one row (`crawler compact` keeps the newest)",
    "url_key": "rows whose url_key is not the hash of their url",
    "layout_token": "layout tokens left in text",
    "empty_body": "rows with an empty body",
    "empty_title": "rows with an empty title",
    "wrong_partition": "rows in a partition other than their publish month's",
    "raw_ref": "rows whose raw_ref leads to no stored page",
    "index": "the row index (derived from the files: delete it or run `crawler index`)",
}


def render(report: Report, show_all: bool = False) -> str:
    """The report for a terminal: problems grouped by kind, a summary line last."""
    lines: list[str] = []
    by_kind: dict[str, list[Problem]] = {}
    for problem in report.problems:
        by_kind.setdefault(problem.kind, []).append(problem)
    for kind, problems in by_kind.items():
        lines.append(f"{KIND_TITLES.get(kind, kind)} ({len(problems):,}):")
        shown = problems if show_all else problems[:SHOWN_PER_KIND]
        for p in shown:
            if p.places:
                lines.append(f"  {p.url} ({p.detail}):")
                lines += [f"      {place}" for place in p.places]
                continue
            where = p.file + (f" row {p.row}" if p.row is not None else "")
            url = f" {p.url}" if p.url else ""
            lines.append(f"  {where}:{url} {p.detail}")
        if len(problems) > len(shown):
            lines.append(f"  … and {len(problems) - len(shown):,} more (--all lists every one)")
        lines.append("")
    lines += _render_notes(report, show_all)
    for warning in report.warnings:
        lines.append(f"warning: {warning}")
    for moved in report.moved:
        lines.append(f"quarantined {moved.file} -> {moved.to} ({moved.why})")
    if report.moved:
        lines.append(
            f"{len(report.moved):,} files moved to {Path(report.root) / QUARANTINE_DIR}/, "
            "each with a .why note; nothing was deleted"
        )
    elif report.refused:
        lines.append(
            f"{len(report.refused):,} files stop the other commands (damaged, or not of the "
            f"archive's schema): `crawler validate --quarantine --archive "
            f"{shlex.quote(report.root)}` moves them to {Path(report.root) / QUARANTINE_DIR}/"
        )
    verdict = f"{len(report.problems):,} problems" if report.problems else "no problems"
    if report.notes:
        verdict += f" ({len(report.notes):,} notes)"
    lines.append(
        f"validate {report.root}: {verdict} in {report.files:,} files, {report.rows:,} rows"
    )
    return "\n".join(lines)


def _render_notes(report: Report, show_all: bool) -> list[str]:
    """Expected states, each with the command that clears it."""
    compact = f"`crawler compact --archive {shlex.quote(report.root)}`"
    lines: list[str] = []
    older = [note for note in report.notes if note.kind == "older_rows"]
    if older:
        rows = sum(len(note.places or ()) - 1 for note in older)
        lines.append(
            f"note: {len(older):,} articles have {rows:,} older rows (a refetch or a reextract "
            f"wrote newer ones), not a problem: {compact} keeps the newest row of each"
        )
        if show_all:
            lines += [f"  {note.url} ({note.detail})" for note in older]
    old = [note for note in report.notes if note.kind == "old_schema"]
    if old:
        lines.append(
            f"note: {len(old):,} files of an older schema version (read with the newer "
            f"columns null; Polars refuses them beside newer files): {compact} upgrades them"
        )
        shown = old if show_all else old[:SHOWN_PER_KIND]
        lines += [f"  {note.file} ({note.detail})" for note in shown]
        if len(old) > len(shown):
            lines.append(f"  … and {len(old) - len(shown):,} more (--all lists every one)")
    return [*lines, ""] if lines else []


def cmd_validate(args: argparse.Namespace) -> int:
    import duckdb

    try:
        report = validate(args.archive)
        if args.quarantine:
            quarantine(report)
    except ArchiveError as error:
        raise CommandError(str(error)) from None
    except duckdb.Error as error:
        raise CommandError(one_line(error)) from None
    except OSError as error:
        raise CommandError(printable(f"quarantine stopped: {error}")) from None
    if args.json:
        print_json(report.as_dict())
    else:
        sys.stdout.write(render(report, args.all) + "\n")
    return EXIT_FAILED if report.problems else 0


def register(sub: Any, command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``validate`` to the ``crawler`` command."""
    p = command(
        "validate",
        "Check the archive: every file readable and of the archive's schema and layout; "
        "one row per url_key; no layout tokens in any text column; no empty bodies or "
        "titles; rows in their publish month's partition; raw_ref pointing into a stored "
        "WARC file.\n\nA damaged file, or one not of the archive's schema, stops the other "
        "commands (and a crawl of its site) until it is moved out of articles/: "
        "--quarantine does that.\n\n"
        "Older rows of an article that a refetch or a reextract made newer ones of, and files "
        "of an older schema version, are notes, not problems: `crawler compact` clears them.\n\n"
        "Memory stays flat however large the archive: the keys of every row are spilled "
        "to a temporary directory ($TMPDIR, about 40 bytes a row, removed at the end).\n\n"
        "Exit status: 0 no problem (notes only, or nothing); 1 problems (listed, and moved "
        "with --quarantine); 2 no archive.",
    )
    add_archive_option(p)
    p.add_argument(
        "--all",
        action="store_true",
        help=f"list every problem (default: {SHOWN_PER_KIND} of each kind) and every note",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument(
        "--quarantine",
        action="store_true",
        help=f"move the files the other commands refuse to read (damaged, or not of the "
        f"archive's schema) to <archive>/{QUARANTINE_DIR}/<their path>, each with a .why "
        "note; nothing is deleted or overwritten",
    )
    p.set_defaults(func=cmd_validate)
