"""``crawler schedule``: crontab lines or systemd units that start ``crawl-all``.

The units run ``crawl-all``, so the lock, the manifest and the exit status hold
whatever starts the run. They run it at ``--log-level WARNING``: the log of a
scheduled run is its summary, its warnings and one line per failed request,
not Scrapy's INFO stream (about 900 lines for a healthy run of seven sites).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from crawler.runs.config import Config

UNIT = "defence-news-crawl"
LOG_LEVEL = "WARNING"


def command_line(config: Config) -> str:
    """The crawl-all command, with absolute paths (cron and systemd have no shell profile)."""
    crawler = Path(sys.executable).with_name("crawler")
    return (
        f"{shlex.quote(str(crawler))} crawl-all --config {shlex.quote(str(config.path.resolve()))}"
        f" --log-level {LOG_LEVEL}"
    )


def crontab(config: Config) -> str:
    workdir = shlex.quote(str(config.path.resolve().parent))
    runs = shlex.quote(str(config.runs_dir.resolve()))
    log = shlex.quote(str((config.runs_dir / "cron.log").resolve()))
    return (
        f"# defence-news crawler: crawl-all at {config.schedule.cron()} (install with: crontab -e)\n"
        f"{config.schedule.cron()} cd {workdir} && mkdir -p {runs} && "
        f"{command_line(config)} >> {log} 2>&1\n"
        f"# each run adds its summary and warnings to {log}: rotate it (deploy/logrotate.example)\n"
    )


def systemd_units(config: Config, user: str | None = None) -> dict[str, str]:
    """The service and timer, by file name."""
    workdir = config.path.resolve().parent
    user_line = f"User={user}\n" if user else ""
    service = (
        "[Unit]\n"
        "Description=Defence-news crawler: crawl every enabled site into the archive\n"
        "After=network-online.target\n"
        "Wants=network-online.target\n\n"
        "[Service]\n"
        "Type=oneshot\n"
        f"{user_line}"
        f"WorkingDirectory={workdir}\n"
        f"ExecStart={command_line(config)}\n"
        "# crawl-all exits 3 for a blocked site and 4 for a layout alarm: the unit shows failed,\n"
        f"# and `journalctl -u {UNIT}` shows each run's summary and warnings\n"
        "# (journald rotates its own files: SystemMaxUse= in journald.conf).\n"
        f"SyslogIdentifier={UNIT}\n"
        "# The variables that crawl.toml's [notify] names (SMTP password, webhook token):\n"
        f"EnvironmentFile=-/etc/{UNIT}.env\n"
        "Nice=10\n"
    )
    timer = (
        "[Unit]\n"
        f"Description=Start {UNIT}.service every {config.schedule.every_hours} hours\n\n"
        "[Timer]\n"
        f"OnCalendar={config.schedule.systemd()}\n"
        "Persistent=true\n"
        "RandomizedDelaySec=120\n\n"
        "[Install]\n"
        "WantedBy=timers.target\n"
    )
    return {f"{UNIT}.service": service, f"{UNIT}.timer": timer}


def write_units(config: Config, directory: Path, user: str | None = None) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in systemd_units(config, user).items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
