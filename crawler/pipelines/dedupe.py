"""Step 6: one row per canonical URL in a run (the same article under several URLs)."""

from __future__ import annotations

from typing import Any

from scrapy.exceptions import DropItem

from crawler.items import Article
from crawler.pipelines.base import Step


class Deduplicate(Step):
    name = "dedupe"
    checks = True

    def __init__(self, stats: Any | None = None) -> None:
        super().__init__(stats)
        self.seen: set[str] = set()

    def apply(self, article: Article) -> None:
        key = article.url_key
        if key in self.seen:
            self.count("duplicates")
            raise DropItem(f"duplicate of an article already in this run: {article.url}")
        self.seen.add(key)
