"""Full-text search over the archive: an SQLite FTS5 index kept beside the Parquet files.

The index (``<root>/_search/index.sqlite3``) is derived from the archive and never
its source of truth: deleting it loses nothing, and :func:`rebuild` makes it again
from the Parquet files with the same answers.

It is brought up to date *lazily*, by every search before it answers
(:func:`sync`): the index records each Parquet file it has read (path, size,
mtime), and each search compares that with the files on disk, indexes the new
ones and forgets the files that are gone. A compaction replaces a partition's
files with new ones holding the same rows: a row the index already holds (same
``url_key``, ``fetched_at`` and ``crawl_run``) only has its file changed, so the
search after a compaction costs a read of the new files, not a re-index. A hook in the crawl would miss archives written by other
processes, copied in by hand, compacted or quarantined; comparing with the disk
on every search cannot give a stale answer, and costs one directory walk when
nothing changed.

Only the newest row of each ``url_key`` is searchable (the rule of the ``latest``
view: latest ``fetched_at``, then latest ``crawl_run``). When a file holding the
newest row of an article disappears and no new file brings that article back,
an older row may have become the newest: the index is then rebuilt whole, which
is rare (quarantine, files deleted by hand) and always right.

The FTS5 table is contentless (it holds the index only), and no text is kept
beside it: each article's row is known by its file and its row number there, and
the few hits shown are read from their Parquet files for their title, URL and
snippet. Taking a superseded row out of a contentless table needs the text it
was indexed with, which is read again from its file, or from the new file a
compaction moved it to. When it is nowhere (a compaction dropped it because a
newer row came in after the last search), the index is rebuilt whole. A file
swapped away between the index's answer and the reading of its hits makes the
search catch up and answer again.

Ranking is bm25 as FTS5 computes it (:func:`_ranking`, through apsw: Python's sqlite3
cannot register an FTS5 auxiliary function), with one change: the IDF of a phrase is the
sum of its words' IDFs (a CJK phrase's bigrams are its words), as in Lucene's phrase
queries, where FTS5 counts the articles holding the whole phrase. Counting those is a walk
of the words' positions in every article holding them all (seconds at ten million
articles); the words' counts are kept in the index (``word_docs``: made by a rebuild,
brought up to date by every sync, :func:`_track_counts`), so no search counts anything,
its first one included. A word's IDF, and the per-row part of bm25 (term frequency in
the title, weighed TITLE_WEIGHT, and the text; length normalisation), are bm25's: a query
of words scores as FTS5's own bm25 to the last bit, in the same order (ties by rowid,
oldest first). A lone CJK character (a prefix of the bigrams it starts) weighs as the
most common of those bigrams. A phrase whose words are common weighs little even when
few articles hold it: a phrase is rarer than its words, and this weighs it as if its
words were independent.

A phrase of common words that few articles hold is still slow to find (not to weigh):
FTS5 walks the words' positions in every article holding them all.

An index built before ``word_docs`` was kept has its words counted by its next search,
once (:func:`_count_words_once`; minutes at ten million articles, not an hour's rebuild);
the ``phrase_docs`` table such an index may hold is no longer read.
"""

from __future__ import annotations

import glob
import hashlib
import json
import math
import os
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.archive.layout import (
    ARTICLES_DIR,
    iter_parquet_files,
    search_index_path,
)
from crawler.archive.window import date_window
from crawler.text.search_text import Term, fts_query, index_column, snippet

if TYPE_CHECKING:
    import apsw

INDEX_VERSION = "5"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TOKENIZER = "unicode61 remove_diacritics 2"
TITLE_WEIGHT = 5.0
"""bm25 weight of a hit in the title against one in the text."""
BM25_K1, BM25_B = 1.2, 0.75
"""The constants of FTS5's built-in bm25, which :func:`_ranking` computes again."""
UNDATED_IDS = 2**40
"""Ids below this (the first 12 days of 1970 in microseconds) are undated articles'."""
SETTLE_NS = 2_000_000_000
"""A partition directory changed this recently is listed again by the next search."""
RANKED_AT_MOST = 30_000
"""A query matching more articles than this ranks the newest this many of them (see _best)."""
TEXT_BATCH = 1024
"""Rows of text read, folded and handed to SQLite at a time (a few batches in flight)."""
_TIME_COLUMNS = ["published_at", "fetched_at"]
_KEY_COLUMNS = ["url_key", "spider", "crawl_run", "published_at", "fetched_at"]
_TEXT_COLUMNS = ["url_key", "url", "title", "summary", "body"]
_SCHEMA = f"""
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- AUTOINCREMENT: a gone file's id is never given to a new one while docs still name it
CREATE TABLE files(id INTEGER PRIMARY KEY AUTOINCREMENT, path TEXT NOT NULL UNIQUE,
                   size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, rows INTEGER NOT NULL);
CREATE TABLE dirs(path TEXT PRIMARY KEY, stamp TEXT NOT NULL);
CREATE TABLE docs(id INTEGER PRIMARY KEY, url_key BLOB NOT NULL, file INTEGER NOT NULL,
                  row INTEGER NOT NULL, fetched_at INTEGER NOT NULL, crawl_run TEXT NOT NULL,
                  site TEXT, spider TEXT, published INTEGER);
CREATE VIRTUAL TABLE fts USING fts5(title, text, facets, content='', tokenize='{TOKENIZER}');
"""
_WORD_DOCS = """CREATE TABLE IF NOT EXISTS word_docs(term TEXT PRIMARY KEY, docs INTEGER NOT NULL)
WITHOUT ROWID"""
"""How many articles hold each word of the index (as the tokenizer folds it), all of them:
made by a rebuild, valid for the state of the index in meta's ``word_docs``."""
_INDEXES = [
    "CREATE INDEX docs_key ON docs(url_key)",
    "CREATE INDEX docs_file ON docs(file)",
    "CREATE INDEX docs_published ON docs(published)",
]
"""Made once the docs are in (sorted, not one random insert per row: at ten million rows
the keys' index is larger than any cache). Each url_key has one doc: the code sees to it."""


class SearchError(Exception):
    """The index cannot be read or written (a one-line message for the user)."""


@dataclass(frozen=True)
class Hit:
    url_key: str
    url: str
    title: str
    site: str
    spider: str
    date: str | None
    snippet: str
    score: float
    """bm25, with a phrase weighed by its words (lower is better, as FTS5's; see _ranking)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "site": self.site,
            "date": self.date,
            "url": self.url,
            "url_key": self.url_key,
            "snippet": self.snippet,
            "score": round(self.score, 4),
        }


@dataclass
class SyncResult:
    files_added: int = 0
    files_removed: int = 0
    rows_read: int = 0
    rebuilt: bool = False
    seconds: float = 0.0


def _relative(root: Path, path: Path) -> str:
    return path.relative_to(root / ARTICLES_DIR).as_posix()


def disk_files(root: Path) -> dict[str, tuple[int, int]]:
    """Every visible archive file: relative path -> (size, mtime in ns)."""
    files = {}
    for path in iter_parquet_files(root):
        try:
            stat = path.stat()
        except FileNotFoundError:  # swapped away by a compaction since it was listed
            continue
        files[_relative(root, path)] = (stat.st_size, stat.st_mtime_ns)
    return files


def _scan(
    root: Path, known_dirs: dict[str, str], indexed: dict[str, tuple[int, int]]
) -> tuple[dict[str, tuple[int, int]], dict[str, str]]:
    """:func:`disk_files`, without listing a partition directory that has not changed
    since the index read it: files are only ever added, renamed or removed there (each
    changes the directory's mtime; a compaction swaps the whole directory), never
    rewritten in place. A directory changed less than two seconds before it was recorded
    is listed again next time (a file may land within the same clock tick).

    Returns the files and the partition directories' stamps (mtime, inode) to record."""
    articles = root / ARTICLES_DIR
    files: dict[str, tuple[int, int]] = {}
    dirs: dict[str, str] = {}
    settled = time.time_ns() - SETTLE_NS
    by_dir: dict[str, dict[str, tuple[int, int]]] = {}
    for relative, stat in indexed.items():
        by_dir.setdefault(relative.rpartition("/")[0], {})[relative] = stat

    def walk(directory: Path, prefix: str, depth: int) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except FileNotFoundError:
            return
        for entry in entries:
            if entry.name.startswith((".", "_")):
                continue
            relative = prefix + entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    mtime = entry.stat().st_mtime_ns
                    stamp = f"{mtime}:{entry.inode()}"
                    if depth == 2 and known_dirs.get(relative) == stamp:
                        files.update(by_dir.get(relative, {}))
                        dirs[relative] = stamp
                        continue
                    if depth == 2:
                        dirs[relative] = stamp if mtime < settled else "unsettled"
                    walk(Path(entry.path), relative + "/", depth + 1)
                elif entry.name.endswith(".parquet"):
                    stat = entry.stat()
                    files[relative] = (stat.st_size, stat.st_mtime_ns)
            except FileNotFoundError:  # swapped away by a compaction since it was listed
                continue

    walk(articles, "", 0)
    return files, dirs


def _unchanged(root: Path, known_dirs: dict[str, str]) -> bool:
    """Are the partition directories those the index last read, each unchanged (the
    rule of :func:`_scan`)? Then no file was added, renamed or removed, and the index's
    list of files need not be read (0.4 s at 62,100 files): a few hundred stats."""
    seen = 0

    def same(directory: Path, prefix: str, depth: int) -> bool:
        nonlocal seen
        try:
            entries = list(os.scandir(directory))
        except FileNotFoundError:
            return False
        for entry in entries:
            if entry.name.startswith((".", "_")):
                continue
            relative = prefix + entry.name
            try:
                if not entry.is_dir(follow_symlinks=False):
                    if entry.name.endswith(".parquet"):
                        return False  # a file outside any partition: the whole scan
                    continue
                if depth < 2:
                    if not same(Path(entry.path), relative + "/", depth + 1):
                        return False
                    continue
                stamp = f"{entry.stat().st_mtime_ns}:{entry.inode()}"
            except FileNotFoundError:
                return False
            if known_dirs.get(relative) != stamp:
                return False
            seen += 1
        return True

    return same(root / ARTICLES_DIR, "", 0) and seen == len(known_dirs)


def _known_dirs(connection: sqlite3.Connection) -> dict[str, str]:
    return dict(connection.execute("SELECT path, stamp FROM dirs").fetchall())


def _record_dirs(connection: sqlite3.Connection, dirs: dict[str, str]) -> None:
    connection.execute("DELETE FROM dirs")
    connection.executemany("INSERT INTO dirs(path, stamp) VALUES (?, ?)", dirs.items())


def _connect(path: Path) -> sqlite3.Connection:
    try:
        connection = sqlite3.connect(path, timeout=60, isolation_level=None)
        connection.execute("PRAGMA busy_timeout = 60000")
    except sqlite3.Error as error:
        raise SearchError(f"cannot open the search index {path}: {error}") from None
    return connection


def _valid(connection: sqlite3.Connection) -> bool:
    try:
        row = connection.execute("SELECT value FROM meta WHERE key = 'version'").fetchone()
    except sqlite3.Error:
        return False
    return row is not None and row[0] == INDEX_VERSION


def _indexed_files(connection: sqlite3.Connection) -> dict[str, tuple[int, int]]:
    return {p: (s, m) for p, s, m in connection.execute("SELECT path, size, mtime_ns FROM files")}


def _changes(
    indexed: dict[str, tuple[int, int]], disk: dict[str, tuple[int, int]]
) -> tuple[list[str], list[str]]:
    """(files to drop from the index, files to read): a changed file is both."""
    gone = [p for p, stat in indexed.items() if disk.get(p) != stat]
    new = [p for p, stat in disk.items() if indexed.get(p) != stat]
    return sorted(gone), sorted(new)


def status(root: Path | str) -> tuple[bool, int, int]:
    """(index exists and is readable, files not yet indexed, indexed files gone or changed),
    without changing anything: for ``crawler validate``."""
    root = Path(root)
    path = search_index_path(root)
    if not path.is_file():
        return False, 0, 0
    connection = _connect(path)
    try:
        if not _valid(connection):
            return False, 0, 0
        gone, new = _changes(_indexed_files(connection), disk_files(root))
        return True, len(new), len(gone)
    except sqlite3.Error:
        return False, 0, 0
    finally:
        connection.close()


def search_note(root: Path | str) -> str | None:
    """For ``crawler validate``: a note when the index (once built) no longer matches the
    archive. Never a problem: the index is derived, and the next search catches up."""
    import shlex

    root = Path(root)
    if not search_index_path(root).parent.is_dir():
        return None  # never built: nothing to check
    readable, new, gone = status(root)
    fix = f"crawler search --rebuild --archive {shlex.quote(str(root))}"
    if not readable:
        return f"search index missing or unreadable (derived, nothing lost): `{fix}` rebuilds it"
    if new or gone:
        return (
            f"search index behind the archive ({new:,} files not yet indexed, {gone:,} gone or "
            f"changed; nothing lost): the next `crawler search` catches up, or `{fix}`"
        )
    return None


def _site(relative: str) -> str:
    return relative.split("/", 1)[0].removeprefix("site=")


def _key(url_key: str) -> bytes | str:
    """A url_key as the index keeps it: the usual SHA-256 hex as its 32 bytes (half the
    size, in the table and in its unique index); anything else as it is."""
    if len(url_key) == 64:
        try:
            packed = bytes.fromhex(url_key)
        except ValueError:
            return url_key
        if packed.hex() == url_key:
            return packed
    return url_key


def _file_rows(
    root: Path, relative: str, columns: Sequence[str], wanted: Collection[int] | None = None
) -> list[tuple[int, tuple[Any, ...]]]:
    """(row number in the file, values of ``columns``) for every row of one file, or for
    the ``wanted`` ones only (reading just the row groups that hold them). A column the
    file lacks reads as None; times as microseconds since the epoch. Read whole before
    anything is done with it, so that a damaged file changes nothing."""
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(root / ARTICLES_DIR / relative)
    names = set(handle.schema_arrow.names)
    present = [c for c in columns if c in names]
    out: list[tuple[int, tuple[Any, ...]]] = []

    def convert(table: Any, numbers: Sequence[int]) -> None:
        empty = [None] * len(numbers)
        values = [
            (
                table.column(c).cast("int64").to_pylist()
                if c in _TIME_COLUMNS
                else table.column(c).to_pylist()
            )
            if c in names
            else empty
            for c in columns
        ]
        out.extend(zip(numbers, zip(*values, strict=True), strict=True))

    if wanted is None:
        offset = 0
        for batch in handle.iter_batches(batch_size=4096, columns=present):
            convert(batch, range(offset, offset + batch.num_rows))
            offset += batch.num_rows
        return out
    first = 0
    for group in range(handle.metadata.num_row_groups):
        size = handle.metadata.row_group(group).num_rows
        rows = sorted(r for r in wanted if first <= r < first + size)
        if rows:
            table = handle.read_row_group(group, columns=present)
            for r in rows:  # slices, not take(), which imports pandas (0.3 s) on first use
                convert(table.slice(r - first, 1), [r])
        first += size
    return out


def _text(summary: str | None, body: str | None) -> str:
    return "\n\n".join(t for t in (summary, body) if t)


class _Changed(Exception):
    """A file went between two reads of it (a compaction meanwhile): start again."""


class _Rebuild(Exception):
    """What the index held cannot be told from the files left: build it whole."""


@dataclass
class _Dropped:
    """A row superseded by a newer one: a contentless FTS5 table forgets a row only when
    given the text it indexed, which is read again from the row's file."""

    doc_id: int
    key: bytes | str
    file: int
    row: int
    site: str | None
    spider: str | None
    published: int | None


@dataclass
class _Batch:
    """What one pass over new files changes. ``fresh``: the docs it added, not yet in
    FTS5 (None in a rebuild: all of them); ``moving``: the files gone in this pass, whose
    rows may come back from new files (a compaction); ``lost``: superseded rows of gone
    files, by key, until their identity turns up in a new file that can be read."""

    fresh: set[int] | None
    moving: frozenset[int] = frozenset()
    dropped: list[_Dropped] = field(default_factory=list)
    lost: dict[bytes | str, tuple[tuple[int, str], _Dropped]] = field(default_factory=dict)
    partition: str = ""
    seen: dict[bytes | str, tuple[Any, ...]] = field(default_factory=dict)
    """In a rebuild (no index on url_key yet): the docs of the partition being read, by
    key. An article's rows share a partition unless its publish date changed (see
    _one_doc_per_key)."""
    counting: bool = False
    """The rows added to FTS5 and taken out of it also go to two small temporary FTS5
    tables, to bring the counts of words up to date (see _track_counts)."""


def _publish_order(relative: str) -> tuple[str, str, str]:
    """Files by partition month, then site: rowids then follow publish dates, which makes
    the newest matches the ones ranked first (see _best)."""
    site, year, month, *_ = [part.partition("=")[2] for part in relative.split("/")[:-1]] + [""] * 3
    year = "0000" if year == "unknown" else year  # undated articles first: never "newest"
    return year, month, site


@lru_cache(maxsize=65536)
def _token(kind: str, value: str) -> str:
    """One FTS5 token standing for a site, spider or month (letters and digits only)."""
    return kind + hashlib.sha1(value.encode("utf-8")).hexdigest()[:16]


def _month(micros: int) -> str:
    return _day(micros)[:7]


def facets(site: str | None, spider: str | None, published: int | None) -> str:
    """What filters match on, as tokens of their own column: site, spider, publish month.
    Filtering inside FTS5 intersects posting lists instead of checking every match. The
    month tokens are no longer searched (a date window is a rowid range, see _rowid_range)
    but are kept: taking a row out of a contentless table needs every token it was given."""
    tokens = [_token("s", site or ""), _token("p", spider or "")]
    if published is not None:
        tokens.append(_token("m", _month(published)))
    return " ".join(tokens)


def _doc_id(connection: sqlite3.Connection, published: int | None) -> int:
    """An article's id (and FTS5 rowid): its publish time in microseconds, so that the
    newest matches come first in any index, rebuilt or kept up to date (see _best);
    undated articles below every date. The next free id on a tie."""
    if published is None or published < UNDATED_IDS:
        newest = connection.execute(
            "SELECT max(id) FROM docs WHERE id < ?", (UNDATED_IDS,)
        ).fetchone()[0]
        return 1 if newest is None else newest + 1
    candidate = published
    while connection.execute("SELECT 1 FROM docs WHERE id = ?", (candidate,)).fetchone():
        candidate += 1
    return candidate


def _add_keys(
    connection: sqlite3.Connection, root: Path, relative: str, file_id: int, batch: _Batch
) -> int:
    """First pass over a new file: which of its rows are the newest of their url_key.
    A row the index holds already from a file in ``batch.moving`` (gone: compacted into
    this one) only has its place changed. Returns the number of rows read."""
    site = _site(relative)
    rows = _file_rows(root, relative, _KEY_COLUMNS)
    rebuilding = batch.fresh is None
    if rebuilding and batch.partition != relative.rpartition("/")[0]:
        batch.partition, batch.seen = relative.rpartition("/")[0], {}
    for row, (raw_key, spider, run, published, fetched) in rows:
        if raw_key is None or fetched is None:
            continue
        key, run = _key(raw_key), run or ""
        if batch.lost:
            found = batch.lost.get(key)
            if found is not None and found[0] == (fetched, run):
                found[1].file, found[1].row = file_id, row
                del batch.lost[key]
        held = (
            batch.seen.get(key)
            if rebuilding
            else connection.execute(
                "SELECT id, fetched_at, crawl_run, file, row, site, spider, published FROM docs"
                " WHERE url_key = ?",
                (key,),
            ).fetchone()
        )
        if held is not None:
            doc_id, identity, held_file = held[0], (held[1], held[2]), held[3]
            if identity == (fetched, run) and held_file in batch.moving:
                connection.execute(
                    "UPDATE docs SET file = ?, row = ? WHERE id = ?", (file_id, row, doc_id)
                )
                continue
            if identity >= (fetched, run):
                continue
            connection.execute("DELETE FROM docs WHERE id = ?", (doc_id,))
            if batch.fresh is not None and doc_id in batch.fresh:
                batch.fresh.discard(doc_id)  # never reached FTS5: nothing to take out
            elif batch.fresh is not None:
                dropped = _Dropped(doc_id, key, held_file, held[4], held[5], held[6], held[7])
                batch.dropped.append(dropped)
                if held_file in batch.moving:
                    batch.lost[key] = (identity, dropped)
        doc_id = _doc_id(connection, published)
        connection.execute(
            "INSERT INTO docs(id, url_key, file, row, fetched_at, crawl_run, site, spider,"
            " published) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (doc_id, key, file_id, row, fetched, run, site, spider, published),
        )
        if batch.fresh is not None:
            batch.fresh.add(doc_id)
        else:
            batch.seen[key] = (doc_id, fetched, run, file_id, row, site, spider, published)
    return len(rows)


def _one_doc_per_key(connection: sqlite3.Connection) -> None:
    """The end of a rebuild's first pass: make the indexes, then keep only the newest doc
    of an article whose rows were in two partitions (its publish date changed)."""
    for statement in _INDEXES:  # one by one: executescript() would commit the build
        connection.execute(statement)
    twice = connection.execute(
        "SELECT url_key FROM docs GROUP BY url_key HAVING count(*) > 1"
    ).fetchall()
    for (key,) in twice:
        docs = connection.execute(
            "SELECT id FROM docs WHERE url_key = ? ORDER BY fetched_at DESC, crawl_run DESC",
            (key,),
        ).fetchall()
        connection.executemany("DELETE FROM docs WHERE id = ?", docs[1:])


def _index_rows(
    root: Path, relative: str, wanted: Collection[int] | None
) -> Iterator[list[tuple[int, bytes | str | None, bytes, bytes]]]:
    """The rows of one file (or the ``wanted`` ones) as FTS5 indexes them, a batch at a
    time: (row number, key, title, lead and body), folded by :func:`index_column`. The
    same when a row is added and when it is taken out."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(root / ARTICLES_DIR / relative)
    names = set(handle.schema_arrow.names)
    present = [c for c in ("url_key", "title", "summary", "body") if c in names]

    def batches() -> Iterator[tuple[Any, Sequence[int]]]:
        if wanted is None:
            offset = 0
            for batch in handle.iter_batches(batch_size=TEXT_BATCH, columns=present):
                yield batch, range(offset, offset + batch.num_rows)
                offset += batch.num_rows
            return
        first = 0
        for group in range(handle.metadata.num_row_groups):
            size = handle.metadata.row_group(group).num_rows
            rows = sorted(r for r in wanted if first <= r < first + size)
            if rows:
                table = handle.read_row_group(group, columns=present)
                yield table.take([r - first for r in rows]), rows
            first += size

    def column(table: Any, name: str) -> Any:
        return table.column(name) if name in names else pa.nulls(table.num_rows, pa.string())

    for table, numbers in batches():
        text = pc.binary_join_element_wise(
            column(table, "summary"), column(table, "body"), "\n\n", null_handling="skip"
        )
        keys = [None if k is None else _key(k) for k in column(table, "url_key").to_pylist()]
        titles, texts = index_column(column(table, "title")), index_column(text)
        yield list(zip(numbers, keys, titles, texts, strict=True))


def _drop_superseded(connection: sqlite3.Connection, root: Path, batch: _Batch) -> None:
    """Take the superseded rows out of FTS5, each with the text it was indexed with, read
    again from its file (unchanged since: the index knows its size and time)."""
    by_file: dict[int, list[_Dropped]] = {}
    for dropped in batch.dropped:
        by_file.setdefault(dropped.file, []).append(dropped)
    for file_id, drops in sorted(by_file.items()):
        if file_id in batch.moving:
            raise _Rebuild  # its file is gone, and the row came back in no new file
        found = connection.execute("SELECT path FROM files WHERE id = ?", (file_id,)).fetchone()
        if found is None:
            raise _Rebuild
        try:
            rows = {
                row: values
                for chunk in _index_rows(root, found[0], {d.row for d in drops})
                for row, *values in chunk
            }
        except Exception:  # gone or damaged since it was indexed
            raise _Rebuild from None
        for d in drops:
            values = rows.get(d.row)
            if values is None or values[0] != d.key:
                raise _Rebuild
            taken = (d.doc_id, values[1], values[2], facets(d.site, d.spider, d.published))
            connection.execute(
                "INSERT INTO fts(fts, rowid, title, text, facets) VALUES('delete', ?, ?, ?, ?)",
                taken,
            )
            if batch.counting:
                connection.execute(
                    "INSERT INTO temp.removed(rowid, title, text, facets) VALUES (?, ?, ?, ?)",
                    taken,
                )


_Plan = list[tuple[str, int, set[int] | None]]


@contextmanager
def _read_ahead(
    root: Path, plan: _Plan
) -> Iterator[Iterator[tuple[int, list[tuple[Any, ...]] | Exception | None]]]:
    """:func:`_index_rows` of each planned file, read by a thread a few batches ahead:
    Arrow reads and folds the next rows while SQLite indexes these (both leave Python's
    lock for most of their work, so the two cores share the build). Yields (file's place
    in the plan, a batch of rows, the error that stopped the file, or None at its end)."""
    items: queue.Queue[tuple[int, list[tuple[Any, ...]] | Exception | None] | None]
    items = queue.Queue(maxsize=2)
    stop = threading.Event()

    def put(item: tuple[int, list[tuple[Any, ...]] | Exception | None] | None) -> None:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def produce() -> None:
        try:
            for i, (relative, _, wanted) in enumerate(plan):
                try:
                    for chunk in _index_rows(root, relative, wanted):
                        if stop.is_set():
                            return
                        put((i, chunk))
                except Exception as error:
                    put((i, error))
                put((i, None))
        except BaseException as error:  # out of memory …: the build stops, never half done
            put((-1, Exception(f"reading the archive failed: {error!r}")))
        finally:
            put(None)

    def consume() -> Iterator[tuple[int, list[tuple[Any, ...]] | Exception | None]]:
        while (item := items.get()) is not None:
            yield item

    thread = threading.Thread(target=produce, name="search-read-ahead", daemon=True)
    thread.start()
    try:
        yield consume()
    finally:
        stop.set()
        thread.join()


def _add_texts(
    connection: sqlite3.Connection,
    root: Path,
    added: list[tuple[str, int]],
    batch: _Batch,
    progress: bool,
) -> None:
    """Second pass over the new files: the text of their rows that are the newest of
    their article, into FTS5 (each file in a savepoint: a damaged one is left out whole)."""
    plan: _Plan = []
    for relative, file_id in added:
        if batch.fresh is None:
            plan.append((relative, file_id, None))
            continue
        fresh = batch.fresh
        rows = {
            row
            for row, doc_id in connection.execute(
                "SELECT row, id FROM docs WHERE file = ?", (file_id,)
            )
            if doc_id in fresh
        }
        if rows:
            plan.append((relative, file_id, rows))
    docs: dict[int, tuple[Any, ...]] = {}
    done = 0
    with _read_ahead(root, plan) as items:
        for i, item in items:
            if i < 0:
                raise SearchError(str(item))
            relative, file_id, wanted = plan[i]
            if not docs:
                connection.execute("SAVEPOINT file")
                docs = {
                    row: rest
                    for row, *rest in connection.execute(
                        "SELECT row, id, url_key, site, spider, published FROM docs WHERE file = ?",
                        (file_id,),
                    )
                    if wanted is None or row in wanted
                }
                docs[-1] = ()  # marks the file as started, even when it has no rows
            if isinstance(item, list):
                inserts = []
                for row, key, title, text in item:
                    doc = docs.pop(row, None)
                    if doc is None:
                        continue
                    doc_id, held_key, site, spider, published = doc
                    if key != held_key:
                        raise _Changed  # not the file the first pass read
                    inserts.append((doc_id, title, text, facets(site, spider, published)))
                connection.executemany(
                    "INSERT INTO fts(rowid, title, text, facets) VALUES (?, ?, ?, ?)", inserts
                )
                if batch.counting:
                    connection.executemany(
                        "INSERT INTO temp.added(rowid, title, text, facets) VALUES (?, ?, ?, ?)",
                        inserts,
                    )
                continue
            if isinstance(item, FileNotFoundError):
                raise _Changed
            if isinstance(item, Exception):  # damaged text: left out until the file is fixed
                print(f"search: skipped {relative}: {item}", file=sys.stderr)
                connection.execute("ROLLBACK TO file")
                connection.execute("DELETE FROM docs WHERE file = ?", (file_id,))
                connection.execute("DELETE FROM files WHERE id = ?", (file_id,))
                docs = {-1: ()}
                continue
            if len(docs) > 1:
                raise _Changed  # rows the first pass read are not there any more
            connection.execute("RELEASE file")
            docs = {}
            done += 1
            if progress and (done % 500 == 0 or done == len(plan)):
                print(f"search: indexed the text of {done:,}/{len(plan):,} files", file=sys.stderr)
    if done != len(plan):
        raise SearchError(f"the search index read {done:,} of {len(plan):,} files: try again")


def _index_files(
    connection: sqlite3.Connection,
    root: Path,
    files: list[str],
    disk: dict[str, tuple[int, int]],
    result: SyncResult,
    progress: bool,
    batch: _Batch,
) -> None:
    """Read new files into the index: first their keys (which row of each article is the
    newest, 5 small columns), then the text of the rows that are, once each."""
    started = time.perf_counter()
    added: list[tuple[str, int]] = []
    for i, relative in enumerate(files, 1):
        size, mtime = disk[relative]
        file_id = connection.execute(
            "INSERT INTO files(path, size, mtime_ns, rows) VALUES (?, ?, ?, 0)",
            (relative, size, mtime),
        ).lastrowid
        assert file_id is not None
        try:
            rows = _add_keys(connection, root, relative, file_id, batch)
        except Exception as error:  # nothing done: a file gone meanwhile is seen next time
            connection.execute("DELETE FROM files WHERE id = ?", (file_id,))
            if not isinstance(error, FileNotFoundError):  # damaged: found once fixed
                print(f"search: skipped {relative}: {error}", file=sys.stderr)
            continue
        connection.execute("UPDATE files SET rows = ? WHERE id = ?", (rows, file_id))
        added.append((relative, file_id))
        result.files_added += 1
        result.rows_read += rows
        if progress and (i % 500 == 0 or i == len(files)):
            rate = result.rows_read / max(time.perf_counter() - started, 1e-9)
            print(
                f"search: read the keys of {i:,}/{len(files):,} files, {result.rows_read:,} "
                f"rows ({rate:,.0f} rows/s)",
                file=sys.stderr,
            )
    if batch.fresh is None:
        _one_doc_per_key(connection)
    _drop_superseded(connection, root, batch)
    _add_texts(connection, root, added, batch, progress)


def rebuild(root: Path | str, progress: bool = False) -> SyncResult:
    """Build the index from the archive alone, in a temporary file swapped in whole
    (again, up to three times, if a compaction swaps files away meanwhile)."""
    root = Path(root)
    for _ in range(2):
        try:
            return _rebuild(root, progress)
        except _Changed:
            continue
    try:
        return _rebuild(root, progress)
    except _Changed:
        raise SearchError(
            "the archive kept changing while the search index was built: run it again"
        ) from None


def _remove_abandoned(target: Path) -> None:
    """Delete the temporary indexes of builds that were killed (their process is gone):
    each is as large as the index."""
    for path in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        pid = path.name[len(target.name) + 2 : -len(".tmp")]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
        except OSError:  # alive, someone else's
            continue


def _count_words(connection: sqlite3.Connection, progress: bool) -> None:
    """Count the articles holding each word of the index, all at once (one walk of the
    whole index: 8 s at a million articles, 90 s of CPU at ten million): no search then
    counts any, and a sync keeps the counts up to date (:func:`_update_counts`)."""
    started = time.perf_counter()
    connection.execute(_WORD_DOCS)  # an index built before it has none
    connection.execute("DELETE FROM word_docs")
    connection.execute("CREATE VIRTUAL TABLE temp.words USING fts5vocab('main', 'fts', 'row')")
    connection.execute("INSERT INTO word_docs(term, docs) SELECT term, doc FROM temp.words")
    connection.execute("DROP TABLE temp.words")
    connection.execute("INSERT OR REPLACE INTO meta VALUES ('word_docs', ?)", (_state(connection),))
    if progress:
        took = time.perf_counter() - started
        print(f"search: counted the articles holding each word in {took:.1f} s", file=sys.stderr)


def _rebuild(root: Path, progress: bool) -> SyncResult:
    started = time.perf_counter()
    target = search_index_path(root)
    try:
        target.parent.mkdir(exist_ok=True)
    except OSError as error:
        raise SearchError(f"cannot create {target.parent}: {error.strerror or error}") from None
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    _remove_abandoned(target)
    result = SyncResult(rebuilt=True)
    connection = _connect(temporary)
    try:
        connection.execute("PRAGMA journal_mode = OFF")
        connection.execute("PRAGMA synchronous = OFF")
        connection.execute("PRAGMA cache_size = -65536")
        connection.executescript(f"{_SCHEMA};{_WORD_DOCS}")
        # fewer, larger merges while building (the end merges all into one segment anyway)
        connection.execute("INSERT INTO fts(fts, rank) VALUES('automerge', 8)")
        connection.execute("BEGIN")
        disk, dirs = _scan(root, {}, {})
        _record_dirs(connection, dirs)
        files = sorted(disk, key=_publish_order)
        _index_files(connection, root, files, disk, result, progress, _Batch(fresh=None))
        merging = time.perf_counter()
        connection.execute("INSERT INTO fts(fts) VALUES('optimize')")
        if progress:
            took = time.perf_counter() - merging
            print(f"search: merged the index into one segment in {took:.1f} s", file=sys.stderr)
        connection.execute("INSERT INTO fts(fts, rank) VALUES('automerge', 4)")
        _count_words(connection, progress)
        connection.execute("INSERT INTO meta VALUES ('version', ?)", (INDEX_VERSION,))
        connection.execute("COMMIT")
        connection.close()
        os.replace(temporary, target)
    except sqlite3.Error as error:
        connection.close()
        raise SearchError(f"cannot write the search index {target}: {error}") from None
    except BaseException:
        connection.close()
        raise
    finally:
        temporary.unlink(missing_ok=True)
    result.seconds = time.perf_counter() - started
    return result


def stored_zones(root: Path | str) -> tuple[dict[str, tzinfo], tzinfo] | None:
    """The sites' time zones kept in the index by :func:`store_zones` (None: none kept).

    Knowing them otherwise means loading every spider (half a second of Scrapy), more
    than a search itself takes.
    """
    target = search_index_path(root)
    try:
        connection = _connect(target)
    except SearchError:
        return None
    try:
        row = connection.execute("SELECT value FROM meta WHERE key = 'zones'").fetchone()
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    if row is None:
        return None
    data = json.loads(row[0])
    zones: dict[str, tzinfo] = {
        site: timezone(timedelta(seconds=s)) for site, s in data["sites"].items()
    }
    return zones, timezone(timedelta(seconds=data["default"]))


def store_zones(root: Path | str, zones: Mapping[str, tzinfo], default: tzinfo) -> None:
    """Keep the sites' zones in the index, if each is a fixed offset (a zone with summer
    time has no one offset: then nothing is kept, and they are loaded each time)."""
    offsets = {site: zone.utcoffset(None) for site, zone in zones.items()}
    fallback = default.utcoffset(None)
    if fallback is None or any(offset is None for offset in offsets.values()):
        return
    value = json.dumps(
        {
            "sites": {site: o.total_seconds() for site, o in offsets.items() if o is not None},
            "default": fallback.total_seconds(),
        }
    )
    connection = _connect(search_index_path(root))
    try:
        connection.execute("INSERT OR REPLACE INTO meta VALUES ('zones', ?)", (value,))
        connection.commit()
    except sqlite3.Error as error:
        raise SearchError(f"cannot write the search index: {error}") from None
    finally:
        connection.close()


def sync(root: Path | str, progress: bool = False) -> SyncResult:
    """Bring the index up to date with the files on disk (built whole if missing)."""
    root = Path(root)
    for _ in range(3):
        try:
            return _sync(root, progress)
        except _Changed:  # a compaction swapped files while they were read: look again
            continue
        except _Rebuild:
            break
    return rebuild(root, progress)


def _sync(root: Path, progress: bool) -> SyncResult:
    target = search_index_path(root)
    if not target.is_file():
        return rebuild(root, progress)
    started = time.perf_counter()
    connection = _connect(target)
    try:
        if not _valid(connection):
            connection.close()
            return rebuild(root, progress)
        _count_words_once(connection, progress)
        known = _known_dirs(connection)
        if _unchanged(root, known):
            return SyncResult()
        indexed = _indexed_files(connection)  # read once: 0.1 s at 62,100 files
        disk, dirs = _scan(root, known, indexed)
        gone, new = _changes(indexed, disk)
        if not gone and not new:
            if dirs != known:
                connection.execute("BEGIN IMMEDIATE")
                _record_dirs(connection, dirs)
                connection.execute("COMMIT")
            return SyncResult()
        connection.execute("BEGIN IMMEDIATE")  # one writer; the others wait, then see its work
        try:
            indexed = _indexed_files(connection)
            disk, dirs = _scan(root, _known_dirs(connection), indexed)
            gone, new = _changes(indexed, disk)
            result = SyncResult(files_removed=len(gone))
            ids: dict[str, int] = dict(connection.execute("SELECT path, id FROM files").fetchall())
            moving = frozenset(ids[path] for path in gone)
            counting = _track_counts(connection)
            connection.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in gone])
            batch = _Batch(fresh=set(), moving=moving, counting=counting)
            _index_files(connection, root, new, disk, result, progress, batch)
            for file_id in moving:
                if connection.execute(
                    "SELECT 1 FROM docs WHERE file = ? LIMIT 1", (file_id,)
                ).fetchone():
                    # An article whose newest row was there came back from no new file: an
                    # older row may be its newest now, which only the whole archive can tell.
                    raise _Rebuild
            if counting:  # else counted by the next search (_count_words_once)
                _update_counts(connection)
            _record_dirs(connection, dirs)
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        result.seconds = time.perf_counter() - started
        return result
    except sqlite3.Error as error:
        raise SearchError(
            f"cannot update the search index {target}: {error} "
            "(delete it, or run `crawler search --rebuild`)"
        ) from None
    finally:
        connection.close()


def _micros(moment: datetime) -> int:
    """``moment`` in microseconds since the epoch (as the index keeps dates)."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def _day(micros: int) -> str:
    return (EPOCH + timedelta(microseconds=micros)).date().isoformat()


def _words(terms: list[Term]) -> str:
    """The MATCH expression of the user's terms, limited to the text columns.

    The column filter is left out when no term has a token as long as a facet token
    (every facet token is one of exactly that length; the only prefix query, a lone CJK
    character, starts none): the terms cannot match in the facets then, and the answer
    is the same, with the same scores (the facets weigh 0 in bm25), and FTS5 need not
    check the columns of each match it walks.
    """
    expression = fts_query(terms)
    facet_length = len(_token("s", ""))
    if all(len(token) < facet_length for term in terms for token in term.tokens()):
        return "(" + expression + ")"
    return "{title text} : (" + expression + ")"


def _rowid_range(since: date | None, until: date | None) -> tuple[int, int]:
    """Rowids that may hold articles published from ``since`` to ``until`` in some site's
    local days. An id is its article's publish time in microseconds, or a little after
    it on a tie (:func:`_doc_id`), and a zone is less than a day from UTC: the range runs
    from the UTC midnight a day before ``since`` to the one three days after ``until``
    (a day to spare for ties). FTS5 seeks a rowid range, where month tokens had to be
    merged and intersected; the exact per-site check is made on what is in it. Articles
    published before 1970-01-13 (UNDATED_IDS) have small ids of their own: a bound that
    reaches them is dropped."""
    low = _midnight(since, -1, -(2**63))
    high = _midnight(until, 3, 2**63 - 1)
    return -(2**63) if low < UNDATED_IDS else low, max(high, UNDATED_IDS)


def _midnight(day: date | None, days: int, otherwise: int) -> int:
    """UTC midnight ``days`` after ``day`` in microseconds; ``otherwise`` without a day or
    beyond the calendar."""
    if day is None:
        return otherwise
    try:
        return _micros(datetime.combine(day + timedelta(days=days), datetime.min.time(), UTC))
    except OverflowError:
        return otherwise


def _connect_ranking(path: Path) -> apsw.Connection:
    """A connection that can rank with :func:`_ranking`: Python's sqlite3 cannot register
    an FTS5 auxiliary function, apsw can. The file is the same (rollback journal, the
    same locks); no sqlite3 connection to it is open in this process meanwhile (two
    SQLite libraries in one process would each drop the other's locks on closing)."""
    import apsw

    try:
        connection = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READWRITE)
        connection.set_busy_timeout(60_000)
    except apsw.Error as error:
        raise SearchError(f"cannot open the search index {path}: {error}") from None
    return connection


def _one(
    connection: sqlite3.Connection | apsw.Connection, sql: str, params: Sequence[Any] = ()
) -> tuple[Any, ...]:
    """The one row ``sql`` gives (an aggregate, or a row the transaction knows is there)."""
    row = connection.execute(sql, params).fetchone()
    assert row is not None
    return tuple(row)


def _state(connection: sqlite3.Connection | apsw.Connection) -> str:
    """The state of the index the cached counts are valid for. FTS5 changes only in a
    sync that adds files (their AUTOINCREMENT sequence grows) or removes some (there are
    fewer), in the same transaction; a rebuild makes a new index, and its counts."""
    seq, count = _one(
        connection,
        "SELECT (SELECT seq FROM sqlite_sequence WHERE name = 'files'),"
        " (SELECT count(*) FROM files)",
    )
    return f"{seq}:{count}"


def _words_counted(connection: sqlite3.Connection | apsw.Connection) -> bool:
    """Does ``word_docs`` hold the counts of the index as it is (not an index built before
    it, or changed by a program that does not keep it)?"""
    kept = connection.execute("SELECT value FROM meta WHERE key = 'word_docs'").fetchone()
    return kept is not None and kept[0] == _state(connection)


def _term_docs(connection: apsw.Connection, terms: list[Term]) -> list[list[int]]:
    """For each term, how many articles hold each of its words (as the tokenizer folds
    them; a CJK phrase's bigrams): what its IDF is made of (see _ranking). A lone CJK
    character (a prefix query) counts as the most common word it starts.

    Read from ``word_docs``; if it is not valid (an index that cannot be written, see
    :func:`_count_words_once`), from FTS5's own vocabulary, which walks each word's
    posting list: the same numbers, slower. A phrase is never counted as a phrase."""
    import apsw

    if _words_counted(connection):
        table, docs = "word_docs", "docs"
    else:
        connection.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.fts_words USING fts5vocab(main, fts, row)"
        )
        table, docs = "temp.fts_words", "doc"
    fold = connection.fts5_tokenizer(TOKENIZER.split()[0], TOKENIZER.split()[1:])
    out = []
    for term in terms:
        words = [
            str(word)
            for word in fold(
                " ".join(term.tokens()).encode("utf-8"),
                apsw.FTS5_TOKENIZE_QUERY,
                None,
                include_offsets=False,
                include_colocated=False,
            )
        ]
        if term.fts().endswith("*"):  # a lone CJK character: every token it starts
            low = words[0]
            sql = f"SELECT max({docs}) FROM {table} WHERE term >= ? AND term < ?"
            params: list[list[str]] = [[low, low + "\U0010ffff"]]
        else:
            sql = f"SELECT {docs} FROM {table} WHERE term = ?"
            params = [[word] for word in words]
        out.append([int(_one(connection, f"SELECT ({sql})", p)[0] or 0) for p in params])
    return out


def _count_words_once(connection: sqlite3.Connection, progress: bool) -> None:
    """Count the articles holding each word of an index built before ``word_docs`` was
    kept (or changed by a program that does not keep it), once: 8 s at a million
    articles, minutes at ten million, where a rebuild takes an hour. An index that
    cannot be written is ranked from FTS5's own counts instead (see _term_docs)."""
    if _words_counted(connection):
        return
    try:
        connection.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:  # read-only
        return
    try:
        if not _words_counted(connection):  # another search may have counted them meanwhile
            _count_words(connection, progress)
        connection.execute("COMMIT")
    except sqlite3.OperationalError:
        connection.execute("ROLLBACK")


def _track_counts(connection: sqlite3.Connection) -> bool:
    """At the start of a sync that changes the index: if ``word_docs`` is valid for it,
    two temporary FTS5 tables to receive the rows the sync adds (``added``) and takes out
    (``removed``), the same values as FTS5 is given, and True."""
    if not _words_counted(connection):
        return False
    for name in ("added", "removed"):
        connection.execute(
            f"CREATE VIRTUAL TABLE temp.{name} USING fts5(title, text, facets, content='', "
            f"tokenize='{TOKENIZER}')"
        )
    return True


def _update_counts(connection: sqlite3.Connection) -> None:
    """At the end of the sync, in its transaction: each word's count plus the articles
    added that hold it, minus those taken out, for the new state of the index. Exact (the
    same tokenizer on the same values, FTS5's own count of each word of them), and far
    cheaper than counting again over the whole index."""
    for name in ("added", "removed"):
        connection.execute(
            f"CREATE VIRTUAL TABLE temp.{name}_words USING fts5vocab('temp', '{name}', 'row')"
        )
    connection.execute(
        "INSERT INTO word_docs(term, docs) SELECT term, doc FROM temp.added_words WHERE true"
        " ON CONFLICT(term) DO UPDATE SET docs = docs + excluded.docs"
    )
    connection.execute(
        "UPDATE word_docs SET docs = docs - gone.doc FROM temp.removed_words AS gone"
        " WHERE word_docs.term = gone.term"
    )
    connection.execute(
        "DELETE FROM word_docs WHERE docs = 0 AND term IN (SELECT term FROM temp.removed_words)"
    )
    connection.execute("UPDATE meta SET value = ? WHERE key = 'word_docs'", (_state(connection),))
    for name in ("added", "removed"):
        connection.execute(f"DROP TABLE temp.{name}_words")
        connection.execute(f"DROP TABLE temp.{name}")


def _ranking(counts: Sequence[Sequence[int]]) -> Callable[..., float]:
    """bm25 as FTS5 computes it (weights: TITLE_WEIGHT, 1, 0 for the facets), as an
    auxiliary function, but for each term's IDF: the sum of its words' IDFs (``counts``:
    how many articles hold each word of each term, see _term_docs), each bm25's own,
    floored at 1e-6 as FTS5 floors it. A term of one word has bm25's IDF, and its
    scores are bm25's to the last bit (the same operations in the same order); a phrase
    weighs as its words do together, as in Lucene's phrase queries, instead of by the
    articles holding the whole phrase, which only a walk of its words' positions in
    every article holding them all would count. The phrases after the user's terms are
    --site's facet tokens: weighing 0, they add nothing."""
    k1, b, k1_1, weight = BM25_K1, BM25_B, BM25_K1 + 1.0, TITLE_WEIGHT
    idfs: list[tuple[int, float]] = []  # (phrase, its IDF)
    average = [0.0]

    def rank(api: apsw.FTS5ExtensionApi, *args: Any) -> float:
        # 30,000 rows times each term: every lookup spared counts (same doubles, though)
        if not idfs:
            rows = api.row_count
            average[0] = api.column_total_size(-1) / rows
            for words in counts:
                idf = 0.0
                for docs in words:
                    one = math.log((rows - docs + 0.5) / (docs + 0.5))
                    idf += one if one > 0.0 else 1e-6
                idfs.append((len(idfs), idf))
        norm = k1 * (1 - b + b * api.column_size(-1) / average[0])
        locations = api.phrase_locations
        score = 0.0
        for i, idf in idfs:
            title, text, _facets = locations(i)
            freq = weight * len(title) + len(text)
            score += idf * ((freq * k1_1) / (freq + norm))
        return -1.0 * score

    return rank


def _best(
    connection: apsw.Connection, terms: list[Term], where: str, params: list[Any], limit: int
) -> list[tuple[Any, ...]]:
    """The ``limit`` best matches, ranked by bm25 among the ``RANKED_AT_MOST`` most
    recently published.

    Finding the newest matches is fast (FTS5 walks its posting lists, highest rowid
    first, and stops at the window's end); scoring each one costs a few microseconds, so
    a query that matches most of a million articles would take seconds. The ranking is
    therefore done over the newest matches only: rowids are publish times
    (:func:`_doc_id`), so the window is the same in an index rebuilt or kept up to date.

    bm25 also weighs each term by how many articles hold it (its IDF), which FTS5's
    built-in bm25 counts over the whole index on every query, whatever the window, and
    cannot be given: the ranking is :func:`_ranking`, bm25 computed in Python (about 1 µs
    per term a row) from the counts of words kept in the index (:func:`_term_docs`), so
    that a query costs the same at any size, the first search of its terms included. All
    is read in one transaction: the counts are those of the index that is ranked. The
    newest matches are ranked as they are found, in one statement: one walk of the
    posting lists. Ties go by rowid, oldest first, as in FTS5's own ``ORDER BY bm25()``
    (its sort keeps the rows' order, and a MATCH walks rowids upwards).
    """
    source = "fts JOIN docs d ON d.id = fts.rowid" if "d." in where else "fts"
    connection.execute("BEGIN")
    try:
        connection.register_fts5_function("ranking", _ranking(_term_docs(connection, terms)))
        ranked = connection.execute(
            f"SELECT r, score FROM (SELECT fts.rowid AS r, ranking(fts) AS score FROM {source}"
            f" WHERE {where} ORDER BY r DESC LIMIT {RANKED_AT_MOST}) ORDER BY score, r LIMIT ?",
            [*params, limit],
        ).fetchall()
        rows = []
        for doc_id, score in ranked:
            row = _one(
                connection,
                "SELECT d.url_key, f.path, d.row, d.site, d.spider, d.published FROM docs d"
                " JOIN files f ON f.id = d.file WHERE d.id = ?",
                [doc_id],
            )
            rows.append((*row, score))
    finally:
        connection.execute("COMMIT")
    return rows


def _hits(root: Path, rows: list[tuple[Any, ...]], terms: list[Term]) -> list[Hit]:
    """The hits as shown, each read from its row in its Parquet file: only the row groups
    holding them are read. A file gone since the index answered means start again."""
    wanted: dict[str, set[int]] = {}
    for _, path, row, *_ in rows:
        wanted.setdefault(path, set()).add(row)
    read: dict[tuple[str, int], tuple[Any, ...]] = {}
    for path, numbers in wanted.items():
        try:
            for row, values in _file_rows(root, path, _TEXT_COLUMNS, numbers):
                read[path, row] = values
        except FileNotFoundError:
            raise _Changed from None
        except Exception as error:
            raise SearchError(f"cannot read {path} for its hits: {error}") from None
    hits = []
    for key, path, row, site, spider, published, score in rows:
        found = read.get((path, row))
        if found is None or found[0] is None or _key(found[0]) != key:
            raise _Changed
        url_key, url, title, summary, body = found
        day = None if published is None else _day(published)
        shown = snippet(_text(summary, body), terms) or snippet(title or "", terms)
        hits.append(
            Hit(url_key, url or "", title or "", site or "", spider or "", day, shown, score)
        )
    return hits


def _search(
    root: Path | str,
    terms: list[Term],
    limit: int = 10,
    sites: Sequence[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    zones: Mapping[str, tzinfo] | None = None,
    default_zone: tzinfo = UTC,
) -> list[Hit]:
    root = Path(root)
    target = search_index_path(root)
    # the user's words: only quoted strings of letters and digits, never in the facets
    match = _words(terms)
    where: list[str] = ["fts MATCH ?"]
    params: list[Any] = []
    if sites:
        wanted = [_token("s", site) for site in sites] + [_token("p", site) for site in sites]
        match += " AND facets : (" + " OR ".join(f'"{t}"' for t in wanted) + ")"
    import apsw

    connection = _connect_ranking(target)
    try:
        if since or until:
            low, high = _rowid_range(since, until)
            where.append("fts.rowid BETWEEN ? AND ?")
            params += [low, high]
            window, values = date_window(
                since, until, zones or {}, default_zone, "d.published", "d.site",
                lambda moment: ("?", _micros(moment)),
            )  # fmt: skip
            where.append(window)
            params += values
        rows = _best(connection, terms, " AND ".join(where), [match, *params], limit)
    except apsw.Error as error:
        raise SearchError(f"cannot search {target}: {error}") from None
    finally:
        connection.close()
    return _hits(root, rows, terms)


def search(
    root: Path | str,
    terms: list[Term],
    limit: int = 10,
    sites: Sequence[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    zones: Mapping[str, tzinfo] | None = None,
    default_zone: tzinfo = UTC,
) -> list[Hit]:
    """The best ``limit`` hits for every term (bm25, title hits weigh more); ``sites`` are
    domains or spider names; ``since``/``until`` are publish dates, each site's local days
    (``zones``; ``default_zone`` for the sites not in it), as in export."""
    for _ in range(3):
        try:
            return _search(root, terms, limit, sites, since, until, zones, default_zone)
        except _Changed:  # a hit's file was swapped away (compacted, quarantined): catch up
            sync(root)
    raise SearchError("the archive kept changing while searching: search again")
