"""The archive commands of ``crawler``: inspect, show, sample, sql, export, validate,
compact, report, reextract.

Each command lives in its own module with a ``register(sub, command)``; this
one adds them all, so ``crawler/cli.py`` needs one line for the lot. The
modules import their heavy libraries (DuckDB, pyarrow, Scrapy) only when a
command runs, so ``crawler --help`` stays quick.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any


def register(sub: Any, command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add every archive command to the ``crawler`` command's subparsers."""
    from crawler import compact, inspect, query, reextract, report, validate

    inspect.register(sub, command)
    query.register(sub, command)
    validate.register(sub, command)
    compact.register(sub, command)
    report.register(sub, command)
    reextract.register(sub, command)
