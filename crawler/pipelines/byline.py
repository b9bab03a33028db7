"""Step 4: the closing credit line leaves the body; the lead loses its source tag."""

from __future__ import annotations

from crawler.items import Article
from crawler.pipelines.base import Step
from crawler.text.bylines import split_byline
from crawler.text.datelines import strip_dateline


class ExtractByline(Step):
    name = "byline"

    def apply(self, article: Article) -> None:
        if article.summary:
            stripped = strip_dateline(article.summary)
            if stripped != article.summary:
                self.count("datelines_dropped")
            article.summary = stripped or None
        last = max((i for i, b in enumerate(article.blocks) if isinstance(b, str)), default=None)
        if last is None:
            self.count("not_found")
            return
        _, byline, authors = split_byline([str(article.blocks[last])])
        if byline is None:
            self.count("not_found")
            return
        del article.blocks[last]
        if article.byline is None:
            article.byline = byline
        if not article.authors:
            article.authors = authors
        self.count("found")
