"""Charity: fundraiser campaigns with a milestone ladder, donor badges and overlays.

A campaign (a cause, a goal, a window, milestones) counts donations from Tiltify
(``/webhooks/tiltify``, signature-checked), Twitch Charity (the twitch plugin's
``donation`` events), tips made during the campaign (``count_tips``) and manual entries
from the dashboard. Every amount is written once, in ``record_events``, to an
append-only ledger keyed by the provider's id; refunds are negative rows. Then the
campaign's milestone ladder (:mod:`limelight.milestones`) fires what was reached, donors
get the "I donated" badge, the ``charity`` and ``charity-wall`` overlays move and
``!goal`` knows the total. See docs/charity.md.

:class:`CharityPlugin` only wires the parts together; each part is a module with one
concern. Written against the public plugin API only.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property

from limelight import (
    AlertKind,
    Badge,
    Call,
    Command,
    Event,
    EventType,
    Job,
    Models,
    Money,
    Overlay,
    Plugin,
    Register,
    Route,
    Transaction,
    WebhookProvider,
    command,
    example,
    fill,
    hookimpl,
)
from limelight.milestones import resume

from . import ledger, tiltify
from .campaigns import Campaigns
from .config import CharityConfig, TiltifyWebhook, tiltify_problems
from .models import Campaign
from .reactions import BADGE, CAMPAIGN_OVERLAY, WALL_OVERLAY, Reactions, left_text
from .recording import ALERT_KIND, REFUND_TYPE, Recorder
from .web import Dashboard

__version__ = "0.1.0"

ALERTS = (
    AlertKind(
        ALERT_KIND,
        "{name} donated {amount}!",
        {
            "name": "Test Viewer",
            "amount": "10.00",
            "currency": "USD",
            "message": "For a good cause",
            "campaign": "Test campaign",
        },
    ),
    AlertKind("charity.milestone", "{title}", {"title": "Milestone reached!"}),
)


class CharityPlugin(Plugin[CharityConfig]):
    config_model = CharityConfig

    def __init__(self) -> None:
        super().__init__()
        self.tiltify_table: TiltifyWebhook | None = None

    # -- the parts ------------------------------------------------------------------------

    @cached_property
    def campaigns(self) -> Campaigns:
        return Campaigns(self.ctx)

    @cached_property
    def recorder(self) -> Recorder:
        return Recorder(self.ctx, self.campaigns)

    @cached_property
    def reactions(self) -> Reactions:
        return Reactions(self.ctx, self.campaigns)

    @cached_property
    def dashboard(self) -> Dashboard:
        return Dashboard(self.ctx, self.campaigns, self.reactions)

    # -- registration ---------------------------------------------------------------------

    @hookimpl
    def register_models(self, register: Register[Models]) -> None:
        register(Models("charity", "limelight_charity.models", "limelight_charity.migrations"))

    @hookimpl
    def register_webhook_providers(self, register: Register[WebhookProvider]) -> None:
        register(
            WebhookProvider(
                tiltify.NAME,
                self._tiltify,
                max_body=tiltify.MAX_BODY,
                check_config=tiltify_problems,
            )
        )

    async def _tiltify(self, request: object, body: bytes) -> list[Event]:
        return await tiltify.handle(self.tiltify_table, request, body)  # type: ignore[arg-type]

    @hookimpl
    def register_routes(self, register: Register[Route]) -> None:
        for route in self.dashboard.routes():
            register(route)

    @hookimpl
    def register_overlays(self, register: Register[Overlay]) -> None:
        register(
            Overlay(
                CAMPAIGN_OVERLAY,
                "charity/campaign.html",
                width=1000,
                height=240,
                title="Charity campaign",
                description="The running campaign: progress bar with milestone marks, "
                "recent donors, time left, donation alerts. ?campaign=<id> picks one.",
                alerts=ALERTS,
            )
        )
        register(
            Overlay(
                WALL_OVERLAY,
                "charity/wall.html",
                width=420,
                height=720,
                title="Donor wall",
                description="Everyone who donated to the running campaign, biggest first "
                "(names hidden for anonymous donors). ?campaign=<id> picks one.",
            )
        )

    @hookimpl
    def register_badges(self, register: Register[Badge]) -> None:
        register(
            Badge(
                BADGE,
                "I donated",
                icon="/-/static-plugins/charity/donated.svg",
                description="Donated to the charity campaign.",
            )
        )

    @hookimpl
    def register_event_types(self, register: Register[EventType]) -> None:
        register(
            EventType(
                "charity.donation",
                description="A donation counted for a campaign (after conversion): campaign "
                "(its id), title, amount, currency (the campaign's), given, given_currency, "
                "channel, total.",
                # the donation has its own line in the activity feed ("donated ... to
                # charity"); this one says which campaign counted what, after conversion
                label="Counted for a campaign",
                describe="{name}'s {amount} counted for {title}",
                icon="heart",
                amounts=("amount", "total"),
            )
        )
        register(
            EventType(
                "charity.milestone",
                description="A campaign's milestone was reached: campaign (its id), title, "
                "at, currency, label, total.",
                label="Campaign milestone",
                describe="{title} reached {at}: {label}",
                icon="flag",
                amounts=("at", "total"),
            )
        )
        register(
            EventType(
                REFUND_TYPE,
                description="A refund made in the dashboard: entry (ledger row id), amount, "
                "currency (the donation's), reason. The ledger gets a negative row; the total "
                "drops.",
                label="Donation refunded",
                describe="Donation #{entry} refunded ({amount}): {reason}",
                icon="refund",
            )
        )

    @hookimpl
    def register_jobs(self, register: Register[Job]) -> None:
        register(Job("charity-refresh", self.refresh, "interval", {"seconds": 30}))
        register(Job("charity-badges", self.reactions.award_all, "interval", {"hours": 1}))

    @hookimpl
    def register_commands(self, register: Register[Command]) -> None:
        register(self.donate)
        register(self.goal)

    # -- commands -------------------------------------------------------------------------

    def _current(self) -> Campaign | None:
        return self.campaigns.running()

    @command("donate", aliases=("charity",), cooldown=10)
    @example(
        "!donate", r"(Donate to .+: https?://\S+|No charity campaign is running\.)", regex=True
    )
    async def donate(self, call: Call) -> str:
        """The link to donate to the running charity campaign."""
        campaign = self._current()
        if campaign is None:
            return "No charity campaign is running."
        return fill(
            self.config.donate_template,
            **await self._values(campaign),
        )

    @command("goal", cooldown=10)
    @example("!goal", r".+", regex=True)
    async def goal(self, call: Call) -> str:
        """How far the running charity campaign is."""
        campaign = self._current()
        if campaign is None:
            return "No charity campaign is running."
        return fill(self.config.goal_template, **await self._values(campaign))

    async def _values(self, campaign: Campaign) -> dict[str, str]:
        total = await ledger.total(campaign.id)
        return {
            "title": campaign.title,
            "cause": campaign.cause,
            "link": campaign.cause_url,
            "raised": self.ctx.money(Money(total, campaign.currency)),
            "goal": self.ctx.money(Money(campaign.goal_minor, campaign.currency)),
            "percent": str(total * 100 // campaign.goal_minor if campaign.goal_minor else 0),
            "left": left_text(campaign),
        }

    # -- lifecycle and events -------------------------------------------------------------

    @hookimpl
    async def startup(self) -> None:
        table = self.ctx.settings.webhooks.get(tiltify.NAME)
        self.tiltify_table = (
            TiltifyWebhook.model_validate(table) if isinstance(table, dict) else None
        )
        await self.campaigns.start()
        await resume(self.ctx)
        await self.reactions.award_all()
        await self.refresh()

    async def refresh(self) -> None:
        await self.reactions.refresh()

    @hookimpl
    async def record_events(self, events: list[Event], tx: Transaction) -> Mapping[int, int]:
        return await self.recorder.record_events(events, tx)

    @hookimpl
    async def on_event(self, event: Event) -> None:
        await self.reactions.on_event(event)


__all__ = ["CharityPlugin"]
