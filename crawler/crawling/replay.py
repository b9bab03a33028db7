"""``crawler reextract``: re-parse the stored pages with today's spiders and pipelines.

When a parser improves, the archive's rows can be made again from the pages
kept in ``raw/`` (:mod:`crawler.archive.warc`) without fetching anything. The re-parse
is a real Scrapy run of the site spiders, so every current component takes part
exactly as in a crawl (the spider's ``parse_article``, every item pipeline in
the settings, the archive writer), with two substitutions:

* :class:`ReplayStart` (spider middleware) replaces the spider's start requests
  by one request per stored page, to ``parse_article``;
* :class:`ReplayMiddleware` (downloader middleware, first in line) answers each
  of them from its WARC record, and refuses every other request: a
  re-extraction never touches the network. The downloader middlewares that deal
  with the network, the download handlers and the redis add-on are left out; the
  failure counter stays.

Which rows: the newest row of each article (``latest``) that has a stored page,
optionally of some sites, some parser versions, or only those whose parser
version is not the spider's current one. The new rows keep the original
``fetched_at`` and ``raw_ref`` and get a new ``crawl_run`` and the current
``parser_version``; ``crawler compact`` then keeps them and drops the old ones.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from crawler.archive.views import retrying
from crawler.archive.warc import REPLAY_META, RawPageError, read_page
from crawler.progress import Progress
from crawler.sites.base import fallback_version

if TYPE_CHECKING:
    import duckdb

    from crawler.crawling.runner import RunResult

logger = logging.getLogger(__name__)

STATS_PREFIX = "crawler/reextract"


@dataclass
class Plan:
    """What one reextract run does: stored pages per spider, and the progress shown."""

    root: Path
    pages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    progress: Progress | None = None

    @property
    def total(self) -> int:
        return sum(len(p) for p in self.pages.values())


# The plan of the run going on in this process. Scrapy deep-copies settings for
# each crawler, so the page lists and the progress bar are shared through here.
_PLAN: Plan | None = None


def current_plan() -> Plan | None:
    """The plan of the reextract run going on in this process, if any."""
    return _PLAN


def select_rows(
    root: Path | str, sites: list[str] | None = None, versions: list[str] | None = None
) -> list[dict[str, Any]]:
    """The newest row of each article (of ``sites``, made by parser ``versions``)."""
    where, params = [], []
    if sites:
        where.append("site IN (" + ", ".join("?" for _ in sites) + ")")
        params += sites
    if versions:
        # A version names the site parser's rows, those the generic parser completed too.
        where.append(
            "("
            + " OR ".join("parser_version = ? OR starts_with(parser_version, ?)" for _ in versions)
            + ")"
        )
        for version in versions:
            params += [version, version + "+"]
    sql = (
        "SELECT url, url_key, site, spider, parser_version, fetched_at, raw_ref, crawl_run"
        " FROM latest"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY spider, url_key"
    )

    def work(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
        cursor = con.execute(sql, params)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    return retrying(root, work)


def make_plan(
    root: Path | str,
    sites: list[str] | None = None,
    versions: list[str] | None = None,
    outdated: bool = False,
) -> Plan:
    """Group the rows to re-parse by spider; count the ones that cannot be."""
    from scrapy.spiderloader import SpiderLoader

    from crawler.crawling.runner import project_settings

    loader = SpiderLoader.from_settings(project_settings())
    known = set(loader.list())
    plan = Plan(Path(root))
    current: dict[str, str] = {}
    for row in select_rows(root, sites, versions):
        spider = row["spider"]
        if spider not in known:
            plan.skipped["unknown spider"] = plan.skipped.get("unknown spider", 0) + 1
            continue
        if not row["raw_ref"]:
            plan.skipped["no stored page"] = plan.skipped.get("no stored page", 0) + 1
            continue
        if outdated:
            if spider not in current:
                current[spider] = loader.load(spider).parser.version
            if row["parser_version"] in (current[spider], fallback_version(current[spider])):
                continue  # made by today's parsers (completed by the generic one or not)
        plan.pages.setdefault(spider, []).append(row)
    return plan


class ReplayStart:
    """Spider middleware: the stored pages of the plan instead of the spider's start."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        import scrapy

        spider = self.crawler.spider
        rows = _PLAN.pages.get(spider.name, []) if _PLAN is not None else []
        for row in rows:
            yield scrapy.Request(
                row["url"],
                callback=spider.parse_article,
                meta={REPLAY_META: {"ref": row["raw_ref"], "fetched_at": row["fetched_at"]}},
                dont_filter=True,
            )


class ReplayMiddleware:
    """Downloader middleware: answer from the WARC store; never fetch."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.root = Path(crawler.settings.get("CRAWLER_ARCHIVE_DIR") or "output")

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        return cls(crawler)

    def process_request(self, request: Any) -> Any:
        from scrapy.exceptions import IgnoreRequest
        from scrapy.http import Headers
        from scrapy.responsetypes import responsetypes

        stats = self.crawler.stats
        replay = request.meta.get(REPLAY_META)
        if not replay:
            stats.inc_value(f"{STATS_PREFIX}/refused")
            raise IgnoreRequest(f"reextract fetches nothing: {request.url}")
        try:
            page = read_page(self.root, replay["ref"])
        except RawPageError as error:
            stats.inc_value(f"{STATS_PREFIX}/missing")
            logger.warning("reextract: %s: %s", request.url, error)
            self._advance()
            raise IgnoreRequest(str(error)) from None
        headers = Headers(page.headers)
        cls = responsetypes.from_args(headers=headers, url=page.url, body=page.body)
        stats.inc_value(f"{STATS_PREFIX}/pages")
        self._advance()
        return cls(
            url=page.url,
            status=page.status,
            headers=headers,
            body=page.body,
            request=request,
            flags=["raw"],
        )

    @staticmethod
    def _advance() -> None:
        if _PLAN is not None and _PLAN.progress is not None:
            _PLAN.progress.advance()


def run_plan(
    plan: Plan,
    log_level: str = "WARNING",
    settings: dict[str, Any] | None = None,
    force: bool = False,
) -> RunResult:
    """Run the plan's spiders over their stored pages; rows go into the archive, only
    those that differ from the row they re-make (all of them with ``force``).

    ``settings`` (``-s``) may tune the run; what makes it a replay (no fetch, these
    middlewares, this archive) stays."""
    global _PLAN
    from crawler.crawling.runner import project_settings, run_spiders

    base = project_settings()
    overrides: dict[str, Any] = {
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
        **(settings or {}),
        "CRAWLER_ARCHIVE_DIR": str(plan.root),
        "LOG_LEVEL": log_level,
        "ROBOTSTXT_OBEY": False,  # robots.txt would be a fetch
        "CRAWLER_REFETCH": True,  # no need to load the archive's keys: nothing is discovered
        # Every request is answered (or refused) by the replay, in front of the chain: the
        # middlewares that deal with the network (retries, redirects, cookies, compression,
        # robots.txt, address checks, cookie gates, challenges, the mirror) have nothing to
        # do, and each one's process_response cost every page. The failure counter stays:
        # it counts errors raised by the pipelines too.
        "DOWNLOADER_MIDDLEWARES_BASE": {},
        "DOWNLOADER_MIDDLEWARES": {
            "crawler.crawling.failures.CountFailures": 10,
            "crawler.crawling.replay.ReplayMiddleware": 1,
        },
        "SPIDER_MIDDLEWARES": {
            **base.getdict("SPIDER_MIDDLEWARES"),
            "crawler.crawling.replay.ReplayStart": 990,
        },
        # Nothing reaches a download handler, so none is loaded: the HTTP one imports the
        # TLS stack; and the remote control extension (off) is not named, since Scrapy
        # imports every component it names (even as None), and this one imports aiohttp:
        # about half a second of start-up between them.
        "DOWNLOAD_HANDLERS": {
            **base.getdict("DOWNLOAD_HANDLERS"),
            "http": None,
            "https": None,
        },
        # A replay reads this archive's own pages, in this process: no redis worker.
        "ADDONS": {},
        "EXTENSIONS_BASE": {
            name: order
            for name, order in base.getdict("EXTENSIONS_BASE").items()
            if name != "scrapy.extensions.remote_control.RemoteControl"
        },
    }
    if not force:  # just before the archive writer (900)
        pipelines = {
            **base.getdict("ITEM_PIPELINES"),
            "crawler.crawling.unchanged.SkipUnchanged": 890,
        }
        overrides["ITEM_PIPELINES"] = pipelines
    _PLAN = plan
    try:
        with Progress("reextract", plan.total, "pages") as progress:
            plan.progress = progress
            return run_spiders(sorted(plan.pages), overrides)
    finally:
        plan.progress = None
        _PLAN = None
