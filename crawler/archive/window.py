"""Publish-date windows (``--since``/``--until``) as SQL over ``published_at``.

A date means the site's local calendar day, as a crawl reads ``--since``: the
archive keeps ``published_at`` in UTC, so each site's window starts and ends at
its own midnight. Pure: the zones come from the caller (the spiders know them).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any


def local_bounds(
    since: date | None, until: date | None, zone: tzinfo
) -> tuple[datetime | None, datetime | None]:
    """The UTC instants a window covers in ``zone``: from midnight of ``since`` (inclusive)
    to midnight after ``until`` (exclusive); None where no date is given."""

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time.min, zone).astimezone(UTC)

    return (
        midnight(since) if since else None,
        midnight(until + timedelta(days=1)) if until else None,
    )


def _bounds(since: date | None, until: date | None, zone: tzinfo) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []
    low, high = local_bounds(since, until, zone)
    if low:
        where.append("published_at >= CAST(? AS TIMESTAMPTZ)")
        params.append(low.isoformat())
    if high:
        where.append("published_at < CAST(? AS TIMESTAMPTZ)")
        params.append(high.isoformat())
    return where, params


def date_window(
    since: date | None,
    until: date | None,
    zones: Mapping[str, tzinfo],
    default: tzinfo,
) -> tuple[str, list[Any]]:
    """A condition (and its parameters) true for rows published from ``since`` to
    ``until`` inclusive, each in its site's zone (``zones``; ``default`` for the rest).
    Empty when neither date is given; rows without a date never match a window."""
    if not since and not until:
        return "", []
    parts, params = [], []
    for site, zone in sorted(zones.items()):
        where, values = _bounds(since, until, zone)
        parts.append("(site = ? AND " + " AND ".join(where) + ")")
        params += [site, *values]
    where, values = _bounds(since, until, default)
    others = ", ".join("?" for _ in zones)
    parts.append(
        "(" + (f"site NOT IN ({others}) AND " if zones else "") + " AND ".join(where) + ")"
    )
    params += [*sorted(zones), *values]
    return "(" + " OR ".join(parts) + ")", params
