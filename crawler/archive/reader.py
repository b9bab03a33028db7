"""Read the article archive back, with the schema of this code.

Unreadable files raise :class:`ArchiveReadError` naming the file; they are not
skipped. A writer only ever makes whole files visible, so a bad file means
damage (disk, a hand copy) that a user wants to hear about, and skipping it
would silently drop articles, and make deduplication re-fetch them. The
message says how to move it aside (``crawler validate --quarantine``).

The files read are the ones the DuckDB commands read (:func:`crawler.archive.views.
iter_parquet_files`: ``*.parquet``, nothing hidden), and :func:`known_url_keys`
(the incremental start of a crawl) first checks them as those commands do
(:func:`crawler.archive.views.check_files`), so that a file one command refuses, every
command refuses, with the same message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from crawler.archive.layout import ARTICLES_DIR, iter_parquet_files
from crawler.archive.schema import DATASET_SCHEMA, PARTITION_SCHEMA, RECORD_COLUMNS
from crawler.archive.views import (
    ArchiveReadError,
    BadArchiveFile,
    check_files,
    one_line,
    vanished_file,
)

_EMPTY = ds.dataset([], schema=DATASET_SCHEMA, format="parquet")
_TRIES = 10  # reads racing a compaction: each new listing is whole again


__all__ = ["ArchiveReadError", "dataset", "known_url_keys", "read_table"]


def dataset(root: Path | str, files: Sequence[Path] | None = None) -> ds.Dataset:
    """The archive under ``<root>/articles`` (or ``files`` of it) as a pyarrow dataset.

    Columns: the record (schema v2, ``site`` from the ``site=`` directory), then
    the ``year`` / ``month`` partition keys as strings, for filters. The
    explicit schema means files of any version read alike: a column missing
    from a file reads as null. An absent archive is an empty dataset.
    """
    articles = Path(root) / ARTICLES_DIR
    if files is None:
        if not articles.is_dir():
            return _EMPTY
        files = list(iter_parquet_files(root))
    return ds.dataset(
        [str(path) for path in files],
        schema=DATASET_SCHEMA,
        format="parquet",
        partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive"),
        partition_base_dir=str(articles),
    )


def read_table(
    root: Path | str,
    columns: Sequence[str] | None = None,
    filter: pc.Expression | None = None,
    name_prefix: str = "",
) -> pa.Table:
    """Read record columns (all of them by default) where ``filter`` holds.

    ``filter`` is a pyarrow expression, e.g. ``pc.field("site") == "qdnd.vn"``;
    it may use the ``year`` / ``month`` partition keys. ``name_prefix`` reads only
    the files whose names start with it (``part-<run>-``: one run's own files), so
    that a damaged file of another run does not stop the read.
    """
    wanted = list(RECORD_COLUMNS if columns is None else columns)

    def listing() -> ds.Dataset:
        if not name_prefix:
            return dataset(root)
        return dataset(
            root, [p for p in iter_parquet_files(root) if p.name.startswith(name_prefix)]
        )

    return _read(root, listing, wanted, filter)


def _read(
    root: Path | str,
    listing: Callable[[], ds.Dataset],
    wanted: list[str],
    filter: pc.Expression | None,
) -> pa.Table:
    # A bad column or filter fails here, on no files, with pyarrow's own message;
    # so whatever fails below is a file.
    _EMPTY.to_table(columns=wanted, filter=filter)
    for attempt in range(_TRIES):
        try:
            dset = listing()
        except FileNotFoundError:  # listed, then gone before pyarrow looked at it
            if attempt == _TRIES - 1:
                raise
            continue
        try:
            return dset.to_table(columns=wanted, filter=filter)
        except FileNotFoundError as error:
            # Listed a moment ago, gone now: `crawler compact` swapped its partition.
            # The new listing is whole again, so read again.
            if attempt == _TRIES - 1:
                raise _explain(root, dset, wanted, filter, error) from error
        except (pa.ArrowException, OSError) as error:
            raise _explain(root, dset, wanted, filter, error) from error
    raise AssertionError("unreachable")


def known_url_keys(root: Path | str, site: str | None = None) -> set[str]:
    """Every ``url_key`` in the archive, or in one site's partition (only that column is read).

    Each file is checked first (:func:`crawler.archive.views.check_files`): a damaged file,
    or one not of the archive's schema, raises :class:`ArchiveReadError` naming it.
    """
    import duckdb

    for attempt in range(_TRIES):
        try:
            check_files(root, _files(root, site))
            break
        except duckdb.IOException as error:  # listed, then swapped away by a compaction
            if attempt == _TRIES - 1 or not vanished_file(error):
                raise ArchiveReadError(f"cannot read the archive: {one_line(error)}") from None
    where = pc.field("site") == site if site else None
    table = _read(root, lambda: dataset(root, _files(root, site)), ["url_key"], where)
    return {key for key in table.column("url_key").to_pylist() if key is not None}


def _files(root: Path | str, site: str | None) -> list[Path]:
    """The archive's files, or those of one site's partition."""
    articles = Path(root) / ARTICLES_DIR
    return [
        path
        for path in iter_parquet_files(root)
        if site is None or path.relative_to(articles).parts[0] == f"site={site}"
    ]


def _explain(
    root: Path | str,
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
            reason = " ".join(str(bad).replace(f"'{fragment.path}'", "").split())
            return BadArchiveFile(root, fragment.path, f"unreadable ({reason})")
    return ArchiveReadError(f"cannot read the archive: {error}")
