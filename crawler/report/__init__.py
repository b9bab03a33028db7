"""``crawler report --html FILE``: one self-contained HTML page about the archive.

The numbers are computed here with DuckDB over the newest row of each article
and the run manifests (``<archive>/_runs/*.json``); the page carries them as
JSON and draws its charts as plain SVG with its own small script
(``report.js``), so it opens anywhere, offline, with nothing to fetch. The
script marks the page ``data-ready="1"`` once every chart is drawn and counts
script errors in ``data-errors``: what the headless-browser test reads back.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.archive.layout import RUNS_DIR
from crawler.archive.views import NEWEST_FIRST, check_archive

if TYPE_CHECKING:
    import duckdb

    from crawler.archive.catalog import Catalog

HERE = Path(__file__).parent
TOP = 15
MAX_IMAGES_BIN = 10  # "10+" images


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


def manifests(root: Path) -> list[dict[str, Any]]:
    """The layout-alarm history: one entry per crawl-all run, oldest first."""
    runs = []
    for path in sorted((root / RUNS_DIR).glob("*.json")):
        try:
            data = json.loads(path.read_text("utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(data, dict) or not isinstance(data.get("sites"), dict):
            continue
        sites = {}
        for name, entry in data["sites"].items():
            if not isinstance(entry, dict):
                continue
            # A hand-edited manifest may hold anything: take each field only in its own type.
            alarm, new, health = entry.get("alarm"), entry.get("articles_new"), entry.get("health")
            sites[name] = {
                "status": str(entry.get("status", "?")),
                "alarm": [str(a) for a in alarm] if isinstance(alarm, list) else [],
                "new": new if isinstance(new, int) else 0,
                "found": health.get("found") if isinstance(health, dict) else None,
            }
        start = data.get("start")
        runs.append(
            {
                "run_id": str(data.get("run_id", path.stem)),
                "start": start if isinstance(start, str) else None,
                "sites": sites,
            }
        )
    runs.sort(key=lambda r: str(r["start"] or r["run_id"]))
    return runs


def report_data(root: Path | str) -> dict[str, Any]:
    """Everything the page shows, JSON-ready.

    Computed over the row index (:mod:`crawler.archive.catalog`): the newest row of
    each article is picked over its few columns, body lengths are already counted,
    and every number, the histogram's included, is a DuckDB aggregate.
    """
    from crawler.archive.lookup import indexed

    root = Path(root)
    check_archive(root)

    def work(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> dict[str, Any]:
        con.execute(
            "CREATE TEMP TABLE a AS SELECT site, published_at, images, captioned, captions, "
            "body_chars, authors, tags FROM idx "
            f"QUALIFY row_number() OVER (PARTITION BY url_key ORDER BY {NEWEST_FIRST}) = 1"
        )
        totals = _rows(
            con,
            "SELECT count(*) AS articles, count(DISTINCT site) AS sites, "
            "min(published_at)::DATE AS first, max(published_at)::DATE AS last, "
            "avg(CAST(images > 0 AS INTEGER)) AS with_images, "
            "avg(CAST(captions > 0 AS INTEGER)) AS with_captions, "
            "median(body_chars) AS median_body, "
            "count(*) FILTER (WHERE published_at IS NULL) AS undated FROM a",
        )[0]
        rows_all = _rows(con, "SELECT count(*) AS n FROM idx")[0]["n"]
        per_day = _rows(
            con,
            "SELECT site, published_at::DATE AS day, count(*) AS n FROM a "
            "WHERE published_at IS NOT NULL GROUP BY ALL ORDER BY day, site",
        )
        sites = _rows(
            con,
            "SELECT site, count(*) AS articles, min(published_at)::DATE AS first, "
            "max(published_at)::DATE AS last, "
            "avg(CAST(images > 0 AS INTEGER)) AS with_images, "
            "avg(CAST(captions > 0 AS INTEGER)) AS with_captions, "
            "median(body_chars) AS median_body FROM a GROUP BY site ORDER BY site",
        )
        images = _rows(
            con,
            f"SELECT least(images, {MAX_IMAGES_BIN}) AS k, count(*) AS articles FROM a "
            "GROUP BY ALL ORDER BY k",
        )
        captions = _rows(
            con,
            f"SELECT least(captions, {MAX_IMAGES_BIN}) AS k, count(*) AS articles FROM a "
            "GROUP BY ALL ORDER BY k",
        )
        authors = _rows(
            con,
            f"SELECT author AS name, count(*) AS n FROM (SELECT unnest(authors) AS author FROM a) "
            f"GROUP BY ALL ORDER BY n DESC, name LIMIT {TOP}",
        )
        tags = _rows(
            con,
            f"SELECT tag AS name, count(*) AS n FROM (SELECT unnest(tags) AS tag FROM a) "
            f"GROUP BY ALL ORDER BY n DESC, name LIMIT {TOP}",
        )
        files = catalog.files
        return {
            "totals": {**totals, "rows": rows_all},
            "per_day": per_day,
            "sites": sites,
            "body_lengths": histogram_sql(con, "a", "body_chars"),
            "images_per_article": images,
            "captions_per_article": captions,
            "authors": authors,
            "tags": tags,
            "archive": {
                "path": str(root.resolve()),
                "files": len(files),
                "bytes": sum(_size(f) for f in files),
            },
        }

    data = indexed(root, work)
    data["runs"] = manifests(root)
    data["generated"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    data["max_images_bin"] = MAX_IMAGES_BIN
    return data


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # swapped by a compaction meanwhile
        return 0


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if hasattr(value, "__float__"):
        return float(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


# Inside <script>, "</script" ends the element and "<!--" changes how the rest is
# read; "&" and ">" matter to HTML too. Outside strings JSON has none of these, so
# escaping every one as \uXXXX leaves no markup in the payload, whatever it holds.
_SCRIPT_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def script_json(data: Any) -> str:
    """JSON that stays data inside ``<script type="application/json">``, any string included.

    ``ensure_ascii`` writes U+2028, U+2029, every other non-ASCII character and a
    lone surrogate (an undecodable file name) as ``\\uXXXX`` too: the payload is
    plain ASCII, so no encoding can break it.
    """
    return json.dumps(data, ensure_ascii=True, default=_default).translate(_SCRIPT_ESCAPES)


def render_html(data: dict[str, Any]) -> str:
    """The page: template, style, script and data in one file."""
    payload = script_json(data)
    template = (HERE / "template.html").read_text("utf-8")
    return (
        template.replace("/*STYLE*/", (HERE / "report.css").read_text("utf-8"))
        .replace("/*SCRIPT*/", (HERE / "report.js").read_text("utf-8"))
        .replace("/*DATA*/", payload)
    )


def write_report(root: Path | str, target: Path) -> dict[str, Any]:
    """Write the page to ``target`` (whole or not at all); return its data."""
    data = report_data(root)
    html = render_html(data)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(html, "utf-8")
        os.replace(temporary, target)
    finally:
        if temporary.exists():
            temporary.unlink()
    return data
