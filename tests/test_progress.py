"""The progress bar: drawn on a terminal, silent in pipes and logs."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from bench.synthetic import build_archive
from crawler.progress import Progress, wanted


def test_silent_when_not_a_terminal() -> None:
    stream = io.StringIO()
    assert not wanted(stream)
    with Progress("export", 10, "rows", stream=stream) as progress:
        for _ in range(10):
            progress.advance()
    assert stream.getvalue() == ""
    assert progress.done == 10


def test_draws_and_clears_its_line() -> None:
    stream = io.StringIO()
    with Progress("compact", 4, "partitions", stream=stream, enabled=True) as progress:
        progress.advance(4)
    text = stream.getvalue()
    assert "\r\x1b[Kcompact [" in text and "100% 4/4 partitions" in text
    assert text.endswith("\r\x1b[K")
    counting = Progress("export", None, "rows", stream=io.StringIO(), enabled=True)
    counting.advance(1234)
    assert counting.line().startswith("export 1,234 rows (")


def test_dumb_terminal_gets_no_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert wanted(Tty())
    monkeypatch.setenv("TERM", "dumb")
    assert not wanted(Tty())


def run_validate(archive: Path, on_terminal: bool) -> str:
    """``crawler validate`` with standard error on a pseudo-terminal or a pipe."""
    command = [sys.executable, "-m", "crawler.cli", "validate", "--archive", str(archive)]
    env = {**os.environ, "TERM": "xterm"}
    if not on_terminal:
        done = subprocess.run(command, capture_output=True, env=env, timeout=60)
        return done.stderr.decode()
    main, secondary = pty.openpty()
    try:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=secondary, env=env)
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:  # the other end closed
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait(timeout=60)
    finally:
        os.close(main)
    return b"".join(chunks).decode(errors="replace")


def test_a_long_command_shows_it_on_a_terminal_only(tmp_path: Path) -> None:
    archive = build_archive(tmp_path, 120, runs=2, days=200)
    on_terminal = run_validate(archive, on_terminal=True)
    assert "validate [" in on_terminal and "files" in on_terminal
    in_pipe = run_validate(archive, on_terminal=False)
    assert in_pipe == "" and "\r" not in in_pipe
