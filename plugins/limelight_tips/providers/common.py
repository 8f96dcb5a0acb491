"""What the providers share: strict field readers that fail with a clear 4xx message.

Every string, time and JSON body goes through :mod:`limelight.edge` here, as it enters:
half an emoji or a NUL byte in a payer's name is cleaned, a Ko-fi ``timestamp`` in year
9999 becomes the receive time (kept as sent in ``provider_time``), a body nested 3,000
deep is a 400.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from limelight import Money, ViewerRef, edge
from limelight.webhooks import WebhookError

if TYPE_CHECKING:
    from . import Intake

MAX_ID = edge.MAX_ID
MAX_NAME = edge.MAX_NAME
MAX_MESSAGE = edge.MAX_TEXT
#: How a provider is named on stream when a payer gave no name.
PROVIDER_LABELS = {
    "kofi": "Ko-fi",
    "stripe": "Stripe",
    "generic": "Web",
    "fourthwall": "Fourthwall",
}


def load_json(raw: bytes | str, where: str = "body") -> Any:
    """JSON through the edge: malformed, non-UTF-8 or deeper than 32 levels is a 400."""
    try:
        return edge.loads(raw, where)
    except edge.EdgeError as exc:
        raise WebhookError(400, str(exc)) from None


def need_object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WebhookError(400, f"{where} must be a JSON object")
    return value


def text(
    payload: dict[str, Any],
    key: str,
    *,
    required: bool = False,
    limit: int = MAX_NAME,
    where: str = "",
    multiline: bool = False,
) -> str:
    """A string field (``None`` reads as empty), normalised and clipped to ``limit``
    characters (:func:`limelight.edge.clean_text`; a message keeps its line breaks)."""
    value = payload.get(key)
    name = f"{where}{key}"
    if value is None or value == "":
        if required:
            raise WebhookError(400, f"{name} is required")
        return ""
    if not isinstance(value, str):
        raise WebhookError(400, f"{name} must be a string")
    return edge.clean_text(value, limit, multiline=multiline)


def ident(payload: dict[str, Any], key: str, where: str = "") -> str:
    """A provider's id (a dedupe key): required, at most :data:`MAX_ID` characters."""
    value = text(payload, key, required=True, limit=10_000, where=where)
    if len(value) > MAX_ID:
        raise WebhookError(400, f"{where}{key} is longer than {MAX_ID} characters")
    return value


def flag(payload: dict[str, Any], key: str, default: bool, where: str = "") -> bool:
    value = payload.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise WebhookError(400, f"{where}{key} must be true or false")
    return value


def positive_money(amount: Any, currency: Any, where: str = "amount") -> Money:
    """A tip amount: a positive, strict decimal (:meth:`limelight.Money.parse`) in an ISO
    4217 currency (not ``BITS``), within the limit."""
    if isinstance(amount, bool) or not isinstance(amount, str | int):
        raise WebhookError(400, f'{where} must be a decimal string such as "5.00"')
    if not isinstance(currency, str) or not currency.strip():
        raise WebhookError(400, 'currency is required (an ISO 4217 code such as "USD")')
    try:
        return Money.parse_positive(amount, currency, iso_only=True)
    except ValueError as exc:
        raise WebhookError(400, f"{where}: {exc}") from None


def timestamp(raw: Any) -> tuple[datetime, str]:
    """The provider's time of the payment and, when it could not be used (unreadable, or
    outside 2000-01-01 .. now + 1 day), the raw value to keep in ``provider_time``; the
    event then counts from when it was received."""
    return edge.provider_time(raw)


def pseudonym(platform: str, *parts: str) -> str:
    """A stable id for a supporter known only by email or name, without storing either."""
    seed = "\0".join(p.strip().lower() for p in parts if p)
    return hashlib.sha256(f"{platform}\0{seed}".encode()).hexdigest()[:24]


async def supporter(
    intake: Intake, code: str | None, platform: str, name: str, *identity: str
) -> ViewerRef:
    """The chat viewer a tip code points at, else the provider's own view of the payer."""
    viewer = await intake.links.resolve(code) if intake.links is not None else None
    if viewer is not None:
        return viewer
    label = name.strip() or f"{PROVIDER_LABELS.get(platform, platform)} supporter"
    return ViewerRef(platform, pseudonym(platform, *(identity or (label,))), label[:MAX_NAME])
