"""Is the paragraph after an image token that image's caption? (Flattened text.)

Flattened qdnd.vn articles often give the layout token a paragraph of its own,
and the caption is the next paragraph: nothing but its shape tells it from a
body paragraph that follows an image printed without a caption. The shape was
read off the real material (the 139 captions and 279 body paragraphs of the 28
real qdnd.vn bodies and the seed): a caption says who or what is in the picture
in one short sentence, in the present, often with a photo credit at its end; a
body paragraph is longer, narrates (``đã``, ``sẽ``), reports what was said,
opens with a circumstance (``Tại hội nghị, …``), lists who attended, or gives
figures. On that material the rule takes 131 of the 139 captions and 1 of the
279 other paragraphs (the lead of one article repeats a caption word for word).

Taking a body paragraph for a caption loses article text, while leaving a
caption in the body only keeps a line too many, so in doubt the paragraph stays
body: without a credit, only Vietnamese text is judged by its shape (short
one-sentence English body paragraphs look like captions).
"""

from __future__ import annotations

import re
import unicodedata

from crawler.text.bylines import parse_byline
from crawler.text.captions import MAX_CAPTION, is_caption_paragraph
from crawler.text.datelines import strip_dateline

# Longer than this, a paragraph without a credit is body text: 98% of the real
# captions without one are no longer, 85% of the body paragraphs are (91% of
# those printed right after an image).
MAX_SHAPED_CAPTION = 150

# Letters only Vietnamese uses among the languages the crawler reads.
_VIETNAMESE = re.compile("[đĐơƠưƯăĂ\u1ea0-\u1ef9]")
# "(Trong ảnh: …)": "in the picture", said only of a picture.
_IN_PICTURE = re.compile(r"\(\s*trong\s+ảnh\s*[:：]", re.IGNORECASE)
_END = re.compile(r"[.…][\"”’)\]]*$")
# A full stop (or ! ? …) then an upper-case letter: another sentence starts.
_SENTENCE_BREAK = re.compile(r"(\w*)[.!?…][\"”’)\]]*\s+[\"“(\[]?(\w)")


def _word(words: str) -> str:
    return rf"(?<!\w)(?:{words})(?!\w)"


# Past, recent past and future: a caption shows the moment of the picture.
_NARRATIVE = re.compile(_word("đã|vừa|sẽ"), re.IGNORECASE)
# What someone said or asked for: reported in the body, not shown in a picture.
_REPORTED = re.compile(
    _word("cho biết|nhấn mạnh|khẳng định|cho rằng|nêu rõ|yêu cầu"), re.IGNORECASE
)
# "Dự hội nghị có …", "Cùng dự có …", "Tham gia chương trình có …": who attended.
_ATTENDANCE = re.compile(_word("dự|tham gia") + r"[^.;:]{0,80}?" + _word("có"), re.IGNORECASE)
# Amounts of money and shares: "200.000 đồng", "84,8 triệu", "1,5%", "2.694,8 USD".
_FIGURES = re.compile(
    r"\d(?:[\d.,]*\d)?\s*(?:%|phần\s+trăm|triệu|tỷ|nghìn|USD)(?!\w)|\d{1,3}(?:\.\d{3})+\s*đồng(?!\w)",
    re.IGNORECASE,
)
# A circumstance before the subject: "Tại hội nghị, …", "Nhân dịp này, …", "Năm 2023, …".
_OPENER = re.compile(
    r"^(?:tại|trong|theo|với|nhân|dịp|trước|sau|từ|qua|để|bên\s+cạnh|cùng\s+với|đối\s+với"
    r"|hiện|tương\s+tự|cụ\s+thể|đặc\s+biệt|ngoài\s+ra|đồng\s+thời|phát\s+biểu|chỉ\s+đạo"
    r"|(?:năm|ngày|sáng|trưa|chiều|tối|đêm)\s+\d)(?!\w)[^,;:.]{0,60},",
    re.IGNORECASE,
)


def _one_sentence(text: str) -> bool:
    for match in _SENTENCE_BREAK.finditer(text):
        before, after = match.groups()
        abbreviation = before.isupper() and len(before) <= 4  # "TP. Hồ Chí Minh"
        if after[:1].isupper() and not abbreviation:
            return False
    return True


def looks_like_caption(paragraph: str) -> bool:
    """True if ``paragraph``, right after an image with no caption, is that image's caption."""
    if not paragraph or len(paragraph) > MAX_CAPTION:
        return False
    if strip_dateline(paragraph) != paragraph:
        return False  # a source tag opens the lead, never a caption
    if is_caption_paragraph(paragraph) or _IN_PICTURE.search(paragraph):
        return True
    if len(paragraph) > MAX_SHAPED_CAPTION or paragraph.startswith("*"):
        return False  # long; a sub-heading or a trailer
    paragraph = unicodedata.normalize("NFC", paragraph)
    return (
        _VIETNAMESE.search(paragraph) is not None
        and _END.search(paragraph) is not None
        and _one_sentence(paragraph)
        and not _NARRATIVE.search(paragraph)
        and not _REPORTED.search(paragraph)
        and not _ATTENDANCE.search(paragraph)
        and not _FIGURES.search(paragraph)
        and not _OPENER.match(paragraph)
        and parse_byline(paragraph) is None  # the article's byline
    )
