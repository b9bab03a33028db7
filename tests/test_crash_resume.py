"""A crawl killed with SIGKILL part-way, then run again: every visible Parquet file reads,
no article is lost and none is archived twice. The archive is the source of truth."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from crawler.archive import read_table
from crawler.crawling.faults import POINTS
from crawler.mirror.replica import manifest
from crawler.mirror.server import MirrorServer


def crawl(
    server: MirrorServer, out: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable, "-m", "crawler.cli", "crawl", "qdnd", "--out", str(out), "--log-level", "WARNING",
            "-s", f"CRAWLER_MIRROR_URL={server.base_url}", "-s", "CRAWLER_ARCHIVE_FLUSH_ROWS=3",
            "-s", "CONCURRENT_REQUESTS=2", "-s", "DOWNLOAD_DELAY=0",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})},
    )  # fmt: skip


def visible_files(out: Path) -> list[Path]:
    return [p for p in (out / "articles").rglob("*.parquet") if not p.name.startswith(".")]


def test_killed_crawl_then_rerun_archives_every_article_once(tmp_path: Path) -> None:
    expected = sorted(a["url"] for a in manifest("qdnd.vn")["articles"])
    with MirrorServer(delay=0.15) as server:
        first = crawl(server, tmp_path)
        deadline = time.monotonic() + 120
        while (
            len(visible_files(tmp_path)) < 2
            and time.monotonic() < deadline
            and first.poll() is None
        ):
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        assert first.returncode == -signal.SIGKILL
        killed_rows = read_table(tmp_path).num_rows
        assert 0 < killed_rows < len(expected), "the kill must land part-way through the crawl"
        for path in visible_files(tmp_path):
            pq.read_table(path)  # every visible file is whole

        second = crawl(server, tmp_path)
        _, errors = second.communicate(timeout=300)
        assert second.returncode == 0, errors[-2000:]

    urls = read_table(tmp_path).column("url").to_pylist()
    assert sorted(urls) == expected  # none lost, none twice
    assert not [
        p for p in (tmp_path / "articles").rglob(".*") if p.is_file()
    ]  # stale temp files swept


@pytest.mark.parametrize("point", POINTS)
def test_kill_at_each_crash_point_then_rerun(point: str, tmp_path: Path) -> None:
    expected = sorted(a["url"] for a in manifest("qdnd.vn")["articles"])
    with MirrorServer() as server:
        killed = crawl(server, tmp_path, {"CRAWLER_CRASH_AT": point})
        killed.wait(timeout=300)
        assert killed.returncode == -signal.SIGKILL, f"the crawl did not reach {point}"
        temp = (
            [p for p in (tmp_path / "articles").rglob(".*.tmp")]
            if (tmp_path / "articles").exists()
            else []
        )
        if point in ("mid-write", "before-rename"):
            assert temp, "the kill left a temporary file behind"
        if (tmp_path / "articles").exists():
            for path in visible_files(tmp_path):
                pq.read_table(path)  # every visible file reads
            read_table(tmp_path)  # and the archive as a whole
        second = crawl(server, tmp_path)
        _, errors = second.communicate(timeout=300)
        assert second.returncode == 0, errors[-2000:]
    urls = read_table(tmp_path).column("url").to_pylist()
    assert sorted(urls) == expected
    assert not list((tmp_path / "articles").rglob(".*.tmp"))  # swept at the next start
