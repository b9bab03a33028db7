"""The Parquet schema of the article record (contract, version 2).

The table in ``DESIGN.md`` ("Article record") is the source of truth; this
module spells it in Arrow types and checks rows against it *before* they are
buffered, so one bad record fails alone, with a message naming the column,
instead of failing a whole flush later.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

SCHEMA_VERSION = 2
"""Bumped only when columns are added (nullable); columns are never retyped.

History: 1, the design's record; 2, ``raw_ref`` added (where the fetched page is
kept, see :mod:`crawler.archive.warc`). Files of an older version read with the newer
columns null: :mod:`crawler.archive.reader` reads with this schema."""

SCHEMA_VERSION_KEY = b"crawler.schema_version"
"""Key of the schema version in each file's key-value metadata."""

SITE_KEY = b"crawler.site"
"""Key-value metadata holding the site of a file (the column lives in the path)."""

PARTITION_KEYS = ("site", "year", "month")
"""Hive partition keys, outermost first: ``site=<site>/year=<YYYY>/month=<MM>``."""

UNKNOWN = "unknown"
"""Year *and* month value of the partition of articles without a publish date."""

TIMESTAMP = pa.timestamp("us", tz="UTC")

IMAGE_TYPE = pa.struct(
    [
        pa.field("url", pa.string()),
        pa.field("caption", pa.string()),
        pa.field("credit", pa.string()),
    ]
)


def _required(name: str, type_: pa.DataType) -> pa.Field:
    return pa.field(name, type_, nullable=False)


def _optional(name: str, type_: pa.DataType) -> pa.Field:
    return pa.field(name, type_, nullable=True)


_METADATA = {SCHEMA_VERSION_KEY: str(SCHEMA_VERSION).encode("ascii")}

ARTICLE_SCHEMA: pa.Schema = pa.schema(
    [
        _required("url", pa.string()),
        _required("url_key", pa.string()),
        _required("site", pa.string()),
        _required("spider", pa.string()),
        _optional("article_id", pa.string()),
        _required("language", pa.string()),
        _optional("section", pa.string()),
        _required("title", pa.string()),
        _optional("summary", pa.string()),
        _required("body", pa.string()),
        _required("images", pa.list_(IMAGE_TYPE)),
        _optional("byline", pa.string()),
        _required("authors", pa.list_(pa.string())),
        _required("tags", pa.list_(pa.string())),
        _optional("published_at", TIMESTAMP),
        _optional("published_raw", pa.string()),
        _required("fetched_at", TIMESTAMP),
        _required("crawl_run", pa.string()),
        _required("content_hash", pa.string()),
        _required("parser_version", pa.string()),
        # v2: the stored page, ``raw/<file>.warc.gz:<offset>:<length>`` (crawler.archive.warc).
        _optional("raw_ref", pa.string()),
    ],
    metadata=_METADATA,
)
"""The article record, in column order, with the schema version in its metadata."""

RECORD_COLUMNS: tuple[str, ...] = tuple(ARTICLE_SCHEMA.names)

FILE_SCHEMA: pa.Schema = ARTICLE_SCHEMA.remove(ARTICLE_SCHEMA.get_field_index("site"))
"""What a file stores: the record without ``site``, which the ``site=`` directory
carries (see the note in :mod:`crawler.archive.writer` on why)."""

PARTITION_SCHEMA: pa.Schema = pa.schema([pa.field(key, pa.string()) for key in PARTITION_KEYS])
"""Partition keys read as strings: ``year`` may be ``unknown``, and ``month`` keeps
its leading zero, whatever the mix of partitions in an archive."""

DATASET_SCHEMA: pa.Schema = pa.schema(
    [*ARTICLE_SCHEMA, *(PARTITION_SCHEMA.field(key) for key in ("year", "month"))],
    metadata=_METADATA,
)
"""Record columns then the ``year`` / ``month`` partition keys (for filters)."""


def _kind(field: pa.Field) -> str:
    if pa.types.is_string(field.type):
        return "string"
    if pa.types.is_timestamp(field.type):
        return "timestamp"
    if field.type == pa.list_(IMAGE_TYPE):
        return "images"
    return "strings"


_COLUMN_KINDS: dict[str, tuple[str, bool]] = {
    field.name: (_kind(field), field.nullable) for field in ARTICLE_SCHEMA
}
_IMAGE_NAMES = tuple(IMAGE_TYPE.names)
_SURROGATE = re.compile("[\ud800-\udfff]")
_IMAGE_KEYS = frozenset(_IMAGE_NAMES)


def normalise_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """Check one record against the schema; return a copy with UTC timestamps.

    A missing nullable column becomes null; an unknown column is an error
    (silently dropping data of a newer record version would lose it).
    Timestamps must be timezone-aware: a naive one has no defined instant.
    """
    unknown = set(record) - _COLUMN_KINDS.keys()
    if unknown:
        raise ValueError(f"record has columns not in schema v{SCHEMA_VERSION}: {sorted(unknown)}")
    row: dict[str, Any] = {}
    for name, (kind, nullable) in _COLUMN_KINDS.items():
        value = record.get(name)
        if value is None:
            if not nullable:
                raise ValueError(
                    f"record column {name!r} must not be null (url={record.get('url')!r})"
                )
            row[name] = None
        elif kind == "string":
            row[name] = _check_str(name, value)
        elif kind == "timestamp":
            row[name] = _to_utc(name, value)
        elif kind == "strings":
            row[name] = [_check_str(name, item) for item in _check_list(name, value)]
        else:
            row[name] = [_check_image(name, item) for item in _check_list(name, value)]
    return row


def records_to_table(records: Iterable[Mapping[str, Any]]) -> pa.Table:
    """Build a table with :data:`ARTICLE_SCHEMA` (and its metadata) from record dicts."""
    rows = [normalise_record(record) for record in records]
    return pa.Table.from_pylist(rows, schema=ARTICLE_SCHEMA)


def _check_str(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"record column {name!r}: expected str, got {type(value).__name__}")
    if not value.isascii():
        # Checked now: found only when the batch is written, it would fail the batch.
        surrogate = _SURROGATE.search(value)
        if surrogate:
            raise ValueError(
                f"record column {name!r}: lone surrogate U+{ord(surrogate.group()):04X} "
                "cannot be stored as UTF-8"
            )
    return value


def _check_list(name: str, value: Any) -> list[Any]:
    if type(value) is list:  # the common case; the ABC checks below cost more than the rest
        return value
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise TypeError(f"record column {name!r}: expected a list, got {type(value).__name__}")
    return list(value)


def _check_image(name: str, value: Any) -> dict[str, str | None]:
    if type(value) is not dict and not isinstance(value, Mapping):
        raise TypeError(f"record column {name!r}: expected image dicts, got {type(value).__name__}")
    if not value.keys() <= _IMAGE_KEYS:
        unknown = set(value) - _IMAGE_KEYS
        raise ValueError(f"record column {name!r}: unknown image keys {sorted(unknown)}")
    image: dict[str, str | None] = {}
    for key in _IMAGE_NAMES:
        item = value.get(key)
        image[key] = None if item is None else _check_str(f"{name}.{key}", item)
    return image


def _to_utc(name: str, value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"record column {name!r}: expected datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(
            f"record column {name!r}: naive datetime {value.isoformat()}; give a timezone"
        )
    try:
        return value.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01 00:00+07:00 is before year 1 in UTC
        raise ValueError(
            f"record column {name!r}: {value.isoformat()} is out of range in UTC"
        ) from None
