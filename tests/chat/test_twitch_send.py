"""Sending to Twitch: Helix chat messages and replies, IRC fallback, limits, mod actions."""

from __future__ import annotations

from limelight import NoConfig, Plugin, ViewerRef, command, hookimpl

from tests.support import wait_until

from .fake_twitch import privmsg


class Echo(Plugin[NoConfig]):
    @command("echo")
    async def echo(self, call, *, text: str) -> str:
        "Says it back."
        return text

    @hookimpl
    def register_commands(self, register):
        register(self.echo)


async def test_command_reply_goes_through_helix_as_a_reply(twitch_harness, fake_twitch):
    h, rec, _conn = await twitch_harness(plugins={"echo": Echo()})
    await fake_twitch.irc_send(privmsg(fake_twitch.channel, "!echo hi there", msg_id="q-1"))
    await wait_until(lambda: fake_twitch.chat_sent)
    [sent] = fake_twitch.chat_sent
    assert sent == {
        "via": "helix",
        "channel": fake_twitch.channel,
        "text": "hi there",
        "reply_to": "q-1",
        "id": sent["id"],
    }
    # Twitch echoes the bot's own line into IRC; it is shown but never runs a command.
    await wait_until(lambda: len(rec.of_type("chat.message")) == 2)
    await h.settle()
    assert len(fake_twitch.chat_sent) == 1
    assert h.said[-1].message_id == sent["id"]


async def test_bot_text_never_runs_a_chat_command(twitch_harness, fake_twitch):
    h, _, _ = await twitch_harness()
    await h.services.chat.say("/ban someone", platform="twitch")
    await wait_until(lambda: fake_twitch.chat_sent)
    assert fake_twitch.chat_sent[0]["text"] == "\u200b/ban someone"


async def test_irc_sending_with_reply_tag(twitch_harness, fake_twitch):
    _h, _, _ = await twitch_harness(plugins={"echo": Echo()}, options={"send_via": "irc"})
    await fake_twitch.irc_send(privmsg(fake_twitch.channel, "!echo over irc", msg_id="q-2"))
    await wait_until(lambda: fake_twitch.chat_sent)
    assert fake_twitch.chat_sent == [
        {"via": "irc", "channel": fake_twitch.channel, "text": "over irc", "reply_to": "q-2"}
    ]


async def test_helix_down_falls_back_to_irc(twitch_harness, fake_twitch):
    h, _, conn = await twitch_harness(wait_eventsub=False, options={"eventsub": False})
    conn.helix.api_url = f"http://{fake_twitch.base}/missing"  # every Helix call 404s
    conn.bot_id = conn.bot_id or fake_twitch.bot_id
    conn.broadcaster_id = conn.broadcaster_id or fake_twitch.broadcaster_id
    await h.services.chat.say("still here", platform="twitch")
    await wait_until(lambda: fake_twitch.chat_sent)
    assert fake_twitch.chat_sent[0]["via"] == "irc"


async def test_dropped_message_is_not_retried(twitch_harness, fake_twitch):
    h, _, _conn = await twitch_harness()
    fake_twitch.drop_reason = "Your message is identical to the one you sent"
    [part] = await h.services.chat.say("same again", platform="twitch")
    assert await part.done is None
    sends = [r for r in fake_twitch.helix_requests if r["path"].endswith("/chat/messages")]
    assert len(sends) == 1


async def test_rate_limit_follows_the_bots_badges(twitch_harness, fake_twitch):
    _h, _, conn = await twitch_harness()
    assert conn.rate_limit(fake_twitch.channel).count == 20
    await fake_twitch.irc_send(
        "@badge-info=;badges=moderator/1;color=;display-name=limebot;emote-sets=0;mod=1;"
        f"subscriber=0;user-type=mod :tmi.twitch.tv USERSTATE #{fake_twitch.channel}"
    )
    await wait_until(lambda: conn.rate_limit(fake_twitch.channel).count == 100)
    assert conn.status()["moderator"] is True


async def test_modes_and_whispers_through_helix(twitch_harness, fake_twitch):
    h, _, _ = await twitch_harness()
    chat = h.services.chat
    changed = await chat.set_modes(
        platform="twitch", subscriber_only=True, slow=30, emote_only=False, followers_only=10
    )
    assert changed == 1
    assert fake_twitch.chat_settings == [
        {
            "subscriber_mode": True,
            "slow_mode": True,
            "slow_mode_wait_time": 30,
            "emote_mode": False,
            "follower_mode": True,
            "follower_mode_duration": 10,
        }
    ]
    await chat.set_modes(platform="twitch", slow=0, followers_only=-1)
    assert fake_twitch.chat_settings[-1] == {"slow_mode": False, "follower_mode": False}
    assert await chat.whisper(ViewerRef("twitch", "501", "alice"), "psst") is True
    assert fake_twitch.whispers == [{"to": "501", "text": "psst"}]
    assert await chat.whisper(ViewerRef("youtube", "x", "bob"), "psst") is False


async def test_long_text_is_split_for_twitch(twitch_harness, fake_twitch):
    h, _, _ = await twitch_harness()
    text = " ".join(f"word{i}" for i in range(200))
    parts = await h.services.chat.say(text, platform="twitch")
    assert len(parts) == 3
    await wait_until(lambda: len(fake_twitch.chat_sent) == 3)
    sent = [s["text"] for s in fake_twitch.chat_sent]
    assert all(len(s) <= 500 for s in sent)
    assert " ".join(sent) == text


async def test_helix_refusal_falls_back_to_irc(twitch_harness, fake_twitch):
    h, _, conn = await twitch_harness(wait_eventsub=False, options={"eventsub": False})
    await conn.ensure_ids()
    conn.helix.token = "revoked"  # Helix now answers 401; the IRC session is still logged in
    await h.services.chat.say("via irc", platform="twitch")
    await wait_until(lambda: fake_twitch.chat_sent)
    assert fake_twitch.chat_sent[0]["via"] == "irc"


async def test_a_refused_whisper_or_mode_change_is_logged_not_raised(
    twitch_harness, fake_twitch, caplog
):
    h, _, conn = await twitch_harness()
    await conn.ensure_ids()
    conn.helix.token = "revoked"
    assert await h.services.chat.whisper(ViewerRef("twitch", "501", "alice"), "psst") is False
    assert await h.services.chat.set_modes(platform="twitch", emote_only=True) == 0
    assert "whisper to alice failed" in caplog.text and "Helix 401" in caplog.text
