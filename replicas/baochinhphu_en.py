"""Build the en.baochinhphu.vn replica (``crawler/mirror/sites/en.baochinhphu.vn``).

Run ``python -m replicas baochinhphu_en`` after changing a source or
this script; ``--check`` only reports whether the committed replica is what the
sources build.

The source is ``replicas/sources/en.baochinhphu.vn/articles.json``: defence
articles written for the replica. Pages follow SITES.md: articles
``/<slug>-<17 or 18 digit id>.htm``, the defence listing ``/defense.html`` with its
items in ``div.timeline > div.box-stream`` (next pages ``/defense/trang-N.htm``, a
choice of this replica), and VCCorp article markup: ``h1.detail-title`` (some
starting with a soft hyphen), ``h2.detail-sapo`` starting ``VGP - ``,
``article:published_time`` with ``+07:00``, ``div.detail-content`` holding photo
boxes (``div.VCSortableInPreviewMode[type=Photo]`` + ``div.PhotoCMS_Caption``) and
related-news boxes, ``./.`` closing many articles, the author in
``.detail-author-top-name``. The manifest is derived from the sources.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from replicas.skeleton import attr, esc, fold, run, write
from replicas.skeleton import check as build_check

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SITE = "en.baochinhphu.vn"
SOURCES = HERE / "sources" / SITE
OUT = REPO / "crawler" / "mirror" / "sites" / SITE

ORIGIN = "https://en.baochinhphu.vn"
HOSTS = ["en.baochinhphu.vn"]
CDN = "https://bcp.cdnchinhphu.vn/334894974524682240"
LISTING = "/defense.html"
FEED = "/rss/defense.rss"
SOFT_HYPHEN = "\u00ad"
ROBOTS = "User-agent: *\nDisallow: /search.htm\nDisallow: /ajax/\n"
MENU = [
    ("Politics", "/politics.html"),
    ("Economy", "/economy.html"),
    ("Defense", LISTING),
    ("Diplomacy", "/diplomacy.html"),
    ("Society", "/society.html"),
]


@dataclass
class Article:
    id: str
    published: datetime
    title: str
    summary: str
    blocks: list[dict[str, Any]]
    author: str | None
    soft_hyphen: bool

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.title.lower().replace("'", "")).strip("-")

    @property
    def path(self) -> str:
        return f"/{self.slug}-{self.id}.htm"

    @property
    def url(self) -> str:
        return ORIGIN + self.path

    @property
    def printed_title(self) -> str:
        return (SOFT_HYPHEN if self.soft_hyphen else "") + self.title

    def image_url(self, name: str) -> str:
        day = self.published
        return f"{CDN}/{day.year}/{day.month}/{day.day}/{name}"

    @property
    def photos(self) -> list[dict[str, Any]]:
        return [b for b in self.blocks if "photo" in b]


def load(sources: Path) -> tuple[dict[str, Any], list[Article], Article]:
    data = json.loads((sources / "articles.json").read_text("utf-8"))

    def article(raw: dict[str, Any]) -> Article:
        return Article(
            id=raw["id"],
            published=datetime.fromisoformat(raw["published"]),
            title=raw["title"],
            summary=raw["summary"],
            blocks=raw.get("blocks", []),
            author=raw.get("author"),
            soft_hyphen=raw.get("soft_hyphen", False),
        )

    articles = sorted(map(article, data["articles"]), key=lambda a: a.published, reverse=True)
    return data, articles, article(data["dead"])


def page(*, title: str, head: str, main: str) -> str:
    menu = "\n".join(f'<li><a href="{href}">{name}</a></li>' for name, href in MENU)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
{head}
<link rel="alternate" type="application/rss+xml" title="Defense" href="{ORIGIN}{FEED}">
</head>
<body>
<div class="header">
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
</div>
</body>
</html>
"""


def photo_box(a: Article, block: dict[str, Any], number: int) -> str:
    src = attr(a.image_url(block["photo"]))
    caption = esc(block.get("caption") or "")
    alt = attr(f"{a.title} - Ảnh {number}.")
    return (
        '<div class="VCSortableInPreviewMode" type="Photo" style="">'
        f'<div><a href="{src}" data-fancybox="img-lightbox" title="{attr(block.get("caption") or "")}">'
        f'<img src="{src}" alt="{alt}" data-original="{src}" width="" height="" '
        f'id="img_{a.id}_{number}" class="lightbox-content"></a></div>'
        '<div class="PhotoCMS_Caption">'
        f'<p data-placeholder="[nhập chú thích]" class="{"" if caption else "NLPlaceholderShow"}">{caption}</p>'
        "</div></div>"
    )


def related_box(block: dict[str, Any]) -> str:
    href = attr(block["href"])
    return (
        '<div class="VCSortableInPreviewMode link-content-footer" type="RelatedOneNews">'
        f'<a class="link-callout" href="{href}" title="{attr(block["related"])}">'
        f'<img src="{CDN}/thumb/related.jpg" alt=""></a>'
        f'<div class="PreviewRelatedOneNews"><a href="{href}">{esc(block["related"])}</a></div></div>'
    )


def paragraph(block: dict[str, Any]) -> str:
    text = block["p"]
    if block.get("end_marker"):
        text = text.removesuffix(".") + "./."
    return f'<p style="text-align: justify;">{esc(text)}</p>'


def article_page(a: Article, others: list[Article]) -> str:
    parts, number = [], 0
    for block in a.blocks:
        if "photo" in block:
            number += 1
            parts.append(photo_box(a, block, number))
        elif "related" in block:
            parts.append(related_box(block))
        else:
            parts.append(paragraph(block))
    body = "\n".join(parts)
    author = (
        f'<div class="detail-author-top"><span class="detail-author-top-name">\n    {esc(a.author)}\n</span></div>'
        if a.author
        else ""
    )
    related = "\n".join(
        f'<div class="box-stream-item" data-id="{o.id}"><a class="box-stream-link-title" '
        f'href="{attr(o.path)}" title="{attr(o.title)}">{esc(o.printed_title)}</a></div>'
        for o in others
    )
    iso = a.published.isoformat()
    head = f"""<meta name="description" content="{attr(a.summary)}">
<link rel="canonical" href="{attr(a.url)}">
<meta property="og:title" content="{attr(a.printed_title)}">
<meta property="og:url" content="{attr(a.url)}">
<meta property="og:type" content="article">
<meta property="article:section" content="Defense">
<meta property="article:published_time" content="{iso}">"""
    main = f"""<div class="detail-container" data-id="{a.id}">
<div class="detail-cate"><a href="{LISTING}" title="Defense">Defense</a></div>
<div class="detail-time"><div data-role="publishdate">{a.published:%A, %B} {a.published.day}, {a.published:%Y %H:%M} (GMT+7)</div></div>
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
    return f"""<div class="box-stream" data-id="{a.id}">
<a class="box-stream-link-thumb" href="{attr(a.path)}" title="{attr(a.title)}"><img src="{CDN}/thumb/{a.id}.jpg" alt=""></a>
<div class="box-stream-content">
<a class="box-stream-link-title" href="{attr(a.path)}" title="{attr(a.title)}">{esc(a.printed_title)}</a>
<p class="box-stream-sapo">{esc(a.summary)}</p>
</div>
</div>"""


def listing_path(number: int) -> str:
    return LISTING if number == 1 else f"/defense/trang-{number}.htm"


def listing_page(chunks: list[list[Article]], number: int, focus: Article) -> str:
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
    return page(
        title="VGP News | Viet Nam Government Portal",
        head=f'<link rel="canonical" href="{ORIGIN}/">',
        main=main,
    )


def feed(articles: list[Article], snapshot: datetime) -> str:
    items = []
    for index, a in enumerate(articles):
        link = a.url + ("?utm_source=rss&utm_medium=feed" if index == 1 else "")
        items.append(f"""<item>
<title>{esc(a.title)}</title>
<link>{esc(link)}</link>
<guid isPermaLink="false">{a.id}</guid>
<description>{esc(a.summary)}</description>
<pubDate>{format_datetime(a.published)}</pubDate>
</item>""")
    body = "\n".join(items)
    return f"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0">
<channel>
<title>Defense - VGP News</title>
<link>{ORIGIN}{LISTING}</link>
<description>Defense news of the Viet Nam Government Portal</description>
<language>en</language>
<lastBuildDate>{format_datetime(snapshot)}</lastBuildDate>
{body}
</channel>
</rss>
"""


def build(sources: Path, out: Path) -> dict[str, Any]:
    data, articles, dead = load(sources)
    pages = out / "pages"
    if pages.exists():
        for path in sorted(pages.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    write(pages / "robots.txt", ROBOTS)
    write(pages / "index.html", home_page(articles))
    for index, a in enumerate(articles):
        others = [o for o in articles if o is not a][index % 3 : index % 3 + 4]
        write(pages / a.path.lstrip("/"), article_page(a, others))

    listed = sorted([*articles, dead], key=lambda a: a.published, reverse=True)
    size = data["page_size"]
    chunks = [listed[i : i + size] for i in range(0, len(listed), size)]
    listings = []
    for number in range(1, len(chunks) + 1):
        write(pages / listing_path(number).lstrip("/"), listing_page(chunks, number, articles[0]))
        listings.append(
            {
                "url": ORIGIN + listing_path(number),
                "page": number,
                "articles": [a.url for a in chunks[number - 1]],
            }
        )
    in_feed = articles[: data["feed_size"]]
    write(pages / FEED.lstrip("/"), feed(in_feed, datetime.fromisoformat(data["snapshot"])))

    write(out / "site.json", json.dumps({"hosts": HOSTS}, indent=2) + "\n")
    manifest = {
        "site": "en.baochinhphu.vn",
        "generated_by": "python -m replicas baochinhphu_en",
        "hosts": HOSTS,
        "timezone": "+07:00",
        "page_size": size,
        "article_count": len(articles),
        "articles": [
            {
                "url": a.url,
                "article_id": a.id,
                "language": "en",
                "title": fold(a.title),
                "title_printed": a.printed_title,
                "summary": fold(a.summary.removeprefix("VGP - ")),
                "published": a.published.isoformat(),
                "image_count": len(a.photos),
                "caption_count": sum(1 for b in a.photos if fold(b.get("caption") or "")),
                "images": [
                    {
                        "url": a.image_url(b["photo"]),
                        "caption": fold(b.get("caption") or "") or None,
                    }
                    for b in a.photos
                ],
                "byline": a.author,
                "end_marker": any(b.get("end_marker") for b in a.blocks),
                "related_boxes": sum(1 for b in a.blocks if "related" in b),
            }
            for a in articles
        ],
        "dead_urls": [dead.url],
        "listings": listings,
        "feeds": [{"url": ORIGIN + FEED, "links": [a.url for a in in_feed]}],
    }
    write(out / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    write(out / "PROVENANCE.md", provenance(articles, dead))
    return manifest


def provenance(articles: list[Article], dead: Article) -> str:
    rows = "\n".join(
        f"| `{a.path}` | {len(a.id)} | {a.published.isoformat()} | "
        f"{'yes' if a.soft_hyphen else 'no'} | {len(a.photos)} | {a.author or '(none)'} |"
        for a in articles
    )
    return f"""# en.baochinhphu.vn replica: where every page comes from

Generated by `python -m replicas baochinhphu_en` from
`replicas/sources/en.baochinhphu.vn/articles.json`; do not edit the pages
by hand. `manifest.json` lists every article with what its page holds.

## Real (as recorded in shared/SITES.md, section en.baochinhphu.vn)

- Article URL `/<slug>-<17 or 18 digit id>.htm`; the defence listing
  `/defense.html` with items `div.timeline > div.box-stream` (`data-id`).
- Title `h1.detail-title[data-role=title]`, sometimes starting with a soft
  hyphen (U+00AD); summary `h2.detail-sapo` starting `VGP - `; date
  `meta[property="article:published_time"]` with `+07:00`; body
  `div.detail-content[data-role=content]`; author `.detail-author-top-name`;
  the end marker `./.`.
- The photo box markup (`div.VCSortableInPreviewMode[type=Photo]`, an `img` in
  `div > a`, the caption in `div.PhotoCMS_Caption > p[data-placeholder]`) is
  the VCCorp CMS markup seen on other sites of that platform; SITES.md marks it
  unverified for this site. Credits as `- Photo: VGP/Nhat Bac`, `- Photo: VNA`.
- Real 18-digit ids start `111` + `yymmddhhmmss` (e.g. `111250327100445608`).

## Invented

- Every article (texts, events, figures, photos), id, slug and publish time;
  people are named by office, not by name, except the reporters' and
  photographers' bylines, which are invented or generic. The 17-digit ids
  (`102` + `yymmddhhmmss` + 2 digits) are invented.
- Listing pagination: `/defense/trang-N.htm` (N ≥ 2) linked from a "View more"
  link in `div.list__pagination`, page size 4; the real site's next pages are
  not known (probably loaded by script).
- The RSS feed `{FEED}`: no feed is known for the site. It lists the
  {len(articles[:6])} newest articles; one link carries `utm_` parameters.
- The `RelatedOneNews` box inside the body (VCCorp name, markup invented), the
  `article:section` meta, the visible date line, the page chrome (header,
  menu, footer, share bar, "Related news", focus box), image URLs on
  `bcp.cdnchinhphu.vn`, robots.txt.
- The dead listing link `{dead.path}` (404).

## Pages

| path | id digits | published | soft hyphen | photos | author |
| --- | --- | --- | --- | --- | --- |
{rows}
"""


def check(sources: Path, out: Path) -> list[str]:
    """Differences between the committed replica and a fresh build."""
    return build_check(build, sources, out)


def main(argv: list[str] | None = None) -> int:
    return run(build, SITE, SOURCES, OUT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
