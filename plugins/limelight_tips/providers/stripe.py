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
* Payments that are not tips are acknowledged and ignored too: objects another plugin
  created carry ``metadata.limelight = "<plugin>"`` (the shop's Checkout Sessions, say),
  subscription Checkout Sessions (``mode`` other than ``payment``) and invoice payments
  belong to memberships. A Stripe account sends every event to every endpoint that asked
  for its type, so this is what keeps a merch order or a membership from also becoming
  a tip.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from limelight import Event, Money, Refund, Tip, edge
from limelight.money import ISO_CURRENCIES, exponent
from limelight.webhooks import (
    WebhookError,
    stripe_custom_text,
    stripe_public_name,
    verify_stripe,
)

from ..attribution import code_from_reference
from ..config import StripeWebhook
from ..ledger import refunded_minor, row_of
from ..refunds import refusal
from . import common

if TYPE_CHECKING:
    from . import Intake

NAME = "stripe"
#: Keys of a Checkout custom text field that holds the tipper's message.
MESSAGE_FIELDS = ("message", "tipmessage")
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
    if code not in ISO_CURRENCIES:
        raise WebhookError(400, f"{where}: unknown currency {currency!r} (expected ISO 4217)")
    stripe_places = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    try:
        places = exponent(code)
        major = Money(amount, code).decimal.scaleb(places - stripe_places)
        money = Money.parse(major, code)
    except ValueError as exc:
        raise WebhookError(400, f"{where}: {exc}") from None
    return money


#: The metadata key other plugins set on the Stripe objects they create (their name).
OWNER_KEY = "limelight"


def for_tips(obj: dict[str, Any]) -> bool:
    """Whether a Checkout Session, PaymentIntent or Charge is a tip (see the module
    docstring): not owned by another plugin, not a subscription, not an invoice."""
    owner = _metadata(obj).get(OWNER_KEY)
    if isinstance(owner, str) and owner not in ("", "tips"):
        return False
    mode = obj.get("mode")
    if obj.get("object") == "checkout.session" and mode not in (None, "payment"):
        return False
    return not obj.get("invoice")


def _dict(obj: dict[str, Any], key: str) -> dict[str, Any]:
    """A nested object of the payload, or ``{}`` when it is absent or not an object."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _str(obj: dict[str, Any], key: str, limit: int = common.MAX_NAME) -> str:
    """A string field of the payload, normalised (:func:`limelight.edge.clean_text`), or
    ``""`` when it is absent or not a string."""
    value = obj.get(key)
    return edge.clean_text(value, limit) if isinstance(value, str) else ""


def _metadata(obj: dict[str, Any]) -> dict[str, Any]:
    return _dict(obj, "metadata")


def _message(obj: dict[str, Any]) -> str:
    meta = _metadata(obj)
    if message := _text(meta.get("message")):
        return message
    return _text(stripe_custom_text(obj, MESSAGE_FIELDS))


def _text(value: Any) -> str:
    """A payer's message: normalised, line breaks kept, at most ``MAX_MESSAGE``."""
    if not isinstance(value, str):
        return ""
    return edge.clean_text(value, common.MAX_MESSAGE, multiline=True)


def _key(value: Any) -> str:
    """An id Stripe sent or one derived from it, bounded (:func:`limelight.edge.bounded_key`)."""
    return edge.bounded_key(value) if isinstance(value, str) else ""


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
        name, email = stripe_public_name(obj), _str(_dict(obj, "customer_details"), "email")
        reference = _str(obj, "client_reference_id")
    else:
        money = stripe_money(
            obj.get("amount_received"), obj.get("currency"), "data.object.amount_received"
        )
        name = stripe_public_name(obj)  # metadata.name: never the shipping name
        email = _str(obj, "receipt_email")
        reference = ""
    if money.minor <= 0:
        raise WebhookError(400, "the payment amount must be greater than zero")
    object_id = common.ident(obj, "id", "data.object.")
    intent = _key(obj.get("payment_intent")) if kind == "checkout" else object_id
    source_id = intent or object_id
    meta = _metadata(obj)
    code = code_from_reference(reference) or code_from_reference(_str(meta, "limelight_code"))
    customer = _str(obj, "customer")
    viewer = await common.supporter(intake, code, NAME, name, customer or email or name)
    anonymous = str(meta.get("anonymous", "")).lower() in ("1", "true", "yes")
    occurred_at, provider_time = common.timestamp(created)
    return [
        Tip(
            source=NAME,
            source_id=source_id,
            viewer=viewer,
            occurred_at=occurred_at,
            provider_time=provider_time,
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
    original_id = _key(obj.get("payment_intent")) or charge_id
    before_raw = previous.get("amount_refunded")
    if isinstance(before_raw, int) and not isinstance(before_raw, bool):
        before = stripe_money(
            before_raw, obj.get("currency"), "data.previous_attributes.amount_refunded"
        ).minor
    else:  # older API versions: work out the new part from what the ledger has
        original = await row_of(NAME, original_id)
        before = await refunded_minor(original) if original is not None else 0
    amount = total.minor - before
    if amount <= 0:
        return []
    occurred_at, provider_time = common.timestamp(created)
    refund = Refund(
        # Derived from the charge id (up to 200 characters itself), so bounded: a long one
        # is shortened the same way every time, and a retry is still a duplicate.
        source=NAME,
        source_id=edge.bounded_key(f"{charge_id}:refunded:{total.minor}"),
        occurred_at=occurred_at,
        provider_time=provider_time,
        test=test,
        amount=Money(amount, total.currency),
        original_source=NAME,
        original_id=original_id,
        reason="refunded in Stripe",
    )
    if not test and (reason := await refusal(refund)):
        raise WebhookError(400, reason)
    return [refund]


async def handle(intake: Intake, request: web.Request, body: bytes) -> list[Event]:
    settings = intake.table(NAME, StripeWebhook)
    verify_stripe(
        body, request.headers.get("Stripe-Signature"), settings.secret, key="[webhooks.stripe]"
    )
    event = common.need_object(common.load_json(body), "body")
    event_type = event.get("type")
    if not isinstance(event_type, str):
        raise WebhookError(400, "type is required (a Stripe event type)")
    data = common.need_object(event.get("data"), "data")
    obj = common.need_object(data.get("object"), "data.object")
    test = event.get("livemode") is False
    if not for_tips(obj):
        return []
    if event_type in TIP_EVENTS:
        return await _tip(intake, event_type, obj, test, event.get("created"))
    if event_type == "charge.refunded":
        previous = data.get("previous_attributes")
        return await _refund(
            obj, previous if isinstance(previous, dict) else {}, test, event.get("created")
        )
    return []
