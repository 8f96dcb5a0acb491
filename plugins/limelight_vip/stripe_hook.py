"""``/webhooks/vip-stripe``: memberships sold as Stripe subscriptions.

The endpoint has its own signing secret (``[webhooks.vip-stripe] secret``) and verifies
``Stripe-Signature`` with the official ``stripe`` package (:func:`limelight.webhooks.
verify_stripe`, the one check every plugin's Stripe endpoint uses). What it accepts becomes
one ``vip.stripe`` money event, so the grant is committed before Stripe gets its 2xx:

* ``checkout.session.completed`` with ``mode: subscription``: the first payment. The
  viewer comes from ``client_reference_id`` (a ``!vip join`` code), else the Stripe
  customer; the tier from the code, ``metadata.tier``, else the lowest tier sold on Stripe.
* ``invoice.paid`` for a renewal (``billing_reason`` other than ``subscription_create``,
  which the Checkout Session already granted): extends to the period's end plus
  ``grace_days``. A renewal of a subscription this server has not seen is refused with a
  409 so that Stripe delivers it again after the Checkout Session.
* ``customer.subscription.deleted``: the membership ends at the period's end.
* ``charge.refunded`` of a membership payment: the membership is revoked.

Objects another plugin created (``metadata.limelight`` naming it) and every other event
type are acknowledged with 200 and ignored. Test-mode events (``livemode: false``) are test
events: nothing is written.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web
from limelight import Event, Money, MoneyCustomEvent, PluginContext, ViewerRef
from limelight.money import MoneyError, exponent
from limelight.webhooks import WebhookError, stripe_public_name, verify_stripe

from .config import VipConfig
from .endpoints import envelope_of, money_event, need_object, secret_of, secret_problems, text_of
from .joining import JoinCodes, code_from_reference
from .models import Membership
from .roster import Tiers

NAME = "vip-stripe"
EVENT = "vip.stripe"
MAX_BODY = 256 * 1024
ZERO_DECIMAL = set("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
THREE_DECIMAL = set("BHD JOD KWD OMR TND".split())
PERIODS = {"month": timedelta(days=31), "year": timedelta(days=366)}


def stripe_money(amount: Any, currency: Any) -> Money | None:
    """Stripe's integer amount in its own minor units as :class:`Money` (ISO minor units)."""
    if isinstance(amount, bool) or not isinstance(amount, int) or not isinstance(currency, str):
        return None
    code = currency.upper()
    try:
        iso = exponent(code)
    except MoneyError:
        raise WebhookError(400, f"unknown currency {currency!r}") from None
    places = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    minor = amount * 10 ** (iso - places) if iso >= places else amount // 10 ** (places - iso)
    return Money(minor, code)


def _str(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if isinstance(value, dict):  # an expanded object
        value = value.get("id")
    return text_of(value)


def _time(value: Any) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 4_102_444_800:
        return datetime.fromtimestamp(value, UTC)
    return None


def _owned_elsewhere(obj: dict[str, Any]) -> bool:
    meta = obj.get("metadata")
    owner = meta.get("limelight") if isinstance(meta, dict) else None
    return isinstance(owner, str) and owner not in ("", "vip")


def _subscription_of_invoice(invoice: dict[str, Any]) -> str:
    sub = _str(invoice, "subscription")
    if sub:
        return sub
    parent = invoice.get("parent")
    if isinstance(parent, dict):
        details = parent.get("subscription_details")
        if isinstance(details, dict):
            return _str(details, "subscription")
    return ""


def _period_end(invoice: dict[str, Any]) -> datetime | None:
    lines = invoice.get("lines")
    data = lines.get("data") if isinstance(lines, dict) else None
    ends = [
        _time(line.get("period", {}).get("end"))
        for line in data or []
        if isinstance(line, dict) and isinstance(line.get("period"), dict)
    ]
    found = [e for e in ends if e is not None]
    return max(found) if found else _time(invoice.get("period_end"))


class StripeMemberships:
    """The provider; the plugin hands it its context, tiers and join codes."""

    def __init__(self, ctx: PluginContext[VipConfig], tiers: Tiers) -> None:
        self.ctx = ctx
        self.tiers = tiers
        self.codes: JoinCodes | None = None

    def secret(self) -> str:
        return secret_of(self.ctx.settings.webhooks, NAME)

    @staticmethod
    def check_config(table: dict[str, Any]) -> list[str]:
        return secret_problems(
            NAME, table, lambda s: s.startswith("whsec_"), "the endpoint's whsec_... secret"
        )

    async def handle(self, request: web.Request, body: bytes) -> list[Event]:
        verify_stripe(
            body, request.headers.get("Stripe-Signature"), self.secret(), key=f"[webhooks.{NAME}]"
        )
        envelope = envelope_of(body)
        etype = envelope.get("type")
        event_id = _str(envelope, "id")
        data = envelope.get("data")
        obj = need_object(data.get("object") if isinstance(data, dict) else None, "data.object")
        test = envelope.get("livemode") is False
        if _owned_elsewhere(obj):
            return []
        if etype == "checkout.session.completed":
            return await self._checkout(obj, test)
        if etype == "invoice.paid":
            return await self._invoice(obj, test)
        if etype == "customer.subscription.deleted":
            return await self._deleted(obj, event_id, test)
        if etype == "charge.refunded":
            return await self._refunded(obj, test)
        return []

    def _event(
        self, source_id: str, viewer: ViewerRef | None, test: bool, **payload: Any
    ) -> MoneyCustomEvent:
        return money_event(EVENT, NAME, source_id, viewer, test, payload)

    async def _checkout(self, session: dict[str, Any], test: bool) -> list[Event]:
        if session.get("mode") != "subscription":
            return []  # one-off payments are tips (the tips plugin's endpoint)
        if session.get("payment_status") not in ("paid", "no_payment_required"):
            return []
        subscription = _str(session, "subscription")
        if not subscription:
            raise WebhookError(400, "a subscription Checkout Session without a subscription id")
        found = None
        code = code_from_reference(session.get("client_reference_id"))
        if code is not None and self.codes is not None:
            found = await self.codes.resolve(code)
        raw_meta = session.get("metadata")
        meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
        tier = found[1] if found else ""
        if not tier and isinstance(meta.get("tier"), str):
            spec = self.tiers.find(meta["tier"])
            tier = spec.name if spec else ""
        if not tier:
            sold = [t for t in self.tiers.list if t.stripe_payment_link]
            tier = (sold or self.tiers.list)[0].name
        viewer = found[0] if found else self._customer(session)
        spec = self.tiers.get(tier)
        period = PERIODS[spec.period if spec else "month"]
        until = datetime.now(UTC) + period + timedelta(days=self.ctx.config.grace_days)
        money = stripe_money(session.get("amount_total"), session.get("currency"))
        invoice = _str(session, "invoice")
        return [
            self._event(
                invoice or _str(session, "id"),
                viewer,
                test,
                action="paid",
                tier=tier,
                subscription=subscription,
                invoice=invoice,
                session=_str(session, "id"),
                amount=money.to_wire() if money else None,
                currency=money.currency if money else None,
                until=until.isoformat(),
            )
        ]

    def _customer(self, obj: dict[str, Any]) -> ViewerRef:
        raw = obj.get("customer_details")
        details: dict[str, Any] = raw if isinstance(raw, dict) else {}
        name = stripe_public_name(obj) or "Stripe member"  # never the card holder's name
        customer = _str(obj, "customer") or _str(details, "email") or name
        pid = hashlib.sha256(f"stripe\0{customer}".encode()).hexdigest()[:24]
        return ViewerRef("stripe", pid, name)

    async def _known(self, subscription: str) -> Membership | None:
        return (
            await Membership.filter(source=NAME, subscription=subscription).order_by("-id").first()
        )

    async def _invoice(self, invoice: dict[str, Any], test: bool) -> list[Event]:
        if invoice.get("billing_reason") == "subscription_create":
            # Granted by checkout.session.completed; only the PaymentIntent is news (a
            # refund on a recent Stripe API version names the payment by it alone).
            intent = _str(invoice, "payment_intent")
            if not intent:
                return []
            return [
                self._event(
                    f"ref:{_str(invoice, 'id')}",
                    None,
                    test,
                    action="ref",
                    invoice=_str(invoice, "id"),
                    payment_intent=intent,
                )
            ]
        subscription = _subscription_of_invoice(invoice)
        if not subscription:
            return []  # a one-off invoice: not a membership
        last = await self._known(subscription)
        if last is None:
            if test:
                return []
            raise WebhookError(
                409,
                f"subscription {subscription} is not known here yet (its Checkout Session "
                "has not arrived); Stripe will deliver this again",
            )
        end = _period_end(invoice) or datetime.now(UTC) + timedelta(days=31)
        until = end + timedelta(days=self.ctx.config.grace_days)
        money = stripe_money(invoice.get("amount_paid"), invoice.get("currency"))
        viewer = ViewerRef(last.viewer_platform, last.viewer_id, last.viewer_name)
        return [
            self._event(
                _str(invoice, "id"),
                viewer,
                test,
                action="paid",
                tier=last.tier,
                subscription=subscription,
                invoice=_str(invoice, "id"),
                payment_intent=_str(invoice, "payment_intent"),
                amount=money.to_wire() if money else None,
                currency=money.currency if money else None,
                until=until.isoformat(),
            )
        ]

    async def _deleted(self, sub: dict[str, Any], event_id: str, test: bool) -> list[Event]:
        subscription = _str(sub, "id")
        last = await self._known(subscription)
        if last is None:
            return []
        end = _time(sub.get("current_period_end"))
        items = sub.get("items")
        if end is None and isinstance(items, dict):
            ends = [
                _time(i.get("current_period_end"))
                for i in items.get("data") or []
                if isinstance(i, dict)
            ]
            end = max((e for e in ends if e is not None), default=None)
        ended = _time(sub.get("ended_at"))
        if end is None or (ended is not None and ended < end):
            end = ended or datetime.now(UTC)
        viewer = ViewerRef(last.viewer_platform, last.viewer_id, last.viewer_name)
        return [
            self._event(
                f"deleted:{subscription}",
                viewer,
                test,
                action="ended",
                tier=last.tier,
                subscription=subscription,
                until=end.isoformat(),
                stripe_event=event_id,
            )
        ]

    async def _refunded(self, charge: dict[str, Any], test: bool) -> list[Event]:
        invoice = _str(charge, "invoice")
        intent = _str(charge, "payment_intent")
        row = None
        if invoice:
            row = await Membership.filter(source=NAME, source_id=invoice).first()
        if row is None and intent:
            row = await Membership.filter(source=NAME, payment_ref=intent).first()
        if row is None or not row.subscription:
            return []  # not a membership payment (a tip's refund is the tips plugin's)
        refunded = charge.get("amount_refunded")
        viewer = ViewerRef(row.viewer_platform, row.viewer_id, row.viewer_name)
        return [
            self._event(
                f"refund:{_str(charge, 'id')}:{refunded}",
                viewer,
                test,
                action="refunded",
                tier=row.tier,
                subscription=row.subscription,
                invoice=invoice or row.source_id,
                reason="refunded" if charge.get("refunded") else "partially refunded",
            )
        ]
