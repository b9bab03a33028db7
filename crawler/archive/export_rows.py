"""The rows of an export, decoded and formatted a chunk at a time.

This is the work that :mod:`crawler.archive.export` hands to its worker processes, one
:class:`Chunk` at a time (or does itself, for a small export). It needs polars, and
pyarrow only for a Parquet export: a worker starts small.

Polars reads a file's columns as string views, so putting a chunk's rows in order moves
16 bytes a cell, not the text; and it writes JSON lines and CSV at a few times the
speed of DuckDB's ``to_json`` and ``concat``. The lines are those of Python's
``json.dumps(row, ensure_ascii=False, separators=(",", ":"))``, and CSV as
:func:`crawler.archive.query.csv_writer` writes it.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    import numpy as np
    import polars as pl
    import pyarrow as pa

TIMESTAMPS = ("published_at", "fetched_at")
WHOLE_FILE_BYTES = 16 << 20
"""A file up to this size is read whole into memory, then decoded: a third less CPU
than polars reading it from its path (measured on files of a few hundred rows). A
larger one (compacted) is read from its path, in the row groups wanted only."""
TRIM_EVERY = 8
"""Chunks a worker makes between two returns of freed memory to the system (each
return costs page faults when the memory is taken again: a third of the CPU time when
it was after every chunk)."""
NESTED = ("images", "authors", "tags")
HELD = 2
"""Pieces a worker holds made while they wait for their turn to be written (a chunk's
text each, a few MB): with one, a worker whose chunk was quicker to make than its
neighbour's waited, idle."""


@dataclass(frozen=True)
class Chunk:
    """Rows to export, in output order: ``files`` (numbers into ``paths``) and ``rows``
    (in each file). ``scattered``: the rows go back and forth between the files, so they
    are sorted in runs of ``run_rows`` (:func:`runs`), spilled in batches of
    ``merge_batch`` rows, and come out ``size`` at a time."""

    paths: Sequence[str]
    sites: Sequence[str]
    files: np.ndarray
    rows: np.ndarray
    fmt: str
    raw_cells: bool = False
    scattered: bool = False
    size: int = 4096
    run_rows: int = 4096
    merge_batch: int = 128


class ChunkError(Exception):
    """A file a chunk needs cannot be read: ``path`` and what went wrong (``gone``: it
    was deleted since the export was planned)."""

    def __init__(self, path: str, reason: str, gone: bool = False) -> None:
        super().__init__(path, reason, gone)
        self.path = path
        self.reason = reason
        self.gone = gone


def record_schema() -> dict[str, pl.DataType]:
    """The record's columns in polars' types (``site`` among them)."""
    import polars as pl

    from crawler.archive.schema import ARTICLE_SCHEMA

    frame = pl.from_arrow(ARTICLE_SCHEMA.empty_table())
    assert isinstance(frame, pl.DataFrame)
    return dict(frame.schema)


def read_file(
    path: str, site: str, schema: dict[str, pl.DataType], first: int = 0, count: int | None = None
) -> pl.DataFrame:
    """Rows ``first`` to ``first + count`` (all by default) of one archive file, in the
    record's columns and types: ``site`` added (its directory holds it), a column the
    file lacks (``raw_ref`` before schema v2) null. Of a large file (compacted), only
    the row groups holding them are read. The path is a path, never a pattern (a ``[`` in
    it is a ``[``)."""
    import polars as pl

    try:
        if os.stat(path).st_size <= WHOLE_FILE_BYTES:
            with open(path, "rb") as handle:
                source = pl.scan_parquet(handle.read(), hive_partitioning=False)
        else:
            source = pl.scan_parquet(path, glob=False, hive_partitioning=False)
        frame = source.slice(first, count).collect()
    except FileNotFoundError:
        raise ChunkError(path, "gone", gone=True) from None
    except Exception as error:  # polars' errors have no common base
        from crawler.archive.views import one_line

        raise ChunkError(path, one_line(error)) from None
    stored = [(name, dtype) for name, dtype in schema.items() if name != "site"]
    if list(frame.schema.items()) == stored:  # the writer's own file: as it is (a query
        # over every column would cost more than reading the file)
        where = list(schema).index("site")
        return frame.insert_column(
            where, pl.repeat(site, frame.height, dtype=pl.String, eager=True).alias("site")
        )
    columns = []
    for name, dtype in schema.items():
        if name == "site":
            columns.append(pl.lit(site, pl.String).alias(name))
        elif name not in frame.columns:
            columns.append(pl.lit(None, dtype).alias(name))
        elif frame.schema[name] == dtype:
            columns.append(pl.col(name))
        else:  # another writer's spelling: large strings, ms, a zone "+00:00" …
            columns.append(pl.col(name).cast(dtype))
    return frame.select(columns)


def gather(chunk: Chunk, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """The chunk's rows in its order. Each file is read once and its rows taken
    together (a run of consecutive rows is a slice, not a copy), then put in order."""
    import numpy as np
    import polars as pl

    files, rows = chunk.files, chunk.rows
    by_file = np.argsort(files, kind="stable")
    grouped = files[by_file]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]]).tolist()
    pieces = []
    for start, end in zip(starts, [*starts[1:], len(grouped)], strict=True):
        number = int(grouped[start])
        wanted = rows[by_file[start:end]].astype(np.int64)
        low, high = int(wanted.min()), int(wanted.max())
        frame = read_file(chunk.paths[number], chunk.sites[number], schema, low, high - low + 1)
        if frame.height <= high - low:
            raise ChunkError(chunk.paths[number], "fewer rows than the row index says")
        wanted -= low
        if bool(np.all(wanted == np.arange(wanted[0], wanted[0] + len(wanted)))):
            pieces.append(frame.slice(int(wanted[0]), len(wanted)))
        else:
            pieces.append(frame[pl.Series(wanted)])
    together = pl.concat(pieces) if len(pieces) > 1 else pieces[0]
    if bool(np.all(by_file == np.arange(len(by_file)))):
        return together
    back = np.empty(len(by_file), np.int64)
    back[by_file] = np.arange(len(by_file))
    return together[pl.Series(back)]


# -- formats -----------------------------------------------------------------------


def _iso(name: str) -> pl.Expr:
    """A UTC timestamp as Python's ``isoformat()`` writes it (microseconds only if any)."""
    import polars as pl

    column = pl.col(name)
    return (
        pl.when(column.dt.microsecond() == 0)
        .then(column.dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
        .otherwise(column.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f+00:00"))
        .alias(name)
    )


class Pieces(io.RawIOBase):
    """A file that keeps what is written to it as the pieces it was handed (a buffer
    grown as polars writes would be copied each time it grows, and hold up to twice
    the text)."""

    def __init__(self) -> None:
        super().__init__()
        self.pieces: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.pieces.append(bytes(data))
        return len(self.pieces[-1])


def jsonl_text(frame: pl.DataFrame) -> list[bytes]:
    """The rows as JSON lines; timestamps as ``isoformat()`` writes them."""
    out = Pieces()
    frame.with_columns(_iso(name) for name in TIMESTAMPS).write_ndjson(cast(IO[bytes], out))
    return out.pieces


def _json_list(name: str) -> pl.Expr:
    """A list column as the JSON text of the list (``[]`` when empty)."""
    import polars as pl

    element = pl.element()
    if name == "images":  # structs: one JSON object each
        items = pl.col(name).list.eval(element.struct.json_encode())
    else:  # strings: each quoted as JSON quotes it (``{"s":…}`` without its wrapping)
        wrapped = pl.struct(element.alias("s")).struct.json_encode()
        items = pl.col(name).list.eval(wrapped.str.slice(5).str.strip_suffix("}"))
    return pl.concat_str([pl.lit("["), items.list.join(","), pl.lit("]")])


def csv_text(frame: pl.DataFrame, raw: bool = False) -> list[bytes]:
    """The rows as CSV lines: every field quoted, null as empty, lists as JSON text,
    and a text cell that a spreadsheet would run as a formula with a leading ``'``
    (not with ``raw``)."""
    import polars as pl

    from crawler.archive.query import FORMULA_STARTS

    cells = []
    for name in frame.columns:
        column = pl.col(name)
        if name in TIMESTAMPS:
            cell = _iso(name)
        elif name in NESTED:
            cell = _json_list(name)
        elif raw:
            cell = column
        else:
            formula = column.str.slice(0, 1).is_in(list(FORMULA_STARTS))
            cell = pl.when(formula).then(pl.lit("'") + column).otherwise(column)
        cells.append(cell.fill_null("").alias(name))
    out = Pieces()
    frame.select(cells).write_csv(
        cast(IO[bytes], out), include_header=False, quote_style="always", line_terminator="\n"
    )
    return out.pieces


def arrow_schema() -> pa.Schema:
    """The export's Parquet columns: the record's, with the archive's types."""
    import pyarrow as pa

    from crawler.archive.schema import ARTICLE_SCHEMA

    return pa.schema([ARTICLE_SCHEMA.field(name) for name in ARTICLE_SCHEMA.names])


DICTIONARY_COLUMNS = [
    "spider",
    "language",
    "section",
    "images.list.element.credit",
    "byline",
    "authors.list.element",
    "tags.list.element",
    "crawl_run",
    "parser_version",
    "site",
]
"""The Parquet export's columns whose values repeat, dictionary-encoded; the others
(bodies, titles, keys …) are all but unique, and trying a dictionary for each cost a
quarter of the encoding time for nothing (the file is no larger)."""


def parquet_part(frame: pl.DataFrame) -> list[bytes]:
    """The rows as a Parquet file of one row group in the archive's types: a part of the
    export's file (:mod:`crawler.archive.parquet_join`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from crawler.archive.writer import COMPRESSION

    schema = arrow_schema()
    table = frame.to_arrow()
    table = pa.Table.from_arrays(
        [table.column(name).cast(schema.field(name).type) for name in schema.names],
        schema=schema,
    )
    sink = io.BytesIO()
    with pq.ParquetWriter(
        sink, schema, compression=COMPRESSION, use_dictionary=DICTIONARY_COLUMNS
    ) as writer:
        if table.num_rows:
            writer.write_table(table, row_group_size=table.num_rows)
    return [sink.getvalue()]


def formatted(frame: pl.DataFrame, fmt: str, raw_cells: bool) -> list[bytes]:
    if fmt == "jsonl":
        return jsonl_text(frame)
    if fmt == "csv":
        return csv_text(frame, raw_cells)
    return parquet_part(frame)


# -- a partition whose rows go back and forth between its files --------------------


def runs(chunk: Chunk, schema: dict[str, pl.DataType], scratch: str) -> Iterator[pl.DataFrame]:
    """The chunk's rows in its order, ``chunk.size`` at a time, each file read once: its
    files are read in turn, ``chunk.run_rows`` rows at a time, each run put in output
    order and spilled to ``scratch`` (Arrow IPC, in record batches of
    ``chunk.merge_batch`` rows); then each piece of the output takes from every run the
    rows it holds, read four batches at a time. Polars alone: pyarrow's reader and
    allocator held 40–60 MiB more at the peak."""
    import numpy as np
    import polars as pl

    from crawler.archive.views import give_back_memory

    by_file = np.lexsort((chunk.rows, chunk.files))
    paths: list[str] = []
    places: list[np.ndarray] = []  # each run's rows' places in the output, in order
    for at in range(0, len(by_file), chunk.run_rows):
        run = np.sort(by_file[at : at + chunk.run_rows])
        piece = Chunk(chunk.paths, chunk.sites, chunk.files[run], chunk.rows[run], chunk.fmt)
        path = os.path.join(scratch, str(len(paths)))
        gather(piece, schema).write_ipc(path, record_batch_size=chunk.merge_batch)
        paths.append(path)
        places.append(run)
        give_back_memory()  # the run's text, gone to disk
    given = [0] * len(paths)  # each run's rows handed on
    read = [pl.DataFrame() for _ in paths]  # each run's rows read, not yet handed on
    for limit in range(chunk.size, len(chunk.files) + chunk.size, chunk.size):
        frames, ranks = [], []
        for n, path in enumerate(paths):
            end = int(np.searchsorted(places[n], limit))
            wanted = end - given[n]
            if wanted <= 0:
                continue
            if read[n].height < wanted:
                more = max(wanted - read[n].height, 4 * chunk.merge_batch)
                start = given[n] + read[n].height
                read[n] = pl.concat([read[n], pl.scan_ipc(path).slice(start, more).collect()])
            frames.append(read[n].slice(0, wanted))
            read[n] = read[n].slice(wanted)
            ranks.append(places[n][given[n] : end])
            given[n] = end
        frame = pl.concat(frames)
        yield frame[pl.Series(np.argsort(np.concatenate(ranks), kind="stable"))]


# -- the work ----------------------------------------------------------------------


def make(chunk: Chunk, schema: dict[str, pl.DataType]) -> Iterator[tuple[int, list[bytes]]]:
    """The chunk's rows formatted: one piece, or ``chunk.size`` rows a piece when it is
    scattered; each with its number of rows."""
    if not chunk.scattered:
        frame = gather(chunk, schema)
        yield frame.height, formatted(frame, chunk.fmt, chunk.raw_cells)
        return
    if len(chunk.files) <= 2 * chunk.run_rows:  # small enough to sort at once: no spill
        frame = gather(chunk, schema)  # each file read once
        for start in range(0, frame.height, chunk.size):
            piece = frame.slice(start, chunk.size)
            yield piece.height, formatted(piece, chunk.fmt, chunk.raw_cells)
        return
    with tempfile.TemporaryDirectory(prefix="crawler-export-") as scratch:
        for frame in runs(chunk, schema, scratch):
            yield frame.height, formatted(frame, chunk.fmt, chunk.raw_cells)


def serve(connection: Connection, schema: dict[str, Any], output: int | None) -> None:
    """Make each chunk received and hand its pieces on.

    ``("chunk", place, chunk)`` is made in its turn: each piece is announced,
    ``("ready", place, rows, last)``, and when the export answers ``"go"``, written to its
    ``output`` (a descriptor this process shares), ``("written",)``, or sent back,
    ``("piece", size)`` and its bytes. A piece waiting for its turn does not stop the
    work: the next chunk is made meanwhile (the other workers' pieces before it may take
    longer to make), and the waiting ones are written between two pieces, up to
    :data:`HELD` pieces at a time. ``("ahead", number, chunk, path)`` is made at once into
    the file ``path``: ``("made", number, [(rows, size), …])`` (the export sends it only
    when this worker's pieces are all written). A file that cannot be read is ``("error",
    path, reason, gone)`` and a failed write ``("oserror", errno, text)``. ``None`` ends
    the worker."""
    from crawler.archive.views import give_back_memory, one_line

    jobs: deque[Any] = deque()  # messages received, not yet begun
    held: deque[list[bytes]] = deque()  # pieces announced, waiting for their "go"
    making: Iterator[tuple[int, list[bytes]]] | None = None
    place = 0  # of the chunk being made
    made: tuple[int, list[bytes]] | None = None  # its last piece, not yet announced
    done = 0

    def write_held() -> None:
        data = held.popleft()
        if output is None:
            whole = data[0] if len(data) == 1 else b"".join(data)
            connection.send(("piece", len(whole)))
            connection.send_bytes(whole)
        else:
            for part in data:
                write_all(output, part)
            connection.send(("written",))

    def announce(piece: tuple[int, list[bytes]], last: bool) -> None:
        connection.send(("ready", place, piece[0], last))
        held.append(piece[1])

    while True:
        can_make = len(held) < HELD and (making is not None or bool(jobs))
        if not can_make or connection.poll():
            message = connection.recv()
            if message == "go":
                write_held()
            elif message is None:
                return
            else:
                jobs.append(message)
            continue
        try:
            if making is None:
                message = jobs.popleft()
                done += 1
                if done % TRIM_EVERY == 0:
                    give_back_memory()  # else the allocator's holdings creep up, chunk by chunk
                if message[0] == "ahead":
                    _, number, chunk, path = message
                    connection.send(("made", number, made_into(path, make(chunk, schema))))
                    give_back_memory()  # a whole partition's worth, sorted in runs
                    continue
                _, place, chunk = message
                making, made = make(chunk, schema), None
            piece = next(making, None)
            if piece is None:
                making = None
                if made is not None:
                    announce(made, True)
            else:
                if made is not None:  # not the last: one more was made after it
                    announce(made, False)
                made = piece
        except ChunkError as error:
            making = made = None
            connection.send(("error", error.path, error.reason, error.gone))
        except OSError as error:
            making = made = None
            connection.send(("oserror", error.errno, error.strerror or str(error)))
        except Exception as error:  # told to the export, which fails with it
            making = made = None
            reason = f"{type(error).__name__}: {one_line(error)}"
            connection.send(("error", "", reason, False))


def made_into(path: str, pieces: Iterator[tuple[int, list[bytes]]]) -> list[tuple[int, int]]:
    """Write ``pieces`` one after another into the file ``path``; their rows and sizes."""
    sizes = []
    with open(path, "wb") as sink:
        for rows, data in pieces:
            for part in data:
                sink.write(part)
            sizes.append((rows, sum(len(part) for part in data)))
    return sizes


def work(argv: Sequence[str]) -> None:
    """A worker process (``python -m crawler.archive.export_rows CONNECTION OUTPUT``):
    the descriptors of its connection to the export and of the output (-1: none). The
    first message is the record's schema (:func:`record_schema`)."""
    import pickle
    import signal
    from multiprocessing.connection import Connection

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the export itself answers Ctrl-C
    connection = Connection(int(argv[0]))
    output = int(argv[1])
    with suppress(EOFError, BrokenPipeError):  # the export is gone: so is the work
        # (pyarrow, which spells it, stays out of this process)
        schema = pickle.loads(connection.recv_bytes())
        serve(connection, schema, None if output < 0 else output)


def write_all(descriptor: int, data: bytes) -> None:
    """Write all of ``data`` (a pipe takes a large write in parts)."""
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view) :]


if __name__ == "__main__":
    import sys

    import crawler.archive.export_rows as rows  # one module, whatever ran it

    rows.work(sys.argv[1:])
