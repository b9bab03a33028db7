"""``crawler fixture`` and ``crawler new-site``: the tools for adding a site."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from crawler.commands._common import (
    CommandError,
    check_output,
    spider_class,
)


def cmd_fixture(args: argparse.Namespace) -> int:
    from crawler.kit.fixtures import refresh, save_fixture

    spidercls = spider_class(args.spider)
    root = Path(args.dir)
    check_output(root)
    if args.refresh:
        if args.file:
            raise CommandError("--refresh takes no page: it re-derives every stored fixture")
        try:
            results = refresh(spidercls, root, write=args.write)
        except (FileNotFoundError, ValueError) as error:  # a case naming no page, or two
            raise CommandError(str(error)) from None
        changed = [r for r in results if r.diff]
        for result in changed:
            sys.stdout.write(result.diff)
        verb = "rewrote" if args.write else "would change (run again with --write to store)"
        print(f"{len(results)} fixtures of {args.spider}; {verb} {len(changed)}", file=sys.stderr)
        return 0
    if not args.file or not args.url:
        raise CommandError("give the saved page and its --url (or --refresh SPIDER)")
    page = Path(args.file)
    if not page.is_file():
        raise CommandError(f"no such file: {page}")
    from scrapy.exceptions import DropItem

    try:
        target, stored = save_fixture(spidercls, page, args.url, root, args.name)
    except DropItem as error:
        raise CommandError(f"not an article: {error}") from None
    print(f"wrote {target}, its page {stored}: review the JSON against the page")
    return 0


def cmd_new_site(args: argparse.Namespace) -> int:
    from crawler.kit.newsite import PROJECT_ROOT, scaffold

    check_output(Path(args.root or PROJECT_ROOT))
    try:
        files = scaffold(args.name, args.domain, args.language, Path(args.root or PROJECT_ROOT))
    except (ValueError, OSError, RuntimeError) as error:
        raise CommandError(str(error)) from None
    for path in files:
        print(f"wrote {path}")
    print(
        f"next: fill in the selectors in {files[0].name}, write the replica's articles and "
        f"markup (then python -m replicas {args.name}), add fixtures; see docs/adding-a-site.md",
        file=sys.stderr,
    )
    return 0


def register(sub: Any, command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``fixture``, ``new-site`` to the ``crawler`` command."""
    p = command(
        "fixture", "Store a saved page as a fixture with its drafted record, or re-derive them all."
    )
    p.add_argument("spider", help="spider name")
    p.add_argument("file", nargs="?", help="saved HTML page")
    p.add_argument("--url", help="the URL the page was fetched from")
    p.add_argument("--name", help="case name (default: from the URL)")
    p.add_argument(
        "--refresh", action="store_true", help="re-derive every fixture of SPIDER, show diffs"
    )
    p.add_argument(
        "--write", action="store_true", help="with --refresh: store the re-derived records"
    )
    p.add_argument("--dir", default="tests/fixtures", help="fixtures root (default tests/fixtures)")
    p.set_defaults(func=cmd_fixture)

    p = command(
        "new-site",
        "Write everything a new site needs: its spider module, the replica's build script "
        "(replicas/NAME.py) with its sources, the replica it builds, the site's test module "
        "and its fixtures folder. The module's parser starts on generic extraction "
        "(parser_version generic-<n>), so the site archives at once; each selector filled "
        "in takes over its field. See docs/adding-a-site.md.",
    )
    p.add_argument("name", help="spider name, e.g. vnexpress_qp")
    p.add_argument("--domain", required=True, help="the site's host, e.g. www.example.vn")
    p.add_argument("--language", default="vi", help="BCP 47 language of the site (default vi)")
    p.add_argument("--root", help="project checkout to write into (default: this one)")
    p.set_defaults(func=cmd_new_site)
