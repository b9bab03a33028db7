"""What a replica holds, read from its manifest: for tests, the demo and benchmarks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.mirror.server import SITES_ROOT, Site


def manifest(site: str, root: Path = SITES_ROOT) -> dict[str, Any]:
    """The replica's ``manifest.json``: every article with what its page holds."""
    data: dict[str, Any] = json.loads((root / site / "manifest.json").read_text("utf-8"))
    return data


def article_pages(site: str, root: Path = SITES_ROOT) -> list[tuple[str, Path]]:
    """(real URL, page file) of every article of the replica."""
    replica = Site.load(root / site)
    pages = []
    for article in manifest(site, root)["articles"]:
        path = replica.resolve(urlsplit(article["url"]).path)
        if path is None:
            raise FileNotFoundError(f"no replica page for {article['url']}")
        pages.append((article["url"], path))
    return pages


def home_page(site: str, root: Path = SITES_ROOT) -> str:
    """The replica's home page: where the generic spider starts, knowing nothing else."""
    home = manifest(site, root).get("home")
    if isinstance(home, str) and home:
        return home
    hosts = json.loads((root / site / "site.json").read_text("utf-8"))["hosts"]
    return f"https://{hosts[0]}/"


def replica_sites(root: Path = SITES_ROOT) -> list[str]:
    """Every replica whose manifest lists articles, by folder name (the site). One that
    lists none is a site being added (``crawler new-site``): there is nothing in it to
    crawl or compare yet, and tests/test_sites.py says what it lacks."""
    return sorted(
        path.parent.name
        for path in root.glob("*/manifest.json")
        if json.loads(path.read_text("utf-8")).get("articles")
    )
