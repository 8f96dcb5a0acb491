"""Every source of memberships, each delivered 5x concurrently, on SQLite and PostgreSQL:
granted once, renewed once, revoked once."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta

from limelight import GiftBomb, Money, Refund, Subscription, Tip
from limelight.testing import make_viewer
from yarl import URL

from tests.tips.doubles import kofi_payload, kofi_request

from . import doubles
from .conftest import Vip

GOLD = {
    "tiers": [
        {"name": "silver", "label": "Silver", "twitch_tier": "1000", "kofi_tier": "Bronze"},
        {
            "name": "gold",
            "label": "Gold",
            "colour": "#f5a623",
            "badge": "G",
            "highlight": True,
            "price": "5.00",
            "currency": "EUR",
            "stripe_payment_link": "https://buy.stripe.com/test_gold",
        },
    ]
}


async def five(v: Vip, provider: str, event: dict[str, object]) -> list[int]:
    body, headers = doubles.signed(event)
    results = await asyncio.gather(*(v.post(provider, body, headers) for _ in range(5)))
    return [status for status, _ in results]


def badges_of(v: Vip, viewer: object) -> list[str]:
    return [b.name for b in v.h.services.badges.for_viewer(viewer)]  # type: ignore[arg-type]


async def test_stripe_subscription_lifecycle(vip, database_url):
    v = await vip({"plugins": {"vip": GOLD}}, database_url=database_url)
    alice = make_viewer("alice")
    await v.h.chat_as(alice, "!vip join gold")
    line = v.h.said[-1].text
    code = re.search(r"your code (VIP-[A-Z0-9]{8})", line)
    assert code is not None, line
    token = re.search(r"/p/vip/join/(\S+)", line)
    assert token is not None
    page = await v.h.client.get(f"/p/vip/join/{token.group(1)}")
    html = await page.text()
    assert page.status == 200
    assert f"https://buy.stripe.com/test_gold?client_reference_id={code.group(1)}" in html
    codes = v.plugin.stripe.codes
    assert codes is not None
    forged = await v.h.client.get(f"/p/vip/join/{token.group(1)[:-2]}zz")
    assert forged.status == 400 and "This join link is not valid." in await forged.text()
    expired = await v.h.client.get(f"/p/vip/join/{codes.sign(code.group(1)[4:], now=0)}")
    assert expired.status == 410
    assert "This join link has expired; type !vip join in chat for a new one." in (
        await expired.text()
    )

    # checkout.session.completed (mode subscription), delivered 5 times at once
    session = doubles.subscription_checkout(
        reference=code.group(1), subscription="sub_A", invoice="in_first", amount=500
    )
    statuses = await five(v, "vip-stripe", doubles.envelope("checkout.session.completed", session))
    assert all(s == 200 for s in statuses), statuses
    rows = await v.rows(source="vip-stripe")
    assert len(rows) == 1 and rows[0].tier == "gold" and rows[0].viewer_id == alice.id
    assert rows[0].amount_minor == 500 and rows[0].currency == "EUR"
    assert v.plugin.is_member(alice, {"gold"})
    assert "vip-gold" in badges_of(v, alice)
    assert [c.status for c in v.changes()] == ["granted"]
    first_end = v.plugin.membership(alice).ends  # type: ignore[union-attr]
    assert first_end is not None

    # the return page finds it
    welcome = await (await v.h.client.get(f"/p/vip/welcome?session_id={session['id']}")).text()
    assert "Gold" in welcome and "alice" in welcome

    # the first invoice.paid (subscription_create) grants nothing more
    first = doubles.invoice_paid(
        subscription="sub_A", invoice="in_first", reason="subscription_create", intent="pi_first"
    )
    assert set(await five(v, "vip-stripe", doubles.envelope("invoice.paid", first))) == {200}
    assert len(await v.rows(source="vip-stripe")) == 1
    assert (await v.rows(source="vip-stripe"))[0].payment_ref == "pi_first"

    # a renewal extends, once
    period_end = int(time.time()) + 62 * 86400
    renewal = doubles.invoice_paid(subscription="sub_A", invoice="in_2", period_end=period_end)
    assert set(await five(v, "vip-stripe", doubles.envelope("invoice.paid", renewal))) == {200}
    assert len(await v.rows(source="vip-stripe")) == 2
    assert [c.status for c in v.changes()] == ["granted", "renewed"]
    held = v.plugin.membership(alice)
    assert held is not None and held.ends is not None
    assert held.ends >= datetime.fromtimestamp(period_end, UTC) + timedelta(days=3)

    # cancelled: ends at the period's end (still a member until then)
    end_at = int(time.time()) + 10 * 86400
    deleted = doubles.subscription_deleted("sub_A", end_at)
    statuses = await five(
        v, "vip-stripe", doubles.envelope("customer.subscription.deleted", deleted)
    )
    assert set(statuses) == {200}
    held = v.plugin.membership(alice)
    assert held is not None and held.ends == datetime.fromtimestamp(end_at, UTC)

    # refunded: revoked at once, with everything it unlocked
    refund = doubles.charge_refunded(invoice="in_2")
    assert set(await five(v, "vip-stripe", doubles.envelope("charge.refunded", refund))) == {200}
    assert not v.plugin.is_member(alice)
    assert badges_of(v, alice) == []
    assert [c.status for c in v.changes()] == ["granted", "renewed", "revoked"]
    assert all(r.revoked_at is not None for r in await v.rows(source="vip-stripe"))


async def test_stripe_members_without_a_join_link_are_named_as_they_chose(vip):
    """A membership bought on the Payment Link without `!vip join`: the member is shown by
    the link's custom field ``name``, else as "Stripe member"; never by the card holder's
    name, which the welcome alert would read out."""
    v = await vip({"plugins": {"vip": GOLD}})
    chosen = doubles.subscription_checkout(
        reference=None, subscription="sub_N1", invoice="in_n1", name="Casey Cardholder"
    )
    chosen["custom_fields"] = [
        {
            "key": "name",
            "label": {"custom": "Name shown on stream", "type": "custom"},
            "optional": True,
            "type": "text",
            "text": {"value": "casey_vip", "maximum_length": 255, "minimum_length": None},
        }
    ]
    plain = doubles.subscription_checkout(
        reference=None, subscription="sub_N2", invoice="in_n2", name="Casey Cardholder"
    )
    for session in (chosen, plain):
        body, headers = doubles.signed(doubles.envelope("checkout.session.completed", session))
        assert (await v.post("vip-stripe", body, headers))[0] == 200
    rows = await v.rows(source="vip-stripe")
    assert sorted(r.viewer_name for r in rows) == ["Stripe member", "casey_vip"]
    assert all("Cardholder" not in c.viewer.name for c in v.changes())
    # the activity feed names the payment events in words, not "Vip: stripe"
    feed = await (await v.h.client.get("/api/activity", headers=v.h.admin_headers)).json()
    labels = {(e["type"], e["label"], e["icon"]) for e in feed["events"]}
    assert ("vip.stripe", "Stripe membership", "crown") in labels, labels


async def test_stripe_refusals(vip):
    v = await vip({"plugins": {"vip": GOLD}})
    session = doubles.subscription_checkout(reference=None, subscription="sub_B", invoice="in_b")
    body, headers = doubles.signed(
        doubles.envelope("checkout.session.completed", session), "whsec_wrong"
    )
    assert (await v.post("vip-stripe", body, headers))[0] == 401
    # a renewal of a subscription never seen: 409, so Stripe delivers it again later
    renewal = doubles.invoice_paid(subscription="sub_unknown")
    body, headers = doubles.signed(doubles.envelope("invoice.paid", renewal))
    assert (await v.post("vip-stripe", body, headers))[0] == 409
    # another plugin's object and a one-off payment session are not memberships
    shop = doubles.subscription_checkout(
        reference=None, subscription="sub_C", invoice="in_c", metadata={"limelight": "shop"}
    )
    body, headers = doubles.signed(doubles.envelope("checkout.session.completed", shop))
    assert (await v.post("vip-stripe", body, headers))[0] == 200
    payment = {**session, "mode": "payment", "subscription": None}
    body, headers = doubles.signed(doubles.envelope("checkout.session.completed", payment))
    assert (await v.post("vip-stripe", body, headers))[0] == 200
    # test mode shows nothing durable
    test = doubles.envelope("checkout.session.completed", session, livemode=False)
    body, headers = doubles.signed(test)
    assert (await v.post("vip-stripe", body, headers))[0] == 200
    assert await v.rows() == []
    # no code: the Stripe customer is the member
    body, headers = doubles.signed(doubles.envelope("checkout.session.completed", session))
    assert (await v.post("vip-stripe", body, headers))[0] == 200
    rows = await v.rows()
    assert len(rows) == 1 and rows[0].viewer_platform == "stripe" and rows[0].tier == "gold"


async def test_kofi_membership_payments(vip, database_url):
    v = await vip({"plugins": {"vip": GOLD}}, database_url=database_url)
    payload = kofi_payload("Subscription", "4.00", "EUR", from_name="Kofi Kim")
    body, headers = kofi_request(payload)
    results = await asyncio.gather(*(v.post("kofi", body, headers) for _ in range(5)))
    assert {s for s, _ in results} == {200}
    rows = await v.rows()
    assert len(rows) == 1
    assert rows[0].tier == "silver"  # tier_name "Bronze" is silver's kofi_tier
    assert rows[0].source == "kofi" and rows[0].amount_minor == 400
    assert len(v.changes("granted")) == 1
    # a refund of that payment revokes it, once
    refund = Refund(
        source="kofi",
        source_id="refund-1",
        amount=Money(400, "EUR"),
        original_source="kofi",
        original_id=payload["kofi_transaction_id"],
        reason="chargeback",
    )
    await asyncio.gather(*(v.h.publish(refund) for _ in range(5)))
    await v.h.settle()
    assert (await v.rows())[0].revoked_at is not None
    assert len(v.changes("revoked")) == 1


async def test_twitch_subs_and_gifts(vip, database_url):
    v = await vip(database_url=database_url)
    bob, gifter = make_viewer("bob"), make_viewer("gifty")
    sub = Subscription(source="twitch", source_id="sub-bob-1", viewer=bob, tier="1000")
    await asyncio.gather(*(v.h.publish(sub) for _ in range(5)))
    await v.h.settle()
    assert len(await v.rows()) == 1 and v.plugin.is_member(bob, {"tier1"})
    assert "vip-tier1" in badges_of(v, bob)
    # a gift bomb: each recipient is the member, the gifter is credited
    await v.h.publish(
        GiftBomb(source="twitch", source_id="bomb-1", viewer=gifter, count=2, tier="3000")
    )
    for name in ("carol", "dave"):
        gift = Subscription(
            source="twitch",
            source_id=f"gift-{name}",
            viewer=make_viewer(name),
            tier="3000",
            gifted=True,
            gifter=gifter,
            gift_bomb="bomb-1",
        )
        await asyncio.gather(*(v.h.publish(gift) for _ in range(5)))
    await v.h.settle()
    rows = await v.rows(tier="tier3")
    assert [r.viewer_name for r in rows] == ["carol", "dave"]
    assert all(r.granted_by == "gifty" for r in rows)
    assert not v.plugin.is_member(gifter)
    assert len(v.changes("granted")) == 3
    # a resub stacks on the month already held
    resub = Subscription(source="twitch", source_id="sub-bob-2", viewer=bob, tier="1000", months=2)
    await v.h.publish(resub)
    rows = await v.rows(viewer_id=bob.id)
    assert len(rows) == 2 and rows[1].starts == rows[0].ends
    assert [c.status for c in v.changes() if c.viewer == bob] == ["granted", "renewed"]


async def test_purchase_rule_and_supporter_levels(vip):
    config = {
        **GOLD,
        "purchases": [{"min_amount": "5.00", "currency": "EUR", "tier": "gold", "days": 30}],
        "supporter_levels": [
            {"name": "heart", "label": "Heart", "min_amount": "0.99", "currency": "EUR"},
            {"name": "star", "label": "Star", "min_amount": "4.99", "currency": "EUR", "days": 7},
        ],
    }
    v = await vip({"plugins": {"vip": config}})
    erin = make_viewer("erin")
    small = Tip(source="api", source_id="tip-1", viewer=erin, amount=Money(199, "EUR"))
    await v.h.publish(small)
    assert not v.plugin.is_member(erin)
    assert badges_of(v, erin) == ["vip-supporter-heart"]
    big = Tip(source="api", source_id="tip-2", viewer=erin, amount=Money(500, "EUR"))
    await asyncio.gather(*(v.h.publish(big) for _ in range(5)))
    await v.h.settle()
    assert v.plugin.is_member(erin, {"gold"})
    assert sorted(badges_of(v, erin)) == ["vip-gold", "vip-supporter-heart", "vip-supporter-star"]
    gold = await v.rows(source="vip-purchase")
    assert len(gold) == 1 and gold[0].ends - gold[0].starts == timedelta(days=30)
    # another currency does not count
    await v.h.publish(
        Tip(source="api", source_id="tip-3", viewer=make_viewer("fay"), amount=Money(900, "USD"))
    )
    assert not v.plugin.is_member(make_viewer("fay"))
    # a purchase is no tip: a Ko-fi Shop Order or a commission buys no membership or badge
    for n, kind in enumerate(["shop_order", "commission"]):
        bought = Tip(
            source="kofi",
            source_id=f"order-{n}",
            viewer=make_viewer("gus"),
            amount=Money(4500, "EUR"),
            kind=kind,
        )
        await v.h.publish(bought)
    assert not v.plugin.is_member(make_viewer("gus")) and badges_of(v, make_viewer("gus")) == []
    # the stream ends: the stream-long heart goes, the 7-day star stays
    from limelight import StreamOffline

    await v.h.publish(StreamOffline(source="twitch", source_id="off-1"))
    assert sorted(badges_of(v, erin)) == ["vip-gold", "vip-supporter-star"]
    # refunding the big tip revokes gold and the star it bought
    await v.h.publish(
        Refund(
            source="api",
            source_id="ref-2",
            amount=Money(500, "EUR"),
            original_source="api",
            original_id="tip-2",
        )
    )
    assert not v.plugin.is_member(erin)
    assert badges_of(v, erin) == []


async def test_member_alerts_only_where_no_other_alert_played(vip):
    v = await vip({"plugins": {"vip": GOLD}})
    ann = make_viewer("ann")
    await v.h.publish(Subscription(source="twitch", source_id="s-ann", viewer=ann, tier="1000"))
    await v.plugin.grant(ann, "gold", duration=None, source="giveaway", source_id="g-1")
    await v.h.settle()
    alerts = await v.h.services.overlays.history("alerts")
    kinds = sorted(a["kind"] for a in alerts)
    assert kinds == ["membership.changed", "subscription"]  # the sub alerted once, as a sub
    [member] = [a for a in alerts if a["kind"] == "membership.changed"]
    assert member["data"]["level"] == "Gold" and member["data"]["name"] == "ann"


async def test_the_return_page_and_the_member_row_give_the_room_link(vip):
    """With the members' room installed, a Stripe member finds their personal room link
    on the checkout's return page and the streamer finds it on the Members page; the link
    opens the room for that member (the room plugin's API, not its internals)."""
    from limelight_room import RoomPlugin

    v = await vip({"plugins": {"vip": GOLD}}, extra={"room": RoomPlugin})
    assert v.h.host.info["room"].enabled, v.h.host.info["room"].reason
    alice = make_viewer("alice")
    await v.h.chat_as(alice, "!vip join gold")
    code = re.search(r"your code (VIP-[A-Z0-9]{8})", v.h.said[-1].text)
    assert code is not None
    session = doubles.subscription_checkout(
        reference=code.group(1), subscription="sub_R", invoice="in_r", amount=500
    )
    assert set(
        await five(v, "vip-stripe", doubles.envelope("checkout.session.completed", session))
    ) == {200}
    page = await (await v.h.client.get(f"/p/vip/welcome?session_id={session['id']}")).text()
    link = re.search(r'href="(http[^"]+)">Enter the members', page)
    assert link is not None, page
    members = await (await v.h.client.get("/api/vip/members", headers=await v.h.login())).json()
    row = next(m for m in members["members"] if m["viewer"]["id"] == alice.id)
    assert row["room_link"] == link.group(1).replace("&amp;", "&")
    room = await v.h.client.get(URL(row["room_link"]).path_qs)
    assert room.status == 200 and "alice" in await room.text()
