"""What every command shares: the user-error exception, JSON output, option types.

Command modules import from here, never from ``crawler.cli``: the entry point
depends on the commands, not the other way round.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any


class CommandError(Exception):
    """A user error: printed as one line, exit status 2."""


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default) + "\n")


def parse_date(text: str) -> date:
    """An argparse type: ``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_archive_option(p: argparse.ArgumentParser) -> None:
    """``--archive DIR`` (alias ``--out``), as every archive command takes it."""
    p.add_argument(
        "--archive",
        "--out",
        dest="archive",
        default="output",
        type=Path,
        metavar="DIR",
        help="archive root (default output/)",
    )


def check_output(target: Path) -> None:
    """Refuse to write into an archive's own directories (``articles/``, ``raw/`` …)."""
    from crawler.archive.layout import protected_dir
    from crawler.archive.views import printable

    inside = protected_dir(target)
    if inside is not None:
        raise CommandError(
            printable(
                f"refused to write {target}: it is inside {inside}, one of the archive's own "
                "directories (only crawls, compaction and `crawler validate --quarantine` "
                "write there); give a path outside it"
            )
        )


def read_text(name: str) -> str:
    """A UTF-8 text file, or standard input for ``-``."""
    if name == "-":
        return sys.stdin.read()
    path = Path(name)
    if not path.is_file():
        raise CommandError(f"no such file: {path}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise CommandError(
            f"{path} is not UTF-8 text: {error.reason} at byte {error.start}"
        ) from None


def settings_pairs(pairs: list[str]) -> dict[str, str]:
    """``-s NAME=VALUE`` options as a dict."""
    settings = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise CommandError(f"--set takes NAME=VALUE, got {pair!r}")
        settings[name.strip()] = value
    return settings


def spider_class(name: str) -> Any:
    """The spider class called ``name``; an unknown name is a one-line error."""
    from scrapy.spiderloader import SpiderLoader

    from crawler.crawling.runner import project_settings

    loader = SpiderLoader.from_settings(project_settings())
    try:
        return loader.load(name)
    except KeyError:
        known = ", ".join(sorted(loader.list()))
        raise CommandError(f"unknown spider {name!r}; known: {known}") from None


def guard_archive(work: Callable[[], int]) -> int:
    """Archive and DuckDB errors as one line (``CommandError``)."""
    import duckdb

    from crawler.archive.views import ArchiveError, one_line

    try:
        return work()
    except ArchiveError as error:
        raise CommandError(str(error)) from None
    except duckdb.Error as error:
        raise CommandError(one_line(error)) from None
