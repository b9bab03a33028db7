"""What the archive holds: its summary (``crawler inspect``), one article (``show``),
a random sample (``sample``); rendering is :mod:`crawler.commands.browse`'s.

Each question is answered from the row index (:mod:`crawler.archive.catalog`): a
summary reads its small columns, never a body; a look-up by key reads one of its
row groups; then only the rows wanted are read from their own files.
"""

from __future__ import annotations

import random
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from crawler.archive.layout import ARTICLES_DIR, RAW_DIR
from crawler.archive.views import (
    NEWEST_FIRST,
    ArchiveError,
    absolute,
    check_archive,
    read_error,
    sql_string,
    vanished_file,
)

if TYPE_CHECKING:
    import duckdb

    from crawler.archive.catalog import Catalog

T = TypeVar("T")
_TRIES = 10
READ_MEMORY = "500MB"
"""DuckDB's memory for a command that reads the row index (inspect, show, sample, report)."""


def _day(value: Any) -> str | None:
    return value.date().isoformat() if isinstance(value, datetime) else None


def indexed(root: Path | str, work: Callable[[duckdb.DuckDBPyConnection, Catalog], T]) -> T:
    """Run ``work`` with the row index as the view ``idx`` (built or refreshed as needed)."""
    import duckdb

    from crawler.archive.catalog import open_index

    for attempt in range(_TRIES):
        con = duckdb.connect()
        spill = tempfile.TemporaryDirectory(prefix="crawler-duckdb-")
        try:
            con.execute("SET TimeZone = 'UTC'")
            # Counting live over millions of rows (an index behind the files): DuckDB's
            # share of memory is bounded, the rest spills to a private temporary directory.
            con.execute(f"SET memory_limit = {sql_string(READ_MEMORY)}")
            con.execute(f"SET temp_directory = {sql_string(spill.name)}")
            return work(con, open_index(root, con))
        except duckdb.IOException as error:
            if attempt == _TRIES - 1 or not vanished_file(error):
                raise read_error(root, error) from None
        except duckdb.Error as error:
            raise read_error(root, error) from None
        finally:
            con.close()
            spill.cleanup()
    raise AssertionError("unreachable")


def archive_summary(root: Path | str, sites: list[str] | None = None) -> dict[str, Any]:
    """Everything ``crawler inspect`` shows, as JSON-ready data."""
    from crawler.archive.summary import SUMMARY_KEY, Summary, compute, stored

    root = Path(root)
    check_archive(root)

    def work(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> tuple[Any, ...]:
        from crawler.archive.catalog import file_entries

        versions: dict[str, int] = {}
        entries = {
            name: entry for name, entry in catalog.entries.items() if name not in catalog.stale
        }
        entries.update(file_entries(catalog, catalog.fresh, con))
        for entry in entries.values():
            version = str(entry[3]) if entry[3] is not None else None
            if version is not None:
                versions[version] = versions.get(version, 0) + 1
        found: Summary | None = None
        if catalog.current:  # the index is the archive: what it stored is the answer
            found = stored(catalog.footer.get(SUMMARY_KEY), sites)
        if found is None:
            found = compute(con, "idx", sites)
        sizes = [int(entry[0] or 0) for entry in entries.values()]
        return catalog, versions, found, sizes

    catalog, versions, found, sizes = indexed(root, work)
    groups, author_rows = found.groups, found.authors
    top: dict[tuple[Any, Any, Any], list[dict[str, Any]]] = {}
    for site, year, month, author, n in sorted(author_rows, key=lambda r: (-r[4], r[3])):
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
        "files": len(catalog.names),
        "bytes": sum(sizes),
        "schema_versions": {f"v{version}": count for version, count in sorted(versions.items())},
        "raw_pages": {"files": len(raw_files), "bytes": sum(f.stat().st_size for f in raw_files)},
        "total": {**total, "articles": found.articles.get(None, 0)},
        "sites": site_totals,
        "partitions": partitions,
    }


# -- one article -------------------------------------------------------------------

SHORTEST_PREFIX = 4
"""The shortest url_key prefix ``show`` takes (``render_article`` prints 16 digits)."""
AMBIGUOUS_LISTED = 8

_HEX = frozenset("0123456789abcdef")


def _url_keys(target: str) -> list[str]:
    """The url_keys that ``target`` (a URL) may stand for: its spellings with and without
    ``www.``, over http and https, as given and canonical."""
    from crawler.items import sha256_hex
    from crawler.urls import canonical_url

    text = target.strip()
    urls = {text, canonical_url(text)}
    for url in list(urls):
        _, _, rest = url.partition("://")
        host, _, path = rest.partition("/")
        for other_scheme in ("http", "https"):
            for other_host in {host, host.removeprefix("www."), "www." + host.removeprefix("www.")}:
                urls.add(f"{other_scheme}://{other_host}/{path}")
    return sorted({sha256_hex(url) for url in urls})


def key_condition(target: str) -> tuple[str, list[Any], str]:
    """A condition on ``url_key`` that the Parquet scan can use for ``target`` (a URL, a
    url_key, or a prefix of one), its parameters, and what ``target`` was taken as.

    A prefix is a range, ``url_key >= prefix AND url_key < next``, so that the
    min/max statistics of the index's row groups (sorted by key) pick the one to read.
    """
    text = target.strip()
    lowered = text.lower()
    if "://" in text:
        keys = _url_keys(text)
        return "url_key IN (" + ", ".join("?" for _ in keys) + ")", keys, "url"
    if lowered and set(lowered) <= _HEX:
        if len(lowered) == 64:
            return "url_key = ?", [lowered], "key"
        if len(lowered) >= SHORTEST_PREFIX:
            return "url_key >= ? AND url_key < ?", [lowered, _next_prefix(lowered)], "prefix"
        raise ArchiveError(
            f"a url_key prefix needs at least {SHORTEST_PREFIX} hex digits: {target!r}"
        )
    raise ArchiveError(f"not a URL nor a url_key (or a prefix of one, in hex): {target!r}")


def _next_prefix(prefix: str) -> str:
    """The smallest string above every string that starts with ``prefix`` (hex digits)."""
    stripped = prefix.rstrip("f")
    if not stripped:
        return "g"  # above every hex string
    return stripped[:-1] + "0123456789abcdef"["0123456789abcdef".index(stripped[-1]) + 1]


def fetch_rows(root: Path | str, places: list[tuple[str, int]]) -> dict[tuple[str, int], Any]:
    """Whole records of the rows at ``places`` (name under ``articles/``, row number),
    read from their files only; keyed by place."""
    from crawler.archive.views import connect

    root = Path(root)
    names = sorted({name for name, _ in places})
    files = [root / ARTICLES_DIR / name for name in names]
    import duckdb

    try:
        con = connect(root, files)
    except (duckdb.IOException, ArchiveError) as error:
        if isinstance(error, duckdb.IOException) and not vanished_file(error):
            raise
        if any(not f.exists() for f in files):
            return {}  # swapped by a compaction since the index was read: ask again
        raise
    try:
        out: dict[tuple[str, int], Any] = {}
        cut = len(absolute(root / ARTICLES_DIR)) + 2
        wanted = ", ".join(f"({sql_string(name)}, {int(row)})" for name, row in places)
        cursor = con.execute(
            f"SELECT * EXCLUDE (_file, _row), substr(_file, {cut}) AS _name, _row FROM _rows "
            f"WHERE (substr(_file, {cut}), _row) IN ({wanted})"
        )
        columns = [d[0] for d in cursor.description]
        for values in cursor.fetchall():
            record = dict(zip(columns, values, strict=True))
            out[(record.pop("_name"), int(record.pop("_row")))] = record
        return out
    finally:
        con.close()


class AmbiguousKey(ArchiveError):
    """A url_key prefix that several articles share; the message lists them."""


def find_article(
    root: Path | str, target: str, tries: int = _TRIES
) -> tuple[dict[str, Any] | None, int]:
    """The newest row for a URL, a url_key or a unique prefix of one, and how many rows
    the archive has for it. A prefix several articles share is :class:`AmbiguousKey`."""
    condition, params, kind = key_condition(target)
    check_archive(root)

    def work(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> list[tuple[Any, ...]]:
        return con.execute(
            f"SELECT url_key, file, row, url_key_count FROM ("
            f"SELECT url_key, file, row, count(*) OVER (PARTITION BY url_key) AS url_key_count, "
            f"row_number() OVER (PARTITION BY url_key ORDER BY {NEWEST_FIRST}) AS newest "
            f"FROM idx WHERE {condition}) WHERE newest = 1 ORDER BY url_key "
            f"LIMIT {AMBIGUOUS_LISTED + 1}",
            params,
        ).fetchall()

    found = indexed(root, work)
    if not found:
        return None, 0
    if len(found) > 1 and kind == "prefix":
        shown = ", ".join(key for key, *_ in found[:AMBIGUOUS_LISTED])
        more = " …" if len(found) > AMBIGUOUS_LISTED else ""
        raise AmbiguousKey(
            f"{target.strip()!r} is the start of the url_key of several articles: "
            f"{shown}{more}; give more digits"
        )
    # A URL's spellings (http/https, www.) are one article to the reader: the newest.
    _, name, row, _ = found[0]
    if len(found) > 1:
        rows = fetch_rows(root, [(n, r) for _, n, r, _ in found])
        if len(rows) < len(found) and tries > 1:  # a compaction swapped a file meanwhile
            return find_article(root, target, tries - 1)
        newest = max(rows.values(), key=lambda r: (r["fetched_at"], r["crawl_run"]))
        return newest, sum(count for *_, count in found)
    record = fetch_rows(root, [(name, row)]).get((name, row))
    if record is None and tries > 1:  # swapped by a compaction since the index was read
        return find_article(root, target, tries - 1)
    if record is None:
        raise ArchiveError(f"the archive changed while {target} was read; run the command again")
    return record, int(found[0][3])


def random_articles(
    root: Path | str, n: int, sites: list[str] | None = None, seed: int | None = None
) -> list[dict[str, Any]]:
    """``n`` random articles (the newest row of each), from some sites or all.

    Rows of the row index, in its order (by key), are ranked by a hash of their
    position and the seed; a row counts only if it is its article's first, so that
    each article has one chance. A current index answers from its own row numbers
    and two small reads, whatever its size; otherwise the same positions are
    numbered in DuckDB. A seed gives the same sample every time, whatever the threads.
    """
    from crawler.archive.summary import site_filter
    from crawler.archive.views import sql_list

    where, params = site_filter(sites)
    salt = random.Random(seed).getrandbits(62)
    check_archive(root)

    def work(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> list[tuple[Any, ...]]:
        if catalog.current and catalog.index is not None:
            numbered = (
                f"SELECT file_row_number AS pos, url_key, site "
                f"FROM read_parquet({sql_list([catalog.index])}, file_row_number = true)"
            )
        else:
            con.execute(
                "CREATE TEMP TABLE _numbered AS SELECT row_number() OVER "
                "(ORDER BY url_key, file, row) - 1 AS pos, url_key, site FROM idx"
            )
            numbered = "SELECT pos, url_key, site FROM _numbered"
        limit = n * 8
        while True:
            ranked = [
                int(pos)
                for (pos,) in con.execute(
                    f"SELECT pos FROM ({numbered}) {where} "
                    f"ORDER BY hash(pos, {salt}::BIGINT), pos LIMIT {limit}",
                    params,
                ).fetchall()
            ]
            wanted = sorted({p for pos in ranked for p in (pos, pos - 1) if p >= 0})
            keys = dict(
                con.execute(
                    f"SELECT pos, url_key FROM ({numbered}) "
                    f"WHERE pos IN ({', '.join(str(p) for p in wanted) or 'NULL'})"
                ).fetchall()
            )
            firsts = [keys[pos] for pos in ranked if pos == 0 or keys.get(pos - 1) != keys[pos]]
            if len(firsts) >= n or len(ranked) < limit:
                break
            limit *= 8  # mostly older rows of articles: draw more
        chosen = firsts[:n]
        if not chosen:
            return []
        newest = con.execute(
            f"SELECT url_key, file, row FROM idx WHERE url_key IN "
            f"({', '.join('?' for _ in chosen)}) "
            f"QUALIFY row_number() OVER (PARTITION BY url_key ORDER BY {NEWEST_FIRST}) = 1",
            chosen,
        ).fetchall()
        order = {key: i for i, key in enumerate(chosen)}
        return sorted(newest, key=lambda r: order[r[0]])

    for _ in range(_TRIES):
        chosen = indexed(root, work)
        if not chosen:
            return []
        rows = fetch_rows(root, [(name, row) for _, name, row in chosen])
        if len(rows) == len(chosen):  # else a compaction swapped a file meanwhile: again
            break
    return [rows[(name, row)] for _, name, row in chosen if (name, row) in rows]


# -- commands ----------------------------------------------------------------------
