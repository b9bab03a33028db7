"""The `crawler` command as a user types it: help, extract, crawl, errors."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.archive import read_table
from crawler.cli import build_parser
from crawler.commands import MODULES
from crawler.kit.fixtures import fixture_page
from crawler.mirror.replica import manifest
from crawler.mirror.server import MirrorServer

FIXTURES = Path(__file__).parent / "fixtures" / "qdnd"


def crawler(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("command", ["clean", "extract", "crawl", "demo"])
def test_every_command_has_help_with_an_example(command: str) -> None:
    done = crawler(command, "--help")
    assert done.returncode == 0
    assert "example: crawler " + command in done.stdout


def test_top_level_help_lists_commands() -> None:
    done = crawler("--help")
    assert done.returncode == 0
    for command in ("clean", "extract", "crawl", "demo"):
        assert command in done.stdout


def test_extract_prints_only_the_record_as_json() -> None:
    case = FIXTURES / "2022-701234.json"
    page = fixture_page(case)
    expected = json.loads(case.read_text("utf-8"))
    done = crawler("extract", "qdnd", str(page), "--url", expected["url"])
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["published_at"] == "2022-07-22T03:15:00+00:00"
    assert record["fetched_at"].endswith("+00:00")
    assert record.pop("raw_ref") is None  # a saved page is not a stored one
    for key in ("fetched_at", "crawl_run"):
        record.pop(key)
    assert record == expected["record"]


def test_extract_on_a_page_without_article_is_a_one_line_error(tmp_path: Path) -> None:
    page = tmp_path / "listing.html"
    page.write_text("<html><body><h1>Not an article</h1></body></html>", "utf-8")
    done = crawler(
        "extract", "qdnd", str(page), "--url", "https://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/x-1"
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().splitlines()[-1].startswith("crawler extract: error: not an article")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("extract", "nosuch", "x.html", "--url", "https://x"), "unknown spider 'nosuch'"),
        (("extract", "qdnd", "missing.html", "--url", "https://x"), "no such file"),
        (("extract", "qdnd", __file__, "--url", "http://[x"), "is not a URL: Invalid IPv6 URL"),
        (("extract", "qdnd", __file__, "--url", "www.qdnd.vn/a-1"), "is not an http(s) URL"),
        (("crawl", "nosuch"), "unknown spider nosuch"),
        (("crawl", "generic"), "--start goes with the generic spider"),
        (("crawl", "qdnd", "--start", "https://a.vn/"), "--start goes with the generic spider"),
        (("crawl", "generic", "--start", "ftp://a.vn/"), "is not an http(s) URL"),
        (("crawl", "qdnd", "--set", "BROKEN"), "--set takes NAME=VALUE"),
    ],
)
def test_errors_are_one_line(args: tuple[str, ...], message: str) -> None:
    done = crawler(*args)
    assert done.returncode == 2
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_bad_date_is_rejected() -> None:
    done = crawler("crawl", "qdnd", "--since", "yesterday")
    assert done.returncode == 2
    assert "not a date" in done.stderr


def test_crawl_command_against_the_replica(tmp_path: Path) -> None:
    with MirrorServer() as server:
        done = crawler(
            "crawl", "qdnd", "--out", str(tmp_path), "--until", "2023-12-31", "--log-level", "WARNING",
            "-s", f"CRAWLER_MIRROR_URL={server.base_url}", "-s", "DOWNLOAD_DELAY=0",
            "-s", "AUTOTHROTTLE_ENABLED=False",
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout == ""
    rows = read_table(tmp_path).to_pylist()
    old = [a for a in manifest("qdnd.vn")["articles"] if a["published"] < "2024"]
    assert sorted(r["url"] for r in rows) == sorted(a["url"] for a in old)
    assert "qdnd: finished" in done.stderr


def test_crawl_that_cannot_reach_its_site_fails(tmp_path: Path) -> None:
    with MirrorServer() as server:
        dead = server.base_url  # the server is stopped when the block ends
    done = crawler(
        "crawl", "qdnd", "--out", str(tmp_path), "--log-level", "WARNING",
        "-s", f"CRAWLER_MIRROR_URL={dead}", "-s", "RETRY_TIMES=0", "-s", "DOWNLOAD_DELAY=0",
    )  # fmt: skip
    assert done.returncode == 1
    assert "errors" in done.stderr
    assert not (tmp_path / "articles").exists()


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices)


def test_a_command_alone_is_parsed_and_helped_as_among_all() -> None:
    every = _subparsers(build_parser())
    assert list(every) == [name for names in MODULES.values() for name in names]
    for names in MODULES.values():
        for name in names:
            alone = _subparsers(build_parser(name))
            assert list(alone) == list(names)  # its module's commands, no other
            assert alone[name].format_help() == every[name].format_help()
    assert list(_subparsers(build_parser("nonesuch"))) == list(every)


def test_a_command_imports_no_other_command_module() -> None:
    code = (
        "import sys; from crawler.cli import build_parser; build_parser('reextract'); "
        "print(sorted(m for m in sys.modules if m.startswith('crawler.commands.')))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["['crawler.commands._common',", "'crawler.commands.reextract']"]
