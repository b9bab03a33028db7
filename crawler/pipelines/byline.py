"""Step 4: the closing credit line leaves the body; the lead loses its source tag."""

from __future__ import annotations

from crawler.items import Article
from crawler.pipelines.base import Step
from crawler.text.bylines import split_byline
from crawler.text.datelines import strip_dateline
from crawler.text.layout import LayoutRules, remove_tokens


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
            # Names are rebuilt from words (``LEFT CENTER (tổng hợp) RIGHT DEL``): they
            # may spell a layout token that the line itself did not hold.
            rules = LayoutRules.build(article.extra_tokens, article.extra_boilerplate)
            names = (remove_tokens(name, rules)[0] for name in authors)
            article.authors = [name for name in names if name]
        self.count("found")
