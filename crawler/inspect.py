"""``crawler inspect``, ``show`` and ``sample``: look into the archive from a terminal.

Everything is read through DuckDB (:mod:`crawler.duck`), one scan per question,
so that ``inspect`` answers in about a second on 100,000 rows
(``bench/inspect_speed.py``).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import textwrap
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.cli import CommandError, print_json
from crawler.duck import (
    SCHEMA_VERSION_KEY,
    ArchiveError,
    check_archive,
    one_line,
    parquet_files,
    retrying,
    sql_list,
)

if TYPE_CHECKING:
    import duckdb

RAW_DIR = "raw"
TOP_AUTHORS = 3

# One scan gives every partition's numbers, each site's, and the archive's (grouping sets);
# the body is read once, for its length.
_PARTITION_SQL = """
WITH rows AS (
    SELECT site, year, month, published_at, fetched_at,
           CAST(len(images) > 0 AS INTEGER) AS with_image,
           CAST(len(list_filter(images, lambda i: i.caption IS NOT NULL AND i.caption <> '')) > 0
                AS INTEGER) AS with_caption,
           length(body) AS body_chars,
           CAST(raw_ref IS NOT NULL AS INTEGER) AS with_raw
    FROM articles {where}
)
SELECT site, year, month,
       count(*) AS rows,
       min(published_at) AS first_published,
       max(published_at) AS last_published,
       max(fetched_at) AS last_fetched,
       avg(with_image) AS with_images,
       avg(with_caption) AS with_captions,
       median(body_chars) AS median_body_chars,
       sum(with_raw) AS with_raw_page
FROM rows
GROUP BY GROUPING SETS ((site, year, month), (site), ())
"""

_DISTINCT_SQL = "SELECT count(DISTINCT url_key) FROM articles {where}"

_AUTHORS_SQL = """
WITH named AS (SELECT site, year, month, unnest(authors) AS author FROM articles {where}),
counted AS (
    SELECT site, year, month, author, count(*) AS n FROM named
    GROUP BY GROUPING SETS ((site, year, month, author), (site, author), (author))
)
SELECT site, year, month, author, n FROM counted
QUALIFY row_number() OVER (PARTITION BY site, year, month ORDER BY n DESC, author) <= {top}
"""


def _site_filter(sites: list[str] | None) -> tuple[str, list[Any]]:
    if not sites:
        return "", []
    return "WHERE site IN (" + ", ".join("?" for _ in sites) + ")", list(sites)


def _day(value: Any) -> str | None:
    return value.date().isoformat() if isinstance(value, datetime) else None


def archive_summary(root: Path | str, sites: list[str] | None = None) -> dict[str, Any]:
    """Everything ``crawler inspect`` shows, as JSON-ready data."""
    root = Path(root)
    files = parquet_files(root)
    where, params = _site_filter(sites)

    def work(con: duckdb.DuckDBPyConnection) -> tuple[list[tuple[Any, ...]], ...]:
        versions = [
            (bytes(value).decode("utf-8", "replace"), count)
            for value, count in con.execute(
                f"SELECT value, count(*) FROM parquet_kv_metadata({sql_list(files)}) "
                f"WHERE key = '{SCHEMA_VERSION_KEY}'::BLOB GROUP BY 1 ORDER BY 1"
            ).fetchall()
        ]
        groups = con.execute(_PARTITION_SQL.format(where=where), params).fetchall()
        authors = con.execute(_AUTHORS_SQL.format(where=where, top=TOP_AUTHORS), params).fetchall()
        distinct = con.execute(_DISTINCT_SQL.format(where=where), params).fetchall()
        return versions, groups, authors, distinct

    versions, groups, author_rows, distinct = retrying(root, work)
    top: dict[tuple[Any, Any, Any], list[dict[str, Any]]] = {}
    for site, year, month, author, n in sorted(author_rows, key=lambda r: -r[4]):
        top.setdefault((site, year, month), []).append({"name": author, "articles": n})
    keys = (
        "rows",
        "first_published",
        "last_published",
        "last_fetched",
        "with_images",
        "with_captions",
        "median_body_chars",
        "with_raw_page",
    )
    partitions, site_totals, total = [], [], {}
    for site, year, month, *values in groups:
        entry: dict[str, Any] = dict(zip(keys, values, strict=True))
        for key in ("first_published", "last_published", "last_fetched"):
            entry[key] = _day(entry[key])
        entry["with_images"] = round(float(entry["with_images"] or 0), 4)
        entry["with_captions"] = round(float(entry["with_captions"] or 0), 4)
        entry["median_body_chars"] = int(entry["median_body_chars"] or 0)
        entry["with_raw_page"] = int(entry["with_raw_page"] or 0)
        entry["top_authors"] = top.get((site, year, month), [])
        if site is None:
            total = entry
        elif year is None:
            site_totals.append({"site": site, **entry})
        else:
            partitions.append({"site": site, "month": f"{year}-{month}", **entry})
    partitions.sort(key=lambda p: (p["site"], p["month"]))
    site_totals.sort(key=lambda p: p["site"])
    raw_files = sorted((root / RAW_DIR).rglob("*.warc.gz")) if (root / RAW_DIR).is_dir() else []
    return {
        "archive": str(root),
        "files": len(files),
        "bytes": sum(f.stat().st_size for f in files),
        "schema_versions": {f"v{version}": count for version, count in versions},
        "raw_pages": {"files": len(raw_files), "bytes": sum(f.stat().st_size for f in raw_files)},
        "total": {**total, "articles": int(distinct[0][0]) if distinct else 0},
        "sites": site_totals,
        "partitions": partitions,
    }


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


# -- one article -------------------------------------------------------------------


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


def _url_keys(target: str) -> tuple[list[str], list[str]]:
    """The url_keys and URLs that ``target`` (a URL or a url_key) may stand for."""
    from crawler.items import sha256_hex
    from crawler.urls import canonical_url

    text = target.strip()
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text.lower()):
        return [text.lower()], []
    if "://" not in text:
        raise CommandError(f"not a URL nor a url_key (64 hex digits): {target!r}")
    urls = {text, canonical_url(text)}
    for url in list(urls):
        _, _, rest = url.partition("://")
        host, _, path = rest.partition("/")
        for other_scheme in ("http", "https"):
            for other_host in {host, host.removeprefix("www."), "www." + host.removeprefix("www.")}:
                urls.add(f"{other_scheme}://{other_host}/{path}")
    return sorted({sha256_hex(url) for url in urls}), sorted(urls)


def find_article(root: Path | str, target: str) -> tuple[dict[str, Any] | None, int]:
    """The newest row for a URL or url_key, and how many rows the archive has for it."""
    keys, urls = _url_keys(target)
    marks = ", ".join("?" for _ in keys)
    url_marks = ", ".join("?" for _ in urls) or "NULL"

    def work(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, Any] | None, int]:
        cursor = con.execute(
            f"SELECT *, count(*) OVER () AS versions FROM articles "
            f"WHERE url_key IN ({marks}) OR url IN ({url_marks}) "
            "ORDER BY fetched_at DESC, crawl_run DESC LIMIT 1",
            [*keys, *urls],
        )
        names = [d[0] for d in cursor.description]
        found = cursor.fetchone()
        if found is None:
            return None, 0
        row = dict(zip(names, found, strict=True))
        return row, int(row.pop("versions"))

    return retrying(root, work)


def random_articles(
    root: Path | str, n: int, sites: list[str] | None = None, seed: int | None = None
) -> list[dict[str, Any]]:
    """``n`` random articles (the newest row of each), from some sites or all.

    The draw is made here, over the sorted keys, so that a seed gives the same
    sample every time (DuckDB's ``random()`` runs in parallel threads).
    """
    where, params = _site_filter(sites)

    def work(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
        keys = [
            k[0]
            for k in con.execute(
                f"SELECT DISTINCT url_key FROM articles {where} ORDER BY url_key", params
            ).fetchall()
        ]
        chosen = random.Random(seed).sample(keys, min(n, len(keys)))
        if not chosen:
            return []
        cursor = con.execute(
            "SELECT * FROM latest WHERE url_key IN (" + ", ".join("?" for _ in chosen) + ")",
            chosen,
        )
        names = [d[0] for d in cursor.description]
        rows = {
            r[names.index("url_key")]: dict(zip(names, r, strict=True)) for r in cursor.fetchall()
        }
        return [rows[key] for key in chosen if key in rows]

    return retrying(root, work)


# -- commands ----------------------------------------------------------------------


def _guard(work: Callable[[], int]) -> int:
    """Archive and DuckDB errors as one line (``CommandError``)."""
    import duckdb

    try:
        return work()
    except ArchiveError as error:
        raise CommandError(str(error)) from None
    except duckdb.Error as error:
        raise CommandError(one_line(error)) from None


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

    return _guard(work)


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

    return _guard(work)


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

    return _guard(work)


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


def register(sub: Any, command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``inspect``, ``show`` and ``sample`` to the ``crawler`` command."""
    p = command(
        "inspect",
        "Summarise the archive: per site and month, rows, date range, share with images and "
        "captions, median body length, top authors; the archive's size, files, schema version.",
    )
    add_archive_option(p)
    p.add_argument("--site", action="append", help="only this site, e.g. qdnd.vn (repeatable)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_inspect)

    p = command(
        "show",
        "Print one article, readable in a terminal: title, date, byline, body, then the images "
        "with captions and credits (the newest row when the archive holds several).",
    )
    p.add_argument("target", metavar="URL|URL_KEY", help="the article's URL or its url_key")
    add_archive_option(p)
    p.add_argument("--json", action="store_true", help="print the record as JSON")
    p.set_defaults(func=cmd_show)

    p = command("sample", "Print a few random articles (body cut at 600 characters).")
    add_archive_option(p)
    p.add_argument("--site", action="append", help="only this site (repeatable)")
    p.add_argument("-n", type=int, default=3, help="how many articles (default 3)")
    p.add_argument("--seed", type=int, help="the same sample every time for the same seed")
    p.add_argument("--full", action="store_true", help="print whole bodies")
    p.add_argument("--json", action="store_true", help="print the records as JSON")
    p.set_defaults(func=cmd_sample)
