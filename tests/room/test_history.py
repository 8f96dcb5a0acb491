"""The room's history is kept in the database: a restart keeps the lines members saw (up to
``history``), and a line a moderator deleted, or a timed-out member's lines, stay gone."""

from __future__ import annotations

from limelight_room.models import RoomLine

from .conftest import ALICE, BOB, MALLORY, make_member
from .test_room import Echo, enter, next_of, text_of


async def test_a_restart_keeps_the_history_members_saw(room_harness):
    h, room, vip, _ = await room_harness(plugins={"echo": Echo})
    await make_member(vip, ALICE)
    await make_member(vip, BOB)
    alice, _ = await enter(h, room, ALICE)
    bob, _ = await enter(h, room, BOB)
    await alice.send_json({"type": "say", "text": "first from Alice"})
    await next_of(bob, "line")
    await next_of(alice, "line")  # her own
    await bob.send_json({"type": "say", "text": "!echo hello from the bot"})
    await next_of(alice, "line")  # Bob's command line
    reply = (await next_of(alice, "line"))["line"]
    assert reply["bot"]
    # The stop comes right after the last line was seen: nothing waited for the database.
    await h.close()

    h, room, vip, _ = await room_harness(plugins={"echo": Echo})
    await make_member(vip, ALICE)
    alice, hello = await enter(h, room, ALICE)
    assert [(x["name"], text_of(x)) for x in hello["history"]] == [
        ("Alice", "first from Alice"),
        ("Bob", "!echo hello from the bot"),
        ("Limelight", "hello from the bot"),
    ]
    assert hello["history"][2]["bot"] is True and hello["history"][0]["viewer"] == "twitch:1001"
    # New lines follow the old ones, and a second restart keeps both.
    await alice.send_json({"type": "say", "text": "after the restart"})
    await next_of(alice, "line")
    await h.close()
    h, room, vip, _ = await room_harness(plugins={"echo": Echo})
    assert [text_of(x) for x in room.room.history] == [
        "first from Alice",
        "!echo hello from the bot",
        "hello from the bot",
        "after the restart",
    ]


async def test_the_database_keeps_only_the_newest_history_lines(room_harness):
    config = {"history": 3, "rate": 20}
    h, room, vip, _ = await room_harness(config=config)
    await make_member(vip, ALICE)
    alice, _ = await enter(h, room, ALICE)
    for i in range(7):
        await alice.send_json({"type": "say", "text": f"line {i}"})
        await next_of(alice, "line")
    await h.close()

    h, room, vip, _ = await room_harness(config=config)
    assert [text_of(x) for x in room.room.history] == ["line 4", "line 5", "line 6"]
    assert await RoomLine.all().count() == 3  # pruned, not only hidden


async def test_deleted_lines_stay_deleted_after_a_restart(room_harness):
    h, room, vip, _ = await room_harness()
    for viewer in (ALICE, BOB, MALLORY):
        await make_member(vip, viewer)
    alice, _ = await enter(h, room, ALICE)
    bob, _ = await enter(h, room, BOB)
    mallory, _ = await enter(h, room, MALLORY)
    await bob.send_json({"type": "say", "text": "a line to delete"})
    doomed = (await next_of(alice, "line"))["line"]
    await alice.send_json({"type": "say", "text": "a line to keep"})
    await next_of(alice, "line")
    for text in ("spam 1", "spam 2"):
        await mallory.send_json({"type": "say", "text": text})
        await next_of(alice, "line")
    headers = await h.login()
    response = await h.client.post(
        f"/api/room/lines/{doomed['id']}/delete", json={}, headers=headers
    )
    assert response.status == 200, await response.text()
    assert (await next_of(alice, "deleted"))["ids"] == [doomed["id"]]
    response = await h.client.post(
        "/api/room/timeout",
        json={"viewer": {"platform": "twitch", "id": MALLORY.id}, "seconds": 300},
        headers=headers,
    )
    assert response.status == 200, await response.text()
    assert len((await next_of(alice, "deleted"))["ids"]) == 2
    await h.close()

    h, room, vip, _ = await room_harness()
    await make_member(vip, ALICE)
    _, hello = await enter(h, room, ALICE)
    assert [text_of(x) for x in hello["history"]] == ["a line to keep"]
    assert await RoomLine.filter(viewer="twitch:6666").count() == 0
    # A line kept from before the restart can still be deleted, from the database too.
    [kept] = hello["history"]
    assert await room.room.delete(kept["id"])
    await h.settle()
    assert list(room.room.history) == []
    await h.close()
    h, room, vip, _ = await room_harness()
    assert list(room.room.history) == []
