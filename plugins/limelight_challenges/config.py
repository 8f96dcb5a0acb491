"""``[plugins.challenges]``: the currency money metrics count in, conversion rates, the
time zone windows follow, and challenges to start with (the dashboard edits them later)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limelight import MilestoneSpec, PluginConfig
from limelight.milestones import Action
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

WINDOWS = ("stream", "day", "week", "month", "dates")
AUDIENCES = ("creator", "viewer")
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")


class ChallengeSettings(BaseModel):
    """One challenge: what it counts, towards what, over which window, and what it gives.

    Used for ``[[plugins.challenges.challenges]]`` and for the dashboard's form alike."""

    model_config = ConfigDict(extra="forbid")

    #: A short unique name (letters, digits, ``-``, ``_``): how the config and the
    #: dashboard know it is the same challenge.
    key: str
    title: str = Field(min_length=1, max_length=200)
    #: What it counts (see docs/challenges.md for the list; plugins add their own).
    metric: str = Field(min_length=1, max_length=80)
    #: The goal, in the metric's unit: cents for money, minutes, messages, members...
    target: int = Field(ge=1)
    window: Literal["stream", "day", "week", "month", "dates"] = "week"
    #: For ``window = "dates"``: when it starts and ends.
    starts: datetime | None = None
    ends: datetime | None = None
    #: Start again by itself in the next window (not for ``dates``).
    recurring: bool = True
    audience: Literal["creator", "viewer"] = "creator"
    milestones: list[MilestoneSpec] = []
    #: Actions when the target is reached: a badge for every contributor, a chat line...
    rewards: list[Action] = []
    paused: bool = False
    #: On the ``challenges`` progress overlay.
    show: bool = True

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not _KEY.match(value):
            raise ValueError("key must be lower-case letters, digits, - and _ (1-80)")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ChallengeSettings:
        if self.window == "dates":
            if self.starts is None or self.ends is None:
                raise ValueError('window "dates" needs starts and ends')
            if self.starts.tzinfo is None or self.ends.tzinfo is None:
                raise ValueError("starts and ends need a time zone (2026-12-01T00:00:00Z)")
            if self.ends <= self.starts:
                raise ValueError("ends must be after starts")
            self.recurring = False
        ats = [m.at for m in self.milestones]
        if len(ats) != len(set(ats)):
            raise ValueError("two milestones at the same value")
        if any(at > self.target for at in ats):
            raise ValueError("a milestone is beyond the target")
        return self


class ChallengesConfig(PluginConfig):
    #: The currency money metrics (tips, donations) count in, in its minor unit (cents).
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$")
    #: Money in other currencies: how many units of ``currency`` one unit is worth
    #: (``{USD = "0.92"}``). Money in a currency with no rate is not counted (logged).
    rates: dict[str, Decimal] = {}
    #: The time zone day, week and month windows follow.
    timezone: str = "UTC"
    #: The first day of a week window.
    week_starts: Literal["monday", "sunday"] = "monday"
    #: Say in chat when a challenge is completed.
    announce: bool = True
    #: The chat line for it (``{challenge}``, ``{total}``, ``{target}``, and ``{progress}``:
    #: "$210.00 of $200.00", "50 of 50 chatters", a count's unit named once).
    announce_text: str = "Challenge complete: {challenge} ({progress})!"
    #: Challenges to start with; the dashboard can edit, pause and add more.
    challenges: list[ChallengeSettings] = []

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("rates")
    @classmethod
    def _rates(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for code, rate in value.items():
            if not re.match(r"^[A-Z]{3}$", code) or not rate > 0:
                raise ValueError(f"rates.{code}: a currency code and a positive rate")
        return value

    @model_validator(mode="after")
    def _unique_keys(self) -> ChallengesConfig:
        keys = [c.key for c in self.challenges]
        if len(keys) != len(set(keys)):
            raise ValueError("two challenges with the same key")
        return self
