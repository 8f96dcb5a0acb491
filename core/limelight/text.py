"""The one ``{placeholder}`` filler, for every text a streamer writes (alert texts, chat
replies, thank-you lines, OBS text sources).

Why one: a value inserted into a template is never expanded again, so a payer who names
themselves ``{amount}`` reads as ``{amount}``, not as the amount; there is no attribute or
index access and no format spec, so a template can reach nothing but the values given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def fill(template: str, values: Mapping[str, Any] | None = None, /, **more: Any) -> str:
    """Replace each ``{key}`` with ``values[key]`` (or ``more[key]``) in one pass; a
    missing key becomes empty. ``{{`` and ``}}`` are not special: text stays text."""
    merged: Mapping[str, Any] = {**(values or {}), **more} if more else (values or {})

    def one(match: re.Match[str]) -> str:
        value = merged.get(match.group(1))
        return "" if value is None else str(value)

    return _PLACEHOLDER.sub(one, template)


def plural(count: int, word: str, many: str = "") -> str:
    """``count`` and ``word`` in English: ``1 timer``, ``0 timers``, ``1,200 viewers``
    (``many`` where adding an "s" is wrong: ``plural(2, "match", "matches")``). Why one
    helper: what the dashboard and the CLI say reads as a product, not "3 change(s)"."""
    return f"{count:,} {word if count == 1 else many or word + 's'}"


def duration(delta: timedelta) -> str:
    """A span of time as chat and overlays say it, in its two largest units: ``30 days``,
    ``1 day 4 h``, ``2 hours``, ``9 h 59 min``, ``45 minutes``, ``1 minute``, to the
    nearest minute (a hold of 10 minutes still reads "10 minutes" a second later) and
    never "0 minutes" before its end. Why one helper: the charity bar, a challenge's
    window, a reservation's hold and a membership's length read alike, and a single unit
    is never "1 days"."""
    minutes = max(1, round(delta.total_seconds() / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return plural(days, "day") + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h {mins} min" if mins else plural(hours, "hour")
    return plural(mins, "minute")


def placeholders(template: str) -> set[str]:
    """The names a template uses, for checking a streamer's template against the keys a
    surface offers."""
    return set(_PLACEHOLDER.findall(template))


__all__ = ["duration", "fill", "placeholders", "plural"]
