"""``!room`` on Twitch: the personal link goes out as a Helix whisper (against the fake),
never into public chat."""

from __future__ import annotations

import re
from datetime import timedelta

from limelight import ViewerRef
from limelight_room import RoomPlugin

from tests.chat.fake_twitch import privmsg
from tests.support import wait_until

from .vip_double import FakeVip


async def test_room_command_whispers_a_working_personal_link(twitch_harness, fake_twitch):
    h, _rec, _conn = await twitch_harness(plugins={"vip": FakeVip, "room": RoomPlugin})
    vip = h.plugin("vip", FakeVip)
    alice = ViewerRef("twitch", "501", "alice")
    await vip.grant(alice, "gold", duration=timedelta(days=30), source="test", source_id="a")
    await fake_twitch.irc_send(privmsg(fake_twitch.channel, "!room", user="alice", user_id="501"))
    await wait_until(lambda: fake_twitch.whispers and fake_twitch.chat_sent)
    [whisper] = fake_twitch.whispers
    assert whisper["to"] == "501"
    link = re.search(r"https?://\S+/room/(\S+)", whisper["text"])
    assert link is not None and "(personal, do not share)" in whisper["text"]
    [request] = [r for r in fake_twitch.helix_requests if r["path"] == "/helix/whispers"]
    assert request["query"] == {"from_user_id": fake_twitch.bot_id, "to_user_id": "501"}
    assert request["json"] == {"message": whisper["text"]}
    # Public chat only hears that a whisper went out; the link is never in it.
    [public] = fake_twitch.chat_sent
    assert public["text"] == "I whispered you your personal room link."
    assert "/room/" not in public["text"]
    page = await h.client.get(f"/room/{link.group(1)}")
    assert page.status == 200


async def test_refused_whispers_and_non_members(twitch_harness, fake_twitch):
    h, _rec, _conn = await twitch_harness(plugins={"vip": FakeVip, "room": RoomPlugin})
    vip = h.plugin("vip", FakeVip)
    await fake_twitch.irc_send(privmsg(fake_twitch.channel, "!room", user="bob", user_id="502"))
    await wait_until(lambda: len(fake_twitch.chat_sent) == 1)
    assert "for members" in fake_twitch.chat_sent[0]["text"]
    assert fake_twitch.whispers == []
    carol = ViewerRef("twitch", "503", "carol")
    await vip.grant(carol, "silver", duration=None, source="test", source_id="c")
    fake_twitch.whisper_forbidden = "The user in to_user_id is not allowed to receive whispers."
    await fake_twitch.irc_send(privmsg(fake_twitch.channel, "!room", user="carol", user_id="503"))
    await wait_until(lambda: len(fake_twitch.chat_sent) == 2)
    assert "could not whisper" in fake_twitch.chat_sent[1]["text"]
    assert "/room/" not in fake_twitch.chat_sent[1]["text"]
