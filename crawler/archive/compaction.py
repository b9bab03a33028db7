"""``crawler compact``: each partition's small files merged, one row per article.

Crawls write a file per partition per flush, and re-fetches and re-extractions
add newer rows of articles the archive already has. Compaction rewrites a
partition (``site=/year=/month=``) into as few files as ``--max-rows`` allows,
keeping of every ``url_key`` only the newest row (:data:`crawler.archive.views.NEWEST_FIRST`,
decided over the whole archive, so an article whose publish date moved to
another month keeps one row in all). Files of schema v1 come out as v2.

Atomicity: the new partition is built beside the archive, in
``<root>/_compact/<token>/``, then swapped with the live partition directory in
one ``renameat2(RENAME_EXCHANGE)`` call: a reader that lists the partition sees
either all the old files or all the new ones, never a mix. (Where the file
system cannot exchange, two renames are used and the partition is absent for
the moment between them.) A reader that listed the old files just before the
swap and opens one after it gets "file not found", never wrong rows; the
crawler's own readers then list again and repeat the read.

Concurrent writers: compaction holds the ``crawl-all`` lock (so no scheduled
run writes meanwhile), skips a partition where a live process is writing a
file, and moves back any file that appeared in a partition during its swap.

Self-check: which rows to keep is decided twice, by DuckDB and again by pyarrow
(:func:`expected_rows`, another engine, no file globbing); compaction stops
before writing anything unless both agree, file by file, and every distinct
``url_key`` keeps exactly one row. Each partition's new files are read back
before it is swapped in: their rows must be the partition's expected count, one
per ``url_key``, and the very rows chosen in the order chosen (their ``url_key``,
``published_at``, ``fetched_at``, ``crawl_run`` and ``content_hash``, compared row by
row). A failed check changes nothing (:class:`CheckFailed`).

Memory: a partition is never held whole (one of 46,000 rows, 300 MB of text, took
1 GiB when it was). Its order comes from a few small columns of its kept rows; the
rows themselves are read a few thousand at a time, dealt into buckets on disk (in the
staging directory, so an interrupted compaction's are removed with the rest) and
written a bucket, one row group, at a time (see :func:`_build`).
"""

from __future__ import annotations

import bisect
import contextlib
import ctypes
import errno
import itertools
import logging
import os
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.archive.layout import ARTICLES_DIR, COMPACT_DIR, TEMP_FILE_RE, pid_alive
from crawler.archive.views import (
    NEWEST_FIRST,
    ArchiveError,
    BadArchiveFile,
    absolute,
    bad_files,
    give_back_memory,
    given,
    parquet_files,
    read_error,
    sql_list,
    sql_string,
)
from crawler.progress import Progress

if TYPE_CHECKING:
    import pyarrow as pa

logger = logging.getLogger(__name__)

DEFAULT_MAX_ROWS = 100_000
SWAP_BATCH = 64  # partitions built in staging before they are swapped in, one after another
FOOTER_FILES = 512  # files whose footers one query checks
INDEX_BATCH = 65_536  # rows of the row index read at a time
DECIDE_ROWS = 100_000
"""Rows whose keep-or-drop is decided at once (a batch of partitions, unless one is more)."""
STREAM_ROWS = 2_048  # rows of a partition's files read at a time
READ_BUFFER = 1 << 20  # bytes of a file read at a time (not a whole column chunk)
MAX_BUCKETS = 256  # files a partition's rows are dealt into (open at once) as it is rebuilt
ROW_GROUP_BYTES = 16 << 20
"""Arrow bytes of rows written as one row group of a new file (a 46,000-row partition of a
ten-million-row archive, held whole, took 1 GiB)."""
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_SEQUENCE = itertools.count()


@dataclass
class PartitionResult:
    """What compaction did (or would do) to one partition."""

    partition: str
    files_before: int
    rows_before: int
    files_after: int = 0
    rows_after: int = 0
    skipped: str | None = None
    upgraded: int = 0  # files of an older schema version among files_before


@dataclass
class CompactResult:
    partitions: list[PartitionResult] = field(default_factory=list)
    untouched: int = 0
    dry_run: bool = False

    @property
    def rewritten(self) -> list[PartitionResult]:
        return [p for p in self.partitions if p.skipped is None]

    def as_dict(self) -> dict[str, Any]:
        done = self.rewritten
        return {
            "dry_run": self.dry_run,
            "partitions_rewritten": len(done),
            "partitions_untouched": self.untouched,
            "files_before": sum(p.files_before for p in done),
            "files_after": sum(p.files_after for p in done),
            "rows_before": sum(p.rows_before for p in done),
            "rows_after": sum(p.rows_after for p in done),
            "files_upgraded": sum(p.upgraded for p in done),
            "partitions": [asdict(p) for p in self.partitions],
        }


# -- the swap ------------------------------------------------------------------------


def exchange(a: Path, b: Path) -> None:
    """Swap two directories atomically (Linux ``renameat2``); OSError where unsupported."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available")
    result = renameat2(
        _AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), ctypes.c_uint(_RENAME_EXCHANGE)
    )
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(a))


def swap_in(new: Path, live: Path) -> None:
    """Put ``new`` where ``live`` is and ``live`` where ``new`` was, atomically if possible."""
    try:
        exchange(new, live)
    except OSError as error:
        if error.errno not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EXDEV):
            raise
        logger.debug("compact: no atomic exchange here (%s); two renames", error)
        aside = new.with_name(new.name + ".old")
        os.rename(live, aside)
        os.rename(new, live)
        os.rename(aside, new)
    _fsync_dir(live.parent)
    _fsync_dir(new.parent)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# -- reading and writing -------------------------------------------------------------


def conform(table: pa.Table) -> pa.Table:
    """A file's table in the current file schema: missing (newer) columns null."""
    import pyarrow as pa

    from crawler.archive.schema import FILE_SCHEMA

    columns = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in FILE_SCHEMA
    ]
    return pa.Table.from_arrays(columns, schema=FILE_SCHEMA)


def newest_rows(files: list[Path]) -> dict[str, set[int]]:
    """For each file (by absolute path), the row numbers that are the newest row of their
    ``url_key``."""
    import duckdb

    keep: dict[str, set[int]] = {absolute(f): set() for f in files}
    con = duckdb.connect()
    try:
        rows = con.execute(
            f"SELECT filename, file_row_number FROM read_parquet({sql_list(files)}, "
            "filename = true, file_row_number = true, union_by_name = true, "
            "hive_partitioning = false) "
            f"QUALIFY row_number() OVER (PARTITION BY url_key ORDER BY {NEWEST_FIRST}, "
            "filename DESC, file_row_number DESC) = 1"
        ).fetchall()
    finally:
        con.close()
    for name, number in rows:
        keep[given(keep, name)].add(int(number))
    return keep


class CheckFailed(Exception):
    """Compaction's own result does not add up: it stops, and nothing is changed."""


def expected_rows(files: list[Path]) -> tuple[dict[str, set[int]], int]:
    """The choice :func:`newest_rows` makes, made again by pyarrow from each file's
    ``url_key``, ``fetched_at`` and ``crawl_run`` (ties: the later file name, then the later
    row, as there); and the number of distinct ``url_key``s read."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    names = [absolute(f) for f in files]
    rank = {name: n for n, name in enumerate(sorted(names))}  # UTF-8 order = DuckDB's
    parts = []
    for path, name in zip(files, names, strict=True):
        table = pq.read_table(path, columns=["url_key", "fetched_at", "crawl_run"])
        rows = table.num_rows
        parts.append(
            pa.table(
                {
                    "url_key": table.column("url_key").cast(pa.string()),
                    "fetched_at": table.column("fetched_at").cast(pa.timestamp("us", "UTC")),
                    "crawl_run": table.column("crawl_run").cast(pa.string()),
                    "file": pa.repeat(pa.scalar(rank[name], pa.int64()), rows),
                    "row": pa.array(range(rows), pa.int64()),
                }
            )
        )
    if not parts:
        return {}, 0
    table = pa.concat_tables(parts)
    missing = table.column("url_key").null_count
    if missing:
        raise CheckFailed(
            f"{missing:,} rows have no url_key (`crawler validate` lists them); nothing was changed"
        )
    order = pc.sort_indices(
        table,
        sort_keys=[
            ("url_key", "ascending"),
            ("fetched_at", "descending"),
            ("crawl_run", "descending"),
            ("file", "descending"),
            ("row", "descending"),
        ],
    )
    table = table.take(order)
    keys = table.column("url_key").combine_chunks()
    first = pc.not_equal(keys.slice(1), keys.slice(0, len(keys) - 1))
    winners = table.filter(pa.concat_arrays([pa.array([True]), first]))
    by_rank = {n: name for name, n in rank.items()}
    keep: dict[str, set[int]] = {name: set() for name in names}
    for file, row in zip(
        winners.column("file").to_pylist(), winners.column("row").to_pylist(), strict=True
    ):
        keep[by_rank[file]].add(row)
    return keep, winners.num_rows


def _check_plan(
    keep: dict[str, set[int]],
    expected: dict[str, set[int]],
    distinct: int,
    groups: dict[Path, list[Path]],
    articles: Path,
) -> None:
    """Both engines chose the same rows, and each distinct url_key keeps exactly one."""
    for live, inputs in sorted(groups.items()):
        chosen = [keep.get(absolute(p), set()) for p in inputs]
        wanted = [expected.get(absolute(p), set()) for p in inputs]
        if chosen != wanted:
            raise CheckFailed(
                f"the rows to keep in {live.relative_to(articles).as_posix()} do not add up "
                f"({sum(map(len, chosen)):,} chosen, {sum(map(len, wanted)):,} expected); "
                "nothing was changed"
            )
    kept = sum(len(rows) for rows in keep.values())
    if kept != distinct or sum(len(rows) for rows in expected.values()) != distinct:
        raise CheckFailed(
            f"{kept:,} rows would be kept for {distinct:,} distinct url_keys; nothing was changed"
        )


CHECK_COLUMNS = ("published_at", "url_key", "fetched_at", "crawl_run", "content_hash")
"""What the new files are read back for: which row of each article, and in what order
(``published_at`` and ``url_key`` first: the order)."""


def _check_built(
    entry: PartitionResult, new: Path, written: list[Path], expected: pa.Table
) -> None:
    """The partition's new files (``written``, in order; nothing else in ``new``) hold
    its expected rows, one per url_key, in order."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    parts = [expected.schema.empty_table()]
    for path in written:
        table = pq.read_table(path, columns=list(CHECK_COLUMNS))
        parts.append(table.cast(expected.schema))
    found = pa.concat_tables(parts)
    rows = found.num_rows
    keys = pc.count_distinct(found.column("url_key")).as_py()
    others = sorted(set(new.glob("*.parquet")) - set(written))
    if rows != expected.num_rows or keys != rows or entry.rows_after != rows or others:
        raise CheckFailed(
            f"the new files of {entry.partition} hold {rows:,} rows of {keys:,} url_keys, "
            f"expected {expected.num_rows:,}; that partition and the ones after it were left "
            "as they were"
        )
    if not found.equals(expected):
        raise CheckFailed(
            f"the new files of {entry.partition} do not hold the rows chosen, in order; that "
            "partition and the ones after it were left as they were"
        )


def _check_files(root: Path, files: list[Path], old: set[str] | None = None) -> dict[str, int]:
    """Row count of each file; a one-line error for a file that cannot be compacted.
    Files of an older schema version go into ``old`` (compaction upgrades them)."""
    import duckdb
    import pyarrow.parquet as pq

    from crawler.archive.schema import SCHEMA_VERSION, SCHEMA_VERSION_KEY

    # Damaged, or not of the archive's schema: the shared message. The footers are read
    # a chunk of files at a time (one query over them all takes memory per file).
    con = duckdb.connect()
    try:
        bad = [
            found
            for start in range(0, len(files), FOOTER_FILES)
            for found in bad_files(files[start : start + FOOTER_FILES], con)
        ]
    finally:
        con.close()
    if bad:
        raise BadArchiveFile(root, bad[0][0], bad[0][1], others=len(bad) - 1)
    counts = {}
    for path in files:
        try:
            meta = pq.read_metadata(path)
        except (OSError, ValueError) as error:
            raise BadArchiveFile(root, path, f"unreadable ({error})") from None
        version = (meta.metadata or {}).get(SCHEMA_VERSION_KEY, b"0")
        try:
            number = int(version or 0)
        except ValueError:
            number = 0
        if number > SCHEMA_VERSION:
            raise ArchiveError(
                f"{path} has schema v{number}, newer than this crawler's "
                f"v{SCHEMA_VERSION}: compact with the newer crawler"
            )
        counts[absolute(path)] = meta.num_rows
        if old is not None and number < SCHEMA_VERSION:
            old.add(absolute(path))
    return counts


def _active_writer(directory: Path) -> bool:
    """True if a live process of this host is writing a file into ``directory``."""

    for entry in os.scandir(directory):
        match = TEMP_FILE_RE.match(entry.name)
        if match and pid_alive(int(match["pid"])):
            return True
    return False


def _write(
    groups: Iterable[pa.Table], directory: Path, site: str, stamp: str, max_rows: int
) -> list[Path]:
    """Write the rows of ``groups`` (in the current file schema), in order, into
    ``directory`` in files of at most ``max_rows`` rows, each written as it comes."""
    from crawler.archive.schema import FILE_SCHEMA, SCHEMA_VERSION, SCHEMA_VERSION_KEY, SITE_KEY
    from crawler.archive.writer import write_atomic_stream

    directory.mkdir(parents=True, exist_ok=True)
    meta = {SCHEMA_VERSION_KEY: str(SCHEMA_VERSION).encode(), SITE_KEY: site.encode()}
    schema = FILE_SCHEMA.with_metadata(meta)
    written = []
    for _file, parts in itertools.groupby(_cut(groups, max_rows), key=lambda part: part[0]):
        name = f"part-compact-{stamp}-{os.getpid()}-{next(_SEQUENCE):05d}.parquet"
        tables = (table.replace_schema_metadata(meta) for _file, table in parts)
        write_atomic_stream(tables, schema, directory / name, directory / f".{name}.tmp")
        written.append(directory / name)
    return written


def _cut(groups: Iterable[pa.Table], max_rows: int) -> Iterator[tuple[int, pa.Table]]:
    """The rows of ``groups`` as (file number, rows): cut where a file reaches ``max_rows``."""
    done = 0
    for table in groups:
        while table.num_rows:
            room = max_rows - done % max_rows
            yield done // max_rows, table.slice(0, room)
            done += min(room, table.num_rows)
            table = table.slice(room)


def _partitions(files: list[Path], articles: Path) -> dict[Path, list[Path]]:
    """Files grouped by partition directory; files outside the layout are left alone."""
    groups: dict[Path, list[Path]] = {}
    for path in files:
        parts = path.relative_to(articles).parts
        if (
            len(parts) == 4
            and parts[0].startswith("site=")
            and parts[1].startswith("year=")
            and parts[2].startswith("month=")
        ):
            groups.setdefault(path.parent, []).append(path)
    return groups


def partition_month(live: Path) -> tuple[str, str]:
    """The (year, month) of a partition directory, as its names spell them."""
    return (
        live.parent.name.removeprefix("year="),
        live.name.removeprefix("month="),
    )


def parse_month(text: str) -> tuple[str, str]:
    """``YYYY-MM`` (or ``unknown``, the undated partitions) as the (year, month) of a
    partition's directories; ValueError if it is neither."""
    if text == "unknown":
        return "unknown", "unknown"
    year, dash, month = text.partition("-")
    if not (dash and len(year) == 4 and year.isdigit() and len(month) == 2 and month.isdigit()):
        raise ValueError(f"not a month (YYYY-MM, or unknown for undated articles): {text!r}")
    if not 1 <= int(month) <= 12:
        raise ValueError(f"not a month (YYYY-MM, or unknown for undated articles): {text!r}")
    return year, month


def _build(
    live: Path,
    inputs: list[Path],
    keep: dict[str, set[int]],
    staging: Path,
    stamp: str,
    max_rows: int,
) -> tuple[Path, list[Path], pa.Table]:
    """Write the partition's new files under ``staging``; return (directory, the files in
    the order of their rows, what they must hold: :func:`_order`).

    The partition is never held whole. Its order is found from a few small columns of
    the kept rows (``published_at``, ``url_key``); the rows are then read a few thousand at a
    time and dealt into buckets on disk, each about :data:`ROW_GROUP_BYTES` of rows that
    follow one another in that order; each bucket in turn is read back, put in order and
    written as a row group of the new files."""
    root = live.parents[3]
    site = live.parent.parent.name.removeprefix("site=")
    new = staging / live.relative_to(live.parents[2])
    new.mkdir(parents=True, exist_ok=True)
    sources = [(path, sorted(keep[absolute(path)])) for path in inputs if keep.get(absolute(path))]
    places, expected = _order(root, sources)
    if not sources:
        return new, [], expected
    spill = staging / ".spill"  # the buckets of one partition at a time
    spill.mkdir(exist_ok=True)
    try:
        size = _bucket_rows(sources)
        buckets = _deal(root, sources, places, size, spill)
        del places
        give_back_memory()  # what the reads freed, before the writes take theirs
        written = _write(_from_buckets(spill, buckets), new, site, stamp, max_rows)
    finally:
        shutil.rmtree(spill, ignore_errors=True)
    return new, written, expected


def _unreadable(root: Path, path: Path, error: Exception) -> BadArchiveFile:
    """A page damaged behind an intact footer: the one line every command gives."""
    return BadArchiveFile(root, path, f"unreadable ({error})")


def _order(root: Path, sources: list[tuple[Path, list[int]]]) -> tuple[list[pa.Array], pa.Table]:
    """The order of the new files, from a few small columns of the kept rows: for each
    source, the place of each of its kept rows (in row order); and the
    :data:`CHECK_COLUMNS` of all of them in that order (what the files are read back
    against). Sorted by pyarrow by ``published_at`` (undated last), then ``url_key``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from crawler.archive.schema import FILE_SCHEMA

    schema = pa.schema([(name, FILE_SCHEMA.field(name).type) for name in CHECK_COLUMNS])
    parts = [schema.empty_table()]
    for path, rows in sources:
        try:
            table = pq.read_table(path, columns=list(CHECK_COLUMNS))
        except (OSError, pa.ArrowException) as error:
            raise _unreadable(root, path, error) from None
        table = table.take(pa.array(rows, pa.int64())).select(list(CHECK_COLUMNS))
        parts.append(table.cast(schema))
    keys = pa.concat_tables(parts)
    order = pc.sort_indices(  # nulls (undated) last: the default
        keys, sort_keys=[("published_at", "ascending"), ("url_key", "ascending")]
    )
    place = pc.sort_indices(order)  # the inverse permutation: where each kept row goes
    places, start = [], 0
    for _path, rows in sources:
        places.append(place.slice(start, len(rows)))
        start += len(rows)
    return places, keys.take(order)


def _bucket_rows(sources: list[tuple[Path, list[int]]]) -> int:
    """Rows of a bucket: about :data:`ROW_GROUP_BYTES` (by the files' own sizes of a row),
    in at most :data:`MAX_BUCKETS` buckets."""
    import pyarrow.parquet as pq

    rows = sum(len(kept) for _path, kept in sources)
    size = 0.0
    for path, kept in sources:
        meta = pq.read_metadata(path)
        whole = sum(meta.row_group(n).total_byte_size for n in range(meta.num_row_groups))
        size += whole * len(kept) / max(meta.num_rows, 1)
    return max(1, int(ROW_GROUP_BYTES * rows / max(size, 1)), -(-rows // MAX_BUCKETS))


def _deal(
    root: Path,
    sources: list[tuple[Path, list[int]]],
    places: list[pa.Array],
    size: int,
    spill: Path,
) -> int:
    """Write the kept rows into ``spill``, bucket ``n`` holding the places ``n * size`` to
    ``(n + 1) * size`` (in a ``_place`` column); return the number of buckets."""
    import pyarrow as pa
    import pyarrow.compute as pc

    writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}
    try:
        for (path, rows), place in zip(sources, places, strict=True):
            for start, table in _kept(root, path, rows):
                table = table.append_column("_place", place.slice(start, table.num_rows))
                number = pc.divide(table.column("_place"), pa.scalar(size, pa.int64()))
                extent = pc.min_max(number).as_py()
                for bucket in range(extent["min"], extent["max"] + 1):
                    part = (  # rows of a file mostly come in order: often all in one bucket
                        table
                        if extent["min"] == extent["max"]
                        else table.filter(pc.equal(number, pa.scalar(bucket, pa.int64())))
                    )
                    if part.num_rows == 0:
                        continue
                    if bucket not in writers:
                        writers[bucket] = pa.ipc.new_file(
                            str(spill / f"{bucket:05d}.arrow"), part.schema
                        )
                    writers[bucket].write_table(part)
    finally:
        for writer in writers.values():
            writer.close()
    return len(writers)


def _kept(root: Path, path: Path, rows: list[int]) -> Iterator[tuple[int, pa.Table]]:
    """The kept ``rows`` of one file (in the current file schema), a batch at a time, each
    with the index in ``rows`` of its first row."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        first = 0
        for batch in pq.ParquetFile(path, buffer_size=READ_BUFFER).iter_batches(STREAM_ROWS):
            last = first + batch.num_rows
            low, high = bisect.bisect_left(rows, first), bisect.bisect_left(rows, last)
            if high - low == batch.num_rows:  # every row of the batch kept
                yield low, conform(pa.Table.from_batches([batch]))
            elif low < high:
                wanted = pa.array([row - first for row in rows[low:high]], pa.int64())
                yield low, conform(pa.Table.from_batches([batch]).take(wanted))
            first = last
    except (OSError, pa.ArrowException) as error:
        raise _unreadable(root, path, error) from None


def _from_buckets(spill: Path, buckets: int) -> Iterator[pa.Table]:
    """The buckets' rows, in order, a bucket at a time (each removed once read)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for bucket in range(buckets):
        path = spill / f"{bucket:05d}.arrow"
        with pa.OSFile(str(path)) as source:
            table = pa.ipc.open_file(source).read_all()
        path.unlink()
        order = pc.sort_indices(table.column("_place"))
        if not order.equals(pa.array(range(len(order)), order.type)):
            table = table.take(order)
        yield table.drop_columns(["_place"])
        del table, order
        pa.default_memory_pool().release_unused()  # what a bucket freed, before the next


def _swap(live: Path, new: Path, inputs: list[Path]) -> None:
    """Swap the built partition in; ``new`` then holds the old files (removed later)."""
    swap_in(new, live)
    # A file that is not an input appeared during the swap (a writer finished one):
    # it goes back, whole, into the live partition.
    names = {p.name for p in inputs}
    for entry in os.scandir(new):
        if (
            entry.name.endswith(".parquet")
            and not entry.name.startswith(".")
            and entry.name not in names
        ):
            os.rename(entry.path, live / entry.name)
            logger.info("compact: %s appeared during the swap; kept", live / entry.name)
    if not any(live.iterdir()):
        with contextlib.suppress(OSError):
            live.rmdir()  # no row left here: its articles' newest rows are in other months


def compact(
    root: Path | str,
    sites: list[str] | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    dry_run: bool = False,
    months: list[tuple[str, str]] | None = None,
) -> CompactResult:
    """Compact the archive's partitions (of ``sites``, or all; of ``months``, (year,
    month) as the directories name them, or all). See the module's notes.

    Only the chosen partitions are read and rewritten. Which row of an article is the
    newest is still decided over the whole archive: the row index says which other
    files hold a row of the same ``url_key``, and those files are read with the
    partition (their keys, not their bodies)."""
    import duckdb
    import pyarrow.parquet as pq

    root = Path(root)
    files = parquet_files(root)
    articles = root / ARTICLES_DIR
    chosen = [
        (live, inputs)
        for live, inputs in sorted(_partitions(files, articles).items())
        if (not sites or live.parent.parent.name.removeprefix("site=") in sites)
        and (not months or partition_month(live) in months)
    ]
    targets = [path for _live, inputs in chosen for path in inputs]
    old: set[str] = set()  # files of an older schema version: rewritten in the current one
    counts = _check_files(root, targets, old)
    _clean_staging(root)
    try:
        sharing = shared_keys(root, targets)
    except duckdb.Error as error:
        raise read_error(root, error) from None
    result = CompactResult(dry_run=dry_run)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    staging = root / COMPACT_DIR / f"{stamp}-{os.getpid()}"
    try:
        with Progress("compact", len(chosen), "partitions") as progress:
            for batch in _batches(chosen, counts):
                # Which rows to keep, for this batch's files: decided over them and every
                # file that shares a url_key with them, by DuckDB and again by pyarrow.
                mine = [path for _live, inputs in batch for path in inputs]
                decide = mine + _others(articles, mine, sharing)
                try:
                    keep = newest_rows(decide)
                except duckdb.Error as error:
                    raise read_error(root, error) from None
                expected, distinct = expected_rows(decide)
                _check_plan(keep, expected, distinct, dict(batch), articles)
                give_back_memory()
                built = []
                for live, inputs in batch:
                    progress.advance()
                    losers = any(len(keep[absolute(p)]) < counts[absolute(p)] for p in inputs)
                    if not (len(inputs) > 1 or losers or any(absolute(p) in old for p in inputs)):
                        result.untouched += 1
                        continue
                    entry = PartitionResult(
                        partition=live.relative_to(articles).as_posix(),
                        files_before=len(inputs),
                        rows_before=sum(counts[absolute(p)] for p in inputs),
                        upgraded=sum(absolute(p) in old for p in inputs),
                    )
                    result.partitions.append(entry)
                    if dry_run:
                        entry.rows_after = sum(len(expected[absolute(p)]) for p in inputs)
                        entry.files_after = -(-entry.rows_after // max_rows)
                    else:
                        new, written, order = _build(live, inputs, keep, staging, stamp, max_rows)
                        entry.files_after = len(written)
                        entry.rows_after = sum(pq.read_metadata(p).num_rows for p in written)
                        built.append((entry, live, new, inputs))
                        _check_built(entry, new, written, order)
                        del order
                        give_back_memory()  # each partition's table, kept by Arrow's pool
                del keep, expected
                # The slow part is done (and checked): swap the batch in, one partition
                # right after another.
                for entry, live, new, inputs in built:
                    if _active_writer(live):
                        entry.skipped = "a crawl is writing into it; compact it later"
                        entry.files_after, entry.rows_after = entry.files_before, entry.rows_before
                        continue
                    _swap(live, new, inputs)
                shutil.rmtree(
                    staging, ignore_errors=True
                )  # the old files, out of every reader's view
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        with contextlib.suppress(OSError):
            (root / COMPACT_DIR).rmdir()
    return result


def _batches(
    chosen: list[tuple[Path, list[Path]]], counts: dict[str, int]
) -> Iterator[list[tuple[Path, list[Path]]]]:
    """The chosen partitions, a few at a time: at most :data:`SWAP_BATCH` partitions and,
    unless one partition alone is more, :data:`DECIDE_ROWS` rows."""
    batch: list[tuple[Path, list[Path]]] = []
    rows = 0
    for live, inputs in chosen:
        size = sum(counts[absolute(p)] for p in inputs)
        if batch and (len(batch) == SWAP_BATCH or rows + size > DECIDE_ROWS):
            yield batch
            batch, rows = [], 0
        batch.append((live, inputs))
        rows += size
    if batch:
        yield batch


def shared_keys(root: Path, targets: list[Path]) -> dict[str, set[str]]:
    """For each of ``targets`` (by absolute path) that has one, the other files (names
    under ``articles/``) holding a row of one of its ``url_key``s, as the row index says.

    The index is brought up to date first, as every reader does. It is sorted by
    ``url_key``: read in batches, the rows of one key are neighbours, so memory is a
    batch's whatever the archive's size. The rows of files it does not cover yet
    (few: it is brought up to date when they are many) are read from their files and
    looked up in it as it goes by.
    """
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc

    from crawler.archive.catalog import BUILD_MEMORY, open_index, row_sql
    from crawler.archive.layout import index_path

    if not targets:
        return {}
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET memory_limit = {sql_string(BUILD_MEMORY)}")
        con.execute(f"SET temp_directory = {sql_string(str(index_path(root).parent / '.spill'))}")
        catalog = open_index(root, con)
        fresh = catalog.fresh if catalog.index is not None else catalog.files
        unindexed = (
            con.sql(
                f"SELECT url_key, file FROM ({row_sql(catalog.root, fresh, con)}) "
                "WHERE url_key IS NOT NULL"
            ).to_arrow_table()
            if fresh
            else pa.table({"url_key": pa.array([], pa.string()), "file": pa.array([], pa.string())})
        )
    finally:
        con.close()
    names = {catalog.relative(path): absolute(path) for path in targets}
    # Rows of one key, by key: the index's neighbours, and what the unindexed files add.
    groups: dict[str, set[str]] = {}
    for key, file in zip(
        unindexed.column("url_key").to_pylist(), unindexed.column("file").to_pylist(), strict=True
    ):
        groups.setdefault(key, set()).add(file)
    if catalog.index is not None:
        looked_up = pa.array(list(groups), pa.string())
        skip = pa.array(catalog.stale, pa.string())
        carry: list[tuple[str, str]] = []  # the last key of a batch: it may go on in the next
        for table in _index_batches(catalog.index, ["url_key", "file"]):
            if len(skip):
                table = table.filter(pc.invert(pc.is_in(table.column("file"), value_set=skip)))
            keys = table.column("url_key").combine_chunks()
            if len(keys) == 0:
                continue
            same = pc.equal(keys.slice(1), keys.slice(0, len(keys) - 1))
            no = pa.array([False])
            wanted = pc.or_(pa.concat_arrays([no, same]), pa.concat_arrays([same, no]))
            if len(looked_up):
                wanted = pc.or_(wanted, pc.is_in(keys, value_set=looked_up))
            last = keys[len(keys) - 1].as_py()
            wanted = pc.or_(wanted, pc.equal(keys, pa.scalar(last, keys.type)))
            if carry:
                wanted = pc.or_(wanted, pc.equal(keys, pa.scalar(carry[0][0], keys.type)))
            picked = table.filter(pc.fill_null(wanted, False))
            rows = carry + list(
                zip(
                    picked.column("url_key").to_pylist(),
                    picked.column("file").to_pylist(),
                    strict=True,
                )
            )
            carry = [(k, f) for k, f in rows if k == last]
            for key, file in rows:
                if key is not None and key != last:
                    groups.setdefault(key, set()).add(file)
        for key, file in carry:
            groups.setdefault(key, set()).add(file)
    sharing: dict[str, set[str]] = {}
    for files in groups.values():
        if len(files) < 2:
            continue
        for mine in files & names.keys():
            sharing.setdefault(names[mine], set()).update(files - {mine})
    return sharing


def _index_batches(path: Path, columns: list[str]) -> Iterator[pa.Table]:
    """The row index, :data:`INDEX_BATCH` rows at a time, in order. (Read a few row groups
    at a time: pyarrow's ``iter_batches`` held hundreds of MB at ten million rows.)"""
    import pyarrow.parquet as pq

    index = pq.ParquetFile(path)
    groups = index.metadata.num_row_groups
    for first in range(0, groups, 16):
        part = index.read_row_groups(
            range(first, min(groups, first + 16)), columns=columns, use_threads=False
        )
        for start in range(0, part.num_rows, INDEX_BATCH):
            yield part.slice(start, INDEX_BATCH)


def _others(articles: Path, mine: list[Path], sharing: dict[str, set[str]]) -> list[Path]:
    """The files, other than ``mine``, that hold a row of one of their ``url_key``s now.

    A file the index named that is gone was in a partition compacted since: its
    directory's files are read instead (they hold the rows it kept)."""
    named = sorted({name for path in mine for name in sharing.get(absolute(path), ())})
    found: set[Path] = set()
    for name in named:
        path = articles / name
        if path.is_file():
            found.add(path)
        elif path.parent.is_dir():
            found.update(
                Path(entry.path)
                for entry in os.scandir(path.parent)
                if entry.name.endswith(".parquet") and not entry.name.startswith((".", "_"))
            )
    own = set(mine)
    return sorted(found - own)


def _clean_staging(root: Path) -> None:
    """Remove what a killed compaction left (the caller holds the lock)."""
    staging = root / COMPACT_DIR
    if staging.is_dir():
        for leftover in staging.iterdir():
            logger.info("compact: removing %s, left by an interrupted compaction", leftover)
            shutil.rmtree(leftover, ignore_errors=True)
