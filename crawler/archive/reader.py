"""Read the article archive back, with the schema of this code.

Unreadable files raise :class:`ArchiveReadError` naming the file; they are not
skipped. A writer only ever makes whole files visible, so a bad file means
damage (disk, a hand copy) that a user wants to hear about, and skipping it
would silently drop articles, and make deduplication re-fetch them. Move the
named file out of ``articles/`` to read the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from crawler.archive.schema import DATASET_SCHEMA, PARTITION_SCHEMA, RECORD_COLUMNS
from crawler.archive.writer import ARTICLES_DIR

_EMPTY = ds.dataset([], schema=DATASET_SCHEMA, format="parquet")
_TRIES = 10  # reads racing a compaction: each new listing is whole again


class ArchiveReadError(RuntimeError):
    """A file of the archive cannot be read; the message names it."""


def dataset(root: Path | str) -> ds.Dataset:
    """The archive under ``<root>/articles`` as a pyarrow dataset.

    Columns: the record (schema v2, ``site`` from the ``site=`` directory), then
    the ``year`` / ``month`` partition keys as strings, for filters. The
    explicit schema means files of any version read alike: a column missing
    from a file reads as null. An absent archive is an empty dataset.
    """
    articles = Path(root) / ARTICLES_DIR
    if not articles.is_dir():
        return _EMPTY
    return ds.dataset(
        articles,
        schema=DATASET_SCHEMA,
        format="parquet",
        partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive"),
    )


def read_table(
    root: Path | str,
    columns: Sequence[str] | None = None,
    filter: pc.Expression | None = None,
) -> pa.Table:
    """Read record columns (all of them by default) where ``filter`` holds.

    ``filter`` is a pyarrow expression, e.g. ``pc.field("site") == "qdnd.vn"``;
    it may use the ``year`` / ``month`` partition keys.
    """
    wanted = list(RECORD_COLUMNS if columns is None else columns)
    # A bad column or filter fails here, on no files, with pyarrow's own message;
    # so whatever fails below is a file.
    _EMPTY.to_table(columns=wanted, filter=filter)
    for attempt in range(_TRIES):
        dset = dataset(root)
        try:
            return dset.to_table(columns=wanted, filter=filter)
        except FileNotFoundError as error:
            # Listed a moment ago, gone now: `crawler compact` swapped its partition.
            # The new listing is whole again, so read again.
            if attempt == _TRIES - 1:
                raise _explain(dset, wanted, filter, error) from error
        except (pa.ArrowException, OSError) as error:
            raise _explain(dset, wanted, filter, error) from error
    raise AssertionError("unreachable")


def known_url_keys(root: Path | str, site: str | None = None) -> set[str]:
    """Every ``url_key`` in the archive, or in one site's partition (only that column is read)."""
    where = pc.field("site") == site if site else None
    table = read_table(root, columns=["url_key"], filter=where)
    return {key for key in table.column("url_key").to_pylist() if key is not None}


def _explain(
    dset: ds.Dataset,
    columns: list[str],
    filter: pc.Expression | None,
    error: Exception,
) -> ArchiveReadError:
    """Find the file that failed (pyarrow does not always say which) and name it."""
    for fragment in dset.get_fragments(filter=filter):
        try:
            fragment.to_table(schema=dset.schema, columns=columns, filter=filter)
        except (pa.ArrowException, OSError) as bad:
            return ArchiveReadError(
                f"unreadable Parquet file in the archive: {fragment.path}: {bad} "
                "(move it out of the archive to read the rest)"
            )
    return ArchiveReadError(f"cannot read the archive: {error}")
