"""tapchiqptd.vn: articles written for the replica in Vietnamese and English
(``articles.json``: also the categories and the time the site clock shows).

Pages follow SITES.md: article ``/<vi|en>/<category>/<slug>/<id>.html``, listings
``/<vi|en>/<category>-<id>.html`` paged with ``?pageindex=N`` (stored as
``<category>-<id>@pageindex=N.html``). Every article page has, as the real site's: the
site clock above the article (the first date on the page, not the publish date), the
headline in ``div.newsdt-page-ct-tit``, image tables in the text, the author as the last
``p`` in ``strong > em`` behind a rank, and boilerplate blocks (reader comments, focus,
related news) inside the article's parent, right after the text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from replicas import skeleton as sk
from replicas.skeleton import VI_WEEKDAYS, attr, esc, fold

SITE = "tapchiqptd.vn"
ORIGIN = "https://tapchiqptd.vn"
HOSTS = ["tapchiqptd.vn", "www.tapchiqptd.vn"]
SLUG_LIMIT = 90  # the site cuts long slugs
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


def printed_date(lang: str, day: datetime) -> str:
    if lang == "vi":
        return f"{VI_WEEKDAYS[day.weekday()]}, {day:%d/%m/%Y, %H:%M} (GMT+7)"
    return f"{day:%A, %B} {day.day}, {day:%Y, %H:%M} (GMT+7)"


@dataclass(kw_only=True)
class Article(sk.Article):
    lang: str
    category: dict[str, Any]  # slug, id, name
    blocks: list[dict[str, Any]]
    byline: dict[str, str] | None
    chrome: str

    @property
    def path(self) -> str:
        slug = sk.slugify(self.title)[:SLUG_LIMIT].strip("-")
        return f"/{self.lang}/{self.category['slug']}/{slug}/{self.id}.html"

    def image_url(self, name: str) -> str:
        day = self.published
        return f"/Uploads/Images/{day.year}/{day.month}/{day.day}/{name}"

    def printed_byline(self) -> str | None:
        return (
            None if self.byline is None else fold(self.byline["em"] + self.byline.get("after", ""))
        )


def listing(lang: str, cat: dict[str, Any]) -> str:
    return f"/{lang}/{cat['slug']}-{cat['id']}.html"


def listing_url(lang: str, cat: dict[str, Any], number: int) -> str:
    return listing(lang, cat) + (f"?pageindex={number}" if number > 1 else "")


@dataclass
class Site:
    clock: datetime
    page_size: int
    categories: dict[str, list[dict[str, Any]]]
    articles: list[Article]  # newest first
    dead: Article

    def in_listing(self, lang: str, category: str) -> list[Article]:
        items = [*self.articles, self.dead]
        return sk.newest_first(a for a in items if (a.lang, a.category["slug"]) == (lang, category))

    def latest(self, lang: str, exclude: Article | None = None, count: int = 5) -> list[Article]:
        return [a for a in self.articles if a.lang == lang and a is not exclude][:count]


def load_site(sources: Path) -> Site:
    data = sk.load(sources / "articles.json")
    cats = {(lang, c["slug"]): c for lang, items in data["categories"].items() for c in items}

    def article(raw: dict[str, Any]) -> Article:
        return Article(
            origin=ORIGIN,
            id=raw["id"],
            title=raw["title"],
            published=datetime.fromisoformat(raw["published"]),
            lang=raw["lang"],
            category=cats[(raw["lang"], raw["category"])],
            blocks=raw.get("blocks", []),
            byline=raw.get("byline"),
            chrome=raw.get("chrome", "comments-in-ct"),
        )

    return Site(
        clock=datetime.fromisoformat(data["clock"]),
        page_size=data["page_size"],
        categories=data["categories"],
        articles=sk.newest_first(map(article, data["articles"])),
        dead=article(data["dead"]),
    )


# ----------------------------------------------------------------------------
# Pages


def page(site: Site, lang: str, *, title: str, head: str, main: str, right: str) -> str:
    """The chrome of every page: header with the site clock, menu, two columns, footer."""
    other, other_name = SWITCH[lang]
    menu = [f'<li><a href="/{lang}">{TEXT[lang]["home"]}</a></li>']
    menu += [
        f'<li><a href="{listing(lang, c)}">{esc(c["name"])}</a></li>' for c in site.categories[lang]
    ]
    name = TEXT[lang]["name"]
    body = f"""<form method="post" action="" id="Form">
<div id="header_menu">
<span id="subTopMenu-time"><p>{printed_date(lang, site.clock)}</p></span>
<span class="header-lang"><a href="/{other}">{other_name}</a></span>
</div>
<div class="header-logo"><a href="/{lang}"><img src="/Portals/0/logo-{lang}.png" alt="{name}"></a></div>
<div class="header-menu">
<ul class="menu-top">
{chr(10).join(menu)}
</ul>
</div>
<div class="page-main">
{main}
<div class="page-main-right">
{right}
</div>
</div>
<div class="footer">
<p><strong>{name}</strong> - Cơ quan lý luận của Quân ủy Trung ương và Bộ Quốc phòng</p>
<p>{esc(FOOTER)}</p>
</div>
</form>"""
    style = '<link rel="stylesheet" href="/Portals/_default/Skins/TapChi/skin.css">'
    return sk.document(lang, title, f"{head}\n{style}", body)


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


def focus_box(site: Site, lang: str, article: Article | None) -> str:
    return box(
        TEXT[lang]["focus"], "box-focus", link_list(site.latest(lang, article, 3), "list-focus")
    )


def right_column(site: Site, lang: str, article: Article | None, focus: bool) -> str:
    most = list(reversed(site.latest(lang, article, 5)))
    most_box = box(TEXT[lang]["most"], "box-most-view", link_list(most, "list-most-view"))
    return f"{focus_box(site, lang, article)}\n{most_box}" if focus else most_box


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
    comments = box(
        t["comments"],
        "newsdt-page-ct-comment",
        f'<p class="comment-note">{esc(t["comment_form"])}</p>\n'
        f'<input type="text" name="txtName"><textarea name="txtComment"></textarea>'
        f'<a class="btn-send" href="javascript:void(0)">{t["send"]}</a>',
    )
    others = [
        x for x in site.in_listing(a.lang, a.category["slug"]) if x is not a and x is not site.dead
    ]
    first = listing(a.lang, site.categories[a.lang][0])
    main = f"""<div class="breadcrumb-newsdt">
<a href="/{a.lang}">{t["home"]}</a> <span>›</span> <a href="{listing(a.lang, a.category)}">{esc(a.category["name"])}</a>
</div>
<div class="page-main-left-newsdt">
<div class="newsdt-page-ct">
<div class="newsdt-page-ct-time"><span>{printed_date(a.lang, a.published)}</span></div>
<div class="newsdt-page-ct-tit">{esc(a.title)}</div>
<div class="newsdt-page-ct-text">
{body_html(a)}
</div>
{focus_box(site, a.lang, a) if focus_in_text else ""}
{comments}
</div>
{box(t["other"], "news-other", link_list(others[:5], "news-other-list", with_date=True))}
<div class="news-other-more"><a href="{first}">{t["page"]} »</a></div>
</div>"""
    head = (
        f'<link rel="canonical" href="{attr(a.url)}">\n'
        f'<meta property="og:title" content="{attr(a.title)}">\n'
        f'<meta property="og:url" content="{attr(a.url)}">\n'
        '<meta property="og:type" content="article">'
    )
    right = right_column(site, a.lang, a, not focus_in_text)
    return page(site, a.lang, title=a.title, head=head, main=main, right=right)


def listing_page(
    site: Site, lang: str, cat: dict[str, Any], number: int, chunks: list[list[Article]]
) -> str:
    t, path = TEXT[lang], listing(lang, cat)
    pager = [
        f'<span class="current">{n}</span>'
        if n == number
        else f'<a href="{path}?pageindex={n}" title="{t["page"]} {n}">{n}</a>'
        for n in range(1, len(chunks) + 1)
    ]
    if number < len(chunks):
        pager.append(f'<a class="next" href="{path}?pageindex={number + 1}">»</a>')
    main = f"""<div class="breadcrumb-newsdt">
<a href="/{lang}">{t["home"]}</a> <span>›</span> <a href="{path}">{esc(cat["name"])}</a>
</div>
<div class="page-main-left">
<div class="page-cate-title"><h1>{esc(cat["name"])}</h1></div>
{link_list(chunks[number - 1], "news-other-list", with_date=True)}
<div id="pagenav">
{chr(10).join(pager)}
</div>
</div>"""
    head = f'<link rel="canonical" href="{ORIGIN}{path}">'
    title = f"{cat['name']} - {t['name']}"
    return page(
        site, lang, title=title, head=head, main=main, right=right_column(site, lang, None, True)
    )


def home_page(site: Site, lang: str) -> str:
    blocks = [
        f'<div class="home-cate"><h2><a href="{listing(lang, cat)}">{esc(cat["name"])}</a></h2>\n'
        + link_list(
            [a for a in site.in_listing(lang, cat["slug"]) if a is not site.dead][:3],
            "home-cate-list",
        )
        + "\n</div>"
        for cat in site.categories[lang]
    ]
    main = '<div class="page-main-left">\n' + "\n".join(blocks) + "\n</div>"
    head = f'<link rel="canonical" href="{ORIGIN}/{lang}">'
    right = right_column(site, lang, None, True)
    return page(site, lang, title=TEXT[lang]["name"], head=head, main=main, right=right)


# ----------------------------------------------------------------------------
# Build


def build(sources: Path) -> sk.Replica:
    site = load_site(sources)
    b = sk.Build("tapchiqptd", SITE, ORIGIN, HOSTS)
    b.page("/robots.txt", sk.robots("/Admin/", "/DesktopModules/", "/Keywords/"))
    b.page("/", home_page(site, "vi"))
    for lang in ("vi", "en"):
        b.page(f"/{lang}/index.html", home_page(site, lang))
    for a in site.articles:
        b.page(a.path, article_page(site, a))
    for lang, cats in site.categories.items():
        for cat in cats:
            b.listing(
                site.in_listing(lang, cat["slug"]),
                site.page_size,
                partial(listing_url, lang, cat),
                partial(listing_page, site, lang, cat),
            )
    rows = [
        (
            f"`{a.path}`",
            a.lang,
            printed_date(a.lang, a.published),
            f"byline `{a.printed_byline() or ''}`" if a.byline else "no byline",
        )
        for a in site.articles
    ]
    account = b.provenance(
        f"`replicas/sources/{SITE}/articles.json`",
        rows,
        page_size=site.page_size,
        dead=site.dead.path,
    )
    return b.replica(
        [manifest_entry(a) for a in site.articles],
        account,
        timezone="+07:00",
        clock=printed_date("vi", site.clock),
        page_size=site.page_size,
        dead_urls=[site.dead.url],
    )


def manifest_entry(a: Article) -> dict[str, Any]:
    images = [b for b in a.blocks if "img" in b]
    captions = [fold(b.get("caption") or "") or None for b in images]
    return {
        "url": a.url,
        "article_id": str(a.id),
        "language": a.lang,
        "section": a.category["slug"],
        "title": fold(a.title),
        "published": a.published.isoformat(),
        "published_raw": printed_date(a.lang, a.published),
        "image_count": len(images),
        "caption_count": sum(1 for c in captions if c),
        "images": [
            {"url": ORIGIN + a.image_url(b["img"]), "caption": c}
            for b, c in zip(images, captions, strict=True)
        ],
        "byline": a.printed_byline(),
    }
