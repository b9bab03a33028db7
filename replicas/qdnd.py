"""Build the qdnd.vn replica (``crawler/mirror/sites/qdnd.vn``) from its sources.

Run ``python -m replicas qdnd`` after changing a source or this
script, and commit the result; ``--check`` only reports whether the committed
replica is what the sources build (the tests run it).

Sources (``replicas/sources/qdnd.vn``, see its PROVENANCE.md):

- ``article_body_fragments/NN.html`` and ``mourinhan8_qdnd-crawler_articles.json``:
  28 real article bodies (layout of 2024 on) with their real titles and
  summaries, served verbatim inside an invented page;
- ``seed/000_e17f4e3068c7ab98.txt``: the seed article, flattened text, rebuilt
  here in the layout up to about 2023 (``table.imgEditor``);
- ``written.json``: articles written for the replica in the same old layout;
- ``replica.json``: everything invented about the real articles and the seed
  (ids, sections, publish times, summary markup) and the site's sections.

The manifest (``manifest.json``) is computed from the built pages (image and
caption counts, byline as printed, tags), so tests check crawls against what
the pages really hold.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import lxml.html

from replicas.skeleton import attr, esc, fold, run, slugify, write
from replicas.skeleton import check as build_check

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SITE = "qdnd.vn"
SOURCES = HERE / "sources" / SITE
OUT = REPO / "crawler" / "mirror" / "sites" / SITE

ORIGIN = "https://www.qdnd.vn"
SITE_NAME = "Báo Quân đội nhân dân"
HOSTS = ["www.qdnd.vn", "qdnd.vn"]
GATE_COOKIE = "muid_mly"
TZ = timezone(timedelta(hours=7))  # qdnd.vn prints Vietnamese local time
PAGE_SIZE = 4  # listing items per page: small, so two sections reach 3+ pages
LATEST_FEED = "/rss/cate/tin-tuc-moi-nhat.rss"
FEED_LIMIT = 50
ROBOTS_DISALLOW = ["/preview/", "/services/", "/api/", "/search/", "/tim-kiem/"]
NO_IMAGE = "/themes/qdnd/images/no-image.jpg"
WEEKDAYS = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"]

SOURCE_REPO = "mourinhan8/qdnd-crawler"
SOURCE_COMMIT = "283989bf866331a02338673a2af3582409f0bbff"
ARTICLES_JSON = "mourinhan8_qdnd-crawler_articles.json"

TOOLBAR_TOKEN = "leftcenterrightdel"
TAG_HREF = re.compile(r"/tag/([a-z0-9-]+-\d+)\.html$")
TRAILER = re.compile(r"^\*\s*(Mời|Chuyên mục)")

# The image editor's alignment toolbar, left in the old layout's image tables
# as a row of its own. Its exact markup is unknown, so pages vary it; every
# variant flattens to ``leftcenterrightdel`` (no white space between words).
TOOLBAR_ROWS: dict[str, str] = {
    "span-a": (
        '<tr><td><span class="imgEditor-toolbar">'
        "<a>left</a><a>center</a><a>right</a><a>del</a></span></td></tr>"
    ),
    "div": (
        '<tr><td><div class="imgEditor-toolbar"><div class="imgEditor-btn">left</div>'
        '<div class="imgEditor-btn">center</div><div class="imgEditor-btn">right</div>'
        '<div class="imgEditor-btn">del</div></div></td></tr>'
    ),
    "span": (
        '<tr class="imgEditor-toolbar"><td>'
        "<span>left</span><span>center</span><span>right</span><span>del</span></td></tr>"
    ),
    "a-href": (
        '<tr><td><div class="imgEditor-tools">'
        '<a href="javascript:void(0)" title="Căn trái">left</a>'
        '<a href="javascript:void(0)" title="Căn giữa">center</a>'
        '<a href="javascript:void(0)" title="Căn phải">right</a>'
        '<a href="javascript:void(0)" title="Xóa">del</a></div></td></tr>'
    ),
}


# ----------------------------------------------------------------------------
# Text helpers


def printed_date(moment: datetime) -> str:
    """Date as qdnd.vn prints it: ``Thứ Năm, 16/01/2025 - 09:32``."""
    return f"{WEEKDAYS[moment.weekday()]}, {moment:%d/%m/%Y - %H:%M}"


# ----------------------------------------------------------------------------
# Articles


@dataclass
class Image:
    url: str
    caption: str | None


@dataclass
class BodyFacts:
    """What a body holds, read back from its HTML."""

    images: list[Image]
    byline: str | None
    trailer: str | None
    tags: list[tuple[str, str]]


@dataclass
class Article:
    key: str
    source: str  # "fragment", "seed" or "written"
    source_file: str
    article_id: int
    section: str
    subsection: str
    published: datetime
    title: str
    summary: str | None
    summary_style: str
    layout: str  # "2025" or "2022"
    body: str  # the whole div[itemprop=articleBody]
    extra_tags: list[tuple[str, str]] = field(default_factory=list)
    facts: BodyFacts = field(init=False)

    def __post_init__(self) -> None:
        self.facts = analyse_body(self.body)

    @property
    def slug(self) -> str:
        return slugify(self.title)

    @property
    def path(self) -> str:
        return f"/{self.section}/{self.subsection}/{self.slug}-{self.article_id}"

    @property
    def url(self) -> str:
        return ORIGIN + self.path

    @property
    def thumbnail(self) -> str:
        return self.facts.images[0].url if self.facts.images else NO_IMAGE

    def tags(self, sections: dict[str, Any]) -> list[tuple[str, str]]:
        """Tag links for ``.post-tag``: the body's tag links, else the section's."""
        tags = dedupe([*self.extra_tags, *self.facts.tags])
        if not tags:
            slug, name = sections[self.section]["tag"]
            tags = [(slug, name)]
        return tags


@dataclass
class DeadLink:
    """A listing item whose article page does not exist (404)."""

    article_id: int
    section: str
    subsection: str
    published: datetime
    title: str
    summary: str
    thumbnail: str

    @property
    def path(self) -> str:
        return f"/{self.section}/{self.subsection}/{slugify(self.title)}-{self.article_id}"

    @property
    def url(self) -> str:
        return ORIGIN + self.path


Listed = Article | DeadLink


def dedupe(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    seen: set[str] = set()
    out = []
    for slug, name in pairs:
        if slug not in seen:
            seen.add(slug)
            out.append((slug, name))
    return out


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
            for later in rows[rows.index(row) + 1 :]:
                text = fold("".join(later.itertext()))
                if text and text.replace(" ", "") != TOOLBAR_TOKEN:
                    caption = text
                    break
        images.append(Image(url=str(img.get("src")), caption=caption))
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


def local_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def load_real(sources: Path, meta: dict[str, Any]) -> list[Article]:
    """The 28 real bodies, verbatim, with their real titles and summaries."""
    records = json.loads((sources / ARTICLES_JSON).read_text(encoding="utf-8"))
    articles = []
    for entry in meta["real"]:
        body = (sources / entry["fragment"]).read_text(encoding="utf-8")
        record = records[entry["record"]]
        if fold(record["article_text"]) != fold(body):
            raise ValueError(f"{entry['fragment']} is not record {entry['record']}")
        summary = record["summary"].strip()
        articles.append(
            Article(
                key=Path(entry["fragment"]).stem,
                source="fragment",
                source_file=entry["fragment"],
                article_id=entry["id"],
                section=entry["section"],
                subsection=entry["subsection"],
                published=local_time(entry["published"]),
                title=record["title"].strip(),
                summary=None if summary == "No Summary Found" else summary,
                summary_style=entry["summary_style"],
                layout="2025",
                body=body,
            )
        )
    return articles


def render_old_body(blocks: Sequence[dict[str, Any]], toolbar: str, caption_class: bool) -> str:
    """A body in the layout up to about 2023: ``table.imgEditor`` image tables
    with the editor toolbar left in a row between the image and the caption."""
    parts = ['<div itemprop="articleBody">']
    for block in blocks:
        if "image" in block:
            rows = [
                "<tr>",
                f'<td><img class="imgtelerik" src="{attr(block["image"])}" alt="" width="870"></td>',
                "</tr>",
                TOOLBAR_ROWS[toolbar],
            ]
            if block.get("caption") is not None:
                tr = '<tr class="alt_imgEditor">' if caption_class else "<tr>"
                rows += [tr, f"<td><em><span>{esc(block['caption'])}</span></em></td>", "</tr>"]
            parts += ['<table class="imgEditor" align="center">', "<tbody>", *rows]
            parts += ["</tbody>", "</table>"]
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


def load_seed(sources: Path, meta: dict[str, Any]) -> Article:
    entry = meta["seed"]
    text = (sources / entry["text"]).read_text(encoding="utf-8")
    body = render_old_body(
        seed_blocks(text, entry["images"]), entry["toolbar"], entry["caption_row_class"]
    )
    return Article(
        key="seed",
        source="seed",
        source_file=entry["text"],
        article_id=entry["id"],
        section=entry["section"],
        subsection=entry["subsection"],
        published=local_time(entry["published"]),
        title=entry["title"],
        summary=entry["summary"],
        summary_style=entry["summary_style"],
        layout="2022",
        body=body,
        extra_tags=[(slug, name) for slug, name in entry.get("tags", [])],
    )


def load_written(sources: Path) -> list[Article]:
    data = json.loads((sources / "written.json").read_text(encoding="utf-8"))
    return [
        Article(
            key=entry["key"],
            source="written",
            source_file=f"written.json#{entry['key']}",
            article_id=entry["id"],
            section=entry["section"],
            subsection=entry["subsection"],
            published=local_time(entry["published"]),
            title=entry["title"],
            summary=entry["summary"],
            summary_style=entry["summary_style"],
            layout="2022",
            body=render_old_body(entry["blocks"], entry["toolbar"], entry["caption_row_class"]),
        )
        for entry in data["articles"]
    ]


# ----------------------------------------------------------------------------
# Pages


@dataclass
class Site:
    """Everything the pages are built from."""

    sections: dict[str, Any]
    articles: list[Article]  # newest first
    dead: DeadLink
    tracking: Article
    tracking_query: str
    tracking_feed: str
    snapshot_day: datetime

    def listed(self, section: str, subsection: str | None = None) -> list[Listed]:
        """Items of a section (or subsection) listing, newest first."""
        items: list[Listed] = [*self.articles, self.dead]
        items = [
            a
            for a in items
            if a.section == section and (subsection is None or a.subsection == subsection)
        ]
        return sorted(items, key=lambda a: a.published, reverse=True)


def link(url: str, index: int) -> str:
    """Listings mix absolute links and site-relative paths, like the real site."""
    return url if index % 2 == 0 else url.removeprefix(ORIGIN)


def menu(site: Site) -> str:
    items = ['<li><a href="/">Trang chủ</a></li>']
    items += [
        f'<li><a href="/{slug}">{esc(s["name"])}</a></li>' for slug, s in site.sections.items()
    ]
    return '<nav class="main-menu">\n<ul class="menu">\n' + "\n".join(items) + "\n</ul>\n</nav>"


def page(site: Site, *, title: str, head: str, main: str, sidebar: str) -> str:
    """The site chrome around a page's own content."""
    today = printed_date(site.snapshot_day).split(" - ")[0]
    return f"""<!DOCTYPE html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
{head}
<link rel="stylesheet" href="/themes/qdnd/css/style.css">
<link rel="alternate" type="application/rss+xml" title="Tin tức mới nhất" href="{ORIGIN}{LATEST_FEED}">
</head>
<body>
<header class="header">
<div class="top-bar">
<span class="header-date">{today}</span>
<a class="top-link" href="{ORIGIN}{LATEST_FEED}">RSS</a>
</div>
<div class="logo"><a href="/"><img src="/themes/qdnd/images/logo.png" alt="{SITE_NAME}"></a></div>
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
<p><strong>BÁO QUÂN ĐỘI NHÂN DÂN</strong> - Cơ quan của Quân ủy Trung ương và Bộ Quốc phòng, \
tiếng nói của lực lượng vũ trang và nhân dân Việt Nam.</p>
<p>Tòa soạn: Số 7 Phan Đình Phùng, quận Ba Đình, Hà Nội.</p>
<p>Bản quyền thuộc về Báo Quân đội nhân dân. Ghi rõ nguồn khi phát hành lại thông tin từ website này.</p>
</div>
</footer>
</body>
</html>
"""


def latest_box(site: Site, exclude: Article | None = None, count: int = 6) -> str:
    """The "Tin mới" sidebar: newest articles of the whole site."""
    items = [a for a in site.articles if a is not exclude][:count]
    lines = [f'<li><a href="{attr(a.url)}">{esc(a.title)}</a></li>' for a in items]
    return (
        '<div class="box-latest">\n<h2 class="box-title">Tin mới</h2>\n<ul class="list-latest">\n'
        + "\n".join(lines)
        + "\n</ul>\n</div>"
    )


def breadcrumb(site: Site, section: str, subsection: str | None) -> str:
    sec = site.sections[section]
    items = [
        '<li><a href="/">Trang chủ</a></li>',
        f'<li><a href="/{section}">{esc(sec["name"])}</a></li>',
    ]
    if subsection:
        name = esc(sec["subsections"][subsection])
        items.append(f'<li class="active"><a href="/{section}/{subsection}">{name}</a></li>')
    return '<ul class="breadcrumb">\n' + "\n".join(items) + "\n</ul>"


def summary_html(article: Article) -> str:
    if article.summary is None:
        return ""
    text = esc(article.summary)
    inner = {
        "p_tag": f"<p>QĐND - {text}</p>",
        "bare_tag": f"QĐND - {text}",
        "p_plain": f"<p>{text}</p>",
        "paren_tag": f"<p>(QĐND) - {text}</p>",
    }[article.summary_style]
    return f'<div class="post-summary">{inner}</div>\n'


def summary_printed(article: Article) -> str | None:
    return (
        fold(lxml.html.fromstring(summary_html(article)).text_content())
        if article.summary
        else None
    )


def article_page(site: Site, article: Article) -> str:
    tags = article.tags(site.sections)
    tag_links = ", ".join(f'<a href="/tag/{slug}.html">{esc(name)}</a>' for slug, name in tags)
    related = [a for a in site.articles if a.section == article.section and a is not article][:3]
    related_items = "\n".join(
        f'<li><a href="{attr(a.url)}">{esc(a.title)}</a></li>' for a in related
    )
    description = article.summary or article.title
    head = f"""<meta name="description" content="{attr(description)}">
<meta property="og:type" content="article">
<meta property="og:site_name" content="{SITE_NAME}">
<meta property="og:title" content="{attr(article.title)}">
<meta property="og:description" content="{attr(description)}">
<meta property="og:url" content="{attr(article.url)}">
<meta property="og:image" content="{attr(article.thumbnail)}">
<link rel="canonical" href="{attr(article.url)}">"""
    main = f"""{breadcrumb(site, article.section, article.subsection)}
<article class="post-detail">
<h1 class="post-title">{esc(article.title)}</h1>
<div class="post-info">
<span class="post-subinfo">{printed_date(article.published)}</span>
<span class="post-share"><a href="https://www.facebook.com/sharer/sharer.php?u={attr(article.url)}">Chia sẻ</a></span>
</div>
{summary_html(article)}<div class="post-content">
{article.body}
</div>
<div class="post-tag"><span class="tag-label">Từ khóa:</span> {tag_links}</div>
</article>
<div class="box-related">
<h2 class="box-title">Tin liên quan</h2>
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


def listing_url(section: str, subsection: str | None, number: int) -> str:
    base = f"/{section}" + (f"/{subsection}" if subsection else "")
    return base if number == 1 else f"{base}/p/{number}"


def pagination(section: str, subsection: str | None, number: int, total: int) -> str:
    if total < 2:
        return ""
    items = []
    if number > 1:
        prev = ORIGIN + listing_url(section, subsection, number - 1)
        items.append(f'<li class="prev"><a href="{prev}">‹</a></li>')
    for n in range(1, total + 1):
        if n == number:
            items.append(f'<li class="active"><span>{n}</span></li>')
        else:
            items.append(f'<li><a href="{listing_url(section, subsection, n)}">{n}</a></li>')
    if number < total:
        nxt = ORIGIN + listing_url(section, subsection, number + 1)
        items.append(f'<li class="next"><a href="{nxt}">›</a></li>')
    return '<ul class="pagination">\n' + "\n".join(items) + "\n</ul>"


def listing_page(
    site: Site, section: str, subsection: str | None, number: int, chunks: list[list[Listed]]
) -> str:
    sec = site.sections[section]
    name = sec["subsections"][subsection] if subsection else sec["name"]
    items = []
    for i, item in enumerate(chunks[number - 1]):
        href = attr(link(item.url, i))
        summary = f'\n<p class="hidden-xs">{esc(item.summary)}</p>' if item.summary else ""
        items.append(
            f"""<article class="item-news">
<a class="thumb" href="{href}"><img src="{attr(item.thumbnail)}" alt="{attr(item.title)}"></a>
<h3><a href="{href}">{esc(item.title)}</a></h3>{summary}
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
    sidebar_items = "\n".join(
        f'<article class="item-sidebar"><a href="{attr(a.url)}">{esc(a.title)}</a></article>'
        for a in site.articles[:5]
    )
    sidebar = f'<div class="box-most-read">\n<h2 class="box-title">Đọc nhiều</h2>\n{sidebar_items}\n</div>'
    title = f"{name} - {SITE_NAME}" + (f" - Trang {number}" if number > 1 else "")
    head = f'<link rel="canonical" href="{ORIGIN}{listing_url(section, subsection, number)}">'
    return page(site, title=title, head=head, main=main, sidebar=sidebar)


def home_page(site: Site) -> str:
    top = site.articles[:5]
    featured = "\n".join(
        f"""<article class="item-featured">
<a class="thumb" href="{attr(link(a.url, i))}"><img src="{attr(a.thumbnail)}" alt="{attr(a.title)}"></a>
<h2><a href="{attr(link(a.url, i))}">{esc(a.title)}</a></h2>
</article>"""
        for i, a in enumerate(top)
    )
    boxes = []
    for slug, sec in site.sections.items():
        items = [a for a in site.articles if a.section == slug][:4]
        lines = "\n".join(
            f'<li><a href="{attr(link(a.url, i + 1))}">{esc(a.title)}</a></li>'
            for i, a in enumerate(items)
        )
        boxes.append(
            f'<div class="box-home-category">\n<h2 class="box-title"><a href="/{slug}">'
            f"{esc(sec['name'])}</a></h2>\n<ul>\n{lines}\n</ul>\n</div>"
        )
    main = '<div class="box-featured">\n' + featured + "\n</div>\n" + "\n".join(boxes)
    head = (
        f'<meta name="description" content="{SITE_NAME}: tin tức quân sự, quốc phòng">\n'
        f'<link rel="canonical" href="{ORIGIN}/">'
    )
    return page(
        site,
        title=f"{SITE_NAME} - Tin tức quân sự, quốc phòng",
        head=head,
        main=main,
        sidebar=latest_box(site),
    )


def feed(
    site: Site, title: str, channel_link: str, items: Sequence[Article], *, tracking: bool
) -> tuple[str, list[str]]:
    """RSS 2.0 text and its item links, newest first, at most FEED_LIMIT items.
    With ``tracking``, the tracking article's link carries utm parameters."""
    entries = []
    links = []
    for a in items[:FEED_LIMIT]:
        url = a.url
        if tracking and a is site.tracking:
            url = f"{a.url}?{site.tracking_query}"
        links.append(url)
        entries.append(
            f"""<item>
<title>{esc(a.title)}</title>
<link>{esc(url)}</link>
<description>{esc(a.summary or "")}</description>
<pubDate>{format_datetime(a.published)}</pubDate>
<guid isPermaLink="true">{esc(url)}</guid>
</item>"""
        )
    built = format_datetime(items[0].published) if items else format_datetime(site.snapshot_day)
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
<channel>
<title>{esc(title)}</title>
<link>{esc(channel_link)}</link>
<description>{esc(title)} - {SITE_NAME}</description>
<language>vi</language>
<lastBuildDate>{built}</lastBuildDate>
{chr(10).join(entries)}
</channel>
</rss>
"""
    return text, links


def robots() -> str:
    return "User-agent: *\n" + "".join(f"Disallow: {p}\n" for p in ROBOTS_DISALLOW)


# ----------------------------------------------------------------------------
# Build


def load_site(sources: Path) -> Site:
    meta = json.loads((sources / "replica.json").read_text(encoding="utf-8"))
    articles = [*load_real(sources, meta), load_seed(sources, meta), *load_written(sources)]
    articles.sort(key=lambda a: a.published, reverse=True)
    ids = [a.article_id for a in articles]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate article ids")
    dead = meta["dead_link"]
    tracking = next(a for a in articles if a.source_file == meta["tracking"]["fragment"])
    return Site(
        sections=meta["sections"],
        articles=articles,
        dead=DeadLink(
            article_id=dead["id"],
            section=dead["section"],
            subsection=dead["subsection"],
            published=local_time(dead["published"]),
            title=dead["title"],
            summary=dead["summary"],
            thumbnail=dead["thumbnail"],
        ),
        tracking=tracking,
        tracking_query=meta["tracking"]["query"],
        tracking_feed=meta["tracking"]["feed"],
        snapshot_day=local_time(meta["snapshot_day"]),
    )


def page_file(pages: Path, url_path: str) -> Path:
    """Where the server looks for ``url_path``: ``/a/b`` -> ``a/b.html``,
    a section ``/a`` -> ``a/index.html`` (its listing pages live under it)."""
    parts = [p for p in url_path.split("/") if p]
    if not parts:
        return pages / "index.html"
    if "." in parts[-1]:
        return pages.joinpath(*parts)
    if len(parts) <= 2 and parts[-1] != "p":
        return pages.joinpath(*parts, "index.html")
    return pages.joinpath(*parts[:-1], parts[-1] + ".html")


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
                        "section": section,
                        "subsection": subsection,
                        "page": number,
                        "pages": len(chunks),
                        "articles": [item.url for item in chunks[number - 1]],
                    }
                )

    feeds = []
    feed_specs: list[tuple[str, str, str, list[Article]]] = [
        (LATEST_FEED, "Tin tức mới nhất", ORIGIN + "/", site.articles)
    ]
    for slug, sec in site.sections.items():
        if "feed" in sec:
            in_section = [a for a in site.articles if a.section == slug]
            feed_specs.append((sec["feed"], sec["name"], f"{ORIGIN}/{slug}", in_section))
    for feed_path, title, channel, feed_items in feed_specs:
        tracking = feed_path == site.tracking_feed
        text, links = feed(site, title, channel, feed_items, tracking=tracking)
        write(pages.joinpath(*feed_path.strip("/").split("/")), text)
        feeds.append({"url": ORIGIN + feed_path, "title": title, "links": links})

    site_json = {"hosts": HOSTS, "cookie_gate": {"name": GATE_COOKIE, "exempt": ["/robots.txt"]}}
    write(out / "site.json", json.dumps(site_json, ensure_ascii=False, indent=2) + "\n")
    manifest = make_manifest(site, listings, feeds)
    write(out / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    write(out / "PROVENANCE.md", provenance(site, sources))
    return manifest


def make_manifest(
    site: Site, listings: list[dict[str, Any]], feeds: list[dict[str, Any]]
) -> dict[str, Any]:
    articles = []
    for a in site.articles:
        facts = a.facts
        articles.append(
            {
                "url": a.url,
                "article_id": str(a.article_id),
                "section": a.section,
                "subsection": a.subsection,
                "layout": a.layout,
                "source": a.source,
                "source_file": a.source_file,
                "title": fold(a.title),
                "summary": fold(a.summary) if a.summary else None,
                "summary_printed": summary_printed(a),
                "published": a.published.isoformat(),
                "published_raw": printed_date(a.published),
                "image_count": len(facts.images),
                "caption_count": sum(1 for i in facts.images if i.caption),
                "images": [{"url": i.url, "caption": i.caption} for i in facts.images],
                "byline": facts.byline,
                "trailer": facts.trailer,
                "tags": [fold(name) for _, name in a.tags(site.sections)],
            }
        )
    return {
        "site": "qdnd.vn",
        "generated_by": "python -m replicas qdnd",
        "hosts": HOSTS,
        "cookie_gate": GATE_COOKIE,
        "timezone": "+07:00",
        "page_size": PAGE_SIZE,
        "home": ORIGIN + "/",
        "robots_disallow": ROBOTS_DISALLOW,
        "article_count": len(articles),
        "articles": articles,
        "dead_urls": [site.dead.url],
        "tracking_urls": [
            {"url": f"{site.tracking.url}?{site.tracking_query}", "canonical": site.tracking.url}
        ],
        "listings": listings,
        "feeds": feeds,
    }


def provenance(site: Site, sources: Path) -> str:
    digest = hashlib.sha256((sources / ARTICLES_JSON).read_bytes()).hexdigest()
    origin = {
        "fragment": "real body `{f}` (record in `articles.json`), title and summary real",
        "seed": "the seed `{f}`, rebuilt in the old layout; title and summary written",
        "written": "written for the replica (`{f}`)",
    }
    rows = "\n".join(
        f"| `{a.path}` | {a.layout} | {origin[a.source].format(f=a.source_file)} |"
        for a in site.articles
    )
    return f"""# qdnd.vn replica: where every page comes from

Generated by `python -m replicas qdnd` from
`replicas/sources/qdnd.vn/` (see the PROVENANCE.md there); do not edit
the pages by hand. `manifest.json` lists every article with what its page
holds.

## Real material

- 28 article bodies (`div[itemprop="articleBody"]`, layout of 2024 on), with
  their titles and summaries: `articles.json` of `{SOURCE_REPO}` at commit
  `{SOURCE_COMMIT}` (sha256 `{digest}`), split into
  `article_body_fragments/NN.html`. Each body is served byte for byte inside
  `div.post-content`. That crawler deleted every `class` attribute, so the
  bodies carry none; the real pages may. Two records had no summary
  (`No Summary Found`): their pages have no `div.post-summary`.
- The seed article (`seed/000_e17f4e3068c7ab98.txt`, a qdnd.vn article of 2022
  flattened to text): its paragraphs, captions and byline are the seed's lines,
  verbatim, in the order of the seed.
- Site structure as recorded in `SITES.md`: URL patterns, listing markup
  (`div.list-news-category article`, `h3 a`, `p.hidden-xs`), article parts
  (`h1.post-title`, `div.post-summary`, `span.post-subinfo`,
  `div.post-content div[itemprop=articleBody]`, `.post-tag a`), feed paths
  `/rss/cate/quoc-phong-an-ninh-3424.rss`, `/rss/cate/chinh-tri-3429.rss`,
  `{LATEST_FEED}`, the robots.txt rules, and the cookie gate (`{GATE_COOKIE}`).

## Invented

- Every article URL, numeric id, section and subsection placement, and publish
  time (15-16 January 2025 for the real bodies; 2022-2023 for the old-layout
  pages), all in `sources/qdnd.vn/replica.json` and `written.json`.
- The page chrome: header, menus, breadcrumb, "Tin mới", "Tin liên quan" and
  "Đọc nhiều" boxes, footer, meta tags, class names other than those above.
- Summary markup variants (with or without `<p>`, `QĐND - `, one `(QĐND) - `).
- The old layout's markup beyond `table.imgEditor`, `img.imgtelerik`,
  `em > span` captions and `tr.alt_imgEditor`: in particular the editor
  toolbar row, whose real markup is unknown (four variants, each flattening to
  `{TOOLBAR_TOKEN}`), and the seed's image URLs.
- Tags: the body's own `/tag/` links where it has them, else the section's tag
  (tag ids other than `quoc-phong-an-ninh-1588` are invented).
- The seed's title and summary, the six articles of `written.json` (people,
  events and figures invented), listing order and page size ({PAGE_SIZE}),
  feeds' contents, the dead listing link `{site.dead.path}` (404) and the
  tracking parameters on one feed link.

## Pages

| path | layout | source |
| --- | --- | --- |
{rows}
"""


def check(sources: Path, out: Path) -> list[str]:
    """Differences between the committed replica and a fresh build."""
    return build_check(build, sources, out)


def main(argv: list[str] | None = None) -> int:
    return run(build, SITE, SOURCES, OUT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
