"""Step 5: an article without title or body, or with garbled text, is dropped, loudly:
never archived half-empty or as clean text that is not."""

from __future__ import annotations

from typing import Any

from scrapy.exceptions import DropItem

from crawler.items import Article
from crawler.pipelines.base import Step
from crawler.text.encoding import garbled


class Validate(Step):
    name = "validate"
    checks = True

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Article):
            reason = problem(item)
            if reason is not None:
                self.count(f"dropped/{reason.replace(' ', '_')}")
                raise DropItem(f"{reason}: {item.url}")
            self.count("passed")
        return item

    def apply(self, article: Article) -> None:
        reason = problem(article)
        if reason is not None:
            raise DropItem(f"{reason}: {article.url}")


def problem(article: Article) -> str | None:
    """Why ``article`` must not be archived, or ``None``."""
    if not article.title:
        return "no title"
    if not article.body:
        return "no body"
    if garbled(article.title) or garbled(article.body):
        return "garbled text"  # a wrong or missing character set
    return None
