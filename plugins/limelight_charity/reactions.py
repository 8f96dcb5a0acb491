"""What a recorded donation sets in motion: the milestone ladder, the "I donated" badge,
the overlays' state, a thank-you in chat and the ``charity.donation`` event.

Why on its own: these are live reactions, run from ``on_event`` after the row is on disk.
Every one of them is safe to run twice (a restart dispatches an unfinished event again):
the ladder fires each milestone once, badges and overlay state are recomputed from the
ledger, the row's ``reacted`` flag keeps the thank-you and the event from repeating.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from limelight import CustomEvent, Donation, Event, Money, PluginContext, ViewerRef, duration, fill

from . import ledger
from .campaigns import Campaigns
from .config import CharityConfig
from .models import Campaign, CharityEntry
from .recording import ALERT_KIND, alert_data

BADGE = "charity-donor"
CAMPAIGN_OVERLAY = "charity"
WALL_OVERLAY = "charity-wall"
#: Campaigns that ended longer ago than this leave the overlays (unless asked by name).
SHOWN_AFTER_END = timedelta(days=7)


def left_text(campaign: Campaign, now: datetime | None = None) -> str:
    """'3 days left', '2 h 5 min left', 'starts in 1 day 4 h', 'ended'."""
    now = now or datetime.now(UTC)
    if now < campaign.starts_at:
        return "starts in " + duration(campaign.starts_at - now)
    if now >= campaign.ends_at:
        return "ended"
    return duration(campaign.ends_at - now) + " left"


class Reactions:
    def __init__(self, ctx: PluginContext[CharityConfig], campaigns: Campaigns) -> None:
        self.ctx = ctx
        self.campaigns = campaigns
        #: ``charity.milestone`` events already published (the bus dedupes them anyway).
        self.announced: set[str] = set()

    # -- events ---------------------------------------------------------------------------

    async def on_event(self, event: Event) -> None:
        if event.test:
            await self.show_test(event)
            return
        entry_id = self.ctx.recorded(event)
        entry = (
            await CharityEntry.get_or_none(id=entry_id)
            if isinstance(entry_id, int)
            else await ledger.row_of(event.source, event.source_id)
        )
        if entry is None:
            return
        campaign = self.campaigns.by_id(entry.campaign_id)  # type: ignore[attr-defined]
        if campaign is None:
            return
        await self.badges_for(entry)
        await self.publish_state(campaign)
        if entry.reacted:
            return
        if entry.kind != "refund":
            total = await ledger.total(campaign.id)
            await self.thank(entry, campaign)
            await self.ctx.publish(
                CustomEvent(
                    custom_type="charity.donation",
                    source="charity",
                    source_id=f"entry:{entry.id}",
                    viewer=event.viewer,
                    payload={
                        "campaign": campaign.slug,
                        "title": campaign.title,
                        "amount": Money(entry.counted_minor, campaign.currency).to_wire(),
                        "currency": campaign.currency,
                        "given": Money(entry.amount_minor, entry.currency).to_wire(),
                        "given_currency": entry.currency,
                        "channel": entry.channel,
                        "total": Money(total, campaign.currency).to_wire(),
                    },
                )
            )
        await CharityEntry.filter(id=entry.id).update(reacted=True)
        await self.announce(campaign)

    async def announce(self, campaign: Campaign) -> None:
        """A ``charity.milestone`` event for each milestone the ladder fired (the claim
        was made with the donation in ``record_events``; the engine runs its actions)."""
        ladder = self.campaigns.ladder(campaign)
        fired = await ladder.fired()
        total = await ledger.total(campaign.id)
        for spec in ladder.specs:
            key = f"milestone:{campaign.id}:{spec.at}"
            if spec.at not in fired or key in self.announced:
                continue
            await self.ctx.publish(
                CustomEvent(
                    custom_type="charity.milestone",
                    source="charity",
                    source_id=key,
                    occurred_at=fired[spec.at],
                    payload={
                        "campaign": campaign.slug,
                        "title": campaign.title,
                        "at": Money(spec.at, campaign.currency).to_wire(),
                        "currency": campaign.currency,
                        "label": spec.label,
                        "total": Money(total, campaign.currency).to_wire(),
                    },
                )
            )
            self.announced.add(key)

    async def show_test(self, event: Event) -> None:
        """A simulated donation (``limelight simulate donation``, Tiltify's test
        subscription): nothing is counted; the overlay plays its alert, kept in memory."""
        overlay = self.ctx.config.alert_overlay
        if not overlay or not isinstance(event, Donation):
            return
        campaign = self.campaigns.running()
        await self.ctx.overlays.alert(
            overlay,
            kind=ALERT_KIND,
            data=alert_data(self.ctx, event, campaign),
            event=event,
        )

    async def thank(self, entry: CharityEntry, campaign: Campaign) -> None:
        template = self.ctx.config.thanks_template
        if not template:
            return
        name = (
            self.ctx.config.anonymous_name
            if entry.anonymous or not entry.viewer_name
            else entry.viewer_name
        )
        text = fill(
            template,
            name=name,
            amount=self.ctx.money(Money(entry.amount_minor, entry.currency)),
            title=campaign.title,
        )
        try:
            await self.ctx.chat.say(text)
        except Exception as exc:  # chat down: the donation still counts
            self.ctx.log.warning("could not thank a donor in chat: %s", exc)

    # -- badges ---------------------------------------------------------------------------

    def badge_campaigns(self, now: datetime | None = None) -> list[Campaign]:
        """Campaigns whose donors wear the badge: running, or ended within badge_days."""
        now = now or datetime.now(UTC)
        keep = timedelta(days=self.ctx.config.badge_days)
        return [c for c in self.campaigns.all() if c.starts_at <= now < c.ends_at + keep]

    async def badges_for(self, entry: CharityEntry) -> None:
        if not entry.viewer_id or entry.anonymous:
            return
        viewer = ViewerRef(entry.viewer_platform, entry.viewer_id, entry.viewer_name)
        held = False
        for campaign in self.badge_campaigns():
            net = await CharityEntry.filter(
                campaign_id=campaign.id,
                viewer_platform=entry.viewer_platform,
                viewer_id=entry.viewer_id,
            ).values_list("counted_minor", "amount_minor")
            if sum(a for _, a in net) > 0 or sum(c for c, _ in net) > 0:
                held = True
                break
        if held:
            self.ctx.badges.award(viewer, BADGE)
        else:
            self.ctx.badges.revoke(viewer, BADGE)

    async def award_all(self) -> None:
        """At start and every hour: the badge for every donor of a badge campaign."""
        for campaign in self.badge_campaigns():
            for donor in await ledger.donors(campaign.id):
                if donor.platform and not donor.anonymous:
                    self.ctx.badges.award(ViewerRef(donor.platform, donor.id, donor.name), BADGE)

    # -- overlays -------------------------------------------------------------------------

    def shown(self, campaign: Campaign, now: datetime | None = None) -> bool:
        now = now or datetime.now(UTC)
        return campaign.starts_at - timedelta(days=1) <= now < campaign.ends_at + SHOWN_AFTER_END

    async def campaign_state(self, campaign: Campaign) -> dict[str, Any]:
        """What the campaign overlay shows (numbers in minor units of the campaign's
        currency; the amounts also formatted by the one money formatter)."""
        config = self.ctx.config
        now = datetime.now(UTC)
        reader = self.ctx.db.reader  # beside the commits: see Database.reader
        total = await ledger.total(campaign.id, reader)
        converted, missing = await ledger.any_converted(campaign.id, reader)
        goal = Money(campaign.goal_minor, campaign.currency)
        recent = await ledger.recent(campaign.id, config.recent_donors, reader)
        view = await self.campaigns.ladder(campaign).view(total)
        return {
            "slug": campaign.slug,
            "title": campaign.title,
            "cause": campaign.cause,
            "current": total,
            "target": campaign.goal_minor,
            "currency": campaign.currency,
            "raised": self.ctx.money(Money(total, campaign.currency)),
            "goal": self.ctx.money(goal),
            "percent": int(total * 100 // campaign.goal_minor) if campaign.goal_minor else 0,
            "converted": converted,
            "missing_rates": missing,
            "running": campaign.starts_at <= now < campaign.ends_at,
            "starts_at": campaign.starts_at.isoformat(),
            "ends_at": campaign.ends_at.isoformat(),
            "left": left_text(campaign, now),
            "milestones": [
                {
                    "at": m.at,
                    "label": m.label,
                    # reached: the total is there now; fired: it fired, and a refund has
                    # since dropped the total below it (it will not fire again)
                    "state": "reached" if m.reached else "fired" if m.fired else "ahead",
                }
                for m in view
            ],
            "recent": [
                {
                    "name": config.anonymous_name
                    if r.anonymous or not r.viewer_name
                    else r.viewer_name,
                    "amount": self.ctx.money(Money(r.amount_minor, r.currency)),
                    "message": r.message[:140],
                }
                for r in recent
            ],
        }

    async def wall_state(self, campaign: Campaign) -> dict[str, Any]:
        config = self.ctx.config
        donors = await ledger.top_donors(campaign.id, config.wall_size, self.ctx.db.reader)
        return {
            "slug": campaign.slug,
            "title": campaign.title,
            "running": campaign.starts_at <= datetime.now(UTC) < campaign.ends_at,
            "donors": [
                {
                    "name": config.anonymous_name if d.anonymous or not d.name else d.name,
                    "amount": self.ctx.money(Money(d.counted_minor, campaign.currency)),
                }
                for d in donors
            ],
        }

    async def publish_state(self, campaign: Campaign) -> None:
        overlays = self.ctx.overlays
        if not self.shown(campaign):
            await overlays.clear_state(CAMPAIGN_OVERLAY, campaign.slug)
            await overlays.clear_state(WALL_OVERLAY, campaign.slug)
            return
        await overlays.set_state(
            CAMPAIGN_OVERLAY, campaign.slug, await self.campaign_state(campaign)
        )
        await overlays.set_state(WALL_OVERLAY, campaign.slug, await self.wall_state(campaign))

    async def refresh(self) -> None:
        """Every campaign's overlay state (time left moves, campaigns start and end)."""
        for campaign in self.campaigns.all():
            await self.publish_state(campaign)
