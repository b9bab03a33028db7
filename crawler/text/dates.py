"""Publish dates as sites print them, converted to UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

VIETNAM = timezone(timedelta(hours=7))
CHINA = timezone(timedelta(hours=8))

# 22/07/2022 - 10:15, 22/07/2022 10:15:30, 22-07-2022; the time is optional.
_DMY = re.compile(
    r"(?P<d>\d{1,2})[/.-](?P<m>\d{1,2})[/.-](?P<y>\d{4})"
    r"(?:[\s,|-]*(?P<H>\d{1,2})[:hg](?P<M>\d{2})(?::(?P<S>\d{2}))?)?"
)
# 10:15 22/07/2022 (time first).
_HM_DMY = re.compile(r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?\s*[,|-]?\s*(?P<rest>.+)")


def parse_dmy(text: str | None, tz: timezone = VIETNAM) -> datetime | None:
    """A ``dd/mm/yyyy [- HH:MM]`` date in local time ``tz``, as an aware UTC datetime."""
    if not text:
        return None
    match = _DMY.search(text)
    if match is None:
        return None
    hour = match.group("H")
    minute = match.group("M")
    second = match.group("S")
    if hour is None:
        lead = _HM_DMY.match(text.strip())
        if lead and _DMY.match(lead.group("rest")):
            hour, minute, second = lead.group("H"), lead.group("M"), lead.group("S")
    try:
        local = datetime(
            int(match.group("y")),
            int(match.group("m")),
            int(match.group("d")),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=tz,
        )
    except ValueError:
        return None
    return local.astimezone(UTC)


def parse_iso(text: str | None, tz: timezone = VIETNAM) -> datetime | None:
    """An ISO 8601 date or datetime; a naive one is taken as local time ``tz``."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value.astimezone(UTC)
