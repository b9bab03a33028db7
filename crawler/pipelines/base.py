"""What every cleaning step shares: stats under ``crawler/<step>/<event>``."""

from __future__ import annotations

from typing import Any, ClassVar, Self

from crawler.items import Article


class Step:
    """An item pipeline that cleans one aspect of an :class:`Article`.

    Steps also run without Scrapy (``crawler clean``, ``crawler extract``): then
    ``stats`` is ``None`` and nothing is counted.
    """

    name: ClassVar[str] = "step"
    checks: ClassVar[bool] = (
        False  # drops articles (``clean(check=True)`` only) instead of cleaning
    )

    def __init__(self, stats: Any | None = None) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        return cls(crawler.stats)

    def count(self, event: str, n: int = 1) -> None:
        if self.stats is not None and n:
            self.stats.inc_value(f"crawler/{self.name}/{event}", n)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, Article):
            self.apply(item)
        return item

    def apply(self, article: Article) -> None:
        raise NotImplementedError
