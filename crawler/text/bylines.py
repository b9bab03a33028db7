"""The author credit that closes an article.

qdnd.vn and its peers end an article with a credit line: ``Tin, ảnh: SƠN BÌNH``,
``Bài và ảnh: …``, a bare upper-case name, ``QUỲNH OANH (tổng hợp)``, or a rank
and position around an upper-case name (``Đại tá HOÀNG TUẤN, Viện trưởng …``).
The line leaves the body; it is kept as printed, and its names are title-cased.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# "Tin, ảnh:", "Bài và ảnh:", "Bài:", "Ảnh:", "Bài, ảnh, video:" …
_LABEL = re.compile(
    r"^(?P<label>(?:Tin|Bài|Bài viết|Tin bài|Ảnh|Video|Clip|Đồ họa|Story|Article|Text|Photos?)"
    r"(?:\s*(?:,|và|and|-|–|\+|&)\s*(?:tin|bài|ảnh|video|clip|đồ họa|text|photos?))*\s*[:：])"
    r"\s*(?P<names>\S.*)$",
    re.IGNORECASE,
)
# English credits: "By HONG PHUC", "Translated by Minh Anh".
_ENGLISH = re.compile(
    r"^(?P<label>(?:(?:Translated|Written|Reported|Compiled|Edited|Photos?|Story)\s+)?[Bb]y)\s+(?P<names>\S.*)$"
)
# "By HONG PHUC - Translated by MINH ANH": a dash before another credit label starts another credit.
_NEXT_CREDIT = re.compile(
    r"\s+[-–—|]\s+(?=(?:(?:Translated|Written|Reported|Compiled|Edited|Photos?|Story)\s+)?[Bb]y\s"
    r"|(?:Tin|Bài|Ảnh|Story|Article|Text|Photos?)\b[^:]{0,20}:)"
)
_ROLE = r"\((?:thực hiện|tổng hợp|lược dịch|biên dịch|dịch|giới thiệu|theo [^)]{1,40})\)"
_SEPARATORS = re.compile(r"\s+[-–—]\s+|(?<=\w)[-–—](?=\w)|\s*[–—]\s*|\s*[,;/&]\s*|\s+(?:và|and)\s+")
_TITLES = frozenset(
    [
        "PGS",
        "GS",
        "TS",
        "THS",
        "TSKH",
        "BS",
        "KS",
        "NCS",
        "CN",
        "TTND",
        "TTƯT",
        "NSND",
        "NSƯT",
        "AHLLVT",
        "NXB",
        "PV",
        "CTV",
    ]
)
AGENCIES = frozenset(
    [
        "TTXVN",
        "VNA",
        "AFP",
        "AP",
        "REUTERS",
        "XINHUA",
        "TASS",
        "RIA",
        "IRNA",
        "VOV",
        "VTV",
        "BBC",
        "CNN",
        "KYODO",
        "YONHAP",
        "BERNAMA",
        "ANTARA",
        "PTI",
        "SPUTNIK",
        "EFE",
        "ANSA",
        "DPA",
        "QĐND",
        "TPO",
        "VGP",
    ]
)
# A byline is short; anything longer is article text.
_MAX_LENGTH = 160
_MAX_PREFIX_WORDS = 6
_ABBREVIATION = re.compile(r"\b[^\W\d_]{1,6}\.")


def _is_upper_word(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters)


def title_case(name: str) -> str:
    """``SƠN BÌNH`` -> ``Sơn Bình``; agencies (``TTXVN``) stay as they are."""
    words = name.split()
    if len(words) == 1 and words[0].upper() in AGENCIES:
        return words[0]
    return " ".join(w[:1].upper() + w[1:].lower() for w in words)


def _upper_run(piece: str) -> str | None:
    """The longest run of upper-case words in ``piece`` (a name), titles excluded."""
    best: list[str] = []
    run: list[str] = []
    for word in piece.split():
        bare = word.strip("().,:;\"'“”")
        if bare and _is_upper_word(bare) and bare.upper() not in _TITLES:
            run.append(bare)
            if len(run) > len(best):
                best = list(run)
        else:
            run = []
    return " ".join(best) or None


def authors_from(names: str) -> list[str]:
    """Each name of a credit, in title case, in order, without duplicates."""
    names = re.sub(_ROLE, "", names, flags=re.IGNORECASE).strip()
    has_upper = _upper_run(names) is not None
    found: list[str] = []
    for piece in _SEPARATORS.split(names):
        piece = piece.strip(" .")
        if not piece:
            continue
        name = _upper_run(piece) if has_upper else piece
        if name:
            name = title_case(name)
            if name not in found:
                found.append(name)
    return found


def opens_with_credit_label(line: str) -> bool:
    """``Tin, ảnh: …``, ``Bài và ảnh: …``, ``Ảnh: …``: the line starts with a credit label."""
    return _LABEL.match(line) is not None


def parse_byline(line: str) -> list[str] | None:
    """The authors if ``line`` is a credit line (or several joined by dashes), else ``None``."""
    if not line or len(line) > _MAX_LENGTH:
        return None
    parts = _NEXT_CREDIT.split(line)
    if len(parts) > 1:
        found = [_parse_one(part) for part in parts]
        if any(names is None for names in found):
            return None
        return list(dict.fromkeys(name for names in found for name in names or ()))
    return _parse_one(line)


def _parse_one(line: str) -> list[str] | None:
    english = _ENGLISH.match(line)
    if english and not _names_only(english.group("names")):
        return None
    match = _LABEL.match(line) or english
    if match:
        names = match.group("names")
        if names.count(". ") or len(names) > 100:
            return None
        return authors_from(names) or None
    bare = re.sub(rf"\s*{_ROLE}\s*$", "", line, flags=re.IGNORECASE).strip()
    if not bare:
        return None
    # A line that is only upper-case names and separators.
    if all(_is_upper_word(w) for w in _SEPARATORS.split(bare) if w.strip()):
        if not any(c.isalpha() for c in bare):
            return None
        return authors_from(bare) or None
    # "NAME/AGENCY", as agencies credit their reporters.
    name, slash, agency = bare.rpartition("/")
    if slash and agency.strip().upper() in AGENCIES and 0 < len(name.split()) <= 5:
        return authors_from(bare) or None
    # A rank or titles, an upper-case name, then optionally ", position".
    words = bare.split()
    flags = [_is_upper_word(w.strip(",.")) and w.strip(",.").upper() not in _TITLES for w in words]
    if True not in flags:
        return None
    first = flags.index(True)
    last = first
    while last + 1 < len(words) and flags[last + 1] and not words[last].endswith(","):
        last += 1
    # Abbreviated titles (TS., Assoc. Prof.) may stand in the prefix; other punctuation may not.
    prefix = _ABBREVIATION.sub("", " ".join(words[:first]))
    rest = " ".join(words[last + 1 :])
    name_words = [w.strip(",") for w in words[first : last + 1]]
    if (
        len(name_words) >= 2
        and first <= _MAX_PREFIX_WORDS
        and not re.search(r"[.:;!?]", prefix)
        and (not rest or words[last].endswith(",") or rest.startswith(("(", "-", "–")))
    ):
        # Every ranked name of the line ("Đại tá A B - Trung tá C D"), positions left out;
        # none (``A ;QĐND - Sáng …``): not a credit, the line stays in the body.
        return [name for name in authors_from(bare) if len(name.split()) >= 2] or None
    return None


def _names_only(text: str) -> bool:
    """Every word a capitalised name word or a separator: ``HONG PHUC and Minh Anh``."""
    words = [w for w in _SEPARATORS.split(text) if w.strip()]
    return len(text) <= 80 and all(
        part[:1].isupper() and not part.endswith(".") for w in words for part in w.split()
    )


def split_byline(paragraphs: Sequence[str]) -> tuple[list[str], str | None, list[str]]:
    """Take the closing credit line off the paragraphs: (paragraphs, byline, authors)."""
    if not paragraphs:
        return list(paragraphs), None, []
    authors = parse_byline(paragraphs[-1])
    if authors is None:
        return list(paragraphs), None, []
    return list(paragraphs[:-1]), paragraphs[-1], authors


# Chinese reporter lines: "■王永文", "■本报记者王永文 通讯员李明", "本报记者 张三", "作者：李四".
_CN_ROLE = re.compile(
    r"(?:本报|解放军报|中国军网|新华社|人民日报|央视)?(?:特约)?(?:记者|通讯员)|实习生|作者\s*[:：]|编辑\s*[:：]"
)
_CN_OPENING = re.compile(r"^(?:■|□|●|◆)|^[（(]?\s*(?:本报|特约)?(?:记者|通讯员)|^作者\s*[:：]")
_CN_NAME = re.compile(r"^[\u4e00-\u9fff·]{2,5}$")


def parse_chinese_byline(line: str) -> list[str] | None:
    """The names of a Chinese reporter line (``■本报记者王永文 通讯员李明``), else ``None``.

    The line opens with a ``■`` or a role (记者, 通讯员, 作者：); roles are left out,
    and a name the page spaced out (``杨 帆``) is one name."""
    text = line.strip().strip("（）()")
    if not text or len(text) > 40 or not _CN_OPENING.match(text):
        return None
    words = _CN_ROLE.sub(" ", text.lstrip("■□●◆ ")).replace("、", " ").replace("，", " ").split()
    names: list[str] = []
    for word in words:
        if (len(word) == 1 and names and len(names[-1]) == 1) or (
            len(word) == 1 and names and len(names[-1]) < 4 and not _CN_NAME.match(names[-1])
        ):
            names[-1] += word
        else:
            names.append(word)
    if not names or not all(_CN_NAME.match(name) for name in names):
        return None
    return list(dict.fromkeys(names))
