"""``crawler export``: the newest row of each article as JSON lines, CSV or one Parquet file.

The export is a stream, in the same order whatever the archive's size: a site's dated
partitions, then its undated ones; in each, by publication time, then key. It is made
in two steps, so that memory is bounded by a few chunks of rows, not by the archive or
by its largest partition:

- **The order**, from the row index (:mod:`crawler.archive.catalog`): DuckDB picks the
  rows (the newest of each article, within the filters) over the index's few small
  columns and sorts them, spilling to disk beyond :data:`EXPORT_MEMORY`. What it hands
  back, in order, is where each row is: a file number and a row number, 8 bytes a row,
  spooled to a temporary file; DuckDB is closed before any row is read.
- **The rows**, :data:`CHUNK_ROWS` at a time, in :data:`WORKERS` worker processes (one
  a core; Python threads kept little more than one core busy): each reads the files
  its chunk needs, puts the rows in order and formats them
  (:mod:`crawler.archive.export_rows`); this process writes the chunks in order. A
  small export (:data:`INLINE_ROWS`) is made here, without workers.

Decoding the bodies and formatting them is most of the cost (bench/RESULTS.md).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, date, tzinfo
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar, cast

from crawler.archive.export_rows import Chunk, ChunkError
from crawler.archive.views import NEWEST_FIRST, ArchiveReadError, sql_string
from crawler.progress import Progress

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    import duckdb
    import numpy as np

T = TypeVar("T")

FORMATS = ("jsonl", "csv", "parquet")

EXPORT_MEMORY = "150MB"
"""DuckDB's memory for finding and sorting the rows' order (its sort spills beyond). At
ten million rows: a peak of 381 MiB for the process and 64 s, against 533 MiB and 57 s
with 300MB (measured at load 7)."""
CHUNK_ROWS = 2048
"""Rows read, formatted and written at a time (a Parquet row group holds at most this).
A worker holds about three times a chunk's text while it makes one. A scattered
partition comes out of its merge half as many rows at a time: the merge holds rows of
every run beside them."""
WORKERS = max(2, min(4, os.cpu_count() or 2))
"""Worker processes: decoding and formatting run on every core (up to four)."""
WORKER_ENVIRONMENT = {
    "POLARS_MAX_THREADS": "1",
    "MALLOC_MMAP_THRESHOLD_": str(32 << 20),
    "MALLOC_TRIM_THRESHOLD_": str(128 << 20),
}
"""One thread each (the workers are as many as the cores); and a C allocator that keeps
the memory of the text a worker formats, chunk after chunk, instead of handing it back
to the system and faulting it in again (a JSON lines export of a million rows spent 5 s
less in the kernel: 36–37 s instead of 40–41 s, for 35 MiB more in the two workers).
The worker gives it back itself every few chunks and after each partition made ahead
(:func:`crawler.archive.views.give_back_memory`)."""
AHEAD = 2
"""Chunks given to each worker before its first one is written."""
AHEAD_PARTITIONS = 3
"""Scattered partitions made ahead of their turn (or being made) at a time: their text
waits on disk (at ten million rows, about 300 MB a partition as JSON). More than the
workers, so that one finished early does not hold the others back."""
INLINE_ROWS = 20_000
"""An export of at most this many rows is made in this process (a worker's start-up,
about a second, would cost more than it saves)."""
SCATTERED = 1.5
"""A partition whose chunks would read its files more than this many times over is
sorted in runs instead (:func:`crawler.archive.export_rows.runs`): each file read once,
by one worker. (At 1,000,000 rows, the six undated partitions, in ``url_key`` order,
read each of their small files three times: 4,400 of 10,600 file reads.)"""
RUN_ROWS = 4096
"""Rows of a scattered partition read (file by file), sorted and spilled at a time."""
MERGE_BATCH = 128
"""Rows of a spilled run in one record batch; the merge reads four at a time."""
ORDER_BATCH = 65536
"""Rows of the order fetched from DuckDB, and read back from the spool, at a time."""

PLAN_APART_BYTES = 4 << 20
"""A row index larger than this (about 50,000 rows) means a plan made in a process of
its own (:func:`_planned`); a small export is planned here, without a second start-up."""

PARTITION_ORDER = "_site, _year = 'unknown', _year, _month"
"""The partitions in output order (over their files' site, year and month): a site's
dated partitions, then its undated ones."""
EXPORT_ORDER = "published_at NULLS LAST, url_key"
"""The rows of one partition in output order."""


@dataclass(frozen=True)
class Filters:
    """What an export keeps: sites, a window of local days, every version or the newest."""

    sites: Sequence[str] | None = None
    since: date | None = None
    until: date | None = None
    all_versions: bool = False
    zones: Mapping[str, tzinfo] | None = None
    default_zone: tzinfo = UTC


# -- the order ---------------------------------------------------------------------


def _conditions(filters: Filters) -> tuple[list[str], list[Any]]:
    """The WHERE conditions of an export; dates are each site's local days (``zones``,
    ``default_zone`` for the sites not in it)."""
    from crawler.archive.window import date_window

    where: list[str] = []
    params: list[Any] = []
    if filters.sites:
        where.append("site IN (" + ", ".join("?" for _ in filters.sites) + ")")
        params += list(filters.sites)
    window, values = date_window(
        filters.since, filters.until, filters.zones or {}, filters.default_zone
    )
    if window:
        where.append(window)
        params += values
    return where, params


def mark_older(con: duckdb.DuckDBPyConnection) -> int:
    """Fill the table ``_older`` with where the rows are that are not the newest of
    their article; return how many. Keys are grouped by a 64-bit hash first (8 bytes
    a row), then only the keys seen twice are ranked, over the columns that rank them."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _twice AS SELECT hash(url_key) AS h FROM _keys "
        "GROUP BY h HAVING count(*) > 1"
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _older AS SELECT _file, _row FROM _keys "
        "WHERE hash(url_key) IN (SELECT h FROM _twice) "
        f"QUALIFY row_number() OVER (PARTITION BY url_key ORDER BY {NEWEST_FIRST}) > 1"
    )
    return int(con.execute("SELECT count(*) FROM _older").fetchall()[0][0])


@dataclass(frozen=True)
class Plan:
    """The files an export reads (by number) and how many rows it writes."""

    paths: list[str]
    sites: list[str]
    parts: list[int]
    """Each file's partition, numbered: a chunk never mixes two."""
    total: int
    schema: bytes = b""
    """The record's columns in polars' types, pickled for the workers (:func:`_planned`
    makes it, so that this process need not load polars or pyarrow)."""
    footer: bytes = b""
    """For a Parquet export: the footer of a file of no rows, the joined file's base."""


def plan(
    con: duckdb.DuckDBPyConnection, root: Path | str, filters: Filters, spool: IO[bytes]
) -> Plan:
    """The export's files; and where its rows are, in output order, written to ``spool``
    as pairs of 32-bit numbers (file, row)."""
    import tempfile

    import numpy as np

    from crawler.archive.layout import ARTICLES_DIR
    from crawler.archive.views import ArchiveError, absolute, one_line

    where, params = _conditions(filters)
    if not filters.all_versions and mark_older(con):
        where.append("(_file, _row) NOT IN (SELECT (_file, _row) FROM _older)")
    condition = " AND ".join(where) or "true"
    # A file's rows are of one partition: its rank in output order is a number, which
    # the sort of the rows compares instead of three strings (twice as fast).
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _files AS SELECT *, CAST(dense_rank() OVER "
        f"(ORDER BY {PARTITION_ORDER}) AS INTEGER) AS _part FROM (SELECT _file, "
        "any_value(site) AS _site, any_value(year) AS _year, any_value(month) AS _month, "
        "count(*) AS _rows, CAST(row_number() OVER (ORDER BY _file) - 1 AS INTEGER) AS _id "
        f"FROM _keys WHERE {condition} GROUP BY _file)",
        params,
    )
    listed = con.execute("SELECT _file, _site, _rows FROM _files ORDER BY _id").fetchall()
    articles = absolute(Path(root) / ARTICLES_DIR)
    numbers: dict[str, int] = {}
    parts = [numbers.setdefault(name.rpartition("/")[0], len(numbers)) for name, _, _ in listed]
    found = Plan(
        [f"{articles}/{name}" for name, _, _ in listed],
        [str(site) for _, site, _ in listed],
        parts,
        sum(int(n) for _, _, n in listed),
    )
    order = con.sql(
        "SELECT f._id, CAST(k._row AS INTEGER) FROM _keys AS k JOIN _files AS f USING (_file) "
        f"WHERE {condition} ORDER BY f._part, {EXPORT_ORDER}",
        params=params,
    )
    fetch = getattr(order, "to_arrow_reader", None) or order.fetch_record_batch
    batches = iter(fetch(ORDER_BATCH))
    while True:
        try:
            batch = next(batches, None)
        except OSError as error:  # DuckDB's error, as pyarrow's reader hands it on
            raise ArchiveReadError(f"cannot sort the rows to export: {one_line(error)}") from None
        if batch is None:
            break
        pairs = np.empty((batch.num_rows, 2), np.int32)
        pairs[:, 0] = batch.column(0).to_numpy()
        pairs[:, 1] = batch.column(1).to_numpy()
        try:
            spool.write(pairs.tobytes())
        except OSError as error:
            raise ArchiveError(
                f"cannot write the export's order to {tempfile.gettempdir()}: "
                f"{error.strerror or error}"
            ) from None
    spool.flush()
    spool.seek(0)
    return found


def partitions(spool: IO[bytes], parts: Sequence[int]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The order (:func:`plan`'s spool) a partition at a time: its file numbers and row
    numbers (8 bytes a row, however large the partition)."""
    import numpy as np

    of_file = np.asarray(parts, dtype=np.int64)
    files = np.empty(0, np.int32)
    rows = np.empty(0, np.int32)
    while True:
        pairs = np.frombuffer(spool.read(8 * ORDER_BATCH), np.int32).reshape(-1, 2)
        if len(pairs) == 0:
            if len(files):
                yield files, rows
            return
        files = np.concatenate([files, pairs[:, 0]])
        rows = np.concatenate([rows, pairs[:, 1]])
        start = 0
        for end in (np.flatnonzero(np.diff(of_file[files])) + 1).tolist():
            yield files[start:end], rows[start:end]
            start = end
        files, rows = files[start:], rows[start:]


def scattered(files: np.ndarray, ends: Sequence[int]) -> bool:
    """Would reading this partition chunk by chunk (cut at ``ends``) read its files many
    times over? True when its rows, in output order, go back and forth between its
    files (the undated articles, in ``url_key`` order; files not written in publish
    order)."""
    import numpy as np

    starts = [0, *ends[:-1]]
    reads = sum(len(np.unique(files[a:b])) for a, b in zip(starts, ends, strict=True))
    return reads > SCATTERED * len(np.unique(files))


@dataclass(frozen=True)
class Part:
    """A partition of the order: where its rows start in the spool, how many, and
    where its chunks end (None: it is scattered, one chunk sorted in runs)."""

    start: int
    rows: int
    ends: list[int] | None


def layout(found: Plan, spool: IO[bytes]) -> list[Part]:
    """The partitions of :func:`plan`'s spool, read through once: known before any chunk
    is made, a scattered partition can be made ahead of its turn."""
    parts = []
    start = 0
    for files, _ in partitions(spool, found.parts):
        ends = cuts(files, CHUNK_ROWS)
        parts.append(Part(start, len(files), None if scattered(files, ends) else ends))
        start += len(files)
    return parts


def chunks(
    found: Plan, spool: IO[bytes], fmt: str, raw_cells: bool
) -> tuple[Iterator[Chunk | None], Iterator[Chunk]]:
    """The export's chunks in output order, each naming only the files it reads, with
    None in the place of each scattered partition; and the scattered partitions' chunks,
    in the same order (they are made ahead of their turn, see :class:`_Workers`)."""
    import numpy as np

    parts = layout(found, spool)

    def read(part: Part) -> tuple[np.ndarray, np.ndarray]:
        wanted = 8 * part.rows
        data = bytearray()
        while len(data) < wanted:
            piece = os.pread(spool.fileno(), wanted - len(data), 8 * part.start + len(data))
            if not piece:
                raise ArchiveReadError("the export's order was cut short: run it again")
            data += piece
        pairs = np.frombuffer(bytes(data), np.int32).reshape(-1, 2)
        return pairs[:, 0], pairs[:, 1]

    def chunk(files: np.ndarray, rows: np.ndarray, spread: bool) -> Chunk:
        numbers, local = np.unique(files, return_inverse=True)
        return Chunk(
            [found.paths[n] for n in numbers.tolist()],
            [found.sites[n] for n in numbers.tolist()],
            local.astype(np.int32),
            rows,
            fmt,
            raw_cells,
            spread,
            max(1, CHUNK_ROWS // 2) if spread else CHUNK_ROWS,
            RUN_ROWS,
            MERGE_BATCH,
        )

    def in_order() -> Iterator[Chunk | None]:
        for part in parts:
            if part.ends is None:
                yield None
                continue
            files, rows = read(part)
            start = 0
            for end in part.ends:
                yield chunk(files[start:end], rows[start:end], False)
                start = end

    def ahead() -> Iterator[Chunk]:
        for part in parts:
            if part.ends is None:
                yield chunk(*read(part), True)

    return in_order(), ahead()


def cuts(files: np.ndarray, size: int) -> list[int]:
    """Where to cut a partition's order (its rows' files) into chunks of ``size`` rows,
    give or take a half: where the fewest files have rows on both sides, so that few
    files are read by two chunks (by two workers). Files written at once by runs
    crawling the same days overlap in time; cut anywhere, each such file would be
    read twice or more."""
    import numpy as np

    total = len(files)
    if total <= size:
        return [total]
    positions = np.arange(total)
    first = np.full(int(files.max()) + 1, total, np.int64)
    last = np.full(int(files.max()) + 1, -1, np.int64)
    np.minimum.at(first, files, positions)
    np.maximum.at(last, files, positions)
    used = last >= 0
    # open[p]: files with rows before position p and at or after it
    delta = np.zeros(total + 1, np.int64)
    np.add.at(delta, first[used] + 1, 1)
    np.add.at(delta, last[used] + 1, -1)
    open_files = np.cumsum(delta)
    found = []
    start = 0
    while total - start > size + size // 2:
        low, high = start + max(1, size // 2), min(start + size + size // 2, total - 1)
        window = open_files[low : high + 1]
        # fewest files cut, then nearest to ``size`` rows
        best = np.lexsort((np.abs(np.arange(low, high + 1) - (start + size)), window))[0]
        start = low + int(best)
        found.append(start)
    return [*found, total]


# -- making the chunks ---------------------------------------------------------------


def _failure(root: Path | str, path: str, reason: str, gone: bool) -> Exception:
    """The one-line error for a chunk that could not be made: a file gone since the
    index listed it (a compaction ran meanwhile), or damaged (named as every command
    names a bad file)."""
    from crawler.archive.views import BadArchiveFile

    if gone:
        return ArchiveReadError(f"{path} is gone (compacted while the export ran?): run it again")
    if not path:
        return ArchiveReadError(f"export failed: {reason}")
    return BadArchiveFile(root, path, f"unreadable ({reason})")


Pieces = Iterator[tuple[int, Sequence[bytes | memoryview] | None]]
"""An export's pieces in order: each one's number of rows, and its bytes (JSON or CSV
lines, or a Parquet file of one row group), or None when they were written to the
output already."""


def _here(
    root: Path | str, todo: Iterator[Chunk | None], ahead: Iterator[Chunk], schema: bytes
) -> Pieces:
    """Make the chunks in this process, each in its turn."""
    import pickle

    from crawler.archive.export_rows import make

    columns = pickle.loads(schema)
    for chunk in todo:
        try:
            yield from make(next(ahead) if chunk is None else chunk, columns)
        except ChunkError as error:
            raise _failure(root, error.path, error.reason, error.gone) from None


PieceSource = Callable[[int | None], Pieces]
"""The export's pieces in order, given where workers may write them (see
:meth:`_Workers.pieces`)."""


class _Workers:
    """Worker processes (``python -m crawler.archive.export_rows``) that make the chunks
    and share ``output`` (a descriptor) when there is one.

    A chunk is made in its turn: its worker writes it to the output when the chunks
    before it are written (or sends it back here). A scattered partition, which one
    worker sorts alone and which takes as long as many chunks, is made *ahead* of its
    turn into a file of :attr:`scratch`, while the other workers go on with the chunks
    before it; it is copied into the output when its turn comes. At most
    :data:`AHEAD_PARTITIONS` are made or waiting at a time (disk for a few partitions'
    text), and one worker at least is kept on the chunks in turn while there are some
    (in an archive whose every partition is scattered, every worker makes partitions)."""

    def __init__(self, count: int, output: int | None, schema: bytes | None = None) -> None:
        import socket
        import subprocess
        import sys
        import tempfile
        from multiprocessing.connection import Connection

        environment = _environment()
        if schema is None:
            import pickle

            from crawler.archive.export_rows import record_schema

            schema = pickle.dumps(record_schema())
        self.output = output
        self.scratch = tempfile.mkdtemp(prefix="crawler-export-")
        self._buffer = bytearray()
        self.connections: list[Connection] = []
        self.processes: list[subprocess.Popen[bytes]] = []
        try:
            for _ in range(count):
                mine, theirs = socket.socketpair()
                with mine, theirs:
                    shared = [theirs.fileno()] + ([] if output is None else [output])
                    command = [sys.executable, "-m", "crawler.archive.export_rows"]
                    self.processes.append(
                        subprocess.Popen(
                            [*command, str(theirs.fileno()), str(-1 if output is None else output)],
                            pass_fds=shared,
                            env=environment,
                            stdin=subprocess.DEVNULL,
                        )
                    )
                    self.connections.append(Connection(os.dup(mine.fileno())))
                self.connections[-1].send_bytes(schema)
        except BaseException:
            self.close()
            raise

    def pieces(
        self, root: Path | str, todo: Iterator[Chunk | None], ahead: Iterator[Chunk] | None = None
    ) -> Pieces:
        """The pieces of every chunk of ``todo``, in order; each None in it is the next
        chunk of ``ahead`` (a scattered partition), made ahead of its turn."""
        from multiprocessing.connection import wait

        ahead = ahead or iter(())
        workers = range(len(self.connections))
        owned: list[deque[int]] = [deque() for _ in workers]  # places given, in turn
        making: list[int | None] = [None for _ in workers]  # the partition made ahead
        reserved: list[tuple[int, Chunk] | None] = [None for _ in workers]  # made next
        made: dict[int, list[tuple[int, int]]] = {}  # partitions made ahead: their pieces
        places: dict[int, int] = {}  # the place in turn of each partition ahead: its number
        ready: dict[int, tuple[int, int, bool]] = {}  # places made: worker, rows, last
        numbered = marked = taken = 0  # places numbered, Nones among them, partitions taken
        turn = 0  # the place written next
        told = -1  # the place whose worker was told to write it
        todo_left = ahead_left = True
        end: Any = object()  # todo is done

        def on_ordinary(worker: int) -> bool:
            return making[worker] is None and reserved[worker] is None

        def dispatch() -> None:
            nonlocal numbered, marked, taken, todo_left, ahead_left
            while True:
                # Chunks in turn, fewest first; none past the place of a partition no
                # worker has yet (whoever takes it must first write its chunks).
                while todo_left and marked <= taken:
                    free = [w for w in workers if on_ordinary(w) and len(owned[w]) < AHEAD]
                    if not free:
                        break
                    chunk = next(todo, end)
                    if chunk is end:
                        todo_left = False
                    elif chunk is None:
                        places[numbered] = marked
                        marked += 1
                        numbered += 1
                    else:
                        worker = min(free, key=lambda w: len(owned[w]))
                        self._send(worker, ("chunk", numbered, chunk))
                        owned[worker].append(numbered)
                        numbered += 1
                # A partition ahead, to a worker that makes it once its chunks are
                # written; one worker at least stays on the chunks in turn while there
                # are some to give.
                held = len(made) + sum(m is not None for m in making)
                held += sum(r is not None for r in reserved)
                free = [w for w in workers if on_ordinary(w)]
                kept = 1 if todo_left and marked <= taken and len(workers) > 1 else 0
                if not ahead_left or held >= AHEAD_PARTITIONS or len(free) <= kept:
                    break
                chunk = next(ahead, None)
                if chunk is None:
                    ahead_left = False
                    break
                worker = min(free, key=lambda w: len(owned[w]))
                reserved[worker] = (taken, chunk)
                taken += 1
            for worker in workers:
                waiting = reserved[worker]
                if waiting is not None and not owned[worker]:
                    number, chunk = waiting
                    path = os.path.join(self.scratch, str(number))
                    self._send(worker, ("ahead", number, chunk, path))
                    making[worker], reserved[worker] = number, None

        dispatch()
        while todo_left or turn < numbered:
            number = places.get(turn)
            if number is not None and number in made:
                del places[turn]
                yield from self._copied(number, made.pop(number))
                turn += 1
                dispatch()
                continue
            if turn in ready and told != turn:
                self._send(ready[turn][0], "go")
                told = turn
            for connection in wait(self.connections):
                worker = self.connections.index(cast("Connection", connection))
                message = self._receive(worker)
                kind = message[0]
                if kind == "ready":
                    _, place, rows, last = message
                    ready[place] = (worker, rows, last)
                elif kind in ("written", "piece"):
                    _, rows, last = ready.pop(turn)
                    told = -1
                    if kind == "written":
                        yield rows, None
                    else:
                        yield rows, [self._bytes(self.connections[worker], message[1])]
                    if last:
                        owned[worker].popleft()
                        turn += 1
                elif kind == "made":
                    made[message[1]] = message[2]
                    making[worker] = None
                elif kind == "oserror":
                    raise OSError(message[1], message[2])
                else:
                    raise _failure(root, *message[1:])
            dispatch()

    def _copied(self, number: int, pieces: list[tuple[int, int]]) -> Pieces:
        """The pieces of a partition made ahead, from its file: copied into the output
        (by the kernel), or read back."""
        path = os.path.join(self.scratch, str(number))
        with open(path, "rb") as source:
            for rows, size in pieces:
                if self.output is None:
                    yield rows, [source.read(size)]
                    continue
                left = size
                while left:
                    left -= os.sendfile(self.output, source.fileno(), None, left)
                yield rows, None
        os.unlink(path)

    def _bytes(self, connection: Connection, size: int) -> memoryview:
        """A piece's bytes, into a buffer kept from piece to piece (a new one each time
        is as many page faults as bytes): valid until the next piece is read."""
        if len(self._buffer) < size:
            self._buffer = bytearray(size)
        connection.recv_bytes_into(self._buffer)
        return memoryview(self._buffer)[:size]

    def _send(self, worker: int, message: object) -> None:
        try:
            self.connections[worker].send(message)
        except OSError:  # it is gone
            raise self._stopped(worker) from None

    def _receive(self, worker: int) -> tuple[Any, ...]:
        try:
            message: tuple[Any, ...] = self.connections[worker].recv()
        except (EOFError, OSError):
            raise self._stopped(worker) from None
        return message

    def _stopped(self, worker: int) -> Exception:
        import subprocess

        process = self.processes[worker]
        try:
            status = process.wait(5)
        except subprocess.TimeoutExpired:
            status = None
        return ArchiveReadError(f"export worker {process.pid} stopped (exit status {status})")

    def close(self) -> None:
        import shutil
        import subprocess

        for connection in self.connections:
            with suppress(OSError):
                connection.send(None)
        for process in self.processes:
            try:
                process.wait(2)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for connection in self.connections:
            connection.close()
        shutil.rmtree(self.scratch, ignore_errors=True)


@contextmanager
def _made(
    root: Path | str, filters: Filters, fmt: str, raw_cells: bool = False
) -> Iterator[tuple[Plan, PieceSource]]:
    """The export's number of rows, and its pieces in output order: each one's number
    of rows and its bytes (JSON or CSV lines, or a Parquet file), or None if a
    worker wrote them to the descriptor given."""
    import tempfile

    with tempfile.TemporaryFile(prefix="crawler-export-") as spool:
        found = _planned(root, filters, spool, fmt)
        todo, ahead = chunks(found, spool, fmt, raw_cells)
        if found.total <= INLINE_ROWS or WORKERS < 2:
            yield found, lambda output: _here(root, todo, ahead, found.schema)
            return
        started: list[_Workers] = []

        def pieces(output: int | None) -> Pieces:
            started.append(_Workers(WORKERS, output, found.schema))
            return started[-1].pieces(root, todo, ahead)

        try:
            yield found, pieces
        finally:
            for workers in started:
                workers.close()


def _planned(root: Path | str, filters: Filters, spool: IO[bytes], fmt: str) -> Plan:
    """:func:`plan`, with what the workers need (:func:`_with_formats`). For a large
    archive it is made in a process of its own (``python -m crawler.archive.export``):
    DuckDB's memory, and the libraries the plan loads (DuckDB's, pyarrow's), are that
    process's and go with it, instead of staying with this one while the workers run
    (about 90 MiB at a million rows)."""
    import pickle
    import subprocess
    import sys

    from crawler.archive.layout import index_path

    try:
        large = index_path(root).stat().st_size > PLAN_APART_BYTES
    except OSError:  # no index yet: the plan builds it
        large = False
    if not large:
        found = _with_export_connection(root, lambda con: plan(con, root, filters, spool))
        return _with_formats(found, fmt)
    spool.flush()
    done = subprocess.run(
        [sys.executable, "-m", "crawler.archive.export", str(spool.fileno())],
        input=pickle.dumps((root, filters, fmt)),
        stdout=subprocess.PIPE,
        pass_fds=[spool.fileno()],
        env=_environment(),
        check=False,
    )
    if not done.stdout:
        raise ArchiveReadError(f"the export's plan stopped ({_ended(done.returncode)})")
    answer = pickle.loads(done.stdout)
    if isinstance(answer, BaseException):
        raise answer
    spool.seek(0)  # the plan's process wrote it through the same open file
    return cast(Plan, answer)


def _plan_apart(argv: Sequence[str]) -> None:
    """The plan's own process: the export's arguments on standard input, the spool's
    descriptor in ``argv``; the plan, or the error, pickled to standard output."""
    import pickle
    import signal
    import sys

    from crawler.archive.views import one_line

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the export answers Ctrl-C, and ends this
    root, filters, fmt = pickle.load(sys.stdin.buffer)
    answer: object
    with os.fdopen(int(argv[0]), "w+b", closefd=False) as spool:
        try:
            found = _with_export_connection(root, lambda con: plan(con, root, filters, spool))
            answer = _with_formats(found, fmt)
        except Exception as error:
            answer = error if _picklable(error) else ArchiveReadError(one_line(error))
    pickle.dump(answer, sys.stdout.buffer)


def _environment() -> dict[str, str]:
    """The environment of the export's processes: the package as this process found it
    (first on the path), and one thread each (they are as many as the cores)."""
    import crawler

    home = str(Path(crawler.__file__).resolve().parent.parent)
    paths = [home, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {**os.environ, **WORKER_ENVIRONMENT, "PYTHONPATH": os.pathsep.join(paths)}


def _with_formats(found: Plan, fmt: str) -> Plan:
    """The plan with what the workers and a Parquet export need from polars and
    pyarrow, as bytes."""
    import dataclasses
    import pickle

    import polars as pl

    from crawler.archive.export_rows import parquet_part, record_schema
    from crawler.archive.parquet_join import split

    schema = record_schema()
    footer = b""
    if fmt == "parquet":
        footer = split(parquet_part(pl.DataFrame(schema=schema))[0])[1]
    return dataclasses.replace(found, schema=pickle.dumps(schema), footer=footer)


def _picklable(error: BaseException) -> bool:
    import pickle

    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return False
    return True


def _ended(code: int) -> str:
    """How a child process ended, said as a shell would."""
    return f"killed by signal {-code}" if code < 0 else f"exit status {code}"


def _with_export_connection(root: Path | str, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """Run ``work`` with the view ``_keys``: of every row, the columns that filter it and
    pick the newest, and where it is. It is the row index (files it does not cover are
    read and checked directly), so that setting out costs a read of its few small
    columns, not of every file."""
    import tempfile

    import duckdb

    from crawler.archive.catalog import open_index, rows_view
    from crawler.archive.views import read_error

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET memory_limit = {sql_string(EXPORT_MEMORY)}")
        con.execute(f"SET temp_directory = {sql_string(tempfile.gettempdir())}")
        rows_view(open_index(root, con), con, "_rows_index", shared=True)
        con.execute(
            "CREATE VIEW _keys AS SELECT url_key, fetched_at, crawl_run, published_at, site, "
            "year, month, file AS _file, row AS _row FROM _rows_index"
        )
        return work(con)
    except duckdb.Error as error:
        raise read_error(root, error) from None
    finally:
        con.close()


# -- export ------------------------------------------------------------------------


def csv_header(columns: Sequence[str], raw_cells: bool = False) -> str:
    import io

    from crawler.archive.query import csv_writer

    out = io.StringIO()
    csv_writer(out, columns, raw_cells)
    return out.getvalue()


def export(
    root: Path | str,
    out: IO[str],
    fmt: str,
    sites: Sequence[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    all_versions: bool = False,
    raw_cells: bool = False,
    zones: Mapping[str, tzinfo] | None = None,
    default_zone: tzinfo = UTC,
) -> int:
    """Export the archive to ``out`` as JSON lines or CSV; return the number of rows."""
    from crawler.archive.views import RECORD_COLUMNS

    filters = Filters(sites, since, until, all_versions, zones, default_zone)
    with _made(root, filters, fmt, raw_cells) as (found, pieces):
        if fmt == "csv":
            out.write(csv_header(RECORD_COLUMNS, raw_cells))
        out.flush()  # what was written as text goes first
        raw = getattr(out, "buffer", None)
        output = _descriptor(raw)
        written = 0
        with Progress("export", found.total, "rows") as progress:
            for rows, text in pieces(output):
                if text is None:
                    pass  # a worker wrote it
                elif raw is not None:
                    for piece in text:
                        raw.write(piece)
                else:
                    out.write(b"".join(text).decode("utf-8"))
                written += rows
                progress.advance(rows)
        if raw is not None:
            raw.flush()
    return written


def _descriptor(raw: IO[bytes] | None) -> int | None:
    """The descriptor under ``raw``, flushed, for the workers to write to; None if it
    has none (then the text comes back here)."""
    if raw is None:
        return None
    raw.flush()
    try:
        return raw.fileno()
    except (OSError, AttributeError, ValueError):  # io.UnsupportedOperation is both
        return None


def export_parquet(
    root: Path | str,
    target: Path,
    sites: Sequence[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    all_versions: bool = False,
    zones: Mapping[str, tzinfo] | None = None,
    default_zone: tzinfo = UTC,
) -> int:
    """Export the archive as one flat Parquet file at ``target``: the record's columns
    with the archive's types (``site`` a column); return the number of rows. A row group
    holds rows of one partition. The workers encode the row groups, each a Parquet file
    of its own, and they are joined here (:mod:`crawler.archive.parquet_join`)."""
    from crawler.archive.parquet_join import MAGIC, Footer, split

    filters = Filters(sites, since, until, all_versions, zones, default_zone)
    written = 0
    with (
        _made(root, filters, "parquet") as (found, parts),
        Progress("export", found.total, "rows") as progress,
        open(target, "wb") as sink,
        Footer(found.footer) as footer,
    ):
        sink.write(MAGIC)
        at = len(MAGIC)
        for rows, part in parts(None):
            assert part is not None  # it comes back here to be joined
            pages, tail = split(part[0] if len(part) == 1 else b"".join(part))
            sink.write(pages)
            footer.add(tail, at - len(MAGIC))
            at += len(pages)
            written += rows
            progress.advance(rows)
        footer.write(sink)
    return written


if __name__ == "__main__":
    import sys

    import crawler.archive.export as module  # one module, whatever ran it

    module._plan_apart(sys.argv[1:])
