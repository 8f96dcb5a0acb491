"""Members-only chat: while a window is open, non-members' lines never reach the chat
overlay (also when the gating code raises), members' and moderators' do; one rate-limited
notice; windows from !vipchat, the dashboard, other plugins, OBS scenes, restarts; and the
Twitch enforcement through Helix (subscriber-only mode, or deleting the line)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import aiohttp
from limelight import CustomEvent
from limelight.testing import OVERLAY_TOKEN, TEST_CONNECTOR, Harness, make_viewer
from limelight_twitch import TwitchPlugin
from limelight_vip import VipPlugin
from limelight_vip.api import Memberships

from tests.chat.conftest import FAST
from tests.chat.fake_twitch import FakeTwitch, privmsg
from tests.support import wait_until

WS = f"/overlays/ws?token={OVERLAY_TOKEN}&overlay=chat"


async def chat_page(v: Any) -> tuple[aiohttp.ClientWebSocketResponse, list[dict[str, Any]]]:
    """A chat overlay page's socket and the live chat lines it receives."""
    ws = await v.h.client.ws_connect(WS)
    lines: list[dict[str, Any]] = []

    async def read() -> None:
        async for msg in ws:
            data = msg.json()
            if data.get("type") == "live" and data.get("kind") == "chat.message":
                lines.append(data["data"])

    v.reader = asyncio.ensure_future(read())
    return ws, lines


async def test_window_hides_non_members_from_the_chat_overlay(vip):
    v = await vip({"plugins": {"vip": {"members_only": {"notice_cooldown": 60}}}})
    ws, lines = await chat_page(v)
    member = make_viewer("memb")
    await v.plugin.grant(member, "tier1", duration=None, source="test", source_id="m-1")
    await v.h.chat_as("mod", "!vipchat on 10m", roles={"moderator"})
    assert v.h.said[-1].text == "Members-only chat is on for 10 minutes."
    assert v.plugin.members_window_open()

    await v.h.chat_as("stranger", "let me in")
    await v.h.chat_as("stranger2", "me too")
    await v.h.chat_as(member, "hello members")
    await v.h.chat_as("mod", "mods talk", roles={"moderator"})
    await v.h.chat_as("boss", "streamer talks", roles={"broadcaster"})
    await wait_until(lambda: len(lines) >= 4)
    texts = [line["text"] for line in lines]
    assert "let me in" not in texts and "me too" not in texts
    assert {"hello members", "mods talk", "streamer talks"} <= set(texts)
    notices = [s.text for s in v.h.said if "members-only right now" in s.text]
    assert len(notices) == 1  # rate-limited: one for two hidden lines
    assert "!vip join" in notices[0]

    await v.h.chat_as("mod", "!vipchat off", roles={"moderator"})
    await v.h.chat_as("stranger", "back again")
    await wait_until(lambda: "back again" in [line["text"] for line in lines])
    v.reader.cancel()
    await ws.close()


async def test_a_non_moderator_cannot_switch_it(vip):
    v = await vip()
    await v.h.chat_as("pleb", "!vipchat on 10m")
    assert not v.plugin.members_window_open()


async def test_gating_fails_closed_when_the_check_raises(vip):
    v = await vip()
    ws, lines = await chat_page(v)
    member = make_viewer("memb")
    await v.plugin.grant(member, "tier1", duration=None, source="test", source_id="m-1")
    await v.plugin.open_members_window(timedelta(minutes=5), reason="a milestone")

    def broken(*_args: object, **_kw: object) -> bool:
        raise RuntimeError("the roster is on fire")

    v.plugin.roster.holds = broken  # type: ignore[method-assign]
    hidden = await v.h.chat_as("stranger", "should stay hidden")
    also = await v.h.chat_as(member, "even a member, while the check is broken")
    assert not hidden.verdict.shown and not also.verdict.shown
    await v.h.chat_as("mod", "still here", roles={"moderator"})
    # viewers' lines only: the bot's own answers (the join notice) show on the chat box too
    await wait_until(lambda: [x["text"] for x in lines if not x.get("bot")] == ["still here"])
    v.reader.cancel()
    await ws.close()


async def test_windows_from_the_api_the_dashboard_obs_and_a_restart(vip, database_url):
    config = {"plugins": {"vip": {"members_only": {"obs_scenes": {"Members Q&A": 15}}}}}
    v = await vip(config, database_url=database_url)
    api = v.h.services.host.plugin("vip")
    assert isinstance(api, Memberships)
    # the dashboard switch
    headers = await v.h.login()
    r = await v.h.client.post("/api/vip/window", json={"open": True, "minutes": 5}, headers=headers)
    assert r.status == 200 and (await r.json())["open"] is True
    r = await v.h.client.post("/api/vip/window", json={"open": False}, headers=headers)
    assert (await r.json())["open"] is False
    # an OBS scene becoming active
    await v.h.publish(
        CustomEvent(
            custom_type="obs.scene_changed",
            source="obs",
            source_id="scene-1",
            payload={"connection": "main", "scene": "Members Q&A", "previous": "Game"},
        )
    )
    assert api.members_window_open()
    state = v.h.services.overlays.channel("chat").state.get("mode")
    assert state == {"restricted": True, "label": "Members-only chat"}
    # it survives a restart, and closes on time
    await v.h.close()
    v2 = await vip(config, database_url=database_url)
    assert v2.plugin.members_window_open()
    await v2.plugin.gate.open(timedelta(seconds=0), reason="shorten")  # never shortens
    assert v2.plugin.members_window_open()
    await v2.plugin.gate.close()
    await v2.plugin.open_members_window(timedelta(milliseconds=300), reason="short")
    await wait_until(lambda: not v2.plugin.members_window_open(), timeout=5)
    await wait_until(
        lambda: (
            v2.h.services.overlays.channel("chat").state.get("mode", {}).get("restricted") is False
        )
    )


async def on_twitch(limelight: Any, fake: FakeTwitch, enforce: str) -> Harness:
    """A server whose chat is the fake Twitch (as tests/chat's harness), with vip."""
    table = {**fake.config(), **FAST}
    vip = {"members_only": {"enforce": enforce}}
    h: Harness = await limelight(
        plugins={"twitch": TwitchPlugin, "vip": VipPlugin},
        config={"plugins": {"twitch": table, "vip": vip}},
    )
    await h.services.chat.detach(TEST_CONNECTOR)
    conn = h.services.chat.connectors["twitch"]
    await wait_until(lambda: conn.joined, timeout=5)
    return h


async def test_twitch_enforcement_subscriber_mode(limelight, fake_twitch):
    h = await on_twitch(limelight, fake_twitch, "subscriber_mode")
    ch = fake_twitch.channel
    await fake_twitch.irc_send(privmsg(ch, "!vipchat on 10m", user="modd", user_id="77", mod=True))
    await wait_until(lambda: fake_twitch.chat_state["subscriber_mode"] is True)
    settings = [r for r in fake_twitch.helix_requests if r["method"] == "PATCH"]
    assert settings[-1]["json"] == {"subscriber_mode": True}
    await fake_twitch.irc_send(privmsg(ch, "!vipchat off", user="modd", user_id="77", mod=True))
    await wait_until(lambda: fake_twitch.chat_state["subscriber_mode"] is False)
    assert h.plugin("vip", VipPlugin).members_window_open() is False


async def test_twitch_enforcement_deletes_non_members_lines(limelight, fake_twitch):
    h = await on_twitch(limelight, fake_twitch, "delete")
    plugin = h.plugin("vip", VipPlugin)
    await plugin.grant(
        make_viewer("member", id="600"), "tier1", duration=None, source="t", source_id="1"
    )
    await plugin.open_members_window(timedelta(minutes=10), reason="test")
    ch = fake_twitch.channel
    await fake_twitch.irc_send(privmsg(ch, "hi", user="nobody", user_id="601", msg_id="nm-1"))
    await fake_twitch.irc_send(privmsg(ch, "hey", user="member", user_id="600", msg_id="m-1"))
    await fake_twitch.irc_send(
        privmsg(ch, "ok", user="modd", user_id="77", msg_id="mod-1", mod=True)
    )
    # the non-member's line goes; the member's, the moderator's and the bot's own (its
    # notice, echoed back by Twitch) stay
    await wait_until(lambda: "nm-1" in fake_twitch.deleted)
    assert any("members-only right now" in s["text"] for s in fake_twitch.chat_sent)
    [req] = [r for r in fake_twitch.helix_requests if r["method"] == "DELETE"]
    assert req["query"]["message_id"] == "nm-1" and req["query"]["moderator_id"]
    await h.settle()
    assert fake_twitch.deleted == ["nm-1"]


async def test_a_twitch_sub_badge_admits_and_keeps_the_membership(vip):
    v = await vip({"plugins": {"vip": {"members_only": {"tiers": ["tier3"]}}}})
    await v.plugin.open_members_window(timedelta(minutes=5), reason="tier 3 only")
    t1 = await v.h.chat_as("subone", "tier one here", badges=("subscriber/12",))
    t3 = await v.h.chat_as("subthree", "tier three here", badges=("subscriber/3024", "premium/1"))
    assert not t1.verdict.shown and t3.verdict.shown
    await wait_until(lambda: v.plugin.is_member(make_viewer("subthree"), {"tier3"}))
    await wait_until(lambda: v.plugin.is_member(make_viewer("subone"), {"tier1"}))
    # once a month: more lines write nothing more, and nobody is welcomed for it
    await v.h.chat_as("subthree", "again", badges=("subscriber/3024",))
    await v.h.settle()
    from limelight_vip.models import Membership

    assert await Membership.filter(source="twitch-badge").count() == 2
    assert not any("Welcome" in s.text for s in v.h.said)
