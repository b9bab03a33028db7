"""en.baochinhphu.vn: defence articles written for the replica (``articles.json``).

Pages follow SITES.md: articles ``/<slug>-<17 or 18 digit id>.htm``; the defence
listing ``/defense.html``, items in ``div.timeline > div.box-stream`` (next pages
``/defense/trang-N.htm``, a choice of this replica); VCCorp article markup: a title
sometimes starting with a soft hyphen, a lead starting ``VGP - ``, photo boxes and
related-news boxes in the text, ``./.`` closing many articles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
MENU = [
    ("Politics", "/politics.html"),
    ("Economy", "/economy.html"),
    ("Defense", LISTING),
    ("Diplomacy", "/diplomacy.html"),
    ("Society", "/society.html"),
]


@dataclass(kw_only=True)
class Article(sk.Article):
    id: str
    summary: str
    blocks: list[dict[str, Any]]
    author: str | None
    soft_hyphen: bool

    @property
    def path(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.title.lower().replace("'", "")).strip("-")
        return f"/{slug}-{self.id}.htm"

    @property
    def printed_title(self) -> str:
        return ("\u00ad" if self.soft_hyphen else "") + self.title

    def image_url(self, block: dict[str, Any]) -> str:
        day = self.published
        return f"{CDN}/{day.year}/{day.month}/{day.day}/{block['photo']}"

    @property
    def photos(self) -> list[dict[str, Any]]:
        return [b for b in self.blocks if "photo" in b]


def article(raw: dict[str, Any]) -> Article:
    return Article(
        origin=ORIGIN,
        id=raw["id"],
        published=datetime.fromisoformat(raw["published"]),
        title=raw["title"],
        summary=raw["summary"],
        blocks=raw.get("blocks", []),
        author=raw.get("author"),
        soft_hyphen=raw.get("soft_hyphen", False),
    )


def page(*, title: str, head: str, main: str) -> str:
    menu = "\n".join(f'<li><a href="{href}">{name}</a></li>' for name, href in MENU)
    feed = (
        f'<link rel="alternate" type="application/rss+xml" title="Defense" href="{ORIGIN}{FEED}">'
    )
    return sk.document(
        "en",
        title,
        f"{head}\n{feed}",
        f"""<div class="header">
<div class="header__logo"><a href="/" title="Viet Nam Government Portal"><img src="/images/logo-en.png" alt="VGP News"></a></div>
<ul class="header__menu">
{menu}
</ul>
<div class="header__search"><form action="/search.htm"><input type="text" name="keywords"></form></div>
</div>
<div class="main">
{main}
</div>
<div class="footer">
<p>VIETNAM GOVERNMENT PORTAL (VGP) - Online newspaper of the Government of the Socialist Republic of Viet Nam</p>
<p>Editor-in-chief: (invented for the replica). Copyright © VGP.</p>
</div>""",
    )


def block_html(a: Article, block: dict[str, Any], number: int) -> str:
    """A paragraph, a photo box (``number``: the photo's) or a related-news box."""
    if "photo" in block:
        src = attr(a.image_url(block))
        caption = block.get("caption") or ""
        placeholder = "" if caption else "NLPlaceholderShow"
        return (
            '<div class="VCSortableInPreviewMode" type="Photo" style="">'
            f'<div><a href="{src}" data-fancybox="img-lightbox" title="{attr(caption)}">'
            f'<img src="{src}" alt="{attr(f"{a.title} - Ảnh {number}.")}" data-original="{src}" '
            f'width="" height="" id="img_{a.id}_{number}" class="lightbox-content"></a></div>'
            '<div class="PhotoCMS_Caption">'
            f'<p data-placeholder="[nhập chú thích]" class="{placeholder}">{esc(caption)}</p>'
            "</div></div>"
        )
    if "related" in block:
        href = attr(block["href"])
        return (
            '<div class="VCSortableInPreviewMode link-content-footer" type="RelatedOneNews">'
            f'<a class="link-callout" href="{href}" title="{attr(block["related"])}">'
            f'<img src="{CDN}/thumb/related.jpg" alt=""></a><div class="PreviewRelatedOneNews">'
            f'<a href="{href}">{esc(block["related"])}</a></div></div>'
        )
    text = block["p"].removesuffix(".") + "./." if block.get("end_marker") else block["p"]
    return f'<p style="text-align: justify;">{esc(text)}</p>'


def article_page(a: Article, others: list[Article]) -> str:
    numbers = [sum("photo" in b for b in a.blocks[: i + 1]) for i in range(len(a.blocks))]
    body = "\n".join(block_html(a, b, n) for b, n in zip(a.blocks, numbers, strict=True))
    author = (
        '<div class="detail-author-top"><span class="detail-author-top-name">\n'
        f"    {esc(a.author)}\n</span></div>"
        if a.author
        else ""
    )
    related = "\n".join(
        f'<div class="box-stream-item" data-id="{o.id}"><a class="box-stream-link-title" '
        f'href="{attr(o.path)}" title="{attr(o.title)}">{esc(o.printed_title)}</a></div>'
        for o in others
    )
    day = a.published
    head = f"""<meta name="description" content="{attr(a.summary)}">
<link rel="canonical" href="{attr(a.url)}">
<meta property="og:title" content="{attr(a.printed_title)}">
<meta property="og:url" content="{attr(a.url)}">
<meta property="og:type" content="article">
<meta property="article:section" content="Defense">
<meta property="article:published_time" content="{day.isoformat()}">"""
    main = f"""<div class="detail-container" data-id="{a.id}">
<div class="detail-cate"><a href="{LISTING}" title="Defense">Defense</a></div>
<div class="detail-time"><div data-role="publishdate">{day:%A, %B} {day.day}, {day:%Y %H:%M} (GMT+7)</div></div>
<h1 class="detail-title" data-role="title">{esc(a.printed_title)}</h1>
{author}
<h2 class="detail-sapo" data-role="sapo">{esc(a.summary)}</h2>
<div class="detail-content afcbc-body" data-role="content">
{body}
</div>
<div class="detail-share"><a href="javascript:void(0)" class="share-facebook">Share</a><a href="javascript:;" class="print">Print</a></div>
<div class="detail-related">
<div class="box-title">Related news</div>
{related}
</div>
</div>"""
    return page(title=a.title, head=head, main=main)


def stream_item(a: Article) -> str:
    link = f'href="{attr(a.path)}" title="{attr(a.title)}"'
    return f"""<div class="box-stream" data-id="{a.id}">
<a class="box-stream-link-thumb" {link}><img src="{CDN}/thumb/{a.id}.jpg" alt=""></a>
<div class="box-stream-content">
<a class="box-stream-link-title" {link}>{esc(a.printed_title)}</a>
<p class="box-stream-sapo">{esc(a.summary)}</p>
</div>
</div>"""


def listing_path(number: int) -> str:
    return LISTING if number == 1 else f"/defense/trang-{number}.htm"


def listing_page(focus: Article, number: int, chunks: list[list[Article]]) -> str:
    items = "\n".join(stream_item(a) for a in chunks[number - 1])
    more = (
        f'<div class="list__pagination"><a class="list__viewmore" href="{listing_path(number + 1)}">View more</a></div>'
        if number < len(chunks)
        else ""
    )
    top = (
        f'<div class="box-focus"><a class="box-focus-link-title" href="{attr(focus.path)}">'
        f"{esc(focus.printed_title)}</a></div>"
        if number == 1
        else ""
    )
    main = f"""<div class="list__title"><h1><a href="{LISTING}">Defense</a></h1></div>
{top}
<div class="timeline">
{items}
</div>
{more}"""
    head = f'<link rel="canonical" href="{ORIGIN}{listing_path(number)}">'
    return page(title="Defense - VGP News", head=head, main=main)


def home_page(articles: list[Article]) -> str:
    items = "\n".join(stream_item(a) for a in articles[:5])
    main = f'<div class="home-section"><h2><a href="{LISTING}">Defense</a></h2>\n<div class="home-list">\n{items}\n</div></div>'
    head = f'<link rel="canonical" href="{ORIGIN}/">'
    return page(title="VGP News | Viet Nam Government Portal", head=head, main=main)


def feed(articles: list[Article], snapshot: datetime) -> str:
    """The newest articles; the second one's link carries utm parameters."""
    channel = {
        "title": "Defense - VGP News",
        "link": ORIGIN + LISTING,
        "description": "Defense news of the Viet Nam Government Portal",
        "language": "en",
        "lastBuildDate": snapshot,
    }
    items = [
        {
            "title": esc(a.title),
            "link": esc(a.url + ("?utm_source=rss&utm_medium=feed" if index == 1 else "")),
            'guid isPermaLink="false"': a.id,
            "description": esc(a.summary),
            "pubDate": a.published,
        }
        for index, a in enumerate(articles)
    ]
    return sk.rss(channel, items, encoding="utf-8")


def build(sources: Path) -> sk.Replica:
    data = sk.load(sources / "articles.json")
    articles = sk.newest_first(map(article, data["articles"]))
    dead = article(data["dead"])
    b = sk.Build("baochinhphu_en", SITE, ORIGIN, HOSTS)
    b.page("/robots.txt", sk.robots("/search.htm", "/ajax/"))
    b.page("/", home_page(articles))
    for index, a in enumerate(articles):
        b.page(
            a.path, article_page(a, [o for o in articles if o is not a][index % 3 : index % 3 + 4])
        )
    b.listing(
        sk.newest_first([*articles, dead]),
        data["page_size"],
        listing_path,
        partial(listing_page, articles[0]),
        count=False,
    )
    in_feed = articles[: data["feed_size"]]
    b.feed(FEED, feed(in_feed, datetime.fromisoformat(data["snapshot"])), [a.url for a in in_feed])
    rows = [
        (
            f"`{a.path}`",
            len(a.id),
            a.published.isoformat(),
            "yes" if a.soft_hyphen else "no",
            len(a.photos),
            a.author or "(none)",
        )
        for a in articles
    ]
    entries = [
        {
            "url": a.url,
            "article_id": a.id,
            "language": "en",
            "title": fold(a.title),
            "title_printed": a.printed_title,
            "summary": fold(a.summary.removeprefix("VGP - ")),
            "published": a.published.isoformat(),
            "image_count": len(a.photos),
            "caption_count": sum(1 for p in a.photos if fold(p.get("caption") or "")),
            "images": [
                {"url": a.image_url(p), "caption": fold(p.get("caption") or "") or None}
                for p in a.photos
            ],
            "byline": a.author,
            "end_marker": any(x.get("end_marker") for x in a.blocks),
            "related_boxes": sum(1 for x in a.blocks if "related" in x),
        }
        for a in articles
    ]
    account = b.provenance(
        f"`replicas/sources/{SITE}/articles.json`",
        rows,
        feed=FEED,
        feed_size=len(articles[:6]),
        dead=dead.path,
    )
    return b.replica(
        entries, account, timezone="+07:00", page_size=data["page_size"], dead_urls=[dead.url]
    )
