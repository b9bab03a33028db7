"""Photo credits at the end of image captions.

Captions end with the photographer or agency: ``… Ảnh: TTXVN`` or
``(Ảnh: Trọng Đức/TTXVN)``. The credit goes to its own field, as printed,
without the label or the brackets.
"""

from __future__ import annotations

import re

from crawler.text.blocks import Image
from crawler.text.bylines import opens_with_credit_label

_LABEL = r"(?:Ảnh|Nguồn\s+ảnh|Photo|Photos|Photo\s+by|Image|Source|图|摄影|摄)"
# "(Ảnh: NAME)" at the very end, optionally followed by a full stop.
_BRACKETED = re.compile(rf"\(\s*{_LABEL}\s*[:：]\s*(?P<credit>[^()]{{1,80}}?)\s*\)\s*\.?$", re.I)
# "… Ảnh: NAME" at the end; the label starts the caption or follows a space or punctuation.
_TRAILING = re.compile(
    rf"(?:^|(?<=[\s.,;:!?…\"”’)\]-]))[-–—]?\s*{_LABEL}\s*[:：]\s*(?P<credit>[^:：]{{1,80}}?)\s*\.?$",
    re.I,
)


# Chinese: the photographer before 摄 ("took"): 演练现场。张三摄 / （解放军报记者 姜 涛摄）.
_CN_NAME = r"(?:[\u4e00-\u9fff][ \u3000][\u4e00-\u9fff]|[\u4e00-\u9fff·]{2,4})"
_CN_ROLE = r"(?:(?:本报|解放军报|中国军网|新华社)?(?:特约)?(?:记者|通讯员)|实习生)"
_CHINESE = re.compile(
    rf"(?:^|(?<=[。！？”\s]))[（(]?\s*(?P<credit>(?:{_CN_ROLE}\s*)?{_CN_NAME}"
    rf"(?:\s*[、，]\s*{_CN_NAME}|\s+{_CN_NAME})*)\s*摄\s*[）)]?$"
)


def split_credit(caption: str | None) -> tuple[str | None, str | None]:
    """Split a caption into (caption, credit); either may be ``None``."""
    if not caption:
        return None, None
    if ":" not in caption and "：" not in caption and "摄" not in caption:
        return caption, None  # every credit form has one of these
    for pattern in (_BRACKETED, _TRAILING, _CHINESE):
        match = pattern.search(caption)
        if match:
            credit = match.group("credit").strip() or None
            head = caption[: match.start()].rstrip(" -–—,;")
            return head or None, credit
    return caption, None


def separate_credit(image: Image) -> bool:
    """Move a trailing credit of ``image.caption`` to ``image.credit``; True if one moved."""
    caption, credit = split_credit(image.caption)
    if credit is None:
        image.caption = caption
        return False
    image.caption = caption
    image.credit = image.credit or credit
    return True


# A paragraph longer than this is body text, whatever it ends with.
MAX_CAPTION = 300


def is_caption_paragraph(paragraph: str) -> bool:
    """A short paragraph that ends with a photo credit: a caption printed as a paragraph.

    A credit for the text as well (``Tin, ảnh: NAME``, ``Bài và ảnh: NAME``) is the
    article's byline, not a caption; a bare ``Ảnh: NAME`` credits the photo.
    """
    if len(paragraph) > MAX_CAPTION:
        return False
    caption, credit = split_credit(paragraph)
    return credit is not None and (caption is None or not opens_with_credit_label(paragraph))
