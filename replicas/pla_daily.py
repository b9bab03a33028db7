"""Build the 81.cn replica (``crawler/mirror/sites/81.cn``) from its sources.

Run ``python -m replicas pla_daily`` after changing a source or this
script; ``--check`` only reports whether the committed replica is what the
sources build (the tests run it).

Sources (``replicas/sources/81.cn``, see its PROVENANCE.md):

- ``real/pla-daily-article-16473227.html``: one whole real article page, served
  byte for byte, and the skeleton of every other article page: a written
  article is the real page with its title, metas, header line, body (between
  the ``<!--HTMLBOX-->`` comments) and ids replaced. The build checks that
  rendering the real article's own data into the skeleton gives back the real
  page exactly, so the skeleton is the real one;
- ``written.json``: the articles written for the replica (blocks: paragraphs,
  the ``■`` reporter line, images, centred captions with their credit);
- ``replica.json``: sections, the real article's data, the dead listing link.

Listing and home pages reuse the real page's shared header and footer
includes around an invented list. The manifest is read back from the built
pages with lxml, not from the spider, so the tests check the spider against
what the pages hold.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import lxml.html

from replicas.skeleton import attr, esc, fold, run, write
from replicas.skeleton import check as build_check

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SITE = "81.cn"
SOURCES = HERE / "sources" / SITE
OUT = REPO / "crawler" / "mirror" / "sites" / SITE

ORIGIN = "https://www.81.cn"
PRINTED_ORIGIN = "http://www.81.cn"  # the pages link over http, as the real one does
HOSTS = ["www.81.cn", "81.cn"]
TZ = timezone(timedelta(hours=8))  # China time
PAGE_SIZE = 4  # listing items per page: small, so that 要闻 reaches three pages
ROBOTS = "User-agent: *\nDisallow: /ysym/ssjgy/\n"
REAL_MADE_OFFSET = timedelta(minutes=31, seconds=5)  # page "make time" after publishing

TEXT_P = '<p tag="ueditor-text-p_display" class="ueditor-text-p_display" style="">{}</p>'
CAPTION_P = (
    '<p tag="ueditor-text-p_display" class="ueditor-text-p_display" '
    'style="text-indent: 0em; text-align: center;">'
    '<span style="font-family: 楷体, 楷体_GB2312, SimKai;">{}</span></p>'
)
IMAGE_P = (
    '<p class="ueditor-paragraph-media ueditor-paragraph-img" tag="ueditor-paragraph-media" '
    'style="text-indent: 0em; text-align: center;"><img src="{src}" data-id="{data_id}"></p>'
)
BODY_LEAD = "\n                                   "
BODY_TAIL = "\n                           "


# ----------------------------------------------------------------------------
# Articles


@dataclass
class Article:
    key: str
    source: str  # "real" or "written"
    article_id: int
    section: str
    published: datetime
    date_only: bool  # no "发布：" line in the header: the meta date is all there is
    title: str
    editor: str
    reporter: str
    author_info: str | None
    body: str  # the HTML between the <!--HTMLBOX--> comments
    made: str  # the page's "make time" comment

    @property
    def path(self) -> str:
        return f"/{self.section}/{self.article_id}.html"

    @property
    def url(self) -> str:
        return ORIGIN + self.path

    @property
    def printed_url(self) -> str:
        return PRINTED_ORIGIN + self.path


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def caption_text(block: dict[str, Any]) -> str:
    credit = block.get("credit")
    if not credit:
        return str(block["caption"])
    form = {"plain": "{c}{n}摄", "bracket": "{c}（{n}摄）", "spaced": "{c} {n} 摄"}[block["form"]]
    return form.format(c=block["caption"], n=credit)


def render_body(entry: dict[str, Any], published: datetime) -> str:
    """HTMLBOX content in the real page's markup: one line, as the CMS writes it;
    line breaks inside a paragraph's text stay (see written.json's note)."""
    parts = []
    images = 0
    for block in entry["blocks"]:
        if "img" in block:
            images += 1
            digest = hashlib.md5(f"{entry['id']}-{images}".encode()).hexdigest()
            src = f"/{entry['section']}/_attachment/{published:%Y/%m/%d}/{entry['id']}_{digest}.jpg"
            parts.append(
                IMAGE_P.format(src=attr(src), data_id=7435000 + entry["id"] % 997 + images)
            )
        elif "caption" in block:
            parts.append(CAPTION_P.format(esc(caption_text(block))))
        elif "reporter" in block:
            parts.append(TEXT_P.format(esc(block["reporter"])))
        else:
            text = esc(block["p"])
            parts.append(TEXT_P.format(f"<strong>{text}</strong>" if block.get("bold") else text))
    return BODY_LEAD + "".join(parts) + BODY_TAIL


def load_written(sources: Path) -> list[Article]:
    data = json.loads((sources / "written.json").read_text(encoding="utf-8"))
    articles = []
    for entry in data["articles"]:
        date_only = bool(entry.get("no_publish_span"))
        published = local(entry["published"])
        reporter = entry["reporter"]
        author_info = entry.get("author_info", f"作者：{reporter}" if reporter else None)
        articles.append(
            Article(
                key=entry["key"],
                source="written",
                article_id=entry["id"],
                section=entry["section"],
                published=published,
                date_only=date_only,
                title=entry["title"],
                editor=entry["editor"],
                reporter=reporter,
                author_info=author_info,
                body=render_body(entry, published),
                made=f"{published + REAL_MADE_OFFSET:%Y-%m-%d %H:%M:%S}",
            )
        )
    return articles


# ----------------------------------------------------------------------------
# The real page as the skeleton


def replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise ValueError(f"skeleton: {old!r} found {text.count(old)} times, expected once")
    return text.replace(old, new)


class Skeleton:
    """The real article page, and its parts shared with other pages."""

    def __init__(self, text: str, real: Article, sections: dict[str, Any]) -> None:
        self.text = text
        self.real = real
        self.sections = sections
        body = re.search(r"<!--HTMLBOX-->(.*)<!--HTMLBOX-->", text, re.S)
        if body is None:
            raise ValueError("the real page has no HTMLBOX")
        self.real_body = body.group(1)

    def span(self, start: str, end: str) -> str:
        """The text from the line holding ``start`` to the end of the last line holding ``end``."""
        first = self.text.rfind("\n", 0, self.text.index(start)) + 1
        last = self.text.index("\n", self.text.rindex(end)) + 1
        return self.text[first:last]

    @property
    def head_include(self) -> str:
        return self.span("<!-- 公共头部引入 -->", "make template id  504 name 公共头部引入 -->")

    @property
    def header(self) -> str:
        return self.span("<!-- 头部 -->", "make template id  306 name 响应式列表页-头部 -->")

    @property
    def footer(self) -> str:
        return self.span("<!-- 页脚-->", "make template id  637 name 公共底部引入 -->")

    def article(self, a: Article) -> str:
        """The real page with ``a`` in place of the real article."""
        r = self.real
        text = self.text
        for old, new in (
            (f'content="{r.title} - 中国军网"', f'content="{attr(a.title)} - 中国军网"'),
            (f"<title>{r.title} - 中国军网</title>", f"<title>{esc(a.title)} - 中国军网</title>"),
            (
                f'content="cbf-{self.sections[r.section]["node"]}" id="node-id-path"',
                f'content="cbf-{self.sections[a.section]["node"]}" id="node-id-path"',
            ),
            (f'content="cbf-{r.article_id}"', f'content="cbf-{a.article_id}"'),
            (
                f'"publishdate" content="{r.published:%Y-%m-%d}"',
                f'"publishdate" content="{a.published:%Y-%m-%d}"',
            ),
            (f'name="author"  content="{r.editor}"', f'name="author"  content="{a.editor}"'),
            (f'name="editor" content="{r.editor}"', f'name="editor" content="{a.editor}"'),
            (f'name="reporter" content="{r.reporter}"', f'name="reporter" content="{a.reporter}"'),
            (
                f'<a href="{PRINTED_ORIGIN}/{r.section}/index.html" target="_blank" >'
                f"{self.sections[r.section]['name']}</a>",
                f'<a href="{PRINTED_ORIGIN}/{a.section}/index.html" target="_blank" >'
                f"{self.sections[a.section]['name']}</a>",
            ),
            (f"<h2>{r.title}<span", f"<h2>{esc(a.title)}<span"),
            (
                f'           <span  id="author-info">{r.author_info}</span>',
                f'           <span  id="author-info">{esc(a.author_info)}</span>'
                if a.author_info
                else "",
            ),
            (f"<span >责任编辑：{r.editor}</span>", f"<span >责任编辑：{esc(a.editor)}</span>"),
            (
                f"           <span>发布：{r.published:%Y-%m-%d %H:%M:%S}</span>",
                ""
                if a.date_only
                else f"           <span>发布：{a.published:%Y-%m-%d %H:%M:%S}</span>",
            ),
            (
                f"<!--HTMLBOX-->{self.real_body}<!--HTMLBOX-->",
                f"<!--HTMLBOX-->{a.body}<!--HTMLBOX-->",
            ),
            (f"'{r.article_id}',", f"'{a.article_id}',"),
            (f"<!-- make time {r.made} -->", f"<!-- make time {a.made} -->"),
        ):
            text = replace_once(text, old, new)
        return text

    def page(self, *, title: str, page_count: int, main: str) -> str:
        """A listing or home page: the shared includes around ``main``."""
        return f"""<!DOCTYPE html>
<html lang="zh-cn">
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
    <!-- 设置根目录 -->
    <meta id="domain" content="{PRINTED_ORIGIN}/material/">
    <!-- 设置页面总数 -->
    <meta id="pageCount" content="{page_count}">
    <meta http-equiv="X-UA-Compatible" content="IE=edge" />
    <meta name="viewport" content="width=device-width, initial-scale=1, maximum-scale=1, user-scalable=no"/>
    <title>{esc(title)}</title>
    <meta name="description" content=""/>
    <link rel="stylesheet" href='{PRINTED_ORIGIN}/template/tenant207/t291/css/cmui.min.css?v=1.0.1' />
    <link rel="stylesheet" href='{PRINTED_ORIGIN}/template/tenant207/t306/css/list.css?v=1.0.2' />
{self.head_include}
  </head>
  <body>
{self.header}
{main}
  <!-- 页脚-->
{self.footer.split("<!-- 页脚-->", 1)[1].lstrip(chr(10))}
  </body>
</html>
"""


def load_real(sources: Path, meta: dict[str, Any]) -> tuple[Article, str]:
    entry = meta["real"]
    text = (sources / entry["file"]).read_text(encoding="utf-8")
    body = re.search(r"<!--HTMLBOX-->(.*)<!--HTMLBOX-->", text, re.S)
    assert body is not None
    article = Article(
        key="real",
        source="real",
        article_id=entry["id"],
        section=entry["section"],
        published=local(entry["published"]),
        date_only=False,
        title=entry["title"],
        editor=entry["editor"],
        reporter=entry["reporter"],
        author_info=entry["author_info"],
        body=body.group(1),
        made=entry["made"],
    )
    return article, text


# ----------------------------------------------------------------------------
# Listings and the home page


@dataclass
class Site:
    skeleton: Skeleton
    sections: dict[str, Any]
    articles: list[Article]  # newest first
    dead: dict[str, Any]
    snapshot_day: datetime

    def listed(self, section: str) -> list[dict[str, Any]]:
        """Items of a section's listing, newest first (the dead link among them)."""
        items = [
            {"id": a.article_id, "title": a.title, "published": a.published, "url": a.url}
            for a in self.articles
            if a.section == section
        ]
        if self.dead["section"] == section:
            items.append(
                {
                    "id": self.dead["id"],
                    "title": self.dead["title"],
                    "published": local(self.dead["published"]),
                    "url": f"{ORIGIN}/{section}/{self.dead['id']}.html",
                }
            )
        return sorted(items, key=lambda i: i["published"], reverse=True)


def item_href(section: str, item: dict[str, Any], index: int) -> str:
    """Listings mix relative links, absolute http links and, once, the bare host."""
    if index % 3 == 1:
        return f"{item['id']}.html"
    host = "http://81.cn" if index % 3 == 2 else PRINTED_ORIGIN
    return f"{host}/{section}/{item['id']}.html"


def listing_name(number: int) -> str:
    return "index.html" if number == 1 else f"index_{number}.html"


def listing_page(site: Site, section: str, number: int, chunks: list[list[dict[str, Any]]]) -> str:
    name = site.sections[section]["name"]
    total = sum(len(c) for c in chunks)
    items = "\n".join(
        f"""              <li class="col-lg-12 col-md-12 col-sm-12 col-xs-12 content-list-li">
                <a href="{attr(item_href(section, item, i))}" target="_blank">
                  <h4 class="title">{esc(item["title"])}</h4>
                  <small class="time">{item["published"]:%Y-%m-%d %H:%M}</small>
                </a>
              </li>"""
        for i, item in enumerate(chunks[number - 1])
    )
    main = f"""    <div class="container">
      <ol class="breadcrumb hidden-print">
         <a href="{PRINTED_ORIGIN}" target="_blank" >首页</a>
         {esc(name)}
      </ol>
      <div class="row">
        <div class="col-lg-8 col-md-8">
            <ul class="row m-t-list" id="main-news-list">
{items}
            </ul>
          <!-- 分页dom -->
          <div class="more-page" id="displaypagenum"></div>
        </div>
      </div>
    </div>
    <script src='{PRINTED_ORIGIN}/template/tenant207/t291/js/jquery-1.11.3.js'></script>
    <script src='{PRINTED_ORIGIN}/material/js/fenye.js'></script>
    <script>
      createPageHTML('{len(chunks)}','{number}','index','html','{total}','fenye','')
    </script>"""
    title = f"{name} - 中国军网"
    return site.skeleton.page(title=title, page_count=len(chunks), main=main)


def home_page(site: Site) -> str:
    boxes = []
    for slug, sec in site.sections.items():
        items = [a for a in site.articles if a.section == slug][:4]
        lines = "\n".join(
            f'            <li><a href="{attr(a.printed_url)}" target="_blank">{esc(a.title)}</a></li>'
            for a in items
        )
        boxes.append(
            f"""        <div class="col-lg-4 col-md-4 home-box">
          <h3><a href="{PRINTED_ORIGIN}/{slug}/index.html" target="_blank">{esc(sec["name"])}</a></h3>
          <ul class="home-list">
{lines}
          </ul>
        </div>"""
        )
    main = '    <div class="container">\n      <div class="row">\n' + "\n".join(boxes)
    main += "\n      </div>\n    </div>"
    return site.skeleton.page(title="中国军网", page_count=1, main=main)


# ----------------------------------------------------------------------------
# Reading a built page back (for the manifest)


def page_facts(html: str) -> dict[str, Any]:
    """What an article page holds, read with lxml: the manifest's view of it."""
    root = lxml.html.fromstring(html)
    title = fold("".join(root.xpath("//div[contains(@class,'artichle-info')]/h2")[0].itertext()))
    printed = [
        fold(s.text_content())
        for s in root.xpath("//div[contains(@class,'artichle-info')]/p/span")
        if fold(s.text_content()).startswith("发布：")
    ]
    if printed:
        published = local(printed[0].removeprefix("发布：").replace(" ", "T"))
    else:
        published = local(root.xpath("//meta[@name='publishdate']/@content")[0])
    body = root.xpath("//ul[@id='main-news-list']")[0]
    paragraphs = body.xpath("./p")
    images = 0
    captions = 0
    for index, p in enumerate(paragraphs):
        if p.xpath(".//img"):
            images += len(p.xpath(".//img"))
            after = paragraphs[index + 1] if index + 1 < len(paragraphs) else None
            if (
                after is not None
                and "center" in (after.get("style") or "")
                and not after.xpath(".//img")
            ):
                captions += 1
    texts = [fold(p.text_content()) for p in paragraphs if fold(p.text_content())]
    reporter = next((t for t in texts[:4] if t.startswith("■")), None)
    author_info = root.xpath("//span[@id='author-info']")
    byline = reporter or (fold(author_info[0].text_content()) if author_info else None)
    return {
        "title": title,
        "published": published.isoformat(),
        "published_raw": printed[0].removeprefix("发布：") if printed else f"{published:%Y-%m-%d}",
        "image_count": images,
        "caption_count": captions,
        "byline": byline,
    }


# ----------------------------------------------------------------------------
# Build


def load_site(sources: Path) -> Site:
    meta = json.loads((sources / "replica.json").read_text(encoding="utf-8"))
    real, real_text = load_real(sources, meta)
    skeleton = Skeleton(real_text, real, meta["sections"])
    if skeleton.article(real) != real_text:
        raise ValueError("the skeleton does not give back the real page")
    articles = sorted([real, *load_written(sources)], key=lambda a: a.published, reverse=True)
    ids = [a.article_id for a in articles] + [meta["dead_link"]["id"]]
    if len(set(ids)) != len(ids):
        raise ValueError("duplicate article ids")
    return Site(
        skeleton=skeleton,
        sections=meta["sections"],
        articles=articles,
        dead=meta["dead_link"],
        snapshot_day=local(meta["snapshot_day"]),
    )


def build(sources: Path, out: Path) -> dict[str, Any]:
    """Write the replica into ``out``; return the manifest."""
    site = load_site(sources)
    pages = out / "pages"
    if pages.exists():
        shutil.rmtree(pages)
    write(pages / "robots.txt", ROBOTS)
    write(pages / "index.html", home_page(site))
    entries = []
    for article in site.articles:
        html = site.skeleton.text if article.source == "real" else site.skeleton.article(article)
        target = pages / article.section / f"{article.article_id}.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(html.encode("utf-8"))  # the real page byte for byte
        entries.append(
            {
                "url": article.url,
                "article_id": str(article.article_id),
                "section": article.section,
                "source": article.source,
                "language": "zh",
                **page_facts(html),
            }
        )
    listings = []
    for section in site.sections:
        items = site.listed(section)
        chunks = [items[i : i + PAGE_SIZE] for i in range(0, len(items), PAGE_SIZE)] or [[]]
        for number in range(1, len(chunks) + 1):
            write(
                pages / section / listing_name(number), listing_page(site, section, number, chunks)
            )
            listings.append(
                {
                    "url": f"{ORIGIN}/{section}/{listing_name(number)}",
                    "page": number,
                    "pages": len(chunks),
                    "articles": [item["url"] for item in chunks[number - 1]],
                }
            )
    write(out / "site.json", json.dumps({"hosts": HOSTS}, indent=2) + "\n")
    manifest = {
        "site": "81.cn",
        "generated_by": "python -m replicas pla_daily",
        "hosts": HOSTS,
        "timezone": "+08:00",
        "page_size": PAGE_SIZE,
        "home": ORIGIN + "/",
        "article_count": len(entries),
        "articles": entries,
        "dead_urls": [f"{ORIGIN}/{site.dead['section']}/{site.dead['id']}.html"],
        "listings": listings,
    }
    write(out / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
    write(out / "PROVENANCE.md", provenance(site))
    return manifest


def provenance(site: Site) -> str:
    rows = "\n".join(
        f"| `{a.path}` | "
        + (
            "real page, byte for byte (`sources/81.cn/real/`)"
            if a.source == "real"
            else f"written (`written.json#{a.key}`) in the real page's skeleton"
        )
        + " |"
        for a in site.articles
    )
    return f"""# 81.cn replica: where every page comes from

Generated by `python -m replicas pla_daily` from
`replicas/sources/81.cn/` (see the PROVENANCE.md there); do not edit the
pages by hand. `manifest.json` lists every article with what its page holds.

## Real

- `/{site.skeleton.real.section}/{site.skeleton.real.article_id}.html`: the one real page
  (`pla-daily-article-16473227.html`, copied from the team's shared fixtures),
  served byte for byte. It is served under the id the page itself carries
  (`meta contentid` `cbf-16459682`, the pager's `'16459682'`, its attachment
  names `16459682_…`); the repository it came from tested it under
  `/yw_208727/16473227.html`, which no part of the page supports.
- Every other article page is that page with its title, metas (`catalogs`,
  `contentid`, `publishdate`, `author`, `editor`, `reporter`), breadcrumb,
  header line (`作者：`, `责任编辑：`, `发布：`), body and ids replaced; the
  build checks that the real article's data rendered the same way gives the
  real page back exactly. Image, paragraph and reporter-line markup is the
  real page's.
- The shared includes of listing and home pages (common head, header with the
  menu, footer) are cut from the real page.

## Invented

- Every written article (people, units, events), their ids, sections, times
  and editors; the image file names.
- Captions: the real page has none. PLA Daily prints a caption as a centred
  paragraph in 楷体 under its image, ending with the credit `张三摄`,
  `（张三摄）` or `张三 摄`; that markup is an assumption.
- Source line breaks inside paragraphs (some written pages), short names padded
  with a space (`■朱 磊 张 洋`), one page without the `发布：` line (a
  multimedia template; its date is only in `meta publishdate`), one without a
  `■` line (its byline is the header's `作者：`), one with neither.
- The listing markup (`ul#main-news-list li a` with `h4.title` and
  `small.time`), the page size ({PAGE_SIZE}, the real site shows more), the
  page names `index_2.html` … (inferred from the pager script's arguments
  `'index','html'` in fenye.js style), `meta#pageCount` on listings, the home
  page, robots.txt, and the dead listing link
  `/{site.dead["section"]}/{site.dead["id"]}.html` (404).

## Pages

| path | source |
| --- | --- |
{rows}
"""


def check(sources: Path, out: Path) -> list[str]:
    """Differences between the committed replica and a fresh build."""
    return build_check(build, sources, out)


def main(argv: list[str] | None = None) -> int:
    return run(build, SITE, SOURCES, OUT, argv)


if __name__ == "__main__":
    raise SystemExit(main())
