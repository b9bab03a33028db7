"""``crawler crawl``, ``crawl-all`` and ``schedule``: crawls into the archive, one-off or scheduled."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Any

from crawler.commands._common import (
    DATE_HELP,
    CommandError,
    add_archive_option,
    add_log_level_option,
    add_settings_option,
    check_output,
    parse_date,
    settings_pairs,
    spider_of_domain,
)
from crawler.exit_codes import EXIT_BLOCKED, EXIT_FAILED, EXIT_LOCKED


def cmd_crawl(args: argparse.Namespace) -> int:
    from crawler.archive.writer import ArchiveNotWritable
    from crawler.crawling.runner import SettingError, run_spiders
    from crawler.mirror.demo import NoReplica, serving_replicas

    args.spiders = [spider_of_domain(name) or name for name in args.spiders]
    overrides: dict[str, Any] = {
        "CRAWLER_ARCHIVE_DIR": str(args.archive),
        "LOG_LEVEL": args.log_level,
        **settings_pairs(args.set),
    }
    if args.refetch:
        overrides["CRAWLER_REFETCH"] = True
    if args.redis:
        overrides["CRAWLER_REDIS_URL"] = args.redis
    spider_args: dict[str, Any] = {"since": args.since, "until": args.until}
    if "generic" in args.spiders or args.start:
        if args.spiders != ["generic"] or not args.start:
            raise CommandError(
                "--start goes with the generic spider, alone: crawler crawl generic --start URL"
            )
        from crawler.sites.generic import start_urls_of

        try:
            spider_args["start"] = start_urls_of(args.start)
        except ValueError as error:
            raise CommandError(str(error)) from None
    try:
        with ExitStack() as replica:
            if args.replica:
                served = serving_replicas(args.spiders, overrides, spider_args.get("start", ()))
                overrides.update(replica.enter_context(served))
            result = run_spiders(args.spiders, overrides, spider_args)
    except KeyError as error:
        raise CommandError(str(error.args[0])) from None
    except (ArchiveNotWritable, SettingError, NoReplica) as error:
        raise CommandError(str(error)) from None
    for spider in result.spiders:
        print(f"{spider.spider}: {spider.summary()}", file=sys.stderr)
    if any(spider.reason == "blocked" for spider in result.spiders):
        return EXIT_BLOCKED
    return 0 if result.ok else EXIT_FAILED


def cmd_crawl_all(args: argparse.Namespace) -> int:
    from crawler.archive.layout import lock_path
    from crawler.archive.writer import ArchiveNotWritable, check_writable
    from crawler.crawling.runner import SettingError
    from crawler.mirror.demo import NoReplica, serving_replicas
    from crawler.runs.config import ConfigError, load_config
    from crawler.runs.crawl_all import crawl_all, summary
    from crawler.runs.lock import LockHeld, run_lock

    overrides = settings_pairs(args.set)
    try:
        config = load_config(args.config)
        if args.archive is not None:
            config = replace(config, archive=args.archive.absolute())
        check_writable(config.archive)  # the lock and the manifests live there too
    except (ConfigError, ArchiveNotWritable) as error:
        raise CommandError(str(error)) from None
    try:
        with run_lock(lock_path(config.archive)), ExitStack() as replica:
            extra = {}
            if args.replica:
                spiders = [site.spider for site in config.enabled]
                starts = [url for site in config.enabled for url in site.start]
                extra.update(
                    replica.enter_context(serving_replicas(spiders, config.settings, starts))
                )
            manifest, status = crawl_all(
                config, log_level=args.log_level, settings=extra, overrides=overrides
            )
    except LockHeld as error:
        print(f"crawler crawl-all: {error}", file=sys.stderr)
        return EXIT_LOCKED
    except KeyError as error:
        raise CommandError(f"{config.path}: {error.args[0]}") from None
    except SettingError as error:
        raise CommandError(f"{config.path}: {error}") from None
    except ArchiveNotWritable as error:
        raise CommandError(str(error)) from None
    except NoReplica as error:
        raise CommandError(f"{config.path}: {error}") from None
    print(summary(manifest))
    return status


def cmd_schedule(args: argparse.Namespace) -> int:
    from crawler.runs.config import ConfigError, load_config
    from crawler.runs.schedule import crontab, systemd_units, write_units

    try:
        config = load_config(args.config)
    except ConfigError as error:
        raise CommandError(str(error)) from None
    if args.write:
        check_output(Path(args.write))
        for path in write_units(config, Path(args.write), args.user):
            print(f"wrote {path}")
        print(
            "then: systemctl daemon-reload && systemctl enable --now defence-news-crawl.timer",
            file=sys.stderr,
        )
        return 0
    if args.systemd:
        for name, text in systemd_units(config, args.user).items():
            sys.stdout.write(f"# {name}\n{text}\n")
        return 0
    sys.stdout.write(crontab(config))
    return 0


REPLICA_HELP = (
    "fetch every page from the bundled replicas, served on 127.0.0.1 while the crawl runs, "
    "instead of the internet (as `crawler demo` does): try a crawl or a scheduled run offline "
    "(the replicas' articles go into the archive like any others)"
)


def register(sub: Any, command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``crawl``, ``crawl-all``, ``schedule`` to the ``crawler`` command."""
    p = command(
        "crawl",
        "Crawl sites into the Parquet archive.\n\nExit status: 0 all spiders finished cleanly; "
        "1 a spider had errors (requests failed for good, articles not written, exceptions, "
        "private addresses refused; counted whatever --log-level shows) or stopped early; "
        "2 bad arguments, or an archive that cannot be written; 3 a site is blocked "
        "(it answered with a bot challenge).",
    )
    p.add_argument(
        "spiders",
        nargs="+",
        metavar="SPIDER",
        help="spider names or their sites' domains, e.g. qdnd or qdnd.vn",
    )
    p.add_argument("--since", type=parse_date, help=DATE_HELP.format("on or after"))
    p.add_argument("--until", type=parse_date, help=DATE_HELP.format("on or before"))
    add_archive_option(p)
    p.add_argument(
        "--start",
        action="append",
        default=[],
        metavar="URL",
        help="with the generic spider: a site's home page to start from (repeatable); "
        "it finds the articles by itself, e.g. crawler crawl generic --start https://www.example.com/",
    )
    p.add_argument(
        "--refetch",
        action="store_true",
        help="fetch articles the archive already holds (by default they are skipped)",
    )
    p.add_argument(
        "--redis",
        metavar="URL",
        help="join a distributed crawl: shared queue and duplicate filter in redis, "
        "e.g. redis://10.0.0.5:6379/0 (see README, Distributed crawling)",
    )
    add_log_level_option(p)
    p.add_argument("--replica", action="store_true", help=REPLICA_HELP)
    add_settings_option(p)
    p.set_defaults(func=cmd_crawl)

    p = command(
        "crawl-all",
        "Crawl every enabled site of the configuration file, under a lock; write a run manifest "
        "(at the start, and at the end with each site's status and, for a failed site, its kinds "
        "of error), <archive>/_runs/metrics.prom, and the alerts of its [notify] table. A site "
        'with no code is one table: [sites.NAME] spider = "generic", start = ["https://…/"].'
        "\n\n"
        "Exit status: 0 all sites well; 1 a site failed (errors, or stopped early); 2 bad "
        "configuration, or an archive that cannot be written; 3 a site is blocked (bot challenge); 4 layout alarm (a site fell below "
        "its thresholds); 5 another run holds the lock. When several apply, the first in "
        "this order: 1, 3, 4.",
    )
    p.add_argument(
        "--config",
        default="crawl.toml",
        help='configuration file (default crawl.toml); its archive = "…" is relative to '
        "the file's folder, not to the current one (the summary prints the absolute path)",
    )
    p.add_argument(
        "--archive",
        "--out",
        dest="archive",
        type=Path,
        metavar="DIR",
        help='archive root, instead of the file\'s archive = "…" (relative to the current '
        "folder, as on every command line)",
    )
    add_log_level_option(p)
    p.add_argument("--replica", action="store_true", help=REPLICA_HELP)
    add_settings_option(p)
    p.set_defaults(func=cmd_crawl_all)

    p = command(
        "schedule",
        "Print crontab lines (or systemd units) that run crawl-all on the configured schedule.",
    )
    p.add_argument("--config", default="crawl.toml", help="configuration file (default crawl.toml)")
    p.add_argument(
        "--systemd", action="store_true", help="print a systemd service and timer instead"
    )
    p.add_argument(
        "--write", metavar="DIR", help="write the systemd units into DIR, e.g. /etc/systemd/system"
    )
    p.add_argument("--user", help="the user the systemd service runs as")
    p.set_defaults(func=cmd_schedule)
