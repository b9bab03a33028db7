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
        return datetime(
            int(match.group("y")),
            int(match.group("m")),
            int(match.group("d")),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=tz,
        ).astimezone(UTC)
    except (ValueError, OverflowError):  # no such day; or before year 1 / after 9999 in UTC
        return None


def parse_iso(text: str | None, tz: timezone = VIETNAM) -> datetime | None:
    """An ISO 8601 date or datetime; a naive one is taken as local time ``tz``."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=tz)
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


_MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
# June 18, 2024, 10:08 / 18 June 2024 10:08
_ENGLISH = re.compile(
    r"(?:(?P<m1>[A-Za-z]{3,9})\.?\s+(?P<d1>\d{1,2}),?\s+(?P<y1>\d{4})"
    r"|(?P<d2>\d{1,2})\s+(?P<m2>[A-Za-z]{3,9})\.?,?\s+(?P<y2>\d{4}))"
    r"(?:[\s,|-]*(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?\s*(?P<ampm>[AaPp][Mm])?)?"
)
# 2024年06月18日 10:08
_CHINESE = re.compile(
    r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日"
    r"(?:\s*(?P<H>\d{1,2})[:：时](?P<M>\d{2}))?"
)
_ISO_LIKE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_english(text: str | None, tz: timezone) -> datetime | None:
    """``Tuesday, June 18, 2024, 10:08 (GMT+7)`` or ``18 June 2024``, local time ``tz``."""
    if not text:
        return None
    for match in _ENGLISH.finditer(text):
        month = _MONTHS.get((match.group("m1") or match.group("m2") or "").lower())
        if month is None:
            continue
        day = int(match.group("d1") or match.group("d2"))
        year = int(match.group("y1") or match.group("y2"))
        hour = int(match.group("H") or 0)
        if match.group("ampm") and match.group("ampm").lower() == "pm" and hour < 12:
            hour += 12
        try:
            return datetime(
                year,
                month,
                day,
                hour,
                int(match.group("M") or 0),
                int(match.group("S") or 0),
                tzinfo=tz,
            ).astimezone(UTC)
        except (ValueError, OverflowError):
            return None
    return None


def parse_chinese(text: str | None, tz: timezone) -> datetime | None:
    """``2024年06月18日 10:08`` in local time ``tz``."""
    match = _CHINESE.search(text or "")
    if match is None:
        return None
    try:
        return datetime(
            int(match.group("y")),
            int(match.group("m")),
            int(match.group("d")),
            int(match.group("H") or 0),
            int(match.group("M") or 0),
            tzinfo=tz,
        ).astimezone(UTC)
    except (ValueError, OverflowError):  # no such day; or before year 1 / after 9999 in UTC
        return None


def parse_date(text: str | None, tz: timezone = VIETNAM) -> datetime | None:
    """Any date format seen on the sites: ISO 8601, dd/mm/yyyy, English, Chinese."""
    if not text:
        return None
    text = text.strip()
    if _ISO_LIKE.match(text):
        return parse_iso(text, tz)
    return parse_dmy(text, tz) or parse_chinese(text, tz) or parse_english(text, tz)
