"""What the plugin's own webhook endpoints (``vip-stripe``, ``vip-fourthwall``) share: their
``[webhooks.<name>]`` table (one ``secret``), how a delivery's fields are read, and the
money event a delivery becomes.

Why shared: both endpoints must read the table the same way (a missing or mistyped table
is "no secret", which their verification answers with 503), report its problems the same
way (``limelight doctor`` and ``limelight run`` name the key, never the value: these
tables hold secrets), and hand ``record_events`` the same shape of event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from limelight import MoneyCustomEvent, ViewerRef, edge
from limelight.webhooks import WebhookError


def secret_of(webhooks: Mapping[str, Any], name: str) -> str:
    """``[webhooks.<name>] secret``, or "" when the table or the key is missing."""
    table = webhooks.get(name) or {}
    secret = table.get("secret", "") if isinstance(table, dict) else ""
    return secret if isinstance(secret, str) else ""


def secret_problems(
    name: str, table: Any, valid: Callable[[str], bool], expected: str
) -> list[str]:
    """What is wrong with ``[webhooks.<name>]``: a key other than ``secret``, or a secret
    that ``valid`` refuses (the message says it must be ``expected``)."""
    if not isinstance(table, dict):
        return [f"webhooks.{name}: must be a table"]
    problems = [
        f"webhooks.{name}.{key}: unknown key (check the spelling against config.example.toml)"
        for key in table
        if key != "secret"
    ]
    secret = table.get("secret")
    if not isinstance(secret, str) or not valid(secret):
        problems.append(f"webhooks.{name}.secret: must be {expected}")
    return problems


def need_object(value: Any, where: str) -> dict[str, Any]:
    """``value`` as a JSON object, or a 400 naming ``where``."""
    if not isinstance(value, dict):
        raise WebhookError(400, f"{where} must be a JSON object")
    return value


def envelope_of(body: bytes) -> dict[str, Any]:
    """A delivery's JSON object, read through the edge (malformed, not UTF-8 or nested
    too deep is a 400)."""
    try:
        return need_object(edge.loads(body), "body")
    except edge.EdgeError as exc:
        raise WebhookError(400, f"body is not JSON: {exc}") from None


def text_of(value: Any) -> str:
    """A provider's name or id as text fit to store and show, "" when it is not a string."""
    return edge.clean_text(value, edge.MAX_NAME) if isinstance(value, str) else ""


def money_event(
    custom_type: str,
    source: str,
    source_id: str,
    viewer: ViewerRef | None,
    test: bool,
    payload: Mapping[str, Any],
) -> MoneyCustomEvent:
    """The event a delivery becomes, keyed by the provider's own id so the bus stores it
    once; empty values are left out of its ``data``."""
    return MoneyCustomEvent(
        custom_type=custom_type,
        source=source,
        source_id=source_id,
        viewer=viewer,
        test=test,
        payload={k: v for k, v in payload.items() if v not in (None, "")},
    )
