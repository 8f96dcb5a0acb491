"""The members' room over its WebSocket: live lines through the bus, commands, moderation,
membership endings, private lines kept off the public chat overlay, slow clients."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from limelight import ChatDeleted, ChatMessage, Emote, NoConfig, Plugin, Verdict, hookimpl
from limelight.registry import Badge
from limelight_alerts import AlertsPlugin
from limelight_room.hub import CLOSE_ENDED

from tests.support import wait_until

from .conftest import ALICE, BOB, MALLORY, make_member, room_path

TIMEOUT = 5.0


async def next_of(ws: Any, kind: str) -> dict[str, Any]:
    """The next message of ``kind`` (skipping others)."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            msg = await ws.receive()
            if msg.type is not aiohttp.WSMsgType.TEXT:
                raise AssertionError(f"socket ended while waiting for {kind}: {msg}")
            data = json.loads(msg.data)
            if data["type"] == kind:
                return data


async def closed(ws: Any) -> aiohttp.WSMessage:
    async with asyncio.timeout(TIMEOUT):
        while True:
            msg = await ws.receive()
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                return msg


async def enter(h: Any, room: Any, viewer: Any) -> tuple[Any, dict[str, Any]]:
    ws = await h.client.ws_connect(room_path(room, viewer) + "/ws")
    return ws, await next_of(ws, "hello")


def text_of(line: dict[str, Any]) -> str:
    return "".join(f.get("text", f.get("emote", "")) for f in line["fragments"])


async def test_a_member_speaks_and_another_sees_it_live_through_the_bus(room_harness):
    h, room, vip, rec = await room_harness()
    await make_member(vip, ALICE)
    await make_member(vip, BOB, "gold")
    alice, hello = await enter(h, room, ALICE)
    assert hello["me"]["name"] == "Alice" and hello["history"] == []
    bob, _ = await enter(h, room, BOB)
    await alice.send_json({"type": "say", "text": "hello members"})
    line = (await next_of(bob, "line"))["line"]
    assert (line["name"], text_of(line), line["viewer"]) == (
        "Alice",
        "hello members",
        "twitch:1001",
    )
    [message] = [m for m in rec.of_type(ChatMessage) if m.source == "room"]
    assert message.channel == "room" and message.private and message.viewer == ALICE
    assert "subscriber" in message.roles
    # The event log holds it like any chat line.
    events = await h.client.get("/api/events?type=chat.message", headers=h.admin_headers)
    assert any(e["data"]["text"] == "hello members" for e in (await events.json())["events"])
    # A newcomer gets the history.
    carol_ws, carol_hello = await enter(h, room, BOB)
    assert [text_of(x) for x in carol_hello["history"]] == ["hello members"]
    for ws in (alice, bob, carol_ws):
        await ws.close()


class Echo(Plugin[NoConfig]):
    from limelight import command

    @command("echo")
    async def echo(self, call, *, text: str) -> str:
        "Says it back."
        return text

    @hookimpl
    def register_commands(self, register):
        register(self.echo)


async def test_commands_typed_in_the_room_are_answered_in_the_room_only(room_harness):
    h, room, vip, _ = await room_harness(plugins={"echo": Echo})
    await make_member(vip, ALICE)
    alice, _ = await enter(h, room, ALICE)
    await alice.send_json({"type": "say", "text": "!echo just for members"})
    await next_of(alice, "line")  # the command line itself
    reply = (await next_of(alice, "line"))["line"]
    assert reply["bot"] and text_of(reply) == "just for members"
    assert reply["name"] == "Limelight"
    assert h.chat_connector.sent == []  # nothing went to the platform chat
    # A plain say() (a tip's thanks) does not land in the room.
    await h.chat.say("thanks for the tip!")
    await h.settle()
    assert h.chat_connector.sent[-1].text == "thanks for the tip!"
    assert [text_of(x) for x in room.room.history] == ["!echo just for members", "just for members"]
    await alice.close()


class Gate(Plugin[NoConfig]):
    @hookimpl
    def check_chat_message(self, message):
        if "forbidden" in message.text:
            return Verdict.hide("that word is not allowed")
        if "boom" in message.text:
            raise RuntimeError("gating broke")
        return None


async def test_gating_applies_in_the_room_and_fails_closed(room_harness):
    h, room, vip, _ = await room_harness(plugins={"gate": Gate})
    await make_member(vip, ALICE)
    await make_member(vip, BOB)
    alice, _ = await enter(h, room, ALICE)
    bob, _ = await enter(h, room, BOB)
    await alice.send_json({"type": "say", "text": "a forbidden word"})
    notice = await next_of(alice, "notice")
    assert "that word is not allowed" in notice["text"]
    await alice.send_json({"type": "say", "text": "boom"})
    await next_of(alice, "notice")
    await alice.send_json({"type": "say", "text": "fine"})
    line = (await next_of(bob, "line"))["line"]
    assert text_of(line) == "fine"  # the hidden ones never reached Bob
    assert [text_of(x) for x in room.room.history] == ["fine"]
    await alice.close()
    await bob.close()


async def test_the_streamer_deletes_and_times_out_from_the_dashboard(room_harness):
    h, room, vip, rec = await room_harness()
    await make_member(vip, ALICE)
    await make_member(vip, MALLORY)
    alice, _ = await enter(h, room, ALICE)
    mallory, _ = await enter(h, room, MALLORY)
    await mallory.send_json({"type": "say", "text": "spam 1"})
    first = (await next_of(alice, "line"))["line"]
    await mallory.send_json({"type": "say", "text": "spam 2"})
    await next_of(alice, "line")
    headers = await h.login()
    response = await h.client.post(
        f"/api/room/lines/{first['id']}/delete", json={}, headers=headers
    )
    assert response.status == 200, await response.text()
    assert (await next_of(alice, "deleted"))["ids"] == [first["id"]]
    response = await h.client.post(
        "/api/room/timeout",
        json={"viewer": {"platform": "twitch", "id": "6666", "name": "Mallory"}, "seconds": 300},
        headers=headers,
    )
    assert response.status == 200, await response.text()
    gone = await next_of(alice, "deleted")
    assert len(gone["ids"]) == 1  # spam 2
    assert "timed out" in (await next_of(mallory, "timeout"))["text"]
    await mallory.send_json({"type": "say", "text": "spam 3"})
    assert "timed out" in (await next_of(mallory, "notice"))["text"]
    await h.settle()
    assert room.room.history == type(room.room.history)()
    deletions = rec.of_type(ChatDeleted)
    assert deletions and all(d.private and d.source == "room" for d in deletions)
    # Lifting the time-out lets Mallory speak again.
    response = await h.client.post(
        "/api/room/timeout",
        json={"viewer": {"platform": "twitch", "id": "6666"}, "seconds": 0},
        headers=headers,
    )
    assert (await response.json())["muted_until"] is None
    await mallory.send_json({"type": "say", "text": "sorry"})
    assert text_of((await next_of(alice, "line"))["line"]) == "sorry"
    await alice.close()
    await mallory.close()


async def test_moderators_moderate_inside_the_room_and_members_cannot(room_harness):
    h, room, vip, _ = await room_harness(config={"moderators": ["twitch:1002"]})
    await make_member(vip, ALICE)
    await make_member(vip, BOB)
    await make_member(vip, MALLORY)
    bob, hello = await enter(h, room, BOB)
    assert hello["moderator"] is True
    mallory, hello = await enter(h, room, MALLORY)
    assert hello["moderator"] is False
    await mallory.send_json({"type": "say", "text": "rude"})
    line = (await next_of(bob, "line"))["line"]
    # A member who is not a moderator cannot delete.
    await mallory.send_json({"type": "delete", "id": line["id"]})
    assert "Only moderators" in (await next_of(mallory, "notice"))["text"]
    await bob.send_json({"type": "delete", "id": line["id"]})
    assert (await next_of(mallory, "deleted"))["ids"] == [line["id"]]
    await mallory.send_json({"type": "say", "text": "ruder"})
    line = (await next_of(bob, "line"))["line"]
    await bob.send_json({"type": "timeout", "viewer": line["viewer"]})
    await next_of(mallory, "timeout")
    assert room.passes.get(MALLORY).muted()
    # Platform chat moderators moderate the room too (seen in chat with the role).
    alice_ws, hello = await enter(h, room, ALICE)
    assert hello["moderator"] is False
    await h.chat_as(ALICE, "hi chat", roles={"moderator"})
    assert room.room.is_moderator(ALICE)
    for ws in (bob, mallory, alice_ws):
        await ws.close()


async def test_a_membership_ending_closes_the_open_room_at_once(room_harness):
    h, room, vip, _ = await room_harness()
    await make_member(vip, ALICE)
    await make_member(vip, BOB)
    alice, _ = await enter(h, room, ALICE)
    alice2, _ = await enter(h, room, ALICE)  # her phone and her laptop
    bob, _ = await enter(h, room, BOB)
    await vip.end(ALICE, "expired")
    for ws in (alice, alice2):
        msg = await closed(ws)
        assert msg.data == CLOSE_ENDED
        assert "membership has ended" in (msg.extra or "")
    await bob.send_json({"type": "say", "text": "still here"})
    assert text_of((await next_of(bob, "line"))["line"]) == "still here"
    # Reconnecting with the old link is refused.
    response = await h.client.get(room_path(room, ALICE) + "/ws")
    assert response.status == 403
    await bob.close()


async def test_a_revoked_link_closes_the_open_room(room_harness):
    h, room, vip, _ = await room_harness()
    await make_member(vip, ALICE)
    alice, _ = await enter(h, room, ALICE)
    headers = await h.login()
    response = await h.client.post(
        "/api/room/members/revoke",
        json={"viewer": {"platform": "twitch", "id": "1001", "name": "Alice"}},
        headers=headers,
    )
    assert response.status == 200
    assert (await closed(alice)).data == CLOSE_ENDED


async def test_the_sweep_closes_pages_whose_membership_ended_silently(room_harness):
    h, room, vip, _ = await room_harness()
    await make_member(vip, ALICE)
    alice, _ = await enter(h, room, ALICE)
    del vip.held[ALICE.key]  # ended without an event (a crash in the VIP plugin)
    assert await room.room.sweep() == 1
    assert (await closed(alice)).data == CLOSE_ENDED


async def test_room_lines_never_reach_the_public_chat_overlay(room_harness):
    h, room, vip, _ = await room_harness(plugins={"alerts": AlertsPlugin})
    await make_member(vip, ALICE)
    token = h.settings.security.overlay_token
    chat_overlay = await h.client.ws_connect(f"/overlays/ws?token={token}&overlay=chat")
    room_overlay = await h.client.ws_connect(f"/overlays/ws?token={token}&overlay=room")
    alice, _ = await enter(h, room, ALICE)
    await alice.send_json({"type": "say", "text": "members only secret"})
    await h.chat_as("viewer1", "public line")
    seen_room = await next_live(room_overlay, "room.line")
    assert text_of(seen_room["data"]) == "members only secret"
    assert seen_room["data"]["ttl"] == 60
    public = await next_live(chat_overlay, "chat.message")
    assert public["data"]["text"] == "public line"
    # Deleting a room line removes it from the room overlay, not from the chat box.
    await room.room.delete(seen_room["data"]["id"])
    await h.settle()
    assert (await next_live(room_overlay, "room.deleted"))["data"]["ids"] == [
        seen_room["data"]["id"]
    ]
    for ws in (chat_overlay, room_overlay, alice):
        await ws.close()


async def next_live(ws: Any, kind: str) -> dict[str, Any]:
    async with asyncio.timeout(TIMEOUT):
        while True:
            msg = await ws.receive()
            assert msg.type is aiohttp.WSMsgType.TEXT, msg
            data = json.loads(msg.data)
            if data.get("type") == "live":
                assert data["kind"] in (kind, "chat.message", "room.line", "room.deleted")
                if data["kind"] == kind:
                    return data
                assert "members only" not in json.dumps(data) or kind.startswith("room")


class Perks(Plugin[NoConfig]):
    """Badges and a members' emote, as the VIP plugin will award them."""

    @hookimpl
    def register_badges(self, register):
        register(Badge("member", "Member", "/-/static/member.png"))

    @hookimpl
    async def startup(self):
        self.ctx.emotes.replace(
            "perks",
            [
                Emote(
                    "limeHype",
                    "/-/uploads/hype.png",
                    allowed=lambda v: v is not None and v.id == "1001",
                )
            ],
        )
        self.ctx.badges.award(ALICE, "member")


async def test_badges_and_member_emotes_render_as_fragments(room_harness):
    h, room, vip, _ = await room_harness(plugins={"perks": Perks})
    await make_member(vip, ALICE)
    await make_member(vip, BOB)
    alice, _ = await enter(h, room, ALICE)
    bob, _ = await enter(h, room, BOB)
    await alice.send_json({"type": "say", "text": "hi :limeHype: there"})
    line = (await next_of(bob, "line"))["line"]
    assert line["fragments"] == [
        {"text": "hi "},
        {"emote": ":limeHype:", "url": "/-/uploads/hype.png"},
        {"text": " there"},
    ]
    assert line["badges"] == [{"name": "member", "label": "Member", "icon": "/-/static/member.png"}]
    await next_of(alice, "line")  # her own line
    await bob.send_json({"type": "say", "text": "me too :limeHype:"})
    line = (await next_of(alice, "line"))["line"]
    assert line["fragments"] == [{"text": "me too :limeHype:"}]  # not Bob's emote
    await alice.close()
    await bob.close()


async def test_limits_length_and_rate(room_harness):
    h, room, vip, _ = await room_harness(config={"max_message": 10, "rate": 2})
    await make_member(vip, ALICE)
    alice, _ = await enter(h, room, ALICE)
    await alice.send_json({"type": "say", "text": "x" * 50})
    assert text_of((await next_of(alice, "line"))["line"]) == "x" * 10
    await alice.send_json({"type": "say", "text": "two"})
    await next_of(alice, "line")
    await alice.send_json({"type": "say", "text": "three"})
    assert "Slow down" in (await next_of(alice, "notice"))["text"]
    await alice.send_str("not json")
    await alice.send_json(["a", "list"])
    await alice.send_json({"type": "say", "text": 42})
    await h.settle()
    assert len(room.room.history) == 2
    await alice.close()


class _Page:
    """A room page's socket, as the hub sees it: one that takes every line, or one whose
    sends never finish (a phone that lost its network)."""

    def __init__(self, frozen: bool) -> None:
        self.frozen = frozen
        self.got: list[str] = []
        self.closed_with: int | None = None

    async def send_str(self, text: str) -> None:
        if self.frozen:
            await asyncio.Event().wait()
        self.got.append(text)

    async def close(self, code: int, message: bytes) -> None:
        self.closed_with = code


async def test_a_frozen_client_is_dropped_and_never_slows_the_others():
    from limelight_room.hub import CLOSE_SLOW, Hub

    hub = Hub(queue_limit=10)
    fast, frozen = _Page(False), _Page(True)
    fast_client = hub.open(fast, ALICE)  # type: ignore[arg-type]
    hub.open(frozen, BOB)  # type: ignore[arg-type]
    for i in range(100):
        hub.broadcast(f"line {i}")
        # The phone that keeps up drains its queue; the frozen one never does.
        await wait_until(fast_client.queue.empty)
    await wait_until(lambda: len(fast.got) == 100)
    await wait_until(lambda: frozen.closed_with == CLOSE_SLOW)
    assert hub.evicted == 1 and len(hub.clients) == 1
    await hub.close_all()


async def test_a_send_that_hangs_drops_the_client_after_the_send_timeout(monkeypatch):
    """A page whose socket stops taking data, with room left in its queue, is dropped once
    one send has waited ``SEND_TIMEOUT``; the page that keeps up gets every line."""
    from limelight_room import hub as hub_module

    monkeypatch.setattr(hub_module, "SEND_TIMEOUT", 0.05)
    hub = hub_module.Hub(queue_limit=10)
    fine, hanging = _Page(False), _Page(True)
    hub.open(fine, ALICE)  # type: ignore[arg-type]
    hub.open(hanging, BOB)  # type: ignore[arg-type]
    for i in range(3):  # well inside the queue's limit: only the timeout can drop it
        hub.broadcast(f"line {i}")
    await wait_until(lambda: hanging.closed_with == hub_module.CLOSE_SLOW)
    assert hub.evicted == 1 and [c.viewer for c in hub.clients] == [ALICE]
    assert fine.got == ["line 0", "line 1", "line 2"]
    await hub.close_all()


async def test_a_member_the_room_never_saw_gets_their_name_from_the_membership(room_harness):
    h, room, vip, _ = await room_harness()
    await make_member(vip, ALICE)
    await make_member(vip, BOB)
    # The room never heard of Bob (his membership began while it was not running).
    from limelight_room.models import RoomPass

    await h.settle()
    await RoomPass.filter(viewer_id=BOB.id).delete()
    room.passes._passes.pop(BOB.key)
    # A link made from a bare (platform, id), as a checkout return page might.
    token = room.passes.token_for(type(BOB)(BOB.platform, BOB.id))
    bob = await h.client.ws_connect(f"/room/{token}/ws")
    hello = await next_of(bob, "hello")
    assert hello["me"]["name"] == "Bob"
    await bob.close()
