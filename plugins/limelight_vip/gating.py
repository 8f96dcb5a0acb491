"""Members-only chat: windows in which non-members' lines are hidden.

A window opens from ``!vipchat on 10m``, the dashboard switch, a schedule, an OBS scene
becoming active, or another plugin (``open_members_window``); it closes by itself when its
time is up (a scheduler job, rebuilt at startup from the stored end). While it is open,
``check_chat_message`` hides the lines of viewers who hold none of the admitted tiers;
moderators and the broadcaster are exempt. If the check raises, the core hides the line:
gating fails closed. Optionally it is enforced on Twitch too: subscriber-only mode through
Helix chat settings, or each hidden line deleted through Helix moderation.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from datetime import datetime, timedelta
from typing import Any

from limelight import ChatMessage, PluginContext, Verdict, fill

from .config import VipConfig
from .engine import perks_text
from .models import VipState
from .roster import Roster, Tiers, badge_sub_tier, now_utc

STATE_KEY = "members_only"
CLOSE_JOB = "members-only-close"
EXEMPT = frozenset({"moderator", "broadcaster"})
#: The state key the chat overlay shows its "restricted" line from.
MODE_KEY = "mode"
CHAT_OVERLAY = "chat"


class Gate:
    def __init__(self, ctx: PluginContext[VipConfig], tiers: Tiers, roster: Roster) -> None:
        self.ctx = ctx
        self.tiers = tiers
        self.roster = roster
        self.until: datetime | None = None
        self.reason = ""
        self._last_notice = 0.0
        self._tasks: set[asyncio.Task[None]] = set()
        self.hidden = 0

    # -- state -------------------------------------------------------------------------------

    def is_open(self) -> bool:
        return self.until is not None and self.until > now_utc()

    def admitted(self) -> set[str] | None:
        """The tiers that may talk in a window (``None``: any member)."""
        config = self.ctx.config.members_only
        if config.tiers:
            return set(config.tiers)
        with_perk = self.tiers.with_perk("members_only_chat")
        return with_perk or None

    async def restore(self) -> None:
        row = await VipState.get_or_none(key=STATE_KEY)
        raw = row.value.get("until") if row is not None else None
        if not isinstance(raw, str):
            return
        until = datetime.fromisoformat(raw)
        if until <= now_utc():
            await self.close(quiet=True)
            return
        self.until = until
        self.reason = str(row.value.get("reason", "")) if row is not None else ""
        self.ctx.scheduler.run_at(until, self.close, id=CLOSE_JOB)
        await self._show(True)

    async def open(self, duration: timedelta, *, reason: str) -> datetime:
        """Open (or extend) a window; returns when it closes."""
        now = now_utc()
        until = now + duration
        was_open = self.is_open()
        if was_open and self.until is not None and self.until > until:
            until = self.until
        self.until = until
        self.reason = reason[:200]
        await VipState.update_or_create(
            defaults={"value": {"until": until.isoformat(), "reason": self.reason}},
            key=STATE_KEY,
        )
        self.ctx.scheduler.run_at(until, self.close, id=CLOSE_JOB)
        if not was_open:
            await self._show(True)
            await self._enforce(True)
            opened = self.ctx.config.members_only.opened
            if opened:
                minutes = max(1, round((until - now).total_seconds() / 60))
                await self.ctx.chat.say(fill(opened, {"minutes": minutes, "reason": reason}))
        self.ctx.log.info("members-only chat until %s (%s)", until.isoformat(), reason)
        return until

    async def close(self, *, quiet: bool = False) -> None:
        was_open = self.until is not None
        self.until = None
        self.reason = ""
        await VipState.filter(key=STATE_KEY).delete()
        self.ctx.scheduler.cancel(CLOSE_JOB)
        await self._show(False)
        if was_open or quiet:
            await self._enforce(False)
        closed = self.ctx.config.members_only.closed
        if was_open and closed and not quiet:
            await self.ctx.chat.say(closed)

    async def _show(self, on: bool) -> None:
        overlays = self.ctx.overlays
        if not overlays.exists(CHAT_OVERLAY):
            return
        await overlays.set_state(
            CHAT_OVERLAY,
            MODE_KEY,
            {"restricted": on, "label": "Members-only chat" if on else ""},
        )

    async def _enforce(self, on: bool) -> None:
        if self.ctx.config.members_only.enforce != "subscriber_mode":
            return
        changed = await self.ctx.chat.set_modes(platform="twitch", subscriber_only=on)
        if not changed:
            self.ctx.log.warning("members-only chat: no Twitch channel took subscriber-only mode")

    # -- the check -----------------------------------------------------------------------------

    def check(self, message: ChatMessage) -> Verdict | None:
        if not self.is_open():
            return None
        if message.roles & EXEMPT:
            return Verdict.allow("moderators talk in members-only chat")
        viewer = message.viewer
        if self._is_bot(message):
            return Verdict.allow("the bot's own line")
        admitted = self.admitted()
        if viewer is not None and self.roster.holds(viewer, admitted):
            return Verdict.allow("member")
        shown = badge_sub_tier(message.badges) if viewer is not None else None
        tier = self.tiers.for_twitch(shown) if shown else None
        if tier is not None and (admitted is None or tier.name in admitted):
            return Verdict.allow("subscriber (badge)")
        self.hidden += 1
        config = self.ctx.config.members_only
        now = time.monotonic()
        if config.notice and now - self._last_notice >= config.notice_cooldown:
            self._last_notice = now  # taken here, so a burst of hidden lines sends one
            self._spawn(self._notice(message))
        if self.ctx.config.members_only.enforce == "delete":
            # The core deletes the line on its platform (Helix moderation on Twitch).
            return Verdict.delete("members-only chat")
        return Verdict.hide("members-only chat")

    def _is_bot(self, message: ChatMessage) -> bool:
        connector = self.ctx.chat.connectors.get(message.source)
        return connector is not None and connector.is_self(message.viewer)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _notice(self, message: ChatMessage) -> None:
        """One notice per ``notice_cooldown`` telling non-members how to join."""
        config = self.ctx.config.members_only
        try:
            if config.notice:
                admitted = self.admitted()
                names = [t.label for t in self.tiers.list if admitted is None or t.name in admitted]
                await self.ctx.chat.say(
                    fill(
                        config.notice,
                        {
                            "tiers": ", ".join(names),
                            "perks": perks_text(["members_only_chat", "emotes"]),
                            "join": self.ctx.config.join_url or "!vip join",
                        },
                    ),
                    platform=message.viewer.platform if message.viewer else None,
                    priority="low",
                )
        except Exception:
            self.ctx.log.exception("members-only chat: the notice could not be sent")

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
