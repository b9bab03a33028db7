"""Every example of ``crawler CMD --help``, run as printed, from a copy of the
repository (what a clone holds) after ``crawler demo``: it exits 0 and does what it says.

The copy lives under a path with a space and brackets; the examples run there with
the copy's code first on ``PYTHONPATH``, so that those that write into the checkout
(``new-site``, ``fixture``) write into the copy. ``crontab`` is a stand-in on ``PATH``
that keeps the user's table in a file: the example must add to it, not replace it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.commands import EXAMPLES

ROOT = Path(__file__).resolve().parent.parent
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git", ".venv", "output", "__pycache__", ".*_cache", ".hypothesis", "*.egg-info",
    "test-artifacts", "build", "dist",
)  # fmt: skip
# The demo first (it builds the archive the others read), those that change it last.
ORDER = (
    "demo", "clean", "extract", "inspect", "show", "sample", "search", "sql", "export", "validate", "index",
    "report", "fixture", "new-site", "schedule", "crawl", "crawl-all", "reextract", "compact",
)  # fmt: skip
FAKE_CRONTAB = """#!/bin/sh
# crontab -l prints the table (none yet: an error, as the real one says); crontab - replaces it
case "$1" in
  -l) cat "$CRONTAB_FILE" 2>/dev/null || { echo "no crontab for $USER" >&2; exit 1; } ;;
  -) cat > "$CRONTAB_FILE.new" && mv "$CRONTAB_FILE.new" "$CRONTAB_FILE" ;;
  *) echo "fake crontab: unexpected $*" >&2; exit 2 ;;
esac
"""
USERS_LINE = "0 3 * * * /usr/local/bin/backup   # the user's own job"


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("examples")
    checkout = base / "my checkout [copy]"
    shutil.copytree(ROOT, checkout, ignore=NOT_IN_A_CLONE)
    (checkout / "output").mkdir()
    tools = base / "bin"
    tools.mkdir()
    (tools / "crontab").write_text(FAKE_CRONTAB)
    (tools / "crontab").chmod(0o755)
    (base / "crontab").write_text(USERS_LINE + "\n")
    return checkout


def environment(checkout: Path) -> dict[str, str]:
    tools = checkout.parent / "bin"
    path = os.pathsep.join((str(tools), str(Path(sys.executable).parent), os.environ["PATH"]))
    return {
        **os.environ,
        "PATH": path,
        "PYTHONPATH": str(checkout),
        "CRONTAB_FILE": str(checkout.parent / "crontab"),
    }


def printed_example(checkout: Path, command: str) -> str:
    """The example as ``crawler COMMAND --help`` prints it."""
    done = subprocess.run(
        ["crawler", command, "--help"],
        capture_output=True, text=True, cwd=checkout, env=environment(checkout), timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    _, sep, example = done.stdout.partition("example: ")
    assert sep, f"crawler {command} --help shows no example"
    return example


def run_example(checkout: Path, command: str) -> subprocess.CompletedProcess[str]:
    example = printed_example(checkout, command)
    done = subprocess.run(
        ["bash", "-c", "set -e -o pipefail\n" + example],
        capture_output=True, text=True, cwd=checkout, env=environment(checkout), timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, f"{example}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    return done


def test_every_command_has_an_example_and_none_reaches_outside_the_repository() -> None:
    assert sorted(ORDER) == sorted(EXAMPLES)
    for example in EXAMPLES.values():
        assert "../" not in example and "/tmp/" not in example, example


@pytest.mark.parametrize("command", ORDER)
def test_the_example_runs_as_printed(clone: Path, command: str) -> None:
    done = run_example(clone, command)
    out = clone / "output"
    if command == "demo":
        assert "articles archived under output/articles" in done.stdout
    elif command == "clean":
        assert json.loads(done.stdout)["body"]
    elif command == "extract":
        assert json.loads(done.stdout)["article_id"] == "812203"
        (line,) = (clone / "records.jsonl").read_text("utf-8").splitlines()
        assert json.loads(line)["title"].startswith("Thiết kế")
    elif command == "show":
        assert "812203" in done.stdout
    elif command == "export":
        data = (clone / "qdnd-2025.csv").read_bytes()
        assert data.startswith(b"\xef\xbb\xbf") and "Quân đội".encode() in data
    elif command == "validate":
        assert "no problems" in done.stdout
    elif command == "report":
        assert (clone / "report.html").stat().st_size > 10_000
    elif command == "fixture":
        case = clone / "tests/fixtures/qdnd/thiet-ke-tu-tam-nang-tam-chat-luong-812203.json"
        source = json.loads(case.read_text("utf-8"))["source"]
        assert source.startswith("crawler/mirror/sites/qdnd.vn/pages/")  # no machine's path
    elif command == "new-site":
        assert (clone / "crawler/sites/vnexpress_qp.py").is_file()
    elif command == "schedule":
        table = (clone.parent / "crontab").read_text()
        assert table.startswith(USERS_LINE + "\n")  # the user's own line kept
        assert "crawl-all --config" in table
    elif command in ("crawl", "crawl-all"):
        assert (out / "_runs").is_dir() or command == "crawl"
    elif command == "reextract":
        assert "unchanged" in done.stderr
    assert not (clone.parent / "output").exists()  # every archive is the clone's own
