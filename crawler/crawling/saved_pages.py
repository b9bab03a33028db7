"""Saved pages made into article records: one page (``crawler extract``) or a list of them.

A batch is a text file of ``PATH<TAB>URL`` lines. Every line gives one result, in
order, so that line *n* of the output belongs to line *n* of the list, whatever
fails; a failure is a one-line reason, never an exception that ends the batch.
Relative paths are taken from the list file's folder (a list and its pages move
together), or from the current folder when the list comes from standard input.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy.exceptions import DropItem
from scrapy.http import HtmlResponse

from crawler.pipelines import clean
from crawler.sites.base import NewsSpider

MAX_PAGE_BYTES = 64 * 1024 * 1024
"""A saved page larger than this is refused: four times what a crawl downloads (16 MiB)."""


class PageError(Exception):
    """A page that gave no record; the message is one line saying why."""


def check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL; else :class:`PageError`."""
    try:
        parts = urlsplit(url)
    except ValueError as error:
        raise PageError(f"{url!r} is not a URL: {error}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PageError(f"{url!r} is not an http(s) URL")
    return url


def check_encoding(name: str | None) -> str | None:
    """A known codec name, or None (detect from each page)."""
    if name is None:
        return None
    try:
        codecs.lookup(name)
    except LookupError:
        raise PageError(f"unknown encoding {name!r}") from None
    return name


def extract_page(
    spider: NewsSpider, path: Path, url: str, encoding: str | None = None
) -> dict[str, Any]:
    """The cleaned record the spider makes of the page saved at ``path``.

    ``encoding`` None: the page says (BOM, ``<meta charset>``), else a guess, as
    for a fetched page without a charset header.
    """
    check_url(url)
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise PageError("is a folder, not a page")
        if not path.is_file():  # a FIFO or a device (/dev/zero) would never end
            raise PageError("not a regular file")
        if size > MAX_PAGE_BYTES:
            raise PageError(f"{size:,} bytes, more than a page ({MAX_PAGE_BYTES:,} at most)")
        body = path.read_bytes()
    except FileNotFoundError:
        raise PageError("no such file") from None
    except OSError as error:
        raise PageError(f"cannot read: {error.strerror or error}") from None
    response = HtmlResponse(url=url, body=body, encoding=encoding)
    article = spider.extract(response)
    try:
        clean(article, check=True)
    except DropItem as error:
        raise PageError(f"not an article: {error}") from None
    return article.record()


@dataclass(frozen=True)
class BatchLine:
    """One line of a batch list: where the page is and the URL it came from."""

    number: int  # 1-based, as an editor shows it
    path: Path | None  # None: the line is not PATH<TAB>URL
    url: str
    problem: str = ""  # why the line cannot be read; empty when it can


def batch_lines(lines: Iterable[str], base: Path) -> Iterator[BatchLine]:
    """The lines of a batch list; a path without a folder is taken from ``base``.

    The URL is after the last tab (a URL holds no tab; a file name may).
    Blank lines give a line with an empty path and no problem: the output keeps
    its place with an empty line, and it does not count as a failure.
    """
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            yield BatchLine(number, None, "")
            continue
        name, tab, url = line.rpartition("\t")
        if not tab or not name:
            yield BatchLine(number, None, "", "expected PATH<TAB>URL")
            continue
        yield BatchLine(number, base / name, url.strip())


_LINE_BREAKS = {"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def json_line(record: dict[str, Any]) -> str:
    """A record as one line of compact JSON.

    ``json`` escapes control characters but not U+0085, U+2028 and U+2029, which
    ``str.splitlines`` and some JSON-lines readers take for line breaks; they are
    escaped too, so one record is always one line.
    """
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=_iso)
    for char, escaped in _LINE_BREAKS.items():
        if char in text:
            text = text.replace(char, escaped)
    return text


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
