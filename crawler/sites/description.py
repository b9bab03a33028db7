"""What a parser knows of its site: a small frozen description, not the spider.

The parser needs a site's identity and its article-URL rule, nothing of the
crawl; handing it this instead of the spider keeps the parser testable on its
own and keeps ``sites.parser`` from depending on ``sites.base``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timezone


@dataclass(frozen=True)
class SiteDescription:
    spider: str  # the spider's name, written in each row
    site: str  # the domain without www.; empty: taken from each article's URL
    language: str  # BCP 47
    timezone: timezone  # the site's local time, for dates printed without an offset
    canonical_host: str | None  # the host every URL of the site is written with
    article_url_pattern: str  # an article page's URL; group "id": the site's own id
    _article_re: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_article_re", re.compile(self.article_url_pattern))

    def is_article_url(self, url: str) -> bool:
        return self._article_re.search(url.split("?")[0].split("#")[0]) is not None

    def article_id(self, url: str) -> str | None:
        match = self._article_re.search(url)
        return match.groupdict().get("id") if match else None
