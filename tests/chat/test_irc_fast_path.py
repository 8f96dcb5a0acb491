"""The chat-line fast path agrees with the general one.

The read loop takes nearly every line through :func:`split_privmsg`,
:meth:`IrcMapper.chat_line` and :meth:`TwitchConnector._irc_text`; any other line goes
through :func:`parse_line`, :meth:`IrcMapper.map` and :meth:`TwitchConnector._irc_message`.
Both must give the same parts, the same events and the same published sequence, on many
generated lines: bits (cheers, anonymous ones), ``/me`` actions, escaped tag values,
missing tags, odd spacing, other commands and malformed lines.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any

import pytest
from limelight import ChatMessage, Event
from limelight_twitch.config import TwitchConfig
from limelight_twitch.connector import IrcAuthFailed, TwitchConnector
from limelight_twitch.irc import (
    IrcParseError,
    channel_of,
    nick_of,
    parse_line,
    split_privmsg,
)
from limelight_twitch.mapping import IrcMapper

from .fake_twitch import privmsg

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def _chat_lines(rng: random.Random, n: int) -> list[str]:
    """Well-formed chat lines as Twitch sends them, with every variation the mapper reads."""
    out = []
    for i in range(n):
        user = rng.choice(["alice", "bob", "ananonymouscheerer", "Zoë", "c_d"])
        text = rng.choice(
            [
                f"plain line {i}",
                "\x01ACTION waves\x01",
                "\x01ACTION unterminated",
                "time: 10:30 :) ;semi\\back",
                "Cheer100 cheer50 nice",
                "",
                " leading space",
            ]
        )
        line = privmsg(
            rng.choice(["streamer", "other"]),
            text,
            user=user,
            user_id=rng.choice(["501", "502", ""]),
            msg_id=f"m{i % (n // 2 + 1)}",  # some ids repeat: dedupe
            badges=rng.choice(["", "subscriber/12", "broadcaster/1,subscriber/0", "vip/1"]),
            mod=rng.random() < 0.2,
            subscriber=rng.random() < 0.5,
            vip=rng.random() < 0.1,
            first=rng.random() < 0.1,
            bits=rng.choice([0, 0, 0, 1, 100]),
            reply_parent=rng.choice([None, "parent-1"]),
            display=rng.choice([None, "Semi;Colon Space\\Slash", "Disp"]),
            emotes=rng.choice(["", "25:0-4"]),
            sent_ms=rng.choice([1_700_000_000_000 + i // 3, None]),
        )
        tags, space, rest = line.partition(" ")
        kept = [t for t in tags[1:].split(";") if rng.random() > 0.08]  # missing tags
        if rng.random() < 0.1:
            kept.append(rng.choice(["flag", "empty=", "eq=a=b", "=nameless"]))
        line = "@" + ";".join(kept) + space + rest
        out.append(line)
    return out


def _odd_lines() -> list[str]:
    """Lines the fast path must leave to :func:`parse_line` (or that no path accepts)."""
    base = "@id=x;user-id=1 :a!a@a.tmi.twitch.tv PRIVMSG #c :hi there"
    return [
        base.replace(" :a!", "  :a!"),  # two spaces after the tags
        base.replace("tv PRIVMSG", "tv  PRIVMSG"),  # two after the prefix
        base.replace("#c :hi", "#c  :hi"),
        base.replace("#c :hi", "#c\t:hi"),
        base.replace("PRIVMSG", "privmsg"),
        base.replace("PRIVMSG #c", "PRIVMSG #c extra"),
        base.replace("PRIVMSG #c", "PRIVMSG"),
        base.replace(" :hi there", ""),  # no trailing parameter
        base.replace(" :hi there", " hi"),
        base.replace(":a!a@a.tmi.twitch.tv ", ""),  # no prefix
        base.replace("a!a@a.tmi.twitch.tv", "tmi.twitch.tv"),  # a server's prefix
        base.replace("#c", "c"),  # a target that is no channel
        base.replace(":a!a@a.tmi.twitch.tv", ":"),  # an empty prefix
        base.replace(":a!a@a.tmi.twitch.tv", ": "),
        base.split(" ", 1)[1],  # no tags
        "@id=x;user-id=1",  # tags only
        "@id=x :a!a@a",  # prefix only
        "@id=x :a!a@a ",
        "@id=x  ",
        "@ :a PRIVMSG #c :x",
        "@id=a\\sb :a!a@a PRIVMSG #c :x",
        "@id=x :a!a@a.tmi.twitch.tv USERNOTICE #c :sub",
        "@id=x :a!a@a.tmi.twitch.tv PRIVMSG #c :",
        ":tmi.twitch.tv RECONNECT",
        "PING :tmi.twitch.tv",
        "",
        " ",
    ]


def test_split_privmsg_gives_what_parse_line_gives() -> None:
    rng = random.Random(16)
    chat = _chat_lines(rng, 1500)
    taken = 0
    for line in chat + _odd_lines():
        parts = split_privmsg(line)
        if parts is None:
            continue
        taken += 1
        msg = parse_line(line)  # raises if the fast path took a line parse_line refuses
        assert msg.command == "PRIVMSG", line
        tags, prefix, target, text = parts
        assert (tags, prefix, [target, text]) == (msg.tags, msg.prefix, msg.params), line
        assert (nick_of(prefix), channel_of(target)) == (msg.nick, msg.channel), line
    # Every line as Twitch sends it takes the fast path (or it would be no fast path).
    assert all(split_privmsg(line) is not None for line in chat)
    assert taken >= len(chat)


@pytest.mark.parametrize("line", _odd_lines())
def test_lines_the_fast_path_leaves_to_parse_line(line: str) -> None:
    parts = split_privmsg(line)
    try:
        msg = parse_line(line)
    except IrcParseError:
        assert parts is None
        return
    if parts is not None:
        assert (parts[0], parts[1], [parts[2], parts[3]]) == (msg.tags, msg.prefix, msg.params)
        assert msg.command == "PRIVMSG"


def _same_time(events: list[Any]) -> list[Any]:
    """Events with one ``occurred_at``: a line without a readable ``tmi-sent-ts`` is
    stamped with the time it is mapped, which differs between two mappings."""
    return [(dataclasses.replace(e, occurred_at=EPOCH), key) for e, key in events]


def test_chat_line_maps_like_map() -> None:
    rng = random.Random(17)
    fast, general = IrcMapper(), IrcMapper()
    cheers = 0
    for line in _chat_lines(rng, 1500):
        parts = split_privmsg(line)
        assert parts is not None
        tags, prefix, target, text = parts
        got = fast.privmsg(tags, nick_of(prefix), channel_of(target), text)
        want = general.map(parse_line(line))
        assert _same_time(got) == _same_time(want), line
        for (g, _), (w, _) in zip(got, want, strict=True):
            assert abs((g.occurred_at - w.occurred_at).total_seconds()) < 60
        chat = fast.chat_line(tags, nick_of(prefix), channel_of(target), text)
        assert (chat is None) == (not want)
        if chat is not None:
            assert _same_time([(chat, None)]) == _same_time(want[:1])
        cheers += len(want) > 1
    assert cheers > 50  # the generated lines do carry bits


class FakeWs:
    """What the IRC handlers use of a socket: what they send, and whether they closed it."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed = False

    async def send_str(self, text: str) -> None:
        self.sent.append(text)

    async def close(self) -> None:
        self.closed = True


class RecordingSink:
    """A chat sink that records what it is handed, in order. ``wait_every``: every that
    many chat lines, ``publish_line`` returns an awaitable (as a full lane does) that
    records the line only once awaited, so lines handled before it finished would show."""

    def __init__(self, wait_every: int = 0) -> None:
        self.events: list[Event] = []
        self.wait_every = wait_every
        self._lines = 0

    async def publish(self, event: Event) -> Any:
        await asyncio.sleep(0)
        self.events.append(event)

    def publish_line(self, event: ChatMessage) -> Awaitable[object] | None:
        self._lines += 1
        if self.wait_every and self._lines % self.wait_every == 0:
            return self.publish(event)
        self.events.append(event)
        return None


def _connector(sink: RecordingSink) -> TwitchConnector:
    conn = TwitchConnector(TwitchConfig(channel="streamer", eventsub=False, bot_username="bot"))
    conn._sink = sink  # type: ignore[assignment]
    return conn


async def _read_frames(conn: TwitchConnector, ws: FakeWs, frames: list[str]) -> list[bool]:
    """What the read loop does with each frame; what each frame answered."""
    answers = []
    for frame in frames:
        leave = conn._irc_text(ws, frame)  # type: ignore[arg-type]
        answers.append(leave if isinstance(leave, bool) else await leave)
    return answers


async def _general(lines: list[str]) -> tuple[list[Any], TwitchConnector, FakeWs]:
    """The general path: every line parsed and handed to ``_irc_message``."""
    sink, ws = RecordingSink(), FakeWs()
    conn = _connector(sink)
    for line in lines:
        try:
            msg = parse_line(line)
        except IrcParseError:
            continue
        if await conn._irc_message(ws, msg):  # type: ignore[arg-type]
            break
    return _same_time([(e, None) for e in sink.events]), conn, ws


def _cut(rng: random.Random, text: str) -> list[str]:
    """``text`` cut into frames at random places, lines split across frames."""
    cuts = sorted(rng.sample(range(1, len(text)), k=min(len(text) - 1, len(text) // 300)))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


@pytest.mark.parametrize("wait_every", [0, 1, 7])
async def test_irc_text_publishes_what_irc_message_does(wait_every: int, caplog) -> None:
    rng = random.Random(wait_every)
    lines = _chat_lines(rng, 400)
    lines[5:5] = _odd_lines()[:-2]  # other commands, malformed lines (not RECONNECT)
    lines.remove(":tmi.twitch.tv RECONNECT")
    lines.insert(50, "@id=x;user-id=1 :a!a@a.tmi.twitch.tv USERNOTICE #c :sub")
    lines.insert(60, "garbage-tags-without-command")
    lines.insert(61, "@only=tags")
    lines.insert(70, lines[10])  # a line repeated (after a reconnect): published once
    lines[80:80] = [  # lines that only tell the connector something
        ":bot!bot@bot.tmi.twitch.tv JOIN #streamer",
        ":carl!carl@carl.tmi.twitch.tv JOIN #streamer",
        "@badges=moderator/1;mod=1 :tmi.twitch.tv USERSTATE #streamer",
        "@room-id=1001;slow=10;emote-only=0 :tmi.twitch.tv ROOMSTATE #streamer",
        "@user-id=77 :tmi.twitch.tv GLOBALUSERSTATE",
        "@msg-id=slow_on :tmi.twitch.tv NOTICE #streamer :This room is now in slow mode.",
    ]
    want, general, general_ws = await _general(lines)

    sink, ws = RecordingSink(wait_every), FakeWs()
    conn = _connector(sink)
    with caplog.at_level(logging.DEBUG, logger="limelight.twitch"):
        answers = await _read_frames(conn, ws, _cut(rng, "".join(f"{x}\r\n" for x in lines)))
    assert not any(answers)
    assert _same_time([(e, None) for e in sink.events]) == want
    assert any(isinstance(e, ChatMessage) for e in sink.events)
    assert (conn.lines, conn.duplicates) == (general.lines, general.duplicates)
    assert conn.duplicates > 0
    assert ws.sent == general_ws.sent == ["PONG :tmi.twitch.tv"]
    state = (conn.joined, conn.moderator, conn.room_modes, conn.broadcaster_id, conn.bot_id)
    assert state == (
        general.joined,
        general.moderator,
        general.room_modes,
        general.broadcaster_id,
        general.bot_id,
    )
    assert state == (
        True,
        {"streamer": True},
        {"streamer": {"slow": "10", "emote-only": "0"}},
        "1001",
        "77",
    )
    assert "unparsable line '@only=tags'" in caplog.text


async def test_a_line_is_handled_only_when_complete() -> None:
    sink, ws = RecordingSink(), FakeWs()
    conn = _connector(sink)
    line = privmsg("streamer", "hello", msg_id="one")
    assert await _read_frames(conn, ws, [line[:40], line[40:], "\r"]) == [False] * 3
    assert sink.events == []  # no LF yet
    assert await _read_frames(conn, ws, ["\n" + privmsg("streamer", "x", msg_id="two")]) == [False]
    assert [e.source_id for e in sink.events] == ["one"]


async def test_reconnect_ends_the_frame_and_001_joins() -> None:
    sink, ws = RecordingSink(), FakeWs()
    conn = _connector(sink)
    frame = "".join(
        f"{x}\r\n"
        for x in [
            ":tmi.twitch.tv 001 bot :Welcome, GLHF!",
            privmsg("streamer", "before", msg_id="before"),
            "PING :tmi.twitch.tv",
            ":tmi.twitch.tv RECONNECT",
            privmsg("streamer", "after", msg_id="after"),
        ]
    )
    assert await _read_frames(conn, ws, [frame]) == [True]
    assert conn._irc_logged_in and conn._irc_ws is ws and conn.irc_state == "connected"
    assert ws.sent == ["JOIN #streamer", "PONG :tmi.twitch.tv"]
    assert ws.closed and conn._reconnect_now
    assert [e.source_id for e in sink.events] == ["before"]


async def test_a_failing_publish_is_logged_and_the_frame_goes_on(caplog) -> None:
    class Failing(RecordingSink):
        def publish_line(self, event: ChatMessage) -> Awaitable[object] | None:
            if event.source_id == "bad":
                raise RuntimeError("boom")
            if event.source_id == "late":
                return self._fail()
            return super().publish_line(event)

        async def _fail(self) -> None:
            raise RuntimeError("late boom")

    sink = Failing()
    conn = _connector(sink)
    frame = "".join(
        privmsg("streamer", t, msg_id=t) + "\r\n" for t in ["a", "bad", "b", "late", "c"]
    )
    assert await _read_frames(conn, FakeWs(), [frame]) == [False]
    assert [e.source_id for e in sink.events] == ["a", "b", "c"]
    assert caplog.text.count("publishing chat.message") == 2


async def test_a_refused_login_raises_from_the_frame() -> None:
    conn = _connector(RecordingSink())
    frame = ":tmi.twitch.tv NOTICE * :Login authentication failed\r\n"
    with pytest.raises(IrcAuthFailed):
        await _read_frames(conn, FakeWs(), [frame])
