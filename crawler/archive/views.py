"""DuckDB over the archive: the ``articles`` and ``latest`` views every read command uses.

``articles`` has every row of every file, with the record's columns in the
contract's order (``site`` from the ``site=`` directory), then the ``year`` and
``month`` partition keys as text. Files of schema v1 read with ``raw_ref``
null (``union_by_name``). ``latest`` keeps one row per ``url_key``, the
newest: see :data:`NEWEST_FIRST`.

The file list is taken once, by this module (the same rule as pyarrow: names
starting with ``.`` or ``_`` are not archive files), so a writer's temporary
file is never read. DuckDB reads each name of a list as a glob pattern, so
every name is escaped (:func:`glob_escape`): an archive at ``arc[1]`` is read,
never its neighbour ``arc1``. Each file's schema is checked before anything is
read (:func:`check_files`): a damaged file, or one whose columns are not the
archive's, stops the command with one line that names it and says what to do.
If ``crawler compact`` swaps a partition between that list and the read, the
read fails on a vanished file; :func:`retrying` lists again and repeats it.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Container
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from crawler.archive.layout import ARTICLES_DIR, QUARANTINE_DIR, iter_parquet_files, parquet_names

if TYPE_CHECKING:
    import duckdb

T = TypeVar("T")

NEWEST_FIRST = "fetched_at DESC, crawl_run DESC"
"""Which row of a ``url_key`` is the newest: the latest fetch; among rows of one
fetch (re-extractions of one stored page), the latest run. Run ids made by the
crawler (``20261126T071500Z-3fa2c1``) sort by start time."""

PARTITION_COLUMNS = ("year", "month")

# crawler.archive.schema.SCHEMA_VERSION / SCHEMA_VERSION_KEY (a test keeps them equal).
SCHEMA_VERSION = 2
SCHEMA_VERSION_KEY = "crawler.schema_version"

# crawler.archive.schema.RECORD_COLUMNS (a test keeps them equal), spelled out so
# that the read commands start without importing pyarrow.dataset (and pandas).
RECORD_COLUMNS = (
    "url",
    "url_key",
    "site",
    "spider",
    "article_id",
    "language",
    "section",
    "title",
    "summary",
    "body",
    "images",
    "byline",
    "authors",
    "tags",
    "published_at",
    "published_raw",
    "fetched_at",
    "crawl_run",
    "content_hash",
    "parser_version",
    "raw_ref",
)

_TEXT = "VARCHAR"
_STAMP = "TIMESTAMP WITH TIME ZONE"
# Each file column as DuckDB reads it from a file of crawler.archive.schema.FILE_SCHEMA
# (a test writes one and compares). ``site`` is not in the files: it is the directory.
FILE_COLUMN_TYPES = {
    "url": _TEXT,
    "url_key": _TEXT,
    "spider": _TEXT,
    "article_id": _TEXT,
    "language": _TEXT,
    "section": _TEXT,
    "title": _TEXT,
    "summary": _TEXT,
    "body": _TEXT,
    "images": "STRUCT(url VARCHAR, caption VARCHAR, credit VARCHAR)[]",
    "byline": _TEXT,
    "authors": "VARCHAR[]",
    "tags": "VARCHAR[]",
    "published_at": _STAMP,
    "published_raw": _TEXT,
    "fetched_at": _STAMP,
    "crawl_run": _TEXT,
    "content_hash": _TEXT,
    "parser_version": _TEXT,
    "raw_ref": _TEXT,
}
_ADDED_IN = {"raw_ref": 2}  # columns a file of an older version may lack


class ArchiveError(Exception):
    """A problem with the archive given, told in one line (a command prints it, exit 2)."""


class ArchiveMissing(ArchiveError):
    """There is no archive at the path given; the message says what is there instead."""


class ArchiveReadError(ArchiveError, RuntimeError):
    """A file of the archive cannot be read; the message names it."""


class BadArchiveFile(ArchiveReadError):
    """A file the archive cannot read as its rows: damaged, or not of the archive's schema.

    Nothing is read while it is there (skipping it would drop its articles
    silently, and make a crawl fetch them again); the message names it and
    says how to move it aside.
    """

    def __init__(self, root: Path | str, path: Path | str, problem: str, others: int = 0) -> None:
        self.path = Path(path)
        self.problem = problem
        super().__init__(bad_file_message(root, path, problem, others))


def printable(text: str) -> str:
    """``text`` on one line: control characters (a newline in a file name) escaped."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def bad_file_message(root: Path | str, path: Path | str, problem: str, others: int = 0) -> str:
    """The one line every command prints for a file it will not read."""
    more = f" (and {others} more file{'s' if others != 1 else ''} like it)" if others else ""
    command = f"crawler validate --quarantine --archive {shlex.quote(str(root))}"
    return printable(
        f"{path}: {problem}{more}; the archive is not read while it is there: move it "
        f"aside with `{command}` (it keeps it under {QUARANTINE_DIR}/), then run again"
    )


def schema_problem(columns: dict[str, str], version: str | None) -> str | None:
    """Why a file with these columns (name -> DuckDB type) cannot be read as the archive's
    rows, or None. ``version`` is the file's ``crawler.schema_version``.

    The rule every command applies, and the one ``crawler validate --quarantine``
    moves files by: each record column present (a column added in a later
    version may be missing from an older file) with its type, and no other
    column, except in a file of a newer version (columns are only ever added).
    """
    try:
        number = int(version) if version is not None else SCHEMA_VERSION
    except ValueError:
        number = SCHEMA_VERSION
    for name, expected in FILE_COLUMN_TYPES.items():
        got = columns.get(name)
        if got is None:
            if number < _ADDED_IN.get(name, 0):
                continue
            return f"not an archive file: it has no column {name!r}"
        if got != expected:
            return f"not an archive file: its column {name!r} is {got}, not {expected}"
    for name in columns:
        if name not in FILE_COLUMN_TYPES and (
            number <= SCHEMA_VERSION or name in ("site", *PARTITION_COLUMNS)
        ):
            return f"not an archive file: it has a column {name!r} the archive does not"
    return None


def check_archive(root: Path | str) -> Path:
    """The archive root, or :class:`ArchiveMissing` with a one-line reason."""
    path = Path(root)
    if not path.exists():
        raise ArchiveMissing(
            f"no archive at {path}: no such directory (crawl into it first, or give --archive DIR)"
        )
    if not path.is_dir():
        raise ArchiveMissing(f"no archive at {path}: it is a file, not an archive directory")
    if not (path / ARTICLES_DIR).is_dir():
        raise ArchiveMissing(
            f"no archive at {path}: it has no {ARTICLES_DIR}/ directory "
            "(give the directory a crawl wrote into, e.g. output)"
        )
    return path


def archive_file_names(root: Path | str) -> list[str]:
    """The visible Parquet files of the archive, relative to ``articles/``
    (:func:`crawler.archive.layout.parquet_names`); :class:`ArchiveMissing` when none."""
    path = check_archive(root)
    names = parquet_names(path)
    if not names:
        raise ArchiveMissing(f"no archive at {path}: {path / ARTICLES_DIR} holds no Parquet files")
    return names


def parquet_files(root: Path | str) -> list[Path]:
    """The visible Parquet files of the archive; :class:`ArchiveMissing` when there are none."""
    articles = Path(root) / ARTICLES_DIR
    return [articles / name for name in archive_file_names(root)]


# -- DuckDB file lists -----------------------------------------------------------------

_GLOB_CHARS = re.compile(r"([\[*?])")


def glob_escape(path: Path | str) -> str:
    """``path`` as a DuckDB glob that matches only itself: ``[``, ``*``, ``?`` bracketed."""
    return _GLOB_CHARS.sub(r"[\1]", str(path))


def absolute(path: Path | str) -> str:
    """The absolute path, as DuckDB reports it back (``filename``) and checks access."""
    return os.path.abspath(path)


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_list(files: list[Path]) -> str:
    """A DuckDB list literal of exactly these files, whatever characters their paths hold."""
    return "[" + ", ".join(sql_string(glob_escape(absolute(f))) for f in files) + "]"


def _schemas(con: duckdb.DuckDBPyConnection, files: list[Path]) -> dict[str, str]:
    """Each file's schema as one string (the md5 of every node, in order, with the type
    DuckDB reads: files are only grouped by it, and 62,100 whole schemas held ~90 MB)."""
    schemas = {absolute(f): "" for f in files}
    # A few thousand files a query: all 62,100 of a 10M-row archive in one took the
    # process from 68 to 608 MiB (in batches of 4,096: 328 MiB).
    for start in range(0, len(files), 4096):
        for name, schema in con.execute(
            "SELECT file_name, md5(string_agg(concat_ws(' ', name, duckdb_type, num_children, "
            "repetition_type), ' | ' ORDER BY column_id)) "
            f"FROM parquet_schema({sql_list(files[start : start + 4096])}) GROUP BY file_name"
        ).fetchall():
            schemas[given(schemas, name)] = schema
    return schemas


def schema_versions(con: duckdb.DuckDBPyConnection, files: list[Path]) -> dict[str, str | None]:
    """Each file's ``crawler.schema_version`` (None where it has none)."""
    versions: dict[str, str | None] = {absolute(f): None for f in files}
    for name, value in con.execute(
        f"SELECT file_name, value FROM parquet_kv_metadata({sql_list(files)}) "
        f"WHERE key = {sql_string(SCHEMA_VERSION_KEY)}::BLOB"
    ).fetchall():
        versions[given(versions, name)] = bytes(value).decode("utf-8", "replace")
    return versions


def given(files: Container[str], name: str) -> str:
    """``name``, one of ``files``: a file DuckDB read that it was not given is an error."""
    if name not in files:
        raise ArchiveReadError(
            printable(f"DuckDB read {name}, which is not one of the files given: nothing was done")
        )
    return name


def _unreadable(con: duckdb.DuckDBPyConnection, files: list[Path]) -> list[tuple[Path, str]]:
    """The files whose footer DuckDB cannot read, one by one (only after a failure)."""
    import duckdb

    bad = []
    for path in files:
        try:
            con.execute(f"SELECT count(*) FROM parquet_schema({sql_list([path])})").fetchall()
        except duckdb.Error as error:
            if not path.exists():
                raise  # gone since it was listed (compaction): the caller lists again
            bad.append((path, _unreadable_because(path, error)))
    return bad


def bad_files(
    files: list[Path], con: duckdb.DuckDBPyConnection | None = None
) -> list[tuple[Path, str]]:
    """Every file of ``files`` the archive cannot read as its rows, with the reason.

    One footer read per file; one ``DESCRIBE`` per distinct schema (an archive
    has one or two). The schema version is read only for a schema that is not
    the current one (a v1 file lacks ``raw_ref``; a newer file may add columns).
    """
    import duckdb

    if not files:
        return []
    own = con is None
    con = duckdb.connect() if con is None else con
    try:
        bad: list[tuple[Path, str]] = []
        readable = files
        try:
            schemas = _schemas(con, files)
        except duckdb.IOException:
            raise  # a vanished file: the caller lists again
        except duckdb.Error:
            bad = _unreadable(con, files)
            if not bad:
                raise
            damaged = {path for path, _ in bad}
            readable = [path for path in files if path not in damaged]
            schemas = _schemas(con, readable) if readable else {}
        groups: dict[str, list[Path]] = {}
        for path in readable:
            groups.setdefault(schemas[absolute(path)], []).append(path)
        for group in groups.values():
            columns = _columns(con, group[0])
            if isinstance(columns, str):
                bad += [(path, columns) for path in group]
            elif schema_problem(columns, None) is not None:
                versions = schema_versions(con, group)
                for path in group:
                    problem = schema_problem(columns, versions[absolute(path)])
                    if problem is not None:
                        bad.append((path, problem))
        order = {path: n for n, path in enumerate(files)}
        return sorted(bad, key=lambda item: order[item[0]])
    finally:
        if own:
            con.close()


def _columns(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, str] | str:
    """The columns of ``path`` (name -> DuckDB type), or why it cannot be read."""
    import duckdb

    try:
        described = con.execute(
            f"DESCRIBE SELECT * FROM read_parquet({sql_list([path])}, hive_partitioning = false)"
        ).fetchall()
    except duckdb.IOException:
        raise
    except duckdb.Error as error:
        return _unreadable_because(path, error)
    return {str(row[0]): str(row[1]) for row in described}


def _unreadable_because(path: Path, error: BaseException) -> str:
    """DuckDB's reason, without the file name the message already starts with."""
    reason = one_line(error)
    for quote in ("'", '"'):
        reason = reason.replace(f" {quote}{absolute(path)}{quote}", "")
    return f"unreadable ({reason})"


def check_files(
    root: Path | str, files: list[Path], con: duckdb.DuckDBPyConnection | None = None
) -> None:
    """:class:`BadArchiveFile` for the first file the archive cannot read as its rows."""
    bad = bad_files(files, con)
    if bad:
        path, problem = bad[0]
        raise BadArchiveFile(root, path, problem, others=len(bad) - 1)


def rows_sql(con: duckdb.DuckDBPyConnection, files: list[Path]) -> str:
    """A SELECT of every row of ``files``: the record's columns, ``year``, ``month``, and
    where the row is (``_file`` as DuckDB read it, ``_row`` its number in the file).
    Not DuckDB's ``file_index``: it numbers the files left after a filter prunes some,
    so the same file has another number in another query.
    A column that none of ``files`` has (``raw_ref`` in v1 files) reads as null."""
    source = (
        f"read_parquet({sql_list(files)}, hive_partitioning = true, union_by_name = true, "
        "hive_types = {'site': VARCHAR, 'year': VARCHAR, 'month': VARCHAR}, "
        "hive_types_autocast = false, filename = '_file', file_row_number = true)"
    )
    present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    columns = [
        name if name in present else f"CAST(NULL AS VARCHAR) AS {name}"
        for name in (*RECORD_COLUMNS, *PARTITION_COLUMNS)
    ]
    return f"SELECT {', '.join(columns)}, _file, file_row_number AS _row FROM {source}"


def connect(
    root: Path | str, files: list[Path] | None = None, sandbox: bool = False
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the ``articles`` and ``latest`` views.

    With ``sandbox``, for SQL a user types: the connection may then read the
    archive's files and nothing else (no other file, no extension, no network),
    and its configuration is locked so that no statement can undo that.
    """
    import duckdb

    files = parquet_files(root) if files is None else files
    con = duckdb.connect()
    try:
        con.execute("SET parquet_metadata_cache = true")  # footers are read once, at DESCRIBE
        con.execute("SET TimeZone = 'UTC'")  # days and hours in UTC, whatever the machine's zone
        check_files(root, files, con)
        names = ", ".join((*RECORD_COLUMNS, *PARTITION_COLUMNS))
        # _rows: every row with where it is (the file DuckDB read, the row in it).
        con.execute(f"CREATE VIEW _rows AS {rows_sql(con, files)}")
        con.execute(f"CREATE VIEW articles AS SELECT {names} FROM _rows")
        # The window sees only the columns that pick the newest row, never the bodies;
        # the rows are then read once, streamed, by where they are.
        con.execute(
            f"CREATE VIEW latest AS SELECT {names} FROM _rows SEMI JOIN ("
            f"SELECT _file, _row FROM _rows QUALIFY row_number() OVER "
            f"(PARTITION BY url_key ORDER BY {NEWEST_FIRST}) = 1"
            ") AS newest USING (_file, _row)"
        )
        if sandbox:
            # DuckDB checks a path as the statement spells it (the escaped glob) and
            # then as the file it found: both forms are allowed, nothing else.
            allowed = sorted({p for f in files for p in (absolute(f), glob_escape(absolute(f)))})
            con.execute("SET allowed_paths = ?", [allowed])
            con.execute("SET enable_external_access = false")
            con.execute("SET autoinstall_known_extensions = false")
            con.execute("SET autoload_known_extensions = false")
            con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def vanished_file(error: BaseException) -> bool:
    """True for DuckDB's error on a file listed a moment ago and gone now (compaction)."""
    text = str(error)
    return "No such file" in text or "No files found" in text or "does not exist" in text


def retrying(
    root: Path | str,
    work: Callable[[duckdb.DuckDBPyConnection], T],
    tries: int = 10,
    sandbox: bool = False,
) -> T:
    """Run ``work`` on a fresh connection; list the files again if one vanished meanwhile."""
    import duckdb

    for attempt in range(tries):
        try:
            con = connect(root, sandbox=sandbox)
            try:
                return work(con)
            finally:
                con.close()
        except duckdb.IOException as error:
            if attempt == tries - 1 or not vanished_file(error):
                raise read_error(root, error) from None
        except duckdb.Error as error:
            raise read_error(root, error) from None
    raise AssertionError("unreachable")


def read_error(root: Path | str, error: Exception) -> Exception:
    """DuckDB's error, or, when it is about one of the archive's files (a page damaged
    behind an intact footer), the one line every command gives for a bad file."""
    text = str(error)
    for path in iter_parquet_files(root):
        for quote in ("'", '"'):
            named = f"{quote}{absolute(path)}{quote}"
            rest = text.replace(named, "")
            if named in text and ("Failed to read file" in rest or "Parquet file" in rest):
                return BadArchiveFile(root, path, _unreadable_because(path, error))
    return error


def one_line(error: BaseException) -> str:
    """DuckDB's message on one line (it spreads hints over several)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip().strip("^")]
    text = " ".join(lines)
    return text if len(text) <= 400 else text[:397] + "..."


def give_back_memory() -> None:
    """Return to the system what a large read took and freed (Arrow's pool keeps freed
    memory, and so does the C allocator): what a command holds for long (a crawl's
    known keys) or keeps taking (an export, partition after partition) stays small."""
    import contextlib
    import ctypes
    import ctypes.util
    import sys

    if "pyarrow" in sys.modules:  # nothing to give back if it was never used
        sys.modules["pyarrow"].default_memory_pool().release_unused()
    name = ctypes.util.find_library("c")
    if name:
        with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to trim
            ctypes.CDLL(name).malloc_trim(0)
