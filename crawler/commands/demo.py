"""``crawler demo``: the bundled replicas served on loopback, crawled, summarised."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crawler.commands._common import (
    CommandError,
)


def cmd_demo(args: argparse.Namespace) -> int:
    from crawler.archive.writer import ArchiveNotWritable
    from crawler.mirror.demo import run_demo

    try:
        return run_demo(Path(args.out), log_level=args.log_level)
    except ArchiveNotWritable as error:
        raise CommandError(str(error)) from None


def register(sub: Any, command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``demo`` to the ``crawler`` command."""
    p = command("demo", "Serve the bundled replica sites on 127.0.0.1, crawl them, summarise.")
    p.add_argument("--out", default="output", help="archive root (default output/)")
    p.add_argument("--log-level", default="WARNING", help="Scrapy log level (default WARNING)")
    p.set_defaults(func=cmd_demo)
