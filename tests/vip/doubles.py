"""Stripe subscription payloads for /webhooks/vip-stripe, shaped as Stripe sends them
(API 2024-06-20: ``invoice.subscription``, ``charge.invoice``), signed with the official
``stripe`` package's own helper; Fourthwall membership events for /webhooks/vip-fourthwall,
shaped as Fourthwall's webhook reference documents them (sign them with
:func:`tests.support.fourthwall_signed`)."""

from __future__ import annotations

import json
import secrets
import time
from typing import Any

import stripe

VIP_STRIPE_SECRET = "whsec_vip_" + "7" * 32
WEBHOOKS = {"webhooks": {"vip-stripe": {"secret": VIP_STRIPE_SECRET}}}


def envelope(type: str, obj: dict[str, Any], *, livemode: bool = True) -> dict[str, Any]:
    return {
        "id": f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }


def subscription_checkout(
    *, reference: str | None, subscription: str, invoice: str, amount: int = 500,
    currency: str = "eur", name: str = "Sam Card", metadata: dict[str, str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    return {
        "id": f"cs_live_{secrets.token_hex(10)}",
        "object": "checkout.session",
        "amount_subtotal": amount,
        "amount_total": amount,
        "client_reference_id": reference,
        "currency": currency,
        "customer": f"cus_{secrets.token_hex(7)}",
        "customer_details": {"email": "sam@example.com", "name": name},
        "invoice": invoice,
        "livemode": True,
        "metadata": metadata or {},
        "mode": "subscription",
        "payment_intent": None,
        "payment_link": "plink_1Example",
        "payment_status": "paid",
        "status": "complete",
        "subscription": subscription,
    }


def invoice_paid(
    *, subscription: str, invoice: str | None = None, amount: int = 500, currency: str = "eur",
    reason: str = "subscription_cycle", period_end: int | None = None, intent: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    end = period_end or int(time.time()) + 31 * 86400
    return {
        "id": invoice or f"in_{secrets.token_hex(10)}",
        "object": "invoice",
        "amount_due": amount,
        "amount_paid": amount,
        "billing_reason": reason,
        "currency": currency,
        "customer": "cus_x",
        "lines": {
            "object": "list",
            "data": [{"id": "il_1", "period": {"start": end - 31 * 86400, "end": end}}],
        },
        "paid": True,
        "payment_intent": intent or f"pi_{secrets.token_hex(10)}",
        "status": "paid",
        "subscription": subscription,
    }


def subscription_deleted(subscription: str, period_end: int) -> dict[str, Any]:
    return {
        "id": subscription,
        "object": "subscription",
        "cancel_at_period_end": False,
        "canceled_at": int(time.time()),
        "current_period_end": period_end,
        "ended_at": period_end,
        "status": "canceled",
    }


def charge_refunded(
    *, invoice: str, amount: int = 500, intent: str | None = None
) -> dict[str, Any]:
    return {
        "id": f"ch_{secrets.token_hex(12)}",
        "object": "charge",
        "amount": amount,
        "amount_refunded": amount,
        "currency": "eur",
        "invoice": invoice,
        "payment_intent": intent or f"pi_{secrets.token_hex(10)}",
        "refunded": True,
    }


def signed(event: dict[str, Any], secret: str = VIP_STRIPE_SECRET) -> tuple[bytes, dict[str, str]]:
    payload = json.dumps(event, indent=2)
    header = stripe.WebhookSignature.generate_signature_header(payload, secret)
    return payload.encode(), {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": header,
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    }


FOURTHWALL_EMAIL = "supporter@fourthwall.com"


def fourthwall_membership(
    kind: str,
    supporter: str = "msup_nova",
    *,
    tier: str = "tier_gold",
    value: Any = 9.99,
    nickname: str | None = "Nova",
    status: str = "ACTIVE",
    test: bool = False,
) -> dict[str, Any]:
    """A membership webhook event as Fourthwall documents it (``data`` is the supporter)."""
    data: dict[str, Any] = {
        "id": supporter,
        "email": FOURTHWALL_EMAIL,
        "createdAt": "2020-08-13T09:05:36.939Z",
        "subscription": {
            "type": status,
            "variant": {
                "id": f"mvar_{tier}",
                "tierId": tier,
                "interval": "MONTHLY",
                "amount": {"value": value, "currency": "USD"},
                "offerId": "moff_1",
            },
        },
    }
    if nickname is not None:
        data["nickname"] = nickname
    return {
        "id": f"weve_{secrets.token_hex(10)}",
        "webhookId": "wcon_vip",
        "shopId": "sh_test",
        "type": kind,
        "apiVersion": "V1",
        "createdAt": "2025-03-01T12:00:00.000Z",
        "testMode": test,
        "data": data,
    }


def png(width: int, height: int, rgba: tuple[int, int, int, int] = (230, 40, 90, 255)) -> bytes:
    """A real PNG of one colour (browsers draw it; the media store reads its size)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    pixel = bytes(rgba)
    raw = b"".join(b"\x00" + pixel * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
