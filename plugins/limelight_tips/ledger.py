"""The ledger: exactly-once money rows, totals per currency, and the leaderboard.

Why a module of its own: every amount the plugin ever counts comes from these rows, so the
queries that read them (totals, the leaderboard, the goal) live next to the one function
that writes them. The row's key is the event's own dedupe key ``(source, source_id)``,
unique in the table, and the row is written only in the bus's transaction
(``record_events``), so an event and its row commit together or not at all. Sums run in
the database per ``(viewer, currency)``; conversion to the base currency happens
afterwards in Python with exact decimals, so a rate change applies to history too and
nothing is ever rounded twice. Nothing here formats money for people: callers do, with
``ctx.money``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from limelight import Money, Transaction
from limelight.db import insert_rows
from limelight.money import exponent
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet

from .config import TipsConfig
from .models import LedgerEntry

BITS = "BITS"


@dataclass(frozen=True, slots=True)
class Converter:
    """Converts amounts into the base currency with the configured rates."""

    base: str
    rates: dict[str, Decimal]
    bit_value: Decimal
    bits_currency: str

    @classmethod
    def from_config(cls, config: TipsConfig) -> Converter:
        return cls(config.base_currency, dict(config.rates), config.bit_value, config.bits_currency)

    def value_of_bits(self, bits: int) -> Money:
        """What ``bits`` are worth in ``bits_currency``."""
        return Money(bits, BITS).convert(self.bits_currency, self.bit_value)

    def into(self, money: Money, currency: str) -> Money | None:
        """``money`` in ``currency``: bits at ``bit_value``, other currencies only into the
        base currency at their rate; ``None`` when there is no way to convert."""
        if money.currency == BITS:
            money = self.value_of_bits(money.minor)
        if money.currency == currency:
            return money
        rate = self.rates.get(money.currency)
        if currency == self.base and rate is not None:
            return money.convert(currency, rate)
        return None

    def to_base(self, money: Money) -> Money | None:
        """``money`` in the base currency, or ``None`` when there is no base or no rate."""
        return self.into(money, self.base) if self.base else None


async def record(*, original: LedgerEntry | None = None, **fields: Any) -> LedgerEntry:
    """Insert one ledger row (``fields`` as :func:`row` takes them) in the running
    transaction (``record_events``): a refund, written one at a time, in order.

    A plain insert: a conflict or a database error raises, which rolls back the plugin's
    part of the batch; the core then calls ``record_events`` again for the event in a fresh
    transaction. There is no second, idempotent write path anywhere else.
    """
    entry = LedgerEntry(**row(**fields), original=original)
    await entry.save()
    return entry


async def record_many(tx: Transaction, rows: list[dict[str, Any]]) -> list[int]:
    """Insert the ledger rows (made by :func:`row`) of a batch of events in ``tx`` with one
    statement; their ids, in order. A plain insert, as :func:`record`: a conflict raises.
    No model object is built: a batch of tips costs one round trip, not one per tip."""
    return await insert_rows(tx.connection, LedgerEntry, rows)


def row(
    *,
    provider: str,
    provider_id: str,
    kind: str,
    money: Money,
    viewer_pk: int | None = None,
    viewer_platform: str = "",
    viewer_id: str = "",
    viewer_name: str = "",
    anonymous: bool = False,
    message: str = "",
    detail: str = "",
    occurred_at: datetime,
    event_id: int | None = None,
    reason: str = "",
    refund_of: str = "",
) -> dict[str, Any]:
    """The columns of one ledger row, cut to what the table holds."""
    return {
        "provider": provider,
        "provider_id": provider_id,
        "kind": kind,
        "detail": detail[:40],
        "amount_minor": money.minor,
        "currency": money.currency,
        "viewer_pk": viewer_pk,
        "viewer_platform": viewer_platform[:40],
        "viewer_id": viewer_id[:100],
        "viewer_name": viewer_name[:200],
        "anonymous": anonymous,
        "message": message,
        "occurred_at": occurred_at,
        "event_id": event_id,
        "refund_of": refund_of[:300],
        "reason": reason[:200],
    }


async def row_of(provider: str, provider_id: str) -> LedgerEntry | None:
    """The row an event wrote (its key is the event's dedupe key), if any."""
    return await LedgerEntry.get_or_none(provider=provider, provider_id=provider_id)


def key_of(provider: str, provider_id: str) -> str:
    """How a refund names the tip it reverses (``LedgerEntry.refund_of``)."""
    return f"{provider}:{provider_id}"


async def orphan_refund_keys() -> set[str]:
    """Tips that refunds point at but that are not in the ledger (yet)."""
    rows = (
        await LedgerEntry.filter(kind="refund", original_id=None)
        .exclude(refund_of="")
        .values_list("refund_of", flat=True)
    )
    return {str(key) for key in rows}


async def adopt_refunds(tip: LedgerEntry) -> int:
    """Link refunds that arrived before ``tip`` to it (they count for its viewer from now
    on); returns how much of the tip they give back, in its currency.

    Each is capped as it is linked, oldest first, exactly as a refund that came after the
    tip would have been (:func:`cap_refund`): a pending refund was kept with the amount
    the provider asked, since nothing could be checked before the tip was known."""
    refunds = await LedgerEntry.filter(
        kind="refund", original_id=None, refund_of=key_of(tip.provider, tip.provider_id)
    ).order_by("id")
    left = int(tip.amount_minor)
    for refund in refunds:
        asked = Money(-int(refund.amount_minor), refund.currency)
        capped = cap_refund(asked, tip.currency, left)
        left -= capped.minor
        fields: dict[str, Any] = {"original_id": tip.id, **payer_of(tip)}
        if capped != asked:
            fields.update(
                amount_minor=-capped.minor,
                currency=capped.currency,
                reason=capped_reason(refund.reason, asked, capped)[:200],
            )
        await LedgerEntry.filter(id=refund.id).update(**fields)
    return int(tip.amount_minor) - left


def cap_refund(asked: Money, currency: str, left: int) -> Money:
    """What a refund of ``asked`` may give back of a tip in ``currency`` with ``left``
    minor units not yet refunded: all of it, what is left, or nothing (another currency)."""
    if asked.currency != currency:
        return Money(0, currency)
    return Money(max(0, min(asked.minor, left)), currency)


def capped_reason(reason: str, asked: Money, capped: Money) -> str:
    """The refund row's ``reason`` once capped: what was asked stays readable."""
    if asked.currency != capped.currency:
        note = f"not counted: {asked} asked, the tip was in {capped.currency}"
    else:
        note = f"capped at the {capped} left of the tip: {asked} asked"
    return f"{reason} ({note})" if reason else note


def payer_of(tip: LedgerEntry | None) -> dict[str, Any]:
    """The viewer columns a refund takes over from the tip it reverses (blank: no tip)."""
    return {
        "viewer_pk": tip.viewer_pk if tip else None,
        "viewer_platform": tip.viewer_platform if tip else "",
        "viewer_id": tip.viewer_id if tip else "",
        "viewer_name": tip.viewer_name if tip else "",
        "anonymous": tip.anonymous if tip else False,
    }


async def refunded_minor(original: LedgerEntry) -> int:
    """How much of ``original`` has been given back so far (a positive number)."""
    rows = (
        await LedgerEntry.filter(original_id=original.id)
        .annotate(total=Sum("amount_minor"))
        .values("total")
    )
    return -_as_int(rows[0]["total"] if rows else None)


async def left_minor(original: LedgerEntry) -> int:
    """How much of ``original`` has not been given back yet, in its minor units."""
    return int(original.amount_minor) - await refunded_minor(original)


def _as_int(value: Any) -> int:
    # SQLite answers SUM() with an int, PostgreSQL with a Decimal.
    return int(value or 0)


@dataclass(frozen=True, slots=True)
class Total:
    """The net amount (tips minus refunds) of one currency, how many payments made it
    (refund rows are not payments: they are counted apart, in ``refunds``)."""

    money: Money
    entries: int
    refunds: int = 0


async def totals(query: QuerySet[LedgerEntry] | None = None) -> list[Total]:
    """Net totals per currency of ``query`` (default: every row), by currency code."""
    rows = await _per_currency(LedgerEntry.all() if query is None else query)
    return [
        Total(
            Money(_as_int(row["total"]), row["currency"]),
            int(row["count"]) - int(row["refunds"] or 0),
            int(row["refunds"] or 0),
        )
        for row in sorted(rows, key=lambda r: str(r["currency"]))
    ]


async def _per_currency(query: QuerySet[LedgerEntry]) -> list[dict[str, Any]]:
    """``{"currency", "total", "count", "refunds"}`` of ``query``'s rows, one per currency
    (``count`` is every row, ``refunds`` the refund rows among them)."""
    return list(
        await query.annotate(
            total=Sum("amount_minor"),
            count=Count("id"),
            refunds=Count("id", _filter=Q(kind="refund")),
        )
        .group_by("currency")
        .values("currency", "total", "count", "refunds")
    )


def period_start(
    period: str, stream_started: datetime | None, now: datetime | None = None
) -> datetime | None:
    """First instant of ``stream`` / ``month`` / ``all`` (``None``: no lower bound)."""
    now = now or datetime.now(UTC)
    if period == "stream":
        return stream_started or now.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "month":
        return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return None


Supporter = tuple[Any, ...]


def supporter_key(row: dict[str, Any]) -> Supporter | None:
    """Who a row counts for: the core viewer (one person across chat platforms) when the
    tip was matched to one, else the provider's own view of the payer."""
    if row.get("viewer_pk") is not None:
        return ("viewer", row["viewer_pk"])
    if row.get("viewer_platform") and row.get("viewer_id"):
        return ("payer", row["viewer_platform"], row["viewer_id"])
    return None


@dataclass(frozen=True, slots=True)
class Ranked:
    """One place on a leaderboard."""

    rank: int
    name: str
    #: ``(platform, id)`` of a chat viewer (their name opt-out applies), else ``None``.
    viewer: tuple[str, str] | None
    money: Money


async def leaderboard(
    converter: Converter,
    *,
    since: datetime | None,
    size: int,
    using: BaseDBAsyncClient | None = None,
) -> tuple[str, list[Ranked]]:
    """The currency ranked in and the top supporters since ``since``: net of refunds,
    anonymous tips left out. ``using``: the connection to read on (the boards pass
    ``ctx.db.reader``: over a long ledger this read takes a while).

    With a base currency every currency with a rate counts (converted exactly); without
    one, only the most used currency of the window is ranked.
    """
    query = LedgerEntry.filter(anonymous=False).using_db(using)
    if since is not None:
        query = query.filter(occurred_at__gte=since)
    columns = ("viewer_pk", "viewer_platform", "viewer_id", "currency")
    rows = (
        await query.annotate(total=Sum("amount_minor"), count=Count("id"))
        .group_by(*columns)
        .values(*columns, "total", "count")
    )
    currency = converter.base or main_currency(converter, rows)
    sums: dict[Supporter, int] = defaultdict(int)
    for row in rows:
        key = supporter_key(row)
        value = converter.into(Money(_as_int(row["total"]), row["currency"]), currency)
        if key is not None and value is not None:
            sums[key] += value.minor
    ranked = sorted(((v, k) for k, v in sums.items() if v > 0), key=lambda t: (-t[0], str(t[1])))
    ranked = ranked[:size]
    names = await _names([k for _, k in ranked], using)
    out = []
    for rank, (minor, key) in enumerate(ranked, start=1):
        name, platform, vid = names.get(key, ("?", "", ""))
        viewer = (platform, vid) if key[0] == "viewer" else None
        out.append(Ranked(rank, name, viewer, Money(minor, currency)))
    return currency, out


async def _names(
    keys: list[Supporter], using: BaseDBAsyncClient | None
) -> dict[Supporter, tuple[str, str, str]]:
    """The latest name each supporter tipped under (not counting anonymous tips)."""
    pks = [k[1] for k in keys if k[0] == "viewer"]
    ids = [k[2] for k in keys if k[0] == "payer"]
    if not keys:
        return {}
    rows = (
        await LedgerEntry.filter(
            Q(viewer_pk__in=pks or [-1]) | Q(viewer_id__in=ids or [""]), anonymous=False
        )
        .exclude(viewer_name="")
        .using_db(using)
        .order_by("id")
        .values("viewer_pk", "viewer_platform", "viewer_id", "viewer_name")
    )
    out: dict[Supporter, tuple[str, str, str]] = {}
    for row in rows:
        key = supporter_key(row)
        if key is not None:
            out[key] = (row["viewer_name"], row["viewer_platform"], row["viewer_id"])
    return out


async def total_in(
    converter: Converter,
    *,
    since: datetime | None,
    currency: str = "",
    using: BaseDBAsyncClient | None = None,
) -> Money:
    """Net total since ``since`` in ``currency`` (default: the base or main currency),
    read on ``using`` (see :func:`leaderboard`)."""
    query = LedgerEntry.all().using_db(using)
    if since is not None:
        query = query.filter(occurred_at__gte=since)
    rows = await _per_currency(query)
    currency = currency or converter.base or main_currency(converter, rows)
    result = Money(0, currency)
    for row in rows:
        value = converter.into(Money(_as_int(row["total"]), row["currency"]), currency)
        if value is not None:
            result += value
    return result


def main_currency(converter: Converter, rows: list[dict[str, Any]]) -> str:
    """With no base currency: the currency most tips were made in (bits count as theirs)."""
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        code = converter.bits_currency if row["currency"] == BITS else row["currency"]
        counts[code] += int(row["count"])
    return max(counts, key=lambda c: (counts[c], c)) if counts else (converter.bits_currency)


def parse_threshold(raw: str, currency: str) -> Money:
    """A configured amount ("1.00") in ``currency``, rounded to what it can hold."""
    places = exponent(currency)
    value = Decimal(raw or "0").scaleb(places)
    return Money(int(value.quantize(Decimal(1), rounding=ROUND_HALF_EVEN)), currency)
