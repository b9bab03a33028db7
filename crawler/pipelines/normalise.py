"""Step 1: Unicode and white-space normalisation of every text field."""

from __future__ import annotations

from crawler.items import Article, Block, Image
from crawler.pipelines.base import Step
from crawler.text.normalise import normalise, normalise_lines, normalise_optional


class NormaliseText(Step):
    name = "normalise"

    def apply(self, article: Article) -> None:
        article.title = normalise(article.title)
        article.summary = normalise_optional(article.summary)
        article.section = normalise_optional(article.section)
        article.published_raw = normalise_optional(article.published_raw)
        article.tags = [tag for tag in map(normalise, article.tags) if tag]
        article.byline = normalise_optional(article.byline)
        article.authors = [name for name in map(normalise, article.authors) if name]
        if article.flat_text is not None:
            article.flat_text = normalise_lines(article.flat_text)
        blocks: list[Block] = []
        for block in article.blocks:
            if isinstance(block, Image):
                block.caption = normalise_optional(block.caption)
                block.credit = normalise_optional(block.credit)
                blocks.append(block)
            else:
                text = normalise(block)
                if text:
                    blocks.append(text)
        article.blocks = blocks
        self.count("articles")
