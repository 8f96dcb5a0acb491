"""One event of every core type, and the words the activity feed must show for it."""

from __future__ import annotations

from typing import Any

ALICE = {"platform": "twitch", "id": "1", "name": "Alice"}

#: (wire event, label, text, detail)
CASES: list[tuple[dict[str, Any], str, str, str]] = [
    (
        {"type": "chat.message", "viewer": ALICE, "data": {"text": "hello chat", "channel": "c"}},
        "Chat",
        "Alice said",
        "hello chat",
    ),
    (
        {"type": "chat.deleted", "viewer": ALICE, "data": {"message_id": "m-1"}},
        "Message removed",
        "A message by Alice was removed",
        "",
    ),
    (
        {
            "type": "tip",
            "viewer": ALICE,
            "data": {
                "amount": "250.00",
                "currency": "USD",
                "message": "big love",
                "provider": "fourthwall",
            },
        },
        "Tip",
        "Alice tipped $250.00 on Fourthwall",
        "big love",
    ),
    (
        {
            "type": "refund",
            "viewer": ALICE,
            "data": {
                "amount": "5.00",
                "currency": "EUR",
                "original_source": "kofi",
                "original_id": "k-1",
                "reason": "chargeback",
            },
        },
        "Refund",
        "\u20ac5.00 refunded to Alice",
        "chargeback",
    ),
    (
        {
            "type": "merch.refund",
            "viewer": ALICE,
            "data": {
                "amount": "25.00",
                "currency": "EUR",
                "original_source": "shop-stripe",
                "original_id": "cs_1",
                "reason": "refunded in Stripe",
            },
        },
        "Merch refund",
        "\u20ac25.00 of an order refunded to Alice",
        "refunded in Stripe",
    ),
    (
        {"type": "cheer", "viewer": ALICE, "data": {"bits": 1500, "message": "Cheer1500 gg"}},
        "Cheer",
        "Alice cheered 1,500 bits",
        "Cheer1500 gg",
    ),
    (
        {"type": "subscription", "viewer": ALICE, "data": {"tier": "2000", "months": 7}},
        "Subscription",
        "Alice resubscribed for 7 months (Tier 2)",
        "",
    ),
    (
        {"type": "gift_bomb", "viewer": ALICE, "data": {"count": 10, "tier": "1000"}},
        "Gift bomb",
        "Alice gifted 10 Tier 1 subs",
        "",
    ),
    (
        {"type": "raid", "viewer": ALICE, "data": {"viewers": 42}},
        "Raid",
        "Alice raided with 42 viewers",
        "",
    ),
    (
        {
            "type": "donation",
            "viewer": ALICE,
            "data": {"amount": "10.00", "currency": "USD", "campaign": "Charity"},
        },
        "Donation",
        "Alice donated $10.00 to charity",
        "",
    ),
    (
        {
            "type": "merch.order",
            "viewer": ALICE,
            "data": {"item": "Mug", "amount": "30.00", "currency": "USD", "quantity": 2},
        },
        "Merch order",
        "Alice bought 2 \u00d7 Mug ($30.00)",
        "",
    ),
    (
        {
            "type": "membership.changed",
            "viewer": ALICE,
            "data": {"level": "VIP", "status": "granted"},
        },
        "New member",
        "Alice is now VIP",
        "",
    ),
    (
        {"type": "milestone", "data": {"name": "Halfway", "current": 50, "target": 100}},
        "Milestone",
        "Halfway reached (50 of 100)",
        "",
    ),
    (
        {"type": "stream.online", "data": {"title": "Speedruns"}},
        "Stream online",
        "The stream started",
        "Speedruns",
    ),
    ({"type": "stream.offline", "data": {}}, "Stream offline", "The stream ended", ""),
]
