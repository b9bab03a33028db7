"""One crawl-all run (or compaction) at a time per archive: an advisory file lock."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path


class LockHeld(RuntimeError):
    """Another crawl-all run is going on in this archive."""


@contextmanager
def run_lock(path: Path) -> Iterator[None]:
    """An exclusive, non-blocking lock; released when the process ends, however it ends."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise LockHeld(f"another crawl-all run holds {path} ({holder}); not starting") from None
    try:
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ}\n")
        handle.flush()
        yield
    finally:
        handle.close()
