"""baohaiquanvietnam.vn: articles written for the replica (``articles.json``) and
``site.json`` (categories, page size, the contribution notice, a dead listing link), in
the markup of the site's public theme (``sources/baohaiquanvietnam.vn/replica.md``).
Listings are ``/danh-muc/<slug>`` and ``?page=N`` (files ``<slug>@page=N.html``).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

from replicas import skeleton as sk
from replicas.skeleton import attr, esc, fold

SITE = "baohaiquanvietnam.vn"
ORIGIN = "https://baohaiquanvietnam.vn"
HOSTS = ["baohaiquanvietnam.vn", "www.baohaiquanvietnam.vn"]
html = sk.Templates(SITE)


def caption_text(block: dict[str, Any]) -> str | None:
    """The caption paragraph's text: ``… Ảnh: X`` (forms A and I) or ``… (Ảnh: X)`` (B)."""
    if not block.get("caption"):
        return None
    if block["caption_form"] == "B":
        return f"{block['caption']} (Ảnh: {block['credit']})"
    return f"{block['caption']} Ảnh: {block['credit']}"


class Article(sk.Article):
    """An article, or (its ``data`` no more than its place) the dead listing link."""

    @property
    def category(self) -> str:
        return str(self.data["category"])

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
        return self.src(self.images[0]) if self.images else "/themes/default/images/no-image.jpg"


Site = sk.Site[Article]


def load_site(sources: Path) -> Site:
    articles = [Article.of(a, ORIGIN) for a in sk.load(sources / "articles.json")["articles"]]
    meta = sk.load(sources / "site.json")
    return Site(meta, articles, Article.of(meta["dead_link"], ORIGIN))


def page(site: Site, kind: str, *, exclude: Article | None = None, **fields: object) -> str:
    """A page of ``kind`` in the chrome of every page, with the newest articles (but
    ``exclude``) in the sidebar."""
    categories = site.meta["categories"].items()
    menu = sk.menu((ORIGIN + listing_path(slug), c["name"]) for slug, c in categories)
    return html.page(
        kind,
        **fields,
        today=sk.printed(sk.local(site.meta["snapshot_day"]), "{weekday_lower}, %d/%m/%Y"),
        menu=menu,
        latest=html.each("latest-item", [a for a in site.articles if a is not exclude][:5]),
        mail=site.meta["contribution_mail"],
    )


def contribution(site: Site) -> str:
    mail = site.meta["contribution_mail"]
    return html("contribution", notice=esc(site.meta["contribution"]), mail=mail)


def content_html(site: Site, article: Article) -> str:
    """``div.content_news``: paragraphs, images each in a centred paragraph with its
    caption paragraph right under it, the author right-aligned (``byline-*.html``), and
    where the source says so the contribution notice (``inside``: a paragraph;
    ``widget-inside``: the notice's widget) and share links inside it."""
    data = article.data
    parts = []
    for block in data["body"]:
        if "p" in block:
            parts.append(f'<p style="text-align: justify;">{block["p"]}</p>')
            continue
        parts.append(html("image", src=attr(Article.src(block))))
        text = caption_text(block)
        if text:
            inner = f"<em>{esc(text)}</em>" if block["caption_form"] == "I" else esc(text)
            parts.append(f'<p style="text-align: center;">{inner}</p>')
    parts.append(html(f"byline-{data['byline_form']}", byline=esc(data["byline"])))
    if data["furniture"] == "inside":
        notice = f"{esc(site.meta['contribution'])}{site.meta['contribution_mail']}"
        parts.append(f"<p><em>{notice}</em></p>")
    elif data["furniture"] == "widget-inside":
        parts.append(f'<div class="messenger_single">{contribution(site)}</div>')
    if data.get("share_inside"):
        parts.append(html("share", **article.fields()))
    if data.get("note"):
        parts.append(f"<blockquote>\n<p>{esc(data['note'])}</p>\n</blockquote>")
    return "\n".join(parts)


def article_page(site: Site, article: Article) -> str:
    data = article.data
    headings = f'<h1 class=" title-news-detail-left ">{esc(article.title)}</h1>'
    for key, level in (("subtitle", 2), ("third", 3)):
        if data.get(key):
            headings += f'\n<h{level} class="title-news-detail">{esc(data[key])}</h{level}>'
    outside = ""
    if data["furniture"] == "outside":
        outside = f'<div class="messenger_single">\n{contribution(site)}\n</div>\n'
    if not data.get("share_inside"):
        share = html("share", **article.fields())
        outside += f'<div class="fl">\n<div class="big-like">\n{share}\n</div>\n</div>\n'
    others = [a for a in site.articles if a.category == article.category and a is not article][:4]
    image = article.image_url(article.images[0]) if article.images else ORIGIN + article.thumbnail
    return page(
        site,
        "article",
        exclude=article,
        **article.fields(),
        summary_attr=attr(fold(data["summary"])),
        image=attr(image),
        category_id=list(site.meta["categories"]).index(article.category) + 31,
        category=article.category,
        category_name=esc(site.meta["categories"][article.category]["name"]),
        published=f"{article.published:%d/%m/%Y %H:%M:%S}",
        views=f"{1000 + int(article.id) % 4000:,}",
        headings=headings,
        prefix=f'<p class="hqol">{esc(data["prefix"])} - </p>' if data.get("prefix") else "",
        summary=esc(data["summary"]),
        content=content_html(site, article),
        outside=outside,
        others="\n".join(html("other-item", **a.fields()) for a in others),
    )


def listing_path(category: str, number: int = 1) -> str:
    return f"/danh-muc/{category}" + (f"?page={number}" if number > 1 else "")


def listing_page(site: Site, category: str, number: int, chunks: list[list[Article]]) -> str:
    where: dict[str, Any] = {
        "category": category,
        "category_name": esc(site.meta["categories"][category]["name"]),
    }
    items = [
        html(
            "listing-item",
            **item.fields(),
            **where,
            href=attr(item.url if i % 2 else item.path),
            summary=esc(item.data.get("summary", "")),
        )
        for i, item in enumerate(chunks[number - 1])
    ]
    total = len([c for c in chunks if c])  # Laravel: no pagination on a page after the last
    first = ORIGIN + listing_path(category)
    return page(
        site,
        "listing",
        **where,
        canonical=listing_path(category, number),
        items="\n".join(items),
        pagination=sk.pagination(html, number, total, lambda n: f"{first}?page={n}"),
    )


def home_page(site: Site) -> str:
    boxes = [
        html(
            "home-box",
            slug=slug,
            name=esc(cat["name"]),
            links=sk.links((a for a in site.articles if a.category == slug), href="path"),
        )
        for slug, cat in site.meta["categories"].items()
    ]
    return page(site, "home", boxes="\n".join(boxes))


def build(sources: Path) -> sk.Replica:
    site = load_site(sources)
    b = sk.Build("haiquan", SITE, ORIGIN, HOSTS, ["/admin", "/print/", "/tim-kiem"])
    b.page("/", home_page(site))
    for a in site.articles:
        b.page(a.path, article_page(site, a))
    for category in site.meta["categories"]:
        b.listing(
            site.listed(category=category),
            site.meta["page_size"],
            partial(listing_path, category),
            partial(listing_page, site, category),
            links="links",
            at_least_one=False,
            after_last=True,  # Laravel serves it, with an empty list and no pagination
        )
    return b.replica(
        site,
        manifest_entry,
        f"`replicas/sources/{SITE}/`",
        lambda a: [f"written (`articles.json`, id {a.id})"],
        home=ORIGIN + "/",
        feeds=[],
    )


def manifest_entry(a: Article) -> dict[str, Any]:
    return {
        "section": a.category,
        "title": fold(a.title),
        "subtitle": a.data.get("subtitle"),
        "summary": fold(a.data["summary"]),
        "published": a.published.isoformat(),
        "published_raw": f"{a.published:%d/%m/%Y %H:%M:%S}",
        **sk.images((a.image_url(b), caption_text(b)) for b in a.images),
        "byline": fold(a.data["byline"]),
        "furniture": a.data["furniture"],
        "language": "vi",
    }
