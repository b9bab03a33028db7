"""A new site's parser: generic extraction, each field taken over by the site's selector.

``crawler new-site`` writes a parser on this class, so the site archives at once
on generic extraction. As its selectors are filled in, each one replaces the
generic parser's answer for its field (where it finds something on the page);
with every selector filled, the parser moves to ``ArticleParser`` and a version
of its own, and the generic parser is only the spider's fallback.
"""

from __future__ import annotations

from typing import ClassVar

from scrapy.http import TextResponse

from crawler.generic.parser import GenericParser
from crawler.items import Article
from crawler.sites.parser import ArticleParser


class StarterParser(GenericParser):
    """Generic extraction, with the site's selectors first for the fields they name."""

    # Empty: the generic parser finds the field (ArticleParser's default title is "h1").
    title_css: ClassVar[str] = ""
    summary_css: ClassVar[str] = ""
    date_css: ClassVar[str] = ""
    body_css: ClassVar[tuple[str, ...]] = ()
    tags_css: ClassVar[str] = ""
    byline_css: ClassVar[str] = ""

    def parse(self, response: TextResponse) -> Article:
        # Everything the generic way, by a parser that knows none of this class's selectors.
        article = GenericParser(self.site).parse(response)
        article.parser_version = self.version
        article.extra_tokens, article.extra_boilerplate = self.layout_tokens, self.boilerplate
        site = ArticleParser  # the selector way of each field, whatever GenericParser overrides
        if self.title_css and (title := site.title(self, response)):
            article.title = title
        if self.summary_css and (summary := site.summary(self, response)):
            article.summary = summary
        if self.date_css:
            raw = site.published_raw(self, response)
            published = site.published_at(self, raw, response)
            if published is not None:
                article.published_raw, article.published_at = raw, published
        if self.tags_css and (tags := site.tags(self, response)):
            article.tags = tags
        if self.byline_css and (byline := site.byline(self, response)):
            article.byline, article.authors = byline, site.authors(self, byline)
        if self.body_css:
            blocks = site.body_blocks(self, response)
            if any(isinstance(block, str) and block.strip() for block in blocks):
                article.blocks = blocks
        return article
