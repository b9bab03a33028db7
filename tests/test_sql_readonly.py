"""crawler sql reads the archive and nothing else, and writes nothing.

Before: the statement ran on an ordinary DuckDB connection, so ``COPY … TO``
wrote anywhere (into ``articles/`` too, planting or overwriting archive files),
``read_text('/etc/passwd')`` read anything and ``ATTACH`` opened any database.
Now only one query runs, on a connection limited to the archive's own files
with its configuration locked; everything else is one line and exit 2.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.synthetic import build_archive
from crawler.cli import main

SECRET = "do-not-read-me"


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An archive, a secret file beside it, and another archive beside it."""
    parent = tmp_path_factory.mktemp("sql")
    build_archive(parent / "archive", 60, runs=2, flush_rows=20, days=40)
    shutil.copytree(parent / "archive", parent / "other")
    (parent / "secret.txt").write_text(f"name,value\n{SECRET},1\n", "utf-8")
    return parent


def tree(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "_runs" not in path.parts
    }


def an_archive_file(root: Path) -> Path:
    return sorted((root / "articles").rglob("*.parquet"))[0]


REFUSED = [
    # writes
    ("COPY (SELECT 1 AS x) TO '{place}/out.csv'", "COPY statements are not run"),
    (
        "COPY (SELECT * FROM articles LIMIT 1) TO '{victim}' (FORMAT parquet, USE_TMP_FILE false)",
        "COPY statements are not run",
    ),
    (
        "COPY (SELECT * FROM articles) TO '{place}/archive/articles/site=x.vn/year=2020/"
        "month=01/part-planted-1-00000.parquet' (FORMAT parquet)",
        "COPY statements are not run",
    ),
    ("EXPORT DATABASE '{place}/dump'", "EXPORT statements are not run"),
    ("CREATE TABLE t AS SELECT 1", "CREATE statements are not run"),
    ("CREATE OR REPLACE VIEW latest AS SELECT 1", "CREATE statements are not run"),
    ("EXPLAIN ANALYZE COPY (SELECT 1) TO '{place}/out.csv'", "only a query can be explained"),
    ("SELECT 1; COPY (SELECT 1) TO '{place}/out.csv'", "give one statement, not 2"),
    ("SELECT * FROM query('COPY (SELECT 1) TO ''{place}/out.csv''')", "SELECT statement"),
    # other files, other databases, extensions, settings
    ("SELECT * FROM read_text('{place}/secret.txt')", "refused: Permission Error"),
    ("SELECT * FROM read_csv('{place}/secret.txt')", "refused: Permission Error"),
    ("SELECT * FROM read_blob('/etc/passwd')", "refused: Permission Error"),
    ("SELECT * FROM glob('{place}/*')", "refused: Permission Error"),
    ("SELECT count(*) FROM read_parquet('{place}/other/articles/**/*.parquet')", "refused"),
    ("SELECT count(*) FROM read_parquet('{other_file}')", "refused: Permission Error"),
    ("ATTACH '{place}/x.duckdb' AS x", "ATTACH statements are not run"),
    ("INSTALL httpfs", "LOAD statements are not run"),
    ("LOAD httpfs", "LOAD statements are not run"),
    ("SET enable_external_access = true", "SET statements are not run"),
    ("RESET allowed_paths", "SET statements are not run"),
    ("PRAGMA version", "PRAGMA statements are not run"),
    ("CALL pragma_version()", "CALL statements are not run"),
    ("-- nothing but a comment", "give one statement, not 0"),
]


@pytest.mark.parametrize(("sql", "message"), REFUSED)
def test_anything_but_one_query_on_the_archive_is_refused(
    place: Path, sql: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = tree(place)
    statement = sql.format(
        place=place,
        victim=an_archive_file(place / "archive"),
        other_file=an_archive_file(place / "other"),
    )
    status = main(["sql", statement, "--archive", str(place / "archive")])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("crawler sql: error: "), err
    assert message in lines[0]
    assert SECRET not in err
    assert tree(place) == before  # nothing written, nothing overwritten, nothing planted


def test_as_a_user_types_it_a_write_into_the_archive_is_one_line_exit_2(place: Path) -> None:
    victim = an_archive_file(place / "archive")
    before = victim.read_bytes()
    statement = f"COPY (SELECT 1 AS url) TO '{victim}' (FORMAT parquet, USE_TMP_FILE false)"
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "sql", "-", "--archive", str(place / "archive")],
        input=statement,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert victim.read_bytes() == before


QUERIES = [
    # README's examples
    "SELECT site, count(*) AS n FROM latest GROUP BY site ORDER BY n DESC",
    "SELECT url, title FROM articles WHERE len(images) = 0",
    # every kind of query
    "WITH n AS (SELECT count(*) AS rows FROM articles) SELECT rows FROM n",
    "VALUES (1, 'a'), (2, 'b')",
    "FROM latest SELECT count(*)",
    "DESCRIBE articles",
    "SUMMARIZE SELECT site, published_at FROM latest",
    "SHOW TABLES",
    "EXPLAIN SELECT count(*) FROM latest",
    "explain analyze select count(*) from articles",
    "SELECT count(*) FROM read_parquet('{own_file}')",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_queries_still_run(place: Path, sql: str, capsys: pytest.CaptureFixture[str]) -> None:
    statement = sql.format(own_file=an_archive_file(place / "archive"))
    status = main(["sql", statement, "--archive", str(place / "archive"), "--json"])
    out, err = capsys.readouterr()
    assert status == 0, err
    assert isinstance(json.loads(out), list) and json.loads(out)


def test_the_views_read_the_whole_archive_inside_the_limits(
    place: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        [
            "sql",
            "SELECT count(*) AS rows, count(DISTINCT url_key) AS keys FROM articles",
            "--archive",
            str(place / "archive"),
            "--json",
        ]
    )
    assert status == 0
    assert json.loads(capsys.readouterr().out) == [{"rows": 60, "keys": 60}]
