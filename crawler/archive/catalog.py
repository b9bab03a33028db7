"""The row index: a few small columns of every row, kept beside the archive, sorted by key.

``<root>/_index/rows.parquet`` holds, for every row of every file, its
``url_key``, where it is (``file`` under ``articles/``, ``row`` in it), the
columns that say which row of an article is the newest, and the numbers
``inspect`` and ``report`` show (image and caption counts, body length,
authors, tags). Sorted by ``url_key`` in small row groups, a look-up by key or
by key prefix reads one row group (Parquet's min/max statistics), whatever the
size of the archive; a summary reads these columns instead of the bodies.

It is derived, never the source of truth. Its footer lists the files it was
built from, with their size and modification time: a file written since
(a crawl), changed or gone (compaction) is seen at once. A reader uses the index
for the files it covers and reads the others directly (:func:`rows_view`);
when they are many, the index is brought up to date first (only those files are
read), written under a temporary name and renamed, so that a reader sees the
old index or the new one, whole. Deleting ``_index/`` loses nothing: the next
command, or ``crawler index``, builds it again from the Parquet files. An
archive that cannot be written is still read, without saving the index.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from crawler.archive.layout import ARTICLES_DIR, INDEX_DIR, index_path
from crawler.archive.summary import REPORT_KEY, SUMMARY_KEY, compute, report_numbers
from crawler.archive.views import (
    ArchiveReadError,
    absolute,
    archive_file_names,
    check_files,
    one_line,
    schema_versions,
    sql_list,
    sql_string,
    vanished_file,
)

if TYPE_CHECKING:
    import duckdb

    from crawler.archive.indexbuild import Runs

FORMAT = 2
"""The index's own format; an index of another format is rebuilt (2: ``key64``)."""

FORMAT_KEY = "crawler.index_format"
FILES_KEY = "crawler.index_files"
ROW_GROUP_ROWS = 16384
"""Rows in each row group of the index: a look-up reads one; fewer, larger groups keep its
footer (read by every command) small at ten million rows (610 groups, not 2,442)."""
REFRESH_FILES = 16
"""Bring the index up to date when more files than this (or 2% of all) are not in it."""
BUILD_MEMORY = "300MB"
SUMMARY_MEMORY = BUILD_MEMORY
"""DuckDB's memory while an index build counts the summary from its sorted runs: the
Arrow buffers of the build are held beside it (the rest spills to ``_index/.spill``)."""
BUILD_CHUNK = 256  # files read by one query while the index is built
NOTE_FILES = 200  # say so on standard error when indexing more files than this (seconds)

_HEX = "coalesce(length(url_key) = 64 AND regexp_full_match(url_key, '[0-9a-fA-F]{64}'), false)"
KEY64_SQL = f"CASE WHEN {_HEX} THEN TRY_CAST('0x' || substr(url_key, 1, 16) AS UBIGINT) END"
"""A url_key's first 64 bits as a number (NULL for a key that is not 64 hex digits): what a
spider's set of known keys holds (:class:`crawler.archive.reader.KnownKeys`), read from the
index as 8 bytes a row instead of a 64-character string parsed each time."""

_TRIES = 10

# One row of the index, computed from a read_parquet source with filename and row numbers.
# Caption counts: ``captioned`` is a non-empty caption (inspect), ``captions`` any (report).
_ROW_SQL = """
SELECT url_key,
       {key64} AS key64,
       site, year, month,
       substr(filename, {cut}) AS file,
       file_row_number AS row,
       published_at, fetched_at, crawl_run,
       CAST(len(images) AS INTEGER) AS images,
       CAST(len(list_filter(images, lambda i: i.caption IS NOT NULL AND i.caption <> ''))
            AS INTEGER) AS captioned,
       CAST(len(list_filter(images, lambda i: i.caption IS NOT NULL)) AS INTEGER) AS captions,
       CAST(length(body) AS INTEGER) AS body_chars,
       {raw} AS with_raw,
       authors, tags
FROM read_parquet({files}, filename = true, file_row_number = true, hive_partitioning = true,
                  union_by_name = true,
                  hive_types = {{'site': VARCHAR, 'year': VARCHAR, 'month': VARCHAR}},
                  hive_types_autocast = false)
"""

INDEX_COLUMNS = (
    "url_key",
    "key64",
    "site",
    "year",
    "month",
    "file",
    "row",
    "published_at",
    "fetched_at",
    "crawl_run",
    "images",
    "captioned",
    "captions",
    "body_chars",
    "with_raw",
    "authors",
    "tags",
)


@dataclass
class Catalog:
    """What a reader uses: the index (if any) and the files it does not cover."""

    root: Path
    names: list[str]
    """Every file of the archive, relative to ``articles/`` (see :attr:`files`)."""
    index: Path | None = None
    entries: dict[str, list[int | str | None]] = field(default_factory=dict)
    """The index's files: relative name -> [size, mtime_ns, rows, schema version]."""
    stale: list[str] = field(default_factory=list)
    """Names the index covers that are gone or changed: their index rows are not used."""
    fresh: list[Path] = field(default_factory=list)
    """Files the index does not cover: read directly."""
    footer: dict[str, str] = field(default_factory=dict)
    """The index's other stored values: what ``inspect`` and ``report`` show
    (:mod:`crawler.archive.summary`), valid while the index is :attr:`current`."""

    @property
    def current(self) -> bool:
        """Whether the index covers every file of the archive as it is now."""
        return self.index is not None and not self.fresh and not self.stale

    @property
    def files(self) -> list[Path]:
        """Every file of the archive, as paths (made on demand: a look-up needs only names)."""
        articles = self.root / ARTICLES_DIR
        return [articles / name for name in self.names]

    def relative(self, path: Path) -> str:
        return os.path.relpath(path, self.root / ARTICLES_DIR).replace(os.sep, "/")


def _stat(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_size, info.st_mtime_ns


def read_footer(path: Path, con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The key-value metadata of an index of this format, or {} if it is missing,
    damaged or of another format."""
    import duckdb

    if not path.is_file():
        return {}
    try:
        meta = dict(
            (bytes(k).decode(), bytes(v).decode("utf-8", "replace"))
            for k, v in con.execute(
                f"SELECT key, value FROM parquet_kv_metadata({sql_list([path])})"
            ).fetchall()
        )
    except duckdb.Error:
        return {}
    return meta if meta.get(FORMAT_KEY) == str(FORMAT) else {}


def read_entries(meta: dict[str, str]) -> dict[str, list[int | str | None]]:
    """The files an index was built from (its footer's list), or {} if unreadable."""
    try:
        entries = json.loads(meta.get(FILES_KEY, ""))
    except ValueError:
        return {}
    return entries if isinstance(entries, dict) else {}


def survey(root: Path | str, con: duckdb.DuckDBPyConnection) -> Catalog:
    """The archive's files, against what its index covers."""
    root = Path(root)
    names = archive_file_names(root)
    path = index_path(root)
    footer = read_footer(path, con)
    entries = read_entries(footer)
    catalog = Catalog(root, names, path if entries else None, entries)
    footer.pop(FILES_KEY, None)
    catalog.footer = footer
    articles = os.path.join(root, ARTICLES_DIR)
    seen = set()
    for name in names:
        seen.add(name)
        entry = entries.get(name)
        try:
            info = os.stat(os.path.join(articles, name))
        except FileNotFoundError:
            continue  # swapped by a compaction: DuckDB fails on it, the caller lists again
        if entry is None or entry[0] != info.st_size or entry[1] != info.st_mtime_ns:
            catalog.fresh.append(Path(articles, name))
            if entry is not None:
                catalog.stale.append(name)
    catalog.stale += [name for name in entries if name not in seen]
    return catalog


def _cut(root: Path) -> int:
    """Where the name under ``articles/`` starts in DuckDB's ``filename`` (1-based)."""
    return len(absolute(root / ARTICLES_DIR)) + 2


def row_sql(root: Path, files: list[Path], con: duckdb.DuckDBPyConnection) -> str:
    """The index rows of ``files``, computed from the files (v1 files have no raw_ref)."""
    probe = (
        f"SELECT * FROM read_parquet({sql_list(files)}, union_by_name = true, "
        "hive_partitioning = false)"
    )
    present = {row[0] for row in con.execute(f"DESCRIBE {probe}").fetchall()}
    raw = "raw_ref IS NOT NULL" if "raw_ref" in present else "false"
    return _ROW_SQL.format(cut=_cut(root), files=sql_list(files), raw=raw, key64=KEY64_SQL)


def _rows_per_file(con: duckdb.DuckDBPyConnection, files: list[Path]) -> dict[str, int]:
    return {
        name: int(rows)
        for name, rows in con.execute(
            f"SELECT file_name, sum(row_group_num_rows) FROM (SELECT DISTINCT file_name, "
            f"row_group_id, row_group_num_rows FROM parquet_metadata({sql_list(files)})) "
            "GROUP BY file_name"
        ).fetchall()
    }


def file_entries(
    catalog: Catalog, files: list[Path], con: duckdb.DuckDBPyConnection
) -> dict[str, list[int | str | None]]:
    """[size, mtime_ns, rows, schema version] of each of ``files`` (footers only)."""
    out: dict[str, list[int | str | None]] = {}
    for start in range(0, len(files), BUILD_CHUNK):  # footers of thousands of files: in parts
        chunk = files[start : start + BUILD_CHUNK]
        versions = schema_versions(con, chunk)
        rows = _rows_per_file(con, chunk)
        for file in chunk:
            size, mtime = _stat(file)
            full = absolute(file)
            out[catalog.relative(file)] = [size, mtime, rows.get(full, 0), versions.get(full)]
    return out


def rows_view(
    catalog: Catalog, con: duckdb.DuckDBPyConnection, name: str = "idx", shared: bool = False
) -> None:
    """Create the view ``name``: the index rows of every file of the archive.

    Rows of covered files come from the index; the others are computed from their
    files (each checked first, as every command checks what it reads). A ``shared``
    view is seen by the connection's cursors too (a temporary one is not).
    """
    temp = "" if shared else "TEMP "
    parts = []
    if catalog.index is not None:
        source = f"SELECT {', '.join(INDEX_COLUMNS)} FROM read_parquet({sql_list([catalog.index])})"
        if catalog.stale:
            con.execute(f"CREATE OR REPLACE {temp}TABLE _stale (file VARCHAR)")
            con.executemany("INSERT INTO _stale VALUES (?)", [[n] for n in catalog.stale])
            source += " WHERE file NOT IN (SELECT file FROM _stale)"
        parts.append(source)
    if catalog.fresh:
        check_files(catalog.root, catalog.fresh, con)
        parts.append(
            f"SELECT {', '.join(INDEX_COLUMNS)} FROM ({row_sql(catalog.root, catalog.fresh, con)})"
        )
    con.execute(f"CREATE OR REPLACE {temp}VIEW {name} AS " + " UNION ALL ".join(parts))


def needs_refresh(catalog: Catalog) -> bool:
    """True when the index is missing or leaves many files to read directly."""
    unread = len(catalog.fresh) + len(catalog.stale)
    return catalog.index is None or unread > max(REFRESH_FILES, len(catalog.names) // 50)


def write_index(catalog: Catalog, con: duckdb.DuckDBPyConnection) -> Path:
    """Write the index of every file of ``catalog`` (reusing the rows of covered files).

    The rows of the files it does not cover are computed from them on every core
    and sorted in bounded runs, merged into the index (:mod:`crawler.archive.indexbuild`);
    what ``inspect`` and ``report`` show is counted from the runs by the same SQL as
    live, but for the distinct and repeated keys, counted as the sorted rows pass.
    Written under a temporary name in ``_index/`` and renamed over the old one.
    """
    import tempfile

    from crawler.archive.indexbuild import (
        KeyCounts,
        Runs,
        arrow_memory,
        index_schema,
        read_files,
        release_memory,
        write_sorted,
    )

    path = index_path(catalog.root)
    path.parent.mkdir(exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    check_files(catalog.root, catalog.fresh, con)
    stale = set(catalog.stale)
    entries = {
        name: entry
        for name, entry in catalog.entries.items()
        if catalog.index is not None and name not in stale
    }
    schema = index_schema()
    # The summary queries spill beyond SUMMARY_MEMORY beside the index, on the archive's disk.
    con.execute("SET parquet_metadata_cache = false")
    con.execute(f"SET memory_limit = {sql_string(SUMMARY_MEMORY)}")
    con.execute(f"SET temp_directory = {sql_string(str(path.parent / '.spill'))}")
    con.execute("SET allocator_flush_threshold = '32MB'")  # free it before the merge
    with arrow_memory(), tempfile.TemporaryDirectory(prefix=".build-", dir=path.parent) as work:
        runs = Runs(Path(work), schema)
        if catalog.index is not None:
            _kept_rows(catalog.index, stale, runs)
        for done in read_files(catalog.root, [catalog.relative(f) for f in catalog.fresh], schema):
            entries[done.name] = done.entry
            runs.add(done.rows)
        runs.flush()
        release_memory()
        counts = KeyCounts()
        try:
            writer = write_sorted(temporary, schema, counts.counted(runs.merged()), ROW_GROUP_ROWS)
            try:
                release_memory()
                con.execute(
                    "CREATE OR REPLACE TEMP VIEW _new_rows AS "
                    f"SELECT * FROM read_parquet({sql_list(runs.paths)})"
                )
                con.register("_dup_keys", counts.duplicated())
                try:
                    # What inspect and report show, stored while it is computed for every file
                    summary = compute(con, "_new_rows", articles=counts.articles).to_json()
                    report = report_numbers(con, "_new_rows", dups="_dup_keys")
                finally:
                    con.unregister("_dup_keys")
                    con.execute("DROP VIEW _new_rows")
                writer.add_key_value_metadata(
                    {
                        FORMAT_KEY: str(FORMAT),
                        FILES_KEY: json.dumps(entries, separators=(",", ":")),
                        SUMMARY_KEY: summary,
                        REPORT_KEY: json.dumps(report, separators=(",", ":")),
                    }
                )
            finally:
                writer.close()
            with open(temporary, "rb") as handle:
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        finally:
            if temporary.exists():
                temporary.unlink()
    return path


def _kept_rows(index: Path, stale: set[str], runs: Runs) -> None:
    """Add the rows of the old index, but those of ``stale`` files, to ``runs``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    gone = pa.array(sorted(stale), pa.string())
    source = pq.ParquetFile(index)
    try:
        for batch in source.iter_batches(batch_size=65536, columns=list(INDEX_COLUMNS)):
            table = pa.Table.from_batches([batch]).cast(runs.schema)
            if len(gone):
                table = table.filter(pc.invert(pc.is_in(table.column("file"), value_set=gone)))
            runs.add(table)
    finally:
        source.close()


def writable(root: Path) -> bool:
    """Whether the index may be saved: ``_index/`` exists and is writable, or can be made."""
    place = root / INDEX_DIR
    if place.exists() or place.is_symlink():
        return place.is_dir() and os.access(place, os.W_OK | os.X_OK)
    return os.access(root, os.W_OK | os.X_OK)


def open_index(
    root: Path | str, con: duckdb.DuckDBPyConnection, refresh: bool = True, quiet: bool = False
) -> Catalog:
    """The archive's catalogue with the view ``idx`` ready on ``con``.

    With ``refresh``, a missing or much outdated index is built or brought up to
    date first, and saved if the archive can be written.
    """
    import duckdb

    for attempt in range(_TRIES):
        try:
            catalog = survey(root, con)
            if refresh and needs_refresh(catalog) and writable(catalog.root):
                if not quiet and len(catalog.fresh) > NOTE_FILES:
                    print(
                        f"indexing {len(catalog.fresh):,} archive files into "
                        f"{index_path(catalog.root)} (once; later commands read it)",
                        file=sys.stderr,
                    )
                try:
                    write_index(catalog, con)
                except OSError:
                    pass  # cannot be saved (read-only, disk full): read the files directly
                else:
                    catalog = survey(root, con)
            rows_view(catalog, con)
            return catalog
        except duckdb.IOException as error:
            if attempt == _TRIES - 1 or not vanished_file(error):
                raise ArchiveReadError(f"cannot read the archive: {one_line(error)}") from None
    raise AssertionError("unreachable")


def _archive_file(root: Path, error: FileNotFoundError) -> bool:
    """Whether ``error`` is about a file under ``articles/`` (listed, then gone)."""
    articles = absolute(root / ARTICLES_DIR) + os.sep
    if error.filename is not None:
        return absolute(str(error.filename)).startswith(articles)
    return articles in str(error)  # pyarrow's, naming the file in its message


def rebuild(root: Path | str) -> Catalog:
    """Build the index again from every file (``crawler index``)."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        for attempt in range(_TRIES):
            try:
                catalog = survey(root, con)
                full = Catalog(catalog.root, catalog.names, None, {}, [], catalog.files)
                write_index(full, con)  # which checks every file first
                return survey(root, con)
            except duckdb.IOException as error:
                if attempt == _TRIES - 1 or not vanished_file(error):
                    raise ArchiveReadError(f"cannot read the archive: {one_line(error)}") from None
            except FileNotFoundError as error:  # an archive file swapped by a compaction
                if attempt == _TRIES - 1 or not _archive_file(Path(root), error):
                    raise
        raise AssertionError("unreachable")
    finally:
        con.close()


def check_index(root: Path | str) -> tuple[list[str], list[str]]:
    """``crawler validate``'s look at the index: (problems, notes).

    A problem: the index is unreadable, or for a file it says is unchanged, its
    rows are not that file's (row count, or which ``url_key`` is at which row).
    A note: no index yet, or files it does not cover yet (the next read adds them).
    Either way nothing is lost: the index is rebuilt from the files.
    """
    import duckdb

    root = Path(root)
    path = index_path(root)
    rebuild_hint = f"delete {path.parent} or run `crawler index`; it is rebuilt from the files"
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = {sql_string(BUILD_MEMORY)}")
        if not path.exists():
            return [], [f"no row index yet ({path}): the next inspect, show or sample builds it"]
        catalog = survey(root, con)
        if catalog.index is None:
            return [f"{path}: not a row index this version reads; {rebuild_hint}"], []
        notes = []
        unread = len(catalog.fresh) + len(catalog.stale)
        if unread:
            notes.append(
                f"row index: {unread:,} files changed since it was written "
                "(read directly until the next read brings it up to date)"
            )
        covered = [f for f in catalog.files if f not in set(catalog.fresh)]
        if not covered:
            return [], notes
        wrong = _differing_rows(con, root, path, catalog.stale, covered)
        if wrong:
            return [
                f"{path}: {wrong:,} rows differ from the archive's files; {rebuild_hint}"
            ], notes
        return [], notes
    except duckdb.Error as error:
        return [f"{path}: unreadable ({one_line(error)}); {rebuild_hint}"], []
    finally:
        con.close()


def _differing_rows(
    con: duckdb.DuckDBPyConnection, root: Path, path: Path, stale: list[str], covered: list[Path]
) -> int:
    """How many (file, row, url_key) differ between the index and the ``covered`` files.

    Each side is first summed up per file (a count and a sum of hashes: memory for
    one number per file, however many rows); only files whose sums differ are
    compared row by row, DuckDB spilling to a temporary directory past
    :data:`BUILD_MEMORY`.
    """
    import tempfile

    con.execute("CREATE OR REPLACE TEMP TABLE _stale (file VARCHAR)")
    if stale:
        con.executemany("INSERT INTO _stale VALUES (?)", [[n] for n in stale])
    indexed = (
        f"SELECT file, row::BIGINT AS row, url_key FROM read_parquet({sql_list([path])}) "
        "WHERE file NOT IN (SELECT file FROM _stale)"
    )
    summed = "count(*), sum(hash(row, url_key))"
    by_index = dict(
        (file, (count, total))
        for file, count, total in con.execute(
            f"SELECT file, {summed} FROM ({indexed}) GROUP BY file"
        ).fetchall()
    )
    by_file: dict[str, tuple[int, int]] = {}
    for start in range(0, len(covered), BUILD_CHUNK):
        actual = _actual_rows(root, covered[start : start + BUILD_CHUNK])
        for file, count, total in con.execute(
            f"SELECT file, {summed} FROM ({actual}) GROUP BY file"
        ).fetchall():
            by_file[file] = (count, total)
    differ = sorted(
        name for name in by_index.keys() | by_file.keys() if by_index.get(name) != by_file.get(name)
    )
    if not differ:
        return 0
    with tempfile.TemporaryDirectory(prefix="crawler-index-check-") as spill:
        con.execute(f"SET temp_directory = {sql_string(spill)}")
        con.execute("CREATE OR REPLACE TEMP TABLE _differ (file VARCHAR)")
        con.executemany("INSERT INTO _differ VALUES (?)", [[n] for n in differ])
        files = [root / ARTICLES_DIR / name for name in differ if name in by_file]
        mine = f"SELECT * FROM ({indexed}) WHERE file IN (SELECT file FROM _differ)"
        if not files:
            return int(con.execute(f"SELECT count(*) FROM ({mine})").fetchone()[0])  # type: ignore[index]
        actual = _actual_rows(root, files)
        counts = con.execute(
            f"SELECT count(*) FROM (({mine}) EXCEPT ALL ({actual})) "
            f"UNION ALL SELECT count(*) FROM (({actual}) EXCEPT ALL ({mine}))"
        ).fetchall()
        return sum(int(n) for (n,) in counts)


def _actual_rows(root: Path, files: list[Path]) -> str:
    """(file, row, url_key) of every row of ``files``, as the index names them."""
    return (
        f"SELECT substr(filename, {_cut(root)}) AS file, file_row_number::BIGINT AS row, "
        f"url_key FROM read_parquet({sql_list(files)}, filename = true, file_row_number = true)"
    )
