"""``crawler report --html FILE``: one self-contained HTML page about the archive.

The numbers are those of :func:`crawler.archive.summary.report_numbers` (the
newest row of each article, stored in the row index while it covers every file)
and the run manifests (``<archive>/_runs/*.json``); the page carries them as
JSON and draws its charts as plain SVG with its own small script
(``report.js``), so it opens anywhere, offline, with nothing to fetch. The
script marks the page ``data-ready="1"`` once every chart is drawn and counts
script errors in ``data-errors``: what the headless-browser test reads back.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.archive.layout import ARTICLES_DIR, RUNS_DIR
from crawler.archive.summary import (
    MAX_IMAGES_BIN,
    REPORT_KEY,
    histogram,
    json_default,
    report_numbers,
    stored_report,
)
from crawler.archive.views import check_archive

if TYPE_CHECKING:
    import duckdb

    from crawler.archive.catalog import Catalog

HERE = Path(__file__).parent
__all__ = ["histogram", "render_html", "report_data", "script_json", "write_report"]


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
        numbers = stored_report(catalog.footer.get(REPORT_KEY)) if catalog.current else None
        if numbers is None:  # files the index does not cover: counted live
            numbers = report_numbers(con, "idx")
        sizes = {name: entry[0] for name, entry in catalog.entries.items()}
        articles = catalog.root / ARTICLES_DIR
        return {
            **numbers,
            "archive": {
                "path": str(root.resolve()),
                "files": len(catalog.names),
                "bytes": sum(
                    int(sizes[name] or 0) if catalog.current else _size(articles / name)
                    for name in catalog.names
                ),
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
    return json.dumps(data, ensure_ascii=True, default=json_default).translate(_SCRIPT_ESCAPES)


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
