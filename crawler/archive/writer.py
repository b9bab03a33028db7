"""Partitioned, atomic Parquet writer for the article archive.

Layout (contract): ``<root>/articles/site=<site>/year=<YYYY>/month=<MM>/<file>``,
partitioned by ``published_at`` in UTC. Articles without a publish date go under
``year=unknown/month=unknown``: "unknown" for the month too, so that the two
partition keys always have the same kind of value (a ``month=00`` would make
pyarrow and pandas infer ``month`` as an integer while ``year`` is a string).

Why ``site`` is *not* stored inside the files (tested with pyarrow 26,
pandas 3.1, DuckDB 2.0): the ``site=`` directory already gives every reader a
``site`` column, and a file column of the same name as a hive key breaks
``pandas.read_parquet(<root>/articles)``: pandas reads partition keys as
dictionary (categorical) columns and fails with "Unable to merge: Field site
has incompatible types: string vs dictionary<values=string, ...>".
``pyarrow.dataset`` and DuckDB accept the duplicate, but all three read the
archive, with ``site``, when the column lives only in the path. The site is
also kept in each file's key-value metadata (``crawler.site``) for whoever
opens one file alone. Readers infer ``year``/``month`` as integers while every
partition is dated and as strings once a ``year=unknown`` exists (all three
agree on that); :mod:`crawler.archive.reader` always reads them as strings.

Temporary files are named ``.part-….parquet.tmp``: the leading dot hides them
from pyarrow/pandas (which skip ``.`` and ``_`` names) and the ``.tmp`` suffix
from DuckDB, whose ``**/*.parquet`` glob *does* match hidden files.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import secrets
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pyarrow as pa
import pyarrow.parquet as pq

from crawler.archive.layout import (
    ARTICLES_DIR,
    TEMP_FILE_RE,
    WRITTEN_DIRS,
    file_name,
    pid_alive,
)
from crawler.archive.schema import (
    ARTICLE_SCHEMA,
    SCHEMA_VERSION,
    SCHEMA_VERSION_KEY,
    SITE_KEY,
    UNKNOWN,
    normalise_record,
)
from crawler.crawling.faults import crash_point

logger = logging.getLogger(__name__)

COMPRESSION = "zstd"

_FORBIDDEN_CHARS = frozenset("/\\:=%")
MAX_PATH_COMPONENT = 200
"""Bytes a site or run id may have: ``site=<site>`` and ``.part-<run>-<pid>-<seq>.parquet.tmp``
must stay within the 255 bytes of a file name."""
# One counter per process, shared by every writer in it: two writers of one run
# in one process never pick the same file name.
_SEQUENCE = itertools.count()
_SEQUENCE_LOCK = threading.Lock()

PartitionKey = tuple[str, str, str]


def check_path_component(value: str, what: str) -> str:
    """Reject a value that would not stay one plain directory or file-name part.

    ``site`` and ``run_id`` end up in paths: nothing may climb out of the root
    (``/``, ``\\``, ``..``, NUL, absolute or drive paths), hide itself from the
    readers (leading ``.`` or ``_``), be decoded differently by hive readers
    (``=`` and ``%``), or be too long for a file name (checked before a row is
    buffered: found at the write, it would fail the whole batch).
    """
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    bad = sorted(_FORBIDDEN_CHARS.intersection(value))
    if bad:
        raise ValueError(f"{what} {value!r} must not contain {' '.join(bad)!r}")
    if any(ord(char) < 32 or ord(char) == 127 for char in value):
        raise ValueError(f"{what} {value!r} must not contain NUL or control characters")
    if value.startswith((".", "_")) or os.path.isabs(value):
        raise ValueError(f"{what} {value!r} must not start with '.' or '_' or be absolute")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_PATH_COMPONENT:
        # A file or directory name holds at most 255 bytes; the rest of the name needs some.
        raise ValueError(f"{what} {value[:40]!r}… is longer than {MAX_PATH_COMPONENT} bytes")
    return value


class ArchiveNotWritable(Exception):
    """The archive cannot take new files; the message is one line that says where and why."""


def check_writable(root: Path | str) -> Path:
    """Create the root if needed and prove that files can be written there, or raise.

    A crawl into an archive it cannot write fetches every page and then loses
    every article, so this runs before the first request. Permission bits are
    not asked (root ignores them, ACLs and read-only mounts escape them): a
    small file is written, fsynced and removed in the root and in each
    directory of :data:`WRITTEN_DIRS` that exists.
    """
    root = Path(root)
    if os.path.lexists(root) and not root.is_dir():
        raise ArchiveNotWritable(f"archive {root} is not a directory")
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ArchiveNotWritable(f"cannot create archive {root}: {_reason(error)}") from None
    for directory in (root, *(root / name for name in WRITTEN_DIRS)):
        if directory == root or os.path.lexists(directory):
            if not directory.is_dir():
                raise ArchiveNotWritable(f"archive {root}: {directory} is not a directory")
            _probe(root, directory)
    return root


def _probe(root: Path, directory: Path) -> None:
    probe = directory / f".write-probe-{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as error:
        raise ArchiveNotWritable(f"cannot write to archive {root}: {_reason(error)}") from None
    try:
        os.write(fd, b"probe\n")
        os.fsync(fd)  # a full disk may only say so when the data is allocated
    except OSError as error:
        raise ArchiveNotWritable(f"cannot write to archive {root}: {_reason(error)}") from None
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            probe.unlink()


def _reason(error: OSError) -> str:
    where = f" ({error.filename})" if error.filename else ""
    return f"{error.strerror or error}{where}"


def partition_of(row: Mapping[str, Any]) -> PartitionKey:
    """``(site, year, month)`` of a normalised row: UTC publish date, or unknown."""
    published = row.get("published_at")
    if isinstance(published, datetime):
        return row["site"], f"{published.year:04d}", f"{published.month:02d}"
    return row["site"], UNKNOWN, UNKNOWN


def partition_dir(root: Path, key: PartitionKey) -> Path:
    site, year, month = key
    return Path(root) / ARTICLES_DIR / f"site={site}" / f"year={year}" / f"month={month}"


class ArchiveWriter:
    """Buffers records and writes them as partitioned Parquet files.

    At most ``flush_rows`` rows are held: when the buffer is full, every
    partition in it is written to its own file. A file appears under its final
    name only once complete and fsynced, so a reader (or a crash) never sees
    half a file. Names carry run id, pid and a sequence number, so several
    processes can write one archive at once.
    """

    def __init__(self, root: Path | str, run_id: str, flush_rows: int = 2000) -> None:
        if flush_rows < 1:
            raise ValueError(f"flush_rows must be at least 1, got {flush_rows}")
        self.root = Path(root)
        self.run_id = check_path_component(run_id, "run_id")
        self.flush_rows = flush_rows
        self.rows_written = 0
        self._files: list[Path] = []
        self._buffer: dict[PartitionKey, list[dict[str, Any]]] = {}
        self._buffered = 0
        self._closed = False

    @property
    def buffered(self) -> int:
        """Rows held in memory, not yet written (never more than ``flush_rows``)."""
        return self._buffered

    @property
    def files_written(self) -> int:
        return len(self._files)

    @property
    def files(self) -> list[Path]:
        """Files written so far by this writer, in order."""
        return list(self._files)

    def add(self, record: Mapping[str, Any]) -> None:
        """Buffer one record (checked now, so a bad one fails alone); write when full."""
        if self._closed:
            raise RuntimeError("ArchiveWriter is closed")
        row = normalise_record(record)
        key = partition_of(row)
        check_path_component(key[0], "site")
        if self._buffered >= self.flush_rows:  # a previous flush failed: retry first
            self.flush()
        self._buffer.setdefault(key, []).append(row)
        self._buffered += 1
        if self._buffered >= self.flush_rows:
            self.flush()

    def flush(self) -> list[Path]:
        """Write every buffered partition to a new file; return the new files.

        A partition leaves the buffer only once its file is in place, so after
        an error the rows not yet written are still buffered.
        """
        written: list[Path] = []
        if self._buffer and not self.files:
            crash_point("before-first-file")
        for key in list(self._buffer):
            rows = self._buffer[key]
            path = self._write_partition(key, rows)
            del self._buffer[key]
            self._buffered -= len(rows)
            self.rows_written += len(rows)
            self._files.append(path)
            written.append(path)
        return written

    def close(self) -> list[Path]:
        """Write what is left; return every file this writer wrote (none for no rows)."""
        if not self._closed:
            self.flush()
            self._closed = True
        return self.files

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _write_partition(self, key: PartitionKey, rows: list[dict[str, Any]]) -> Path:
        table = pa.Table.from_pylist(rows, schema=ARTICLE_SCHEMA).drop_columns(["site"])
        table = table.replace_schema_metadata(
            {SCHEMA_VERSION_KEY: str(SCHEMA_VERSION).encode("ascii"), SITE_KEY: key[0].encode()}
        )
        directory = partition_dir(self.root, key)
        _make_dirs(directory)
        final, temp = self._new_names(directory)
        write_atomic(table, final, temp)
        logger.debug("archive: wrote %d rows to %s", table.num_rows, final)
        return final

    def _new_names(self, directory: Path) -> tuple[Path, Path]:
        """A final name nobody used yet: a reused run id with a recycled pid
        must not overwrite an earlier file."""
        pid = os.getpid()
        while True:
            with _SEQUENCE_LOCK:
                seq = next(_SEQUENCE)
            name = file_name(self.run_id, pid, seq)
            final, temp = directory / name, directory / f".{name}.tmp"
            if not final.exists() and not temp.exists():
                return final, temp


def write_atomic(table: pa.Table, final: Path, temp: Path) -> None:
    """Write ``table`` to ``temp``, fsync it, rename it to ``final``, fsync the directory."""
    write_atomic_stream([table], table.schema, final, temp)


def write_atomic_stream(
    tables: Iterable[pa.Table], schema: pa.Schema, final: Path, temp: Path
) -> None:
    """:func:`write_atomic` of the rows of ``tables``, in order, each written as it comes
    (one row group or more): a file larger than memory is never held whole."""
    try:
        with open(temp, "xb") as handle:
            with pq.ParquetWriter(handle, schema, compression=COMPRESSION) as parquet:
                for table in tables:
                    parquet.write_table(table)
                    crash_point("mid-write")
            handle.flush()
            os.fsync(handle.fileno())
        crash_point("before-rename")
        os.replace(temp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    _fsync_dir(final.parent)


def sweep_temp_files(root: Path | str) -> int:
    """Remove temporary files left by killed writers; return how many.

    Only names matching :data:`TEMP_FILE_RE` are touched, and only when the
    pid in the name is not a live process on this host, so a sweep never pulls
    a file from under a writer running here. (Writers on *other* hosts sharing
    the archive cannot be seen: sweep such an archive while none runs.)
    """
    articles = Path(root) / ARTICLES_DIR
    if not articles.is_dir():
        return 0
    removed = 0
    for directory, _dirs, names in os.walk(articles):
        for name in names:
            match = TEMP_FILE_RE.match(name)
            if match is None or pid_alive(int(match["pid"])):
                continue
            path = Path(directory) / name
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            logger.info("archive: removed stale temporary file %s", path)
            removed += 1
    return removed


def _make_dirs(directory: Path) -> None:
    """Create missing directories, fsyncing each new one's parent so the entry survives."""
    missing: list[Path] = []
    for path in (directory, *directory.parents):
        if path.is_dir():
            break
        missing.append(path)
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:  # another process made it
            continue
        _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    """Make a rename or a new entry durable; a no-op where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
