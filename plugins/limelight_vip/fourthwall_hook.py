"""``/webhooks/vip-fourthwall``: memberships sold on Fourthwall.

The endpoint has its own secret (``[webhooks.vip-fourthwall] secret``, the webhook's
secret key from Fourthwall) and checks ``X-Fourthwall-Hmac-SHA256`` with
:func:`limelight.webhooks.verify_fourthwall`, the one check every Fourthwall endpoint uses.
Every delivery is an envelope whose ``id`` names the webhook event; what it accepts becomes
one ``vip.fourthwall`` money event keyed by that id, so the grant is committed (once, however
often Fourthwall delivers it) before Fourthwall gets its 2xx. ``data`` is the "Membership
Supporter": its ``id`` is the membership's key (a grant's ``subscription``), its
``subscription.variant`` the tier (``tierId``, mapped through each tier's
``fourthwall_tier``) and the price.

* ``SUBSCRIPTION_PURCHASED``: the supporter is a member of the mapped tier, with no end:
  Fourthwall sends no renewals, so the membership lasts until Fourthwall says it ended.
* ``SUBSCRIPTION_CHANGED`` of a current member: a ``subscription.type`` that means the
  membership stopped (:data:`STOPPED`: suspended for a failed payment) ends it now; a
  cancellation keeps it until ``SUBSCRIPTION_EXPIRED``; a variant that maps to another tier
  ends the old tier now and grants the new one; anything else changes nothing.
* ``SUBSCRIPTION_EXPIRED`` of a current member: the membership ends now.

A change or an end for a supporter who holds no current Fourthwall grant here (never seen,
or already ended) is acknowledged and writes nothing: a late or out-of-order delivery must
never hand out a membership without an end. Other event types are acknowledged and
ignored. Test deliveries (``testMode: true``) are test events: nothing is written.

The member is shown by their Fourthwall nickname; their id is a hash of the supporter id,
and the email in the delivery is never read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from limelight import Event, Money, MoneyCustomEvent, PluginContext, ViewerRef
from limelight.webhooks import (
    FOURTHWALL_HEADER,
    WebhookError,
    fourthwall_money,
    required_id,
    verify_fourthwall,
)

from . import grants
from .config import VipConfig
from .endpoints import envelope_of, money_event, need_object, secret_of, secret_problems, text_of
from .models import Membership
from .roster import Tiers, now_utc

NAME = "vip-fourthwall"
EVENT = "vip.fourthwall"
#: The platform of a Fourthwall member's viewer (as the tips plugin's Fourthwall donors).
PLATFORM = "fourthwall"
MAX_BODY = 64 * 1024
PURCHASED = "SUBSCRIPTION_PURCHASED"
CHANGED = "SUBSCRIPTION_CHANGED"
EXPIRED = "SUBSCRIPTION_EXPIRED"
#: ``subscription.type`` values of a ``SUBSCRIPTION_CHANGED`` that mean the membership
#: stopped now (a failed payment suspends it). A cancellation is not one of them: the
#: supporter paid for the period they are in, and Fourthwall's ``SUBSCRIPTION_EXPIRED``
#: ends it when that period is over.
STOPPED = frozenset({"SUSPENDED", "EXPIRED", "NONE"})
#: The payload's ``action``: a purchase grants, a change switches tiers, an end ends.
PAID, SWITCHED, ENDED = "paid", "changed", "ended"
#: Shown for a member whose delivery has no nickname.
NO_NAME = "Fourthwall member"
MIN_SECRET = 8


@dataclass(frozen=True, slots=True)
class Supporter:
    """What a membership delivery says about the supporter (never their email)."""

    id: str
    nickname: str
    #: ``subscription.type``, upper-cased ("" when absent).
    status: str
    #: ``subscription.variant.tierId`` ("" when absent).
    tier_id: str
    interval: str
    amount: Money | None


def _price(variant: dict[str, Any]) -> Money | None:
    """The variant's price; ``None`` when Fourthwall sends none (the grant does not
    depend on it, only the revenue chart does)."""
    if variant.get("amount") is None:
        return None
    where = "data.subscription.variant.amount"
    money = fourthwall_money(variant["amount"], where)
    if money.minor < 0:
        raise WebhookError(400, f"{where}.value must not be negative")
    return money


def supporter_of(data: dict[str, Any]) -> Supporter:
    """The Membership Supporter in ``data``; a 400 naming the field when it has no id."""
    subscription = data.get("subscription")
    sub = subscription if isinstance(subscription, dict) else {}
    raw_variant = sub.get("variant")
    variant = raw_variant if isinstance(raw_variant, dict) else {}
    return Supporter(
        id=required_id(data, "id", "data."),
        nickname=text_of(data.get("nickname")),
        status=text_of(sub.get("type")).upper(),
        tier_id=text_of(variant.get("tierId")),
        interval=text_of(variant.get("interval")).upper(),
        amount=_price(variant),
    )


def member_of(supporter: Supporter) -> ViewerRef:
    """The viewer a Fourthwall member is: a stable id hashed from the supporter id (it
    says nothing about them), shown by their nickname."""
    pid = hashlib.sha256(f"{PLATFORM}\0{supporter.id}".encode()).hexdigest()[:24]
    return ViewerRef(PLATFORM, pid, supporter.nickname or NO_NAME)


class FourthwallMemberships:
    """The provider; the plugin hands it its context and tiers."""

    def __init__(self, ctx: PluginContext[VipConfig], tiers: Tiers) -> None:
        self.ctx = ctx
        self.tiers = tiers

    def secret(self) -> str:
        return secret_of(self.ctx.settings.webhooks, NAME)

    @staticmethod
    def check_config(table: dict[str, Any]) -> list[str]:
        return secret_problems(
            NAME,
            table,
            lambda s: len(s.strip()) >= MIN_SECRET,
            f"the webhook's secret key from Fourthwall (at least {MIN_SECRET} characters)",
        )

    async def handle(self, request: web.Request, body: bytes) -> list[Event]:
        verify_fourthwall(
            body,
            request.headers.get(FOURTHWALL_HEADER),
            self.secret(),
            key=f"[webhooks.{NAME}]",
        )
        envelope = envelope_of(body)
        kind = envelope.get("type")
        if kind not in (PURCHASED, CHANGED, EXPIRED):
            return []  # other Fourthwall events: acknowledged, not memberships
        event_id = required_id(envelope, "id")
        supporter = supporter_of(need_object(envelope.get("data"), "data"))
        test = envelope.get("testMode") is True
        if kind == PURCHASED:
            return [self._event(event_id, member_of(supporter), supporter, test, PAID)]
        live = await grants.live_of(NAME, supporter.id, now_utc())
        if not live:
            return []  # never seen here, or already ended: nothing to change or end
        action = self._change(supporter, live) if kind == CHANGED else ENDED
        if action is None:
            return []
        member = ViewerRef(live[-1].viewer_platform, live[-1].viewer_id, live[-1].viewer_name)
        return [self._event(event_id, member, supporter, test, action)]

    def _change(self, supporter: Supporter, live: list[Membership]) -> str | None:
        """What a ``SUBSCRIPTION_CHANGED`` does to a current member: end it, switch its
        tier, or nothing (a new nickname, a renewal date, the same tier)."""
        if supporter.status in STOPPED:
            return ENDED
        tier = self.tiers.for_fourthwall(supporter.tier_id) or self.tiers.list[0]
        if all(row.tier == tier.name for row in live):
            return None
        return SWITCHED

    def _event(
        self, event_id: str, member: ViewerRef, supporter: Supporter, test: bool, action: str
    ) -> MoneyCustomEvent:
        money = supporter.amount if action == PAID else None
        payload: dict[str, Any] = {
            "action": action,
            "supporter": supporter.id,
            "fourthwall_tier": supporter.tier_id,
            "status": supporter.status,
            "interval": supporter.interval,
            "amount": money.to_wire() if money is not None else None,
            "currency": money.currency if money is not None else None,
        }
        return money_event(EVENT, NAME, event_id, member, test, payload)
