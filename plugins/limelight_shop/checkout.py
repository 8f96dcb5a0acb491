"""Checkout: a Stripe Checkout Session per reservation, or the streamer's own shop.

The Stripe session is created when the viewer opens their pay link (not at claim time), so
a rush of claims costs no Stripe calls, and once per reservation (its id and URL are kept
on the row). The official ``stripe`` package is synchronous: it runs in a thread.
Every object carries ``metadata.limelight = "shop"`` (on the PaymentIntent too), which is
how the tips plugin's Stripe endpoint knows to leave these payments alone, and
``client_reference_id`` is the reservation code the order webhook brings back.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from limelight import Money

from .config import ShopConfig
from .models import DropItem, Product, Reservation, item_label
from .stock import PREFIX

#: Stripe refuses a Checkout Session that expires sooner than 30 minutes after creation.
STRIPE_MIN_EXPIRY = timedelta(minutes=31)
ZERO_DECIMAL = set("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
THREE_DECIMAL = set("BHD JOD KWD OMR TND".split())


class CheckoutError(RuntimeError):
    """The payment page could not be made (the message is safe to show the viewer)."""


def stripe_amount(money: Money) -> int:
    """``money`` in Stripe's minor units (they differ from ISO 4217 for a few currencies)."""
    places = 0 if money.currency in ZERO_DECIMAL else 3 if money.currency in THREE_DECIMAL else 2
    return int(money.decimal.scaleb(places))


def _create_session(config: ShopConfig, params: dict[str, Any]) -> tuple[str, str]:
    import stripe

    client = stripe.StripeClient(
        config.stripe_api_key,
        base_addresses={"api": config.stripe_api_base.rstrip("/")},
        max_network_retries=2,
    )
    session = client.v1.checkout.sessions.create(params=params)  # type: ignore[arg-type]
    return str(session.id), str(session.url or "")


def session_params(
    reservation: Reservation, product: Product, variant: str, *, success: str, cancel: str
) -> dict[str, Any]:
    money = Money(int(product.price_minor), product.currency)
    name = item_label(product.name, variant)
    code = reservation.code
    now = datetime.now(UTC)
    expires = max(reservation.expires_at, now + STRIPE_MIN_EXPIRY)
    meta = {
        "limelight": "shop",
        "reservation": code,
        "sku": product.sku,
        "variant": variant,
        # what the alert calls it (Stripe keeps values up to 500); not "name", which
        # limelight.webhooks.stripe_public_name reads as the payer's
        "item_name": product.name,
    }
    return {
        "mode": "payment",
        "client_reference_id": code,
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": money.currency.lower(),
                    "unit_amount": stripe_amount(money),
                    "product_data": {"name": name[:250]},
                },
            }
        ],
        "metadata": meta,
        "payment_intent_data": {"metadata": meta},
        "success_url": success,
        "cancel_url": cancel,
        "expires_at": int(min(expires, now + timedelta(hours=23)).timestamp()),
    }


class Checkout:
    def __init__(self, config: ShopConfig) -> None:
        self.config = config
        self._making: dict[int, asyncio.Lock] = {}

    async def url_for(self, reservation: Reservation, *, success: str, cancel: str) -> str:
        """Where the viewer pays for ``reservation`` (made once, then reused)."""
        item = await DropItem.get(id=reservation.item_id).prefetch_related(  # type: ignore[attr-defined]
            "product"
        )
        product: Product = item.product
        if self.config.checkout == "external":
            base = product.url or self.config.shop_url
            if not base:
                raise CheckoutError("the streamer has not set a shop URL for this product yet")
            sep = "&" if "?" in base else "?"
            return base + sep + urlencode({"ref": PREFIX + reservation.code})
        if reservation.checkout_url:
            return reservation.checkout_url
        if not self.config.stripe_api_key:
            raise CheckoutError("card payments are not set up here yet")
        lock = self._making.setdefault(reservation.id, asyncio.Lock())
        async with lock:
            await reservation.refresh_from_db(fields=["checkout_url", "checkout_id"])
            if reservation.checkout_url:
                return reservation.checkout_url
            params = session_params(
                reservation, product, item.variant, success=success, cancel=cancel
            )
            try:
                session_id, url = await asyncio.to_thread(_create_session, self.config, params)
            except Exception as exc:
                raise CheckoutError(
                    f"the payment page could not be opened ({type(exc).__name__}); try again"
                ) from exc
            finally:
                self._making.pop(reservation.id, None)
            reservation.checkout_id = session_id[:200]
            reservation.checkout_url = url[:2000]
            await reservation.save(update_fields=["checkout_id", "checkout_url"])
            return url


__all__ = ["Checkout", "CheckoutError", "stripe_amount"]
