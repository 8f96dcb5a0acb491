"""The durable part of a donation: its ledger row and its alert, written in the bus's
transaction (``record_events``) before the provider is answered.

Why on its own: this is the one place the plugin writes money. Donations (Tiltify, Twitch
Charity, manual), tips counted during a campaign, refunds of either (a core ``refund``
naming a counted donation or tip, or the dashboard's ``charity.refund``) all become rows
here; what ``on_event`` needs comes back as the row id (``ctx.recorded(event)``).
"""

from __future__ import annotations

from typing import Any

from limelight import (
    CustomEvent,
    Donation,
    Event,
    Money,
    PluginContext,
    Refund,
    Tip,
    Transaction,
    ViewerRef,
)
from limelight.money import MoneyError

from . import ledger
from .campaigns import Campaigns
from .config import CharityConfig
from .models import Campaign, CharityEntry

REFUND_TYPE = "charity.refund"
ALERT_KIND = "charity.donation"


def alert_data(
    ctx: PluginContext[CharityConfig], event: Donation | Tip, campaign: Campaign | None
) -> dict[str, Any]:
    """What a donation alert shows (``{name}``, ``{amount}``, ``{message}``, ...)."""
    viewer = event.viewer
    anonymous = ctx.config.anonymous_name
    data: dict[str, Any] = {
        "name": (viewer.name if viewer and not event.anonymous else "") or anonymous,
        "amount": event.amount.to_wire(),
        "currency": event.amount.currency,
        "display_amount": ctx.money(event.amount),
        "campaign": campaign.title if campaign else "",
        "cause": campaign.cause if campaign else "",
    }
    if event.message:
        data["message"] = event.message
    return data


class Recorder:
    def __init__(self, ctx: PluginContext[CharityConfig], campaigns: Campaigns) -> None:
        self.ctx = ctx
        self.campaigns = campaigns

    async def record_events(self, events: list[Event], tx: Transaction) -> dict[int, int]:
        written: dict[int, int] = {}
        added: dict[int, int] = {}  # campaign id -> what this batch adds to its total
        for event in events:
            if event.id is None or event.test:
                continue
            entry: CharityEntry | None = None
            if isinstance(event, Donation | Tip):
                entry = await self._gift(event, tx)
            elif isinstance(event, Refund):
                entry = await self._refund(
                    event, event.original_source, event.original_id, event.amount, event.reason
                )
            elif isinstance(event, CustomEvent) and event.custom_type == REFUND_TYPE:
                entry = await self._manual_refund(event)
            if entry is not None:
                written[event.id] = entry.id
                campaign_id: int = entry.campaign_id  # type: ignore[attr-defined]
                added[campaign_id] = added.get(campaign_id, 0) + entry.counted_minor
        # Every entry written is added to its campaign's total, whatever this process
        # knows of the campaign; the milestones of the campaigns it knows are claimed.
        for campaign_id, amount in added.items():
            total = await ledger.add_to_total(tx.connection, campaign_id, amount)
            campaign = self.campaigns.by_id(campaign_id)
            if campaign is not None:
                await self.climb(campaign, total, tx)
        return written

    async def climb(self, campaign: Campaign, total: int, tx: Transaction) -> None:
        """Claim the milestones the new ``total`` reaches, in the transaction that writes
        the donations: a milestone fires exactly once, with the donation that crossed it,
        and a rolled-back batch takes its claim with it. A refund's lower total claims
        nothing (what fired stays fired). The donors (every entry of the campaign, read as
        rows) are gathered only when a milestone is due: on every batch they made each
        commit of a long campaign wait for a read of all its donations."""
        ladder = self.campaigns.ladder(campaign)
        if not await ladder.due(total, tx):
            return
        donors = await ledger.donors(campaign.id)
        money = Money(total, campaign.currency)
        await ladder.reach(
            total,
            contributors=[ViewerRef(d.platform, d.id, d.name) for d in donors if d.platform],
            values={
                "total": self.ctx.money(money),
                "goal": self.ctx.money(Money(campaign.goal_minor, campaign.currency)),
            },
            tx=tx,
        )

    async def _gift(self, event: Donation | Tip, tx: Transaction) -> CharityEntry | None:
        found = self.campaigns.for_event(event)
        if found is None:
            return None
        campaign, channel = found
        if event.amount.minor <= 0:
            return None
        viewer = event.viewer
        counted = ledger.count(event.amount, campaign)
        entry = await ledger.record(
            campaign=campaign,
            provider=event.source,
            provider_id=event.source_id,
            kind="donation" if isinstance(event, Donation) else "tip",
            channel=channel,
            money=event.amount,
            counted=counted,
            viewer_platform=viewer.platform if viewer else "",
            viewer_id=viewer.id if viewer else "",
            viewer_name=viewer.name if viewer else "",
            anonymous=event.anonymous,
            message=event.message,
            occurred_at=event.occurred_at,
            event_id=event.id,
        )
        overlay = self.ctx.config.alert_overlay
        if overlay:
            data = alert_data(self.ctx, event, campaign)
            await self.ctx.overlays.alert(overlay, kind=ALERT_KIND, data=data, event=event, tx=tx)
        return entry

    async def _refund(
        self, event: Event, source: str, source_id: str, money: Money, reason: str
    ) -> CharityEntry | None:
        original = await ledger.row_of(source, source_id)
        if original is None or original.kind == "refund":
            return None  # not a donation this plugin counted
        campaign = self.campaigns.by_id(original.campaign_id)  # type: ignore[attr-defined]
        if campaign is None:
            return None
        back_amount, back_counted = await ledger.refunded(original)
        left = original.amount_minor - back_amount
        asked = money.minor if money.currency == original.currency else 0
        if money.currency != original.currency:
            reason = f"{reason} (asked {money} but the donation was in {original.currency})"
        amount = max(0, min(asked, left))
        if asked > left:
            reason = f"{reason} (asked {money}, only {left} minor units were left)".strip()
        # The counted part goes back in proportion; the last refund takes what is left, so
        # rounding never leaves a cent behind.
        counted_left = original.counted_minor - back_counted
        counted = (
            counted_left
            if amount == left
            else (original.counted_minor * amount) // max(1, original.amount_minor)
        )
        return await ledger.record(
            campaign=campaign,
            provider=event.source,
            provider_id=event.source_id,
            kind="refund",
            channel=original.channel,
            money=Money(-amount, original.currency),
            counted=ledger.Counted(
                Money(-counted, campaign.currency), original.converted, original.rate
            ),
            viewer_platform=original.viewer_platform,
            viewer_id=original.viewer_id,
            viewer_name=original.viewer_name,
            anonymous=original.anonymous,
            occurred_at=event.occurred_at,
            event_id=event.id,
            original=original,
            reason=reason.strip(),
        )

    async def _manual_refund(self, event: CustomEvent) -> CharityEntry | None:
        """The dashboard's refund: ``{"entry": <row id>, "amount": "5.00", "reason"}``."""
        payload = event.payload
        original = await CharityEntry.get_or_none(id=payload.get("entry"))
        if original is None:
            self.ctx.log.warning("charity.refund %s names no ledger row", event.source_id)
            return None
        raw = payload.get("amount")
        try:
            money = (
                Money.parse_positive(raw, original.currency)
                if raw not in (None, "")
                else Money(original.amount_minor, original.currency)
            )
        except (MoneyError, TypeError, ValueError):
            self.ctx.log.warning("charity.refund %s has an unreadable amount", event.source_id)
            return None
        reason = payload.get("reason")
        return await self._refund(
            event,
            original.provider,
            original.provider_id,
            money,
            reason if isinstance(reason, str) else "",
        )
