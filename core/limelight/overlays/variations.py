"""Alert variations: how an alert looks for one kind at one amount tier, per overlay.

The streamer configures them per overlay in ``[[overlays.<overlay>.variations]]``
(``[[overlays.alerts.variations]]`` for the ``alerts`` overlay); each says which alert kind
it is for, an optional tier threshold (``min_amount`` + ``currency``, or ``min_count``) and
the text, duration, image and sound to use. The highest tier that an alert reaches wins;
when no configured variation matches, the text the overlay's plugin declared for that kind
(:class:`~limelight.registry.AlertKind`) is used, so a fresh install shows sensible alerts
with no configuration at all.

Texts are filled with :func:`~limelight.text.fill`, the one ``{placeholder}`` filler: no
attribute or index access, no format specs, inserted values never expanded again, and the
result is always shown as text on the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from ..config import AlertSettings, AlertVariationSettings
from ..money import BITS, Money, MoneyError, exponent
from ..text import fill

#: The text of an alert kind nobody declared a text for.
GENERIC_TEXT = "{name}"
#: How an alert may come in and go out ("" = the theme's default).
ANIMATIONS = ("", "fade", "slide", "zoom", "bounce", "none")
#: Media a variation may point at: this server's uploads, the streamer's media folder, the
#: default theme's and the plugins' static files. Never another site, never ``..``.
MEDIA_URL = re.compile(
    r"^/-/(uploads|media|theme|static-plugins)/(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9._/-]{0,200}$"
)
#: A variation's ``image`` or ``sound`` that turns its kind's default off (``""`` keeps it).
NO_MEDIA = "none"
VIDEO_EXTENSIONS = (".webm", ".mp4")
#: The data keys a count tier compares, first found wins.
COUNT_KEYS = ("count", "viewers", "bits", "months", "quantity")


@dataclass(frozen=True, slots=True)
class Variation:
    """A resolved variation: what the page needs to show one alert.

    ``image`` and ``sound`` are URLs on this server (overlay pages may not load anything
    from elsewhere); ``text`` is a template, filled with :meth:`render`.
    """

    event: str
    name: str = "default"
    text: str = GENERIC_TEXT
    duration_ms: int = 6000
    image: str = ""
    sound: str = ""
    volume: float = 1.0
    min_amount: Money | None = None
    min_count: int = 0
    animation: str = ""

    def render(self, values: Mapping[str, Any]) -> str:
        return fill(self.text, values)

    def to_wire(self, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The page's view: the filled-in text, media URLs and timing. A video (WebM, MP4)
        chosen as the alert's picture travels as ``video``; ``image`` is then empty."""
        video = self.image if self.image.lower().endswith(VIDEO_EXTENSIONS) else ""
        return {
            "name": self.name,
            "event": self.event,
            "text": self.render(values or {}),
            "duration_ms": self.duration_ms,
            "image": "" if video else self.image,
            "video": video,
            "sound": self.sound,
            "volume": self.volume,
            "animation": self.animation,
        }


@dataclass
class VariationBook:
    """One overlay's configured variations, indexed by alert kind, and the tier choice.

    ``texts`` are the built-in texts per kind that the overlay's plugin declared, ``media``
    its default ``(image, sound)`` per kind (a variation without its own uses them);
    ``overlay`` names the overlay in error messages."""

    settings: AlertSettings
    texts: Mapping[str, str] = field(default_factory=dict)
    overlay: str = ""
    media: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    _by_event: dict[str, list[Variation]] = field(default_factory=dict)
    #: Designs saved in the dashboard's alert editor, per kind: they replace the config's
    #: variations of that kind (the config stays the default of every other kind).
    _designs: dict[str, list[Variation]] = field(default_factory=dict)
    _design_raw: dict[str, list[AlertVariationSettings]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for index, raw in enumerate(self.settings.variations):
            variation = _from_settings(raw, index, self.settings.duration_ms, self)
            self._by_event.setdefault(raw.event, []).append(variation)

    def set_design(self, kind: str, entries: list[AlertVariationSettings] | None) -> None:
        """Use ``entries`` (checked with :func:`check_design`) for ``kind`` from now on;
        ``None`` goes back to the config's variations."""
        if entries is None:
            self._designs.pop(kind, None)
            self._design_raw.pop(kind, None)
            return
        self._designs[kind] = [
            _from_settings(raw, index, self.settings.duration_ms, self)
            for index, raw in enumerate(entries)
        ]
        self._design_raw[kind] = list(entries)

    def entries_built(self, kind: str) -> list[Variation]:
        """The saved design of ``kind`` as it plays: a tier without a picture or sound of
        its own with the kind's default (the editor's preview and test alert of a draft
        show what the overlay would)."""
        return [self._with_defaults(v) for v in self._designs.get(kind, [])]

    def has_design(self, kind: str) -> bool:
        return kind in self._designs

    def entries(self, kind: str) -> list[AlertVariationSettings]:
        """What the editor shows for ``kind``: the saved design, else the config's
        variations of that kind, else one entry with the built-in text."""
        if kind in self._design_raw:
            return list(self._design_raw[kind])
        configured = [raw for raw in self.settings.variations if raw.event == kind]
        if configured:
            return configured
        return [
            AlertVariationSettings(
                event=kind, name="default", text=self.text(kind), duration_ms=None
            )
        ]

    def text(self, kind: str) -> str:
        """The built-in text of ``kind`` on this overlay."""
        return self.texts.get(kind, GENERIC_TEXT)

    def pick(
        self, event_type: str, amount: Money | None = None, count: int | None = None
    ) -> Variation:
        """The highest tier of ``event_type`` that ``amount``/``count`` reaches.

        A tier with ``min_amount`` matches only amounts in its own currency (compared in
        minor units: no conversion, no floats); a tier with ``min_count`` matches counts at
        or above it. Specific event types beat ``*``; the built-in default comes last.
        """
        own = self._designs.get(event_type)
        if own is None:
            own = self._by_event.get(event_type, [])
        for candidates in (own, self._by_event.get("*", [])):
            best = _best(candidates, amount, count)
            if best is not None:
                if best.event == "*":
                    best = replace(best, event=event_type)
                return self._with_defaults(best)
        return self.default(event_type)

    def default(self, event_type: str) -> Variation:
        image, sound = self.media.get(event_type, ("", ""))
        return Variation(
            event=event_type,
            name="default",
            text=self.text(event_type),
            duration_ms=self.settings.duration_ms,
            image=image,
            sound=sound,
        )

    def _with_defaults(self, variation: Variation) -> Variation:
        """A configured variation without an image or a sound plays its kind's default;
        ``"none"`` turns the default off."""
        image, sound = self.media.get(variation.event, ("", ""))
        return replace(
            variation,
            image="" if variation.image == NO_MEDIA else (variation.image or image),
            sound="" if variation.sound == NO_MEDIA else (variation.sound or sound),
        )

    def all(self) -> list[Variation]:
        return [v for vs in self._by_event.values() for v in vs]


class DesignError(ValueError):
    """A design from the alert editor that cannot be used; says which entry and why."""


#: Most tiers one kind of alert may have.
MAX_TIERS = 20


def check_design(kind: str, raw: Any) -> list[AlertVariationSettings]:
    """Validate the variations the alert editor sends for ``kind`` (a list of objects with
    the keys of ``[[overlays.<overlay>.variations]]``); media must be this server's."""
    if not isinstance(raw, list) or not raw:
        raise DesignError("variations must be a non-empty list")
    if len(raw) > MAX_TIERS:
        raise DesignError(f"at most {MAX_TIERS} variations per kind of alert")
    out = []
    for index, entry in enumerate(raw):
        where = f"variation {index + 1}"
        if not isinstance(entry, dict):
            raise DesignError(f"{where}: must be an object")
        entry = {**entry, "event": kind}
        if entry.get("animation", "") not in ANIMATIONS:
            raise DesignError(f"{where}: animation must be one of {', '.join(ANIMATIONS[1:])}")
        for key in ("image", "sound"):
            value = entry.get(key, "")
            # "": the kind's default picture or sound; "none": none at all, default or not
            if (
                value
                and value != NO_MEDIA
                and (not isinstance(value, str) or not MEDIA_URL.match(value))
            ):
                raise DesignError(
                    f"{where}: {key} must be a file uploaded here (/-/uploads/...), "
                    f'or "{NO_MEDIA}" for none'
                )
        text = entry.get("text", "")
        if isinstance(text, str) and len(text) > 500:
            raise DesignError(f"{where}: the text may be at most 500 characters")
        try:
            settings = AlertVariationSettings.model_validate(entry)
        except ValidationError as exc:
            first = exc.errors()[0]
            field_name = ".".join(str(p) for p in first["loc"]) or "value"
            raise DesignError(f"{where}: {field_name}: {first['msg']}") from None
        out.append(settings)
    return out


def _best(
    candidates: Iterable[Variation], amount: Money | None, count: int | None
) -> Variation | None:
    best: Variation | None = None
    best_rank: tuple[int, int, int] = (-1, -1, -1)
    for variation in candidates:
        rank = _rank(variation, amount, count)
        if rank is not None and rank > best_rank:
            best, best_rank = variation, rank
    return best


def _rank(
    variation: Variation, amount: Money | None, count: int | None
) -> tuple[int, int, int] | None:
    """``None`` when the variation does not apply; otherwise a sort key (higher wins):
    tiered variations beat untiered ones, then the higher threshold wins."""
    threshold = variation.min_amount
    if threshold is not None:
        if amount is None or amount.currency != threshold.currency:
            return None
        if amount.minor < threshold.minor:
            return None
    if variation.min_count:
        if count is None or count < variation.min_count:
            return None
    tiered = 1 if (threshold is not None or variation.min_count) else 0
    return (tiered, threshold.minor if threshold is not None else 0, variation.min_count)


def _from_settings(
    raw: AlertVariationSettings, index: int, default_ms: int, book: VariationBook
) -> Variation:
    minimum: Money | None = None
    if raw.min_amount:
        try:
            minimum = Money.parse(raw.min_amount, raw.currency)
        except MoneyError as exc:  # the settings validator already checked this
            raise ValueError(f"overlays.{book.overlay}.variations.{index}: {exc}") from None
    return Variation(
        event=raw.event,
        name=raw.name or f"{raw.event}#{index}",
        text=raw.text or book.text(raw.event),
        duration_ms=raw.duration_ms or default_ms,
        image=raw.image,
        sound=raw.sound,
        volume=raw.volume,
        min_amount=minimum,
        min_count=raw.min_count,
        animation=raw.animation,
    )


def amount_of(data: Mapping[str, Any]) -> Money | None:
    """The amount carried by an alert's wire data (``amount`` + ``currency``), if any."""
    raw, currency = data.get("amount"), data.get("currency")
    if raw is None or not currency:
        return None
    try:
        return Money.parse(str(raw), str(currency))
    except MoneyError:
        return None


def count_of(data: Mapping[str, Any]) -> int | None:
    """The number a count tier compares: gift count, raid viewers, cheer bits, months."""
    for key in COUNT_KEYS:
        value = data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


#: The default theme's alert sizes, 1 (small) to 4 (huge): the thresholds an amount, in
#: major units of its currency (``Money.decimal()``), must reach for sizes 2, 3 and 4.
#: Currencies without minor units (JPY, KRW, ...) count in hundreds, bits in hundreds
#: (100 bits are a dollar's worth), so a $250 tip never looks like a $12.50 one.
SIZE_AMOUNTS = (5, 20, 100)
#: The same for counts: gifted subs, raid viewers, months, items.
SIZE_COUNTS: dict[str, tuple[int, int, int]] = {
    "gift_bomb": (5, 20, 50),
    "raid": (10, 50, 250),
    "subscription": (6, 24, 60),
}
DEFAULT_COUNTS = (5, 20, 50)


def size_of(kind: str, amount: Money | None, count: int | None) -> int:
    """How big the default theme draws an alert (``1``..``4``; the page reads it as the
    ``size`` of the variation): the tier an amount or a count reaches."""
    if amount is not None and amount.minor > 0:
        major = amount.decimal
        if amount.currency == BITS or exponent(amount.currency) == 0:
            major = major / 100
        return 1 + sum(1 for edge in SIZE_AMOUNTS if major >= edge)
    if count is not None and count > 0:
        edges = SIZE_COUNTS.get(kind, DEFAULT_COUNTS)
        return 1 + sum(1 for edge in edges if count >= edge)
    return 1
