"""The Parquet archive: schema (contract v2), atomic partitioned writer, reader."""

from crawler.archive.reader import ArchiveReadError, dataset, known_url_keys, read_table
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
    ARTICLES_DIR,
    ArchiveWriter,
    check_path_component,
    sweep_temp_files,
)

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
    "check_path_component",
    "dataset",
    "known_url_keys",
    "normalise_record",
    "read_table",
    "records_to_table",
    "sweep_temp_files",
]
