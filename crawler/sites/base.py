"""The shared base of every site spider: discovery, date window, extraction.

A site module declares its URLs and selectors as class attributes; the base
discovers articles from listing pages (with pagination) and feeds, keeps to the
date window, and turns an article page into an :class:`Article` whose body is
ordered blocks. ``extract`` is a pure function of the response, so a saved page
is a complete fixture.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import Response, TextResponse

from crawler.archive import ArchiveReadError, KnownKeys, known_url_keys
from crawler.generic.parser import GenericParser
from crawler.items import Article, sha256_hex
from crawler.sites.description import SiteDescription
from crawler.sites.discovery import (
    FEED_RECORDS,
    SITEMAP_RECORDS,
    SITEMAP_ROOTS,
    XmlRecords,
    child_text,
    feed_date,
    feed_link,
    sitemap_body,
)
from crawler.sites.parser import ArticleParser, base_url
from crawler.text.dates import VIETNAM, parse_iso
from crawler.urls import canonical_url, join_url

ARCHIVE_UNREADABLE = "archive_unreadable"  # close reason: a file of the archive cannot be read


class NewsSpider(scrapy.Spider):
    """Base of the site spiders. Subclasses set the class attributes below."""

    # Identity.
    site: ClassVar[str] = ""
    language: ClassVar[str] = ""
    canonical_host: ClassVar[str | None] = None
    timezone: ClassVar[timezone] = VIETNAM

    # Discovery.
    listing_urls: ClassVar[tuple[str, ...]] = ()
    feed_urls: ClassVar[tuple[str, ...]] = ()
    sitemap_urls: ClassVar[tuple[str, ...]] = ()
    article_url_pattern: ClassVar[str] = r"$^"  # group "id": the site's article id
    listing_link_css: ClassVar[str] = "a"
    next_page_format: ClassVar[str] = ""  # e.g. "{listing}/p/{page}"
    pagination_css: ClassVar[str] = ""  # when the page has it, only its links are followed

    # Extraction: the current layout's parser, and the older ones (for their fixtures).
    parser: ClassVar[type[ArticleParser]] = ArticleParser
    old_parsers: ClassVar[tuple[type[ArticleParser], ...]] = ()

    def __init__(
        self,
        *args: Any,
        since: str | date | None = None,
        until: str | date | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._site = self.description()
        self.since_arg = since
        self.until_arg = until
        self.since: datetime | None = None
        self.until: datetime | None = None
        self._requested: set[str] = set()
        # url_keys already in the archive: the archive is the memory of what was seen.
        self._known = KnownKeys.empty()
        self._stale_pages: dict[str, int] = {}  # listing -> consecutive pages with nothing new
        self._stale_limit = 1
        self._max_pages = 500  # per listing (CRAWLER_MAX_LISTING_PAGES): endless pagination ends
        self._listing_links: dict[str, set[str]] = {}  # listing -> article links seen on its pages
        # Next listing pages held back until an article of their page is in the window.
        self._pending_next: dict[tuple[str, int], scrapy.Request] = {}
        self._window_set = False
        # Discovery limits (read from the settings when the crawl starts, see _load_limits).
        self._feed_max_items = 1_000
        self._sitemap_max_entries = 50_000
        self._sitemap_max_depth = 3
        self._warned: set[str] = set()  # kinds of discovery trouble already logged

    # -- date window -------------------------------------------------------------

    def _set_window(self) -> None:
        if self._window_set:
            return
        self._window_set = True
        settings = getattr(self, "settings", None)
        since = self.since_arg or (settings.get("CRAWLER_SINCE") if settings else None)
        until = self.until_arg or (settings.get("CRAWLER_UNTIL") if settings else None)
        if since:
            self.since = datetime.combine(_as_date(since), time.min, self.timezone).astimezone(UTC)
        if until:
            end = datetime.combine(_as_date(until), time.min, self.timezone) + timedelta(days=1)
            self.until = end.astimezone(UTC)

    def in_window(self, published: datetime | None) -> bool:
        """Unknown dates are kept: losing an article is worse than one out of range."""
        self._set_window()
        if published is None:
            return True
        if self.since is not None and published < self.since:
            return False
        return not (self.until is not None and published >= self.until)

    def before_window(self, published: datetime | None) -> bool:
        self._set_window()
        return published is not None and self.since is not None and published < self.since

    # -- discovery ---------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        self._set_window()
        self._load_limits()
        self._load_known()
        for url in self.feed_urls:
            yield scrapy.Request(url, callback=self.parse_feed)
        for url in self.sitemap_urls:
            yield scrapy.Request(url, callback=self.parse_sitemap)
        for url in self.listing_urls:
            yield scrapy.Request(
                url, callback=self.parse_listing, cb_kwargs={"listing": url, "page": 1}
            )

    @classmethod
    def description(cls) -> SiteDescription:
        """What the site's parser is told about the site."""
        return SiteDescription(
            spider=cls.name,
            site=cls.site,
            language=cls.language,
            timezone=cls.timezone,
            canonical_host=cls.canonical_host,
            article_url_pattern=cls.article_url_pattern,
        )

    def is_article_url(self, url: str) -> bool:
        return self._site.is_article_url(url)

    def _load_limits(self) -> None:
        settings = self.settings
        self._feed_max_items = settings.getint("CRAWLER_FEED_MAX_ITEMS", self._feed_max_items)
        self._sitemap_max_entries = settings.getint(
            "CRAWLER_SITEMAP_MAX_ENTRIES", self._sitemap_max_entries
        )
        self._sitemap_max_depth = settings.getint(
            "CRAWLER_SITEMAP_MAX_DEPTH", self._sitemap_max_depth
        )

    def _load_known(self) -> None:
        settings = getattr(self, "settings", None)
        if settings is not None:
            self._max_pages = settings.getint("CRAWLER_MAX_LISTING_PAGES", self._max_pages)
        if settings is None or settings.getbool("CRAWLER_REFETCH"):
            return
        self._stale_limit = max(1, settings.getint("CRAWLER_STALE_PAGES", 1))
        root = settings.get("CRAWLER_ARCHIVE_DIR") or "output"
        try:
            self._known = known_url_keys(root, self.site or None)
        except ArchiveReadError as error:
            # Crawling without knowing what the archive holds would fetch (and archive)
            # again what the bad file holds: stop, and say which file and what to do.
            self.logger.error("cannot start: %s", error)
            raise CloseSpider(ARCHIVE_UNREADABLE) from None
        self.crawler.stats.set_value("crawler/incremental/known_in_archive", len(self._known))

    def is_known(self, url: str) -> bool:
        """True if the archive already holds the article at this canonical URL."""
        return sha256_hex(url) in self._known

    def article_request(self, url: str, **meta: Any) -> scrapy.Request | None:
        """A request for an article URL, canonical; ``None`` if it was already requested
        in this run or the archive already holds it."""
        url = canonical_url(url, self.canonical_host)
        if url in self._requested:
            return None
        self._requested.add(url)
        if self.is_known(url):
            self.crawler.stats.inc_value("crawler/incremental/skipped_known")
            return None
        return scrapy.Request(url, callback=self.parse_article, meta=meta)

    def listing_is_stale(self, listing: str, links: list[str]) -> bool:
        """Count pages whose every article is in the archive; stop after enough in a row.

        Not while back-filling a date window on purpose (``--since``): then paging
        goes on until the window is passed.
        """
        if not self._known or self.since is not None:
            return False
        canonical = (canonical_url(url, self.canonical_host) for url in links)
        if any(not self.is_known(url) for url in canonical):
            self._stale_pages[listing] = 0
            return False
        self._stale_pages[listing] = self._stale_pages.get(listing, 0) + 1
        if self._stale_pages[listing] >= self._stale_limit:
            self.crawler.stats.inc_value("crawler/incremental/listings_stopped")
            return True
        return False

    def listing_links(self, response: TextResponse) -> list[str]:
        links = response.css(self.listing_link_css).xpath("@href").getall()
        urls = [join_url(base_url(response), link) for link in links]
        return [url for url in urls if url and self.is_article_url(url)]

    def parse_listing(self, response: Response, listing: str, page: int) -> Iterator[Any]:
        if response.status == 404 and page > 1:
            self.crawler.stats.inc_value("crawler/discovery/listing_end")
            return
        if not isinstance(response, TextResponse):
            return
        self.crawler.stats.inc_value("crawler/discovery/listing_pages")
        links = self.listing_links(response)
        seen = self._listing_links.setdefault(listing, set())
        unseen = set(links) - seen
        seen.update(links)
        new = 0
        for url in links:
            request = self.article_request(url, listing=listing, page=page)
            if request is not None:
                new += 1
                yield request
        if not unseen or self.listing_is_stale(listing, links):
            return  # no links, or only links earlier pages of this listing had: its end
        next_page = self.next_page(response, listing, page)
        if next_page is None:
            return
        # With --since, the next page waits until an article of this one is in the window.
        if self.since is None or new == 0:
            yield next_page
        else:
            self._pending_next[(listing, page)] = next_page

    def next_page(self, response: TextResponse, listing: str, page: int) -> scrapy.Request | None:
        """Page ``page + 1``: linked from the pagination block, or probed when there is none.

        Without ``next_page_format``, the pagination block's link labelled
        ``page + 1`` is followed, whatever the form of its URL.
        """
        if page >= self._max_pages:
            self.crawler.stats.inc_value("crawler/discovery/listing_page_limit")
            return None
        pagination = response.css(self.pagination_css) if self.pagination_css else None
        if not self.next_page_format:
            labelled = [
                link.attrib["href"]
                for link in (pagination.css("a[href]") if pagination else [])
                if link.xpath("normalize-space()").get() == str(page + 1)
            ]
            next_url = join_url(base_url(response), labelled[0]) if labelled else None
            if not next_url:
                return None
            url = next_url
        else:
            url = self.next_page_format.format(listing=listing.rstrip("/"), page=page + 1)
        meta: dict[str, Any] = {}
        if pagination and self.next_page_format:
            base = base_url(response)
            hrefs = pagination.css("a::attr(href)").getall()
            linked = {
                canonical_url(link, self.canonical_host)
                for link in (join_url(base, href) for href in hrefs)
                if link
            }
            if canonical_url(url, self.canonical_host) not in linked:
                return None
        elif not pagination:
            meta["handle_httpstatus_list"] = [404]  # the page after the last one
        return scrapy.Request(
            url,
            callback=self.parse_listing,
            cb_kwargs={"listing": listing, "page": page + 1},
            meta=meta,
        )

    def parse_feed(self, response: Response) -> Iterator[Any]:
        """An RSS or Atom feed, streamed: its first ``CRAWLER_FEED_MAX_ITEMS`` items.

        A link goes through the same article URL check as listing and sitemap
        links. XML that breaks after some items keeps the items before the break.
        """
        stats = self.crawler.stats
        stats.inc_value("crawler/discovery/feeds")
        # Decoded as every page is (header, BOM, declaration, then a guess; never fails), so
        # a feed whose charset is only in its header, or that lies about it, still reads.
        if isinstance(response, TextResponse):
            records = XmlRecords(response.text.encode(), FEED_RECORDS, encoding="utf-8")
        else:
            records = XmlRecords(response.body, FEED_RECORDS)
        for read, item in enumerate(records):
            if read >= self._feed_max_items:
                stats.inc_value("crawler/discovery/feeds_capped")
                self._warn_once(
                    "feeds_capped",
                    "feed %s: stopped after %d items (CRAWLER_FEED_MAX_ITEMS)",
                    response.url,
                    read,
                )
                return
            link = feed_link(item)
            if not link:
                continue
            url = join_url(response.url, link) or ""
            if not self.is_article_url(url):
                stats.inc_value("crawler/discovery/feed_links_not_article")
                continue
            text = feed_date(item)
            published = _rfc822(text) or parse_iso(text, self.timezone)
            if not self.in_window(published):
                stats.inc_value("crawler/window/feed_items_skipped")
                continue
            request = self.article_request(url)
            if request is not None:
                yield request
        if records.error is not None:
            stats.inc_value("crawler/discovery/feed_broken")
            self._warn_once(
                "feed_broken",
                "feed %s: broken XML, only the items before the break were read: %s",
                response.url,
                records.error,
            )

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        """A sitemap or sitemap index (gzipped or not): articles by ``lastmod`` window.

        Nested sitemaps are followed down to ``CRAWLER_SITEMAP_MAX_DEPTH``
        levels below the first; each sitemap yields at most
        ``CRAWLER_SITEMAP_MAX_ENTRIES`` entries.
        """
        stats = self.crawler.stats
        stats.inc_value("crawler/discovery/sitemaps")
        depth = response.meta.get("sitemap_depth", 0)
        max_size = response.meta.get("download_maxsize", self.settings.getint("DOWNLOAD_MAXSIZE"))
        try:
            body = sitemap_body(response.body, max_size)
        except ValueError as error:
            self._invalid_sitemap(response, str(error))
            return
        records = XmlRecords(body, SITEMAP_RECORDS, roots=SITEMAP_ROOTS)
        for read, entry in enumerate(records):
            if read >= self._sitemap_max_entries:
                stats.inc_value("crawler/discovery/sitemaps_capped")
                self._warn_once(
                    "sitemaps_capped",
                    "sitemap %s: stopped after %d entries (CRAWLER_SITEMAP_MAX_ENTRIES)",
                    response.url,
                    read,
                )
                return
            loc = child_text(entry, "loc")
            if not loc:
                continue
            url = join_url(response.url, loc)
            if not url:
                continue
            if records.root == "sitemapindex":
                if depth >= self._sitemap_max_depth:
                    stats.inc_value("crawler/discovery/sitemap_depth_capped")
                    self._warn_once(
                        "sitemap_depth_capped",
                        "sitemap index %s is %d levels deep: its sitemaps are not followed"
                        " (CRAWLER_SITEMAP_MAX_DEPTH)",
                        response.url,
                        depth,
                    )
                    continue
                meta = {"sitemap_depth": depth + 1}
                yield scrapy.Request(url, callback=self.parse_sitemap, meta=meta)
                continue
            if not self.is_article_url(url):
                stats.inc_value("crawler/discovery/sitemap_links_not_article")
                continue
            if not self.in_window(parse_iso(child_text(entry, "lastmod"), self.timezone)):
                stats.inc_value("crawler/window/sitemap_items_skipped")
                continue
            request = self.article_request(url)
            if request is not None:
                yield request
        if records.root not in SITEMAP_ROOTS:
            reason = f"its root is <{records.root}>" if records.root else records.error
            self._invalid_sitemap(response, reason or "no XML")
        elif records.error is not None:
            stats.inc_value("crawler/discovery/sitemap_broken")
            self._warn_once(
                "sitemap_broken",
                "sitemap %s: broken XML, only the entries before the break were read: %s",
                response.url,
                records.error,
            )

    def _invalid_sitemap(self, response: Response, reason: str) -> None:
        self.crawler.stats.inc_value("crawler/discovery/sitemap_invalid")
        self._warn_once("sitemap_invalid", "sitemap %s is not a sitemap: %s", response.url, reason)

    def _warn_once(self, kind: str, message: str, *args: Any) -> None:
        """One warning per kind of discovery trouble in a run; its stat counts them all."""
        if kind in self._warned:
            return
        self._warned.add(kind)
        self.logger.warning(message + " (further ones: stat crawler/discovery/%s)", *args, kind)

    # -- articles ----------------------------------------------------------------

    def parse_article(self, response: Response) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            self.crawler.stats.inc_value("crawler/extract/not_html")
            return
        article, filled = self.extract_with_fallback(response)
        if filled:
            stats = self.crawler.stats
            stats.inc_value(FALLBACK_STAT)
            for name in filled:
                stats.inc_value(f"{FALLBACK_STAT}/{name}")
        listing = response.meta.get("listing")
        if listing is not None and not self.before_window(article.published_at):
            pending = self._pending_next.pop((listing, response.meta["page"]), None)
            if pending is not None:
                yield pending
        if not self.in_window(article.published_at):
            self.crawler.stats.inc_value("crawler/window/articles_skipped")
            return
        yield article

    def extract(self, response: TextResponse) -> Article:
        """The raw article of a page, by the site's current parser (and the generic
        parser for what it could not find: :meth:`extract_with_fallback`)."""
        return self.extract_with_fallback(response)[0]

    def extract_with_fallback(self, response: TextResponse) -> tuple[Article, tuple[str, ...]]:
        """The raw article of a page, and the fields the generic parser had to fill.

        When the site's parser finds no title, no body or no date (its layout
        changed, most likely), :class:`GenericParser` reads the same page and fills
        only what is missing; ``parser_version`` then says so
        (``<site version>+generic-<n>``). The body comes whole from one parser or
        the other, with the byline the same parser found.
        """
        article = self.parser(self._site).parse(response)
        if issubclass(self.parser, GenericParser) or not missing_fields(article):
            return article, ()
        try:
            generic = GenericParser(self._site).parse(response)
        except Exception as error:  # what the site parser found is kept, whatever the page
            self.logger.warning("generic fallback failed on %s: %r", response.url, error)
            if getattr(self, "crawler", None) is not None:
                self.crawler.stats.inc_value(f"{FALLBACK_STAT}/errors")
            return article, ()
        filled = fill_missing(article, generic)
        if filled:
            article.parser_version = fallback_version(article.parser_version)
        return article, filled

    @classmethod
    def parser_versions(cls) -> dict[str, type[ArticleParser]]:
        """Every parser version of the site, the current one included."""
        return {p.version: p for p in (*cls.old_parsers, cls.parser)}

    def article_id(self, url: str) -> str | None:
        return self._site.article_id(url)


FALLBACK_STAT = "crawler/generic/fallback"
"""Articles the generic parser completed; ``…/title``, ``…/body``, ``…/date``: per field."""

FALLBACK_FIELDS = ("title", "body", "date")


def missing_fields(article: Article) -> tuple[str, ...]:
    """The fields a healthy layout always gives that the site's parser did not find."""
    missing = {
        "title": not article.title.strip(),
        "body": not any(paragraph.strip() for paragraph in article.paragraphs),
        "date": article.published_at is None,
    }
    return tuple(name for name in FALLBACK_FIELDS if missing[name])


def fill_missing(article: Article, generic: Article) -> tuple[str, ...]:
    """Fill ``article``'s missing fields from ``generic``'s; the names of those filled."""
    filled = []
    missing = missing_fields(article)
    if "title" in missing and generic.title.strip():
        article.title = generic.title
        filled.append("title")
    if "body" in missing and any(p.strip() for p in generic.paragraphs):
        article.blocks = generic.blocks
        if generic.byline and not article.byline:
            article.byline, article.authors = generic.byline, list(generic.authors)
        filled.append("body")
    if "date" in missing and generic.published_at is not None:
        article.published_at = generic.published_at
        article.published_raw = generic.published_raw
        filled.append("date")
    return tuple(filled)


def fallback_version(site_version: str) -> str:
    """``parser_version`` of a row the generic parser completed: ``<site>+generic-<n>``."""
    return f"{site_version}+{GenericParser.version}"


def _as_date(value: str | date) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value.strip())
    except ValueError as error:
        raise ValueError(f"not a date (expected YYYY-MM-DD): {value!r}") from error


def _rfc822(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
