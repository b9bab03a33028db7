"""Build the bienphong.com.vn replica (``crawler/mirror/sites/bienphong.com.vn``).

Run ``python -m replicas bienphong`` after changing a source or
this script; ``--check`` only reports whether the committed replica is what the
sources build (the tests run it).

Sources (``replicas/sources/bienphong.com.vn``): ``articles.json`` (the
articles, written for the replica; inline markup in titles, leads, paragraphs
and captions is kept as written, so the glued-words trap is in the source) and
``site.json`` (categories, tags, listings, feeds, the dead and video links).

The page structure follows SITES.md: articles at ``/<slug>-post<id>.html``
(``h1.bp-detail-content-title-h1``, ``p.bp-detail-sapo``, ``span.bp-date-time``,
``div.bp-detail-text-content``, images on ``files.bienphong.com.vn/bbpmedia``),
tag pages ``/tag/<slug>-<id>.html`` and feeds ``/rss/<category>.rss``. The tag
pages' further pages are not known; the replica links them as
``/tag/<slug>-<id>/trang-<N>.html`` from a ``div.bp-pagination`` block.

The manifest is computed from the sources (title and lead as their markup
reads, image and caption counts, byline as printed), not from the spider.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import lxml.html

from replicas.skeleton import attr, esc, fold, run, slugify, write
from replicas.skeleton import check as build_check

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SITE = "bienphong.com.vn"
SOURCES = HERE / "sources" / SITE
OUT = REPO / "crawler" / "mirror" / "sites" / SITE

ORIGIN = "https://www.bienphong.com.vn"
MEDIA = "https://files.bienphong.com.vn/bbpmedia/media/730"
HOSTS = ["www.bienphong.com.vn", "bienphong.com.vn"]
SITE_NAME = "Báo Biên phòng"
TZ = timezone(timedelta(hours=7))
NO_IMAGE = "/images/no-image.png"
WEEKDAYS = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"]
ROBOTS_DISALLOW = ["/admin/", "/tim-kiem/", "/preview/"]
BYLINE_P = '<p style="text-align: right;"><strong>{}</strong></p>'


def text_of_html(fragment: str) -> str:
    """The text a fragment of inline markup reads as (white space folded)."""
    return fold(lxml.html.fragment_fromstring(f"<div>{fragment}</div>").text_content())


def local_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def printed_date(moment: datetime) -> str:
    """``Thứ Sáu, 18/07/2025 | 09:20``: the date line of an article page."""
    return f"{WEEKDAYS[moment.weekday()]}, {moment:%d/%m/%Y | %H:%M}"


def media_url(name: str, moment: datetime) -> str:
    """An image on the media host, named like the site's uploads (``86480452pm_x.jpg``)."""
    digits = int(hashlib.sha256(name.encode()).hexdigest(), 16) % 10**8
    half = "pm" if moment.hour >= 12 else "am"
    return f"{MEDIA}/{moment.year}/{moment.month}/{moment.day}/{digits:08d}{half}_{name}"


@dataclass
class Article:
    data: dict[str, Any]
    published: datetime

    @property
    def article_id(self) -> int:
        return int(self.data["id"])

    @property
    def title(self) -> str:
        return str(self.data["title"])

    @property
    def title_html(self) -> str:
        return str(self.data.get("title_html") or esc(self.title))

    @property
    def sapo_html(self) -> str:
        return str(self.data.get("sapo_html") or esc(self.data["sapo"]))

    @property
    def path(self) -> str:
        return f"/{slugify(self.title)}-post{self.article_id}.html"

    @property
    def url(self) -> str:
        return ORIGIN + self.path

    @property
    def images(self) -> list[dict[str, Any]]:
        return [b for b in self.data["body"] if "img" in b]

    def image_url(self, block: dict[str, Any]) -> str:
        return media_url(block["img"], self.published)

    @property
    def thumbnail(self) -> str:
        return self.image_url(self.images[0]) if self.images else NO_IMAGE


@dataclass
class Link:
    """A listing item that is not an archived article: a dead page or a video."""

    article_id: int
    title: str
    published: datetime
    prefix: str = ""

    @property
    def path(self) -> str:
        return f"{self.prefix}/{slugify(self.title)}-post{self.article_id}.html"

    @property
    def url(self) -> str:
        return ORIGIN + self.path

    @property
    def title_html(self) -> str:
        return esc(self.title)

    thumbnail = NO_IMAGE


@dataclass
class Site:
    meta: dict[str, Any]
    articles: list[Article]
    dead: Link
    video: Link

    def tag_name(self, slug: str) -> str:
        return str(self.meta["tags"][slug]["name"])

    def tag_path(self, slug: str, number: int = 1) -> str:
        base = f"/tag/{slug}-{self.meta['tags'][slug]['id']}"
        return f"{base}.html" if number == 1 else f"{base}/trang-{number}.html"

    def listed(self, tag: str) -> list[Article | Link]:
        items: list[Article | Link] = [a for a in self.articles if tag in a.data["tags"]]
        items += [
            x
            for x, key in ((self.dead, "dead_link"), (self.video, "video_link"))
            if self.meta[key]["tag"] == tag
        ]
        return sorted(items, key=lambda a: a.published, reverse=True)


def load_site(sources: Path) -> Site:
    meta = json.loads((sources / "site.json").read_text(encoding="utf-8"))
    data = json.loads((sources / "articles.json").read_text(encoding="utf-8"))
    articles = [Article(a, local_time(a["published"])) for a in data["articles"]]
    articles.sort(key=lambda a: a.published, reverse=True)
    for a in articles:
        if text_of_html(a.title_html) != fold(a.title):
            raise ValueError(f"title markup of {a.article_id} does not read as its title")
        if text_of_html(a.sapo_html) != fold(a.data["sapo"]):
            raise ValueError(f"lead markup of {a.article_id} does not read as its lead")
    if len({a.article_id for a in articles}) != len(articles):
        raise ValueError("duplicate article ids")

    def link(key: str, prefix: str = "") -> Link:
        d = meta[key]
        return Link(d["id"], d["title"], local_time(d["published"]), prefix)

    return Site(meta, articles, link("dead_link"), link("video_link", "/videos"))


# ----------------------------------------------------------------------------
# Pages


def menu(site: Site) -> str:
    items = ['<li><a href="/">Trang chủ</a></li>'] + [
        f'<li><a href="/{slug}/">{esc(c["name"])}</a></li>'
        for slug, c in site.meta["categories"].items()
    ]
    return '<ul class="bp-menu">\n' + "\n".join(items) + "\n</ul>"


def page(site: Site, *, title: str, head: str, main: str, sidebar: str) -> str:
    today = local_time(site.meta["snapshot_day"])
    return f"""<!DOCTYPE html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
{head}
<link rel="stylesheet" href="/css/bp-main.css">
</head>
<body>
<div class="bp-header">
<div class="bp-top"><span class="bp-clock">{WEEKDAYS[today.weekday()]}, {today:%d/%m/%Y}</span>
<a class="bp-top-link" href="/rss/thoi-su.rss">RSS</a> <a class="bp-top-link" href="/tim-kiem/">Tìm kiếm</a></div>
<div class="bp-logo"><a href="/"><img src="/images/logo-bbp.png" alt="{SITE_NAME}"></a></div>
{menu(site)}
</div>
<div class="bp-container">
<div class="bp-main">
{main}
</div>
<div class="bp-sidebar">
{sidebar}
</div>
</div>
<div class="bp-footer">
<p><strong>BÁO BIÊN PHÒNG</strong> - Cơ quan của Đảng ủy, Bộ Tư lệnh Bộ đội Biên phòng, \
diễn đàn của Bộ đội Biên phòng và nhân dân khu vực biên giới.</p>
<p>Tòa soạn: Số 40A Hàng Bài, Hoàn Kiếm, Hà Nội.</p>
<p>Ghi rõ nguồn “Báo Biên phòng” khi phát hành lại thông tin từ website này.</p>
</div>
</body>
</html>
"""


def most_read(site: Site, exclude: Article | None = None) -> str:
    items = [a for a in site.articles if a is not exclude][:5]
    lines = "\n".join(f'<li><a href="{attr(a.url)}">{esc(a.title)}</a></li>' for a in items)
    return f'<div class="bp-box-most-read">\n<h3 class="bp-box-title">Đọc nhiều</h3>\n<ul>\n{lines}\n</ul>\n</div>'


def image_html(article: Article, block: dict[str, Any]) -> str:
    src = attr(article.image_url(block))
    alt = attr(text_of_html(block["caption"])) if block.get("caption") else ""
    caption = block.get("caption")
    if block["form"] == "table":
        row = f'\n<tr><td class="image_desc">{caption}</td></tr>' if caption else ""
        return (
            '<table class="image" align="center"><tbody>\n'
            f'<tr><td><img src="{src}" alt="{alt}"></td></tr>{row}\n</tbody></table>'
        )
    figcaption = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f'<figure class="image"><img src="{src}" alt="{alt}">{figcaption}</figure>'


def body_html(site: Site, article: Article) -> str:
    """The text content: paragraphs (``<div>``s where the source says so), images,
    an inline related-news box after the second paragraph of longer articles, and the
    byline as the last, right-aligned paragraph. ``joined`` puts no white space at all
    between the blocks."""
    tag = "div" if article.data.get("divs") else "p"
    parts = []
    paragraphs = 0
    for block in article.data["body"]:
        if "img" in block:
            parts.append(image_html(article, block))
            continue
        parts.append(f"<{tag}>{block['p']}</{tag}>")
        paragraphs += 1
        if paragraphs == 2 and sum("p" in b for b in article.data["body"]) >= 4:
            other = next(a for a in site.articles if a is not article)
            parts.append(
                '<div class="bp-detail-relate"><span>Tin liên quan:</span> '
                f'<a href="{attr(other.url)}">{esc(other.title)}</a></div>'
            )
    if article.data.get("byline"):
        parts.append(BYLINE_P.format(esc(article.data["byline"])))
    return ("" if article.data.get("joined") else "\n").join(parts)


def article_page(site: Site, article: Article) -> str:
    category = article.data["category"]
    cat_name = site.meta["categories"][category]["name"]
    tags = " ".join(
        f'<a href="{site.tag_path(slug)}">{esc(site.tag_name(slug))}</a>'
        for slug in article.data["tags"]
    )
    related = [a for a in site.articles if a.data["category"] == category and a is not article][:3]
    related_items = "\n".join(
        f'<li><a href="{attr(a.url)}">{a.title_html}</a></li>' for a in related
    )
    sapo_text = fold(article.data["sapo"])
    head = f"""<meta name="description" content="{attr(sapo_text)}">
<meta property="og:type" content="article">
<meta property="og:site_name" content="{SITE_NAME}">
<meta property="og:title" content="{attr(article.title)}">
<meta property="og:url" content="{attr(article.url)}">
<meta property="og:image" content="{attr(article.thumbnail)}">
<meta property="article:published_time" content="{article.published.isoformat()}">
<link rel="canonical" href="{attr(article.url)}">"""
    main = f"""<div class="bp-detail">
<div class="bp-breadcrumb"><a href="/">Trang chủ</a> <a href="/{category}/">{esc(cat_name)}</a></div>
<div class="bp-detail-content">
<h1 class="bp-detail-content-title-h1">{article.title_html}</h1>
<div class="bp-detail-meta"><span class="bp-date-time">{printed_date(article.published)}</span>
<span class="bp-detail-share"><a href="https://www.facebook.com/sharer/sharer.php?u={attr(article.url)}">Facebook</a> <a href="https://zalo.me/share?u={attr(article.url)}">Zalo</a></span></div>
<p class="bp-detail-sapo">{esc(article.data["sapo_prefix"])}{article.sapo_html}</p>
<div class="bp-detail-text-content">
{body_html(site, article)}
</div>
<div class="bp-detail-tags"><span class="bp-tag-label">Từ khóa:</span> {tags}</div>
</div>
<div class="bp-related">
<h3 class="bp-box-title">Tin cùng chuyên mục</h3>
<ul>
{related_items}
</ul>
</div>
</div>"""
    return page(
        site,
        title=f"{article.title} | {SITE_NAME}",
        head=head,
        main=main,
        sidebar=most_read(site, article),
    )


def pagination(site: Site, tag: str, number: int, total: int) -> str:
    if total < 2:
        return ""
    items = []
    for n in range(1, total + 1):
        if n == number:
            items.append(f'<span class="bp-page active">{n}</span>')
        else:
            items.append(f'<a class="bp-page" href="{site.tag_path(tag, n)}">{n}</a>')
    if number < total:
        items.append(
            f'<a class="bp-page bp-next" href="{ORIGIN}{site.tag_path(tag, number + 1)}">›</a>'
        )
    return '<div class="bp-pagination">\n' + "\n".join(items) + "\n</div>"


def tag_page(site: Site, tag: str, number: int, chunks: list[list[Article | Link]]) -> str:
    items = []
    for i, item in enumerate(chunks[number - 1]):
        href = attr(item.url if i % 2 == 0 else item.path)  # absolute and relative, like the site
        sapo = (
            f'\n<p class="bp-list-sapo">{esc(item.data["sapo"])}</p>'
            if isinstance(item, Article)
            else ""
        )
        items.append(
            f"""<div class="bp-list-item">
<a class="bp-list-thumb" href="{href}"><img src="{attr(item.thumbnail)}" alt=""></a>
<h3 class="bp-list-title"><a href="{href}">{item.title_html}</a></h3>
<span class="bp-list-time">{item.published:%d/%m/%Y}</span>{sapo}
</div>"""
        )
    main = f"""<div class="bp-breadcrumb"><a href="/">Trang chủ</a> <span>Tag</span></div>
<h1 class="bp-tag-title">{esc(site.tag_name(tag))}</h1>
<div class="bp-list-news">
{chr(10).join(items)}
</div>
{pagination(site, tag, number, len(chunks))}"""
    title = f"{site.tag_name(tag)} | {SITE_NAME}" + (f" - Trang {number}" if number > 1 else "")
    head = f'<link rel="canonical" href="{ORIGIN}{site.tag_path(tag, number)}">'
    return page(site, title=title, head=head, main=main, sidebar=most_read(site))


def home_page(site: Site) -> str:
    top = "\n".join(
        f'<div class="bp-home-item"><a href="{attr(a.url)}"><img src="{attr(a.thumbnail)}" alt=""></a>'
        f'<h2><a href="{attr(a.path)}">{a.title_html}</a></h2></div>'
        for a in site.articles[:5]
    )
    boxes = []
    for slug, cat in site.meta["categories"].items():
        lines = "\n".join(
            f'<li><a href="{attr(a.url)}">{esc(a.title)}</a></li>'
            for a in site.articles
            if a.data["category"] == slug
        )
        boxes.append(
            f'<div class="bp-home-cate"><h2><a href="/{slug}/">{esc(cat["name"])}</a></h2>\n<ul>\n{lines}\n</ul></div>'
        )
    main = '<div class="bp-home-top">\n' + top + "\n</div>\n" + "\n".join(boxes)
    head = f'<link rel="canonical" href="{ORIGIN}/">'
    return page(
        site,
        title=f"{SITE_NAME} - Tin tức biên giới, biển đảo",
        head=head,
        main=main,
        sidebar=most_read(site),
    )


def feed(site: Site, category: str) -> tuple[str, list[str]]:
    cat = site.meta["categories"][category]
    items = [a for a in site.articles if a.data["category"] == category][: site.meta["feed_limit"]]
    tracking = site.meta["tracking"]
    entries, links = [], []
    for a in items:
        url = a.url + (f"?{tracking['query']}" if a.article_id == tracking["article"] else "")
        links.append(url)
        entries.append(
            f"""<item>
<title>{esc(a.title)}</title>
<link>{esc(url)}</link>
<description><![CDATA[<a href="{attr(a.url)}"><img src="{attr(a.thumbnail)}"></a>{esc(a.data["sapo"])}]]></description>
<pubDate>{format_datetime(a.published)}</pubDate>
<guid isPermaLink="false">{a.article_id}</guid>
</item>"""
        )
    text = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
<channel>
<title>{esc(cat["name"])} - {SITE_NAME}</title>
<link>{ORIGIN}/{category}/</link>
<description>{esc(cat["name"])} - {SITE_NAME}</description>
<language>vi</language>
<lastBuildDate>{format_datetime(items[0].published)}</lastBuildDate>
{chr(10).join(entries)}
</channel>
</rss>
"""
    return text, links


# ----------------------------------------------------------------------------
# Build


def build(sources: Path, out: Path) -> dict[str, Any]:
    """Write the replica into ``out``; return the manifest."""
    site = load_site(sources)
    pages = out / "pages"
    if pages.exists():
        shutil.rmtree(pages)
    write(pages / "index.html", home_page(site))
    write(
        pages / "robots.txt",
        "User-agent: *\n" + "".join(f"Disallow: {p}\n" for p in ROBOTS_DISALLOW),
    )
    for article in site.articles:
        write(pages / article.path.lstrip("/"), article_page(site, article))
    listings = []
    size = site.meta["page_size"]
    for tag in site.meta["listings"]:
        items = site.listed(tag)
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        for number in range(1, len(chunks) + 1):
            path = site.tag_path(tag, number)
            write(pages / path.lstrip("/"), tag_page(site, tag, number, chunks))
            listings.append(
                {
                    "url": ORIGIN + path,
                    "tag": tag,
                    "page": number,
                    "pages": len(chunks),
                    "links": [item.url for item in chunks[number - 1]],
                }
            )
    feeds = []
    for category, cat in site.meta["categories"].items():
        text, links = feed(site, category)
        write(pages / cat["feed"].lstrip("/"), text)
        feeds.append({"url": ORIGIN + cat["feed"], "links": links})
    write(out / "site.json", json.dumps({"hosts": HOSTS}, indent=2) + "\n")
    manifest = make_manifest(site, listings, feeds)
    write(out / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    write(out / "PROVENANCE.md", provenance(site))
    return manifest


def make_manifest(
    site: Site, listings: list[dict[str, Any]], feeds: list[dict[str, Any]]
) -> dict[str, Any]:
    articles = []
    for a in site.articles:
        images = [
            {
                "url": a.image_url(b),
                "caption": text_of_html(b["caption"]) if b.get("caption") else None,
            }
            for b in a.images
        ]
        articles.append(
            {
                "url": a.url,
                "article_id": str(a.article_id),
                "section": a.data["category"],
                "title": fold(a.title),
                "summary": fold(a.data["sapo"]),
                "summary_printed": fold(a.data["sapo_prefix"] + a.data["sapo"]),
                "published": a.published.isoformat(),
                "published_raw": printed_date(a.published),
                "image_count": len(images),
                "caption_count": sum(1 for i in images if i["caption"]),
                "images": images,
                "byline": a.data.get("byline"),
                "tags": [site.tag_name(t) for t in a.data["tags"]],
                "language": "vi",
            }
        )
    return {
        "site": "bienphong.com.vn",
        "generated_by": "python -m replicas bienphong",
        "hosts": HOSTS,
        "timezone": "+07:00",
        "page_size": site.meta["page_size"],
        "home": ORIGIN + "/",
        "article_count": len(articles),
        "articles": articles,
        "dead_urls": [site.dead.url],
        "not_articles": [site.video.url],
        "tracking_urls": [
            {"url": f"{a.url}?{site.meta['tracking']['query']}", "canonical": a.url}
            for a in site.articles
            if a.article_id == site.meta["tracking"]["article"]
        ],
        "listings": listings,
        "feeds": feeds,
    }


def provenance(site: Site) -> str:
    rows = "\n".join(
        f"| `{a.path}` | written (`articles.json`, id {a.article_id}) |" for a in site.articles
    )
    return f"""# bienphong.com.vn replica: where every page comes from

Generated by `python -m replicas bienphong` from
`replicas/sources/bienphong.com.vn/`; do not edit the pages by hand.
`manifest.json` lists every article with what its page holds.

## Real (from ../shared/SITES.md and public references)

- URL shapes: articles `/<slug>-post<id>.html`, tag pages `/tag/<slug>-<id>.html`,
  feeds `/rss/<category>.rss` (`/rss/kinh-te.rss` is a feed address seen in a
  public feed list; the other three follow its pattern).
- Article selectors, from an older public scraper: `h1.bp-detail-content-title-h1`,
  `p.bp-detail-sapo`, `span.bp-date-time`, `div.bp-detail-text-content`.
- Images on `files.bienphong.com.vn/bbpmedia/media/730/<y>/<m>/<d>/<8 digits><am|pm>_<name>.jpg`
  (the form of real image addresses seen in public code).
- Words glued on scraped tag pages (`Biênphòng`, `HàGiang`): the replica has
  inline elements separated only by white space, words split over
  `<span>`/`<a>`/`<strong>`/`<em>`, blocks with no white space between them
  (`joined`), paragraphs as adjacent `<div>`s (`divs`).
- `(BP) - ` and `BP - ` opening the lead.

## Invented

- Every article (people, units, events, figures), its id, URL, publish time
  (11-18 July 2025), category and tags; tag ids; image names.
- The page chrome: header with clock, menu, breadcrumb, share links, tag box,
  "Tin cùng chuyên mục", "Đọc nhiều", the inline "Tin liên quan" box inside the
  text of longer articles, footer, class names other than the four above.
- The date line form (`Thứ Sáu, 18/07/2025 | 09:20`), the byline as a
  right-aligned bold last paragraph, figure/figcaption and `table.image` image markup.
- Tag page markup (`div.bp-list-news`, `h3.bp-list-title a`), page size
  ({site.meta["page_size"]}), and the further pages' addresses
  `/tag/<slug>-<id>/trang-<N>.html` linked from `div.bp-pagination`: the real
  form is not known, so the spider follows whatever link that block gives to
  the next page.
- Feed contents (newest {site.meta["feed_limit"]} per category), the tracking
  parameters on one feed link, a dead listing link (`{site.dead.path}`, 404)
  and a video item (`{site.video.path}`) that is not an article page.

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
