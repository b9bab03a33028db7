"""``crawler inspect``, ``show`` and ``sample``: what the archive holds, for a terminal."""

from __future__ import annotations

import argparse
import shutil
import sys
import textwrap
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from crawler.archive.lookup import archive_summary, find_article, random_articles
from crawler.archive.views import check_archive
from crawler.commands._common import (
    SITE_HELP,
    CommandError,
    add_archive_option,
    guard_archive,
    print_json,
)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{n} B"
        value /= 1024
    return f"{n} B"


def _authors(entry: dict[str, Any]) -> str:
    return ", ".join(f"{a['name']} ({a['articles']})" for a in entry["top_authors"]) or "-"


def render_summary(summary: dict[str, Any]) -> str:
    """The summary as a table for a terminal."""
    total = summary["total"]
    lines = [
        f"Archive {summary['archive']}: {total.get('rows', 0):,} rows, "
        f"{total.get('articles', 0):,} articles"
        + (
            f" ({total['rows'] - total['articles']:,} older versions: `crawler compact` keeps the newest)"
            if total.get("rows", 0) > total.get("articles", 0)
            else ""
        ),
        f"  {summary['files']:,} Parquet files, {_size(summary['bytes'])}; schema "
        + ", ".join(f"{v} ({n:,} files)" for v, n in summary["schema_versions"].items())
        + f"; raw pages: {summary['raw_pages']['files']:,} WARC files, "
        f"{_size(summary['raw_pages']['bytes'])}, {total.get('with_raw_page', 0):,} rows point to one",
        f"  published {total.get('first_published') or '-'} to {total.get('last_published') or '-'}; "
        f"last fetched {total.get('last_fetched') or '-'}",
        "",
    ]
    header = (
        f"{'site':<22} {'month':<9} {'rows':>7} {'first':<10} {'last':<10} "
        f"{'images':>6} {'capts':>6} {'body':>6}  top authors"
    )
    lines += [header, "-" * len(header)]

    def row(site: str, month: str, e: dict[str, Any]) -> str:
        return (
            f"{site:<22} {month:<9} {e['rows']:>7,} {e['first_published'] or '-':<10} "
            f"{e['last_published'] or '-':<10} {e['with_images']:>6.0%} {e['with_captions']:>6.0%} "
            f"{e['median_body_chars']:>6,}  {_authors(e)}"
        )

    by_site: dict[str, list[dict[str, Any]]] = {}
    for part in summary["partitions"]:
        by_site.setdefault(part["site"], []).append(part)
    for site_total in summary["sites"]:
        for part in by_site.get(site_total["site"], []):
            lines.append(row(part["site"], part["month"], part))
        lines.append(row(site_total["site"], "all", site_total))
        lines.append("")
    lines.append(
        "images, capts: share of articles with an image, with a captioned image; "
        "body: median length in characters"
    )
    return "\n".join(lines)


def _width() -> int:
    return max(40, min(100, shutil.get_terminal_size((100, 24)).columns) - 2)


def _wrap(text: str, indent: str = "", width: int | None = None) -> list[str]:
    width = width or _width()
    out: list[str] = []
    for paragraph in text.split("\n\n"):
        out += textwrap.wrap(paragraph, width, initial_indent=indent, subsequent_indent=indent) or [
            indent
        ]
        out.append("")
    return out[:-1]


def render_article(row: dict[str, Any], body_chars: int | None = None) -> str:
    """One article, readable in a terminal: title, date, byline, body, then the images."""
    width = _width()
    title = row["title"] or "(no title)"
    lines = [title, "=" * min(width, max(len(title), 10))]
    published = row["published_at"]
    when = published.isoformat() if isinstance(published, datetime) else "date unknown"
    if row.get("published_raw"):
        when += f" (printed: {row['published_raw']})"
    lines.append(" · ".join(part for part in (row["site"], row.get("section"), when) if part))
    if row.get("byline") or row.get("authors"):
        authors = ", ".join(row.get("authors") or [])
        byline = row.get("byline") or ""
        lines.append(f"By: {byline}" + (f" (authors: {authors})" if authors else ""))
    lines.append(row["url"])
    lines.append(
        f"url_key {row['url_key'][:16]}… · parser {row['parser_version']} · run {row['crawl_run']}"
        + (f" · fetched {row['fetched_at']:%Y-%m-%d %H:%M} UTC" if row.get("fetched_at") else "")
    )
    if row.get("raw_ref"):
        lines.append(f"stored page: {row['raw_ref']}")
    if row.get("summary"):
        lines += ["", *_wrap(row["summary"], "  ", width)]
    body = row["body"] or ""
    cut = body_chars is not None and len(body) > body_chars
    if cut and body_chars is not None:
        body = body[:body_chars].rsplit(" ", 1)[0] + " …"
    lines += ["", *_wrap(body, "", width)]
    if cut:
        lines.append(f"[{len(row['body']):,} characters; `crawler show {row['url_key']}` for all]")
    images = row.get("images") or []
    if images:
        lines += ["", f"Images ({len(images)}):"]
        for n, image in enumerate(images, 1):
            lines.append(f"  {n}. {image.get('url') or '(no URL)'}")
            if image.get("caption"):
                lines += _wrap(image["caption"], "     ", width)
            if image.get("credit"):
                lines.append(f"     Credit: {image['credit']}")
    if row.get("tags"):
        lines += ["", "Tags: " + ", ".join(row["tags"])]
    return "\n".join(lines)


def _json_ready(row: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value.isoformat() if isinstance(value, datetime | date) else value
        for key, value in row.items()
        if key not in ("year", "month")
    }


def cmd_inspect(args: argparse.Namespace) -> int:
    def work() -> int:
        summary = archive_summary(args.archive, args.site)
        if not summary["total"].get("rows"):
            which = ", ".join(args.site) if args.site else "any site"
            raise CommandError(f"no rows of {which} in {args.archive}")
        if args.json:
            print_json(summary)
        else:
            sys.stdout.write(render_summary(summary) + "\n")
        return 0

    return guard_archive(work)


def cmd_show(args: argparse.Namespace) -> int:
    def work() -> int:
        check_archive(args.archive)
        row, versions = find_article(args.archive, args.target)
        if row is None:
            raise CommandError(f"no article for {args.target} in {args.archive}")
        if args.json:
            print_json(_json_ready(row))
            return 0
        text = render_article(row)
        if versions > 1:
            text += f"\n\n[{versions} rows in the archive for this article; this is the newest]"
        sys.stdout.write(text + "\n")
        return 0

    return guard_archive(work)


def cmd_sample(args: argparse.Namespace) -> int:
    if args.n < 1:
        raise CommandError(f"-n must be at least 1, got {args.n}")

    def work() -> int:
        rows = random_articles(args.archive, args.n, args.site, args.seed)
        if not rows:
            raise CommandError(
                f"no articles{' of ' + ', '.join(args.site) if args.site else ''} in {args.archive}"
            )
        if args.json:
            print_json([_json_ready(row) for row in rows])
            return 0
        texts = [render_article(row, None if args.full else 600) for row in rows]
        sys.stdout.write(("\n\n" + "-" * _width() + "\n\n").join(texts) + "\n")
        return 0

    return guard_archive(work)


def register(sub: Any, command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``inspect``, ``show`` and ``sample`` to the ``crawler`` command."""
    p = command(
        "inspect",
        "Summarise the archive: per site and month, rows, date range, share with images and "
        "captions, median body length, top authors; the archive's size, files, schema version.",
    )
    add_archive_option(p)
    p.add_argument("--site", action="append", help=f"only this site: {SITE_HELP}")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_inspect)

    p = command(
        "show",
        "Print one article, readable in a terminal: title, date, byline, body, then the images "
        "with captions and credits (the newest row when the archive holds several).",
    )
    p.add_argument(
        "target",
        metavar="URL|URL_KEY",
        help="the article's URL, its url_key, or the start of its url_key as show prints it "
        "(4 hex digits at least; one that several articles share lists them)",
    )
    add_archive_option(p)
    p.add_argument("--json", action="store_true", help="print the record as JSON")
    p.set_defaults(func=cmd_show)

    p = command("sample", "Print a few random articles (body cut at 600 characters).")
    add_archive_option(p)
    p.add_argument("--site", action="append", help=f"only this site: {SITE_HELP}")
    p.add_argument("-n", type=int, default=3, help="how many articles (default 3)")
    p.add_argument("--seed", type=int, help="the same sample every time for the same seed")
    p.add_argument("--full", action="store_true", help="print whole bodies")
    p.add_argument("--json", action="store_true", help="print the records as JSON")
    p.set_defaults(func=cmd_sample)
