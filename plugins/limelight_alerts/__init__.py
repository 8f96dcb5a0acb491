"""Limelight's built-in alerts plugin: the default overlays and the platform alerts.

It registers the default theme's overlays (``alerts``, ``chat``, ``leaderboard``, ``goal``,
``ticker``) and turns platform events into alerts on the ``alerts`` overlay: cheers,
subscriptions, gift bombs, raids, donations, merch orders and new memberships. Tips are not
handled here: the tips plugin pushes its own tip alerts after its moderation.

It is written exactly as a third-party plugin would be: only ``from limelight import ...``
and ``ctx``. Configure it under ``[plugins.alerts]``.
"""

from __future__ import annotations

import time
import weakref
from collections import deque
from typing import Any

from limelight import (
    Cheer,
    ConfigModel,
    Donation,
    Event,
    GiftBomb,
    MembershipChanged,
    MerchOrder,
    Overlay,
    PluginConfig,
    Raid,
    Subscription,
    ViewerRef,
    hookimpl,
)

ALERT_TYPES = (
    "cheer",
    "subscription",
    "gift_bomb",
    "raid",
    "donation",
    "merch.order",
    "membership.changed",
)
#: Membership changes that are news worth an alert (a new VIP), not an expiry.
WELCOME_STATUSES = {"granted", "new", "started", "active", "renewed", "upgraded"}
#: How long the gifts of a gift bomb may trail behind it.
GIFT_WINDOW = 120.0


class AlertsConfig(PluginConfig):
    #: Event types that get an alert on the ``alerts`` overlay.
    events: list[str] = list(ALERT_TYPES)
    #: Name shown for anonymous cheers, gifts and donations.
    anonymous_name: str = "Anonymous"
    #: Show the viewer's message (cheer, resub, donation) under the alert text.
    show_messages: bool = True
    #: Smallest cheer (in bits) that gets an alert.
    min_bits: int = 1


OVERLAYS = (
    Overlay(
        "alerts",
        "templates/alerts.html",
        events=(),
        width=1920,
        height=1080,
        title="Alerts",
        description="Tips, cheers, subs, gift bombs, raids, donations, merch, new VIPs.",
    ),
    Overlay(
        "chat",
        "templates/chat.html",
        events=("chat.message", "chat.deleted"),
        width=480,
        height=800,
        title="Chat",
        description="Chat lines that pass gating, with badges; deleted lines vanish.",
    ),
    Overlay(
        "leaderboard",
        "templates/leaderboard.html",
        width=640,
        height=420,
        title="Leaderboard",
        description="Top supporters (add ?board=stream for one).",
    ),
    Overlay(
        "goal",
        "templates/goal.html",
        width=1000,
        height=160,
        title="Goal",
        description="A progress bar with milestones for charity drives and challenges.",
    ),
    Overlay(
        "ticker",
        "templates/ticker.html",
        width=1600,
        height=80,
        title="Ticker",
        description="Countdown and stock line for merch drops.",
    ),
)


@hookimpl
def register_config_model(register: Any) -> None:
    register(ConfigModel(AlertsConfig))


@hookimpl
def register_overlays(register: Any) -> None:
    for overlay in OVERLAYS:
        register(overlay)


class GiftTracker:
    """Twitch announces a gift bomb, then each gifted sub: the bomb gets the one alert."""

    def __init__(self) -> None:
        self._open: deque[list[Any]] = deque()  # [gifter key, gifts left, deadline]

    @staticmethod
    def _key(gifter: ViewerRef | None) -> tuple[str, str]:
        return gifter.key if gifter is not None else ("", "anonymous")

    def bomb(self, gifter: ViewerRef | None, count: int) -> None:
        self._open.append([self._key(gifter), count, time.monotonic() + GIFT_WINDOW])

    def part_of_bomb(self, gifter: ViewerRef | None) -> bool:
        now = time.monotonic()
        while self._open and self._open[0][2] < now:
            self._open.popleft()
        key = self._key(gifter)
        for entry in self._open:
            if entry[0] == key and entry[1] > 0:
                entry[1] -= 1
                return True
        return False


#: One tracker per running server (the plugin context), so test servers never share one.
_trackers: weakref.WeakKeyDictionary[Any, GiftTracker] = weakref.WeakKeyDictionary()


def _name(event: Event, config: AlertsConfig, anonymous: bool = False) -> str:
    if anonymous or event.viewer is None or not event.viewer.name:
        return config.anonymous_name
    return event.viewer.name


def alert_data(
    event: Event, config: AlertsConfig, gifts: GiftTracker | None = None
) -> dict[str, Any] | None:
    """What the ``alerts`` overlay shows for ``event``, or ``None`` for no alert."""
    message = ""
    data: dict[str, Any]
    gifts = gifts if gifts is not None else GiftTracker()
    if isinstance(event, Cheer):
        if event.bits < config.min_bits:
            return None
        data = {
            "name": _name(event, config, event.anonymous),
            "bits": event.bits,
            "amount": str(event.bits),
            "currency": "BITS",
        }
        message = event.message
    elif isinstance(event, Subscription):
        if event.gifted and gifts.part_of_bomb(event.gifter):
            return None
        data = {
            "name": _name(event, config),
            "tier": event.tier,
            "months": event.months,
            "gifted": event.gifted,
        }
        if event.gifted:
            gifter = event.gifter
            data["gifter"] = (
                gifter.name if gifter is not None and gifter.name else config.anonymous_name
            )
        message = event.message
    elif isinstance(event, GiftBomb):
        gifts.bomb(None if event.anonymous else event.viewer, event.count)
        data = {
            "name": _name(event, config, event.anonymous),
            "count": event.count,
            "tier": event.tier,
        }
    elif isinstance(event, Raid):
        data = {"name": _name(event, config), "viewers": event.viewers}
    elif isinstance(event, Donation):
        data = {
            "name": _name(event, config, event.anonymous),
            "amount": event.amount.to_wire(),
            "currency": event.amount.currency,
            "campaign": event.campaign,
        }
        message = event.message
    elif isinstance(event, MerchOrder):
        data = {
            "name": _name(event, config),
            "item": event.item,
            "quantity": event.quantity,
            "amount": event.amount.to_wire(),
            "currency": event.amount.currency,
        }
    elif isinstance(event, MembershipChanged):
        if event.status.lower() not in WELCOME_STATUSES:
            return None
        data = {"name": _name(event, config), "level": event.level, "status": event.status}
    else:
        return None
    if config.show_messages and message:
        data["message"] = message
    return data


@hookimpl
async def on_event(event: Event, ctx: Any) -> None:
    config: AlertsConfig = ctx.config or AlertsConfig()
    if event.type not in config.events or ctx.overlays is None:
        return
    gifts = _trackers.get(ctx)
    if gifts is None:
        gifts = _trackers[ctx] = GiftTracker()
    data = alert_data(event, config, gifts)
    if data is None:
        return
    await ctx.overlays.alert("alerts", kind=event.type, data=data, event=event)
