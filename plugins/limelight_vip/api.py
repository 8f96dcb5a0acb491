"""The VIP plugin's API for other plugins: memberships, tiers and members-only chat.

Other plugins never import the VIP plugin's internals. They ask the host for it by this
protocol and work without it when it is absent or disabled::

    from limelight_vip.api import Memberships

    vip = self.ctx.peer("vip", Memberships)
    if vip is not None and vip.is_member(viewer, {"gold"}):
        ...

Everything here is deduplicated by ``(source, source_id)``, like a provider's payment: a
challenge milestone that grants a tier twice (a retry, a replay after a crash) grants once.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from limelight import ViewerRef


@dataclass(frozen=True, slots=True)
class Tier:
    """A membership tier as other plugins see it."""

    name: str
    label: str
    colour: str
    #: Higher ranks are better tiers ("members first" windows admit this rank and up).
    rank: int
    #: What it gives: ``emotes``, ``room``, ``content``, ``members_only_chat``,
    #: ``early_access`` (the shop admits tiers with it to drops early).
    perks: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Held:
    """A viewer's current membership."""

    viewer: ViewerRef
    tier: str
    source: str
    starts: datetime
    #: ``None``: until revoked (a Twitch sub renews itself; its end is the platform's).
    ends: datetime | None


@dataclass(frozen=True, slots=True)
class Granted:
    """What :meth:`Memberships.grant` did."""

    #: False when ``(source, source_id)`` was granted before: nothing changed.
    new: bool
    membership: Held


@runtime_checkable
class Memberships(Protocol):
    """What the ``vip`` plugin offers other plugins (``ctx.peer("vip", Memberships)``)."""

    def tiers(self) -> Sequence[Tier]:
        """The configured tiers, lowest rank first."""
        ...

    def membership(self, viewer: ViewerRef) -> Held | None:
        """The viewer's best current membership, or ``None``. A dict read: cheap enough for
        every chat line."""
        ...

    def is_member(self, viewer: ViewerRef, tiers: Collection[str] | None = None) -> bool:
        """Whether the viewer holds any current membership (or one of ``tiers``)."""
        ...

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
        """Grant (or extend) ``tier`` for ``duration`` (``None``: until revoked), once per
        ``(source, source_id)``. Raises ``KeyError`` for an unknown tier."""
        ...

    async def revoke(self, source: str, source_id: str, *, reason: str) -> bool:
        """Revoke what the grant ``(source, source_id)`` gave, and everything it unlocked.
        Returns False when there was nothing (left) to revoke."""
        ...

    async def open_members_window(self, duration: timedelta, *, reason: str) -> None:
        """Make chat members-only for ``duration`` (a milestone's reward, a scheduled
        window). Moderators and the broadcaster are exempt; extends an open window."""
        ...

    def members_window_open(self) -> bool:
        """Whether chat is members-only right now."""
        ...


__all__ = ["Granted", "Held", "Memberships", "Tier"]
