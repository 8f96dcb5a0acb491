"""Durable delivery over the overlay WebSocket: ack, replay, age limit, restarts, several
pages, test alerts, duplicates, state and live messages, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from limelight.models import OverlayAlert
from limelight.overlays.outbox import utcnow
from limelight.testing import OVERLAY_TOKEN, make_tip
from limelight_alerts import AlertsPlugin

from ..support import wait_until

WS = f"/overlays/ws?token={OVERLAY_TOKEN}&overlay="


async def receive(ws: aiohttp.ClientWebSocketResponse, timeout: float = 5.0) -> dict[str, Any]:
    return await asyncio.wait_for(ws.receive_json(), timeout)


async def receive_type(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    while True:
        message = await receive(ws)
        if message["type"] == kind:
            return message


async def connect(
    h: Any, overlay: str = "alerts", since: int | None = None
) -> tuple[aiohttp.ClientWebSocketResponse, dict[str, Any], list[dict[str, Any]]]:
    """Open a page's socket; return it, the hello and the replayed alerts."""
    url = WS + overlay + (f"&since={since}" if since is not None else "")
    ws = await h.client.ws_connect(url)
    hello = await receive(ws)
    assert hello["type"] == "hello"
    replay = [await receive(ws) for _ in range(hello["replay"])]
    return ws, hello, replay


async def start(limelight: Any, **kw: Any) -> Any:
    return await limelight(plugins={"alerts": AlertsPlugin}, **kw)


async def test_alert_is_stored_sent_and_acked(limelight, database_url) -> None:
    h = await start(limelight, database_url=database_url)
    ws, hello, replay = await connect(h)
    assert replay == [] and hello["paused"] is False
    alert_id = await h.services.overlays.alert(
        "alerts", kind="tip", data={"name": "Ann", "amount": "5.00", "currency": "USD"}
    )
    message = await receive(ws)
    assert message["id"] == alert_id > 0
    assert message["variation"]["text"] == "Ann tipped $5.00!"
    row = await OverlayAlert.get(id=alert_id)
    assert row.status == "queued"
    await ws.send_json({"type": "ack", "id": alert_id})
    await wait_until(_status_is(alert_id, "shown"))
    await ws.close()


def _status_is(alert_id: int, status: str) -> Any:
    async def check() -> bool:
        return (await OverlayAlert.get(id=alert_id)).status == status

    return check


async def test_reconnect_replays_after_since_in_order(limelight, database_url) -> None:
    h = await start(limelight, database_url=database_url)
    overlays = h.services.overlays
    ids = [
        await overlays.alert("alerts", kind="raid", data={"name": f"r{i}", "viewers": i})
        for i in range(6)
    ]
    ws, hello, replay = await connect(h, since=ids[1])
    assert [a["id"] for a in replay] == ids[2:]
    assert hello["replay"] == 4 and hello["since"] == ids[1]
    await ws.close()


async def test_new_page_without_since_gets_only_unshown_alerts(limelight) -> None:
    h = await start(limelight)
    overlays = h.services.overlays
    first = await overlays.alert("alerts", kind="raid", data={"name": "a", "viewers": 1})
    second = await overlays.alert("alerts", kind="raid", data={"name": "b", "viewers": 2})
    await overlays.outbox.mark_shown("alerts", [first])
    ws, _, replay = await connect(h)
    assert [a["id"] for a in replay] == [second]
    await ws.close()


async def test_alerts_older_than_replay_age_are_not_replayed_but_counted(limelight) -> None:
    h = await start(limelight, config={"overlays": {"replay_max_age": 60}})
    overlays = h.services.overlays
    old = await overlays.alert("alerts", kind="raid", data={"name": "old", "viewers": 1})
    young = await overlays.alert("alerts", kind="raid", data={"name": "new", "viewers": 2})
    await OverlayAlert.filter(id=old).update(created_at=utcnow() - timedelta(seconds=61))
    ws, hello, replay = await connect(h, since=0)
    assert [a["id"] for a in replay] == [young]
    assert hello["expired"] == 1
    await ws.close()


async def test_alerts_survive_a_restart(limelight, database_url) -> None:
    h = await start(limelight, database_url=database_url)
    alert_id = await h.services.overlays.alert(
        "alerts", kind="raid", data={"name": "x", "viewers": 3}
    )
    await h.close()
    h2 = await start(limelight, database_url=database_url)
    ws, hello, replay = await connect(h2, since=alert_id - 1)
    assert [a["id"] for a in replay] == [alert_id]
    assert hello["boot"] != h.services.overlays.boot
    await ws.close()


async def test_a_paused_overlay_stays_paused_after_a_restart(limelight, database_url) -> None:
    h = await start(limelight, database_url=database_url)
    admin = h.admin_headers
    assert (await h.client.post("/api/overlays/alerts/pause", headers=admin)).status == 200
    await h.close()

    h2 = await start(limelight, database_url=database_url)
    ws, hello, _ = await connect(h2)
    assert hello["paused"] is True, "a restart resumed an overlay the streamer had paused"
    await ws.close()
    assert (await h2.client.post("/api/overlays/alerts/resume", headers=admin)).status == 200
    await h2.close()

    h3 = await start(limelight, database_url=database_url)
    ws, hello, _ = await connect(h3)
    assert hello["paused"] is False
    await ws.close()


async def test_several_pages_on_one_overlay_each_get_everything(limelight) -> None:
    h = await start(limelight)
    pages = [await connect(h) for _ in range(3)]
    ids = [
        await h.services.overlays.alert("alerts", kind="raid", data={"name": str(i), "viewers": i})
        for i in range(5)
    ]
    for ws, _, _ in pages:
        got = [(await receive(ws))["id"] for _ in ids]
        assert got == ids
    # One page acking (showing) an alert does not take it from a page that reconnects.
    await pages[0][0].send_json({"type": "ack", "id": ids[0]})
    ws, _, replay = await connect(h, since=0)
    assert [a["id"] for a in replay] == ids
    for page in [*pages, (ws,)]:
        await page[0].close()


async def test_test_alerts_stay_in_memory_with_negative_ids(limelight) -> None:
    h = await start(limelight)
    overlays = h.services.overlays
    real = await overlays.alert("alerts", kind="raid", data={"name": "r", "viewers": 1})
    test = await overlays.test_alert("alerts", "tip")
    assert test < 0
    assert await OverlayAlert.all().count() == 1
    ws, _, replay = await connect(h, since=real)
    assert [a["id"] for a in replay] == [test]
    assert replay[0]["test"] is True
    await ws.close()


async def test_an_event_dispatched_twice_queues_one_alert(limelight) -> None:
    h = await start(limelight)
    overlays = h.services.overlays
    tip = make_tip("3.00")
    await h.publish(tip)
    first = await overlays.alert("alerts", kind="tip", data={"name": "a"}, event=tip)
    again = await overlays.alert("alerts", kind="tip", data={"name": "a"}, event=tip)
    assert first == again
    assert await OverlayAlert.filter(kind="tip").count() == 1


async def test_test_event_alert_is_a_test_alert(limelight) -> None:
    h = await start(limelight)
    tip = make_tip("3.00", test=True)
    alert_id = await h.services.overlays.alert("alerts", kind="tip", data={}, event=tip)
    assert alert_id < 0
    assert await OverlayAlert.all().count() == 0


async def test_state_snapshot_on_connect_and_live_updates(limelight) -> None:
    h = await start(limelight)
    overlays = h.services.overlays
    await overlays.set_state("leaderboard", "stream", {"title": "Top", "entries": []})
    ws, hello, _ = await connect(h, "leaderboard")
    assert hello["state"] == {"stream": {"title": "Top", "entries": []}}
    await overlays.set_state(
        "leaderboard", "stream", {"title": "Top", "entries": [{"name": "Ann", "value": "$5.00"}]}
    )
    message = await receive(ws)
    assert message == {
        "type": "state",
        "key": "stream",
        "data": {"title": "Top", "entries": [{"name": "Ann", "value": "$5.00"}]},
    }
    await overlays.clear_state("leaderboard", "stream")
    assert (await receive(ws))["data"] is None
    await ws.close()


async def test_live_messages_are_not_replayed(limelight) -> None:
    h = await start(limelight)
    overlays = h.services.overlays
    ws, _, _ = await connect(h, "chat")
    await overlays.send("chat", "shoutout", {"text": "hi"})
    assert await receive(ws) == {"type": "live", "kind": "shoutout", "data": {"text": "hi"}}
    await ws.close()
    ws2, hello, replay = await connect(h, "chat", since=0)
    assert replay == [] and hello["state"] == {}
    await ws2.close()


async def test_oversized_or_invalid_messages_are_refused(limelight) -> None:
    from limelight.overlays import OverlayError

    h = await start(limelight)
    overlays = h.services.overlays
    with pytest.raises(OverlayError):
        await overlays.alert("alerts", kind="tip", data={"message": "x" * 70_000})
    with pytest.raises(OverlayError):
        await overlays.alert("Bad Name!", kind="tip", data={})
    with pytest.raises(OverlayError):
        await overlays.send("chat", "bad kind with spaces", {})


async def test_garbage_from_a_page_is_ignored(limelight) -> None:
    h = await start(limelight)
    ws, _, _ = await connect(h)
    for junk in (
        "not json",
        "[]",
        '{"type": "ack", "id": "1"}',
        '{"type": "ack", "id": true}',
        '{"type": "other"}',
    ):
        await ws.send_str(junk)
    alert_id = await h.services.overlays.alert(
        "alerts", kind="raid", data={"name": "x", "viewers": 1}
    )
    assert (await receive(ws))["id"] == alert_id
    await ws.close()


async def test_replay_limit_keeps_the_newest(limelight, monkeypatch) -> None:
    from limelight.overlays import outbox

    monkeypatch.setattr(outbox, "REPLAY_LIMIT", 3)
    h = await start(limelight)
    ids = [
        await h.services.overlays.alert("alerts", kind="raid", data={"name": str(i), "viewers": i})
        for i in range(5)
    ]
    ws, _, replay = await connect(h, since=0)
    assert [a["id"] for a in replay] == ids[-3:]
    await ws.close()


async def test_server_stop_closes_pages(limelight) -> None:
    h = await start(limelight)
    ws, _, _ = await connect(h)
    await h.close()
    message = await asyncio.wait_for(ws.receive(), 5)
    assert message.type in (
        aiohttp.WSMsgType.CLOSE,
        aiohttp.WSMsgType.CLOSED,
        aiohttp.WSMsgType.CLOSING,
    )


async def test_history_pruning_keeps_the_newest_alert(limelight) -> None:
    h = await start(limelight, config={"overlays": {"history_days": 1}})
    overlays = h.services.overlays
    ids = [
        await overlays.alert("alerts", kind="raid", data={"name": str(i), "viewers": i})
        for i in range(3)
    ]
    await OverlayAlert.all().update(created_at=utcnow() - timedelta(days=2))
    await overlays.outbox.start()
    assert [a.id for a in await OverlayAlert.all()] == [ids[-1]]
    ws, hello, _ = await connect(h)
    assert hello["last_id"] == ids[-1]
    await ws.close()


async def test_a_page_repeats_recent_acks_in_one_message(limelight) -> None:
    h = await start(limelight)
    overlays = h.services.overlays
    ids = [
        await overlays.alert("alerts", kind="raid", data={"name": str(i), "viewers": i})
        for i in range(3)
    ]
    test_id = await overlays.test_alert("alerts")
    ws, _, _ = await connect(h, since=0)
    await ws.send_json({"type": "ack", "ids": [*ids[:2], test_id, "x", True]})
    await wait_until(lambda: _pending(overlays, 1))
    assert (await OverlayAlert.get(id=ids[2])).status == "queued"
    await ws.close()


async def _pending(overlays: Any, count: int) -> bool:
    return await overlays.pending("alerts") == count
