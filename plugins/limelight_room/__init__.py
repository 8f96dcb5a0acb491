"""The members' room: a private web chat and exclusive posts for VIP members.

A member types ``!room`` and the bot whispers a personal signed link; the link opens
``/room/<token>``: a phone-friendly chat with the other members (live over a WebSocket)
and the streamer's members-only posts. Room lines go through the bus like platform chat
(commands, gating, moderation and the chat log apply). The link is bound to the member,
works only while their membership of a room tier lasts, and the streamer can revoke it;
when a membership ends, the member's open room pages close at once. The ``room`` overlay
shows the newest room lines on stream.

Requires the ``vip`` plugin, reached only through its typed API (``limelight_vip.api``).
:class:`RoomPlugin` wires the parts; each module has one concern (docs/room.md).
"""

from __future__ import annotations

from functools import cached_property

from limelight import (
    Call,
    ChatConnectorSpec,
    ChatDeleted,
    ChatMessage,
    Command,
    Event,
    Job,
    MembershipChanged,
    Models,
    Overlay,
    Plugin,
    Register,
    Route,
    ViewerRef,
    command,
    example,
    fill,
    hookimpl,
)

from .api import RoomLinks
from .config import RoomConfig
from .links import Passes
from .room import ENDED, OVERLAY, Room, RoomConnector
from .web import Web

__version__ = "0.1.0"


class RoomPlugin(Plugin[RoomConfig]):
    config_model = RoomConfig
    requires = ("vip",)

    def __init__(self) -> None:
        super().__init__()
        self.passes = Passes()

    @cached_property
    def room(self) -> Room:
        return Room(self.ctx, self.passes)

    @cached_property
    def web(self) -> Web:
        return Web(self.ctx, self.room, self.passes)

    # -- the API other plugins use (RoomLinks) -------------------------------------------

    def link_for(self, viewer: ViewerRef) -> str | None:
        """The viewer's personal room link, or ``None`` when they may not enter."""
        if not self.ctx.running or not self.room.allowed(viewer):
            return None
        token = self.passes.token_for(viewer)
        return self.ctx.url(f"/room/{token}") if token else None

    # -- registration --------------------------------------------------------------------

    @hookimpl
    def register_models(self, register: Register[Models]) -> None:
        register(Models("room", "limelight_room.models", "limelight_room.migrations"))

    @hookimpl
    def register_routes(self, register: Register[Route]) -> None:
        for route in self.web.routes():
            register(route)

    @hookimpl
    def register_chat_connectors(self, register: Register[ChatConnectorSpec]) -> None:
        register(ChatConnectorSpec("room", self.connector))

    def connector(self) -> RoomConnector:
        return RoomConnector(self.room)

    @hookimpl
    def register_overlays(self, register: Register[Overlay]) -> None:
        register(
            Overlay(
                OVERLAY,
                "room/overlay.html",
                width=480,
                height=360,
                title="Members' room",
                description="The newest lines of the members' room, with badges and emotes; "
                "empty when the room is quiet.",
            )
        )

    @hookimpl
    def register_jobs(self, register: Register[Job]) -> None:
        register(Job("room-sweep", self.sweep, "interval", {"seconds": 30}))

    @hookimpl
    def register_commands(self, register: Register[Command]) -> None:
        register(self.room_link)

    # -- commands ------------------------------------------------------------------------

    @command("room", user_cooldown=30)
    @example("!room", r"(The members' room is for members|I whispered you).*", regex=True)
    async def room_link(self, call: Call) -> str | None:
        """Your personal link to the members' room, whispered to you."""
        viewer = call.viewer
        if viewer is None:
            return "The members' room needs a chat account."
        if call.message.source == "room":
            return "You are in the room already."
        link = self.link_for(viewer)
        if link is None:
            return "The members' room is for members; ask the streamer how to join."
        await self.passes.remember(viewer)
        text = fill(self.config.whisper_text, link=link, name=viewer.name)
        if await self.ctx.chat.whisper(viewer, text):
            return "I whispered you your personal room link."
        return (
            "I could not whisper you (whispers may be off in your settings); the streamer "
            "can copy your link from the dashboard."
        )

    # -- lifecycle and events ------------------------------------------------------------

    async def sweep(self) -> None:
        await self.room.sweep()

    @hookimpl
    async def startup(self) -> None:
        await self.passes.load()
        await self.room.load()

    @hookimpl
    async def shutdown(self) -> None:
        await self.room.close()

    @hookimpl
    async def on_event(self, event: Event) -> None:
        if isinstance(event, ChatMessage):
            await self.room.on_chat(event)
        elif isinstance(event, ChatDeleted):
            await self.room.on_deleted(event)
        elif isinstance(event, MembershipChanged) and event.viewer is not None:
            # Any change (an expiry, a revocation, a move to a tier without the room)
            # is judged by what the member holds now, not by the event's status.
            if not self.room.allowed(event.viewer):
                await self.room.hub.close_viewer(event.viewer, ENDED)
            elif not event.test:
                await self.passes.remember(event.viewer)


# The plugin is the RoomLinks the API module documents (checked here, not at runtime).
_api: type[RoomLinks] = RoomPlugin

__all__ = ["RoomPlugin"]
