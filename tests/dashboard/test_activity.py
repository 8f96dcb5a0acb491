"""The activity feed's API: every core event type in words (no raw type names, no JSON),
amounts through the one money formatter, plugins' types through their declared label and
describe template, and the alerts an event played for the replay button."""

from __future__ import annotations

from limelight import EventType
from limelight.events import EVENT_TYPES
from limelight.testing import HookPlugin
from limelight_alerts import AlertsPlugin

from .feed_cases import CASES


async def test_every_core_type_reads_in_words(limelight) -> None:
    assert {c[0]["type"] for c in CASES} == set(EVENT_TYPES)  # a new type needs words too
    h = await limelight({"alerts": AlertsPlugin})
    for n, (event, *_rest) in enumerate(CASES):
        status, _ = await h.post_event({**event, "source_id": f"feed-{n}"})
        assert status == 201, event
    r = await h.client.get("/api/activity?limit=50", headers=h.admin_headers)
    assert r.status == 200
    body = await r.json()
    by_type = {e["type"]: e for e in body["events"]}
    for event, label, text, detail in CASES:
        line = by_type[event["type"]]
        assert (line["label"], line["text"], line["detail"]) == (label, text, detail)
        assert line["icon"] and "{" not in line["text"]
    labels = {t["type"]: t["label"] for t in body["types"]}
    assert labels["membership.changed"] == "New member"
    # the raid and the cheer played alerts: the feed offers to replay them
    assert by_type["raid"]["alerts"] and by_type["raid"]["alerts"][0]["overlay"] == "alerts"
    assert by_type["chat.message"]["alerts"] == []
    r = await h.client.get("/api/activity?type=raid", headers=h.admin_headers)
    assert [e["type"] for e in (await r.json())["events"]] == ["raid"]
    r = await h.client.get("/api/activity?type=nope", headers=h.admin_headers)
    assert r.status == 400


async def test_plugin_types_read_through_their_declared_words(limelight) -> None:
    def types(register):  # type: ignore[no-untyped-def]
        register(
            EventType(
                "shop.drop_started",
                label="Drop started",
                describe="{item} is on sale for {amount}: {stock} left",
                icon="bag",
            )
        )
        register(EventType("shop.sold_out"))
        register(
            EventType(
                "shop.goal_met",
                describe="Sales passed {at} ({amount} today, {total} in all)",
                amounts=("at", "total"),
            )
        )

    h = await limelight(plugins={"shop": HookPlugin(register_event_types=types)})
    await h.post_event(
        {
            "type": "shop.drop_started",
            "source_id": "d-1",
            "data": {"item": "Hoodie", "stock": 20, "amount": "45.00", "currency": "USD"},
        }
    )
    await h.post_event({"type": "shop.sold_out", "source_id": "s-1", "data": {"item": "Hoodie"}})
    # a drop started event without the stock its line names (logged by an older version)
    await h.post_event(
        {"type": "shop.drop_started", "source_id": "d-0", "data": {"item": "Cap", "amount": "9"}}
    )
    await h.post_event(
        {
            "type": "shop.goal_met",
            "source_id": "g-1",
            "data": {"at": "500.00", "amount": "45.00", "total": "512.50", "currency": "EUR"},
        }
    )
    body = await (await h.client.get("/api/activity", headers=h.admin_headers)).json()
    lines = {e["type"]: e for e in body["events"]}
    newest_first = [e["text"] for e in body["events"] if e["type"] == "shop.drop_started"]
    # its label, not "Cap is on sale for $9.00:  left"
    assert newest_first == ["Drop started", "Hoodie is on sale for $45.00: 20 left"]
    assert lines["shop.drop_started"]["label"] == "Drop started"
    assert lines["shop.drop_started"]["text"] == "Hoodie is on sale for $45.00: 20 left"
    assert lines["shop.drop_started"]["icon"] == "bag"
    assert lines["shop.sold_out"]["label"] == "Shop: sold out"
    assert "Hoodie" not in lines["shop.sold_out"]["text"]  # no raw data dumped
    # the keys a type names in ``amounts`` read as money; the others stay as they are
    assert lines["shop.goal_met"]["text"] == "Sales passed €500.00 (45.00 today, €512.50 in all)"


async def test_a_merch_gift_reads_as_a_gift(limelight) -> None:
    """Merch bought as gifts for chat (a Fourthwall gift purchase) is named a gift, with
    the gift icon; an ordinary order still reads as bought."""
    h = await limelight()
    viewer = {"platform": "fourthwall", "id": "f-1", "name": "<i>Gifter</i>"}
    for sid, gift in (("gift-1", True), ("order-1", False)):
        status, _ = await h.post_event(
            {
                "type": "merch.order",
                "source_id": sid,
                "viewer": viewer,
                "data": {
                    "item": "Hoodie",
                    "amount": "75.00",
                    "currency": "USD",
                    "quantity": 3,
                    "provider": "fourthwall",
                    "gift": gift,
                },
            }
        )
        assert status == 201
    body = await (await h.client.get("/api/activity", headers=h.admin_headers)).json()
    order, gift = body["events"]  # newest first
    assert (gift["icon"], gift["label"]) == ("gift", "Merch gift")
    assert gift["text"] == "<i>Gifter</i> gifted 3 \u00d7 Hoodie to chat ($75.00)"
    assert (order["icon"], order["label"]) == ("bag", "Merch order")
    assert order["text"] == "<i>Gifter</i> bought 3 \u00d7 Hoodie ($75.00)"


async def test_a_merch_order_reads_with_the_products_name(limelight) -> None:
    """The feed names what was bought as the buyer saw it (``item_name``), not its SKU."""
    h = await limelight()
    status, _ = await h.post_event(
        {
            "type": "merch.order",
            "source_id": "order-2",
            "viewer": {"platform": "stripe", "id": "s-1", "name": "Ann"},
            "data": {
                "item": "night-owl-cap",
                "item_name": "Night owl cap",
                "amount": "25.00",
                "currency": "USD",
            },
        }
    )
    assert status == 201
    body = await (await h.client.get("/api/activity", headers=h.admin_headers)).json()
    [line] = body["events"]
    assert line["text"] == "Ann bought Night owl cap ($25.00)"
