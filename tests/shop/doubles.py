"""Test doubles for the shop: provider deliveries built as the providers send them, a
local fake of Stripe's Checkout Sessions API, and a tiny VIP plugin.

* Stripe: the envelope and ``Stripe-Signature`` made by the official ``stripe`` package's
  ``WebhookSignature.generate_signature_header``.
* Fourthwall: ``ORDER_PLACED`` and ``GIFT_PURCHASE`` in the shape of Fourthwall's webhook
  reference, signed with ``X-Fourthwall-Hmac-SHA256`` = base64(HMAC-SHA256(secret, raw
  body)), as documented.
* The fake Stripe API answers ``POST /v1/checkout/sessions`` (form-encoded, as the stripe
  package sends it) with a Checkout Session object in Stripe's response shape.
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl

import stripe
from aiohttp import web
from limelight import NoConfig, Plugin, ViewerRef
from limelight_vip.api import Granted, Held, Tier

from tests.support import fourthwall_signed

SHOP_STRIPE_SECRET = "whsec_shop_" + "7" * 32
FOURTHWALL_SECRET = "e3f93c7c-c92b-4b8f-a9b1-5b70e0891abc"
_seq = itertools.count(1)


def stripe_request(
    event: dict[str, Any], *, secret: str = SHOP_STRIPE_SECRET
) -> tuple[bytes, dict[str, str]]:
    payload = json.dumps(event, indent=2)
    header = stripe.WebhookSignature.generate_signature_header(payload, secret)
    return payload.encode(), {
        "Content-Type": "application/json; charset=utf-8",
        "Stripe-Signature": header,
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    }


def stripe_event(event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"evt_{secrets.token_hex(12)}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": True,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def session_completed(
    code: str,
    amount: int = 2500,
    currency: str = "eur",
    *,
    sku: str = "hoodie",
    name: str = "Alice",
    product: str = "Logo hoodie",
) -> dict[str, Any]:
    n = next(_seq)
    # the metadata the shop's checkout puts on the session (limelight_shop.checkout)
    meta = {
        "limelight": "shop",
        "reservation": code,
        "sku": sku,
        "variant": "",
        "item_name": product,
    }
    return stripe_event(
        "checkout.session.completed",
        {
            "id": f"cs_test_{n:04d}{secrets.token_hex(8)}",
            "object": "checkout.session",
            "amount_subtotal": amount,
            "amount_total": amount,
            "client_reference_id": code,
            "currency": currency,
            "customer": None,
            "customer_details": {"email": "alice@example.com", "name": name},
            "livemode": True,
            "metadata": meta,
            "mode": "payment",
            "payment_intent": f"pi_{n:04d}{secrets.token_hex(8)}",
            "payment_status": "paid",
            "status": "complete",
        },
    )


def charge_refunded(
    intent: str,
    amount: int = 2500,
    currency: str = "eur",
    *,
    refunded: int | None = None,
    charge: str = "",
) -> dict[str, Any]:
    """Stripe's charge after a refund: ``amount_refunded`` is the running total given back
    (``refunded`` below ``amount``: a partial refund, and ``refunded`` is false)."""
    given = amount if refunded is None else refunded
    return stripe_event(
        "charge.refunded",
        {
            "id": charge or f"ch_{secrets.token_hex(10)}",
            "object": "charge",
            "amount": amount,
            "amount_captured": amount,
            "amount_refunded": given,
            "currency": currency,
            "metadata": {"limelight": "shop"},
            "payment_intent": intent,
            "refunded": given >= amount,
            "livemode": True,
        },
    )


@dataclass(frozen=True)
class Offer:
    """One line of a Fourthwall order: a product (``slug``), a variant, how many."""

    slug: str
    name: str
    unit_price: float
    quantity: int = 1
    size: str = ""
    sku: str = "WDEK-DRE200L"


def fourthwall_offer(offer: Offer) -> dict[str, Any]:
    """An entry of ``data.offers`` as Fourthwall's ORDER_PLACED reference shows it."""
    attributes = f"Black, {offer.size}" if offer.size else ""
    return {
        "id": f"{secrets.token_hex(4)}-5778-4199-8161-0b49b2f212e5",
        "name": offer.name,
        "slug": offer.slug,
        "description": f"{offer.name} description",
        "primaryImage": {
            "id": f"{secrets.token_hex(4)}-5778-4199-8161-0b49b2f212e5",
            "url": "https://cdn.fourthwall.com/customization/sh_c689d374/product.jpeg",
            "width": 800,
            "height": 800,
        },
        "variant": {
            "id": f"{secrets.token_hex(4)}-5778-4199-8161-0b49b2f212e6",
            "name": f"{offer.name} - {attributes}" if attributes else offer.name,
            "sku": offer.sku,
            "unitPrice": {"value": offer.unit_price, "currency": "EUR"},
            "attributes": {
                "description": attributes,
                **({"color": {"name": "Black", "swatch": "#000000"}} if attributes else {}),
                **({"size": {"name": offer.size}} if offer.size else {}),
            },
            "quantity": offer.quantity,
            "price": {"value": round(offer.unit_price * offer.quantity, 2), "currency": "EUR"},
            "weight": {"value": "1.0", "unit": "kg"},
            "dimensions": {"length": "1.0", "width": "2.0", "height": "3.0", "unit": "cm"},
        },
    }


def fourthwall_order(
    message: str = "",
    *,
    slug: str = "hoodie",
    value: float = 25.0,
    name: str = "fwfan",
    offers: Sequence[Offer] = (),
    shipping: float = 0,
) -> dict[str, Any]:
    """``ORDER_PLACED`` in the shape of Fourthwall's webhook reference: one hoodie, or
    ``offers`` (several lines, their quantities) plus ``shipping`` in the total."""
    order_id = f"{secrets.token_hex(4)}-5778-4199-8161-{secrets.token_hex(6)}"
    lines = list(offers) or [Offer(slug, "Logo hoodie", value)]
    subtotal = round(sum(o.unit_price * o.quantity for o in lines), 2)
    total = round(subtotal + shipping, 2)
    return {
        "id": f"weve_{secrets.token_hex(10)}",
        "webhookId": "wcon_P-VkRfmJTBaC6_Tst22cew",
        "shopId": "sh_7ad0c438-beda-4779-a885-0dc325a755c1",
        "type": "ORDER_PLACED",
        "apiVersion": "V1",
        "createdAt": datetime.now(UTC).isoformat(),
        "testMode": False,
        "data": {
            "id": order_id,
            "shopId": "sh_c689d374-22ca-43d3-8d29-9ef0805cc4cb",
            "friendlyId": "D3XZFWPP",
            "checkoutId": "ch_BV44UYrXQA2T_Xcf1288tw",
            "status": "CONFIRMED",
            "email": "supporter@fourthwall.com",
            "username": name,
            "emailMarketingOptIn": True,
            "message": message,
            "amounts": {
                "subtotal": {"value": subtotal, "currency": "EUR"},
                "shipping": {"value": shipping, "currency": "EUR"},
                "tax": {"value": 0, "currency": "EUR"},
                "donation": {"value": 0, "currency": "EUR"},
                "discount": {"value": 0, "currency": "EUR"},
                "total": {"value": total, "currency": "EUR"},
            },
            "billing": {"address": {"name": "Joe Doe", "country": "US", "zip": "12345"}},
            "shipping": {"address": {"name": "Joe Doe", "country": "US", "zip": "12345"}},
            "offers": [fourthwall_offer(o) for o in lines],
            "source": {"type": "ORDER"},
            "createdAt": datetime.now(UTC).isoformat(),
            "updatedAt": datetime.now(UTC).isoformat(),
        },
    }


def fourthwall_gift(
    *,
    slug: str = "hoodie",
    name: str = "Logo hoodie",
    quantity: int = 3,
    total: float = 75.0,
    username: str = "giver",
    message: str = "for chat!",
) -> dict[str, Any]:
    """``GIFT_PURCHASE`` in the shape of Fourthwall's webhook reference: ``quantity`` of
    one offer bought as gifts for the stream's chat, each gift minted (``gifts``) and
    waiting for its winner."""
    now = datetime.now(UTC).isoformat()
    order_id = f"{secrets.token_hex(4)}-5778-4199-8161-0b49b2f212e5"
    return {
        "id": f"weve_{secrets.token_hex(10)}",
        "webhookId": "wcon_P-VkRfmJTBaC6_Tst22cew",
        "shopId": "sh_7ad0c438-beda-4779-a885-0dc325a755c1",
        "type": "GIFT_PURCHASE",
        "apiVersion": "V1",
        "createdAt": now,
        "testMode": False,
        "data": {
            "id": f"giv_{secrets.token_urlsafe(16)}",
            "friendlyId": "D3XZFWPP",
            "shopId": "sh_c689d374-22ca-43d3-8d29-9ef0805cc4cb",
            "offer": {
                "id": f"{secrets.token_hex(4)}-5778-4199-8161-0b49b2f212e5",
                "name": name,
                "slug": slug,
                "description": f"{name} description",
                "primaryImage": {
                    "id": f"{secrets.token_hex(4)}-5778-4199-8161-0b49b2f212e5",
                    "url": "https://fourthwall.com/image.png",
                    "width": 800,
                    "height": 600,
                    "transformedUrl": "https://fourthwall.com/image.png",
                },
            },
            "amounts": {
                "subtotal": {"value": total, "currency": "EUR"},
                "tax": {"value": 0, "currency": "EUR"},
                "total": {"value": total, "currency": "EUR"},
                "profit": {"value": round(total / 2, 2), "currency": "EUR"},
                "prepaidShipping": {"value": 0, "currency": "EUR"},
            },
            "email": "supporter@fourthwall.com",
            "quantity": quantity,
            "gifts": [
                {
                    "id": f"gft_{secrets.token_urlsafe(16)}",
                    "orderId": order_id,
                    "orderFriendlyId": "D3XZFWPP",
                    "winner": None,  # drawn later (GIFT_DRAW_ENDED)
                    "status": "AVAILABLE",
                }
                for _ in range(quantity)
            ],
            "createdAt": now,
            "username": username,
            "message": message,
        },
    }


def fourthwall_updated(placed: dict[str, Any], status: str) -> dict[str, Any]:
    """``ORDER_UPDATED`` for the order of ``placed`` (an :func:`fourthwall_order`), now in
    ``status``: Fourthwall's reference sends the whole order under ``data.order``."""
    return {
        **placed,
        "id": f"weve_{secrets.token_hex(10)}",
        "type": "ORDER_UPDATED",
        "createdAt": datetime.now(UTC).isoformat(),
        "data": {
            "order": {
                **placed["data"],
                "status": status,
                "updatedAt": datetime.now(UTC).isoformat(),
            }
        },
    }


def fourthwall_request(
    event: dict[str, Any], *, secret: str = FOURTHWALL_SECRET
) -> tuple[bytes, dict[str, str]]:
    return fourthwall_signed(event, secret)


class FakeStripeApi:
    """``POST /v1/checkout/sessions`` as Stripe answers it; keeps what it was sent."""

    def __init__(self) -> None:
        self.created: list[dict[str, str]] = []
        self.headers: list[dict[str, str]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/checkout/sessions", self.create)
        return app

    async def create(self, request: web.Request) -> web.Response:
        form = dict(parse_qsl(await request.text(), keep_blank_values=True))
        self.created.append(form)
        self.headers.append(dict(request.headers))
        if not request.headers.get("Authorization", "").startswith("Bearer sk_test_"):
            return web.json_response(
                {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}},
                status=401,
            )
        session_id = f"cs_test_{secrets.token_hex(12)}"
        return web.json_response(
            {
                "id": session_id,
                "object": "checkout.session",
                "amount_subtotal": int(form.get("line_items[0][price_data][unit_amount]", "0")),
                "amount_total": int(form.get("line_items[0][price_data][unit_amount]", "0")),
                "cancel_url": form.get("cancel_url"),
                "client_reference_id": form.get("client_reference_id"),
                "currency": form.get("line_items[0][price_data][currency]"),
                "expires_at": int(form.get("expires_at", "0")),
                "livemode": False,
                "metadata": {k[9:-1]: v for k, v in form.items() if k.startswith("metadata[")},
                "mode": form.get("mode"),
                "payment_intent": None,
                "payment_status": "unpaid",
                "status": "open",
                "success_url": form.get("success_url"),
                "url": f"https://checkout.stripe.com/c/pay/{session_id}",
            }
        )


class FakeVip(Plugin[NoConfig]):
    """A VIP plugin implementing :class:`limelight_vip.api.Memberships` (tiers silver < gold)."""

    def __init__(self) -> None:
        super().__init__()
        self.members: dict[tuple[str, str], str] = {}
        self._tiers = (Tier("silver", "Silver", "#ccc", 1), Tier("gold", "Gold", "#fc0", 2))

    def add(self, viewer: ViewerRef, tier: str) -> None:
        self.members[(viewer.platform, viewer.id)] = tier

    def tiers(self) -> Sequence[Tier]:
        return self._tiers

    def membership(self, viewer: ViewerRef) -> Held | None:
        tier = self.members.get((viewer.platform, viewer.id))
        if tier is None:
            return None
        return Held(viewer, tier, "test", datetime.now(UTC) - timedelta(days=1), None)

    def is_member(self, viewer: ViewerRef, tiers: Collection[str] | None = None) -> bool:
        tier = self.members.get((viewer.platform, viewer.id))
        return tier is not None and (tiers is None or tier in tiers)

    async def grant(
        self,
        viewer: ViewerRef,
        tier: str,
        *,
        duration: timedelta | None,
        source: str,
        source_id: str,
        reason: str = "",
    ) -> Granted:
        self.add(viewer, tier)
        held = self.membership(viewer)
        assert held is not None
        return Granted(True, held)

    async def revoke(self, source: str, source_id: str, *, reason: str) -> bool:
        return False

    async def open_members_window(self, duration: timedelta, *, reason: str) -> None:
        return None

    def members_window_open(self) -> bool:
        return False
