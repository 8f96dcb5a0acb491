"""Signed personal links: a viewer's link carries who they are, and nobody can forge one.

Several plugins hand a chat viewer a link of their own: ``!tip`` (the tips plugin), ``!vip
join`` (memberships), ``!merch`` (the shop's drop page). The link carries a short code or
the viewer's identity, sealed with an HMAC-SHA256 under a key derived from the server's
secret, and it expires. This module is the one place that seals, checks and times them
out, so every plugin's links refuse the same forgeries the same way (in constant time),
and a page answers a forged link 400 and an expired one 410 without matching words in
the message.

A token is ``<payload>.<mac>``: the payload as given (URL-safe text), then the first
``MAC_BYTES`` bytes of its HMAC, URL-safe base64 without padding. :meth:`LinkSigner.sign`
puts an expiry in the payload (``<code>.<unix seconds>``); a plugin whose payload carries
its own expiry (the shop's) uses :meth:`LinkSigner.seal` and :meth:`LinkSigner.unseal`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from datetime import timedelta

from .edge import same_secret

#: Bytes of the HMAC kept in a token: 144 bits, far past guessing, and a short link.
MAC_BYTES = 18
#: Letters of a code read aloud or typed from the stream: no 0/O or 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
#: Characters of a token any plugin accepts (a longer one is refused before any HMAC).
MAX_TOKEN = 600


class LinkError(ValueError):
    """A link that is malformed or forged. ``status`` is the HTTP answer a page gives."""

    status = 400


class LinkExpired(LinkError):
    """A genuine link whose time is over: the viewer asks in chat for a new one."""

    status = 410


def b64(raw: bytes) -> str:
    """URL-safe base64 without padding (what fits a path segment or a query value)."""
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def unb64(text: str) -> bytes:
    """The bytes of :func:`b64` text; :class:`binascii.Error` or :class:`ValueError` on
    anything else."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_code(length: int = 8) -> str:
    """A random code of :data:`CODE_ALPHABET` (8 letters: 31 to the 8th, about 850 billion)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


class LinkSigner:
    """Seals and checks one plugin's links.

    ``purpose`` separates the keys: a token sealed for tip links is not valid as a join
    link, even on the same server with the same secret. ``noun`` ("tip link") and
    ``renew`` ("type !tip in chat for a new one") make the sentences a viewer reads when
    a link is refused; ``setting`` names the plugin's own secret key for the error
    without any secret."""

    def __init__(self, secret: str, *, purpose: str, noun: str, renew: str, setting: str) -> None:
        if not secret:
            raise ValueError(f"{noun}s need a secret: set [security] admin_token or {setting}")
        self._key = hashlib.sha256(purpose.encode() + b"\0" + secret.encode()).digest()
        self.noun = noun
        self.renew = renew

    def mac(self, payload: str) -> str:
        # surrogatepass: a forged token's payload may hold a lone surrogate, which must
        # compare unequal, not raise
        raw = payload.encode("utf-8", "surrogatepass")
        digest = hmac.new(self._key, raw, hashlib.sha256).digest()
        return b64(digest[:MAC_BYTES])

    def seal(self, payload: str) -> str:
        """``payload`` with its MAC: ``<payload>.<mac>``."""
        return f"{payload}.{self.mac(payload)}"

    def unseal(self, token: str) -> str:
        """The payload of a genuine token; :class:`LinkError` for anything else."""
        payload, _, mac = token.rpartition(".")
        if not payload or not mac or len(token) > MAX_TOKEN:
            raise LinkError(f"this {self.noun} is malformed")
        if not same_secret(mac, self.mac(payload)):
            raise LinkError(f"this {self.noun} is not valid")
        return payload

    def sign(self, code: str, ttl: timedelta, *, now: float | None = None) -> str:
        """A token for ``code`` (no ``.`` in it) valid for ``ttl``:
        ``<code>.<expiry>.<mac>``."""
        expires = int((time.time() if now is None else now) + ttl.total_seconds())
        return self.seal(f"{code}.{expires}")

    def verify(self, token: str, *, now: float | None = None) -> str:
        """The code of a genuine token still in its time; :class:`LinkExpired` once its
        time is over, :class:`LinkError` for anything else."""
        code, _, expires = self.unseal(token).rpartition(".")
        if not code or not expires.isdigit():
            raise LinkError(f"this {self.noun} is malformed")
        self.check_time(int(expires), now=now)
        return code

    def check_time(self, expires: int, *, now: float | None = None) -> None:
        """:class:`LinkExpired` when ``expires`` (Unix seconds) has passed."""
        if expires < (time.time() if now is None else now):
            raise LinkExpired(f"this {self.noun} has expired; {self.renew}")


__all__ = [
    "CODE_ALPHABET",
    "MAC_BYTES",
    "LinkError",
    "LinkExpired",
    "LinkSigner",
    "b64",
    "new_code",
    "unb64",
]
