"""Which viewers hold which badges, for chat overlays and chat replies.

Plugins own the truth (a VIP membership row); at startup they award what is held, and they
award or revoke as it changes. Lookups happen on every chat line, so they are a dict read.
"""

from __future__ import annotations

from collections import defaultdict

from .events import ViewerRef
from .registry import Badge, Registry


class BadgeBook:
    def __init__(self, registry: Registry[Badge]) -> None:
        self.registry = registry
        self._held: dict[tuple[str, str], set[str]] = defaultdict(set)

    def award(self, viewer: ViewerRef, badge: str) -> None:
        if badge not in self.registry:
            raise KeyError(f"unknown badge {badge!r}; register it with register_badges")
        self._held[viewer.key].add(badge)

    def revoke(self, viewer: ViewerRef, badge: str) -> None:
        held = self._held.get(viewer.key)
        if held is not None:
            held.discard(badge)

    def for_viewer(self, viewer: ViewerRef | None) -> list[Badge]:
        if viewer is None:
            return []
        names = self._held.get(viewer.key)
        if not names:
            return []
        return [b for n in sorted(names) if (b := self.registry.get(n)) is not None]
