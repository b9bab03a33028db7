"""en.baochinhphu.vn: defence articles written for the replica (``articles.json``) in
VCCorp's article markup as SITES.md describes it: a title sometimes starting with a soft
hyphen, a lead starting ``VGP - ``, photo and related-news boxes, ``./.`` closing many
articles (``sources/en.baochinhphu.vn/replica.md``).
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from replicas import skeleton as sk
from replicas.skeleton import attr, esc, fold

SITE = "en.baochinhphu.vn"
ORIGIN = "https://en.baochinhphu.vn"
HOSTS = ["en.baochinhphu.vn"]
CDN = "https://bcp.cdnchinhphu.vn/334894974524682240"
LISTING = "/defense.html"
FEED = "/rss/defense.rss"
html = sk.Templates(SITE)


class Article(sk.Article):
    @property
    def path(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.title.lower().replace("'", "")).strip("-")
        return f"/{slug}-{self.id}.htm"

    @property
    def summary(self) -> str:
        return str(self.data["summary"])

    @property
    def author(self) -> str | None:
        return self.data.get("author")

    @property
    def printed_title(self) -> str:
        return ("\u00ad" if self.data.get("soft_hyphen") else "") + self.title

    def image_url(self, block: dict[str, Any]) -> str:
        day = self.published
        return f"{CDN}/{day.year}/{day.month}/{day.day}/{block['photo']}"

    @property
    def photos(self) -> list[dict[str, Any]]:
        return [b for b in self.blocks if "photo" in b]

    def fields(self) -> dict[str, object]:
        printed = {"printed_title": esc(self.printed_title), "summary": esc(self.summary)}
        return {**super().fields(), **printed}


def block_html(a: Article, block: dict[str, Any], number: int) -> str:
    """A paragraph, a photo box (``number``: the photo's) or a related-news box."""
    if "photo" in block:
        caption = block.get("caption") or ""
        return html(
            "photo",
            src=attr(a.image_url(block)),
            id=a.id,
            number=number,
            alt=attr(f"{a.title} - Ảnh {number}."),
            caption=esc(caption),
            caption_attr=attr(caption),
            placeholder="" if caption else "NLPlaceholderShow",
        )
    if "related" in block:
        title = block["related"]
        return html(
            "related-box", href=attr(block["href"]), title=esc(title), title_attr=attr(title)
        )
    text = block["p"].removesuffix(".") + "./." if block.get("end_marker") else block["p"]
    return f'<p style="text-align: justify;">{esc(text)}</p>'


def article_page(a: Article, others: list[Article]) -> str:
    numbers = [sum("photo" in b for b in a.blocks[: i + 1]) for i in range(len(a.blocks))]
    day = a.published
    return html.page(
        "article",
        **a.fields(),
        summary_attr=attr(a.summary),
        printed_title_attr=attr(a.printed_title),
        published=day.isoformat(),
        published_printed=sk.printed(day, "%A, %B {day}, %Y %H:%M (GMT+7)"),
        author=html("author", author=esc(a.author)) if a.author else "",
        body="\n".join(block_html(a, b, n) for b, n in zip(a.blocks, numbers, strict=True)),
        related=html.each("related", others),
    )


def listing_path(number: int) -> str:
    return LISTING if number == 1 else f"/defense/trang-{number}.htm"


def listing_page(focus: Article, number: int, chunks: list[list[Article]]) -> str:
    return html.page(
        "listing",
        canonical=listing_path(number),
        focus=html("focus", **focus.fields()) if number == 1 else "",
        stream=html.each("stream-item", chunks[number - 1]),
        more=html("more", href=listing_path(number + 1)) if number < len(chunks) else "",
    )


def build(sources: Path) -> sk.Replica:
    data = sk.load(sources / "articles.json")
    articles = sk.newest_first(Article.of(a, ORIGIN) for a in data["articles"])
    dead = Article.of(data["dead"], ORIGIN)
    b = sk.Build("baochinhphu_en", SITE, ORIGIN, HOSTS, ["/search.htm", "/ajax/"])
    b.page("/", html.page("home", stream=html.each("stream-item", articles[:5])))
    for i, a in enumerate(articles):
        b.page(a.path, article_page(a, [o for o in articles if o is not a][i % 3 : i % 3 + 4]))
    b.listing(
        sk.newest_first([*articles, dead]),
        data["page_size"],
        listing_path,
        partial(listing_page, articles[0]),
        count=False,
    )
    in_feed = articles[: data["feed_size"]]
    utm = "?utm_source=rss&utm_medium=feed"  # on the feed's second link only
    links = [a.url + (utm if i == 1 else "") for i, a in enumerate(in_feed)]
    text = sk.rss(html, in_feed, links, datetime.fromisoformat(data["snapshot"]))
    b.feed(FEED, text, [a.url for a in in_feed])
    return b.replica(
        sk.Site(data, articles, dead),
        manifest_entry,
        f"`replicas/sources/{SITE}/articles.json`",
        provenance_row,
        facts={"feed": FEED, "feed_size": len(articles[:6])},
    )


def provenance_row(a: Article) -> list[object]:
    hyphen = "yes" if a.data.get("soft_hyphen") else "no"  # the title starts with a soft one
    return [len(str(a.id)), a.published.isoformat(), hyphen, len(a.photos), a.author or "(none)"]


def manifest_entry(a: Article) -> dict[str, Any]:
    return {
        "language": "en",
        "title": fold(a.title),
        "title_printed": a.printed_title,
        "summary": fold(a.summary.removeprefix("VGP - ")),
        "published": a.published.isoformat(),
        **sk.images((a.image_url(p), fold(p.get("caption") or "") or None) for p in a.photos),
        "byline": a.author,
        "end_marker": any(x.get("end_marker") for x in a.blocks),
        "related_boxes": sum(1 for x in a.blocks if "related" in x),
    }
