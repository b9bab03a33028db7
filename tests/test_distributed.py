"""Distributed crawling: worker processes sharing one crawl through a real redis-server.

Two workers on the qdnd replica archive every article once between them; a worker
killed with SIGKILL part-way loses nothing: the next worker takes its unfinished
requests back and the archive ends with every article once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from crawler.archive import read_table
from crawler.mirror.replica import manifest
from crawler.mirror.server import MirrorServer
from tests.support.redisserver import redis_server

PROJECT = Path(__file__).resolve().parent.parent


@pytest.fixture
def redis_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


def worker(
    server: MirrorServer, out: Path, redis_url: str, *settings: str
) -> subprocess.Popen[str]:
    """``crawler crawl qdnd --redis URL`` in a process of its own."""
    overrides = [
        f"CRAWLER_MIRROR_URL={server.base_url}",
        "DOWNLOAD_DELAY=0",
        "AUTOTHROTTLE_ENABLED=False",
        "CONCURRENT_REQUESTS=2",
        "CRAWLER_REDIS_IDLE_SECONDS=1",
        "CRAWLER_REDIS_HEARTBEAT=0.2",
        "CRAWLER_REDIS_WORKER_TIMEOUT=2",
        *settings,
    ]
    command = [sys.executable, "-m", "crawler.cli", "crawl", "qdnd", "--out", str(out)]
    command += ["--redis", redis_url, "--log-level", "INFO"]
    for setting in overrides:
        command += ["-s", setting]
    return subprocess.Popen(
        command, cwd=PROJECT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def expected_urls() -> list[str]:
    return sorted(article["url"] for article in manifest("qdnd.vn")["articles"])


def archived_urls(out: Path) -> list[str]:
    urls: list[str] = read_table(out, columns=["url"]).column("url").to_pylist()
    return sorted(urls)


class HeldMirror(MirrorServer):
    """The replicas, answering nothing until ``release`` is set: a worker started first
    (the other takes seconds more to start on a loaded machine) cannot crawl it all alone."""

    def __init__(self, delay: float) -> None:
        self.release = threading.Event()
        super().__init__(delay=delay)

    @property
    def delay(self) -> float:  # read by the server before each answer
        self.release.wait(120)
        return self._delay

    @delay.setter
    def delay(self, value: float) -> None:
        self._delay = value


def test_two_workers_archive_every_article_once(tmp_path: Path, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    with HeldMirror(delay=0.05) as server:
        workers = [worker(server, tmp_path, redis_url) for _ in range(2)]
        deadline = time.monotonic() + 120
        while client.scard("crawler:qdnd:workers") < 2 and time.monotonic() < deadline:
            if any(w.poll() is not None for w in workers):
                break
            time.sleep(0.05)
        server.release.set()  # both have joined the crawl: now they share it
        errors = [w.communicate(timeout=120)[1] for w in workers]
    for process, log in zip(workers, errors, strict=True):
        assert process.returncode == 0, log[-3000:]
    assert archived_urls(tmp_path) == expected_urls()  # all of them, none twice
    runs = Counter(read_table(tmp_path, columns=["crawl_run"]).column("crawl_run").to_pylist())
    assert len(runs) == 2, f"both workers should have archived articles: {runs}"
    crawl_ids = {run.rsplit("-w", 1)[0] for run in runs}
    assert len(crawl_ids) == 1  # one crawl, one run id per worker
    # The last worker out deleted the crawl's keys: the next crawl starts afresh.
    assert redis.Redis.from_url(redis_url).keys("crawler:qdnd:*") == []


def test_killed_worker_loses_nothing(tmp_path: Path, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    with MirrorServer(delay=0.15) as server:
        first = worker(server, tmp_path, redis_url, "CRAWLER_ARCHIVE_FLUSH_ROWS=3")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and first.poll() is None:
            files = list((tmp_path / "articles").rglob("*.parquet"))
            if files and client.hlen(_inflight(client)) > 0:
                break
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        taken = client.hlen(_inflight(client))
        killed_rows = read_table(tmp_path).num_rows
        assert 0 < killed_rows < len(expected_urls()), "the kill must land part-way"
        assert taken > 0, "the killed worker must have had requests in flight"

        second = worker(server, tmp_path, redis_url, "CRAWLER_ARCHIVE_FLUSH_ROWS=3")
        _, log = second.communicate(timeout=120)
    assert second.returncode == 0, log[-3000:]
    assert "taking back its" in log  # the dead worker's requests were recovered
    assert archived_urls(tmp_path) == expected_urls()  # none lost, none twice


def _inflight(client: Any) -> str:
    keys: list[bytes] = list(client.keys("crawler:qdnd:inflight:*"))
    return keys[0].decode() if keys else "crawler:qdnd:inflight:none"
