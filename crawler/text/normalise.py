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
_HAS_CJK = re.compile(f"[{_CJK}]")
_INLINE_SPACE_RUN = re.compile(r"[ ]{2,}")
# In ASCII text, a character outside printable ASCII is a control, a tab or a break.
_ASCII_ODD = re.compile(r"[\x00-\x1f\x7f]")


# An entity as html.unescape finds one; named ones are at most 32 characters long.
_CHARREF = re.compile(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)")
_NAMED_WINDOW = 40


# The table above, character to replacement, for str.replace.
_REPLACE = {chr(code): value or "" for code, value in _TRANSLATE.items()}


# Kinds of odd character replaced one by one; a text with more gets one translate.
_FEW_ODD = 8


def _clean_chars(text: str) -> str:
    """Invisibles and controls out, odd spaces and breaks plain, NFC."""
    match = _ODD.search(text)
    # As text.translate(_TRANSLATE), but one str.replace per kind of odd character a
    # text holds (most hold one or two): translate looks every character up in a dict,
    # slow on long text. No replacement holds an odd character, so the order does not
    # matter, and the text before the first odd character found needs no new look.
    for _ in range(_FEW_ODD):
        if match is None:
            break
        char = match.group()
        text = text.replace(char, _REPLACE[char])
        match = _ODD.search(text, match.start())
    else:
        if match is not None:
            text = text.translate(_TRANSLATE)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text


def _unescape(text: str) -> str:
    """Entities decoded until none is left, so that a second normalise changes nothing.

    Decoding once is not enough: ``&amp;lt;`` leaves ``&lt;``, ``&&#108;t;`` leaves
    ``&lt;``, ``&l&#8203;t;`` leaves ``&lt;`` once the zero-width space goes. The text
    is read from its end: each ``&`` is decoded against the already final text after
    it (what comes before an ``&`` never changes what it starts), and a decoded
    ``&`` is tried again. Each decoding shortens the text, so this is linear, where
    calling html.unescape until nothing changes is quadratic on ``&amp;amp;amp;…``.
    """
    pieces = text.split("&")
    # The final text after the current "&": (chunk, start) pairs, first chunk last.
    done: list[tuple[str, int]] = [(pieces[-1], 0)] if pieces[-1] else []
    for piece in reversed(pieces[:-1]):
        while True:
            decoded = _decode_head(done)
            if decoded is None:
                done.append(("&", 0))
                break
            if not decoded.startswith("&"):
                if decoded:  # empty chunks would make _head slow
                    done.append((decoded, 0))
                break
            if len(decoded) > 1:  # &amp;amp; -> &amp; : try the new "&" again
                done.append((decoded, 1))
        if piece:
            done.append((piece, 0))
    return "".join(chunk[start:] for chunk, start in reversed(done))


def _decode_head(done: list[tuple[str, int]]) -> str | None:
    """Decode the entity that an ``&`` put before ``done`` starts, and take it off
    ``done``; ``None`` if there is none."""
    first = _head(done, 1)
    if not first or first in "\t\n\f <&;":  # the common cases, cheaply
        return None
    size = _NAMED_WINDOW
    while True:  # a numeric entity may be longer than the window: widen it
        head = _head(done, size)
        match = _CHARREF.match("&" + head)
        if match is None or match.end() <= len(head) or len(head) < size:
            break
        size *= 2
    if match is None:
        return None
    entity = match.group()
    if entity[1] == "#" and entity[2] not in "xX":
        # int() refuses more than 4300 digits: html.unescape would raise.
        digits = entity[2:].rstrip(";").lstrip("0") or "0"
        entity = f"&#{digits if len(digits) < 8 else 0x110000};"
    decoded = html.unescape(entity)
    if decoded == entity:
        return None
    _drop_head(done, match.end() - 1)
    return _clean_chars(decoded)


def _head(done: list[tuple[str, int]], size: int) -> str:
    """The first ``size`` characters of the text held in ``done``."""
    head: list[str] = []
    length = 0
    for chunk, start in reversed(done):
        head.append(chunk[start : start + size - length])
        length += len(head[-1])
        if length >= size:
            break
    return "".join(head)


def _drop_head(done: list[tuple[str, int]], size: int) -> None:
    while size:
        chunk, start = done.pop()
        if len(chunk) - start > size:
            done.append((chunk, start + size))
            return
        size -= len(chunk) - start


def _prepare(text: str) -> str:
    text = _clean_chars(text)
    if "&" in text:
        decoded = _unescape(text)
        if decoded != text and not decoded.isascii():
            decoded = unicodedata.normalize("NFC", decoded)  # e&#x301; is é
        text = decoded
    return text


def _needs_work(text: str) -> bool:
    """Anything for :func:`normalise` to do: a character other than printable ASCII,
    an entity, or white space to fold or trim (tests that each run in C, where one
    regular expression of alternatives was tried at every position)."""
    return (
        not text.isascii()
        or "&" in text
        or "  " in text
        or text[0] == " "
        or text[-1] == " "
        or _ASCII_ODD.search(text) is not None
    )


def normalise(text: str | None) -> str:
    """One paragraph or field: NFC, invisibles gone, white space folded, trimmed."""
    if not text:
        return ""
    if not _needs_work(text):
        return text
    text = _prepare(text)
    # Only spaces and line feeds are left: fold them only when there is something to fold.
    if "\n" in text:
        if not text.isascii() and _HAS_CJK.search(text):
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
