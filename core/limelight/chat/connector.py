"""The chat connector interface: what a chat platform plugin implements.

A plugin provides a connector through the ``register_chat_connectors`` hook with
``ChatConnectorSpec(name, factory)``; the factory, normally a bound method of the plugin
called with no arguments (a module plugin's function gets its context), returns a
:class:`ChatConnector` (or ``None`` when the platform is switched off in its config).
The chat service starts every connector after the bus is running, hands it a
:class:`ChatSink` for what it receives, and sends through it from per-channel rate-limited
queues. Several connectors run at once; viewers are identified by ``(platform, platform user id)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any, Protocol

from ..events import ChatMessage, ViewerRef

if TYPE_CHECKING:
    from ..bus import Accepted
    from ..events import Event
    from .outbound import Outgoing, RateLimit


class ChatUnsupported(Exception):
    """The platform cannot do this (for example whispers on a platform without them)."""


class ChatSink(Protocol):
    """Where a connector hands what it receives; the chat service implements it.

    ``publish`` answers with the event-log id and whether it was a replay.
    ``publish_line`` is for chat lines whose answer the connector does not need (a busy
    chat's every line): ``None`` once the line is on the bus, else an awaitable to await
    for the rest (a gating check or a full lane that waits)."""

    async def publish(self, event: Event) -> Accepted: ...

    def publish_line(self, event: ChatMessage) -> Awaitable[object] | None: ...


class ChatConnector:
    """Base class of a chat platform connection. Override what the platform supports.

    ``name`` is unique among connectors and is the ``source`` of the events it produces;
    ``platform`` is what viewers' identities use (``ViewerRef.platform``).
    """

    name: str = ""
    platform: str = ""
    #: Longest message the platform accepts; longer text is split by the send queue.
    max_length: int = 500
    #: No network behind it (the dashboard console, the test kit): simulated lines that
    #: arrive through the API are answered here rather than on a real platform.
    local: bool = False
    #: The name the bot chats under (its lines on the chat overlay carry it).
    bot_name: str = "Bot"

    @property
    def default_channel(self) -> str:
        """Where ``say`` goes when no channel is given."""
        return ""

    @property
    def channels(self) -> list[str]:
        return [self.default_channel] if self.default_channel else []

    async def start(self, sink: ChatSink) -> None:
        """Connect, then keep the connection up (reconnecting) until :meth:`stop`.

        Return once connecting has begun; do the long-running work in tasks you own.
        """
        raise NotImplementedError

    async def stop(self) -> None:
        """Disconnect and cancel every task :meth:`start` made."""

    def rate_limit(self, channel: str) -> RateLimit | None:
        """The send limit in ``channel`` right now (``None``: unlimited)."""
        return None

    def is_self(self, viewer: ViewerRef | None) -> bool:
        """Whether ``viewer`` is the bot's own account (commands ignore its lines)."""
        return False

    async def send(self, message: Outgoing) -> str | None:
        """Send one message (at most ``max_length`` characters); return its platform id.

        ``message.reply_to`` is the :class:`ChatMessage` being answered, if any. Raise on
        failure: the queue retries a few times, then gives up and logs.
        """
        raise NotImplementedError

    async def delete(self, channel: str, message_id: str) -> None:
        raise ChatUnsupported(f"{self.name} cannot delete messages")

    async def set_modes(self, channel: str, **modes: Any) -> None:
        """Change chat modes: ``subscriber_only``, ``emote_only``, ``slow`` (seconds, 0 off),
        ``followers_only`` (minutes, -1 off)."""
        raise ChatUnsupported(f"{self.name} cannot change chat modes")

    async def whisper(self, viewer: ViewerRef, text: str) -> None:
        raise ChatUnsupported(f"{self.name} has no whispers")

    def status(self) -> dict[str, Any]:
        """JSON-able state for ``/healthz``: connected, channels, errors. Never secrets."""
        return {}


class LocalConnector(ChatConnector):
    """A connector with no network: lines are typed in (the dashboard console, the test
    kit) and replies are kept in memory. Everything goes out at once (no rate limit)."""

    max_length = 500
    local = True

    def __init__(self, name: str, platform: str | None = None, channel: str = "") -> None:
        self.name = name
        self.platform = platform or name
        self._channel = channel or name
        self._sink: ChatSink | None = None
        self._ids = itertools.count(1)
        self.sent: list[Outgoing] = []
        self.deleted: list[str] = []
        self.whispers: list[tuple[ViewerRef, str]] = []
        self.modes: dict[str, Any] = {}

    @property
    def default_channel(self) -> str:
        return self._channel

    async def start(self, sink: ChatSink) -> None:
        self._sink = sink

    async def stop(self) -> None:
        self._sink = None

    @property
    def running(self) -> bool:
        return self._sink is not None

    def make_message(
        self,
        viewer: ViewerRef | str,
        text: str,
        *,
        roles: set[str] | frozenset[str] | None = None,
        test: bool = False,
        **fields: Any,
    ) -> ChatMessage:
        if isinstance(viewer, str):
            viewer = ViewerRef(self.platform, viewer.lower(), viewer)
        roles = frozenset(roles or ()) | {"viewer"}
        return ChatMessage(
            source=self.name,
            source_id=f"{self.name}-{next(self._ids)}",
            viewer=viewer,
            text=text,
            channel=fields.pop("channel", self._channel),
            roles=roles,
            test=test,
            **fields,
        )

    async def receive(self, message: ChatMessage) -> Accepted:
        """Hand a typed line to the bus, as a platform connector does with what it reads."""
        if self._sink is None:
            raise RuntimeError(f"connector {self.name} is not running")
        return await self._sink.publish(message)

    async def send(self, message: Outgoing) -> str | None:
        self.sent.append(message)
        return f"{self.name}-out-{next(self._ids)}"

    async def delete(self, channel: str, message_id: str) -> None:
        self.deleted.append(message_id)

    async def set_modes(self, channel: str, **modes: Any) -> None:
        self.modes.update(modes)

    async def whisper(self, viewer: ViewerRef, text: str) -> None:
        self.whispers.append((viewer, text))

    def status(self) -> dict[str, Any]:
        return {"connected": self.running, "channel": self._channel, "sent": len(self.sent)}
