"""The Twitch connector's chat side against the fake Twitch: login, events, faults."""

from __future__ import annotations

import pytest
from limelight import Verdict
from limelight.testing import HookPlugin

from tests.support import wait_until

from .fake_twitch import privmsg, usernotice

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


async def test_login_sequence_joins_and_reports_status(twitch_harness, fake_twitch):
    h, _, conn = await twitch_harness()
    assert fake_twitch.irc_received[:4] == [
        "CAP REQ :twitch.tv/tags twitch.tv/commands twitch.tv/membership",
        f"PASS oauth:{fake_twitch.token}",
        f"NICK {fake_twitch.bot}",
        f"JOIN #{fake_twitch.channel}",
    ]
    assert conn.bot_id == fake_twitch.bot_id  # from GLOBALUSERSTATE
    assert conn.broadcaster_id == fake_twitch.broadcaster_id  # from ROOMSTATE
    resp = await h.client.get("/healthz")
    body = await resp.json()
    [twitch] = [c for c in body["chat"]["connectors"] if c["name"] == "twitch"]
    assert twitch["connected"] is True and twitch["irc"]["joined"] is True
    assert fake_twitch.token not in await resp.text()


async def test_privmsg_becomes_chat_message_with_roles_and_reply(twitch_harness, fake_twitch):
    _h, rec, _ = await twitch_harness()
    await fake_twitch.irc_send(
        privmsg(
            fake_twitch.channel,
            "hello; world",
            user="Mod_Person",
            user_id="77",
            msg_id="m-1",
            badges="moderator/1,subscriber/12,vip/1",
            mod=True,
            subscriber=True,
            vip=True,
            first=True,
            reply_parent="parent-9",
            display="Mod Person",
        )
    )
    await wait_until(lambda: rec.of_type("chat.message"))
    [msg] = rec.of_type("chat.message")
    assert msg.source == "twitch" and msg.source_id == "m-1"
    assert msg.viewer.key == ("twitch", "77") and msg.viewer.name == "Mod Person"
    assert msg.roles == {"viewer", "moderator", "subscriber", "vip"}
    assert msg.badges == ("moderator/1", "subscriber/12", "vip/1")
    assert msg.first is True and msg.reply_to == "parent-9"
    assert msg.text == "hello; world" and msg.channel == fake_twitch.channel


async def test_bits_make_a_cheer_and_eventsub_twin_is_dropped(twitch_harness, fake_twitch):
    h, rec, conn = await twitch_harness()
    await fake_twitch.irc_send(
        privmsg(fake_twitch.channel, "Cheer250 go go", user="bob", user_id="42", bits=250)
    )
    await wait_until(lambda: rec.of_type("cheer"))
    await fake_twitch.es_notify(
        "channel.cheer",
        {
            "is_anonymous": False,
            "user_id": "42",
            "user_login": "bob",
            "user_name": "bob",
            "broadcaster_user_id": "1001",
            "broadcaster_user_login": "streamer",
            "broadcaster_user_name": "streamer",
            "message": "Cheer250 go go",
            "bits": 250,
        },
    )
    await wait_until(lambda: conn.correlator.twins == 1)
    await h.settle()
    [cheer] = rec.of_type("cheer")
    assert cheer.bits == 250 and cheer.viewer.id == "42" and not cheer.anonymous
    assert len(rec.of_type("chat.message")) == 1


async def test_eventsub_first_then_irc_twin(twitch_harness, fake_twitch):
    h, rec, conn = await twitch_harness()
    await fake_twitch.es_notify(
        "channel.cheer",
        {
            "is_anonymous": True,
            "user_id": None,
            "user_login": None,
            "user_name": None,
            "broadcaster_user_id": "1001",
            "message": "",
            "bits": 100,
        },
    )
    await wait_until(lambda: rec.of_type("cheer"))
    await fake_twitch.irc_send(
        privmsg(
            fake_twitch.channel,
            "Cheer100",
            user="ananonymouscheerer",
            user_id="407665396",
            bits=100,
        )
    )
    await wait_until(lambda: rec.of_type("chat.message"))
    await h.settle()
    [cheer] = rec.of_type("cheer")
    assert cheer.anonymous is True and cheer.viewer is None
    assert conn.correlator.twins == 1


async def test_usernotices_become_events(twitch_harness, fake_twitch):
    _h, rec, _ = await twitch_harness()
    await fake_twitch.sample("resub")
    await fake_twitch.sample("subgift")
    await fake_twitch.sample("raid")
    await fake_twitch.sample("announcement")
    await fake_twitch.irc_send(
        usernotice(
            fake_twitch.channel,
            "sub",
            user="newbie",
            user_id="900",
            sub_plan="2000",
            cumulative_months="1",
        )
    )
    await wait_until(
        lambda: (
            len(rec.of_type("subscription")) == 3
            and rec.of_type("raid")
            and rec.of_type("chat.message")
        )
    )
    subs = {s.viewer.id: s for s in rec.of_type("subscription")}
    assert subs["87654321"].months == 6 and subs["87654321"].tier == "Prime"
    assert subs["87654321"].message == "Great stream -- keep it up!"
    gift = subs["55554444"]
    assert gift.gifted and gift.gifter.name == "TWW2" and gift.viewer.name == "Mr_Woodchuck"
    assert gift.gift_bomb is None
    assert subs["900"].tier == "2000" and not subs["900"].gifted
    [raid] = rec.of_type("raid")
    assert raid.viewers == 15 and raid.viewer.name == "TestChannel"
    [announcement] = rec.of_type("chat.message")
    assert announcement.text == "Hello chat!"
    assert "announcement/primary" in announcement.badges


async def test_gift_bomb_is_one_alert_and_every_gift_is_recorded(twitch_harness, fake_twitch):
    h, rec, conn = await twitch_harness()
    ch = fake_twitch.channel
    await fake_twitch.irc_send(
        usernotice(
            ch,
            "submysterygift",
            user="Santa",
            user_id="7",
            id="bomb-1",
            mass_gift_count="3",
            sub_plan="1000",
            community_gift_id="cg-1",
            sender_count="3",
        )
    )
    for i in range(3):
        await fake_twitch.irc_send(
            usernotice(
                ch,
                "subgift",
                user="Santa",
                user_id="7",
                id=f"gift-{i}",
                sub_plan="1000",
                months="1",
                recipient_id=f"r{i}",
                recipient_display_name=f"Kid{i}",
                recipient_user_name=f"kid{i}",
                community_gift_id="cg-1",
            )
        )
    await wait_until(lambda: len(rec.of_type("subscription")) == 3)
    # EventSub reports the same bomb and the same gifts: all twins.
    await fake_twitch.es_notify(
        "channel.subscription.gift",
        {
            "user_id": "7",
            "user_login": "santa",
            "user_name": "Santa",
            "total": 3,
            "tier": "1000",
            "cumulative_total": 30,
            "is_anonymous": False,
            "broadcaster_user_id": "1001",
        },
    )
    for i in range(3):
        await fake_twitch.es_notify(
            "channel.subscribe",
            {
                "user_id": f"r{i}",
                "user_login": f"kid{i}",
                "user_name": f"Kid{i}",
                "broadcaster_user_id": "1001",
                "tier": "1000",
                "is_gift": True,
            },
        )
    await wait_until(lambda: conn.correlator.twins == 4)
    await h.settle()
    [bomb] = rec.of_type("gift_bomb")
    assert bomb.count == 3 and bomb.viewer.name == "Santa" and bomb.source_id == "bomb-1"
    subs = rec.of_type("subscription")
    assert len(subs) == 3
    assert all(s.gifted and s.gift_bomb == "bomb-1" and s.gifter.id == "7" for s in subs)
    assert {s.viewer.id for s in subs} == {"r0", "r1", "r2"}


async def test_anonymous_gift_bomb_over_eventsub_only(twitch_harness, fake_twitch):
    _h, rec, _ = await twitch_harness()
    await fake_twitch.es_notify(
        "channel.subscription.gift",
        {
            "user_id": None,
            "user_login": None,
            "user_name": None,
            "total": 2,
            "tier": "2000",
            "cumulative_total": None,
            "is_anonymous": True,
            "broadcaster_user_id": "1001",
        },
    )
    for i in range(2):
        await fake_twitch.es_notify(
            "channel.subscribe",
            {
                "user_id": f"a{i}",
                "user_login": f"a{i}",
                "user_name": f"A{i}",
                "broadcaster_user_id": "1001",
                "tier": "2000",
                "is_gift": True,
            },
        )
    await wait_until(lambda: len(rec.of_type("subscription")) == 2)
    [bomb] = rec.of_type("gift_bomb")
    assert bomb.anonymous and bomb.viewer is None and bomb.count == 2
    assert all(
        s.gift_bomb == bomb.source_id and s.gifter is None for s in rec.of_type("subscription")
    )


async def test_clearchat_and_clearmsg(twitch_harness, fake_twitch):
    _h, rec, _ = await twitch_harness()
    await fake_twitch.sample("clearmsg")
    await fake_twitch.sample("clearchat_user")
    await fake_twitch.sample("clearchat_all")
    await wait_until(lambda: len(rec.of_type("chat.deleted")) == 3)
    one, user, everyone = rec.of_type("chat.deleted")
    assert one.message_id == "94e6c7ff-bf98-4faa-af5d-7ad633a158a9"
    assert user.viewer.id == "87654321" and user.message_id is None
    assert everyone.viewer is None


async def test_ping_is_answered(twitch_harness, fake_twitch):
    await twitch_harness()
    await fake_twitch.irc_send("PING :tmi.twitch.tv")
    await wait_until(lambda: "PONG :tmi.twitch.tv" in fake_twitch.irc_received)


async def test_reconnect_rejoins_and_never_processes_a_line_twice(twitch_harness, fake_twitch):
    h, rec, conn = await twitch_harness()
    line = privmsg(fake_twitch.channel, "before", msg_id="dup-1")
    await fake_twitch.irc_send(line)
    await wait_until(lambda: len(rec.of_type("chat.message")) == 1)
    await fake_twitch.irc_reconnect()
    await wait_until(lambda: fake_twitch.irc_connections == 2 and conn.joined)
    await fake_twitch.irc_send(line)  # Twitch may replay what it had in flight
    await fake_twitch.irc_send(privmsg(fake_twitch.channel, "after", msg_id="new-1"))
    await wait_until(lambda: len(rec.of_type("chat.message")) == 2)
    await h.settle()
    assert [m.text for m in rec.of_type("chat.message")] == ["before", "after"]
    assert sum(1 for x in fake_twitch.irc_received if x.startswith("JOIN")) == 2


async def test_reset_in_the_middle_of_a_line(twitch_harness, fake_twitch):
    h, rec, conn = await twitch_harness()
    line = privmsg(fake_twitch.channel, "cut short", msg_id="cut-1")
    await fake_twitch.irc_reset_mid_line(line)
    await wait_until(lambda: fake_twitch.irc_connections == 2 and conn.joined)
    assert rec.of_type("chat.message") == []  # the half line was never processed
    await fake_twitch.irc_send(line)
    await wait_until(lambda: rec.of_type("chat.message"))
    await h.settle()
    assert [m.text for m in rec.of_type("chat.message")] == ["cut short"]
    assert conn.irc_reconnects == 1


async def test_silent_socket_is_detected_and_replaced(twitch_harness, fake_twitch):
    _h, rec, conn = await twitch_harness(options={"ping_after": 0.2, "pong_timeout": 0.2})
    fake_twitch.irc_silence()
    await wait_until(lambda: fake_twitch.irc_connections == 2 and conn.joined, timeout=5)
    assert "PING :tmi.twitch.tv" in fake_twitch.irc_received
    await fake_twitch.irc_send(privmsg(fake_twitch.channel, "alive again"))
    await wait_until(lambda: rec.of_type("chat.message"))


async def test_bad_token_is_reported_and_retried_with_backoff(limelight, fake_twitch):
    from limelight_twitch import TwitchPlugin

    from .conftest import FAST

    h = await limelight(
        plugins={"twitch": TwitchPlugin},
        config={
            "plugins": {"twitch": {**fake_twitch.config(token="wrong"), **FAST, "eventsub": False}}
        },
    )
    conn = h.services.chat.connectors["twitch"]
    await wait_until(lambda: "authentication failed" in conn.irc_error.lower())
    assert not conn.joined
    status = conn.status()
    assert status["connected"] is False and "wrong" not in str(status)


async def test_gating_delete_verdict_deletes_on_twitch(twitch_harness, fake_twitch):
    def gate(message):
        return Verdict.delete("spam") if "buy followers" in message.text else None

    _h, _rec, _ = await twitch_harness(plugins={"gate": HookPlugin(check_chat_message=gate)})
    await fake_twitch.irc_send(privmsg(fake_twitch.channel, "buy followers now", msg_id="sp-1"))
    await wait_until(lambda: fake_twitch.deleted == ["sp-1"])
    [req] = [r for r in fake_twitch.helix_requests if r["method"] == "DELETE"]
    assert req["query"] == {"broadcaster_id": "1001", "moderator_id": "2002", "message_id": "sp-1"}


async def test_gifts_link_to_the_bomb_that_was_published(twitch_harness, fake_twitch):
    """EventSub reports the bomb first; IRC's bomb is its twin, IRC's gifts still link."""
    h, rec, _conn = await twitch_harness()
    ch = fake_twitch.channel
    await fake_twitch.es_notify(
        "channel.subscription.gift",
        {
            "user_id": "7",
            "user_login": "santa",
            "user_name": "Santa",
            "total": 2,
            "tier": "1000",
            "cumulative_total": 2,
            "is_anonymous": False,
            "broadcaster_user_id": "1001",
        },
    )
    await wait_until(lambda: rec.of_type("gift_bomb"))
    [bomb] = rec.of_type("gift_bomb")
    await fake_twitch.irc_send(
        usernotice(
            ch,
            "submysterygift",
            user="Santa",
            user_id="7",
            id="irc-bomb",
            mass_gift_count="2",
            sub_plan="1000",
            community_gift_id="cg-9",
        )
    )
    for i in range(2):
        await fake_twitch.irc_send(
            usernotice(
                ch,
                "subgift",
                user="Santa",
                user_id="7",
                id=f"irc-gift-{i}",
                sub_plan="1000",
                recipient_id=f"k{i}",
                recipient_display_name=f"K{i}",
                community_gift_id="cg-9",
            )
        )
    await wait_until(lambda: len(rec.of_type("subscription")) == 2)
    await h.settle()
    assert len(rec.of_type("gift_bomb")) == 1
    assert {s.gift_bomb for s in rec.of_type("subscription")} == {bomb.source_id}
