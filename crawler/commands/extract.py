"""``crawler clean`` and ``crawler extract``: one article, cleaned, as JSON."""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from crawler.archive.views import printable
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
    from crawler.crawling.saved_pages import PageError, check_encoding, check_url, extract_page

    if (args.file is None) == (args.batch is None):
        raise CommandError("give one saved page (FILE --url URL) or --batch LIST.tsv")
    if args.batch is None and args.url is None:
        raise CommandError("--url is needed: the URL the page was fetched from")
    if args.batch is not None and args.url is not None:
        raise CommandError("--url goes with one page; with --batch, each line has its URL")
    spidercls = spider_class(args.spider)
    try:
        encoding = check_encoding(args.encoding)
    except PageError as error:
        raise CommandError(f"--encoding: {error}") from None
    spider = spidercls()
    if args.batch is not None:
        return _extract_batch(spider, args.batch, encoding)
    path = Path(args.file)
    if not path.is_file():
        raise CommandError(printable(f"no such file: {path}"))
    try:
        check_url(args.url)
    except PageError as error:
        raise CommandError(f"--url {error}") from None
    if not spider.is_article_url(args.url):
        print(
            f"warning: {args.url} does not look like a {args.spider} article URL", file=sys.stderr
        )
    try:
        record = extract_page(spider, path, args.url, encoding)
    except PageError as error:
        raise CommandError(printable(str(error))) from None
    print_json(record)
    return 0


def _extract_batch(spider: Any, name: str, encoding: str | None) -> int:
    """Every page of the list: one line out per line in; 0 if each gave a record, else 1."""
    from crawler.crawling.saved_pages import PageError, batch_lines, extract_page, json_line

    if name == "-":
        # Not sys.stdin: its newline translation would take a \r in a file name for a line end.
        lines: Any = io.TextIOWrapper(
            sys.stdin.buffer, encoding="utf-8", errors="surrogateescape", newline=""
        )
        base = Path.cwd()
    else:
        path = Path(name)
        if not path.is_file():
            raise CommandError(printable(f"no such list file: {path}"))
        base = path.parent
        try:  # file names that are not UTF-8 come back as the same bytes
            lines = path.open(encoding="utf-8", errors="surrogateescape", newline="")
        except OSError as error:
            raise CommandError(printable(f"cannot read {path}: {error.strerror}")) from None
    failed = done = 0
    out = sys.stdout
    with contextlib.closing(lines):
        for line in batch_lines(_split_lines(lines), base):
            reason = line.problem
            if line.path is not None and not reason:
                try:
                    out.write(json_line(extract_page(spider, line.path, line.url, encoding)))
                    done += 1
                except PageError as error:
                    reason = str(error)
                except Exception as error:  # a page that breaks the parser ends no batch
                    reason = f"extraction failed: {type(error).__name__}: {error}"
            if reason:
                failed += 1
                where = f"{line.path}: " if line.path is not None else ""
                print(printable(f"line {line.number}: {where}{reason}"), file=sys.stderr)
            out.write("\n")
            out.flush()
    print(f"extract: {done} records, {failed} pages failed", file=sys.stderr)
    return 0 if failed == 0 else 1


def _split_lines(stream: Any) -> Iterator[str]:
    """Lines ended by ``\\n`` only (a file name may hold ``\\r`` or U+2028)."""
    pieces: list[str] = []
    while chunk := stream.read(1 << 16):
        *complete, last = chunk.split("\n")
        if complete:
            yield "".join(pieces) + complete[0]
            yield from complete[1:]
            pieces = []
        pieces.append(last)
    if rest := "".join(pieces):
        yield rest


def register(sub: Any, command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``clean``, ``extract`` to the ``crawler`` command."""
    p = command("clean", "Clean one article given as flattened text; print JSON.")
    p.add_argument("file", nargs="?", default="-", help="text file, or - for standard input")
    p.set_defaults(func=cmd_clean)

    p = command(
        "extract",
        "Run a spider's parse and the pipelines on a saved page; print the record as JSON. "
        "With --batch, many saved pages in one process: LIST.tsv has one PATH<TAB>URL a "
        "line (a relative PATH is taken from the list file's folder; from the current "
        "folder when the list is -, standard input); standard output gets one compact JSON "
        "record a line in the same order, and an empty line for a page that gave none (the "
        "reason on standard error, one line naming the list line).\n\n"
        "Exit status: 0 every page gave a record; 1 (--batch) some did not; 2 bad "
        "arguments, or (one page) it gave no record.",
    )
    p.add_argument("spider", help="spider name, e.g. qdnd, or generic for any site")
    p.add_argument("file", nargs="?", help="saved HTML page")
    p.add_argument("--url", help="the URL the page was fetched from (one page)")
    p.add_argument(
        "--batch", metavar="LIST.tsv", help="a list of saved pages: PATH<TAB>URL a line, or -"
    )
    p.add_argument(
        "--encoding",
        default=None,
        help="page encoding (default: what each page declares, else detected)",
    )
    p.set_defaults(func=cmd_extract)
