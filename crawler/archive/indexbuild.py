"""Building the row index in bounded memory, on every core (:func:`crawler.archive.catalog.write_index`).

A build reads every body (its length is an index column), so it is bound by
decompression: the files are read by worker threads with pyarrow (which
releases the GIL), only the columns the index needs, one file at a time.

Sorting ten million rows by a 64-character key in one query made DuckDB spill
most of them and grew worse than linearly. Here the rows are sorted in runs of
at most :data:`RUN_ROWS` rows, each written to a temporary Parquet file in small
row groups, then merged: the key range is cut where the runs' row groups start,
every :data:`MERGE_ROWS` rows or so; each range's rows are read from every run,
sorted and appended to the index. Memory is a run, a range and one row group per
run, whatever the size of the archive; every row is read from the archive once.

The rows are the same as DuckDB computed them (:data:`crawler.archive.catalog._ROW_SQL`):
``length(body)`` in characters, captions counted as there, ``key64`` as
:data:`crawler.archive.catalog.KEY64_SQL` reads it.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.archive.layout import ARTICLES_DIR
from crawler.archive.views import SCHEMA_VERSION_KEY

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

RUN_ROWS = 64_000
"""Rows sorted at once in the first pass (about 20 MB of index rows)."""
MERGE_ROWS = 64_000
"""Rows of one key range of the merge, about."""
RUN_GROUP_ROWS = 1024
"""Rows of a run's row groups: the merge holds at most one of each run at a time."""
SORT_KEYS = [("url_key", "ascending"), ("file", "ascending"), ("row", "ascending")]
"""The index's order (``ORDER BY url_key, file, row``: bytes, as DuckDB compares)."""

_READ_COLUMNS = (
    "url_key",
    "published_at",
    "fetched_at",
    "crawl_run",
    "images",
    "body",
    "authors",
    "tags",
    "raw_ref",
)
_PARTITIONS = ("site", "year", "month")
_DICTIONARY = (
    "site",
    "year",
    "month",
    "crawl_run",
    "images",
    "captioned",
    "captions",
    "authors",
    "tags",
)
"""Index columns of few distinct values, dictionary-encoded (a key, a file name is not)."""


@contextmanager
def arrow_memory() -> Iterator[None]:
    """Arrow allocates from jemalloc while the index is built, where it has it: with
    worker threads, mimalloc (the default) kept about 100 MiB more resident."""
    import pyarrow as pa

    try:
        pool = pa.jemalloc_memory_pool()
    except NotImplementedError:
        yield
        return
    before = pa.default_memory_pool()
    pa.set_memory_pool(pool)
    try:
        yield
    finally:
        pa.set_memory_pool(before)


def release_memory() -> None:
    """Give the memory Arrow freed back to the system (between the build's passes, so
    that the next one, DuckDB's or Arrow's, does not come on top of it)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def index_schema() -> pa.Schema:
    """The index's columns (:data:`crawler.archive.catalog.INDEX_COLUMNS`) with DuckDB's types."""
    import pyarrow as pa

    strings = pa.list_(pa.field("element", pa.string()))
    stamp = pa.timestamp("us", tz="UTC")
    return pa.schema(
        [
            ("url_key", pa.string()),
            ("key64", pa.uint64()),
            ("site", pa.string()),
            ("year", pa.string()),
            ("month", pa.string()),
            ("file", pa.string()),
            ("row", pa.int64()),
            ("published_at", stamp),
            ("fetched_at", stamp),
            ("crawl_run", pa.string()),
            ("images", pa.int32()),
            ("captioned", pa.int32()),
            ("captions", pa.int32()),
            ("body_chars", pa.int32()),
            ("with_raw", pa.bool_()),
            ("authors", strings),
            ("tags", strings),
        ]
    )


def key64(keys: pa.Array) -> pa.Array:
    """Each key's first 64 bits (its first 16 hex digits) as a number; null unless the key
    is 64 hex digits (either case): :data:`crawler.archive.catalog.KEY64_SQL`."""
    import numpy as np
    import pyarrow as pa

    keys = keys.cast(pa.large_string())  # 64-bit offsets, one layout to read
    n = len(keys)
    out = np.zeros(n, dtype=np.uint64)
    valid = np.zeros(n, dtype=bool)
    if n:
        _, offsets_buffer, data_buffer = keys.buffers()
        offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[keys.offset : keys.offset + n + 1]
        data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer else np.zeros(0, np.uint8)
        lengths = np.diff(offsets)
        candidates = np.flatnonzero((lengths == 64) & ~np.asarray(keys.is_null()))
        if len(candidates):
            digits = _NIBBLES[data[offsets[candidates, None] + np.arange(64)]]
            hexadecimal = (digits < 16).all(axis=1)
            chosen = candidates[hexadecimal]
            top = digits[hexadecimal, :16].astype(np.uint64)
            shifts = np.arange(60, -4, -4, dtype=np.uint64)
            out[chosen] = (top << shifts).sum(axis=1, dtype=np.uint64)
            valid[chosen] = True
    return pa.array(out, pa.uint64(), mask=~valid)


def _nibbles() -> Any:
    import numpy as np

    table = np.full(256, 16, dtype=np.uint8)
    for value, digit in enumerate("0123456789abcdef"):
        table[ord(digit)] = value
        table[ord(digit.upper())] = value
    return table


_NIBBLES = _nibbles()


def partitions(name: str) -> dict[str, str | None]:
    """``site``, ``year`` and ``month`` of a file named relative to ``articles/``
    (its ``key=value`` directories, as DuckDB's hive partitioning reads them)."""
    values: dict[str, str | None] = dict.fromkeys(_PARTITIONS)
    for part in name.split("/")[:-1]:
        key, sep, value = part.partition("=")
        if sep and key in values and values[key] is None:
            values[key] = value
    return values


def _caption_path(source: pq.ParquetFile) -> str:
    """The images' captions as a column path (``images.list.element.caption``): only
    they are read of the images, not their URLs and credits."""
    schema = source.schema
    for i in range(len(schema)):
        path = str(schema.column(i).path)
        if path.startswith("images.") and path.endswith(".caption"):
            return path
    return "images"


def _counted(images: pa.Array, keep: Callable[[pa.Array], pa.Array]) -> pa.Array:
    """Per row, how many images have a caption that ``keep`` accepts (null where images is)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    flat = pc.list_flatten(images)
    parents = np.asarray(pc.list_parent_indices(images))
    captions = pc.struct_field(flat, "caption")
    chosen = np.asarray(keep(captions).fill_null(False), dtype=bool)
    counts = np.bincount(parents[chosen], minlength=len(images)).astype(np.int32)
    return pa.array(counts, pa.int32(), mask=np.asarray(images.is_null()))


@dataclass
class FileRows:
    """One archive file's index rows, and its entry in the index footer."""

    name: str
    rows: pa.Table
    entry: list[int | str | None]


def file_rows(root: Path, name: str, schema: pa.Schema) -> FileRows:
    """The index rows of the archive file ``name`` (relative to ``articles/``), with its
    [size, mtime_ns, rows, schema version] read from the same footer."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = os.path.join(root, ARTICLES_DIR, name)
    info = os.stat(path)
    source = pq.ParquetFile(path)
    try:
        meta = source.metadata
        version = (meta.metadata or {}).get(SCHEMA_VERSION_KEY.encode())
        present = set(source.schema_arrow.names)
        wanted = [_caption_path(source) if c == "images" else c for c in _READ_COLUMNS]
        table = source.read(
            columns=[c for c in wanted if c.split(".")[0] in present], use_threads=False
        )
    finally:
        source.close()
    n = table.num_rows
    keys = table.column("url_key").combine_chunks()
    images = table.column("images").combine_chunks()

    def column(column_name: str) -> pa.Array:
        if column_name in present:
            return table.column(column_name).combine_chunks()
        return pa.nulls(n, schema.field(column_name).type)

    where = partitions(name)
    raw = table.column("raw_ref").is_valid() if "raw_ref" in present else pa.repeat(False, n)
    arrays = {
        "url_key": keys,
        "key64": key64(keys),
        **{part: pa.repeat(pa.scalar(where[part], pa.string()), n) for part in _PARTITIONS},
        "file": pa.repeat(pa.scalar(name, pa.string()), n),
        "row": pa.array(range(n), pa.int64()),
        "published_at": column("published_at"),
        "fetched_at": column("fetched_at"),
        "crawl_run": column("crawl_run"),
        "images": pc.list_value_length(images).cast(pa.int32()),
        "captioned": _counted(images, lambda c: pc.and_(c.is_valid(), pc.not_equal(c, ""))),
        "captions": _counted(images, lambda c: c.is_valid()),
        "body_chars": pc.utf8_length(table.column("body")).cast(pa.int32()),
        "with_raw": raw,
        "authors": column("authors"),
        "tags": column("tags"),
    }
    rows = pa.Table.from_arrays([_as(arrays[f.name], f.type) for f in schema], schema=schema)
    entry: list[int | str | None] = [
        info.st_size,
        info.st_mtime_ns,
        meta.num_rows,
        version.decode("utf-8", "replace") if version is not None else None,
    ]
    return FileRows(name, rows, entry)


def _as(values: Any, kind: pa.DataType) -> Any:
    """``values`` (an array or chunked array) as one array of ``kind``."""
    import pyarrow as pa

    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    return values if values.type == kind else values.cast(kind)


def read_files(
    root: Path, names: list[str], schema: pa.Schema, workers: int | None = None
) -> Iterator[FileRows]:
    """:func:`file_rows` of each of ``names``, in order, computed by ``workers`` threads
    (as many as the cores) with a few files read ahead."""
    workers = workers or cores()
    with ThreadPoolExecutor(max(1, workers)) as pool:
        pending: deque[Future[FileRows]] = deque()
        todo = iter(names)
        for name in todo:
            pending.append(pool.submit(file_rows, root, name, schema))
            if len(pending) >= 2 * workers:
                break
        while pending:
            done = pending.popleft().result()
            for name in todo:
                pending.append(pool.submit(file_rows, root, name, schema))
                break
            yield done


def cores() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@dataclass
class _Run:
    """A sorted run on disk, and how far the merge has read it."""

    path: Path
    firsts: list[str]
    """The first key of each row group."""
    next_group: int = 0
    pending: pa.Table | None = None
    """Rows read from the run and not yet merged (the rest of its last row group)."""


@dataclass
class Runs:
    """Sorted runs of index rows in ``directory``, written as rows arrive."""

    directory: Path
    schema: pa.Schema
    runs: list[_Run] = field(default_factory=list)
    buffered: list[pa.Table] = field(default_factory=list)
    buffered_rows: int = 0

    def add(self, rows: pa.Table) -> None:
        self.buffered.append(rows)
        self.buffered_rows += rows.num_rows
        if self.buffered_rows >= RUN_ROWS:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows as one sorted run (an empty one when there are none yet)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self.buffered and self.runs:
            return
        table = pa.concat_tables(self.buffered) if self.buffered else self.schema.empty_table()
        self.buffered, self.buffered_rows = [], 0
        table = sort_rows(table)
        path = self.directory / f"run-{len(self.runs):05d}.parquet"
        pq.write_table(
            table,
            path,
            row_group_size=RUN_GROUP_ROWS,
            compression="lz4",
            use_dictionary=False,
            write_statistics=False,
            store_schema=False,
        )
        keys = table.column("url_key")
        firsts = [str(keys[i]) for i in range(0, table.num_rows, RUN_GROUP_ROWS)]
        self.runs.append(_Run(path, firsts))

    @property
    def paths(self) -> list[Path]:
        return [run.path for run in self.runs]

    def merged(self) -> Iterator[pa.Table]:
        """Every row of every run, in the index's order, a key range at a time."""
        import pyarrow as pa

        self.flush()
        bounds = split_keys(self.runs)
        for low, high in zip([None, *bounds], [*bounds, None], strict=True):
            del low  # every row below ``high`` not merged yet is at least ``low``
            parts = [part for run in self.runs for part in _take_below(run, high)]
            if parts:
                yield sort_rows(pa.concat_tables(parts))


def sort_rows(table: pa.Table) -> pa.Table:
    """``table`` in the index's order."""
    import pyarrow.compute as pc

    if table.num_rows < 2:
        return table
    return table.take(pc.sort_indices(table, sort_keys=SORT_KEYS))


def split_keys(runs: list[_Run]) -> list[str]:
    """Keys that cut the runs' rows into ranges of about :data:`MERGE_ROWS` rows (a range
    is [one, the next)), chosen among the first keys of the runs' row groups."""
    firsts = sorted(key for run in runs for key in run.firsts)
    step = max(1, MERGE_ROWS // RUN_GROUP_ROWS)
    bounds: list[str] = []
    for key in firsts[step::step]:
        if not bounds or key > bounds[-1]:
            bounds.append(key)
    return bounds


def _take_below(run: _Run, high: str | None) -> Iterator[pa.Table]:
    """The rows of ``run`` below ``high`` (all, when None) not merged yet, in order."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    while True:
        if run.pending is None:
            if run.next_group >= len(run.firsts):
                return
            if high is not None and run.firsts[run.next_group] >= high:
                return
            # Opened for each read: an open reader holds a few MB, and there is a run
            # for every RUN_ROWS rows of the archive (157 at ten million rows).
            source = pq.ParquetFile(run.path, pre_buffer=False)
            try:
                run.pending = source.read_row_group(run.next_group, use_threads=False)
            finally:
                source.close()
            run.next_group += 1
        rows = run.pending
        keys = rows.column("url_key")
        if high is None or str(keys[rows.num_rows - 1]) < high:
            run.pending = None
            yield rows
            continue
        below = int(pc.sum(pc.less(keys, high)).as_py() or 0)  # sorted: the first ``below``
        if below:
            yield rows.slice(0, below)
        run.pending = rows.slice(below)
        return


def write_sorted(
    path: Path, schema: pa.Schema, tables: Iterable[pa.Table], group_rows: int
) -> pq.ParquetWriter:
    """Write ``tables`` (in order) to ``path`` in row groups of exactly ``group_rows`` rows
    (the last one fewer). Returns the writer, still open: the caller adds the footer's
    key-value metadata, then closes it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = pq.ParquetWriter(
        path,
        schema,
        compression="zstd",
        store_schema=False,
        use_dictionary=list(_DICTIONARY),
    )
    held: list[pa.Table] = []
    count = 0
    try:
        for table in tables:
            held.append(table)
            count += table.num_rows
            if count >= group_rows:
                whole = pa.concat_tables(held)
                cut = count - count % group_rows
                writer.write_table(whole.slice(0, cut), row_group_size=group_rows)
                rest = whole.slice(cut)
                held, count = ([rest] if rest.num_rows else []), rest.num_rows
        if count:
            writer.write_table(pa.concat_tables(held), row_group_size=group_rows)
    except BaseException:
        writer.close()
        raise
    return writer


@dataclass
class KeyCounts:
    """What the summary would hash every key for, counted from the merged ranges instead
    (each sorted, no key in two of them): distinct url_keys per site and in all, and the
    keys with several rows (:func:`crawler.archive.summary.compute`, ``report_numbers``)."""

    per_site: dict[str | None, int] = field(default_factory=dict)
    keys: int = 0
    several: list[pa.Array] = field(default_factory=list)

    def counted(self, ranges: Iterable[pa.Table]) -> Iterator[pa.Table]:
        """``ranges``, unchanged, counted as they pass."""
        import pyarrow.compute as pc

        for rows in ranges:
            by_key = rows.group_by("url_key").aggregate([("url_key", "count")])
            self.keys += by_key.num_rows
            several = by_key.filter(pc.greater(by_key.column("url_key_count"), 1))
            if several.num_rows:
                self.several.append(several.column("url_key").combine_chunks())
            pairs = rows.group_by(["site", "url_key"]).aggregate([])
            sites = pairs.group_by("site").aggregate([("url_key", "count")])
            for site, n in zip(
                sites.column("site").to_pylist(),
                sites.column("url_key_count").to_pylist(),
                strict=True,
            ):
                self.per_site[site] = self.per_site.get(site, 0) + int(n)
            yield rows

    @property
    def articles(self) -> dict[str | None, int]:
        """Distinct url_keys per site and (None) in all, as ``compute`` counts them."""
        return {**self.per_site, None: self.keys}

    def duplicated(self) -> pa.Table:
        """The keys with several rows, as a table of one column ``url_key``."""
        import pyarrow as pa

        keys = (
            pa.chunked_array(self.several, pa.string())
            if self.several
            else pa.array([], pa.string())
        )
        return pa.table({"url_key": keys})
