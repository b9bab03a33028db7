"""Every archive command reads exactly the archive it is given, whatever its path holds.

DuckDB reads each name of a file list as a glob pattern: before the fix, an
archive at ``arc[1]`` was read as ``arc1`` (``[1]`` matches the character
``1``), and ``crawler compact --archive 'arc[1]'`` kept nothing of it. Here
every archive lives beside neighbours its name would match as a pattern, with
files of the very same relative names, and every command must see its own rows
and no others'.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench.synthetic import build_archive
from crawler.archive import ArchiveWriter, read_table
from crawler.archive import compaction as compact_module
from crawler.archive.compaction import CheckFailed, compact
from crawler.cli import main
from crawler.items import sha256_hex

# Each name with the neighbours it would match, read as a DuckDB glob.
NAMES = ["a[1]", "a*", "a?b", "with space", "it's", '"quoted"', "Việt", "b]x", "back\\slash"]
NEIGHBOURS = ["a1", "ab", "axb", "a"]
MARKER_FILE = "part-marker-1-00000.parquet"


def marker_url(name: str) -> str:
    return "https://marker.example/" + hashlib.sha256(name.encode()).hexdigest()[:12]


def plant_marker(root: Path, name: str) -> None:
    """One row only this archive has, in a file whose name every archive shares."""
    first = sorted((root / "articles").rglob("*.parquet"))[0]
    table = pq.read_table(first).slice(0, 1)
    url = marker_url(name)
    for column, value in (("url", url), ("url_key", sha256_hex(url)), ("title", name)):
        table = table.set_column(
            table.schema.get_field_index(column), table.schema.field(column), pa.array([value])
        )
    pq.write_table(table, first.with_name(MARKER_FILE))


def snapshot(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_archive(
        tmp_path_factory.mktemp("base") / "archive", 90, runs=2, flush_rows=20, days=60
    )


@pytest.fixture(scope="module")
def neighbourhood(base: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every archive of NAMES and NEIGHBOURS side by side, each with its own marker row."""
    parent = tmp_path_factory.mktemp("odd")
    for name in NAMES + NEIGHBOURS:
        shutil.copytree(base, parent / name)
        plant_marker(parent / name, name)
    return parent


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def own_urls(base: Path, name: str) -> list[str]:
    return sorted([*read_table(base, columns=["url"]).column("url").to_pylist(), marker_url(name)])


@pytest.mark.parametrize("name", NAMES)
def test_every_read_command_reads_exactly_its_archive(
    name: str, base: Path, neighbourhood: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(neighbourhood / name)
    urls = own_urls(base, name)
    others = [marker_url(other) for other in NAMES + NEIGHBOURS if other != name]

    status, out, _ = run(capsys, "inspect", "--archive", root, "--json")
    summary = json.loads(out)
    assert status == 0 and summary["total"]["rows"] == len(urls) == summary["total"]["articles"]
    assert summary["files"] == len(list((Path(root) / "articles").rglob("*.parquet")))

    status, out, _ = run(capsys, "show", marker_url(name), "--archive", root, "--json")
    assert status == 0 and json.loads(out)["title"] == name
    status, _, err = run(capsys, "show", others[0], "--archive", root)
    assert status == 2 and "no article for" in err

    status, out, _ = run(capsys, "sample", "--archive", root, "-n", "1000", "--json")
    assert status == 0 and sorted(r["url"] for r in json.loads(out)) == urls

    status, out, _ = run(capsys, "sql", "SELECT url FROM articles", "--archive", root, "--json")
    assert status == 0 and sorted(r["url"] for r in json.loads(out)) == urls

    status, out, _ = run(capsys, "export", "--archive", root)
    assert status == 0 and sorted(json.loads(line)["url"] for line in out.splitlines()) == urls

    page = neighbourhood / f"report-{hashlib.sha256(name.encode()).hexdigest()[:8]}.html"
    status, _, err = run(capsys, "report", "--archive", root, "--html", str(page))
    assert status == 0 and f"({len(urls)} articles," in err
    page.unlink()

    status, out, _ = run(capsys, "validate", "--archive", root, "--json")
    report = json.loads(out)
    assert status == 0 and report["rows"] == len(urls) and report["ok"]

    status, _, err = run(capsys, "reextract", "--archive", root)
    skipped = sum(int(n) for n in re.findall(r"(\d+) (?:no stored page|unknown spider)", err))
    assert status == 0 and skipped == len(urls), err


@pytest.mark.parametrize("name", NAMES)
def test_compact_keeps_its_own_archive_and_leaves_the_neighbours(
    name: str, base: Path, tmp_path: Path
) -> None:
    for other in [name, *NEIGHBOURS]:
        shutil.copytree(base, tmp_path / other)
    root = tmp_path / name
    newer = add_newer_versions(root)
    before = {other: snapshot(tmp_path / other) for other in NEIGHBOURS}
    distinct = len(set(read_table(root, columns=["url_key"]).column("url_key").to_pylist()))

    assert main(["compact", "--archive", str(root), "--rows-per-file", "7"]) == 0

    after = read_table(root).to_pylist()
    assert len(after) == distinct == len({row["url_key"] for row in after}) == 90
    titles = {row["url_key"]: row["title"] for row in after}
    assert all(titles[key] == title for key, title in newer.items())
    assert {other: snapshot(tmp_path / other) for other in NEIGHBOURS} == before


def add_newer_versions(root: Path) -> dict[str, str]:
    """A newer row (a later run of the same fetch) of every third article."""
    titles = {}
    with ArchiveWriter(root, "20991231T000000Z-newer", flush_rows=5) as writer:
        for row in read_table(root).to_pylist()[::3]:
            title = "newer: " + row["title"]
            writer.add({**row, "title": title, "crawl_run": "20991231T000000Z-newer"})
            titles[row["url_key"]] = title
    return titles


def test_compact_of_arc_1_beside_arc1_as_the_issue_ran_it(base: Path, tmp_path: Path) -> None:
    """The report: `compact --archive 'arc[1]'` printed `105 rows -> 0 files, 0 rows`."""
    shutil.copytree(base, tmp_path / "arc[1]")
    shutil.copytree(base, tmp_path / "arc1")
    add_newer_versions(tmp_path / "arc[1]")
    neighbour = snapshot(tmp_path / "arc1")
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "compact", "--archive", "arc[1]", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["rows_before"] - result["rows_after"] == 30  # exactly the older versions
    rows = read_table(tmp_path / "arc[1]", columns=["url_key"]).column("url_key").to_pylist()
    assert len(rows) == len(set(rows)) == 90
    assert snapshot(tmp_path / "arc1") == neighbour


def test_compaction_checks_its_plan_and_changes_nothing_when_it_does_not_add_up(
    base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = shutil.copytree(base, tmp_path / "archive")
    add_newer_versions(root)
    before = snapshot(root / "articles")
    # DuckDB's answer as the glob bug gave it: no row to keep anywhere.
    monkeypatch.setattr(
        compact_module,
        "newest_rows",
        lambda files: {compact_module.absolute(f): set() for f in files},
    )
    status, _, err = run(capsys, "compact", "--archive", str(root))
    assert status == 2
    assert err.startswith("crawler compact: error: compaction stopped: the rows to keep in ")
    assert "nothing was changed" in err and len(err.strip().splitlines()) == 1
    assert snapshot(root / "articles") == before


def _lose_a_row(tables: list[pa.Table]) -> list[pa.Table]:
    return [tables[0].slice(1), *tables[1:]]


def _last_row_first(tables: list[pa.Table]) -> list[pa.Table]:
    whole = pa.concat_tables(tables)
    return [pa.concat_tables([whole.slice(whole.num_rows - 1), whole.slice(0, whole.num_rows - 1)])]


@pytest.mark.parametrize(
    ("spoil", "message"),
    [(_lose_a_row, "expected"), (_last_row_first, "do not hold the rows chosen, in order")],
    ids=["a row lost", "rows out of order"],
)
def test_compaction_reads_back_each_partition_before_swapping_it_in(
    base: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    spoil: Callable[[list[pa.Table]], list[pa.Table]],
    message: str,
) -> None:
    """What was written is read back, its rows and their order, before it replaces the
    partition: a write that lost a row or moved one changes nothing."""
    root = shutil.copytree(base, tmp_path / "archive")
    add_newer_versions(root)
    before = snapshot(root / "articles")
    real_write = compact_module._write

    def spoiled_write(groups: Iterable[pa.Table], *args: Any) -> list[Path]:
        return real_write(spoil(list(groups)), *args)

    monkeypatch.setattr(compact_module, "_write", spoiled_write)
    with pytest.raises(CheckFailed, match=message):
        compact(root)
    assert snapshot(root / "articles") == before
    assert not (root / "_compact").exists()
