"""Every name the archive has on disk, defined once.

::

    <root>/articles/site=<site>/year=<YYYY>/month=<MM>/part-<run>-<pid>-<seq>.parquet
    <root>/raw/...                  the fetched pages, as WARC files
    <root>/_runs/<run>.json         crawl-all manifests, and crawl-all.lock
    <root>/_runs/metrics.prom       the last run's numbers for node_exporter's textfile collector
    <root>/_compact/                compaction's staging area
    <root>/_quarantine/             files `crawler validate --quarantine` moved aside
    <root>/_index/rows.parquet      derived: a few small columns of every row, sorted by url_key
    <root>/_search/index.sqlite3    the full-text index `crawler search` keeps (derived, rebuildable)

Names starting with ``.`` or ``_`` are never archive files: a writer's
temporary file (``.part-….parquet.tmp``) becomes visible only when renamed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

ARTICLES_DIR = "articles"
RAW_DIR = "raw"
RUNS_DIR = "_runs"
COMPACT_DIR = "_compact"
QUARANTINE_DIR = "_quarantine"
INDEX_DIR = "_index"
INDEX_FILE = "rows.parquet"  # under INDEX_DIR: crawler.archive.catalog's row index
SEARCH_DIR = "_search"
SEARCH_INDEX = "index.sqlite3"  # under SEARCH_DIR: derived from the archive, rebuilt on demand
LOCK_FILE = "crawl-all.lock"  # under RUNS_DIR: one crawl-all or compaction at a time
METRICS_FILE = "metrics.prom"  # under RUNS_DIR: the last crawl-all run, Prometheus text format

WRITTEN_DIRS = (ARTICLES_DIR, RAW_DIR, RUNS_DIR)
"""Directories under the root that a crawl writes into (rows, WARC pages, run manifests)."""

PROTECTED_DIRS = (ARTICLES_DIR, RAW_DIR, COMPACT_DIR, QUARANTINE_DIR, SEARCH_DIR)
"""Directories only the archive writer, compaction, quarantine and search write into."""

TEMP_FILE_RE = re.compile(r"^\.part-(?P<run>.+)-(?P<pid>\d+)-(?P<seq>\d{5,})\.parquet\.tmp$")
"""Our temporary files, and only those: what a sweep may remove."""


def file_name(run_id: str, pid: int, seq: int) -> str:
    """The name of a finished archive file (its temporary name is ``.`` + this + ``.tmp``)."""
    return f"part-{run_id}-{pid}-{seq:05d}.parquet"


def run_prefix(run_id: str) -> str:
    """What the names of one run's files start with."""
    return f"part-{run_id}-"


def lock_path(root: Path | str) -> Path:
    return Path(root) / RUNS_DIR / LOCK_FILE


def metrics_path(root: Path | str) -> Path:
    return Path(root) / RUNS_DIR / METRICS_FILE


def index_path(root: Path | str) -> Path:
    """The archive's row index (derived from the Parquet files; rebuilt by ``crawler index``)."""
    return Path(root) / INDEX_DIR / INDEX_FILE


def search_index_path(root: Path | str) -> Path:
    """The full-text index of ``crawler search``."""
    return Path(root) / SEARCH_DIR / SEARCH_INDEX


def manifest_path(root: Path | str, run_id: str) -> Path:
    """A crawl-all run's manifest."""
    return Path(root) / RUNS_DIR / f"{run_id}.json"


def parquet_names(root: Path | str) -> list[str]:
    """Every visible Parquet file under ``<root>/articles``, as its name relative to that
    directory (``site=…/year=…/month=…/part-….parquet``), in a stable order.

    Strings, not paths: an archive of years holds tens of thousands of files, and
    listing them is the first step of every look-up (a ``Path`` each costs more than
    the listing itself). Links to directories are not followed.
    """
    names: list[str] = []

    def walk(directory: str, prefix: str) -> None:
        try:
            with os.scandir(directory) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            return
        subdirectories = []
        for entry in entries:
            name = entry.name
            if name.startswith((".", "_")):
                continue
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if not entry.is_symlink():
                    subdirectories.append(name)
            elif name.endswith(".parquet"):
                names.append(prefix + name)
        for name in subdirectories:
            walk(os.path.join(directory, name), f"{prefix}{name}/")

    walk(os.path.join(root, ARTICLES_DIR), "")
    return names


def iter_parquet_files(root: Path | str) -> Iterator[Path]:
    """Every visible Parquet file under ``<root>/articles``, in a stable order."""
    articles = Path(root) / ARTICLES_DIR
    for name in parquet_names(root):
        yield articles / name


def protected_dir(target: Path | str) -> Path | None:
    """The archive directory (``articles/``, ``raw/`` …) that writing ``target`` would
    write into, or None. Any archive counts, not only the one a command reads: a
    directory of one of those names beside an ``articles/`` directory. Symbolic links
    in the directories are followed (the file itself is replaced, not followed)."""
    path = Path(target)
    full = Path(os.path.realpath(path.parent)) / path.name
    for place in (full, *full.parents):
        if place.name in PROTECTED_DIRS and (place.parent / ARTICLES_DIR).is_dir():
            return place
    return None


def pid_alive(pid: int) -> bool:
    """Whether the writer whose pid a temporary file names may still be running here."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    return True
