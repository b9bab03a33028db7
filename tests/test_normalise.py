"""Normalisation: Unicode NFC, invisibles, spaces; quotes and ellipses are content."""

from __future__ import annotations

import unicodedata

import pytest

from crawler.text.normalise import normalise, normalise_lines, normalise_optional


def test_decomposed_vietnamese_becomes_composed() -> None:
    composed = "Quân đội nhân dân Việt Nam"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert normalise(decomposed) == composed


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Qu&acirc;n &amp; d&acirc;n", "Quân & dân"),
        ("a\u00a0b\u202fc", "a b c"),
        ("zero\u200bwidth\u200c\u200djoin\u2060", "zerowidthjoin"),
        ("soft\u00adhyphen", "softhyphen"),
        ("\ufeffBOM at start", "BOM at start"),
        ("bell\x07 and\x00 nul\x1f", "bell and nul"),
        ("  many   spaces\t\tand\n\nlines  ", "many spaces and lines"),
        ("“mẫu mực, tiêu biểu”…", "“mẫu mực, tiêu biểu”…"),
        ("‘single’ and «guillemets» — dash", "‘single’ and «guillemets» — dash"),
        ("R&D and AT&T", "R&D and AT&T"),
        ("plain ascii", "plain ascii"),
    ],
)
def test_normalise(raw: str, clean: str) -> None:
    assert normalise(raw) == clean


def test_line_break_between_chinese_characters_is_not_a_space() -> None:
    assert normalise("中国军网\n  记者王永文") == "中国军网记者王永文"
    assert normalise("中国 军网") == "中国 军网"  # a real space stays
    assert normalise("PLA\nDaily 中国") == "PLA Daily 中国"


def test_normalise_lines_keeps_line_structure() -> None:
    text = " first\u00a0 line \r\n\r\n second\tline\u2028third "
    assert normalise_lines(text) == "first line\n\nsecond line\nthird"


def test_empty_and_none() -> None:
    assert normalise(None) == ""
    assert normalise(" \u00a0\u200b ") == ""
    assert normalise_optional("\u00a0") is None
    assert normalise_optional(" x ") == "x"


def _plain_clean_chars(text: str) -> str:
    """The character rules stated plainly: the translate table, then NFC."""
    from crawler.text.normalise import _TRANSLATE

    text = text.translate(_TRANSLATE)
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def test_the_fast_paths_agree_with_the_plain_rules() -> None:
    """``normalise`` skips work in C where it can (whether a text needs work, which odd
    characters it holds, whether it has CJK at all); on random text built from exactly
    the characters those shortcuts are about, it agrees with the rules stated plainly."""
    import random
    import re

    from crawler.text import normalise as module

    plain_needs_work = re.compile(
        rf"[^\x20-\x7e]|&|\s\s|^\s|\s$|[{re.escape(module._CONTROLS)}]"
    ).search
    groups = [
        list("abcXY.,"),  # plain ASCII, most of any text
        [" ", "  ", "\n", "\t", "\r", "\x1c", "\x7f", "&", "&amp;", "&#233;"],
        list(module._REPLACE),  # every character the table changes
        ["中", "文", "。", "“", "é", "e\u0301", "ſ"],
    ]
    rng = random.Random(13)
    for _ in range(30000):
        pool = [c for group in rng.sample(groups, rng.randint(1, 4)) for c in group]
        text = "".join(rng.choice(pool) for _ in range(rng.randint(1, 24)))
        assert module._clean_chars(text) == _plain_clean_chars(text), repr(text)
        assert module._needs_work(text) == bool(plain_needs_work(text)), repr(text)
        folded = module._prepare(text)
        if "\n" in folded:
            assert module.normalise(text) == " ".join(module._CJK_BREAK.sub("", folded).split()), (
                repr(text)
            )
