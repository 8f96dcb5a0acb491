"""The charity plugin's settings: ``[plugins.charity]``, its campaigns and ``[webhooks.tiltify]``.

A campaign is validated by the same model whether it comes from the config file or from
the dashboard (:class:`CampaignSpec`), so a campaign the dashboard saves can never hold what
the config would refuse. ``[webhooks]`` is free-form in the core; the ``tiltify`` table is
validated here with messages that name the key and never echo the secret.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from limelight import Money, PluginConfig
from limelight.milestones import MilestoneSpec
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,59}$")


def currency_code(value: str, where: str) -> str:
    code = value.strip().upper()
    try:
        Money(0, code)
    except ValueError:
        raise ValueError(
            f"{where}: unknown currency {value!r} (expected an ISO 4217 code)"
        ) from None
    if code == "BITS":
        raise ValueError(f"{where}: BITS is not a currency a campaign can count in")
    return code


def _rate(value: Any, where: str) -> Decimal:
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{where}: {value!r} is not a number") from None
    if not number.is_finite() or number <= 0:
        raise ValueError(f"{where}: {value!r} must be a number greater than zero")
    return number


class CampaignSpec(BaseModel):
    """One campaign (``[[plugins.charity.campaigns]]`` or the dashboard's form)."""

    model_config = ConfigDict(extra="forbid")

    #: Short name used in URLs and overlays (lower-case letters, digits, dashes).
    id: str
    #: What the overlay and !goal call it.
    title: str = Field(min_length=1, max_length=200)
    #: The nonprofit's name and the page where viewers donate (!donate links it).
    cause: str = Field(min_length=1, max_length=200)
    cause_url: str = Field(min_length=1, max_length=500)
    #: The goal, in major units of ``currency`` ("1000.00").
    goal: str
    currency: str
    #: The window: donations (and tips, with count_tips) between these count.
    starts_at: datetime
    ends_at: datetime
    #: Units of ``currency`` for one unit of another currency: {USD = "0.92"}.
    rates: dict[str, Decimal] = {}
    #: Tiltify's campaign id: Tiltify donations carrying it count here.
    tiltify_campaign_id: str = Field("", max_length=100)
    #: The ladder: ``at`` in minor units of ``currency``.
    milestones: list[MilestoneSpec] = []

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.fullmatch(value):
            raise ValueError(
                "id: use lower-case letters, digits and dashes (at most 60), e.g. 'wwf-2026'"
            )
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return currency_code(value, "currency")

    @field_validator("cause_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s<>\"']+$", value):
            raise ValueError("cause_url must be an http(s) address")
        return value

    @field_validator("starts_at", "ends_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    @field_validator("rates", mode="before")
    @classmethod
    def _rates(cls, value: Any) -> dict[str, Decimal]:
        if not isinstance(value, dict):
            raise ValueError('rates must be a table such as {USD = "0.92"}')
        return {
            currency_code(str(k), f"rates.{k}"): _rate(v, f"rates.{k}") for k, v in value.items()
        }

    @model_validator(mode="after")
    def _check(self) -> CampaignSpec:
        try:
            goal = Money.parse_positive(self.goal, self.currency, iso_only=True)
        except ValueError as exc:
            raise ValueError(f"goal: {exc}") from None
        self.goal = goal.to_wire()
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        ats = [m.at for m in self.milestones]
        if len(set(ats)) != len(ats):
            raise ValueError("milestones: two milestones share the same 'at'")
        if any(at <= 0 for at in ats):
            raise ValueError("milestones: 'at' must be greater than zero (minor units)")
        return self

    @property
    def goal_money(self) -> Money:
        return Money.parse(self.goal, self.currency)


class CharityConfig(PluginConfig):
    """``[plugins.charity]`` — every key is in config.example.toml and docs/charity.md."""

    #: Count tips (the tips plugin) made during a campaign towards it.
    count_tips: bool = False
    #: Count Twitch Charity donations (EventSub, the twitch plugin) towards the campaign
    #: running when they arrive.
    count_twitch: bool = True
    #: The name shown for donors who asked not to be named.
    anonymous_name: str = Field("Anonymous", max_length=60)
    #: How many recent donors the campaign overlay lists.
    recent_donors: int = Field(5, ge=0, le=20)
    #: How many donors the donor wall shows.
    wall_size: int = Field(30, ge=1, le=200)
    #: !donate and !goal replies; {title}, {cause}, {link}, {raised}, {goal}, {percent},
    #: {left} are filled in.
    donate_template: str = "Donate to {cause} for {title}: {link}"
    goal_template: str = "{title}: {raised} of {goal} raised ({percent}%) for {cause}, {left}."
    #: Thank donors in chat; {name}, {amount}, {title} are filled in. Empty: no thanks.
    thanks_template: str = "Thank you {name} for donating {amount} to {title}!"
    #: Days after a campaign's end its donors keep the "I donated" badge.
    badge_days: int = Field(30, ge=0, le=3650)
    #: The overlay donation alerts play on (variations: [[overlays.charity.variations]]
    #: with event = "charity.donation"); empty: no alert from this plugin.
    alert_overlay: str = "charity"
    #: Campaigns written in the config (the dashboard adds more).
    campaigns: list[CampaignSpec] = []

    @model_validator(mode="after")
    def _unique(self) -> CharityConfig:
        ids = [c.id for c in self.campaigns]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"campaigns: id {dupes[0]!r} is used twice")
        return self


class TiltifyWebhook(BaseModel):
    """``[webhooks.tiltify]``: the webhook signing key Tiltify shows for the endpoint."""

    model_config = ConfigDict(extra="forbid")

    secret: str = Field(min_length=1)
    #: Seconds a delivery's X-Tiltify-Timestamp may be away from this server's clock.
    tolerance: int = Field(300, ge=30, le=86400)


def tiltify_problems(table: dict[str, Any]) -> list[str]:
    """What is wrong with ``[webhooks.tiltify]`` (for doctor and startup), never a value."""
    try:
        TiltifyWebhook.model_validate(table)
    except ValidationError as exc:
        return [
            f"[webhooks.tiltify] {'.'.join(str(p) for p in err['loc']) or 'table'}: {err['msg']}"
            for err in exc.errors(include_input=False)
        ]
    return []
