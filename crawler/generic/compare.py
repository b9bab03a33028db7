"""How close one extracted body is to another: the benchmark's token-shingle scoring.

Tokens are the runs of word characters (``\\w+``, Unicode); a body is the multiset
of its runs of 4 consecutive tokens (shingles), so a paragraph in the wrong place
or a caption in the body costs what it weighs. One function for the benchmark,
the generic demo and the tests, so that they all score alike; and the comparison
of two crawls of the same sites (``crawler demo --generic``) built on it.
"""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from crawler.urls import site_of

TOKEN = re.compile(r"\w+")
SHINGLE = 4


def shingles(text: str, size: int = SHINGLE) -> Counter[tuple[str, ...]]:
    """The runs of ``size`` consecutive tokens of ``text`` (a shorter text: itself)."""
    tokens = TOKEN.findall(text)
    if not tokens:
        return Counter()
    if len(tokens) < size:
        return Counter([tuple(tokens)])
    return Counter(tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1))


@dataclass(frozen=True)
class Score:
    """One page's body against the expected one."""

    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        predicted = self.true_positives + self.false_positives
        if not predicted:
            return 1.0 if not self.false_negatives else 0.0
        return self.true_positives / predicted

    @property
    def recall(self) -> float:
        expected = self.true_positives + self.false_negatives
        if not expected:
            return 1.0 if not self.false_positives else 0.0
        return self.true_positives / expected

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score(predicted: str, expected: str) -> Score:
    """Shared shingles (the smaller count of each), extra ones, missing ones."""
    got, want = shingles(predicted), shingles(expected)
    shared = sum((got & want).values())
    return Score(shared, sum(got.values()) - shared, sum(want.values()) - shared)


def body_f1(predicted: str, expected: str) -> float:
    """F1 of ``predicted`` against ``expected``: 1.0 the same words in the same order."""
    return score(predicted, expected).f1


def same_title(one: str, other: str) -> bool:
    """Titles that read the same: Unicode NFC, white space folded, case ignored."""

    def folded(text: str) -> str:
        return " ".join(unicodedata.normalize("NFC", text).split()).casefold()

    return folded(one) == folded(other)


def article_key(url: str) -> tuple[str, str]:
    """An article's URL as two crawls may spell it: its site (``www.`` or not), path, query."""
    parts = urlsplit(url)
    return site_of(url), parts.path.rstrip("/") + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True)
class SiteComparison:
    """One site crawled by its own spider and by the generic one."""

    site: str
    by_site: int  # articles the site spider archived
    by_generic: int  # articles the generic spider archived
    both: int  # articles both archived
    titles_matching: int  # of ``both``, titles that read the same
    median_body_f1: float  # of ``both``; 0.0 when there are none

    @property
    def found_share(self) -> float:
        """Of the site spider's articles, the share the generic spider found too."""
        return self.both / self.by_site if self.by_site else 1.0

    @property
    def title_share(self) -> float:
        return self.titles_matching / self.both if self.both else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "found_share": self.found_share, "title_share": self.title_share}


def compare_crawls(
    by_site: Iterable[dict[str, Any]], by_generic: Iterable[dict[str, Any]]
) -> list[SiteComparison]:
    """Per site, the site spider's records against the generic spider's (``url``,
    ``title``, ``body`` each), matched by article URL; sites of the site spider only."""
    sites: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    for row in by_site:
        key = article_key(row["url"])
        sites.setdefault(key[0], {})[key] = row
    generic: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
    for row in by_generic:
        key = article_key(row["url"])
        generic.setdefault(key[0], {})[key] = row
    results = []
    for site, own in sorted(sites.items()):
        found = generic.get(site, {})
        shared = sorted(set(own) & set(found))
        scores = [body_f1(found[key]["body"], own[key]["body"]) for key in shared]
        results.append(
            SiteComparison(
                site=site,
                by_site=len(own),
                by_generic=len(found),
                both=len(shared),
                titles_matching=sum(
                    same_title(found[key]["title"], own[key]["title"]) for key in shared
                ),
                median_body_f1=statistics.median(scores) if scores else 0.0,
            )
        )
    return results


def comparison_table(results: Iterable[SiteComparison]) -> str:
    """The comparison as a table for a terminal."""
    rows = list(results)
    width = max([4, *(len(r.site) for r in rows)])
    lines = [
        f"{'site':<{width}}  {'site spider':>11}  {'generic':>7}  {'both':>4}  "
        f"{'found':>5}  {'titles':>6}  {'median body F1':>14}"
    ]
    for r in rows:
        lines.append(
            f"{r.site:<{width}}  {r.by_site:>11}  {r.by_generic:>7}  {r.both:>4}  "
            f"{r.found_share:>5.0%}  {r.title_share:>6.0%}  {r.median_body_f1:>14.3f}"
        )
    return "\n".join(lines)
