"""``crawler clean`` and ``crawler extract``: one article, cleaned, as JSON."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.commands._common import (
    CommandError,
    print_json,
    read_text,
    spider_class,
)


def cmd_clean(args: argparse.Namespace) -> int:
    from crawler.items import Article
    from crawler.pipelines import clean

    text = read_text(args.file)
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

    spidercls = spider_class(args.spider)
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


def register(sub: Any, command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``clean``, ``extract`` to the ``crawler`` command."""
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
