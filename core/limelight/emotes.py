"""Emotes: which codes in a chat line render as pictures, for whom.

A chat line reaches the chat overlay and the members' room as *fragments*: plain text
parts and emote parts. Pages put text parts in with ``textContent`` and emote parts as an
``<img>`` whose ``src`` comes from the server, never from the viewer, so splitting a line
into emotes can never turn what a viewer typed into HTML.

Two kinds of emotes exist: *positional* ones the platform already found (Twitch's
``emotes`` tag gives the character ranges), and *coded* ones plugins register
(``:code:``, say a VIP tier's emotes), each with a rule for who may use it: a member's
emote typed by someone else stays text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypedDict

from .events import ViewerRef

#: ``:code:`` as viewers type it: 2 to 32 letters, digits or underscores.
CODE = re.compile(r":([A-Za-z0-9_]{2,32}):")


@dataclass(frozen=True, slots=True)
class Emote:
    """A coded emote: ``:code:`` renders as ``url`` for viewers ``allowed`` admits."""

    code: str
    url: str
    #: Who may use it; ``None`` means everyone.
    allowed: Callable[[ViewerRef | None], bool] | None = None


class Fragment(TypedDict, total=False):
    """One part of a rendered line: ``{"text": ...}`` or ``{"emote": ..., "url": ...}``."""

    text: str
    emote: str
    url: str


@dataclass(frozen=True, slots=True)
class Placed:
    """A positional emote: characters ``start``..``end`` (inclusive, code points, as
    Twitch counts them) are the emote ``name`` drawn from ``url``."""

    start: int
    end: int
    name: str
    url: str


def parse_placed(entries: Sequence[str], text: str) -> list[Placed]:
    """Positional emotes from an event's ``emotes`` field (``"<start>-<end>:<url>"``); the
    name is the text they cover. Entries that do not parse or fit ``text`` are left out."""
    placed = []
    for entry in entries:
        span, _, url = entry.partition(":")
        start, _, end = span.partition("-")
        if not (start.isdigit() and end.isdigit() and url):
            continue
        first, last = int(start), int(end)
        if first > last or last >= len(text):
            continue
        placed.append(Placed(first, last, text[first : last + 1], url))
    return placed


class EmoteBook:
    """Coded emotes by owner (a plugin replaces its whole set when it changes)."""

    def __init__(self) -> None:
        self._by_owner: dict[str, dict[str, Emote]] = {}
        self._all: dict[str, Emote] = {}

    def replace(self, owner: str, emotes: Iterable[Emote]) -> None:
        """Set ``owner``'s emotes to ``emotes`` (an empty iterable removes them all)."""
        self._by_owner[owner] = {e.code: e for e in emotes}
        merged: dict[str, Emote] = {}
        for table in self._by_owner.values():
            for code, emote in table.items():
                merged.setdefault(code, emote)
        self._all = merged

    def codes(self) -> list[str]:
        return sorted(self._all)

    def split(
        self, text: str, viewer: ViewerRef | None, placed: Sequence[Placed] = ()
    ) -> list[Fragment]:
        """``text`` as fragments for ``viewer``: positional emotes first, then coded ones
        the viewer may use; everything else stays text."""
        parts: list[Fragment] = []
        cursor = 0
        for p in sorted(placed, key=lambda p: p.start):
            if p.start < cursor or p.end < p.start or p.end >= len(text):
                continue  # overlapping or out of range: leave it as text
            parts.extend(self._coded(text[cursor : p.start], viewer))
            parts.append({"emote": p.name, "url": p.url})
            cursor = p.end + 1
        parts.extend(self._coded(text[cursor:], viewer))
        return parts

    def _coded(self, text: str, viewer: ViewerRef | None) -> list[Fragment]:
        if not text:
            return []
        if not self._all or ":" not in text:
            return [{"text": text}]
        parts: list[Fragment] = []
        cursor = 0
        for match in CODE.finditer(text):
            emote = self._all.get(match.group(1))
            if emote is None or (emote.allowed is not None and not emote.allowed(viewer)):
                continue
            if match.start() > cursor:
                parts.append({"text": text[cursor : match.start()]})
            parts.append({"emote": match.group(0), "url": emote.url})
            cursor = match.end()
        if cursor < len(text):
            parts.append({"text": text[cursor:]})
        return parts


__all__ = ["CODE", "Emote", "EmoteBook", "Fragment", "Placed", "parse_placed"]
