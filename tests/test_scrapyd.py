"""scrapyd: a real scrapyd on 127.0.0.1, the project deployed with scrapyd-deploy through
the scrapy.cfg [deploy] target, a crawl of the replica scheduled through schedule.json."""

from __future__ import annotations

import configparser
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crawler.archive import read_table
from crawler.mirror.replica import manifest
from crawler.mirror.server import MirrorServer

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def call(url: str, data: list[tuple[str, str]] | None = None) -> dict[str, Any]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    with urllib.request.urlopen(url, data=body, timeout=30) as response:
        result: dict[str, Any] = json.loads(response.read())
        return result


@pytest.fixture
def scrapyd(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    home = tmp_path / "scrapyd"
    home.mkdir()
    (home / "scrapyd.conf").write_text(
        "[scrapyd]\nbind_address = 127.0.0.1\n"
        f"http_port = {port}\neggs_dir = {home / 'eggs'}\nlogs_dir = {home / 'logs'}\n"
        f"dbs_dir = {home / 'dbs'}\nitems_dir =\npoll_interval = 0.5\nmax_proc = 2\n"
    )
    process = subprocess.Popen(
        [str(BIN / "scrapyd")], cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if call(f"{url}/daemonstatus.json")["status"] == "ok":
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise RuntimeError("scrapyd did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_deploy_target_has_no_trailing_slash() -> None:
    config = configparser.ConfigParser()
    config.read(ROOT / "scrapy.cfg")
    assert not config["deploy"]["url"].endswith("/")
    assert config["deploy"]["project"] == "crawler"


def test_deploy_schedule_and_find_the_rows(scrapyd: str, tmp_path: Path) -> None:
    # The project as checked out, with only the port of its [deploy] target changed.
    project = tmp_path / "project"
    shutil.copytree(
        ROOT / "crawler", project / "crawler", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", project)
    shutil.copy(ROOT / "README.md", project)
    config = (ROOT / "scrapy.cfg").read_text()
    (project / "scrapy.cfg").write_text(config.replace("http://127.0.0.1:6800", scrapyd))

    deployed = subprocess.run(
        [str(BIN / "scrapyd-deploy")], cwd=project, capture_output=True, text=True, timeout=300
    )
    assert deployed.returncode == 0, deployed.stderr[-2000:]
    assert '"status": "ok"' in deployed.stdout
    assert "crawler" in call(f"{scrapyd}/listprojects.json")["projects"]
    assert "qdnd" in call(f"{scrapyd}/listspiders.json?project=crawler")["spiders"]

    archive = tmp_path / "archive"
    with MirrorServer() as server:
        job = call(
            f"{scrapyd}/schedule.json",
            [
                ("project", "crawler"),
                ("spider", "qdnd"),
                ("setting", f"CRAWLER_MIRROR_URL={server.base_url}"),
                ("setting", f"CRAWLER_ARCHIVE_DIR={archive}"),
                ("setting", "DOWNLOAD_DELAY=0"),
                ("setting", "AUTOTHROTTLE_ENABLED=False"),
            ],
        )
        assert job["status"] == "ok"
        for _ in range(600):
            jobs = call(f"{scrapyd}/listjobs.json?project=crawler")
            if any(j["id"] == job["jobid"] for j in jobs["finished"]):
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the scheduled crawl did not finish within 120 s")

    rows = read_table(archive).to_pylist()
    assert sorted(r["url"] for r in rows) == sorted(
        a["url"] for a in manifest("qdnd.vn")["articles"]
    )
    assert {r["spider"] for r in rows} == {"qdnd"}
