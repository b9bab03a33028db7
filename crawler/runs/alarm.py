"""The layout alarm: does a site's run look like a healthy one?

A site whose selectors stopped matching does not fail loudly by itself: it
yields empty or half-empty articles (dropped by validation) or none at all.
These checks compare a run with fixed shares and with the site's earlier runs
and name the field and the numbers when it falls short.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from crawler.runs.config import Alarm


@dataclass(frozen=True)
class SiteHealth:
    """What one run saw of one site."""

    parsed: int  # article pages that reached the pipelines
    archived: int
    no_title: int  # dropped by validation for want of a title
    no_body: int
    dated: int  # archived articles with a publish date
    images: int
    captioned: int
    found: int  # articles discovered: parsed + skipped as already archived
    fallback: int = 0  # archived articles the generic parser completed (title, body or date)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _share(part: int, whole: int) -> float:
    return part / whole if whole else 1.0


def check(health: SiteHealth, alarm: Alarm, earlier_found: Sequence[int]) -> list[str]:
    """The ways this run falls short of a healthy one; empty if it does not."""
    problems = []
    if health.parsed:
        title = _share(health.parsed - health.no_title, health.parsed)
        body = _share(health.parsed - health.no_body - health.no_title, health.parsed)
        if title < alarm.min_title:
            problems.append(
                _low(
                    "title", title, alarm.min_title, health.parsed - health.no_title, health.parsed
                )
            )
        if body < alarm.min_body:
            problems.append(
                _low("body", body, alarm.min_body, health.parsed - health.no_body, health.parsed)
            )
    if health.archived:
        date = _share(health.dated, health.archived)
        if date < alarm.min_date:
            problems.append(_low("date", date, alarm.min_date, health.dated, health.archived))
    if health.images:
        captions = _share(health.captioned, health.images)
        if captions < alarm.min_captions:
            problems.append(
                _low(
                    "image captions", captions, alarm.min_captions, health.captioned, health.images
                )
            )
    if health.archived:
        fallback = health.fallback / health.archived
        if fallback > alarm.max_fallback:
            problems.append(
                f"generic fallback: {fallback:.0%} ({health.fallback} of {health.archived}) "
                f"needed the generic parser for a title, body or date, above the maximum "
                f"{alarm.max_fallback:.0%}"
            )
    recent = [n for n in earlier_found[-alarm.history :] if n > 0]
    if recent:
        median = statistics.median(recent)
        if health.found < alarm.min_found_ratio * median:
            problems.append(
                f"articles found: {health.found}, below {alarm.min_found_ratio:.0%} of the median "
                f"{median:g} of the last {len(recent)} runs"
            )
    return problems


def _low(name: str, share: float, minimum: float, part: int, whole: int) -> str:
    return f"{name}: {share:.0%} ({part} of {whole}), below the minimum {minimum:.0%}"


def health_from(stats: dict[str, Any], rows: Sequence[dict[str, Any]]) -> SiteHealth:
    """A site's health from its crawler stats and the rows it archived in the run."""
    parsed = int(stats.get("crawler/normalise/articles", 0))
    images = [image for row in rows for image in row["images"]]
    return SiteHealth(
        parsed=parsed,
        archived=len(rows),
        no_title=int(stats.get("crawler/validate/dropped/no_title", 0)),
        no_body=int(stats.get("crawler/validate/dropped/no_body", 0)),
        dated=sum(1 for row in rows if row["published_at"] is not None),
        images=len(images),
        captioned=sum(1 for image in images if image["caption"]),
        found=parsed + int(stats.get("crawler/incremental/skipped_known", 0)),
        fallback=sum(1 for row in rows if "+" in (row["parser_version"] or "")),
    )
