"""The generic signed endpoint, for any service without a provider of its own.

Two signing schemes, told apart by the headers a delivery carries:

* Limelight's HMAC scheme (:mod:`limelight.webhooks`, ``[webhooks.generic] secret``):
  ``X-Limelight-Timestamp`` and ``X-Limelight-Signature: sha256=<hex>`` over
  ``"<timestamp>.<body>"``.
* `Standard Webhooks <https://www.standardwebhooks.com/>`_ (``standard_secret``,
  ``whsec_<base64>``): ``webhook-id``, ``webhook-timestamp`` and ``webhook-signature``,
  verified with the ``standardwebhooks`` package, so a service that already signs that
  way needs no code of its own. ``webhook-id`` is the dedupe key when the body has no
  ``id``, and the body may be the scheme's envelope
  (``{"type": "tip", "timestamp": "...", "data": {...fields below...}}``).

The body is JSON::

    {"id": "order-1234", "amount": "5.00", "currency": "EUR", "name": "Alice",
     "message": "hi", "anonymous": false, "code": "LL-7K3QH2MX", "test": false}

``type`` is ``"tip"`` (the default) or ``"refund"`` with ``"refund_of": "<id of the tip>"``.
``viewer`` (``{"platform", "id", "name"}``) may name the chat viewer directly; ``code`` (from
``!tip``) finds them; otherwise ``name`` is shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web
from limelight import Event, Refund, Tip, ViewerRef, edge
from limelight.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookError, verify_hmac

from ..attribution import code_from_reference, find_code, strip_code
from ..config import GenericWebhook
from ..refunds import refusal
from . import common

if TYPE_CHECKING:
    from . import Intake

NAME = "generic"
MAX_BODY = 64 * 1024
FIELDS = {
    "id",
    "type",
    "amount",
    "currency",
    "name",
    "message",
    "anonymous",
    "code",
    "viewer",
    "test",
    "refund_of",
    "reason",
    "occurred_at",
    "kind",
}


#: The Standard Webhooks headers; any of them marks a delivery signed that way.
STANDARD_HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")
#: The Standard Webhooks envelope around the fields above.
ENVELOPE = {"type", "timestamp", "data"}
#: Standard Webhooks' own timestamp tolerance (the package's, fixed).
STANDARD_TOLERANCE = 300
#: One entry of ``webhook-signature``: a version and a base64 signature (``v1,<base64>``);
#: entries are separated by single spaces (a sender rotating its secret signs with both).
SIGNATURE_ENTRY = re.compile(r"v[0-9a-z]+,[A-Za-z0-9+/]+={0,2}")
MALFORMED_SIGNATURE = "webhook-signature or webhook-id is malformed (expected v1,<base64>)"


def verify(settings: GenericWebhook, headers: Mapping[str, str], body: bytes) -> str:
    """Verify a delivery by the scheme its headers use; returns its ``webhook-id`` for a
    Standard Webhooks delivery, ``""`` for Limelight's scheme. Raises a 4xx saying why."""
    if not any(name in headers for name in STANDARD_HEADERS):
        if not settings.secret:
            raise WebhookError(
                401,
                "this endpoint takes Standard Webhooks deliveries only (webhook-id, "
                "webhook-timestamp, webhook-signature); set [webhooks.generic] secret for "
                "X-Limelight-Signature",
            )
        verify_hmac(
            settings.secret,
            headers.get(TIMESTAMP_HEADER),
            headers.get(SIGNATURE_HEADER),
            body,
            tolerance=settings.tolerance,
        )
        return ""
    if not settings.standard_secret:
        raise WebhookError(
            401,
            "Standard Webhooks deliveries need [webhooks.generic] standard_secret "
            "(whsec_...) in the config",
        )
    from standardwebhooks import Webhook, WebhookVerificationError

    given = {name: headers.get(name, "") for name in STANDARD_HEADERS}
    signature = given["webhook-signature"]
    if signature and not all(SIGNATURE_ENTRY.fullmatch(e) for e in signature.split(" ")):
        # Checked here, not left to the package: standardwebhooks 1.1 raised ValueError
        # for it, 1.3 reports "no matching signature"; the sender should hear that its
        # header is malformed (400), not that its secret is wrong (401).
        raise WebhookError(400, MALFORMED_SIGNATURE)
    try:
        Webhook(settings.standard_secret).verify(body, given, json_parse=False)
    except UnicodeDecodeError:
        raise WebhookError(400, "body is not UTF-8 text") from None
    except WebhookVerificationError as exc:
        raise _standard_error(str(exc)) from None
    except (ValueError, TypeError):  # bytes outside ASCII, a signature that is no base64
        raise WebhookError(400, MALFORMED_SIGNATURE) from None
    return edge.bounded_key(given["webhook-id"])


def _standard_error(text: str) -> WebhookError:
    if "too old" in text or "too new" in text:
        return WebhookError(
            400,
            f"webhook-timestamp is outside the {STANDARD_TOLERANCE} s tolerance "
            "(clock skew or a replay)",
        )
    if "Missing" in text:
        return WebhookError(
            400,
            "a Standard Webhooks delivery needs webhook-id, webhook-timestamp and "
            "webhook-signature",
        )
    if "Invalid" in text:
        return WebhookError(400, "webhook-timestamp must be Unix seconds")
    return WebhookError(
        401, "webhook-signature does not match the body (check [webhooks.generic] standard_secret)"
    )


def unwrap(payload: dict[str, Any]) -> dict[str, Any]:
    """The delivery's fields: the payload itself, or the ``data`` of a Standard Webhooks
    envelope (its ``type`` and ``timestamp`` stand in for ``type`` and ``occurred_at``)."""
    if not isinstance(payload.get("data"), dict):
        return payload
    unknown = sorted(set(payload) - ENVELOPE)
    if unknown:
        raise WebhookError(400, f"unknown envelope field(s): {', '.join(unknown)}")
    fields = dict(payload["data"])
    for outer, inner in (("type", "type"), ("timestamp", "occurred_at")):
        if outer in payload:
            if inner in fields and fields[inner] != payload[outer]:
                raise WebhookError(400, f"{outer} differs from data.{inner}")
            fields[inner] = payload[outer]
    return fields


def _viewer(raw: object) -> ViewerRef | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise WebhookError(400, "viewer must be an object with platform, id and name")
    platform = common.text(raw, "platform", required=True, limit=edge.MAX_PLATFORM, where="viewer.")
    vid = common.text(raw, "id", required=True, limit=edge.MAX_VIEWER_ID, where="viewer.")
    return ViewerRef(platform, vid, common.text(raw, "name", where="viewer."))


async def handle(intake: Intake, request: web.Request, body: bytes) -> list[Event]:
    settings = intake.table(NAME, GenericWebhook)
    message_id = verify(settings, request.headers, body)
    payload = unwrap(common.need_object(common.load_json(body), "body"))
    unknown = sorted(set(payload) - FIELDS)
    if unknown:
        raise WebhookError(400, f"unknown field(s): {', '.join(unknown)}")
    kind = payload.get("type", "tip")
    if kind not in ("tip", "refund"):
        raise WebhookError(400, 'type must be "tip" or "refund"')
    if message_id and payload.get("id") in (None, ""):
        source_id = message_id  # Standard Webhooks: the message id is the dedupe key
    else:
        source_id = common.ident(payload, "id")
    money = common.positive_money(payload.get("amount"), payload.get("currency"))
    test = common.flag(payload, "test", False)
    occurred_at, provider_time = common.timestamp(payload.get("occurred_at"))
    if kind == "refund":
        refund = Refund(
            source=NAME,
            source_id=source_id,
            occurred_at=occurred_at,
            provider_time=provider_time,
            test=test,
            amount=money,
            original_source=NAME,
            original_id=common.ident(payload, "refund_of"),
            reason=common.text(payload, "reason"),
        )
        if not test and (reason := await refusal(refund)):
            raise WebhookError(400, reason)
        return [refund]
    raw_message = common.text(payload, "message", limit=common.MAX_MESSAGE, multiline=True)
    name = common.text(payload, "name")
    viewer = _viewer(payload.get("viewer"))
    if viewer is None:
        code_field = payload.get("code")
        code = code_from_reference(
            code_field if isinstance(code_field, str) else None
        ) or find_code(raw_message)
        viewer = await common.supporter(intake, code, NAME, name, name)
    return [
        Tip(
            source=NAME,
            source_id=source_id,
            viewer=viewer,
            occurred_at=occurred_at,
            provider_time=provider_time,
            amount=money,
            message=strip_code(raw_message),
            provider=NAME,
            anonymous=common.flag(payload, "anonymous", False),
            test=test,
            kind=common.text(payload, "kind", limit=40) or "tip",
        )
    ]
