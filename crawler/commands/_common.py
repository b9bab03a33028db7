"""What every command shares: the user-error exception, JSON output, option types.

Command modules import from here, never from ``crawler.cli``: the entry point
depends on the commands, not the other way round.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any


class CommandError(Exception):
    """A user error: printed as one line, exit status 2."""


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default) + "\n")


def parse_date(text: str) -> date:
    """An argparse type: ``YYYY-MM-DD``."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"not a whole number of at least 1: {text!r}")
    return value


def add_archive_option(p: argparse.ArgumentParser) -> None:
    """``--archive DIR`` (alias ``--out``), as every archive command takes it."""
    p.add_argument(
        "--archive",
        "--out",
        dest="archive",
        default=Path("output"),
        type=Path,
        metavar="DIR",
        help="archive root (default output/; --out is the same option)",
    )


DEFAULT_LOG_LEVEL = "WARNING"
"""Every command's default: its own summary and Scrapy's warnings, not the INFO stream."""

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_level(text: str) -> str:
    """An argparse type: a logging level name, any case."""
    name = text.strip().upper()
    if name not in LOG_LEVELS:
        raise argparse.ArgumentTypeError(f"not a log level ({', '.join(LOG_LEVELS)}): {text!r}")
    return name


def add_log_level_option(p: argparse.ArgumentParser) -> None:
    """``--log-level``, with the one default every spider-running command shares."""
    p.add_argument(
        "--log-level",
        type=log_level,
        default=DEFAULT_LOG_LEVEL,
        metavar="LEVEL",
        help=f"Scrapy's log level (default {DEFAULT_LOG_LEVEL}: the summary and warnings; "
        "INFO for Scrapy's running account)",
    )


def add_settings_option(p: argparse.ArgumentParser) -> None:
    """``-s NAME=VALUE``, on every command that runs spiders."""
    p.add_argument(
        "-s",
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a Scrapy setting, e.g. -s CONCURRENT_REQUESTS_PER_DOMAIN=2 (repeatable)",
    )


SITE_HELP = "spider name or domain, e.g. qdnd or qdnd.vn (repeatable)"
DATE_HELP = "published {} this date, YYYY-MM-DD, in the site's local time (as crawl reads it)"


def check_output(target: Path) -> None:
    """Refuse to write into an archive's own directories (``articles/``, ``raw/`` …)."""
    from crawler.archive.layout import protected_dir
    from crawler.archive.views import printable

    inside = protected_dir(target)
    if inside is not None:
        raise CommandError(
            printable(
                f"refused to write {target}: it is inside {inside}, one of the archive's own "
                "directories (only crawls, compaction and `crawler validate --quarantine` "
                "write there); give a path outside it"
            )
        )


def read_text(name: str) -> str:
    """A UTF-8 text file, or standard input for ``-``."""
    if name == "-":
        return sys.stdin.read()
    path = Path(name)
    if not path.is_file():
        raise CommandError(f"no such file: {path}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise CommandError(
            f"{path} is not UTF-8 text: {error.reason} at byte {error.start}"
        ) from None


def settings_pairs(pairs: list[str]) -> dict[str, str]:
    """``-s NAME=VALUE`` options as a dict."""
    settings = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise CommandError(f"--set takes NAME=VALUE, got {pair!r}")
        settings[name.strip()] = value
    return settings


def spider_class(name: str) -> Any:
    """The spider called ``name``, or the one that crawls the domain ``name``; anything
    else is a one-line error."""
    from scrapy.spiderloader import SpiderLoader

    from crawler.crawling.runner import project_settings

    loader = SpiderLoader.from_settings(project_settings())
    return loader.load(spider_name(name))


def spider_of_domain(value: str) -> str | None:
    """The spider that crawls the domain ``value`` (``www.`` or not), or None."""
    domain = _as_domain(value)
    for name, cls in spider_sites().items():
        if cls.site == domain:
            return name
    return None


def spider_name(value: str) -> str:
    """A spider's name from its name or its site's domain (``qdnd.vn`` -> ``qdnd``)."""
    from scrapy.spiderloader import SpiderLoader

    from crawler.crawling.runner import project_settings

    names = SpiderLoader.from_settings(project_settings()).list()
    if value in names:
        return value
    found = spider_of_domain(value)
    if found is not None:
        return found
    sites = spider_sites()
    known = ", ".join(f"{n} ({sites[n].site})" if n in sites else n for n in sorted(names))
    raise CommandError(f"unknown spider {value!r}; known: {known}")


def guard_archive(work: Callable[[], int]) -> int:
    """Archive and DuckDB errors as one line (``CommandError``)."""
    import duckdb

    from crawler.archive.views import ArchiveError, one_line

    try:
        return work()
    except ArchiveError as error:
        raise CommandError(str(error)) from None
    except duckdb.Error as error:
        raise CommandError(one_line(error)) from None


def spider_sites() -> dict[str, Any]:
    """Every spider with a site of its own: name -> its class (``site``, ``timezone``)."""
    from scrapy.spiderloader import SpiderLoader

    from crawler.crawling.runner import project_settings

    loader = SpiderLoader.from_settings(project_settings())
    classes = {name: loader.load(name) for name in sorted(loader.list())}
    return {name: cls for name, cls in classes.items() if getattr(cls, "site", "")}


def archive_sites(archive: Path | str) -> list[str]:
    """The sites an archive holds rows of: its ``articles/site=<domain>`` partitions."""
    from crawler.archive.layout import ARTICLES_DIR

    root = Path(archive) / ARTICLES_DIR
    try:
        entries = sorted(root.iterdir()) if root.is_dir() else []
    except OSError:
        return []
    return [e.name[len("site=") :] for e in entries if e.name.startswith("site=") and e.is_dir()]


def _as_domain(text: str) -> str:
    """``https://www.QDND.vn/`` -> ``qdnd.vn``: a domain as the archive's ``site`` holds it."""
    value = text.strip().lower()
    if "://" in value:
        value = value.split("://", 1)[1]
    value = value.split("/", 1)[0].rstrip(".")
    return value.removeprefix("www.")


def resolve_sites(values: list[str] | None, archive: Path | str) -> list[str] | None:
    """``--site`` values (spider names or domains) as the archive's ``site`` domains.

    A spider name stands for its site; a domain is accepted when a spider crawls it or
    when the archive has a ``site=<domain>`` partition (a generic crawl's sites have no
    spider of their own). Anything else is a one-line error naming the known sites.
    """
    if not values:
        return values
    in_archive = set(archive_sites(archive))
    domains = list(dict.fromkeys(_as_domain(value) for value in values))
    if all(domain in in_archive for domain in domains):
        return domains  # what the archive holds: no need to load the spiders (about 0.7 s)
    spiders = spider_sites()
    crawled = {cls.site for cls in spiders.values()}
    sites: list[str] = []
    for value in values:
        if value in spiders:
            site = spiders[value].site
        else:
            site = _as_domain(value)
            if site not in crawled and site not in in_archive:
                known = ", ".join(f"{name} ({cls.site})" for name, cls in spiders.items())
                others = sorted(in_archive - crawled)
                from crawler.archive.views import printable

                raise CommandError(
                    printable(
                        f"unknown site {value!r}; known: {known}"
                        + (f"; also in {archive}: {', '.join(others)}" if others else "")
                    )
                )
        if site not in sites:
            sites.append(site)
    return sites


def site_zones() -> tuple[dict[str, tzinfo], tzinfo]:
    """Each spider's site -> its local time zone, for ``--since``/``--until``; and the zone
    of a site without a spider (a generic crawl's), the generic spider's as it crawled."""
    from crawler.sites.base import NewsSpider

    zones = {cls.site: cls.timezone for cls in spider_sites().values()}
    return zones, NewsSpider.timezone
