"""qdnd.vn, and its English edition on the same CMS (``qdnd_en``, an :class:`Edition`).

Real bodies of the 2024 layout served verbatim inside an invented page; the seed and the
written articles rendered in the old ``table.imgEditor`` layout (what is real:
``sources/qdnd.vn/replica.md``). The manifest is read back from the built bodies, so
tests check crawls against what pages hold.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import lxml.html

from replicas import skeleton as sk
from replicas.skeleton import attr, esc, fold

SITE = "qdnd.vn"
SOURCES = sk.SOURCES / SITE
GATE_COOKIE = "muid_mly"
PAGE_SIZE = 4  # listing items per page: small, so two sections reach 3+ pages
FEED_LIMIT = 50
ROBOTS_DISALLOW = ["/preview/", "/services/", "/api/", "/search/", "/tim-kiem/"]
NO_IMAGE = "/themes/qdnd/images/no-image.jpg"
html = sk.Templates(SITE)  # the Vietnamese edition's; an Edition has its own
ARTICLES_JSON = "mourinhan8_qdnd-crawler_articles.json"
TOOLBAR_TOKEN = "leftcenterrightdel"
TAG_HREF = re.compile(r"/tag/([a-z0-9-]+-\d+)\.html$")
TRAILER = re.compile(r"^\*\s*(Mời|Chuyên mục)")


@dataclass(frozen=True)
class Edition:
    """What the two editions do not share (``edition`` in their sources): addresses,
    the words in feeds and titles; the rest of their words are in their templates."""

    spider: str
    site: str
    origin: str
    hosts: list[str]
    latest_feed: str
    newest: str  # the latest feed's title
    date_format: str  # as sk.printed's
    page_word: str

    @property
    def lang(self) -> str:
        return "vi" if self.spider == "qdnd" else "en"

    @property
    def html(self) -> sk.Templates:
        return sk.Templates(self.site)

    def printed_date(self, moment: datetime) -> str:
        """The date line of an article: ``Thứ Năm, 16/01/2025 - 09:32``."""
        return sk.printed(moment, self.date_format)


@dataclass
class BodyFacts:
    """What a body holds, read back from its HTML."""

    images: list[dict[str, str | None]]  # url, caption: as the manifest has them
    byline: str | None
    trailer: str | None
    tags: list[tuple[str, str]]


@dataclass(kw_only=True)
class Article(sk.Article):
    """An article, or the dead listing link (``source`` "dead": no page, no body)."""

    key: str
    source: str  # "fragment", "seed", "written" or "dead"
    source_file: str = ""
    section: str
    subsection: str
    summary: str | None
    summary_style: str = ""
    layout: str = "2022"  # or "2025"
    body: str = ""  # the whole div[itemprop=articleBody]
    tags: list[tuple[str, str]] = field(default_factory=list)  # (slug-id, name), before the body's
    image: str = ""  # a dead link's thumbnail
    facts: BodyFacts = field(init=False)

    def __post_init__(self) -> None:
        self.facts = analyse_body(self.body or "<div></div>")

    @property
    def path(self) -> str:
        return f"/{self.section}/{self.subsection}/{sk.slugify(self.title)}-{self.id}"

    @property
    def thumbnail(self) -> str:
        return self.image or str(self.facts.images[0]["url"] if self.facts.images else NO_IMAGE)

    def fields(self) -> dict[str, object]:
        return {**super().fields(), "summary": esc(self.summary or "")}

    def tag_links(self, sections: dict[str, Any]) -> list[tuple[str, str]]:
        """Tags for ``.post-tag``: its own and the body's tag links, else the section's."""
        slug, name = sections[self.section].get("tag", ("", ""))
        return dedupe([*self.tags, *self.facts.tags]) or [(slug, name)]


def dedupe(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    first: dict[str, tuple[str, str]] = {}
    for slug, name in pairs:
        first.setdefault(slug, (slug, name))
    return list(first.values())


def analyse_body(body: str) -> BodyFacts:
    """Images with their captions, byline, trailer and tag links of a body.

    Works for both layouts: an image's caption is the first later row of its
    table that is neither empty nor the editor toolbar. The byline is the last
    non-empty paragraph of the body that is not the related-section trailer.
    """
    root = lxml.html.fragment_fromstring(body)
    images = []
    for img in root.iter("img"):
        caption = None
        table = next((a for a in img.iterancestors() if a.tag == "table"), None)
        row = next((a for a in img.iterancestors() if a.tag == "tr"), None)
        if table is not None and row is not None:
            rows = list(table.iter("tr"))
            texts = (fold("".join(later.itertext())) for later in rows[rows.index(row) + 1 :])
            caption = next((t for t in texts if t and t.replace(" ", "") != TOOLBAR_TOKEN), None)
        images.append({"url": str(img.get("src")), "caption": caption})
    paragraphs = [fold(p.text_content()) for p in root.iterchildren("p")]
    paragraphs = [p for p in paragraphs if p]
    trailer = None
    if paragraphs and TRAILER.match(paragraphs[-1]):
        trailer = paragraphs.pop()
    byline = paragraphs[-1] if paragraphs else None
    tags = []
    for link in root.iter("a"):
        match = TAG_HREF.search(link.get("href") or "")
        in_trailer = any(
            a.tag == "p" and TRAILER.match(fold(a.text_content())) for a in link.iterancestors()
        )
        if match and not in_trailer:
            tags.append((match.group(1), fold(link.text_content())))
    return BodyFacts(images=images, byline=byline, trailer=trailer, tags=dedupe(tags))


def placed(edition: Edition, entry: dict[str, Any], **fields: Any) -> Article:
    """An article where ``entry`` puts it (id, section, time, and title and summary if
    it has them); ``fields`` give the rest."""
    keys = ("section", "subsection", "title", "summary", "summary_style")
    given = {k: entry[k] for k in keys if k in entry}
    place = {"id": entry["id"], "published": sk.local(entry["published"]), **given}
    return Article(origin=edition.origin, **{**place, **fields})


def render_old_body(blocks: Sequence[dict[str, Any]], toolbar: str, caption_class: bool) -> str:
    """A body in the layout up to about 2023: ``table.imgEditor`` image tables with the
    editor's alignment toolbar left in a row between the image and the caption. Its
    exact markup is unknown, so pages vary it (``templates/toolbar-*.html``); every
    variant flattens to ``leftcenterrightdel`` (no white space between words)."""
    parts = ['<div itemprop="articleBody">']
    for block in blocks:
        if "image" in block:
            caption = ""
            if block.get("caption") is not None:
                tr = '<tr class="alt_imgEditor">' if caption_class else "<tr>"
                caption = f"\n{tr}\n<td><em><span>{esc(block['caption'])}</span></em></td>\n</tr>"
            toolbar_row = html(f"toolbar-{toolbar}")
            parts.append(
                html("old-image", src=attr(block["image"]), toolbar=toolbar_row, caption=caption)
            )
        else:
            attrs = "".join(f' {k}="{attr(v)}"' for k, v in block.get("attrs", {}).items())
            parts.append(f"<p{attrs}>{block['p']}</p>")
    parts.append("</div>")
    return "\n".join(parts)


def seed_blocks(text: str, image_urls: Sequence[str]) -> list[dict[str, Any]]:
    """Blocks of the flattened seed: a ``leftcenterrightdel`` line marks an
    image whose caption follows (on the same line or the next); other lines
    are paragraphs; the last line is the byline."""
    lines = text.splitlines()
    blocks: list[dict[str, Any]] = []
    urls = iter(image_urls)
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.strip().startswith(TOOLBAR_TOKEN):
            rest = line.strip()[len(TOOLBAR_TOKEN) :]
            caption = rest if rest.strip() else (lines[i + 1] if i + 1 < len(lines) else "")
            i += 1 if rest.strip() else 2
            blocks.append({"image": next(urls), "caption": caption})
            continue
        if line.strip():
            blocks.append({"p": esc(line)})
        i += 1
    if next(urls, None) is not None:
        raise ValueError("more seed image URLs than images in the seed")
    last = blocks[-1]
    last["p"] = f"<strong>{last['p'].strip()}</strong>"
    return blocks


def load_articles(sources: Path, meta: dict[str, Any], edition: Edition) -> list[Article]:
    """The 28 real bodies verbatim, with their real titles and summaries; the seed
    and the written articles in the old layout."""
    records = sk.load(sources / ARTICLES_JSON)
    articles = []
    for entry in meta["real"]:
        body = (sources / entry["fragment"]).read_text(encoding="utf-8")
        record = records[entry["record"]]
        if fold(record["article_text"]) != fold(body):
            raise ValueError(f"{entry['fragment']} is not record {entry['record']}")
        title, summary = record["title"].strip(), record["summary"].strip()
        summary = None if summary == "No Summary Found" else summary
        real = dict(source="fragment", source_file=entry["fragment"], layout="2025", body=body)
        key = Path(entry["fragment"]).stem
        articles.append(placed(edition, entry, key=key, title=title, summary=summary, **real))
    seed = meta["seed"]
    blocks = seed_blocks((sources / seed["text"]).read_text(encoding="utf-8"), seed["images"])
    body = render_old_body(blocks, seed["toolbar"], seed["caption_row_class"])
    tags = [(slug, name) for slug, name in seed.get("tags", [])]
    where = {"source": "seed", "source_file": seed["text"]}
    articles.append(placed(edition, seed, key="seed", body=body, tags=tags, **where))
    for entry in sk.load(sources / "written.json")["articles"]:
        body = render_old_body(entry["blocks"], entry["toolbar"], entry["caption_row_class"])
        where = {"source": "written", "source_file": f"written.json#{entry['key']}"}
        articles.append(placed(edition, entry, key=entry["key"], body=body, **where))
    return articles


@dataclass
class Site(sk.Site[Article]):
    """An edition's pages' sources: ``meta`` (``replica.json``, ``written.json``) and articles."""

    edition: Edition

    @property
    def sections(self) -> dict[str, Any]:
        return dict(self.meta["sections"])

    @property
    def snapshot(self) -> datetime:
        return sk.local(self.meta["snapshot_day"])

    @property
    def tracking(self) -> dict[str, Any]:
        """Which article's link carries tracking parameters (``query``) in which ``feed``."""
        key = self.meta["tracking"]["key"]
        return {**self.meta["tracking"], "article": next(a for a in self.articles if a.key == key)}


def make_site(edition: Edition, meta: dict[str, Any], articles: list[Article]) -> Site:
    """The site of ``articles``, with the sections, dead link and tracking link of ``meta``."""
    thumbnail = meta["dead_link"].get("thumbnail", "")
    dead = placed(edition, meta["dead_link"], key="dead", source="dead", image=thumbnail)
    return Site(meta, articles, dead, edition)


def load_site(sources: Path) -> Site:
    meta = sk.load(sources / "replica.json")
    edition = Edition(**meta["edition"])
    return make_site(edition, meta, load_articles(sources, meta, edition))


def link(site: Site, url: str, index: int) -> str:
    """Listings mix absolute links and site-relative paths, like the real site."""
    return url if index % 2 == 0 else url.removeprefix(site.edition.origin)


def page(site: Site, kind: str, **fields: object) -> str:
    """A page of ``kind`` in the site chrome."""
    e = site.edition
    items = sk.menu((f"/{slug}", s["name"]) for slug, s in site.sections.items())
    return e.html.page(
        kind,
        **fields,
        today=e.printed_date(site.snapshot).split(" - ")[0],
        menu=e.html("menu", items=items),
    )


def latest_box(site: Site, exclude: Article | None = None) -> str:
    """The "Tin mới" sidebar: newest articles of the whole site."""
    items = [a for a in site.articles if a is not exclude][:6]
    return site.edition.html("latest", links=sk.links(items))


def breadcrumb(site: Site, section: str, subsection: str | None) -> str:
    sec = site.sections[section]
    where = {"section": section, "section_name": esc(sec["name"]), "subsection": subsection}
    sub = esc(sec["subsections"][subsection]) if subsection else ""
    active = site.edition.html("breadcrumb-active", **where, subsection_name=sub)
    return site.edition.html("breadcrumb", **where, active=active if subsection else "")


def summary_html(html: sk.Templates, article: Article) -> str:
    """The summary in its style (``templates/summary-<style>.html``), if there is one."""
    if article.summary is None:
        return ""
    inner = html(f"summary-{article.summary_style}", summary=esc(article.summary))
    return f'<div class="post-summary">{inner}</div>\n'


def article_page(site: Site, article: Article) -> str:
    e = site.edition
    tags = article.tag_links(site.sections)
    related = [a for a in site.articles if a.section == article.section and a is not article][:3]
    return page(
        site,
        "article",
        **article.fields(),
        description=attr(article.summary or article.title),
        breadcrumb=breadcrumb(site, article.section, article.subsection),
        published=e.printed_date(article.published),
        summary_div=summary_html(e.html, article),
        body=article.body,
        tags=", ".join(f'<a href="/tag/{slug}.html">{esc(name)}</a>' for slug, name in tags),
        related=sk.links(related),
        sidebar=latest_box(site, article),
    )


def listing_url(section: str, subsection: str | None, number: int) -> str:
    base = f"/{section}" + (f"/{subsection}" if subsection else "")
    return base if number == 1 else f"{base}/p/{number}"


def listing_page(
    site: Site, section: str, subsection: str | None, number: int, chunks: list[list[Article]]
) -> str:
    e = site.edition
    sec = site.sections[section]
    name = sec["subsections"][subsection] if subsection else sec["name"]
    items = [
        e.html(
            "listing-item",
            **item.fields(),
            href=attr(link(site, item.url, i)),
            summary_p=f'\n<p class="hidden-xs">{esc(item.summary)}</p>' if item.summary else "",
        )
        for i, item in enumerate(chunks[number - 1])
    ]
    url = partial(listing_url, section, subsection)
    sidebar = latest_box(site)
    if e.html.has("most-read"):  # the edition's listings show the most read instead
        sidebar = e.html("most-read", items=e.html.each("most-read-item", site.articles[:5]))
    return page(
        site,
        "listing",
        canonical=url(number),
        number=f" - {e.page_word} {number}" if number > 1 else "",
        breadcrumb=breadcrumb(site, section, subsection),
        name=esc(name),
        submenu=sk.menu((f"/{section}/{s}", t) for s, t in sec["subsections"].items()),
        items="\n".join(items),
        pagination=sk.pagination(e.html, number, len(chunks), url, origin=e.origin),
        sidebar=sidebar,
    )


def home_page(site: Site) -> str:
    e = site.edition

    def featured(index: int, a: Article) -> str:
        href = attr(link(site, a.url, index))
        return e.html("home-featured", **a.fields(), href=href)

    boxes = []  # the sections' newest, where the edition's home page has them
    for slug, sec in site.sections.items() if e.html.has("home-box") else ():
        items = [a for a in site.articles if a.section == slug][:4]
        lines = sk.menu((link(site, a.url, i + 1), a.title) for i, a in enumerate(items))
        boxes.append(e.html("home-box", section=slug, section_name=esc(sec["name"]), links=lines))
    return page(
        site,
        "home",
        featured="\n".join(featured(i, a) for i, a in enumerate(site.articles[:5])),
        boxes="\n".join(boxes),
        sidebar=latest_box(site),
    )


def feed(
    site: Site, title: str, channel_link: str, items: Sequence[Article], *, tracking: bool
) -> tuple[str, list[str]]:
    """RSS 2.0 text and its item links, newest first, at most FEED_LIMIT items.
    With ``tracking``, the tracking article's link carries utm parameters."""
    items = items[:FEED_LIMIT]
    urls = [
        f"{a.url}?{site.tracking['query']}" if tracking and a is site.tracking["article"] else a.url
        for a in items
    ]
    built = items[0].published if items else site.snapshot
    text = sk.rss(site.edition.html, items, urls, built, title=esc(title), link=esc(channel_link))
    return text, urls


def page_file(url_path: str) -> str:
    """A section's listing is ``a/index.html`` (its subsections' pages live under it)."""
    parts = [p for p in url_path.split("/") if p]
    if len(parts) <= 2 and parts[-1:] != ["p"] and "." not in url_path:
        return "/".join([*parts, "index.html"])
    return sk.page_file(url_path)


def replica(
    site: Site, sources: str, row: Callable[[Article], Sequence[object]], **facts: object
) -> sk.Replica:
    """The replica of either edition; ``sources``, ``row`` and ``facts`` for PROVENANCE.md."""
    e = site.edition
    b = sk.Build(e.spider, e.site, e.origin, e.hosts, ROBOTS_DISALLOW, file=page_file)
    b.page("/", home_page(site))
    for a in site.articles:
        b.page(a.path, article_page(site, a))
    for section, sec in site.sections.items():
        for sub in [None, *sec["subsections"]]:
            where = {"section": section, "subsection": sub} if e.lang == "vi" else {}
            b.listing(
                site.listed(section=section, **({"subsection": sub} if sub else {})),
                PAGE_SIZE,
                partial(listing_url, section, sub),
                partial(listing_page, site, section, sub),
                **where,
            )
    feeds = [(e.latest_feed, e.newest, e.origin + "/", site.articles)]
    for slug, sec in site.sections.items():
        if "feed" in sec:
            in_section = [a for a in site.articles if a.section == slug]
            feeds.append((sec["feed"], sec["name"], f"{e.origin}/{slug}", in_section))
    for path, title, channel, items in feeds:
        text, urls = feed(site, title, channel, items, tracking=path == site.tracking["feed"])
        b.feed(path, text, urls, title=title)
    gate = {"name": GATE_COOKIE, "exempt": ["/robots.txt"]}  # robots.txt answers without it
    tracked = site.tracking["article"].url
    tracking = {"url": f"{tracked}?{site.tracking['query']}", "canonical": tracked}
    return b.replica(
        site,
        partial(manifest_entry, site),
        sources,
        row,
        facts=facts,
        site_json={"hosts": e.hosts, "cookie_gate": gate},
        cookie_gate=GATE_COOKIE,
        home=e.origin + "/",
        robots_disallow=ROBOTS_DISALLOW,
        tracking_urls=[tracking],
    )


def manifest_entry(site: Site, a: Article) -> dict[str, Any]:
    """What the page of ``a`` holds, read back from its body."""
    vi, facts = site.edition.lang == "vi", a.facts
    summary = summary_html(site.edition.html, a)
    origin = {"layout": a.layout, "source": a.source, "source_file": a.source_file}
    printed = fold(lxml.html.fromstring(summary).text_content()) if summary else None
    summary_key = {"summary_printed": printed} if vi else {"summary_style": a.summary_style}
    return {
        "section": a.section,
        "subsection": a.subsection,
        **(origin if vi else {"language": "en"}),
        "title": fold(a.title),
        "summary": fold(a.summary) if a.summary else None,
        **summary_key,
        "published": a.published.isoformat(),
        "published_raw": site.edition.printed_date(a.published),
        **sk.images((str(i["url"]), i["caption"]) for i in facts.images),
        "byline": facts.byline,
        **({"trailer": facts.trailer} if vi else {}),
        "tags": [fold(name) for _, name in a.tag_links(site.sections)],
    }


def build(sources: Path) -> sk.Replica:
    site = load_site(sources)
    origin = {
        "fragment": "real body `{}` (record in `articles.json`), title and summary real",
        "seed": "the seed `{}`, rebuilt in the old layout; title and summary written",
        "written": "written for the replica (`{}`)",
    }
    return replica(
        site,
        f"`replicas/sources/{SITE}/` (see the PROVENANCE.md there)",
        lambda a: [a.layout, origin[a.source].format(a.source_file)],
        digest=hashlib.sha256((sources / ARTICLES_JSON).read_bytes()).hexdigest(),
        latest_feed=site.edition.latest_feed,
        gate_cookie=GATE_COOKIE,
        toolbar=TOOLBAR_TOKEN,
    )
