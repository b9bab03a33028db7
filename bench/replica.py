"""A large qdnd.vn replica for the benchmarks, generated in memory and served on loopback.

Article ``i`` (0 <= i < N) is a copy of one of the 35 articles of the bundled
replica (28 real bodies, the seed, six written in the old layout), rendered by
``replicas.qdnd``'s own page functions, so the markup is the real
site's: both image layouts, captions, credits, bylines, summaries with source
tags. Each copy has its own id, URL, publish time (37 minutes apart, newest
first) and title; from the second round on, the words of its text paragraphs
(not the captions, the byline or the closing lines) are swapped through a
per-copy permutation of the replica's Vietnamese vocabulary, so rows differ
as real articles do and the archive's compression is not flattered by
repeated text. Articles go round-robin into the six sections; each section
listing pages ``PAGE_SIZE`` items with the site's pagination; the three feeds
the spider reads list the newest articles.

Every page is rendered once at start-up and served from memory by a
:class:`MirrorServer` subclass (same handler, same cookie gate), in a process
of its own so that serving costs the crawl no interpreter time::

    python -m bench.replica --articles 10000      # prints READY http://127.0.0.1:PORT
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import random
import re
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote

from crawler.mirror.server import CookieGate, MirrorServer, Site
from replicas import qdnd
from replicas.skeleton import robots

PAGE_SIZE = 20  # listing items per page, as on the real site
FIRST_ID = 1_000_000  # ids above the bundled replica's
NEWEST = datetime(2025, 1, 16, 18, 0, tzinfo=timezone(timedelta(hours=7)))
STEP = timedelta(minutes=37)
_PARAGRAPH = re.compile(r"(<p\b[^>]*>)(.*?)(</p>)", re.S)
_TEXT = re.compile(r">([^<]+)<")
_WORD = re.compile(r"\w+")


class Replica:
    """The pages of an ``count``-article replica, rendered on demand."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.site = qdnd.load_site(qdnd.SOURCES)
        self.bases: list[qdnd.Article] = list(self.site.articles)
        self.sections = list(self.site.sections)
        vocabulary: set[str] = set()
        for base in self.bases:
            for _, inner, _ in _PARAGRAPH.findall(base.body):
                vocabulary.update(w for w in _WORD.findall(inner) if w.isalpha() and w.islower())
        self.vocabulary = sorted(vocabulary)
        self._maps: dict[int, dict[str, str]] = {}
        # Home page and sidebars show the newest few articles.
        self.site.articles = [self.article(i) for i in range(min(6, count))]

    # -- articles ------------------------------------------------------------------

    def article(self, i: int) -> qdnd.Article:
        base = self.bases[i % len(self.bases)]
        round_ = i // len(self.bases)
        article = copy.copy(base)  # facts (images, tags) stay the base's
        article.id = FIRST_ID + i
        article.section = self.sections[i % len(self.sections)]
        subsections = list(self.site.sections[article.section]["subsections"])
        article.subsection = base.subsection if base.subsection in subsections else subsections[0]
        article.published = NEWEST - i * STEP
        if round_:
            article.title = f"{base.title} (kỳ {round_ + 1})"
            article.body = self._vary(base.body, round_)
        return article

    def _word_map(self, round_: int) -> dict[str, str]:
        mapping = self._maps.get(round_)
        if mapping is None:
            shuffled = list(self.vocabulary)
            random.Random(round_).shuffle(shuffled)
            mapping = self._maps[round_] = dict(zip(self.vocabulary, shuffled, strict=True))
        return mapping

    def _vary(self, body: str, round_: int) -> str:
        """Swap the words of every text paragraph but the last two (byline, trailer)."""
        mapping = self._word_map(round_)
        paragraphs = list(_PARAGRAPH.finditer(body))
        if len(paragraphs) <= 2:
            return body

        def words(match: re.Match[str]) -> str:
            return mapping.get(match.group(), match.group())

        def text(match: re.Match[str]) -> str:
            return ">" + _WORD.sub(words, match.group(1)) + "<"

        out, last = [], 0
        for match in paragraphs[:-2]:
            if "ảnh" in match.group(2).lower():
                continue  # a caption printed as a paragraph keeps its credit
            inner = _TEXT.sub(text, ">" + match.group(2) + "<")[1:-1]
            out += [body[last : match.start(2)], inner]
            last = match.end(2)
        out.append(body[last:])
        return "".join(out)

    def section_indices(self, section: str) -> range:
        """Articles of a section, newest first."""
        return range(self.sections.index(section), self.count, len(self.sections))

    # -- pages -------------------------------------------------------------------------

    def pages(self) -> dict[str, bytes]:
        """Every page by URL path (no trailing slash)."""
        pages: dict[str, bytes] = {
            "/robots.txt": robots(*qdnd.ROBOTS_DISALLOW).encode(),
            "/": qdnd.home_page(self.site).encode(),
        }
        for i in range(self.count):
            article = self.article(i)
            pages[article.path] = qdnd.article_page(self.site, article).encode()
        for section in self.sections:
            indices = self.section_indices(section)
            chunks = _Chunks(self, indices)
            for number in range(1, len(chunks) + 1):
                path = qdnd.listing_url(section, None, number)
                chunk_list = cast(list[list[qdnd.Article]], chunks)
                html = qdnd.listing_page(self.site, section, None, number, chunk_list)
                pages[path] = html.encode()
        newest = [self.article(i) for i in range(min(qdnd.FEED_LIMIT, self.count))]
        edition = self.site.edition
        feeds = [(edition.latest_feed, edition.newest, edition.origin + "/", newest)]
        for slug, sec in self.site.sections.items():
            if "feed" in sec:
                items = [self.article(i) for i in self.section_indices(slug)[: qdnd.FEED_LIMIT]]
                feeds.append((sec["feed"], sec["name"], f"{edition.origin}/{slug}", items))
        for path, title, channel, items in feeds:
            text, _ = qdnd.feed(self.site, title, channel, items, tracking=False)
            pages[path] = text.encode()
        return pages

    def article_urls(self) -> list[str]:
        return [self.article(i).url for i in range(self.count)]


class _Chunks:
    """The listing pages of one section, as ``qdnd.listing_page`` reads them."""

    def __init__(self, replica: Replica, indices: range) -> None:
        self.replica = replica
        self.indices = indices

    def __len__(self) -> int:
        return max(1, -(-len(self.indices) // PAGE_SIZE))

    def __getitem__(self, number: int) -> list[qdnd.Article]:
        chunk = self.indices[number * PAGE_SIZE : (number + 1) * PAGE_SIZE]
        return [self.replica.article(i) for i in chunk]


@dataclass(frozen=True)
class _Page:
    """What the mirror handler reads from a resolved page: its bytes and suffix."""

    body: bytes
    suffix: str

    def read_bytes(self) -> bytes:
        return self.body


@dataclass(frozen=True)
class GeneratedSite(Site):
    """A replica whose pages live in memory."""

    generated: dict[str, bytes] = field(default_factory=dict)

    def resolve(self, url_path: str, query: str = "") -> Path | None:
        path = unquote(url_path).rstrip("/") or "/"
        body = self.generated.get(path)
        if body is None:
            return None
        last = path.rsplit("/", 1)[-1]
        suffix = "." + last.rsplit(".", 1)[1] if "." in last else ".html"
        return cast(Path, _Page(body, suffix))


class GeneratedMirror(MirrorServer):
    """The replica server over pages held in memory (cookie gate and all)."""

    def __init__(
        self, pages: dict[str, bytes], hosts: list[str], host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self._empty = tempfile.TemporaryDirectory()
        super().__init__(Path(self._empty.name), host=host, port=port)
        site = GeneratedSite(
            folder=Path(self._empty.name),
            hosts=tuple(hosts),
            gate=CookieGate(name=qdnd.GATE_COOKIE),
            generated=pages,
        )
        self._sites = {host_name: site for host_name in hosts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a large generated qdnd.vn replica.")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    replica = Replica(args.articles)
    pages = replica.pages()
    server: Any = GeneratedMirror(pages, replica.site.edition.hosts, port=args.port).start()
    print(f"READY {server.base_url} {len(pages)}", flush=True)
    # Serve until the parent closes our standard input (or interrupts us).
    with contextlib.suppress(KeyboardInterrupt):
        sys.stdin.read()
    server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
