"""crawler validate: a clean archive passes; every kind of planted damage is listed."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench.synthetic import build_archive
from crawler.archive import ArchiveWriter, read_table
from crawler.archive.checking import validate
from crawler.cli import main
from tests.conftest import DATA


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return build_archive(tmp_path / "archive", 240, runs=2, flush_rows=100, days=120)


def files(root: Path) -> list[Path]:
    return sorted((root / "articles").rglob("*.parquet"))


def kinds(root: Path) -> dict[str, int]:
    return validate(root).as_dict()["counts"]


def test_a_clean_archive_passes(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--archive", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "no problems" in out and "240 rows" in out


def test_v1_files_are_valid(tmp_path: Path) -> None:
    shutil.copytree(DATA / "archive_v1", tmp_path, dirs_exist_ok=True)
    report = validate(tmp_path)
    assert report.problems == [] and report.rows == 3


def test_planted_corruption_and_duplicates(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    victims = files(archive)
    # A file damaged inside (footer intact: only reading its pages finds it) ...
    damaged = bytearray(victims[0].read_bytes())
    middle = len(damaged) // 2
    damaged[middle : middle + 64] = bytes(64)
    victims[0].write_bytes(bytes(damaged))
    # ... one cut short (no footer) ...
    victims[1].write_bytes(victims[1].read_bytes()[:1000])
    # ... and a whole file of rows planted a second time.
    copy = victims[2].with_name("part-planted-1-00000.parquet")
    shutil.copy(victims[2], copy)
    planted = pq.read_metadata(copy).num_rows

    status = main(["validate", "--archive", str(archive)])
    out = capsys.readouterr().out
    assert status == 1
    assert "unreadable files (2):" in out
    assert victims[0].name in out and victims[1].name in out
    assert (
        f"url_keys with more than one row (`crawler compact` keeps the newest) ({planted}):" in out
    )
    assert copy.name in out
    assert out.rstrip().splitlines()[-1].startswith(f"validate {archive}: {2 + planted} problems")

    main(["validate", "--archive", str(archive), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["counts"] == {"unreadable": 2, "duplicate": planted}
    dup = next(p for p in report["problems"] if p["kind"] == "duplicate")
    assert len(dup["places"]) == 2 and any(copy.name in place for place in dup["places"])


def test_text_problems_are_found(archive: Path) -> None:
    row = read_table(archive).to_pylist()[0]
    bad = [
        {
            **row,
            "url": "https://x.example/token",
            "body": "Đoạn một.\n\nleftcenterrightdel Chú thích",
        },
        {
            **row,
            "url": "https://x.example/caption",
            "images": [{"url": "u", "caption": "left center right del Ảnh", "credit": None}],
        },
        {**row, "url": "https://x.example/empty", "body": "  "},
        {**row, "url": "https://x.example/untitled", "title": ""},
    ]
    with ArchiveWriter(archive, "planted") as writer:
        for record in bad:
            writer.add({**record, "url_key": hashlib.sha256(record["url"].encode()).hexdigest()})
    report = validate(archive)
    counts = report.as_dict()["counts"]
    assert counts == {"layout_token": 2, "empty_body": 1, "empty_title": 1}
    token = next(p for p in report.problems if p.kind == "layout_token")
    assert token.url == "https://x.example/token" and "body:" in token.detail


def test_schema_layout_partition_and_raw_ref_problems(archive: Path) -> None:
    victim = files(archive)[0]
    table = pq.read_table(victim)
    directory = victim.parent
    # A column of the wrong type.
    wrong = table.set_column(
        table.schema.get_field_index("title"), "title", pa.array([1] * table.num_rows)
    )
    pq.write_table(wrong, directory / "part-wrongtype-1-00000.parquet")
    # A file outside the layout.
    pq.write_table(table, victim.parents[2] / "stray.parquet")
    # A row dated in another month than its directory's, and a raw_ref to nowhere.
    row = read_table(archive).to_pylist()[5]
    moved = {**row, "url": "https://x.example/moved", "raw_ref": "raw/site=x/none.warc.gz:0:10"}
    moved["url_key"] = hashlib.sha256(moved["url"].encode()).hexdigest()
    fixed = pa.Table.from_pylist([moved]).drop_columns(["site"])
    target = archive / "articles" / f"site={row['site']}" / "year=2019" / "month=01"
    target.mkdir(parents=True)
    pq.write_table(fixed.cast(pq.read_schema(victim)), target / "part-moved-1-00000.parquet")
    counts = kinds(archive)
    assert counts["schema"] >= 1
    assert counts["misplaced"] == 1
    assert counts["wrong_partition"] == 1
    assert counts["raw_ref"] == 1


def test_stale_temp_file_is_a_warning_only(archive: Path) -> None:
    victim = files(archive)[0]
    (victim.parent / ".part-dead-999999-00001.parquet.tmp").write_bytes(b"half")
    report = validate(archive)
    assert report.problems == []
    assert report.warnings and "killed writer" in report.warnings[0]


def test_timestamps_are_checked_in_utc(tmp_path: Path) -> None:
    build_archive(tmp_path, 6, runs=1)
    row = read_table(tmp_path).to_pylist()[0]
    late = {
        **row,
        "url": "https://x.example/late",
        "published_at": datetime(2024, 1, 31, 23, 30, tzinfo=UTC),
    }
    late["url_key"] = hashlib.sha256(late["url"].encode()).hexdigest()
    with ArchiveWriter(tmp_path, "utc") as writer:
        writer.add(late)
    assert validate(tmp_path).problems == []


def test_older_rows_waiting_for_compact_are_a_note(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A later run archives three articles again (a refetch, a reextract): expected.
    again = read_table(archive).to_pylist()[:3]
    with ArchiveWriter(archive, "20990101T000000Z-later") as writer:
        for row in again:
            writer.add({**row, "crawl_run": "20990101T000000Z-later"})
    assert main(["validate", "--archive", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "note: 3 articles have 3 older rows" in out
    assert f"`crawler compact --archive {archive}` keeps the newest row of each" in out
    assert out.rstrip().splitlines()[-1].startswith(f"validate {archive}: no problems (3 notes)")
    main(["validate", "--archive", str(archive), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["note_counts"] == {"older_rows": 3}
    # After compaction, nothing is left to note.
    assert main(["compact", "--archive", str(archive)]) == 0
    capsys.readouterr()
    assert main(["validate", "--archive", str(archive)]) == 0
    assert "note" not in capsys.readouterr().out
