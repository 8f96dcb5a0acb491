"""One event when IRC and EventSub report the same thing.

Twitch tells a cheer, a subscription or a gift bomb twice: as an IRC line and as an
EventSub notification, each with its own id and no id in common. Both paths compute the
same correlation key from what they share (kind, user id, amount, tier; see
:mod:`.mapping`). The first report of a key is published; a report of the same key from
the *other* path within ``window`` seconds cancels against it and is dropped. Two real
cheers of the same size by the same viewer are still two events: each first-path report
absorbs at most one twin.

Known limit: if one path loses a report (a reconnect gap) and the same viewer repeats the
same thing within the window, the repeat's twin is absorbed by the older report. Money is
not lost by this: the event that is published carries the same amount.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Any


class Correlator:
    def __init__(self, window: float = 120.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.window = window
        self.clock = clock
        self._open: dict[tuple[Any, ...], deque[tuple[str, float, str]]] = {}
        self.twins = 0

    def admit(self, key: tuple[Any, ...], path: str, source_id: str = "") -> str | None:
        """``None``: publish this report. Otherwise it is the twin of a report already
        published, whose ``source_id`` is returned (to link to it instead)."""
        now = self.clock()
        self._expire(now)
        waiting = self._open.setdefault(key, deque())
        for i, (other, _, winner) in enumerate(waiting):
            if other != path:
                del waiting[i]
                if not waiting:
                    del self._open[key]
                self.twins += 1
                return winner
        waiting.append((path, now, source_id))
        return None

    def _expire(self, now: float) -> None:
        horizon = now - self.window
        for key in [k for k, q in self._open.items() if q and q[-1][1] < horizon]:
            del self._open[key]
        for q in self._open.values():
            while q and q[0][1] < horizon:
                q.popleft()
