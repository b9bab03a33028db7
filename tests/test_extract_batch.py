"""`crawler extract SPIDER --batch LIST.tsv`: many saved pages, one process, one line each."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from crawler.crawling.saved_pages import batch_lines, json_line
from crawler.kit.fixtures import fixture_page

FIXTURES = Path(__file__).parent / "fixtures" / "qdnd"
PER_RUN = ("fetched_at", "crawl_run", "raw_ref")


def crawler(
    *args: str, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        input=stdin,
    )


def cases(n: int) -> list[tuple[Path, dict[str, Any]]]:
    found = sorted(FIXTURES.glob("*.json"))[:n]
    return [(fixture_page(case), json.loads(case.read_text("utf-8"))) for case in found]


def without_run(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k not in PER_RUN}


def test_batch_gives_one_line_per_list_line_in_order(tmp_path: Path) -> None:
    (a, case_a), (b, case_b) = cases(2)
    odd = tmp_path / "pages [1]" / "a \"quoted\" 'page'.html"  # spaces, brackets, quotes
    odd.parent.mkdir()
    shutil.copy(a, odd)
    shutil.copy(b, tmp_path / "b.html")
    (tmp_path / "listing.html").write_text("<html><body><h1>Menu</h1></body></html>", "utf-8")
    lines = [
        f"{odd.relative_to(tmp_path)}\t{case_a['url']}",
        f"missing.html\t{case_a['url']}",
        "",
        f"listing.html\t{case_a['url']}",
        "no tab here",
        "b.html\tnot a url",
        f"b.html\t{case_b['url']}",
    ]
    (tmp_path / "list.tsv").write_text("\n".join(lines) + "\n", "utf-8")
    done = crawler("extract", "qdnd", "--batch", str(tmp_path / "list.tsv"), cwd=Path("/"))
    assert done.returncode == 1  # some pages gave no record
    out = done.stdout.split("\n")
    assert out[-1] == "" and len(out) - 1 == len(lines)
    assert without_run(json.loads(out[0])) == case_a["record"]
    assert out[1:6] == ["", "", "", "", ""]
    assert without_run(json.loads(out[6])) == case_b["record"]
    errors = done.stderr.strip().splitlines()
    assert errors[0] == f"line 2: {tmp_path / 'missing.html'}: no such file"
    assert errors[1].startswith(f"line 4: {tmp_path / 'listing.html'}: not an article")
    assert errors[2] == "line 5: expected PATH<TAB>URL"
    assert errors[3] == f"line 6: {tmp_path / 'b.html'}: 'not a url' is not an http(s) URL"
    assert errors[4] == "extract: 2 records, 4 pages failed"  # the blank line is no failure


def test_batch_with_every_page_good_exits_0_and_matches_single_extract(tmp_path: Path) -> None:
    pages = cases(3)
    listing = "".join(f"{page}\t{case['url']}\n" for page, case in pages)  # absolute paths
    done = crawler("extract", "qdnd", "--batch", "-", cwd=tmp_path, stdin=listing)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["url"] for r in records] == [case["url"] for _, case in pages]
    page, case = pages[0]
    single = crawler("extract", "qdnd", str(page), "--url", case["url"])
    assert without_run(json.loads(single.stdout)) == without_run(records[0])


def test_stdin_list_paths_are_relative_to_the_current_folder(tmp_path: Path) -> None:
    ((page, case),) = cases(1)
    shutil.copy(page, tmp_path / "page.html")
    done = crawler(
        "extract", "qdnd", "--batch", "-", cwd=tmp_path, stdin=f"page.html\t{case['url']}"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["title"] == case["record"]["title"]


def test_encoding_is_detected_per_page_unless_given(tmp_path: Path) -> None:
    ((page, case),) = cases(1)
    text = page.read_text("utf-8").replace("<head>", '<head><meta charset="windows-1258">', 1)
    body = text.encode("windows-1258", errors="xmlcharrefreplace")
    (tmp_path / "legacy.html").write_bytes(body)
    listing = tmp_path / "list.tsv"
    listing.write_text(f"legacy.html\t{case['url']}\n", "utf-8")
    done = crawler("extract", "qdnd", "--batch", str(listing))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["title"] == case["record"]["title"]
    forced = crawler("extract", "qdnd", "--batch", str(listing), "--encoding", "latin-1")
    assert json.loads(forced.stdout)["title"] != case["record"]["title"]
    bad = crawler("extract", "qdnd", "--batch", str(listing), "--encoding", "nosuch")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "crawler extract: error: --encoding: unknown encoding 'nosuch'"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--batch", "nosuch.tsv"), "no such list file: nosuch.tsv"),
        (("page.html", "--batch", "x.tsv"), "give one saved page (FILE --url URL) or --batch"),
        (("--batch", "x.tsv", "--url", "https://x.vn/"), "--url goes with one page"),
        (("page.html",), "--url is needed"),
        ((), "give one saved page (FILE --url URL) or --batch"),
    ],
)
def test_bad_batch_arguments_are_one_line_errors(args: tuple[str, ...], message: str) -> None:
    done = crawler("extract", "qdnd", *args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip().startswith(f"crawler extract: error: {message}")


def test_one_record_is_always_one_line() -> None:
    record = {"title": "a\u2028b\u2029c\x85d\ne", "body": "</script>="}
    line = json_line(record)
    assert len(line.splitlines()) == 1
    assert json.loads(line) == record


def test_list_lines_take_the_url_after_the_last_tab(tmp_path: Path) -> None:
    lines = list(batch_lines(["a\tb.html\thttps://x.vn/1\r\n", "   \n", "x"], tmp_path))
    assert lines[0].path == tmp_path / "a\tb.html" and lines[0].url == "https://x.vn/1"
    assert lines[1].path is None and not lines[1].problem
    assert lines[2].problem == "expected PATH<TAB>URL" and lines[2].number == 3


def test_what_is_not_a_page_file_is_refused_without_reading_it(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")  # reading it would wait for ever
    lines = ["fifo\thttps://www.qdnd.vn/a-1", "/dev/zero\thttps://www.qdnd.vn/a-1"]
    (tmp_path / "list.tsv").write_text("\n".join(lines) + "\n", "utf-8")
    done = crawler("extract", "qdnd", "--batch", str(tmp_path / "list.tsv"))
    assert done.returncode == 1
    assert done.stdout == "\n\n"
    assert done.stderr.splitlines()[:2] == [
        f"line 1: {tmp_path / 'fifo'}: not a regular file",
        "line 2: /dev/zero: not a regular file",
    ]
