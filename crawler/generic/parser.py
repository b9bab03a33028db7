"""The parser of any news site: :class:`ArticleParser`'s fields, found with no selectors.

Spider ``generic`` uses it for every page, and every site spider falls back on
it for a field its own parser could not find (``parser_version`` then reads
``<site version>+generic-<n>``). It stands only on ``sites.parser`` and the pure
text rules, never on a spider, so the spider base can import it without a cycle.
"""

from __future__ import annotations

from typing import Any, ClassVar

from scrapy.http import TextResponse

from crawler.items import Block
from crawler.sites.blocks import blocks_from_element, text_of
from crawler.sites.parser import ArticleParser, base_url, document


class GenericParser(ArticleParser):
    version: ClassVar[str] = "generic-1"

    def body_blocks(self, response: TextResponse) -> list[Block]:
        """The blocks of the element whose own paragraphs hold the most text."""
        best: Any = None
        best_weight = 0
        for parent in {p.getparent() for p in document(response).iter("p")}:
            if parent is None:
                continue
            weight = sum(len(text_of(p)) for p in parent if p.tag == "p")
            if weight > best_weight:
                best, best_weight = parent, weight
        return blocks_from_element(best, base_url(response)) if best is not None else []
