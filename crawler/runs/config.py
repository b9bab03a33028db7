"""The crawl-all configuration file (``crawl.toml``), read once into typed objects."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from crawler.archive.layout import RUNS_DIR


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or wrong; the message says where."""


@dataclass(frozen=True)
class Alarm:
    """What a healthy run of a site looks like: shares of articles and images."""

    min_title: float = 0.95
    min_body: float = 0.95
    min_date: float = 0.8
    min_captions: float = 0.3
    min_found_ratio: float = 0.25
    history: int = 10


@dataclass(frozen=True)
class SiteConfig:
    spider: str
    enabled: bool = True
    max_pages: int = 5000
    max_minutes: int = 90
    alarm: Alarm = field(default_factory=Alarm)

    def scrapy_settings(self) -> dict[str, Any]:
        return {
            "CLOSESPIDER_PAGECOUNT": self.max_pages,
            "CLOSESPIDER_TIMEOUT": self.max_minutes * 60,
        }


@dataclass(frozen=True)
class Schedule:
    every_hours: int = 4
    at_minute: int = 17

    def cron(self) -> str:
        hours = "*" if self.every_hours == 1 else f"*/{self.every_hours}"
        return f"{self.at_minute} {hours} * * *"

    def systemd(self) -> str:
        return f"*-*-* 00/{self.every_hours}:{self.at_minute:02d}:00"


@dataclass(frozen=True)
class Config:
    path: Path
    archive: Path
    schedule: Schedule
    sites: tuple[SiteConfig, ...]
    settings: dict[str, Any] = field(default_factory=dict)  # extra Scrapy settings for every site

    @property
    def enabled(self) -> list[SiteConfig]:
        return [site for site in self.sites if site.enabled]

    @property
    def runs_dir(self) -> Path:
        return self.archive / RUNS_DIR


def _typed(cls: type, values: dict[str, Any], where: str) -> dict[str, Any]:
    """Check keys and types of one table against the dataclass ``cls``."""
    known = {f.name: f for f in fields(cls)}
    out = {}
    for key, value in values.items():
        if key not in known or key in ("spider", "alarm"):
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(known))})")
        default = known[key].default
        kind = type(default)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(f"{where}.{key}: expected {kind.__name__}, got {value!r}")
        out[key] = value
    return out


def load_config(path: Path | str) -> Config:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no configuration file at {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    run = data.get("run", {})
    archive = Path(run.get("archive", "output"))
    if not archive.is_absolute():
        archive = path.parent / archive
    schedule = Schedule(**_typed(Schedule, data.get("schedule", {}), f"{path.name} [schedule]"))
    if not 1 <= schedule.every_hours <= 24 or not 0 <= schedule.at_minute <= 59:
        raise ConfigError(f"{path.name} [schedule]: every_hours must be 1-24 and at_minute 0-59")
    defaults = dict(data.get("defaults", {}))
    default_alarm = _typed(Alarm, defaults.pop("alarm", {}), f"{path.name} [defaults.alarm]")
    default_site = _typed(SiteConfig, defaults, f"{path.name} [defaults]")
    sites = []
    for name, table in data.get("sites", {}).items():
        table = dict(table)
        where = f"{path.name} [sites.{name}]"
        alarm = Alarm(
            **{**default_alarm, **_typed(Alarm, table.pop("alarm", {}), f"{where}.alarm")}
        )
        sites.append(
            SiteConfig(
                spider=name, alarm=alarm, **{**default_site, **_typed(SiteConfig, table, where)}
            )
        )
    if not sites:
        raise ConfigError(f"{path.name}: no [sites.<spider>] table")
    settings = run.get("settings", {})
    if not isinstance(settings, dict):
        raise ConfigError(f"{path.name} [run.settings]: expected a table of Scrapy settings")
    return Config(
        path=path, archive=archive, schedule=schedule, sites=tuple(sites), settings=settings
    )
