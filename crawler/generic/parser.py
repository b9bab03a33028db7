"""The parser of any news site: :class:`ArticleParser`'s fields, found with no selectors.

Spider ``generic`` uses it for every page, and every site spider falls back on
it for a field its own parser could not find (``parser_version`` then reads
``<site version>+generic-<n>``). It stands only on ``sites.parser`` and the pure
text rules, never on a spider, so the spider base can import it without a cycle.
The fields come from :mod:`crawler.generic.metadata`, the body from
:mod:`crawler.generic.extract`; the cleaning pipelines then treat the record as
any site's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timezone
from typing import Any, ClassVar

from scrapy.http import TextResponse

from crawler.generic.extract import body, trim_edges
from crawler.generic.metadata import is_printed_date, language_of, metadata
from crawler.items import Article, Block
from crawler.sites.parser import ArticleParser, base_url, document
from crawler.text.bylines import parse_byline, parse_chinese_byline, title_case
from crawler.text.dates import CHINA, VIETNAM
from crawler.urls import site_of


class GenericParser(ArticleParser):
    version: ClassVar[str] = "generic-1"

    def parse(self, response: TextResponse) -> Article:
        """Metadata first (the body's extraction prunes the page's tree), then the body."""
        tree = document(response)
        url = self.url(response)
        found = metadata(tree, self._zone(tree))
        blocks, region_byline, lead = body(tree, base_url(response), found.title, found.summary)
        blocks = _from_structured_data(blocks, found.article_body)
        blocks = _without_headline_repeat(blocks, found.title)
        blocks, lead_byline = _leading_byline(blocks)
        blocks = trim_edges(blocks, is_printed_date)
        byline = found.byline or region_byline or lead_byline
        authors = found.authors or (self.authors(byline) if byline else [])
        if lead_byline and not found.authors_stated:
            # The line printed over the text names the reporter; a meta author is
            # often the web editor (81.cn).
            byline, authors = lead_byline, self.authors(lead_byline)
        sample = " ".join(b for b in blocks[:5] if isinstance(b, str))
        language = self.site.language or found.language
        if not language:
            language = language_of(tree, sample)
        article = Article(
            url=url,
            site=self.site.site or site_of(url),
            spider=self.site.spider,
            language=language,
            title=found.title,
            summary=lead or found.summary,
            section=found.section or _path_section(self.section(url, response)),
            article_id=self.site.article_id(url),
            tags=found.tags,
            published_at=found.published_at,
            published_raw=found.published_raw,
            fetched_at=datetime.now(UTC),
            parser_version=self.version,
            blocks=blocks,
            extra_tokens=self.layout_tokens,
            extra_boilerplate=self.boilerplate,
        )
        article.byline = byline or None
        article.authors = authors
        return article

    def _zone(self, tree: Any) -> timezone:
        """The site's time zone; for the generic spider (which knows no site), the zone
        of the page's language where one country speaks it (zh: China, vi: Vietnam)."""
        if self.site.language:
            return self.timezone
        stated = (tree.get("lang") or "").split("-")[0].lower()
        return _ZONES.get(stated, self.timezone)

    def authors(self, byline: str) -> list[str]:
        return parse_byline(byline) or parse_chinese_byline(byline) or [title_case(byline)]

    def body_blocks(self, response: TextResponse) -> list[Block]:
        return body(document(response), base_url(response)).blocks


_ZONES = {"zh": CHINA, "vi": VIETNAM}


def _path_section(segment: str | None) -> str | None:
    """A URL's first segment names a section unless it is a number (a year, an id)."""
    return segment if segment and not segment.isdigit() else None


def _from_structured_data(blocks: list[Block], article_body: str) -> list[Block]:
    """The JSON-LD ``articleBody`` when the page's markup holds less than half of it
    (pages whose text a script writes in); its line breaks are its paragraphs."""
    text = sum(len(b) for b in blocks if isinstance(b, str))
    if len(article_body) < 200 or text >= len(article_body) / 2:
        return blocks
    paragraphs = [line.strip() for line in article_body.splitlines() if line.strip()]
    images = [b for b in blocks if not isinstance(b, str)]
    return [*images, *paragraphs]


def _leading_byline(blocks: list[Block]) -> tuple[list[Block], str | None]:
    """A credit line among the first paragraphs (``By NAME``, ``■王永文``) leaves the text."""
    for index, block in enumerate(blocks[:4]):
        if isinstance(block, str) and (parse_byline(block) or parse_chinese_byline(block)):
            return blocks[:index] + blocks[index + 1 :], block
    return blocks, None


def _without_headline_repeat(blocks: list[Block], title: str) -> list[Block]:
    """A first paragraph that repeats the headline (or its part after a column label,
    as 81.cn prints it in bold) is page furniture."""
    folded = "".join(title.split()).casefold()
    for index, block in enumerate(blocks[:3]):
        if isinstance(block, str):
            text = "".join(block.split()).casefold()
            if len(text) >= 4 and folded and (text == folded or folded.endswith(text)):
                return blocks[:index] + blocks[index + 1 :]
            break
    return blocks
