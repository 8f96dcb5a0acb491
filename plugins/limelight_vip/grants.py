"""Writing grants and revocations: the one place membership rows change.

Each function here runs in the caller's transaction (the bus's, inside ``record_events``,
or one the engine opens for a moderator's grant), reads what it needs from the database in
that transaction (so a second payment in the same batch stacks on the first), and returns
:class:`Change` records for what viewers and other plugins should hear about once it is
committed. Nothing here touches memory, chat or the bus.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from limelight import Money, ViewerRef
from tortoise.expressions import Q

from .models import Membership
from .roster import MEMBER


@dataclass(frozen=True, slots=True)
class Ask:
    """A grant to write, keyed by ``(source, source_id)``."""

    viewer: ViewerRef
    tier: str
    source: str
    source_id: str
    #: How long; ``None`` with no ``until``: until revoked.
    duration: timedelta | None = None
    #: An absolute end instead (a Stripe period's end): the grant runs from now to then.
    until: datetime | None = None
    kind: str = MEMBER
    granted_by: str = ""
    reason: str = ""
    payment: str = ""
    subscription: str = ""
    payment_ref: str = ""
    checkout: str = ""
    amount: Money | None = None
    #: No welcome in chat (a gift in a bomb, a sub badge seen in chat).
    quiet: bool = False
    #: A "new member" alert (not when the payment had its own: a Twitch sub, a tip).
    alert: bool = True


@dataclass(frozen=True, slots=True)
class Change:
    """Something viewers and other plugins hear about (``membership.changed``)."""

    row_id: int
    viewer: ViewerRef
    tier: str
    kind: str
    #: granted, renewed, revoked, expired
    status: str
    expires_at: datetime | None
    quiet: bool = False
    alert: bool = True


def key_of(source: str, source_id: str) -> str:
    return f"{source}:{source_id}"


async def chain_end(
    viewer: ViewerRef, tier: str, kind: str, now: datetime
) -> tuple[bool, datetime | None]:
    """Whether the viewer holds (or has queued) ``tier`` and when it runs out."""
    rows = await Membership.filter(
        viewer_platform=viewer.platform,
        viewer_id=viewer.id,
        kind=kind,
        tier=tier,
        revoked_at=None,
        ended_at=None,
    ).only("ends")
    held = False
    latest: datetime | None = None
    for row in rows:
        if row.ends is None:
            return True, None
        if row.ends > now:
            held = True
            latest = row.ends if latest is None or row.ends > latest else latest
    return held, latest


async def write(ask: Ask, now: datetime) -> tuple[Membership, Change | None]:
    """Write ``ask`` once; ``(row, None)`` when ``(source, source_id)`` was granted before.

    A duration stacks after what the viewer already has of that tier (a renewal paid early
    adds its month at the end); an absolute ``until`` (a provider's period) starts now."""
    existing = await Membership.get_or_none(source=ask.source, source_id=ask.source_id)
    if existing is not None:
        return existing, None
    held, latest = await chain_end(ask.viewer, ask.tier, ask.kind, now)
    starts = now
    ends: datetime | None
    if ask.until is not None:
        ends = max(ask.until, now + timedelta(minutes=1))
    elif ask.duration is not None:
        if latest is not None:
            starts = latest
        ends = starts + ask.duration
    else:
        ends = None
    row = await Membership.create(
        viewer_platform=ask.viewer.platform,
        viewer_id=ask.viewer.id,
        viewer_name=ask.viewer.name[:200],
        kind=ask.kind,
        tier=ask.tier,
        source=ask.source,
        source_id=ask.source_id,
        starts=starts,
        ends=ends,
        granted_by=ask.granted_by[:200],
        reason=ask.reason[:200],
        payment=ask.payment[:300],
        subscription=ask.subscription[:200],
        payment_ref=ask.payment_ref[:200],
        checkout=ask.checkout[:200],
        amount_minor=ask.amount.minor if ask.amount is not None else None,
        currency=ask.amount.currency if ask.amount is not None else "",
    )
    end = None if ends is None else max(ends, latest) if latest is not None else ends
    status = "renewed" if held else "granted"
    change = Change(int(row.id), ask.viewer, ask.tier, ask.kind, status, end, ask.quiet, ask.alert)
    return row, change


async def revoke(
    rows: list[Membership], reason: str, now: datetime
) -> tuple[list[Membership], list[Change]]:
    """Revoke ``rows`` (each once: a concurrent revocation of the same row loses) and say
    which viewers lost a tier by it; returns the rows this call revoked, and the changes."""
    done: list[Membership] = []
    for row in rows:
        if row.revoked_at is not None:
            continue
        updated = await Membership.filter(id=row.id, revoked_at=None).update(
            revoked_at=now, reason=reason[:200]
        )
        if updated:
            row.revoked_at = now
            row.reason = reason[:200]
            done.append(row)
    return done, await revoked_changes(done, now)


async def revoked_changes(rows: list[Membership], now: datetime) -> list[Change]:
    """The ``revoked`` changes for revoked ``rows``: one per viewer and tier, and none when
    another grant still keeps the viewer in that tier. Also used to announce again, after
    a restart, a revocation committed before a crash and not yet announced."""
    changes: list[Change] = []
    seen: set[tuple[str, str, str, str]] = set()
    for row in rows:
        viewer = ViewerRef(row.viewer_platform, row.viewer_id, row.viewer_name)
        marker = (row.viewer_platform, row.viewer_id, row.kind, row.tier)
        if marker in seen:
            continue
        seen.add(marker)
        still, _ = await chain_end(viewer, row.tier, row.kind, now)
        if not still:
            changes.append(Change(int(row.id), viewer, row.tier, row.kind, "revoked", None))
    return changes


async def paid_by(payment: str) -> list[Membership]:
    """The live grants a payment bought, and every grant of a subscription it was part of
    (a refunded membership payment ends the membership, not one month of it)."""
    rows = await Membership.filter(payment=payment, revoked_at=None).order_by("id")
    subs = {r.subscription for r in rows if r.subscription}
    if subs:
        rows += (
            await Membership.filter(subscription__in=sorted(subs), revoked_at=None)
            .exclude(id__in=[r.id for r in rows])
            .order_by("id")
        )
    return rows


async def of_subscription(subscription: str) -> list[Membership]:
    return await Membership.filter(subscription=subscription, revoked_at=None).order_by("id")


async def live_of(source: str, subscription: str, now: datetime) -> list[Membership]:
    """The grants of ``source``'s ``subscription`` that still hold (or are queued): not
    revoked, not ended, and with no end or one after ``now``. A grant ended a moment ago
    (its end set, the expiry not yet run) is no longer live, so a second ending or a tier
    change does not act on it again."""
    return await Membership.filter(
        Q(ends__isnull=True) | Q(ends__gt=now),
        source=source,
        subscription=subscription,
        revoked_at=None,
        ended_at=None,
    ).order_by("id")


async def revoked_by(payment: str = "", subscription: str = "") -> list[Membership]:
    """The revoked grants a refund of ``payment`` (or of ``subscription``'s payments) took
    back, in the order :func:`paid_by` and :func:`of_subscription` found them before it (so
    :func:`revoked_changes` names the same row, and the bus dedupes the announcement)."""
    rows = []
    if payment:
        rows = await Membership.filter(payment=payment, revoked_at__isnull=False).order_by("id")
    subs = {r.subscription for r in rows if r.subscription} | ({subscription} - {""})
    if subs:
        rows += (
            await Membership.filter(subscription__in=sorted(subs), revoked_at__isnull=False)
            .exclude(id__in=[r.id for r in rows])
            .order_by("id")
        )
    return rows
