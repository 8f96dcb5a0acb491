"""A local fake of Twitch for the connector tests: IRC over WebSocket, EventSub WebSocket
and the Helix endpoints the connector uses, on one aiohttp server on a free port.

Everything it sends is in Twitch's documented (and captured) formats: IRCv3 tags with
their escapes, the login numerics, ``USERSTATE``/``ROOMSTATE`` after ``JOIN``,
``USERNOTICE`` msg-ids, EventSub frames with ``metadata.message_id`` /
``message_timestamp`` / ``subscription_type``, Helix envelopes (``{"data": [...]}``,
errors as ``{"error", "status", "message"}``). Tests script faults through its methods:
``RECONNECT``, a reset in the middle of a line, a silent socket, EventSub close codes
4000-4007, ``session_reconnect``, revocations and duplicate deliveries.

References: https://dev.twitch.tv/docs/chat/irc/ , https://dev.twitch.tv/docs/eventsub/
handling-websocket-events/ , https://dev.twitch.tv/docs/api/reference/ .
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import WSMsgType, web

# -- captured lines (from Twitch's documentation), with placeholders for the channel ------------

SAMPLES = {
    "privmsg": (
        "@badge-info=;badges=turbo/1;color=#0D4200;display-name=ronni;emotes=25:0-4,12-16/"
        "1902:6-10;id=b34ccfc7-4977-403a-8a94-33c6bac34fb8;mod=0;room-id=1337;subscriber=0;"
        "tmi-sent-ts=1507246572675;turbo=1;user-id=1337;user-type=global_mod "
        ":ronni!ronni@ronni.tmi.twitch.tv PRIVMSG #{channel} :Kappa Keepo Kappa"
    ),
    "bits": (
        "@badge-info=;badges=staff/1,bits/1000;bits=100;color=;display-name=ronni;emotes=;"
        "id=b34ccfc7-4977-403a-8a94-33c6bac34fb9;mod=0;room-id=12345678;subscriber=0;"
        "tmi-sent-ts=1507246572675;turbo=1;user-id=12345678;user-type=staff "
        ":ronni!ronni@ronni.tmi.twitch.tv PRIVMSG #{channel} :cheer100"
    ),
    "resub": (
        "@badge-info=;badges=staff/1,broadcaster/1,turbo/1;color=#008000;display-name=ronni;"
        "emotes=;id=db25007f-7a18-43eb-9379-80131e44d633;login=ronni;mod=0;msg-id=resub;"
        "msg-param-cumulative-months=6;msg-param-streak-months=2;"
        "msg-param-should-share-streak=1;msg-param-sub-plan=Prime;"
        "msg-param-sub-plan-name=Prime;room-id=12345678;subscriber=1;"
        "system-msg=ronni\\shas\\ssubscribed\\sfor\\s6\\smonths!;tmi-sent-ts=1507246572675;"
        "turbo=1;user-id=87654321;user-type=staff :tmi.twitch.tv USERNOTICE #{channel} "
        ":Great stream -- keep it up!"
    ),
    "subgift": (
        "@badge-info=;badges=staff/1,premium/1;color=#0000FF;display-name=TWW2;emotes=;"
        "id=e9176cd8-5e22-4684-ad40-ce53c2561c5e;login=tww2;mod=0;msg-id=subgift;"
        "msg-param-months=1;msg-param-recipient-display-name=Mr_Woodchuck;"
        "msg-param-recipient-id=55554444;msg-param-recipient-name=mr_woodchuck;"
        "msg-param-sub-plan-name=House\\sof\\sNyoro~n;msg-param-sub-plan=1000;"
        "room-id=19571752;subscriber=0;"
        "system-msg=TWW2\\sgifted\\sa\\sTier\\s1\\ssub\\sto\\sMr_Woodchuck!;"
        "tmi-sent-ts=1521159445153;turbo=0;user-id=87654321;user-type=staff "
        ":tmi.twitch.tv USERNOTICE #{channel}"
    ),
    "raid": (
        "@badge-info=;badges=turbo/1;color=#9ACD32;display-name=TestChannel;emotes=;"
        "id=3d830f12-795c-447d-af3c-ea05e40fbddb;login=testchannel;mod=0;msg-id=raid;"
        "msg-param-displayName=TestChannel;msg-param-login=testchannel;"
        "msg-param-viewerCount=15;room-id=33332222;subscriber=0;"
        "system-msg=15\\sraiders\\sfrom\\sTestChannel\\shave\\sjoined\\n!;"
        "tmi-sent-ts=1507246572675;turbo=1;user-id=123456;user-type= "
        ":tmi.twitch.tv USERNOTICE #{channel}"
    ),
    "announcement": (
        "@badge-info=;badges=broadcaster/1,ambassador/1;color=#033700;display-name=BrainSlug;"
        "emotes=;flags=;id=55555555-0000-4444-3333-222222222222;login=brainslug;mod=0;"
        "msg-id=announcement;msg-param-color=PRIMARY;room-id=12345678;subscriber=0;"
        "system-msg=;tmi-sent-ts=1648758023469;user-id=12345678;user-type= "
        ":tmi.twitch.tv USERNOTICE #{channel} :Hello chat!"
    ),
    "clearchat_user": (
        "@ban-duration=350;room-id=12345678;target-user-id=87654321;"
        "tmi-sent-ts=1642719320727 :tmi.twitch.tv CLEARCHAT #{channel} :ronni"
    ),
    "clearchat_all": "@room-id=12345678;tmi-sent-ts=1642715695392 :tmi.twitch.tv CLEARCHAT "
    "#{channel}",
    "clearmsg": (
        "@login=foo;room-id=;target-msg-id=94e6c7ff-bf98-4faa-af5d-7ad633a158a9;"
        "tmi-sent-ts=1642720582342 :tmi.twitch.tv CLEARMSG #{channel} :what a great day"
    ),
}


def privmsg(
    channel: str,
    text: str,
    *,
    user: str = "alice",
    user_id: str = "501",
    msg_id: str | None = None,
    badges: str = "",
    mod: bool = False,
    subscriber: bool = False,
    vip: bool = False,
    first: bool = False,
    bits: int = 0,
    reply_parent: str | None = None,
    display: str | None = None,
    color: str = "#1E90FF",
    emotes: str = "",
    sent_ms: int | None = None,
) -> str:
    """A PRIVMSG line with the tags Twitch sends (values escaped as on the wire);
    ``emotes`` is the tag as Twitch writes it (``"25:0-4,12-16/1902:6-10"``); ``sent_ms``
    the ``tmi-sent-ts`` (default: now)."""
    tags = {
        "badge-info": "",
        "badges": badges,
        "client-nonce": uuid.uuid4().hex,
        "color": color,
        "display-name": display or user,
        "emotes": emotes,
        "first-msg": "1" if first else "0",
        "flags": "",
        "id": msg_id or str(uuid.uuid4()),
        "mod": "1" if mod else "0",
        "returning-chatter": "0",
        "room-id": "1001",
        "subscriber": "1" if subscriber else "0",
        "tmi-sent-ts": _ts() if sent_ms is None else str(sent_ms),
        "turbo": "0",
        "user-id": user_id,
        "user-type": "mod" if mod else "",
    }
    if vip:
        tags["vip"] = "1"
    if bits:
        tags["bits"] = str(bits)
    if reply_parent:
        tags["reply-parent-msg-id"] = reply_parent
        tags["reply-parent-display-name"] = "someone"
        tags["reply-parent-msg-body"] = "an earlier line; with escapes"
    return f"{_tags(tags)} :{user}!{user}@{user}.tmi.twitch.tv PRIVMSG #{channel} :{text}"


def usernotice(
    channel: str,
    msg_id: str,
    *,
    user: str = "alice",
    user_id: str = "501",
    text: str | None = None,
    id: str | None = None,
    **params: str,
) -> str:
    """A USERNOTICE; ``params`` become ``msg-param-<name>`` tags (underscores -> dashes)."""
    tags = {
        "badge-info": "",
        "badges": "",
        "color": "",
        "display-name": user,
        "emotes": "",
        "flags": "",
        "id": id or str(uuid.uuid4()),
        "login": user.lower(),
        "mod": "0",
        "msg-id": msg_id,
        "room-id": "1001",
        "subscriber": "0",
        "system-msg": f"{user} did a {msg_id}",
        "tmi-sent-ts": _ts(),
        "user-id": user_id,
        "user-type": "",
    }
    for key, value in params.items():
        tags["msg-param-" + key.replace("_", "-")] = value
    line = f"{_tags(tags)} :tmi.twitch.tv USERNOTICE #{channel}"
    return line + (f" :{text}" if text is not None else "")


def _escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\:")
        .replace(" ", "\\s")
        .replace("\r", "\\r")
        .replace("\n", "\\n")
    )


def _tags(tags: dict[str, str]) -> str:
    return "@" + ";".join(f"{k}={_escape(v)}" for k, v in tags.items())


def _ts() -> str:
    return str(int(datetime.now(UTC).timestamp() * 1000))


def rfc3339(when: datetime | None = None) -> str:
    """Twitch's timestamps: nanosecond precision, ``Z``."""
    when = when or datetime.now(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


# -- the server -------------------------------------------------------------------------------


@dataclass
class IrcClient:
    ws: web.WebSocketResponse
    request: web.Request
    nick: str = ""
    password: str = ""
    logged_in: bool = False
    joined: set[str] = field(default_factory=set)
    silent: bool = False
    lines: list[str] = field(default_factory=list)


@dataclass
class EsConnection:
    ws: web.WebSocketResponse
    session_id: str


class FakeTwitch:
    def __init__(
        self,
        *,
        channel: str = "streamer",
        bot: str = "limebot",
        token: str = "fake-token-123",
        client_id: str = "fake-client",
        broadcaster_id: str = "1001",
        bot_id: str = "2002",
        bot_is_mod: bool = False,
        keepalive_seconds: int = 10,
    ) -> None:
        self.channel, self.bot, self.token, self.client_id = channel, bot, token, client_id
        self.broadcaster_id, self.bot_id, self.bot_is_mod = broadcaster_id, bot_id, bot_is_mod
        self.keepalive_seconds = keepalive_seconds
        self.irc_clients: list[IrcClient] = []
        self.irc_connections = 0
        self.irc_received: list[str] = []
        self.es_connections: list[EsConnection] = []
        self.es_connects = 0
        self.es_received: list[str] = []
        self.helix_requests: list[dict[str, Any]] = []
        self.subscriptions: list[dict[str, Any]] = []
        self.chat_sent: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self.chat_settings: list[dict[str, Any]] = []
        #: The channel's chat settings as Helix reports them (changed by PATCH).
        self.chat_state: dict[str, Any] = {
            "slow_mode": False,
            "slow_mode_wait_time": None,
            "follower_mode": False,
            "follower_mode_duration": None,
            "subscriber_mode": False,
            "emote_mode": False,
            "unique_chat_mode": False,
            "non_moderator_chat_delay": False,
            "non_moderator_chat_delay_duration": None,
        }
        self.whispers: list[dict[str, Any]] = []
        #: When set, Send Whisper answers 403 with this message.
        self.whisper_forbidden: str | None = None
        #: When set, Helix chat sends answer ``is_sent: false`` with this reason.
        self.drop_reason: str | None = None
        #: Echo messages the bot sends through Helix back into IRC, as Twitch does.
        self.echo_sends = True
        #: When set, the badge and cheermote endpoints answer with this HTTP status.
        self.images_status: int | None = None
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> FakeTwitch:
        app = web.Application()
        app.router.add_get("/irc", self._irc)
        app.router.add_get("/eventsub", self._eventsub)
        app.router.add_get("/helix/users", self._users)
        app.router.add_post("/helix/eventsub/subscriptions", self._subscribe)
        app.router.add_post("/helix/chat/messages", self._chat_message)
        app.router.add_delete("/helix/moderation/chat", self._delete)
        app.router.add_patch("/helix/chat/settings", self._settings)
        app.router.add_post("/helix/whispers", self._whisper)
        app.router.add_get("/helix/chat/badges/global", self._global_badges)
        app.router.add_get("/helix/chat/badges", self._channel_badges)
        app.router.add_get("/helix/bits/cheermotes", self._cheermotes)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        for client in list(self.irc_clients):
            await client.ws.close()
        for conn in list(self.es_connections):
            await conn.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base(self) -> str:
        return f"127.0.0.1:{self.port}"

    def config(self, **twitch: Any) -> dict[str, Any]:
        """The ``[plugins.twitch]`` account keys and endpoints pointing at this fake."""
        return {
            "enabled": True,
            "channel": self.channel,
            "bot_username": self.bot,
            "token": self.token,
            "client_id": self.client_id,
            "irc_url": f"ws://{self.base}/irc",
            "eventsub_url": f"ws://{self.base}/eventsub",
            "api_url": f"http://{self.base}/helix",
            **twitch,
        }

    # -- IRC --------------------------------------------------------------------------------

    @property
    def joined_clients(self) -> list[IrcClient]:
        return [c for c in self.irc_clients if self.channel in c.joined and not c.ws.closed]

    async def _irc(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        client = IrcClient(ws, request)
        self.irc_clients.append(client)
        self.irc_connections += 1
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                for line in msg.data.split("\r\n"):
                    if line:
                        client.lines.append(line)
                        self.irc_received.append(line)
                        await self._irc_line(client, line)
        finally:
            self.irc_clients.remove(client)
        return ws

    async def _send(self, client: IrcClient, *lines: str) -> None:
        if not client.ws.closed:
            await client.ws.send_str("".join(f"{line}\r\n" for line in lines))

    async def _irc_line(self, client: IrcClient, line: str) -> None:
        body = line.split(" ", 1)[1] if line.startswith("@") else line
        command, _, rest = body.partition(" ")
        command = command.upper()
        if command == "CAP":
            caps = rest.split(":", 1)[1] if ":" in rest else ""
            await self._send(client, f":tmi.twitch.tv CAP * ACK :{caps}")
        elif command == "PASS":
            client.password = rest
        elif command == "NICK":
            client.nick = rest.strip().lower()
            if client.password != f"oauth:{self.token}":
                await self._send(client, ":tmi.twitch.tv NOTICE * :Login authentication failed")
                await client.ws.close()
                return
            client.logged_in = True
            n = client.nick
            await self._send(
                client,
                f":tmi.twitch.tv 001 {n} :Welcome, GLHF!",
                f":tmi.twitch.tv 002 {n} :Your host is tmi.twitch.tv",
                f":tmi.twitch.tv 003 {n} :This server is rather new",
                f":tmi.twitch.tv 004 {n} :-",
                f":tmi.twitch.tv 375 {n} :-",
                f":tmi.twitch.tv 372 {n} :You are in a maze of twisty passages, all alike.",
                f":tmi.twitch.tv 376 {n} :>",
                f"@badge-info=;badges=;color=#0D4200;display-name={self.bot};emote-sets=0;"
                f"user-id={self.bot_id};user-type= :tmi.twitch.tv GLOBALUSERSTATE",
            )
        elif command == "JOIN" and client.logged_in:
            channel = rest.strip().lstrip("#")
            client.joined.add(channel)
            n = client.nick
            badges = "moderator/1" if self.bot_is_mod else ""
            await self._send(
                client,
                f":{n}!{n}@{n}.tmi.twitch.tv JOIN #{channel}",
                f":{n}.tmi.twitch.tv 353 {n} = #{channel} :{n}",
                f":{n}.tmi.twitch.tv 366 {n} #{channel} :End of /NAMES list",
                f"@badge-info=;badges={badges};color=;display-name={self.bot};emote-sets=0;"
                f"mod={'1' if self.bot_is_mod else '0'};subscriber=0;"
                f"user-type={'mod' if self.bot_is_mod else ''} :tmi.twitch.tv USERSTATE "
                f"#{channel}",
                f"@emote-only=0;followers-only=-1;r9k=0;room-id={self.broadcaster_id};slow=0;"
                f"subs-only=0 :tmi.twitch.tv ROOMSTATE #{channel}",
            )
        elif command == "PING":
            if not client.silent:
                token = rest.split(":", 1)[1] if ":" in rest else rest
                await self._send(client, f":tmi.twitch.tv PONG tmi.twitch.tv :{token}")
        elif command == "PRIVMSG":
            target, _, text = rest.partition(" :")
            tags = {}
            if line.startswith("@"):
                for item in line[1:].split(" ", 1)[0].split(";"):
                    k, _, v = item.partition("=")
                    tags[k] = v
            self.chat_sent.append(
                {
                    "via": "irc",
                    "channel": target.lstrip("#"),
                    "text": text,
                    "reply_to": tags.get("reply-parent-msg-id"),
                }
            )

    async def irc_send(self, *lines: str) -> None:
        """Send lines (one WebSocket frame) to every client that joined the channel."""
        for client in self.joined_clients:
            if not client.silent:
                await self._send(client, *lines)

    async def sample(self, name: str) -> str:
        line = SAMPLES[name].format(channel=self.channel)
        await self.irc_send(line)
        return line

    async def irc_reconnect(self) -> None:
        """Twitch's ``RECONNECT``: the server is going down for maintenance."""
        await self.irc_send(":tmi.twitch.tv RECONNECT")

    async def irc_reset_mid_line(self, line: str) -> None:
        """Send the first half of ``line`` (no CRLF), then reset the TCP connection."""
        for client in self.joined_clients:
            await client.ws.send_str(line[: len(line) // 2])
            transport = client.request.transport
            if transport is not None:
                transport.abort()

    def irc_silence(self) -> None:
        """The current connections go silent: no lines, no PONGs (a half-dead socket)."""
        for client in self.irc_clients:
            client.silent = True

    # -- EventSub ---------------------------------------------------------------------------

    @property
    def es_session_ids(self) -> list[str]:
        return [c.session_id for c in self.es_connections if not c.ws.closed]

    async def _eventsub(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        session_id = request.query.get("session") or f"AQoQ{uuid.uuid4().hex[:20]}"
        conn = EsConnection(ws, session_id)
        self.es_connections.append(conn)
        self.es_connects += 1
        await ws.send_str(
            json.dumps(
                self.frame(
                    "session_welcome",
                    {
                        "session": {
                            "id": session_id,
                            "status": "connected",
                            "connected_at": rfc3339(),
                            "keepalive_timeout_seconds": self.keepalive_seconds,
                            "reconnect_url": None,
                            "recovery_url": None,
                        }
                    },
                )
            )
        )
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    # Twitch answers any client frame with close code 4001.
                    self.es_received.append(msg.data)
                    await ws.close(code=4001, message=b"client sent inbound traffic")
        finally:
            self.es_connections.remove(conn)
        return ws

    def frame(
        self,
        message_type: str,
        payload: dict[str, Any],
        *,
        message_id: str | None = None,
        timestamp: str | None = None,
        **meta: str,
    ) -> dict[str, Any]:
        return {
            "metadata": {
                "message_id": message_id or str(uuid.uuid4()),
                "message_type": message_type,
                "message_timestamp": timestamp or rfc3339(),
                **meta,
            },
            "payload": payload,
        }

    async def es_send(self, frame: dict[str, Any]) -> None:
        for conn in list(self.es_connections):
            if not conn.ws.closed:
                await conn.ws.send_str(json.dumps(frame))

    async def es_keepalive(self) -> None:
        await self.es_send(self.frame("session_keepalive", {}))

    async def es_notify(
        self,
        sub_type: str,
        event: dict[str, Any],
        *,
        message_id: str | None = None,
        age: timedelta | None = None,
        times: int = 1,
    ) -> str:
        """A notification as Twitch sends it; ``times`` > 1 delivers it again (same id)."""
        message_id = message_id or str(uuid.uuid4())
        when = datetime.now(UTC) - (age or timedelta())
        session = self.es_session_ids[-1] if self.es_session_ids else ""
        sub = next((s for s in self.subscriptions if s["type"] == sub_type), None)
        frame = self.frame(
            "notification",
            {
                "subscription": {
                    "id": sub["id"] if sub else str(uuid.uuid4()),
                    "status": "enabled",
                    "type": sub_type,
                    "version": "1",
                    "cost": 0,
                    "condition": {"broadcaster_user_id": self.broadcaster_id},
                    "transport": {"method": "websocket", "session_id": session},
                    "created_at": rfc3339(),
                },
                "event": event,
            },
            message_id=message_id,
            timestamp=rfc3339(when),
            subscription_type=sub_type,
            subscription_version="1",
        )
        for _ in range(times):
            await self.es_send(frame)
        return message_id

    async def es_close(self, code: int) -> None:
        for conn in list(self.es_connections):
            await conn.ws.close(code=code, message=b"fake close")

    async def es_session_reconnect(self, *then: dict[str, Any]) -> None:
        """``session_reconnect``: the client must connect to the new URL (same session).

        ``then``: frames still delivered on the old connection right after, as Twitch does
        until the client's new connection is welcomed."""
        for conn in list(self.es_connections):
            url = f"ws://{self.base}/eventsub?session={conn.session_id}"
            await conn.ws.send_str(
                json.dumps(
                    self.frame(
                        "session_reconnect",
                        {
                            "session": {
                                "id": conn.session_id,
                                "status": "reconnecting",
                                "keepalive_timeout_seconds": None,
                                "reconnect_url": url,
                                "connected_at": rfc3339(),
                            }
                        },
                    )
                )
            )
            for frame in then:
                await conn.ws.send_str(json.dumps(frame))

    def notification(
        self, sub_type: str, event: dict[str, Any], *, message_id: str | None = None
    ) -> dict[str, Any]:
        """A notification frame (without sending it)."""
        return self.frame(
            "notification",
            {
                "subscription": {
                    "id": str(uuid.uuid4()),
                    "status": "enabled",
                    "type": sub_type,
                    "version": "1",
                    "cost": 0,
                    "condition": {"broadcaster_user_id": self.broadcaster_id},
                    "transport": {"method": "websocket", "session_id": ""},
                    "created_at": rfc3339(),
                },
                "event": event,
            },
            message_id=message_id,
            subscription_type=sub_type,
            subscription_version="1",
        )

    async def es_revoke(self, sub_type: str, status: str = "authorization_revoked") -> None:
        sub = next((s for s in self.subscriptions if s["type"] == sub_type), None)
        await self.es_send(
            self.frame(
                "revocation",
                {
                    "subscription": {
                        "id": sub["id"] if sub else str(uuid.uuid4()),
                        "status": status,
                        "type": sub_type,
                        "version": "1",
                        "cost": 0,
                        "condition": {"broadcaster_user_id": self.broadcaster_id},
                        "transport": {"method": "websocket", "session_id": ""},
                        "created_at": rfc3339(),
                    }
                },
                subscription_type=sub_type,
                subscription_version="1",
            )
        )

    # -- Helix ------------------------------------------------------------------------------

    def _authorized(self, request: web.Request) -> bool:
        return (
            request.headers.get("Authorization") == f"Bearer {self.token}"
            and request.headers.get("Client-Id") == self.client_id
        )

    async def _record(self, request: web.Request) -> dict[str, Any]:
        body = None
        if request.can_read_body:
            body = await request.json()
        entry = {
            "method": request.method,
            "path": request.path,
            "query": dict(request.query),
            "json": body,
        }
        self.helix_requests.append(entry)
        return entry

    @staticmethod
    def _error(status: int, message: str) -> web.Response:
        name = {400: "Bad Request", 401: "Unauthorized", 409: "Conflict"}.get(status, "Error")
        return web.json_response(
            {"error": name, "status": status, "message": message}, status=status
        )

    async def _users(self, request: web.Request) -> web.Response:
        await self._record(request)
        if not self._authorized(request):
            return self._error(401, "Invalid OAuth token")
        logins = request.query.getall("login", [])
        if not logins:
            users = [{"id": self.bot_id, "login": self.bot, "display_name": self.bot}]
        else:
            known = {self.channel: self.broadcaster_id, self.bot: self.bot_id}
            users = [{"id": known[x], "login": x, "display_name": x} for x in logins if x in known]
        return web.json_response({"data": users})

    # Get Global Chat Badges, Get Channel Chat Badges, Get Cheermotes: Twitch's shapes
    # (https://dev.twitch.tv/docs/api/reference), with image URLs on this fake.

    def cdn(self, path: str) -> str:
        return f"http://{self.base}/cdn/{path}"

    def _badge_set(self, set_id: str, versions: dict[str, str]) -> dict[str, Any]:
        return {
            "set_id": set_id,
            "versions": [
                {
                    "id": version,
                    "image_url_1x": self.cdn(f"badges/{set_id}/{version}/1"),
                    "image_url_2x": self.cdn(f"badges/{set_id}/{version}/2"),
                    "image_url_4x": self.cdn(f"badges/{set_id}/{version}/3"),
                    "title": title,
                    "description": title,
                    "click_action": None,
                    "click_url": None,
                }
                for version, title in versions.items()
            ],
        }

    async def _global_badges(self, request: web.Request) -> web.Response:
        await self._record(request)
        if not self._authorized(request):
            return self._error(401, "Invalid OAuth token")
        if self.images_status:
            return self._error(self.images_status, "images unavailable")
        return web.json_response(
            {
                "data": [
                    self._badge_set("moderator", {"1": "Moderator"}),
                    self._badge_set("vip", {"1": "VIP"}),
                    self._badge_set("broadcaster", {"1": "Broadcaster"}),
                    self._badge_set("subscriber", {"0": "Subscriber"}),
                ]
            }
        )

    async def _channel_badges(self, request: web.Request) -> web.Response:
        await self._record(request)
        if not self._authorized(request):
            return self._error(401, "Invalid OAuth token")
        if request.query.get("broadcaster_id") != self.broadcaster_id:
            return self._error(400, "Invalid broadcaster_id")
        if self.images_status:
            return self._error(self.images_status, "images unavailable")
        # The channel's own subscriber badges replace the global ones.
        return web.json_response(
            {
                "data": [
                    self._badge_set("subscriber", {"0": "Subscriber", "12": "1-Year Subscriber"})
                ]
            }
        )

    async def _cheermotes(self, request: web.Request) -> web.Response:
        await self._record(request)
        if not self._authorized(request):
            return self._error(401, "Invalid OAuth token")
        if self.images_status:
            return self._error(self.images_status, "images unavailable")

        def tier(min_bits: int, color: str) -> dict[str, Any]:
            def sizes(theme: str, kind: str) -> dict[str, str]:
                ext = "gif" if kind == "animated" else "png"
                return {
                    size: self.cdn(f"actions/cheer/{theme}/{kind}/{min_bits}/{size}.{ext}")
                    for size in ("1", "1.5", "2", "3", "4")
                }

            return {
                "min_bits": min_bits,
                "id": str(min_bits),
                "color": color,
                "images": {
                    theme: {kind: sizes(theme, kind) for kind in ("animated", "static")}
                    for theme in ("dark", "light")
                },
                "can_cheer": True,
                "show_in_bits_card": True,
            }

        tiers = [
            tier(1, "#979797"),
            tier(100, "#9c3ee8"),
            tier(1000, "#1db2a5"),
            tier(5000, "#0099fe"),
            tier(10000, "#f43021"),
        ]
        return web.json_response(
            {
                "data": [
                    {
                        "prefix": "Cheer",
                        "tiers": tiers,
                        "type": "global_first_party",
                        "order": 1,
                        "last_updated": "2018-05-22T00:06:04Z",
                        "is_charitable": False,
                    }
                ]
            }
        )

    async def _subscribe(self, request: web.Request) -> web.Response:
        entry = await self._record(request)
        if not self._authorized(request):
            return self._error(401, "Invalid OAuth token")
        body = entry["json"] or {}
        session = body.get("transport", {}).get("session_id")
        if session not in self.es_session_ids:
            return self._error(
                400, "websocket transport session does not exist or has already disconnected"
            )
        if any(
            s["type"] == body.get("type") and s["transport"]["session_id"] == session
            for s in self.subscriptions
        ):
            return self._error(409, "subscription already exists")
        sub = {
            "id": str(uuid.uuid4()),
            "status": "enabled",
            "type": body.get("type"),
            "version": body.get("version"),
            "condition": body.get("condition"),
            "created_at": rfc3339(),
            "transport": {"method": "websocket", "session_id": session, "connected_at": rfc3339()},
            "cost": 0,
        }
        self.subscriptions.append(sub)
        return web.json_response(
            {
                "data": [sub],
                "total": len(self.subscriptions),
                "total_cost": 0,
                "max_total_cost": 10,
            },
            status=202,
        )

    async def _chat_message(self, request: web.Request) -> web.Response:
        entry = await self._record(request)
        if not self._authorized(request):
            return self._error(401, "Invalid OAuth token")
        body = entry["json"] or {}
        if (
            body.get("sender_id") != self.bot_id
            or body.get("broadcaster_id") != self.broadcaster_id
        ):
            return self._error(400, "sender_id or broadcaster_id is wrong")
        if self.drop_reason:
            return web.json_response(
                {
                    "data": [
                        {
                            "message_id": "",
                            "is_sent": False,
                            "drop_reason": {"code": "msg_duplicate", "message": self.drop_reason},
                        }
                    ]
                }
            )
        message_id = str(uuid.uuid4())
        self.chat_sent.append(
            {
                "via": "helix",
                "channel": self.channel,
                "text": body["message"],
                "reply_to": body.get("reply_parent_message_id"),
                "id": message_id,
            }
        )
        if self.echo_sends:
            await self.irc_send(
                privmsg(
                    self.channel,
                    body["message"],
                    user=self.bot,
                    user_id=self.bot_id,
                    msg_id=message_id,
                )
            )
        return web.json_response(
            {"data": [{"message_id": message_id, "is_sent": True, "drop_reason": None}]}
        )

    async def _delete(self, request: web.Request) -> web.Response:
        entry = await self._record(request)
        if not self._authorized(request):
            return self._error(401, "Invalid OAuth token")
        self.deleted.append(entry["query"].get("message_id", ""))
        return web.Response(status=204)

    async def _settings(self, request: web.Request) -> web.Response:
        entry = await self._record(request)
        if not self._authorized(request):
            return self._error(401, "Invalid OAuth token")
        change = entry["json"] or {}
        self.chat_settings.append(change)
        # Helix answers with the channel's whole settings after the change (dev.twitch.tv
        # "Update Chat Settings": every mode and its value field, nulls where off).
        self.chat_state.update(change)
        for mode, value_field in (
            ("slow_mode", "slow_mode_wait_time"),
            ("follower_mode", "follower_mode_duration"),
            ("non_moderator_chat_delay", "non_moderator_chat_delay_duration"),
        ):
            if not self.chat_state[mode]:
                self.chat_state[value_field] = None
        return web.json_response(
            {
                "data": [
                    {
                        "broadcaster_id": self.broadcaster_id,
                        "moderator_id": entry["query"].get("moderator_id", ""),
                        **self.chat_state,
                    }
                ]
            }
        )

    async def _whisper(self, request: web.Request) -> web.Response:
        """Send Whisper as Helix answers it: 204 with no body; 400 when from_user_id is not
        the token's user or the message is empty; 403 when whispers are refused (the bot's
        phone is not verified, or the recipient does not take whispers). A message longer
        than 500 characters (to a user who never whispered the bot) is truncated."""
        entry = await self._record(request)
        if not self._authorized(request):
            return self._error(401, "Invalid OAuth token")
        query = entry["query"]
        if query.get("from_user_id") != self.bot_id:
            return self._error(
                400, "The ID in from_user_id must match the user ID in the access token."
            )
        if not query.get("to_user_id"):
            return self._error(400, 'Missing required parameter "to_user_id"')
        message = (entry["json"] or {}).get("message")
        if not isinstance(message, str) or not message:
            return self._error(400, "The message field must not contain an empty string.")
        if self.whisper_forbidden:
            return web.json_response(
                {"error": "Forbidden", "status": 403, "message": self.whisper_forbidden},
                status=403,
            )
        self.whispers.append({"to": query["to_user_id"], "text": message[:500]})
        return web.Response(status=204)
