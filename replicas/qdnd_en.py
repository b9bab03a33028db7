"""Build the en.qdnd.vn replica (``crawler/mirror/sites/en.qdnd.vn``) from its sources.

Run ``python -m replicas qdnd_en`` after changing a source or this
script; ``--check`` only reports whether the committed replica is what the
sources build (the tests run it).

The English edition runs on qdnd.vn's CMS, so the replica is the qdnd.vn
replica's skeleton in English: the same page structure and class names, URL
shapes (``/<section>/<subsection>/<slug>-<id>``, listings ``…/p/<N>``), robots
rules and cookie gate. The generic parts of ``build_qdnd`` (text helpers, URL
to file mapping, body analysis, robots.txt, tree comparison) are imported from
it; the Vietnamese page chrome is not, and is written here in English.

Sources: ``replicas/sources/en.qdnd.vn/written.json`` (articles written
for the replica in the 2025 image-table layout, sections, the dead listing
link, the feed link with tracking parameters). The manifest is read back from
the built bodies (``analyse_body``), so tests check the spider against what the
pages hold.
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from replicas.skeleton import attr, esc, fold, run, slugify, write
from replicas.skeleton import check as build_check
from replicas.qdnd import (
    GATE_COOKIE,
    ROBOTS_DISALLOW,
    BodyFacts,
    analyse_body,
    listing_url,
    page_file,
    robots,
)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SITE = "en.qdnd.vn"
SOURCES = HERE / "sources" / SITE
OUT = REPO / "crawler" / "mirror" / "sites" / SITE

ORIGIN = "https://en.qdnd.vn"
SITE_NAME = "People's Army Newspaper"
HOSTS = ["en.qdnd.vn"]
TZ = timezone(timedelta(hours=7))
PAGE_SIZE = 4
LATEST_FEED = "/rss/cate/latest-news.rss"
NO_IMAGE = "/themes/qdnd/images/no-image.jpg"
UUIDS = uuid.UUID("6f1d2c9e-4b7a-4c1e-9a55-0e2d5d3b8a10")  # namespace of the image tables' ids


def printed_date(moment: datetime) -> str:
    """Date as the English pages print it: ``Monday, June 16, 2025 - 07:42``."""
    return f"{moment:%A, %B %d, %Y - %H:%M}"


def local_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


# ----------------------------------------------------------------------------
# Articles


@dataclass
class Article:
    key: str
    article_id: int
    section: str
    subsection: str
    published: datetime
    title: str
    summary: str
    summary_style: str
    tags: list[str]
    body: str
    facts: BodyFacts = field(init=False)

    def __post_init__(self) -> None:
        self.facts = analyse_body(self.body)

    @property
    def path(self) -> str:
        return f"/{self.section}/{self.subsection}/{slugify(self.title)}-{self.article_id}"

    @property
    def url(self) -> str:
        return ORIGIN + self.path

    @property
    def thumbnail(self) -> str:
        return self.facts.images[0].url if self.facts.images else NO_IMAGE


@dataclass
class DeadLink:
    article_id: int
    section: str
    subsection: str
    published: datetime
    title: str
    summary: str
    thumbnail: str = NO_IMAGE

    @property
    def url(self) -> str:
        return f"{ORIGIN}/{self.section}/{self.subsection}/{slugify(self.title)}-{self.article_id}"


Listed = Article | DeadLink


def caption_cell(caption: str | None, style: str) -> str:
    if caption is None or style == "empty":
        return "<td>&nbsp;</td>"
    text = esc(caption)
    return {
        "bare": f"<td>{text}</td>",
        "p_span": f"<td><p><span>{text}</span></p></td>",
        "h2_span": f"<td><h2><span>{text}</span></h2></td>",
    }[style]


def render_body(entry: dict[str, Any]) -> str:
    """``div[itemprop=articleBody]`` in the 2025 layout: paragraphs, image tables
    (``img`` row, caption row), and the closing credit paragraph."""
    parts = ['<div itemprop="articleBody">']
    for index, block in enumerate(entry["blocks"]):
        if "image" in block:
            table_id = uuid.uuid5(UUIDS, f"{entry['id']}-{index}")
            parts.append(
                f'<table align="center" border="0" id="{table_id}"><tbody>'
                f'<tr><td><img alt="{attr(entry["title"])}" src="{attr(block["image"])}" width="870"></td></tr>'
                f"<tr>{caption_cell(block['caption'], block['caption_style'])}</tr>"
                "</tbody></table>"
            )
        else:
            parts.append(f"<p>{block['p']}</p>")
    byline = entry["byline"]
    text = esc(byline["text"])
    parts.append(
        {
            "strong": f"<p><strong>{text}</strong></p>",
            "right": f'<p style="text-align: right;"><strong>{text}</strong></p>',
        }[byline["style"]]
    )
    parts.append("</div>")
    return "\n".join(parts)


def load_articles(data: dict[str, Any]) -> list[Article]:
    articles = []
    for entry in data["articles"]:
        article = Article(
            key=entry["key"],
            article_id=entry["id"],
            section=entry["section"],
            subsection=entry["subsection"],
            published=local_time(entry["published"]),
            title=entry["title"],
            summary=entry["summary"],
            summary_style=entry["summary_style"],
            tags=entry["tags"],
            body=render_body(entry),
        )
        if article.facts.byline != entry["byline"]["text"]:
            raise ValueError(f"{article.key}: the body does not end with its byline")
        articles.append(article)
    return sorted(articles, key=lambda a: a.published, reverse=True)


# ----------------------------------------------------------------------------
# Pages (the qdnd.vn skeleton, in English)


@dataclass
class Site:
    sections: dict[str, Any]
    articles: list[Article]  # newest first
    dead: DeadLink
    tracking: Article
    tracking_query: str
    snapshot_day: datetime

    def listed(self, section: str, subsection: str | None = None) -> list[Listed]:
        items: list[Listed] = [*self.articles, self.dead]
        items = [
            a
            for a in items
            if a.section == section and (subsection is None or a.subsection == subsection)
        ]
        return sorted(items, key=lambda a: a.published, reverse=True)


def link(url: str, index: int) -> str:
    """Listings mix absolute links and site-relative paths, like qdnd.vn's."""
    return url if index % 2 == 0 else url.removeprefix(ORIGIN)


def menu(site: Site) -> str:
    items = ['<li><a href="/">Home</a></li>']
    items += [
        f'<li><a href="/{slug}">{esc(s["name"])}</a></li>' for slug, s in site.sections.items()
    ]
    return '<nav class="main-menu">\n<ul class="menu">\n' + "\n".join(items) + "\n</ul>\n</nav>"


def page(site: Site, *, title: str, head: str, main: str, sidebar: str) -> str:
    today = f"{site.snapshot_day:%A, %B %d, %Y}"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
{head}
<link rel="stylesheet" href="/themes/qdnd/css/style.css">
<link rel="alternate" type="application/rss+xml" title="Latest news" href="{ORIGIN}{LATEST_FEED}">
</head>
<body>
<header class="header">
<div class="top-bar">
<span class="header-date">{today}</span>
<a class="top-link" href="https://www.qdnd.vn">Tiếng Việt</a>
<a class="top-link" href="{ORIGIN}{LATEST_FEED}">RSS</a>
</div>
<div class="logo"><a href="/"><img src="/themes/qdnd/images/logo-en.png" alt="{SITE_NAME}"></a></div>
{menu(site)}
</header>
<main class="container">
<div class="row">
<div class="col-md-8 main-content">
{main}
</div>
<aside class="col-md-4 sidebar">
{sidebar}
</aside>
</div>
</main>
<footer class="footer">
<div class="footer-menu">{menu(site)}</div>
<div class="footer-info">
<p><strong>PEOPLE'S ARMY NEWSPAPER ONLINE</strong> - Agency of the Central Military Commission \
and the Ministry of National Defence of Vietnam.</p>
<p>Address: No. 7 Phan Dinh Phung Street, Ba Dinh District, Hanoi.</p>
<p>Copyright by People's Army Newspaper. Please cite the source when reusing information from this website.</p>
</div>
</footer>
</body>
</html>
"""


def latest_box(site: Site, exclude: Article | None = None, count: int = 6) -> str:
    items = [a for a in site.articles if a is not exclude][:count]
    lines = [f'<li><a href="{attr(a.url)}">{esc(a.title)}</a></li>' for a in items]
    return (
        '<div class="box-latest">\n<h2 class="box-title">Latest news</h2>\n<ul class="list-latest">\n'
        + "\n".join(lines)
        + "\n</ul>\n</div>"
    )


def breadcrumb(site: Site, section: str, subsection: str | None) -> str:
    sec = site.sections[section]
    items = [
        '<li><a href="/">Home</a></li>',
        f'<li><a href="/{section}">{esc(sec["name"])}</a></li>',
    ]
    if subsection:
        name = esc(sec["subsections"][subsection])
        items.append(f'<li class="active"><a href="/{section}/{subsection}">{name}</a></li>')
    return '<ul class="breadcrumb">\n' + "\n".join(items) + "\n</ul>"


def summary_html(article: Article) -> str:
    text = esc(article.summary)
    inner = {
        "pano": f"PANO - {text}",
        "p_pano": f"<p>PANO - {text}</p>",
        "plain": f"<p>{text}</p>",
    }[article.summary_style]
    return f'<div class="post-summary">{inner}</div>\n'


def article_page(site: Site, article: Article) -> str:
    tag_links = ", ".join(
        f'<a href="/tag/{slugify(tag)}-{7000 + i}.html">{esc(tag)}</a>'
        for i, tag in enumerate(article.tags)
    )
    related = [a for a in site.articles if a.section == article.section and a is not article][:3]
    related_items = "\n".join(
        f'<li><a href="{attr(a.url)}">{esc(a.title)}</a></li>' for a in related
    )
    head = f"""<meta name="description" content="{attr(article.summary)}">
<meta property="og:type" content="article">
<meta property="og:site_name" content="{SITE_NAME}">
<meta property="og:title" content="{attr(article.title)}">
<meta property="og:url" content="{attr(article.url)}">
<meta property="og:image" content="{attr(article.thumbnail)}">
<link rel="canonical" href="{attr(article.url)}">"""
    main = f"""{breadcrumb(site, article.section, article.subsection)}
<article class="post-detail">
<h1 class="post-title">{esc(article.title)}</h1>
<div class="post-info">
<span class="post-subinfo">{printed_date(article.published)}</span>
<span class="post-share"><a href="https://www.facebook.com/sharer/sharer.php?u={attr(article.url)}">Share</a></span>
</div>
{summary_html(article)}<div class="post-content">
{article.body}
</div>
<div class="post-tag"><span class="tag-label">Tags:</span> {tag_links}</div>
</article>
<div class="box-related">
<h2 class="box-title">Related news</h2>
<ul class="list-related">
{related_items}
</ul>
</div>"""
    return page(
        site,
        title=f"{article.title} - {SITE_NAME}",
        head=head,
        main=main,
        sidebar=latest_box(site, article),
    )


def pagination(section: str, subsection: str | None, number: int, total: int) -> str:
    """Relative page links (qdnd.vn's prev/next are absolute; here they name this host)."""
    if total < 2:
        return ""
    items = []
    if number > 1:
        items.append(
            f'<li class="prev"><a href="{ORIGIN}{listing_url(section, subsection, number - 1)}">‹</a></li>'
        )
    for n in range(1, total + 1):
        if n == number:
            items.append(f'<li class="active"><span>{n}</span></li>')
        else:
            items.append(f'<li><a href="{listing_url(section, subsection, n)}">{n}</a></li>')
    if number < total:
        items.append(
            f'<li class="next"><a href="{ORIGIN}{listing_url(section, subsection, number + 1)}">›</a></li>'
        )
    return '<ul class="pagination">\n' + "\n".join(items) + "\n</ul>"


def listing_page(
    site: Site, section: str, subsection: str | None, number: int, chunks: list[list[Listed]]
) -> str:
    sec = site.sections[section]
    name = sec["subsections"][subsection] if subsection else sec["name"]
    items = []
    for i, item in enumerate(chunks[number - 1]):
        href = attr(link(item.url, i))
        items.append(
            f"""<article class="item-news">
<a class="thumb" href="{href}"><img src="{attr(item.thumbnail)}" alt="{attr(item.title)}"></a>
<h3><a href="{href}">{esc(item.title)}</a></h3>
<p class="hidden-xs">{esc(item.summary)}</p>
</article>"""
        )
    submenu = "\n".join(
        f'<li><a href="/{section}/{slug}">{esc(title)}</a></li>'
        for slug, title in sec["subsections"].items()
    )
    main = f"""{breadcrumb(site, section, subsection)}
<h1 class="category-title">{esc(name)}</h1>
<ul class="sub-menu">
{submenu}
</ul>
<div class="list-news-category">
{chr(10).join(items)}
</div>
{pagination(section, subsection, number, len(chunks))}"""
    title = f"{name} - {SITE_NAME}" + (f" - Page {number}" if number > 1 else "")
    head = f'<link rel="canonical" href="{ORIGIN}{listing_url(section, subsection, number)}">'
    return page(site, title=title, head=head, main=main, sidebar=latest_box(site))


def home_page(site: Site) -> str:
    featured = "\n".join(
        f"""<article class="item-featured">
<a class="thumb" href="{attr(link(a.url, i))}"><img src="{attr(a.thumbnail)}" alt="{attr(a.title)}"></a>
<h2><a href="{attr(link(a.url, i))}">{esc(a.title)}</a></h2>
</article>"""
        for i, a in enumerate(site.articles[:5])
    )
    head = f'<link rel="canonical" href="{ORIGIN}/">'
    main = '<div class="box-featured">\n' + featured + "\n</div>"
    return page(
        site,
        title=f"{SITE_NAME} - Vietnam military news",
        head=head,
        main=main,
        sidebar=latest_box(site),
    )


def feed(
    site: Site, title: str, channel: str, items: Sequence[Article], *, tracking: bool
) -> tuple[str, list[str]]:
    """RSS 2.0 of the newest articles; with ``tracking``, the tracking article's link
    carries utm parameters."""
    entries = []
    links = []
    for a in items:
        url = f"{a.url}?{site.tracking_query}" if tracking and a is site.tracking else a.url
        links.append(url)
        entries.append(
            f"""<item>
<title>{esc(a.title)}</title>
<link>{esc(url)}</link>
<description>{esc(a.summary)}</description>
<pubDate>{format_datetime(a.published)}</pubDate>
<guid isPermaLink="true">{esc(url)}</guid>
</item>"""
        )
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
<channel>
<title>{esc(title)}</title>
<link>{esc(channel)}</link>
<description>{esc(title)} - {SITE_NAME}</description>
<language>en</language>
<lastBuildDate>{format_datetime(items[0].published)}</lastBuildDate>
{chr(10).join(entries)}
</channel>
</rss>
"""
    return text, links


# ----------------------------------------------------------------------------
# Build


def load_site(sources: Path) -> Site:
    data = json.loads((sources / "written.json").read_text(encoding="utf-8"))
    articles = load_articles(data)
    ids = [a.article_id for a in articles] + [data["dead_link"]["id"]]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate article ids")
    dead = data["dead_link"]
    return Site(
        sections=data["sections"],
        articles=articles,
        dead=DeadLink(
            article_id=dead["id"],
            section=dead["section"],
            subsection=dead["subsection"],
            published=local_time(dead["published"]),
            title=dead["title"],
            summary=dead["summary"],
        ),
        tracking=next(a for a in articles if a.key == data["tracking"]["key"]),
        tracking_query=data["tracking"]["query"],
        snapshot_day=local_time(data["snapshot_day"]),
    )


def build(sources: Path, out: Path) -> dict[str, Any]:
    """Write the replica into ``out``; return the manifest."""
    site = load_site(sources)
    pages = out / "pages"
    if pages.exists():
        shutil.rmtree(pages)
    write(pages / "index.html", home_page(site))
    write(pages / "robots.txt", robots())
    for article in site.articles:
        write(page_file(pages, article.path), article_page(site, article))
    listings = []
    for section, sec in site.sections.items():
        for subsection in [None, *sec["subsections"]]:
            items = site.listed(section, subsection)
            chunks = [items[i : i + PAGE_SIZE] for i in range(0, len(items), PAGE_SIZE)] or [[]]
            for number in range(1, len(chunks) + 1):
                url_path = listing_url(section, subsection, number)
                write(
                    page_file(pages, url_path),
                    listing_page(site, section, subsection, number, chunks),
                )
                listings.append(
                    {
                        "url": ORIGIN + url_path,
                        "page": number,
                        "pages": len(chunks),
                        "articles": [item.url for item in chunks[number - 1]],
                    }
                )
    feeds = []
    specs = [(LATEST_FEED, "Latest news", ORIGIN + "/", site.articles)]
    for slug, sec in site.sections.items():
        in_section = [a for a in site.articles if a.section == slug]
        specs.append((f"/rss/cate/{slug}.rss", sec["name"], f"{ORIGIN}/{slug}", in_section))
    for feed_path, title, channel, feed_items in specs:
        text, links = feed(site, title, channel, feed_items, tracking=feed_path == LATEST_FEED)
        write(pages.joinpath(*feed_path.strip("/").split("/")), text)
        feeds.append({"url": ORIGIN + feed_path, "title": title, "links": links})
    site_json = {"hosts": HOSTS, "cookie_gate": {"name": GATE_COOKIE, "exempt": ["/robots.txt"]}}
    write(out / "site.json", json.dumps(site_json, indent=2) + "\n")
    manifest = {
        "site": "en.qdnd.vn",
        "generated_by": "python -m replicas qdnd_en",
        "hosts": HOSTS,
        "cookie_gate": GATE_COOKIE,
        "timezone": "+07:00",
        "page_size": PAGE_SIZE,
        "home": ORIGIN + "/",
        "robots_disallow": ROBOTS_DISALLOW,
        "article_count": len(site.articles),
        "articles": [manifest_entry(site, a) for a in site.articles],
        "dead_urls": [site.dead.url],
        "tracking_urls": [
            {"url": f"{site.tracking.url}?{site.tracking_query}", "canonical": site.tracking.url}
        ],
        "listings": listings,
        "feeds": feeds,
    }
    write(out / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    write(out / "PROVENANCE.md", provenance(site))
    return manifest


def manifest_entry(site: Site, a: Article) -> dict[str, Any]:
    facts = a.facts
    return {
        "url": a.url,
        "article_id": str(a.article_id),
        "section": a.section,
        "subsection": a.subsection,
        "language": "en",
        "title": fold(a.title),
        "summary": fold(a.summary),
        "summary_style": a.summary_style,
        "published": a.published.isoformat(),
        "published_raw": printed_date(a.published),
        "image_count": len(facts.images),
        "caption_count": sum(1 for i in facts.images if i.caption),
        "images": [{"url": i.url, "caption": i.caption} for i in facts.images],
        "byline": facts.byline,
        "tags": a.tags,
    }


def provenance(site: Site) -> str:
    rows = "\n".join(f"| `{a.path}` | written (`written.json#{a.key}`) |" for a in site.articles)
    return f"""# en.qdnd.vn replica: where every page comes from

Generated by `python -m replicas qdnd_en` from
`replicas/sources/en.qdnd.vn/written.json`; do not edit the pages by
hand. `manifest.json` lists every article with what its page holds.

## Known (SITES.md, and the qdnd.vn replica whose skeleton this is)

- Same CMS and cookie gate (`{GATE_COOKIE}`) as qdnd.vn; article URLs
  `https://en.qdnd.vn/<section>/<subsection>/<slug>-<id>`; the sections
  `/military/news` and `/military/intl-relations-and-cooperation`; robots.txt
  disallowing {", ".join(f"`{p}`" for p in ROBOTS_DISALLOW)}.
- The page parts are qdnd.vn's (`h1.post-title`, `div.post-summary`,
  `span.post-subinfo`, `div.post-content div[itemprop=articleBody]`,
  `.post-tag a`, listing `div.list-news-category article h3 a`), assumed to
  match as SITES.md says (not confirmed), and the 2024-on image tables
  (`table[align=center][border=0][id=<uuid>]`, `img` row, caption row; caption
  as bare text, `p > span`, `h2 > span`, or `&nbsp;` when empty).
- `PANO - ` opening some leads: the English edition's tag (People's Army
  Newspaper Online) in copies of its articles from 2016; whether the 2025
  site still prints it is not known.

## Invented

- Every article (people, units' activities, figures), id, section placement
  and publish time (11-16 June 2025); the English page chrome (menu, footer,
  "Latest news" and "Related news" boxes), the printed date form
  (`Monday, June 16, 2025 - 07:42`), tags and tag ids, the section
  `politics/news`, page size ({PAGE_SIZE}), the feed paths (`{LATEST_FEED}`, `/rss/cate/<section>.rss`),
  the dead listing link (404), and the tracking parameters on one feed link.
- Credits: captions end with `Photo: NAME` or `(Photo: AGENCY)`; the closing
  paragraph is `By NAME`, `Translated by NAME`, `By NAME - Translated by
  NAME`, `Story and photos: NAME`, a rank before the name, or the agency
  `VNA`. No related-section trailer: none is known for the English edition
  (the Vietnamese one links Vietnamese sections).

## Pages

| path | source |
| --- | --- |
{rows}
"""


def check(sources: Path, out: Path) -> list[str]:
    """Differences between the committed replica and a fresh build."""
    return build_check(build, sources, out)


def main(argv: list[str] | None = None) -> int:
    return run(build, SITE, SOURCES, OUT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
