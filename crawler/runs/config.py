"""The crawl-all configuration file (``crawl.toml``), read once into typed objects.

Paths in the file (``archive``, ``ca_file``) are relative to the file's folder,
not to the folder the command runs in, so cron and systemd find the same ones.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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
    # Share of archived articles the generic parser had to complete: a few odd pages are
    # normal, a changed layout sends most of them there.
    max_fallback: float = 0.1


GENERIC = "generic"
"""The spider that needs no code, only start URLs (``[sites.NAME] spider = "generic"``)."""


@dataclass(frozen=True)
class SiteConfig:
    spider: str  # the spider that crawls the site
    enabled: bool = True
    max_pages: int = 5000
    max_minutes: int = 90
    alarm: Alarm = field(default_factory=Alarm)
    start: tuple[str, ...] = ()  # the generic spider's start URLs
    name: str = ""  # the [sites.NAME] table, when it is not the spider's name

    @property
    def label(self) -> str:
        """The site's name in the manifest, the summary, alerts and metrics."""
        return self.name or self.spider

    def spider_args(self) -> dict[str, Any]:
        return {"start": list(self.start)} if self.start else {}

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
class Webhook:
    """An HTTP POST of the run's JSON document; the URL may come from the environment."""

    url: str = ""
    url_env: str = ""  # name of an environment variable holding the URL (it may hold a token)
    token_env: str = ""  # name of an environment variable: sent as "Authorization: Bearer …"


@dataclass(frozen=True)
class Email:
    """Mail through SMTP; the credentials come from environment variables named here."""

    host: str = ""
    port: int = 0  # 0: 587 for starttls, 465 for tls, 25 for none
    security: str = "starttls"  # "starttls", "tls" (SMTPS) or "none"
    sender: str = ""
    to: tuple[str, ...] = ()
    user_env: str = ""
    password_env: str = ""
    ca_file: str = ""  # certificates to trust besides the system's (a private CA)

    @property
    def smtp_port(self) -> int:
        return self.port or {"tls": 465, "none": 25}.get(self.security, 587)


@dataclass(frozen=True)
class Notify:
    """Whom to tell when a run ends with a failed, blocked or alarmed site ([notify])."""

    webhook: Webhook | None = None
    email: Email | None = None
    recovery: bool = False  # also tell when a run is all well after one that was not
    timeout: float = 20.0  # seconds per notification

    @property
    def channels(self) -> list[str]:
        return [name for name in ("webhook", "email") if getattr(self, name) is not None]


@dataclass(frozen=True)
class Config:
    path: Path
    archive: Path
    schedule: Schedule
    sites: tuple[SiteConfig, ...]
    settings: dict[str, Any] = field(default_factory=dict)  # extra Scrapy settings for every site
    notify: Notify = field(default_factory=Notify)

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
        if key not in known or key in ("spider", "alarm", "start", "name"):
            raise ConfigError(f"{where}: unknown key {key!r} (known: {', '.join(sorted(known))})")
        default = known[key].default
        kind = type(default)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(f"{where}.{key}: expected {kind.__name__}, got {value!r}")
        out[key] = value
    return out


SECRETS = {"password": "password_env", "user": "user_env", "username": "user_env"}
SECRETS |= {"token": "token_env", "secret": "token_env"}
"""Keys that would put a credential in the file, and the key that names its variable instead."""

ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _notify(table: Any, base: Path, name: str) -> Notify:
    """The [notify] table, checked: every mistake is one line naming the key."""
    where = f"{name} [notify]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table")
    table = dict(table)
    webhook_table, email_table = table.pop("webhook", None), table.pop("email", None)
    notify = Notify(**_typed(Notify, table, where))
    if notify.timeout <= 0:
        raise ConfigError(f"{where}.timeout: expected a number of seconds above 0")
    webhook = email = None
    if webhook_table is not None:
        webhook = Webhook(**_channel(Webhook, webhook_table, f"{where}.webhook"))
        if bool(webhook.url) == bool(webhook.url_env):
            raise ConfigError(f"{where}.webhook: give url or url_env (one of them)")
        if webhook.url and not http_url(webhook.url):
            raise ConfigError(f"{where}.webhook.url: expected an http:// or https:// URL")
    if email_table is not None:
        email = _email(_channel(Email, email_table, f"{where}.email"), base, f"{where}.email")
    return replace(notify, webhook=webhook, email=email)


def http_url(url: str) -> bool:
    """Whether ``url`` is one a webhook can be posted to."""
    if not url.isprintable() or " " in url:
        return False
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port out of range, a bad IPv6 literal
        return False


def _channel(cls: type, table: Any, where: str) -> dict[str, Any]:
    """One channel's table: known keys of the right type, no credentials in the file."""
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: expected a table")
    table = dict(table)
    for key in table:
        if key.lower() in SECRETS:
            raise ConfigError(
                f"{where}.{key}: no credentials in the file: put it in an environment "
                f"variable and give that variable's name as {SECRETS[key.lower()]}"
            )
    to = table.pop("to", None)
    found = _typed(cls, table, where)
    for key, value in found.items():
        if key.endswith("_env") and value and not ENV_NAME.fullmatch(value):
            raise ConfigError(f"{where}.{key}: expected the name of an environment variable")
    if to is not None:
        found["to"] = to
    return found


def _email(found: dict[str, Any], base: Path, where: str) -> Email:
    to = found.get("to", ())
    to = [to] if isinstance(to, str) else to
    if not isinstance(to, list) or not to or not all(isinstance(a, str) and "@" in a for a in to):
        raise ConfigError(f"{where}.to: expected a list of addresses")
    if any(not str(a).isprintable() for a in (*to, found.get("sender", ""), found.get("host", ""))):
        raise ConfigError(
            f"{where}: host, sender and to cannot hold line breaks or control characters"
        )
    found["to"] = tuple(to)
    if found.get("ca_file"):
        found["ca_file"] = os.path.abspath(base / found["ca_file"])
    email = Email(**found)
    if not email.host or "@" not in email.sender:
        raise ConfigError(f"{where}: host and sender (an address) are needed")
    if email.security not in ("starttls", "tls", "none"):
        raise ConfigError(f"{where}.security: expected starttls, tls or none")
    if bool(email.user_env) != bool(email.password_env):
        raise ConfigError(f"{where}: user_env and password_env go together")
    if email.password_env and email.security == "none":
        raise ConfigError(
            f"{where}: a password is never sent unencrypted; set security to starttls or tls"
        )
    if not 0 <= email.port <= 65535:
        raise ConfigError(f"{where}.port: expected 1-65535")
    return email


def _spider_and_start(
    name: str, spider: Any, start: Any, where: str
) -> tuple[str, tuple[str, ...]]:
    """A site's spider and, for the generic one, its start URLs: one entry, no code."""
    if not isinstance(spider, str) or not spider:
        raise ConfigError(f"{where}.spider: expected a spider's name")
    if spider != GENERIC:
        if start is not None:
            raise ConfigError(
                f'{where}.start: start URLs go with spider = "{GENERIC}" (a site spider knows '
                "where to start)"
            )
        return spider, ()
    urls = [start] if isinstance(start, str) else start
    if not isinstance(urls, list) or not urls or not all(isinstance(u, str) for u in urls):
        raise ConfigError(
            f'{where}: spider = "{GENERIC}" needs start = ["https://www.example.com/"] '
            "(the site's home page, or several)"
        )
    for url in urls:
        if not http_url(url):
            raise ConfigError(f"{where}.start: {url!r} is not an http(s) URL")
    return spider, tuple(urls)


def load_config(path: Path | str) -> Config:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no configuration file at {path}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    run = data.get("run", {})
    archive = run.get("archive", "output")
    if not isinstance(archive, str) or not archive:
        raise ConfigError(f"{path.name} [run] archive: expected a path")
    # Relative to the file's folder, made absolute: the summary and the manifest show where.
    archive = Path(os.path.abspath(path.parent / archive))
    schedule = Schedule(**_typed(Schedule, data.get("schedule", {}), f"{path.name} [schedule]"))
    if not 1 <= schedule.every_hours <= 24 or not 0 <= schedule.at_minute <= 59:
        raise ConfigError(f"{path.name} [schedule]: every_hours must be 1-24 and at_minute 0-59")
    defaults = dict(data.get("defaults", {}))
    default_alarm = _typed(Alarm, defaults.pop("alarm", {}), f"{path.name} [defaults.alarm]")
    default_site = _typed(SiteConfig, defaults, f"{path.name} [defaults]")
    sites = []
    for name, table in data.get("sites", {}).items():
        where = f"{path.name} [sites.{name}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: expected a table")
        table = dict(table)
        alarm = Alarm(
            **{**default_alarm, **_typed(Alarm, table.pop("alarm", {}), f"{where}.alarm")}
        )
        spider, start = _spider_and_start(
            name, table.pop("spider", name), table.pop("start", None), where
        )
        sites.append(
            SiteConfig(
                spider=spider,
                alarm=alarm,
                start=start,
                name=name if name != spider else "",
                **{**default_site, **_typed(SiteConfig, table, where)},
            )
        )
    if not sites:
        raise ConfigError(f"{path.name}: no [sites.<spider>] table")
    for site in sites:
        if site.start and (site.start, site.spider) in [
            (o.start, o.spider) for o in sites if o is not site
        ]:
            raise ConfigError(
                f"{path.name} [sites.{site.label}]: the same start URLs as another site"
            )
    settings = run.get("settings", {})
    if not isinstance(settings, dict):
        raise ConfigError(f"{path.name} [run.settings]: expected a table of Scrapy settings")
    notify = _notify(data.get("notify", {}), path.parent, path.name)
    return Config(
        path=path,
        archive=archive,
        schedule=schedule,
        sites=tuple(sites),
        settings=settings,
        notify=notify,
    )
