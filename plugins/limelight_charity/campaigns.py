"""The campaigns: the config's written to the database at start, the dashboard's edited
there, and all of them kept in memory for the event path.

Why in memory: every donation asks "which campaign does this count for?" inside the bus's
transaction, where a query per event would lengthen every webhook's wait. The list is
small and changes only at start and when the dashboard saves (:meth:`Campaigns.load`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from limelight import Donation, Event, Money, PluginContext, Tip
from limelight.milestones import Ladder

from .config import CampaignSpec, CharityConfig
from .models import Campaign


def spec_of(row: Campaign) -> CampaignSpec:
    """A stored campaign as the model that validated it."""
    return CampaignSpec.model_validate(
        {
            "id": row.slug,
            "title": row.title,
            "cause": row.cause,
            "cause_url": row.cause_url,
            "goal": _goal_wire(row),
            "currency": row.currency,
            "starts_at": row.starts_at,
            "ends_at": row.ends_at,
            "rates": row.rates or {},
            "tiltify_campaign_id": row.tiltify_campaign_id,
            "milestones": row.milestones or [],
        }
    )


def _goal_wire(row: Campaign) -> str:
    return Money(row.goal_minor, row.currency).to_wire()


def fields_of(spec: CampaignSpec, origin: str) -> dict[str, Any]:
    """The columns a campaign spec is stored in."""
    return {
        "title": spec.title,
        "cause": spec.cause,
        "cause_url": spec.cause_url,
        "goal_minor": spec.goal_money.minor,
        "currency": spec.currency,
        "starts_at": spec.starts_at,
        "ends_at": spec.ends_at,
        "rates": {k: str(v) for k, v in spec.rates.items()},
        "tiltify_campaign_id": spec.tiltify_campaign_id,
        "milestones": [m.model_dump(mode="json") for m in spec.milestones],
        "origin": origin,
    }


class Campaigns:
    def __init__(self, ctx: PluginContext[CharityConfig]) -> None:
        self.ctx = ctx
        self.rows: dict[str, Campaign] = {}
        self._ladders: dict[int, Ladder] = {}

    async def start(self) -> None:
        """Write the config's campaigns (the config wins for those), then load all."""
        for spec in self.ctx.config.campaigns:
            await Campaign.update_or_create(slug=spec.id, defaults=fields_of(spec, "config"))
        await self.load()

    async def load(self) -> None:
        self.rows = {row.slug: row for row in await Campaign.all().order_by("starts_at", "id")}

    def ladder(self, campaign: Campaign) -> Ladder:
        """The campaign's milestone ladder (``campaign:<row id>`` in the engine), built
        again when the dashboard changed its milestones (fired ones stay fired)."""
        specs = spec_of(campaign).milestones
        ladder = self._ladders.get(campaign.id)
        if ladder is None or list(ladder.specs) != sorted(specs, key=lambda s: s.at):
            ladder = Ladder(
                self.ctx,
                self.ctx.name,
                f"campaign:{campaign.id}",
                specs,
                values={"campaign": campaign.title, "cause": campaign.cause},
            )
            self._ladders[campaign.id] = ladder
        return ladder

    def get(self, slug: str) -> Campaign | None:
        return self.rows.get(slug)

    def all(self) -> list[Campaign]:
        return list(self.rows.values())

    def by_id(self, pk: int) -> Campaign | None:
        return next((c for c in self.rows.values() if c.id == pk), None)

    def running(self, at: datetime | None = None) -> Campaign | None:
        """The campaign whose window holds ``at`` (the one that started last, if several)."""
        at = at or datetime.now(UTC)
        found = [c for c in self.rows.values() if c.starts_at <= at < c.ends_at]
        return max(found, key=lambda c: (c.starts_at, c.id)) if found else None

    def for_event(self, event: Event) -> tuple[Campaign, str] | None:
        """The campaign ``event`` counts for and the channel it came through, or ``None``.

        A donation naming a campaign (the dashboard's slug, or the Tiltify campaign id a
        campaign claims) counts for that one; other donations, and tips when
        ``count_tips`` is on, count for the campaign running when they happened."""
        config = self.ctx.config
        if isinstance(event, Donation):
            channel = "manual" if event.source == "manual" else event.source
            if event.campaign:
                named = self.rows.get(event.campaign) or next(
                    (
                        c
                        for c in self.rows.values()
                        if c.tiltify_campaign_id and c.tiltify_campaign_id == event.campaign
                    ),
                    None,
                )
                if named is not None:
                    return named, channel
            if event.source == "twitch" and not config.count_twitch:
                return None
            running = self.running(event.occurred_at)
            return (running, channel) if running is not None else None
        if isinstance(event, Tip):
            if not config.count_tips or not event.is_gift:
                return None
            running = self.running(event.occurred_at)
            return (running, "tips") if running is not None else None
        return None
