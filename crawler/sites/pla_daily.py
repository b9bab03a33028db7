"""www.81.cn, China Military Online / PLA Daily (中国军网-解放军报), Chinese.

The headline is the ``h2`` (the ``title`` adds `` - 中国军网``). The body sits in
``ul#main-news-list`` between ``<!--HTMLBOX-->`` comments; images are
``p.ueditor-paragraph-img > img`` with relative ``src``, and a caption, where
there is one, is the centred paragraph under the image, ending with a credit
``张三摄`` / ``（张三 摄）``. Near the top, a bold paragraph may repeat the
headline without its column label (``八一锐评丨``): it is dropped; the reporter
line ``■王永文`` is the byline. ``meta[name=author]``/``editor`` name the web
editor, not an author. The time is printed as ``发布：2026-05-10 06:30:46``
(China time); ``meta[name=publishdate]`` has the date only. Listing pages are
paged by script (``index_2.html`` …) up to ``meta#pageCount``.
"""

from __future__ import annotations

import re
from typing import Any

import scrapy
from lxml import etree
from scrapy.http import TextResponse

from crawler.items import Block
from crawler.sites.base import NewsSpider
from crawler.sites.blocks import text_of
from crawler.sites.parser import ArticleParser, drop_element, first, select
from crawler.text.captions import split_credit
from crawler.text.dates import CHINA
from crawler.text.normalise import normalise

HOME = "https://www.81.cn"
SECTIONS = ("yw_208727", "hj_208557", "kj_208559")
_ROLE = re.compile(
    r"(?:本报|解放军报|中国军网|新华社)?(?:特约)?(?:记者|通讯员)|实习生|作者\s*[:：]|■"
)


class PlaDailyParser(ArticleParser):
    title_css = "div.artichle-info h2"
    summary_css = 'meta[name="description"]@content'
    date_css = 'div.artichle-info p span:contains("发布")'
    body_css = ("#article-content ul#main-news-list", "#article-content")

    def published_raw(self, response: TextResponse) -> str | None:
        printed = re.sub(r"^发布\s*[:：]\s*", "", first(response, self.date_css))
        return printed or first(response, 'meta[name="publishdate"]@content') or None

    def byline(self, response: TextResponse) -> str | None:
        """The ``■`` reporter line; else the header's ``作者：`` (never the meta author)."""
        line = self._reporter_line(response)
        text = text_of(line) if line is not None else first(response, "#author-info")
        return normalise(text) or None

    def authors(self, byline: str) -> list[str]:
        """Names without roles (``解放军报记者``, ``通讯员``); ``孙 飞`` is ``孙飞``."""
        words = _ROLE.sub(" ", normalise(byline)).replace("、", " ").split()
        names: list[str] = []
        for word in words:
            if len(word) == 1 and names and len(names[-1]) == 1:
                names[-1] += word
            else:
                names.append(word)
        return list(dict.fromkeys(names))

    def _paragraphs(self, response: TextResponse) -> list[Any]:
        """The body's paragraphs that hold text, in order."""
        for css in self.body_css:
            if found := select(response, css):
                return [p for p in found[0].iter("p") if normalise(text_of(p))]
        return []

    def _reporter_line(self, response: TextResponse) -> Any | None:
        """A short paragraph starting with ``■`` among the first few."""
        for p in self._paragraphs(response)[:4]:
            text = normalise(text_of(p))
            if text.startswith("■") and 1 < len(text) <= 60:
                return p
        return None

    def body_blocks(self, response: TextResponse) -> list[Block]:
        """The shared blocks, once the page's furniture is out of the tree:
        the reporter line and the repeated headline go, captions join their images."""
        reporter = self._reporter_line(response)
        headline = re.split(r"[丨|｜]", normalise(self.title(response)))[-1].strip()
        for index, p in enumerate(self._paragraphs(response)):
            text = normalise(text_of(p))
            if p is reporter or (index < 2 and text == headline and _all_bold(p)):
                drop_element(p)
            elif _is_caption(p, text):
                image = p.getprevious()
                image.tag = "figure"  # shared extraction: figure + figcaption = captioned image
                etree.SubElement(image, "figcaption").text = text
                drop_element(p)
        return super().body_blocks(response)


def _all_bold(p: Any) -> bool:
    bold = "".join(t for b in p.iter("strong", "b") for t in b.itertext())
    return normalise(bold) == normalise(text_of(p))


def _is_caption(p: Any, text: str) -> bool:
    """A short line without image right under an image paragraph, centred or credited."""
    image = p.getprevious()
    if (
        image is None
        or image.tag != "p"
        or image.find(".//img") is None
        or p.find(".//img") is not None
    ):
        return False
    return len(text) <= 200 and (
        "center" in (p.get("style") or "") or split_credit(text)[1] is not None
    )


class PlaDailySpider(NewsSpider):
    name = "pla_daily"
    site = "81.cn"
    language = "zh"
    canonical_host = "www.81.cn"
    allowed_domains = ["81.cn"]
    timezone = CHINA
    parser = PlaDailyParser

    listing_urls = tuple(f"{HOME}/{section}/" for section in SECTIONS)
    article_url_pattern = r"^https?://(?:www\.)?81\.cn/[a-z0-9]+(?:_\d+)?/(?P<id>\d+)\.html$"
    listing_link_css = "ul#main-news-list li a"
    next_page_format = "{listing}/index_{page}.html"

    def next_page(self, response: TextResponse, listing: str, page: int) -> scrapy.Request | None:
        """The pager is drawn by script; ``meta#pageCount`` says how many pages there are."""
        count = response.css("meta#pageCount::attr(content)").get("")
        if count.strip().isdigit() and page >= int(count):
            return None
        return super().next_page(response, listing, page)
