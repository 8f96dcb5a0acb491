"""The pictures of Twitch chat: emotes, chat badges and cheermotes.

Emotes come with each line (the IRC ``emotes`` tag gives their ids and positions) and are
drawn from Twitch's CDN by id. Badges and cheermotes are looked up once through Helix (Get
Global Chat Badges, Get Channel Chat Badges, Get Cheermotes) when the connector has the
channel's id, and again later if that failed. Until they are known, or if Twitch cannot be
reached, lines carry no picture and the overlays show the badge's name and the cheer's text
instead (nothing waits for a picture).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .helix import Helix

log = logging.getLogger("limelight.twitch")

#: A cheermote in a message: a prefix and the bits, as one word ("Cheer100", "Kappa5").
CHEER_WORD = re.compile(r"(?<!\S)([A-Za-z][A-Za-z0-9_]*?)([1-9][0-9]{0,6})(?!\S)")
#: Seconds between attempts to look the badges and cheermotes up, doubling up to the last.
RETRY = (30.0, 60.0, 300.0, 900.0)


class TwitchImages:
    """Badge and cheermote pictures by name; emote pictures by id."""

    def __init__(self, emote_url: str) -> None:
        #: The emote picture URL, ``{id}`` standing for the emote's id.
        self.emote_url = emote_url
        #: ``"set/version"`` -> picture.
        self.badges: dict[str, str] = {}
        #: Lower-case prefix -> [(min bits, picture)], highest tier first.
        self.cheermotes: dict[str, list[tuple[int, str]]] = {}
        self.loaded = False
        self.error = ""

    # -- looking up ---------------------------------------------------------------------

    async def load(self, helix: Helix, broadcaster_id: str) -> bool:
        """Fetch the badges (global, then the channel's over them) and the cheermotes;
        ``True`` when all three answered."""
        try:
            global_sets = await helix.request("GET", "/chat/badges/global")
            channel_sets = await helix.request(
                "GET", "/chat/badges", params={"broadcaster_id": broadcaster_id}
            )
            cheermotes = await helix.request(
                "GET", "/bits/cheermotes", params={"broadcaster_id": broadcaster_id}
            )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.error = f"{type(exc).__name__}: {exc}"
            return False
        badges: dict[str, str] = {}
        for body in (global_sets, channel_sets):
            for badge_set in _data(body):
                set_id = str(badge_set.get("set_id", ""))
                for version in badge_set.get("versions") or ():
                    if not isinstance(version, dict):
                        continue
                    url = version.get("image_url_2x") or version.get("image_url_1x")
                    if set_id and isinstance(url, str) and url.startswith("http"):
                        badges[f"{set_id}/{version.get('id', '')}"] = url
        motes: dict[str, list[tuple[int, str]]] = {}
        for action in _data(cheermotes):
            prefix = str(action.get("prefix", "")).lower()
            tiers = []
            for tier in action.get("tiers") or ():
                url = _cheer_image(tier)
                bits = tier.get("min_bits") if isinstance(tier, dict) else None
                if url and isinstance(bits, int) and tier.get("can_cheer", True):
                    tiers.append((bits, url))
            if prefix and tiers:
                motes[prefix] = sorted(tiers, reverse=True)
        self.badges, self.cheermotes = badges, motes
        self.loaded, self.error = True, ""
        return True

    async def keep_loading(self, helix: Helix, broadcaster_id: Any) -> None:
        """:meth:`load` until it works, waiting longer after each failure; the first
        failure is logged (the overlays show text meanwhile)."""
        attempt = 0
        while True:
            channel = await broadcaster_id() if callable(broadcaster_id) else broadcaster_id
            if channel and await self.load(helix, channel):
                return
            if attempt == 0:
                log.warning(
                    "twitch: cannot look up chat badges and cheermotes (%s); the overlays "
                    "show their names until it works",
                    self.error or "the channel's id is not known yet",
                )
            await asyncio.sleep(RETRY[min(attempt, len(RETRY) - 1)])
            attempt += 1

    # -- using ----------------------------------------------------------------------------

    def emotes(self, tag: str, text: str) -> tuple[str, ...]:
        """The IRC ``emotes`` tag (``"25:0-4,12-16/1902:6-10"``) as ``ChatMessage.emotes``
        entries (``"0-4:<picture>"``), in order; ranges outside ``text`` are left out."""
        if not tag:
            return ()
        placed: list[tuple[int, str]] = []
        for group in tag.split("/"):
            emote_id, _, ranges = group.partition(":")
            if not emote_id or not ranges or not _safe_id(emote_id):
                continue
            url = self.emote_url.replace("{id}", emote_id)
            for span in ranges.split(","):
                start, _, end = span.partition("-")
                if start.isdigit() and end.isdigit() and int(start) <= int(end) < len(text):
                    placed.append((int(start), f"{int(start)}-{int(end)}:{url}"))
        return tuple(entry for _, entry in sorted(placed))

    def badge_images(self, badges: tuple[str, ...]) -> tuple[str, ...]:
        """The picture of each badge (``""`` where unknown): ``ChatMessage.badge_images``."""
        if not self.badges:
            return ()
        return tuple(self.badges.get(b, "") for b in badges)

    def cheer_emotes(self, message: str) -> tuple[str, ...]:
        """The cheermotes in ``message`` (``"Cheer100"``) as ``Cheer.emotes`` entries,
        each drawn at the tier its bits reach."""
        if not self.cheermotes:
            return ()
        out = []
        for match in CHEER_WORD.finditer(message):
            tiers = self.cheermotes.get(match.group(1).lower())
            if not tiers:
                continue
            bits = int(match.group(2))
            url = next((u for least, u in tiers if bits >= least), "")
            if url:
                out.append(f"{match.start()}-{match.end() - 1}:{url}")
        return tuple(out)


def _data(body: Any) -> list[dict[str, Any]]:
    data = body.get("data") if isinstance(body, dict) else None
    return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []


def _cheer_image(tier: Any) -> str:
    """The dark theme's animated picture at scale 2 (or the nearest there is)."""
    if not isinstance(tier, dict):
        return ""
    images = tier.get("images") or {}
    theme = images.get("dark") or images.get("light") or {}
    for kind in ("animated", "static"):
        sizes = theme.get(kind) or {}
        for size in ("2", "1.5", "3", "1", "4"):
            url = sizes.get(size)
            if isinstance(url, str) and url.startswith("http"):
                return url
    return ""


def _safe_id(emote_id: str) -> bool:
    """Emote ids are digits, or ``emotesv2_`` and hex: nothing that could leave the path."""
    return all(c.isalnum() or c == "_" for c in emote_id)


__all__ = ["TwitchImages"]
