"""``crawler report``: write the archive's HTML report (crawler.report builds it)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crawler.archive.views import ArchiveError, one_line
from crawler.commands._common import CommandError, add_archive_option, check_output
from crawler.report import write_report


def cmd_report(args: argparse.Namespace) -> int:
    import duckdb

    target = Path(args.html)
    check_output(target)
    if target.is_dir():
        raise CommandError(f"cannot write {target}: it is a directory")
    if not target.parent.is_dir():
        raise CommandError(f"cannot write {target}: no such directory {target.parent}")
    try:
        data = write_report(args.archive, target)
    except ArchiveError as error:
        raise CommandError(str(error)) from None
    except duckdb.Error as error:
        raise CommandError(one_line(error)) from None
    except OSError as error:
        raise CommandError(f"cannot write {target}: {error.strerror or error}") from None
    totals = data["totals"]
    print(
        f"report: {target} ({totals['articles']:,} articles, {totals['sites']} sites, "
        f"{len(data['runs'])} runs); open it in a browser, no network needed",
        file=sys.stderr,
    )
    return 0


def register(sub: Any, command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``report`` to the ``crawler`` command."""
    p = command(
        "report",
        "Write one self-contained HTML page (no network needed to open it) with charts: "
        "articles per day per site, body lengths, images and captions per article, top "
        "authors and tags, and the layout-alarm history of the crawl-all runs.",
    )
    add_archive_option(p)
    p.add_argument(
        "--html", required=True, metavar="FILE", help="the page to write, e.g. report.html"
    )
    p.set_defaults(func=cmd_report)
