"""Each provider, fed requests exactly as the provider sends them, writes the right ledger."""

from __future__ import annotations

import pytest

from tests.support import wait_until

from .doubles import (
    charge_refunded,
    checkout_session,
    generic_request,
    generic_tip,
    kofi_payload,
    kofi_request,
    payment_intent,
    stripe_event,
    stripe_request,
)


@pytest.mark.parametrize(
    ("kofi_type", "detail"),
    [
        ("Donation", "donation"),
        ("Subscription", "subscription"),
        ("Commission", "commission"),
        ("Shop Order", "shop_order"),
    ],
)
async def test_kofi_types_become_tips(tips, kofi_type: str, detail: str) -> None:
    t = await tips()
    payload = kofi_payload(kofi_type, "4.50", "EUR", from_name="Kim")
    status, body = await t.post("kofi", *kofi_request(payload))
    assert status == 200, body
    [entry] = await t.entries()
    assert (entry["provider"], entry["provider_id"]) == ("kofi", payload["kofi_transaction_id"])
    assert (entry["amount"], entry["currency"], entry["detail"]) == ("4.50", "EUR", detail)
    assert entry["viewer"]["name"] == "Kim"
    [alert] = t.alerts.of("tip")
    assert alert["data"]["name"] == "Kim"
    assert alert["data"]["amount"] == "4.50"
    assert t.h.said[-1].text == "Thank you Kim for the €4.50 tip!"


async def test_kofi_payer_named_like_a_placeholder_is_thanked_by_that_name(tips) -> None:
    # The payer chooses their name: it is inserted once and never expanded again.
    t = await tips()
    status, _ = await t.post(
        "kofi", *kofi_request(kofi_payload(from_name="{amount}", amount="5.00", currency="USD"))
    )
    assert status == 200
    assert t.h.said[-1].text == "Thank you {amount} for the $5.00 tip!"
    [alert] = t.alerts.of("tip")
    assert (alert["data"]["name"], alert["data"]["display_amount"]) == ("{amount}", "$5.00")


async def test_kofi_private_tip_hides_name_and_message_on_stream(tips) -> None:
    t = await tips()
    await t.post(
        "kofi", *kofi_request(kofi_payload(from_name="Secret Sam", message="psst", is_public=False))
    )
    [alert] = t.alerts.of("tip")
    assert alert["data"]["name"] == "Anonymous"
    assert alert["data"]["message"] == ""
    assert "Secret Sam" not in t.h.said[-1].text
    [entry] = await t.entries()  # the streamer still sees both
    assert entry["anonymous"] is True
    assert entry["message"] == "psst"


async def test_kofi_code_attributes_the_tip_to_the_chat_viewer(tips) -> None:
    t = await tips()
    await t.h.chat_as("alice", "!tip")
    reply = t.h.said[-1].text
    code = reply.split("your code ", 1)[1].split(",", 1)[0]
    assert code.startswith("LL-")
    await t.post(
        "kofi",
        *kofi_request(kofi_payload(from_name="A. Smith", message=f"love it {code.lower()} x")),
    )
    [entry] = await t.entries()
    assert entry["viewer"] == {"platform": "twitch", "id": "alice-id", "name": "alice"}
    assert entry["message"] == "love it x"
    [alert] = t.alerts.of("tip")
    assert alert["data"]["name"] == "alice"
    assert code.lower() not in alert["data"]["message"].lower()


async def test_stripe_checkout_with_tip_link_reference(tips) -> None:
    t = await tips()
    await t.h.chat_as("bob", "!tip")
    code = t.h.said[-1].text.split("your code ", 1)[1].split(",", 1)[0]
    session = checkout_session(1250, "usd", reference=code, message="go go go")
    status, body = await t.post(
        "stripe", *stripe_request(stripe_event("checkout.session.completed", session))
    )
    assert status == 200, body
    [entry] = await t.entries()
    assert entry["provider_id"] == session["payment_intent"]
    assert (entry["amount"], entry["currency"], entry["detail"]) == ("12.50", "USD", "checkout")
    assert entry["viewer"]["name"] == "bob"
    assert entry["message"] == "go go go"


async def test_stripe_payers_are_shown_by_the_name_they_chose_never_the_card_holders(
    tips,
) -> None:
    """A Payment Link's custom field ``name`` is the name on stream; without it the payer
    is "Stripe supporter", never the card holder's or the parcel's name from the form."""
    t = await tips()
    chosen = checkout_session(500, name="Samantha Cardholder", shown_as="sam_the_tipper")
    plain = checkout_session(600, name="Samantha Cardholder")
    shipped = payment_intent(700, shipping={"name": "Pat Postal", "address": {}})
    named = payment_intent(800, metadata={"name": "pat_on_stream"})
    for event in (
        stripe_event("checkout.session.completed", chosen),
        stripe_event("checkout.session.completed", plain),
        stripe_event("payment_intent.succeeded", shipped),
        stripe_event("payment_intent.succeeded", named),
    ):
        status, body = await t.post("stripe", *stripe_request(event))
        assert status == 200, body
    names = {e["amount"]: e["viewer"]["name"] for e in await t.entries()}
    assert names == {
        "5.00": "sam_the_tipper",
        "6.00": "Stripe supporter",
        "7.00": "Stripe supporter",
        "8.00": "pat_on_stream",
    }
    await t.h.settle()
    shown = " ".join([*(str(a) for a in t.alerts.of("tip")), *(m.text for m in t.h.said)])
    assert "Cardholder" not in shown and "Postal" not in shown, shown


async def test_stripe_checkout_and_payment_intent_of_one_payment_are_one_tip(tips) -> None:
    t = await tips()
    intent = payment_intent(700, "eur")
    session = checkout_session(700, "eur", intent=intent["id"])
    for event in (
        stripe_event("payment_intent.succeeded", intent),
        stripe_event("checkout.session.completed", session),
    ):
        status, _ = await t.post("stripe", *stripe_request(event))
        assert status == 200
    entries = await t.entries()
    assert [(e["provider_id"], e["amount"]) for e in entries] == [(intent["id"], "7.00")]
    assert len(t.alerts.of("tip")) == 1


async def test_stripe_unpaid_checkout_and_other_events_are_acknowledged(tips) -> None:
    t = await tips()
    unpaid = checkout_session(500, payment_status="unpaid")
    for event in (
        stripe_event("checkout.session.completed", unpaid),
        stripe_event("customer.created", {"id": "cus_1", "object": "customer"}),
    ):
        status, body = await t.post("stripe", *stripe_request(event))
        assert (status, body["ids"]) == (200, [])
    assert await t.entries() == []


async def test_stripe_payments_of_other_plugins_and_memberships_are_not_tips(tips) -> None:
    t = await tips()
    shop = checkout_session(2500, metadata={"limelight": "shop"})
    subscription = checkout_session(500, mode="subscription", payment_intent=None)
    invoice = payment_intent(500, invoice="in_1Membership")
    for event in (
        stripe_event("checkout.session.completed", shop),
        stripe_event("checkout.session.completed", subscription),
        stripe_event("payment_intent.succeeded", invoice),
    ):
        status, body = await t.post("stripe", *stripe_request(event))
        assert (status, body["ids"]) == (200, [])
    assert await t.entries() == []
    own = checkout_session(700, metadata={"limelight": "tips"})
    status, body = await t.post(
        "stripe", *stripe_request(stripe_event("checkout.session.completed", own))
    )
    assert status == 200 and len(body["ids"]) == 1


async def test_stripe_zero_decimal_currency(tips) -> None:
    t = await tips()
    await t.post(
        "stripe",
        *stripe_request(stripe_event("payment_intent.succeeded", payment_intent(500, "jpy"))),
    )
    [entry] = await t.entries()
    assert (entry["amount"], entry["currency"]) == ("500", "JPY")
    assert entry["viewer"]["name"] == "Stripe supporter"  # unmatched, and no name given


async def test_stripe_partial_refunds_reverse_the_original(tips) -> None:
    t = await tips()
    intent = payment_intent(1000, "usd")
    await t.post("stripe", *stripe_request(stripe_event("payment_intent.succeeded", intent)))
    first, prev = charge_refunded(intent["id"], 1000, 300, 0)
    second, prev2 = charge_refunded(intent["id"], 1000, 1000, 300)
    second["id"] = first["id"]
    for obj, previous in ((first, prev), (second, prev2), (first, prev)):  # last: a retry
        status, _ = await t.post(
            "stripe", *stripe_request(stripe_event("charge.refunded", obj, previous=previous))
        )
        assert status == 200
    entries = await t.entries()
    refunds = [e for e in entries if e["kind"] == "refund"]
    assert sorted(e["amount"] for e in refunds) == ["-3.00", "-7.00"]
    tip = next(e for e in entries if e["kind"] == "tip")
    assert all(e["original_id"] == tip["id"] for e in refunds)
    assert tip["refundable"] is False
    totals = (await (await t.h.client.get("/api/tips/totals", headers=t.h.admin_headers)).json())[
        "totals"
    ]
    # One payment, refunded in two parts: the refund rows are not counted as payments.
    assert totals == [
        {
            "currency": "USD",
            "amount": "0.00",
            "display": "$0.00",
            "minor": 0,
            "entries": 1,
            "refunds": 2,
        }
    ]


@pytest.mark.parametrize("refunded", [1000, 300])
async def test_stripe_refund_that_arrives_before_its_tip_is_linked_when_the_tip_comes(
    database_url: str, tips, refunded: int
) -> None:
    # Stripe does not promise order: charge.refunded can arrive before
    # payment_intent.succeeded. The refund waits in the ledger (across a restart, too);
    # the tip adopts it, and a tip that is already fully refunded is counted but never
    # announced or thanked.
    intent = payment_intent(1000, "usd", metadata={"name": "Quinn"})
    charge, previous = charge_refunded(intent["id"], 1000, refunded, 0)
    t1 = await tips(database_url=database_url)
    status, _ = await t1.post(
        "stripe", *stripe_request(stripe_event("charge.refunded", charge, previous=previous))
    )
    assert status == 200
    [orphan] = await t1.entries()
    assert orphan["kind"] == "refund" and orphan["original_id"] is None
    await t1.h.close()

    t = await tips(database_url=database_url)
    status, _ = await t.post(
        "stripe", *stripe_request(stripe_event("payment_intent.succeeded", intent))
    )
    assert status == 200
    entries = await t.entries()
    tip = next(e for e in entries if e["kind"] == "tip")
    refund = next(e for e in entries if e["kind"] == "refund")
    assert refund["original_id"] == tip["id"]
    assert refund["viewer"]["name"] == "Quinn"
    assert tip["refundable"] is (refunded < 1000)
    if refunded == 1000:
        assert t.alerts.of("tip") == [] and t.h.said == []
    else:
        assert len(t.alerts.of("tip")) == 1 and len(t.h.said) == 1
    board = await (
        await t.h.client.get(
            "/api/tips/leaderboard", params={"period": "all"}, headers=t.h.admin_headers
        )
    ).json()
    expected = [] if refunded == 1000 else [("Quinn", "7.00")]
    assert [(e["name"], e["amount"]) for e in board["entries"]] == expected


async def test_refund_and_its_tip_in_one_commit_are_linked(tips) -> None:
    # Both land in the same group commit, the refund first: the tip adopts it at once and,
    # fully refunded, is counted but never announced.
    import asyncio

    from limelight import Money, Refund
    from limelight.testing import make_tip

    t = await tips()
    bus = t.h.services.bus
    refund = Refund(
        source="generic",
        source_id="r-early",
        amount=Money(500, "USD"),
        original_source="generic",
        original_id="t-late",
    )
    tip = make_tip("5.00", "USD", viewer="uma", source="generic", source_id="t-late")
    batches = bus.writer.batches
    await asyncio.gather(bus.publish(refund), bus.publish(tip))
    await t.h.settle()
    assert bus.writer.batches == batches + 1
    entries = await t.entries()
    row = next(e for e in entries if e["kind"] == "tip")
    assert next(e for e in entries if e["kind"] == "refund")["original_id"] == row["id"]
    assert row["refundable"] is False
    assert t.alerts.of("tip") == [] and t.h.said == []


async def test_stripe_test_mode_shows_an_alert_and_writes_no_ledger(tips) -> None:
    t = await tips()
    status, _ = await t.post(
        "stripe",
        *stripe_request(
            stripe_event("payment_intent.succeeded", payment_intent(500), livemode=False)
        ),
    )
    assert status == 200
    assert await t.entries() == []
    [alert] = t.alerts.of("tip")
    assert alert["test"] is True


async def test_generic_tip_and_refund(tips) -> None:
    t = await tips()
    tip = generic_tip("9.99", "GBP", name="Gus")
    status, body = await t.post("generic", *generic_request(tip))
    assert status == 200, body
    status, body = await t.post(
        "generic",
        *generic_request(
            {
                "id": "refund-1",
                "type": "refund",
                "refund_of": tip["id"],
                "amount": "9.99",
                "currency": "GBP",
                "reason": "chargeback",
            }
        ),
    )
    assert status == 200, body
    entries = {e["kind"]: e for e in await t.entries()}
    assert entries["tip"]["viewer"]["name"] == "Gus"
    assert entries["refund"]["amount"] == "-9.99"
    assert entries["refund"]["reason"] == "chargeback"
    assert entries["refund"]["original_id"] == entries["tip"]["id"]


async def test_generic_viewer_identity_is_used_directly(tips) -> None:
    t = await tips()
    await t.post(
        "generic",
        *generic_request(
            generic_tip(viewer={"platform": "youtube", "id": "UC123", "name": "Yuki"})
        ),
    )
    [entry] = await t.entries()
    assert entry["viewer"] == {"platform": "youtube", "id": "UC123", "name": "Yuki"}


async def test_twitch_cheers_count_in_bits_with_their_value(tips) -> None:
    from limelight import Cheer
    from limelight.testing import make_viewer

    t = await tips({"plugins": {"tips": {"base_currency": "USD", "bit_value": "0.01"}}})
    await t.h.publish(
        Cheer(
            source="twitch",
            source_id="cheer-1",
            viewer=make_viewer("carl"),
            bits=250,
            message="Cheer250",
        )
    )
    [entry] = await t.entries()
    assert (entry["kind"], entry["amount"], entry["currency"]) == ("cheer", "250", "BITS")
    assert t.h.said[-1].text == "Thank you carl for the 250 bits tip!"
    await wait_until(
        lambda: t.h.services.overlays.channel("leaderboard").state.get("stream", {}).get("entries")
    )
    board = t.h.services.overlays.channel("leaderboard").state["stream"]
    assert board["entries"][0]["name"] == "carl"
    assert board["entries"][0]["value"] == "$2.50"
