"""Item pipelines: one small class per cleaning step, each a thin adapter over crawler.text."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from crawler.items import Article
from crawler.pipelines.base import Step
from crawler.settings import ITEM_PIPELINES


def _load(path: str) -> type:
    module, _, name = path.rpartition(".")
    loaded: type = getattr(import_module(module), name)
    return loaded


# The steps of ITEM_PIPELINES, in its order (the archive is not a step).
_STEPS = [
    step
    for step in (_load(path) for path in sorted(ITEM_PIPELINES, key=ITEM_PIPELINES.__getitem__))
    if issubclass(step, Step)
]
CLEANING_STEPS: tuple[type[Step], ...] = tuple(s for s in _STEPS if not s.checks)
CHECKING_STEPS: tuple[type[Step], ...] = tuple(s for s in _STEPS if s.checks)


def clean(article: Article, stats: Any | None = None, *, check: bool = False) -> Article:
    """Run the cleaning steps (and, with ``check``, validation) outside a crawl.

    Raises ``scrapy.exceptions.DropItem`` when a check rejects the article.
    """
    steps = CLEANING_STEPS + (CHECKING_STEPS if check else ())
    for step in steps:
        step(stats).apply(article)
    return article
