"""What every replica build script shares: HTML text helpers, writing, the ``--check``.

Each ``build_<spider>.py`` turns its sources into a replica folder (pages and a
manifest) with a ``build(sources, out)`` function and hands it to :func:`run`.
"""

from __future__ import annotations

import argparse
import filecmp
import html
import re
import sys
import tempfile
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

Build = Callable[[Path, Path], dict[str, Any]]


def fold(text: str) -> str:
    """NFC, no-break spaces as spaces, runs of white space folded, stripped."""
    return " ".join(unicodedata.normalize("NFC", text).replace("\xa0", " ").split())


def slugify(title: str) -> str:
    """URL slug of a Vietnamese title: no diacritics, lower case, hyphens."""
    text = title.replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def esc(text: str) -> str:
    """Escape text for HTML, no-break spaces written as ``&nbsp;`` as a CMS does."""
    return html.escape(text, quote=False).replace("\xa0", "&nbsp;")


def attr(text: str) -> str:
    return html.escape(text, quote=True)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


def compare_trees(fresh: Path, committed: Path) -> list[str]:
    """How the committed replica differs from a fresh build, file by file."""

    def files(root: Path) -> set[str]:
        return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}

    new, old = files(fresh), files(committed)
    diffs = [f"missing: {p}" for p in sorted(new - old)]
    diffs += [f"not built by the script: {p}" for p in sorted(old - new)]
    diffs += [
        f"differs: {p}"
        for p in sorted(new & old)
        if not filecmp.cmp(fresh / p, committed / p, shallow=False)
    ]
    return diffs


def check(build: Build, sources: Path, out: Path) -> list[str]:
    """Differences between the committed replica and a fresh build."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "site"
        build(sources, fresh)
        return compare_trees(fresh, out)


def run(build: Build, site: str, sources: Path, out: Path, argv: list[str] | None = None) -> int:
    """The command line of a build script: build, or ``--check`` that the committed replica is current."""
    parser = argparse.ArgumentParser(description=f"Build the {site} replica from its sources.")
    parser.add_argument("--sources", type=Path, default=sources, help="sources folder")
    parser.add_argument("--out", type=Path, default=out, help="replica folder to write")
    parser.add_argument(
        "--check", action="store_true", help="only compare with --out; exit 1 if stale"
    )
    args = parser.parse_args(argv)
    if args.check:
        diffs = check(build, args.sources, args.out)
        for line in diffs:
            print(line, file=sys.stderr)
        return 1 if diffs else 0
    manifest = build(args.sources, args.out)
    print(f"built {args.out}: {len(manifest['articles'])} articles", file=sys.stderr)
    return 0
