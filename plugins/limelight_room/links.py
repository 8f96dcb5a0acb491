"""Personal room links: signed, bound to one viewer, revocable, as good as the membership.

A link is ``/room/<token>``; the token is ``<payload>.<signature>``, both base64url:
the payload names the viewer (platform, user id) and the link's *generation*; the
signature is HMAC-SHA256 of the payload with the server's room key (generated once,
kept in the database). Nothing else is in it, on purpose:

* **bound to the viewer**: changing a byte of the payload breaks the signature;
* **revocable**: revoking bumps the viewer's generation, so every older link fails;
* **expires with the membership**: every use asks the VIP plugin whether the viewer holds
  a room tier *now*, so a link is worth nothing the moment the membership ends, and works
  again (the same link) if the viewer renews.

Every pass is cached in memory (one row per member), so :meth:`Passes.link_for` and
every check are dict reads.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from limelight import ViewerRef, edge
from limelight.links import b64, unb64

from .models import RoomKey, RoomPass

VERSION = "r1"
#: Longest token accepted (a payload of the longest platform and id, and the signature).
MAX_TOKEN = 400


class LinkError(Exception):
    """Why a link does not open the room; ``str()`` is said to the viewer."""


@dataclass
class Pass:
    """What the room knows of one viewer (the cached :class:`RoomPass` row)."""

    viewer: ViewerRef
    generation: int = 0
    muted_until: datetime | None = None

    def muted(self, now: datetime | None = None) -> bool:
        return self.muted_until is not None and self.muted_until > (now or datetime.now(UTC))


class Signer:
    """HMAC-SHA256 tokens over ``r1 / platform / user id / generation``."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def sign(self, viewer: ViewerRef, generation: int) -> str:
        payload = "\n".join((VERSION, viewer.platform, viewer.id, str(generation))).encode()
        mac = hmac.new(self._key, payload, hashlib.sha256).digest()
        return f"{b64(payload)}.{b64(mac)}"

    def verify(self, token: str) -> tuple[ViewerRef, int]:
        """The viewer and generation a genuine token names; :class:`LinkError` otherwise."""
        if not token or len(token) > MAX_TOKEN or token.count(".") != 1:
            raise LinkError("This room link is not valid.")
        head, mac_text = token.split(".")
        try:
            payload = unb64(head)
            given = unb64(mac_text)
        except (binascii.Error, ValueError):
            raise LinkError("This room link is not valid.") from None
        expected = hmac.new(self._key, payload, hashlib.sha256).digest()
        if not hmac.compare_digest(given, expected):
            raise LinkError("This room link is not valid.")
        try:
            version, platform, viewer_id, generation = payload.decode("utf-8").split("\n")
            number = int(generation)
        except ValueError:
            raise LinkError("This room link is not valid.") from None
        if version != VERSION:
            raise LinkError("This room link is from an older version; ask for a new one.")
        return ViewerRef(platform, viewer_id), number


class Passes:
    """The signing key and every viewer's pass, loaded at startup, written through."""

    def __init__(self) -> None:
        self.signer: Signer | None = None
        self._passes: dict[tuple[str, str], Pass] = {}

    async def load(self) -> None:
        key = await RoomKey.filter().order_by("id").first()
        if key is None:
            key = await RoomKey.create(secret=secrets.token_hex(32))
            # Two servers starting on one new database at once: the first key wins.
            key = await RoomKey.filter().order_by("id").first() or key
        self.signer = Signer(bytes.fromhex(key.secret))
        self._passes = {
            (row.platform, row.viewer_id): Pass(
                ViewerRef(row.platform, row.viewer_id, row.name),
                row.generation,
                row.muted_until,
            )
            for row in await RoomPass.all()
        }

    @property
    def ready(self) -> bool:
        return self.signer is not None

    def get(self, viewer: ViewerRef) -> Pass:
        found = self._passes.get(viewer.key)
        if found is None:
            return Pass(viewer)
        if viewer.name and found.viewer.name != viewer.name:
            found.viewer = viewer
        return found

    def known(self) -> list[Pass]:
        return sorted(self._passes.values(), key=lambda p: p.viewer.name.lower())

    def token_for(self, viewer: ViewerRef) -> str | None:
        if self.signer is None:
            return None
        return self.signer.sign(viewer, self.get(viewer).generation)

    def check(self, token: str) -> Pass:
        """The pass a token opens: signature and generation checked (not the membership:
        the caller asks the VIP plugin)."""
        if self.signer is None:
            raise LinkError("The room is starting; try again in a moment.")
        viewer, generation = self.signer.verify(token)
        found = self.get(viewer)
        if generation != found.generation:
            raise LinkError("This room link was replaced or revoked.")
        return found

    async def remember(self, viewer: ViewerRef) -> Pass:
        """Keep ``viewer`` in the table (the dashboard lists them); updates the name."""
        name = edge.clean_text(viewer.name)
        row, _ = await RoomPass.get_or_create(
            platform=viewer.platform, viewer_id=viewer.id, defaults={"name": name}
        )
        if name and row.name != name:
            row.name = name
            await row.save(update_fields=["name", "updated_at"])
        found = self._passes.get(viewer.key)
        if found is None:
            found = Pass(ViewerRef(row.platform, row.viewer_id, row.name), row.generation)
            found.muted_until = row.muted_until
            self._passes[viewer.key] = found
        elif name:
            found.viewer = ViewerRef(viewer.platform, viewer.id, name)
        return found

    async def revoke(self, viewer: ViewerRef) -> Pass:
        """Bump the viewer's generation: every link handed out so far stops working."""
        found = await self.remember(viewer)
        row = await RoomPass.get(platform=viewer.platform, viewer_id=viewer.id)
        row.generation = found.generation + 1
        await row.save(update_fields=["generation", "updated_at"])
        found.generation = row.generation
        return found

    async def mute(self, viewer: ViewerRef, until: datetime | None) -> Pass:
        """Time the viewer out of the room until ``until`` (``None`` lifts it)."""
        found = await self.remember(viewer)
        await RoomPass.filter(platform=viewer.platform, viewer_id=viewer.id).update(
            muted_until=until
        )
        found.muted_until = until
        return found


__all__ = ["LinkError", "Pass", "Passes", "Signer"]
