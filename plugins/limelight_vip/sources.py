"""Which events grant, extend or revoke memberships, written in ``record_events``.

Why here: a membership is what a payment leaves behind, so it is written in the bus's
transaction, with the payment, before the provider gets its 2xx; a replay, a retry or a
crash between the two can never grant twice or lose the grant. Sources:

* Twitch ``subscription`` events (subs, resubs, gifts: the recipient is the member, the
  gifter is credited in ``granted_by``), tier ``1000``/``2000``/``3000``/``prime`` mapped
  through each tier's ``twitch_tier``;
* Ko-fi membership payments: ``tip`` events of kind ``subscription`` (the tips plugin owns
  the one Ko-fi webhook), the tier from their ``plan`` (Ko-fi's ``tier_name``);
* the one-off purchase rules and the supporter levels (other tips that are gifts: a Ko-fi
  Shop Order or a commission is a purchase and buys no membership);
* ``vip.stripe`` events from this plugin's own Stripe endpoint;
* ``vip.fourthwall`` events from its Fourthwall endpoint: a purchase grants with no end
  (ending any other tier the supporter held there), a tier change switches the tier, an
  end ends every current grant of the supporter's membership now;
* ``refund`` events for a payment that granted: the grant (and its subscription's other
  grants) is revoked.

The keys: a grant's ``(source, source_id)`` is the paying event's own, prefixed for the
rules (``vip-purchase``, ``vip-supporter``) so one tip can also give a supporter badge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from limelight import (
    Event,
    MoneyCustomEvent,
    PluginContext,
    Refund,
    Subscription,
    Tip,
    Transaction,
    ViewerRef,
    edge,
)
from limelight.money import Money
from tortoise.expressions import Q

from . import grants
from .config import PurchaseRule, SupporterLevel, TierConfig, VipConfig
from .engine import Engine
from .fourthwall_hook import ENDED as FOURTHWALL_ENDED
from .fourthwall_hook import EVENT as FOURTHWALL_EVENT
from .fourthwall_hook import NAME as FOURTHWALL_SOURCE
from .fourthwall_hook import PAID as FOURTHWALL_PAID
from .grants import Ask, Change, key_of
from .models import Membership
from .roster import SUPPORTER, Tiers, now_utc
from .stripe_hook import EVENT as STRIPE_EVENT
from .stripe_hook import NAME as STRIPE_SOURCE

#: Payments with no alert of their own: their grants get the member alert.
OWN_ENDPOINTS = frozenset({STRIPE_SOURCE, FOURTHWALL_SOURCE})


@dataclass
class Batch:
    """What one ``record_events`` call wrote, for memory once it commits."""

    written: list[Membership] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)


class Sources:
    def __init__(self, ctx: PluginContext[VipConfig], tiers: Tiers, engine: Engine) -> None:
        self.ctx = ctx
        self.tiers = tiers
        self.engine = engine

    async def record(self, events: list[Event], tx: Transaction) -> dict[int, list[Change]]:
        out: dict[int, list[Change]] = {}
        batch = Batch()
        for event in events:
            if event.id is None or event.test:
                continue
            changes = await self._one(event, batch)
            if changes is not None:
                out[event.id] = changes
        if batch.written or batch.dropped:
            tx.on_commit(lambda: self.engine.committed(batch.written, batch.dropped))
        return out

    async def _one(self, event: Event, batch: Batch) -> list[Change] | None:
        if isinstance(event, Subscription):
            return await self._grant(batch, self._twitch(event))
        if isinstance(event, Tip):
            return await self._tip(event, batch)
        if isinstance(event, Refund):
            rows = await grants.paid_by(key_of(event.original_source, event.original_id))
            return await self._revoke(batch, rows, event.reason or "refunded")
        if isinstance(event, MoneyCustomEvent) and event.custom_type == STRIPE_EVENT:
            return await self._stripe(event, batch)
        if isinstance(event, MoneyCustomEvent) and event.custom_type == FOURTHWALL_EVENT:
            return await self._fourthwall(event, batch)
        return None

    async def _grant(self, batch: Batch, asks: list[Ask]) -> list[Change] | None:
        if not asks:
            return None
        changes: list[Change] = []
        now = now_utc()
        for ask in asks:
            row, change = await grants.write(ask, now)
            if change is not None:
                batch.written.append(row)
                changes.append(change)
        return changes

    async def _revoke(self, batch: Batch, rows: list[Membership], reason: str) -> list[Change]:
        if not rows:
            return []
        done, changes = await grants.revoke(rows, reason, now_utc())
        batch.dropped.extend(int(r.id) for r in done)
        return changes

    @staticmethod
    async def _end(batch: Batch, rows: list[Membership], until: datetime) -> None:
        """Bring the end of ``rows`` forward to ``until`` (a provider said the membership
        ends then). Nothing is announced here: the expiry runs at that moment and says
        ``expired`` for each tier the viewer no longer holds from any source."""
        for row in rows:
            if row.ended_at is None and (row.ends is None or row.ends > until):
                row.ends = max(until, row.starts)
                await row.save(update_fields=["ends"])
                batch.dropped.append(int(row.id))
                batch.written.append(row)

    def _unmapped(self, provider: str, given: str, setting: str) -> TierConfig:
        """The lowest tier, for a provider's membership tier that no tier maps; said in the
        log so the streamer can map it."""
        tier = self.tiers.list[0]
        self.ctx.log.warning(
            "%s membership tier %r matches no tier; granting %s (set the tier's %s)",
            provider,
            edge.clean_text(given, 60),
            tier.name,
            setting,
        )
        return tier

    # -- Twitch ------------------------------------------------------------------------------

    def _twitch(self, event: Subscription) -> list[Ask]:
        if event.viewer is None:
            return []
        tier = self.tiers.for_twitch(event.tier)
        if tier is None:
            return []
        gifter = event.gifter.name if event.gifted and event.gifter is not None else ""
        return [
            Ask(
                viewer=event.viewer,
                tier=tier.name,
                source=event.source,
                source_id=event.source_id,
                duration=timedelta(days=self.ctx.config.twitch_sub_days),
                granted_by=gifter or ("anonymous gift" if event.gifted else ""),
                reason="gifted sub" if event.gifted else f"sub, {event.months} months",
                payment=key_of(event.source, event.source_id),
                quiet=event.gifted,
                alert=False,  # the sub has its own alert
            )
        ]

    # -- tips: Ko-fi memberships, purchase rules, supporter levels ------------------------------

    async def _tip(self, event: Tip, batch: Batch) -> list[Change] | None:
        viewer = event.viewer
        if viewer is None or event.amount.minor <= 0:
            return None
        key = key_of(event.source, event.source_id)
        asks: list[Ask] = []
        config = self.ctx.config
        if event.kind == "subscription":
            tier = self.tiers.find(event.plan) if event.plan else None
            if tier is None:
                tier = (
                    self._unmapped("Ko-fi", event.plan, "kofi_tier")
                    if event.plan
                    else self.tiers.list[0]
                )
            asks.append(
                Ask(
                    viewer=viewer,
                    tier=tier.name,
                    source=event.source,
                    source_id=event.source_id,
                    duration=timedelta(days=config.kofi_days),
                    reason=f"{event.provider or event.source} membership",
                    payment=key,
                    amount=event.amount,
                    alert=False,  # the tip has its own alert
                )
            )
        elif event.is_gift:  # a merch order is no tip: it buys no membership or badge
            rule = self._best_rule(event.amount)
            if rule is not None:
                asks.append(
                    Ask(
                        viewer=viewer,
                        tier=rule.tier,
                        source="vip-purchase",
                        source_id=key,
                        duration=timedelta(days=rule.days),
                        reason=f"tip of {self.ctx.money(event.amount)}",
                        payment=key,
                        amount=event.amount,
                        alert=False,
                    )
                )
        level = self._best_level(event.amount) if event.is_gift else None
        if level is not None:
            asks.append(
                Ask(
                    viewer=viewer,
                    tier=level.name,
                    kind=SUPPORTER,
                    source="vip-supporter",
                    source_id=key,
                    duration=timedelta(days=level.days) if level.days else None,
                    reason=f"tip of {self.ctx.money(event.amount)}",
                    payment=key,
                )
            )
        return await self._grant(batch, asks)

    def _best_rule(self, amount: Money) -> PurchaseRule | None:
        best = None
        for rule in self.ctx.config.purchases:
            minimum = rule.minimum
            if minimum.currency != amount.currency or amount.minor < minimum.minor:
                continue
            if self.tiers.get(rule.tier) is None:
                continue
            if best is None or self.tiers.rank[rule.tier] > self.tiers.rank[best.tier]:
                best = rule
        return best

    def _best_level(self, amount: Money) -> SupporterLevel | None:
        best = None
        for level in self.ctx.config.supporter_levels:
            minimum = level.minimum
            if minimum.currency != amount.currency or amount.minor < minimum.minor:
                continue
            if best is None or minimum.minor > best.minimum.minor:
                best = level
        return best

    # -- Stripe ------------------------------------------------------------------------------

    async def _stripe(self, event: MoneyCustomEvent, batch: Batch) -> list[Change] | None:
        data = event.payload
        action = data.get("action")
        subscription = str(data.get("subscription") or "")
        if action == "ref":
            await Membership.filter(source=STRIPE_SOURCE, source_id=str(data["invoice"])).update(
                payment_ref=str(data["payment_intent"])[:200]
            )
            return None
        if action == "refunded":
            rows = await grants.of_subscription(subscription)
            return await self._revoke(batch, rows, str(data.get("reason") or "refunded"))
        until = edge.parse_time(str(data["until"]))
        if action == "ended":
            await self._end(batch, await grants.of_subscription(subscription), until)
            return None
        if action != "paid" or event.viewer is None:
            return None
        tier = str(data.get("tier") or "")
        if self.tiers.get(tier) is None:
            tier = self.tiers.list[0].name
        amount = _paid(data)
        invoice = str(data.get("invoice") or event.source_id)
        return await self._grant(
            batch,
            [
                Ask(
                    viewer=event.viewer,
                    tier=tier,
                    source=STRIPE_SOURCE,
                    source_id=event.source_id,
                    until=until,
                    reason="Stripe subscription",
                    payment=key_of(STRIPE_SOURCE, invoice),
                    subscription=subscription,
                    payment_ref=str(data.get("payment_intent") or ""),
                    checkout=str(data.get("session") or ""),
                    amount=amount,
                )
            ],
        )

    # -- Fourthwall --------------------------------------------------------------------------

    async def _fourthwall(self, event: MoneyCustomEvent, batch: Batch) -> list[Change] | None:
        """Decided again here, in the transaction, from the grants as they are now (the
        endpoint's look was outside it): a purchase or a tier change ends the supporter's
        current grants of other tiers and grants the new one with no end; an end ends them
        all now. A change for a membership that is no longer current does nothing."""
        data = event.payload
        supporter = str(data.get("supporter") or "")
        now = now_utc()
        live = await grants.live_of(FOURTHWALL_SOURCE, supporter, now)
        paid = data.get("action") == FOURTHWALL_PAID
        if data.get("action") == FOURTHWALL_ENDED:
            await self._end(batch, live, now)
            return None
        viewer = event.viewer
        if viewer is None or not (paid or live):
            return None
        tier_id = str(data.get("fourthwall_tier") or "")
        tier = self.tiers.for_fourthwall(tier_id) or self._unmapped(
            "Fourthwall", tier_id, "fourthwall_tier"
        )
        if not paid and all(row.tier == tier.name for row in live):
            return None
        await self._end(batch, [row for row in live if row.tier != tier.name], now)
        return await self._grant(batch, [_fourthwall_ask(event, viewer, tier.name, paid)])

    async def read_back(self, event: Event) -> list[Change]:
        """What ``record_events`` wrote for ``event`` before a restart (its ``on_event``
        runs again): the grants it paid for, or the revocations a refund made, announced
        again (deduped on the bus). A grant a later refund already took back is announced
        too: the refund's own replay follows it with ``revoked``, so each is said once."""
        if event.test:
            return []
        if isinstance(event, Refund):
            rows = await grants.revoked_by(key_of(event.original_source, event.original_id))
            return await grants.revoked_changes(rows, now_utc())
        if (
            isinstance(event, MoneyCustomEvent)
            and event.custom_type == STRIPE_EVENT
            and event.payload.get("action") == "refunded"
        ):
            subscription = str(event.payload.get("subscription") or "")
            rows = await grants.revoked_by(subscription=subscription) if subscription else []
            return await grants.revoked_changes(rows, now_utc())
        if not isinstance(event, Subscription | Tip | MoneyCustomEvent):
            return []
        if isinstance(event, MoneyCustomEvent):
            if event.custom_type not in (STRIPE_EVENT, FOURTHWALL_EVENT):
                return []
            # this plugin's endpoints key each grant by the event itself
            rows = await Membership.filter(source=event.source, source_id=event.source_id)
        else:
            key = key_of(event.source, event.source_id)
            rows = await Membership.filter(payment=key).order_by("id")
        changes: list[Change] = []
        for row in rows:
            # held then (a grant with no end, or one running past this one's start): as
            # grants.write decided between "renewed" and "granted"
            earlier = await Membership.filter(
                Q(ends__isnull=True) | Q(ends__gte=row.starts),
                viewer_platform=row.viewer_platform,
                viewer_id=row.viewer_id,
                kind=row.kind,
                tier=row.tier,
                id__lt=row.id,
                revoked_at=None,
            ).exists()
            changes.append(
                Change(
                    int(row.id),
                    ViewerRef(row.viewer_platform, row.viewer_id, row.viewer_name),
                    row.tier,
                    row.kind,
                    "renewed" if earlier else "granted",
                    row.ends,
                    # as record() decided: gifts are not welcomed one by one, and only a
                    # payment without an alert of its own (Stripe, Fourthwall) gets a
                    # member alert
                    quiet=row.source == "twitch" and bool(row.granted_by),
                    alert=row.source in OWN_ENDPOINTS or not row.payment,
                )
            )
        return changes


def _paid(data: Mapping[str, Any]) -> Money | None:
    """The amount an endpoint's event carries (``amount`` + ``currency`` on the wire)."""
    if data.get("amount") and data.get("currency"):
        return Money.parse(str(data["amount"]), str(data["currency"]))
    return None


def _fourthwall_ask(event: MoneyCustomEvent, viewer: ViewerRef, tier: str, paid: bool) -> Ask:
    """A Fourthwall grant: no end (Fourthwall says when it ends), keyed by the webhook
    event's id, on the supporter's membership; a purchase carries its price."""
    return Ask(
        viewer=viewer,
        tier=tier,
        source=FOURTHWALL_SOURCE,
        source_id=event.source_id,
        reason="Fourthwall membership" if paid else "Fourthwall tier change",
        payment=key_of(FOURTHWALL_SOURCE, event.source_id) if paid else "",
        subscription=str(event.payload.get("supporter") or ""),
        amount=_paid(event.payload) if paid else None,
    )
