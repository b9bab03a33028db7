"""Text as the full-text index sees it, and the user's query as safe FTS5 syntax.

SQLite's ``unicode61`` tokenizer (``remove_diacritics 2``) folds case and the
Vietnamese tone and vowel marks, but not ``đ``/``Đ`` (a letter of its own, not a
``d`` with a mark), and it reads a run of Chinese characters, which has no
spaces, as one token. Both sides, the indexed text and the query, go through
:func:`index_text` first: ``đ`` becomes ``d``, and a run of CJK characters
becomes its overlapping bigrams followed by its last character alone, so that a
two-character query is one token and a longer one a phrase of bigrams.

The query never reaches FTS5 as the user typed it: every word and every quoted
phrase becomes a double-quoted FTS5 string of letters and digits only, so
``"``, ``*``, ``NEAR(``, ``-``, ``OR`` are text to find (or nothing), never syntax.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

_D_FOLD = str.maketrans({"đ": "d", "Đ": "D"})  # for single characters; texts use _fold_d
# Han (with extensions A and compatibility), kana, hangul: written without spaces.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_CJK_CHAR = re.compile(f"[{_CJK}]")
_NOT_WORD = re.compile(r"[\W_]+")
_QUOTED = re.compile(r'"([^"]*)"?')
_SNIPPET_SPACE = re.compile(r"\s+")


def _bigrams(run: str) -> str:
    """A CJK run as the index holds it: each pair of neighbours, then the last character."""
    if len(run) == 1:
        return f" {run} "
    return " " + " ".join(run[i : i + 2] for i in range(len(run) - 1)) + f" {run[-1]} "


def _fold_d(text: str) -> str:
    """``đ``/``Đ`` as ``d``/``D`` (``str.replace`` is many times faster than a translate
    table on long non-ASCII text)."""
    return text.replace("đ", "d").replace("Đ", "D")


def index_text(text: str) -> str:
    """What the index tokenizes for ``text``: ``đ`` folded, CJK runs as bigrams."""
    folded = _fold_d(text)
    if _CJK_CHAR.search(folded) is None:
        return folded
    return _CJK_RUN.sub(lambda m: _bigrams(m.group()), folded)


def index_column(texts: Any) -> list[bytes]:
    """:func:`index_text` of each text of an Arrow string array (null as ""), as UTF-8
    bytes: FTS5 reads a BLOB as the same text, and Python need not decode each text and
    encode it again. The folding and the search for CJK are done by Arrow over the whole
    column (outside Python's lock), only the texts holding CJK through Python."""
    import pyarrow as pa
    import pyarrow.compute as pc

    folded = pc.replace_substring(pc.replace_substring(texts.fill_null(""), "đ", "d"), "Đ", "D")
    out: list[bytes] = folded.cast(pa.binary()).to_pylist()
    with_cjk = pc.match_substring_regex(folded, f"[{_CJK}]")
    if pc.any(with_cjk).as_py():
        for i in pc.indices_nonzero(with_cjk).to_pylist():
            out[i] = index_text(out[i].decode("utf-8")).encode("utf-8")
    return out


@dataclass(frozen=True)
class Term:
    """One thing every hit must contain: a word, or a phrase (its words in order)."""

    words: tuple[str, ...]

    def fts(self) -> str:
        """The term as FTS5 syntax: a quoted string of letters and digits (a prefix
        query for a lone CJK character, which the index holds at the start of bigrams)."""
        tokens = self.tokens()
        if len(tokens) == 1 and len(tokens[0]) == 1 and _CJK_CHAR.match(tokens[0]):
            return f'"{tokens[0]}" *'
        return '"' + " ".join(tokens) + '"'

    def tokens(self) -> list[str]:
        """The index's tokens for the term, in order (the tokenizer only folds them)."""
        return [token for word in self.words for token in _tokens(word)]


def _tokens(word: str) -> list[str]:
    """The index's tokens for one query word, in order: letters and digits only, CJK runs
    as their bigrams (a lone CJK character as itself)."""
    tokens: list[str] = []
    position = 0
    for match in _CJK_RUN.finditer(word):
        tokens += [p for p in _NOT_WORD.split(_fold_d(word[position : match.start()])) if p]
        run = match.group()
        tokens += [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
        position = match.end()
    tokens += [p for p in _NOT_WORD.split(_fold_d(word[position:])) if p]
    return tokens


def parse_query(text: str) -> list[Term]:
    """The terms of a query: ``"a phrase"`` in double quotes, every other word alone.
    Punctuation separates words and is otherwise dropped; an unclosed quote runs to the
    end. An empty list means there is nothing to search for."""
    terms: list[Term] = []
    position = 0
    for match in _QUOTED.finditer(text):
        terms += [Term((w,)) for w in text[position : match.start()].split() if _tokens(w)]
        words = tuple(w for w in match.group(1).split() if _tokens(w))
        if words:
            terms.append(Term(words))
        position = match.end()
    terms += [Term((w,)) for w in text[position:].split() if _tokens(w)]
    return terms


def fts_query(terms: list[Term]) -> str:
    """An FTS5 MATCH expression that needs every term (AND)."""
    return " AND ".join(term.fts() for term in terms)


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """One character as a search compares it: lower case, no marks, ``đ`` as ``d``."""
    base = unicodedata.normalize("NFD", char.translate(_D_FOLD))[0].lower()
    return base if len(base) == 1 else char


def fold(text: str) -> str:
    """``text`` folded character by character (same length, so positions carry over)."""
    return "".join(_fold_char(c) for c in text)


def _pattern(term: Term) -> str:
    """A regular expression for the term in :func:`fold`-ed text: its words in order,
    anything but letters and digits between them, whole words except for CJK."""
    parts = [p for w in term.words for p in _NOT_WORD.split(fold(w)) if p]
    if not parts:
        return ""
    before = "" if _CJK_CHAR.match(parts[0][0]) else r"(?<!\w)"
    after = "" if _CJK_CHAR.match(parts[-1][-1]) else r"(?!\w)"
    return before + r"[\W_]+".join(re.escape(p) for p in parts) + after


def snippet(text: str, terms: list[Term], width: int = 200) -> str:
    """About ``width`` characters of ``text`` around the first hit, hits marked «…»;
    the start of the text when no term is found literally (a match of the index only)."""
    flat = _SNIPPET_SPACE.sub(" ", text).strip()
    if not flat:
        return ""
    patterns = [p for p in (_pattern(t) for t in terms if t.words) if p]
    folded = fold(flat)
    finder = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None
    first = finder.search(folded) if finder else None
    start = 0 if first is None else max(0, first.start() - width // 3)
    if start:
        space = flat.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start - space < 20 else start
    end = min(len(flat), start + width)
    if end < len(flat):
        space = flat.find(" ", end)
        end = space if 0 <= space - end < 20 else end
    out: list[str] = ["…" if start else ""]
    position = start
    if finder is not None:
        for hit in finder.finditer(folded, start, end):
            out += [flat[position : hit.start()], "«", flat[hit.start() : hit.end()], "»"]
            position = hit.end()
    out += [flat[position:end], "…" if end < len(flat) else ""]
    return "".join(out)
