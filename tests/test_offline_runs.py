"""Scheduled runs tried offline, as a new user does: the shipped crawl.toml with --replica,
and the lines `crawler schedule` prints logging a run's summary, not Scrapy's INFO stream."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

from crawler.archive import read_table
from crawler.mirror.replica import manifest as replica_manifest
from crawler.mirror.replica import replica_sites
from crawler.mirror.server import MirrorServer
from crawler.runs.config import load_config
from crawler.runs.schedule import command_line, crontab

TESTS = Path(__file__).parent
REPO = TESTS.parent


def crawler(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli", *args],
        capture_output=True, text=True, timeout=300, cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(TESTS)},
    )  # fmt: skip


def test_the_shipped_configuration_runs_offline_with_replica(tmp_path: Path) -> None:
    """Before: the shipped crawl.toml aimed at the live sites only, failed after a minute
    with ~800 lines of DNS tracebacks. With --replica every replica site is archived."""
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    shutil.copy(REPO / "crawl.toml", checkout / "crawl.toml")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    args = ("crawl-all", "--config", str(checkout / "crawl.toml"), "--replica")
    done = crawler(*args, "--log-level", "WARNING", cwd=elsewhere)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert done.stderr == ""  # a healthy run logs its summary only
    archive = checkout / "output"  # relative to the configuration file, not to the cwd
    assert not (elsewhere / "output").exists()
    assert f"  archive: {archive}\n" in done.stdout
    assert "pages from the bundled replicas" in done.stdout

    expected = {site: len(replica_manifest(site)["articles"]) for site in replica_sites()}
    archived = Counter(read_table(archive, columns=["site"]).column("site").to_pylist())
    assert dict(archived) == expected
    [path] = (archive / "_runs").glob("*.json")
    manifest = json.loads(path.read_text())
    assert manifest["replica"] is True and manifest["status"] == "finished"
    assert len(manifest["sites"]) == len(expected) == 7
    assert all(entry["status"] == "ok" for entry in manifest["sites"].values())

    again = crawler(*args, cwd=elsewhere)  # at the default log level, the archive known
    assert again.returncode == 0
    assert sum(1 for _ in (archive / "_runs").glob("*.json")) == 2
    second = json.loads(sorted((archive / "_runs").glob("*.json"))[-1].read_text())
    assert all(entry["articles_new"] == 0 for entry in second["sites"].values())


def test_crawl_with_replica(tmp_path: Path) -> None:
    done = crawler(
        "crawl", "qdnd", "--replica", "--out", str(tmp_path / "a"), "--log-level", "WARNING"
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stderr.strip() == "qdnd: finished; 35 articles archived, 0 dropped, 0 errors"


def test_replica_for_a_site_without_one_is_one_line(tmp_path: Path) -> None:
    done = crawler(
        "crawl", "faults", "--replica", "--out", str(tmp_path / "a"),
        "-s", "SPIDER_MODULES=crawler.sites,support.fault_spider",
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "no bundled replica for faults (replicas: baochinhphu_en, bienphong" in done.stderr
    assert not (tmp_path / "a").exists()

    config = tmp_path / "crawl.toml"
    config.write_text(
        '[run]\narchive = "a"\nsettings = { SPIDER_MODULES = "crawler.sites,support.fault_spider" }\n'
        "[sites.qdnd]\n[sites.faults]\n"
    )
    done = crawler("crawl-all", "--config", str(config), "--replica")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "no bundled replica for faults" in done.stderr
    assert not list((tmp_path / "a").rglob("*.json"))


def test_scheduled_runs_log_the_summary_and_warnings_only(tmp_path: Path) -> None:
    """The crontab line of `crawler schedule` appends a healthy run's summary to cron.log,
    not Scrapy's INFO stream (about 900 lines for the seven replica sites)."""
    with MirrorServer() as server:
        path = tmp_path / "crawl.toml"
        path.write_text(
            f'[run]\narchive = "archive"\nsettings = {{ CRAWLER_MIRROR_URL = "{server.base_url}", '
            "DOWNLOAD_DELAY = 0 }\n[sites.qdnd]\n"
        )
        config = load_config(path)
        line = crontab(config).splitlines()[1]
        assert "--log-level WARNING" in line
        done = subprocess.run(
            ["sh", "-c", line.split(maxsplit=5)[5]], capture_output=True, text=True, timeout=300
        )
    assert done.returncode == 0
    log = (tmp_path / "archive" / "_runs" / "cron.log").read_text().splitlines()
    assert log[0].startswith("crawl-all run ")
    assert log[-1] == f"  manifest: {next((tmp_path / 'archive' / '_runs').glob('*.json'))}"
    assert len(log) == 5, log  # header, column names, qdnd, archive, manifest


def test_the_deploy_examples_run_what_schedule_prints() -> None:
    config = load_config(REPO / "crawl.toml")
    words = shlex.split(command_line(config))  # the checkout's path may hold spaces
    options = " ".join(words[words.index("--config") + 2 :])
    assert options == "--log-level WARNING"
    deploy = REPO / "deploy"
    command = "crawl-all --config /opt/defence-news-crawler/crawl.toml " + options
    assert command in (deploy / "crontab.example").read_text()
    assert (
        f"ExecStart=/opt/defence-news-crawler/.venv/bin/crawler {command}\n"
        in (deploy / "defence-news-crawl.service").read_text()
    )
    cron_log = "/opt/defence-news-crawler/output/_runs/cron.log"
    assert f">> {cron_log} 2>&1" in (deploy / "crontab.example").read_text()
    assert f"{cron_log} {{" in (deploy / "logrotate.example").read_text()
