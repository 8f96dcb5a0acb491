"""The generic signed endpoint, for any service without a provider of its own.

Signed with Limelight's HMAC scheme (:mod:`limelight.webhooks`): ``X-Limelight-Timestamp``
and ``X-Limelight-Signature: sha256=<hex>`` over ``"<timestamp>.<body>"``. The body is JSON::

    {"id": "order-1234", "amount": "5.00", "currency": "EUR", "name": "Alice",
     "message": "hi", "anonymous": false, "code": "LL-7K3QH2MX", "test": false}

``type`` is ``"tip"`` (the default) or ``"refund"`` with ``"refund_of": "<id of the tip>"``.
``viewer`` (``{"platform", "id", "name"}``) may name the chat viewer directly; ``code`` (from
``!tip``) finds them; otherwise ``name`` is shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web
from limelight import Event, Refund, Tip, ViewerRef
from limelight.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookError, verify_hmac

from ..attribution import code_from_reference, find_code, strip_code
from ..config import GenericWebhook
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


def _viewer(raw: object) -> ViewerRef | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise WebhookError(400, "viewer must be an object with platform, id and name")
    platform = common.text(raw, "platform", required=True, limit=40, where="viewer.")
    vid = common.text(raw, "id", required=True, limit=100, where="viewer.")
    return ViewerRef(platform, vid, common.text(raw, "name", where="viewer."))


async def handle(intake: Intake, request: web.Request, body: bytes) -> list[Event]:
    settings = intake.table(NAME, GenericWebhook)
    verify_hmac(
        settings.secret,
        request.headers.get(TIMESTAMP_HEADER),
        request.headers.get(SIGNATURE_HEADER),
        body,
        tolerance=settings.tolerance,
    )
    payload = common.need_object(common.load_json(body), "body")
    unknown = sorted(set(payload) - FIELDS)
    if unknown:
        raise WebhookError(400, f"unknown field(s): {', '.join(unknown)}")
    kind = payload.get("type", "tip")
    if kind not in ("tip", "refund"):
        raise WebhookError(400, 'type must be "tip" or "refund"')
    source_id = common.ident(payload, "id")
    money = common.positive_money(payload.get("amount"), payload.get("currency"))
    test = common.flag(payload, "test", False)
    occurred_at = common.timestamp(payload.get("occurred_at"))
    if kind == "refund":
        original = common.ident(payload, "refund_of")
        return [
            Refund(
                source=NAME,
                source_id=source_id,
                occurred_at=occurred_at,
                test=test,
                amount=money,
                original_source=NAME,
                original_id=original,
                reason=common.text(payload, "reason"),
            )
        ]
    raw_message = common.text(payload, "message", limit=common.MAX_MESSAGE)
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
            amount=money,
            message=strip_code(raw_message),
            provider=NAME,
            anonymous=common.flag(payload, "anonymous", False),
            test=test,
            kind=common.text(payload, "kind", limit=40) or "tip",
        )
    ]
