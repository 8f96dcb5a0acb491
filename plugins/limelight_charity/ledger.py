"""The donation ledger: exactly-once rows, conversion, totals and donors.

Why a module of its own: every amount the plugin counts comes from these rows, so the one
function that writes them (:func:`record`, called only from ``record_events``) sits next to
the queries that read them. The row's key is the event's dedupe key ``(source,
source_id)``, UNIQUE in the table. A donation in another currency is converted into the
campaign's currency when it is recorded, at the campaign's rate of that day, and the row
keeps both amounts and the rate: the nonprofit's report shows what was actually given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from limelight import Money
from limelight.db import placeholders
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.functions import Count, Sum

from .models import Campaign, CampaignTotal, CharityEntry


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


async def total(campaign_id: int, using: BaseDBAsyncClient | None = None) -> int:
    """The campaign's total in minor units of its currency (refunds subtracted): its
    running total (:class:`~.models.CampaignTotal`), or the sum of its entries when it has
    none yet. ``using``: the connection to read on (the overlays' state reads on
    ``ctx.db.reader``, beside the commits; the default, inside ``record_events``, is the
    transaction)."""
    conn = using or CharityEntry._meta.db
    mark = placeholders(conn.capabilities.dialect, 1, 1)
    found = await conn.execute_query_dict(
        f"SELECT total_minor FROM {CampaignTotal._meta.db_table} WHERE campaign_id IN {mark}",
        [campaign_id],
    )
    if found:
        return int(found[0]["total_minor"])
    return await summed(campaign_id, conn)


async def summed(campaign_id: int, using: BaseDBAsyncClient | None = None) -> int:
    """The sum of the campaign's entries, read from the (campaign, id, amount) index: what
    its running total must always equal."""
    row = (
        await CharityEntry.filter(campaign_id=campaign_id)
        .using_db(using)
        .annotate(total=Sum("counted_minor"))
        .first()
        .values("total")
    )
    return int(row["total"] or 0) if row else 0


async def add_to_total(conn: BaseDBAsyncClient, campaign_id: int, added: int) -> int:
    """Add ``added`` (minor units, negative for refunds) to the campaign's running total in
    the transaction that wrote those entries, and return the new total. A campaign without
    a row gets one from the sum of its entries, which already holds this transaction's.

    One statement per campaign per batch where the sum read every entry of the campaign.
    The row is changed only here, in the transaction that writes the entries it counts,
    so it rolls back with them (a plugin's failed part, a failed batch) and counts each
    once. On PostgreSQL other transactions run beside this one (a retried part is written
    in its own): when one of them makes the row first, the insert finds it there, waits
    for that transaction and adds to what it committed, which already counts its entries.
    """
    table = CampaignTotal._meta.db_table
    postgres = conn.capabilities.dialect == "postgres"
    a, b = ("$1", "$2") if postgres else ("?", "?")
    add = (
        f"UPDATE {table} SET total_minor = total_minor + {a} WHERE campaign_id = {b} "
        "RETURNING total_minor"
    )
    found = await conn.execute_query_dict(add, [added, campaign_id])
    if not found:
        entries = CharityEntry._meta
        found = await conn.execute_query_dict(
            f"INSERT INTO {table} (campaign_id, total_minor) "
            f"SELECT CAST({a} AS INTEGER), COALESCE(SUM(counted_minor), 0) "
            f"FROM {entries.db_table} WHERE {entries.fields_db_projection['campaign_id']} = {b} "
            "ON CONFLICT (campaign_id) DO NOTHING RETURNING total_minor",
            [campaign_id, campaign_id],
        )
    if not found:  # made by a transaction beside this one since the update
        found = await conn.execute_query_dict(add, [added, campaign_id])
    return int(found[0]["total_minor"])


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


async def any_converted(
    campaign_id: int, using: BaseDBAsyncClient | None = None
) -> tuple[bool, bool]:
    """(some amount was converted, some amount had no rate and is not in the total)."""
    entries = CharityEntry.filter(campaign_id=campaign_id).using_db(using)
    converted = await entries.filter(converted=True).exists()
    missing = await entries.filter(unconverted=True).exists()
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


#: The entry columns a donor is summed from, in the order :func:`_sum_donors` reads them.
_DONOR_COLUMNS = (
    "viewer_platform",
    "viewer_id",
    "original_id",
    "id",
    "viewer_name",
    "anonymous",
    "counted_minor",
    "occurred_at",
    "kind",
)
#: More donors tied at the top than this and :func:`top_donors` reads every entry.
TOP_CANDIDATES = 500


async def donors(campaign_id: int, using: BaseDBAsyncClient | None = None) -> list[Donor]:
    """Every donor with what they gave in net (refunds subtracted), biggest first: every
    entry of the campaign is read (see :func:`total` for ``using``).

    Read as plain rows, not model objects: a long campaign has tens of thousands of
    entries, and building a model object for each took ~0.1 ms (5 s for 50,000) of the
    event loop's time."""
    conn = using or CharityEntry._meta.db
    return _sum_donors(await _entry_rows(conn, campaign_id, ""), _when())


async def top_donors(
    campaign_id: int, size: int, using: BaseDBAsyncClient | None = None
) -> list[Donor]:
    """``donors(campaign_id)[:size]``, without reading every entry: the database sums each
    donor's net, and only the entries of those who can be in the top ``size`` (every donor
    with a net at least the ``size``-th largest, ties included) are read and summed as
    :func:`donors` does. Why: the donor wall follows every donation, and a campaign of
    50,000 entries took ~0.4 s of the event loop's time to read whole each time."""
    if size <= 0:
        return []
    conn = using or CharityEntry._meta.db
    meta = CharityEntry._meta
    column = meta.fields_db_projection
    viewer_id = column["viewer_id"]
    entry = f"COALESCE({column['original_id']}, {column['id']})"
    dialect = conn.capabilities.dialect
    # Each donor as donor_key() finds them: by viewer (platform, id), or by first entry.
    sql = (
        "SELECT viewer, kp, kid, SUM(n) FROM (SELECT "
        f"CASE WHEN {viewer_id} <> '' THEN 1 ELSE 0 END AS viewer, "
        f"CASE WHEN {viewer_id} <> '' THEN {column['viewer_platform']} ELSE '' END AS kp, "
        f"CASE WHEN {viewer_id} <> '' THEN {viewer_id} ELSE CAST({entry} AS TEXT) END AS kid, "
        f"{column['counted_minor']} AS n FROM {meta.db_table} "
        f"WHERE {column['campaign_id']} IN {placeholders(dialect, 1, 1)}) AS e "
        "GROUP BY viewer, kp, kid HAVING SUM(n) > 0"
    )
    _, nets = await conn.execute_query(sql, [campaign_id])
    if len(nets) > size:
        floor = sorted((int(row[3]) for row in nets), reverse=True)[size - 1]
        nets = [row for row in nets if int(row[3]) >= floor]
    if len(nets) > TOP_CANDIDATES:  # a wall of ties: as cheap to read everything
        return (await donors(campaign_id, using))[:size]
    viewers = sorted({str(row[2]) for row in nets if row[0]})
    entries = sorted({int(row[2]) for row in nets if not row[0]})
    if not viewers and not entries:
        return []
    # after the campaign's mark: the viewers' ids, then the entries'
    found = [f"{viewer_id} IN {placeholders(dialect, len(viewers), 1, first=2)}"] if viewers else []
    if entries:
        marks = placeholders(dialect, len(entries), 1, first=2 + len(viewers))
        found.append(f"({viewer_id} = '' AND {entry} IN {marks})")
    rows = await _entry_rows(
        conn, campaign_id, " AND (" + " OR ".join(found) + ")", [*viewers, *entries]
    )
    wanted = {(str(r[1]), str(r[2])) if r[0] else ("", f"entry:{r[2]}") for r in nets}
    return _sum_donors(rows, _when(), wanted)[:size]


def donors_of(entries: Iterable[CharityEntry]) -> list[Donor]:
    """:func:`donors`, summed from a campaign's entries already read as model objects
    (the report reads them all for its chart): the same sums, without reading every entry
    a second time."""
    rows = [
        tuple(getattr(e, name) for name in _DONOR_COLUMNS)
        for e in sorted(entries, key=lambda e: e.id)
    ]
    return _sum_donors(rows, lambda at: at)


async def _entry_rows(
    conn: BaseDBAsyncClient, campaign_id: int, where: str, params: list[Any] | None = None
) -> list[Any]:
    """The :data:`_DONOR_COLUMNS` of the campaign's entries (``where``: more conditions,
    their parameters after the campaign's), in id order."""
    meta = CharityEntry._meta
    column = meta.fields_db_projection
    mark = placeholders(conn.capabilities.dialect, 1, 1)
    sql = (
        f"SELECT {', '.join(column.get(n, n) for n in _DONOR_COLUMNS)} FROM {meta.db_table} "
        f"WHERE {column['campaign_id']} IN {mark}{where} ORDER BY {column['id']}"
    )
    _, rows = await conn.execute_query(sql, [campaign_id, *(params or [])])
    return list(rows)


def _when() -> Callable[[Any], datetime]:
    """``occurred_at`` as the field reads it from a plain row: SQLite's text parsed
    directly (the field's own conversion costs several times more per value)."""
    to_python = CharityEntry._meta.fields_map["occurred_at"].to_python_value

    def when(raw: Any) -> datetime:
        if raw.__class__ is str:
            parsed = datetime.fromisoformat(raw)
            if parsed.tzinfo is not None:
                return parsed
        return to_python(raw)  # type: ignore[no-any-return]

    return when


def _sum_donors(
    rows: Iterable[Any],
    when: Callable[[Any], datetime],
    only: set[tuple[str, str]] | None = None,
) -> list[Donor]:
    """What each donor gave in net, from their entries' :data:`_DONOR_COLUMNS` in id
    order: the latest name and last donation of their gifts, anonymous only if every
    gift was, refunds subtracted; biggest first, then the earliest last donation.
    ``only``: the keys (as :func:`donor_key` makes them) of the donors wanted."""
    sums: dict[tuple[str, str], list[Any]] = {}
    for platform, viewer_id, original_id, entry_id, name, anonymous, counted, at, kind in rows:
        # donor_key(), on the row's values
        key = (platform, viewer_id) if viewer_id else ("", f"entry:{original_id or entry_id}")
        if only is not None and key not in only:
            continue
        slot = sums.get(key)
        if slot is None:
            sums[key] = [name, bool(anonymous), counted, when(at)]
        else:
            slot[2] += counted
            if kind != "refund":
                slot[0] = name or slot[0]
                slot[1] = slot[1] and bool(anonymous)
                slot[3] = max(slot[3], when(at))
    out = [
        Donor(k[0], k[1] if k[0] else "", v[0], v[1], int(v[2]), v[3])
        for k, v in sums.items()
        if v[2] > 0
    ]
    out.sort(key=lambda d: (-d.counted_minor, d.last_at))
    return out


async def recent(
    campaign_id: int, limit: int, using: BaseDBAsyncClient | None = None
) -> list[CharityEntry]:
    """The latest donations that still count (a fully refunded one is left out), read on
    ``using`` (see :func:`total`)."""
    if limit <= 0:
        return []
    rows: list[CharityEntry] = (
        await CharityEntry.filter(campaign_id=campaign_id)
        .using_db(using)
        .exclude(kind="refund")
        .order_by("-occurred_at", "-id")
        .limit(limit * 3)
    )
    back: dict[int, int] = {}
    if rows:
        for ref in (
            await CharityEntry.filter(original_id__in=[r.id for r in rows])
            .using_db(using)
            .values("original_id", "amount_minor")
        ):
            key = int(ref["original_id"])
            back[key] = back.get(key, 0) - int(ref["amount_minor"])
    return [r for r in rows if back.get(r.id, 0) < r.amount_minor][:limit]
