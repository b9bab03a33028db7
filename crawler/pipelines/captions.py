"""Step 3: images (and their captions) leave the body; credits leave the captions."""

from __future__ import annotations

from crawler.items import Article, Block, Image
from crawler.pipelines.base import Step
from crawler.text.captions import separate_credit


class SeparateCaptions(Step):
    name = "captions"

    def apply(self, article: Article) -> None:
        paragraphs: list[Block] = []
        for block in article.blocks:
            if isinstance(block, Image):
                article.images.append(block)
            else:
                paragraphs.append(block)
        article.blocks = paragraphs
        credits = sum(separate_credit(image) for image in article.images)
        self.count("images", len(article.images))
        self.count("captions_moved", sum(1 for image in article.images if image.caption))
        self.count("credits_found", credits)
