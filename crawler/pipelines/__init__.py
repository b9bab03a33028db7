"""Item pipelines: one small class per cleaning step, each a thin adapter over crawler.text."""

from __future__ import annotations

from typing import Any

from crawler.items import Article
from crawler.pipelines.base import Step
from crawler.pipelines.byline import ExtractByline
from crawler.pipelines.captions import SeparateCaptions
from crawler.pipelines.dedupe import Deduplicate
from crawler.pipelines.layout import DropLayoutTokens
from crawler.pipelines.normalise import NormaliseText
from crawler.pipelines.validate import Validate

CLEANING_STEPS: tuple[type[Step], ...] = (
    NormaliseText,
    DropLayoutTokens,
    SeparateCaptions,
    ExtractByline,
)
CHECKING_STEPS: tuple[type[Step], ...] = (Validate, Deduplicate)


def clean(article: Article, stats: Any | None = None, *, check: bool = False) -> Article:
    """Run the cleaning steps (and, with ``check``, validation) outside a crawl.

    Raises ``scrapy.exceptions.DropItem`` when a check rejects the article.
    """
    steps = CLEANING_STEPS + (CHECKING_STEPS if check else ())
    for step in steps:
        step(stats).apply(article)
    return article
