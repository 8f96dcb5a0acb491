"""Tips: Ko-fi, Stripe and signed-webhook providers, an exactly-once ledger, and reactions.

A viewer tips; the provider's webhook is verified, and the event, its ledger row and its
alert are committed together before the provider is answered (``record_events``); then this
plugin thanks the viewer in chat and moves the leaderboard (``on_event``). Chat commands:
``!tip`` (a personal tip link) and ``!top`` (top supporters), ``!tipname`` (hide or show
your name on stream).

Written against the public plugin API only; see docs/tips.md for the streamer's guide.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from limelight import (
    ConfigModel,
    Event,
    Models,
    Overlay,
    Route,
    Transaction,
    WebhookProvider,
    command,
    example,
    hookimpl,
)

from .config import TipsConfig, table_problems
from .providers import generic, kofi, stripe
from .runtime import TTS_OVERLAY, Runtime
from .web import routes

__version__ = "0.1.0"

runtime = Runtime()


@hookimpl
def register_config_model(register: Callable[[ConfigModel], None]) -> None:
    register(ConfigModel(TipsConfig))


@hookimpl
def register_models(register: Callable[[Models], None]) -> None:
    register(Models("tips", "limelight_tips.models", "limelight_tips.migrations"))


def _provider(module: Any) -> WebhookProvider:
    async def handle(request: Any, body: bytes) -> list[Event]:
        return await module.handle(runtime, request, body)

    return WebhookProvider(
        module.NAME,
        handle,
        max_body=module.MAX_BODY,
        check_config=lambda table: table_problems(module.NAME, table),
    )


@hookimpl
def register_webhook_providers(register: Callable[[WebhookProvider], None]) -> None:
    for module in (kofi, stripe, generic):
        register(_provider(module))


@hookimpl
def register_routes(register: Callable[[Route], None]) -> None:
    for route in routes(runtime):
        register(route)


@hookimpl
def register_overlays(register: Callable[[Overlay], None]) -> None:
    register(
        Overlay(
            TTS_OVERLAY,
            "tips/tts.html",
            events=(),
            width=400,
            height=100,
            title="Tip messages read aloud",
            description="Browser speech for approved tip messages; off unless "
            "[plugins.tips] tts = true. The dashboard has a kill switch.",
        )
    )


@command("tip", aliases=("donate",), user_cooldown=10)
@example(
    "!tip",
    r"Tip here: https?://\S+/p/tips/go/\S+ \(your code LL-[A-Z0-9]{8}, "
    r"valid \d+ min\)",
    regex=True,
)
async def tip(ctx: Any, call: Any) -> str:
    """A personal tip link, so your tip counts for you here in chat."""
    if call.viewer is None:
        return "Tip links need a chat account."
    if runtime.links is None or not (
        runtime.config.stripe_payment_link or runtime.config.kofi_page
    ):
        return "Tipping is not set up here yet."
    link = await runtime.tip_link(call.viewer)
    token = link.rsplit("/", 1)[-1]
    code = token.split(".", 1)[0]
    minutes = runtime.config.link_ttl_minutes
    return f"Tip here: {link} (your code LL-{code}, valid {minutes} min)"


@command("top", aliases=("leaders",), cooldown=5)
@example("!top", r"(Top supporters|No tips yet).*", regex=True)
async def top(ctx: Any, call: Any, n: int = 3) -> str:
    """The biggest supporters (this stream by default)."""
    return await runtime.top_line(max(1, min(n, 10)))


@command("tipname")
@example("!tipname hide", "Your name will not be shown on stream with your tips.")
async def tipname(ctx: Any, call: Any, choice: Literal["hide", "show"]) -> str:
    """Hide (or show again) your name on stream when you tip."""
    person = await ctx.viewers.get_or_create(call.viewer)
    person.hide_name = choice == "hide"
    await person.save(update_fields=["hide_name"])
    runtime.forget_person(call.viewer)
    runtime.mark_dirty()
    if person.hide_name:
        return "Your name will not be shown on stream with your tips."
    return "Your name will be shown on stream with your tips again."


@hookimpl
def register_commands(register: Callable[[Any], None]) -> None:
    for cmd in (tip, top, tipname):
        register(cmd)


@hookimpl
async def startup(ctx: Any) -> None:
    await runtime.start(ctx)


@hookimpl
async def shutdown(ctx: Any) -> None:
    await runtime.stop()


@hookimpl
async def record_events(events: list[Event], tx: Transaction) -> None:
    await runtime.record_events(events, tx)


@hookimpl
async def on_event(event: Event, ctx: Any) -> None:
    await runtime.on_event(event)
