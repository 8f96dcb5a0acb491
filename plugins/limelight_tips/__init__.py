"""Tips: Ko-fi, Stripe and signed-webhook providers, an exactly-once ledger, and reactions.

A viewer tips; the provider's webhook is verified, and the event, its ledger row and its
alert are committed together before the provider is answered (``record_events``, the only
place this plugin writes them); then the plugin thanks the viewer in chat and moves the
leaderboard (``on_event``). Chat commands: ``!tip`` (a personal tip link), ``!top`` (top
supporters), ``!tipname`` (hide or show your name on stream). Tip alerts play on the
``alerts`` overlay of the alerts plugin, which this plugin requires.

:class:`TipsPlugin` only wires the parts together; each part is a module with one concern
(see docs/tips.md, "How it is built"). Written against the public plugin API only.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property, partial
from typing import Literal

from limelight import (
    Call,
    Command,
    Event,
    Models,
    Overlay,
    Plugin,
    Register,
    Route,
    Transaction,
    WebhookProvider,
    command,
    example,
    hookimpl,
)

from .alerting import Alerting
from .approval import Approval
from .boards import Boards
from .config import TipsConfig, table_problems
from .ledger import Converter
from .moderation import Moderator
from .people import People
from .providers import Intake, Provider, fourthwall, generic, kofi, stripe
from .reactions import Reactions
from .recording import Recorder, Written
from .refunds import Refunds
from .speech import TTS_OVERLAY, TTS_TITLE, Speech
from .thanks import Thanks
from .web import Dashboard

__version__ = "0.1.0"

PROVIDERS: tuple[Provider, ...] = (kofi, stripe, generic, fourthwall)


class TipsPlugin(Plugin[TipsConfig]):
    config_model = TipsConfig
    requires = ("alerts",)

    def __init__(self) -> None:
        super().__init__()
        self.intake = Intake()

    # -- the parts (built on first use: they need self.ctx, which the host sets after
    # __init__ and before any hook runs) ------------------------------------------------

    @cached_property
    def converter(self) -> Converter:
        return Converter.from_config(self.config)

    @cached_property
    def people(self) -> People:
        return People(self.ctx)

    @cached_property
    def speech(self) -> Speech:
        return Speech(self.ctx)

    @cached_property
    def alerting(self) -> Alerting:
        return Alerting(self.ctx, self.converter)

    @cached_property
    def approval(self) -> Approval:
        return Approval(self.ctx, self.alerting, self.speech)

    @cached_property
    def refunds(self) -> Refunds:
        return Refunds(self.ctx)

    @cached_property
    def boards(self) -> Boards:
        return Boards(self.ctx, self.converter, self.people)

    @cached_property
    def recorder(self) -> Recorder:
        return Recorder(
            self.ctx,
            people=self.people,
            moderator=Moderator(self.config, self.converter),
            alerting=self.alerting,
            approval=self.approval,
            refunds=self.refunds,
            speech=self.speech,
        )

    @cached_property
    def reactions(self) -> Reactions:
        return Reactions(
            self.ctx,
            recorder=self.recorder,
            alerting=self.alerting,
            people=self.people,
            thanks=Thanks(self.ctx),
            speech=self.speech,
            boards=self.boards,
        )

    @cached_property
    def dashboard(self) -> Dashboard:
        return Dashboard(
            self.ctx,
            intake=self.intake,
            refunds=self.refunds,
            approval=self.approval,
            speech=self.speech,
            boards=self.boards,
        )

    # -- registration ----------------------------------------------------------------------

    @hookimpl
    def register_models(self, register: Register[Models]) -> None:
        register(Models("tips", "limelight_tips.models", "limelight_tips.migrations"))

    @hookimpl
    def register_webhook_providers(self, register: Register[WebhookProvider]) -> None:
        for provider in PROVIDERS:
            register(
                WebhookProvider(
                    provider.NAME,
                    partial(provider.handle, self.intake),
                    max_body=provider.MAX_BODY,
                    check_config=partial(table_problems, provider.NAME),
                )
            )

    @hookimpl
    def register_routes(self, register: Register[Route]) -> None:
        for route in self.dashboard.routes():
            register(route)

    @hookimpl
    def register_overlays(self, register: Register[Overlay]) -> None:
        register(
            Overlay(
                TTS_OVERLAY,
                "tips/tts.html",
                events=(),
                width=400,
                height=100,
                title=TTS_TITLE,
                description="Browser speech for approved tip messages; off unless "
                "[plugins.tips] tts = true. The dashboard has a kill switch.",
            )
        )

    @hookimpl
    def register_commands(self, register: Register[Command]) -> None:
        for cmd in (self.tip, self.top, self.tipname):
            register(cmd)

    # -- commands --------------------------------------------------------------------------

    @command("tip", user_cooldown=10)
    @example(
        "!tip",
        r"Tip here: https?://\S+/p/tips/go/\S+ \(your code LL-[A-Z0-9]{8}, "
        r"valid \d+ min\)",
        regex=True,
    )
    async def tip(self, call: Call) -> str:
        """A personal tip link, so your tip counts for you here in chat."""
        links = self.intake.links
        if call.viewer is None:
            return "Tip links need a chat account."
        if links is None or not (self.config.stripe_payment_link or self.config.kofi_page):
            return "Tipping is not set up here yet."
        code = await links.issue(call.viewer)
        link = self.ctx.url(f"/p/tips/go/{links.sign(code.code)}")
        minutes = self.config.link_ttl_minutes
        return f"Tip here: {link} (your code LL-{code.code}, valid {minutes} min)"

    @command("top", aliases=("leaders",), cooldown=5)
    @example("!top", r"(Top supporters|No tips yet).*", regex=True)
    async def top(self, call: Call, n: int = 3) -> str:
        """The biggest supporters (this stream by default)."""
        return await self.boards.top_line(max(1, min(n, 10)))

    @command("tipname")
    @example("!tipname hide", "Your name will not be shown on stream with your tips.")
    async def tipname(self, call: Call, choice: Literal["hide", "show"]) -> str:
        """Hide (or show again) your name on stream when you tip."""
        if call.viewer is None:
            return "This needs a chat account."
        person = await self.ctx.viewers.get_or_create(call.viewer)
        person.hide_name = choice == "hide"
        await person.save(update_fields=["hide_name"])
        self.people.forget(call.viewer)
        self.boards.mark_dirty()
        if person.hide_name:
            return "Your name will not be shown on stream with your tips."
        return "Your name will be shown on stream with your tips again."

    # -- lifecycle and events --------------------------------------------------------------

    @hookimpl
    async def startup(self) -> None:
        self.intake.start(self.ctx)
        await self.speech.start()
        await self.refunds.start()
        await self.boards.start()
        self.reactions.start()

    @hookimpl
    async def shutdown(self) -> None:
        await self.reactions.stop()
        await self.boards.stop()

    @hookimpl
    async def record_events(self, events: list[Event], tx: Transaction) -> Mapping[int, Written]:
        return await self.recorder.record_events(events, tx)

    @hookimpl
    async def on_event(self, event: Event) -> None:
        await self.reactions.on_event(event)


__all__ = ["TipsPlugin"]
