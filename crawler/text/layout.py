"""Layout tokens and boilerplate left in article text by the sites' CMS.

The image editor of qdnd.vn leaves its alignment toolbar (``left center right
del``) in the page; flattened, it reads ``leftcenterrightdel`` and is the only
sign that the text after it is an image caption. So a token is not just
deleted: it marks where an image stood, and the rest of its line (or, when the
token ends its line, the next line) is that image's caption.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from crawler.text.blocks import Block, Image
from crawler.text.flat_captions import looks_like_caption

# The toolbar glued into one word (even to the text around it), or its four words
# spaced out but not inside other words.
LAYOUT_TOKENS: tuple[str, ...] = (
    r"leftcenterrightdel",
    r"left(?<![A-Za-z]left)\s+center\s+right\s+del(?![^\W\d_])",
)

# Whole paragraphs that are site furniture, not article text.
BOILERPLATE: tuple[str, ...] = (
    # Related-section trailer of qdnd.vn, with or without the space after '*'.
    r"\*\s*Mời\s+(?:quý\s+)?(?:bạn\s+đọc|độc\s+giả)\s+vào\s+chuyên\s+mục\b.*"
    r"\bxem\s+(?:các\s+)?tin,?\s*bài\s+liên\s+quan\W*",
    r"\*\s*Chuyên\s+mục\b.{1,120}?\btrên\s+Báo\s+Quân\s+đội\s+nhân\s+dân\b.*",
    # End-of-article marker alone.
    r"\./\.",
)

_END_MARKER = re.compile(r"\s*\./\.\s*$")
_TERMINAL = '.!?…"”’)»'


@dataclass(frozen=True)
class LayoutRules:
    """Compiled token and boilerplate patterns: the shared ones plus a site's own."""

    token: re.Pattern[str]
    boilerplate: re.Pattern[str]
    # Lower-case text every token contains, when known: a cheap test before the regex.
    token_hint: str | None = None

    def may_hold_token(self, text: str) -> bool:
        return self.token_hint is None or self.token_hint in text.lower()

    @classmethod
    def build(cls, tokens: Iterable[str] = (), boilerplate: Iterable[str] = ()) -> LayoutRules:
        return _build(tuple(tokens), tuple(boilerplate))


_CACHE: dict[tuple[tuple[str, ...], tuple[str, ...]], LayoutRules] = {}


def _build(tokens: tuple[str, ...], boilerplate: tuple[str, ...]) -> LayoutRules:
    key = (tokens, boilerplate)
    rules = _CACHE.get(key)
    if rules is None:
        token = "|".join(f"(?:{t})" for t in (*LAYOUT_TOKENS, *tokens))
        lines = "|".join(f"(?:{b})" for b in (*BOILERPLATE, *boilerplate))
        rules = LayoutRules(
            token=re.compile(token, re.IGNORECASE),
            boilerplate=re.compile(rf"^(?:{lines})$", re.IGNORECASE | re.DOTALL),
            token_hint=None if tokens else "left",  # both shared tokens start with it
        )
        _CACHE[key] = rules
    return rules


DEFAULT_RULES = LayoutRules.build()

# Marks a flattened blank line while tokens are resolved (never a paragraph).
_BLANK = ""


def split_tokens(text: str, rules: LayoutRules = DEFAULT_RULES) -> list[str]:
    """``text`` cut at every layout token, like ``rules.token.split``, but until no
    piece holds one: cutting ``leftcenterrightdelleft center right del`` once leaves
    ``left center right del``, a token once its neighbour is gone."""
    if not rules.may_hold_token(text):
        return [text]
    parts = rules.token.split(text)
    if len(parts) == 1:
        return parts
    return [piece for part in parts for piece in split_tokens(part, rules)]


def remove_tokens(text: str, rules: LayoutRules = DEFAULT_RULES) -> tuple[str, int]:
    """``text`` without layout tokens (white space folded where one was); how many went.

    The pieces around a token are joined by a space, which may make a token of them
    (``left center`` + ``right del``): removed again, until none is left.
    """
    count = 0
    while True:
        parts = split_tokens(text, rules)
        if len(parts) == 1:
            return text, count
        count += len(parts) - 1
        text = " ".join(" ".join(parts).split())


def blocks_from_flat_text(text: str, rules: LayoutRules = DEFAULT_RULES) -> tuple[list[Block], int]:
    """Flattened article text to blocks: each line a paragraph, each token an image.

    The line right after a token that ends its line is the image's caption. When a
    blank line comes between (the token stood alone as a paragraph), the next
    paragraph is the caption only if it reads like one (``looks_like_caption``).
    Returns the blocks and the number of layout tokens consumed.
    """
    lines = [line.strip() for line in text.split("\n")]
    return _resolve_tokens(lines, rules, flat=True)


def drop_layout_tokens(
    blocks: Sequence[Block], rules: LayoutRules = DEFAULT_RULES
) -> tuple[list[Block], int]:
    """Resolve tokens left in structured blocks (paragraphs and image captions).

    A token inside a paragraph splits it like a line of flattened text; a token
    inside a caption or a credit is simply removed.
    """
    count = 0
    items: list[Block | None] = []
    for block in blocks:
        if isinstance(block, Image):
            for field in ("caption", "credit"):
                text = getattr(block, field)
                if text:
                    text, n = remove_tokens(text, rules)
                    if n:
                        count += n
                        setattr(block, field, text or None)
            items.append(block)
        else:
            items.append(block)
    if not any(
        isinstance(b, str) and rules.may_hold_token(b) and rules.token.search(b) for b in items
    ):
        return [b for b in items if b is not None and b != _BLANK], count
    resolved, n = _resolve_tokens(items, rules, flat=False)
    return resolved, count + n


def _resolve_tokens(
    lines: Sequence[Block | None], rules: LayoutRules, *, flat: bool
) -> tuple[list[Block], int]:
    blocks: list[Block] = []
    pending: Image | None = None  # an image whose caption may be the next line
    after_blank = False  # flat text: a blank line came since that image's token
    count = 0
    for line in lines:
        if line is None:
            continue
        if isinstance(line, Image):
            pending = None
            blocks.append(line)
            continue
        parts = split_tokens(line, rules)
        before = parts[0].strip()
        if pending is not None:
            if len(parts) == 1 and before:
                if not after_blank or _caption_paragraph(before, rules):
                    pending.caption = before
                    pending = None
                    continue
                pending = None
            elif flat and len(parts) == 1:
                after_blank = True
            elif before or len(parts) > 1:
                pending = None
        if before:
            blocks.append(before)
        count += len(parts) - 1
        for index, after in enumerate(parts[1:], start=2):
            image = Image(caption=after.strip() or None)
            blocks.append(image)
            if image.caption is None and index == len(parts):
                pending = image
                after_blank = False
    return blocks, count


def _caption_paragraph(paragraph: str, rules: LayoutRules) -> bool:
    return looks_like_caption(paragraph) and not is_boilerplate(paragraph, rules)


def is_boilerplate(paragraph: str, rules: LayoutRules = DEFAULT_RULES) -> bool:
    return rules.boilerplate.match(paragraph) is not None


def strip_end_marker(paragraph: str) -> str:
    """Remove a trailing ``./.``; it doubles as the sentence's full stop."""
    if "./." not in paragraph:
        return paragraph
    match = _END_MARKER.search(paragraph)
    if match is None:
        return paragraph
    head = paragraph[: match.start()].rstrip()
    if head and head[-1] not in _TERMINAL:
        head += "."
    return head


def drop_boilerplate(
    blocks: Sequence[Block], rules: LayoutRules = DEFAULT_RULES
) -> tuple[list[Block], int]:
    """Remove boilerplate paragraphs and end markers; returns blocks and count removed."""
    kept: list[Block] = []
    removed = 0
    for block in blocks:
        if isinstance(block, str):
            if is_boilerplate(block, rules):
                removed += 1
                continue
            stripped = strip_end_marker(block)
            if stripped != block:
                removed += 1
                if not stripped:
                    continue
            block = stripped
        kept.append(block)
    return kept, removed
