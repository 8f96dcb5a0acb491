"""The members' room: who may enter, what is said, and moderation.

Room lines take the same road as platform chat. A member's message becomes a
:class:`~limelight.ChatMessage` (source ``room``, channel ``room``, ``private``) handed to the
bus through the room's own chat connector, so dedupe, gating, the command framework and the
chat log apply; the room shows it once the bus says it may be shown (:meth:`Room.on_chat`).
The bot answers commands typed in the room through the same connector
(:class:`RoomConnector`), so replies land in the room and nowhere else. Deletions, from a
moderator or from gating, travel as ``chat.deleted`` events. What the room shows and what
it deletes also goes to the database behind it (:mod:`.lines`), so the history outlives a
restart.

Who may enter is asked of the VIP plugin (``ctx.peer("vip", Memberships)``) at every use,
never cached: a membership that ends closes the member's open pages at once.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections import OrderedDict, deque
from datetime import UTC, datetime, timedelta
from typing import Any

from limelight import ChatDeleted, ChatMessage, NotRunning, PluginContext, ViewerRef, edge
from limelight.chat import ChatConnector, ChatSink, Outgoing
from limelight_vip.api import Memberships

from .config import RoomConfig
from .hub import Client, Hub
from .lines import LineStore
from .links import Pass, Passes

#: The connector (and event source) name and the channel room lines carry.
SOURCE = "room"
CHANNEL = "room"
#: The room overlay's name.
OVERLAY = "room"
#: Roles that moderate the room when they come from platform chat.
MOD_ROLES = frozenset({"moderator", "broadcaster"})
RATE_WINDOW = 10.0

ENDED = (
    "Your membership has ended, so the members' room is closed for you. Thank you for being here!"
)
REVOKED = "This room link was revoked. Ask for a new one with !room."


def viewer_key(viewer: ViewerRef | None) -> str:
    return f"{viewer.platform}:{viewer.id}" if viewer is not None else ""


def dumps(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


class RoomConnector(ChatConnector):
    """The room as a chat platform: what the bot says in reply to a room line appears in
    the room. It has no main channel, so a plain ``ctx.chat.say`` (tips' thanks, timers)
    never lands in the members' room, only replies to room lines do."""

    name = SOURCE
    platform = SOURCE
    max_length = 500

    def __init__(self, room: Room) -> None:
        self.room = room
        self.sink: ChatSink | None = None

    async def start(self, sink: ChatSink) -> None:
        self.sink = sink
        self.room.connector = self

    async def stop(self) -> None:
        self.sink = None

    async def send(self, message: Outgoing) -> str | None:
        return await self.room.bot_line(message.text)

    async def delete(self, channel: str, message_id: str) -> None:
        await self.room.publish_deleted(message_id=message_id)

    def status(self) -> dict[str, Any]:
        return {"connected": self.sink is not None, "clients": len(self.room.hub.clients)}


class Room:
    def __init__(self, ctx: PluginContext[RoomConfig], passes: Passes) -> None:
        self.ctx = ctx
        self.passes = passes
        self.hub = Hub(ctx.config.client_queue)
        self.connector: RoomConnector | None = None
        self.history: deque[dict[str, Any]] = deque(maxlen=max(ctx.config.history, 1))
        #: The history in the database (written behind the room; see :mod:`.lines`).
        self.store = LineStore(max(ctx.config.history, 1), ctx.log)
        #: Room lines still shown, by id (for deleting them through ``ctx.chat.delete``).
        self.messages: OrderedDict[str, ChatMessage] = OrderedDict()
        self.platform_mods: set[tuple[str, str]] = set()
        self._sent: dict[tuple[str, str], deque[float]] = {}
        self._ids = itertools.count(1)
        self._run = secrets.token_hex(4)

    async def load(self) -> None:
        """Start with the history the last run left, and write new lines from now on."""
        self.history.extend(await self.store.load())
        self.store.start()

    async def close(self) -> None:
        """Close every page, then write what the history still has queued."""
        await self.hub.close_all()
        await self.store.close()

    # -- who may do what ------------------------------------------------------------------

    def vip(self) -> Memberships | None:
        # A runtime-checkable protocol is what ctx.peer checks against (mypy wants a
        # concrete class for type[...]; the protocol is the documented API).
        return self.ctx.peer("vip", Memberships)  # type: ignore[type-abstract]

    def room_tiers(self, vip: Memberships) -> list[str]:
        return list(self.ctx.config.tiers) or [t.name for t in vip.tiers()]

    def allowed(self, viewer: ViewerRef) -> bool:
        """Whether ``viewer`` holds a room tier right now (fails closed without VIP)."""
        vip = self.vip()
        if vip is None:
            return False
        try:
            return vip.is_member(viewer, self.room_tiers(vip))
        except Exception:
            self.ctx.log.exception("room: asking the VIP plugin about %s failed", viewer.name)
            return False

    def may_read(self, viewer: ViewerRef, tiers: list[str]) -> bool:
        """Whether ``viewer`` may read a post for ``tiers`` (empty: every room tier)."""
        if not tiers:
            return self.allowed(viewer)
        vip = self.vip()
        return vip is not None and self.allowed(viewer) and vip.is_member(viewer, tiers)

    def named(self, viewer: ViewerRef) -> ViewerRef:
        """``viewer`` with a display name: a link names only platform and id, so the name
        comes from the room's own table or, for a member it never saw, the membership."""
        if viewer.name:
            return viewer
        known = self.passes.get(viewer).viewer
        if known.name:
            return known
        vip = self.vip()
        held = vip.membership(viewer) if vip is not None else None
        name = held.viewer.name if held is not None and held.viewer.name else viewer.id
        return ViewerRef(viewer.platform, viewer.id, name)

    def tier_of(self, viewer: ViewerRef) -> str:
        vip = self.vip()
        held = vip.membership(viewer) if vip is not None else None
        return held.tier if held is not None else ""

    def is_moderator(self, viewer: ViewerRef) -> bool:
        if viewer_key(viewer) in self.ctx.config.moderators:
            return True
        return self.ctx.config.platform_moderators and viewer.key in self.platform_mods

    def note_platform_roles(self, message: ChatMessage) -> None:
        """Remember who moderates platform chat (they moderate the room too)."""
        if message.source == SOURCE or message.viewer is None or message.test:
            return
        if message.roles & MOD_ROLES:
            self.platform_mods.add(message.viewer.key)
        else:
            self.platform_mods.discard(message.viewer.key)

    # -- lines ----------------------------------------------------------------------------

    def line(self, message: ChatMessage) -> dict[str, Any]:
        viewer = message.viewer
        badges = [
            {"name": b.name, "label": b.label, "icon": b.icon}
            for b in self.ctx.badges.for_viewer(viewer)
        ]
        return {
            "id": message.source_id,
            "name": viewer.name if viewer else "",
            "viewer": viewer_key(viewer),
            "fragments": self.ctx.emotes.split(message.text, viewer),
            "badges": badges,
            "moderator": bool(message.roles & MOD_ROLES),
            "bot": False,
            "at": message.occurred_at.isoformat(),
        }

    def hello(self, member: Pass) -> dict[str, Any]:
        return {
            "type": "hello",
            "me": {"name": member.viewer.name, "viewer": viewer_key(member.viewer)},
            "moderator": self.is_moderator(member.viewer),
            "muted_until": member.muted_until.isoformat()
            if member.muted() and member.muted_until
            else None,
            "max_message": self.ctx.config.max_message,
            "history": list(self.history),
        }

    async def _show(self, line: dict[str, Any]) -> None:
        self.history.append(line)
        self.store.add(line)
        self.hub.broadcast(dumps({"type": "line", "line": line}))
        if self.ctx.running:
            overlay = {
                **line,
                "ttl": self.ctx.config.overlay_seconds,
                "max": self.ctx.config.overlay_lines,
            }
            await self._overlay("room.line", overlay)

    async def _overlay(self, kind: str, data: dict[str, Any]) -> None:
        try:
            overlays = self.ctx.overlays
        except NotRunning:
            return
        if overlays.exists(OVERLAY):
            # send() never waits on a page; it serialises and queues.
            await overlays.send(OVERLAY, kind, data)

    async def bot_line(self, text: str) -> str:
        line_id = f"room-bot-{self._run}-{next(self._ids)}"
        await self._show(
            {
                "id": line_id,
                "name": self.ctx.config.bot_name,
                "viewer": "",
                "fragments": [{"text": text}],
                "badges": [],
                "moderator": False,
                "bot": True,
                "at": datetime.now(UTC).isoformat(),
            }
        )
        return line_id

    async def say(self, client: Client, member: Pass, text: str) -> str | None:
        """A member typed ``text``: checks, then onto the bus. Returns a notice for the
        member when it was refused."""
        text = edge.clean_text(text.strip(), self.ctx.config.max_message)
        if not text:
            return None
        viewer = client.viewer
        if not self.allowed(viewer):
            await self.hub.close_viewer(viewer, ENDED)
            return None
        if member.muted():
            until = member.muted_until.strftime("%H:%M UTC") if member.muted_until else ""
            return f"You are timed out of the room until {until}."
        now = time.monotonic()
        sent = self._sent.setdefault(viewer.key, deque())
        while sent and now - sent[0] > RATE_WINDOW:
            sent.popleft()
        if len(sent) >= self.ctx.config.rate:
            return "Slow down a little: too many messages at once."
        sent.append(now)
        roles = {"viewer", "subscriber"}
        if self.is_moderator(viewer):
            roles.add("moderator")
        message = ChatMessage(
            source=SOURCE,
            source_id=f"room-{self._run}-{next(self._ids)}",
            viewer=viewer,
            text=text,
            channel=CHANNEL,
            roles=frozenset(roles),
            private=True,
        )
        if self.connector is None or self.connector.sink is None:
            return "The room is not running right now."
        await self.connector.sink.publish(message)
        return None

    async def on_chat(self, message: ChatMessage) -> None:
        """A room line the bus accepted: show it if gating lets it through."""
        if message.source != SOURCE:
            self.note_platform_roles(message)
            return
        verdict = message.verdict
        if verdict is None or not verdict.shown:
            if message.viewer is not None:
                notice = "Your message was not shown" + (
                    f": {verdict.reason}." if verdict is not None and verdict.reason else "."
                )
                self.hub.send_to(message.viewer, dumps({"type": "notice", "text": notice}))
            return
        self.messages[message.source_id] = message
        while len(self.messages) > max(self.ctx.config.history, 1) * 4:
            self.messages.popitem(last=False)
        await self._show(self.line(message))

    async def on_deleted(self, event: ChatDeleted) -> None:
        """Remove one line, or every line of a viewer, from the room and its overlay."""
        if event.source != SOURCE:
            return
        key = ""
        if event.message_id:
            gone = {event.message_id}
        elif event.viewer is not None:
            key = viewer_key(event.viewer)
            gone = {line["id"] for line in self.history if line["viewer"] == key}
            gone |= {mid for mid, m in self.messages.items() if viewer_key(m.viewer) == key}
        else:
            return
        self.store.forget(gone, key)
        kept = [line for line in self.history if line["id"] not in gone]
        self.history.clear()
        self.history.extend(kept)
        for mid in gone:
            self.messages.pop(mid, None)
        data = {"ids": sorted(gone)}
        self.hub.broadcast(dumps({"type": "deleted", **data}))
        await self._overlay("room.deleted", data)

    # -- moderation -----------------------------------------------------------------------

    async def publish_deleted(
        self, *, message_id: str | None = None, viewer: ViewerRef | None = None
    ) -> None:
        if self.connector is None or self.connector.sink is None:
            return
        target = message_id or viewer_key(viewer)
        await self.connector.sink.publish(
            ChatDeleted(
                source=SOURCE,
                source_id=f"room-del-{self._run}-{next(self._ids)}-{target}"[:200],
                channel=CHANNEL,
                message_id=message_id,
                private=True,
                viewer=viewer if viewer is not None else self._author(message_id),
            )
        )

    def _author(self, message_id: str | None) -> ViewerRef | None:
        found = self.messages.get(message_id or "")
        return found.viewer if found is not None else None

    async def delete(self, message_id: str) -> bool:
        """Delete one room line (a moderator, the dashboard)."""
        message = self.messages.get(message_id)
        if message is not None:
            return await self.ctx.chat.delete(message)
        if any(line["id"] == message_id for line in self.history):  # a bot line
            await self.publish_deleted(message_id=message_id)
            return True
        return False

    async def timeout(self, viewer: ViewerRef, seconds: int) -> Pass:
        """Time ``viewer`` out of the room: no messages until then, their lines removed."""
        until = datetime.now(UTC) + timedelta(seconds=seconds)
        member = await self.passes.mute(viewer, until)
        await self.publish_deleted(viewer=member.viewer)
        self.hub.send_to(
            viewer,
            dumps(
                {
                    "type": "timeout",
                    "until": until.isoformat(),
                    "text": f"You are timed out of the room until {until.strftime('%H:%M UTC')}.",
                }
            ),
        )
        return member

    async def lift(self, viewer: ViewerRef) -> Pass:
        member = await self.passes.mute(viewer, None)
        self.hub.send_to(viewer, dumps({"type": "timeout", "until": None, "text": ""}))
        return member

    async def revoke(self, viewer: ViewerRef) -> Pass:
        member = await self.passes.revoke(viewer)
        await self.hub.close_viewer(viewer, REVOKED)
        return member

    async def sweep(self) -> int:
        """Close every page whose member may no longer enter (a missed event, a tier taken
        off the room's list); the membership events close them at once, this is the net."""
        closed = 0
        for viewer in self.hub.viewers():
            if not self.allowed(viewer):
                closed += await self.hub.close_viewer(viewer, ENDED)
        return closed


__all__ = ["CHANNEL", "OVERLAY", "SOURCE", "Room", "RoomConnector", "viewer_key"]
