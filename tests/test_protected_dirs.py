"""No command but the writer and compaction writes into an archive's articles/ or raw/.

Before: ``crawler export -o`` pointed at a Parquet file under ``articles/``
replaced it with JSON lines (11 rows lost, exit 0).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from bench.synthetic import build_archive
from crawler.cli import main


def tree(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parent = tmp_path_factory.mktemp("protected")
    for name in ("archive", "other"):
        build_archive(parent / name, 40, runs=1, flush_rows=40, days=30)
        (parent / name / "raw" / "site=x.vn").mkdir(parents=True)
    (parent / "to-articles").symlink_to(parent / "archive" / "articles")
    return parent


def test_export_onto_an_archive_file_is_refused_as_the_issue_ran_it(place: Path) -> None:
    victim = sorted((place / "archive" / "articles").rglob("*.parquet"))[0]
    before = tree(place / "archive")
    archive = str(place / "archive")
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "export", "--archive", archive, "-o", str(victim)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"crawler export: error: refused to write {victim}")
    assert tree(place / "archive") == before


@pytest.mark.parametrize(
    ("argv", "target"),
    [
        (["export"], "archive/articles/site=x.vn/new.jsonl"),
        (["export"], "archive/articles"),
        (["export", "--format", "csv"], "archive/raw/site=x.vn/pages.csv"),
        (["export"], "archive/raw"),
        (["export"], "archive/_compact/x.jsonl"),
        (["export"], "archive/_quarantine/x.jsonl"),
        (["export"], "other/articles/x.jsonl"),  # any archive's, not only the one read
        (["export"], "to-articles/through-a-link.jsonl"),
        (["report", "--html"], "archive/raw/report.html"),
        (["report", "--html"], "other/articles/report.html"),
    ],
)
def test_outputs_into_an_archive_directory_are_refused(
    place: Path, argv: list[str], target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = {name: tree(place / name) for name in ("archive", "other")}
    output = [] if argv[0] == "report" else ["-o"]
    status = main([*argv, *output, str(place / target), "--archive", str(place / "archive")])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1 and "refused to write" in err and "give a path outside" in err
    assert {name: tree(place / name) for name in ("archive", "other")} == before


def test_other_writing_commands_refuse_archive_directories_too(
    place: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree(place / "archive")
    assert main(["schedule", "--write", str(place / "archive" / "articles")]) == 2
    assert main(["fixture", "qdnd", "--refresh", "--dir", str(place / "archive" / "raw")]) == 2
    err = capsys.readouterr().err
    assert err.count("refused to write") == 2
    assert tree(place / "archive") == before


def test_outputs_beside_the_archive_are_written(
    place: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for target in ("archive/export.jsonl", "archive-export.jsonl", "articles.jsonl"):
        assert main(["export", "--archive", str(place / "archive"), "-o", str(place / target)]) == 0
        assert len((place / target).read_text("utf-8").splitlines()) == 40
    capsys.readouterr()
