"""Fixtures: saved pages with the record a spider's parser is expected to make of them.

``tests/fixtures/<spider>/<case>.json`` holds ``{"url", "source", "record"}`` and the
page is ``<case>.html`` beside it; a page of a replica is stored once, in the replica,
and the case names it instead (``"replica_page": "<site>/pages/…"``, under
``crawler/mirror/sites/``). The record leaves out the per-run columns and names its
``parser_version``, so a fixture keeps testing the parser version it was made for
after the site moves on to a new one.
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

from crawler.mirror.server import SITES_ROOT
from crawler.pipelines import clean
from crawler.sites.base import NewsSpider

FIXTURES_DIR = Path("tests/fixtures")
PROJECT_ROOT = SITES_ROOT.resolve().parents[2]  # crawler/mirror/sites -> the checkout
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
    record = clean(parser(spidercls.description()).parse(response), check=True).record()
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


def fixture_page(case: Path) -> Path:
    """The page of a fixture case (its ``<case>.json``): the replica page the case names,
    else ``<case>.html`` beside it."""
    named = json.loads(case.read_text("utf-8")).get("replica_page")
    own = case.with_suffix(".html")
    if named is None:
        return own
    page = (SITES_ROOT / str(named)).resolve()
    if not (
        isinstance(named, str) and page.is_relative_to(SITES_ROOT.resolve()) and page.is_file()
    ):
        raise FileNotFoundError(f"{case}: replica_page {named!r} is no page of a replica")
    if own.exists():
        raise ValueError(f"{case}: its page is stored twice, {own.name} and replica page {named}")
    return page


def replica_page(spidercls: type[NewsSpider], page: Path) -> str | None:
    """``page`` as a page of a replica (its path under the replicas' folder), or None:
    the file itself, or a copy of one of the spider's replica's pages."""
    root = SITES_ROOT.resolve()
    if page.resolve().is_relative_to(root):
        return page.resolve().relative_to(root).as_posix()
    data = page.read_bytes()
    for candidate in sorted((root / str(spidercls.site) / "pages").rglob("*")):
        same_size = candidate.is_file() and candidate.stat().st_size == len(data)
        if same_size and candidate.read_bytes() == data:
            return candidate.relative_to(root).as_posix()
    return None


def source_name(page: Path) -> str:
    """Where a fixture's page came from, as every clone can read it: its path in the
    repository, or (a page from elsewhere, copied beside the case) its file name only,
    never a path of one machine."""
    try:
        return page.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return page.name


def save_fixture(
    spidercls: type[NewsSpider],
    page: Path,
    url: str,
    root: Path = FIXTURES_DIR,
    name: str | None = None,
) -> tuple[Path, Path]:
    """Store ``page`` as a fixture of the spider with its drafted record: a page of the
    spider's replica by reference, any other as a copy. Returns the JSON and the page."""
    record = expected_record(spidercls, page.read_bytes(), url)
    folder = root / str(spidercls.name)
    folder.mkdir(parents=True, exist_ok=True)
    stem = name or case_name(url)
    target, own = folder / f"{stem}.json", folder / f"{stem}.html"
    in_replica = replica_page(spidercls, page)
    if in_replica is None:
        shutil.copyfile(page, own)
        write_json(target, {"url": url, "source": source_name(page), "record": record})
        return target, own
    own.unlink(missing_ok=True)  # the case stored anew: its page is the replica's now
    write_json(
        target,
        {"url": url, "replica_page": in_replica, "source": source_name(page), "record": record},
    )
    return target, SITES_ROOT / in_replica


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
        page = fixture_page(target).read_bytes()
        version = data["record"].get("parser_version")
        data["record"] = expected_record(spidercls, page, data["url"], version)
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
