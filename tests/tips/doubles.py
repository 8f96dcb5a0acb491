"""Provider test doubles: requests built exactly as Ko-fi, Stripe and a generic sender make them.

* Ko-fi posts ``application/x-www-form-urlencoded`` with one field, ``data``, holding the
  JSON below (shape from Ko-fi's webhook documentation and its "send test" button).
* Stripe posts a pretty-printed event envelope with a ``Stripe-Signature`` header made by
  the official ``stripe`` package's own helper, ``WebhookSignature.generate_signature_header``.
* The generic sender signs with :func:`limelight.webhooks.signed_headers`.
* Fourthwall posts its event envelope with ``X-Fourthwall-Hmac-SHA256``, the base64
  HMAC-SHA256 of the body with the shop's secret key; a ``DONATION``'s ``data`` is the
  donation as Fourthwall's API reference shows it (``don_...``, ``amounts.total``).
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
import uuid
from typing import Any
from urllib.parse import urlencode

import stripe
from limelight.webhooks import signed_headers

from tests.support import fourthwall_signed

KOFI_TOKEN = "3c5e3b9a-5b1e-4c1b-9a58-kofi-test-token"
STRIPE_SECRET = "whsec_test_" + "5" * 32
GENERIC_SECRET = "generic-secret-for-the-test-suite"
FOURTHWALL_SECRET = "fourthwall-secret-for-the-test-suite"

WEBHOOK_CONFIG = {
    "webhooks": {
        "kofi": {"verification_token": KOFI_TOKEN},
        "stripe": {"secret": STRIPE_SECRET},
        "generic": {"secret": GENERIC_SECRET},
        "fourthwall-donations": {"secret": FOURTHWALL_SECRET},
    }
}

_seq = itertools.count(1)


# -- Ko-fi ---------------------------------------------------------------------------------


def kofi_payload(
    type: str = "Donation",
    amount: str = "3.00",
    currency: str = "USD",
    *,
    from_name: str = "Jo Example",
    message: str | None = "Good luck!",
    is_public: bool = True,
    txid: str | None = None,
    token: str = KOFI_TOKEN,
    **extra: Any,
) -> dict[str, Any]:
    txid = txid or str(uuid.uuid4())
    payload: dict[str, Any] = {
        "verification_token": token,
        "message_id": str(uuid.uuid4()),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "type": type,
        "is_public": is_public,
        "from_name": from_name,
        "message": message,
        "amount": amount,
        "url": f"https://ko-fi.com/Home/CoffeeShop?txid={txid}",
        "email": f"{from_name.lower().replace(' ', '.')}@example.com",
        "currency": currency,
        "is_subscription_payment": type == "Subscription",
        "is_first_subscription_payment": type == "Subscription",
        "kofi_transaction_id": txid,
        "shop_items": None,
        "tier_name": "Bronze" if type == "Subscription" else None,
        "shipping": None,
    }
    if type == "Shop Order":
        payload["shop_items"] = [
            {"direct_link_code": "1a2b3c4d5e", "variation_name": "Blue", "quantity": 1}
        ]
        payload["shipping"] = {
            "full_name": from_name,
            "street_address": "1 Main St",
            "city": "Town",
            "state_or_province": "",
            "postal_code": "1000",
            "country": "Belgium",
            "country_code": "BE",
            "telephone": "",
        }
    payload.update(extra)
    return payload


def kofi_request(payload: dict[str, Any] | str) -> tuple[bytes, dict[str, str]]:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    return urlencode({"data": data}).encode(), {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "Ko-fi Webhook",
    }


# -- Stripe -------------------------------------------------------------------------------


def stripe_event(
    type: str, obj: dict[str, Any], *, livemode: bool = True, previous: dict[str, Any] | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "data": data,
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": type,
    }


def checkout_session(
    amount: int = 500,
    currency: str = "usd",
    *,
    reference: str | None = None,
    name: str = "Sam Card",
    intent: str | None = None,
    message: str = "",
    shown_as: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """A paid Checkout Session of a Payment Link: ``name`` is the card holder's (Stripe's
    ``customer_details.name``), ``message`` and ``shown_as`` the answers to the link's
    custom text fields ``message`` and ``name``, when given."""
    n = next(_seq)
    obj: dict[str, Any] = {
        "id": f"cs_live_{secrets.token_hex(10)}",
        "object": "checkout.session",
        "amount_subtotal": amount,
        "amount_total": amount,
        "client_reference_id": reference,
        "currency": currency,
        "customer": None,
        "customer_details": {
            "email": f"sam{n}@example.com",
            "name": name,
            "phone": None,
            "address": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
        "custom_fields": [
            {
                "key": key,
                "label": {"custom": label, "type": "custom"},
                "optional": True,
                "type": "text",
                "text": {"value": value, "maximum_length": 255, "minimum_length": None},
            }
            for key, label, value in (
                ("message", "Message", message),
                ("name", "Name shown on stream", shown_as),
            )
            if value
        ],
        "livemode": True,
        "metadata": {},
        "mode": "payment",
        "payment_intent": intent or f"pi_{secrets.token_hex(12)}",
        "payment_link": "plink_1TestLink",
        "payment_status": "paid",
        "status": "complete",
    }
    obj.update(extra)
    return obj


def payment_intent(amount: int = 500, currency: str = "usd", **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "id": f"pi_{secrets.token_hex(12)}",
        "object": "payment_intent",
        "amount": amount,
        "amount_received": amount,
        "currency": currency,
        "customer": None,
        "livemode": True,
        "metadata": {},
        "receipt_email": "pat@example.com",
        "shipping": None,
        "status": "succeeded",
    }
    obj.update(extra)
    return obj


def charge_refunded(
    intent: str, amount: int, refunded: int, before: int = 0, currency: str = "usd"
) -> tuple[dict[str, Any], dict[str, Any]]:
    obj = {
        "id": f"ch_{secrets.token_hex(12)}",
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": refunded,
        "currency": currency,
        "payment_intent": intent,
        "refunded": refunded >= amount,
        "livemode": True,
    }
    return obj, {"amount_refunded": before, "refunded": False}


def stripe_request(
    event: dict[str, Any] | str, *, secret: str = STRIPE_SECRET, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    payload = event if isinstance(event, str) else json.dumps(event, indent=2)
    header = stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp=timestamp)
    return payload.encode(), {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": header,
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    }


# -- generic ------------------------------------------------------------------------------


def generic_request(
    body: dict[str, Any] | bytes, *, secret: str = GENERIC_SECRET, timestamp: int | None = None
) -> tuple[bytes, dict[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return raw, {"Content-Type": "application/json", **signed_headers(secret, raw, timestamp)}


def generic_tip(amount: str = "5.00", currency: str = "EUR", **extra: Any) -> dict[str, Any]:
    return {
        "id": f"order-{uuid.uuid4().hex[:12]}",
        "amount": amount,
        "currency": currency,
        "name": "Gen Eric",
        "message": "from elsewhere",
        **extra,
    }


# -- Fourthwall ----------------------------------------------------------------------------


def fourthwall_donation(
    value: float | int = 5,
    currency: str = "USD",
    *,
    username: str = "Johnny123",
    message: str = "Sample message",
    status: str = "COMPLETED",
    test: bool = False,
) -> dict[str, Any]:
    """A ``DONATION`` event in the shape of Fourthwall's webhook reference."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    return {
        "id": str(uuid.uuid4()),
        "webhookId": "wcon_P-VkRfmJTBaC6_Tst22cew",
        "shopId": "sh_c689d374-22ca-43d3-8d29-9ef0805cc4cb",
        "type": "DONATION",
        "apiVersion": "V1",
        "createdAt": now,
        "testMode": test,
        "data": {
            "id": f"don_{secrets.token_urlsafe(16)}",
            "shopId": "sh_c689d374-22ca-43d3-8d29-9ef0805cc4cb",
            "status": status,
            "email": "supporter@fourthwall.com",
            "amounts": {"total": {"value": value, "currency": currency}},
            "createdAt": now,
            "updatedAt": now,
            "username": username,
            "message": message,
        },
    }


def fourthwall_request(
    event: dict[str, Any], *, secret: str = FOURTHWALL_SECRET
) -> tuple[bytes, dict[str, str]]:
    return fourthwall_signed(event, secret)
