"""The one data contract: what a spider yields and what the archive stores.

A spider fills the raw fields and the ordered ``blocks`` of the body (paragraph
strings and :class:`Image` objects) or, for text that arrives flattened,
``flat_text``. The pipelines turn those into the record columns; the archive
writes :meth:`Article.record`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crawler.text.blocks import Block, Image

__all__ = ["PARAGRAPH_SEPARATOR", "Article", "Block", "Image", "sha256_hex"]

PARAGRAPH_SEPARATOR = "\n\n"


@dataclass
class Article:
    """An article on its way through the pipelines."""

    url: str
    site: str
    spider: str
    language: str
    title: str = ""
    summary: str | None = None
    section: str | None = None
    article_id: str | None = None
    tags: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    published_raw: str | None = None
    fetched_at: datetime | None = None
    parser_version: str = "1"
    crawl_run: str = ""
    # Body as the spider found it: ordered blocks, or flattened text.
    blocks: list[Block] = field(default_factory=list)
    flat_text: str | None = None
    # Filled by the pipelines.
    images: list[Image] = field(default_factory=list)
    byline: str | None = None
    authors: list[str] = field(default_factory=list)
    # Where the fetched page is kept (crawler.archive.warc); set as the page is stored.
    raw_ref: str | None = None
    # Site-declared extra layout tokens and boilerplate patterns (regex sources).
    extra_tokens: tuple[str, ...] = ()
    extra_boilerplate: tuple[str, ...] = ()

    @property
    def paragraphs(self) -> list[str]:
        return [block for block in self.blocks if isinstance(block, str)]

    @property
    def body(self) -> str:
        """Paragraphs joined by a blank line; derived so it never lags the blocks."""
        return PARAGRAPH_SEPARATOR.join(self.paragraphs)

    @property
    def url_key(self) -> str:
        return sha256_hex(self.url)

    @property
    def content_hash(self) -> str:
        return sha256_hex(self.body)

    def record(self) -> dict[str, Any]:
        """The archive row (Parquet schema v2), in column order."""
        return {
            "url": self.url,
            "url_key": self.url_key,
            "site": self.site,
            "spider": self.spider,
            "article_id": self.article_id,
            "language": self.language,
            "section": self.section,
            "title": self.title,
            "summary": self.summary,
            "body": self.body,
            "images": [image.as_dict() for image in self.images],
            "byline": self.byline,
            "authors": list(self.authors),
            "tags": list(self.tags),
            "published_at": self.published_at,
            "published_raw": self.published_raw,
            "fetched_at": self.fetched_at,
            "crawl_run": self.crawl_run,
            "content_hash": self.content_hash,
            "parser_version": self.parser_version,
            "raw_ref": self.raw_ref,
        }


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
