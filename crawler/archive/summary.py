"""The numbers ``crawler inspect`` and ``crawler report`` show, as aggregates over the row index.

One scan of the index's small columns gives every partition's numbers, each
site's and the archive's (grouping sets); no body is read. At ten million rows
those scans still take seconds (the report's, over the newest row of each
article, tens of them), so the index stores both results in its own footer when
it is written: as long as the index covers every file of the archive, unchanged,
``inspect`` and ``report`` read those few kilobytes instead (:func:`stored`,
:func:`stored_report`). An archive with files the index does not cover yet is
counted live, the same way.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from crawler.archive.views import NEWEST_FIRST

if TYPE_CHECKING:
    import duckdb

TOP_AUTHORS = 3
SUMMARY_KEY = "crawler.index_summary"
"""The index footer's key for inspect's stored summary (JSON)."""
REPORT_KEY = "crawler.index_report"
"""The index footer's key for the report's stored numbers (JSON)."""
TOP = 15
"""Authors and tags the report lists."""
MAX_IMAGES_BIN = 10  # "10+" images

# The median body length is read off the counts of each length (a holistic median
# over ten million rows does not fit in the memory an index build is given).
_PARTITION_SQL = """
WITH src AS (SELECT * FROM {source} {where}),
base AS (
    SELECT site, year, month,
           count(*) AS rows,
           min(published_at) AS first_published,
           max(published_at) AS last_published,
           max(fetched_at) AS last_fetched,
           avg(CAST(images > 0 AS INTEGER)) AS with_images,
           avg(CAST(captioned > 0 AS INTEGER)) AS with_captions,
           sum(CAST(with_raw AS INTEGER)) AS with_raw_page
    FROM src
    GROUP BY GROUPING SETS ((site, year, month), (site), ())
),
counts AS (
    SELECT site, year, month, body_chars, count(*) AS n FROM src
    WHERE body_chars IS NOT NULL GROUP BY ALL
),
rolled AS (
    SELECT site, year, month, body_chars, sum(n) AS n FROM counts
    GROUP BY GROUPING SETS ((site, year, month, body_chars), (site, body_chars), (body_chars))
),
ranked AS (
    SELECT site, year, month, body_chars,
           sum(n) OVER (PARTITION BY site, year, month ORDER BY body_chars
                        ROWS UNBOUNDED PRECEDING) AS upto,
           sum(n) OVER (PARTITION BY site, year, month) AS total
    FROM rolled
),
medians AS (
    SELECT site, year, month,
           (min(body_chars) FILTER (WHERE upto > (total - 1) // 2)
            + min(body_chars) FILTER (WHERE upto > total // 2)) / 2.0 AS median_body_chars
    FROM ranked GROUP BY site, year, month
)
SELECT b.site, b.year, b.month, b.rows, b.first_published, b.last_published, b.last_fetched,
       b.with_images, b.with_captions, m.median_body_chars, b.with_raw_page
FROM base AS b LEFT JOIN medians AS m
  ON b.site IS NOT DISTINCT FROM m.site AND b.year IS NOT DISTINCT FROM m.year
 AND b.month IS NOT DISTINCT FROM m.month
"""

_AUTHORS_SQL = """
WITH named AS (SELECT site, year, month, unnest(authors) AS author FROM {source} {where}),
counted AS (
    SELECT site, year, month, author, count(*) AS n FROM named
    GROUP BY GROUPING SETS ((site, year, month, author), (site, author), (author))
)
SELECT site, year, month, author, n FROM counted
QUALIFY row_number() OVER (PARTITION BY site, year, month ORDER BY n DESC, author) <= {top}
"""

_DISTINCT_SQL = """
WITH src AS (SELECT site, url_key FROM {source} {where})
SELECT site, count(*) FROM (SELECT DISTINCT site, url_key FROM src) GROUP BY site
UNION ALL
SELECT NULL, count(*) FROM (SELECT DISTINCT url_key FROM src)
"""

_TIMES = (4, 5, 6)  # first_published, last_published, last_fetched in a group row


@dataclass
class Summary:
    """Rows as the SQL above gives them: a site of None is the whole selection."""

    groups: list[tuple[Any, ...]]
    authors: list[tuple[Any, ...]]
    articles: dict[str | None, int]
    """Distinct url_keys: per site, and (None) in all."""

    def to_json(self) -> str:
        def plain(row: tuple[Any, ...]) -> list[Any]:
            return [v.isoformat() if isinstance(v, datetime) else v for v in row]

        return json.dumps(
            {
                "groups": [plain(row) for row in self.groups],
                "authors": [list(row) for row in self.authors],
                "articles": [[site, n] for site, n in self.articles.items()],
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> Summary:
        data = json.loads(text)

        def typed(row: list[Any]) -> tuple[Any, ...]:
            return tuple(
                datetime.fromisoformat(v) if i in _TIMES and v is not None else v
                for i, v in enumerate(row)
            )

        return cls(
            [typed(row) for row in data["groups"]],
            [tuple(row) for row in data["authors"]],
            {site: int(n) for site, n in data["articles"]},
        )

    def of_site(self, site: str) -> Summary | None:
        """The summary ``--site SITE`` would compute live, or None if the site has no rows."""
        if site not in self.articles:
            return None
        groups = [row for row in self.groups if row[0] == site]
        totals = [(None, None, None, *row[3:]) for row in groups if row[1] is None]
        authors = [row for row in self.authors if row[0] == site]
        overall = [(None, None, None, *row[3:]) for row in authors if row[1] is None]
        return Summary(
            groups + totals,
            authors + overall,
            {site: self.articles[site], None: self.articles[site]},
        )


def site_filter(sites: list[str] | None) -> tuple[str, list[Any]]:
    """A WHERE clause keeping the rows of ``sites`` (all when none), and its parameters."""
    if not sites:
        return "", []
    return "WHERE site IN (" + ", ".join("?" for _ in sites) + ")", list(sites)


def compute(
    con: duckdb.DuckDBPyConnection,
    source: str,
    sites: list[str] | None = None,
    articles: dict[str | None, int] | None = None,
) -> Summary:
    """The summary of the index rows in ``source`` (a table or view), of some sites or all.

    ``articles``: the distinct url_keys of ``source`` per site and (None) in all, when the
    caller counted them already (the index build, from its sorted rows: hashing ten
    million keys needs more memory than the build is given)."""
    where, params = site_filter(sites)
    groups = con.execute(_PARTITION_SQL.format(source=source, where=where), params).fetchall()
    authors = con.execute(
        _AUTHORS_SQL.format(source=source, where=where, top=TOP_AUTHORS), params
    ).fetchall()
    if articles is None:
        counted = con.execute(_DISTINCT_SQL.format(source=source, where=where), params).fetchall()
        articles = {site: int(n) for site, n in counted}
    return Summary(groups, authors, articles)


def stored(text: str | None, sites: list[str] | None) -> Summary | None:
    """The stored summary for these sites, or None when it must be computed live
    (none stored, unreadable, or several sites chosen: their totals are not stored)."""
    if not text:
        return None
    try:
        whole = Summary.from_json(text)
    except (ValueError, KeyError, TypeError):
        return None
    if not sites:
        return whole
    if len(set(sites)) == 1:
        return whole.of_site(sites[0])
    return None


# -- the report's numbers ------------------------------------------------------------


def json_default(value: Any) -> Any:
    """What ``json.dumps`` makes of DuckDB's dates and decimals."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "__float__"):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = con.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _nice_step(span: float, bins: int) -> int:
    """A round bin width (1, 2 or 5 times a power of ten) giving about ``bins`` bins."""
    raw = max(span / bins, 1.0)
    power = 10 ** int(len(str(int(raw))) - 1)
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return int(factor * power)
    return int(10 * power)


def histogram(values: list[int], bins: int = 30) -> dict[str, Any]:
    """Counts per bin of a round width up to the 99th percentile, the rest in one last bin."""
    if not values:
        return {"step": 0, "bins": []}
    ordered = sorted(values)
    top = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    step = _nice_step(top, bins)
    counts = Counter(min(v // step, int(top // step) + 1) for v in ordered)
    return _bins(counts, step, ordered[-1])


def _bins(counts: Mapping[int, int], step: int, largest: int) -> dict[str, Any]:
    last = max(counts)
    out = []
    for index in range(last + 1):
        start = index * step
        label = f"{start:,}+" if index == last and largest >= (index + 1) * step else f"{start:,}"
        out.append(
            {"from": start, "to": start + step, "label": label, "count": counts.get(index, 0)}
        )
    return {"step": step, "bins": out}


def histogram_sql(
    con: duckdb.DuckDBPyConnection, table: str, column: str, bins: int = 30
) -> dict[str, Any]:
    """:func:`histogram` of a column, computed in DuckDB: no value comes into Python."""
    n, largest = con.execute(f"SELECT count({column}), max({column}) FROM {table}").fetchall()[0]
    if not n:
        return {"step": 0, "bins": []}
    rank = min(n - 1, int(n * 0.99))
    top = con.execute(
        f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL "
        f"ORDER BY {column} LIMIT 1 OFFSET {rank}"
    ).fetchall()[0][0]
    step = _nice_step(top, bins)
    counts = dict(
        con.execute(
            f"SELECT least({column} // {step}, {int(top // step) + 1}) AS b, count(*) "
            f"FROM {table} WHERE {column} IS NOT NULL GROUP BY b"
        ).fetchall()
    )
    return _bins(counts, step, largest)


_NEWEST_COLUMNS = "site, published_at, images, captioned, captions, body_chars, authors, tags"


def report_numbers(
    con: duckdb.DuckDBPyConnection, source: str, dups: str | None = None
) -> dict[str, Any]:
    """The numbers of ``crawler report`` over the index rows of ``source``, JSON-plain.

    Counted over the newest row of each article. Most articles have one row: only
    the keys with several go through the window that picks the newest, so that no
    window runs over every row (it would not fit in a bounded memory). ``dups``: a
    table or view of those keys (``url_key``), when the caller has them already.
    """
    keys = dups or f"(SELECT url_key FROM {source} GROUP BY url_key HAVING count(*) > 1)"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _dups AS SELECT url_key FROM {keys}")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _newest AS "
        f"SELECT {_NEWEST_COLUMNS} FROM {source} ANTI JOIN _dups USING (url_key) "
        f"UNION ALL SELECT {_NEWEST_COLUMNS} FROM {source} SEMI JOIN _dups USING (url_key) "
        f"QUALIFY row_number() OVER (PARTITION BY url_key ORDER BY {NEWEST_FIRST}) = 1"
    )
    try:
        totals = _rows(
            con,
            "SELECT count(*) AS articles, count(DISTINCT site) AS sites, "
            "min(published_at)::DATE AS first, max(published_at)::DATE AS last, "
            "avg(CAST(images > 0 AS INTEGER)) AS with_images, "
            "avg(CAST(captions > 0 AS INTEGER)) AS with_captions, "
            "median(body_chars) AS median_body, "
            "count(*) FILTER (WHERE published_at IS NULL) AS undated FROM _newest",
        )[0]
        rows_all = _rows(con, f"SELECT count(*) AS n FROM {source}")[0]["n"]
        numbers = {
            "totals": {**totals, "rows": rows_all},
            "per_day": _rows(
                con,
                "SELECT site, published_at::DATE AS day, count(*) AS n FROM _newest "
                "WHERE published_at IS NOT NULL GROUP BY ALL ORDER BY day, site",
            ),
            "sites": _rows(
                con,
                "SELECT site, count(*) AS articles, min(published_at)::DATE AS first, "
                "max(published_at)::DATE AS last, "
                "avg(CAST(images > 0 AS INTEGER)) AS with_images, "
                "avg(CAST(captions > 0 AS INTEGER)) AS with_captions, "
                "median(body_chars) AS median_body FROM _newest GROUP BY site ORDER BY site",
            ),
            "body_lengths": histogram_sql(con, "_newest", "body_chars"),
            "images_per_article": _rows(
                con,
                f"SELECT least(images, {MAX_IMAGES_BIN}) AS k, count(*) AS articles "
                "FROM _newest GROUP BY ALL ORDER BY k",
            ),
            "captions_per_article": _rows(
                con,
                f"SELECT least(captions, {MAX_IMAGES_BIN}) AS k, count(*) AS articles "
                "FROM _newest GROUP BY ALL ORDER BY k",
            ),
            "authors": _rows(
                con,
                "SELECT author AS name, count(*) AS n FROM "
                "(SELECT unnest(authors) AS author FROM _newest) "
                f"GROUP BY ALL ORDER BY n DESC, name LIMIT {TOP}",
            ),
            "tags": _rows(
                con,
                "SELECT tag AS name, count(*) AS n FROM (SELECT unnest(tags) AS tag FROM _newest) "
                f"GROUP BY ALL ORDER BY n DESC, name LIMIT {TOP}",
            ),
        }
    finally:
        con.execute("DROP TABLE IF EXISTS _newest")
        con.execute("DROP TABLE IF EXISTS _dups")
    plain: dict[str, Any] = json.loads(json.dumps(numbers, default=json_default))
    return plain


def stored_report(text: str | None) -> dict[str, Any] | None:
    """The report's numbers as the index stored them, or None (then counted live)."""
    if not text:
        return None
    try:
        numbers = json.loads(text)
    except ValueError:
        return None
    return numbers if isinstance(numbers, dict) and "totals" in numbers else None
