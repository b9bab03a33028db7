"""``crawler search``: the command line over crawler.archive.search."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, tzinfo
from pathlib import Path
from typing import Any

from crawler.commands._common import (
    DATE_HELP,
    SITE_HELP,
    CommandError,
    add_archive_option,
    parse_date,
    print_json,
    site_zones,
)

RANKED_AT_MOST = 30_000  # crawler.archive.search.RANKED_AT_MOST (a test keeps them equal)
MAX_WORDS = 32
"""Each word is a posting list to intersect: thousands of them would take minutes."""


def cmd_search(args: argparse.Namespace) -> int:
    from crawler.archive.layout import ARTICLES_DIR
    from crawler.archive.search import SearchError, rebuild, search, sync
    from crawler.archive.views import printable
    from crawler.text.search_text import parse_query

    query = " ".join(args.query)
    terms = parse_query(query)
    if not args.rebuild and not terms:
        what = "give words to search for" if not query.strip() else "no word to search for in"
        raise CommandError(printable(f"{what} {query!r}" if query.strip() else what))
    words = sum(len(term.words) for term in terms)
    if words > MAX_WORDS:
        raise CommandError(f"too many words ({words:,}): a query takes at most {MAX_WORDS}")
    if args.n < 1:
        raise CommandError(f"-n must be at least 1, got {args.n}")
    if args.since and args.until and args.since > args.until:
        raise CommandError(f"--since {args.since} is after --until {args.until}")
    if not (args.archive / ARTICLES_DIR).is_dir():
        raise CommandError(printable(f"no archive at {args.archive} (no {ARTICLES_DIR}/ in it)"))
    try:
        if args.rebuild:
            done = rebuild(args.archive, progress=True)
            print(
                f"search: index rebuilt from {done.files_added:,} files, {done.rows_read:,} rows "
                f"in {done.seconds:.1f} s",
                file=sys.stderr,
            )
        else:
            done = sync(args.archive, progress=True)
            if done.rebuilt or done.files_added or done.files_removed:
                print(
                    f"search: index updated ({done.files_added:,} files read, "
                    f"{done.files_removed:,} dropped{', rebuilt whole' if done.rebuilt else ''}) "
                    f"in {done.seconds:.1f} s",
                    file=sys.stderr,
                )
        # a rebuild keeps the zones for the first search with dates: loading them is most
        # of its time (a second), a trifle beside the rebuild's minutes
        zones, default_zone = (
            _zones(args.archive, refresh=done.rebuilt or done.files_added > 0)
            if args.since or args.until or done.rebuilt
            else ({}, UTC)
        )
        if not terms:
            return 0
        when = (args.since, args.until, zones, default_zone)
        hits = search(args.archive, terms, args.n, args.site, *when)
    except SearchError as error:
        raise CommandError(printable(str(error))) from None
    if args.json:
        print_json([hit.as_dict() for hit in hits])
        return 0
    for rank, hit in enumerate(hits, 1):
        print(f"{rank}. {printable(hit.title)}")
        print(f"   {hit.site} · {hit.date or 'undated'} · {printable(hit.url)}")
        print(f"   {printable(hit.snippet)}")
    shown = f"{len(hits)} hit{'s' if len(hits) != 1 else ''}"
    if len(hits) == args.n:
        shown += f" shown (the best {args.n}; -n for more)"
    print(shown, file=sys.stderr)
    return 0


def _zones(archive: Path, refresh: bool) -> tuple[Mapping[str, tzinfo], tzinfo]:
    """Each site's time zone, for dates that are the site's local days as in crawl and
    export. The spiders know them; they are kept in the index, and loaded again (half a
    second of Scrapy) only when new rows came in, which may be of a new site."""
    from crawler.archive.search import store_zones, stored_zones

    kept = None if refresh else stored_zones(archive)
    if kept is not None:
        return kept
    zones, default_zone = site_zones()
    store_zones(archive, zones, default_zone)
    return zones, default_zone


def register(sub: Any, command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``search`` to the ``crawler`` command."""
    p = command(
        "search",
        "Full-text search over the newest row of each article (title, lead and body), "
        "best hits first (bm25; a hit in the title counts more), each with its title, site, "
        "publish date (UTC, as show prints it), URL and a snippet around the hit («…» marks "
        "the words found).\n\n"
        'Words must all be there (in any order); "words in quotes" must be there as a '
        "phrase. Case and Vietnamese marks do not matter (Truong Sa finds Trường Sa, "
        "da nang finds Đà Nẵng); Chinese is found by any two characters or more of it. "
        "Punctuation only separates words: nothing typed is search syntax. At most "
        f"{MAX_WORDS} words; a query matching more than {RANKED_AT_MOST:,} articles ranks "
        f"the {RANKED_AT_MOST:,} most recently published.\n\n"
        "The index lives in <archive>/_search/ and is derived from the archive: each "
        "search first reads the files it has not seen (after a crawl or a compaction), so "
        "answers are never stale; --rebuild makes it again from the archive alone (the "
        "same answers; delete the directory to reclaim its space).",
    )
    p.add_argument("query", nargs="*", metavar="QUERY", help="words, or a phrase in double quotes")
    add_archive_option(p)
    p.add_argument("--site", action="append", help=f"only this site: {SITE_HELP}")
    p.add_argument("--since", type=parse_date, help=DATE_HELP.format("on or after"))
    p.add_argument("--until", type=parse_date, help=DATE_HELP.format("on or before"))
    p.add_argument("-n", type=int, default=10, help="how many hits (default 10)")
    p.add_argument("--json", action="store_true", help="print the hits as a JSON array")
    p.add_argument(
        "--rebuild",
        action="store_true",
        help="build the index again from the archive (then search, if a query is given)",
    )
    p.set_defaults(func=cmd_search)
