"""Twitch's pictures on the chat overlay and the alerts: emotes from the IRC ``emotes``
tag, chat badges through Helix Get Global/Channel Chat Badges, cheermotes through Helix Get
Cheermotes, and text when Twitch cannot say."""

from __future__ import annotations

import pytest
from limelight_alerts import AlertsPlugin

from tests.support import wait_until

from .fake_twitch import privmsg

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


async def test_emotes_badges_and_cheermotes_come_with_the_events(twitch_harness, fake_twitch):
    h, rec, conn = await twitch_harness(plugins={"alerts": AlertsPlugin})
    await wait_until(lambda: conn.images.loaded, timeout=5)
    paths = [r["path"] for r in fake_twitch.helix_requests]
    assert {"/helix/chat/badges/global", "/helix/chat/badges", "/helix/bits/cheermotes"} <= set(
        paths
    )
    await fake_twitch.irc_send(
        privmsg(
            fake_twitch.channel,
            "Kappa hi Kappa PogChamp",
            msg_id="e-1",
            badges="moderator/1,subscriber/12,glhf-pledge/1",
            mod=True,
            emotes="25:0-4,9-13/305954156:15-22/bad:99-120",
        )
    )
    await wait_until(lambda: rec.of_type("chat.message"))
    [line] = rec.of_type("chat.message")
    kappa = conn.config.emote_url.replace("{id}", "25")
    pog = conn.config.emote_url.replace("{id}", "305954156")
    assert line.emotes == (f"0-4:{kappa}", f"9-13:{kappa}", f"15-22:{pog}")
    assert line.badge_images == (
        fake_twitch.cdn("badges/moderator/1/2"),
        fake_twitch.cdn("badges/subscriber/12/2"),  # the channel's own, over the global one
        "",  # a badge Twitch did not list: the overlay shows its name
    )
    # On the chat overlay: fragments with the pictures, badges with theirs.
    data = h.services.overlays._chat_line(line)
    assert data["fragments"] == [
        {"emote": "Kappa", "url": kappa},
        {"text": " hi "},
        {"emote": "Kappa", "url": kappa},
        {"text": " "},
        {"emote": "PogChamp", "url": pog},
    ]
    assert [b["image"] for b in data["platform_badges"]] == list(line.badge_images)
    assert data["platform_badges"][0]["label"] == "Moderator"

    await fake_twitch.irc_send(
        privmsg(fake_twitch.channel, "Cheer100 go Cheer5000", user_id="42", bits=5100)
    )
    await wait_until(lambda: rec.of_type("cheer"))
    [cheer] = rec.of_type("cheer")
    assert cheer.emotes == (
        f"0-7:{fake_twitch.cdn('actions/cheer/dark/animated/100/2.gif')}",
        f"12-20:{fake_twitch.cdn('actions/cheer/dark/animated/5000/2.gif')}",
    )
    alert = h.plugin("alerts").alert_data(cheer)
    assert alert is not None
    assert alert["message_fragments"][0] == {
        "emote": "Cheer100",
        "url": fake_twitch.cdn("actions/cheer/dark/animated/100/2.gif"),
    }
    assert alert["message_fragments"][1] == {"text": " go "}


async def test_without_twitch_images_lines_carry_text(twitch_harness, fake_twitch):
    fake_twitch.images_status = 503
    h, rec, conn = await twitch_harness(plugins={"alerts": AlertsPlugin})
    await wait_until(lambda: conn.images.error != "", timeout=5)
    await fake_twitch.irc_send(
        privmsg(fake_twitch.channel, "Cheer100 hi", badges="moderator/1", mod=True, bits=100)
    )
    await wait_until(lambda: rec.of_type("cheer") and rec.of_type("chat.message"))
    [line] = rec.of_type("chat.message")
    assert line.badge_images == ()
    data = h.services.overlays._chat_line(line)
    assert data["platform_badges"] == [
        {"name": "moderator", "version": "1", "label": "Moderator", "image": ""}
    ]
    [cheer] = rec.of_type("cheer")
    assert cheer.emotes == ()
    alert = h.plugin("alerts").alert_data(cheer)
    assert alert is not None and alert["message_fragments"] == [{"text": "Cheer100 hi"}]
    assert conn.status()["images"]["loaded"] is False
