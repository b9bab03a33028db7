"""One damaged file, or one of another schema, under articles/: one clear line, everywhere.

Before: an unreadable file stopped its site's crawling (the incremental start
raised, with a traceback) until a person moved it, and a file with the wrong
column types crashed ``compact`` and ``report`` with a traceback. Now every
command, the crawl's start included, refuses with one line that names the file
and says what to do; ``crawler validate --quarantine`` moves such files (and
only those) to ``<archive>/_quarantine/`` with a note of why, deleting nothing.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench.synthetic import build_archive
from crawler.archive import ArchiveReadError, known_url_keys, read_table
from crawler.cli import main
from crawler.mirror.server import MirrorServer
from crawler.sites.qdnd import QdndSpider

ROWS = 60


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(
        tmp_path_factory.mktemp("clean") / "archive", ROWS, runs=2, flush_rows=30, days=40
    )


def first_file(root: Path, site: str = "qdnd.vn") -> Path:
    return sorted((root / "articles" / f"site={site}").rglob("*.parquet"))[0]


def plant(root: Path, kind: str, site: str = "qdnd.vn") -> Path:
    """A bad file beside a good one of ``site``: cut short, retyped, or foreign."""
    good = first_file(root, site)
    bad = good.with_name(f"part-{kind}-1-00000.parquet")
    table = pq.read_table(good)
    if kind == "truncated":  # killed mid-copy: no footer
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "retyped":  # url_key as numbers
        index = table.schema.get_field_index("url_key")
        numbers = pa.array(range(table.num_rows), pa.int64())
        pq.write_table(table.set_column(index, "url_key", numbers), bad)
    elif kind == "foreign":  # some other program's table
        pq.write_table(pa.table({"id": [1, 2], "name": ["a", "b"]}), bad)
    elif kind == "damaged":  # a bad sector in the bodies; the footer is intact
        pq.write_table(table, bad)
        chunk = pq.read_metadata(bad).row_group(0).column(table.schema.get_field_index("body"))
        data = bytearray(bad.read_bytes())
        middle = chunk.data_page_offset + chunk.total_compressed_size // 2
        data[middle : middle + 64] = bytes(64)
        bad.write_bytes(bytes(data))
    else:
        raise ValueError(kind)
    return bad


def plant_other_writer(root: Path, site: str = "qdnd.vn") -> tuple[str, pa.Table]:
    """A file of one new article as another writer (Polars, Spark) spells the types:
    large strings and lists, milliseconds, a zone written "+00:00". Its URL and row."""
    first = first_file(root, site)
    url = "https://example.vn/other-writer"
    row = pq.read_table(first).slice(0, 1)
    row = row.set_column(0, "url", pa.array([url], pa.large_string()))
    row = row.set_column(1, "url_key", pa.array([hashlib.sha256(url.encode()).hexdigest()]))
    for name, kind in (
        ("authors", pa.large_list(pa.large_string())),
        ("published_at", pa.timestamp("ms", "UTC")),
        ("fetched_at", pa.timestamp("us", "+00:00")),
    ):
        index = row.schema.get_field_index(name)
        row = row.set_column(index, name, row.column(name).cast(kind, safe=False))
    pq.write_table(row, first.with_name("part-polars-1-00000.parquet"))
    return url, row


def tree(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "_runs" not in path.parts
    }


COMMANDS = [
    ["inspect"],
    ["show", "https://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/bai-1"],
    ["sample"],
    ["sql", "SELECT count(*) FROM articles"],
    ["export"],
    ["report", "--html", "{tmp}/report.html"],
    ["compact"],
    ["reextract"],
]


@pytest.mark.parametrize("kind", ["truncated", "retyped", "foreign"])
@pytest.mark.parametrize("argv", COMMANDS, ids=lambda argv: argv[0])
def test_every_command_names_the_file_and_what_to_do(
    kind: str,
    argv: list[str],
    clean: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = shutil.copytree(clean, tmp_path / "archive")
    bad = plant(root, kind)
    before = tree(root)
    status = main([a.format(tmp=tmp_path) for a in argv] + ["--archive", str(root)])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"crawler {argv[0]}: error: {bad}: ")
    assert f"crawler validate --quarantine --archive {root}" in lines[0]
    expected = "unreadable" if kind == "truncated" else "not an archive file"
    assert expected in lines[0]
    assert tree(root) == before
    assert not (tmp_path / "report.html").exists()


@pytest.mark.parametrize(
    "argv",
    [
        ["inspect"],
        ["export"],
        ["sql", "SELECT * FROM articles"],
        ["report", "--html", "{tmp}/r.html"],
        ["compact"],
    ],
    ids=lambda argv: argv[0],
)
def test_a_page_damaged_behind_an_intact_footer_is_named_when_read(
    argv: list[str], clean: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The footers are checked before every read; a damaged page is found by reading
    it, and then named the same way."""
    root = shutil.copytree(clean, tmp_path / "archive")
    bad = plant(root, "damaged")
    before = tree(root)
    status = main([a.format(tmp=tmp_path) for a in argv] + ["--archive", str(root)])
    out, err = capsys.readouterr()
    assert status == 2 and out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"crawler {argv[0]}: error: {bad}: unreadable (")
    assert f"crawler validate --quarantine --archive {root}" in err
    assert tree(root) == before
    assert main(["validate", "--archive", str(root), "--quarantine"]) == 1
    assert f"quarantined {bad.relative_to(root)}" in capsys.readouterr().out


def test_validate_lists_them_and_says_how_to_move_them(
    clean: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = shutil.copytree(clean, tmp_path / "archive")
    plant(root, "truncated")
    plant(root, "retyped", site="en.qdnd.vn")
    assert main(["validate", "--archive", str(root)]) == 1
    out = capsys.readouterr().out
    assert "unreadable files (1):" in out and "files whose schema is not the archive's" in out
    assert "2 files stop the other commands" in out
    assert f"`crawler validate --quarantine --archive {root}`" in out


def test_quarantine_moves_only_the_bad_files_with_a_note_and_deletes_nothing(
    clean: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = shutil.copytree(clean, tmp_path / "archive")
    bad = {kind: plant(root, kind, site) for kind, site in (
        ("truncated", "qdnd.vn"), ("retyped", "en.qdnd.vn"), ("foreign", "bienphong.com.vn")
    )}  # fmt: skip
    contents = {kind: path.read_bytes() for kind, path in bad.items()}
    good = {p: p.read_bytes() for p in (root / "articles").rglob("*.parquet")}
    for path in bad.values():
        del good[path]

    assert main(["validate", "--archive", str(root), "--quarantine"]) == 1
    out = capsys.readouterr().out
    assert out.count("quarantined articles/") == 3
    assert "3 files moved to" in out and "nothing was deleted" in out
    for kind, path in bad.items():
        relative = path.relative_to(root)
        moved = root / "_quarantine" / relative
        assert not path.exists()
        assert moved.read_bytes() == contents[kind]
        note = moved.with_name(moved.name + ".why").read_text("utf-8")
        assert relative.as_posix() in note
        assert ("unreadable" if kind == "truncated" else "not an archive file") in note
    assert {p: p.read_bytes() for p in (root / "articles").rglob("*.parquet")} == good

    # The archive reads again, every good row of it, and validates.
    assert main(["inspect", "--archive", str(root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total"]["rows"] == ROWS
    assert main(["validate", "--archive", str(root)]) == 0
    capsys.readouterr()


def test_quarantine_never_overwrites_an_earlier_one(
    clean: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = shutil.copytree(clean, tmp_path / "archive")
    first = plant(root, "truncated")
    first_bytes = first.read_bytes()
    assert main(["validate", "--archive", str(root), "--quarantine"]) == 1
    # The same name turns up damaged again (a second bad copy), different bytes.
    first.write_bytes(b"PAR1 not really")
    assert main(["validate", "--archive", str(root), "--quarantine", "--json"]) == 1
    assert '"quarantined": [' in capsys.readouterr().out
    target = root / "_quarantine" / first.relative_to(root)
    again = target.with_name(target.name.replace(".parquet", ".1.parquet"))
    assert target.read_bytes() == first_bytes
    assert again.read_bytes() == b"PAR1 not really"
    assert again.with_name(again.name + ".why").is_file()
    assert target.with_name(target.name + ".why").is_file()


def test_older_and_newer_schema_versions_are_not_bad_files(
    clean: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """v1 files lack raw_ref; a newer crawler's files may add columns: both read."""
    root = shutil.copytree(clean, tmp_path / "archive")
    table = pq.read_table(first_file(root))
    url = "https://example.vn/newer"
    newer = table.slice(0, 1).append_column("added_later", pa.array(["x"]))
    newer = newer.set_column(0, "url", pa.array([url]))
    newer = newer.set_column(1, "url_key", pa.array([hashlib.sha256(url.encode()).hexdigest()]))
    pq.write_table(
        newer.replace_schema_metadata({b"crawler.schema_version": b"3"}),
        first_file(root).with_name("part-v3-1-00000.parquet"),
    )
    assert (
        main(["sql", "SELECT count(*) AS n FROM articles", "--archive", str(root), "--json"]) == 0
    )
    assert json.loads(capsys.readouterr().out) == [{"n": ROWS + 1}]
    assert main(["validate", "--archive", str(root), "--quarantine"]) == 1  # v3: reported
    assert "quarantined" not in capsys.readouterr().out  # ... but not moved


def test_the_pyarrow_readers_give_the_same_message(clean: Path, tmp_path: Path) -> None:
    root = shutil.copytree(clean, tmp_path / "archive")
    bad = plant(root, "retyped")
    with pytest.raises(ArchiveReadError, match="crawler validate --quarantine") as raised:
        known_url_keys(root, "qdnd.vn")
    assert str(raised.value).startswith(f"{bad}: not an archive file")
    assert len(known_url_keys(root, "en.qdnd.vn")) > 0  # another site's crawl goes on
    with pytest.raises(ArchiveReadError, match="crawler validate --quarantine"):
        known_url_keys(root)
    stray = root / "articles" / "site=qdnd.vn" / "notes.txt"
    stray.write_text("not Parquet, not read by any command", "utf-8")
    bad.unlink()
    assert read_table(root).num_rows == ROWS


@pytest.mark.parametrize("kind", ["truncated", "retyped"])
def test_a_crawl_stops_its_site_with_one_line_and_a_failing_status(
    kind: str, clean: Path, tmp_path: Path
) -> None:
    root = shutil.copytree(clean, tmp_path / "archive")
    bad = plant(root, kind)
    before = tree(root)
    with MirrorServer() as server:
        command = ["crawl", "qdnd", "--out", str(root), "--log-level", "WARNING"]
        settings = [f"CRAWLER_MIRROR_URL={server.base_url}", "DOWNLOAD_DELAY=0"]
        done = subprocess.run(
            [sys.executable, "-m", "crawler.cli", *command, *(f"-s{s}" for s in settings)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if " ERROR: " in line]
    assert len(errors) == 1, done.stderr
    assert f"cannot start: {bad}: " in errors[0]
    assert f"crawler validate --quarantine --archive {root}" in errors[0]
    assert "qdnd: archive_unreadable; 0 articles archived" in done.stderr
    assert tree(root) == before  # nothing fetched again, nothing archived
    listing = urlsplit(QdndSpider.listing_urls[0])
    assert server.requests_for(listing.netloc, listing.path) == 0  # the site was not crawled


def test_the_rule_knows_the_types_duckdb_reads_from_the_writers_files(clean: Path) -> None:
    import duckdb

    from crawler.archive import views as duck
    from crawler.archive.schema import FILE_SCHEMA, SCHEMA_VERSION, SCHEMA_VERSION_KEY

    assert duck.SCHEMA_VERSION == SCHEMA_VERSION
    assert duck.SCHEMA_VERSION_KEY.encode() == SCHEMA_VERSION_KEY
    described = duckdb.sql(
        f"DESCRIBE SELECT * FROM read_parquet({duck.sql_list([first_file(clean)])}, "
        "hive_partitioning = false)"
    ).fetchall()
    assert {row[0]: row[1] for row in described} == duck.FILE_COLUMN_TYPES
    assert list(duck.FILE_COLUMN_TYPES) == FILE_SCHEMA.names


def test_other_spellings_of_the_same_types_are_read_not_refused(
    clean: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Other writers (Polars, Spark) spell strings, lists and timestamps differently;
    every command reads such a file, and --quarantine leaves it."""
    root = shutil.copytree(clean, tmp_path / "archive")
    url, _ = plant_other_writer(root)
    status = main(["sql", "SELECT count(*) AS n FROM latest", "--archive", str(root), "--json"])
    assert status == 0 and json.loads(capsys.readouterr().out) == [{"n": ROWS + 1}]
    assert url in {r["url"] for r in read_table(root, columns=["url"]).to_pylist()}
    assert len(known_url_keys(root, "qdnd.vn")) == 1 + len(known_url_keys(clean, "qdnd.vn"))
    main(["validate", "--archive", str(root), "--quarantine"])
    assert "quarantined" not in capsys.readouterr().out
    assert first_file(root).with_name("part-polars-1-00000.parquet").is_file()
