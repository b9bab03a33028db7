"""Hypothesis strategies for the property tests: text an attacker (or a broken CMS) could serve.

Each strategy mixes arbitrary Unicode (lone surrogates included, where a ``str``
can hold them) with the pieces the rules care about, so that the hard cases come
up in a few hundred examples instead of never: invisibles and controls, NFD
Vietnamese, Chinese, entities, layout tokens split and glued in every way.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import strategies as st

from crawler.items import Article, Image
from crawler.text.normalise import _INVISIBLE

# Anything a str can hold: every category, lone surrogates included.
ANY_CHAR = st.characters()
# Characters the cleaning rules treat specially.
SPECIAL_CHARS = (
    *_INVISIBLE,  # zero-width, soft hyphen, BOM, bidi marks
    *(chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))),  # C0 and C1 controls
    "\u00a0\u1680\u2000\u2007\u202f\u205f\u3000",  # spaces that are not U+0020
    *"\r\n\u2028\u2029\x85\t\f\v",
    "\u0301",  # a combining acute: NFD Vietnamese
    "\u0323\u0307",  # two marks whose order NFC fixes
    "\u212a",  # KELVIN SIGN: NFC makes it an ASCII K
    "\u037e",  # GREEK QUESTION MARK: NFC makes it an ASCII ;
    "\ud800",
    "\udfff",
    "\ufffd",
    "İı",  # letters whose case mapping changes length or script
)
VIETNAMESE = (
    "Quân đội nhân dân Việt Nam",
    "Đại tá HOÀNG TUẤN, Viện trưởng",
    "Tin, ảnh: SƠN BÌNH",
    "Bài và ảnh: QUỲNH OANH (tổng hợp)",
    "QĐND - Sáng 22-7, tại Hà Nội",
    "* Mời bạn đọc vào chuyên mục Quốc phòng xem các tin, bài liên quan",
    "Ảnh: TTXVN",
    "./.",
)
CHINESE = (
    "中国军网",
    "解放军报记者 姜 涛摄",
    "2024年06月18日 10:08",
    "“政绩工程”\n“形象工程”",
    "演练现场。张三摄",
)
ENTITIES = (
    "&amp;",
    "&amp;amp;",
    "&lt;",
    "&#38;",
    "&#x26;",
    "&#108;",
    "&#8203;",
    "&#x301;",
    "&#13;",
    "&#x212a;",
    "&nbsp;",
    "&not",
    "&",
    "amp;",
    "lt;",
    "#108;",
    "#x",
    "t;",
)
# Pieces of the layout tokens, so that hypothesis also builds tokens out of parts.
TOKEN_PARTS = ("left", "center", "right", "del", "Left", "CENTER", "rIgHt", "DEL", " ", "\n")


def _nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


@st.composite
def layout_tokens(draw: st.DrawFn) -> str:
    """A layout token as a CMS or an attacker may leave it: any case, spaced or glued,
    split by invisible characters or entities that cleaning removes or decodes."""
    spaced = draw(st.booleans())
    words = ["left", "center", "right", "del"]
    separators = [
        draw(st.sampled_from([" ", "  ", "\n", "\t", "\u00a0", " \u200b", "&nbsp;"]))
        if spaced
        else ""
        for _ in range(3)
    ]
    token = words[0] + "".join(sep + word for sep, word in zip(separators, words[1:], strict=True))
    chars = []
    for char in token:
        if char.isalpha() and draw(st.integers(0, 3)) == 0:
            char = char.swapcase()
        if char.isalpha() and draw(st.integers(0, 11)) == 0:
            char = draw(st.sampled_from([f"&#{ord(char)};", f"&#x{ord(char):x};"]))
        chars.append(char)
        if draw(st.integers(0, 7)) == 0:
            chars.append(draw(st.sampled_from(_INVISIBLE + "\x00\x1f\x7f")))
    return "".join(chars)


def _fragments(extra: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[str]:
    parts: list[st.SearchStrategy[str]] = [
        st.text(ANY_CHAR, max_size=12),
        st.text(st.characters(codec="ascii"), max_size=8),
        st.sampled_from(SPECIAL_CHARS),
        st.sampled_from(VIETNAMESE),
        st.sampled_from(VIETNAMESE).map(_nfd),
        st.sampled_from(CHINESE),
        st.sampled_from(ENTITIES),
        st.sampled_from(TOKEN_PARTS),
        layout_tokens(),
    ]
    if extra is not None:
        parts.append(extra)
    return st.one_of(parts)


def hard_text(
    max_pieces: int = 12, extra: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[str]:
    """Text made of hostile pieces; now and then one piece repeated into a huge line."""
    pieces = st.lists(_fragments(extra), max_size=max_pieces).map("".join)
    huge = st.tuples(_fragments(extra), st.integers(2_000, 20_000)).map(lambda p: p[0] * p[1])
    return st.one_of(pieces, pieces, pieces, pieces, pieces, pieces, pieces, pieces, huge)


def entity_text() -> st.SearchStrategy[str]:
    """Entities, their pieces and what hides them: nested, split, half-decoded."""
    piece = st.one_of(
        st.sampled_from(ENTITIES),
        st.sampled_from(SPECIAL_CHARS),
        st.sampled_from(["l", "t", "Kopf;", "not", "in;", "0", "6", "5;", "x"]),
    )
    return st.lists(piece, max_size=10).map("".join)


def short_text() -> st.SearchStrategy[str]:
    return st.lists(_fragments(), max_size=5).map("".join)


def images() -> st.SearchStrategy[Image]:
    return st.builds(
        Image,
        url=st.none() | st.text(max_size=20),
        caption=st.none() | short_text(),
        credit=st.none() | short_text(),
    )


@st.composite
def articles(draw: st.DrawFn) -> Article:
    """An article as a spider may yield it: every text field hostile."""
    blocks = draw(st.lists(st.one_of(hard_text(), hard_text(), images()), max_size=8))
    return Article(
        url="https://www.qdnd.vn/tin/1",
        site="qdnd.vn",
        spider="qdnd",
        language="vi",
        title=draw(short_text()),
        summary=draw(st.none() | short_text()),
        section=draw(st.none() | short_text()),
        published_raw=draw(st.none() | short_text()),
        tags=draw(st.lists(short_text(), max_size=4)),
        byline=draw(st.none() | short_text()),
        authors=draw(st.lists(short_text(), max_size=3)),
        blocks=blocks,
        flat_text=draw(st.none() | hard_text()),
    )


# Offsets a tzinfo may have: anything strictly inside a day.
OFFSETS = st.timedeltas(
    min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)
).map(lambda d: timezone(timedelta(minutes=round(d.total_seconds() / 60))))


def aware_datetimes() -> st.SearchStrategy[datetime]:
    """Any instant, in any fixed offset or named zone, the edges of ``datetime`` included."""
    edges = st.sampled_from(
        [
            datetime.min.replace(tzinfo=UTC),
            datetime.max.replace(tzinfo=UTC),
            datetime(1970, 1, 1, tzinfo=UTC),
            datetime(1, 1, 1, 23, 59, tzinfo=timezone(timedelta(hours=23, minutes=59))),
        ]
    )
    return st.one_of(edges, st.datetimes(timezones=OFFSETS), st.datetimes(timezones=st.timezones()))
