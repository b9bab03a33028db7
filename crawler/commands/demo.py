"""``crawler demo``: the bundled replicas served on loopback, crawled, summarised."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from crawler.commands._common import (
    CommandError,
    add_archive_option,
    add_log_level_option,
    add_settings_option,
    settings_pairs,
)


def cmd_demo(args: argparse.Namespace) -> int:
    from crawler.archive.writer import ArchiveNotWritable
    from crawler.mirror.demo import run_demo, run_generic_demo

    overrides = settings_pairs(args.set)
    if args.json and not args.generic:
        raise CommandError("--json goes with --generic")
    if args.generic:
        return run_generic_demo(log_level=args.log_level, as_json=args.json, **overrides)
    try:
        return run_demo(args.archive, log_level=args.log_level, **overrides)
    except ArchiveNotWritable as error:
        raise CommandError(str(error)) from None


def register(sub: Any, command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``demo`` to the ``crawler`` command."""
    p = command(
        "demo",
        "Serve the bundled replica sites on 127.0.0.1, crawl them, summarise. With --generic, "
        "crawl every replica twice, with its site spider and with the generic spider started "
        "at its home page, into temporary archives, and print per site: the articles each "
        "found, the share of the site spider's the generic one found too, the share of those "
        "whose titles match, and their median body F1.\n\n"
        "Exit status: 0 every crawl finished cleanly; 1 one did not; 2 bad arguments.",
    )
    add_archive_option(p)
    p.add_argument(
        "--generic",
        action="store_true",
        help="compare the generic spider with the site spiders (nothing is archived)",
    )
    p.add_argument("--json", action="store_true", help="with --generic: the numbers as JSON")
    add_log_level_option(p)
    add_settings_option(p)
    p.set_defaults(func=cmd_demo)
