"""Unicode and white-space normalisation shared by every text field.

Vietnamese arrives both composed and decomposed, CMS exports carry entities,
no-break and zero-width characters; all of it is folded here so that later
rules can match plain text.
"""

from __future__ import annotations

import html
import re
import unicodedata

# Characters removed outright: zero-width, soft hyphen, BOM, bidi marks.
_INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff"
_INVISIBLE += "".join(chr(c) for c in range(0x202A, 0x202F)) + "".join(
    chr(c) for c in range(0x2066, 0x206A)
)
# Control characters other than tab and line breaks.
_CONTROLS = "".join(chr(c) for c in range(0x20) if chr(c) not in "\t\n\r") + "".join(
    chr(c) for c in range(0x7F, 0xA0)
)
# Lone surrogates (from broken decoding) cannot be encoded as UTF-8: they would break a batch.
_SURROGATES = "".join(chr(c) for c in range(0xD800, 0xE000))
_DELETE_TABLE = dict.fromkeys(map(ord, _INVISIBLE + _CONTROLS + _SURROGATES))
# Spaces that render as a plain space.
_SPACES = "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000\t\f\v"
# Line breaks other than \n; inside one paragraph a break is white space like any other.
_BREAKS = "\r\u2028\u2029\x85"
_TRANSLATE = {
    **_DELETE_TABLE,
    **dict.fromkeys(map(ord, _SPACES), " "),
    **dict.fromkeys(map(ord, _BREAKS), "\n"),
}
# Any character the table above changes: most text has none, and one search is cheaper.
_ODD = re.compile("[" + re.escape("".join(map(chr, _TRANSLATE))) + "]")
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x85]")

_CJK = r"\u2e80-\u2fff\u3001-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
# Punctuation Chinese uses outside the CJK blocks: · —― ‘’“” …
_CJK_PUNCT = "\u00b7\u2014\u2015\u2018-\u201f\u2026"
# A line break between two CJK characters is not a space (CSS segment-break rule); nor
# between CJK text and the quote, dash or ellipsis that sits against it (“政绩工程”\n“形象工程”).
_CJK_BREAK = re.compile(
    rf"(?:(?<=[{_CJK}])|(?<=[{_CJK}][{_CJK_PUNCT}]))[ ]*\n\s*(?=[{_CJK_PUNCT}]*[{_CJK}])"
)
_INLINE_SPACE_RUN = re.compile(r"[ ]{2,}")
_NEEDS_WORK = re.compile(rf"[^\x20-\x7e]|&|\s\s|^\s|\s$|[{re.escape(_CONTROLS)}]")


def _prepare(text: str) -> str:
    if "&" in text:
        text = html.unescape(text)
    if _ODD.search(text):
        text = text.translate(_TRANSLATE)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text


def normalise(text: str | None) -> str:
    """One paragraph or field: NFC, invisibles gone, white space folded, trimmed."""
    if not text:
        return ""
    if not _NEEDS_WORK.search(text):
        return text
    text = _prepare(text)
    # Only spaces and line feeds are left: fold them only when there is something to fold.
    if "\n" in text:
        text = _CJK_BREAK.sub("", text)
    elif "  " not in text:
        return text.strip()
    return " ".join(text.split())


def normalise_lines(text: str | None) -> str:
    """Flattened text: normalise each line, keep the line structure (blank lines too)."""
    if not text:
        return ""
    text = _prepare(_LINE_BREAKS.sub("\n", text))
    return "\n".join(_INLINE_SPACE_RUN.sub(" ", line).strip() for line in text.split("\n"))


def normalise_optional(text: str | None) -> str | None:
    """Like :func:`normalise`, but an empty result is ``None`` (for nullable columns)."""
    cleaned = normalise(text)
    return cleaned or None
