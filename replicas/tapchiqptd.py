"""tapchiqptd.vn: articles written for the replica in Vietnamese and English
(``articles.json``: also the categories and the time the site clock shows). Pages follow
SITES.md (``sources/tapchiqptd.vn/replica.md``): the site clock, not the publish date, is
the first date on a page, and boilerplate blocks sit in the article's parent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from replicas import skeleton as sk
from replicas.skeleton import attr, esc, fold

SITE = "tapchiqptd.vn"
ORIGIN = "https://tapchiqptd.vn"
HOSTS = ["tapchiqptd.vn", "www.tapchiqptd.vn"]
SLUG_LIMIT = 90  # the site cuts long slugs
html = sk.Templates(SITE)
WORDS: dict[str, dict[str, str]] = sk.load(html.file("words.json"))  # the chrome's, by language


def printed_date(lang: str, day: datetime) -> str:
    return sk.printed(day, WORDS[lang]["date"])


@dataclass(kw_only=True)
class Article(sk.Article):
    lang: str
    category: dict[str, Any]  # slug, id, name

    @property
    def path(self) -> str:
        slug = sk.slugify(self.title)[:SLUG_LIMIT].strip("-")
        return f"/{self.lang}/{self.category['slug']}/{slug}/{self.id}.html"

    @property
    def section(self) -> str:
        return str(self.category["slug"])

    @property
    def byline(self) -> dict[str, str] | None:
        return self.data.get("byline")

    def image_url(self, name: str) -> str:
        day = self.published
        return f"/Uploads/Images/{day.year}/{day.month}/{day.day}/{name}"

    def printed_byline(self) -> str | None:
        byline = self.byline
        return None if byline is None else fold(byline["em"] + byline.get("after", ""))


def listing(lang: str, cat: dict[str, Any], number: int = 1) -> str:
    page = f"?pageindex={number}" if number > 1 else ""
    return f"/{lang}/{cat['slug']}-{cat['id']}.html{page}"


class Site(sk.Site[Article]):
    @property
    def categories(self) -> dict[str, list[dict[str, Any]]]:
        return dict(self.meta["categories"])

    def latest(self, lang: str, exclude: Article | None = None, count: int = 5) -> list[Article]:
        return [a for a in self.articles if a.lang == lang and a is not exclude][:count]


def load_site(sources: Path) -> Site:
    data = sk.load(sources / "articles.json")
    cats = {(lang, c["slug"]): c for lang, items in data["categories"].items() for c in items}

    def article(raw: dict[str, Any]) -> Article:
        return Article.of(
            raw, ORIGIN, lang=raw["lang"], category=cats[raw["lang"], raw["category"]]
        )

    return Site(data, [article(a) for a in data["articles"]], article(data["dead"]))


def page(site: Site, kind: str, lang: str, **fields: object) -> str:
    """A page of ``kind`` in the chrome of every page: the site clock, the menu, the
    page's main column and ``right`` column, the footer."""
    menu = sk.menu((listing(lang, c), c["name"]) for c in site.categories[lang])
    clock = printed_date(lang, sk.local(site.meta["clock"]))
    return html.page(kind, **WORDS[lang], **fields, lang=lang, clock=clock, menu=menu)


def box(lang: str, name: str, articles: list[Article], with_date: bool = False) -> str:
    """A box of links: ``focus``, ``most`` (read) or ``other`` (news of the category)."""
    return html(
        f"box-{name}",
        **WORDS[lang],
        links=html.each("link-dated" if with_date else "link", articles),
    )


def right_column(site: Site, lang: str, article: Article | None, focus: bool) -> str:
    most = box(lang, "most", list(reversed(site.latest(lang, article, 5))))
    return f"{box(lang, 'focus', site.latest(lang, article, 3))}\n{most}" if focus else most


def body_html(article: Article) -> str:
    parts = []
    for block in article.blocks:
        kind = next((k for k in ("lead", "p") if k in block), None)
        if kind:
            parts.append(html(kind, text=esc(block[kind])))
        else:
            caption, row = block.get("caption"), ""
            if caption is not None:
                text = esc(caption) if caption.strip() else "&nbsp;"
                row = f'\n<tr><td style="text-align: center;"><em>{text}</em></td></tr>'
            parts.append(html("image", src=attr(article.image_url(block["img"])), caption_row=row))
    if article.byline is not None:
        byline = article.byline
        parts.append(html("byline", em=esc(byline["em"]), after=esc(byline.get("after", ""))))
    return "\n".join(parts)


def article_page(site: Site, a: Article) -> str:
    focus_in_text = a.data.get("chrome") == "focus-after-text"
    others = [x for x in site.listed(lang=a.lang, section=a.section) if x not in (a, site.dead)]
    return page(
        site,
        "article",
        a.lang,
        **a.fields(),
        listing=listing(a.lang, a.category),
        category=esc(a.category["name"]),
        published=printed_date(a.lang, a.published),
        body=body_html(a),
        focus_box=box(a.lang, "focus", site.latest(a.lang, a, 3)) if focus_in_text else "",
        other_box=box(a.lang, "other", others[:5], with_date=True),
        first=listing(a.lang, site.categories[a.lang][0]),
        right=right_column(site, a.lang, a, not focus_in_text),
    )


def listing_page(
    site: Site, lang: str, cat: dict[str, Any], number: int, chunks: list[list[Article]]
) -> str:
    path = listing(lang, cat)
    return page(
        site,
        "listing",
        lang,
        listing=path,
        category=esc(cat["name"]),
        links=html.each("link-dated", chunks[number - 1]),
        pages=sk.pagination(
            html, number, len(chunks), lambda n: f"{path}?pageindex={n}", page=WORDS[lang]["page"]
        ),
        right=right_column(site, lang, None, True),
    )


def home_page(site: Site, lang: str) -> str:
    categories = [
        html(
            "home-cate",
            listing=listing(lang, cat),
            category=esc(cat["name"]),
            links=html.each(
                "link",
                [a for a in site.listed(lang=lang, section=cat["slug"]) if a is not site.dead][:3],
            ),
        )
        for cat in site.categories[lang]
    ]
    right = right_column(site, lang, None, True)
    return page(site, "home", lang, categories="\n".join(categories), right=right)


def build(sources: Path) -> sk.Replica:
    site = load_site(sources)
    b = sk.Build("tapchiqptd", SITE, ORIGIN, HOSTS, ["/Admin/", "/DesktopModules/", "/Keywords/"])
    b.page("/", home_page(site, "vi"))
    for lang in ("vi", "en"):
        b.page(f"/{lang}/index.html", home_page(site, lang))
    for a in site.articles:
        b.page(a.path, article_page(site, a))
    for lang, cats in site.categories.items():
        for cat in cats:
            b.listing(
                site.listed(lang=lang, section=cat["slug"]),
                site.meta["page_size"],
                partial(listing, lang, cat),
                partial(listing_page, site, lang, cat),
            )
    return b.replica(
        site,
        manifest_entry,
        f"`replicas/sources/{SITE}/articles.json`",
        provenance_row,
        clock=printed_date("vi", sk.local(site.meta["clock"])),
    )


def provenance_row(a: Article) -> list[str]:
    byline = f"byline `{a.printed_byline() or ''}`" if a.byline else "no byline"
    return [a.lang, printed_date(a.lang, a.published), byline]


def manifest_entry(a: Article) -> dict[str, Any]:
    images = [b for b in a.blocks if "img" in b]
    return {
        "language": a.lang,
        "section": a.category["slug"],
        "title": fold(a.title),
        "published": a.published.isoformat(),
        "published_raw": printed_date(a.lang, a.published),
        **sk.images(
            (ORIGIN + a.image_url(b["img"]), fold(b.get("caption") or "") or None) for b in images
        ),
        "byline": a.printed_byline(),
    }
