"""Crash points for the crash tests: ``CRAWLER_CRASH_AT=<point>`` kills the process there.

The archive must survive a SIGKILL at any moment; the tests prove it at the
moments that matter by setting this variable in a crawl's environment. Unset
(always, outside tests), a crash point costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

POINTS = (
    "before-first-file",  # rows buffered, no file written yet
    "mid-write",  # a temporary file half written
    "before-rename",  # a temporary file whole, not yet renamed
    "shutdown",  # the spider closing, rows still buffered
)


def crash_point(name: str) -> None:
    if os.environ.get("CRAWLER_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
