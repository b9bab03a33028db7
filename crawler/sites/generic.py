"""Any news site, with no code: ``crawler crawl generic --start https://www.example.com/``.

The spider is told nothing but where to start. It finds the site's articles as a
person would (:mod:`crawler.generic.discover`): the sitemaps its robots.txt
names, the feeds its pages announce, the sections its menus link to and their
next pages; and it keeps a page only if the page is an article. It stays within
the start URLs' sites (``www.`` or not), and keeps every guarantee of the site
spiders: robots.txt, politeness, incremental runs, the date window, the
bot-challenge handling, the layout alarm.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import Response, TextResponse

from crawler.generic.discover import (
    COMMON_FEED_PATHS,
    article_links,
    feed_links,
    host_of,
    looks_like_article,
    next_page_links,
    section_links,
    sitemaps_from_robots,
)
from crawler.generic.parser import GenericParser
from crawler.sites.base import NewsSpider
from crawler.sites.description import SiteDescription
from crawler.sites.parser import base_url, document
from crawler.urls import canonical_url, join_url


def start_urls_of(start: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """``--start`` values (repeated, or several in one, comma or space separated)."""
    values = [start] if isinstance(start, str) else list(start or ())
    urls = [part for value in values for part in value.replace(",", " ").split()]
    for url in urls:
        if not url.startswith(("http://", "https://")) or not host_of(url):
            raise ValueError(f"--start {url!r} is not an http(s) URL")
    return urls


SECTION_DEPTH = 3
"""Levels of sections below the home page that are followed (home → section → subsection …)."""


class GenericSpider(NewsSpider):
    name = "generic"
    parser = GenericParser
    language = ""  # the page says (html lang), else a guess from its script

    def __init__(
        self, *args: Any, start: str | list[str] | tuple[str, ...] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.starts = start_urls_of(start)
        self.hosts = sorted({host_of(url) for url in self.starts})
        # Each site's URLs are written with its start URL's host: www. or not is one site.
        self._canonical_hosts = {host_of(url): urlsplit(url).hostname for url in self.starts}
        # The offsite filter takes a domain to mean its subdomains too (www. or not).
        self.allowed_domains = self.hosts

    def is_article_url(self, url: str) -> bool:
        """Any page of the start sites may be an article; the page itself decides. (With
        no start, as in ``crawler extract generic``, any page.)"""
        return not self.hosts or host_of(url) in self.hosts

    async def start(self) -> AsyncIterator[Any]:
        if not self.starts:
            raise ValueError(
                "the generic spider needs a start URL: --start https://www.example.com/"
            )
        async for request in super().start():  # date window, limits, what the archive holds
            yield request
        for url in self.starts:
            robots = join_url(url, "/robots.txt")
            if robots:
                yield scrapy.Request(robots, callback=self.parse_robots)
            yield scrapy.Request(url, callback=self.parse_home, cb_kwargs={"start": url})

    def parse_robots(self, response: Response) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            return
        for url in sitemaps_from_robots(response.text, response.url):
            if host_of(url) in self.hosts:
                yield scrapy.Request(url, callback=self.parse_sitemap)

    def parse_home(self, response: Response, start: str) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            return
        base = base_url(response)
        feeds = [url for url in feed_links(document(response), base) if host_of(url) in self.hosts]
        for url in feeds or [join_url(start, path) or "" for path in COMMON_FEED_PATHS[:2]]:
            if url:
                yield scrapy.Request(url, callback=self.parse_feed)
        yield from self._sections(response, depth=1)
        for url, text in article_links(document(response), base, self.hosts):
            request = self.article_request(url, listing_text=text)
            if request is not None:
                yield request

    def _sections(self, response: TextResponse, depth: int) -> Iterator[Any]:
        """The sections a page's menus link to (subsections of sections too, down to
        ``SECTION_DEPTH`` levels below the home page); the duplicate filter ends loops."""
        if depth > SECTION_DEPTH:
            return
        for url in section_links(document(response), base_url(response), self.hosts):
            yield scrapy.Request(
                url,
                callback=self.parse_section,
                cb_kwargs={"listing": url, "page": 1},
                meta={"section_depth": depth},
            )

    def parse_section(self, response: Response, listing: str, page: int) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            return
        if looks_like_article(document(response)):  # a menu linked an article
            yield from self.parse_article(response)
            return
        self.crawler.stats.inc_value("crawler/discovery/listing_pages")
        found = article_links(document(response), base_url(response), self.hosts)
        for url, text in found:
            request = self.article_request(url, listing_text=text)
            if request is not None:
                yield request
        if page == 1:
            yield from self._sections(response, response.meta.get("section_depth", 1) + 1)
        links = [self.canonical(url) for url, _ in found]
        seen = self._listing_links.setdefault(listing, set())
        unseen = set(links) - seen
        seen.update(links)
        if not unseen or page >= self._max_pages or self.listing_is_stale(listing, links):
            return  # no link earlier pages did not have, or only what the archive holds
        for url in next_page_links(document(response), base_url(response), page):
            if host_of(url) in self.hosts:
                yield scrapy.Request(
                    url,
                    callback=self.parse_section,
                    cb_kwargs={"listing": listing, "page": page + 1},
                )
                break

    def parse_article(self, response: Response) -> Iterator[Any]:
        if isinstance(response, TextResponse) and not looks_like_article(
            document(response), response.meta.get("listing_text", "")
        ):
            self.crawler.stats.inc_value("crawler/generic/not_article")
            return
        self.crawler.stats.inc_value("crawler/generic/articles_found")
        yield from super().parse_article(response)

    def article_request(self, url: str, **meta: Any) -> scrapy.Request | None:
        if not self.is_article_url(url):
            return None
        return super().article_request(self.canonical(url), **meta)

    def canonical(self, url: str) -> str:
        return canonical_url(url, self._canonical_hosts.get(host_of(url)))

    @classmethod
    def description(cls) -> SiteDescription:
        return SiteDescription(
            spider=cls.name,
            site="",  # each article's own domain
            language=cls.language,
            timezone=cls.timezone,
            canonical_host=None,
            article_url_pattern=r"^https?://",
        )
