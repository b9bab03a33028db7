"""Extraction of one page layout: a pure function of the response (web-poet style).

A site declares its selectors as class attributes of an :class:`ArticleParser`
subclass. When the site changes its layout, the new layout gets a subclass of
the old parser with a new ``version``; the old one stays, so its fixtures keep
being tested, and ``parser_version`` in each row says which one made it.

Selectors are CSS; ``css@attr`` reads an attribute instead of the text
(``meta[property="article:published_time"]@content``).
"""

from __future__ import annotations

import codecs
from datetime import UTC, datetime, timezone
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

from lxml import etree
from parsel.csstranslator import HTMLTranslator
from scrapy.http import TextResponse

from crawler.items import Article, Block
from crawler.sites.blocks import blocks_from_element, text_of
from crawler.text.bylines import parse_byline, title_case
from crawler.text.dates import parse_date
from crawler.text.normalise import normalise
from crawler.urls import canonical_url, join_url, site_of

if TYPE_CHECKING:
    from crawler.sites.description import SiteDescription


class ArticleParser:
    """Selectors and rules of one layout version of a site's article pages."""

    version: ClassVar[str] = "1"

    title_css: ClassVar[str] = "h1"
    summary_css: ClassVar[str] = ""
    date_css: ClassVar[str] = ""
    body_css: ClassVar[tuple[str, ...]] = ()
    tags_css: ClassVar[str] = ""
    byline_css: ClassVar[str] = ""  # an element that holds the author credit
    # Elements inside the body that are not article text (share bars, related news …).
    exclude_css: ClassVar[tuple[str, ...]] = ()

    # Site-specific layout tokens and boilerplate paragraphs (regex sources),
    # merged with the shared ones by the pipelines.
    layout_tokens: ClassVar[tuple[str, ...]] = ()
    boilerplate: ClassVar[tuple[str, ...]] = ()

    def __init__(self, site: SiteDescription) -> None:
        self.site = site

    @property
    def timezone(self) -> timezone:
        return self.site.timezone

    def parse(self, response: TextResponse) -> Article:
        """The raw article of a page: fields as printed, body as ordered blocks."""
        url = self.url(response)
        published_raw = self.published_raw(response)
        byline = self.byline(response)
        article = Article(
            url=url,
            site=self.site.site or site_of(url),
            spider=self.site.spider,
            language=self.language(url, response),
            title=self.title(response),
            summary=self.summary(response),
            section=self.section(url, response),
            article_id=self.site.article_id(url),
            tags=self.tags(response),
            published_at=self.published_at(published_raw, response),
            published_raw=published_raw,
            fetched_at=datetime.now(UTC),
            parser_version=self.version,
            blocks=self.body_blocks(response),
            extra_tokens=self.layout_tokens,
            extra_boilerplate=self.boilerplate,
        )
        if byline:
            article.byline = byline
            article.authors = self.authors(byline)
        return article

    # -- one method per field; override only for a real quirk ------------------

    def url(self, response: TextResponse) -> str:
        """The canonical URL: the page's canonical link when it is an article of this site."""
        found = _CANONICAL_IN_HEAD(document(response)) or _CANONICAL(document(response))
        link = str(found[0]).strip() if found else ""
        host = self.site.canonical_host
        if link:
            joined = join_url(base_url(response), link)
            candidate = canonical_url(joined, host) if joined else ""
            if self.site.is_article_url(candidate) and site_of(candidate) == site_of(response.url):
                return candidate
        return canonical_url(response.url, host)

    def language(self, url: str, response: TextResponse) -> str:
        return self.site.language

    def title(self, response: TextResponse) -> str:
        return first(response, self.title_css)

    def summary(self, response: TextResponse) -> str | None:
        return first(response, self.summary_css) or None

    def section(self, url: str, response: TextResponse) -> str | None:
        """The first path segment of the URL, when the URL has more than one."""
        path = url.split("://", 1)[-1].split("?")[0].split("/")
        return path[1] if len(path) > 2 and path[1] else None

    def tags(self, response: TextResponse) -> list[str]:
        return (
            [text_of(element) for element in select(response, self.tags_css)]
            if self.tags_css
            else []
        )

    def published_raw(self, response: TextResponse) -> str | None:
        return first(response, self.date_css) or None

    def published_at(self, raw: str | None, response: TextResponse) -> datetime | None:
        return parse_date(raw, self.timezone)

    def byline(self, response: TextResponse) -> str | None:
        """The credit element's text, white space folded (its names are parsed from it)."""
        return normalise(first(response, self.byline_css)) or None

    def authors(self, byline: str) -> list[str]:
        return parse_byline(byline) or [title_case(byline)]

    def body_blocks(self, response: TextResponse) -> list[Block]:
        for css in self.body_css:
            found = select(response, css)
            if found:
                body = found[0]
                for skip in (*self.exclude_css, *((self.byline_css,) if self.byline_css else ())):
                    for element in _compiled(_css(skip))(body):
                        drop_element(element)
                return blocks_from_element(body, base_url(response))
        return []


# -- selection helpers -------------------------------------------------------------

_TRANSLATOR = HTMLTranslator()


def _css(selector: str) -> str:
    return selector.rsplit("@", 1)[0] if "@" in selector.rsplit("]", 1)[-1] else selector


@cache
def _compiled(css: str) -> etree.XPath:
    return etree.XPath(_TRANSLATOR.css_to_xpath(css))


# The canonical link sits in the head; the whole page is searched only when it does not.
_CANONICAL_IN_HEAD = etree.XPath("/html/head/link[@rel='canonical'][1]/@href", smart_strings=False)
_CANONICAL = etree.XPath("//link[@rel='canonical'][1]/@href", smart_strings=False)


def base_url(response: TextResponse) -> str:
    """What relative links of the page resolve against: its ``<base href>``, else its URL."""
    base = document(response).base
    url: str = response.url
    return (join_url(url, base) or url) if base and base != url else url


def select(response: TextResponse, css: str) -> list[Any]:
    """Elements matching ``css`` (compiled once per process)."""
    found: list[Any] = _compiled(_css(css))(document(response))
    return found


_last: tuple[Any, Any] = (None, None)  # the last response parsed and its tree, set at once


def document(response: TextResponse) -> Any:
    """The page's element tree, parsed once per response for every selector of the parser.

    One page is parsed at a time, so the last one is all the cache keeps (a
    weak-keyed dictionary cost more than the selectors it served).
    """
    global _last
    last, root = _last
    if last is not response:
        root = parse_html(response)
        _last = (response, root)
    return root


def parse_html(response: TextResponse) -> Any:
    """The response as a plain lxml tree.

    Not ``response.selector``: parsel decodes the body, re-encodes it and parses
    with ``lxml.html``, whose element classes are looked up in Python for every
    element touched; a UTF-8 page goes to lxml as it came, and plain elements are
    all the extraction needs. About twice as fast (bench/RESULTS.md). Like parsel,
    NUL bytes are dropped and an empty page is an empty ``<html>``.
    """
    data = response.body if _is_utf8(response.encoding) else response.text.encode("utf-8")
    if b"\x00" in data:
        data = data.replace(b"\x00", b"")
    parser = etree.HTMLParser(encoding="utf-8", huge_tree=True, collect_ids=False)
    blank = not data or data.isspace()  # as ``not data.strip()``, without copying the page
    root = None if blank else etree.fromstring(data, parser, base_url=response.url)
    return root if root is not None else etree.fromstring(b"<html/>", parser)


@cache
def _is_utf8(encoding: str) -> bool:
    try:
        return codecs.lookup(encoding).name == "utf-8"
    except LookupError:
        return False


def first(response: TextResponse, selector: str) -> str:
    """Text (or, with ``css@attr``, the attribute) of the first match; ``""`` if none."""
    if not selector:
        return ""
    found = select(response, selector)
    if not found:
        return ""
    css = _css(selector)
    if css != selector:
        return str(found[0].get(selector[len(css) + 1 :]) or "")
    return text_of(found[0])


def drop_element(element: Any) -> None:
    """Remove ``element`` but keep its tail text in the document."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail
    previous = element.getprevious()
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)
