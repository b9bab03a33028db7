"""The seed article: flattened text in, the expected cleaning out, exactly."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import DATA

from crawler.items import Article
from crawler.pipelines import clean

SEED = DATA / "seed" / "000_e17f4e3068c7ab98.txt"
EXPECTED = json.loads((DATA / "seed" / "000_e17f4e3068c7ab98.expected.json").read_text("utf-8"))


def test_pipelines_clean_the_seed_as_expected() -> None:
    article = clean(
        Article(url="", site="", spider="", language="", flat_text=SEED.read_text("utf-8"))
    )
    assert article.body == EXPECTED["body"]
    assert [image.as_dict() for image in article.images] == EXPECTED["images"]
    assert article.byline == EXPECTED["byline"]
    assert article.authors == EXPECTED["authors"]


def test_clean_command_prints_exactly_the_expected_json() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "clean", str(SEED)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == EXPECTED


def test_clean_command_reads_standard_input() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "clean", "-"],
        input=SEED.read_text("utf-8"),
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == EXPECTED


def test_clean_command_missing_file_is_one_line_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "clean", "no/such/file.txt"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().count("\n") == 0
    assert "no such file" in done.stderr
