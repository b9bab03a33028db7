"""Publish-date windows (``--since``/``--until``) as SQL over ``published_at``.

A date means the site's local calendar day, as a crawl reads ``--since``: the
archive keeps ``published_at`` in UTC, so each site's window starts and ends at
its own midnight. Pure: the zones come from the caller (the spiders know them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


def timestamptz(moment: datetime) -> tuple[str, Any]:
    """A bound as DuckDB compares it with ``published_at`` (the archive's views)."""
    return "CAST(? AS TIMESTAMPTZ)", moment.isoformat()


def date_window(
    since: date | None,
    until: date | None,
    zones: Mapping[str, tzinfo],
    default: tzinfo,
    published: str = "published_at",
    site: str = "site",
    bound: Callable[[datetime], tuple[str, Any]] = timestamptz,
) -> tuple[str, list[Any]]:
    """A condition (and its parameters) true for rows published from ``since`` to
    ``until`` inclusive, each in its site's zone (``zones``; ``default`` for the rest).
    Empty when neither date is given; rows without a date never match a window.

    ``published`` and ``site`` name the columns; ``bound`` writes an instant as the
    query compares it (a placeholder and its parameter).
    """
    if not since and not until:
        return "", []
    parts: list[str] = []
    params: list[Any] = []

    def within(zone: tzinfo) -> str:
        where = []
        for moment, op in zip(local_bounds(since, until, zone), (">=", "<"), strict=True):
            if moment is not None:
                placeholder, value = bound(moment)
                where.append(f"{published} {op} {placeholder}")
                params.append(value)
        return " AND ".join(where)

    for name, zone in sorted(zones.items()):
        params.append(name)
        parts.append(f"({site} = ? AND {within(zone)})")
    others = f"{site} NOT IN ({', '.join('?' for _ in zones)}) AND " if zones else ""
    params += sorted(zones)
    parts.append(f"({others}{within(default)})")
    return "(" + " OR ".join(parts) + ")", params
