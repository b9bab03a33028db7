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

A run of :data:`PARALLEL_FROM` pages or more uses every core: its pages are shared out
between worker processes forked from this one (:func:`run_workers`), each a Scrapy
run of its own share, and of what it takes of the others' once its own is done
(:class:`Taker`), writing files of its own, all under one ``crawl_run``; their
progress, stats and failures come back to the parent, which reports them as one run's.
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from scrapy.statscollectors import MemoryStatsCollector

from crawler.archive.warc import REPLAY_META, RawPageError, read_page
from crawler.crawling.stored_rows import select_rows
from crawler.progress import Progress
from crawler.sites.base import fallback_version

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

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
    taker: Taker | None = None
    """In a worker: where it takes its pages from (its share first, then the others')."""
    old: dict[str, str] | None = None
    """For the unchanged check: url_key -> fingerprint of the row each page re-makes
    (:mod:`crawler.crawling.fingerprints`), for every page of the run, so that a worker
    taking another's pages reads nothing; the command reads them with the rows while it
    starts (:class:`~crawler.crawling.stored_rows.RowsAhead`), :func:`run_plan` if not."""

    @property
    def total(self) -> int:
        return sum(len(p) for p in self.pages.values())


# The plan of the run going on in this process. Scrapy deep-copies settings for
# each crawler, so the page lists and the progress bar are shared through here.
_PLAN: Plan | None = None


def current_plan() -> Plan | None:
    """The plan of the reextract run going on in this process, if any."""
    return _PLAN


def make_plan(
    root: Path | str,
    sites: list[str] | None = None,
    versions: list[str] | None = None,
    outdated: bool = False,
    rows: list[dict[str, Any]] | None = None,
) -> Plan:
    """Group the rows to re-parse by spider; count the ones that cannot be. ``rows``: those
    :func:`~crawler.crawling.stored_rows.select_rows` read already (the command reads them
    while it starts, :class:`~crawler.crawling.stored_rows.RowsAhead`)."""
    from scrapy.spiderloader import SpiderLoader

    from crawler.crawling.runner import project_settings

    loader = SpiderLoader.from_settings(project_settings())
    known = set(loader.list())
    plan = Plan(Path(root))
    current: dict[str, str] = {}
    if rows is None:
        rows = select_rows(root, sites, versions)
    for row in rows:
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
        for row in _rows(spider.name):
            yield scrapy.Request(
                row["url"],
                callback=spider.parse_article,
                meta={REPLAY_META: {"ref": row["raw_ref"], "fetched_at": row["fetched_at"]}},
                dont_filter=True,
            )


def _rows(spider: str) -> Iterator[dict[str, Any]]:
    """The rows of ``spider`` this process re-parses: its plan's, or in a worker those it
    takes one at a time (Scrapy asks for the next start request only when it has room, so
    a worker takes a page about when it can start on it)."""
    plan = _PLAN
    if plan is None:
        return
    if plan.taker is None:
        yield from plan.pages.get(spider, [])
        return
    while (row := plan.taker.take(spider)) is not None:
        yield row


class ReplayMiddleware:
    """Downloader middleware: answer from the WARC store; never fetch."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.root = Path(crawler.settings.get("CRAWLER_ARCHIVE_DIR") or "output")
        # Scrapy sets its logger to DEBUG and filters by level in its handler: every page's
        # DEBUG lines (crawled, scraped, dropped) were made into records and thrown away.
        # At the logger they are not made (set here, after Scrapy's logging set-up; the
        # level goes back when the run ends, crawler.crawling.replay._run_here).
        logging.getLogger("scrapy").setLevel(crawler.settings.get("LOG_LEVEL") or "DEBUG")

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


class ReplayStats(MemoryStatsCollector):
    """Scrapy's stats collector without its attribute hook: Scrapy's looks every attribute
    up twice, and raises and catches an AttributeError for each one not cached (the
    ``_stats`` dictionary of every count): about 4 µs a count, some twenty counts a page,
    3% of a replay. The hook only warns about a ``spider`` argument, which nothing here
    passes."""

    __getattribute__ = object.__getattribute__


PARALLEL_FROM = 200
"""Pages a run needs before it is shared out: a worker's start (its crawl's set-up,
the spiders' and pipelines' openings) costs about what a hundred pages do."""


def default_workers(total: int) -> int:
    """Worker processes for a run of ``total`` pages: one per core this process may use,
    one alone for a small run."""
    import multiprocessing

    if total < PARALLEL_FROM or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, total // (PARALLEL_FROM // 2)))


_REQUEST_SPIDER_MIDDLEWARES = frozenset(
    {
        "scrapy.spidermiddlewares.referer.RefererMiddleware",
        "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware",
        "scrapy.spidermiddlewares.depth.DepthMiddleware",
        "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware",
    }
)


def replay_settings(
    plan: Plan,
    log_level: str = "WARNING",
    settings: dict[str, Any] | None = None,
    force: bool = False,
) -> dict[str, Any]:
    """The settings of a replay: ``settings`` (``-s``) may tune the run; what makes it
    a replay (no fetch, these middlewares, this archive) stays."""
    from crawler.crawling.runner import project_settings

    base = project_settings()
    overrides: dict[str, Any] = {
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
        # Scrapy runs a response's output through CONCURRENT_ITEMS (100) asyncio tasks, made
        # for every response: a replay's callback yields one article, its pipelines wait on
        # nothing, and making and ending the other 99 tasks cost a tenth of a worker's time.
        "CONCURRENT_ITEMS": 1,
        # A crawl stops at CLOSESPIDER_PAGECOUNT pages (settings.py: 100,000); a replay's pages
        # are the plan's, every one of them to re-parse. Off, CloseSpider also stops counting
        # each response.
        "CLOSESPIDER_PAGECOUNT": 0,
        "STATS_CLASS": "crawler.crawling.replay.ReplayStats",
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
        # Scrapy's spider middlewares that deal with the requests a spider yields (their
        # depth, referer, URL length, a meta copied by mistake) have nothing to do either:
        # a replay's callbacks yield articles, and any request is refused.
        "SPIDER_MIDDLEWARES_BASE": {
            name: order
            for name, order in base.getdict("SPIDER_MIDDLEWARES_BASE").items()
            if name not in _REQUEST_SPIDER_MIDDLEWARES
        },
        # One download slot: the priority queue per slot (a hash of the slot's name for
        # every request) orders nothing.
        "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.ScrapyPriorityQueue",
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
    return overrides


def run_plan(
    plan: Plan,
    log_level: str = "WARNING",
    settings: dict[str, Any] | None = None,
    force: bool = False,
    workers: int = 1,
) -> RunResult:
    """Run the plan's spiders over their stored pages; rows go into the archive, only
    those that differ from the row they re-make (all of them with ``force``).

    With ``workers`` above one, the pages are shared out between that many worker
    processes (:func:`run_workers`), one run (one ``crawl_run``) between them."""
    if not force and plan.old is None:
        from crawler.crawling.fingerprints import old_fingerprints

        plan.old = old_fingerprints(
            plan.root, [row for rows in plan.pages.values() for row in rows]
        )
    overrides = replay_settings(plan, log_level, settings, force)
    shares = split(plan, workers)
    with Progress("reextract", plan.total, "pages") as progress:
        if len(shares) < 2:
            return _run_here(plan, overrides, progress)
        return run_workers(plan, shares, overrides, progress)


def _run_here(plan: Plan, overrides: dict[str, Any], progress: Progress) -> RunResult:
    """The plan's spiders in this process, in one reactor."""
    global _PLAN
    from crawler.crawling.runner import run_spiders

    _PLAN = plan
    plan.progress = progress
    scrapy_logger = logging.getLogger("scrapy")
    level = scrapy_logger.level  # ReplayMiddleware raises it for the run
    try:
        return run_spiders(sorted(plan.pages), overrides)
    finally:
        scrapy_logger.setLevel(level)
        plan.progress = None
        _PLAN = None


def split(plan: Plan, workers: int) -> list[Plan]:
    """The plan in ``workers`` shares of about the same size: each spider's pages cut into
    contiguous runs, in the plan's order; shares left empty are dropped."""
    count = max(1, workers)
    shares = [Plan(plan.root, old=plan.old) for _ in range(count)]
    for spider, rows in plan.pages.items():
        for number, share in enumerate(shares):
            part = rows[len(rows) * number // count : len(rows) * (number + 1) // count]
            if part:
                share.pages[spider] = part
    return [share for share in shares if share.pages]


class Taker:
    """The pages of a run shared out between its workers, taken as they go.

    Each worker's share (:func:`split`) is a range of each spider's pages, its front and
    back kept in memory shared by every worker. A worker takes its next page from the front
    of its own range; once that is empty, it takes the back half of the largest range left
    to another worker, which becomes its own. So a worker whose core is busier (the
    machine is shared), or whose pages cost more, does not leave the run waiting on it at
    the end; and the pages a dead worker had not taken yet are done by the others. The
    unchanged check has every page's old fingerprint already (:attr:`Plan.old`): a page
    taken costs no read of the archive."""

    def __init__(self, plan: Plan, shares: list[Plan], context: Any) -> None:
        self.plan = plan
        self.spiders = sorted(plan.pages)
        self.workers = len(shares)
        self.worker = 0
        self.bounds = context.RawArray("q", 2 * self.workers * len(self.spiders))
        self.lock = context.Lock()
        for k, spider in enumerate(self.spiders):
            start = 0
            for w, share in enumerate(shares):
                end = start + len(share.pages.get(spider, []))
                self.bounds[self._at(w, k)], self.bounds[self._at(w, k) + 1] = start, end
                start = end

    def _at(self, worker: int, spider: int) -> int:
        return 2 * (worker * len(self.spiders) + spider)

    def take(self, spider: str) -> dict[str, Any] | None:
        """This worker's next row of ``spider``; ``None`` once none is left to take."""
        rows = self.plan.pages.get(spider)
        if not rows:
            return None
        k, bounds = self.spiders.index(spider), self.bounds
        mine = self._at(self.worker, k)
        with self.lock:
            if bounds[mine] >= bounds[mine + 1]:
                others = [self._at(w, k) for w in range(self.workers) if w != self.worker]
                if not others:
                    return None
                most = max(others, key=lambda at: bounds[at + 1] - bounds[at])
                left = bounds[most + 1] - bounds[most]
                if left < 1:
                    return None
                cut = bounds[most + 1] - (left + 1) // 2
                bounds[mine], bounds[mine + 1] = cut, bounds[most + 1]
                bounds[most + 1] = cut
            at = int(bounds[mine])
            bounds[mine] = at + 1
        return rows[at]

    def left(self, worker: int) -> int:
        """Pages still in ``worker``'s range (not taken by anyone)."""
        return sum(
            self.bounds[at + 1] - self.bounds[at]
            for at in (self._at(worker, k) for k in range(len(self.spiders)))
        )


class _Relay(Progress):
    """A worker's progress: a count in memory shared with the parent, which reads it and
    draws the bar (no message per page, nor per tenth of a second)."""

    def __init__(self, counter: Any) -> None:
        super().__init__("reextract", enabled=False)
        self.counter = counter

    def advance(self, n: int = 1) -> None:
        self.done += n
        self.counter.value = self.done  # this worker alone writes it


def _work(
    share: Plan,
    overrides: dict[str, Any],
    counter: Any,
    connection: Connection,
    taker: Taker,
    number: int,
) -> None:
    """A worker process: run its share and what it takes from the others' (``taker``),
    counting its pages in ``counter``; send the parent the result or the exception that
    stopped it."""
    taker.worker = number
    share.taker = taker
    try:
        result = _run_here(share, overrides, _Relay(counter))
    except BaseException as error:  # every failure goes to the parent
        _tell(connection, ("error", error))
    else:
        _tell(connection, ("done", result))
    finally:
        connection.close()


def _tell(connection: Connection, message: tuple[str, Any]) -> None:
    """Send ``message`` to the parent, if it is still there to read it."""
    try:
        connection.send(message)
    except OSError:  # the parent is gone; the rows are written all the same
        return
    except Exception as error:  # an exception that does not pickle
        kind, value = message
        connection.send((kind, RuntimeError(f"{type(value).__name__}: {value}; {error}")))


@dataclass
class _Worker:
    number: int
    process: Any
    connection: Connection
    counter: Any
    result: RunResult | None = None
    error: BaseException | None = None
    left: int = 0

    def failure(self, count: int) -> str:
        """Why this worker gave no result, in one line."""
        code = self.process.exitcode
        if code is not None and code < 0:
            try:
                how = f"was killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        elif code:
            how = f"exited with status {code}"
        else:
            how = "ended without a result"
        return (
            f"worker {self.number} of {count} (pid {self.process.pid}) {how}: the rows it "
            f"wrote are kept, the pages it was re-parsing (and {self.left:,} left to it) are not"
        )


def run_workers(
    plan: Plan, shares: list[Plan], overrides: dict[str, Any], progress: Progress
) -> RunResult:
    """Each share in a worker process of its own, one run between them; the workers'
    results merged into one.

    The workers are forked once the spiders and the pipelines are imported, so each starts
    at once; each writes its own files (their names carry its pid). The parent draws the
    progress and waits. A terminal's Ctrl-C reaches the workers themselves (each shuts its
    crawl down as a single process does), so the parent ignores SIGINT meanwhile; a SIGTERM
    sent to the parent is passed on to them. A worker that dies is named in the result's
    ``failures``, the others' results stand."""
    import gc
    import multiprocessing
    from multiprocessing.connection import wait

    from crawler.archive.writer import check_writable
    from crawler.pipelines.archive import new_run_id

    overrides = {**overrides, "CRAWLER_RUN_ID": overrides.get("CRAWLER_RUN_ID") or new_run_id()}
    check_writable(shares[0].root)
    _preload(overrides)
    context = multiprocessing.get_context("fork")
    taker = Taker(plan, shares, context)
    workers: list[_Worker] = []
    gc.freeze()  # the workers' collections leave the parent's objects (and pages) alone
    try:
        for number, share in enumerate(shares, 1):
            receive, send = context.Pipe(duplex=False)
            counter = context.RawValue("q", 0)
            process = context.Process(
                target=_work,
                args=(share, overrides, counter, send, taker, number - 1),
                name=f"reextract-{number}",
            )
            process.start()
            send.close()
            workers.append(_Worker(number, process, receive, counter))
    finally:
        gc.unfreeze()

    def forward(signum: int, _frame: Any) -> None:
        for worker in workers:
            if worker.process.is_alive():
                os.kill(worker.process.pid, signum)

    before = signal.signal(signal.SIGINT, signal.SIG_IGN), signal.signal(signal.SIGTERM, forward)
    try:
        live = {worker.connection: worker for worker in workers}
        while live:
            for ready in wait(list(live), timeout=0.1):
                worker = live[ready]  # type: ignore[index]
                try:
                    kind, value = worker.connection.recv()
                except EOFError:
                    del live[worker.connection]
                    continue
                if kind == "done":
                    worker.result = value
                else:
                    worker.error = value
            progress.advance(sum(worker.counter.value for worker in workers) - progress.done)
        for worker in workers:
            worker.process.join()
            worker.left = taker.left(worker.number - 1)
    finally:
        signal.signal(signal.SIGINT, before[0])
        signal.signal(signal.SIGTERM, before[1])
    for worker in workers:
        if worker.error is not None:
            raise worker.error
    merged = merge_results(
        overrides["CRAWLER_RUN_ID"], [w.result for w in workers if w.result is not None]
    )
    merged.failures = [w.failure(len(workers)) for w in workers if w.result is None]
    return merged


def _preload(overrides: dict[str, Any]) -> None:
    """Import, before the fork, what every worker would import for itself once running."""
    # The unchanged check reads rows with pyarrow.dataset, which imports pandas; and with
    # --force pandas comes all the same: pyarrow imports it to make the writer's first table
    # (pa.Table.from_pylist asks whether pandas is there). Once here, not once a worker.
    import pyarrow.dataset  # noqa: F401
    from scrapy.utils.misc import load_object

    from crawler.crawling.runner import project_settings

    settings = project_settings(overrides)
    for name in ("ITEM_PIPELINES", "SPIDER_MIDDLEWARES", "EXTENSIONS"):
        for path, order in settings.getwithbase(name).items():
            if order is not None:
                load_object(path)


_HIGHEST = frozenset({"elapsed_time_seconds", "memusage/max", "memusage/startup"})
"""Stats that are not counts: of several workers', the highest is the run's."""


def merge_results(run_id: str, parts: list[RunResult]) -> RunResult:
    """The workers' results as one run's: each spider's stats added up (counts summed,
    the earliest start, the latest finish, the highest of :data:`_HIGHEST`), and its
    reason ``finished`` only if every worker's spider finished."""
    from crawler.crawling.runner import RunResult, SpiderResult

    merged: dict[str, SpiderResult] = {}
    for part in parts:
        for spider in part.spiders:
            into = merged.get(spider.spider)
            if into is None:
                merged[spider.spider] = SpiderResult(spider.spider, spider.reason, {**spider.stats})
                continue
            if into.reason == "finished":
                into.reason = spider.reason
            for key, value in spider.stats.items():
                into.stats[key] = _merged(key, into.stats.get(key), value)
            into.stats["finish_reason"] = into.reason
    return RunResult(run_id, [merged[name] for name in sorted(merged)])


def _merged(key: str, old: Any, new: Any) -> Any:
    if old is None:
        return new
    if isinstance(new, datetime) and isinstance(old, datetime):
        return min(old, new) if key == "start_time" else max(old, new)
    numbers = isinstance(old, int | float) and isinstance(new, int | float)
    if numbers and not isinstance(old, bool) and not isinstance(new, bool):
        return max(old, new) if key in _HIGHEST else old + new
    return old
