"""Fourthwall donations: ``/webhooks/fourthwall-donations``, signed like every Fourthwall
delivery (:func:`limelight.webhooks.verify_fourthwall`, ``[webhooks.fourthwall-donations]
secret``: the shop's secret key from Fourthwall's webhook settings).

Why an endpoint of its own: Fourthwall's orders go to the shop plugin at
``/webhooks/fourthwall``; a streamer who takes donations on Fourthwall, with or without
the shop, points a second webhook, for *Donation* events, here. A ``DONATION`` whose
status is ``COMPLETED`` is a tip of kind ``donation``, keyed by the donation's id
(``don_...``); any other status (``OPEN``, ``ABANDONED``, ``FAILED``...) and any other
event type is acknowledged and ignored. A tip code (``LL-XXXXXXXX``) in the message links
the donation to the chat viewer who asked for it with ``!tip``; without one the supporter
is shown by their Fourthwall username, or as "Fourthwall supporter" without one (Fourthwall
has no privacy flag of its own, as Ko-fi's ``is_public``, so the message is shown).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web
from limelight import Event, Tip
from limelight.webhooks import FOURTHWALL_HEADER, WebhookError, verify_fourthwall

from ..attribution import find_code, strip_code
from ..config import FourthwallWebhook
from . import common

if TYPE_CHECKING:
    from . import Intake

NAME = "fourthwall-donations"
#: The viewer platform and ``Tip.provider`` of a Fourthwall supporter.
PLATFORM = "fourthwall"
MAX_BODY = 64 * 1024
#: The only status whose money has arrived.
COMPLETED = "COMPLETED"


async def handle(intake: Intake, request: web.Request, body: bytes) -> list[Event]:
    settings = intake.table(NAME, FourthwallWebhook)
    verify_fourthwall(
        body, request.headers.get(FOURTHWALL_HEADER), settings.secret, key=f"[webhooks.{NAME}]"
    )
    event = common.need_object(common.load_json(body), "body")
    if event.get("type") != "DONATION":
        return []
    data = common.need_object(event.get("data"), "data")
    if data.get("status") != COMPLETED:
        return []
    donation_id = common.ident(data, "id", "data.")
    total = _total(data)
    money = common.positive_money(
        _amount(total.get("value")), total.get("currency"), "data.amounts.total.value"
    )
    username = common.text(data, "username", where="data.")
    email = common.text(data, "email", limit=320, where="data.")
    raw_message = common.text(
        data, "message", limit=common.MAX_MESSAGE, multiline=True, where="data."
    )
    viewer = await common.supporter(
        intake, find_code(raw_message), PLATFORM, username, email or username
    )
    occurred_at, provider_time = common.timestamp(data.get("createdAt") or event.get("createdAt"))
    return [
        Tip(
            source=PLATFORM,
            source_id=donation_id,
            viewer=viewer,
            occurred_at=occurred_at,
            provider_time=provider_time,
            test=event.get("testMode") is True,
            amount=money,
            message=strip_code(raw_message),
            provider=PLATFORM,
            kind="donation",
        )
    ]


def _total(data: dict[str, Any]) -> dict[str, Any]:
    amounts = data.get("amounts")
    total = amounts.get("total") if isinstance(amounts, dict) else None
    if not isinstance(total, dict):
        raise WebhookError(400, "data.amounts.total is required ({value, currency})")
    return total


def _amount(value: Any) -> Any:
    """Fourthwall's ``value`` is a JSON number (``10``, ``5.5``); the tip parser takes an
    exact decimal string, so a number is written as its shortest decimal (``repr``), never
    through binary rounding."""
    if isinstance(value, float):
        return repr(value)
    return value
