"""Step 2: layout tokens become image boundaries; boilerplate paragraphs go."""

from __future__ import annotations

from crawler.items import Article
from crawler.pipelines.base import Step
from crawler.text.layout import (
    LayoutRules,
    blocks_from_flat_text,
    drop_boilerplate,
    drop_layout_tokens,
)


class DropLayoutTokens(Step):
    name = "layout"

    def apply(self, article: Article) -> None:
        rules = LayoutRules.build(article.extra_tokens, article.extra_boilerplate)
        tokens = 0
        if article.flat_text is not None:
            flat_blocks, tokens = blocks_from_flat_text(article.flat_text, rules)
            article.blocks = [*article.blocks, *flat_blocks]
            article.flat_text = None
        blocks, more = drop_layout_tokens(article.blocks, rules)
        blocks, boilerplate = drop_boilerplate(blocks, rules)
        article.blocks = blocks
        for field in ("title", "summary"):
            value = getattr(article, field)
            if value and rules.token.search(value):
                cleaned = " ".join(rules.token.sub(" ", value).split())
                setattr(article, field, cleaned or None if field == "summary" else cleaned)
                more += 1
        self.count("tokens_dropped", tokens + more)
        self.count("boilerplate_dropped", boilerplate)
