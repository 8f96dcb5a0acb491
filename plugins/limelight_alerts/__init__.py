"""Limelight's built-in alerts plugin: the default overlays and the platform alerts.

It registers the default overlays (``alerts``, ``chat``, ``leaderboard``, ``goal``,
``ticker``), whose pages and scripts ship in this package (``templates/alerts/``,
``static/``), and turns platform events into alerts on the ``alerts`` overlay: cheers,
subscriptions, gift bombs, raids, donations, merch orders (merch bought as gifts for chat
as a kind of its own, ``merch.gift``) and new memberships. Tips are not handled here: the
tips plugin pushes its own tip alerts (after its moderation) onto the ``alerts`` overlay,
whose ``tip`` kind this plugin declares.

It is written exactly as a third-party plugin would be: one :class:`Plugin` class, only
``from limelight import ...``, state on the instance. Configure it under
``[plugins.alerts]``; how its alerts look under ``[overlays.alerts]``.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path

from limelight import (
    AlertKind,
    Cheer,
    Donation,
    Event,
    GiftBomb,
    MembershipChanged,
    MerchOrder,
    Overlay,
    Plugin,
    PluginConfig,
    Raid,
    Register,
    Subscription,
    ViewerRef,
    hookimpl,
    parse_placed,
)

#: What one alert carries to the page (JSON: text, numbers, flags, the message's fragments).
AlertData = dict[str, str | int | bool | list[dict[str, str]]]

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
WELCOME_STATUSES = frozenset({"granted", "new", "started", "active", "renewed", "upgraded"})
#: How long the gifts of a gift bomb may trail behind it, in seconds.
GIFT_WINDOW = 120.0
#: The overlay this plugin's alerts go to.
ALERTS = "alerts"
#: The built-in text of a merch order's alert.
MERCH_TEXT = "{name} bought {item}!"
#: Merch bought as gifts for chat (a Fourthwall gift purchase) is its own kind of alert,
#: designed apart from orders: "50 hoodies for chat" is a different moment from "bought a
#: hoodie", and the alert editor can test it with its own sample.
GIFT_KIND = "merch.gift"
GIFT_TEXT = "{name} gifted {quantity}\u00d7 {item} to chat!"
#: Kinds that show another kind's picture and play its sound in the default theme (a gift
#: for chat: the gift bombs' box and chime).
SHARED_MEDIA = {GIFT_KIND: "gift_bomb"}


class AlertsConfig(PluginConfig):
    #: Event types that get an alert on the ``alerts`` overlay.
    events: list[str] = list(ALERT_TYPES)
    #: Name shown for anonymous cheers, gifts and donations.
    anonymous_name: str = "Anonymous"
    #: Show the viewer's message (cheer, resub, donation) under the alert text.
    show_messages: bool = True
    #: Smallest cheer (in bits) that gets an alert.
    min_bits: int = 1
    #: Play the default theme's picture per alert kind (an animated SVG) when a variation
    #: names none.
    default_images: bool = True
    #: Play the default theme's sound per alert kind (a short chime) when a variation
    #: names none.
    default_sounds: bool = True


#: The kinds of alert the ``alerts`` overlay plays: the built-in text of each (used when no
#: ``[[overlays.alerts.variations]]`` entry matches) and the data of a dashboard test alert.
ALERT_KINDS = (
    AlertKind(
        "tip",
        "{name} tipped {amount}!",
        {"name": "Test Viewer", "amount": "5.00", "currency": "USD", "message": "A test alert."},
    ),
    AlertKind(
        "cheer", "{name} cheered {bits} bits!", {"name": "Test Viewer", "bits": 100, "message": ""}
    ),
    AlertKind(
        "subscription", "{name} subscribed!", {"name": "Test Viewer", "tier": "1000", "months": 3}
    ),
    AlertKind(
        "gift_bomb",
        "{name} gifted {count} subs!",
        {"name": "Test Viewer", "count": 5, "tier": "1000"},
    ),
    AlertKind(
        "raid", "{name} is raiding with {viewers} viewers!", {"name": "Test Viewer", "viewers": 42}
    ),
    AlertKind(
        "donation",
        "{name} donated {amount}!",
        {
            "name": "Test Viewer",
            "amount": "10.00",
            "currency": "USD",
            "message": "For a good cause",
            "campaign": "Test campaign",
        },
    ),
    AlertKind(
        "merch.order",
        MERCH_TEXT,
        {
            "name": "Test Viewer",
            "item": "Test T-shirt",
            "quantity": 1,
            "amount": "25.00",
            "currency": "USD",
        },
    ),
    AlertKind(
        GIFT_KIND,
        GIFT_TEXT,
        {
            "name": "Test Viewer",
            "item": "Test T-shirt",
            "quantity": 5,
            "amount": "125.00",
            "currency": "USD",
            "gift": True,
        },
        label="Gift for chat",
    ),
    AlertKind(
        "membership.changed",
        "{name} is now {level}!",
        {"name": "Test Viewer", "level": "VIP", "status": "granted"},
    ),
)
#: The goal overlay plays milestone alerts ("25% reached!") over its bar.
GOAL_KINDS = (AlertKind("milestone", "{title}", {"title": "Halfway there!"}),)


#: This plugin's overlays, each page shipped as ``alerts/<name>.html``
#: (:meth:`AlertsPlugin._template` settles a theme's override under its old name).
PAGES = (
    Overlay(
        ALERTS,
        "alerts/alerts.html",
        title="Alerts",
        description="Tips, cheers, subs, gift bombs, raids, donations, merch, new VIPs.",
        alerts=ALERT_KINDS,
    ),
    Overlay(
        "chat",
        "alerts/chat.html",
        events=("chat.message", "chat.deleted"),
        width=480,
        height=800,
        title="Chat",
        description="Chat lines that pass gating, with badges; deleted lines vanish.",
    ),
    Overlay(
        "leaderboard",
        "alerts/leaderboard.html",
        width=640,
        height=420,
        title="Leaderboard",
        description="Top supporters (add ?board=stream for one).",
    ),
    Overlay(
        "goal",
        "alerts/goal.html",
        width=1000,
        height=160,
        title="Goal",
        description="A progress bar with milestones for charity drives and challenges.",
        alerts=GOAL_KINDS,
    ),
    Overlay(
        "ticker",
        "alerts/ticker.html",
        width=1600,
        height=80,
        title="Ticker",
        description="Countdown and stock line for merch drops.",
    ),
)


@dataclass
class _OpenBomb:
    gifter: tuple[str, str, bool]
    left: int
    deadline: float


class GiftTracker:
    """Twitch announces a gift bomb, then each gifted sub: the bomb gets the one alert.

    Test events only pair with test bombs, so a simulated bomb never swallows real gifts."""

    def __init__(self) -> None:
        self._open: deque[_OpenBomb] = deque()

    @staticmethod
    def _key(gifter: ViewerRef | None, test: bool) -> tuple[str, str, bool]:
        platform, user = gifter.key if gifter is not None else ("", "anonymous")
        return (platform, user, test)

    def bomb(self, gifter: ViewerRef | None, count: int, test: bool = False) -> None:
        self._open.append(_OpenBomb(self._key(gifter, test), count, time.monotonic() + GIFT_WINDOW))

    def part_of_bomb(self, gifter: ViewerRef | None, test: bool = False) -> bool:
        now = time.monotonic()
        while self._open and self._open[0].deadline < now:
            self._open.popleft()
        key = self._key(gifter, test)
        for entry in self._open:
            if entry.gifter == key and entry.left > 0:
                entry.left -= 1
                return True
        return False


class AlertsPlugin(Plugin[AlertsConfig]):
    """The default overlays, and an alert on the ``alerts`` overlay per platform event."""

    config_model = AlertsConfig

    def __init__(self) -> None:
        super().__init__()
        self.gifts = GiftTracker()

    # -- registration ---------------------------------------------------------------------

    @hookimpl
    def register_overlays(self, register: Register[Overlay]) -> None:
        for page in PAGES:
            kinds = tuple(self._with_media(kind) for kind in page.alerts)
            register(replace(page, template=self._template(page), alerts=kinds))

    def _with_media(self, kind: AlertKind) -> AlertKind:
        """``kind`` with the default theme's picture and sound (our own files in
        ``static/art/`` and ``static/sounds/``), unless the streamer turned them off."""
        media = SHARED_MEDIA.get(kind.kind, kind.kind)
        image = (
            f"/-/static-plugins/{self.name}/art/{media}.svg" if self.config.default_images else ""
        )
        sound = (
            f"/-/static-plugins/{self.name}/sounds/{media}.wav"
            if self.config.default_sounds
            else ""
        )
        return replace(kind, image=image, sound=sound)

    def _template(self, page: Overlay) -> str:
        """``alerts/<page>.html``; or, when the streamer's ``theme_dir`` overrides the page
        under the name it had in the default theme (``templates/<page>.html``), that file,
        so a theme written before the pages moved into this plugin keeps working."""
        template = page.template
        theme_dir = self.ctx.settings.overlays.theme_dir
        if not theme_dir:
            return template
        folder = Path(theme_dir)
        if not folder.is_absolute():
            folder = self.ctx.settings.base_dir / folder
        legacy = f"templates/{page.name}.html"
        if not (folder / legacy).is_file():
            return template
        self.ctx.log.warning(
            "%s overrides the %s overlay under its old name; rename it to %s (its scripts "
            "and styles now live at /-/static-plugins/%s/)",
            folder / legacy,
            page.name,
            folder / template,
            self.name,
        )
        return legacy

    # -- events ---------------------------------------------------------------------------

    @hookimpl
    async def on_event(self, event: Event) -> None:
        if event.type not in self.config.events:
            return
        data = self.alert_data(event)
        if data is None:
            return
        kind = GIFT_KIND if isinstance(event, MerchOrder) and event.gift else event.type
        await self.ctx.overlays.alert(ALERTS, kind=kind, data=data, event=event)

    def _name(self, event: Event, anonymous: bool = False) -> str:
        if anonymous or event.viewer is None or not event.viewer.name:
            return self.config.anonymous_name
        return event.viewer.name

    def alert_data(self, event: Event) -> AlertData | None:
        """What the ``alerts`` overlay shows for ``event``, or ``None`` for no alert.

        Amounts go out as wire decimals (``amount`` + ``currency``, which variation tiers
        compare) and as ``display_amount``, formatted by the one money formatter in the
        streamer's locale (``$250.00``), which ``{amount}`` in an alert text reads."""
        config = self.config
        message = ""
        data: AlertData
        if isinstance(event, Cheer):
            if event.bits < config.min_bits:
                return None
            data = {
                "name": self._name(event, event.anonymous),
                "bits": event.bits,
                "amount": str(event.bits),
                "currency": "BITS",
            }
            message = event.message
        elif isinstance(event, Subscription):
            if event.gifted and self.gifts.part_of_bomb(event.gifter, event.test):
                return None
            data = {
                "name": self._name(event),
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
            self.gifts.bomb(None if event.anonymous else event.viewer, event.count, event.test)
            data = {
                "name": self._name(event, event.anonymous),
                "count": event.count,
                "tier": event.tier,
            }
        elif isinstance(event, Raid):
            data = {"name": self._name(event), "viewers": event.viewers}
        elif isinstance(event, Donation):
            data = {
                "name": self._name(event, event.anonymous),
                "amount": event.amount.to_wire(),
                "currency": event.amount.currency,
                "display_amount": self.ctx.money(event.amount),
                "campaign": event.campaign,
            }
            message = event.message
        elif isinstance(event, MerchOrder):
            data = {
                "name": self._name(event),
                "item": event.item_name or event.item,  # the product's name, not its SKU
                "quantity": event.quantity,
                "amount": event.amount.to_wire(),
                "currency": event.amount.currency,
                "display_amount": self.ctx.money(event.amount),
                "gift": event.gift,
            }
        elif isinstance(event, MembershipChanged):
            if event.status.lower() not in WELCOME_STATUSES or not event.alert:
                return None
            data = {
                "name": self._name(event),
                "level": event.label or event.level,
                "tier": event.level,
                "status": event.status,
            }
        else:
            return None
        if config.show_messages and message:
            data["message"] = message
            # The message as the page draws it: cheermotes ("Cheer100") and the emotes
            # plugins register as pictures, the rest as text.
            placed = parse_placed(event.emotes, message) if isinstance(event, Cheer) else []
            data["message_fragments"] = [
                {str(k): str(v) for k, v in f.items()}
                for f in self.ctx.emotes.split(message, event.viewer, placed)
            ]
        return data


__all__ = ["AlertsConfig", "AlertsPlugin", "GiftTracker"]
