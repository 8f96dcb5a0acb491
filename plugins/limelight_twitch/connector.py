"""The Twitch connector: chat over IRC-over-WebSocket, events over EventSub, actions via Helix.

IRC (``[plugins.twitch] irc_url``): log in with ``CAP REQ :twitch.tv/tags twitch.tv/commands
twitch.tv/membership``, ``PASS``, ``NICK``; ``JOIN`` the channel after ``001``. A
``RECONNECT``, a dropped socket or a silent one (no line for ``ping_after`` seconds and no
``PONG`` to our ``PING`` within ``pong_timeout``) reconnects with jittered exponential
backoff and joins again. A line cut off by a reset is never processed (only complete
CRLF-terminated lines are), and a line seen before a reconnect is not processed twice
(dedupe on the ``id`` tag, which is also the event's ``source_id`` for the bus).

EventSub (``[plugins.twitch] eventsub_url``): wait for ``session_welcome``, create subscriptions
through Helix with the session id, treat silence longer than ``keepalive_timeout_seconds``
(+ grace) as a dead socket, follow ``session_reconnect`` to the new URL without
resubscribing, record revocations, reconnect on close codes 4000-4007, drop duplicate
``message_id``s and messages older than ten minutes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
from collections import OrderedDict
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
from limelight import ChatMessage, Event, GiftBomb, ViewerRef
from limelight.chat import ChatConnector, ChatSink, ChatUnsupported, Outgoing, RateLimit

from .config import TwitchConfig
from .correlate import Correlator
from .helix import Helix, HelixError
from .images import TwitchImages
from .irc import (
    IrcMessage,
    IrcParseError,
    channel_of,
    format_line,
    nick_of,
    parse_line,
    split_privmsg,
)
from .mapping import EventSubMapper, IrcMapper, Produced

log = logging.getLogger("limelight.twitch")

CAPABILITIES = "twitch.tv/tags twitch.tv/commands twitch.tv/membership"
EVENTSUB_TYPES: tuple[tuple[str, str], ...] = (
    ("channel.cheer", "1"),
    ("channel.subscribe", "1"),
    ("channel.subscription.gift", "1"),
    ("channel.subscription.message", "1"),
    ("channel.charity_campaign.donate", "1"),
    ("channel.charity_campaign.progress", "1"),
)
CLOSE_REASONS = {
    4000: "internal server error",
    4001: "client sent inbound traffic",
    4002: "client failed ping-pong",
    4003: "connection unused (no subscription within 10 s of the welcome)",
    4004: "reconnect grace time expired",
    4005: "network timeout",
    4006: "network error",
    4007: "invalid reconnect",
}
NORMAL_LIMIT = RateLimit(20, 30.0)
#: Ids of IRC events seen lately (a line repeated after a reconnect is dropped).
SEEN_IRC = 20_000
#: The IRC commands that carry events (chat lines, subs, raids, deletions).
IRC_EVENTS = frozenset({"PRIVMSG", "USERNOTICE", "CLEARCHAT", "CLEARMSG"})
#: The IRC commands whose handling waits (on the socket): the rest is handled in a plain call.
IRC_AWAITED = frozenset({"001", "PING", "RECONNECT"})
MODERATOR_LIMIT = RateLimit(100, 30.0)


class IrcAuthFailed(Exception):
    """Twitch refused the login (bad or expired token)."""


class ConnectionLost(Exception):
    """The socket closed, went silent or broke a protocol rule."""


def backoff(attempt: int, low: float, high: float) -> float:
    """Exponential backoff with full jitter, so many bots never reconnect in step."""
    return random.uniform(low / 2, min(high, low * (2 ** min(attempt, 16))))


def parse_timestamp(raw: str) -> datetime | None:
    """Twitch's RFC 3339 timestamps carry nanoseconds; Python takes microseconds."""
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?", raw)
    if not m:
        return None
    frac = (m.group(2) or "0")[:6].ljust(6, "0")
    zone = m.group(3) or "Z"
    zone = "+00:00" if zone == "Z" else zone
    try:
        return datetime.fromisoformat(f"{m.group(1)}.{frac}{zone}")
    except ValueError:
        return None


class TwitchConnector(ChatConnector):
    name = "twitch"
    platform = "twitch"
    max_length = 500

    def __init__(self, config: TwitchConfig) -> None:
        self.config = config
        self.channel = config.channel.lstrip("#").lower()
        self.nick = config.bot_username.lower()
        self.bot_name = config.bot_username or "Bot"
        self.token = config.token.removeprefix("oauth:")
        self.bot_id: str = ""
        self.broadcaster_id: str = config.broadcaster_id
        self.session: aiohttp.ClientSession | None = None
        self.helix: Helix | None = None
        self._sink: ChatSink | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._irc_ws: aiohttp.ClientWebSocketResponse | None = None
        #: The end of the last IRC frame that was no complete line yet.
        self._irc_partial = ""
        #: Whether this IRC connection got its ``001`` (the login succeeded).
        self._irc_logged_in = False
        self._reconnect_now = False
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._es_seen: OrderedDict[str, None] = OrderedDict()
        self.images = TwitchImages(config.emote_url)
        self.irc_mapper = IrcMapper(images=self.images)
        self.es_mapper = EventSubMapper(images=self.images)
        self.correlator = Correlator(config.correlation_window)
        self.moderator: dict[str, bool] = {}
        self.room_modes: dict[str, dict[str, str]] = {}
        # -- state for status() --
        self.irc_state = "stopped"
        self.joined = False
        self.irc_reconnects = 0
        self.irc_error = ""
        self.es_state = "stopped" if config.eventsub else "off"
        self.es_session = ""
        self.es_reconnects = 0
        self.es_error = ""
        self.es_close_code: int | None = None
        self.es_keepalive_timeouts = 0
        self.es_subscriptions: dict[str, str] = {}
        self.es_revoked: dict[str, str] = {}
        self.duplicates = 0
        self.stale = 0
        self.lines = 0
        self._es_ready = asyncio.Event()

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def default_channel(self) -> str:
        return self.channel

    async def start(self, sink: ChatSink) -> None:
        self._sink = sink
        self.session = aiohttp.ClientSession()
        self.helix = Helix(self.session, self.config.api_url, self.config.client_id, self.token)
        self._tasks.append(asyncio.create_task(self._irc_run(), name="twitch:irc"))
        self._tasks.append(
            asyncio.create_task(
                self.images.keep_loading(self.helix, self._channel_id), name="twitch:images"
            )
        )
        if self.config.eventsub:
            self._tasks.append(asyncio.create_task(self._eventsub_run(), name="twitch:eventsub"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        if self.session is not None:
            await self.session.close()
            self.session = None
        self.irc_state = "stopped"
        self.es_state = "stopped" if self.config.eventsub else "off"
        self._sink = None

    # -- ids ----------------------------------------------------------------------------------

    async def ensure_ids(self) -> None:
        """The bot's and the broadcaster's numeric ids, which Helix calls need."""
        if self.bot_id and self.broadcaster_id:
            return
        assert self.helix is not None
        if not self.bot_id:
            me = await self.helix.users()
            if me:
                self.bot_id = str(me[0]["id"])
        if not self.broadcaster_id:
            users = await self.helix.users([self.channel])
            if users:
                self.broadcaster_id = str(users[0]["id"])
        if not (self.bot_id and self.broadcaster_id):
            raise HelixError(404, "could not find the bot's or the channel's user id")

    async def _channel_id(self) -> str:
        """The broadcaster's id for the badge and cheermote lookups ("" until known)."""
        try:
            await self.ensure_ids()
        except (HelixError, aiohttp.ClientError, OSError, TimeoutError) as exc:
            self.images.error = str(exc)
            return ""
        return self.broadcaster_id

    # -- publishing ---------------------------------------------------------------------------

    async def _emit(self, event: Event, key: tuple[Any, ...] | None, path: str) -> None:
        if self._admit(event, key, path):
            await self._publish(event)

    def _admit(self, event: Event, key: tuple[Any, ...] | None, path: str) -> bool:
        """Whether ``event`` is new: not seen before (a line repeated after a reconnect)
        and not the twin of one the other path reported first."""
        seen, source_id = self._seen, event.source_id
        if source_id in seen:
            self.duplicates += 1
            return False
        seen[source_id] = None  # _remember, written out: once per chat line
        if len(seen) > SEEN_IRC:
            seen.popitem(last=False)
        if key is not None:
            winner = self.correlator.admit(key, path, source_id)
            if winner is not None:
                log.debug("twitch: %s %s is the %s twin of %s", event.type, source_id, path, winner)
                if isinstance(event, GiftBomb):
                    self._relink_bomb(source_id, winner)
                return False
        return True

    async def _publish(self, event: Event) -> None:
        sink = self._sink
        if sink is None:
            return
        try:
            await sink.publish(event)
        except Exception:
            log.exception("twitch: publishing %s %s failed", event.type, event.source_id)

    def _relink_bomb(self, dropped: str, published: str) -> None:
        """Gifts that follow a dropped twin bomb must point at the bomb that was published."""
        for bomb in self.irc_mapper.bombs.values():
            if bomb[0] == dropped:
                bomb[0] = published
        for gift in self.es_mapper.gifts:
            if gift[3] == dropped:
                gift[3] = published

    # -- IRC ----------------------------------------------------------------------------------

    async def _irc_run(self) -> None:
        attempt = 0
        while True:
            self._reconnect_now = False
            self.irc_state = "connecting"
            try:
                if await self._irc_session():
                    attempt = 0
            except asyncio.CancelledError:
                raise
            except IrcAuthFailed as exc:
                self.irc_error = str(exc)
                log.error("twitch: login refused: %s (check plugins.twitch.token)", exc)
                attempt = max(attempt, 4)  # do not hammer Twitch with a bad token
            except (aiohttp.ClientError, OSError, TimeoutError, ConnectionLost) as exc:
                self.irc_error = f"{type(exc).__name__}: {exc}"
                log.warning("twitch: chat connection lost: %s", self.irc_error)
            self._irc_ws = None
            self.joined = False
            self.irc_state = "reconnecting"
            self.irc_reconnects += 1
            if self._reconnect_now:
                delay = random.uniform(0, self.config.reconnect_min)
            else:
                delay = backoff(attempt, self.config.reconnect_min, self.config.reconnect_max)
                attempt += 1
            await asyncio.sleep(delay)

    async def _irc_session(self) -> bool:
        """One connection, from login to its end; True when the login had succeeded."""
        assert self.session is not None
        self._irc_partial = ""  # a line cut off by the last connection is never processed
        self._irc_logged_in = False
        async with self.session.ws_connect(
            self.config.irc_url, autoping=True, max_msg_size=1 << 20
        ) as ws:
            await ws.send_str(f"CAP REQ :{CAPABILITIES}")
            await ws.send_str(f"PASS oauth:{self.token}")
            await ws.send_str(f"NICK {self.nick}")
            while True:
                logged_in = self._irc_logged_in
                timeout = self.config.ping_after if logged_in else self.config.login_timeout
                try:
                    msg = await ws.receive(timeout=timeout)
                except TimeoutError:
                    if not logged_in:
                        raise ConnectionLost("no answer to the login") from None
                    await ws.send_str("PING :tmi.twitch.tv")
                    try:
                        msg = await ws.receive(timeout=self.config.pong_timeout)
                    except TimeoutError:
                        raise ConnectionLost("silent connection (no PONG)") from None
                if msg.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSING,
                    aiohttp.WSMsgType.CLOSED,
                    aiohttp.WSMsgType.ERROR,
                ):
                    if self._reconnect_now:
                        return self._irc_logged_in
                    raise ConnectionLost(f"socket closed ({ws.close_code})")
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    continue
                leave = self._irc_text(ws, msg.data)
                if leave is not False and (leave is True or await leave):
                    return self._irc_logged_in

    def _irc_text(self, ws: aiohttp.ClientWebSocketResponse, text: str) -> bool | Awaitable[bool]:
        """Handle a received text frame: every complete (LF-terminated) line in it, in
        order, the incomplete end kept for the next frame. ``True`` means: leave this
        connection now (RECONNECT). Why not ``async``: a chat line needs nothing awaited
        unless the bus has to wait (a gating check that waits, a full lane), so a frame
        of chat lines is handled in one plain call, with no coroutine per line; only when
        a line must wait (that, PING, RECONNECT, ``001``...) is the awaitable for the
        rest of the frame returned, and awaiting it finishes the frame."""
        buffer = self._irc_partial + text if self._irc_partial else text
        if "\n" not in buffer:
            self._irc_partial = buffer
            return False
        *lines, self._irc_partial = buffer.split("\n")
        return self._irc_lines(ws, lines, 0)

    def _irc_lines(
        self, ws: aiohttp.ClientWebSocketResponse, lines: list[str], start: int
    ) -> bool | Awaitable[bool]:
        """:meth:`_irc_text` for ``lines[start:]``: the lines handled in a plain call
        until one has to wait; then the awaitable that waits and does the rest."""
        for i in range(start, len(lines)):
            line = lines[i].rstrip("\r")
            if not line:
                continue
            parts = split_privmsg(line)  # nearly every line: no IrcMessage, no list of pairs
            if parts is not None:
                self.lines += 1
                rest = self._irc_chat(*parts)
            else:
                try:
                    parsed = parse_line(line)
                except IrcParseError:
                    log.debug("twitch: unparsable line %r", line[:200])
                    continue
                command = parsed.command
                if command in IRC_EVENTS:
                    self.lines += 1
                    rest = self._irc_events(self.irc_mapper.map(parsed))
                elif command in IRC_AWAITED:
                    return self._irc_lines_after(self._irc_message(ws, parsed), ws, lines, i + 1)
                else:
                    self._irc_note(parsed)
                    continue
            if rest is not None:
                return self._irc_lines_after(rest, ws, lines, i + 1)
        return False

    async def _irc_lines_after(
        self,
        pending: Awaitable[bool | None],
        ws: aiohttp.ClientWebSocketResponse,
        lines: list[str],
        start: int,
    ) -> bool:
        """Wait for what a line had to wait for, then handle ``lines[start:]`` (unless
        that line said to leave the connection)."""
        if await pending:
            return True
        rest = self._irc_lines(ws, lines, start)
        return rest if isinstance(rest, bool) else await rest

    def _irc_chat(
        self, tags: dict[str, str], prefix: str, target: str, text: str
    ) -> Awaitable[None] | None:
        """Map and publish a chat line from :func:`~.irc.split_privmsg`'s parts, as
        :meth:`IrcMapper.map` and :meth:`_irc_events` would its :class:`IrcMessage`;
        ``None`` when all is done, else the awaitable for the rest."""
        mapper = self.irc_mapper
        nick = nick_of(prefix)
        chat = mapper.chat_line(tags, nick, channel_of(target), text)
        if chat is None:
            return None
        if chat.bits > 0:
            return self._irc_events([(chat, None), mapper.cheer(chat, tags, nick)])
        rest = self._irc_event(chat, None)
        return None if rest is None else self._irc_events_after(chat, rest, [])

    def _irc_events(self, produced: Produced) -> Awaitable[None] | None:
        """Admit and publish the events of one IRC line, in order: ``None`` when all are
        done, else the awaitable for the rest."""
        for n, (event, key) in enumerate(produced):
            rest = self._irc_event(event, key)
            if rest is not None:
                return self._irc_events_after(event, rest, produced[n + 1 :])
        return None

    async def _irc_events_after(
        self, event: Event, pending: Awaitable[object], produced: Produced
    ) -> None:
        """Wait for the publishing of ``event`` to finish, then publish ``produced``."""
        try:
            await pending
        except Exception:
            log.exception("twitch: publishing %s %s failed", event.type, event.source_id)
        rest = self._irc_events(produced)
        if rest is not None:
            await rest

    def _irc_event(self, event: Event, key: tuple[Any, ...] | None) -> Awaitable[object] | None:
        """Admit ``event`` (:meth:`_admit`) and publish it: a chat line through the sink's
        ``publish_line`` (a plain call unless the bus has to wait), anything else through
        ``publish``. ``None`` when done, else the awaitable that finishes it (the caller
        awaits it through :meth:`_irc_events_after`, which logs its failure)."""
        if not self._admit(event, key, "irc") or (sink := self._sink) is None:
            return None
        try:
            if isinstance(event, ChatMessage):
                return sink.publish_line(event)
            return sink.publish(event)
        except Exception:
            log.exception("twitch: publishing %s %s failed", event.type, event.source_id)
            return None

    async def _irc_message(self, ws: aiohttp.ClientWebSocketResponse, msg: IrcMessage) -> bool:
        """Handle one parsed line; True means: leave this connection now (RECONNECT).
        The read loop takes chat lines through :meth:`_irc_text` without this coroutine;
        it handles the rest (and any line a caller hands it)."""
        command = msg.command
        if command == "001":
            self._irc_logged_in = True
            self._irc_ws = ws
            self.irc_state = "connected"
            self.irc_error = ""
            await ws.send_str(f"JOIN #{self.channel}")
            return False
        if command == "PING":
            await ws.send_str(f"PONG :{msg.trailing or 'tmi.twitch.tv'}")
            return False
        if command in IRC_EVENTS:
            self.lines += 1
            rest = self._irc_events(self.irc_mapper.map(msg))
            if rest is not None:
                await rest
            return False
        if command == "RECONNECT":
            log.info("twitch: server asked to reconnect")
            self._reconnect_now = True
            await ws.close()
            return True
        self._irc_note(msg)
        return False

    def _irc_note(self, msg: IrcMessage) -> None:
        """Handle a line that only tells us something (NOTICE, the ``*STATE`` lines, a
        JOIN; any other line is ignored): nothing is awaited, so the read loop calls it
        without a coroutine (with ``twitch.tv/membership``, every viewer's JOIN and
        PART is such a line). A NOTICE refusing the login raises :class:`IrcAuthFailed`."""
        command = msg.command
        if command == "NOTICE":
            text = msg.trailing
            if (
                msg.params
                and msg.params[0] == "*"
                and (
                    "authentication failed" in text.lower()
                    or "improperly formatted" in text.lower()
                    or "login unsuccessful" in text.lower()
                )
            ):
                raise IrcAuthFailed(text)
            log.info("twitch notice: %s", text)
            return
        if command == "USERSTATE":
            badges = msg.tags.get("badges", "")
            self.moderator[msg.channel] = (
                msg.tags.get("mod") == "1"
                or "broadcaster/" in badges
                or "moderator/" in badges
                or msg.channel == self.nick
            )
            return
        if command == "GLOBALUSERSTATE":
            self.bot_id = msg.tags.get("user-id", self.bot_id)
            return
        if command == "ROOMSTATE":
            if msg.tags.get("room-id") and msg.channel == self.channel:
                self.broadcaster_id = self.broadcaster_id or msg.tags["room-id"]
            self.room_modes.setdefault(msg.channel, {}).update(
                {k: v for k, v in msg.tags.items() if k != "room-id"}
            )
            return
        if command == "JOIN" and msg.nick == self.nick and msg.channel == self.channel:
            self.joined = True
            log.info("twitch: joined #%s", self.channel)

    # -- sending ------------------------------------------------------------------------------

    def rate_limit(self, channel: str) -> RateLimit:
        return MODERATOR_LIMIT if self.is_moderator(channel) else NORMAL_LIMIT

    def is_moderator(self, channel: str | None = None) -> bool:
        channel = (channel or self.channel).lstrip("#").lower()
        return self.moderator.get(channel, False) or channel == self.nick

    def is_self(self, viewer: ViewerRef | None) -> bool:
        if viewer is None:
            return False
        return (bool(self.bot_id) and viewer.id == self.bot_id) or viewer.name.lower() == self.nick

    async def send(self, message: Outgoing) -> str | None:
        text = message.text
        if text[:1] in ("/", "."):
            text = "\u200b" + text  # never let chat text run a chat command
        channel = message.channel.lstrip("#").lower() or self.channel
        reply_id = (
            message.reply_to_id
            if isinstance(message.reply_to, ChatMessage) and message.reply_to.source == self.name
            else None
        )
        if self.config.send_via == "helix" and channel == self.channel:
            try:
                await self.ensure_ids()
                assert self.helix is not None
                return await self.helix.send_chat(self.broadcaster_id, self.bot_id, text, reply_id)
            except HelixError as exc:
                if exc.status == 200:  # Twitch dropped it (AutoMod, a mode): do not retry
                    log.warning("twitch: %s", exc)
                    return None
                # A missing user:write:chat scope, an outage: IRC (chat:edit) may still work.
                log.warning("twitch: Helix send failed (%s); sending over IRC", exc)
            except (aiohttp.ClientError, TimeoutError) as exc:
                log.warning("twitch: Helix unreachable (%s); sending over IRC", exc)
        ws = self._irc_ws
        if ws is None or ws.closed or not self.joined:
            raise ConnectionError("not connected to Twitch chat")
        tags = {"reply-parent-msg-id": reply_id} if reply_id else None
        await ws.send_str(format_line("PRIVMSG", f"#{channel}", text, tags=tags))
        return None

    async def delete(self, channel: str, message_id: str) -> None:
        await self.ensure_ids()
        assert self.helix is not None
        await self.helix.delete_message(self.broadcaster_id, self.bot_id, message_id)

    async def set_modes(self, channel: str, **modes: Any) -> None:
        body: dict[str, Any] = {}
        for key, value in modes.items():
            if key == "subscriber_only":
                body["subscriber_mode"] = bool(value)
            elif key == "emote_only":
                body["emote_mode"] = bool(value)
            elif key == "slow":
                body["slow_mode"] = bool(value)
                if value:
                    body["slow_mode_wait_time"] = int(value)
            elif key == "followers_only":
                body["follower_mode"] = value is not None and int(value) >= 0
                if body["follower_mode"]:
                    body["follower_mode_duration"] = int(value)
            else:
                raise ChatUnsupported(f"twitch has no chat mode {key!r}")
        await self.ensure_ids()
        assert self.helix is not None
        await self.helix.update_chat_settings(self.broadcaster_id, self.bot_id, body)

    async def whisper(self, viewer: ViewerRef, text: str) -> None:
        await self.ensure_ids()
        assert self.helix is not None
        await self.helix.whisper(self.bot_id, viewer.id, text)

    # -- EventSub -----------------------------------------------------------------------------

    async def _eventsub_run(self) -> None:
        attempt = 0
        while True:
            self.es_state = "connecting"
            try:
                await self._eventsub_session()
            except asyncio.CancelledError:
                raise
            except (
                aiohttp.ClientError,
                OSError,
                TimeoutError,
                ConnectionLost,
                HelixError,
                ValueError,
            ) as exc:
                self.es_error = f"{type(exc).__name__}: {exc}"
                log.warning("twitch: EventSub connection lost: %s", self.es_error)
            if self._es_ready.is_set():  # that session had worked: start backoff afresh
                attempt = 0
            self._es_ready.clear()
            self.es_session = ""
            self.es_state = "reconnecting"
            self.es_reconnects += 1
            await asyncio.sleep(
                backoff(attempt, self.config.reconnect_min, self.config.reconnect_max)
            )
            attempt += 1

    async def _welcome(self, ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
        msg = await ws.receive(timeout=self.config.login_timeout)
        if msg.type is not aiohttp.WSMsgType.TEXT:
            raise ConnectionLost(f"no welcome (socket {msg.type.name}, code {ws.close_code})")
        frame = json.loads(msg.data)
        meta = frame.get("metadata", {})
        if meta.get("message_type") != "session_welcome":
            raise ConnectionLost(f"expected session_welcome, got {meta.get('message_type')}")
        _remember(self._es_seen, str(meta.get("message_id")), 5000)
        return dict(frame["payload"]["session"])

    async def _eventsub_session(self) -> None:
        assert self.session is not None
        ws = await self.session.ws_connect(self.config.eventsub_url, autoping=True)
        try:
            session = await self._welcome(ws)
            self.es_session = str(session["id"])
            keepalive = float(session.get("keepalive_timeout_seconds") or 10)
            self.es_close_code = None
            await self._subscribe(self.es_session)
            self.es_state = "connected"
            self.es_error = ""
            self._es_ready.set()
            while True:
                try:
                    msg = await ws.receive(timeout=keepalive + self.config.keepalive_grace)
                except TimeoutError:
                    self.es_keepalive_timeouts += 1
                    raise ConnectionLost("no keepalive in time") from None
                if msg.type in (
                    aiohttp.WSMsgType.CLOSE,
                    aiohttp.WSMsgType.CLOSING,
                    aiohttp.WSMsgType.CLOSED,
                    aiohttp.WSMsgType.ERROR,
                ):
                    code = ws.close_code
                    self.es_close_code = code
                    reason = CLOSE_REASONS.get(code or 0, "closed")
                    if code == 4003:
                        log.error("twitch: EventSub closed 4003: %s", reason)
                    raise ConnectionLost(f"EventSub closed {code}: {reason}")
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    continue
                new_url = await self._eventsub_frame(msg.data)
                if new_url:
                    ws, keepalive = await self._follow_reconnect(ws, new_url)
        finally:
            await ws.close()

    async def _follow_reconnect(
        self, old: aiohttp.ClientWebSocketResponse, url: str
    ) -> tuple[aiohttp.ClientWebSocketResponse, float]:
        """``session_reconnect``: connect to the new URL, take its welcome, then close the
        old socket. Subscriptions move with the session: no resubscribing."""
        assert self.session is not None

        in_flight: list[asyncio.Future[str | None]] = []

        async def drain_old() -> None:
            # Twitch keeps delivering on the old socket until the new one is welcomed. A
            # frame being handled is finished even when draining stops (shielded).
            while True:
                msg = await old.receive()
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    return
                frame = asyncio.ensure_future(self._eventsub_frame(msg.data))
                in_flight.append(frame)
                await asyncio.shield(frame)

        draining = asyncio.create_task(drain_old(), name="twitch:eventsub-old")
        try:
            new = await self.session.ws_connect(url, autoping=True)
            try:
                session = await self._welcome(new)
            except BaseException:
                await new.close()
                raise
        finally:
            draining.cancel()
            await asyncio.gather(draining, *in_flight, return_exceptions=True)
        self.es_session = str(session["id"])
        self.es_reconnects += 1
        await old.close()
        log.info("twitch: EventSub moved to a new connection")
        return new, float(session.get("keepalive_timeout_seconds") or 10)

    async def _subscribe(self, session_id: str) -> None:
        await self.ensure_ids()
        assert self.helix is not None
        condition = {"broadcaster_user_id": self.broadcaster_id}
        for sub_type, version in EVENTSUB_TYPES:
            try:
                await self.helix.subscribe(sub_type, version, condition, session_id)
                self.es_subscriptions[sub_type] = "enabled"
            except HelixError as exc:
                if exc.status == 409:
                    self.es_subscriptions[sub_type] = "enabled"
                    continue
                self.es_subscriptions[sub_type] = f"failed: {exc.message}"
                log.error("twitch: cannot subscribe to %s: %s", sub_type, exc)

    async def _eventsub_frame(self, data: str) -> str | None:
        """Handle one EventSub frame; returns a reconnect URL for ``session_reconnect``."""
        try:
            frame = json.loads(data)
            meta = frame["metadata"]
            message_id = str(meta["message_id"])
            kind = meta["message_type"]
        except (ValueError, KeyError, TypeError):
            log.warning("twitch: malformed EventSub frame ignored")
            return None
        if message_id in self._es_seen:
            self.duplicates += 1
            return None
        at = parse_timestamp(str(meta.get("message_timestamp", "")))
        if at is None or datetime.now(UTC) - at > timedelta(seconds=self.config.max_message_age):
            self.stale += 1
            log.warning(
                "twitch: EventSub message %s is older than %g s; ignored",
                message_id,
                self.config.max_message_age,
            )
            return None
        _remember(self._es_seen, message_id, 5000)
        payload = frame.get("payload") or {}
        if kind == "session_keepalive":
            return None
        if kind == "notification":
            sub_type = meta.get("subscription_type") or payload.get("subscription", {}).get(
                "type", ""
            )
            event = payload.get("event") or {}
            for produced, key in self.es_mapper.map(sub_type, message_id, event, at):
                await self._emit(produced, key, "eventsub")
            return None
        if kind == "session_reconnect":
            return str(payload.get("session", {}).get("reconnect_url") or "") or None
        if kind == "revocation":
            sub = payload.get("subscription", {})
            status = str(sub.get("status", "revoked"))
            self.es_revoked[str(sub.get("type", ""))] = status
            self.es_subscriptions[str(sub.get("type", ""))] = f"revoked: {status}"
            log.warning("twitch: EventSub subscription %s revoked (%s)", sub.get("type"), status)
            return None
        return None

    # -- status -------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        return {
            "connected": self.irc_state == "connected" and self.joined,
            "channel": self.channel,
            "bot": self.nick,
            "moderator": self.is_moderator(),
            "send_via": self.config.send_via,
            "irc": {
                "state": self.irc_state,
                "joined": self.joined,
                "reconnects": self.irc_reconnects,
                "error": self.irc_error,
                "lines": self.lines,
            },
            "eventsub": {
                "state": self.es_state,
                "reconnects": self.es_reconnects,
                "error": self.es_error,
                "close_code": self.es_close_code,
                "keepalive_timeouts": self.es_keepalive_timeouts,
                "subscriptions": dict(self.es_subscriptions),
                "revoked": dict(self.es_revoked),
            },
            "images": {
                "loaded": self.images.loaded,
                "badges": len(self.images.badges),
                "cheermotes": len(self.images.cheermotes),
                "error": self.images.error,
            },
            "duplicates": self.duplicates,
            "stale": self.stale,
            "twins": self.correlator.twins,
        }


def _remember(seen: OrderedDict[str, None], key: str, size: int) -> None:
    seen[key] = None
    if len(seen) > size:
        seen.popitem(last=False)
