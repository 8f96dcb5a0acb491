"""Reactions to a tip: alert variations per tier, chat thanks (merged in bursts), the
leaderboard and goal, !tip and !top, and moderation and privacy on stream."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from limelight.testing import make_tip, make_viewer

from tests.support import interrupt, start_long_read, wait_until

from .doubles import generic_request, generic_tip, kofi_payload, kofi_request

TIERS = {
    "overlays": {
        "alerts": {
            "variations": [
                {"event": "tip", "name": "small", "text": "{name} tipped {amount}"},
                {
                    "event": "tip",
                    "name": "big",
                    "min_amount": "10.00",
                    "currency": "USD",
                    "text": "BIG TIP from {name}!",
                    "duration_ms": 9000,
                    "image": "/-/theme/img/star.svg",
                },
            ]
        }
    }
}


def _tips_config(**values: Any) -> dict[str, Any]:
    return {"plugins": {"tips": values}}


async def test_alert_variation_follows_the_amount_tier(tips) -> None:
    t = await tips(TIERS)
    await t.h.publish(make_tip("5.00", "USD"))
    await t.h.publish(make_tip("25.00", "USD", viewer="bea"))
    small, big = t.alerts.of("tip")
    assert small["variation"].name == "small"
    assert big["variation"].name == "big"
    assert big["variation"].duration_ms == 9000
    history = await t.h.services.overlays.history("alerts")
    texts = sorted(a["variation"]["text"] for a in history)
    assert "BIG TIP from bea!" in texts


async def test_tier_uses_base_currency_when_the_tip_currency_has_no_tier(tips) -> None:
    config = {**TIERS, **_tips_config(base_currency="USD", rates={"EUR": "1.10"})}
    t = await tips(config)
    await t.h.publish(make_tip("10.00", "EUR"))  # 11.00 USD
    [alert] = t.alerts.of("tip")
    assert alert["variation"].name == "big"


async def test_thanks_for_a_burst_are_merged(tips) -> None:
    t = await tips(_tips_config(thanks_window=0.2))
    for name in ("ann", "ben", "cat"):
        await t.h.publish(make_tip("2.00", "USD", viewer=name))
    await wait_until(lambda: t.h.said, timeout=5)
    assert [m.text for m in t.h.said] == ["Thank you ann, ben and cat for 3 tips!"]
    assert t.h.said[0].priority == "money"


async def test_thanks_template_from_config(tips) -> None:
    t = await tips(_tips_config(thanks_template="<3 {name} ({amount})"))
    await t.h.publish(make_tip("3.00", "EUR", viewer="dora"))
    await wait_until(lambda: t.h.said)
    assert t.h.said[-1].text == "<3 dora (€3.00)"


async def test_leaderboard_state_and_top_command(tips) -> None:
    t = await tips()
    await t.h.publish(make_tip("5.00", "USD", viewer="ann"))
    await t.h.publish(make_tip("20.00", "USD", viewer="ben"))
    await t.h.publish(make_tip("7.00", "USD", viewer="ann"))
    await t.h.publish(make_tip("1.00", "USD", viewer="zed", anonymous=True))
    state = t.h.services.overlays.channel("leaderboard").state

    def ranked() -> bool:
        board = state.get("stream", {}).get("entries", [])
        return [e["name"] for e in board] == ["ben", "ann"]

    await wait_until(ranked)
    assert state["stream"]["entries"][1]["value"] == "$12.00"
    assert set(state) >= {"stream", "month", "all_time"}
    await t.h.chat_as("viewer1", "!top")
    assert t.h.said[-1].text == ("Top supporters (this stream): 1. ben $20.00, 2. ann $12.00")


async def test_the_boards_are_read_beside_the_commits(tips) -> None:
    """The leaderboard and the goal scan the ledger (all of it, for "all time"): on
    SQLite they read on ``ctx.db.reader``, so a long read never holds up the connection
    that commits tips. Here that connection is kept busy with a read that never ends; the
    boards are still computed, and a tip committed once it is free again."""
    t = await tips(_tips_config(goal_target="100"))
    await t.h.publish(make_tip("5.00", "USD", viewer="ann"))
    writer = t.h.services.db.connection
    busy = await start_long_read(writer)
    try:
        boards = t.plugin.boards
        async with asyncio.timeout(60):  # on the busy connection they would wait for ever
            board = await boards.board("all")
            goal = await boards.goal()
        assert [e["name"] for e in board["entries"]] == ["ann"]
        assert goal is not None and goal["current"] == 500
        assert not busy.done()  # all of it while the writing connection was taken
    finally:
        interrupt(writer)
        with pytest.raises(Exception, match="interrupted"):
            await busy
    await t.h.publish(make_tip("7.00", "USD", viewer="ben"))
    board = await t.plugin.boards.board("all")
    assert [e["name"] for e in board["entries"]] == ["ben", "ann"]


async def test_refund_moves_the_leaderboard(tips) -> None:
    t = await tips()
    await t.post(
        "generic",
        *generic_request(
            generic_tip(
                "30.00", "USD", id="t1", viewer={"platform": "twitch", "id": "1", "name": "ann"}
            )
        ),
    )
    await t.post(
        "generic",
        *generic_request(
            generic_tip(
                "10.00", "USD", id="t2", viewer={"platform": "twitch", "id": "2", "name": "ben"}
            )
        ),
    )
    await t.post(
        "generic",
        *generic_request(
            {"id": "r1", "type": "refund", "refund_of": "t1", "amount": "25.00", "currency": "USD"}
        ),
    )
    await t.h.chat_as("viewer1", "!top")
    assert t.h.said[-1].text == ("Top supporters (this stream): 1. ben $10.00, 2. ann $5.00")


async def test_goal_state_in_base_currency(tips) -> None:
    t = await tips(
        _tips_config(
            base_currency="USD", rates={"EUR": "2"}, goal_target="100", goal_title="New mic"
        )
    )
    await t.h.publish(make_tip("10.00", "EUR"))
    await t.h.publish(make_tip("5.00", "USD", viewer="bob"))
    state = t.h.services.overlays.channel("goal").state
    await wait_until(lambda: state.get("tips", {}).get("current") == 2500)
    goal = state["tips"]
    assert (goal["title"], goal["target"], goal["percent"]) == ("New mic", 10000, 25)
    assert goal["label"] == "$25.00 / $100.00"


async def test_tip_link_redirects_to_stripe_with_the_viewer_code(tips) -> None:
    link = "https://buy.stripe.com/test_abc"
    t = await tips(_tips_config(stripe_payment_link=link, link_ttl_minutes=15, kofi_page=""))
    await t.h.chat_as("alice", "!tip")
    reply = t.h.said[-1].text
    assert "valid 15 min" in reply
    url = reply.split("Tip here: ", 1)[1].split(" ", 1)[0]
    path = url.split("://", 1)[1].split("/", 1)[1]
    response = await t.h.client.get("/" + path, allow_redirects=False)
    assert response.status == 302
    code = reply.split("your code ", 1)[1].split(",", 1)[0]
    assert response.headers["Location"] == f"{link}?client_reference_id={code}"
    # The same viewer asking again gets the same code (links are cheap, codes are rows).
    await t.h.chat_as("alice", "!tip")
    assert code in t.h.said[-1].text


async def test_forged_and_expired_tip_links_are_refused(tips) -> None:
    t = await tips(_tips_config(kofi_page="https://ko-fi.com/streamer"))
    links = t.plugin.intake.links
    assert links is not None
    token = links.sign("ABCDEFGH")
    ok = await t.h.client.get(f"/p/tips/go/{token}")
    assert ok.status == 200
    page = await ok.text()
    assert "LL-ABCDEFGH" in page and "https://ko-fi.com/streamer" in page
    forged = await t.h.client.get(f"/p/tips/go/{token[:-2]}xx")
    assert forged.status == 400
    expired = await t.h.client.get(f"/p/tips/go/{links.sign('ABCDEFGH', now=0)}")
    assert expired.status == 410
    assert "expired" in await expired.text()


async def test_word_filter_link_filter_and_minimum_amount(tips) -> None:
    t = await tips(_tips_config(blocked_words=["badword"], min_message_amount="2.00"))
    await t.h.publish(make_tip("5.00", message="you are a BadWord!", viewer="a"))
    await t.h.publish(
        make_tip("5.00", message="see https://evil.example/x or spam.com now", viewer="b")
    )
    await t.h.publish(make_tip("1.00", message="cheap talk", viewer="c"))
    await t.h.publish(make_tip("5.00", message="hello\u202e dlrow\u200b", viewer="d"))
    messages = [a["data"]["message"] for a in t.alerts.of("tip")]
    assert messages == ["", "see [link] or [link] now", "", "hello dlrow"]
    entries = await t.entries()
    assert {e["message"] for e in entries} >= {"you are a BadWord!", "cheap talk"}


async def test_approval_queue_holds_messages_until_the_streamer_decides(tips) -> None:
    t = await tips(_tips_config(approval=True))
    await t.h.publish(make_tip("5.00", message="please read this", viewer="amy"))
    await t.h.publish(make_tip("6.00", message="and this one", viewer="bo"))
    await t.h.publish(make_tip("7.00", viewer="cy"))  # no message: nothing to approve
    assert [a["data"]["name"] for a in t.alerts.of("tip")] == ["cy"]
    response = await t.h.client.get("/api/tips/queue", headers=t.h.admin_headers)
    pending = (await response.json())["pending"]
    assert [p["message"] for p in pending] == ["please read this", "and this one"]
    first, second = pending
    ok = await t.h.client.post(f"/api/tips/queue/{first['id']}/approve", headers=t.h.admin_headers)
    assert ok.status == 200
    ok = await t.h.client.post(f"/api/tips/queue/{second['id']}/reject", headers=t.h.admin_headers)
    assert ok.status == 200
    again = await t.h.client.post(
        f"/api/tips/queue/{first['id']}/approve", headers=t.h.admin_headers
    )
    assert again.status == 409
    shown = [(a["data"]["name"], a["data"]["message"]) for a in t.alerts.of("tip")]
    assert shown == [("cy", ""), ("amy", "please read this"), ("bo", "")]


async def test_viewer_opt_out_hides_their_name_on_stream(tips) -> None:
    t = await tips()
    await t.h.chat_as("shy", "!tipname hide")
    assert t.h.said[-1].text == "Your name will not be shown on stream with your tips."
    await t.h.publish(make_tip("50.00", viewer="shy"))
    [alert] = t.alerts.of("tip")
    assert alert["data"]["name"] == "Anonymous"
    state = t.h.services.overlays.channel("leaderboard").state
    await wait_until(lambda: state.get("stream", {}).get("entries"))
    assert state["stream"]["entries"][0]["name"] == "Anonymous supporter"
    await t.h.chat_as("shy", "!tipname show")
    await t.h.publish(make_tip("1.00", viewer="shy"))
    assert t.alerts.of("tip")[-1]["data"]["name"] == "shy"


async def test_text_to_speech_is_off_by_default(tips) -> None:
    t = await tips()
    await t.h.publish(make_tip("5.00", message="say this"))
    assert "tts" not in t.alerts.of("tip")[-1]["data"]


async def test_text_to_speech_kill_switch_stops_speech(tips) -> None:
    t = await tips(_tips_config(tts=True))
    sent: list[tuple[str, str, dict[str, Any]]] = []
    service = t.h.services.overlays
    original_send = service.send

    async def spy(overlay: str, kind: str, data: dict[str, Any]) -> None:
        sent.append((overlay, kind, data))
        await original_send(overlay, kind, data)

    service.send = spy
    await t.h.publish(make_tip("5.00", message="say this"))
    assert t.alerts.of("tip")[-1]["data"]["tts"] == "say this"
    assert ("tips-tts", "tts.say", {"text": "say this"}) in sent
    response = await t.h.client.post(
        "/api/tips/tts", json={"killed": True}, headers=t.h.admin_headers
    )
    assert (await response.json()) == {"configured": True, "killed": True, "speaking": False}
    assert ("tips-tts", "tts.stop", {}) in sent
    await t.h.publish(make_tip("5.00", message="not this"))
    assert "tts" not in t.alerts.of("tip")[-1]["data"]


async def test_test_tip_shows_an_alert_but_writes_no_ledger(tips) -> None:
    t = await tips()
    status, body = await t.h.post_event(
        {
            "type": "tip",
            "test": True,
            "source": "simulate",
            "viewer": {"platform": "simulate", "id": "t", "name": "Tester"},
            "data": {"amount": "5.00", "currency": "USD", "message": "test!"},
        }
    )
    assert status == 201, body
    [alert] = t.alerts.of("tip")
    assert alert["test"] is True
    assert await t.entries() == []
    assert t.h.said == []  # simulated tips are not thanked in the real chat


async def test_test_tip_writes_nothing_durable_and_skips_the_approval_queue(tips) -> None:
    from limelight.models import OverlayAlert, Viewer
    from limelight_tips.models import PendingAlert

    t = await tips(_tips_config(approval=True))
    await t.h.publish(make_tip("5.00", viewer="newcomer", message="hello stream", test=True))
    [alert] = t.alerts.of("tip")
    assert (alert["test"], alert["data"]["message"]) == (True, "hello stream")
    assert await t.entries() == []
    assert await PendingAlert.all().count() == 0
    assert await Viewer.all().count() == 0  # not even the viewer it names
    assert await OverlayAlert.all().count() == 0  # a test alert lives in memory only
    assert t.h.said == []


async def test_real_tip_after_a_test_tip_with_the_same_id_is_recorded(tips) -> None:
    t = await tips()
    payload = kofi_payload(txid="same-id")
    await t.h.publish(make_tip("5.00", source="kofi", source_id="same-id", test=True))
    status, body = await t.post("kofi", *kofi_request(payload))
    assert (status, body["duplicates"]) == (200, 0)
    assert len(await t.entries()) == 1


async def test_webhook_deliveries_reach_the_overlay_page_without_raw_fields(tips) -> None:
    t = await tips()
    await t.post(
        "kofi", *kofi_request(kofi_payload(from_name="Pat", is_public=False, message="private"))
    )
    history = await t.h.services.overlays.history("alerts")
    assert len(history) == 1
    text = repr(history[0])
    assert "Pat" not in text and "private" not in text and "@example.com" not in text


def test_thanks_join_many_names() -> None:
    from limelight_tips.thanks import join_names

    assert join_names(["a"]) == "a"
    assert join_names(["a", "b"]) == "a and b"
    assert join_names([str(i) for i in range(8)]) == "0, 1, 2, 3 and 4 others"


async def test_make_viewer_matches_chat(tips) -> None:
    # make_tip and chat_as agree on identities, so a tip and a command are one person.
    t = await tips()
    await t.h.publish(make_tip("4.00", viewer=make_viewer("ivy")))
    await t.h.chat_as("ivy", "!top")
    assert "ivy $4.00" in t.h.said[-1].text


async def test_command_examples_hold(tips) -> None:
    from limelight.testing import run_examples

    t = await tips()
    assert not await run_examples(t.h, "tips")


async def test_tip_command_says_when_no_tip_page_is_set_up(tips) -> None:
    t = await tips(_tips_config(kofi_page=""))
    await t.h.chat_as("alice", "!tip")
    assert t.h.said[-1].text == "Tipping is not set up here yet."


async def test_a_slow_refresh_backs_off_but_never_leaves_the_boards_stale_for_long(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Under a burst a refresh may wait seconds for the database; the next one waits
    longer (the database is busy) but at most LEADERBOARD_MAX_WAIT, so the leaderboard
    and the goal catch up soon after the burst (a 4 s stall once meant 17 s stale)."""
    from limelight_tips import boards

    clock = iter([0.0, 30.0, 30.0, 30.1])  # the first refresh "took" 30 s, the second 0.1 s
    monkeypatch.setattr(boards, "time", SimpleNamespace(monotonic=lambda: next(clock)))
    waits: list[float] = []
    plain_sleep = asyncio.sleep

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 2:
            raise asyncio.CancelledError
        await plain_sleep(0)

    monkeypatch.setattr(boards, "asyncio", SimpleNamespace(sleep=sleep))
    board = boards.Boards.__new__(boards.Boards)
    board._dirty = asyncio.Event()
    refreshed: list[int] = []

    async def refresh() -> None:
        refreshed.append(1)
        board._dirty.set()  # more changes keep coming

    board.refresh = refresh  # type: ignore[method-assign]
    board._dirty.set()
    with pytest.raises(asyncio.CancelledError):
        await board._refresh_loop()
    assert len(refreshed) == 2
    assert waits == [boards.LEADERBOARD_MAX_WAIT, boards.LEADERBOARD_INTERVAL]
