"""Orders from every provider are committed once; stock settles in the same transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from limelight.models import EventRecord
from limelight_shop import stock
from limelight_shop.models import DropItem, Guest, Order, Reservation
from limelight_shop.providers import FOURTHWALL_MAX_BODY

from tests.tips.doubles import kofi_payload, kofi_request

from .conftest import viewer
from .doubles import (
    Offer,
    charge_refunded,
    fourthwall_gift,
    fourthwall_order,
    fourthwall_request,
    fourthwall_updated,
    session_completed,
    stripe_request,
)


async def _claim(s, name: str = "alice", sku: str = "hoodie"):
    outcome = await s.plugin.drops.claim(viewer(name), sku)
    assert outcome.reservation is not None, outcome.refused
    return outcome.reservation


async def test_stripe_order_five_times_at_once_is_one_order(shop, database_url) -> None:
    s = await shop(database_url=database_url)
    drop = await s.drop([(await s.product(), "", 5)])
    reservation = await _claim(s)
    body, headers = stripe_request(session_completed(reservation.code))
    answers = await asyncio.gather(
        *(s.h.client.post("/webhooks/shop-stripe", data=body, headers=headers) for _ in range(5))
    )
    assert all(a.status == 200 for a in answers), [a.status for a in answers]
    await s.h.settle()
    orders = await Order.all()
    assert len(orders) == 1
    assert orders[0].status == "paid" and orders[0].buyer_name == "alice"
    assert (await Reservation.get(id=reservation.id)).status == "paid"
    assert await s.left(drop) == 4
    assert any("Thank you alice for buying Logo hoodie" in m.text for m in s.h.said)
    # the alert names the product as the buyer saw it, not its SKU
    history = await s.h.services.overlays.outbox.history("alerts")
    [alert] = [a for a in history if a.kind == "merch.order"]
    assert alert.variation["text"] == "alice bought Logo hoodie!"


async def test_bad_signatures_are_refused_and_write_nothing(shop) -> None:
    s = await shop()
    body, headers = stripe_request(session_completed("ABCDEFGH"), secret="whsec_wrong")
    status, _ = await s.post("shop-stripe", body, headers)
    assert status == 401
    body, headers = fourthwall_request(fourthwall_order(), secret="wrong-secret")
    status, _ = await s.post("fourthwall", body, headers)
    assert status == 401
    body, headers = fourthwall_request(fourthwall_order())
    headers.pop("X-Fourthwall-Hmac-SHA256")
    status, _ = await s.post("fourthwall", body, headers)
    assert status == 401
    assert await Order.all().count() == 0


async def test_stripe_objects_of_other_plugins_are_ignored(shop) -> None:
    s = await shop()
    event = session_completed("ABCDEFGH")
    event["data"]["object"]["metadata"] = {"limelight": "tips"}
    status, _ = await s.post("shop-stripe", *stripe_request(event))
    assert status == 200
    assert await Order.all().count() == 0


async def test_late_payment_with_stock_left_is_honoured(shop) -> None:
    s = await shop()
    drop = await s.drop([(await s.product(), "", 2)])
    reservation = await _claim(s)
    await Reservation.filter(id=reservation.id).update(
        expires_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    await s.plugin.drops.expire(reservation.id)
    assert await s.left(drop) == 2
    await s.post("shop-stripe", *stripe_request(session_completed(reservation.code)))
    order = await Order.get()
    assert order.status == "paid" and "ran out" in order.note
    assert await s.left(drop) == 1


async def test_late_payment_with_stock_gone_is_flagged_not_sold(shop, database_url) -> None:
    s = await shop(database_url=database_url)
    drop = await s.drop([(await s.product(), "", 1)])
    late = await _claim(s, "alice")
    await Reservation.filter(id=late.id).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    await s.plugin.drops.expire(late.id)
    bob = await _claim(s, "bob")  # the unit went to bob
    await s.post("shop-stripe", *stripe_request(session_completed(bob.code, name="Bob")))
    await s.post("shop-stripe", *stripe_request(session_completed(late.code)))
    orders = {o.buyer_name: o for o in await Order.all()}
    assert orders["bob"].status == "paid"
    assert orders["alice"].status == "refund_due"
    assert "refund it" in orders["alice"].note
    assert await s.left(drop) == 0
    # the dashboard lists it as a refund to handle
    response = await s.h.client.get("/api/shop/orders", headers=s.h.admin_headers)
    body = await response.json()
    assert body["refund_due"] == 1


async def _refund_due_events(s) -> list[dict]:
    response = await s.h.client.get("/api/events?type=shop.refund_due", headers=s.h.admin_headers)
    assert response.status == 200
    return (await response.json())["events"]


async def test_a_flagged_order_is_told_to_the_streamer_not_the_stream(shop, database_url) -> None:
    s = await shop(database_url=database_url)
    await s.drop([(await s.product(), "", 1)])
    late = await _claim(s, "alice")
    await Reservation.filter(id=late.id).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    await s.plugin.drops.expire(late.id)
    bob = await _claim(s, "bob")
    await s.post("shop-stripe", *stripe_request(session_completed(bob.code, name="Bob")))
    said_before = len(s.h.said)
    late_payment = stripe_request(session_completed(late.code))
    for _ in range(3):  # Stripe's retries: told once
        await s.post("shop-stripe", *late_payment)
    order = await Order.get(status="refund_due")
    # the event, once, with what the streamer needs to refund it
    [event] = await _refund_due_events(s)
    data = event["data"]
    assert data["order"] == order.id and data["provider"] == "shop-stripe"
    assert (data["amount"], data["currency"], data["due"]) == ("25.00", "EUR", 1)
    assert "refund it" in data["reason"] and data["item"] == "Logo hoodie"
    assert event["viewer"]["name"] == "alice"
    # the activity feed reads it in words
    response = await s.h.client.get("/api/activity?limit=10", headers=s.h.admin_headers)
    lines = [e for e in (await response.json())["events"] if e["type"] == "shop.refund_due"]
    assert lines and lines[0]["label"] == "Refund needed", lines
    assert lines[0]["text"].startswith("Refund needed: alice, Logo hoodie"), lines[0]
    # not on stream: no chat line, no alert
    assert not any("refund" in m.text.lower() for m in s.h.said[said_before:]), s.h.said
    history = await s.h.services.overlays.outbox.history("alerts")
    assert "shop.refund_due" not in [a.kind for a in history]
    # the dashboard page says it, with the count, before any script runs
    page = await s.h.client.get("/p/shop/", headers=s.h.admin_headers)
    html = await page.text()
    assert "Refund needed: 1 order<" in html and 'class="card warning"' in html
    # marked refunded by hand: off the list, nothing more published
    response = await s.h.client.post(
        f"/api/shop/orders/{order.id}/refunded", json={}, headers=s.h.admin_headers
    )
    assert response.status == 200
    due = await s.h.client.get("/api/shop/orders?status=refund_due", headers=s.h.admin_headers)
    assert (await due.json())["refund_due"] == 0
    html = await (await s.h.client.get("/p/shop/", headers=s.h.admin_headers)).text()
    assert "Refund needed" not in html and "Refunds to handle" in html
    assert len(await _refund_due_events(s)) == 1


async def test_refund_returns_the_unit_while_the_drop_is_open(shop, database_url) -> None:
    s = await shop(database_url=database_url)
    drop = await s.drop([(await s.product(), "", 1)])
    reservation = await _claim(s)
    event = session_completed(reservation.code)
    intent = event["data"]["object"]["payment_intent"]
    await s.post("shop-stripe", *stripe_request(event))
    assert await s.left(drop) == 0
    assert (await s.plugin.drops.claim(viewer("bob"), "hoodie")).refused == "sold out"
    for _ in range(2):  # Stripe retries: one refund
        status, _ = await s.post("shop-stripe", *stripe_request(charge_refunded(intent)))
        assert status == 200
    order = await Order.get()
    assert order.status == "refunded"
    assert await s.left(drop) == 1
    assert (await s.plugin.drops.claim(viewer("bob"), "hoodie")).reservation is not None


async def test_partial_refund_keeps_the_unit_sold_and_a_full_one_returns_it(
    shop, database_url
) -> None:
    s = await shop(database_url=database_url)
    drop = await s.drop([(await s.product(), "", 1)])
    reservation = await _claim(s)
    event = session_completed(reservation.code, 2500)
    intent = event["data"]["object"]["payment_intent"]
    await s.post("shop-stripe", *stripe_request(event))
    charge = "ch_partial0000000001"
    for _ in range(2):  # a partial refund of 5.00 (and Stripe's retry of it)
        status, _ = await s.post(
            "shop-stripe",
            *stripe_request(charge_refunded(intent, 2500, refunded=500, charge=charge)),
        )
        assert status == 200
    order = await Order.get()
    assert (order.status, order.refunded_minor) == ("paid", 500)
    assert (await Reservation.get(id=reservation.id)).status == "paid"
    assert await s.left(drop) == 0  # the buyer keeps the hoodie
    assert (await s.plugin.drops.claim(viewer("bob"), "hoodie")).refused == "sold out"
    response = await s.h.client.get("/api/shop/orders", headers=s.h.admin_headers)
    row = (await response.json())["orders"][0]
    assert (row["status"], row["refunded"]) == ("paid", "5.00")
    # the rest is refunded too: now the unit is back
    await s.post(
        "shop-stripe", *stripe_request(charge_refunded(intent, 2500, refunded=2500, charge=charge))
    )
    order = await Order.get()
    assert (order.status, order.refunded_minor) == ("refunded", 2500)
    assert await s.left(drop) == 1
    # a late delivery of the partial one changes nothing
    await s.post(
        "shop-stripe", *stripe_request(charge_refunded(intent, 2500, refunded=500, charge=charge))
    )
    order = await Order.get()
    assert (order.status, order.refunded_minor) == ("refunded", 2500)
    assert await s.left(drop) == 1


async def test_refund_after_the_drop_ended_keeps_the_stock(shop) -> None:
    s = await shop()
    drop = await s.drop([(await s.product(), "", 2)])
    reservation = await _claim(s)
    event = session_completed(reservation.code)
    await s.post("shop-stripe", *stripe_request(event))
    await s.plugin.drops.end(drop.id)
    await s.post(
        "shop-stripe", *stripe_request(charge_refunded(event["data"]["object"]["payment_intent"]))
    )
    assert (await Order.get()).status == "refunded"
    assert await s.left(drop) == 1


async def test_fourthwall_order_five_times_at_once_is_one_order(shop, database_url) -> None:
    s = await shop(database_url=database_url)
    drop = await s.drop([(await s.product(), "", 3)])
    reservation = await _claim(s)
    body, headers = fourthwall_request(fourthwall_order(f"for stream! SH-{reservation.code}"))
    answers = await asyncio.gather(
        *(s.h.client.post("/webhooks/fourthwall", data=body, headers=headers) for _ in range(5))
    )
    assert all(a.status == 200 for a in answers)
    await s.h.settle()
    orders = await Order.all()
    assert len(orders) == 1 and orders[0].status == "paid"
    assert orders[0].buyer_name == "alice"  # linked to the chat viewer by the code
    assert await s.left(drop) == 2


async def test_fourthwall_order_without_a_claim_takes_stock_or_is_flagged(shop) -> None:
    s = await shop()
    drop = await s.drop([(await s.product(), "", 1)])
    await s.post("fourthwall", *fourthwall_request(fourthwall_order(name="first")))
    await s.post("fourthwall", *fourthwall_request(fourthwall_order(name="second")))
    orders = {o.buyer_name: o.status for o in await Order.all()}
    assert orders == {"first": "paid", "second": "refund_due"}
    assert await s.left(drop) == 0


async def test_buyers_are_named_by_their_claim_or_public_name_never_their_billing_name(
    shop,
) -> None:
    """What a buyer is called on stream (the alert, the chat thanks, the dashboard): the
    chat viewer who claimed with the code the order carries, else the public name the
    buyer gave the shop, else "<Provider> supporter"; never the billing name from the
    checkout (Stripe's ``customer_details.name``, Fourthwall's billing address)."""
    s = await shop()
    await s.drop([(await s.product(), "", 10)])
    claimed = await _claim(s, "chatty")
    chose = session_completed("NOCLAIM2", name="Jane Legalname")
    chose["data"]["object"]["custom_fields"] = [
        {"key": "name", "type": "text", "text": {"value": "hoodie_fan"}, "optional": True}
    ]
    orders = [
        ("stripe", session_completed("NOCLAIM1", name="Jane Legalname")),
        ("stripe", chose),  # the Payment Link's custom field "name"
        ("fourthwall", fourthwall_order(name="")),  # billed to "Joe Doe", no username
        ("fourthwall", fourthwall_order(f"for you SH-{claimed.code}", name="fw-handle")),
    ]
    for provider, event in orders:
        request = stripe_request(event) if provider == "stripe" else fourthwall_request(event)
        assert (await s.post("shop-stripe" if provider == "stripe" else provider, *request))[
            0
        ] == 200
    await s.h.settle()
    names = [o.buyer_name for o in await Order.all().order_by("id")]
    assert names == ["Stripe supporter", "hoodie_fan", "Fourthwall supporter", "chatty"]
    history = await s.h.services.overlays.outbox.history("alerts")
    alerts = [a.variation["text"] for a in history if a.kind == "merch.order"]
    assert sorted(alerts) == sorted(
        [
            "Stripe supporter bought Logo hoodie!",
            "hoodie_fan bought Logo hoodie!",
            "Fourthwall supporter bought Logo hoodie!",
            "chatty bought Logo hoodie!",
        ]
    )
    shown = " ".join([*alerts, *(m.text for m in s.h.said)])
    assert "Legalname" not in shown and "Joe Doe" not in shown, shown


async def test_a_fourthwall_product_the_shop_does_not_sell_keeps_its_name(shop) -> None:
    """An order of a product that is not in the shop's catalog is kept, thanked and
    alerted under the name the buyer saw at Fourthwall, not its slug."""
    s = await shop()
    order = fourthwall_order(offers=[Offer("mystery-mug", "Mystery mug", 12.0)], name="mia")
    assert (await s.post("fourthwall", *fourthwall_request(order)))[0] == 200
    await s.h.settle()
    [kept] = await Order.all()
    assert (kept.sku, kept.item_name, kept.status) == ("", "Mystery mug", "paid")
    assert any("Thank you mia for buying Mystery mug" in m.text for m in s.h.said), s.h.said
    history = await s.h.services.overlays.outbox.history("alerts")
    [alert] = [a for a in history if a.kind == "merch.order"]
    assert alert.variation["text"] == "mia bought Mystery mug!"


async def test_fourthwall_orders_that_are_no_sale_are_not_orders(shop) -> None:
    """A creator's sample order, a giveaway's prize and a redeemed Twitch gift (Fourthwall's
    ``source.type``) are nobody buying: no order, no unit of the drop, no thanks on
    stream. An order without ``source`` (older deliveries) is a sale."""
    s = await shop()
    drop = await s.drop([(await s.product(), "", 5)])
    for kind in ("SAMPLES_ORDER", "GIVEAWAY", "TWITCH_GIFT_REDEMPTION"):
        event = fourthwall_order(name=kind.lower())
        event["data"]["source"] = {"type": kind}
        status, answer = await s.post("fourthwall", *fourthwall_request(event))
        assert (status, answer["ids"]) == (200, []), kind
    assert await Order.all().count() == 0 and await s.left(drop) == 5
    assert not [m for m in s.h.said if "Thank you" in m.text]
    older = fourthwall_order(name="older")
    del older["data"]["source"]
    await s.post("fourthwall", *fourthwall_request(older))
    assert (await Order.get()).buyer_name == "older" and await s.left(drop) == 4


async def test_fourthwall_order_of_two_products_five_times_at_once(shop, database_url) -> None:
    """Two products, two of each, delivered five times at once: each line once, against
    its own product, the stock of both right, the total shared out exactly."""
    s = await shop(database_url=database_url)
    hoodie, tee = await s.product(), await s.product("tee", "Logo tee", 1500)
    drop = await s.drop([(hoodie, "M", 5), (tee, "", 3)])
    event = fourthwall_order(
        offers=[
            Offer("hoodie", "Logo hoodie", 25.0, quantity=2, size="M"),
            Offer("tee", "Logo tee", 15.0, quantity=2, sku="WDEK-TEE200S"),
        ],
        shipping=5.0,
    )
    body, headers = fourthwall_request(event)
    answers = await asyncio.gather(
        *(s.h.client.post("/webhooks/fourthwall", data=body, headers=headers) for _ in range(5))
    )
    assert all(a.status == 200 for a in answers), [a.status for a in answers]
    await s.h.settle()
    fw_id = event["data"]["id"]
    orders = await Order.all().order_by("id")
    assert [(o.provider_id, o.sku, o.quantity, o.status) for o in orders] == [
        (f"{fw_id}:1", "hoodie", 2, "paid"),
        (f"{fw_id}:2", "tee", 2, "paid"),
    ]
    assert {o.payment_ref for o in orders} == {fw_id}
    # 85.00 paid (50 + 30 + 5 shipping), shared by the lines' prices, to the cent
    assert [o.amount_minor for o in orders] == [5313, 3187]
    left = {i.product_id: i.remaining for i in await DropItem.filter(drop_id=drop.id)}
    assert left == {hoodie.id: 3, tee.id: 1}
    # one thanks for the whole order, naming both
    thanks = [m.text for m in s.h.said if "Thank you" in m.text]
    assert len(thanks) == 1 and "Logo hoodie (M) x2" in thanks[0] and "Logo tee x2" in thanks[0]
    # the drop overlay's latest buyers name the buyer once, not once per line
    board = await s.plugin.board.build_drop()
    assert board is not None and board["buyers"] == ["fwfan"]
    # a second, different order still finds what is left
    more = fourthwall_order(offers=[Offer("tee", "Logo tee", 15.0, quantity=2)], name="late")
    await s.post("fourthwall", *fourthwall_request(more))
    late = await Order.get(buyer_name="late")
    assert late.status == "refund_due" and "sold out" in late.note
    left = {i.product_id: i.remaining for i in await DropItem.filter(drop_id=drop.id)}
    assert left == {hoodie.id: 3, tee.id: 1}  # the one tee left was not half-taken


async def test_a_cancelled_fourthwall_order_gives_its_units_back(shop, database_url) -> None:
    """ORDER_UPDATED: shipped changes nothing; cancelled (and redelivered) refunds the
    order once and its unit goes back on sale; the refund is a merch.refund event."""
    s = await shop(database_url=database_url)
    drop = await s.drop([(await s.product(), "", 1)])
    placed = fourthwall_order(name="first")
    await s.post("fourthwall", *fourthwall_request(placed))
    assert await s.left(drop) == 0
    status, answer = await s.post(
        "fourthwall", *fourthwall_request(fourthwall_updated(placed, "SHIPPED"))
    )
    assert (status, answer["ids"]) == (200, [])
    assert (await Order.get()).status == "paid"
    cancelled = fourthwall_updated(placed, "CANCELLED")
    for _ in range(2):  # Fourthwall's retry of the same update: one refund
        status, _ = await s.post("fourthwall", *fourthwall_request(cancelled))
        assert status == 200
    order = await Order.get()
    assert (order.status, order.refunded_minor) == ("refunded", 2500)
    assert await s.left(drop) == 1
    [refund] = await EventRecord.filter(type="merch.refund")
    assert refund.dedupe_id == f"{placed['data']['id']}:cancelled"
    assert (refund.data["original_id"], refund.data["amount"]) == (placed["data"]["id"], "25.00")
    # the unit is for sale again
    await s.post("fourthwall", *fourthwall_request(fourthwall_order(name="second")))
    second = await Order.get(buyer_name="second")
    assert second.status == "paid" and await s.left(drop) == 0


async def test_a_cancelled_order_that_found_no_unit_leaves_the_refund_list(shop) -> None:
    """An order flagged *refund due* (no unit was left for it) that Fourthwall cancels is
    refunded: it leaves the list to handle, and the unit the other buyer has stays sold."""
    s = await shop()
    drop = await s.drop([(await s.product(), "", 1)])
    await s.post("fourthwall", *fourthwall_request(fourthwall_order(name="first")))
    late = fourthwall_order(name="second")
    await s.post("fourthwall", *fourthwall_request(late))
    assert (await Order.get(buyer_name="second")).status == "refund_due"
    await s.post("fourthwall", *fourthwall_request(fourthwall_updated(late, "CANCELLED")))
    orders = {o.buyer_name: o.status for o in await Order.all()}
    assert orders == {"first": "paid", "second": "refunded"}
    assert await s.left(drop) == 0


async def test_a_cancelled_fourthwall_order_of_two_lines_gives_back_every_line(shop) -> None:
    s = await shop()
    hoodie, tee = await s.product(), await s.product("tee", "Logo tee", 1500)
    drop = await s.drop([(hoodie, "M", 5), (tee, "", 3)])
    placed = fourthwall_order(
        offers=[
            Offer("hoodie", "Logo hoodie", 25.0, quantity=2, size="M"),
            Offer("tee", "Logo tee", 15.0, quantity=1, sku="WDEK-TEE200S"),
        ],
        shipping=5.0,
    )
    await s.post("fourthwall", *fourthwall_request(placed))
    assert await s.left(drop) == 5
    cancelled = fourthwall_updated(placed, "CANCELLED")
    # the cancelled order's amounts need not be what was paid (shipping refunded
    # first, say): a cancellation gives each line back in full all the same
    cancelled["data"]["order"]["amounts"]["total"]["value"] = 80.0
    status, answer = await s.post("fourthwall", *fourthwall_request(cancelled))
    assert status == 200 and len(answer["ids"]) == 2
    orders = await Order.all().order_by("id")
    assert [(o.status, o.refunded_minor) for o in orders] == [
        ("refunded", o.amount_minor) for o in orders
    ]
    assert await s.left(drop) == 8


async def test_fourthwall_updates_that_cannot_be_read_are_refused(shop) -> None:
    s = await shop()
    placed = fourthwall_order()
    broken = fourthwall_updated(placed, "CANCELLED")
    del broken["data"]["order"]["id"]
    status, answer = await s.post("fourthwall", *fourthwall_request(broken))
    assert status == 400 and "data.order.id is required" in answer["error"]
    # a cancellation of an order this server never saw writes nothing and is answered
    status, _ = await s.post(
        "fourthwall", *fourthwall_request(fourthwall_updated(placed, "CANCELLED"))
    )
    assert status == 200
    assert await Order.all().count() == 0


async def test_a_fourthwall_gift_purchase_is_one_gift_order(shop, database_url) -> None:
    """GIFT_PURCHASE: three hoodies bought for chat, delivered five times at once and once
    more later, are one order (gift, three units, the whole total), take three units of
    the drop, and are thanked and alerted as a gift, once."""
    s = await shop(database_url=database_url)
    drop = await s.drop([(await s.product(), "", 5)])
    event = fourthwall_gift(quantity=3, total=75.0, username="giver")
    body, headers = fourthwall_request(event)
    answers = await asyncio.gather(
        *(s.h.client.post("/webhooks/fourthwall", data=body, headers=headers) for _ in range(5))
    )
    assert all(a.status == 200 for a in answers), [a.status for a in answers]
    await s.h.settle()
    status, _ = await s.post("fourthwall", body, headers)  # a redelivery, later
    assert status == 200
    [order] = await Order.all()
    assert (order.provider, order.provider_id) == ("fourthwall", event["data"]["id"])
    assert (order.gift, order.quantity, order.sku, order.status) == (True, 3, "hoodie", "paid")
    assert (order.amount_minor, order.currency, order.buyer_name) == (7500, "EUR", "giver")
    assert await s.left(drop) == 2
    [record] = await EventRecord.filter(type="merch.order")
    assert record.data["gift"] is True and record.data["quantity"] == 3
    said = [m.text for m in s.h.said if "giver" in m.text]
    assert said == ["giver gifted 3\u00d7 Logo hoodie to chat!"], said
    history = await s.h.services.overlays.outbox.history("alerts")
    [alert] = [a for a in history if a.kind == "merch.gift"]
    assert alert.variation["text"] == "giver gifted 3\u00d7 Logo hoodie to chat!"
    # the dashboard: a drop counts units sold, the orders and the CSV say "gift"
    headers = s.h.admin_headers
    drops = await (await s.h.client.get("/api/shop/drops", headers=headers)).json()
    assert drops["drops"][0]["sold"] == 3
    orders = await (await s.h.client.get("/api/shop/orders", headers=headers)).json()
    assert [(o["gift"], o["quantity"]) for o in orders["orders"]] == [(True, 3)]
    csv_text = await (await s.h.client.get("/api/shop/export.csv", headers=headers)).text()
    [header, row] = csv_text.splitlines()
    assert dict(zip(header.split(","), row.split(","), strict=True))["gift"] == "yes"
    # more gifts than are left: none of them is taken, the purchase waits for a refund
    await s.post("fourthwall", *fourthwall_request(fourthwall_gift(quantity=3, username="late")))
    late = await Order.get(buyer_name="late")
    assert (late.gift, late.status) == (True, "refund_due") and await s.left(drop) == 2


async def test_a_fourthwall_gift_purchase_of_thousands_of_gifts_is_recorded(shop) -> None:
    """Fourthwall lists every gift a purchase minted (``data.gifts``): 10,000 gifts are
    ~1.6 MB, past the 256 kB the core allows a webhook by default and the server-wide
    ``[server] max_body`` of 1 MB. The purchase is one order all the same (a 413 would
    lose it: Fourthwall's retries would get the same). A body past the endpoint's own
    limit is refused with a 413 that names it, and writes nothing."""
    s = await shop()
    drop = await s.drop([(await s.product(), "", 15_000)])
    event = fourthwall_gift(quantity=10_000, total=20_000.0, username="whale")
    body, headers = fourthwall_request(event)
    assert len(body) > 1024 * 1024
    status, answer = await s.post("fourthwall", body, headers)
    assert status == 200, answer
    [order] = await Order.all()
    assert (order.gift, order.quantity, order.amount_minor) == (True, 10_000, 2_000_000)
    assert await s.left(drop) == 5_000
    too_big = fourthwall_gift(quantity=1, username="flood")
    too_big["data"]["message"] = "x" * FOURTHWALL_MAX_BODY
    status, answer = await s.post("fourthwall", *fourthwall_request(too_big))
    assert status == 413 and f"larger than {FOURTHWALL_MAX_BODY} bytes" in answer["error"]
    assert await Order.all().count() == 1


async def test_an_orders_stock_moves_in_as_many_statements_whatever_its_quantity(
    shop, database_url, monkeypatch
) -> None:
    """Taking an order's units (and the buyer's allowance) and giving them back at a
    cancellation cost the same statements for 10,000 units as for 3. A statement a unit
    took longer than the hook timeout for 10,000 gifts on a slow machine: the delivery got
    503 and so did every retry of it, a paid order never recorded."""
    s = await shop(database_url=database_url)
    drop = await s.drop([(await s.product(), "", 15_000)])
    statements: list[str] = []
    real = stock.execute

    async def counted(conn: Any, sql: str, values: list[object]) -> int:
        statements.append(sql)
        return await real(conn, sql, values)

    monkeypatch.setattr(stock, "execute", counted)
    taking: dict[int, int] = {}
    giving_back: dict[int, int] = {}
    for quantity in (3, 10_000):
        placed = fourthwall_order(
            name=f"buyer{quantity}", offers=[Offer("hoodie", "Logo hoodie", 1.0, quantity)]
        )
        statements.clear()
        status, answer = await s.post("fourthwall", *fourthwall_request(placed))
        assert status == 200, answer
        taking[quantity] = len(statements)
        assert (await Order.get(buyer_name=f"buyer{quantity}")).quantity == quantity
        assert await s.left(drop) == 15_000 - quantity
        statements.clear()
        status, answer = await s.post(
            "fourthwall", *fourthwall_request(fourthwall_updated(placed, "CANCELLED"))
        )
        assert status == 200, answer
        giving_back[quantity] = len(statements)
        assert await s.left(drop) == 15_000
    assert taking[10_000] == taking[3] and giving_back[10_000] == giving_back[3]
    # all or none: an order of more than is left takes nothing and is flagged
    too_many = fourthwall_order(name="greedy", offers=[Offer("hoodie", "Logo hoodie", 1.0, 15_001)])
    assert (await s.post("fourthwall", *fourthwall_request(too_many)))[0] == 200
    assert (await Order.get(buyer_name="greedy")).status == "refund_due"
    assert await s.left(drop) == 15_000


async def test_fourthwall_gift_purchases_that_cannot_be_read_are_refused(shop) -> None:
    """A bad signature is a 401, a gift purchase that cannot be read a 400 saying what is
    wrong; neither writes anything."""
    s = await shop()
    drop = await s.drop([(await s.product(), "", 5)])
    status, _ = await s.post(
        "fourthwall", *fourthwall_request(fourthwall_gift(), secret="wrong-secret")
    )
    assert status == 401
    body, headers = fourthwall_request(fourthwall_gift())
    headers.pop("X-Fourthwall-Hmac-SHA256")
    assert (await s.post("fourthwall", body, headers))[0] == 401
    broken: list[tuple[str, object, str]] = [
        ("id", None, "data.id is required"),
        ("offer", None, "data.offer is required"),
        ("offer", {"id": "o-1", "name": "", "slug": ""}, "data.offer must have a slug or a name"),
        ("quantity", None, "data.quantity must be the number of gifts"),
        ("quantity", 0, "data.quantity must be the number of gifts"),
        ("quantity", "3", "data.quantity must be the number of gifts"),
        ("quantity", True, "data.quantity must be the number of gifts"),
        ("amounts", {}, "data.amounts.total is required"),
        ("amounts", {"total": {"value": 5, "currency": "XXY"}}, "unknown currency"),
    ]
    for key, value, message in broken:
        event = fourthwall_gift()
        if value is None:
            del event["data"][key]
        else:
            event["data"][key] = value
        status, answer = await s.post("fourthwall", *fourthwall_request(event))
        assert status == 400 and message in answer["error"], (key, value, answer)
    assert await Order.all().count() == 0 and await s.left(drop) == 5
    assert await EventRecord.filter(type="merch.order").count() == 0


async def test_fourthwall_lines_with_a_reservation_code(shop, database_url) -> None:
    """The code pays the reserved unit on the line of its product; the line's other unit
    and the other product come from stock; the sibling line is no second payment."""
    s = await shop(database_url=database_url)
    hoodie, tee = await s.product(), await s.product("tee", "Logo tee", 1500)
    drop = await s.drop([(hoodie, "", 4), (tee, "", 4)], limit=5)
    reservation = await _claim(s, "alice")
    assert await s.left(drop) == 7
    event = fourthwall_order(
        f"for stream SH-{reservation.code}",
        offers=[
            Offer("tee", "Logo tee", 15.0, quantity=1),
            Offer("hoodie", "Logo hoodie", 25.0, quantity=2, size="L"),
        ],
    )
    body, headers = fourthwall_request(event)
    answers = await asyncio.gather(
        *(s.h.client.post("/webhooks/fourthwall", data=body, headers=headers) for _ in range(5))
    )
    assert all(a.status == 200 for a in answers)
    await s.h.settle()
    orders = await Order.all().order_by("id")
    assert [(o.sku, o.quantity, o.status, o.buyer_name) for o in orders] == [
        ("tee", 1, "paid", "alice"),
        ("hoodie", 2, "paid", "alice"),
    ]
    assert orders[1].reservation_id == reservation.id and orders[0].reservation_id is None
    assert (await Reservation.get(id=reservation.id)).status == "paid"
    left = {i.product_id: i.remaining for i in await DropItem.filter(drop_id=drop.id)}
    assert left == {hoodie.id: 2, tee.id: 3}


async def test_kofi_shop_order_five_times_is_one_order_and_no_tip_alert(shop, database_url) -> None:
    s = await shop(database_url=database_url)
    product = await s.product(kofi_code="1a2b3c4d5e")
    drop = await s.drop([(product, "", 3)])
    reservation = await _claim(s)
    payload = kofi_payload(
        "Shop Order",
        "10.00",
        message=f"SH-{reservation.code}",
        shop_items=[{"direct_link_code": "1a2b3c4d5e", "variation_name": "", "quantity": 1}],
    )
    body, headers = kofi_request(payload)
    answers = await asyncio.gather(
        *(s.h.client.post("/webhooks/kofi", data=body, headers=headers) for _ in range(5))
    )
    assert all(a.status == 200 for a in answers)
    await s.h.settle()
    orders = await Order.all()
    assert len(orders) == 1 and orders[0].provider == "kofi" and orders[0].status == "paid"
    assert await s.left(drop) == 2
    said = [m.text for m in s.h.said]
    assert any("Thank you alice for buying Logo hoodie" in t for t in said), said
    assert not any("tip" in t.lower() for t in said), said  # not also thanked as a tip
    history = await s.h.services.overlays.outbox.history("alerts")
    kinds = [a.kind for a in history]
    assert "tip" not in kinds, kinds
    assert kinds.count("merch.order") == 1, kinds


async def test_a_paid_guest_slot_joins_the_queue(shop) -> None:
    s = await shop()
    slot = await s.product("guest", "Go live with me", 500, kind="guest")
    await s.drop([(slot, "", 2)], name="Guest session")
    reservation = await _claim(s, "alice", "guest")
    await s.post(
        "shop-stripe", *stripe_request(session_completed(reservation.code, 500, sku="guest"))
    )
    guest = await Guest.get()
    assert guest.viewer_name == "alice" and guest.status == "queued"
