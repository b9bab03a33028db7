"""Fixtures: saved pages with the record a spider's parser is expected to make of them.

``tests/fixtures/<spider>/<case>.html`` holds the page, ``<case>.json`` holds
``{"url", "source", "record"}``; the record leaves out the per-run columns and
names its ``parser_version``, so a fixture keeps testing the parser version it
was made for after the site moves on to a new one.
"""

from __future__ import annotations

import difflib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy.http import HtmlResponse

from crawler.pipelines import clean
from crawler.sites.base import NewsSpider

FIXTURES_DIR = Path("tests/fixtures")
PER_RUN = ("fetched_at", "crawl_run", "raw_ref")


def expected_record(
    spidercls: type[NewsSpider], page: bytes, url: str, version: str | None = None
) -> dict[str, Any]:
    """The record (JSON-ready, without per-run columns) a parser version makes of ``page``."""
    versions = spidercls.parser_versions()
    if version is not None and version not in versions:
        known = ", ".join(sorted(versions))
        raise KeyError(f"{spidercls.name} has no parser version {version!r} (has {known})")
    parser = versions[version] if version else spidercls.parser
    response = HtmlResponse(url=url, body=page, encoding="utf-8")
    record = clean(parser(spidercls()).parse(response), check=True).record()
    for key in PER_RUN:
        record.pop(key)
    published = record["published_at"]
    record["published_at"] = published.isoformat() if published else None
    return record


def case_name(url: str) -> str:
    """A file name for a fixture from its URL: the last path segment, tidied."""
    last = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    last = re.sub(r"\.html?$", "", last)
    return re.sub(r"[^A-Za-z0-9_-]+", "-", last)[-80:].strip("-") or "page"


def save_fixture(
    spidercls: type[NewsSpider],
    page: Path,
    url: str,
    root: Path = FIXTURES_DIR,
    name: str | None = None,
) -> Path:
    """Store ``page`` as a fixture of the spider with its drafted record; returns the JSON path."""
    record = expected_record(spidercls, page.read_bytes(), url)
    folder = root / str(spidercls.name)
    folder.mkdir(parents=True, exist_ok=True)
    stem = name or case_name(url)
    shutil.copyfile(page, folder / f"{stem}.html")
    target = folder / f"{stem}.json"
    write_json(target, {"url": url, "source": str(page), "record": record})
    return target


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


@dataclass
class Refreshed:
    """One fixture re-derived from its page: the diff of its JSON (empty: unchanged)."""

    path: Path
    diff: str


def refresh(
    spidercls: type[NewsSpider], root: Path = FIXTURES_DIR, write: bool = False
) -> list[Refreshed]:
    """Re-derive every expected record of a spider from its stored pages, each by its own
    parser version; with ``write``, store the new records."""
    results = []
    for target in sorted((root / str(spidercls.name)).glob("*.json")):
        old_text = target.read_text("utf-8")
        data = json.loads(old_text)
        page = target.with_suffix(".html")
        version = data["record"].get("parser_version")
        data["record"] = expected_record(spidercls, page.read_bytes(), data["url"], version)
        new_text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
        diff = "".join(
            difflib.unified_diff(
                old_text.splitlines(keepends=True),
                new_text.splitlines(keepends=True),
                fromfile=f"{target} (stored)",
                tofile=f"{target} (parser now)",
            )
        )
        if write and diff:
            target.write_text(new_text, encoding="utf-8")
        results.append(Refreshed(target, diff))
    return results
