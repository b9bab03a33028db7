"""What the archive holds: its summary (``crawler inspect``), one article (``show``),
a random sample (``sample``); rendering is :mod:`crawler.commands.browse`'s.

Everything is read through DuckDB (:mod:`crawler.archive.views`), one scan per question,
so that ``inspect`` answers in about a second on 100,000 rows
(``bench/inspect_speed.py``).
"""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.archive.layout import RAW_DIR
from crawler.archive.views import (
    SCHEMA_VERSION_KEY,
    ArchiveError,
    parquet_files,
    retrying,
    sql_list,
)

if TYPE_CHECKING:
    import duckdb

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


# -- one article -------------------------------------------------------------------


def _url_keys(target: str) -> tuple[list[str], list[str]]:
    """The url_keys and URLs that ``target`` (a URL or a url_key) may stand for."""
    from crawler.items import sha256_hex
    from crawler.urls import canonical_url

    text = target.strip()
    if len(text) == 64 and all(c in "0123456789abcdef" for c in text.lower()):
        return [text.lower()], []
    if "://" not in text:
        raise ArchiveError(f"not a URL nor a url_key (64 hex digits): {target!r}")
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
