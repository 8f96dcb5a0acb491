"""Tiltify (v5 API webhooks): a signed JSON delivery per donation update.

Tiltify signs each delivery with the endpoint's webhook signing key: ``X-Tiltify-Timestamp``
holds when it was sent (an ISO 8601 time) and ``X-Tiltify-Signature`` the base64
HMAC-SHA256 of ``"<timestamp>.<raw body>"``. The signature is compared in constant time
before anything in the body is read; a timestamp far from this server's clock is refused
(a captured delivery replayed later). ``public:direct:donation_updated`` carries the
donation in ``data``: ``id`` (the dedupe key), ``amount`` ``{"currency", "value"}``,
``campaign_id``, ``donor_name``, ``donor_comment`` and ``completed_at`` (null until the
payment went through: such an update is acknowledged and not counted). Other event types
(facts, campaigns) are acknowledged and ignored. A delivery from a test subscription
(``meta.subscription_source_type == "test"``) is a test event: shown, never counted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from limelight import Donation, Event, Money, ViewerRef, edge
from limelight.webhooks import WebhookError

from .config import TiltifyWebhook

NAME = "tiltify"
MAX_BODY = 64 * 1024
SIGNATURE_HEADER = "X-Tiltify-Signature"
TIMESTAMP_HEADER = "X-Tiltify-Timestamp"
DONATION_UPDATED = "donation_updated"
MAX_MESSAGE = 1000


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Tiltify-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def signed_headers(secret: str, body: bytes, at: datetime | None = None) -> dict[str, str]:
    """Headers exactly as Tiltify sends them (tests and local senders)."""
    stamp = (at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "Content-Type": "application/json",
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: signature(secret, stamp, body),
    }


def verify(
    table: TiltifyWebhook, headers: Any, body: bytes, *, now: datetime | None = None
) -> None:
    """Check a delivery's signature and age, or raise :class:`WebhookError` (4xx)."""
    stamp = headers.get(TIMESTAMP_HEADER)
    given = headers.get(SIGNATURE_HEADER)
    if not stamp:
        raise WebhookError(400, f"missing {TIMESTAMP_HEADER} header")
    if not given:
        raise WebhookError(401, f"missing {SIGNATURE_HEADER} header")
    expected = signature(table.secret, stamp, body)
    if not edge.same_secret(given.strip(), expected):
        raise WebhookError(
            401, "X-Tiltify-Signature does not match the body (check [webhooks.tiltify] secret)"
        )
    try:
        sent = edge.parse_time(stamp)
    except edge.EdgeError:
        raise WebhookError(400, f"{TIMESTAMP_HEADER} is not an ISO 8601 time") from None
    current = now or datetime.now(UTC)
    if abs((current - sent).total_seconds()) > table.tolerance:
        raise WebhookError(
            400,
            f"{TIMESTAMP_HEADER} is more than {table.tolerance} s away from this server's "
            "clock (a replayed delivery, or check the clock)",
        )


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WebhookError(400, f"{where} must be an object")
    return value


def _string(payload: dict[str, Any], key: str, where: str, limit: int = edge.MAX_NAME) -> str:
    value = payload.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WebhookError(400, f"{where}.{key} must be a string")
    return edge.clean_text(value, limit, multiline=key == "donor_comment").strip()


def donation(payload: dict[str, Any]) -> Donation | None:
    """The donation a verified delivery carries, ``None`` for one to acknowledge only."""
    meta = _object(payload.get("meta"), "meta")
    event_type = meta.get("event_type")
    if not isinstance(event_type, str):
        raise WebhookError(400, "meta.event_type must be a string")
    if not event_type.endswith(DONATION_UPDATED):
        return None
    data = _object(payload.get("data"), "data")
    raw_id = data.get("id")
    if not isinstance(raw_id, str | int) or isinstance(raw_id, bool) or str(raw_id) == "":
        raise WebhookError(400, "data.id must be the donation's id")
    if data.get("completed_at") in (None, ""):
        return None  # not paid yet: Tiltify sends another update when it is
    amount = _object(data.get("amount"), "data.amount")
    try:
        value = amount.get("value")
        if not isinstance(value, str):
            raise TypeError("value must be a decimal string such as '5.00'")
        money = Money.parse_positive(value, str(amount.get("currency") or ""), iso_only=True)
    except (ValueError, TypeError) as exc:
        raise WebhookError(400, f"data.amount: {exc}") from None
    name = _string(data, "donor_name", "data")
    anonymous = not name or name.casefold() == "anonymous"
    occurred_at, _ = edge.provider_time(data.get("completed_at"))
    return Donation(
        source=NAME,
        source_id=edge.bounded_key(str(raw_id)),
        viewer=None if anonymous else ViewerRef(NAME, name.casefold(), name),
        occurred_at=occurred_at,
        amount=money,
        message=_string(data, "donor_comment", "data", MAX_MESSAGE),
        campaign=edge.bounded_key(str(data.get("campaign_id") or ""), 100),
        anonymous=anonymous,
        test=meta.get("subscription_source_type") == "test",
    )


async def handle(table: TiltifyWebhook | None, request: web.Request, body: bytes) -> list[Event]:
    if table is None:
        raise WebhookError(
            404, "the tiltify provider is not configured: add [webhooks.tiltify] secret"
        )
    verify(table, request.headers, body)
    try:
        payload = edge.loads(body)
    except edge.EdgeError as exc:
        raise WebhookError(400, str(exc)) from None
    found = donation(_object(payload, "body"))
    return [found] if found is not None else []
