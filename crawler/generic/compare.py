"""How close one extracted body is to another: the benchmark's token-shingle scoring.

Tokens are the runs of word characters (``\\w+``, Unicode); a body is the multiset
of its runs of 4 consecutive tokens (shingles), so a paragraph in the wrong place
or a caption in the body costs what it weighs. One function for the benchmark,
the generic demo and the tests, so that they all score alike.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

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
