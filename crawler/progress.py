"""A progress bar for long commands: drawn on a terminal, silent anywhere else.

Long commands (export, validate, compact, reextract) run for minutes on a big
archive; on a terminal a person wants to see that they move. In a log file, a
pipe or cron mail a bar is noise (carriage returns, hundreds of redraws), so it
draws only when its stream is a terminal, and then on standard error, never on
standard output, which may carry the command's data.
"""

from __future__ import annotations

import os
import sys
import time
from types import TracebackType
from typing import IO, Self

_REDRAW_SECONDS = 0.1
_BAR_WIDTH = 30


def wanted(stream: IO[str]) -> bool:
    """True when ``stream`` is a terminal that can redraw a line (not TERM=dumb)."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):  # closed or not a real file
        return False
    return tty and os.environ.get("TERM", "") != "dumb"


class Progress:
    """Count work done and redraw one line, at most ten times a second.

    ``total`` may be unknown (``None``): then a count and a rate are shown.
    Use as a context manager; the line is cleared at the end so the command's
    own closing message starts on a clean line.
    """

    def __init__(
        self,
        label: str,
        total: int | None = None,
        unit: str = "",
        stream: IO[str] | None = None,
        enabled: bool | None = None,
    ) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.stream: IO[str] = stream if stream is not None else sys.stderr
        self.enabled = wanted(self.stream) if enabled is None else enabled
        self.done = 0
        self._started = time.monotonic()
        self._drawn = 0.0
        self._closed = False

    def advance(self, n: int = 1) -> None:
        """Count ``n`` more units; redraw if enough time has passed."""
        self.done += n
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._drawn >= _REDRAW_SECONDS or (self.total and self.done >= self.total):
            self._drawn = now
            self._draw(now)

    def line(self, now: float | None = None) -> str:
        """The text of the bar as it would be drawn now."""
        elapsed = (now if now is not None else time.monotonic()) - self._started
        unit = f" {self.unit}" if self.unit else ""
        if self.total:
            share = min(1.0, self.done / self.total)
            filled = int(share * _BAR_WIDTH)
            bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
            left = ""
            if 0 < self.done < self.total and elapsed > 1:
                left = f", {elapsed / self.done * (self.total - self.done):.0f}s left"
            return (
                f"{self.label} [{bar}] {share:4.0%} {self.done:,}/{self.total:,}{unit} "
                f"({elapsed:.0f}s{left})"
            )
        rate = self.done / elapsed if elapsed > 0 else 0.0
        return f"{self.label} {self.done:,}{unit} ({rate:,.0f}/s, {elapsed:.0f}s)"

    def _draw(self, now: float) -> None:
        try:
            self.stream.write("\r\x1b[K" + self.line(now))
            self.stream.flush()
        except (OSError, ValueError):
            self.enabled = False  # the terminal went away: carry on without a bar

    def close(self) -> None:
        """Clear the line (the final state is for the command's summary to say)."""
        if self._closed:
            return
        self._closed = True
        if self.enabled and self._drawn:
            try:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            except (OSError, ValueError):
                pass

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
