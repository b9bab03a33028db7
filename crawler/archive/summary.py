"""The numbers ``crawler inspect`` shows, as aggregates over the row index.

One scan of the index's small columns gives every partition's numbers, each
site's and the archive's (grouping sets); no body is read. At ten million rows
that scan still takes seconds, so the index stores the result in its own footer
when it is written (:func:`stored`): as long as the index covers every file of
the archive, unchanged, ``inspect`` reads those few kilobytes instead. An archive
with files the index does not cover yet is summed live, the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

TOP_AUTHORS = 3
SUMMARY_KEY = "crawler.index_summary"
"""The index footer's key for the stored summary (JSON)."""

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


def compute(con: duckdb.DuckDBPyConnection, source: str, sites: list[str] | None = None) -> Summary:
    """The summary of the index rows in ``source`` (a table or view), of some sites or all."""
    where, params = site_filter(sites)
    groups = con.execute(_PARTITION_SQL.format(source=source, where=where), params).fetchall()
    authors = con.execute(
        _AUTHORS_SQL.format(source=source, where=where, top=TOP_AUTHORS), params
    ).fetchall()
    articles = con.execute(_DISTINCT_SQL.format(source=source, where=where), params).fetchall()
    return Summary(groups, authors, {site: int(n) for site, n in articles})


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
