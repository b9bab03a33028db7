"""A body as the text rules see it: paragraphs (strings) and images where they stood.

Defined here, with the text rules, so that ``crawler/text`` needs nothing from
the rest of the package; :mod:`crawler.items` builds the article on them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Image:
    """One image of an article, in page order."""

    url: str | None = None
    caption: str | None = None
    credit: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"url": self.url, "caption": self.caption, "credit": self.credit}


Block = str | Image
"""A body block: a paragraph of text, or an image where it stood in the body."""
