"""Tip messages read aloud, and the streamer's kill switch for it.

Why on its own: speech is the one reaction a streamer must be able to silence at once, and
the silence must outlive a restart (stored in ``tips_state``). What is spoken is a live
message to the ``tips-tts`` browser source, never stored: a message is said when its tip
is committed (or its alert approved), and a replay after a crash does not say it again
once the tip is marked as reacted.
"""

from __future__ import annotations

from limelight import PluginContext

from .config import TipsConfig
from .models import TipsState

#: The browser source that reads approved messages aloud (speech synthesis in the page).
TTS_OVERLAY = "tips-tts"
#: Its title in the dashboard and in OBS.
TTS_TITLE = "Tip messages read aloud"


class Speech:
    def __init__(self, ctx: PluginContext[TipsConfig]) -> None:
        self.ctx = ctx
        self.killed = False

    async def start(self) -> None:
        row = await TipsState.get_or_none(key="tts")
        self.killed = bool(row is not None and row.value.get("killed"))

    @property
    def enabled(self) -> bool:
        """Speech is on in the config and not killed from the dashboard."""
        return self.ctx.config.tts and not self.killed

    async def say(self, text: str) -> None:
        if not text or not self.enabled:
            return
        try:
            await self.ctx.overlays.send(TTS_OVERLAY, "tts.say", {"text": text})
        except Exception:
            self.ctx.log.exception("could not send the message to the speech overlay")

    async def set_killed(self, killed: bool) -> None:
        """The kill switch: stored first, then the page is told to stop mid-sentence."""
        self.killed = killed
        await TipsState.update_or_create(key="tts", defaults={"value": {"killed": killed}})
        if killed:
            try:
                await self.ctx.overlays.send(TTS_OVERLAY, "tts.stop", {})
            except Exception:
                self.ctx.log.exception("could not tell the speech overlay to stop")
