"""What any article page states about itself: title, date, authors, summary, tags,
section, language.

Pages say it in several places at once: JSON-LD, ``og:`` and ``article:`` meta,
``itemprop`` microdata, the ``h1``, the ``<title>``, a ``time`` element, a
visible date or byline line. Each field takes the most specific statement and
checks it against the others (the ``<title>`` carries the site's name, ``og:title``
sometimes a shortened headline, the ``h1`` sometimes the site's logo). Pure
functions of the parsed tree.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from lxml import etree
from lxml.etree import _Element

from crawler.text.bylines import parse_byline, parse_chinese_byline, title_case
from crawler.text.dates import parse_date

__all__ = [
    "Metadata",
    "json_ld",
    "json_ld_types",
    "language_of",
    "meta",
    "metadata",
    "site_name_removed",
    "text_weight",
]


def json_ld(tree: _Element, scripts: list[_Element] | None = None) -> Iterator[dict[str, Any]]:
    """Every object of the page's JSON-LD scripts, ``@graph`` members included."""
    for script in _LD_SCRIPTS(tree) if scripts is None else scripts:
        try:
            data = json.loads(script.text or "", strict=False)
        except ValueError:
            continue
        stack = [data]
        while stack:
            item = stack.pop()
            if isinstance(item, list):
                stack.extend(reversed(item))
            elif isinstance(item, dict):
                yield item
                graph = item.get("@graph")
                if isinstance(graph, list):
                    stack.extend(reversed(graph))


def json_ld_types(item: dict[str, Any]) -> set[str]:
    kind = item.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.lower() for k in kinds if isinstance(k, str)}


_LD_SCRIPTS = etree.XPath(
    "//script[translate(normalize-space(@type), 'LDJSON', 'ldjson')='application/ld+json']"
)
_METAS = etree.XPath("/descendant::meta[@content]")


def meta(tree: _Element, name: str) -> str:
    """The ``content`` of the first ``<meta property|name|itemprop=name>`` (case-insensitive)."""
    for element in _METAS(tree):
        key = element.get("property") or element.get("name") or element.get("itemprop") or ""
        if key.lower() == name:
            return (element.get("content") or "").strip()
    return ""


@dataclass
class _Scan:
    """The elements metadata is read from, found in one walk over the page."""

    metas: dict[str, list[str]] = field(default_factory=dict)
    scripts: list[_Element] = field(default_factory=list)  # JSON-LD
    h1s: list[_Element] = field(default_factory=list)
    h2: _Element | None = None
    title: str = ""
    times: list[_Element] = field(default_factory=list)


def _scan(tree: _Element) -> _Scan:
    found = _Scan()
    metas: list[_Element] = []
    for element in tree.iter("meta", "script", "h1", "h2", "title", "time"):
        tag = element.tag
        if tag == "meta":
            metas.append(element)
        elif tag == "script":
            kind = (element.get("type") or "").strip().lower()
            if kind == "application/ld+json":
                found.scripts.append(element)
        elif tag == "h1":
            found.h1s.append(element)
        elif tag == "h2":
            found.h2 = element if found.h2 is None else found.h2
        elif tag == "title":
            found.title = found.title or _text(element)
        elif element.get("datetime"):
            found.times.append(element)
    found.metas = _metas(metas)
    return found


def _metas(elements: list[_Element]) -> dict[str, list[str]]:
    """Every meta's content by lower-case key, in page order (one walk for all fields)."""
    found: dict[str, list[str]] = {}
    for element in elements:
        value = " ".join((element.get("content") or "").split())
        if not value:
            continue  # charset, http-equiv …: nothing to read
        key = element.get("property") or element.get("name") or element.get("itemprop")
        if key:
            found.setdefault(key.lower(), []).append(value)
    return found


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def text_weight(text: str) -> int:
    """Length of ``text`` in Latin-script characters: a Chinese, Japanese or Korean
    character says about as much as three."""
    return len(text) + 2 * len(_CJK.findall(text))


ARTICLE_TYPES = frozenset(
    {
        "article",
        "newsarticle",
        "reportagenewsarticle",
        "analysisnewsarticle",
        "opinionnewsarticle",
        "backgroundnewsarticle",
        "blogposting",
        "report",
        "techarticle",
        "scholarlyarticle",
        "liveblogposting",
    }
)


@dataclass
class Metadata:
    """The fields of an article page other than its body, as the page states them."""

    title: str = ""
    published_raw: str | None = None
    published_at: datetime | None = None
    byline: str | None = None
    authors: list[str] = field(default_factory=list)
    authors_stated: bool = False  # by structured data (JSON-LD), not only a meta tag
    summary: str | None = None
    tags: list[str] = field(default_factory=list)
    section: str | None = None
    language: str = ""
    article_body: str = ""  # JSON-LD ``articleBody``: the text, when the markup lacks it


def _fold(text: str | None) -> str:
    return " ".join((text or "").split())


def _text(element: _Element) -> str:
    return _fold("".join(element.itertext()))


def _ld_article(tree: _Element, scripts: list[_Element] | None = None) -> dict[str, Any]:
    """The page's JSON-LD article object (the first of an article type), else ``{}``."""
    for item in json_ld(tree, scripts):
        if json_ld_types(item) & ARTICLE_TYPES:
            return item
    return {}


def _ld_text(value: Any) -> str:
    if isinstance(value, str):
        return _fold(value)
    if isinstance(value, list) and value:
        return _ld_text(value[0])
    if isinstance(value, dict):
        return _ld_text(value.get("name") or value.get("@value") or "")
    return ""


def _ld_names(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    names = []
    for item in items:
        name = _ld_text(item)
        if name and not name.startswith(("http://", "https://")):
            names.append(name)
    return names


# -- title -----------------------------------------------------------------------------

_SEPARATOR_CHARS = " |-–—:·•»/｜丨_"
_TITLE_SEPARATORS = re.compile(r"\s+[|\-–—:·•»/]\s+|\s*[|｜]\s*")


def site_name_removed(title: str, site_names: tuple[str, ...] = ()) -> str:
    """``<title>`` text without the site's name: the longest part between separators,
    or whatever is left after taking off a part that names the site."""
    folded = title.casefold()
    for name in site_names:
        key = name.strip().casefold()
        if not key or len(key) >= len(folded):
            continue
        if folded.startswith(key):
            rest = title[len(key) :]
        elif folded.endswith(key):
            rest = title[: -len(key)]
        else:
            continue
        stripped = rest.strip(_SEPARATOR_CHARS)
        if stripped and len(stripped.strip()) < len(rest.strip()):
            return stripped.strip()
    parts = [p for p in _TITLE_SEPARATORS.split(title) if p.strip()]
    if len(parts) < 2:
        return title
    longest = max(parts, key=text_weight)
    return longest.strip() if text_weight(longest) >= 0.4 * text_weight(title) else title


def _comparable(text: str) -> str:
    return re.sub(r"\W+", " ", text.casefold()).strip()


def _title(scan: _Scan, ld: dict[str, Any]) -> str:
    """The headline as the page prints it: the ``h1`` that agrees with what the page
    says its title is; else the structured headline; else the ``<title>`` less the site."""
    metas = scan.metas
    site_names = tuple(metas.get("og:site_name", [])) + tuple(metas.get("application-name", []))
    stated = [
        _ld_text(ld.get("headline")),
        *(metas.get("og:title", [])[:1]),
        *(metas.get("twitter:title", [])[:1]),
        *(metas.get("headline", [])[:1]),
    ]
    page_title = site_name_removed(scan.title, site_names)
    stated = [s for s in stated if s]
    candidates = [site_name_removed(s, site_names) for s in stated] + [page_title]
    keys = [_comparable(c) for c in candidates if c]
    for h1 in scan.h1s:
        text = _text(h1)
        key = _comparable(text)
        if len(key) >= 8 and any(
            key == k or (key in k) or (k in key and len(k) > 0.6 * len(key)) for k in keys
        ):
            return text
    # A heading that the title element holds (the first h2 on pages without an h1).
    for element in [*scan.h1s, *([scan.h2] if scan.h2 is not None else [])]:
        text = _text(element)
        key = _comparable(text)
        if len(key) >= 8 and any(key in k for k in keys if k):
            return text
    return next((c for c in candidates if c), "")


# -- date --------------------------------------------------------------------------------

_PUBLISHED_KEYS = (
    "article:published_time",
    "og:article:published_time",
    "datepublished",
    "publishdate",
    "publish-date",
    "pubdate",
    "parsely-pub-date",
    "sailthru.date",
    "dc.date.issued",
    "dc.date",
    "dcterms.created",
    "date",
    "article:modified_time",
)
_VISIBLE_DATE = re.compile(
    # Every form starts with a digit or a month's initial: the lookahead rules out the
    # other positions with one test, where each form would be tried (3x faster).
    r"(?=[\djfmasond])(?:"
    r"\d{4}年\d{1,2}月\d{1,2}日(?:\s*\d{1,2}[:：]\d{2})?"
    r"|(?:\d{1,2}:\d{2}\s*)?\b\d{1,2}[/.-]\d{1,2}[/.-]\d{4}\b(?:[\s,|-]*\d{1,2}[:hg]\d{2}(?::\d{2})?)?"
    r"|\b\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2},? \d{4}"
    r"(?:[\s,|–-]+(?:at\s+)?\d{1,2}:\d{2}(?:\s*[ap]\.?m\.?)?)?"
    r"|\b\d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{4})",
    re.IGNORECASE,
)


def is_printed_date(line: str) -> bool:
    """A short line that is a date as pages print them (``Monday, November 4, 2024 09:12
    (GMT+7)``, ``16/01/2025 - 16:40``)."""
    if len(line) > 60:
        return False
    match = _VISIBLE_DATE.search(line)
    return match is not None and len(match.group(0)) >= 0.4 * len(line.strip())


def _date_areas(tree: _Element, title: str, h1s: list[_Element]) -> Iterator[str]:
    """Texts a printed date is looked for in, nearest first: around the headline, then
    the page outside its header and menus (a site's header prints today's date)."""
    key = _comparable(title)
    headline = next((h for h in h1s if key and _comparable(_text(h)) == key), None)
    if headline is not None:
        parent = headline.getparent()
        for area in (parent, parent.getparent() if parent is not None else None):
            if area is not None and area.tag != "body":
                yield " ".join(area.itertext())[:5000]
    yield " ".join(_PAGE_TEXT(tree))[:30000]


_PAGE_TEXT = etree.XPath(
    "//body/descendant::text()[not(ancestor::header)][not(ancestor::nav)]", smart_strings=False
)


def _headline_area(h1s: list[_Element], title: str) -> _Element | None:
    """The headline's box, three levels up: where its byline is printed."""
    key = _comparable(title)
    headline = next((h for h in h1s if key and _comparable(_text(h)) == key), None)
    if headline is None:
        return None
    area = headline
    for _ in range(3):
        parent = area.getparent()
        if parent is None or parent.tag in ("body", "html"):
            break
        area = parent
    return area


def _published(
    tree: _Element, scan: _Scan, ld: dict[str, Any], tz: timezone, title: str = ""
) -> tuple[str | None, datetime | None]:
    """(as printed, aware UTC): JSON-LD, meta, ``time``, then a date printed near the top."""
    stated = [_ld_text(ld.get("datePublished")), _ld_text(ld.get("dateCreated"))]
    stated += [value for key in _PUBLISHED_KEYS for value in scan.metas.get(key, [])[:1]]
    stated += [e.get("datetime") or e.get("content") or _text(e) for e in scan.times]
    day_only: tuple[str, datetime] | None = None
    for raw in stated:
        parsed = parse_date(raw, tz) if raw else None
        if parsed is not None:
            if not _DAY_ONLY.fullmatch(raw.strip()):
                return raw, parsed
            day_only = day_only or (raw, parsed)
    for index, text in enumerate(_date_areas(tree, title, scan.h1s)):
        if day_only is not None and index > 1:
            break  # a stated day: only a time printed by the headline refines it
        for match in _VISIBLE_DATE.finditer(text):
            printed = _fold(match.group(0))
            parsed = parse_date(printed, tz)
            if parsed is None:
                continue
            if day_only is None:
                return printed, parsed
            same_day = parsed.astimezone(tz).date() == day_only[1].astimezone(tz).date()
            if ":" in printed and same_day:
                return printed, parsed
    return day_only if day_only is not None else (None, None)


_DAY_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


# -- authors -----------------------------------------------------------------------------


def _byline_elements(root: _Element) -> Iterator[_Element]:
    """The elements under ``root`` that say they hold a byline (``rel``/``itemprop``
    ``author``, a class with ``byline`` or ``author``, an id with ``author``), in page
    order, found lazily: the first is most often the one, near the top, and the walk
    stops there (an XPath over the whole page cost more than the rest of the fields)."""
    for element in root.iterdescendants():
        marks = element.get("class")
        if (
            (marks and ("byline" in marks or "author" in marks))
            or "author" in (element.get("id") or "")
            or element.get("rel") == "author"
            or element.get("itemprop") == "author"
        ) and element.tag != "meta":
            yield element


def _authors(
    tree: _Element, metas: dict[str, list[str]], ld: dict[str, Any], near: _Element | None = None
) -> tuple[str | None, list[str]]:
    """(the byline as printed, the names): JSON-LD, else a byline element (looked for
    around the headline, ``near``, when there is one), else the meta author."""
    names = _ld_names(ld.get("author"))
    if not names:
        names = [n for n in metas.get("author", []) + metas.get("article:author", []) if n]
        names = [n for n in names if not n.startswith(("http://", "https://"))]
    if names and _ld_names(ld.get("author")):
        # Structured data names them; the printed line (pruned from the text by its
        # class anyway) is not worth a walk over the whole page.
        return None, list(dict.fromkeys(names))
    if near is None and names:
        return None, list(dict.fromkeys(names))  # no headline to look around; the meta
    for element in itertools.islice(_byline_elements(near if near is not None else tree), 12):
        text = _text(element)
        if not text or text_weight(text) > 120:
            continue
        found = parse_byline(text) or parse_chinese_byline(text)
        if found:  # the printed credit over a meta author (often the web editor)
            return text, list(dict.fromkeys(found))
        if names and any(n in text for n in names):
            return text, list(dict.fromkeys(names))
    if names:
        names = [title_case(n) if n.isupper() else n for n in names]
        return None, list(dict.fromkeys(names))
    return None, []


# -- language ------------------------------------------------------------------------------

_HAN = re.compile(r"[\u4e00-\u9fff]")
_VIETNAMESE = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.I)


def language_of(tree: _Element, sample: str = "", metas: dict[str, list[str]] | None = None) -> str:
    """BCP 47: ``<html lang>``, ``og:locale``, ``content-language``; else a guess from
    the script of ``sample`` (Chinese, Vietnamese, else English)."""
    stated = tree.get("lang") or tree.get("xml:lang") or ""
    if not stated:
        if metas is not None:
            stated = next(iter(metas.get("og:locale", []) + metas.get("content-language", [])), "")
        else:
            stated = meta(tree, "og:locale") or meta(tree, "content-language")
    stated = stated.strip().replace("_", "-").split(",")[0]
    if re.fullmatch(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*", stated):
        return stated.partition("-")[0].lower()
    if _HAN.search(sample[:2000]):
        return "zh"
    if len(_VIETNAMESE.findall(sample[:2000])) >= 5:
        return "vi"
    return "en" if sample.strip() else ""


# -- all of it -------------------------------------------------------------------------------


def _keywords(metas: dict[str, list[str]], ld: dict[str, Any]) -> list[str]:
    tags = [t for t in metas.get("article:tag", [])]
    if not tags:
        value = ld.get("keywords")
        if isinstance(value, list):
            tags = [_ld_text(v) for v in value]
        elif isinstance(value, str):
            tags = value.split(",")
    if not tags and metas.get("news_keywords"):
        tags = metas["news_keywords"][0].split(",")
    if not tags and metas.get("keywords"):
        tags = metas["keywords"][0].split(",")
    return list(dict.fromkeys(t for t in (_fold(t) for t in tags) if t))[:50]


def metadata(tree: _Element, tz: timezone, sample: str = "") -> Metadata:
    """Everything but the body that ``tree`` states about its article."""
    scan = _scan(tree)
    metas = scan.metas
    ld = _ld_article(tree, scan.scripts)
    title = _title(scan, ld)
    raw, published = _published(tree, scan, ld, tz, title)
    byline, authors = _authors(tree, metas, ld, _headline_area(scan.h1s, title))
    stated = bool(_ld_names(ld.get("author")))
    summary = (
        _ld_text(ld.get("description"))
        or next(iter(metas.get("og:description", [])), "")
        or next(iter(metas.get("description", [])), "")
    )
    section = _ld_text(ld.get("articleSection")) or next(iter(metas.get("article:section", [])), "")
    return Metadata(
        title=title,
        published_raw=raw,
        published_at=published,
        byline=byline,
        authors=authors,
        authors_stated=stated,
        summary=summary or None,
        article_body=body_text if isinstance(body_text := ld.get("articleBody"), str) else "",
        tags=_keywords(metas, ld),
        section=section or None,
        language=language_of(tree, sample, metas),
    )
