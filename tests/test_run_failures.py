"""A failed site says why, and a killed run leaves a manifest that says so.

Over loopback, as an operator meets them: a port nothing listens on, a server
answering 503, a name the resolver does not know, a crawl-all killed with
SIGKILL. The crawls run as `crawler` subprocesses.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import pyarrow.compute as pc
import pytest
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
)
from support.notify_servers import free_port
from twisted.internet.error import ConnectionLost, DNSLookupError
from twisted.python.failure import Failure
from twisted.web.client import ResponseNeverReceived

from crawler.archive import read_table
from crawler.crawling.failures import describe, error_count, failure_kind, failure_kinds
from crawler.crawling.netguard import PrivateAddressRefused
from crawler.mirror.server import MirrorServer

TESTS = Path(__file__).parent


def crawler(*args: str, **popen: Any) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        capture_output=True, text=True, timeout=300, env=env, **popen,
    )  # fmt: skip


def manifests(archive: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((archive / "_runs").glob("*.json"))]


class Busy:
    """A server that answers every request with 503; with ``articles``, its ``/list``
    links to that many articles, each answering 503."""

    def __init__(self, articles: int = 0) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                links = "".join(f'<li><a href="/a/busy-{n}">{n}</a></li>' for n in range(articles))
                status, body = (
                    (200, f"<ul>{links}</ul>")
                    if articles and self.path == "/list"
                    else (503, "busy")
                )
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body.encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> Busy:
        Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def busy() -> Iterator[Busy]:
    with Busy() as server:
        yield server


def failing_settings(busy: Busy) -> dict[str, str]:
    return {
        "SPIDER_MODULES": "crawler.sites,support.failing_spiders",
        "REFUSED_BASE": f"http://127.0.0.1:{free_port()}",
        "BUSY_BASE": busy.base,
        "NOWHERE_BASE": "http://www.nowhere.test",
        "TWISTED_DNS_RESOLVER": "support.fake_dns.FakeNames",  # knows no name but this one
        "FAKE_DNS": json.dumps({"127.0.0.1": "127.0.0.1"}),
        "CRAWLER_ALLOW_PRIVATE_NETWORKS": "127.0.0.1/32",
        "CRAWLER_RETRY_BACKOFF": "0",
        "DOWNLOAD_DELAY": "0",
        "AUTOTHROTTLE_ENABLED": "False",
    }


def test_failure_kinds_of_exceptions() -> None:
    # Scrapy wraps Twisted's errors; the kind is read from the whole chain.
    def wrapped(outer: type[Exception], inner: BaseException) -> Exception:
        try:
            raise outer(str(inner)) from inner
        except Exception as error:
            return error

    assert failure_kind(wrapped(CannotResolveHostError, DNSLookupError("x"))) == "DNS lookup failed"
    assert failure_kind(DownloadConnectionRefusedError("x")) == "connection refused"
    assert failure_kind(DownloadTimeoutError("x")) == "timeout"
    lost = ResponseNeverReceived([Failure(ConnectionLost("gone"))])
    assert failure_kind(wrapped(DownloadFailedError, lost)) == "connection lost"
    assert failure_kind(DownloadFailedError("x")) == "download failed"
    refused = PrivateAddressRefused("intranet.test", "loopback")  # a DNSLookupError too
    assert failure_kind(wrapped(CannotResolveHostError, refused)) == "not a public address"
    assert failure_kind(TypeError("a bug")) is None  # keeps its traceback


def test_failure_kinds_add_up_to_the_errors() -> None:
    stats = {
        "crawler/errors/download": 33,
        "crawler/errors/download/DNS lookup failed": 20,
        "crawler/errors/download/HTTP 503": 12,
        "crawler/archive/rows_lost": 3,
        "spider_exceptions/count": 2,
        "spider_exceptions/ValueError": 2,
        "crawler/private_address/refused": 1,
    }
    kinds = failure_kinds(stats)
    assert kinds == {
        "DNS lookup failed": 20,
        "HTTP 503": 12,
        "articles not written": 3,
        "spider exception ValueError": 2,
        "download failed": 1,  # counted without a kind
        "not a public address": 1,
    }
    assert sum(kinds.values()) == error_count(stats)
    assert describe(kinds).startswith(
        "DNS lookup failed ×20, HTTP 503 ×12, articles not written ×3"
    )
    assert describe({"connection refused": 1}) == "connection refused"


def test_a_failed_site_says_why_in_the_summary_and_the_manifest(busy: Busy, tmp_path: Path) -> None:
    """Before: `qdnd: failed (finish reason finished, 10 errors)`, and ~800 lines of
    tracebacks in the log, one per request, for a site that did not resolve."""
    inline = ", ".join(f"{k} = {json.dumps(v)}" for k, v in failing_settings(busy).items())
    config = tmp_path / "crawl.toml"
    config.write_text(
        f'[run]\narchive = "archive"\nsettings = {{ {inline} }}\n'
        "[sites.refused]\n[sites.busy]\n[sites.nowhere]\n"
    )
    done = crawler("crawl-all", "--config", str(config), "--log-level", "WARNING")
    assert done.returncode == 1, done.stdout + done.stderr[-3000:]
    [manifest] = manifests(tmp_path / "archive")
    sites = manifest["sites"]
    # robots.txt and the listing, each tried 4 times, each failed for good once
    assert sites["refused"]["failures"] == {"connection refused": 2}
    assert sites["busy"]["failures"] == {"HTTP 503": 2}
    assert sites["nowhere"]["failures"] == {"DNS lookup failed": 2}
    for entry in sites.values():
        assert entry["status"] == "failed" and entry["errors"] == 2
    out = done.stdout
    assert "refused: failed (finish reason finished, 2 errors): connection refused ×2" in out
    assert "busy: failed (finish reason finished, 2 errors): HTTP 503 ×2" in out
    assert "nowhere: failed (finish reason finished, 2 errors): DNS lookup failed ×2" in out
    # the log: one line per request that failed for good, no traceback
    log = done.stderr
    assert "Traceback" not in log
    failed = [line for line in log.splitlines() if "[crawler.crawling.failures] ERROR" in line]
    assert len(failed) == 6, log
    assert any(
        f"failed (HTTP 503): <GET {busy.base}/list> after 4 tries" in line for line in failed
    )
    assert any(
        "failed (DNS lookup failed): <GET http://www.nowhere.test/list>" in line for line in failed
    )
    assert len(log.splitlines()) == 6, log  # nothing else at WARNING: no "Disabled ..." either


def test_crawl_says_why_too_and_a_site_failing_many_times_logs_ten_lines(tmp_path: Path) -> None:
    """`crawler crawl` of a site whose 15 articles and robots.txt all answer 503: the summary
    says so; the log holds ten lines of that kind and says the rest are counted."""
    with Busy(articles=15) as server:
        sets = {**failing_settings(server), "RETRY_TIMES": "0"}
        done = crawler(
            "crawl", "busy", "--out", str(tmp_path / "archive"), "--log-level", "WARNING",
            *[arg for key, value in sets.items() for arg in ("-s", f"{key}={value}")],
        )  # fmt: skip
    assert done.returncode == 1
    summary = next(line for line in done.stderr.splitlines() if line.startswith("busy: "))
    assert summary.endswith("0 dropped, 16 errors (HTTP 503 ×16)"), summary
    assert "Traceback" not in done.stderr
    logged = [line for line in done.stderr.splitlines() if "failed (HTTP 503)" in line]
    assert len(logged) == 11, (
        done.stderr
    )  # ten requests, then the line that says the rest are counted
    assert "counted from here on, not logged" in logged[-1]


def test_a_killed_run_is_marked_interrupted_and_closed_by_the_next(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    config = tmp_path / "crawl.toml"

    def write_config(server: MirrorServer) -> None:
        config.write_text(
            f'[run]\narchive = "archive"\n'
            f'settings = {{ CRAWLER_MIRROR_URL = "{server.base_url}", DOWNLOAD_DELAY = 0, '
            "AUTOTHROTTLE_ENABLED = false, CRAWLER_ARCHIVE_FLUSH_ROWS = 2, "
            "CONCURRENT_REQUESTS = 2 }\n[sites.qdnd]\n"
        )

    env = {**os.environ, "PYTHONPATH": str(TESTS)}
    with MirrorServer(delay=0.15) as slow:
        write_config(slow)
        process = subprocess.Popen(
            [sys.executable, "-m", "crawler.cli", "crawl-all", "--config", str(config),
             "--log-level", "WARNING"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while not list((archive / "articles").rglob("part-*.parquet")):
                assert process.poll() is None, "the run ended before it could be killed"
                assert time.monotonic() < deadline
                time.sleep(0.05)
            [running] = manifests(archive)
            assert running["status"] == "running" and running["pid"] == process.pid
            assert running["planned"] == ["qdnd"]
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
    killed = running["run_id"]
    assert manifests(archive)[0]["status"] == "running"  # what SIGKILL leaves

    kept = read_table(archive, filter=pc.field("crawl_run") == killed).num_rows
    assert 0 < kept < 35
    server = MirrorServer().start()
    write_config(server)
    done = crawler("crawl-all", "--config", str(config))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    closed, second = manifests(archive)
    assert closed["run_id"] == killed and closed["status"] == "interrupted"
    assert closed["closed_by"] == second["run_id"]
    assert closed["sites"]["qdnd"] == {
        "spider": "qdnd",
        "status": "interrupted",
        "articles_new": kept,
    }
    assert second["status"] == "finished" and second["closed_runs"] == {killed: kept}
    assert second["sites"]["qdnd"]["articles_new"] == 35 - kept
    assert f"earlier run {killed} was interrupted" in done.stdout
    assert f"killed before its end; {kept} articles archived, kept" in done.stdout

    # A third run has nothing to close; the interrupted run is not in the alarm's history.
    done = crawler("crawl-all", "--config", str(config))
    server.stop()
    assert done.returncode == 0 and "interrupted" not in done.stdout
    assert "closed_runs" not in manifests(archive)[-1]


def test_a_run_refused_before_any_request_leaves_no_manifest(tmp_path: Path) -> None:
    config = tmp_path / "crawl.toml"
    config.write_text('[run]\narchive = "archive"\n[sites.nosuchspider]\n')
    done = crawler("crawl-all", "--config", str(config))
    assert done.returncode == 2
    assert "unknown spider nosuchspider" in done.stderr
    assert manifests(tmp_path / "archive") == []
