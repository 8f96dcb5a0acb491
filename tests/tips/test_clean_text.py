"""What a tip's name and message look like on stream: printable ASCII takes a shortcut past
the Unicode clean-up and must come out exactly as the full clean-up makes it."""

from __future__ import annotations

import unicodedata

import pytest
from limelight_tips import moderation
from limelight_tips.moderation import clean


def _full_clean(text: str, limit: int) -> str:
    """The clean-up without the shortcut (what ``clean`` did for every text before)."""
    text = unicodedata.normalize("NFC", text).translate(moderation._INVISIBLE)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: max(limit - 1, 0)].rstrip() + "…"
    return text


@pytest.mark.parametrize(
    "text",
    [
        "great stream",
        "  spaced   out  ",
        "tab\there",
        "line\nbreak",
        "bell\x07",
        "del\x7f",
        "e\u0301",  # decomposed: NFC composes it
        "zero\u200bwidth",
        "rtl\u202eevil",
        "para\u2029graph",
        "x" * 300,
        "word " * 80,
        "",
    ],
)
@pytest.mark.parametrize("limit", [0, 1, 10, 60, 500])
def test_clean_matches_the_full_clean_up(text: str, limit: int) -> None:
    assert clean(text, limit) == _full_clean(text, limit)
