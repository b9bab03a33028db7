"""Build the tapchiqptd.vn replica (``crawler/mirror/sites/tapchiqptd.vn``) from its sources.

Run ``python -m replicas tapchiqptd`` after changing a source or this
script; ``--check`` only reports whether the committed replica is what the
sources build.

The source is ``replicas/sources/tapchiqptd.vn/articles.json``: articles
written for the replica in Vietnamese and English, the categories and the time
the site clock shows. Pages follow the structure recorded in SITES.md: article
``/<vi|en>/<category>/<slug>/<id>.html``, listings ``/<vi|en>/<category>-<id>.html``
paged with ``?pageindex=N`` (stored as ``<category>-<id>@pageindex=N.html``, the
replica server's convention for pages that differ by query string).

Built into every article page, as the real site has them: the site clock and a
breadcrumb above the article (the clock is the first date on the page, and it is
not the publish date); the headline in ``div.newsdt-page-ct-tit``; image tables in
the text; the author as the last ``p`` in ``strong > em`` behind a rank; and the
boilerplate blocks (reader comments, focus, related news) inside the article's
parent, right after the text. The manifest is derived from the sources.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from replicas.skeleton import attr, esc, fold, run, slugify, write
from replicas.skeleton import check as build_check

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SITE = "tapchiqptd.vn"
SOURCES = HERE / "sources" / SITE
OUT = REPO / "crawler" / "mirror" / "sites" / SITE

ORIGIN = "https://tapchiqptd.vn"
HOSTS = ["tapchiqptd.vn", "www.tapchiqptd.vn"]
SLUG_LIMIT = 90  # the site cuts long slugs
VI_DAYS = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"]
ROBOTS = "User-agent: *\nDisallow: /Admin/\nDisallow: /DesktopModules/\nDisallow: /Keywords/\n"

TEXT: dict[str, dict[str, str]] = {
    "vi": {
        "home": "Trang chủ",
        "name": "TẠP CHÍ QUỐC PHÒNG TOÀN DÂN",
        "comments": "Ý KIẾN BẠN ĐỌC",
        "comment_form": "Họ và tên, Email, Nội dung ý kiến (Tạp chí chỉ đăng ý kiến có tiếng Việt có dấu)",
        "send": "Gửi ý kiến",
        "other": "CÁC TIN, BÀI ĐÃ ĐƯA",
        "focus": "TIÊU ĐIỂM",
        "most": "TIN, BÀI XEM NHIỀU",
        "page": "Trang",
    },
    "en": {
        "home": "Home",
        "name": "NATIONAL DEFENCE JOURNAL",
        "comments": "READERS' COMMENTS",
        "comment_form": "Full name, Email, Comment",
        "send": "Send",
        "other": "OTHER NEWS",
        "focus": "FOCUS",
        "most": "MOST READ",
        "page": "Page",
    },
}
SWITCH = {"vi": ("en", "English"), "en": ("vi", "Tiếng Việt")}  # the other edition
FOOTER = (
    "Tòa soạn: Số 8 phố Cửa Đông, quận Hoàn Kiếm, Hà Nội. Điện thoại: (024) 3000 0000. "
    "Email: toasoan@tapchiqptd.vn"
)


@dataclass
class Article:
    lang: str
    category: str
    cat_id: int
    cat_name: str
    id: int
    published: datetime
    title: str
    blocks: list[dict[str, Any]]
    byline: dict[str, str] | None
    chrome: str

    @property
    def slug(self) -> str:
        return slugify(self.title)[:SLUG_LIMIT].strip("-")

    @property
    def path(self) -> str:
        return f"/{self.lang}/{self.category}/{self.slug}/{self.id}.html"

    @property
    def url(self) -> str:
        return ORIGIN + self.path

    @property
    def listing(self) -> str:
        return f"/{self.lang}/{self.category}-{self.cat_id}.html"

    def image_url(self, name: str) -> str:
        day = self.published
        return f"/Uploads/Images/{day.year}/{day.month}/{day.day}/{name}"

    def printed_date(self) -> str:
        day = self.published
        if self.lang == "vi":
            return f"{VI_DAYS[day.weekday()]}, {day:%d/%m/%Y, %H:%M} (GMT+7)"
        return f"{day:%A, %B} {day.day}, {day:%Y, %H:%M} (GMT+7)"

    def printed_byline(self) -> str | None:
        if self.byline is None:
            return None
        return fold(self.byline["em"] + self.byline.get("after", ""))


@dataclass
class Site:
    clock: datetime
    page_size: int
    categories: dict[str, list[dict[str, Any]]]
    articles: list[Article]  # newest first
    dead: Article

    def in_listing(self, lang: str, category: str) -> list[Article]:
        items = [a for a in [*self.articles, self.dead] if (a.lang, a.category) == (lang, category)]
        return sorted(items, key=lambda a: a.published, reverse=True)

    def latest(self, lang: str, exclude: Article | None = None, count: int = 5) -> list[Article]:
        return [a for a in self.articles if a.lang == lang and a is not exclude][:count]


def load_site(sources: Path) -> Site:
    data = json.loads((sources / "articles.json").read_text("utf-8"))
    cats = {(lang, c["slug"]): c for lang, items in data["categories"].items() for c in items}

    def article(raw: dict[str, Any]) -> Article:
        cat = cats[(raw["lang"], raw["category"])]
        return Article(
            lang=raw["lang"],
            category=raw["category"],
            cat_id=cat["id"],
            cat_name=cat["name"],
            id=raw["id"],
            published=datetime.fromisoformat(raw["published"]),
            title=raw["title"],
            blocks=raw.get("blocks", []),
            byline=raw.get("byline"),
            chrome=raw.get("chrome", "comments-in-ct"),
        )

    articles = sorted(map(article, data["articles"]), key=lambda a: a.published, reverse=True)
    return Site(
        clock=datetime.fromisoformat(data["clock"]),
        page_size=data["page_size"],
        categories=data["categories"],
        articles=articles,
        dead=article(data["dead"]),
    )


# ----------------------------------------------------------------------------
# Pages


def clock(site: Site, lang: str) -> str:
    probe = Article(lang, "", 0, "", 0, site.clock, "", [], None, "")
    return probe.printed_date()


def menu(site: Site, lang: str) -> str:
    items = [f'<li><a href="/{lang}">{TEXT[lang]["home"]}</a></li>']
    items += [
        f'<li><a href="/{lang}/{c["slug"]}-{c["id"]}.html">{esc(c["name"])}</a></li>'
        for c in site.categories[lang]
    ]
    return '<ul class="menu-top">\n' + "\n".join(items) + "\n</ul>"


def page(site: Site, lang: str, *, title: str, head: str, main: str, right: str) -> str:
    """The chrome of every page: header with the site clock, menu, two columns, footer."""
    other, other_name = SWITCH[lang]
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
{head}
<link rel="stylesheet" href="/Portals/_default/Skins/TapChi/skin.css">
</head>
<body>
<form method="post" action="" id="Form">
<div id="header_menu">
<span id="subTopMenu-time"><p>{clock(site, lang)}</p></span>
<span class="header-lang"><a href="/{other}">{other_name}</a></span>
</div>
<div class="header-logo"><a href="/{lang}"><img src="/Portals/0/logo-{lang}.png" alt="{TEXT[lang]["name"]}"></a></div>
<div class="header-menu">
{menu(site, lang)}
</div>
<div class="page-main">
{main}
<div class="page-main-right">
{right}
</div>
</div>
<div class="footer">
<p><strong>{TEXT[lang]["name"]}</strong> - Cơ quan lý luận của Quân ủy Trung ương và Bộ Quốc phòng</p>
<p>{esc(FOOTER)}</p>
</div>
</form>
</body>
</html>
"""


def link_list(articles: list[Article], css: str, with_date: bool = False) -> str:
    lines = []
    for a in articles:
        date = f' <span class="date">({a.published:%d/%m/%Y})</span>' if with_date else ""
        lines.append(
            f'<p><a href="{attr(a.path)}" title="{attr(a.title)}">{esc(a.title)}</a>{date}</p>'
        )
    return f'<div class="{css}">\n' + "\n".join(lines) + "\n</div>"


def box(title: str, css: str, content: str) -> str:
    return f'<div class="{css}">\n<div class="box-title">{title}</div>\n{content}\n</div>'


def right_column(site: Site, lang: str, article: Article | None, focus: bool) -> str:
    boxes = []
    if focus:
        boxes.append(
            box(
                TEXT[lang]["focus"],
                "box-focus",
                link_list(site.latest(lang, article, 3), "list-focus"),
            )
        )
    most = list(reversed(site.latest(lang, article, 5)))
    boxes.append(box(TEXT[lang]["most"], "box-most-view", link_list(most, "list-most-view")))
    return "\n".join(boxes)


def body_html(article: Article) -> str:
    parts = []
    for block in article.blocks:
        if "lead" in block:
            parts.append(
                f'<p style="text-align: justify;"><strong>{esc(block["lead"])}</strong></p>'
            )
        elif "p" in block:
            parts.append(f'<p style="text-align: justify;">{esc(block["p"])}</p>')
        else:
            src = attr(article.image_url(block["img"]))
            rows = (
                f'<tr><td><img alt="" src="{src}" style="width: 600px; height: 400px;"></td></tr>'
            )
            caption = block.get("caption")
            if caption is not None:
                text = esc(caption) if caption.strip() else "&nbsp;"
                rows += f'\n<tr><td style="text-align: center;"><em>{text}</em></td></tr>'
            parts.append(
                '<table align="center" border="0" cellpadding="1" cellspacing="1" '
                f'class="image center" style="width: 600px;">\n<tbody>\n{rows}\n</tbody>\n</table>'
            )
    if article.byline is not None:
        after = esc(article.byline.get("after", ""))
        parts.append(
            f'<p style="text-align: right;"><strong><em>{esc(article.byline["em"])}</em></strong>{after}</p>'
        )
    return "\n".join(parts)


def article_page(site: Site, a: Article) -> str:
    t = TEXT[a.lang]
    focus_in_text = a.chrome == "focus-after-text"
    focus = (
        box(t["focus"], "box-focus", link_list(site.latest(a.lang, a, 3), "list-focus"))
        if focus_in_text
        else ""
    )
    comments = box(
        t["comments"],
        "newsdt-page-ct-comment",
        f'<p class="comment-note">{esc(t["comment_form"])}</p>\n'
        f'<input type="text" name="txtName"><textarea name="txtComment"></textarea>'
        f'<a class="btn-send" href="javascript:void(0)">{t["send"]}</a>',
    )
    others = [x for x in site.in_listing(a.lang, a.category) if x is not a and x is not site.dead][
        :5
    ]
    first = (
        f"/{a.lang}/{site.categories[a.lang][0]['slug']}-{site.categories[a.lang][0]['id']}.html"
    )
    main = f"""<div class="breadcrumb-newsdt">
<a href="/{a.lang}">{t["home"]}</a> <span>›</span> <a href="{a.listing}">{esc(a.cat_name)}</a>
</div>
<div class="page-main-left-newsdt">
<div class="newsdt-page-ct">
<div class="newsdt-page-ct-time"><span>{a.printed_date()}</span></div>
<div class="newsdt-page-ct-tit">{esc(a.title)}</div>
<div class="newsdt-page-ct-text">
{body_html(a)}
</div>
{focus}
{comments}
</div>
{box(t["other"], "news-other", link_list(others, "news-other-list", with_date=True))}
<div class="news-other-more"><a href="{first}">{t["page"]} »</a></div>
</div>"""
    head = (
        f'<link rel="canonical" href="{attr(a.url)}">\n'
        f'<meta property="og:title" content="{attr(a.title)}">\n'
        f'<meta property="og:url" content="{attr(a.url)}">\n'
        '<meta property="og:type" content="article">'
    )
    return page(
        site,
        a.lang,
        title=f"{a.title}",
        head=head,
        main=main,
        right=right_column(site, a.lang, a, not focus_in_text),
    )


def listing_file(lang: str, category: str, cat_id: int, number: int) -> str:
    """Where the server finds ``/<lang>/<category>-<id>.html?pageindex=N``."""
    query = f"@pageindex={number}" if number > 1 else ""
    return f"{lang}/{category}-{cat_id}{query}.html"


def pagenav(listing: str, number: int, total: int, t: dict[str, str]) -> str:
    links = []
    for n in range(1, total + 1):
        if n == number:
            links.append(f'<span class="current">{n}</span>')
        else:
            links.append(f'<a href="{listing}?pageindex={n}" title="{t["page"]} {n}">{n}</a>')
    if number < total:
        links.append(f'<a class="next" href="{listing}?pageindex={number + 1}">»</a>')
    return '<div id="pagenav">\n' + "\n".join(links) + "\n</div>"


def listing_page(
    site: Site, lang: str, cat: dict[str, Any], number: int, chunks: list[list[Article]]
) -> str:
    t = TEXT[lang]
    listing = f"/{lang}/{cat['slug']}-{cat['id']}.html"
    main = f"""<div class="breadcrumb-newsdt">
<a href="/{lang}">{t["home"]}</a> <span>›</span> <a href="{listing}">{esc(cat["name"])}</a>
</div>
<div class="page-main-left">
<div class="page-cate-title"><h1>{esc(cat["name"])}</h1></div>
{link_list(chunks[number - 1], "news-other-list", with_date=True)}
{pagenav(listing, number, len(chunks), t)}
</div>"""
    head = f'<link rel="canonical" href="{ORIGIN}{listing}">'
    title = f"{cat['name']} - {t['name']}"
    return page(
        site, lang, title=title, head=head, main=main, right=right_column(site, lang, None, True)
    )


def home_page(site: Site, lang: str) -> str:
    t = TEXT[lang]
    blocks = []
    for cat in site.categories[lang]:
        items = [a for a in site.in_listing(lang, cat["slug"]) if a is not site.dead][:3]
        listing = f"/{lang}/{cat['slug']}-{cat['id']}.html"
        blocks.append(
            f'<div class="home-cate"><h2><a href="{listing}">{esc(cat["name"])}</a></h2>\n'
            + link_list(items, "home-cate-list")
            + "\n</div>"
        )
    main = '<div class="page-main-left">\n' + "\n".join(blocks) + "\n</div>"
    return page(
        site,
        lang,
        title=t["name"],
        head=f'<link rel="canonical" href="{ORIGIN}/{lang}">',
        main=main,
        right=right_column(site, lang, None, True),
    )


# ----------------------------------------------------------------------------
# Build


def build(sources: Path, out: Path) -> dict[str, Any]:
    site = load_site(sources)
    pages = out / "pages"
    if pages.exists():
        for path in sorted(pages.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    write(pages / "robots.txt", ROBOTS)
    write(pages / "index.html", home_page(site, "vi"))
    for lang in ("vi", "en"):
        write(pages / lang / "index.html", home_page(site, lang))
    for a in site.articles:
        write(pages / a.path.lstrip("/"), article_page(site, a))

    listings = []
    for lang, cats in site.categories.items():
        for cat in cats:
            items = site.in_listing(lang, cat["slug"])
            size = site.page_size
            chunks = [items[i : i + size] for i in range(0, len(items), size)] or [[]]
            for number in range(1, len(chunks) + 1):
                write(
                    pages / listing_file(lang, cat["slug"], cat["id"], number),
                    listing_page(site, lang, cat, number, chunks),
                )
                query = f"?pageindex={number}" if number > 1 else ""
                listings.append(
                    {
                        "url": f"{ORIGIN}/{lang}/{cat['slug']}-{cat['id']}.html{query}",
                        "page": number,
                        "pages": len(chunks),
                        "articles": [a.url for a in chunks[number - 1]],
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
        images = [b for b in a.blocks if "img" in b]
        articles.append(
            {
                "url": a.url,
                "article_id": str(a.id),
                "language": a.lang,
                "section": a.category,
                "title": fold(a.title),
                "published": a.published.isoformat(),
                "published_raw": a.printed_date(),
                "image_count": len(images),
                "caption_count": sum(1 for b in images if fold(b.get("caption") or "")),
                "images": [
                    {
                        "url": ORIGIN + a.image_url(b["img"]),
                        "caption": fold(b.get("caption") or "") or None,
                    }
                    for b in images
                ],
                "byline": a.printed_byline(),
            }
        )
    return {
        "site": "tapchiqptd.vn",
        "generated_by": "python -m replicas tapchiqptd",
        "hosts": HOSTS,
        "timezone": "+07:00",
        "clock": clock(site, "vi"),
        "page_size": site.page_size,
        "article_count": len(articles),
        "articles": articles,
        "dead_urls": [site.dead.url],
        "listings": listings,
    }


def provenance(site: Site) -> str:
    rows = "\n".join(
        f"| `{a.path}` | {a.lang} | {a.printed_date()} | "
        f"{'byline `' + (a.printed_byline() or '') + '`' if a.byline else 'no byline'} |"
        for a in site.articles
    )
    return f"""# tapchiqptd.vn replica: where every page comes from

Generated by `python -m replicas tapchiqptd` from
`replicas/sources/tapchiqptd.vn/articles.json`; do not edit the pages by
hand. `manifest.json` lists every article with what its page holds.

## Real (as recorded in shared/SITES.md, section tapchiqptd.vn)

- URL shapes: Vietnamese articles `/vi/<category>/<slug>/<id>.html`, listings
  `/vi/<category>-<catid>.html?pageindex=N` with links `.news-other-list p a`
  and the next page in `#pagenav a`; English articles
  `/en/<news|theory-and-practice|events-and-comments|research-and-discussion>/<slug>/<id>.html`
  and the English listings `/en/news-54.html`, `-56`, `-57`, `-58`.
- Article parts: title `.newsdt-page-ct-tit` (not `h1`), date
  `.newsdt-page-ct-time span` (`Tuesday, June 18, 2024, 10:08 (GMT+7)`), body
  `.page-main-left-newsdt .newsdt-page-ct .newsdt-page-ct-text` with `p` and
  `table` children (image + caption tables), the author in the last `p` as
  `strong > em` behind a military rank.
- The site clock above the article (`Thứ Sáu, 22/11/2024, 16:08 (GMT+7)`), a
  breadcrumb, and the blocks after the article: `Ý KIẾN BẠN ĐỌC`,
  `CÁC TIN, BÀI ĐÃ ĐƯA`, `TIÊU ĐIỂM`, `TIN, BÀI XEM NHIỀU`, `Tòa soạn:`.
- The clock's markup (`#header_menu span#subTopMenu-time p`) and the order
  time-then-title inside `.newsdt-page-ct`, and slugs cut at about 90
  characters: from a public scraper's test pages of the English edition
  (synthetic pages modelled on the site), not from a saved real page.

## Invented

- Every article (texts, people, events, figures, photos), id, slug and publish
  time; all authors' names are invented. Vietnamese category ids (`tin-tuc-14`,
  `bien-dao-viet-nam-98`) are invented; the English ones are real.
- The date format of Vietnamese pages (`Thứ Ba, 18/06/2024, 10:08 (GMT+7)`,
  the clock's format); English pages print the English format of SITES.md.
- All page chrome other than the selectors above: header, menus, class names of
  the boxes, English headings of the boxes on English pages, the comment form,
  the footer address and telephone, image paths (`/Uploads/Images/…`), the
  image table's attributes and the `em` around captions, listing order, page
  size ({site.page_size}), the dates after listing links, robots.txt.
- Where the boxes sit: the reader-comment box always inside `.newsdt-page-ct`
  right after the text; on some pages the focus box too; the related news in
  `.page-main-left-newsdt`, so a selector looser than the text container
  catches them.
- The page after the last one of a listing is not known; the replica's
  `#pagenav` links only existing pages. Pages 2+ are stored as
  `<category>-<id>@pageindex=N.html`.
- The dead listing link `{site.dead.path}` (404).

## Pages

| path | lang | date as printed | credit |
| --- | --- | --- | --- |
{rows}
"""


def check(sources: Path, out: Path) -> list[str]:
    """Differences between the committed replica and a fresh build."""
    return build_check(build, sources, out)


def main(argv: list[str] | None = None) -> int:
    return run(build, SITE, SOURCES, OUT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
