"""The stream report: what one stream, one day or one month brought, from the event log.

Why the event log: it is the core's own record of everything that happened (tips, refunds,
cheers, subscriptions, memberships, chat), written before any plugin reacts, so the report
needs no plugin's tables and works the same with any set of plugins. Test events are left
out. A ``refund`` is money given back, never income: the tip it reverses still counts as
received, and the refund is subtracted only in the net (and from the supporter it
reverses).

Periods: a *stream* runs from a ``stream.online`` to the next ``stream.offline`` (or the next
``stream.online``, or now while live). Without stream events, a *day* (midnight to
midnight, server time) stands in for a stream. A *month* is a calendar month.

Amounts are summed as integer minor units per currency (:class:`~limelight.Money`); only
the chart heights are converted to major units for drawing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from .models import EventRecord
from .money import Money, MoneyError

#: Event types the report reads besides chat.
MONEY_TYPES = ("tip", "refund", "cheer", "subscription", "gift_bomb", "membership.changed")
STREAM_TYPES = ("stream.online", "stream.offline")
#: Streams listed in the period picker.
MAX_STREAMS = 30
#: Chart buckets: at most about this many per chart.
MAX_BUCKETS = 48
TOP_SUPPORTERS = 10
#: A stream with no ``stream.offline`` is cut here in the listing.
LONGEST_STREAM = timedelta(hours=24)


@dataclass(frozen=True)
class Period:
    """One stretch of time the report covers; ``key`` names it in the page's URL."""

    kind: str  # stream, day or month
    start: datetime
    end: datetime
    key: str
    label: str
    live: bool = False


@dataclass
class Supporter:
    name: str
    money: dict[str, int] = field(default_factory=dict)  # currency -> net minor units
    bits: int = 0
    tips: int = 0


@dataclass
class Report:
    period: Period
    #: Bucket starts (local time) and the bucket's width.
    buckets: list[datetime]
    step: timedelta
    #: currency -> minor units received per bucket (tips only; refunds are not income).
    tips: dict[str, list[int]]
    tip_count: int
    #: currency -> minor units given back in the period, and how many refunds.
    refunds: dict[str, int]
    refund_count: int
    bits: list[int]
    cheer_count: int
    #: New subscriptions and memberships per bucket, gifted ones included.
    members: list[int]
    member_count: int
    gifted: int
    chat: list[int]
    chat_count: int
    chatters: int
    supporters: list[Supporter]

    def currencies(self) -> list[str]:
        """Currencies seen, the one most came in first."""
        seen = set(self.tips) | set(self.refunds)
        return sorted(seen, key=lambda c: (-sum(self.tips.get(c, [])), c))

    def income(self) -> list[Money]:
        """What came in, per currency (refunds not subtracted, nor counted)."""
        return [Money(sum(self.tips[c]), c) for c in self.currencies() if c in self.tips]

    def refunded(self) -> list[Money]:
        return [Money(self.refunds[c], c) for c in self.currencies() if c in self.refunds]

    def net(self) -> list[Money]:
        return [
            Money(sum(self.tips.get(c, [])) - self.refunds.get(c, 0), c) for c in self.currencies()
        ]


def local_zone() -> tzinfo:
    """The server's time zone: days and hours in the report are the streamer's own."""
    zone = datetime.now().astimezone().tzinfo
    return zone if zone is not None else UTC


def month_period(year: int, month: int, zone: tzinfo) -> Period:
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    return Period("month", start, end, f"month-{year:04d}-{month:02d}", start.strftime("%B %Y"))


def day_period(day: datetime, zone: tzinfo) -> Period:
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    return Period(
        "day",
        start,
        start + timedelta(days=1),
        f"day-{start:%Y-%m-%d}",
        start.strftime("%A %d %B %Y"),
    )


async def streams(zone: tzinfo, now: datetime | None = None) -> list[Period]:
    """The latest streams, newest first, from ``stream.online`` / ``stream.offline``."""
    now = now or datetime.now(UTC)
    rows = await (
        EventRecord.filter(type__in=STREAM_TYPES, test=False)
        .order_by("-occurred_at", "-id")
        .limit(MAX_STREAMS * 2 + 1)
        .values_list("id", "type", "occurred_at", "data")
    )
    rows.reverse()  # oldest first
    out: list[Period] = []
    opened: tuple[int, datetime, str] | None = None
    for event_id, kind, when, data in rows:
        if kind == "stream.online":
            if opened is not None:
                out.append(_stream(opened, when, zone))
            title = str((data or {}).get("title") or "") if isinstance(data, dict) else ""
            opened = (int(event_id), when, title)
        elif opened is not None:
            out.append(_stream(opened, when, zone))
            opened = None
    if opened is not None:
        live = now - opened[1] < LONGEST_STREAM
        out.append(_stream(opened, now if live else opened[1] + LONGEST_STREAM, zone, live))
    out.reverse()
    return out[:MAX_STREAMS]


def _stream(
    opened: tuple[int, datetime, str], end: datetime, zone: tzinfo, live: bool = False
) -> Period:
    event_id, start, title = opened
    local = start.astimezone(zone)
    when = local.strftime("%a %d %b %Y, %H:%M")
    label = f"{when} — {title}" if title else when
    return Period("stream", start, end, f"stream-{event_id}", label + (" (live)" if live else ""))


async def active_days(zone: tzinfo, since: datetime) -> list[Period]:
    """Days since ``since`` with at least one money event, newest first (no streams)."""
    times: list[Any] = list(
        await EventRecord.filter(
            type__in=MONEY_TYPES, test=False, occurred_at__gte=since
        ).values_list("occurred_at", flat=True)
    )
    days = sorted({t.astimezone(zone).date() for t in times if isinstance(t, datetime)})
    days.reverse()
    return [day_period(datetime(d.year, d.month, d.day), zone) for d in days]


async def find_period(key: str, zone: tzinfo) -> Period | None:
    """The period a URL names (``stream-17``, ``day-2026-11-30``, ``month-2026-11``)."""
    kind, _, rest = key.partition("-")
    try:
        if kind == "month":
            year, month = (int(p) for p in rest.split("-"))
            if 2000 <= year <= 9999 and 1 <= month <= 12:
                return month_period(year, month, zone)
        elif kind == "day":
            day = datetime.strptime(rest, "%Y-%m-%d")
            return day_period(day, zone)
        elif kind == "stream":
            event_id = int(rest)
            for period in await streams(zone):
                if period.key == key:
                    return period
            row = await EventRecord.get_or_none(id=event_id, type="stream.online", test=False)
            if row is not None:  # older than the listing: until the next stream event
                after = (
                    await EventRecord.filter(
                        type__in=STREAM_TYPES, test=False, occurred_at__gt=row.occurred_at
                    )
                    .order_by("occurred_at")
                    .first()
                )
                end = after.occurred_at if after else row.occurred_at + LONGEST_STREAM
                return _stream((row.id, row.occurred_at, str(row.data.get("title", ""))), end, zone)
    except (ValueError, OverflowError):
        return None
    return None


def bucketing(period: Period, zone: tzinfo) -> tuple[list[datetime], timedelta]:
    """Bucket starts and width: hours of a day, days of a month, 5 minutes or more of a
    stream (at most :data:`MAX_BUCKETS`)."""
    if period.kind == "month":
        step = timedelta(days=1)
    elif period.kind == "day":
        step = timedelta(hours=1)
    else:
        length = max(period.end - period.start, timedelta(minutes=5))
        minutes = 5
        for minutes in (5, 10, 15, 30, 60, 120, 240):
            if length / timedelta(minutes=minutes) <= MAX_BUCKETS:
                break
        step = timedelta(minutes=minutes)
    start = period.start.astimezone(zone)
    if period.kind == "stream":  # buckets start on the clock: 20:15, 20:30, ...
        minutes = int(step.total_seconds() // 60)
        start = start.replace(second=0, microsecond=0)
        if minutes < 60:
            start -= timedelta(minutes=start.minute % minutes)
        else:
            start = start.replace(minute=0)
    buckets: list[datetime] = []
    at = start
    while at < period.end and len(buckets) < 400:
        buckets.append(at)
        at = _next(at, step, zone)
    return buckets, step


def _next(at: datetime, step: timedelta, zone: tzinfo) -> datetime:
    if step == timedelta(days=1):  # calendar days, whatever the clock change
        day = (at + timedelta(hours=36)).date()
        return datetime(day.year, day.month, day.day, tzinfo=zone)
    return at + step


def _index(buckets: list[datetime], when: datetime) -> int:
    """The bucket ``when`` falls in (the last whose start is not after it)."""
    low, high = 0, len(buckets) - 1
    while low < high:
        mid = (low + high + 1) // 2
        if buckets[mid] <= when:
            low = mid
        else:
            high = mid - 1
    return low


def _money(data: dict[str, Any]) -> Money | None:
    try:
        return Money.parse(str(data.get("amount", "")), str(data.get("currency", "")))
    except (MoneyError, ValueError, TypeError):
        return None


def _who(platform: str | None, viewer_id: str | None, name: str | None) -> tuple[str, str]:
    key = f"{platform}:{viewer_id}" if platform and viewer_id else f"name:{name or ''}"
    return key, name or viewer_id or "someone"


async def build(period: Period, zone: tzinfo) -> Report:
    """The report of ``period`` from the event log (test events left out)."""
    buckets, step = bucketing(period, zone)
    n = len(buckets)
    window = {
        "test": False,
        "occurred_at__gte": period.start,
        "occurred_at__lt": period.end,
    }
    rows = await EventRecord.filter(type__in=MONEY_TYPES, **window).values_list(
        "type",
        "source",
        "source_id",
        "occurred_at",
        "viewer_platform",
        "viewer_id",
        "viewer_name",
        "data",
    )
    chat_rows = await EventRecord.filter(type="chat.message", **window).values_list(
        "occurred_at", "viewer_platform", "viewer_id"
    )
    tips: dict[str, list[int]] = defaultdict(lambda: [0] * n)
    refunds: Counter[str] = Counter()
    bits, members, chat = [0] * n, [0] * n, [0] * n
    counts: Counter[str] = Counter()
    gifted = 0
    people: dict[str, Supporter] = {}
    tip_owner: dict[tuple[str, str], tuple[str, str]] = {}
    pending_refunds: list[tuple[str, str, Money]] = []
    for kind, source, source_id, when, platform, viewer_id, name, data in rows:
        data = data if isinstance(data, dict) else {}
        at = _index(buckets, when.astimezone(zone))
        anonymous = bool(data.get("anonymous"))
        key, shown = _who(platform, viewer_id, name)
        if anonymous:
            key, shown = "anonymous", "Anonymous"
        if kind == "tip":
            money = _money(data)
            if money is None:
                continue
            tips[money.currency][at] += money.minor
            counts["tip"] += 1
            person = people.setdefault(key, Supporter(shown))
            person.money[money.currency] = person.money.get(money.currency, 0) + money.minor
            person.tips += 1
            tip_owner[(str(source), str(source_id))] = (key, shown)
        elif kind == "refund":
            money = _money(data)
            if money is None:
                continue
            refunds[money.currency] += money.minor
            counts["refund"] += 1
            original = (str(data.get("original_source", "")), str(data.get("original_id", "")))
            pending_refunds.append((*original, money))
        elif kind == "cheer":
            count = data.get("bits")
            if isinstance(count, int) and not isinstance(count, bool) and count > 0:
                bits[at] += count
                counts["cheer"] += 1
                people.setdefault(key, Supporter(shown)).bits += count
        elif kind == "subscription":
            members[at] += 1
            counts["member"] += 1
            gifted += bool(data.get("gifted"))
        elif kind == "membership.changed":
            if data.get("status") == "granted":
                members[at] += 1
                counts["member"] += 1
    for source, source_id, money in pending_refunds:
        owner = tip_owner.get((source, source_id))
        if owner is None:  # the tip was before this period: look it up
            tip = await EventRecord.get_or_none(
                type="tip", source=source, source_id=source_id, test=False
            )
            if tip is None:
                continue
            owner = _who(tip.viewer_platform, tip.viewer_id, tip.viewer_name)
            if tip.data.get("anonymous"):
                owner = ("anonymous", "Anonymous")
            if owner[0] not in people:
                continue  # not a supporter in this period: nothing to take back here
        person = people[owner[0]]
        person.money[money.currency] = person.money.get(money.currency, 0) - money.minor
    chatters: set[str] = set()
    for when, platform, viewer_id in chat_rows:
        chat[_index(buckets, when.astimezone(zone))] += 1
        chatters.add(f"{platform}:{viewer_id}")
    return Report(
        period=period,
        buckets=buckets,
        step=step,
        tips=dict(tips),
        tip_count=counts["tip"],
        refunds=dict(refunds),
        refund_count=counts["refund"],
        bits=bits,
        cheer_count=counts["cheer"],
        members=members,
        member_count=counts["member"],
        gifted=gifted,
        chat=chat,
        chat_count=len(chat_rows),
        chatters=len(chatters),
        supporters=top_supporters(people.values(), main_currency(dict(tips))),
    )


def main_currency(tips: dict[str, list[int]]) -> str:
    """The currency most of the money came in (ranks supporters)."""
    if not tips:
        return ""
    return max(sorted(tips), key=lambda c: sum(tips[c]))


def top_supporters(people: Iterable[Supporter], currency: str) -> list[Supporter]:
    """The biggest supporters: by net money in the main currency, then bits."""
    ranked = [p for p in people if p.bits > 0 or any(v > 0 for v in p.money.values())]
    ranked.sort(key=lambda p: (-p.money.get(currency, 0), -p.bits, p.name.casefold()))
    return ranked[:TOP_SUPPORTERS]
