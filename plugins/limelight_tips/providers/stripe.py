"""Stripe: ``Stripe-Signature`` verified with the official ``stripe`` package (300 s).

* ``checkout.session.completed`` (paid) and ``checkout.session.async_payment_succeeded``
  and ``payment_intent.succeeded`` become tips. Their dedupe key is the PaymentIntent id
  when there is one, so a Checkout payment reported by both kinds of event is one tip.
* ``charge.refunded`` becomes a :class:`limelight.Refund` of the tip with that
  PaymentIntent; each partial refund is its own entry (keyed by the running total).
* The chat viewer comes from ``client_reference_id`` (what a ``!tip`` link puts on a Payment
  Link) or ``metadata.limelight_code``.
* Test-mode events (``livemode: false``) are test events: alerts, no ledger.
* Every other event type is acknowledged with 200 and ignored, so Stripe stops retrying.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from limelight import Event, Money, Refund, Tip
from limelight.webhooks import WebhookError

from ..attribution import code_from_reference
from ..config import StripeWebhook
from ..ledger import refunded_minor
from ..models import LedgerEntry
from . import common

if TYPE_CHECKING:
    from . import Intake

NAME = "stripe"
TOLERANCE = 300
MAX_BODY = 256 * 1024

# Stripe's own minor units differ from ISO 4217 for a few currencies.
ZERO_DECIMAL = set("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
THREE_DECIMAL = set("BHD JOD KWD OMR TND".split())
TIP_EVENTS = {
    "checkout.session.completed": "checkout",
    "checkout.session.async_payment_succeeded": "checkout",
    "payment_intent.succeeded": "payment_intent",
}


def stripe_money(amount: Any, currency: Any, where: str) -> Money:
    """Stripe's integer amount in its minor units -> :class:`Money` in ISO minor units."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise WebhookError(400, f"{where} must be an integer amount in minor units")
    if not isinstance(currency, str) or not currency:
        raise WebhookError(400, f"{where}: currency is required")
    code = currency.upper()
    stripe_places = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    try:
        places = -int(Money(1, code).decimal.as_tuple().exponent)
        major = Money(amount, code).decimal.scaleb(places - stripe_places)
        money = Money.parse(major, code)
    except ValueError as exc:
        raise WebhookError(400, f"{where}: {exc}") from None
    return money


def verify(body: bytes, header: str | None, secret: str) -> None:
    # Imported here, not at module level: the stripe package takes about half a second to
    # import, which every start of the server would otherwise pay.
    import stripe

    if not header:
        raise WebhookError(400, "missing Stripe-Signature header")
    try:
        stripe.WebhookSignature.verify_header(body, header, secret, TOLERANCE)
    except UnicodeDecodeError:
        raise WebhookError(400, "body is not UTF-8 text") from None
    except stripe.SignatureVerificationError as exc:
        text = str(exc.user_message or exc)
        if "tolerance" in text:
            raise WebhookError(
                400,
                f"Stripe-Signature timestamp is more than {TOLERANCE} s "
                "old (a replayed or delayed delivery)",
            ) from None
        if "Unable to extract" in text or "No signatures found with expected" in text:
            raise WebhookError(400, "Stripe-Signature header is malformed") from None
        raise WebhookError(
            401, "Stripe-Signature does not match the body (check [webhooks.stripe] secret)"
        ) from None


def _dict(obj: dict[str, Any], key: str) -> dict[str, Any]:
    """A nested object of the payload, or ``{}`` when it is absent or not an object."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _str(obj: dict[str, Any], key: str) -> str:
    """A string field of the payload, or ``""`` when it is absent or not a string."""
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    return _dict(obj, "metadata")


def _message(obj: dict[str, Any]) -> str:
    meta = _metadata(obj)
    if message := _str(meta, "message"):
        return message[: common.MAX_MESSAGE]
    for custom in obj.get("custom_fields") or ():
        if isinstance(custom, dict) and custom.get("key") in ("message", "tipmessage"):
            value = (custom.get("text") or {}).get("value")
            if isinstance(value, str):
                return value[: common.MAX_MESSAGE]
    return ""


async def _tip(
    intake: Intake, event_type: str, obj: dict[str, Any], test: bool, created: Any
) -> list[Event]:
    kind = TIP_EVENTS[event_type]
    if kind == "checkout":
        if obj.get("payment_status") != "paid":
            return []  # async methods report later with async_payment_succeeded
        money = stripe_money(
            obj.get("amount_total"), obj.get("currency"), "data.object.amount_total"
        )
        details = _dict(obj, "customer_details")
        name, email = _str(details, "name"), _str(details, "email")
        reference = _str(obj, "client_reference_id")
    else:
        money = stripe_money(
            obj.get("amount_received"), obj.get("currency"), "data.object.amount_received"
        )
        name = _str(_metadata(obj), "name") or _str(_dict(obj, "shipping"), "name")
        email = _str(obj, "receipt_email")
        reference = ""
    if money.minor <= 0:
        raise WebhookError(400, "the payment amount must be greater than zero")
    object_id = common.ident(obj, "id", "data.object.")
    intent = obj.get("payment_intent") if kind == "checkout" else object_id
    source_id = intent if isinstance(intent, str) and intent else object_id
    meta = _metadata(obj)
    code = code_from_reference(reference) or code_from_reference(_str(meta, "limelight_code"))
    customer = _str(obj, "customer")
    viewer = await common.supporter(intake, code, NAME, name, customer or email or name)
    anonymous = str(meta.get("anonymous", "")).lower() in ("1", "true", "yes")
    return [
        Tip(
            source=NAME,
            source_id=source_id,
            viewer=viewer,
            occurred_at=common.timestamp(created),
            amount=money,
            message=_message(obj),
            provider=NAME,
            anonymous=anonymous,
            kind=kind,
            test=test,
        )
    ]


async def _refund(
    obj: dict[str, Any], previous: dict[str, Any], test: bool, created: Any
) -> list[Event]:
    charge_id = common.ident(obj, "id", "data.object.")
    total = stripe_money(
        obj.get("amount_refunded"), obj.get("currency"), "data.object.amount_refunded"
    )
    intent = obj.get("payment_intent")
    original_id = intent if isinstance(intent, str) and intent else charge_id
    before_raw = previous.get("amount_refunded")
    if isinstance(before_raw, int) and not isinstance(before_raw, bool):
        before = stripe_money(
            before_raw, obj.get("currency"), "data.previous_attributes.amount_refunded"
        ).minor
    else:  # older API versions: work out the new part from what the ledger has
        original = await LedgerEntry.get_or_none(provider=NAME, provider_id=original_id)
        before = await refunded_minor(original) if original is not None else 0
    amount = total.minor - before
    if amount <= 0:
        return []
    return [
        Refund(
            source=NAME,
            source_id=f"{charge_id}:refunded:{total.minor}",
            occurred_at=common.timestamp(created),
            test=test,
            amount=Money(amount, total.currency),
            original_source=NAME,
            original_id=original_id,
            reason="refunded in Stripe",
        )
    ]


async def handle(intake: Intake, request: web.Request, body: bytes) -> list[Event]:
    settings = intake.table(NAME, StripeWebhook)
    verify(body, request.headers.get("Stripe-Signature"), settings.secret)
    event = common.need_object(common.load_json(body), "body")
    event_type = event.get("type")
    if not isinstance(event_type, str):
        raise WebhookError(400, "type is required (a Stripe event type)")
    data = common.need_object(event.get("data"), "data")
    obj = common.need_object(data.get("object"), "data.object")
    test = event.get("livemode") is False
    if event_type in TIP_EVENTS:
        return await _tip(intake, event_type, obj, test, event.get("created"))
    if event_type == "charge.refunded":
        previous = data.get("previous_attributes")
        return await _refund(
            obj, previous if isinstance(previous, dict) else {}, test, event.get("created")
        )
    return []
