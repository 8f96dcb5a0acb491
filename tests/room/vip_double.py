"""A stand-in for the VIP plugin: the ``Memberships`` API, memberships kept in a dict.

It is registered under the name ``vip`` exactly as the real plugin will be, and the room
plugin only ever reaches it through ``ctx.peer("vip", Memberships)``; swapping in the real
plugin is a change of the ``plugins`` mapping. Ending a membership publishes the same
``membership.changed`` event the real plugin publishes.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

from limelight import MembershipChanged, NoConfig, Plugin, ViewerRef
from limelight_vip.api import Granted, Held, Memberships, Tier

TIERS = (
    Tier("silver", "Silver", "#c0c0c0", 1),
    Tier("gold", "Gold", "#ffcc00", 2),
)

_ids = itertools.count(1)


class FakeVip(Plugin[NoConfig]):
    def __init__(self) -> None:
        super().__init__()
        self.held: dict[tuple[str, str], Held] = {}
        self.grants: dict[tuple[str, str], tuple[str, str]] = {}
        self.window = False

    def tiers(self) -> Sequence[Tier]:
        return TIERS

    def membership(self, viewer: ViewerRef) -> Held | None:
        held = self.held.get(viewer.key)
        if held is None or (held.ends is not None and held.ends <= datetime.now(UTC)):
            return None
        return held

    def is_member(self, viewer: ViewerRef, tiers: Collection[str] | None = None) -> bool:
        held = self.membership(viewer)
        return held is not None and (tiers is None or held.tier in tiers)

    async def grant(
        self,
        viewer: ViewerRef,
        tier: str,
        *,
        duration: timedelta | None,
        source: str,
        source_id: str,
        reason: str = "",
    ) -> Granted:
        if tier not in {t.name for t in TIERS}:
            raise KeyError(tier)
        if (source, source_id) in self.grants:
            return Granted(False, self.held[viewer.key])
        now = datetime.now(UTC)
        held = Held(viewer, tier, source, now, now + duration if duration else None)
        self.held[viewer.key] = held
        self.grants[(source, source_id)] = viewer.key
        await self.ctx.publish(
            MembershipChanged(
                source="vip",
                source_id=f"granted-{next(_ids)}",
                viewer=viewer,
                level=tier,
                status="granted",
                expires_at=held.ends,
            )
        )
        return Granted(True, held)

    async def revoke(self, source: str, source_id: str, *, reason: str) -> bool:
        key = self.grants.pop((source, source_id), None)
        if key is None or key not in self.held:
            return False
        await self.end(self.held[key].viewer, "revoked")
        return True

    async def end(self, viewer: ViewerRef, status: str = "expired") -> None:
        """The membership ends (it expired, or was revoked) and the event goes out."""
        held = self.held.pop(viewer.key)
        await self.ctx.publish(
            MembershipChanged(
                source="vip",
                source_id=f"{status}-{next(_ids)}",
                viewer=viewer,
                level=held.tier,
                status=status,
            )
        )

    async def open_members_window(self, duration: timedelta, *, reason: str) -> None:
        self.window = True

    def members_window_open(self) -> bool:
        return self.window


# Checked by mypy: the double offers the whole API.
_api: type[Memberships] = FakeVip

__all__ = ["TIERS", "FakeVip"]
