"""Guest slots: sold through the same stock, queued (members first), called with !next."""

from __future__ import annotations

from limelight_shop.models import Guest, Order

from .conftest import viewer
from .doubles import session_completed, stripe_request


async def _paid_guest(s, name: str) -> None:
    outcome = await s.plugin.drops.claim(viewer(name), "guest")
    assert outcome.reservation is not None, outcome.refused
    if not outcome.free:
        event = session_completed(outcome.reservation.code, 500, sku="guest", name=name)
        status, _ = await s.post("shop-stripe", *stripe_request(event))
        assert status == 200


async def _session(s, slots: int = 3, **fields):
    slot = await s.product("guest", "Go live with me", 500, kind="guest")
    return await s.drop([(slot, "", slots)], name="Guest session", **fields)


async def test_slots_sell_exactly_and_the_queue_keeps_order(shop) -> None:
    s = await shop(
        {"plugins": {"shop": {"guest_minutes": 0, "join_link": "https://call.example/room"}}}
    )
    await _session(s, slots=2)
    await _paid_guest(s, "alice")
    await _paid_guest(s, "bob")
    assert (await s.plugin.drops.claim(viewer("carol"), "guest")).refused == "sold out"
    await s.h.chat_as("bob", "!queue")
    assert "number 2 of 2" in s.h.said[-1].text
    await s.h.chat_as("carol", "!next")  # not a moderator
    assert not any("Now on stream" in m.text for m in s.h.said)
    await s.h.chat_as("mod", "!next", roles={"moderator"})
    assert s.h.said[-1].text == "Now on stream with us: alice!"
    # the join instructions went to alice privately, not to chat
    whispers = s.h.chat_connector.whispers
    assert [(v.name, t) for v, t in whispers] == [
        ("alice", "You're up next on stream, alice! Join here: https://call.example/room")
    ]
    assert not any("call.example" in m.text for m in s.h.said)
    await s.h.chat_as("bob", "!leave")
    assert "left the guest queue" in s.h.said[-1].text
    await s.h.chat_as("mod", "!next", roles={"moderator"})
    assert s.h.said[-1].text == "The guest queue is empty."
    assert [g.status for g in await Guest.all().order_by("id")] == ["done", "left"]


async def test_members_go_first_and_free_tiers_pay_nothing(shop) -> None:
    s = await shop()
    assert s.vip is not None
    s.vip.add(viewer("goldie"), "gold")
    await _session(s, slots=3, members_first_queue=True, free_tiers=["gold"])
    await _paid_guest(s, "alice")
    await _paid_guest(s, "goldie")
    guests = await s.plugin.guests.waiting()
    assert [g.viewer_name for g in guests] == ["goldie", "alice"]
    free = await Order.get(buyer_name="goldie")
    assert free.amount_minor == 0 and free.provider == "free"


async def test_skip_flags_the_paid_slot_for_a_refund_and_reorder_works(shop) -> None:
    s = await shop()
    await _session(s, slots=3)
    for name in ("alice", "bob", "carol"):
        await _paid_guest(s, name)
    waiting = await s.plugin.guests.waiting()
    ids = [g.id for g in waiting]
    r = await s.h.client.post(
        "/api/shop/guests/order", json={"ids": [ids[2], ids[0]]}, headers=s.h.admin_headers
    )
    assert r.status == 200
    assert [g.viewer_name for g in await s.plugin.guests.waiting()] == ["carol", "alice", "bob"]
    r = await s.h.client.post(f"/api/shop/guests/{ids[0]}/skip", json={}, headers=s.h.admin_headers)
    assert r.status == 200
    order = await Order.get(buyer_name="alice")
    assert order.status == "refund_due" and "did not show up" in order.note
    # the streamer is told (the event), viewers are not (no chat line)
    events = await s.h.client.get("/api/events?type=shop.refund_due", headers=s.h.admin_headers)
    [flagged] = (await events.json())["events"]
    assert flagged["data"]["order"] == order.id and "did not show up" in flagged["data"]["reason"]
    assert not any("refund" in m.text.lower() for m in s.h.said)
    r = await s.h.client.post("/api/shop/guests/next", json={}, headers=s.h.admin_headers)
    assert (await r.json())["guest"] == "carol"
