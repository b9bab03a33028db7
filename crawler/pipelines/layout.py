"""Step 2: layout tokens become image boundaries (and leave every other field); boilerplate
paragraphs go; the lead of flattened text loses its source tag."""

from __future__ import annotations

from crawler.items import Article, Block
from crawler.pipelines.base import Step
from crawler.text.datelines import strip_dateline
from crawler.text.layout import (
    LayoutRules,
    blocks_from_flat_text,
    drop_boilerplate,
    drop_layout_tokens,
    remove_tokens,
)


class DropLayoutTokens(Step):
    name = "layout"

    def apply(self, article: Article) -> None:
        rules = LayoutRules.build(article.extra_tokens, article.extra_boilerplate)
        tokens = 0
        if article.flat_text is not None:
            flat_blocks, tokens = blocks_from_flat_text(article.flat_text, rules)
            self.count("datelines_dropped", strip_lead_dateline(flat_blocks))
            article.blocks = [*article.blocks, *flat_blocks]
            article.flat_text = None
        blocks, more = drop_layout_tokens(article.blocks, rules)
        blocks, boilerplate = drop_boilerplate(blocks, rules)
        article.blocks = blocks
        # Every other text column too: `crawler validate` finds a token in any of them.
        article.title, n = remove_tokens(article.title, rules)
        more += n
        for field in ("summary", "section", "byline", "published_raw"):
            value = getattr(article, field)
            if value:
                cleaned, n = remove_tokens(value, rules)
                setattr(article, field, cleaned or None)
                more += n
        for field in ("tags", "authors"):
            values = []
            for value in getattr(article, field):
                cleaned, n = remove_tokens(value, rules)
                more += n
                if cleaned:
                    values.append(cleaned)
            setattr(article, field, values)
        self.count("tokens_dropped", tokens + more)
        self.count("boilerplate_dropped", boilerplate)


def strip_lead_dateline(blocks: list[Block]) -> int:
    """Flattened text has no separate lead: its first paragraph is the lead, and loses
    its source tag (``QĐND - ``) as a summary does. Returns 1 if a tag went, else 0."""
    for index, block in enumerate(blocks):
        if isinstance(block, str):
            stripped = strip_dateline(block)
            blocks[index] = stripped
            return int(stripped != block)
    return 0
