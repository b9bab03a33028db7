"""81.cn (PLA Daily): one real article page, served byte for byte, is also the skeleton
of every written article (``templates/article.html``, its values as fields); the build
checks that the real values give the real page back (see ``sources/81.cn/replica.md``).
The manifest is read back from the built pages with lxml.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import lxml.html

from replicas import skeleton as sk
from replicas.skeleton import attr, esc, fold

SITE = "81.cn"
ORIGIN = "https://www.81.cn"
PRINTED_ORIGIN = "http://www.81.cn"  # the pages link over http, as the real one does
HOSTS = ["www.81.cn", "81.cn"]
PAGE_SIZE = 4  # listing items per page: small, so that 要闻 reaches three pages
html = sk.Templates(SITE)
CREDITS = {"plain": "{c}{n}摄", "bracket": "{c}（{n}摄）", "spaced": "{c} {n} 摄"}
HTMLBOX = re.compile(r"<!--HTMLBOX-->(.*)<!--HTMLBOX-->", re.S)


@dataclass(kw_only=True)
class Article(sk.Article):
    """An article, its ``data`` its entry in ``replica.json`` (``source`` "real") or in
    ``written.json`` ("written"); or the dead listing link."""

    source: str = "dead"
    body: str = ""  # the HTML between the <!--HTMLBOX--> comments

    @property
    def section(self) -> str:
        return str(self.data["section"])

    @property
    def path(self) -> str:
        return f"/{self.section}/{self.id}.html"

    @classmethod
    def read(cls, entry: dict[str, Any], **fields: Any) -> Article:
        return cls.of(entry, ORIGIN, hours=8, **fields)  # China time


def render_body(entry: dict[str, Any]) -> str:
    """HTMLBOX content in the real page's markup: one line, as the CMS writes it;
    line breaks inside a paragraph's text stay (see written.json's note)."""
    parts = []
    images = 0
    day = sk.local(entry["published"], hours=8)
    for block in entry["blocks"]:
        if "img" in block:
            images += 1
            digest = hashlib.md5(f"{entry['id']}-{images}".encode()).hexdigest()
            src = f"/{entry['section']}/_attachment/{day:%Y/%m/%d}/{entry['id']}_{digest}.jpg"
            data_id = 7435000 + entry["id"] % 997 + images
            parts.append(html("image-p", src=attr(src), data_id=data_id))
        elif "caption" in block:
            credit = block.get("credit")
            form = CREDITS[block["form"]] if credit else "{c}"
            parts.append(html("caption-p", text=esc(form.format(c=block["caption"], n=credit))))
        elif "reporter" in block:
            parts.append(html("text-p", text=esc(block["reporter"])))
        else:
            text = esc(block["p"])
            parts.append(
                html("text-p", text=f"<strong>{text}</strong>" if block.get("bold") else text)
            )
    return f"\n{' ' * 35}{''.join(parts)}\n{' ' * 27}"  # the real page's indentation


@dataclass
class Site(sk.Site[Article]):
    real: str  # the real article page

    def span(self, start: str, end: str) -> str:
        """The real page from the line holding ``start`` to the end of the last line
        holding ``end``."""
        first = self.real.rfind("\n", 0, self.real.index(start)) + 1
        return self.real[first : self.real.index("\n", self.real.rindex(end)) + 1]

    def page(self, *, title: str, page_count: int, main: str) -> str:
        """A listing or home page: the real page's includes around ``main``."""
        footer = self.span("<!-- 页脚-->", "make template id  637 name 公共底部引入 -->")
        return html.whole(
            "page",
            page_count=page_count,
            title=esc(title),
            head=self.span("<!-- 公共头部引入 -->", "make template id  504 name 公共头部引入 -->"),
            header=self.span("<!-- 头部 -->", "make template id  306 name 响应式列表页-头部 -->"),
            main=main,
            footer=footer.split("<!-- 页脚-->", 1)[1].lstrip("\n"),
        )


def article_page(site: Site, a: Article) -> str:
    """``templates/article.html``, the real page with its article's values as fields."""
    data, day = a.data, a.published
    section = site.meta["sections"][a.section]
    author = data.get("author_info", f"作者：{data['reporter']}" if data["reporter"] else None)
    made = data.get("made", f"{day + timedelta(minutes=31, seconds=5):%Y-%m-%d %H:%M:%S}")
    author_line = f'           <span  id="author-info">{esc(author or "")}</span>'
    published = f"           <span>发布：{day:%Y-%m-%d %H:%M:%S}</span>"
    return html(
        "article",
        title=esc(a.title),
        title_attr=attr(a.title),
        node=section["node"],
        id=a.id,
        date=f"{day:%Y-%m-%d}",
        editor=esc(data["editor"]),
        editor_attr=attr(data["editor"]),
        reporter_attr=attr(data["reporter"]),
        section=a.section,
        section_name=esc(section["name"]),
        author_info=author_line if author else "",
        published="" if data.get("no_publish_span") else published,
        body=a.body,
        made=made,
    )


def item_href(a: Article, index: int) -> str:
    """Listings mix relative links, absolute http links and, once, the bare host."""
    if index % 3 == 1:
        return f"{a.id}.html"
    host = "http://81.cn" if index % 3 == 2 else PRINTED_ORIGIN
    return host + a.path


def listing_url(section: str, number: int) -> str:
    return f"/{section}/" + ("index.html" if number == 1 else f"index_{number}.html")


def listing_page(site: Site, section: str, number: int, chunks: list[list[Article]]) -> str:
    name = site.meta["sections"][section]["name"]
    items = [
        html(
            "listing-item",
            **item.fields(),
            href=attr(item_href(item, i)),
            time=f"{item.published:%Y-%m-%d %H:%M}",
        )
        for i, item in enumerate(chunks[number - 1])
    ]
    main = html(
        "listing",
        name=esc(name),
        items="\n".join(items),
        pages=len(chunks),
        number=number,
        total=sum(len(c) for c in chunks),
    )
    return site.page(title=f"{name} - 中国军网", page_count=len(chunks), main=main)


def home_page(site: Site) -> str:
    boxes = []
    for slug, sec in site.meta["sections"].items():
        links = [
            html("home-link", href=attr(PRINTED_ORIGIN + a.path), title=esc(a.title))
            for a in [a for a in site.articles if a.section == slug][:4]
        ]
        boxes.append(html("home-box", section=slug, name=esc(sec["name"]), links="\n".join(links)))
    main = html("home", boxes="\n".join(boxes))
    return site.page(title="中国军网", page_count=1, main=main)


def page_facts(html: str) -> dict[str, Any]:
    """What an article page holds, read with lxml: the manifest's view of it."""
    root = lxml.html.fromstring(html)
    info = "//div[contains(@class,'artichle-info')]"
    title = fold("".join(root.xpath(f"{info}/h2")[0].itertext()))
    spans = [fold(s.text_content()) for s in root.xpath(f"{info}/p/span")]
    printed = [s.removeprefix("发布：") for s in spans if s.startswith("发布：")]
    meta_date = root.xpath("//meta[@name='publishdate']/@content")
    day = printed[0].replace(" ", "T") if printed else meta_date[0]
    paragraphs = root.xpath("//ul[@id='main-news-list']")[0].xpath("./p")
    images = captions = 0
    for p, after in zip(paragraphs, [*paragraphs[1:], None], strict=True):
        if p.xpath(".//img"):
            images += len(p.xpath(".//img"))
            if after is not None and "center" in (after.get("style") or ""):
                captions += not after.xpath(".//img")
    texts = [fold(p.text_content()) for p in paragraphs if fold(p.text_content())]
    reporter = next((t for t in texts[:4] if t.startswith("■")), None)
    author_info = root.xpath("//span[@id='author-info']")
    published = sk.local(day, hours=8)
    return {
        "title": title,
        "published": published.isoformat(),
        "published_raw": printed[0] if printed else f"{published:%Y-%m-%d}",
        "image_count": images,
        "caption_count": captions,
        "byline": reporter or (fold(author_info[0].text_content()) if author_info else None),
    }


def build(sources: Path) -> sk.Replica:
    meta = sk.load(sources / "replica.json")
    text = (sources / meta["real"]["file"]).read_text(encoding="utf-8")
    body = HTMLBOX.search(text)
    assert body is not None
    real = Article.read(meta["real"], source="real", body=body.group(1))
    written = [
        Article.read(e, source="written", body=render_body(e))
        for e in sk.load(sources / "written.json")["articles"]
    ]
    site = Site(meta, [real, *written], Article.read(meta["dead_link"]), text)
    if article_page(site, real) != text:
        raise ValueError("templates/article.html does not give back the real page")
    b = sk.Build("pla_daily", SITE, ORIGIN, HOSTS, ["/ysym/ssjgy/"], timezone="+08:00")
    b.page("/", home_page(site))
    entries: dict[str, dict[str, Any]] = {}  # read back from the built pages
    for a in site.articles:
        page = article_page(site, a)
        b.page(a.path, page)
        more = {"section": a.section, "source": a.source, "language": "zh"}
        entries[a.path] = {**more, **page_facts(page)}
    for section in site.meta["sections"]:
        b.listing(
            site.listed(section=section),
            PAGE_SIZE,
            partial(listing_url, section),
            partial(listing_page, site, section),
        )
    written_row = "written (`written.json#{}`) in the real page's skeleton"
    real_row = "real page, byte for byte (`sources/81.cn/real/`)"
    return b.replica(
        site,
        lambda a: entries[a.path],
        f"`replicas/sources/{SITE}/` (see the PROVENANCE.md there)",
        lambda a: [real_row if a.source == "real" else written_row.format(a.data["key"])],
        facts={"real": real.path},
        home=ORIGIN + "/",
    )
