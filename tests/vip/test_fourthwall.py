"""Fourthwall memberships on /webhooks/vip-fourthwall: deliveries shaped and signed as
Fourthwall sends them (an envelope around a Membership Supporter, base64 HMAC-SHA256 of the
body in ``X-Fourthwall-Hmac-SHA256``), each sent five times at once where it matters, on
SQLite and PostgreSQL: a purchase grants once with no end, a tier change switches tiers, a
suspension or an expiry ends the membership now, and nothing else writes anything."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from limelight.cli import webhook_problems
from limelight_vip.fourthwall_hook import FourthwallMemberships

from tests.support import fourthwall_signed, wait_until

from .conftest import Vip
from .doubles import FOURTHWALL_EMAIL as EMAIL
from .doubles import fourthwall_membership as delivery

SECRET = "fw-vip-secret-" + "5" * 18
TIERS = {
    "tiers": [
        {"name": "silver", "label": "Silver", "fourthwall_tier": "tier_silver"},
        {"name": "gold", "label": "Gold", "badge": "G", "fourthwall_tier": "tier_gold"},
    ]
}
CONFIG = {"plugins": {"vip": TIERS}, "webhooks": {"vip-fourthwall": {"secret": SECRET}}}


async def send(v: Vip, event: dict[str, Any], copies: int = 1, secret: str = SECRET) -> set[int]:
    """Deliver ``event`` ``copies`` times at once; the set of statuses answered."""
    body, headers = fourthwall_signed(event, secret)
    results = await asyncio.gather(
        *(v.post("vip-fourthwall", body, headers) for _ in range(copies))
    )
    return {status for status, _ in results}


async def logged(v: Vip) -> list[dict[str, Any]]:
    """The ``vip.fourthwall`` events in the event log."""
    response = await v.h.client.get(
        "/api/events?type=vip.fourthwall&limit=50", headers=v.h.admin_headers
    )
    assert response.status == 200
    events: list[dict[str, Any]] = (await response.json())["events"]
    return events


def badges_of(v: Vip, viewer: object) -> list[str]:
    return [b.name for b in v.h.services.badges.for_viewer(viewer)]  # type: ignore[arg-type]


async def test_a_purchase_grants_once_with_no_end(vip, database_url):
    v = await vip(CONFIG, database_url=database_url)
    purchase = delivery("SUBSCRIPTION_PURCHASED", value=9.99)
    assert await send(v, purchase, copies=5) == {200}

    [row] = await v.rows(source="vip-fourthwall")
    assert (row.tier, row.source_id, row.subscription) == ("gold", purchase["id"], "msup_nova")
    assert row.ends is None  # Fourthwall sends no renewals: it lasts until Fourthwall says
    assert (row.amount_minor, row.currency) == (999, "USD")  # 9.99 exactly, not 998
    assert row.viewer_platform == "fourthwall" and row.viewer_name == "Nova"
    assert len(row.viewer_id) == 24 and "msup_nova" not in row.viewer_id
    member = v.changes("granted")[0].viewer
    assert v.plugin.is_member(member, {"gold"}) and "vip-gold" in badges_of(v, member)
    assert [c.status for c in v.changes()] == ["granted"]
    [event] = await logged(v)
    assert event["source"] == "vip-fourthwall" and event["source_id"] == purchase["id"]
    assert EMAIL not in repr(event) and EMAIL not in repr(row.__dict__)

    # shown like a Stripe customer: the alert, the wall, the Members page, !vip
    alerts = await v.h.services.overlays.history("alerts")
    assert [(a["kind"], a["data"]["name"]) for a in alerts] == [("membership.changed", "Nova")]
    wall = v.h.services.overlays.channel("members").state["members"]
    assert [m["name"] for m in wall["members"]] == ["Nova"]
    members = await (await v.h.client.get("/api/vip/members", headers=await v.h.login())).json()
    assert [(m["viewer"]["name"], m["tier"]) for m in members["members"]] == [("Nova", "gold")]
    await v.h.chat_as("bob", "!vip @Nova")
    assert v.h.said[-1].text == "Nova is a Gold member."


async def test_an_unmapped_tier_grants_the_lowest_and_says_so(vip, caplog):
    v = await vip(CONFIG)
    with caplog.at_level(logging.WARNING, logger="limelight.plugin.vip"):
        assert await send(v, delivery("SUBSCRIPTION_PURCHASED", tier="tier_new", nickname=None))
    [row] = await v.rows()
    assert row.tier == "silver" and row.viewer_name == "Fourthwall member"
    warned = [r.getMessage() for r in caplog.records if "Fourthwall membership tier" in r.message]
    assert warned == [
        "Fourthwall membership tier 'tier_new' matches no tier; granting silver "
        "(set the tier's fourthwall_tier)"
    ]
    assert EMAIL not in caplog.text


async def test_a_tier_change_ends_the_old_tier_and_grants_the_new(vip, database_url):
    v = await vip(CONFIG, database_url=database_url)
    assert await send(v, delivery("SUBSCRIPTION_PURCHASED", tier="tier_silver")) == {200}
    member = v.changes("granted")[0].viewer
    assert v.plugin.is_member(member, {"silver"})

    upgrade = delivery("SUBSCRIPTION_CHANGED", tier="tier_gold", nickname="Nova Prime")
    assert await send(v, upgrade, copies=5) == {200}
    silver, gold = await v.rows()
    assert silver.ends is not None and gold.ends is None
    assert (gold.tier, gold.source_id, gold.amount_minor) == ("gold", upgrade["id"], None)
    assert gold.viewer_id == silver.viewer_id  # the same member, whatever their nickname now
    assert v.plugin.membership(member).tier == "gold"  # type: ignore[union-attr]
    await wait_until(lambda: v.changes("expired"))
    assert [(c.status, c.level) for c in v.changes()] == [
        ("granted", "silver"),
        ("granted", "gold"),
        ("expired", "silver"),
    ]
    assert badges_of(v, member) == ["vip-gold"]
    alerts = await v.h.services.overlays.history("alerts")
    assert [a["data"]["level"] for a in alerts] == ["Gold", "Silver"]  # newest first

    # a change that keeps the tier (a new nickname, a renewal date) writes nothing
    assert await send(v, delivery("SUBSCRIPTION_CHANGED", tier="tier_gold")) == {200}
    assert len(await v.rows()) == 2 and len(await logged(v)) == 2


@pytest.mark.parametrize("status", ["suspended", "SUSPENDED", "EXPIRED", "None"])
async def test_a_change_that_stops_the_membership_ends_it_now(vip, status):
    v = await vip(CONFIG)
    assert await send(v, delivery("SUBSCRIPTION_PURCHASED")) == {200}
    member = v.changes("granted")[0].viewer
    assert await send(v, delivery("SUBSCRIPTION_CHANGED", status=status), copies=5) == {200}
    assert not v.plugin.is_member(member)
    [row] = await v.rows()
    assert row.ends is not None and row.revoked_at is None
    await wait_until(lambda: v.changes("expired"))
    assert [c.status for c in v.changes()] == ["granted", "expired"]
    assert badges_of(v, member) == []
    # the expiry that follows finds nothing left to end
    assert await send(v, delivery("SUBSCRIPTION_EXPIRED")) == {200}
    assert len(await logged(v)) == 2


@pytest.mark.parametrize("status", ["CANCELLED", "Canceled", "ACTIVE", ""])
async def test_a_cancellation_keeps_the_membership_until_it_expires(vip, status):
    """A supporter who cancels has paid for the period they are in: the membership stays
    until Fourthwall's SUBSCRIPTION_EXPIRED, which ends it."""
    v = await vip(CONFIG)
    assert await send(v, delivery("SUBSCRIPTION_PURCHASED")) == {200}
    member = v.changes("granted")[0].viewer
    assert await send(v, delivery("SUBSCRIPTION_CHANGED", status=status), copies=3) == {200}
    assert v.plugin.is_member(member)
    [row] = await v.rows()
    assert row.ends is None
    assert await send(v, delivery("SUBSCRIPTION_EXPIRED")) == {200}
    assert not v.plugin.is_member(member)
    await wait_until(lambda: v.changes("expired"))


async def test_an_expiry_ends_the_membership_now(vip, database_url):
    v = await vip(CONFIG, database_url=database_url)
    assert await send(v, delivery("SUBSCRIPTION_PURCHASED")) == {200}
    member = v.changes("granted")[0].viewer
    other = delivery("SUBSCRIPTION_PURCHASED", supporter="msup_other", nickname="Orla")
    assert await send(v, other) == {200}
    assert await send(v, delivery("SUBSCRIPTION_EXPIRED"), copies=5) == {200}
    assert not v.plugin.is_member(member)
    await wait_until(lambda: v.changes("expired"))
    [ended] = v.changes("expired")
    assert ended.viewer == member
    rows = {r.subscription: r for r in await v.rows()}
    assert rows["msup_nova"].ends is not None and rows["msup_other"].ends is None
    # ended, not revoked: the payment stays in the revenue
    assert rows["msup_nova"].revoked_at is None and rows["msup_nova"].amount_minor == 999


async def test_a_change_or_expiry_of_an_unknown_supporter_writes_nothing(vip):
    v = await vip(CONFIG)
    for kind in ("SUBSCRIPTION_CHANGED", "SUBSCRIPTION_EXPIRED"):
        assert await send(v, delivery(kind, supporter="msup_stranger")) == {200}
    assert await v.rows() == [] and await logged(v) == [] and v.changes() == []


async def test_a_test_delivery_writes_nothing_and_blocks_no_real_one(vip):
    v = await vip(CONFIG)
    test = delivery("SUBSCRIPTION_PURCHASED", test=True)
    assert await send(v, test, copies=3) == {200}
    assert await v.rows() == [] and v.changes() == []
    [seen] = v.rec.of_type("vip.fourthwall")  # it reached the plugins, as a test, once
    assert seen.test
    real = {**test, "testMode": False}
    assert await send(v, real) == {200}
    assert len(await v.rows()) == 1


async def test_refusals(vip):
    v = await vip(CONFIG)
    purchase = delivery("SUBSCRIPTION_PURCHASED")
    assert await send(v, purchase, secret="another-shops-secret") == {401}
    body, headers = fourthwall_signed(purchase, SECRET)
    del headers["X-Fourthwall-Hmac-SHA256"]
    assert (await v.post("vip-fourthwall", body, headers))[0] == 401

    async def refused(event: Any) -> tuple[int, str]:
        body, headers = fourthwall_signed(event, SECRET)
        return await v.post("vip-fourthwall", body, headers)

    no_id = delivery("SUBSCRIPTION_PURCHASED")
    del no_id["data"]["id"]
    status, text = await refused(no_id)
    assert status == 400 and "data.id is required" in text
    no_event_id = delivery("SUBSCRIPTION_EXPIRED")
    del no_event_id["id"]
    status, text = await refused(no_event_id)
    assert status == 400 and "id is required" in text
    status, text = await refused(delivery("SUBSCRIPTION_PURCHASED", value="ten"))
    assert status == 400 and "data.subscription.variant.amount.value" in text
    status, text = await refused([1, 2])
    assert status == 400 and "body must be a JSON object" in text
    # other Fourthwall events are acknowledged and ignored
    order = {**delivery("ORDER_PLACED"), "data": {"id": "ord_1"}}
    assert (await refused(order))[0] == 200
    assert await v.rows() == [] and await logged(v) == []


async def test_no_secret_refuses_every_delivery(vip):
    v = await vip({"plugins": {"vip": TIERS}})
    body, headers = fourthwall_signed(delivery("SUBSCRIPTION_PURCHASED"), SECRET)
    status, text = await v.post("vip-fourthwall", body, headers)
    assert status == 503
    assert "[webhooks.vip-fourthwall] secret is not set" in text
    assert await v.rows() == []


async def test_the_webhook_table_is_checked(vip):
    check = FourthwallMemberships.check_config
    assert check({"secret": SECRET}) == []
    assert check({"secret": "short"}) == [
        "webhooks.vip-fourthwall.secret: must be the webhook's secret key from Fourthwall "
        "(at least 8 characters)"
    ]
    assert check({"secret": SECRET, "tolerance": 300}) == [
        "webhooks.vip-fourthwall.tolerance: unknown key (check the spelling against "
        "config.example.toml)"
    ]
    v = await vip(CONFIG)
    assert webhook_problems(v.h.settings, v.h.host) == []  # the endpoint is known


async def test_a_free_tier_and_a_whole_amount(vip):
    """Fourthwall amounts are JSON numbers: 0 (a free tier) and 10 are amounts too."""
    v = await vip(CONFIG)
    assert await send(v, delivery("SUBSCRIPTION_PURCHASED", value=10)) == {200}
    free = delivery("SUBSCRIPTION_PURCHASED", supporter="msup_free", tier="tier_silver", value=0)
    assert await send(v, free) == {200}
    paid, zero = await v.rows()
    assert (paid.amount_minor, zero.amount_minor) == (1000, 0)
    assert (paid.tier, zero.tier) == ("gold", "silver") and zero.ends is None


async def test_a_replay_after_a_restart_announces_what_was_written(vip):
    """``read_back`` (the plugin's ``on_event`` for an event recorded before a crash):
    a purchase and a tier change announce their grant, with the member alert; an end
    announces nothing itself (the expiry does, from the rows, at startup)."""
    v = await vip(CONFIG)
    assert await send(v, delivery("SUBSCRIPTION_PURCHASED", tier="tier_silver")) == {200}
    assert await send(v, delivery("SUBSCRIPTION_CHANGED", tier="tier_gold")) == {200}
    assert await send(v, delivery("SUBSCRIPTION_EXPIRED")) == {200}
    purchase, change, end = v.rec.of_type("vip.fourthwall")
    silver, gold = await v.rows()
    sources = v.plugin.sources
    for event, row in ((purchase, silver), (change, gold)):
        [again] = await sources.read_back(event)
        said = (again.row_id, again.tier, again.status, again.alert)
        assert said == (row.id, row.tier, "granted", True)
    assert await sources.read_back(end) == []
