"""A digest of what an archive row says about its article: ``crawler reextract``'s
unchanged check compares a re-made record's with the row's it re-makes.

Scrapy-free, so that the rows' digests can be made in the process that reads the rows
while the command starts (:mod:`crawler.crawling.stored_rows`), once for every worker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

IGNORED_FIELDS = frozenset({"fetched_at", "crawl_run", "raw_ref", "parser_version"})
"""What a re-made row may differ in and still be the same record: when and by which
run the page was fetched or re-parsed and where it is stored are bookkeeping, not
content; and a new parser version that makes the same record changes nothing a
reader sees (``--force`` writes such rows anyway, to stamp the current version)."""


def fingerprint(row: dict[str, Any]) -> str:
    """A digest of what a row (as read back from Parquet) says about its article: every
    field but :data:`IGNORED_FIELDS`, by name, each value written out with its kind and
    length (so that no two different rows write the same text), a timestamp as its text
    (its instant and its offset). ``json.dumps`` with sorted keys did the same at twice
    the cost, twice a page (the archived row, the new record)."""
    parts: list[str] = []
    add = parts.append
    for name in sorted(row):
        if name not in IGNORED_FIELDS:
            add(f"\n{name}=")
            _write(row[name], add)
    return hashlib.sha256("".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _write(value: Any, add: Callable[[str], None]) -> None:
    """``value`` as :func:`fingerprint` writes it."""
    kind = type(value)
    if kind is str:
        add(f"s{len(value)}:")
        add(value)
    elif value is None:
        add("n")
    elif kind is list:
        add(f"l{len(value)}:")
        for item in value:
            _write(item, add)
    elif kind is dict:
        add(f"d{len(value)}:")
        for key in sorted(value):
            _write(key, add)
            _write(value[key], add)
    else:  # a timestamp (its text), or a kind the schema does not have
        text = str(value) if isinstance(value, datetime) else f"{kind.__name__} {value!r}"
        add(f"v{len(text)}:")
        add(text)


def old_fingerprints(root: Path | str, rows: list[dict[str, Any]]) -> dict[str, str]:
    """url_key -> fingerprint of the archive row each of ``rows`` (``url_key``,
    ``crawl_run``, ``site``) names."""
    import pyarrow.compute as pc

    from crawler.archive import read_table

    if not rows:
        return {}
    wanted = {(row["url_key"], row["crawl_run"]) for row in rows}
    sites = sorted({row["site"] for row in rows})
    keys = sorted({key for key, _ in wanted})
    table = read_table(root, filter=pc.field("site").isin(sites) & pc.field("url_key").isin(keys))
    found = {}
    # Python objects for a thousand rows at a time, not for all of them at once (at
    # 10,000 pages, that was the run's peak memory).
    for batch in table.to_batches(max_chunksize=1024):
        for row in batch.to_pylist():
            if (row["url_key"], row["crawl_run"]) in wanted:
                found[row["url_key"]] = fingerprint(row)
    return found
