"""crawler inspect, show, sample, sql, export: over a synthetic archive of a few hundred rows."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.synthetic import build_archive
from crawler.archive import RECORD_COLUMNS, ArchiveWriter, read_table
from crawler.archive.lookup import archive_summary
from crawler.archive.views import RECORD_COLUMNS as DUCK_COLUMNS
from crawler.archive.views import connect
from crawler.cli import main
from crawler.commands.query import render_table
from tests.conftest import DATA

ROWS = 600


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("inspect") / "archive"
    build_archive(root, ROWS, runs=3, flush_rows=250, days=400)
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_views_keep_the_contract_columns() -> None:
    assert DUCK_COLUMNS == RECORD_COLUMNS


def test_inspect_counts_match_the_archive(archive: Path) -> None:
    summary = archive_summary(archive)
    table = read_table(archive, columns=["site", "url_key", "published_at", "images", "body"])
    assert summary["total"]["rows"] == ROWS == table.num_rows
    assert summary["total"]["articles"] == ROWS
    assert summary["files"] == len(list((archive / "articles").rglob("*.parquet")))
    assert summary["schema_versions"] == {"v2": summary["files"]}
    sites = {s["site"]: s for s in summary["sites"]}
    rows = table.to_pylist()
    for site, entry in sites.items():
        own = [r for r in rows if r["site"] == site]
        assert entry["rows"] == len(own)
        dated = sorted(r["published_at"] for r in own if r["published_at"])
        assert entry["first_published"] == dated[0].date().isoformat()
        with_images = sum(1 for r in own if r["images"]) / len(own)
        assert entry["with_images"] == pytest.approx(with_images, abs=1e-4)
    # every partition is listed, undated ones as month "unknown-unknown"
    months = {(p["site"], p["month"]) for p in summary["partitions"]}
    assert sum(p["rows"] for p in summary["partitions"]) == ROWS
    assert any(month == "unknown-unknown" for _, month in months)
    first = summary["partitions"][0]
    assert first["top_authors"] and first["top_authors"][0]["articles"] >= 1
    assert first["median_body_chars"] > 500


def test_inspect_command_table_and_json(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "inspect", "--archive", str(archive))
    assert status == 0
    assert f"{ROWS:,} rows" in out and "schema v2" in out
    assert "qdnd.vn" in out and "top authors" in out
    status, out, _ = run(
        capsys, "inspect", "--archive", str(archive), "--json", "--site", "qdnd.vn"
    )
    data = json.loads(out)
    assert [s["site"] for s in data["sites"]] == ["qdnd.vn"]
    assert data["total"]["rows"] == ROWS // 6


def test_inspect_reads_a_mix_of_v1_and_v2_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import shutil

    shutil.copytree(DATA / "archive_v1", tmp_path, dirs_exist_ok=True)
    with ArchiveWriter(tmp_path, "run-v2") as writer:
        writer.add(
            {
                **read_table(tmp_path).to_pylist()[0],
                "url": "https://www.qdnd.vn/x-1",
                "url_key": "k",
                "raw_ref": "raw/site=qdnd.vn/f.warc.gz:0:10",
                "crawl_run": "run-v2",
            }
        )
    _, out, _ = run(capsys, "inspect", "--archive", str(tmp_path), "--json")
    data = json.loads(out)
    assert data["schema_versions"] == {"v1": 1, "v2": 1}
    assert data["total"]["rows"] == 4 and data["total"]["with_raw_page"] == 1


def test_show_by_url_and_key(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    row = read_table(archive, columns=["url", "url_key", "title", "images", "body"]).to_pylist()[7]
    status, out, _ = run(capsys, "show", row["url"], "--archive", str(archive))
    assert status == 0
    assert out.startswith(row["title"] + "\n")
    assert row["url"] in out and row["body"].split()[0] in out
    if row["images"]:
        assert f"Images ({len(row['images'])}):" in out
    status, by_key, _ = run(capsys, "show", row["url_key"], "--archive", str(archive))
    assert by_key == out
    status, js, _ = run(capsys, "show", row["url_key"], "--archive", str(archive), "--json")
    record = json.loads(js)
    assert record["url"] == row["url"] and set(RECORD_COLUMNS) == set(record)


def test_show_picks_the_newest_of_several_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_archive(tmp_path, 12, runs=1)
    row = read_table(tmp_path).to_pylist()[3]
    newer = {**row, "title": "Newer title", "crawl_run": "20991231T000000Z-later"}
    with ArchiveWriter(tmp_path, "later") as writer:
        writer.add(newer)
    _, out, _ = run(capsys, "show", row["url"], "--archive", str(tmp_path))
    assert out.startswith("Newer title\n")
    assert "2 rows in the archive for this article" in out


def test_sample_is_random_reproducible_and_filtered(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("sample", "--archive", str(archive), "-n", "4", "--json")
    _, first, _ = run(capsys, *args, "--seed", "7")
    _, again, _ = run(capsys, *args, "--seed", "7")
    _, other, _ = run(capsys, *args, "--seed", "8")
    assert first == again and first != other
    assert len(json.loads(first)) == 4
    _, only, _ = run(capsys, *args, "--site", "en.qdnd.vn")
    assert {r["site"] for r in json.loads(only)} == {"en.qdnd.vn"}
    status, text, _ = run(capsys, "sample", "--archive", str(archive), "-n", "2")
    assert status == 0 and text.count("url_key ") == 2


def test_sql_table_csv_json(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sql = "SELECT site, count(*) AS n FROM articles GROUP BY site ORDER BY site"
    status, out, err = run(capsys, "sql", sql, "--archive", str(archive))
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split("|")[0].strip() == "site" and len(lines) == 2 + 6
    assert "6 rows" in err
    _, out, _ = run(capsys, "sql", sql, "--archive", str(archive), "--csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert sum(int(r["n"]) for r in rows) == ROWS
    _, out, _ = run(capsys, "sql", sql, "--archive", str(archive), "--json")
    assert sum(r["n"] for r in json.loads(out)) == ROWS
    _, out, _ = run(
        capsys,
        "sql",
        "SELECT count(*) AS n FROM latest WHERE year = 'unknown'",
        "--archive",
        str(archive),
        "--json",
    )
    assert json.loads(out)[0]["n"] > 0


def test_sql_table_cuts_long_cells(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(
        capsys,
        "sql",
        "SELECT body, images FROM articles",
        "--archive",
        str(archive),
        "--max-rows",
        "5",
    )
    assert status == 0 and len(out.splitlines()) == 7
    assert all(len(line) < 100 for line in out.splitlines())
    assert "more left out" in err
    assert "…" in render_table(["a"], [["x" * 100]])


def test_export_jsonl_and_csv(
    archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "export", "--archive", str(archive), "--site", "qdnd.vn")
    assert status == 0 and "export: 100 rows" in err
    records = [json.loads(line) for line in out.splitlines()]
    assert len(records) == ROWS // 6 and list(records[0]) == list(RECORD_COLUMNS)
    assert {r["site"] for r in records} == {"qdnd.vn"}
    assert all(r["published_at"] is None or r["published_at"].endswith("+00:00") for r in records)
    target = tmp_path / "since.csv"
    status, out, err = run(
        capsys,
        "export",
        "--archive",
        str(archive),
        "--format",
        "csv",
        "--since",
        "2023-06-01",
        "-o",
        str(target),
    )
    assert status == 0 and out == ""
    rows = list(csv.DictReader(target.open(encoding="utf-8", newline="")))
    assert rows and all(r["published_at"] >= "2023-06-01" for r in rows)
    assert isinstance(json.loads(rows[0]["images"]), list)
    expected = read_table(archive, columns=["published_at"]).column("published_at").to_pylist()
    cut = datetime(2023, 6, 1, tzinfo=UTC)
    assert len(rows) == sum(1 for p in expected if p and p >= cut)
    assert not list(tmp_path.glob(".*.tmp"))


def test_export_keeps_only_the_newest_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build_archive(tmp_path, 12, runs=1)
    row = read_table(tmp_path).to_pylist()[0]
    with ArchiveWriter(tmp_path, "later") as writer:
        writer.add({**row, "title": "v2", "crawl_run": "20991231T000000Z-later"})
    _, out, _ = run(capsys, "export", "--archive", str(tmp_path))
    titles = [json.loads(line)["title"] for line in out.splitlines() if row["url"] in line]
    assert titles == ["v2"]
    _, out, _ = run(capsys, "export", "--archive", str(tmp_path), "--all-versions")
    assert len(out.splitlines()) == 13


def test_view_over_archive_has_contract_columns(archive: Path) -> None:
    con = connect(archive)
    names = [d[0] for d in con.execute("SELECT * FROM articles LIMIT 0").description]
    assert names == [*RECORD_COLUMNS, "year", "month"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["inspect", "--archive", "{missing}"], "no archive at {missing}: no such directory"),
        (
            ["show", "https://x.example/a", "--archive", "{file}"],
            "it is a file, not an archive directory",
        ),
        (["sample", "--archive", "{empty}"], "has no articles/ directory"),
        (
            ["sql", "SELEC * FROM articles", "--archive", "{archive}"],
            'Parser Error: syntax error at or near "SELEC"',
        ),
        (["sql", "SELECT nope FROM articles", "--archive", "{archive}"], 'column "nope" not found'),
        (["export", "--archive", "{archive}", "-o", "{missing}/out.jsonl"], "cannot write"),
        (
            ["show", "https://x.example/none", "--archive", "{archive}"],
            "no article for https://x.example/none",
        ),
    ],
)
def test_errors_are_one_line_without_traceback(
    archive: Path, tmp_path: Path, argv: list[str], message: str
) -> None:
    places = {
        "missing": str(tmp_path / "missing"),
        "file": str(Path(__file__)),
        "empty": str(tmp_path),
        "archive": str(archive),
    }
    argv = [a.format(**places) for a in argv]
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", *argv], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith(f"crawler {argv[0]}: error: ")
    assert message.format(**places) in lines[0]


@pytest.mark.parametrize(
    "name",
    ["inspect", "show", "sample", "sql", "export", "validate", "compact", "report", "reextract"],
)
def test_every_command_has_help_with_an_example(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main([name, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "\nexample: crawler " + name in out
