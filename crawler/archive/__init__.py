"""The Parquet archive: schema (contract v2), layout on disk, atomic partitioned writer,
reader; DuckDB views, queries, compaction, checking, raw pages (WARC).

The names below are loaded when first used, so that a command which only needs
:mod:`crawler.archive.layout` or :mod:`crawler.archive.views` does not import
pyarrow (``crawler --help`` stays quick).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crawler.archive.layout import ARTICLES_DIR
    from crawler.archive.reader import (
        ArchiveReadError,
        KnownKeys,
        dataset,
        known_url_keys,
        read_table,
    )
    from crawler.archive.schema import (
        ARTICLE_SCHEMA,
        DATASET_SCHEMA,
        FILE_SCHEMA,
        PARTITION_KEYS,
        RECORD_COLUMNS,
        SCHEMA_VERSION,
        SCHEMA_VERSION_KEY,
        SITE_KEY,
        UNKNOWN,
        normalise_record,
        records_to_table,
    )
    from crawler.archive.writer import (
        ArchiveWriter,
        check_path_component,
        sweep_temp_files,
    )

_HOMES = {
    "ARTICLES_DIR": "layout",
    **dict.fromkeys(
        ["ArchiveReadError", "KnownKeys", "dataset", "known_url_keys", "read_table"], "reader"
    ),
    **dict.fromkeys(
        [
            "ARTICLE_SCHEMA",
            "DATASET_SCHEMA",
            "FILE_SCHEMA",
            "PARTITION_KEYS",
            "RECORD_COLUMNS",
            "SCHEMA_VERSION",
            "SCHEMA_VERSION_KEY",
            "SITE_KEY",
            "UNKNOWN",
            "normalise_record",
            "records_to_table",
        ],
        "schema",
    ),
    **dict.fromkeys(["ArchiveWriter", "check_path_component", "sweep_temp_files"], "writer"),
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "ARTICLES_DIR",
    "ARTICLE_SCHEMA",
    "DATASET_SCHEMA",
    "FILE_SCHEMA",
    "PARTITION_KEYS",
    "RECORD_COLUMNS",
    "SCHEMA_VERSION",
    "SCHEMA_VERSION_KEY",
    "SITE_KEY",
    "UNKNOWN",
    "ArchiveReadError",
    "ArchiveWriter",
    "KnownKeys",
    "check_path_component",
    "dataset",
    "known_url_keys",
    "normalise_record",
    "read_table",
    "records_to_table",
    "sweep_temp_files",
]
