"""baohaiquanvietnam.vn: articles written for the replica (``articles.json``) and
``site.json`` (categories, page size, the contribution notice, a dead listing link).

The article page follows the site's public theme template and SITES.md: a breadcrumb
with the publish time as a link, ``h1.title-news-detail-left``, optional subtitles,
``div.que_news`` (an optional ``p.hqol`` prefix, the lead in ``p strong``),
``div.content_news`` with relative image addresses, caption paragraphs under the
images and the author right-aligned; then the contribution notice and share links.
Listings are ``/danh-muc/<slug>`` and ``?page=N`` (files ``<slug>@page=N.html``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

from replicas import skeleton as sk
from replicas.skeleton import attr, esc, fold

SITE = "baohaiquanvietnam.vn"
ORIGIN = "https://baohaiquanvietnam.vn"
HOSTS = ["baohaiquanvietnam.vn", "www.baohaiquanvietnam.vn"]
SITE_NAME = "Báo Hải quân Việt Nam"
THEME = "/themes/default"
WEEKDAYS = ["Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy", "Chủ nhật"]
CENTER = '<p style="text-align: center;">'
# The author line: its markup varies; the last one has no space after the colon.
BYLINES = {
    "strong": '<p style="text-align: right;"><strong>{}</strong></p>',
    "em-strong": '<p style="text-align: right;"><em><strong>{}</strong></em></p>',
    "plain-nospace": '<p style="text-align:right">{}</p>',
}


def caption_text(block: dict[str, Any]) -> str | None:
    """The caption paragraph's text: ``… Ảnh: X`` (forms A and I) or ``… (Ảnh: X)`` (B)."""
    if not block.get("caption"):
        return None
    if block["caption_form"] == "B":
        return f"{block['caption']} (Ảnh: {block['credit']})"
    return f"{block['caption']} Ảnh: {block['credit']}"


@dataclass(kw_only=True)
class Article(sk.Article):
    """An article, or (no ``data``) the dead listing link."""

    category: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        return f"/ban-tin/{sk.slugify(self.title)}-{self.id}.html"

    @property
    def images(self) -> list[dict[str, Any]]:
        return [b for b in self.data.get("body", []) if "img" in b]

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
class Site:
    meta: dict[str, Any]
    articles: list[Article]
    dead: Article

    def listed(self, category: str) -> list[Article]:
        return sk.newest_first(a for a in [*self.articles, self.dead] if a.category == category)


def load_site(sources: Path) -> Site:
    meta = sk.load(sources / "site.json")

    def article(entry: dict[str, Any], **data: Any) -> Article:
        published = sk.local(entry["published"])
        place = {"id": int(entry["id"]), "title": entry["title"], "category": entry["category"]}
        return Article(origin=ORIGIN, published=published, **place, **data)

    articles = sk.newest_first(
        article(a, data=a) for a in sk.load(sources / "articles.json")["articles"]
    )
    sk.unique_ids(articles)
    return Site(meta, articles, article(meta["dead_link"]))


# ----------------------------------------------------------------------------
# Pages


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
    today = sk.local(site.meta["snapshot_day"])
    menu = "\n".join(
        ['<li><a href="/">Trang chủ</a></li>']
        + [
            f'<li><a href="{ORIGIN}/danh-muc/{slug}">{esc(c["name"])}</a></li>'
            for slug, c in site.meta["categories"].items()
        ]
    )
    body = f"""<header id="header">
<div class="container">
<div class="top-header"><span class="date-time">{WEEKDAYS[today.weekday()]}, {today:%d/%m/%Y}</span>
<a href="/tim-kiem">Tìm kiếm</a></div>
<h1 class="logo"><a href="/"><img src="{THEME}/images/logo.png" alt="{SITE_NAME}"></a></h1>
<nav class="navbar">
<ul class="nav navbar-nav">
{menu}
</ul>
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
<script src="{THEME}/js/main.js"></script>"""
    style = f'<link rel="stylesheet" type="text/css" href="{THEME}/style.css" />'
    return sk.document("vi", title, f"{head}\n{style}", body)


def contribution(site: Site) -> str:
    mail = site.meta["contribution_mail"]
    return (
        f'<p class="text-center">{esc(site.meta["contribution"])}'
        f'<a href="mailto:{mail}"><strong>{mail}</strong></a></p>'
    )


def share(article: Article) -> str:
    url, title = attr(article.url), attr(article.title)
    return f"""<div class="social-likes social-likes_visible social-likes_ready" data-url="{url}">
<div class="social-likes__widget social-likes__widget_facebook" title="{title}"><span class="social-likes__button"><a href="https://www.facebook.com/sharer/sharer.php?u={url}">Facebook</a></span></div>
<div class="social-likes__widget social-likes__widget_twitter" title="{title}"><span class="social-likes__button"><a href="https://twitter.com/intent/tweet?url={url}">Twitter</a></span></div>
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
        notice = f"{esc(site.meta['contribution'])}{site.meta['contribution_mail']}"
        parts.append(f"<p><em>{notice}</em></p>")
    elif data["furniture"] == "widget-inside":
        parts.append(f'<div class="messenger_single">{contribution(site)}</div>')
    if data.get("share_inside"):
        parts.append(share(article))
    if data.get("note"):
        parts.append(f"<blockquote>\n<p>{esc(data['note'])}</p>\n</blockquote>")
    return "\n".join(parts)


def article_page(site: Site, article: Article) -> str:
    data = article.data
    headings = f'<h1 class=" title-news-detail-left ">{esc(article.title)}</h1>'
    for key, level in (("subtitle", 2), ("third", 3)):
        if data.get(key):
            headings += f'\n<h{level} class="title-news-detail">{esc(data[key])}</h{level}>'
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
    image = article.image_url(article.images[0]) if article.images else ORIGIN + article.thumbnail
    head = f"""<meta name="description" content="{attr(fold(data["summary"]))}">
<meta property="og:type" content="article">
<meta property="og:title" content="{attr(article.title)}">
<meta property="og:url" content="{attr(article.url)}">
<meta property="og:image" content="{attr(image)}">
<meta property="og:image:width" content="600" />
<meta property="og:image:height" content="400" />
<script>
CNV.categoryActive = '/danh-muc?id=' + {list(site.meta["categories"]).index(article.category) + 31};
</script>"""
    link = f"{ORIGIN}/danh-muc/{article.category}"
    name = esc(site.meta["categories"][article.category]["name"])
    main = f"""<ol class="breadcrumb">
<li><a href="{ORIGIN}">Trang chủ</a></li>
<li>
<a href="{link}">{name}</a>
</li>
<li>
<a href="{link}">{article.published:%d/%m/%Y %H:%M:%S}</a>
</li>
<li>
<span><i class="fa fa-eye" aria-hidden="true"></i> {1000 + int(article.id) % 4000:,} </span>
</li>
<li class="printx">
<a onclick="printpop();"><img width="12" height="12" src="{THEME}/images/printer.png"></a>
</li>
</ol>
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
    title = f"{article.title} - {SITE_NAME}"
    return page(site, title=title, head=head, main=main, sidebar=latest(site, article))


def listing_path(category: str, number: int) -> str:
    return f"/danh-muc/{category}" + (f"?page={number}" if number > 1 else "")


def pagination(category: str, number: int, total: int) -> str:
    """Laravel's paginator: every page number, ``?page=1`` included; nothing on a
    listing of one page, nor after the last page."""
    if total < 2 or number > total:
        return ""
    base = f"{ORIGIN}/danh-muc/{category}"
    items = [
        '<li class="disabled"><span>&laquo;</span></li>'
        if number == 1
        else f'<li><a href="{base}?page={number - 1}" rel="prev">&laquo;</a></li>'
    ]
    items += [
        f'<li class="active"><span>{n}</span></li>'
        if n == number
        else f'<li><a href="{base}?page={n}">{n}</a></li>'
        for n in range(1, total + 1)
    ]
    items.append(
        f'<li><a href="{base}?page={number + 1}" rel="next">&raquo;</a></li>'
        if number < total
        else '<li class="disabled"><span>&raquo;</span></li>'
    )
    return '<ul class="pagination">\n' + "\n".join(items) + "\n</ul>"


def listing_page(site: Site, category: str, number: int, chunks: list[list[Article]]) -> str:
    name = esc(site.meta["categories"][category]["name"])
    items = []
    for i, item in enumerate(chunks[number - 1]):
        href = attr(item.url if i % 2 else item.path)
        summary = esc(item.data["summary"]) if item.data else ""
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
    title = f"{site.meta['categories'][category]['name']} - {SITE_NAME}"
    return page(site, title=title, head=head, main=main, sidebar=latest(site))


def home_page(site: Site) -> str:
    boxes = [
        f'<div class="box-category"><h2><a href="/danh-muc/{slug}">{esc(cat["name"])}</a></h2>\n<ul>\n'
        + sk.links((a for a in site.articles if a.category == slug), href="path")
        + "\n</ul></div>"
        for slug, cat in site.meta["categories"].items()
    ]
    head = f'<link rel="canonical" href="{ORIGIN}">'
    title = f"{SITE_NAME} - Hải quân Online"
    return page(site, title=title, head=head, main="\n".join(boxes), sidebar=latest(site))


# ----------------------------------------------------------------------------
# Build


def build(sources: Path) -> sk.Replica:
    site = load_site(sources)
    b = sk.Build("haiquan", SITE, ORIGIN, HOSTS)
    b.page("/", home_page(site))
    b.page("/robots.txt", sk.robots("/admin", "/print/", "/tim-kiem"))
    for a in site.articles:
        b.page(a.path, article_page(site, a))
    for category in site.meta["categories"]:
        b.listing(
            site.listed(category),
            site.meta["page_size"],
            partial(listing_path, category),
            partial(listing_page, site, category),
            links="links",
            at_least_one=False,
            after_last=True,  # Laravel serves it, with an empty list and no pagination
        )
    account = b.provenance(
        f"`replicas/sources/{SITE}/`",
        [(f"`{a.path}`", f"written (`articles.json`, id {a.id})") for a in site.articles],
        page_size=site.meta["page_size"],
        dead=site.dead.path,
    )
    return b.replica(
        [manifest_entry(a) for a in site.articles],
        account,
        timezone="+07:00",
        page_size=site.meta["page_size"],
        home=ORIGIN + "/",
        dead_urls=[site.dead.url],
        feeds=[],
    )


def manifest_entry(a: Article) -> dict[str, Any]:
    images = [{"url": a.image_url(b), "caption": caption_text(b)} for b in a.images]
    return {
        "url": a.url,
        "article_id": str(a.id),
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
