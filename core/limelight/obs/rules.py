"""Rules in config that turn events into OBS actions, in a form a streamer can read::

    [[obs.rules]]
    on = "tip"
    min_amount = "10.00"
    currency = "USD"
    action = "switch_scene"
    scene = "Big Tip"
    duration = 8

Rules are validated when the config is loaded (a typo fails ``limelight run`` and
``limelight doctor`` with the rule's number and what is missing), so a wrong rule is never
found out in the middle of a stream.

This module only imports pydantic, money and events: :mod:`limelight.config` imports it.
"""

from __future__ import annotations

import dataclasses
import string
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from ..events import EVENT_TYPES, Cheer, CustomEvent, Event, GiftBomb, Raid, event_type_name
from ..money import BITS, Money, MoneyError
from ..text import fill

ActionName = Literal[
    "switch_scene",
    "show_source",
    "hide_source",
    "set_text",
    "set_source_settings",
    "restart_media",
    "enable_filter",
    "disable_filter",
]

#: What each action needs besides ``action`` (checked at load time).
REQUIRED: dict[str, tuple[str, ...]] = {
    "switch_scene": ("scene",),
    "show_source": ("source",),
    "hide_source": ("source",),
    "set_text": ("source", "text"),
    "set_source_settings": ("source", "settings"),
    "restart_media": ("source",),
    "enable_filter": ("source", "filter"),
    "disable_filter": ("source", "filter"),
}
#: Actions that can be held for ``duration`` seconds and then undone.
TIMED = ("switch_scene", "show_source", "hide_source")
#: Events whose ``min_amount`` compares money (``amount``), or bits for a cheer.
MONEY_AMOUNT = ("tip", "donation", "merch.order")
#: Events whose ``min_count`` compares a count.
COUNTS = {"gift_bomb": "count", "raid": "viewers", "subscription": "months"}
#: Names every text template may use, whatever the event.
COMMON_FIELDS = frozenset({"type", "viewer", "amount", "currency", "source"})


def config_error(message: str) -> PydanticCustomError:
    """A validation error whose message is shown as is (no "Value error, " prefix)."""
    return PydanticCustomError("obs_config", message)


def template_fields(template: str) -> list[str]:
    """The ``{names}`` in a text template; raises ValueError on anything but bare names."""
    names = []
    for _literal, field, spec, conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise ValueError(f"{{{field}}} is not allowed; use plain names such as {{viewer}}")
        names.append(field)
    return names


def event_fields(event_type: str) -> frozenset[str] | None:
    """Template names an event type offers, or None when unknown (a plugin's own type)."""
    cls = EVENT_TYPES.get(event_type)
    if cls is None:
        return None
    own = {f.name for f in dataclasses.fields(cls)} - {"source_id", "occurred_at", "test", "id"}
    return frozenset(own | COMMON_FIELDS)


class ObsRule(BaseModel):
    """One event -> action rule (see docs/obs.md)."""

    model_config = ConfigDict(extra="forbid")

    #: Event type that triggers the rule (``tip``, ``cheer``, ``stream.online``, ...).
    on: str = Field(min_length=1)
    #: Smallest amount that triggers it, in major units ("10.00"); needs ``currency``.
    min_amount: str | None = None
    currency: str | None = None
    #: Smallest count for gift bombs (gifts), raids (viewers) and subscriptions (months).
    min_count: int | None = Field(None, ge=1)
    #: Whether simulated events (``limelight simulate``) trigger it too: that is how a
    #: streamer checks the rule before going live.
    test_events: bool = True
    action: ActionName
    connection: str = "main"
    scene: str | None = None
    source: str | None = None
    #: For ``set_text``: a template such as ``"{viewer} tipped {amount} {currency}"``.
    text: str | None = None
    #: For ``set_source_settings``: settings merged into the source's (``url``, ``file``).
    settings: dict[str, Any] | None = None
    filter: str | None = None
    #: Seconds before a scene switch or a shown/hidden source is undone; unset = stays.
    duration: float | None = Field(None, gt=0, le=3600)

    # Parsed threshold, filled by the validator.
    _threshold: Money | None = None

    @model_validator(mode="after")
    def _check(self) -> ObsRule:
        label = f"rule on {self.on!r} -> {self.action}"
        missing = [k for k in REQUIRED[self.action] if getattr(self, k) in (None, "")]
        if missing:
            need = ", ".join(f"{k} = ..." for k in missing)
            raise config_error(f"{label} needs {need}")
        if self.duration is not None and self.action not in TIMED:
            raise config_error(f"{label}: duration only applies to {', '.join(TIMED)}")
        unused = [
            k
            for k in ("scene", "text", "settings", "filter")
            if getattr(self, k) is not None
            and k not in REQUIRED[self.action]
            and not (k == "scene" and self.action in ("show_source", "hide_source"))
        ]
        if unused:
            raise config_error(f"{label}: {', '.join(unused)} is not used by {self.action}")
        if self.on not in EVENT_TYPES and "." not in self.on:
            raise config_error(
                f"{label}: unknown event type {self.on!r} (built-in types: "
                f"{', '.join(sorted(EVENT_TYPES))}; a plugin's own types look like plugin.name)"
            )
        self._check_threshold(label)
        if self.text is not None:
            try:
                names = template_fields(self.text)
            except ValueError as exc:
                raise config_error(f"{label}: text: {exc}") from None
            known = event_fields(self.on)
            unknown = sorted(set(names) - known) if known is not None else []
            if unknown:
                raise config_error(
                    f"{label}: text uses {', '.join('{' + n + '}' for n in unknown)}, which "
                    f"{self.on} events do not have (they have: "
                    f"{', '.join(sorted(known or ()))})"
                )
        return self

    def _check_threshold(self, label: str) -> None:
        if self.min_amount is None:
            if self.currency is not None:
                raise config_error(f"{label}: currency is only used with min_amount")
        else:
            if self.on not in (*MONEY_AMOUNT, "cheer"):
                raise config_error(
                    f"{label}: min_amount applies to {', '.join(MONEY_AMOUNT)} and cheer events"
                )
            currency = self.currency or (BITS if self.on == "cheer" else None)
            if currency is None:
                raise config_error(f'{label}: min_amount needs currency = "USD" (or another code)')
            try:
                self._threshold = Money.parse(self.min_amount, currency)
            except MoneyError as exc:
                raise config_error(f"{label}: min_amount: {exc}") from None
        if self.min_count is not None and self.on not in COUNTS:
            raise config_error(f"{label}: min_count applies to {', '.join(COUNTS)} events")

    @property
    def threshold(self) -> Money | None:
        return self._threshold

    def describe(self) -> str:
        cond = f" >= {self._threshold}" if self._threshold is not None else ""
        if self.min_count is not None:
            cond = f" >= {self.min_count}"
        target = self.scene if self.action == "switch_scene" else self.source
        hold = f" for {self.duration:g} s" if self.duration else ""
        return f"{self.on}{cond} -> {self.action} {target!r}{hold} on {self.connection}"

    # -- matching ---------------------------------------------------------------------------

    def matches(self, event: Event) -> bool:
        if event_type_name(event) != self.on:
            return False
        if event.test and not self.test_events:
            return False
        if self._threshold is not None:
            amount = event_amount(event)
            if amount is None or amount.currency != self._threshold.currency:
                return False
            if amount.minor < self._threshold.minor:
                return False
        if self.min_count is not None:
            count = getattr(event, COUNTS[self.on], None)
            if not isinstance(count, int) or count < self.min_count:
                return False
        return True

    def render_text(self, event: Event) -> str:
        """The ``text`` template filled from the event; missing names become empty."""
        assert self.text is not None
        values = template_values(event)
        return fill(self.text, values)


def event_amount(event: Event) -> Money | None:
    if isinstance(event, Cheer):
        return Money(event.bits, BITS)
    amount = getattr(event, "amount", None)
    return amount if isinstance(amount, Money) else None


def template_values(event: Event) -> dict[str, str]:
    """Flat string values for templates: event data plus viewer, amount and currency."""
    values: dict[str, str] = {}
    data = event.payload if isinstance(event, CustomEvent) else event.data()
    for key, value in data.items():
        if isinstance(value, str | int | float | bool):
            values[key] = str(value)
    anonymous = bool(getattr(event, "anonymous", False))
    values["viewer"] = (
        "Anonymous" if anonymous or event.viewer is None else (event.viewer.name or event.viewer.id)
    )
    values["type"] = event_type_name(event)
    values["source"] = event.source
    amount = event_amount(event)
    if amount is not None:
        values["amount"] = amount.to_wire()
        values["currency"] = amount.currency
    if isinstance(event, GiftBomb | Raid):
        values.setdefault("count", str(getattr(event, "count", getattr(event, "viewers", ""))))
    return values


def check_connections(rules: list[ObsRule], names: list[str]) -> None:
    """Every rule must name a configured connection (raised as a pydantic error)."""
    for i, rule in enumerate(rules):
        if rule.connection not in names:
            raise config_error(
                f"obs.rules[{i}] ({rule.on} -> {rule.action}) uses connection "
                f"{rule.connection!r}, but only {', '.join(map(repr, names))} "
                "is configured"
            )
