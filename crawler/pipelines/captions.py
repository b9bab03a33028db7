"""Step 3: images (and their captions) leave the body; credits leave the captions."""

from __future__ import annotations

from crawler.items import Article, Block, Image
from crawler.pipelines.base import Step
from crawler.text.captions import is_caption_paragraph, separate_credit


class SeparateCaptions(Step):
    name = "captions"

    def apply(self, article: Article) -> None:
        paragraphs: list[Block] = []
        previous: Block | None = None
        for block in article.blocks:
            if isinstance(block, Image):
                article.images.append(block)
            elif (
                isinstance(previous, Image)
                and previous.caption is None
                and is_caption_paragraph(block)
            ):
                previous.caption = block  # a caption printed as the paragraph under its image
                self.count("caption_paragraphs")
            else:
                paragraphs.append(block)
            previous = block
        article.blocks = paragraphs
        credits = sum(separate_credit(image) for image in article.images)
        self.count("images", len(article.images))
        self.count("captions_moved", sum(1 for image in article.images if image.caption))
        self.count("credits_found", credits)
