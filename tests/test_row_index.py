"""The row index (crawler.archive.catalog) and what reads it: show by key prefix, sample, inspect.

The index is derived: every answer must be the one the Parquet files give, when the
index is missing, current, stale (files added, changed or gone), or cannot be saved.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from bench.synthetic import build_archive
from crawler.archive import ArchiveWriter, read_table
from crawler.archive.catalog import FORMAT_KEY, open_index, rebuild, survey
from crawler.archive.layout import index_path
from crawler.archive.lookup import _next_prefix, archive_summary, find_article
from crawler.cli import main

ROWS = 300


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("index") / "arc [1] 'q' \"d\""
    build_archive(root, ROWS, runs=3, flush_rows=60, days=200)
    return root


@pytest.fixture
def archive(built: Path, tmp_path: Path) -> Path:
    """A fresh copy, without an index, at a path with brackets, spaces and quotes."""
    root = tmp_path / built.name
    shutil.copytree(built, root)
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _rows(root: Path) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = read_table(
        root, columns=["url", "url_key", "title"]
    ).to_pylist()
    return rows


def _unique_prefix(keys: list[str]) -> str:
    """A 5-digit prefix of exactly one of ``keys``."""
    return next(k[:5] for k in keys if sum(1 for other in keys if other.startswith(k[:5])) == 1)


def test_next_prefix_bounds_every_key_that_starts_with_it() -> None:
    assert _next_prefix("abc") == "abd"
    assert _next_prefix("ab9") == "aba"
    assert _next_prefix("a0ff") == "a1"
    assert _next_prefix("ffff") == "g"
    for prefix in ("abc", "a0ff", "ffff", "09"):
        top = _next_prefix(prefix)
        assert prefix + "f" * 60 < top and prefix < top


def test_show_takes_a_unique_prefix_a_key_and_a_url_alike(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _rows(archive)
    unique = _unique_prefix([str(r["url_key"]) for r in rows])
    row = next(r for r in rows if str(r["url_key"]).startswith(unique))
    outputs = []
    for target in (unique, unique.upper(), str(row["url_key"]), str(row["url"])):
        status, out, _ = run(capsys, "show", target, "--archive", str(archive))
        assert status == 0
        outputs.append(out)
    assert len(set(outputs)) == 1 and outputs[0].startswith(f"{row['title']}\n")
    # what show prints as the key is itself a prefix it takes
    printed = next(line for line in outputs[0].splitlines() if line.startswith("url_key "))
    shown = printed.split()[1].rstrip("…")
    assert run(capsys, "show", shown, "--archive", str(archive))[1] == outputs[0]


def test_an_ambiguous_prefix_lists_the_matches_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "arc"
    rows = [
        {**r, "url_key": key, "url": f"https://www.qdnd.vn/x-{n}"}
        for n, (r, key) in enumerate(
            zip(
                read_table(_small(tmp_path)).to_pylist()[:3],
                ["abcd" + "0" * 60, "abcd" + "1" * 60, "abce" + "0" * 60],
                strict=True,
            )
        )
    ]
    with ArchiveWriter(root, "run-1") as writer:
        for record in rows:
            writer.add(record)
    status, _, err = run(capsys, "show", "abcd", "--archive", str(root))
    assert status == 2
    assert len(err.strip().splitlines()) == 1
    assert "abcd" + "0" * 60 in err and "abcd" + "1" * 60 in err and "abce" not in err
    status, out, _ = run(capsys, "show", "abce", "--archive", str(root), "--json")
    assert status == 0 and json.loads(out)["url_key"] == "abce" + "0" * 60
    for bad in ("abc", "xyz123", "abcd-"):
        status, _, err = run(capsys, "show", bad, "--archive", str(root))
        assert status == 2 and len(err.strip().splitlines()) == 1


def _small(tmp_path: Path) -> Path:
    root = tmp_path / "small"
    build_archive(root, 6, runs=1)
    return root


def test_the_first_read_builds_the_index_and_later_files_are_seen(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert not index_path(archive).exists()
    before = archive_summary(archive)
    assert index_path(archive).is_file()
    con = duckdb.connect()
    assert not survey(archive, con).fresh
    assert FORMAT_KEY.encode() in (pq.read_metadata(index_path(archive)).metadata or {})
    # a crawl writes one more article: show finds it, inspect counts it, without a rebuild
    new = {**read_table(archive).to_pylist()[0], "url": "https://www.qdnd.vn/new-1"}
    from crawler.items import sha256_hex

    new["url_key"] = sha256_hex(new["url"])
    with ArchiveWriter(archive, "20990101T000000Z-new") as writer:
        writer.add(new)
    assert len(survey(archive, con).fresh) == 1
    row, versions = find_article(archive, new["url"])
    assert row is not None and row["url"] == new["url"] and versions == 1
    after = archive_summary(archive)
    assert after["total"]["rows"] == before["total"]["rows"] + 1
    assert after["files"] == before["files"] + 1


def test_a_gone_or_changed_file_is_not_read_from_the_index(archive: Path) -> None:
    rebuild(archive)
    files = sorted((archive / "articles").rglob("*.parquet"))
    gone = read_table(archive, columns=["url_key"]).num_rows
    victim = files[0]
    lost = pq.read_table(victim, columns=["url_key"]).column("url_key").to_pylist()
    victim.unlink()
    summary = archive_summary(archive)
    assert summary["total"]["rows"] == gone - len(lost)
    assert find_article(archive, lost[0]) == (None, 0)
    # a file rewritten in place (same name, other rows) is read again, not from the index
    donor = files[1]
    shutil.copyfile(donor, victim)
    summary = archive_summary(archive)
    assert summary["total"]["rows"] == gone - len(lost) + pq.read_metadata(donor).num_rows


def test_answers_are_the_same_with_and_without_the_index(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index_path(archive).parent.write_text("in the way")  # cannot be saved: all read from files
    status, cold, _ = run(capsys, "inspect", "--archive", str(archive), "--json")
    assert status == 0 and index_path(archive).parent.is_file()
    _, cold_sample, _ = run(capsys, "sample", "-n", "3", "--seed", "4", "--archive", str(archive))
    index_path(archive).parent.unlink()
    rebuild(archive)
    _, warm, _ = run(capsys, "inspect", "--archive", str(archive), "--json")
    _, warm_sample, _ = run(capsys, "sample", "-n", "3", "--seed", "4", "--archive", str(archive))
    assert json.loads(cold) == json.loads(warm)
    assert cold_sample == warm_sample and cold_sample.count("url_key ") == 3
    # a damaged index is rebuilt, not trusted
    index_path(archive).write_bytes(b"PAR1 not an index")
    _, again, _ = run(capsys, "inspect", "--archive", str(archive), "--json")
    assert json.loads(again) == json.loads(warm)


def test_the_index_command_rebuilds_it(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "index", "--archive", str(archive))
    assert status == 0 and f"{ROWS:,} rows" in err and index_path(archive).is_file()
    con = duckdb.connect()
    catalog = open_index(archive, con, refresh=False)
    indexed = con.execute("SELECT count(*), count(DISTINCT url_key) FROM idx").fetchall()[0]
    assert indexed == (ROWS, ROWS) and not catalog.fresh and not catalog.stale
    keys = pq.read_table(index_path(archive), columns=["url_key"]).column("url_key").to_pylist()
    assert keys == sorted(keys)


def test_validate_checks_the_index_against_the_files(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from crawler.archive.checking import validate

    report = validate(archive)
    assert not report.problems and any("no row index yet" in w for w in report.warnings)
    rebuild(archive)
    report = validate(archive)
    assert not report.problems and not any("index" in w for w in report.warnings)
    # an index whose rows are not the files' (keys moved to other rows) is a problem
    table = pq.read_table(index_path(archive))
    metadata = pq.read_metadata(index_path(archive)).metadata
    keys = table.column("url_key").to_pylist()
    shifted = table.set_column(
        table.schema.get_field_index("url_key"), "url_key", [keys[1:] + keys[:1]]
    )
    pq.write_table(shifted.replace_schema_metadata(metadata), index_path(archive))
    report = validate(archive)
    assert [p.kind for p in report.problems] == ["index"]
    assert "crawler index" in report.problems[0].detail
    status, out, _ = run(capsys, "validate", "--archive", str(archive))
    assert status == 1 and "row index" in out
    # rebuilding it makes it right again
    rebuild(archive)
    assert not validate(archive).problems


def test_after_compaction_the_same_answers_and_the_index_follows(
    archive: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = _rows(archive)
    target = str(rows[11]["url_key"])
    _, before_show, _ = run(capsys, "show", target[:12], "--archive", str(archive))
    _, before, _ = run(capsys, "inspect", "--archive", str(archive), "--json")
    assert index_path(archive).is_file()
    assert main(["compact", "--archive", str(archive)]) == 0
    capsys.readouterr()
    con = duckdb.connect()
    catalog = survey(archive, con)
    assert catalog.stale and catalog.fresh  # every file was swapped
    _, after_show, _ = run(capsys, "show", target[:12], "--archive", str(archive))
    _, after, _ = run(capsys, "inspect", "--archive", str(archive), "--json")
    assert after_show == before_show
    old, new = json.loads(before), json.loads(after)
    assert new["total"] == old["total"] and new["sites"] == old["sites"]
    assert new["files"] < old["files"]
    caught_up = survey(archive, con)  # the read brought the index up to date
    assert not caught_up.stale and not caught_up.fresh


def test_inspect_reads_the_summary_the_index_stored_only_while_it_is_current(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from crawler.archive import summary
    from crawler.items import sha256_hex

    # a refetch: one article twice, so that articles and rows differ
    again = {**read_table(archive).to_pylist()[0], "crawl_run": "20990101T000000Z-again"}
    with ArchiveWriter(archive, "20990101T000000Z-again") as writer:
        writer.add(again)
    rebuild(archive)
    catalog = survey(archive, duckdb.connect())
    assert catalog.current and catalog.footer[summary.SUMMARY_KEY]
    selections = [None, [again["site"]], [again["site"], "en.qdnd.vn"], ["no.such.site"]]
    stored = {}
    for sites in selections[:3]:
        stored[str(sites)] = archive_summary(archive, sites)
    assert stored["None"]["total"]["articles"] == stored["None"]["total"]["rows"] - 1
    # the same numbers computed live from the index rows
    monkeypatch.setattr(summary, "stored", lambda text, sites: None)
    for sites in selections[:3]:
        assert archive_summary(archive, sites) == stored[str(sites)], sites
    monkeypatch.undo()
    assert not archive_summary(archive, ["no.such.site"])["total"].get("rows")
    # a stored summary that says something else shows it is the one read …
    forged = summary.Summary.from_json(catalog.footer[summary.SUMMARY_KEY])
    forged.articles[None] = 1
    monkeypatch.setattr(summary, "stored", lambda text, sites: forged)
    assert archive_summary(archive)["total"]["articles"] == 1
    # … but never once a file is added: then the index is not the archive
    new = {**again, "url": "https://www.qdnd.vn/new-2", "crawl_run": "20990102T000000Z-new"}
    new["url_key"] = sha256_hex(new["url"])
    with ArchiveWriter(archive, "20990102T000000Z-new") as writer:
        writer.add(new)
    after = archive_summary(archive)
    assert after["total"]["articles"] == stored["None"]["total"]["articles"] + 1
    assert after["total"]["rows"] == stored["None"]["total"]["rows"] + 1


@pytest.mark.parametrize("indexed", [True, False])
def test_a_sample_of_every_article_has_each_once_at_its_newest_row(
    archive: Path, indexed: bool
) -> None:
    from datetime import timedelta

    from crawler.archive.lookup import random_articles

    first = read_table(archive).to_pylist()[0]
    newer = {
        **first,
        "title": "the newer row",
        "fetched_at": first["fetched_at"] + timedelta(days=1),
        "crawl_run": "20990101T000000Z-again",
    }
    with ArchiveWriter(archive, "20990101T000000Z-again") as writer:
        writer.add(newer)
    if indexed:
        rebuild(archive)
        assert survey(archive, duckdb.connect()).current
    else:
        index_path(archive).parent.write_text("in the way")  # nothing saved: all computed
    every = random_articles(archive, ROWS + 10, seed=3)
    assert len(every) == ROWS and len({row["url_key"] for row in every}) == ROWS
    assert [row["title"] for row in every if row["url_key"] == first["url_key"]] == [
        "the newer row"
    ]
    some = random_articles(archive, 5, [first["site"]], seed=3)
    assert len(some) == 5 and {row["site"] for row in some} == {first["site"]}
    assert random_articles(archive, 5, [first["site"]], seed=3) == some
    assert random_articles(archive, 5, [first["site"]], seed=4) != some


def test_the_report_reads_the_numbers_the_index_stored_only_while_it_is_current(
    archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import crawler.report as report
    from crawler.items import sha256_hex

    first = read_table(archive).to_pylist()[0]
    again = {**first, "title": "again", "crawl_run": "20990101T000000Z-again"}
    with ArchiveWriter(archive, "20990101T000000Z-again") as writer:
        writer.add(again)  # an older row: counted once
    rebuild(archive)

    def numbers() -> dict[str, object]:
        data = report.report_data(archive)
        data.pop("generated")
        return data

    stored = numbers()
    assert stored["totals"]["articles"] == ROWS and stored["totals"]["rows"] == ROWS + 1  # type: ignore[index]
    monkeypatch.setattr(report, "stored_report", lambda text: None)
    assert numbers() == stored  # counted live: the same
    monkeypatch.setattr(report, "stored_report", lambda text: {**stored, "tags": ["forged"]})
    assert numbers()["tags"] == ["forged"]  # the stored numbers are what is read …
    new = {**first, "url": "https://www.qdnd.vn/new-3", "crawl_run": "20990102T000000Z-new"}
    new["url_key"] = sha256_hex(new["url"])
    with ArchiveWriter(archive, "20990102T000000Z-new") as writer:
        writer.add(new)
    after = numbers()  # … until a file is added
    assert after["tags"] != ["forged"] and after["totals"]["articles"] == ROWS + 1  # type: ignore[index]
