"""The Twitch connector's EventSub side against the fake: sessions, faults, event types."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support import wait_until

from .conftest import FAST

EXPECTED_TYPES = {
    "channel.cheer",
    "channel.subscribe",
    "channel.subscription.gift",
    "channel.subscription.message",
    "channel.charity_campaign.donate",
    "channel.charity_campaign.progress",
}


def _subs_for(fake, session_id):
    return {s["type"] for s in fake.subscriptions if s["transport"]["session_id"] == session_id}


async def test_welcome_then_subscriptions_on_that_session(twitch_harness, fake_twitch):
    _h, _, conn = await twitch_harness()
    [session] = fake_twitch.es_session_ids
    assert conn.es_session == session
    assert _subs_for(fake_twitch, session) == EXPECTED_TYPES
    sub = next(r for r in fake_twitch.helix_requests if r["path"].endswith("/subscriptions"))
    assert sub["json"]["condition"] == {"broadcaster_user_id": fake_twitch.broadcaster_id}
    assert sub["json"]["transport"] == {"method": "websocket", "session_id": session}
    assert fake_twitch.es_received == []  # the client never writes to EventSub


async def test_duplicate_deliveries_are_processed_once(twitch_harness, fake_twitch):
    h, rec, conn = await twitch_harness()
    await fake_twitch.es_notify(
        "channel.subscription.message",
        {
            "user_id": "31",
            "user_login": "eve",
            "user_name": "Eve",
            "broadcaster_user_id": "1001",
            "tier": "1000",
            "message": {"text": "3 months!", "emotes": None},
            "cumulative_months": 3,
            "streak_months": None,
            "duration_months": 1,
        },
        times=3,
    )
    await wait_until(lambda: conn.duplicates == 2)
    await h.settle()
    [sub] = rec.of_type("subscription")
    assert sub.months == 3 and sub.message == "3 months!" and sub.viewer.name == "Eve"


async def test_messages_older_than_ten_minutes_are_rejected(twitch_harness, fake_twitch):
    _h, rec, conn = await twitch_harness()
    await fake_twitch.es_notify(
        "channel.cheer",
        {
            "is_anonymous": False,
            "user_id": "5",
            "user_login": "old",
            "user_name": "old",
            "broadcaster_user_id": "1001",
            "message": "",
            "bits": 1,
        },
        age=timedelta(minutes=11),
    )
    await wait_until(lambda: conn.stale == 1)
    await fake_twitch.es_notify(
        "channel.cheer",
        {
            "is_anonymous": False,
            "user_id": "6",
            "user_login": "new",
            "user_name": "new",
            "broadcaster_user_id": "1001",
            "message": "",
            "bits": 2,
        },
        age=timedelta(minutes=9),
    )
    await wait_until(lambda: rec.of_type("cheer"))
    assert [c.bits for c in rec.of_type("cheer")] == [2]


async def test_keepalives_keep_the_session_and_silence_ends_it(twitch_harness, fake_twitch):
    fake_twitch.keepalive_seconds = 1
    _h, _, conn = await twitch_harness()
    first = conn.es_session
    await fake_twitch.es_keepalive()
    # No more keepalives: after 1 s + grace the connector gives up and starts afresh.
    await wait_until(lambda: conn.es_keepalive_timeouts == 1, timeout=5)
    await wait_until(lambda: conn.es_state == "connected" and conn.es_session != first, timeout=5)
    assert _subs_for(fake_twitch, conn.es_session) == EXPECTED_TYPES


async def test_session_reconnect_moves_without_resubscribing(twitch_harness, fake_twitch):
    _h, rec, conn = await twitch_harness()
    session = conn.es_session
    subscribed = len(fake_twitch.subscriptions)
    in_flight = fake_twitch.notification(
        "channel.cheer",
        {
            "is_anonymous": False,
            "user_id": "70",
            "user_login": "late",
            "user_name": "Late",
            "broadcaster_user_id": "1001",
            "message": "",
            "bits": 10,
        },
    )
    await fake_twitch.es_session_reconnect(in_flight)
    await wait_until(lambda: fake_twitch.es_connects == 2 and len(fake_twitch.es_connections) == 1)
    assert conn.es_session == session
    assert len(fake_twitch.subscriptions) == subscribed
    await fake_twitch.es_notify(
        "channel.subscribe",
        {
            "user_id": "77",
            "user_login": "moved",
            "user_name": "Moved",
            "broadcaster_user_id": "1001",
            "tier": "1000",
            "is_gift": False,
        },
    )
    await wait_until(lambda: rec.of_type("subscription"))
    assert [c.bits for c in rec.of_type("cheer")] == [10]  # delivered on the old socket


@pytest.mark.parametrize("code", range(4000, 4008))
async def test_close_codes_reconnect_with_a_fresh_session(twitch_harness, fake_twitch, code):
    _h, rec, conn = await twitch_harness()
    first = conn.es_session
    await fake_twitch.es_close(code)
    await wait_until(lambda: conn.es_close_code == code or conn.es_session != first)
    await wait_until(lambda: conn.es_state == "connected" and conn.es_session != first)
    assert conn.es_close_code is None or conn.es_close_code == code
    assert _subs_for(fake_twitch, conn.es_session) == EXPECTED_TYPES
    await fake_twitch.es_notify(
        "channel.cheer",
        {
            "is_anonymous": False,
            "user_id": "8",
            "user_login": "c",
            "user_name": "C",
            "broadcaster_user_id": "1001",
            "message": "",
            "bits": 5,
        },
    )
    await wait_until(lambda: rec.of_type("cheer"))


async def test_revocation_is_recorded_in_status(twitch_harness, fake_twitch):
    _h, _, conn = await twitch_harness()
    await fake_twitch.es_revoke("channel.cheer", "authorization_revoked")
    await wait_until(lambda: conn.es_revoked)
    assert conn.status()["eventsub"]["revoked"] == {"channel.cheer": "authorization_revoked"}
    assert conn.status()["eventsub"]["subscriptions"]["channel.cheer"].startswith("revoked")


async def test_charity_donations_and_progress(twitch_harness, fake_twitch):
    _h, rec, _ = await twitch_harness()
    await fake_twitch.es_notify(
        "channel.charity_campaign.donate",
        {
            "id": "a1b2c3",
            "campaign_id": "camp-1",
            "broadcaster_user_id": "1001",
            "broadcaster_user_login": "streamer",
            "broadcaster_user_name": "Streamer",
            "user_id": "12",
            "user_login": "giver",
            "user_name": "Giver",
            "charity_name": "Example Trust",
            "charity_description": "x",
            "charity_logo": "",
            "charity_website": "https://example.org",
            "amount": {"value": 1050, "decimal_places": 2, "currency": "EUR"},
        },
    )
    await fake_twitch.es_notify(
        "channel.charity_campaign.progress",
        {
            "id": "camp-1",
            "broadcaster_user_id": "1001",
            "charity_name": "Example Trust",
            "current_amount": {"value": 260000, "decimal_places": 2, "currency": "USD"},
            "target_amount": {"value": 1500000, "decimal_places": 2, "currency": "USD"},
        },
    )
    await wait_until(lambda: rec.of_type("donation") and rec.of_type("milestone"))
    [donation] = rec.of_type("donation")
    assert donation.amount.minor == 1050 and donation.amount.currency == "EUR"
    assert donation.campaign == "camp-1" and donation.viewer.name == "Giver"
    assert donation.source_id == "charity:a1b2c3"
    [progress] = rec.of_type("milestone")
    assert (progress.current, progress.target, progress.unit) == (260000, 1500000, "USD")


async def test_eventsub_can_be_switched_off(limelight, fake_twitch):
    from limelight_twitch import TwitchPlugin

    h = await limelight(
        plugins={"twitch": TwitchPlugin},
        config={"plugins": {"twitch": {**fake_twitch.config(), **FAST, "eventsub": False}}},
    )
    conn = h.services.chat.connectors["twitch"]
    await wait_until(lambda: conn.joined)
    assert fake_twitch.es_connects == 0
    assert conn.status()["eventsub"]["state"] == "off"


async def test_a_resub_told_by_both_paths_is_one_event(twitch_harness, fake_twitch):
    h, rec, conn = await twitch_harness()
    await fake_twitch.sample("resub")  # ronni, 6 months, Prime
    await wait_until(lambda: rec.of_type("subscription"))
    await fake_twitch.es_notify(
        "channel.subscription.message",
        {
            "user_id": "87654321",
            "user_login": "ronni",
            "user_name": "ronni",
            "broadcaster_user_id": "1001",
            "tier": "1000",
            "message": {"text": "Great stream -- keep it up!", "emotes": None},
            "cumulative_months": 6,
            "streak_months": 2,
            "duration_months": 1,
        },
    )
    await wait_until(lambda: conn.correlator.twins == 1)
    await h.settle()
    [sub] = rec.of_type("subscription")
    assert sub.months == 6 and sub.tier == "Prime"


async def test_malformed_and_unknown_frames_are_ignored(twitch_harness, fake_twitch):
    _h, rec, conn = await twitch_harness()
    for conn_ in fake_twitch.es_connections:
        await conn_.ws.send_str("{not json")
        await conn_.ws.send_str('{"metadata": {}}')
    await fake_twitch.es_send(fake_twitch.frame("something_new", {}))
    await fake_twitch.es_notify("channel.follow", {"user_id": "1"})  # not subscribed to
    await fake_twitch.es_notify(
        "channel.cheer",
        {
            "is_anonymous": False,
            "user_id": "9",
            "user_login": "z",
            "user_name": "Z",
            "broadcaster_user_id": "1001",
            "message": "",
            "bits": 3,
        },
    )
    await wait_until(lambda: rec.of_type("cheer"))
    assert conn.es_state == "connected" and conn.es_reconnects == 0
