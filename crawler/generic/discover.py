"""Finding a news site's articles with no code: where they are listed, and whether a
page is one.

The generic spider starts from a site's home page and knows nothing else. What a
news site offers to find its articles is much the same everywhere: ``Sitemap:``
lines in robots.txt, feeds announced with ``<link rel="alternate">`` or at the
usual paths, section pages linked from the home page's menus, and pages that
link to the next one. An article page says what it is (JSON-LD ``@type``,
``og:type``, a publish time), and failing that looks like one (a date and a long
run of paragraphs). Pure functions of text and parsed trees, so each is tested
on its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

from lxml.etree import _Element

from crawler.generic.metadata import ARTICLE_TYPES, text_weight
from crawler.generic.metadata import json_ld as _json_ld
from crawler.generic.metadata import json_ld_types as _types
from crawler.generic.metadata import meta as _meta
from crawler.urls import join_url

FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/xml"}
)
COMMON_FEED_PATHS = ("/rss", "/feed", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml")
COMMON_SITEMAP_PATHS = ("/sitemap.xml", "/sitemap_index.xml", "/news-sitemap.xml")

# Meta names pages give their publish date under.
PUBLISHED_META = (
    "article:published_time",
    "og:article:published_time",
    "publishdate",
    "pubdate",
    "publish-date",
    "dc.date",
    "dcterms.created",
    "parsely-pub-date",
    "sailthru.date",
)
NOT_ARTICLE_TYPES = frozenset({"collectionpage", "itemlist", "searchresultspage", "website"})

# Paragraph text an article page has at the least, when nothing says it is one.
MIN_ARTICLE_TEXT = 600
_DATE_TEXT = re.compile(
    r"\b\d{1,2}[/.-]\d{1,2}[/.-]\d{4}\b|\b\d{4}-\d{2}-\d{2}\b|\d{4}年\d{1,2}月\d{1,2}日"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}\b",
    re.IGNORECASE,
)
_NEXT_TEXT = re.compile(
    r"^(?:next|next page|older|older posts|more|›|»|>|>>|trang sau|tiếp|xem thêm|下一页|下页|后页)$",
    re.IGNORECASE,
)
_SKIP_EXTENSIONS = re.compile(
    r"\.(?:jpe?g|png|gif|webp|svg|pdf|zip|rar|mp3|mp4|avi|mov|docx?|xlsx?|pptx?|css|js|ico)$",
    re.IGNORECASE,
)
_NON_CONTENT_PATH = re.compile(
    r"/(?:tag|tags|author|authors|search|tim-kiem|login|register|dang-nhap|contact|lien-he|"
    r"about|gioi-thieu|privacy|terms|rss|feed|video|videos|photo|gallery|print|share)(?:/|$|\.)",
    re.IGNORECASE,
)


def host_of(url: str) -> str:
    """The host without ``www.``: the unit the generic spider stays within."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def sitemaps_from_robots(text: str, base: str) -> list[str]:
    """The ``Sitemap:`` URLs of a robots.txt, absolute, in order, once each."""
    found: list[str] = []
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == "sitemap":
            url = join_url(base, value.strip())
            if url and url not in found:
                found.append(url)
    return found


def feed_links(tree: _Element, base: str) -> list[str]:
    """Feeds a page announces (``<link rel="alternate" type="application/rss+xml">``)."""
    found: list[str] = []
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        href = (link.get("href") or "").strip()
        if "alternate" in rel and kind in FEED_TYPES and href:
            url = join_url(base, href)
            if url and url not in found:
                found.append(url)
    return found


def _links(tree: _Element, base: str) -> Iterator[tuple[_Element, str]]:
    for anchor in tree.iter("a"):
        href = (anchor.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:", "tel:")):
            continue
        url = join_url(base, href)
        if url and url.startswith(("http://", "https://")):
            yield anchor, url.split("#")[0]


def same_site_links(tree: _Element, base: str, hosts: Iterable[str]) -> list[str]:
    """Every link of the page to the given sites, in page order, once each; files skipped."""
    wanted = {h.removeprefix("www.") for h in hosts}
    found: dict[str, None] = {}
    for _anchor, url in _links(tree, base):
        path = urlsplit(url).path
        if host_of(url) in wanted and not _SKIP_EXTENSIONS.search(path):
            found.setdefault(url)
    return list(found)


_CHROME = re.compile(r"\b(?:footer|copyright|site-info|colophon|sidebar|widget)\b", re.I)


def article_links(tree: _Element, base: str, hosts: Iterable[str]) -> list[tuple[str, str]]:
    """Links of the page that may lead to articles of the given sites, with their text:
    a URL shaped like an article's, or a link whose text is as long as a headline."""
    wanted = {h.removeprefix("www.") for h in hosts}
    found: dict[str, str] = {}
    for anchor, url in _links(tree, base):
        parts = urlsplit(url)
        if host_of(url) not in wanted or parts.path in ("", "/"):
            continue
        if _SKIP_EXTENSIONS.search(parts.path) or _NON_CONTENT_PATH.search(parts.path):
            continue
        text = " ".join(" ".join(anchor.itertext()).split()) or (anchor.get("title") or "")
        looks_linked = likely_article_url(url) or text_weight(text) >= 30
        if looks_linked and len(text) >= len(found.get(url, "")):
            found[url] = text  # an image link and a headline link: keep the headline
    return list(found.items())


def _in_chrome(element: _Element) -> bool:
    """Inside the site's footer or sidebar, not the page's own content."""
    for node in (element, *element.iterancestors()):
        if node.tag in ("footer", "aside", "nav", "header"):
            return True
        if _CHROME.search(f"{node.get('class') or ''} {node.get('id') or ''}"):
            return True
    return False


def _in_menu(element: _Element) -> bool:
    for parent in element.iterancestors():
        tag = parent.tag if isinstance(parent.tag, str) else ""
        if tag in ("nav", "header"):
            return True
        marks = f"{parent.get('class') or ''} {parent.get('id') or ''} {parent.get('role') or ''}"
        if re.search(
            r"\b(?:nav|menu|navigation|main-menu|navbar|category|categories)\b", marks, re.I
        ):
            return True
    return False


def section_links(tree: _Element, base: str, hosts: Iterable[str]) -> list[str]:
    """Links of the page's menus to the same site: its sections, where articles are listed.

    A menu is a ``nav`` or ``header``, or an element whose class, id or role says
    menu or navigation; a page with no such menu gives its short paths. Paths that are
    not sections (articles, tags, authors, search, feeds, contact …) are left out.
    """
    wanted = {h.removeprefix("www.") for h in hosts}
    menus: dict[str, None] = {}
    shallow: dict[str, None] = {}
    for anchor, url in _links(tree, base):
        parts = urlsplit(url)
        if host_of(url) not in wanted or parts.path in ("", "/") or parts.query:
            continue
        if _SKIP_EXTENSIONS.search(parts.path) or _NON_CONTENT_PATH.search(parts.path):
            continue
        if likely_article_url(url):
            continue
        if _in_menu(anchor):
            menus.setdefault(url)
        elif parts.path.strip("/").count("/") <= 1:
            shallow.setdefault(url)
    # Menus that are not marked as such: short same-site paths are sections too.
    return list({**menus, **shallow})


def next_page_links(tree: _Element, base: str, page: int = 0) -> list[str]:
    """Where the next page of a listing is: ``rel="next"``, a link that says next, or
    (``page`` given) the link numbered ``page + 1``."""
    found: dict[str, None] = {}
    number = str(page + 1) if page else ""
    for element in (*tree.iter("link"), *tree.iter("a")):
        rel = (element.get("rel") or "").lower().split()
        href = (element.get("href") or "").strip()
        if not href:
            continue
        text = " ".join("".join(element.itertext()).split()) if element.tag == "a" else ""
        label = (element.get("aria-label") or element.get("title") or "").strip()
        numbered = bool(number) and text == number
        if "next" in rel or numbered or _NEXT_TEXT.match(text) or _NEXT_TEXT.match(label):
            url = join_url(base, href)
            if url:
                found.setdefault(url.split("#")[0])
    scripted = _scripted_next(tree, base, page)
    if scripted:
        found.setdefault(scripted)
    return list(found)


_INDEX_PAGE = re.compile(r"/index(?:_\d+)?\.html?$")


def _scripted_next(tree: _Element, base: str, page: int) -> str | None:
    """Listings paged by script (TRS-style sites, e.g. 81.cn): ``<meta id="pageCount">``
    says how many pages there are, and page N is ``index_N.html`` beside ``index.html``."""
    count = next((m.get("content") for m in tree.iter("meta") if m.get("id") == "pageCount"), None)
    path = urlsplit(base).path
    if not count or not count.strip().isdigit() or not _INDEX_PAGE.search(path):
        return None
    current = max(page, 1)
    if current >= int(count):
        return None
    return join_url(base, f"index_{current + 1}.html")


def _linked_headings(parent: _Element) -> int:
    return sum(
        1
        for child in parent
        if child.tag in ("h2", "h3", "h4", "h5") and next(child.iter("a"), None) is not None
    )


def listed_headlines(tree: _Element) -> int:
    """Items that pair a linked headline with a summary paragraph: what listings are made of.

    An article page has none, or a few in a related-news box that a sidebar or footer
    holds; three in the page's own content make it a listing.
    """
    return sum(
        1
        for p in tree.iter("p")
        if (parent := p.getparent()) is not None
        and p is next((c for c in parent if c.tag == "p"), None)
        and _linked_headings(parent) >= 1
        and not _in_chrome(parent)
    )


def paragraph_text(tree: _Element) -> int:
    """Weight (:func:`text_weight`) of the page's longest run of sibling paragraphs."""
    best = 0
    for parent in {p.getparent() for p in tree.iter("p")}:
        if parent is None or _linked_headings(parent) >= 2 or _in_chrome(parent):
            continue  # a listing (headline, summary, …), or the site's footer
        total = sum(
            text_weight(" ".join("".join(child.itertext()).split()))
            for child in parent
            if child.tag == "p"
        )
        best = max(best, total)
    return best


def _headline(tree: _Element) -> str:
    for tag in ("h1", "title"):
        for element in tree.iter(tag):
            text = " ".join("".join(element.itertext()).split())
            if text:
                return text.casefold()
    return ""


def article_signals(tree: _Element, link_text: str = "") -> dict[str, bool]:
    """What a page says about being an article, each signal on its own (for the stats).

    ``link_text`` is the text of the link the page was found by: a listing names an
    article by its headline, so a dated page whose headline holds it is that article.
    """
    types = set().union(*(_types(item) for item in _json_ld(tree)))
    og_type = _meta(tree, "og:type").lower()
    published = any(_meta(tree, name) for name in PUBLISHED_META) or any(
        item.get("datePublished") for item in _json_ld(tree)
    )
    published = published or any(
        e.get("itemprop") == "datePublished" for e in tree.iter("meta", "time", "span")
    )
    dated = published or any(t.get("datetime") for t in tree.iter("time"))
    if not dated:
        body = tree.find("body")
        text = " ".join(" ".join(body.itertext()).split())[:20000] if body is not None else ""
        dated = bool(_DATE_TEXT.search(text))
    named = " ".join(link_text.split()).casefold()
    return {
        "linked_headline": dated and text_weight(named) >= 24 and named in _headline(tree),
        "structured_article": bool(types & ARTICLE_TYPES),
        "structured_listing": bool(types & NOT_ARTICLE_TYPES) and not types & ARTICLE_TYPES,
        "og_article": og_type == "article",
        "published_time": published,
        "dated_long_text": dated and paragraph_text(tree) >= MIN_ARTICLE_TEXT,
        "headline_list": listed_headlines(tree) >= 3,
    }


def looks_like_article(tree: _Element, link_text: str = "") -> bool:
    """An article page: it says so (structured data, ``og:type``, a publish time), or it
    has a date and a long run of paragraphs, or a date and the headline it was linked by.
    A page that calls itself a listing is not."""
    signals = article_signals(tree, link_text)
    if signals["structured_article"] or signals["og_article"]:
        return True
    if signals["structured_listing"] or signals["headline_list"]:
        return False
    if signals["linked_headline"] and paragraph_text(tree) >= MIN_ARTICLE_TEXT // 6:
        return True
    if signals["published_time"] and paragraph_text(tree) >= MIN_ARTICLE_TEXT // 3:
        return True
    return signals["dated_long_text"]


def likely_article_url(url: str) -> bool:
    """A URL shaped like an article's (a long slug, or a number id), not a section's.

    Only for ordering what to fetch first: the page itself decides.
    """
    path = urlsplit(url).path.rstrip("/")
    last = path.rsplit("/", 1)[-1]
    if _NON_CONTENT_PATH.search(path) or _SKIP_EXTENSIONS.search(path):
        return False
    slug_words = len(re.findall(r"[-_]", last))
    return slug_words >= 3 or bool(re.search(r"\d{5,}", last))
