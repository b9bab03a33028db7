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

from array import array
from bisect import bisect_left
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from crawler.archive.layout import ARTICLES_DIR, iter_parquet_files
from crawler.archive.schema import DATASET_SCHEMA, PARTITION_SCHEMA, RECORD_COLUMNS
from crawler.archive.views import (
    ArchiveReadError,
    BadArchiveFile,
    check_files,
    give_back_memory,
    one_line,
    sql_list,
    vanished_file,
)

if TYPE_CHECKING:
    import duckdb
    import pyarrow.dataset as ds

_TRIES = 10  # reads racing a compaction: each new listing is whole again


__all__ = ["ArchiveReadError", "KnownKeys", "dataset", "known_url_keys", "read_table"]


def dataset(root: Path | str, files: Sequence[Path] | None = None) -> ds.Dataset:
    """The archive under ``<root>/articles`` (or ``files`` of it) as a pyarrow dataset.

    Columns: the record (schema v2, ``site`` from the ``site=`` directory), then
    the ``year`` / ``month`` partition keys as strings, for filters. The
    explicit schema means files of any version read alike: a column missing
    from a file reads as null. An absent archive is an empty dataset.
    """
    # pyarrow.dataset imports pandas (0.3 s of CPU): only what reads rows pays for it,
    # not every command that imports this module (a crawl's known keys, reextract --force).
    import pyarrow.dataset as ds

    articles = Path(root) / ARTICLES_DIR
    if files is None:
        if not articles.is_dir():
            return _empty()
        files = list(iter_parquet_files(root))
    return ds.dataset(
        [str(path) for path in files],
        schema=DATASET_SCHEMA,
        format="parquet",
        partitioning=ds.partitioning(PARTITION_SCHEMA, flavor="hive"),
        partition_base_dir=str(articles),
    )


@cache
def _empty() -> ds.Dataset:
    """An archive with no files."""
    import pyarrow.dataset as ds

    return ds.dataset([], schema=DATASET_SCHEMA, format="parquet")


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
    _empty().to_table(columns=wanted, filter=filter)
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


class KnownKeys:
    """The url_keys an archive holds, in about 8 bytes each (a set of strings takes 150).

    A key is a sha256 in hex: its first 64 bits, sorted in an array, tell one key
    from another (two keys of a million archives share them with odds of 1 in
    10^13). Keys that are not 64 hex digits are kept whole, in a set.
    """

    def __init__(self, prefixes: array[int], others: set[str]) -> None:
        self._prefixes = prefixes
        self._others = others

    @staticmethod
    def _prefix(key: str) -> int | None:
        if len(key) != 64:
            return None
        try:
            return int(key[:16], 16)
        except ValueError:
            return None

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        prefix = self._prefix(key)
        if prefix is None:
            return key in self._others
        at = bisect_left(self._prefixes, prefix)
        return at < len(self._prefixes) and self._prefixes[at] == prefix

    def __len__(self) -> int:
        return len(self._prefixes) + len(self._others)

    def __eq__(self, other: object) -> bool:
        """Equal to a set of keys that are all here, and as many (what tests compare)."""
        if isinstance(other, KnownKeys):
            return self._prefixes == other._prefixes and self._others == other._others
        if isinstance(other, set | frozenset):
            return len(other) == len(self) and all(key in self for key in other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<KnownKeys: {len(self):,} keys>"

    @classmethod
    def empty(cls) -> KnownKeys:
        return cls(array("Q"), set())


KEY_BATCH_ROWS = 65536


def known_url_keys(root: Path | str, site: str | None = None) -> KnownKeys:
    """Every ``url_key`` in the archive, or in one site's partition.

    Read from the row index (:mod:`crawler.archive.catalog`) when there is one (the
    files it does not cover are read directly), else from the ``url_key`` column of
    the files. The files read are checked first (:func:`crawler.archive.views.check_files`):
    a damaged file, or one not of the archive's schema, raises :class:`ArchiveReadError`
    naming it.
    """
    import duckdb

    from crawler.archive.catalog import KEY64_SQL, rows_view, survey

    if not (Path(root) / ARTICLES_DIR).is_dir() or not _files(root, site):
        return KnownKeys.empty()
    for attempt in range(_TRIES):
        con = duckdb.connect()
        try:
            con.execute("SET memory_limit = '100MB'")
            con.execute("SET threads = 1")  # one scan's buffers, not one per thread
            con.execute("SET enable_progress_bar = false")  # a crawl's log is no terminal
            catalog = survey(root, con)
            if site:  # another site's new or damaged file is not this crawl's concern
                own = set(_files(root, site))
                catalog.fresh = [path for path in catalog.fresh if path in own]
            if catalog.index is not None:
                rows_view(catalog, con)
                source, where = "idx", "AND site = ?" if site else ""
            else:  # no index: only the site's own files, key column only
                files = _files(root, site)
                check_files(root, files, con)
                source = (
                    f"(SELECT url_key, {KEY64_SQL} AS key64 FROM read_parquet({sql_list(files)}))"
                )
                where = ""
            params = [site] if site and where else []
            prefixes = con.sql(
                f"SELECT key64 FROM {source} WHERE key64 IS NOT NULL {where}", params=params
            )
            others = con.execute(
                f"SELECT url_key FROM {source} WHERE key64 IS NULL AND url_key IS NOT NULL {where}",
                params,
            ).fetchall()
            return _known(prefixes, {key for (key,) in others})
        except duckdb.IOException as error:  # listed, then swapped away by a compaction
            if attempt == _TRIES - 1 or not vanished_file(error):
                raise ArchiveReadError(f"cannot read the archive: {one_line(error)}") from None
        except duckdb.Error as error:
            raise ArchiveReadError(f"cannot read the archive: {one_line(error)}") from None
        finally:
            con.close()
            give_back_memory()
    raise AssertionError("unreachable")


def _known(prefixes: duckdb.DuckDBPyRelation, others: set[str]) -> KnownKeys:
    """Stream the keys' 64-bit prefixes in batches into one array, never a table of every
    key. The row index gives them in key order: then repeats are dropped on the way and
    nothing is sorted; any other order is sorted and made unique once, at the end."""
    # DuckDB 1.4+ names it to_arrow_reader; earlier ones fetch_record_batch.
    fetch = getattr(prefixes, "to_arrow_reader", None) or prefixes.fetch_record_batch
    gathered = array("Q")
    ordered = True
    last: int | None = None
    for batch in fetch(KEY_BATCH_ROWS):
        values = batch.column(0).drop_null()
        if not len(values):
            continue
        if ordered:
            head, tail = values.slice(0, len(values) - 1), values.slice(1)
            rising = pc.greater_equal(tail, head)
            first = values[0].as_py()
            if (last is not None and first < last) or not pc.all(rising).as_py():
                ordered = False
            else:
                keep = pc.greater(tail, head)  # drop repeats within the batch
                if last is None or first > last:
                    gathered.append(first)
                gathered.frombytes(_uint64_bytes(tail.filter(keep)))
                last = values[-1].as_py()
                continue
        gathered.frombytes(_uint64_bytes(values))
    return KnownKeys(gathered if ordered else _sorted_unique(gathered), others)


def _uint64_bytes(values: pa.Array) -> memoryview:
    """The bytes of an array of 64-bit integers without nulls, as they are in memory."""
    if not len(values):
        return memoryview(b"")
    return memoryview(values.buffers()[1])[8 * values.offset : 8 * (values.offset + len(values))]


def _sorted_unique(values: array[int]) -> array[int]:
    """``values`` sorted, each once (sorting by Arrow: a few copies of 8 bytes a key)."""
    if len(values) < 2:
        return values
    buffer = pa.py_buffer(values)
    column = pa.Array.from_buffers(pa.uint64(), len(values), [None, buffer])
    ordered = pc.take(column, pc.sort_indices(column))
    del column, buffer
    values = array("Q")  # the caller's array is not needed any more
    first = ordered.slice(0, 1)
    rest = ordered.slice(1).filter(
        pc.not_equal(ordered.slice(1), ordered.slice(0, len(ordered) - 1))
    )
    values.frombytes(_uint64_bytes(first))
    values.frombytes(_uint64_bytes(rest))
    return values


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
