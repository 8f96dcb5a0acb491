"""The donation ledger: exactly-once rows, conversion, totals and donors.

Why a module of its own: every amount the plugin counts comes from these rows, so the one
function that writes them (:func:`record`, called only from ``record_events``) sits next to
the queries that read them. The row's key is the event's dedupe key ``(source,
source_id)``, UNIQUE in the table. A donation in another currency is converted into the
campaign's currency when it is recorded, at the campaign's rate of that day, and the row
keeps both amounts and the rate: the nonprofit's report shows what was actually given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from limelight import Money
from tortoise.functions import Count, Sum

from .models import Campaign, CharityEntry


@dataclass(frozen=True, slots=True)
class Counted:
    """What a donation adds to its campaign, in the campaign's currency."""

    money: Money
    converted: bool
    rate: str
    #: No rate for the donation's currency: kept in its own currency's total only.
    unconverted: bool = False


def count(money: Money, campaign: Campaign) -> Counted:
    """``money`` in the campaign's currency, with the campaign's configured rate."""
    if money.currency == campaign.currency:
        return Counted(money, False, "")
    rate = (campaign.rates or {}).get(money.currency)
    if rate is None:
        return Counted(Money(0, campaign.currency), False, "", unconverted=True)
    return Counted(money.convert(campaign.currency, Decimal(rate)), True, str(rate))


async def record(
    *,
    campaign: Campaign,
    provider: str,
    provider_id: str,
    kind: str,
    channel: str,
    money: Money,
    counted: Counted,
    viewer_platform: str = "",
    viewer_id: str = "",
    viewer_name: str = "",
    anonymous: bool = False,
    message: str = "",
    occurred_at: datetime,
    event_id: int | None = None,
    original: CharityEntry | None = None,
    reason: str = "",
) -> CharityEntry:
    """Insert one row in the running transaction (``record_events`` only). A plain insert:
    a conflict raises and the core retries the event alone; no second write path."""
    entry = CharityEntry(
        campaign=campaign,
        provider=provider[:80],
        provider_id=provider_id[:200],
        kind=kind,
        channel=channel[:40],
        amount_minor=money.minor,
        currency=money.currency,
        counted_minor=counted.money.minor,
        converted=counted.converted,
        unconverted=counted.unconverted,
        rate=counted.rate[:40],
        viewer_platform=viewer_platform[:40],
        viewer_id=viewer_id[:100],
        viewer_name=viewer_name[:200],
        anonymous=anonymous,
        message=message,
        occurred_at=occurred_at,
        event_id=event_id,
        original=original,
        reason=reason[:200],
    )
    await entry.save()
    return entry


async def row_of(provider: str, provider_id: str) -> CharityEntry | None:
    return await CharityEntry.get_or_none(provider=provider, provider_id=provider_id)


async def refunded(original: CharityEntry) -> tuple[int, int]:
    """What was already given back of ``original``: (amount, counted), both >= 0."""
    row = (
        await CharityEntry.filter(original_id=original.id)
        .annotate(amount=Sum("amount_minor"), counted=Sum("counted_minor"))
        .first()
        .values("amount", "counted")
    )
    if not row:
        return 0, 0
    return -int(row["amount"] or 0), -int(row["counted"] or 0)


async def total(campaign_id: int) -> int:
    """The campaign's total in minor units of its currency (refunds subtracted)."""
    row = (
        await CharityEntry.filter(campaign_id=campaign_id)
        .annotate(total=Sum("counted_minor"))
        .first()
        .values("total")
    )
    return int(row["total"] or 0) if row else 0


async def per_currency(campaign_id: int) -> list[tuple[Money, int]]:
    """What was given in each currency, as given (before conversion), with entry counts."""
    rows = (
        await CharityEntry.filter(campaign_id=campaign_id)
        .annotate(amount=Sum("amount_minor"), n=Count("id"))
        .group_by("currency")
        .values("currency", "amount", "n")
    )
    return sorted(
        ((Money(int(r["amount"] or 0), r["currency"]), int(r["n"])) for r in rows),
        key=lambda item: item[0].currency,
    )


async def any_converted(campaign_id: int) -> tuple[bool, bool]:
    """(some amount was converted, some amount had no rate and is not in the total)."""
    converted = await CharityEntry.filter(campaign_id=campaign_id, converted=True).exists()
    missing = await CharityEntry.filter(campaign_id=campaign_id, unconverted=True).exists()
    return converted, missing


@dataclass(frozen=True, slots=True)
class Donor:
    platform: str
    id: str
    name: str
    anonymous: bool
    counted_minor: int
    last_at: datetime


def donor_key(entry: CharityEntry) -> tuple[str, str]:
    """Who gave it: the viewer, or the name for donors without an account."""
    if entry.viewer_id:
        return (entry.viewer_platform, entry.viewer_id)
    return ("", f"entry:{entry.original_id or entry.id}")  # type: ignore[attr-defined]


async def donors(campaign_id: int) -> list[Donor]:
    """Every donor with what they gave in net (refunds subtracted), biggest first."""
    entries = await CharityEntry.filter(campaign_id=campaign_id).order_by("id")
    sums: dict[tuple[str, str], list[Any]] = {}
    for e in entries:
        key = donor_key(e)
        slot = sums.get(key)
        if slot is None:
            sums[key] = [e.viewer_name, e.anonymous, e.counted_minor, e.occurred_at]
        else:
            slot[2] += e.counted_minor
            if e.kind != "refund":
                slot[0] = e.viewer_name or slot[0]
                slot[1] = slot[1] and e.anonymous
                slot[3] = max(slot[3], e.occurred_at)
    out = [
        Donor(k[0], k[1] if k[0] else "", v[0], v[1], v[2], v[3])
        for k, v in sums.items()
        if v[2] > 0
    ]
    out.sort(key=lambda d: (-d.counted_minor, d.last_at))
    return out


async def recent(campaign_id: int, limit: int) -> list[CharityEntry]:
    """The latest donations that still count (a fully refunded one is left out)."""
    if limit <= 0:
        return []
    rows: list[CharityEntry] = (
        await CharityEntry.filter(campaign_id=campaign_id)
        .exclude(kind="refund")
        .order_by("-occurred_at", "-id")
        .limit(limit * 3)
    )
    back: dict[int, int] = {}
    if rows:
        for ref in await CharityEntry.filter(original_id__in=[r.id for r in rows]).values(
            "original_id", "amount_minor"
        ):
            key = int(ref["original_id"])
            back[key] = back.get(key, 0) - int(ref["amount_minor"])
    return [r for r in rows if back.get(r.id, 0) < r.amount_minor][:limit]
