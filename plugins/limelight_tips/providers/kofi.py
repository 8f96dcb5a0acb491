"""Ko-fi: a form POST whose ``data`` field holds JSON, checked by ``verification_token``.

Ko-fi sends ``application/x-www-form-urlencoded`` with one field, ``data``, and expects a
200; anything else makes it retry. Every payment type (Donation, Subscription, Commission,
Shop Order) is a tip; ``kofi_transaction_id`` is the dedupe key; ``is_public: false`` hides
the supporter's name and message on stream. A tip code (``LL-XXXXXXXX``) in the message
links the payment to the chat viewer who asked for it with ``!tip``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from aiohttp import web
from limelight import Event, Tip, edge
from limelight.webhooks import WebhookError

from ..attribution import find_code, strip_code
from ..config import KofiWebhook
from . import common

if TYPE_CHECKING:
    from . import Intake

NAME = "kofi"
MAX_BODY = 64 * 1024
TYPES = {
    "Donation": "donation",
    "Subscription": "subscription",
    "Commission": "commission",
    "Shop Order": "shop_order",
}


def parse_form(body: bytes, content_type: str) -> str:
    """The raw JSON text of the ``data`` field."""
    if content_type != "application/x-www-form-urlencoded":
        raise WebhookError(
            415,
            "Ko-fi deliveries are application/x-www-form-urlencoded "
            f"with a data field, not {content_type or 'no content type'}",
        )
    try:
        form = parse_qs(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=True, max_num_fields=50
        )
    except UnicodeDecodeError:
        raise WebhookError(400, "form body is not UTF-8") from None
    except ValueError:
        raise WebhookError(400, "malformed form body (expected data=<url-encoded JSON>)") from None
    values = form.get("data")
    if not values:
        raise WebhookError(400, "missing the form field data (Ko-fi puts the payment JSON in it)")
    if len(values) != 1:
        raise WebhookError(400, "the form field data appears more than once")
    return values[0]


async def handle(intake: Intake, request: web.Request, body: bytes) -> list[Event]:
    settings = intake.table(NAME, KofiWebhook)
    payload = common.need_object(
        common.load_json(parse_form(body, request.content_type), "data"), "data"
    )
    token = payload.get("verification_token")
    if not isinstance(token, str) or not edge.same_secret(token, settings.verification_token):
        raise WebhookError(
            401, "verification_token does not match [webhooks.kofi] verification_token"
        )
    kind = payload.get("type")
    if kind not in TYPES:
        raise WebhookError(400, f"unknown Ko-fi type {kind!r}; expected one of " + ", ".join(TYPES))
    txid = common.ident(payload, "kofi_transaction_id")
    money = common.positive_money(payload.get("amount"), payload.get("currency"))
    is_public = common.flag(payload, "is_public", True)
    from_name = common.text(payload, "from_name")
    raw_message = common.text(payload, "message", limit=common.MAX_MESSAGE, multiline=True)
    email = common.text(payload, "email", limit=320)
    viewer = await common.supporter(
        intake, find_code(raw_message), NAME, from_name, email or from_name
    )
    occurred_at, provider_time = common.timestamp(payload.get("timestamp"))
    shop_items = _shop_items(payload) if kind == "Shop Order" else ()
    return [
        Tip(
            source=NAME,
            source_id=txid,
            viewer=viewer,
            occurred_at=occurred_at,
            provider_time=provider_time,
            amount=money,
            message=strip_code(raw_message),
            provider=NAME,
            anonymous=not is_public,
            kind=TYPES[kind],
            plan=common.text(payload, "tier_name") if kind == "Subscription" else "",
            shop_items=shop_items,
        )
    ]


#: Units of one Shop Order taken into ``Tip.shop_items`` (a bigger order is cut there).
MAX_SHOP_UNITS = 50


def _shop_items(payload: dict[str, object]) -> tuple[str, ...]:
    """A Shop Order's ``shop_items`` as one ``code`` or ``code:variation`` per unit (what
    the shop plugin needs to match its stock); malformed entries are left out."""
    items = payload.get("shop_items")
    units: list[str] = []
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        code = item.get("direct_link_code")
        if not isinstance(code, str) or not (code := edge.clean_text(code, 64)):
            continue
        variation = item.get("variation_name")
        variation = edge.clean_text(variation, 100) if isinstance(variation, str) else ""
        quantity = item.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            quantity = 1
        unit = f"{code}:{variation}" if variation else code
        units.extend([unit] * min(quantity, MAX_SHOP_UNITS - len(units)))
    return tuple(units)
