"""The shop's order webhooks: ``/webhooks/shop-stripe`` and ``/webhooks/fourthwall``.

Each verifies its provider's own signature and turns a paid order into a
:class:`limelight.MerchOrder` (a refund into a :class:`limelight.MerchRefund`); the core
commits it, with what :mod:`.orders` writes for it, before the provider gets its 2xx.
Ko-fi Shop Orders do not come here: Ko-fi has one webhook URL per account, owned by the
tips plugin, and they arrive as ``Tip`` events of kind ``shop_order`` (see :mod:`.orders`).

* Stripe (``[webhooks.shop-stripe] secret``): ``Stripe-Signature`` checked with
  :func:`limelight.webhooks.verify_stripe`. ``checkout.session.completed`` (paid) and
  ``checkout.session.async_payment_succeeded`` of sessions this plugin made
  (``metadata.limelight == "shop"``) are orders, keyed by the session id;
  ``charge.refunded`` is a refund of the order with that PaymentIntent; its amount is
  ``amount_refunded``, Stripe's running total (below the charge's ``amount``: a partial
  refund, which keeps the unit sold). Everything else
  is acknowledged and ignored (a Stripe account sends every event to every endpoint).
* Fourthwall (``[webhooks.fourthwall] secret``): ``X-Fourthwall-Hmac-SHA256`` is the
  base64 HMAC-SHA256 of the raw body with the shop's secret, compared in constant time.
  ``ORDER_PLACED`` is an order keyed by the order id; a reservation code ``SH-XXXXXXXX`` in
  the order message links it to the chat viewer's reservation. An order of several offers
  (lines) is one ``MerchOrder`` per line, keyed ``<order id>:<line number>`` (so each line
  is written once, whatever is redelivered), each with its product, variant and quantity
  and its share of the total (the lines' prices share out shipping, tax and discounts;
  the shares add up to what the buyer paid). Orders that are no sale (``source.type`` a
  sample order, a giveaway or a redeemed Twitch gift) are acknowledged and ignored.
  ``ORDER_UPDATED`` whose order's status is ``CANCELLED`` gives every line back in full
  (a ``MerchRefund`` per line, so the units return to stock); other updates (shipped,
  delivered) are acknowledged and ignored. ``GIFT_PURCHASE`` (a supporter bought N of one
  offer as gifts for the stream's chat) is one ``MerchOrder`` with ``gift`` set, keyed by
  the gift purchase id (``data.id``): its item is the offer's slug (else its name), its
  quantity the number of gifts, its amount ``data.amounts.total``; the gifts take their
  units from an open drop like an order. The winners' free orders that follow arrive as
  ``ORDER_PLACED`` of source ``TWITCH_GIFT_REDEMPTION`` and are ignored (above), so a
  gift is counted once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiohttp import web
from limelight import Event, MerchOrder, MerchRefund, Money, ViewerRef, edge
from limelight.money import ISO_CURRENCIES
from limelight.webhooks import (
    FOURTHWALL_HEADER,
    WebhookError,
    fourthwall_money,
    required_id,
    stripe_public_name,
    verify_fourthwall,
    verify_stripe,
)

from .checkout import THREE_DECIMAL, ZERO_DECIMAL
from .models import Reservation

STRIPE = "shop-stripe"
FOURTHWALL = "fourthwall"
CODE_RE = re.compile(r"\bSH-([A-HJ-NP-Z2-9]{8})\b", re.IGNORECASE)
ORDER_EVENTS = ("checkout.session.completed", "checkout.session.async_payment_succeeded")
#: A Fourthwall order of several lines is one event per line: ``<order id>:<line>``.
LINE_SEPARATOR = ":"
#: The ``data.order.status`` of an ``ORDER_UPDATED`` that gives the order back.
FOURTHWALL_CANCELLED = "CANCELLED"
#: The ``source.type`` of an order someone paid for (not ``SAMPLES_ORDER``, ``GIVEAWAY``,
#: ``TWITCH_GIFT_REDEMPTION``).
FOURTHWALL_SALE = "ORDER"
#: Most gifts one ``GIFT_PURCHASE`` may hold: the most units a drop item can have.
MAX_GIFTS = 1_000_000
#: The largest body ``/webhooks/fourthwall`` reads. A ``GIFT_PURCHASE`` lists every gift it
#: minted (``data.gifts``, ~160 bytes each, ~260 with a winner), so the core's 256 kB
#: would refuse a purchase of ~1,600 gifts with 413 and Fourthwall's retries with it: a
#: paid order lost. 4 MB takes more than 15,000 gifts even with their winners filled in;
#: the body is only parsed after its signature checks out, so a forged one costs a hash.
FOURTHWALL_MAX_BODY = 4 * 1024 * 1024


def find_code(text: str) -> str:
    """The reservation code in free text (an order message), upper-cased, or ""."""
    match = CODE_RE.search(text or "")
    return match.group(1).upper() if match else ""


def _load(body: bytes) -> dict[str, Any]:
    try:
        payload = edge.loads(body)
    except edge.EdgeError as exc:
        raise WebhookError(400, f"the body must be JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise WebhookError(400, "the body must be a JSON object")
    return payload


def _obj(parent: dict[str, Any], key: str) -> dict[str, Any]:
    value = parent.get(key)
    return value if isinstance(value, dict) else {}


def _str(parent: dict[str, Any], key: str, limit: int = edge.MAX_NAME) -> str:
    value = parent.get(key)
    return edge.clean_text(value, limit) if isinstance(value, str) else ""


def _when(value: Any) -> datetime:
    if isinstance(value, int) and not isinstance(value, bool) and 946684800 < value < 4102444800:
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = edge.parse_time(value)
        except edge.EdgeError:
            return datetime.now(UTC)
        if edge.EARLIEST <= parsed <= datetime.now(UTC):
            return parsed
    return datetime.now(UTC)


def stripe_money(amount: Any, currency: Any, where: str) -> Money:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise WebhookError(400, f"{where} must be an integer amount in minor units")
    code = currency.upper() if isinstance(currency, str) else ""
    if code not in ISO_CURRENCIES:
        raise WebhookError(400, f"{where}: unknown currency {currency!r} (expected ISO 4217)")
    places = 0 if code in ZERO_DECIMAL else 3 if code in THREE_DECIMAL else 2
    try:
        return Money.parse(Decimal(amount).scaleb(-places), code)
    except ValueError as exc:
        raise WebhookError(400, f"{where}: {exc}") from None


async def claimant(code: str, payer: ViewerRef | None) -> ViewerRef | None:
    """The chat viewer who claimed the unit with reservation ``code``, else ``payer`` (the
    provider's view of who paid). An order paid through a claim is announced under the
    chat name the viewer claimed with, as the chat thanks is, and never under the billing
    name the buyer typed at checkout."""
    reservation = await Reservation.get_or_none(code=code) if code else None
    if reservation is None or not reservation.viewer_id:
        return payer
    return reservation.viewer


def buyer(platform: str, key: str, name: str) -> ViewerRef | None:
    """A payer who is not (yet) a chat viewer: a pseudonymous id, never the e-mail, and
    the public name they gave the shop, else "<Provider> supporter" (as the tips plugin
    names a payer without one). Never a billing name: it would be read out on stream."""
    if not (key or name):
        return None
    digest = hashlib.sha256(f"{platform}\0{key or name}".encode()).hexdigest()[:24]
    label = name or f"{platform.capitalize()} supporter"
    return ViewerRef(platform, digest, label[: edge.MAX_NAME])


async def stripe_handle(secret: str, request: web.Request, body: bytes) -> list[Event]:
    verify_stripe(
        body, request.headers.get("Stripe-Signature"), secret, key="[webhooks.shop-stripe]"
    )
    event = _load(body)
    event_type = event.get("type")
    if not isinstance(event_type, str):
        raise WebhookError(400, "type is required (a Stripe event type)")
    data = _obj(event, "data")
    obj = data.get("object")
    if not isinstance(obj, dict):
        raise WebhookError(400, "data.object is required")
    meta = _obj(obj, "metadata")
    if meta.get("limelight") != "shop":
        return []  # not a payment this plugin asked for (a tip, a membership...)
    test = event.get("livemode") is False
    when = _when(event.get("created"))
    if event_type in ORDER_EVENTS:
        if obj.get("payment_status") != "paid":
            return []  # an async method reports later with async_payment_succeeded
        session_id = required_id(obj, "id", "data.object.")
        money = stripe_money(
            obj.get("amount_total"), obj.get("currency"), "data.object.amount_total"
        )
        details = _obj(obj, "customer_details")  # its name is the card holder's: not shown
        code = (_str(obj, "client_reference_id", 40) or _str(meta, "reservation", 40)).upper()
        intent = obj.get("payment_intent")
        # Keyed by the PaymentIntent when there is one: the id a refund points at.
        key = edge.bounded_key(intent) if isinstance(intent, str) and intent else session_id
        return [
            MerchOrder(
                source=STRIPE,
                source_id=key,
                occurred_at=when,
                test=test,
                viewer=await claimant(
                    code,
                    buyer(
                        "stripe",
                        _str(obj, "customer") or _str(details, "email", 320),
                        stripe_public_name(obj),
                    ),
                ),
                item=_str(meta, "sku", 40) or "order",
                item_name=_str(meta, "item_name", 120),
                variant=_str(meta, "variant", 60),
                amount=money,
                quantity=1,
                provider="stripe",
                reference=code,
            )
        ]
    if event_type == "charge.refunded":
        charge_id = required_id(obj, "id", "data.object.")
        total = stripe_money(
            obj.get("amount_refunded"), obj.get("currency"), "data.object.amount_refunded"
        )
        if total.minor <= 0:
            return []
        charged = obj.get("amount")
        partial = type(charged) is int and total.minor < charged
        intent = obj.get("payment_intent")
        original = intent if isinstance(intent, str) and intent else charge_id
        return [
            MerchRefund(
                source=STRIPE,
                source_id=edge.bounded_key(f"{charge_id}:refunded:{total.minor}"),
                occurred_at=when,
                test=test,
                amount=total,
                original_source=STRIPE,
                original_id=edge.bounded_key(original),
                reason="partly refunded in Stripe" if partial else "refunded in Stripe",
            )
        ]
    return []


async def fourthwall_handle(secret: str, request: web.Request, body: bytes) -> list[Event]:
    header = request.headers.get(FOURTHWALL_HEADER)
    verify_fourthwall(body, header, secret, key="[webhooks.fourthwall]")
    event = _load(body)
    kind = event.get("type")
    if kind == "ORDER_PLACED":
        return await _fourthwall_placed(event)
    if kind == "ORDER_UPDATED":
        return _fourthwall_cancelled(event)
    if kind == "GIFT_PURCHASE":
        return _fourthwall_gift(event)
    return []  # other Fourthwall events are acknowledged and ignored


async def _fourthwall_placed(event: dict[str, Any]) -> list[Event]:
    """``ORDER_PLACED``: one :class:`MerchOrder` per line of the order (``data``). Only a
    sale is an order here (``source.type`` ``ORDER``, or none given): a creator's sample
    order, a giveaway's prize or a redeemed Twitch gift is nobody buying anything, and
    would otherwise be thanked on stream "for buying" and take a unit of the drop."""
    data = _obj(event, "data")
    source = _obj(data, "source").get("type")
    if source not in (None, FOURTHWALL_SALE):
        return []
    parts = _fourthwall_parts(data, "data.")
    name = _str(data, "username")  # the name the supporter gave for the creator to see
    code = find_code(_str(data, "message", edge.MAX_TEXT))
    common: dict[str, Any] = {
        "source": FOURTHWALL,
        "occurred_at": _when(data.get("createdAt") or event.get("createdAt")),
        "test": event.get("testMode") is True,
        "viewer": await claimant(code, buyer("fourthwall", _str(data, "email", 320), name)),
        "provider": "fourthwall",
        "reference": code,
    }
    return [
        MerchOrder(
            source_id=key,
            item=line.sku or line.name or "order",
            item_name=line.name,
            variant=line.variant,
            amount=share,
            quantity=line.quantity,
            **common,
        )
        for key, line, share in parts
    ]


def _fourthwall_gift(event: dict[str, Any]) -> list[Event]:
    """``GIFT_PURCHASE``: a supporter paid for ``data.quantity`` of one offer
    (``data.offer``) as gifts that the stream's chat wins. One :class:`MerchOrder` with
    ``gift`` set, keyed by the purchase id (``giv_...``), for the whole ``amounts.total``:
    Fourthwall mints every gift at the purchase, so that is when they take their units.
    No reservation code is read: a gift pays for nobody's claim."""
    data = _obj(event, "data")
    purchase_id = required_id(data, "id", "data.")
    offer = data.get("offer")
    if not isinstance(offer, dict):
        raise WebhookError(400, "data.offer is required (the product gifted: id, name, slug)")
    name = _str(offer, "name", 120)
    item = _str(offer, "slug", 40) or name
    if not item:
        raise WebhookError(400, "data.offer must have a slug or a name")
    quantity = data.get("quantity")
    if type(quantity) is not int or not 1 <= quantity <= MAX_GIFTS:
        raise WebhookError(
            400, f"data.quantity must be the number of gifts, a whole number from 1 to {MAX_GIFTS}"
        )
    return [
        MerchOrder(
            source=FOURTHWALL,
            source_id=purchase_id,
            occurred_at=_when(data.get("createdAt") or event.get("createdAt")),
            test=event.get("testMode") is True,
            viewer=buyer("fourthwall", _str(data, "email", 320), _str(data, "username")),
            item=item,
            item_name=name,
            amount=fourthwall_money(_obj(data, "amounts").get("total"), "data.amounts.total"),
            quantity=quantity,
            provider="fourthwall",
            gift=True,
        )
    ]


def _fourthwall_cancelled(event: dict[str, Any]) -> list[Event]:
    """``ORDER_UPDATED`` to status ``CANCELLED``: each line of the order given back in full
    (a :class:`MerchRefund` of the line's share, keyed ``<line key>:cancelled``), so its
    units return to stock while the drop is open. Fourthwall refunds the buyer when it
    cancels an order. Other updates (shipped, delivered, a new address) change nothing
    here and are acknowledged."""
    order = _obj(_obj(event, "data"), "order")
    if order.get("status") != FOURTHWALL_CANCELLED:
        return []
    return [
        MerchRefund(
            source=FOURTHWALL,
            source_id=edge.bounded_key(f"{key}{LINE_SEPARATOR}cancelled"),
            occurred_at=_when(event.get("createdAt")),
            test=event.get("testMode") is True,
            amount=share,
            original_source=FOURTHWALL,
            original_id=key,
            reason="order cancelled in Fourthwall",
            full=True,  # whatever the cancelled order's amounts say now
        )
        for key, _, share in _fourthwall_parts(order, "data.order.")
    ]


def _fourthwall_parts(order: dict[str, Any], where: str) -> list[tuple[str, FourthwallLine, Money]]:
    """An order's lines, each with its key and its share of the total: one line keyed by
    the order id, as Fourthwall names it; several keyed ``<order id>:<line number>``.
    ``ORDER_PLACED`` and a cancellation read the same order, so they find the same keys
    and shares."""
    order_id = required_id(order, "id", where)
    money = fourthwall_money(_obj(order, "amounts").get("total"), f"{where}amounts.total")
    offers = order.get("offers")
    lines = [
        _fourthwall_line(offer, f"{where}offers[{n}]")
        for n, offer in enumerate(offers if isinstance(offers, list) else ())
        if isinstance(offer, dict)
    ]
    if len(lines) <= 1:
        return [(order_id, lines[0] if lines else FourthwallLine("order", "", 1, money), money)]
    shares = split_total(money, [line.price.minor for line in lines])
    return [
        (edge.bounded_key(f"{order_id}{LINE_SEPARATOR}{n}"), line, share)
        for n, (line, share) in enumerate(zip(lines, shares, strict=True), 1)
    ]


@dataclass(frozen=True, slots=True)
class FourthwallLine:
    """One offer of an ``ORDER_PLACED``: a product (variant) and how many."""

    sku: str
    variant: str
    quantity: int
    #: unitPrice x quantity
    price: Money
    name: str = ""


def _fourthwall_line(offer: dict[str, Any], where: str) -> FourthwallLine:
    variant = _obj(offer, "variant")
    count = variant.get("quantity", 1)
    count = count if type(count) is int and count > 0 else 1
    unit = variant.get("unitPrice")
    if isinstance(unit, dict):
        price = fourthwall_money(unit, f"{where}.variant.unitPrice")
        price = Money(price.minor * count, price.currency)
    else:
        price = fourthwall_money(variant.get("price"), f"{where}.variant.price")
    return FourthwallLine(
        sku=_str(offer, "slug", 40) or _str(variant, "sku", 40),
        variant=_str(_obj(variant, "attributes"), "description", 60),
        quantity=count,
        price=price,
        name=_str(offer, "name", 120),
    )


def split_total(total: Money, weights: list[int]) -> list[Money]:
    """``total`` over lines in proportion to ``weights`` (their prices), in whole minor
    units that add up to ``total`` exactly: shipping, tax and discounts are shared out
    the same way, and the rounding remainder goes to the first line."""
    whole = sum(w for w in weights if w > 0)
    if whole <= 0:
        return [total if n == 0 else Money(0, total.currency) for n in range(len(weights))]
    parts = [total.minor * max(w, 0) // whole for w in weights]
    parts[0] += total.minor - sum(parts)
    return [Money(part, total.currency) for part in parts]
