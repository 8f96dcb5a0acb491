"""``[plugins.vip]``: tiers, the sources that grant them, supporter levels and members-only chat.

With no table at all the plugin runs on these defaults: one tier per Twitch sub tier
(``tier1``/``tier2``/``tier3``), so a streamer sees member badges from the first sub. Tiers
edited in the dashboard are stored in the database and win over the config (the config
is the starting point and the reset).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from limelight import Money, PluginConfig
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Perk = Literal["emotes", "room", "content", "members_only_chat", "early_access"]
PERKS: tuple[str, ...] = ("emotes", "room", "content", "members_only_chat", "early_access")
TIER_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
#: Twitch sub tiers as the platform names them (Prime counts as tier 1).
TWITCH_TIERS = ("1000", "2000", "3000")


def money_of(amount: Any, currency: str, where: str) -> Money:
    """A strict positive amount (``"5.00"``) in an ISO currency, or a clear ValueError."""
    if isinstance(amount, float):
        amount = repr(amount)
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        raise ValueError(f"{where}: {amount!r} is not an amount such as 5.00") from None
    try:
        return Money.parse_positive(str(value), currency.strip().upper(), iso_only=True)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


class TierConfig(BaseModel):
    """One ``[[plugins.vip.tiers]]`` entry."""

    model_config = ConfigDict(extra="forbid")

    #: The tier's id: lowercase letters, digits, ``-``/``_`` (``gold``).
    name: str
    #: What viewers read ("Gold").
    label: str = ""
    #: ``#rrggbb``: badge text colour, wall accent.
    colour: str = "#9146ff"
    #: The badge beside a member's name: an uploaded image (``/-/uploads/...``) or a
    #: short text/emoji ("★").
    badge: str = "★"
    #: Perks: emotes, room, content, members_only_chat, early_access.
    perks: list[Perk] = ["emotes", "members_only_chat"]
    #: Members' chat lines stand out in the chat overlay.
    highlight: bool = False
    #: The Twitch sub tier that grants it (``1000``, ``2000``, ``3000``); "" for none.
    twitch_tier: str = ""
    #: The Ko-fi membership tier name that grants it (``tier_name``); "" = the label.
    kofi_tier: str = ""
    #: The Fourthwall membership tier id that grants it (a membership event's
    #: ``subscription.variant.tierId``); "" for none.
    fourthwall_tier: str = ""
    #: Sold directly: the price per period (shown on the join page) ...
    price: str = ""
    currency: str = ""
    period: Literal["month", "year"] = "month"
    #: ... and the Stripe Payment Link (a recurring price) the join page leads to.
    stripe_payment_link: str = ""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not TIER_NAME.match(value):
            raise ValueError(f"tier name {value!r} must be 1-40 lowercase letters, digits, - or _")
        return value

    @field_validator("colour")
    @classmethod
    def _colour(cls, value: str) -> str:
        if not COLOUR.match(value):
            raise ValueError(f"colour {value!r} must be #rrggbb")
        return value.lower()

    @field_validator("twitch_tier")
    @classmethod
    def _twitch(cls, value: str) -> str:
        if value and value not in TWITCH_TIERS:
            raise ValueError(f"twitch_tier must be one of {', '.join(TWITCH_TIERS)} or empty")
        return value

    @field_validator("fourthwall_tier")
    @classmethod
    def _fourthwall(cls, value: str) -> str:
        """Stripped: an id pasted with a space around it must still match."""
        return value.strip()

    @field_validator("badge")
    @classmethod
    def _badge(cls, value: str) -> str:
        if value.startswith("/") and not value.startswith("//"):
            return value
        if "://" in value or len(value) > 8:
            raise ValueError(
                "badge must be an image on this server (/-/uploads/...) or a short text"
            )
        return value

    @property
    def price_money(self) -> Money | None:
        """The price per period of a tier sold here; ``None`` for one that is not."""
        return (
            money_of(self.price, self.currency, f"tier {self.name} price") if self.price else None
        )

    @model_validator(mode="after")
    def _price(self) -> TierConfig:
        if not self.label:
            self.label = self.name.replace("_", " ").replace("-", " ").title()
        if self.price:
            money_of(self.price, self.currency, f"tier {self.name} price")
        if self.stripe_payment_link and not self.stripe_payment_link.startswith("https://"):
            raise ValueError(f"tier {self.name}: stripe_payment_link must be an https:// URL")
        return self


def default_tiers() -> list[TierConfig]:
    """Twitch's three sub tiers, so badges show from the first sub with no config."""
    return [
        TierConfig(name="tier1", label="Subscriber", badge="★", twitch_tier="1000"),
        TierConfig(name="tier2", label="Tier 2", badge="★★", colour="#1f69ff", twitch_tier="2000"),
        TierConfig(
            name="tier3",
            label="Tier 3",
            badge="★★★",
            colour="#f5a623",
            twitch_tier="3000",
            highlight=True,
        ),
    ]


class PurchaseRule(BaseModel):
    """``[[plugins.vip.purchases]]``: a tip of at least ``min_amount`` gives ``tier`` for
    ``days`` days."""

    model_config = ConfigDict(extra="forbid")

    min_amount: str
    currency: str
    tier: str
    days: int = Field(30, ge=1, le=3660)

    @model_validator(mode="after")
    def _check(self) -> PurchaseRule:
        money_of(self.min_amount, self.currency, "purchases min_amount")
        return self

    @property
    def minimum(self) -> Money:
        return money_of(self.min_amount, self.currency, "purchases min_amount")


class SupporterLevel(BaseModel):
    """``[[plugins.vip.supporter_levels]]``: a tip of at least ``min_amount`` gives a level
    badge for the rest of the stream (``days = 0``) or ``days`` days."""

    model_config = ConfigDict(extra="forbid")

    name: str
    label: str = ""
    min_amount: str
    currency: str
    badge: str = "♥"
    colour: str = "#ff4f8b"
    days: int = Field(0, ge=0, le=3660)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not TIER_NAME.match(value):
            raise ValueError(f"level name {value!r} must be lowercase letters, digits, - or _")
        return value

    @model_validator(mode="after")
    def _check(self) -> SupporterLevel:
        money_of(self.min_amount, self.currency, f"supporter level {self.name} min_amount")
        if not self.label:
            self.label = self.name.title()
        if not COLOUR.match(self.colour):
            raise ValueError(f"supporter level {self.name}: colour must be #rrggbb")
        return self

    @property
    def minimum(self) -> Money:
        return money_of(self.min_amount, self.currency, "min_amount")


class ScheduledWindow(BaseModel):
    """``[[plugins.vip.members_only.schedule]]``: members-only chat at a cron time."""

    model_config = ConfigDict(extra="forbid")

    #: Five-field cron (``"0 20 * * fri"``), in the server's time zone (UTC by default).
    cron: str
    minutes: int = Field(10, ge=1, le=24 * 60)

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"cron {value!r}: {exc}") from None
        return value


class MembersOnly(BaseModel):
    """``[plugins.vip.members_only]``: windows of members-only chat."""

    model_config = ConfigDict(extra="forbid")

    #: Tiers that may talk while a window is open; empty = tiers with the
    #: ``members_only_chat`` perk (any member when no tier has it).
    tiers: list[str] = []
    #: Also enforce it on Twitch: ``subscriber_mode`` (Helix chat settings) or ``delete``
    #: (each hidden line is deleted through Helix moderation); ``none`` hides lines from
    #: the overlays only.
    enforce: Literal["none", "subscriber_mode", "delete"] = "none"
    #: Said (at most once per ``notice_cooldown`` seconds) when a non-member talks.
    notice: str = "Chat is members-only right now ({tiers}). Join with {join} to talk here."
    notice_cooldown: int = Field(60, ge=5, le=3600)
    #: Said when a window opens and closes ("" for silence).
    opened: str = "Chat is members-only for {minutes} minutes."
    closed: str = "Chat is open to everyone again."
    #: Scheduled windows.
    schedule: list[ScheduledWindow] = []
    #: OBS scenes that open a window while active: {"Members Q&A" = 15} (minutes).
    obs_scenes: dict[str, int] = {}


class VipConfig(PluginConfig):
    """``[plugins.vip]`` — every key is documented in config.example.toml and docs/vip.md."""

    #: The tiers, lowest rank first (see :class:`TierConfig`).
    tiers: list[TierConfig] = Field(default_factory=default_tiers)
    #: Days one Twitch sub or resub event makes a viewer a member (renewals extend it).
    twitch_sub_days: int = Field(31, ge=1, le=400)
    #: Days a Ko-fi membership payment lasts.
    kofi_days: int = Field(31, ge=1, le=400)
    #: Extra days after a Stripe period ends (Stripe retries failed renewals for days).
    grace_days: int = Field(3, ge=0, le=30)
    #: One-off purchase rules and supporter levels (see the classes above).
    purchases: list[PurchaseRule] = []
    supporter_levels: list[SupporterLevel] = []
    #: Warn a member in chat a day before a membership with an end runs out.
    warn_before_expiry: bool = True
    warning: str = "@{name} your {tier} membership ends in a day ({ends}). {join}"
    #: Thanks in chat for a new membership ("" for none).
    welcome: str = "Welcome to {tier}, {name}! Perks: {perks}"
    #: Where viewers learn how to join (a page of yours); "" = the !vip join links.
    join_url: str = ""
    #: Minutes a personal join link stays valid; days its code still attributes a payment.
    link_ttl_minutes: int = Field(60, ge=1, le=7 * 24 * 60)
    code_ttl_days: int = Field(30, ge=1, le=365)
    #: Key that signs join links; empty = derived from [security] admin_token.
    link_secret: str = ""
    #: Ko-fi page for memberships (https://ko-fi.com/<you>/tiers).
    kofi_page: str = ""
    #: The overlay the members wall registers as, and how many names it shows.
    wall_limit: int = Field(12, ge=1, le=50)
    members_only: MembersOnly = Field(default_factory=MembersOnly)

    @model_validator(mode="after")
    def _check(self) -> VipConfig:
        names = [t.name for t in self.tiers]
        if not names:
            raise ValueError("tiers: at least one tier is needed")
        if len(set(names)) != len(names):
            raise ValueError("tiers: two tiers have the same name")
        twitch = [t.twitch_tier for t in self.tiers if t.twitch_tier]
        if len(set(twitch)) != len(twitch):
            raise ValueError("tiers: two tiers map the same twitch_tier")
        fourthwall = [t.fourthwall_tier for t in self.tiers if t.fourthwall_tier]
        if len(set(fourthwall)) != len(fourthwall):
            raise ValueError("tiers: two tiers map the same fourthwall_tier")
        for rule in self.purchases:
            if rule.tier not in names:
                raise ValueError(f"purchases: unknown tier {rule.tier!r}")
        for name in self.members_only.tiers:
            if name not in names:
                raise ValueError(f"members_only.tiers: unknown tier {name!r}")
        levels = [lv.name for lv in self.supporter_levels]
        if len(set(levels)) != len(levels):
            raise ValueError("supporter_levels: two levels have the same name")
        return self
