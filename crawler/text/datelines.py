"""Source tags that open a lead: ``QĐND - ``, ``(QĐND) - ``, ``VGP - ``, ``TPO - ``."""

from __future__ import annotations

import re
from collections.abc import Iterable

DATELINE_TAGS: tuple[str, ...] = (
    "QĐND",
    "QĐND Online",
    "VGP",
    "TPO",
    "QK7 Online",
    "TTXVN",
    "VOV",
    "BP",
    "BBP",
    "PANO",
)

_DASH = r"\s*[-–—]\s*"


def _compile(tags: Iterable[str]) -> re.Pattern[str]:
    names = "|".join(re.escape(t) for t in sorted(set(tags), key=len, reverse=True))
    # A known tag, bare or in brackets; or any short bracketed tag, e.g. "(QK7 Online) - ".
    return re.compile(rf"^(?:\(?(?:{names})\)?|\([^()]{{1,30}}\)){_DASH}(?=\S)")


_DEFAULT = _compile(DATELINE_TAGS)


def strip_dateline(summary: str, extra_tags: Iterable[str] = ()) -> str:
    """Remove the source tag at the start of a lead; other text is left alone."""
    extra = tuple(extra_tags)
    pattern = _compile((*DATELINE_TAGS, *extra)) if extra else _DEFAULT
    return pattern.sub("", summary, count=1)
