"""Who holds what right now: the tiers, and the current grants in memory.

Why in memory: gating and badges ask on every chat line, and other plugins call
``is_member`` just as often. The database holds the truth; this is a copy of the grants that
are neither revoked nor ended, loaded at startup and changed only after a write commits.
"""

from __future__ import annotations

import builtins
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from limelight import ViewerRef

from .api import Held, Tier
from .config import TierConfig
from .models import Membership

MEMBER = "member"
SUPPORTER = "supporter"


def now_utc() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Row:
    """A current grant (a snapshot of its :class:`Membership` row)."""

    id: int
    viewer: ViewerRef
    kind: str
    tier: str
    source: str
    source_id: str
    starts: datetime
    ends: datetime | None
    granted_by: str
    subscription: str
    warned: bool
    created_at: datetime

    def current(self, at: datetime) -> bool:
        return self.starts <= at and (self.ends is None or self.ends > at)


def row_of(m: Membership) -> Row:
    return Row(
        id=int(m.id),
        viewer=ViewerRef(m.viewer_platform, m.viewer_id, m.viewer_name),
        kind=m.kind,
        tier=m.tier,
        source=m.source,
        source_id=m.source_id,
        starts=m.starts,
        ends=m.ends,
        granted_by=m.granted_by,
        subscription=m.subscription,
        warned=m.warned,
        created_at=m.created_at or m.starts,
    )


def badge_sub_tier(message_badges: tuple[str, ...]) -> str | None:
    """The Twitch sub tier (``1000``/``2000``/``3000``) a chat line's badges show:
    ``subscriber/<n>`` where ``n`` is 2000+ for tier 2 and 3000+ for tier 3; ``founder``
    counts as tier 1. ``None`` when the line shows no sub badge."""
    for badge in message_badges:
        name, _, version = badge.partition("/")
        if name == "subscriber":
            number = int(version) if version.isdigit() else 0
            return "3000" if number >= 3000 else "2000" if number >= 2000 else "1000"
        if name == "founder":
            return "1000"
    return None


class Tiers:
    """The tiers in rank order (lowest first), from the dashboard or the config."""

    def __init__(self, tiers: Iterable[TierConfig]) -> None:
        self.set(tiers)

    def set(self, tiers: Iterable[TierConfig]) -> None:
        self.list: builtins.list[TierConfig] = list(tiers)
        self.by_name = {t.name: t for t in self.list}
        self.rank = {t.name: i for i, t in enumerate(self.list)}

    def get(self, name: str) -> TierConfig | None:
        return self.by_name.get(name)

    def label(self, name: str) -> str:
        tier = self.by_name.get(name)
        return tier.label if tier else name

    def find(self, text: str) -> TierConfig | None:
        """A tier by name or label, as a moderator or Ko-fi spells it."""
        wanted = text.strip().lower()
        for tier in self.list:
            if wanted in (tier.name, tier.label.lower(), tier.kofi_tier.lower()):
                return tier
        return None

    def public(self) -> list[Tier]:
        return [
            Tier(t.name, t.label, t.colour, i, frozenset(t.perks)) for i, t in enumerate(self.list)
        ]

    def for_twitch(self, sub_tier: str) -> TierConfig | None:
        wanted = "1000" if sub_tier.lower() == "prime" else sub_tier
        return next((t for t in self.list if t.twitch_tier == wanted), None)

    def for_fourthwall(self, tier_id: str) -> TierConfig | None:
        """The tier whose ``fourthwall_tier`` is Fourthwall's ``tierId`` (an id, matched
        exactly: names are not ids, so there is no fallback to the label here)."""
        wanted = tier_id.strip()
        if not wanted:
            return None
        return next((t for t in self.list if t.fourthwall_tier == wanted), None)

    def with_perk(self, perk: str) -> builtins.set[str]:
        return {t.name for t in self.list if perk in t.perks}


class Roster:
    """The current grants, by viewer."""

    def __init__(self, tiers: Tiers) -> None:
        self.tiers = tiers
        self.rows: dict[int, Row] = {}
        self._by_viewer: dict[tuple[str, str], set[int]] = {}

    def clear(self) -> None:
        self.rows.clear()
        self._by_viewer.clear()

    def add(self, row: Row) -> None:
        self.rows[row.id] = row
        self._by_viewer.setdefault(row.viewer.key, set()).add(row.id)

    def drop(self, row_id: int) -> Row | None:
        row = self.rows.pop(row_id, None)
        if row is not None:
            ids = self._by_viewer.get(row.viewer.key)
            if ids is not None:
                ids.discard(row_id)
                if not ids:
                    del self._by_viewer[row.viewer.key]
        return row

    def mark_warned(self, row_id: int) -> None:
        row = self.rows.get(row_id)
        if row is not None:
            self.rows[row_id] = replace(row, warned=True)

    def of(self, viewer: ViewerRef | tuple[str, str]) -> list[Row]:
        key = viewer.key if isinstance(viewer, ViewerRef) else viewer
        return [self.rows[i] for i in self._by_viewer.get(key, ())]

    def current(
        self, viewer: ViewerRef | tuple[str, str], kind: str = MEMBER, at: datetime | None = None
    ) -> list[Row]:
        at = at or now_utc()
        return [r for r in self.of(viewer) if r.kind == kind and r.current(at)]

    def tier_end(
        self, viewer: ViewerRef | tuple[str, str], tier: str, kind: str = MEMBER
    ) -> datetime | None:
        """When the viewer's ``tier`` runs out, renewals stacked after it included
        (``None``: it does not end by itself)."""
        ends: list[datetime] = []
        for r in self.of(viewer):
            if r.kind == kind and r.tier == tier:
                if r.ends is None:
                    return None
                ends.append(r.ends)
        return max(ends) if ends else None

    def best(self, viewer: ViewerRef | tuple[str, str], at: datetime | None = None) -> Row | None:
        rows = self.current(viewer, MEMBER, at)
        if not rows:
            return None
        return max(rows, key=lambda r: (self.tiers.rank.get(r.tier, -1), r.starts))

    def held(self, viewer: ViewerRef) -> Held | None:
        row = self.best(viewer)
        if row is None:
            return None
        first = min(
            (r.starts for r in self.of(viewer) if r.kind == MEMBER and r.tier == row.tier),
            default=row.starts,
        )
        return Held(
            viewer=row.viewer,
            tier=row.tier,
            source=row.source,
            starts=first,
            ends=self.tier_end(viewer, row.tier),
        )

    def holds(self, viewer: ViewerRef, tiers: Collection[str] | None = None) -> bool:
        at = now_utc()
        for r in self.of(viewer):
            if r.kind == MEMBER and r.current(at) and (tiers is None or r.tier in tiers):
                return True
        return False

    def tiers_of(self, viewer: ViewerRef | tuple[str, str], kind: str = MEMBER) -> set[str]:
        return {r.tier for r in self.current(viewer, kind)}

    def members(self, at: datetime | None = None) -> list[Row]:
        """Each current member once (their best grant), newest member first."""
        at = at or now_utc()
        best: dict[tuple[str, str], Row] = {}
        first: dict[tuple[str, str], datetime] = {}
        for key in self._by_viewer:
            row = self.best(key, at)
            if row is None:
                continue
            best[key] = row
            first[key] = min(
                r.starts for r in self.of(key) if r.kind == MEMBER and r.tier == row.tier
            )
        return sorted(best.values(), key=lambda r: first[r.viewer.key], reverse=True)

    def viewers(self) -> list[tuple[str, str]]:
        return list(self._by_viewer)

    def find_name(self, name: str) -> ViewerRef | None:
        wanted = name.lstrip("@").lower()
        for row in self.rows.values():
            if row.viewer.name.lower() == wanted:
                return row.viewer
        return None
