"""Which window of a challenge a moment falls in (this day, this week, this month).

Pure functions of a time, so tests move a clock instead of sleeping. Boundaries are local
midnight in ``[plugins.challenges] timezone``; the plugin asks the scheduler to roll over
at the next one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class Window:
    key: str
    starts: datetime
    ends: datetime | None


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def calendar_window(kind: str, now: datetime, zone: ZoneInfo, week_starts: str) -> Window:
    """The ``day``, ``week`` or ``month`` window ``now`` is in."""
    today = now.astimezone(zone).date()
    if kind == "day":
        return Window(
            today.isoformat(), _midnight(today, zone), _midnight(today + timedelta(1), zone)
        )
    if kind == "week":
        first = 0 if week_starts == "monday" else 6
        start = today - timedelta(days=(today.weekday() - first) % 7)
        iso = start.isocalendar()
        key = f"{iso.year}-W{iso.week:02d}" if first == 0 else f"week-of-{start.isoformat()}"
        return Window(key, _midnight(start, zone), _midnight(start + timedelta(7), zone))
    if kind == "month":
        start = today.replace(day=1)
        after = (start + timedelta(days=32)).replace(day=1)
        return Window(start.strftime("%Y-%m"), _midnight(start, zone), _midnight(after, zone))
    raise ValueError(f"not a calendar window: {kind!r}")


def system_now() -> datetime:
    return datetime.now(UTC)
