"""Archives that cannot take what the crawl fetched: the run says so, whatever --log-level.

Real processes, real files, a real write error: the crawl runs as a `crawler`
subprocess whose file-size limit (RLIMIT_FSIZE) makes every write past it fail
with EFBIG ("File too large"), as a full disk fails with ENOSPC, for root too
and without privileges. The fault server's ``/disk`` listing has 20 small
articles (a Parquet file of one is ~8 kB) and 10 big ones (~110 kB).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.faultserver import FaultServer

from crawler.archive import read_table

TESTS = Path(__file__).parent
LIMIT = 64 * 1024  # between the two sizes of article files
ARTICLES = 30

# The command line's `main`, after lowering the file-size limit (argv[1], bytes).
LIMITED = (
    "import resource, sys; n = int(sys.argv.pop(1)); "
    "resource.setrlimit(resource.RLIMIT_FSIZE, (n, n)); "
    "from crawler.cli import main; sys.exit(main(sys.argv[1:]))"
)


def crawler(*args: str, fsize: int | None = None) -> subprocess.CompletedProcess[str]:
    limit = [] if fsize is None else ["-c", LIMITED, str(fsize)]
    command = [sys.executable, *(limit or ["-m", "crawler.cli"]), *args]
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture
def faults() -> Iterator[FaultServer]:
    with FaultServer() as server:
        yield server


def disk_settings(server: FaultServer) -> dict[str, str]:
    return {
        "SPIDER_MODULES": "crawler.sites,support.fault_spider",
        "FAULT_BASE": server.base,
        "CRAWLER_ALLOW_PRIVATE_NETWORKS": "127.0.0.1/32",  # the fault server
        "DOWNLOAD_DELAY": "0",
        "AUTOTHROTTLE_ENABLED": "False",
    }


def crawl_disk(
    server: FaultServer, out: Path, fsize: int | None = None, **settings: str
) -> subprocess.CompletedProcess[str]:
    pairs = [f"{k}={v}" for k, v in {**disk_settings(server), **settings}.items()]
    sets = [arg for pair in pairs for arg in ("-s", pair)]
    return crawler(
        "crawl", "disk", "--out", str(out), "--log-level", "CRITICAL", *sets, fsize=fsize
    )


SUMMARY = re.compile(
    r"^disk: finished; (?P<archived>\d+) articles archived, "
    r"(?:(?P<lost>\d+) not written \(write errors\), )?\d+ dropped, (?P<errors>\d+) errors(?: \(.+\))?$",
    re.M,
)


def summary(done: subprocess.CompletedProcess[str]) -> dict[str, int]:
    match = SUMMARY.search(done.stderr)
    assert match, done.stderr[-3000:]
    return {k: int(v or 0) for k, v in match.groupdict().items()}


def archived_rows(out: Path) -> int:
    return read_table(out).num_rows if (out / "articles").exists() else 0


# -- item: the exit status does not depend on --log-level --------------------------------


def test_without_a_limit_the_disk_crawl_is_clean(faults: FaultServer, tmp_path: Path) -> None:
    """The control: the same crawl, nothing lost, exit 0 (so the failures below are the limit's)."""
    done = crawl_disk(faults, tmp_path, CRAWLER_ARCHIVE_FLUSH_ROWS="1")
    assert done.returncode == 0, done.stderr[-3000:]
    assert summary(done) == {"archived": ARTICLES, "lost": 0, "errors": 0}
    assert archived_rows(tmp_path) == ARTICLES


def test_write_errors_fail_the_crawl_even_at_log_level_critical(
    faults: FaultServer, tmp_path: Path
) -> None:
    """One file per article: the big ones fail, and every one after a failure waits behind it."""
    done = crawl_disk(
        faults, tmp_path, LIMIT, CRAWLER_ARCHIVE_FLUSH_ROWS="1", CRAWLER_RAW_PAGES="False"
    )
    assert done.returncode == 1, done.stderr[-3000:]
    counts = summary(done)
    assert counts["archived"] == archived_rows(tmp_path) >= 1  # the summary tells the truth
    assert counts["lost"] >= 10  # at least the 10 big articles
    assert counts["archived"] + counts["lost"] == ARTICLES  # every article accounted for
    assert counts["errors"] >= counts["lost"]
    assert done.stderr.count("\n") == 1  # CRITICAL: the summary line is all there is


def test_rows_still_buffered_when_the_crawl_ends_count_as_lost(
    faults: FaultServer, tmp_path: Path
) -> None:
    """The default buffer holds every article until the spider closes; the one file fails."""
    done = crawl_disk(faults, tmp_path, LIMIT, CRAWLER_RAW_PAGES="False")
    assert done.returncode == 1, done.stderr[-3000:]
    assert summary(done) == {"archived": 0, "lost": ARTICLES, "errors": ARTICLES}
    assert archived_rows(tmp_path) == 0
    assert not list(tmp_path.rglob("*.tmp"))  # the failed file's temporary was removed


def test_raw_page_write_errors_count_too(faults: FaultServer, tmp_path: Path) -> None:
    """With raw pages kept (the default), the WARC file passes the limit first: the articles
    whose page could not be stored are lost as spider exceptions, counted all the same."""
    done = crawl_disk(faults, tmp_path, LIMIT, CRAWLER_ARCHIVE_FLUSH_ROWS="1")
    assert done.returncode == 1, done.stderr[-3000:]
    counts = summary(done)
    assert counts["archived"] == archived_rows(tmp_path) < ARTICLES
    assert counts["errors"] >= ARTICLES - counts["archived"]


def test_crawl_all_counts_each_sites_own_failures(faults: FaultServer, tmp_path: Path) -> None:
    """At --log-level CRITICAL one site's write errors fail it (exit 1, manifest says why),
    and a site that failed in another way does not make a clean one fail: Scrapy's
    log_count/ERROR counted every site's errors in every site."""
    settings = {**disk_settings(faults), "RETRY_TIMES": "1", "CRAWLER_RETRY_BACKOFF": "0.1"}
    inline = ", ".join(f"{key} = {json.dumps(value)}" for key, value in settings.items())
    config = tmp_path / "crawl.toml"
    config.write_text(
        f'[run]\narchive = "archive"\nsettings = {{ {inline} }}\n'
        "[defaults.alarm]\nmin_date = 0.0\nmin_captions = 0.0\n"
        "[sites.disk]\n[sites.broken]\n",
        "utf-8",
    )
    args = ("crawl-all", "--config", str(config), "--log-level", "CRITICAL")

    done = crawler(*args)
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    manifest = last_manifest(tmp_path / "archive")
    disk, broken = manifest["sites"]["disk"], manifest["sites"]["broken"]
    assert broken["status"] == "failed" and broken["errors"] >= 1
    assert broken["stats"]["crawler/errors/download"] >= 1  # the listing never answered
    assert disk["status"] == "ok", disk
    assert disk["errors"] == 0 and disk["articles_new"] == ARTICLES

    # Again into a new archive, on a disk that fills up: the site with the articles fails.
    text = config.read_text("utf-8").replace("[sites.broken]\n", "")
    config.write_text(
        text.replace('"archive"', '"archive2"').replace(
            "settings = { ", "settings = { CRAWLER_RAW_PAGES = false, "
        ),
        "utf-8",
    )
    done = crawler(*args, fsize=LIMIT)
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    disk = last_manifest(tmp_path / "archive2")["sites"]["disk"]
    assert disk["status"] == "failed"
    assert disk["not_written"] == ARTICLES and disk["errors"] == ARTICLES  # one file, too big
    assert disk["articles_new"] == 0
    assert f"disk: failed (finish reason finished, {ARTICLES} errors" in done.stdout
    assert f"{ARTICLES} articles not written" in done.stdout


def test_crawl_all_whose_manifest_cannot_be_written_says_so(
    faults: FaultServer, tmp_path: Path
) -> None:
    """A disk full by the end of the run: no traceback, the summary and exit 1 still come."""
    inline = ", ".join(f"{k} = {json.dumps(v)}" for k, v in disk_settings(faults).items())
    config = tmp_path / "crawl.toml"
    config.write_text(
        f'[run]\narchive = "archive"\nsettings = {{ {inline} }}\n[sites.disk]\n', "utf-8"
    )
    done = crawler("crawl-all", "--config", str(config), "--log-level", "CRITICAL", fsize=1024)
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert re.search(r"disk +failed ", done.stdout), done.stdout
    assert re.search(r"manifest: not written to .*\.json: File too large", done.stdout)
    assert [p.name for p in (tmp_path / "archive" / "_runs").iterdir()] == ["crawl-all.lock"]


def last_manifest(archive: Path) -> dict[str, Any]:
    paths = sorted((archive / "_runs").glob("*.json"), key=lambda p: p.stat().st_mtime)
    manifest: dict[str, Any] = json.loads(paths[-1].read_text("utf-8"))
    return manifest


def test_a_failed_write_is_tried_again_and_what_stays_unwritten_is_counted(
    tmp_path: Path,
) -> None:
    """In-process, exact: the partition directory is blocked by a file (NotADirectoryError),
    then unblocked before the spider closes."""
    from scrapy.exceptions import DropItem
    from scrapy.utils.test import get_crawler

    from crawler.items import Article
    from crawler.pipelines.archive import ParquetArchive

    def article(n: int) -> Article:
        return Article(
            url=f"https://www.qdnd.vn/tin/{n}", site="qdnd.vn", spider="qdnd", language="vi",
            title=f"Bài {n}", blocks=[f"Đoạn {n}."],
        )  # fmt: skip

    settings = {"CRAWLER_ARCHIVE_DIR": str(tmp_path), "CRAWLER_ARCHIVE_FLUSH_ROWS": 2}
    crawler = get_crawler(settings_dict=settings)
    pipeline = ParquetArchive.from_crawler(crawler)
    pipeline.open_spider()
    blocker = tmp_path / "articles" / "site=qdnd.vn"
    blocker.parent.mkdir()
    blocker.write_text("in the way", "utf-8")

    pipeline.process_item(article(1))
    pipeline.process_item(article(2))  # the flush fails: both rows stay buffered
    with pytest.raises(DropItem, match="not written"):  # buffer full, flush fails again
        pipeline.process_item(article(3))
    stats = crawler.stats
    assert stats.get_value("crawler/archive/write_errors") == 2
    assert stats.get_value("crawler/archive/rows_lost") == 1
    assert stats.get_value("crawler/archive/rows_written") == 0

    blocker.unlink()  # space again: the next flush writes what was kept
    pipeline.close_spider()
    assert stats.get_value("crawler/archive/rows_written") == 2
    assert stats.get_value("crawler/archive/rows_lost") == 1
    assert sorted(read_table(tmp_path).column("url").to_pylist()) == [
        "https://www.qdnd.vn/tin/1",
        "https://www.qdnd.vn/tin/2",
    ]

    # Still blocked at the end: every buffered row is lost, and the crawl is not crashed.
    crawler = get_crawler(settings_dict=settings)
    pipeline = ParquetArchive.from_crawler(crawler)
    pipeline.open_spider()
    blocker.parent.rename(tmp_path / "articles-old")
    (tmp_path / "articles").write_text("in the way", "utf-8")
    pipeline.process_item(article(4))
    pipeline.close_spider()
    assert crawler.stats.get_value("crawler/archive/rows_lost") == 1
    assert crawler.stats.get_value("crawler/archive/write_errors") == 1


# -- item: an archive that cannot be written is refused before the first request ----------


def unwritable(kind: str, tmp_path: Path) -> tuple[Path, int | None]:
    """An archive path that cannot take files, and the file-size limit to run with."""
    if kind == "a file":
        path = tmp_path / "archive [1] ?*"
        path.write_text("not an archive", "utf-8")
        return path, None
    if kind == "under a file":
        (tmp_path / "plain file").write_text("x", "utf-8")
        return tmp_path / "plain file" / "archive", None
    if kind == "articles is a file":
        path = tmp_path / "archivé 'quoted'"
        path.mkdir()
        (path / "articles").write_text("x", "utf-8")
        return path, None
    assert kind == "writes fail"  # a directory where no byte can be written (EFBIG)
    return tmp_path / "archive", 0


KINDS = ["a file", "under a file", "articles is a file", "writes fail"]


def files_under(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("kind", KINDS)
def test_crawl_into_an_unwritable_archive_sends_no_request(
    kind: str, faults: FaultServer, tmp_path: Path
) -> None:
    out, fsize = unwritable(kind, tmp_path)
    before = files_under(tmp_path)
    sets = [arg for k, v in disk_settings(faults).items() for arg in ("-s", f"{k}={v}")]
    done = crawler("crawl", "disk", "--out", str(out), *sets, fsize=fsize)
    assert done.returncode == 2, done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("crawler crawl: error: "), lines
    assert str(out) in lines[0] or str(out / "articles") in lines[0]
    assert faults.hits == {}  # not even robots.txt
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("kind", KINDS)
def test_crawl_all_into_an_unwritable_archive_is_one_line(
    kind: str, faults: FaultServer, tmp_path: Path
) -> None:
    out, fsize = unwritable(kind, tmp_path)
    inline = ", ".join(f"{k} = {json.dumps(v)}" for k, v in disk_settings(faults).items())
    config = tmp_path / "config dir" / "crawl.toml"
    config.parent.mkdir()
    config.write_text(
        f"[run]\narchive = {json.dumps(str(out))}\nsettings = {{ {inline} }}\n[sites.disk]\n",
        "utf-8",
    )
    before = files_under(tmp_path)
    done = crawler("crawl-all", "--config", str(config), fsize=fsize)
    assert done.returncode == 2, done.stdout + done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("crawler crawl-all: error: "), lines
    assert done.stdout == ""
    assert faults.hits == {}
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("kind", KINDS)
def test_demo_into_an_unwritable_archive_is_one_line(kind: str, tmp_path: Path) -> None:
    out, fsize = unwritable(kind, tmp_path)
    before = files_under(tmp_path)
    done = crawler("demo", "--out", str(out), fsize=fsize)
    assert done.returncode == 2, done.stdout + done.stderr[-3000:]
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("crawler demo: error: "), lines
    assert "Crawled" not in done.stderr and done.stdout == ""
    assert files_under(tmp_path) == before
