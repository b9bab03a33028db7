"""``crawler validate``: check every file and row of the archive; list what is wrong.

The archive outlives the code that wrote it and is copied by hand, so damage
happens: a truncated copy, a file dropped in the wrong directory, rows planted
twice, a parser that let a layout token through. Each file is checked alone
(readable to its last page, its schema, its place in the layout), then the
rows of all readable files together (one row per ``url_key``, ``url_key`` the
hash of ``url``, no layout token in any text column, no empty body or title,
each row in the partition of its publish date, each ``raw_ref`` inside a stored
WARC file). The exit status is 1 when anything is wrong, with the list.

``--quarantine`` moves the files the other commands refuse to read (damaged,
or not of the archive's schema: :func:`crawler.archive.views.bad_files`, the rule they
apply) out of ``articles/`` to ``<archive>/_quarantine/<same path>``, each with
a ``.why`` note beside it; nothing is deleted, and an earlier quarantined file
of the same name is never overwritten.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import os
import re
import shutil
import tempfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.archive.layout import (
    ARTICLES_DIR,
    INDEX_DIR,
    QUARANTINE_DIR,
    TEMP_FILE_RE,
    iter_parquet_files,
    pid_alive,
)
from crawler.archive.search import search_note
from crawler.archive.views import (
    bad_files,
    check_archive,
    give_back_memory,
)
from crawler.progress import Progress

if TYPE_CHECKING:
    import pyarrow as pa


# What RE2 (pyarrow) can search for: a superset of the layout tokens, confirmed
# with the project's own pattern (which needs look-behind) afterwards.
_TOKEN_PREFILTER = r"(?i)left\s*center\s*right\s*del"
_STRING_COLUMNS = ("title", "summary", "body", "byline", "section", "published_raw", "article_id")
_LIST_COLUMNS = ("authors", "tags")
_YEAR = re.compile(r"^\d{4}$")
_MONTH = re.compile(r"^(0[1-9]|1[0-2])$")
KEY_BUCKETS = 256
"""Files the keys of every row are spread over (by their first two characters)."""
_KEYS_BATCH = 100_000  # rows of keys written to the buckets at once
_TRIM_FILES = 64
_FOOTER_FILES = 512


@dataclass
class Problem:
    kind: str
    file: str
    detail: str
    row: int | None = None
    url: str | None = None
    places: list[str] | None = None  # every file and row, for a duplicate


@dataclass
class Moved:
    """A file ``--quarantine`` moved aside (paths relative to the archive root)."""

    file: str
    to: str
    why: str


@dataclass
class Report:
    root: str
    files: int = 0
    rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    # Expected states, not problems: older rows of an article waiting for `crawler compact`.
    notes: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # Files the other commands refuse to read, with why: what --quarantine moves.
    refused: dict[str, str] = field(default_factory=dict)
    moved: list[Moved] = field(default_factory=list)

    def add(
        self,
        kind: str,
        file: str,
        detail: str,
        row: int | None = None,
        url: str | None = None,
        places: list[str] | None = None,
    ) -> None:
        self.problems.append(Problem(kind, file, detail, row, url, places))

    def note(
        self,
        kind: str,
        file: str,
        detail: str,
        row: int | None = None,
        url: str | None = None,
        places: list[str] | None = None,
    ) -> None:
        self.notes.append(Problem(kind, file, detail, row, url, places))

    def as_dict(self) -> dict[str, Any]:
        return {
            "archive": self.root,
            "ok": not self.problems,
            "files": self.files,
            "rows": self.rows,
            "problems": [asdict(p) for p in self.problems],
            "counts": dict(Counter(p.kind for p in self.problems)),
            "notes": [asdict(p) for p in self.notes],
            "note_counts": dict(Counter(p.kind for p in self.notes)),
            "warnings": self.warnings,
            "refused": self.refused,
            "quarantined": [asdict(m) for m in self.moved],
        }


def archive_files(root: Path) -> Iterator[Path]:
    """Every Parquet file a reader of ``articles/`` would read, wherever it is."""

    yield from iter_parquet_files(root)


def _check_place(report: Report, root: Path, path: Path) -> tuple[str, str, str] | None:
    """The partition (site, year, month) a file is in, or None with a problem noted."""

    relative = path.relative_to(root / ARTICLES_DIR)
    parts = relative.parts
    values = [part.partition("=")[2] for part in parts[:-1]]
    keys = [part.partition("=")[0] for part in parts[:-1]]
    if len(parts) != 4 or keys != ["site", "year", "month"] or not all(values):
        report.add("misplaced", _name(root, path), "not under site=<site>/year=<YYYY>/month=<MM>/")
        return None
    site, year, month = values
    unknown = year == month == "unknown"
    if not unknown and not (_YEAR.match(year) and _MONTH.match(month)):
        report.add(
            "misplaced", _name(root, path), f"year={year}/month={month} is not a publish month"
        )
        return None
    return site, year, month


def _name(root: Path, path: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _check_schema(report: Report, name: str, schema: pa.Schema, site: str) -> bool:
    """Compare a file's schema with the archive's; False if its rows cannot be checked."""
    from crawler.archive.schema import FILE_SCHEMA, SCHEMA_VERSION, SCHEMA_VERSION_KEY, SITE_KEY

    meta = schema.metadata or {}
    raw_version = meta.get(SCHEMA_VERSION_KEY)
    ok = True
    version = SCHEMA_VERSION
    if raw_version is None:
        report.add("schema", name, "no crawler.schema_version in the file's metadata")
    else:
        try:
            version = int(raw_version)
        except ValueError:
            report.add("schema", name, f"schema version {raw_version!r} is not a number")
        else:
            if version > SCHEMA_VERSION:
                report.add(
                    "schema",
                    name,
                    f"schema v{version} is newer than this crawler's v{SCHEMA_VERSION}",
                )
                return False
            if version < SCHEMA_VERSION:  # readable, but not by every reader beside newer files
                report.note("old_schema", name, f"schema v{version}")
    file_site = meta.get(SITE_KEY)
    if file_site is not None and file_site.decode("utf-8", "replace") != site:
        report.add(
            "schema",
            name,
            f"metadata says site {file_site.decode('utf-8', 'replace')!r}, directory {site!r}",
        )
    for column in schema.names:
        if column not in FILE_SCHEMA.names:
            report.add("schema", name, f"unexpected column {column!r}")
            ok = False
    for expected in FILE_SCHEMA:
        if expected.name not in schema.names:
            if expected.name == "raw_ref" and version < 2:
                continue  # added in v2: null in older files
            report.add("schema", name, f"missing column {expected.name!r}")
            ok = False
            continue
        got = schema.field(expected.name).type
        if got != expected.type and not _same_type(got, expected.type):
            report.add(
                "schema", name, f"column {expected.name!r} is {got}, expected {expected.type}"
            )
            ok = False
    return ok


def _same_type(got: pa.DataType, expected: pa.DataType) -> bool:
    """Types equal but for field names and nullability (list item names vary by writer)."""
    import pyarrow as pa

    if pa.types.is_list(got) and pa.types.is_list(expected):
        return _same_type(got.value_type, expected.value_type)
    if pa.types.is_struct(got) and pa.types.is_struct(expected):
        return [f.name for f in got] == [f.name for f in expected] and all(
            _same_type(a.type, b.type) for a, b in zip(got, expected, strict=True)
        )
    return bool(got == expected)


class _Keys:
    """The ``url_key`` of every row seen so far, for the check across files.

    Not held in memory: the keys are written to :data:`KEY_BUCKETS` files in a
    temporary directory, each key to the bucket of its first two characters (a
    hash's: the buckets come out even). A bucket at a time is then read back and
    sorted, and equal neighbours are the repeated keys: memory for 1/256 of the
    keys, however large the archive. Each row is its key, the file's number (in
    the order files were read), its row and its run's number.
    """

    def __init__(self, spill: Path) -> None:
        self.spill = spill
        self.files: list[str] = []
        self.runs: dict[str, int] = {}
        self.pending: list[pa.Table] = []
        self.waiting = 0
        self.writers: dict[int, pa.ipc.RecordBatchStreamWriter] = {}

    def add(self, name: str, keys: pa.ChunkedArray, runs: pa.ChunkedArray) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        number = len(self.files)
        self.files.append(name)
        encoded = pc.dictionary_encode(pc.fill_null(runs.combine_chunks(), ""))
        ids = pa.array(
            [self.runs.setdefault(run, len(self.runs)) for run in encoded.dictionary.to_pylist()],
            pa.int32(),
        )
        rows = len(keys)
        table = pa.table(
            {
                "url_key": keys.cast(pa.string()),
                "file": pa.repeat(pa.scalar(number, pa.int32()), rows),
                "row": pa.array(range(rows), pa.int32()),
                "run": pc.take(ids, encoded.indices),
            }
        ).filter(pc.is_valid(keys))
        self.pending.append(table)
        self.waiting += table.num_rows
        if self.waiting >= _KEYS_BATCH:
            self._flush()

    def _flush(self) -> None:
        """Append the waiting keys to their buckets' files."""
        import pyarrow as pa
        import pyarrow.compute as pc

        if not self.waiting:
            self.pending = []
            return
        table = pa.concat_tables(self.pending).combine_chunks()
        self.pending, self.waiting = [], 0
        prefixes = pc.dictionary_encode(pc.utf8_slice_codeunits(table.column("url_key"), 0, 2))
        chunk = prefixes.chunk(0) if isinstance(prefixes, pa.ChunkedArray) else prefixes
        of_prefix = pa.array(
            [zlib.crc32(p.encode("utf-8")) % KEY_BUCKETS for p in chunk.dictionary.to_pylist()],
            pa.int32(),
        )
        bucket = pc.take(of_prefix, chunk.indices)
        order = pc.sort_indices(bucket)
        table, bucket = table.take(order), bucket.take(order)
        start = 0
        for item in pc.value_counts(bucket).to_pylist():  # in order: the buckets are sorted
            number, count = int(item["values"]), int(item["counts"])
            writer = self.writers.get(number)
            if writer is None:
                writer = self.writers[number] = pa.ipc.new_stream(
                    str(self.spill / f"keys-{number:03d}.arrows"),
                    table.schema,
                    options=pa.ipc.IpcWriteOptions(compression="zstd"),
                )
            writer.write_table(table.slice(start, count))
            start += count

    def repeated(self) -> list[tuple[str, list[tuple[str, int, str]]]]:
        """Each ``url_key`` of more than one row, with its places (file, row, run), in the
        order the files and rows were read (of the keys: by their first place)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        self._flush()
        for writer in self.writers.values():
            writer.close()
        runs = {number: run for run, number in self.runs.items()}
        found: list[tuple[int, int, str, list[tuple[str, int, str]]]] = []
        for number in sorted(self.writers):
            path = self.spill / f"keys-{number:03d}.arrows"
            with pa.ipc.open_stream(str(path)) as reader:
                table = reader.read_all()
            path.unlink()
            table = table.sort_by(
                [("url_key", "ascending"), ("file", "ascending"), ("row", "ascending")]
            )
            keys = table.column("url_key").combine_chunks()
            if len(keys) < 2:
                continue
            same = pc.equal(keys.slice(1), keys.slice(0, len(keys) - 1))
            no = pa.array([False])
            grouped = pc.or_(pa.concat_arrays([no, same]), pa.concat_arrays([same, no]))
            rows = table.filter(grouped).to_pylist()
            for key, group in itertools.groupby(rows, key=lambda r: r["url_key"]):
                places = list(group)
                found.append(
                    (
                        places[0]["file"],
                        places[0]["row"],
                        key,
                        [(self.files[r["file"]], r["row"], runs[r["run"]]) for r in places],
                    )
                )
        self.writers = {}
        found.sort(key=lambda item: (item[0], item[1]))
        return [(key, places) for _file, _row, key, places in found]

    def close(self) -> None:
        for writer in self.writers.values():
            with contextlib.suppress(OSError, ValueError):
                writer.close()


def _check_rows(
    report: Report,
    root: Path,
    name: str,
    table: pa.Table,
    partition: tuple[str, str, str],
    rows: _Keys,
    raw_sizes: dict[str, int | None],
) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    from crawler.archive.warc import RawPageError, parse_ref
    from crawler.text.layout import DEFAULT_RULES

    urls = table.column("url").to_pylist()
    keys = table.column("url_key").to_pylist()
    rows.add(name, table.column("url_key"), table.column("crawl_run"))
    for row, (url, key) in enumerate(zip(urls, keys, strict=True)):
        if url is not None and key != hashlib.sha256(url.encode("utf-8")).hexdigest():
            report.add("url_key", name, f"url_key {key} is not sha256(url)", row, url)

    def token_rows(values: pa.Array, parents: pa.Array | None, column: str) -> None:
        hits = pc.match_substring_regex(values, _TOKEN_PREFILTER)
        for index in pc.indices_nonzero(pc.fill_null(hits, False)).to_pylist():
            text = values[index].as_py()
            match = DEFAULT_RULES.token.search(text)
            if match:
                row = index if parents is None else parents[index].as_py()
                report.add(
                    "layout_token",
                    name,
                    f"{column}: …{text[max(0, match.start() - 30) : match.end() + 30]}…",
                    row,
                    urls[row],
                )

    for column in _STRING_COLUMNS:
        if column in table.column_names:
            token_rows(table.column(column).combine_chunks(), None, column)
    for column in _LIST_COLUMNS:
        if column in table.column_names:
            values = table.column(column).combine_chunks()
            token_rows(pc.list_flatten(values), pc.list_parent_indices(values), column)
    images = table.column("images").combine_chunks()
    flat, parents = pc.list_flatten(images), pc.list_parent_indices(images)
    for key in ("caption", "credit"):
        token_rows(pc.struct_field(flat, key), parents, f"images.{key}")

    for column, kind in (("body", "empty_body"), ("title", "empty_title")):
        stripped = pc.utf8_trim_whitespace(table.column(column))
        empty = pc.or_kleene(pc.is_null(stripped), pc.equal(stripped, ""))
        for row in pc.indices_nonzero(pc.fill_null(empty, True)).to_pylist():
            report.add(kind, name, f"{column} is empty", row, urls[row])

    _site, year, month = partition
    published = table.column("published_at")
    if year == "unknown":
        for row in pc.indices_nonzero(pc.is_valid(published)).to_pylist():
            report.add("wrong_partition", name, "dated row in year=unknown", row, urls[row])
    else:
        stamp = published.cast(pa.timestamp("us", tz="UTC"))
        wrong = pc.or_kleene(
            pc.not_equal(pc.year(stamp), int(year)), pc.not_equal(pc.month(stamp), int(month))
        )
        for row in pc.indices_nonzero(pc.fill_null(wrong, True)).to_pylist():
            when = published[row].as_py()
            detail = f"published {when:%Y-%m}" if when else "undated"
            report.add(
                "wrong_partition", name, f"{detail}, in year={year}/month={month}", row, urls[row]
            )

    if "raw_ref" in table.column_names:
        for row, ref in enumerate(table.column("raw_ref").to_pylist()):
            if ref is None:
                continue
            try:
                relative, offset, length = parse_ref(ref)
            except RawPageError as error:
                report.add("raw_ref", name, str(error), row, urls[row])
                continue
            if relative not in raw_sizes:
                path = root / relative
                raw_sizes[relative] = path.stat().st_size if path.is_file() else None
            size = raw_sizes[relative]
            if size is None:
                report.add("raw_ref", name, f"{relative} does not exist", row, urls[row])
            elif offset + length > size:
                report.add(
                    "raw_ref",
                    name,
                    f"{ref} runs past the end of the file ({size} bytes)",
                    row,
                    urls[row],
                )


def validate(root: Path | str) -> Report:
    """Check the archive at ``root``; the report lists every problem found."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = check_archive(root)
    report = Report(str(root))
    files = list(archive_files(root))
    report.files = len(files)
    for directory, _dirs, names in os.walk(root / ARTICLES_DIR):
        for temp in names:
            match = TEMP_FILE_RE.match(temp)
            if match and not pid_alive(int(match["pid"])):
                report.warnings.append(
                    f"{_name(root, Path(directory) / temp)}: left by a killed writer (the next crawl removes it)"
                )
    # The rule every other command reads by (DuckDB): the files it refuses.
    report.refused = {_name(root, path): why for path, why in _refused(files)}
    # Checked before the files are read one by one (what DuckDB took is given back
    # first: its peak and theirs do not add up); listed after them, as always.
    from crawler.archive.catalog import check_index

    index_problems, index_notes = check_index(root)
    give_back_memory()
    raw_sizes: dict[str, int | None] = {}
    with (
        tempfile.TemporaryDirectory(prefix="crawler-validate-") as spill,
        Progress("validate", len(files), "files") as progress,
    ):
        rows = _Keys(Path(spill))
        try:
            for path in files:
                progress.advance()
                name = _name(root, path)
                partition = _check_place(report, root, path)
                try:
                    parquet = pq.ParquetFile(path)
                    schema = parquet.schema_arrow
                except (OSError, ValueError, pa.ArrowException) as error:
                    _unreadable(report, name, error)
                    continue
                if partition is None or not _check_schema(report, name, schema, partition[0]):
                    continue
                try:
                    table = parquet.read()
                except (OSError, ValueError, pa.ArrowException) as error:
                    _unreadable(report, name, error)
                    continue
                report.rows += table.num_rows
                _check_rows(report, root, name, table, partition, rows, raw_sizes)
                del table
                if progress.done % _TRIM_FILES == 0:
                    give_back_memory()  # else Arrow's pool keeps what every file took
            repeated = rows.repeated()
        finally:
            rows.close()
    noted = {p.file for p in report.problems if p.kind in ("unreadable", "schema")}
    for name, why in report.refused.items():
        if name not in noted:  # what pyarrow reads, DuckDB may not: the other commands' view
            kind = "unreadable" if why.startswith("unreadable") else "schema"
            report.add(kind, name, why)
    # The row index beside the files (derived): wrong rows are a problem, lag a note.
    report.warnings += index_notes
    for problem in index_problems:
        report.add("index", INDEX_DIR, problem)
    urls = _first_urls(root, repeated)
    for key, places in repeated:
        runs = [run for *_, run in places]
        # Rows of different runs (a refetch, a reextract) are what compaction is for;
        # two rows of one run are not made by the crawler (a copied file, say).
        note = len(set(runs)) == len(runs)
        (report.note if note else report.add)(
            "older_rows" if note else "duplicate",
            places[0][0],
            f"url_key {key}: {len(places)} rows"
            + ("" if note else f" ({len(runs) - len(set(runs))} more of the same run)"),
            url=urls[places[0][0], places[0][1]],
            places=[f"{file} row {row} (run {run})" for file, row, run in places],
        )
    search = search_note(root)  # the full-text index: derived, so a note, never a problem
    if search:
        report.warnings.append(search)
    return report


def _refused(files: list[Path]) -> list[tuple[Path, str]]:
    """:func:`bad_files`, a chunk of files at a time (its query over every footer at once
    takes memory in proportion to the files)."""
    import duckdb

    con = duckdb.connect()
    try:
        return [
            bad
            for start in range(0, len(files), _FOOTER_FILES)
            for bad in bad_files(files[start : start + _FOOTER_FILES], con)
        ]
    finally:
        con.close()


def _first_urls(
    root: Path, repeated: list[tuple[str, list[tuple[str, int, str]]]]
) -> dict[tuple[str, int], str]:
    """The ``url`` at the first place of each repeated key ("" if null): read again from
    the files that hold one, a column at a time."""
    import pyarrow.parquet as pq

    wanted: dict[str, list[int]] = {}
    for _key, places in repeated:
        wanted.setdefault(places[0][0], []).append(places[0][1])
    urls: dict[tuple[str, int], str] = {}
    for name, rows in wanted.items():
        column = pq.read_table(root / name, columns=["url"]).column("url")
        for row in rows:
            urls[name, row] = column[row].as_py() or ""
    return urls


def _unreadable(report: Report, name: str, error: BaseException) -> None:
    """A file pyarrow cannot read: a problem, and one for ``--quarantine`` to move."""
    report.add("unreadable", name, _short(error))
    report.refused.setdefault(name, f"unreadable ({_short(error)})")


def quarantine(report: Report) -> list[Moved]:
    """Move every refused file to ``<root>/_quarantine/<its path>``, with a ``.why`` note.

    Never deletes, never overwrites: a name already taken there (by an earlier
    quarantine) gets a number (``part-x.1.parquet``). The file is linked into
    place first and only then unlinked from the archive, so it is never lost.
    """
    root = Path(report.root)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    for name, why in sorted(report.refused.items()):
        source = root / name
        if not source.is_file():
            continue  # moved meanwhile (another quarantine)
        target = _move_aside(source, root / QUARANTINE_DIR / name)
        note = f"{name}\nmoved here by `crawler validate --quarantine` on {when}\nwhy: {why}\n"
        with open(target.with_name(target.name + ".why"), "x", encoding="utf-8") as handle:
            handle.write(note)
        report.moved.append(Moved(name, _name(root, target), why))
    return report.moved


def _move_aside(source: Path, target: Path) -> Path:
    """Move ``source`` to ``target`` (or a numbered name beside it if taken); the new path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    stem, dot, suffix = target.name.rpartition(".")
    for n in itertools.count():
        candidate = target if n == 0 else target.with_name(f"{stem}.{n}{dot}{suffix}")
        if candidate.with_name(candidate.name + ".why").exists():
            continue
        try:
            os.link(source, candidate)  # fails rather than overwrite
        except FileExistsError:
            continue
        except OSError as error:
            if error.errno not in (errno.EXDEV, errno.EPERM, errno.ENOTSUP, errno.EMLINK):
                raise
            try:
                with open(source, "rb") as src, open(candidate, "xb") as dst:
                    shutil.copyfileobj(src, dst)
                    dst.flush()
                    os.fsync(dst.fileno())
            except FileExistsError:
                continue
        os.unlink(source)
        return candidate
    raise AssertionError("unreachable")


def _short(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text if len(text) <= 300 else text[:297] + "..."
