"""What every replica build shares: text helpers, the article model, the templates
(page chrome), listings, the manifest, PROVENANCE.md, and writing or checking the files
(``python -m replicas``) that a site's ``build(sources/<SITE>)`` returns.
"""

from __future__ import annotations

import argparse
import functools
import html
import importlib
import json
import re
import shutil
import sys
import textwrap
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path, PurePosixPath
from string import Template
from typing import Any, Generic, Self, TypeVar

REPO = Path(__file__).resolve().parent.parent
SOURCES = REPO / "replicas" / "sources"
SITES = REPO / "crawler" / "mirror" / "sites"
NOT_BUILDS = {"__init__", "__main__", "skeleton"}
# Every replica build: a module of replicas/ by its spider's name (`crawler new-site` writes one).
SPIDERS = tuple(
    sorted(p.stem for p in Path(__file__).parent.glob("*.py") if p.stem not in NOT_BUILDS)
)
VI_WEEKDAYS = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"]
MANIFEST_KEYS = (  # the order of a manifest's keys, whichever of them a replica has
    *("site", "generated_by", "hosts", "cookie_gate", "timezone", "clock", "page_size", "home"),
    *("robots_disallow", "article_count", "articles", "dead_urls", "not_articles"),
    *("tracking_urls", "listings", "feeds"),
)
A = TypeVar("A", bound="Article")


def fold(text: str) -> str:
    """NFC, no-break spaces as spaces, runs of white space folded, stripped."""
    return " ".join(unicodedata.normalize("NFC", text).replace("\xa0", " ").split())


def slugify(title: str) -> str:
    """URL slug of a Vietnamese title: no diacritics, lower case, hyphens."""
    text = title.replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def esc(text: str) -> str:
    """Escape text for HTML, no-break spaces written as ``&nbsp;`` as a CMS does."""
    return html.escape(text, quote=False).replace("\xa0", "&nbsp;")


def attr(text: str) -> str:
    return html.escape(text, quote=True)


def local(text: str, hours: int = 7) -> datetime:
    """A source's wall-clock time, in the site's zone (Vietnam unless told)."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone(timedelta(hours=hours)))


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


@dataclass(kw_only=True)
class Article:
    """An article of a replica, or a listed link that has no page (a dead link).

    ``data`` is the article's entry in the sources, with whatever else its site's pages
    need; a site's subclass says where the article lives (``path``)."""

    origin: str
    id: int | str
    title: str
    published: datetime
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, entry: dict[str, Any], origin: str, hours: int = 7, **fields: Any) -> Self:
        """The article of a source entry: its ``id``, ``title`` and ``published`` (the
        site's wall-clock time, see :func:`local`), the entry as ``data``, then ``fields``."""
        given = {"id": entry["id"], "title": entry["title"], "data": entry, **fields}
        return cls(origin=origin, published=local(entry["published"], hours), **given)

    @property
    def path(self) -> str:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return self.origin + self.path

    @property
    def thumbnail(self) -> str:
        return ""  # the image listings show; a site's subclass knows it

    @property
    def blocks(self) -> list[dict[str, Any]]:
        return list(self.data.get("blocks", []))  # the text's paragraphs, images, boxes

    def fields(self) -> dict[str, object]:
        """What templates print of the article, escaped: ``$id``, ``$url``, ``$path``,
        ``$title`` as text, ``$title_attr`` in an attribute, ``$thumbnail``, ``$day``
        (``dd/mm/yyyy``), ``$pub_date`` (RFC 822, for feeds)."""
        return {
            "id": self.id,
            "url": attr(self.url),
            "path": attr(self.path),
            "title": esc(self.title),
            "title_attr": attr(self.title),
            "thumbnail": attr(self.thumbnail),
            "day": f"{self.published:%d/%m/%Y}",
            "pub_date": format_datetime(self.published),
        }


def newest_first(items: Iterable[A]) -> list[A]:
    return sorted(items, key=lambda a: a.published, reverse=True)


@dataclass
class Site(Generic[A]):
    """A replica's sources, read: ``meta`` (the site's own JSON), the articles (kept
    newest first, their ids unique) and the dead link that listings hold too (None: a
    replica that has none yet)."""

    meta: dict[str, Any]
    articles: list[A]
    dead: A | None

    def __post_init__(self) -> None:
        self.articles = newest_first(self.articles)
        ids = [a.id for a in self.listed()]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate article ids")

    def listed(self, **where: object) -> list[A]:
        """A listing's items, newest first: the articles, and the dead link, whose
        attributes have the values ``where`` gives."""
        items = [*self.articles, *([self.dead] if self.dead is not None else [])]
        return newest_first(a for a in items if all(getattr(a, k) == v for k, v in where.items()))


def images(pairs: Iterable[tuple[str, str | None]]) -> dict[str, Any]:
    """An article's ``image_count``, ``caption_count`` and ``images`` in the manifest,
    from each image's URL and caption."""
    listed = [{"url": url, "caption": caption} for url, caption in pairs]
    captions = sum(1 for i in listed if i["caption"])
    return {"image_count": len(listed), "caption_count": captions, "images": listed}


def menu(pairs: Iterable[tuple[str, str]]) -> str:
    """``<li>`` links, one a line, from (href, text) pairs: menus and lists of articles."""
    return "\n".join(f'<li><a href="{attr(href)}">{esc(text)}</a></li>' for href, text in pairs)


def links(items: Iterable[Article], href: str = "url") -> str:
    """The lists of related, newest and most read articles (``href``: their attribute)."""
    return menu((getattr(a, href), a.title) for a in items)


@dataclass(frozen=True)
class Templates:
    """A site's page chrome: ``sources/<site>/templates/<name>.html``, each a
    :class:`string.Template` whose ``$fields`` the build fills with text it has escaped.
    A file's final newline is not part of its template; a whole page ends with one."""

    site: str
    root: Path = SOURCES

    def __call__(self, template: str, /, **fields: object) -> str:
        try:
            return _template(self.file(template)).substitute(fields)
        except KeyError as missing:
            raise ValueError(f"{self.file(template)}: no value for ${missing.args[0]}") from None

    def file(self, template: str) -> Path:
        """``templates/<template>.html``, or the file named if its name has a suffix."""
        name = template if "." in template else f"{template}.html"
        return self.root / self.site / "templates" / name

    def has(self, template: str) -> bool:
        return self.file(template).is_file()

    def whole(self, template: str, /, **fields: object) -> str:
        """A whole file (a page, a feed): the template filled, and a final newline."""
        return self(template, **fields) + "\n"

    def page(self, kind: str, /, **fields: object) -> str:
        """A whole page: ``page.html`` with ``<kind>-head.html`` as its ``$head`` and
        ``<kind>.html`` as its ``$main``, all three filled from ``fields``."""
        parts = {"head": self(f"{kind}-head", **fields), "main": self(kind, **fields)}
        return self.whole("page", **fields, **parts)

    def each(self, template: str, articles: Iterable[Article], /, **fields: object) -> str:
        """``template`` filled for each article (its fields, then ``fields``), one a line."""
        return "\n".join(self(template, **{**a.fields(), **fields}) for a in articles)


@functools.cache
def _template(path: Path) -> Template:
    return Template(path.read_text(encoding="utf-8").removesuffix("\n"))


def pagination(
    html: Templates, number: int, total: int, href: Callable[[int], str], **fields: object
) -> str:
    """Links to the pages of a listing, one a line, in the site's ``pager-*`` templates:
    ``pager-page`` each (``pager-current`` this one), after ``pager-prev`` (on the first
    page ``pager-first``) and before ``pager-next`` (on the last ``pager-last``), those of
    them the site has; their fields are ``$n``, ``$href`` (``href(n)``) and ``fields``.
    A site with a ``pagination`` template has them in it, and none on a listing of one
    page or past its last."""

    def link(name: str, n: int) -> list[str]:
        return [html(name, n=n, href=href(n), **fields)] if html.has(name) else []

    links = link("pager-prev", number - 1) if number > 1 else link("pager-first", number)
    for n in range(1, total + 1):
        links += link("pager-current" if n == number else "pager-page", n)
    links += link("pager-next", number + 1) if number < total else link("pager-last", number)
    if not html.has("pagination"):
        return "\n".join(links)
    return html("pagination", pages="\n".join(links)) if 1 < total >= number else ""


def rss(
    html: Templates,
    items: Sequence[Article],
    links: Sequence[str],
    built: datetime,
    **fields: object,
) -> str:
    """A feed: ``feed-item.xml`` for each item (its fields, ``$link`` its link in ``links``)
    in ``feed.xml``, filled with ``$built`` (RFC 822), ``$items`` and ``fields``."""
    pairs = zip(items, links, strict=True)
    entries = "\n".join(html("feed-item.xml", **a.fields(), link=esc(link)) for a, link in pairs)
    return html.whole("feed.xml", built=format_datetime(built), items=entries, **fields)


def printed(moment: datetime, form: str) -> str:
    """``moment`` as a page prints it: ``form`` is strftime's, with ``{weekday}`` for the
    Vietnamese day name (``Thứ Hai``; ``{weekday_lower}``: ``Thứ hai``) and ``{day}`` for
    the day of the month without a leading zero."""
    weekday = VI_WEEKDAYS[moment.weekday()]
    names = {"weekday": weekday, "weekday_lower": weekday.capitalize(), "day": moment.day}
    return moment.strftime(form.format(**names))


def robots(*disallow: str) -> str:
    return "User-agent: *\n" + "".join(f"Disallow: {p}\n" for p in disallow)


def page_file(url: str) -> str:
    """The file under ``pages/`` the replica server serves ``url`` (a path, maybe with
    a query) from first: ``/a/b`` -> ``a/b.html``, ``/a?page=2`` -> ``a@page=2.html``."""
    path, _, query = url.partition("?")
    parts = [p for p in path.split("/") if p] or ["index.html"]
    name = PurePosixPath(parts[-1] if "." in parts[-1] else parts[-1] + ".html")
    if query:
        name = name.with_stem(f"{name.stem}@{query}")
    return "/".join([*parts[:-1], str(name)])


Replica = dict[str, bytes]  # every file of a replica, by its path in the replica's folder


@dataclass
class Build:
    """A replica being built: its pages (robots.txt the first), and its listings and feeds
    for the manifest."""

    spider: str
    site: str
    origin: str
    hosts: list[str]
    disallow: Sequence[str]  # robots.txt's paths
    timezone: str = "+07:00"  # of the site's dates
    file: Callable[[str], str] = page_file  # where the server finds a URL path
    pages: dict[str, str] = field(default_factory=dict)
    listings: list[dict[str, Any]] = field(default_factory=list)
    feeds: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 0  # of the listings

    def __post_init__(self) -> None:
        self.page("/robots.txt", robots(*self.disallow))

    def page(self, url: str, text: str) -> None:
        file = self.file(url)
        if file in self.pages:
            raise ValueError(f"{url}: a second page for pages/{file}")
        self.pages[file] = text

    def listing(
        self,
        items: Sequence[A],
        size: int,
        url: Callable[[int], str],
        render: Callable[[int, list[list[A]]], str],
        *,
        links: str = "articles",
        at_least_one: bool = True,
        after_last: bool = False,
        count: bool = True,
        **where: Any,
    ) -> None:
        """Every page of a listing (``url(n)``, ``render(n, pages)``), in the manifest with
        the links it holds; an empty listing has a first page if ``at_least_one``;
        ``after_last``: the server also answers the page after the last."""
        chunks = [list(items[i : i + size]) for i in range(0, len(items), size)]
        chunks = chunks or ([[]] if at_least_one else [])
        served = [*chunks, []] if after_last else chunks
        self.page_size = size
        for number, chunk in enumerate(served, start=1):
            self.page(url(number), render(number, served))
            self.listings.append(
                {
                    "url": self.origin + url(number),
                    **where,
                    "page": number,
                    **({"pages": len(chunks)} if count else {}),
                    links: [a.url for a in chunk],
                }
            )

    def feed(self, url: str, text: str, links: list[str], **about: str) -> None:
        self.page(url, text)
        self.feeds.append({"url": self.origin + url, **about, "links": links})

    def replica(
        self,
        site: Site[A],
        entry: Callable[[A], dict[str, Any]],
        sources: str,
        row: Callable[[A], Sequence[object]],
        *,
        facts: dict[str, object] | None = None,
        site_json: dict[str, Any] | None = None,
        **fields: Any,
    ) -> Replica:
        """The replica: its manifest holds each article's URL, id and ``entry``, the dead
        link's URL, the listings, feeds and ``fields``; its PROVENANCE.md says it is built
        from ``sources``, then carries the site's own account of what is real and what is
        invented (``sources/<site>/replica.md``; its ``$page_size``, ``$dead`` path and
        ``facts`` filled in), then the table of pages: each article's path and ``row``."""
        articles = [{"url": a.url, "article_id": str(a.id), **entry(a)} for a in site.articles]
        rows = [(f"`{a.path}`", *row(a)) for a in site.articles]
        about = {
            "site": self.site,
            "generated_by": f"python -m replicas {self.spider}",
            "hosts": self.hosts,
            "timezone": self.timezone,
            "page_size": self.page_size,
            "article_count": len(articles),
            "articles": articles,
            "dead_urls": [site.dead.url] if site.dead is not None else [],
            "listings": self.listings,
            **({"feeds": self.feeds} if self.feeds else {}),
            **fields,
        }
        unknown = set(about) - set(MANIFEST_KEYS)
        if unknown:
            raise ValueError(f"manifest keys without a place in MANIFEST_KEYS: {unknown}")
        manifest = {key: about[key] for key in MANIFEST_KEYS if key in about}
        dead = site.dead.path if site.dead is not None else ""
        opening = f"{sources}; do not edit the pages by hand. `manifest.json` lists every"
        account = Template((SOURCES / self.site / "replica.md").read_text(encoding="utf-8"))
        provenance = (
            f"# {self.site} replica: where every page comes from\n\n"
            f"Generated by `python -m replicas {self.spider}` from\n"
            + textwrap.fill(f"{opening} article with what its page holds.", 73)
            + "\n\n"
            + account.substitute({"page_size": self.page_size, "dead": dead, **(facts or {})})
            + "".join("| " + " | ".join(map(str, row)) + " |\n" for row in rows)
        )
        files = {f"pages/{path}": text for path, text in self.pages.items()}
        files["site.json"] = json_text(site_json or {"hosts": self.hosts})
        files["manifest.json"] = json_text(manifest)
        files["PROVENANCE.md"] = provenance
        return {path: text.encode("utf-8") for path, text in files.items()}


def files(spider: str) -> tuple[str, dict[str, bytes]]:
    """The replica ``spider``'s build makes: its folder name and every file, by path in it."""
    module = importlib.import_module(f"replicas.{spider}")
    site: str = module.SITE
    replica: Replica = module.build(SOURCES / site)
    return site, replica


def differences(built: dict[str, bytes], folder: Path) -> list[str]:
    """How the replica in ``folder`` differs from ``built``, file by file."""
    stored = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    diffs = [f"missing: {folder / p}" for p in sorted(set(built) - stored)]
    diffs += [f"not built by the script: {folder / p}" for p in sorted(stored - set(built))]
    diffs += [
        f"differs: {folder / p}"
        for p in sorted(stored & set(built))
        if (folder / p).read_bytes() != built[p]
    ]
    return diffs


def check(spider: str, root: Path = SITES) -> list[str]:
    """Differences between the committed replica and a fresh build (none: it is current)."""
    site, built = files(spider)
    return differences(built, root / site)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m replicas",
        description="Build the replicas in crawler/mirror/sites/ from replicas/sources/.",
        epilog="example: python -m replicas qdnd --check",
    )
    parser.add_argument("spiders", nargs="*", metavar="SPIDER", help="default: all")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    parser.add_argument("--root", type=Path, default=SITES, help="default: %(default)s")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.spiders) - set(SPIDERS))
    if unknown:
        parser.error(f"no replica build for {', '.join(unknown)}; there are {', '.join(SPIDERS)}")
    stale = []
    for spider in args.spiders or SPIDERS:
        site, built = files(spider)
        folder = args.root / site
        if args.check:
            diffs = differences(built, folder)
            print(*diffs, sep="\n", file=sys.stderr, end="\n" if diffs else "")
            stale += [spider] if diffs else []
            continue
        shutil.rmtree(folder / "pages", ignore_errors=True)  # pages no longer built go
        for name, data in built.items():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(data)
        print(f"built {folder}", file=sys.stderr)
    if stale:
        rebuild = f"python -m replicas {' '.join(stale)}"
        print(f"stale: {', '.join(stale)} (run: {rebuild})", file=sys.stderr)
    return 1 if stale else 0
