"""What the providers share: strict field readers that fail with a clear 4xx message."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from limelight import Money, ViewerRef
from limelight.webhooks import WebhookError

if TYPE_CHECKING:
    from . import Intake

MAX_ID = 200
MAX_NAME = 200
MAX_MESSAGE = 2000
#: How a provider is named on stream when a payer gave no name.
PROVIDER_LABELS = {"kofi": "Ko-fi", "stripe": "Stripe", "generic": "Web"}


def load_json(raw: bytes | str, where: str = "body") -> Any:
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise WebhookError(400, f"{where} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise WebhookError(
            400, f"{where} is not valid JSON: {exc.msg} at position {exc.pos}"
        ) from None


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
) -> str:
    """A string field (``None`` reads as empty); clipped to ``limit`` characters."""
    value = payload.get(key)
    name = f"{where}{key}"
    if value is None or value == "":
        if required:
            raise WebhookError(400, f"{name} is required")
        return ""
    if not isinstance(value, str):
        raise WebhookError(400, f"{name} must be a string")
    return value[:limit]


def ident(payload: dict[str, Any], key: str, where: str = "") -> str:
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
    """A tip amount: a positive, finite decimal in a known currency, within the limit."""
    if isinstance(amount, bool) or not isinstance(amount, str | int):
        raise WebhookError(400, f'{where} must be a decimal string such as "5.00"')
    if not isinstance(currency, str) or not currency.strip():
        raise WebhookError(400, 'currency is required (an ISO 4217 code such as "USD")')
    try:
        return Money.parse_positive(amount, currency)
    except ValueError as exc:
        raise WebhookError(400, f"{where}: {exc}") from None


def timestamp(raw: Any) -> datetime:
    """The provider's time of the payment, or now when it sends none we can read."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        try:
            return datetime.fromtimestamp(raw, UTC)
        except (OverflowError, OSError, ValueError):
            return datetime.now(UTC)
    if isinstance(raw, str) and raw:
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            return datetime.now(UTC)
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.now(UTC)


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
