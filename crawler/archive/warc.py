"""Raw pages: every fetched article page kept as a compressed WARC record.

Parsers improve; pages change or vanish. Keeping the page each row was made
from lets ``crawler reextract`` re-parse the archive with today's code and no
network. Layout, beside ``articles/``::

    <root>/raw/site=<site>/<run id>-<pid>-<n>.warc.gz

one file per site, run and process (so concurrent crawls never share one), each
starting with a ``warcinfo`` record, then one gzip member per ``response``
record (WARC 1.1 with SHA-1 digests, which any WARC tool reads). A row points to its page
through the ``raw_ref`` column: ``raw/site=…/<file>.warc.gz:<offset>:<length>``,
the byte range of the record's gzip member, read without scanning the file.

Safety: a record is written and flushed before the article that points to it
goes on to the pipelines, so a row never references a page that a killed
process did not hand to the operating system. A process killed mid-write leaves
a truncated last member in its own file only; no row points to it, and readers
by offset never reach it. Against power loss, files are fsynced at most every
``CRAWLER_RAW_FSYNC_SECONDS`` (1 s; 0: after every record, about 1 ms each) and
when the spider closes.

The body is stored as Scrapy saw it (decompressed); ``Content-Encoding``,
``Transfer-Encoding`` and ``Content-Length`` are rewritten to match, so the
record replays as the same response.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Self, cast

from isal import isal_zlib

from crawler.archive.layout import RAW_DIR

logger = logging.getLogger(__name__)

REPLAY_META = "crawler_raw"
"""Request meta of a page replayed from the store (crawler.crawling.replay): ``{"ref", "fetched_at"}``."""
_SEQUENCE = itertools.count()
_SEQUENCE_LOCK = threading.Lock()


class RawPageError(Exception):
    """A ``raw_ref`` that does not lead to a stored page; the message says why."""


@dataclass(frozen=True)
class StoredPage:
    """One stored response, ready to be replayed."""

    url: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    date: str


def format_ref(relative: str, offset: int, length: int) -> str:
    return f"{relative}:{offset}:{length}"


def ref_length(ref: str) -> int:
    """The stored length of a reference this process made (no checks: see parse_ref)."""
    return int(ref.rpartition(":")[2])


def parse_ref(ref: str) -> tuple[str, int, int]:
    """``(path relative to the archive root, offset, length)``; RawPageError if malformed."""
    try:
        relative, offset, length = ref.rsplit(":", 2)
        start, size = int(offset), int(length)
    except (ValueError, AttributeError):
        raise RawPageError(f"not a raw page reference (path:offset:length): {ref!r}") from None
    if start < 0 or size <= 0 or not _inside_raw(relative):
        raise RawPageError(f"not a raw page reference inside {RAW_DIR}/: {ref!r}")
    return relative, start, size


@lru_cache(maxsize=4096)
def _inside_raw(relative: str) -> bool:
    """Is ``relative`` a path under ``raw/``? (Cached: a run's pages share a few files.)"""
    path = Path(relative)
    return relative.startswith(RAW_DIR + "/") and ".." not in path.parts and not path.is_absolute()


def read_page(root: Path | str, ref: str) -> StoredPage:
    """The page a row's ``raw_ref`` points to (one seek, one read, one gzip member).

    The member is decompressed whole and its record read here, as warcio reads it
    (header lines decoded as UTF-8, else Latin-1; continuation lines joined): its
    buffered line reader cost a replayed page more than decompressing it.
    ``tests/test_raw_reextract.py`` checks the two agree.
    """
    relative, offset, length = parse_ref(ref)
    path = Path(root) / relative
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            data = handle.read(length)
    except OSError as error:
        raise RawPageError(f"cannot read {path}: {error.strerror or error}") from None
    if len(data) < length:
        raise RawPageError(f"{path} ends before {ref} does ({len(data)} of {length} bytes)")
    member = isal_zlib.decompressobj(isal_zlib.MAX_WBITS + 16)
    try:
        record = member.decompress(data)
    except _INFLATE_ERROR as error:
        raise RawPageError(f"no WARC record at {ref}: {error}") from None
    if not member.eof:
        raise RawPageError(f"no WARC record at {ref}: the gzip member is cut short")
    version, fields, start = _head(record, 0)
    if not version.upper().startswith(_WARC_VERSIONS):
        raise RawPageError(f"no WARC record at {ref}: it starts with {version[:40]!r}")
    url = _get(fields, "WARC-Target-URI") or ""
    if url.startswith("<") and url.endswith(">"):  # as warcio: a known writer's bug
        url = url[1:-1]
    url = url.replace(" ", "%20")
    if _get(fields, "WARC-Type") != "response" or not url.startswith(("http:", "https:")):
        raise RawPageError(f"no response record at {ref}")
    try:
        size = int(_get(fields, "Content-Length") or "")
    except ValueError:
        raise RawPageError(f"no WARC record at {ref}: no Content-Length") from None
    block = record[start : start + size]
    status_line, headers, body_start = _head(block, 0)
    protocol, _, status = status_line.partition(" ")
    if not protocol.upper().startswith(_HTTP_VERSIONS):
        raise RawPageError(f"no HTTP response in the record at {ref}: {status_line[:40]!r}")
    try:
        code = int(status.strip().split(" ", 1)[0])
    except ValueError:
        raise RawPageError(f"no HTTP status in the record at {ref}: {status_line[:40]!r}") from None
    return StoredPage(
        url=url,
        status=code,
        headers=headers,
        body=block[body_start:],
        date=_get(fields, "WARC-Date") or "",
    )


# isal's stubs declare its error an instance; it is the class of what a bad stream raises.
_INFLATE_ERROR = cast(type[Exception], isal_zlib.error)
_WARC_VERSIONS = ("WARC/1.1", "WARC/1.0", "WARC/0.17", "WARC/0.18")
_HTTP_VERSIONS = ("HTTP/1.0", "HTTP/1.1")


def _head(data: bytes, start: int) -> tuple[str, list[tuple[str, str]], int]:
    """The first line, the header fields after it and where what follows them starts.

    Lines end at LF and lose trailing white space; a line that starts with a space
    or a tab continues the previous field; one without a colon is skipped; the
    first empty line ends the head.
    """
    lines: list[str] = []
    at = start
    while True:
        end = data.find(b"\n", at)
        stop = len(data) if end < 0 else end + 1
        line = _decode(data[at:stop]).rstrip()
        at = stop
        if not line or end < 0:
            if line:
                lines.append(line)
            break
        lines.append(line)
    fields: list[tuple[str, str]] = []
    value: str | None = None
    name = ""
    for line in lines[1:]:
        if line.startswith((" ", "\t")):
            if value is not None:
                value += line
            continue
        if value is not None:
            fields.append((name, value))
        name, colon, rest = line.partition(":")
        name, value = (name.rstrip(" \t"), rest.lstrip()) if colon else (name, None)
    if value is not None:
        fields.append((name, value))
    return (lines[0] if lines else ""), fields, at


def _decode(line: bytes) -> str:
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("iso-8859-1")


def _get(fields: list[tuple[str, str]], name: str) -> str | None:
    """The first value of a field, its name in any case (as warcio's ``get_header``)."""
    wanted = name.lower()
    return next((value for key, value in fields if key.lower() == wanted), None)


# ISA-L's deflate at level 1: standard gzip members, the size of zlib's level 1 (pages
# compress ~3x) at a third of its time; zlib level 9 gained ~12% size at four times the time.
GZIP_LEVEL = 1


def warc_record(
    warc_type: str,
    fields: list[tuple[str, str]],
    block: bytes,
    content_type: str,
    payload: bytes | None = None,
) -> bytes:
    """One WARC/1.1 record, digests included, serialised by hand.

    Building records through warcio's writer cost more than compressing them
    (bench/RESULTS.md); ``read_page`` reads them by hand too, and the tests read
    them with warcio: their digests, and that ``read_page`` agrees with it.
    """
    head = [("WARC-Type", warc_type), ("WARC-Record-ID", f"<urn:uuid:{uuid.uuid4()}>"), *fields]
    if payload is not None:
        head.append(("WARC-Payload-Digest", _sha1(payload)))
    head += [
        ("WARC-Block-Digest", _sha1(block)),
        ("Content-Type", content_type),
        ("Content-Length", str(len(block))),
    ]
    text = "".join(f"{name}: {_field(value)}\r\n" for name, value in head)
    return b"WARC/1.1\r\n" + text.encode("utf-8") + b"\r\n" + block + b"\r\n\r\n"


def _sha1(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode("ascii")


def _field(value: str) -> str:
    """A header value on one line (a line break would end the header block)."""
    return value.replace("\r", " ").replace("\n", " ") if "\r" in value or "\n" in value else value


class RawFile:
    """One WARC file being appended to by this process."""

    def __init__(self, root: Path, site: str, run_id: str, fsync_seconds: float = 1.0) -> None:
        from crawler.archive.writer import check_path_component

        check_path_component(site, "site")
        check_path_component(run_id, "run_id")
        directory = root / RAW_DIR / f"site={site}"
        directory.mkdir(parents=True, exist_ok=True)
        self.root = root
        self.fsync_seconds = fsync_seconds
        self._synced = 0.0
        while True:
            with _SEQUENCE_LOCK:
                seq = next(_SEQUENCE)
            self.path = directory / f"{run_id}-{os.getpid()}-{seq:05d}.warc.gz"
            try:
                self._handle = open(self.path, "xb")  # noqa: SIM115 - kept open while crawling
                break
            except FileExistsError:
                continue
        self.relative = self.path.relative_to(root).as_posix()
        fields = (
            f"software: defence-news-crawler\r\nformat: WARC File Format 1.1\r\nrun: {run_id}\r\n"
        )
        self._write(
            warc_record(
                "warcinfo",
                [("WARC-Date", _warc_date(datetime.now(UTC))), ("WARC-Filename", self.path.name)],
                fields.encode("utf-8"),
                "application/warc-fields",
            )
        )
        self._sync(force=True)
        self.records = 0

    def add(
        self, url: str, status: int, headers: list[tuple[str, str]], body: bytes, when: datetime
    ) -> str:
        """Append one response record; return its reference once it is on disk."""
        http = "".join(f"{_field(name)}: {_field(value)}\r\n" for name, value in headers)
        head = f"HTTP/1.1 {status} {_reason(status)}\r\n{http}\r\n".encode("latin-1", "replace")
        record = warc_record(
            "response",
            [("WARC-Target-URI", url), ("WARC-Date", _warc_date(when))],
            head + body,
            "application/http; msgtype=response",
            payload=body,
        )
        offset = self._handle.tell()
        self._write(record)
        self._sync()
        self.records += 1
        return format_ref(self.relative, offset, self._handle.tell() - offset)

    def _write(self, record: bytes) -> None:
        """One record as one gzip member, appended whole."""
        member = isal_zlib.compressobj(GZIP_LEVEL, isal_zlib.DEFLATED, isal_zlib.MAX_WBITS + 16)
        self._handle.write(member.compress(record) + member.flush())

    def _sync(self, force: bool = False) -> None:
        """Flush always (a killed process loses nothing referenced); fsync now and then."""
        self._handle.flush()
        now = time.monotonic()
        if force or now - self._synced >= self.fsync_seconds:
            os.fsync(self._handle.fileno())
            self._synced = now

    def close(self) -> None:
        if not self._handle.closed:
            try:
                self._sync(force=True)
            finally:
                self._handle.close()


class RawStore:
    """The WARC files of one run in one process: one per site, opened on first use."""

    def __init__(self, root: Path | str, run_id: str, fsync_seconds: float = 1.0) -> None:
        self.root = Path(root)
        self.run_id = run_id
        self.fsync_seconds = fsync_seconds
        self._files: dict[str, RawFile] = {}
        self.bytes = 0

    def store(
        self,
        site: str,
        url: str,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        when: datetime | None = None,
    ) -> str:
        raw = self._files.get(site)
        if raw is None:
            raw = self._files[site] = RawFile(self.root, site, self.run_id, self.fsync_seconds)
        ref = raw.add(url, status, headers, body, when or datetime.now(UTC))
        self.bytes += ref_length(ref)
        return ref

    @property
    def files(self) -> list[Path]:
        return [raw.path for raw in self._files.values()]

    def close(self) -> None:
        """Close every file, even after one failed; then raise the first error."""
        errors: list[OSError] = []
        for raw in self._files.values():
            try:
                raw.close()
            except OSError as error:
                errors.append(error)
        if errors:
            raise errors[0]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def _warc_date(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- capture during a crawl ------------------------------------------------------------
