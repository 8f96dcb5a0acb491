"""What of a tip reaches the stream: the name, the message, and whether it is spoken.

Everything here errs toward hiding: an anonymous tip shows no name and no message (a
message can identify its writer), a viewer who opted out of being named is shown as
"Anonymous", a message with a blocked word is not shown at all, links become "[link]",
and a tip below the minimum shows no message. The ledger always keeps the full message for
the streamer; only what goes on stream is filtered.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from limelight import Money

from .config import TipsConfig
from .ledger import Converter, parse_threshold

ANONYMOUS = "Anonymous"
LINK_RE = re.compile(
    r"(?i)\b(?:https?://|ftp://|www\.)\S+"
    r"|\b[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9-]{1,63})*"
    r"\.(?:com|net|org|io|gg|tv|ly|me|co|xyz|ru|de|uk|info|biz|app|dev|link|click|shop|"
    r"live|stream|site|online|top|fun|store|tk|cn|us)\b(?:/\S*)?"
)
# Bidirectional overrides and zero-width characters reorder or hide text on stream.
_INVISIBLE = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
)


@dataclass(frozen=True, slots=True)
class Shown:
    """The on-stream view of one tip."""

    name: str
    message: str
    speak: bool = False


def clean(text: str, limit: int) -> str:
    """Printable text on one line, without invisible or direction-changing characters."""
    if not (text.isascii() and text.isprintable()):
        # (printable ASCII, the usual name or message, has nothing of these to take out:
        # NFC leaves it as it is, and the invisible and control characters are not in it)
        text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
        text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: max(limit - 1, 0)].rstrip() + "…"
    return text


class Moderator:
    def __init__(self, config: TipsConfig, converter: Converter) -> None:
        self.config = config
        self.converter = converter
        words = [w.strip() for w in config.blocked_words if w.strip()]
        self._blocked = (
            re.compile(r"(?<!\w)(?:" + "|".join(re.escape(_fold(w)) for w in words) + r")(?!\w)")
            if words
            else None
        )

    def blocked(self, text: str) -> bool:
        return bool(self._blocked and self._blocked.search(_fold(text)))

    def filter_message(self, text: str) -> str:
        """The message to show: "" when it has a blocked word; links masked if configured."""
        text = clean(text, self.config.max_message_length)
        if not text or self.blocked(text):
            return ""
        if self.config.block_links:
            text = LINK_RE.sub("[link]", text)
        return text

    def reaches(self, money: Money, threshold: str) -> bool:
        """Is ``money`` at least ``threshold`` (base currency, else the tip's own)?"""
        if not threshold or threshold in ("0", "0.0", "0.00"):
            return True
        value = self.converter.to_base(money)
        if value is None:
            value = money if money.currency != "BITS" else self.converter.value_of_bits(money.minor)
        return value.minor >= parse_threshold(threshold, value.currency).minor

    def present(
        self,
        *,
        name: str,
        message: str,
        money: Money,
        anonymous: bool,
        hide_name: bool,
        tts_enabled: bool,
    ) -> Shown:
        shown_name = ANONYMOUS if anonymous or hide_name or not name.strip() else clean(name, 60)
        if anonymous:
            return Shown(shown_name, "")
        text = self.filter_message(message)
        if text and not self.reaches(money, self.config.min_message_amount):
            text = ""
        speak = bool(text) and tts_enabled and self.reaches(money, self.config.tts_min_amount)
        return Shown(shown_name, text, speak)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()
