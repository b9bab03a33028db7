"""Text that was decoded with the wrong character set.

A page whose header says UTF-8 but is not, or whose ``meta charset`` lies,
decodes into replacement characters or mojibake (UTF-8 bytes read as
windows-1252: ``Quá»‘c`` for ``Quốc``). Such text must not be archived as
clean text.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
# UTF-8 read as windows-1252 / latin-1: lead bytes Ã Â Ä Æ á â followed by continuation bytes.
_MOJIBAKE = re.compile(
    "Ã[\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u02c6\u02dc\u2013-\u203a]|Ä[\u0080-\u00bf‘’]|Æ[°¡¯]|á[º»][\u0080-\u00bf‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]|â€[™œ\u009d“”˜¦¢]"
)
_MIN_MOJIBAKE = 2


def garbled(text: str) -> bool:
    """True if ``text`` holds replacement characters or mojibake."""
    if not text or text.isascii():
        return False
    if REPLACEMENT in text:
        return True
    return len(_MOJIBAKE.findall(text, 0, 20000)) >= _MIN_MOJIBAKE
