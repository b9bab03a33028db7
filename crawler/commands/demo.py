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
    from crawler.mirror.demo import run_demo

    overrides = settings_pairs(args.set)
    try:
        return run_demo(args.archive, log_level=args.log_level, **overrides)
    except ArchiveNotWritable as error:
        raise CommandError(str(error)) from None


def register(sub: Any, command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``demo`` to the ``crawler`` command."""
    p = command("demo", "Serve the bundled replica sites on 127.0.0.1, crawl them, summarise.")
    add_archive_option(p)
    add_log_level_option(p)
    add_settings_option(p)
    p.set_defaults(func=cmd_demo)
