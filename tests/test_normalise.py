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
