"""Login throttling: wrong dashboard logins are counted per client address and in total.

After ``[security] login_attempts`` wrong logins from one address, that address is refused
(429 with ``Retry-After``) for ``login_lockout`` seconds; each further lockout doubles the
wait, up to an hour. Across all addresses, ten times as many wrong logins lock every login
the same way, so guessing from many addresses is slowed too. A good login clears its
address's count; an address quiet for an hour is forgotten.

Why in memory: the counts protect a running server from guessing; a restart that forgets
them costs an attacker a restart they cannot cause. Behind a reverse proxy every client has
the proxy's address, so the per-address count is the proxy's (docs/operations.md).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

#: Longest wait one lockout can impose, in seconds.
MAX_LOCKOUT = 3600.0
#: An address (or the server) with no wrong login for this long starts from zero again.
FORGET_AFTER = 3600.0
#: The server-wide limit is this many times the per-address one.
GLOBAL_FACTOR = 10
#: Addresses remembered at most (the oldest are forgotten first), so a flood of addresses
#: cannot grow the table without bound.
MAX_ADDRESSES = 10_000


@dataclass
class _Bucket:
    failures: int = 0
    strikes: int = 0
    locked_until: float = 0.0
    last: float = 0.0


@dataclass(frozen=True)
class Refusal:
    """Why a login is refused right now and for how many more seconds."""

    retry_after: int
    message: str


class LoginThrottle:
    """Counts wrong logins; :meth:`check` says whether a login may be tried now."""

    def __init__(
        self, attempts: int, lockout: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.attempts = attempts
        self.lockout = lockout
        self.clock = clock
        self._addresses: OrderedDict[str, _Bucket] = OrderedDict()
        self._all = _Bucket()

    def check(self, address: str) -> Refusal | None:
        """``None`` when ``address`` may try a login now, else the refusal to answer."""
        now = self.clock()
        bucket = self._addresses.get(address)
        if bucket is not None and bucket.locked_until > now:
            wait = math.ceil(bucket.locked_until - now)
            return Refusal(
                wait, f"Too many wrong logins from your address. Try again in {wait} seconds."
            )
        if self._all.locked_until > now:
            wait = math.ceil(self._all.locked_until - now)
            return Refusal(
                wait, f"Too many wrong logins on this server. Try again in {wait} seconds."
            )
        return None

    def failed(self, address: str) -> None:
        """Count one wrong login from ``address`` (and for the server)."""
        now = self.clock()
        bucket = self._addresses.pop(address, None) or _Bucket()
        self._addresses[address] = bucket  # most recent last
        while len(self._addresses) > MAX_ADDRESSES:
            self._addresses.popitem(last=False)
        self._count(bucket, self.attempts, now)
        self._count(self._all, self.attempts * GLOBAL_FACTOR, now)

    def succeeded(self, address: str) -> None:
        """A good login: this address starts from zero (the server-wide count stays)."""
        self._addresses.pop(address, None)

    def _count(self, bucket: _Bucket, limit: int, now: float) -> None:
        if now - bucket.last > FORGET_AFTER:
            bucket.failures = bucket.strikes = 0
        bucket.last = now
        bucket.failures += 1
        if bucket.failures >= limit:
            bucket.failures = 0
            bucket.strikes = min(bucket.strikes + 1, 32)
            wait = min(self.lockout * 2 ** (bucket.strikes - 1), MAX_LOCKOUT)
            bucket.locked_until = now + wait


#: The app's throttle (``dashboard.setup`` creates it from ``[security]``).
THROTTLE = web.AppKey("login_throttle", LoginThrottle)
