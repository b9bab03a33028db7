"""bienphong.com.vn: articles written for the replica (``articles.json``: inline markup in
titles, leads, paragraphs and captions kept as written, so the glued-words trap is in
the source) and ``site.json`` (categories, tags, listings, feeds, the dead and video links).
URL shapes follow SITES.md; what is invented: ``sources/bienphong.com.vn/replica.md``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import lxml.html

from replicas import skeleton as sk
from replicas.skeleton import attr, esc, fold

SITE = "bienphong.com.vn"
ORIGIN = "https://www.bienphong.com.vn"
MEDIA = "https://files.bienphong.com.vn/bbpmedia/media/730"
HOSTS = ["www.bienphong.com.vn", "bienphong.com.vn"]
NO_IMAGE = "/images/no-image.png"
PRINTED = "{weekday}, %d/%m/%Y | %H:%M"  # an article's date line
html = sk.Templates(SITE)


def text_of_html(fragment: str) -> str:
    """The text a fragment of inline markup reads as (white space folded)."""
    return fold(lxml.html.fragment_fromstring(f"<div>{fragment}</div>").text_content())


@dataclass(kw_only=True)
class Article(sk.Article):
    """An article, or a listed dead page or video that is not an article."""

    prefix: str = ""

    @property
    def path(self) -> str:
        return f"{self.prefix}/{sk.slugify(self.title)}-post{self.id}.html"

    @property
    def title_html(self) -> str:
        return str(self.data.get("title_html") or esc(self.title))

    @property
    def sapo(self) -> str:
        return str(self.data.get("sapo", ""))

    @property
    def images(self) -> list[dict[str, Any]]:
        return [b for b in self.data.get("body", []) if "img" in b]

    def image_url(self, block: dict[str, Any]) -> str:
        """On the media host, named like the site's uploads (``86480452pm_x.jpg``)."""
        digits = int(hashlib.sha256(block["img"].encode()).hexdigest(), 16) % 10**8
        day, half = self.published, "pm" if self.published.hour >= 12 else "am"
        return f"{MEDIA}/{day.year}/{day.month}/{day.day}/{digits:08d}{half}_{block['img']}"

    @property
    def thumbnail(self) -> str:
        return self.image_url(self.images[0]) if self.images else NO_IMAGE

    def fields(self) -> dict[str, object]:
        return {**super().fields(), "title_html": self.title_html, "sapo": esc(self.sapo)}


@dataclass
class Site(sk.Site[Article]):
    video: Article  # listed, not an article

    def tag_name(self, slug: str) -> str:
        return str(self.meta["tags"][slug]["name"])

    def tag_path(self, slug: str, number: int = 1) -> str:
        base = f"/tag/{slug}-{self.meta['tags'][slug]['id']}"
        return f"{base}.html" if number == 1 else f"{base}/trang-{number}.html"

    def tagged(self, tag: str) -> list[Article]:
        links = [(self.dead, "dead_link"), (self.video, "video_link")]
        items = [a for a in self.articles if tag in a.data["tags"]]
        listed = [x for x, key in links if x is not None and self.meta[key]["tag"] == tag]
        return sk.newest_first(items + listed)


def load_site(sources: Path) -> Site:
    articles = [Article.of(a, ORIGIN) for a in sk.load(sources / "articles.json")["articles"]]
    for a in articles:
        if text_of_html(a.title_html) != fold(a.title):
            raise ValueError(f"title markup of {a.id} does not read as its title")
        if text_of_html(a.data.get("sapo_html") or esc(a.data["sapo"])) != fold(a.data["sapo"]):
            raise ValueError(f"lead markup of {a.id} does not read as its lead")
    meta = sk.load(sources / "site.json")
    dead, video = Article.of(meta["dead_link"], ORIGIN), meta["video_link"]
    return Site(meta, articles, dead, Article.of(video, ORIGIN, prefix="/videos"))


def page(site: Site, kind: str, *, exclude: Article | None = None, **fields: object) -> str:
    """A page of ``kind`` in the chrome, with the most read (but ``exclude``) in the sidebar."""
    menu = sk.menu((f"/{slug}/", c["name"]) for slug, c in site.meta["categories"].items())
    return html.page(
        kind,
        **fields,
        today=sk.printed(sk.local(site.meta["snapshot_day"]), "{weekday}, %d/%m/%Y"),
        menu=menu,
        most_read=sk.links([a for a in site.articles if a is not exclude][:5]),
    )


def image_html(article: Article, block: dict[str, Any]) -> str:
    caption = block.get("caption")
    image = {"src": attr(article.image_url(block)), "alt": attr(text_of_html(caption or ""))}
    if block["form"] == "table":
        row = f'\n<tr><td class="image_desc">{caption}</td></tr>' if caption else ""
        return html("image-table", **image, caption_row=row)
    figcaption = f"<figcaption>{caption}</figcaption>" if caption else ""
    return html("image-figure", **image, figcaption=figcaption)


def body_html(site: Site, article: Article) -> str:
    """The text content: paragraphs (``<div>``s where the source says so), images,
    an inline related-news box after the second paragraph of longer articles, and the
    byline as the last, right-aligned paragraph. ``joined`` puts no white space at all
    between the blocks."""
    data = article.data
    tag = "div" if data.get("divs") else "p"
    parts = []
    paragraphs = 0
    for block in data["body"]:
        if "img" in block:
            parts.append(image_html(article, block))
            continue
        parts.append(f"<{tag}>{block['p']}</{tag}>")
        paragraphs += 1
        if paragraphs == 2 and sum("p" in b for b in data["body"]) >= 4:
            other = next(a for a in site.articles if a is not article)
            parts.append(html("relate", **other.fields()))
    if data.get("byline"):
        parts.append(f'<p style="text-align: right;"><strong>{esc(data["byline"])}</strong></p>')
    return ("" if data.get("joined") else "\n").join(parts)


def article_page(site: Site, article: Article) -> str:
    data = article.data
    category = data["category"]
    tags = [f'<a href="{site.tag_path(t)}">{esc(site.tag_name(t))}</a>' for t in data["tags"]]
    related = [a for a in site.articles if a.data["category"] == category and a is not article][:3]
    return page(
        site,
        "article",
        exclude=article,
        **article.fields(),
        sapo_attr=attr(fold(data["sapo"])),
        published=article.published.isoformat(),
        published_printed=sk.printed(article.published, PRINTED),
        category=category,
        category_name=esc(site.meta["categories"][category]["name"]),
        lead=esc(data["sapo_prefix"]) + (data.get("sapo_html") or esc(data["sapo"])),
        body=body_html(site, article),
        tags=" ".join(tags),
        related="\n".join(f'<li><a href="{attr(a.url)}">{a.title_html}</a></li>' for a in related),
    )


def tag_page(site: Site, tag: str, number: int, chunks: list[list[Article]]) -> str:
    items = [
        html(
            "tag-item",
            **item.fields(),
            href=attr(item.url if i % 2 == 0 else item.path),  # absolute, relative: as the site
            sapo_p=f'\n<p class="bp-list-sapo">{esc(item.sapo)}</p>' if item.sapo else "",
        )
        for i, item in enumerate(chunks[number - 1])
    ]
    url = partial(site.tag_path, tag)
    return page(
        site,
        "tag",
        canonical=url(number),
        number=f" - Trang {number}" if number > 1 else "",
        name=esc(site.tag_name(tag)),
        items="\n".join(items),
        pagination=sk.pagination(html, number, len(chunks), url, origin=ORIGIN),
    )


def home_page(site: Site) -> str:
    boxes = [
        html(
            "home-box",
            slug=slug,
            name=esc(cat["name"]),
            links=sk.links(a for a in site.articles if a.data["category"] == slug),
        )
        for slug, cat in site.meta["categories"].items()
    ]
    return page(site, "home", top=html.each("home-item", site.articles[:5]), boxes="\n".join(boxes))


def feed(site: Site, category: str) -> tuple[str, list[str]]:
    items = [a for a in site.articles if a.data["category"] == category][: site.meta["feed_limit"]]
    tracking = site.meta["tracking"]
    urls = [a.url + (f"?{tracking['query']}" if a.id == tracking["article"] else "") for a in items]
    name = esc(site.meta["categories"][category]["name"])
    return sk.rss(html, items, urls, items[0].published, name=name, category=category), urls


def build(sources: Path) -> sk.Replica:
    site = load_site(sources)
    b = sk.Build("bienphong", SITE, ORIGIN, HOSTS, ["/admin/", "/tim-kiem/", "/preview/"])
    b.page("/", home_page(site))
    for a in site.articles:
        b.page(a.path, article_page(site, a))
    size = site.meta["page_size"]
    for tag in site.meta["listings"]:
        b.listing(
            site.tagged(tag),
            size,
            partial(site.tag_path, tag),
            partial(tag_page, site, tag),
            links="links",
            at_least_one=False,
            tag=tag,
        )
    for category, cat in site.meta["categories"].items():
        b.feed(cat["feed"], *feed(site, category))
    tracking = site.meta["tracking"]
    tracked = next(a for a in site.articles if a.id == tracking["article"]).url
    return b.replica(
        site,
        partial(manifest_entry, site),
        f"`replicas/sources/{SITE}/`",
        lambda a: [f"written (`articles.json`, id {a.id})"],
        facts={"feed_limit": site.meta["feed_limit"], "video": site.video.path},
        home=ORIGIN + "/",
        not_articles=[site.video.url],
        tracking_urls=[{"url": f"{tracked}?{tracking['query']}", "canonical": tracked}],
    )


def manifest_entry(site: Site, a: Article) -> dict[str, Any]:
    """Computed from the sources: title and lead as their markup reads, image and caption
    counts, the byline as printed."""
    data = a.data
    return {
        "section": data["category"],
        "title": fold(a.title),
        "summary": fold(data["sapo"]),
        "summary_printed": fold(data["sapo_prefix"] + data["sapo"]),
        "published": a.published.isoformat(),
        "published_raw": sk.printed(a.published, PRINTED),
        **sk.images(
            (a.image_url(b), text_of_html(b.get("caption") or "") or None) for b in a.images
        ),
        "byline": data.get("byline"),
        "tags": [site.tag_name(t) for t in data["tags"]],
        "language": "vi",
    }
