"""Build the baohaiquanvietnam.vn replica (``crawler/mirror/sites/baohaiquanvietnam.vn``).

Run ``python -m replicas haiquan`` after changing a source or this
script; ``--check`` only reports whether the committed replica is what the
sources build (the tests run it).

Sources (``replicas/sources/baohaiquanvietnam.vn``): ``articles.json``
(the articles, written for the replica) and ``site.json`` (categories, page
size, the contribution notice, a dead listing link).

The article page follows the site's public theme template and SITES.md:
``ol.breadcrumb`` (home, category, the publish time as a link
``dd/mm/yyyy hh:mm:ss``, views, print), ``h1.title-news-detail-left``, an
optional subtitle ``h2.title-news-detail``, ``div.que_news`` (an optional
``p.hqol`` prefix, the lead in ``p strong``), ``div.content_news`` with
relative image addresses, caption paragraphs under the images and the author
right-aligned; then the contribution notice and share links. Listings are
``/danh-muc/<slug>`` and ``?page=N`` (files ``<slug>@page=N.html``).

The manifest is computed from the sources, not from the spider.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

from replicas.skeleton import attr, esc, fold, run, slugify, write
from replicas.skeleton import check as build_check

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SITE = "baohaiquanvietnam.vn"
SOURCES = HERE / "sources" / SITE
OUT = REPO / "crawler" / "mirror" / "sites" / SITE

ORIGIN = "https://baohaiquanvietnam.vn"
HOSTS = ["baohaiquanvietnam.vn", "www.baohaiquanvietnam.vn"]
SITE_NAME = "Báo Hải quân Việt Nam"
TZ = timezone(timedelta(hours=7))
THEME = "/themes/default"
WEEKDAYS = ["Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy", "Chủ nhật"]
ROBOTS_DISALLOW = ["/admin", "/print/", "/tim-kiem"]
CENTER = '<p style="text-align: center;">'
# The author line: its markup varies; the last one has no space after the colon.
BYLINES = {
    "strong": '<p style="text-align: right;"><strong>{}</strong></p>',
    "em-strong": '<p style="text-align: right;"><em><strong>{}</strong></em></p>',
    "plain-nospace": '<p style="text-align:right">{}</p>',
}


def local_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def caption_text(block: dict[str, Any]) -> str | None:
    """The caption paragraph's text: ``… Ảnh: X`` (forms A and I) or ``… (Ảnh: X)`` (B)."""
    if not block.get("caption"):
        return None
    if block["caption_form"] == "B":
        return f"{block['caption']} (Ảnh: {block['credit']})"
    return f"{block['caption']} Ảnh: {block['credit']}"


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
    def category(self) -> str:
        return str(self.data["category"])

    @property
    def path(self) -> str:
        return f"/ban-tin/{slugify(self.title)}-{self.article_id}.html"

    @property
    def url(self) -> str:
        return ORIGIN + self.path

    @property
    def images(self) -> list[dict[str, Any]]:
        return [b for b in self.data["body"] if "img" in b]

    @staticmethod
    def src(block: dict[str, Any]) -> str:
        """As the editor stored it: site-relative, or relative to the page (``../../``)."""
        path = f"storage/users/{block['img']}"
        return f"/{path}" if block["src"] == "root" else f"../../{path}"

    def image_url(self, block: dict[str, Any]) -> str:
        return quote(urljoin(self.url, self.src(block)), safe=":/")

    @property
    def thumbnail(self) -> str:
        return self.src(self.images[0]) if self.images else f"{THEME}/images/no-image.jpg"


@dataclass
class DeadLink:
    article_id: int
    title: str
    published: datetime
    category: str
    thumbnail = f"{THEME}/images/no-image.jpg"

    @property
    def path(self) -> str:
        return f"/ban-tin/{slugify(self.title)}-{self.article_id}.html"

    @property
    def url(self) -> str:
        return ORIGIN + self.path


@dataclass
class Site:
    meta: dict[str, Any]
    articles: list[Article]
    dead: DeadLink

    def listed(self, category: str) -> list[Article | DeadLink]:
        items: list[Article | DeadLink] = [a for a in self.articles if a.category == category]
        if self.dead.category == category:
            items.append(self.dead)
        return sorted(items, key=lambda a: a.published, reverse=True)


def load_site(sources: Path) -> Site:
    meta = json.loads((sources / "site.json").read_text(encoding="utf-8"))
    data = json.loads((sources / "articles.json").read_text(encoding="utf-8"))
    articles = [Article(a, local_time(a["published"])) for a in data["articles"]]
    articles.sort(key=lambda a: a.published, reverse=True)
    if len({a.article_id for a in articles}) != len(articles):
        raise ValueError("duplicate article ids")
    d = meta["dead_link"]
    return Site(
        meta, articles, DeadLink(d["id"], d["title"], local_time(d["published"]), d["category"])
    )


# ----------------------------------------------------------------------------
# Pages


def menu(site: Site) -> str:
    items = ['<li><a href="/">Trang chủ</a></li>'] + [
        f'<li><a href="{ORIGIN}/danh-muc/{slug}">{esc(c["name"])}</a></li>'
        for slug, c in site.meta["categories"].items()
    ]
    return '<ul class="nav navbar-nav">\n' + "\n".join(items) + "\n</ul>"


def latest(site: Site, exclude: Article | None = None) -> str:
    """The sidebar's newest articles: a ``.wrap-news-list`` too, as on the site."""
    items = "\n".join(
        f'<div class="item"><h3 class="title"><a href="{attr(a.url)}" title="{attr(a.title)}">{esc(a.title)}</a></h3></div>'
        for a in [a for a in site.articles if a is not exclude][:5]
    )
    return f"""<div class="block-sidebar block-news-sb">
<div class="block-title"><p class="title">TIN MỚI</p></div>
<div class="block-content"><div class="wrap-news-list">
{items}
</div></div>
</div>"""


def page(site: Site, *, title: str, head: str, main: str, sidebar: str) -> str:
    today = local_time(site.meta["snapshot_day"])
    return f"""<!DOCTYPE html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
{head}
<link rel="stylesheet" type="text/css" href="{THEME}/style.css" />
</head>
<body>
<header id="header">
<div class="container">
<div class="top-header"><span class="date-time">{WEEKDAYS[today.weekday()]}, {today:%d/%m/%Y}</span>
<a href="/tim-kiem">Tìm kiếm</a></div>
<h1 class="logo"><a href="/"><img src="{THEME}/images/logo.png" alt="{SITE_NAME}"></a></h1>
<nav class="navbar">
{menu(site)}
</nav>
</div>
</header>
<section id="include">
<div class="container">
<div class="row">
<div class="col-sm-8">
{main}
</div>
<div class="col-sm-4 navleft destop-pr0 tablet-pr0">
{sidebar}
</div>
</div>
</div>
</section>
<footer id="footer">
<div class="container">
<p><strong>BÁO HẢI QUÂN VIỆT NAM</strong> - Cơ quan của Đảng ủy, Bộ Tư lệnh Quân chủng Hải quân.</p>
<p>Địa chỉ: Số 1 Lê Lợi, Hồng Bàng, Hải Phòng. Email: {site.meta["contribution_mail"]}</p>
</div>
</footer>
<script src="{THEME}/js/main.js"></script>
</body>
</html>
"""


def contribution(site: Site) -> str:
    mail = site.meta["contribution_mail"]
    return (
        f'<p class="text-center">{esc(site.meta["contribution"])}'
        f'<a href="mailto:{mail}"><strong>{mail}</strong></a></p>'
    )


def share(article: Article) -> str:
    url = attr(article.url)
    return f"""<div class="social-likes social-likes_visible social-likes_ready" data-url="{url}">
<div class="social-likes__widget social-likes__widget_facebook" title="{attr(article.title)}"><span class="social-likes__button"><a href="https://www.facebook.com/sharer/sharer.php?u={url}">Facebook</a></span></div>
<div class="social-likes__widget social-likes__widget_twitter" title="{attr(article.title)}"><span class="social-likes__button"><a href="https://twitter.com/intent/tweet?url={url}">Twitter</a></span></div>
</div>"""


def content_html(site: Site, article: Article) -> str:
    """``div.content_news``: paragraphs, images each in a centred paragraph with its
    caption paragraph right under it, the author right-aligned, and where the
    source says so the contribution notice (``inside``: a paragraph;
    ``widget-inside``: the notice's widget) and share links inside it."""
    data = article.data
    parts = []
    for block in data["body"]:
        if "p" in block:
            parts.append(f'<p style="text-align: justify;">{block["p"]}</p>')
            continue
        parts.append(
            f'{CENTER}<img alt="" src="{attr(Article.src(block))}" style="width: 800px; height: 533px;" /></p>'
        )
        text = caption_text(block)
        if text:
            inner = f"<em>{esc(text)}</em>" if block["caption_form"] == "I" else esc(text)
            parts.append(f"{CENTER}{inner}</p>")
    parts.append(BYLINES[data["byline_form"]].format(esc(data["byline"])))
    if data["furniture"] == "inside":
        parts.append(
            f"<p><em>{esc(site.meta['contribution'])}{site.meta['contribution_mail']}</em></p>"
        )
    elif data["furniture"] == "widget-inside":
        parts.append(f'<div class="messenger_single">{contribution(site)}</div>')
    if data.get("share_inside"):
        parts.append(share(article))
    if data.get("note"):
        parts.append(f"<blockquote>\n<p>{esc(data['note'])}</p>\n</blockquote>")
    return "\n".join(parts)


def breadcrumb(site: Site, article: Article, views: int) -> str:
    link = f"{ORIGIN}/danh-muc/{article.category}"
    name = esc(site.meta["categories"][article.category]["name"])
    return f"""<ol class="breadcrumb">
<li><a href="{ORIGIN}">Trang chủ</a></li>
<li>
<a href="{link}">{name}</a>
</li>
<li>
<a href="{link}">{article.published:%d/%m/%Y %H:%M:%S}</a>
</li>
<li>
<span><i class="fa fa-eye" aria-hidden="true"></i> {views:,} </span>
</li>
<li class="printx">
<a onclick="printpop();"><img width="12" height="12" src="{THEME}/images/printer.png"></a>
</li>
</ol>"""


def article_page(site: Site, article: Article) -> str:
    data = article.data
    headings = f'<h1 class=" title-news-detail-left ">{esc(article.title)}</h1>'
    if data.get("subtitle"):
        headings += f'\n<h2 class="title-news-detail">{esc(data["subtitle"])}</h2>'
    if data.get("third"):
        headings += f'\n<h3 class="title-news-detail">{esc(data["third"])}</h3>'
    prefix = f'<p class="hqol">{esc(data["prefix"])} - </p>' if data.get("prefix") else ""
    outside = ""
    if data["furniture"] == "outside":
        outside = f'<div class="messenger_single">\n{contribution(site)}\n</div>\n'
    if not data.get("share_inside"):
        outside += f'<div class="fl">\n<div class="big-like">\n{share(article)}\n</div>\n</div>\n'
    others = [a for a in site.articles if a.category == article.category and a is not article][:4]
    other_items = "\n".join(
        f'<li><a href="{attr(a.url)}">{esc(a.title)}</a> <span class="date">({a.published:%d/%m/%Y})</span></li>'
        for a in others
    )
    head = f"""<meta name="description" content="{attr(fold(data["summary"]))}">
<meta property="og:type" content="article">
<meta property="og:title" content="{attr(article.title)}">
<meta property="og:url" content="{attr(article.url)}">
<meta property="og:image" content="{attr(article.image_url(article.images[0]) if article.images else ORIGIN + article.thumbnail)}">
<meta property="og:image:width" content="600" />
<meta property="og:image:height" content="400" />
<script>
CNV.categoryActive = '/danh-muc?id=' + {list(site.meta["categories"]).index(article.category) + 31};
</script>"""
    main = f"""{breadcrumb(site, article, 1000 + article.article_id % 4000)}
{headings}
<div class="que_news">
{prefix}<p><strong>{esc(data["summary"])}</strong></p>
</div>
<div class="content_news">
{content_html(site, article)}
</div>
<div class="clearfix"></div>
{outside}<div class="clearfix"></div>
<div class="other-news">
<h3 class="title-other">Tin khác</h3>
<ul class="list-other">
{other_items}
</ul>
</div>"""
    return page(
        site,
        title=f"{article.title} - {SITE_NAME}",
        head=head,
        main=main,
        sidebar=latest(site, article),
    )


def listing_path(category: str, number: int) -> str:
    return f"/danh-muc/{category}" + (f"?page={number}" if number > 1 else "")


def pagination(category: str, number: int, total: int) -> str:
    """Laravel's paginator: every page number, ``?page=1`` included; nothing on a
    listing of one page, nor after the last page."""
    if total < 2 or number > total:
        return ""
    base = f"{ORIGIN}/danh-muc/{category}"
    prev = (
        '<li class="disabled"><span>&laquo;</span></li>'
        if number == 1
        else f'<li><a href="{base}?page={number - 1}" rel="prev">&laquo;</a></li>'
    )
    items = [prev]
    for n in range(1, total + 1):
        if n == number:
            items.append(f'<li class="active"><span>{n}</span></li>')
        else:
            items.append(f'<li><a href="{base}?page={n}">{n}</a></li>')
    items.append(
        f'<li><a href="{base}?page={number + 1}" rel="next">&raquo;</a></li>'
        if number < total
        else '<li class="disabled"><span>&raquo;</span></li>'
    )
    return '<ul class="pagination">\n' + "\n".join(items) + "\n</ul>"


def listing_page(
    site: Site, category: str, number: int, chunks: list[list[Article | DeadLink]]
) -> str:
    name = esc(site.meta["categories"][category]["name"])
    items = []
    for i, item in enumerate(chunks[number - 1]):
        href = attr(item.url if i % 2 else item.path)
        summary = esc(item.data["summary"]) if isinstance(item, Article) else ""
        items.append(
            f"""<div class="item">
<a class="image" href="{href}" title="{attr(item.title)}"><img src="{attr(item.thumbnail)}" alt="{attr(item.title)}"></a>
<div class="des">
<h3 class="title"><a href="{href}" title="{attr(item.title)}">{esc(item.title)}</a></h3>
<p class="date">{item.published:%d/%m/%Y}</p>
<p class="info">{summary}</p>
<a class="cate" href="/danh-muc/{category}">{name}</a>
</div>
</div>"""
        )
    main = f"""<ol class="breadcrumb">
<li><a href="{ORIGIN}">Trang chủ</a></li>
<li><a href="{ORIGIN}/danh-muc/{category}">{name}</a></li>
</ol>
<h2 class="title-category">{name}</h2>
<div class="wrap-news-list">
{chr(10).join(items)}
</div>
{pagination(category, number, len([c for c in chunks if c]))}"""
    head = f'<link rel="canonical" href="{ORIGIN}{listing_path(category, number)}">'
    return page(
        site,
        title=f"{site.meta['categories'][category]['name']} - {SITE_NAME}",
        head=head,
        main=main,
        sidebar=latest(site),
    )


def home_page(site: Site) -> str:
    boxes = []
    for slug, cat in site.meta["categories"].items():
        lines = "\n".join(
            f'<li><a href="{attr(a.path)}">{esc(a.title)}</a></li>'
            for a in site.articles
            if a.category == slug
        )
        boxes.append(
            f'<div class="box-category"><h2><a href="/danh-muc/{slug}">{esc(cat["name"])}</a></h2>\n<ul>\n{lines}\n</ul></div>'
        )
    head = f'<link rel="canonical" href="{ORIGIN}">'
    return page(
        site,
        title=f"{SITE_NAME} - Hải quân Online",
        head=head,
        main="\n".join(boxes),
        sidebar=latest(site),
    )


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
    for category in site.meta["categories"]:
        items = site.listed(category)
        chunks = [items[i : i + size] for i in range(0, len(items), size)]
        for number in range(1, len(chunks) + 1):
            name = category + (f"@page={number}" if number > 1 else "")
            write(pages / "danh-muc" / f"{name}.html", listing_page(site, category, number, chunks))
            listings.append(
                {
                    "url": ORIGIN + listing_path(category, number),
                    "page": number,
                    "pages": len(chunks),
                    "links": [item.url for item in chunks[number - 1]],
                }
            )
        # The page after the last: Laravel serves it, with an empty list and no pagination.
        after = len(chunks) + 1
        write(
            pages / "danh-muc" / f"{category}@page={after}.html",
            listing_page(site, category, after, [*chunks, []]),
        )
        listings.append(
            {
                "url": ORIGIN + listing_path(category, after),
                "page": after,
                "pages": len(chunks),
                "links": [],
            }
        )
    write(out / "site.json", json.dumps({"hosts": HOSTS}, indent=2) + "\n")
    manifest = make_manifest(site, listings)
    write(out / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    write(out / "PROVENANCE.md", provenance(site))
    return manifest


def make_manifest(site: Site, listings: list[dict[str, Any]]) -> dict[str, Any]:
    articles = []
    for a in site.articles:
        images = [{"url": a.image_url(b), "caption": caption_text(b)} for b in a.images]
        articles.append(
            {
                "url": a.url,
                "article_id": str(a.article_id),
                "section": a.category,
                "title": fold(a.title),
                "subtitle": a.data.get("subtitle"),
                "summary": fold(a.data["summary"]),
                "published": a.published.isoformat(),
                "published_raw": f"{a.published:%d/%m/%Y %H:%M:%S}",
                "image_count": len(images),
                "caption_count": sum(1 for i in images if i["caption"]),
                "images": images,
                "byline": fold(a.data["byline"]),
                "furniture": a.data["furniture"],
                "language": "vi",
            }
        )
    return {
        "site": "baohaiquanvietnam.vn",
        "generated_by": "python -m replicas haiquan",
        "hosts": HOSTS,
        "timezone": "+07:00",
        "page_size": site.meta["page_size"],
        "home": ORIGIN + "/",
        "article_count": len(articles),
        "articles": articles,
        "dead_urls": [site.dead.url],
        "listings": listings,
        "feeds": [],
    }


def provenance(site: Site) -> str:
    rows = "\n".join(
        f"| `{a.path}` | written (`articles.json`, id {a.article_id}) |" for a in site.articles
    )
    return f"""# baohaiquanvietnam.vn replica: where every page comes from

Generated by `python -m replicas haiquan` from
`replicas/sources/baohaiquanvietnam.vn/`; do not edit the pages by hand.
`manifest.json` lists every article with what its page holds.

## Real (from ../shared/SITES.md and public references)

- URL shapes: articles `/ban-tin/<slug>-<id>.html`, listings
  `/danh-muc/<slug>?page=N` with items under `.wrap-news-list`.
- The article template of the site's public theme (Laravel Blade views seen in
  public code): `ol.breadcrumb` with the publish time as a link
  (`format('d/m/Y H:i:s')`), a view count and a print button;
  `h1.title-news-detail-left` (class written with spaces around it), optional
  `h2`/`h3.title-news-detail`; `div.que_news` with an optional
  `p.hqol` prefix (`<prefix> - `); `div.content_news`; then
  `div.messenger_single` (the contribution widget) and the `social-likes` share
  block; the sidebar's `.wrap-news-list` blocks; `CNV.categoryActive`.
- Lead in `div.que_news p strong`; images with relative `src` under
  `/storage/users/user_N/…` (spaces in folder names, as in real addresses);
  captions as paragraphs containing `Ảnh:`; the author in
  `p[style*='text-align: right']`; the notice `Bài viết, video, hình ảnh đóng
  góp cho chuyên mục vui lòng gửi về …` and the address `bhqdt@baohaiquanvietnam.vn`.
- Laravel's paginator markup (`ul.pagination`, `?page=N`, `rel="next"`).

## Invented

- Every article (people, units, events, figures), its id, URL, publish time
  (11-18 July 2025), category, subtitle, prefix (`HQO`), view count; image names.
- Category slugs (`tin-tuc`, `bien-dao-que-huong`, `hai-quan-the-gioi`), page
  size ({site.meta["page_size"]}), listing item markup inside `.wrap-news-list`.
- Variants: caption as `… Ảnh: NAME`, `… (Ảnh: NAME)` and in `<em>`; image
  `src` as `/storage/…` and `../../storage/…`; the author line in `<strong>`,
  `<em><strong>` and plain with `text-align:right` (no space); the notice
  outside the content (as the template), as a paragraph inside it, or its
  widget inside it; share links inside the content; a `blockquote` note.
- The page chrome beyond the template (header, clock, menu, footer, "Tin khác"),
  robots.txt rules, the dead listing link `{site.dead.path}` (404).
- No feed: none is known for the site.

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
