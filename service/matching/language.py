"""Which language a query is in, as far as the ranking needs to know: the packaged model reads
English only, so a Japanese query gets a clear refusal instead of noise."""

from __future__ import annotations

import unicodedata

JAPANESE_SHARE = 0.2  # of the letters: above this, the text is taken as Japanese


def japanese_share(text: str) -> float:
    """Share of letters that are Hiragana, Katakana or CJK ideographs."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    japanese = sum(1 for c in letters if unicodedata.name(c, "").startswith(("HIRAGANA", "KATAKANA", "CJK UNIFIED IDEOGRAPH")))
    return japanese / len(letters)


def is_japanese(text: str) -> bool:
    return japanese_share(text) > JAPANESE_SHARE
