"""Who a tip is from, as the core knows them: their viewer id and name opt-out, cached.

Why a cache: a burst of tips from regulars would otherwise cost one viewer query per tip,
inside the transaction every webhook of the burst waits on. An entry lives a few seconds
(``!tipname`` drops it at once), and a viewer first seen inside a transaction is cached
only once that transaction commits: a rolled-back batch must not leave a viewer id behind
that no row has.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from limelight import PluginContext, Transaction, ViewerRef

from .config import TipsConfig
from .providers.common import PROVIDER_LABELS

#: Platforms that name a payer rather than a chat viewer (see ``providers.common.supporter``).
PROVIDERS = frozenset(PROVIDER_LABELS)
#: Seconds a cached viewer is trusted before the core's table is read again.
PERSON_TTL = 10.0
#: Entries kept at most; past that the cache starts over (it only saves queries).
MAX_PEOPLE = 50_000


@dataclass(frozen=True, slots=True)
class Person:
    """What a tip needs of the core viewer: who they are across platforms, their opt-out."""

    pk: int
    name: str
    hide_name: bool
    fresh_until: float


def is_chat_viewer(viewer: ViewerRef | None) -> bool:
    """Payers known only to a provider (no tip code) are not chat viewers: no core row."""
    return viewer is not None and viewer.platform not in PROVIDERS


class People:
    def __init__(self, ctx: PluginContext[TipsConfig]) -> None:
        self.ctx = ctx
        self._cache: dict[tuple[str, str], Person] = {}

    async def person(self, viewer: ViewerRef, tx: Transaction | None = None) -> Person:
        """The core viewer behind ``viewer`` (created on first sight)."""
        now = time.monotonic()
        cached = self._cache.get(viewer.key)
        if cached is not None and cached.fresh_until > now and cached.name == viewer.name:
            return cached
        row = await self.ctx.viewers.get_or_create(viewer)
        person = Person(row.id, viewer.name, bool(row.hide_name), now + PERSON_TTL)
        if tx is not None:
            tx.on_commit(lambda: self._keep(viewer, person))
        else:
            self._keep(viewer, person)
        return person

    async def hides_name(self, viewer: ViewerRef | None) -> bool:
        """Whether ``viewer`` opted out of being named, without creating anyone (for test
        events, which write nothing)."""
        if not is_chat_viewer(viewer):
            return False
        assert viewer is not None
        cached = self._cache.get(viewer.key)
        if cached is not None and cached.fresh_until > time.monotonic():
            return cached.hide_name
        row = await self.ctx.viewers.find(viewer)
        return bool(row is not None and row.hide_name)

    def forget(self, viewer: ViewerRef) -> None:
        self._cache.pop(viewer.key, None)

    def _keep(self, viewer: ViewerRef, person: Person) -> None:
        if len(self._cache) >= MAX_PEOPLE:
            self._cache.clear()
        self._cache[viewer.key] = person
