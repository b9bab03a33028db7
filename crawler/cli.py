"""The ``crawler`` command: clean, extract, crawl, demo.

Commands that print JSON print nothing else on standard output; logs go to
standard error. Errors are one line and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

EXAMPLES = {
    "clean": "crawler clean ../shared/seed/000_e17f4e3068c7ab98.txt",
    "extract": "crawler extract qdnd page.html --url https://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/abc-812345",
    "crawl": "crawler crawl qdnd --since 2025-01-01 --out output",
    "demo": "crawler demo",
    "crawl-all": "crawler crawl-all --config crawl.toml",
    "schedule": "crawler schedule >> /tmp/cron && crontab /tmp/cron   # or: crawler schedule --systemd",
    "fixture": "crawler fixture qdnd page.html --url https://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/abc-812345\n"
    "         crawler fixture --refresh qdnd",
    "new-site": "crawler new-site vnexpress_qp --domain vnexpress.net --language vi",
    "inspect": "crawler inspect --archive output   # add --json for the numbers as JSON",
    "show": "crawler show https://www.qdnd.vn/quoc-phong-an-ninh/tin-tuc/abc-812345",
    "sample": "crawler sample --site qdnd.vn -n 5 --seed 1",
    "sql": 'crawler sql "SELECT site, count(*) AS n FROM latest GROUP BY site ORDER BY n DESC" --csv',
    "export": "crawler export --format csv --site qdnd.vn --since 2025-01-01 -o qdnd-2025.csv",
    "validate": "crawler validate --archive output || echo 'the archive has problems'",
    "compact": "crawler compact --archive output   # --dry-run to see what it would do",
    "report": "crawler report --html report.html && xdg-open report.html",
    "reextract": "crawler reextract --site qdnd.vn --spider-version 1 && crawler compact",
}


EXIT_FAILED = 1  # a spider did not finish cleanly (errors counted, or closed early)
EXIT_USAGE = 2  # bad command line or input
EXIT_BLOCKED = 3  # a site answered with a bot challenge


class CommandError(Exception):
    """A user error: printed as one line, exit status 2."""


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default) + "\n")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


# -- commands --------------------------------------------------------------------


def cmd_clean(args: argparse.Namespace) -> int:
    from crawler.items import Article
    from crawler.pipelines import clean

    text = _read_text(args.file)
    article = Article(url="", site="", spider="", language="", flat_text=text)
    clean(article)
    print_json(
        {
            "body": article.body,
            "images": [image.as_dict() for image in article.images],
            "byline": article.byline,
            "authors": article.authors,
        }
    )
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    from scrapy.exceptions import DropItem
    from scrapy.http import HtmlResponse

    from crawler.pipelines import clean

    spidercls = _spider_class(args.spider)
    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"no such file: {path}")
    try:
        parts = urlsplit(args.url)
    except ValueError as error:
        raise CommandError(f"--url {args.url!r} is not a URL: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CommandError(f"--url {args.url!r} is not an http(s) URL")
    response = HtmlResponse(url=args.url, body=path.read_bytes(), encoding=args.encoding)
    spider = spidercls()
    if not spider.is_article_url(args.url):
        print(
            f"warning: {args.url} does not look like a {args.spider} article URL", file=sys.stderr
        )
    article = spider.extract(response)
    try:
        clean(article, check=True)
    except DropItem as error:
        raise CommandError(f"not an article: {error}") from None
    print_json(article.record())
    return 0


def cmd_crawl(args: argparse.Namespace) -> int:
    from crawler.archive.writer import ArchiveNotWritable
    from crawler.runner import SettingError, run_spiders

    overrides: dict[str, Any] = {"CRAWLER_ARCHIVE_DIR": str(args.out), **_settings(args.set)}
    if args.refetch:
        overrides["CRAWLER_REFETCH"] = True
    if args.redis:
        overrides["CRAWLER_REDIS_URL"] = args.redis
    if args.log_level:
        overrides["LOG_LEVEL"] = args.log_level
    spider_args = {"since": args.since, "until": args.until}
    try:
        result = run_spiders(args.spiders, overrides, spider_args)
    except KeyError as error:
        raise CommandError(str(error.args[0])) from None
    except (ArchiveNotWritable, SettingError) as error:
        raise CommandError(str(error)) from None
    for spider in result.spiders:
        print(f"{spider.spider}: {spider.summary()}", file=sys.stderr)
    if any(spider.reason == "blocked" for spider in result.spiders):
        return EXIT_BLOCKED
    return 0 if result.ok else EXIT_FAILED


def cmd_crawl_all(args: argparse.Namespace) -> int:
    from crawler.archive.writer import ArchiveNotWritable, check_writable
    from crawler.config import ConfigError, load_config
    from crawler.runner import SettingError
    from crawler.runs import EXIT_LOCKED, LockHeld, crawl_all, run_lock, summary

    try:
        config = load_config(args.config)
        check_writable(config.archive)  # the lock and the manifests live there too
    except (ConfigError, ArchiveNotWritable) as error:
        raise CommandError(str(error)) from None
    try:
        with run_lock(config.runs_dir / "crawl-all.lock"):
            manifest, status = crawl_all(config, log_level=args.log_level)
    except LockHeld as error:
        print(f"crawler crawl-all: {error}", file=sys.stderr)
        return EXIT_LOCKED
    except KeyError as error:
        raise CommandError(f"{config.path}: {error.args[0]}") from None
    except SettingError as error:
        raise CommandError(f"{config.path}: {error}") from None
    except ArchiveNotWritable as error:
        raise CommandError(str(error)) from None
    print(summary(manifest))
    return status


def cmd_schedule(args: argparse.Namespace) -> int:
    from crawler.config import ConfigError, load_config
    from crawler.schedule import crontab, systemd_units, write_units

    try:
        config = load_config(args.config)
    except ConfigError as error:
        raise CommandError(str(error)) from None
    if args.write:
        from crawler.query import check_output

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


def cmd_fixture(args: argparse.Namespace) -> int:
    from crawler.fixtures import refresh, save_fixture
    from crawler.query import check_output

    spidercls = _spider_class(args.spider)
    root = Path(args.dir)
    check_output(root)
    if args.refresh:
        if args.file:
            raise CommandError("--refresh takes no page: it re-derives every stored fixture")
        try:
            results = refresh(spidercls, root, write=args.write)
        except (FileNotFoundError, ValueError) as error:  # a case naming no page, or two
            raise CommandError(str(error)) from None
        changed = [r for r in results if r.diff]
        for result in changed:
            sys.stdout.write(result.diff)
        verb = "rewrote" if args.write else "would change (run again with --write to store)"
        print(f"{len(results)} fixtures of {args.spider}; {verb} {len(changed)}", file=sys.stderr)
        return 0
    if not args.file or not args.url:
        raise CommandError("give the saved page and its --url (or --refresh SPIDER)")
    page = Path(args.file)
    if not page.is_file():
        raise CommandError(f"no such file: {page}")
    from scrapy.exceptions import DropItem

    try:
        target, stored = save_fixture(spidercls, page, args.url, root, args.name)
    except DropItem as error:
        raise CommandError(f"not an article: {error}") from None
    print(f"wrote {target}, its page {stored}: review the JSON against the page")
    return 0


def cmd_new_site(args: argparse.Namespace) -> int:
    from crawler.newsite import PROJECT_ROOT, scaffold
    from crawler.query import check_output

    check_output(Path(args.root or PROJECT_ROOT))
    try:
        files = scaffold(args.name, args.domain, args.language, Path(args.root or PROJECT_ROOT))
    except (ValueError, FileExistsError) as error:
        raise CommandError(str(error)) from None
    for path in files:
        print(f"wrote {path}")
    print(
        f"next: fill in the selectors in {files[0].name}, build the replica, add fixtures; "
        "see docs/adding-a-site.md",
        file=sys.stderr,
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from crawler.archive.writer import ArchiveNotWritable
    from crawler.demo import run_demo

    try:
        return run_demo(Path(args.out), log_level=args.log_level)
    except ArchiveNotWritable as error:
        raise CommandError(str(error)) from None


# -- plumbing ----------------------------------------------------------------------


def _read_text(name: str) -> str:
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


def _settings(pairs: list[str]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise CommandError(f"--set takes NAME=VALUE, got {pair!r}")
        settings[name.strip()] = value
    return settings


def _spider_class(name: str) -> Any:
    from scrapy.spiderloader import SpiderLoader

    from crawler.runner import project_settings

    loader = SpiderLoader.from_settings(project_settings())
    try:
        return loader.load(name)
    except KeyError:
        known = ", ".join(sorted(loader.list()))
        raise CommandError(f"unknown spider {name!r}; known: {known}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crawler",
        description="Archive defence news: crawl sites, clean the text, write a Parquet archive.",
        epilog="Run 'crawler CMD --help' for the options and an example of each command.",
    )
    sub = parser.add_subparsers(dest="command", metavar="CMD", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=f"example: {EXAMPLES[name]}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    p = command("clean", "Clean one article given as flattened text; print JSON.")
    p.add_argument("file", nargs="?", default="-", help="text file, or - for standard input")
    p.set_defaults(func=cmd_clean)

    p = command(
        "extract", "Run a spider's parse and the pipelines on a saved page; print the record."
    )
    p.add_argument("spider", help="spider name, e.g. qdnd")
    p.add_argument("file", help="saved HTML page")
    p.add_argument("--url", required=True, help="the URL the page was fetched from")
    p.add_argument("--encoding", default="utf-8", help="page encoding (default utf-8)")
    p.set_defaults(func=cmd_extract)

    p = command(
        "crawl",
        "Crawl sites into the Parquet archive.\n\nExit status: 0 all spiders finished cleanly; "
        "1 a spider had errors (requests failed for good, articles not written, exceptions, "
        "private addresses refused; counted whatever --log-level shows) or stopped early; "
        "2 bad arguments, or an archive that cannot be written; 3 a site is blocked "
        "(it answered with a bot challenge).",
    )
    p.add_argument("spiders", nargs="+", metavar="SPIDER", help="spider names, e.g. qdnd")
    p.add_argument("--since", type=_date, help="skip articles published before this date")
    p.add_argument("--until", type=_date, help="skip articles published after this date")
    p.add_argument("--out", default="output", type=Path, help="archive root (default output/)")
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
    p.add_argument("--log-level", default=None, help="Scrapy log level (default INFO)")
    p.add_argument(
        "-s",
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a setting, e.g. -s CONCURRENT_REQUESTS_PER_DOMAIN=2 (repeatable)",
    )
    p.set_defaults(func=cmd_crawl)

    p = command(
        "crawl-all",
        "Crawl every enabled site of the configuration file, under a lock; write a run manifest.\n\n"
        "Exit status: 0 all sites well; 1 a site failed (errors, or stopped early); 2 bad "
        "configuration, or an archive that cannot be written; 3 a site is blocked (bot challenge); 4 layout alarm (a site fell below "
        "its thresholds); 5 another run holds the lock. When several apply, the first in "
        "this order: 1, 3, 4.",
    )
    p.add_argument("--config", default="crawl.toml", help="configuration file (default crawl.toml)")
    p.add_argument("--log-level", default="INFO", help="Scrapy log level (default INFO)")
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

    p = command(
        "fixture", "Store a saved page as a fixture with its drafted record, or re-derive them all."
    )
    p.add_argument("spider", help="spider name")
    p.add_argument("file", nargs="?", help="saved HTML page")
    p.add_argument("--url", help="the URL the page was fetched from")
    p.add_argument("--name", help="case name (default: from the URL)")
    p.add_argument(
        "--refresh", action="store_true", help="re-derive every fixture of SPIDER, show diffs"
    )
    p.add_argument(
        "--write", action="store_true", help="with --refresh: store the re-derived records"
    )
    p.add_argument("--dir", default="tests/fixtures", help="fixtures root (default tests/fixtures)")
    p.set_defaults(func=cmd_fixture)

    p = command(
        "new-site", "Write a new site's spider module, replica skeleton and fixtures folder."
    )
    p.add_argument("name", help="spider name, e.g. vnexpress_qp")
    p.add_argument("--domain", required=True, help="the site's host, e.g. www.example.vn")
    p.add_argument("--language", default="vi", help="BCP 47 language of the site (default vi)")
    p.add_argument("--root", help="project checkout to write into (default: this one)")
    p.set_defaults(func=cmd_new_site)

    from crawler.archive_cli import register as register_archive_commands

    register_archive_commands(sub, command)  # inspect, show, sample, sql, export, … reextract

    p = command("demo", "Serve the bundled replica sites on 127.0.0.1, crawl them, summarise.")
    p.add_argument("--out", default="output", help="archive root (default output/)")
    p.add_argument("--log-level", default="WARNING", help="Scrapy log level (default WARNING)")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status: int = args.func(args)
        return status
    except CommandError as error:
        print(f"crawler {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        return 1


if __name__ == "__main__":
    # `python -m crawler.cli`: run the importable module's main, whose CommandError is
    # the one the command modules (crawler.inspect, …) import and raise.
    from crawler.cli import main as _main

    sys.exit(_main())
