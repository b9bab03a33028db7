"""``crawler demo``: crawl the bundled replicas over loopback and summarise the archive."""

from __future__ import annotations

import json
import shlex
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow.compute as pc

from crawler.archive import read_table
from crawler.archive.writer import check_writable
from crawler.crawling.runner import RunResult, run_spiders
from crawler.generic.compare import SiteComparison, compare_crawls, comparison_table
from crawler.mirror.replica import home_page, replica_sites
from crawler.mirror.server import MirrorServer

GENERIC_SPIDER = "generic"  # needs no replica of its own: it crawls the start URLs it is given

# Loopback is not a site to be polite to: no delays, more concurrency.
DEMO_SETTINGS: dict[str, Any] = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 8,
}


def demo_spiders(server: MirrorServer) -> list[str]:
    """Every spider whose site has a replica."""
    from scrapy.spiderloader import SpiderLoader

    from crawler.crawling.runner import project_settings

    loader = SpiderLoader.from_settings(project_settings())
    hosts = set(server.hosts())
    names = []
    for name in sorted(loader.list()):
        spidercls = loader.load(name)
        urls = (*getattr(spidercls, "listing_urls", ()), *getattr(spidercls, "feed_urls", ()))
        if any(url.split("/")[2] in hosts for url in urls):
            names.append(name)
    return names


class NoReplica(ValueError):
    """A spider asked for with ``--replica`` has no bundled replica; the message is one line."""


@contextmanager
def serving_replicas(
    spiders: Iterable[str] = (),
    settings: dict[str, Any] | None = None,
    starts: Iterable[str] = (),
) -> Iterator[dict[str, Any]]:
    """Serve the bundled replicas on 127.0.0.1 while the block runs; yields the settings
    that send a crawl there (``crawl --replica``, ``crawl-all --replica``).

    A spider of ``spiders`` without a replica raises ``NoReplica``: it would get a 404
    for every page and look like a quiet site; so does a start URL of the generic
    spider (``starts``) whose host no replica answers for. Names that are no spider at
    all are left to the crawl, which says so.
    """
    from scrapy.spiderloader import SpiderLoader

    from crawler.crawling.runner import project_settings

    known = set(SpiderLoader.from_settings(project_settings(settings)).list())
    with MirrorServer() as server:
        served = demo_spiders(server)
        wanted = {name for name in spiders if name in known and name != GENERIC_SPIDER}
        missing = sorted(wanted - set(served))
        if missing:
            raise NoReplica(
                f"no bundled replica for {', '.join(missing)} (replicas: {', '.join(served)})"
            )
        hosts = set(server.hosts())
        for url in starts:
            if urlsplit(url).hostname not in hosts:
                raise NoReplica(
                    f"no bundled replica for {url} (replica hosts: {', '.join(sorted(hosts))})"
                )
        yield {**DEMO_SETTINGS, "CRAWLER_MIRROR_URL": server.base_url}


def crawl_replicas(out: Path, log_level: str = "WARNING", **overrides: Any) -> RunResult:
    """Serve the replicas, crawl them into ``out``, stop the server."""
    with MirrorServer() as server:
        settings = {
            **DEMO_SETTINGS,
            "CRAWLER_MIRROR_URL": server.base_url,
            "CRAWLER_ARCHIVE_DIR": str(out),
            "LOG_LEVEL": log_level,
            **overrides,
        }
        return run_spiders(demo_spiders(server), settings)


def summary(out: Path, result: RunResult) -> str:
    """A short account of what the run archived, read back from the archive."""
    table = read_table(out, filter=pc.field("crawl_run") == result.run_id)
    rows = table.select(["site", "section", "images"]).to_pylist()
    lines = [f"Demo run {result.run_id}: {len(rows)} articles archived under {out / 'articles'}"]
    counts = sorted(Counter((r["site"], r["section"] or "-") for r in rows).items())
    site_width = max((len(site) for (site, _), _ in counts), default=0)
    section_width = max((len(section) for (_, section), _ in counts), default=0)
    for (site, section), count in counts:
        lines.append(f"  {site:<{site_width}}  {section:<{section_width}}  {count:>4} articles")
    images = [image for r in rows for image in r["images"]]
    captions = sum(1 for image in images if image["caption"])
    credits = sum(1 for image in images if image["credit"])
    lines.append(
        f"  images: {len(images)}, with captions: {captions}, with photo credits: {credits}"
    )
    for spider in result.spiders:
        stats = spider.stats
        lines.append(
            f"  spider {spider.spider}: {spider.reason}; pages {stats.get('response_received_count', 0)}, "
            f"already archived {stats.get('crawler/incremental/skipped_known', 0)}, "
            f"dropped {stats.get('item_dropped_count', 0)}, errors {spider.errors}"
        )
    if not rows and result.stat("crawler/incremental/skipped_known"):
        lines.append(
            f"  nothing new: the archive already holds every article (remove {out} to start over)"
        )
    files = sorted((out / "articles").rglob("*.parquet"))
    lines.append(f"  files in the archive: {len(files)}")
    archive = "" if out == Path("output") else f" --archive {shlex.quote(str(out))}"
    lines.append(
        f'  try: crawler sql "SELECT site, count(*) AS articles FROM latest GROUP BY site"{archive}'
    )
    lines.append(f"       crawler sample -n 1{archive}   (crawler --help for every command)")
    return "\n".join(lines)


def run_demo(out: Path, log_level: str = "WARNING", **overrides: Any) -> int:
    check_writable(out)  # before the replica server starts: ArchiveNotWritable
    result = crawl_replicas(out, log_level, **overrides)
    print(summary(out, result))
    if not result.ok:
        print("demo: a spider did not finish cleanly; see the log above", file=sys.stderr)
        return 1
    return 0


def compare_with_generic(
    log_level: str = "WARNING", **overrides: Any
) -> tuple[list[SiteComparison], RunResult]:
    """Crawl every replica with its site spider and with ``generic --start <its home>``,
    side by side in one run, each into a fresh archive of its own; compare per site.

    Fresh archives, so that nothing is skipped as already archived; they are deleted
    after, as the comparison is the point, not the articles.
    """
    with (
        tempfile.TemporaryDirectory(prefix="crawler-demo-generic-") as work,
        MirrorServer() as server,
    ):
        by_site, by_generic = Path(work) / "sites", Path(work) / "generic"
        spiders = demo_spiders(server)
        homes = [home_page(site) for site in replica_sites()]
        names = [*spiders, *(GENERIC_SPIDER for _ in homes)]
        per_crawl: list[tuple[dict[str, Any], dict[str, Any]]] = [
            ({"CRAWLER_ARCHIVE_DIR": str(by_site)}, {}) for _ in spiders
        ]
        per_crawl += [({"CRAWLER_ARCHIVE_DIR": str(by_generic)}, {"start": [h]}) for h in homes]
        settings = {
            **DEMO_SETTINGS,
            "CRAWLER_MIRROR_URL": server.base_url,
            "CRAWLER_ARCHIVE_DIR": str(by_site),
            "LOG_LEVEL": log_level,
            **overrides,
        }
        result = run_spiders(names, settings, per_crawl=per_crawl)
        return compare_crawls(_records(by_site), _records(by_generic)), result


def _records(root: Path) -> list[dict[str, Any]]:
    if not (root / "articles").is_dir():  # a crawl that archived nothing
        return []
    rows: list[dict[str, Any]] = read_table(root, columns=["url", "title", "body"]).to_pylist()
    return rows


def run_generic_demo(log_level: str = "WARNING", as_json: bool = False, **overrides: Any) -> int:
    """``crawler demo --generic``: the comparison, as a table or as JSON."""
    results, run = compare_with_generic(log_level, **overrides)
    if as_json:
        print(json.dumps([r.as_dict() for r in results], indent=2))
    else:
        print(
            "Each replica crawled by its site spider and by the generic spider (its home page only):"
        )
        print(comparison_table(results))
        print(
            "found: share of the site spider's articles the generic spider archived too; "
            "titles, median body F1: of those (body F1 on 4-word shingles, 1.0 the same text)"
        )
    failed = [spider for spider in run.spiders if not spider.ok]
    for spider in failed:
        print(f"demo: {spider.spider}: {spider.summary()}", file=sys.stderr)
    return 1 if failed else 0
