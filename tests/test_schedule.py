"""crawler schedule: the lines it prints are what an operator installs, and they run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.mirror.server import MirrorServer
from crawler.runs.config import ConfigError, Schedule, load_config
from crawler.runs.schedule import crontab, systemd_units, write_units


def make_config(tmp_path: Path, server_url: str = "http://127.0.0.1:9", hours: int = 4) -> Path:
    path = tmp_path / "crawl.toml"
    path.write_text(
        f'[run]\narchive = "archive"\n'
        f'settings = {{ CRAWLER_MIRROR_URL = "{server_url}", DOWNLOAD_DELAY = 0 }}\n'
        f"[schedule]\nevery_hours = {hours}\nat_minute = 5\n[sites.qdnd]\n"
    )
    return path


def test_schedule_forms() -> None:
    assert Schedule(4, 17).cron() == "17 */4 * * *"
    assert Schedule(1, 0).cron() == "0 * * * *"
    assert Schedule(6, 5).systemd() == "*-*-* 00/6:05:00"


def test_bad_schedule_is_rejected(tmp_path: Path) -> None:
    path = make_config(tmp_path, hours=30)
    with pytest.raises(ConfigError, match="every_hours"):
        load_config(path)


def test_the_crontab_line_runs_crawl_all(tmp_path: Path) -> None:
    with MirrorServer() as server:
        config = load_config(make_config(tmp_path, server.base_url))
        lines = crontab(config).splitlines()
        assert lines[0].startswith("#")
        fields = lines[1].split(maxsplit=5)
        assert fields[:5] == ["5", "*/4", "*", "*", "*"]
        assert "crawl-all --config" in fields[5] and str(config.path.resolve()) in fields[5]
        done = subprocess.run(["sh", "-c", fields[5]], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0
    [manifest] = (tmp_path / "archive" / "_runs").glob("*.json")
    assert json.loads(manifest.read_text())["sites"]["qdnd"]["articles_new"] == 35
    assert "crawl-all run" in (tmp_path / "archive" / "_runs" / "cron.log").read_text()


def test_systemd_units(tmp_path: Path) -> None:
    config = load_config(make_config(tmp_path))
    units = systemd_units(config, user="crawler")
    service, timer = units["defence-news-crawl.service"], units["defence-news-crawl.timer"]
    assert "Type=oneshot" in service and "User=crawler" in service
    exec_start = next(line for line in service.splitlines() if line.startswith("ExecStart="))
    crawler = Path(exec_start.removeprefix("ExecStart=").split()[0])
    assert crawler == Path(sys.executable).with_name("crawler") and crawler.is_file()
    assert "OnCalendar=*-*-* 00/4:05:00" in timer and "WantedBy=timers.target" in timer
    written = write_units(config, tmp_path / "units")
    assert sorted(p.name for p in written) == [
        "defence-news-crawl.service",
        "defence-news-crawl.timer",
    ]


def test_schedule_command(tmp_path: Path) -> None:
    path = make_config(tmp_path)
    cron = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "schedule", "--config", str(path)],
        capture_output=True,
        text=True,
    )
    assert cron.returncode == 0 and "crawl-all --config" in cron.stdout
    units = subprocess.run(
        [sys.executable, "-m", "crawler.cli", "schedule", "--config", str(path), "--write", str(tmp_path / "u")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert units.returncode == 0
    assert (tmp_path / "u" / "defence-news-crawl.timer").is_file()
