"""The stock engine drops and guest slots share: atomic claims, releases, late re-takes.

Why SQL and not memory: the promise of a drop is that exactly the stock is sold, on SQLite
and on PostgreSQL, whatever arrives at once (chat, the drop page, webhooks, a second
server on the same database). So every unit moves through one conditional UPDATE::

    UPDATE shop_drop_item SET remaining = remaining - 1 WHERE id = ? AND remaining > 0

and the per-viewer limit through another on the viewer's allowance row, in the same
transaction as the reservation row. On PostgreSQL the UPDATE takes the row lock and, under
READ COMMITTED, a waiting UPDATE re-checks ``remaining > 0`` against the committed row, so
two claims of the last unit give one reservation; on SQLite transactions take the database
lock one at a time. Locks are taken in one order everywhere (item, then allowance), so two
claims never deadlock.

Memory only makes the rush cheap: a per-item asyncio lock queues this process's claims (the
database would queue them anyway) and ``known_left`` remembers an item found empty, so the
9,900 claims after the last unit are answered without a transaction. The hint is dropped
whenever a unit can come back (an expiry, a refund, a stock edit), never trusted to sell.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime

from limelight import ViewerRef
from limelight.db import in_transaction
from tortoise.backends.base.client import BaseDBAsyncClient

from .models import Reservation

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud or typed
CODE_LENGTH = 8
PREFIX = "SH-"


class ClaimRefused(Exception):
    """Why a claim got no unit (the message is what the viewer is told)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class SoldOut(ClaimRefused):
    def __init__(self) -> None:
        super().__init__("sold_out", "sold out")


class LimitReached(ClaimRefused):
    def __init__(self, limit: int) -> None:
        super().__init__("limit", f"you already hold the limit of {limit} for this drop")


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def viewer_key(viewer: ViewerRef) -> str:
    return f"{viewer.platform}:{viewer.id}"[:150]


def _sql(conn: BaseDBAsyncClient, sql: str) -> str:
    """``?`` placeholders as the connection's dialect wants them (``$1`` on PostgreSQL)."""
    if conn.capabilities.dialect != "postgres":
        return sql
    parts = sql.split("?")
    return "".join(f"{p}${i}" if i < len(parts) else p for i, p in enumerate(parts, 1))


async def execute(conn: BaseDBAsyncClient, sql: str, values: list[object]) -> int:
    """Run an UPDATE/INSERT; the number of rows it changed."""
    count, _ = await conn.execute_query(_sql(conn, sql), values)
    return int(count)


async def take_unit(conn: BaseDBAsyncClient, item_id: int) -> bool:
    """Take one unit of ``item_id`` in ``conn``'s transaction; False when none is left."""
    return (
        await execute(
            conn,
            "UPDATE shop_drop_item SET remaining = remaining - 1 WHERE id = ? AND remaining > 0",
            [item_id],
        )
        == 1
    )


async def return_unit(conn: BaseDBAsyncClient, item_id: int) -> None:
    """Put one unit of ``item_id`` back (never above the item's stock)."""
    await execute(
        conn,
        "UPDATE shop_drop_item SET remaining = remaining + 1, sold_out_announced = ? "
        "WHERE id = ? AND remaining < stock",
        [False, item_id],
    )


async def hold_allowance(conn: BaseDBAsyncClient, drop_id: int, key: str, limit: int) -> bool:
    """Count one more unit for the viewer ``key`` in ``drop_id``; False at ``limit``."""
    await execute(
        conn,
        "INSERT INTO shop_allowance (drop_id, viewer_key, held) VALUES (?, ?, 0) "
        "ON CONFLICT (drop_id, viewer_key) DO NOTHING",
        [drop_id, key],
    )
    return (
        await execute(
            conn,
            "UPDATE shop_allowance SET held = held + 1 "
            "WHERE drop_id = ? AND viewer_key = ? AND held < ?",
            [drop_id, key, limit],
        )
        == 1
    )


async def force_allowance(conn: BaseDBAsyncClient, drop_id: int, key: str) -> None:
    """Count one more unit for ``key`` whatever the limit (a payment that arrived late)."""
    await execute(
        conn,
        "INSERT INTO shop_allowance (drop_id, viewer_key, held) VALUES (?, ?, 0) "
        "ON CONFLICT (drop_id, viewer_key) DO NOTHING",
        [drop_id, key],
    )
    await execute(
        conn,
        "UPDATE shop_allowance SET held = held + 1 WHERE drop_id = ? AND viewer_key = ?",
        [drop_id, key],
    )


async def free_allowance(conn: BaseDBAsyncClient, drop_id: int, key: str) -> None:
    await execute(
        conn,
        "UPDATE shop_allowance SET held = held - 1 "
        "WHERE drop_id = ? AND viewer_key = ? AND held > 0",
        [drop_id, key],
    )


async def remaining_of(conn: BaseDBAsyncClient, item_id: int) -> int:
    _, rows = await conn.execute_query(
        _sql(conn, "SELECT remaining FROM shop_drop_item WHERE id = ?"), [item_id]
    )
    return int(rows[0]["remaining"]) if rows else 0


@dataclass(frozen=True, slots=True)
class Claimed:
    reservation: Reservation
    #: Units of the item left after this claim.
    left: int


class Stock:
    """Claims and releases; one per plugin instance (its hints are this process's)."""

    def __init__(self) -> None:
        self._locks: dict[int, asyncio.Lock] = {}
        #: item id -> units left, as last read in a committed claim (0: sold out).
        self.known_left: dict[int, int] = {}

    def forget(self, item_id: int) -> None:
        """A unit may have come back: ask the database next time."""
        self.known_left.pop(item_id, None)

    async def claim(
        self,
        item_id: int,
        drop_id: int,
        viewer: ViewerRef,
        *,
        limit: int,
        expires_at: datetime,
    ) -> Claimed:
        """Reserve one unit of ``item_id`` for ``viewer``, or raise :class:`ClaimRefused`."""
        if self.known_left.get(item_id) == 0:
            raise SoldOut()
        lock = self._locks.setdefault(item_id, asyncio.Lock())
        async with lock:
            if self.known_left.get(item_id) == 0:
                raise SoldOut()
            try:
                claimed = await reserve(
                    item_id, drop_id, viewer, limit=limit, expires_at=expires_at
                )
            except SoldOut:
                self.known_left[item_id] = 0
                raise
            self.known_left[item_id] = claimed.left
            return claimed


async def reserve(
    item_id: int,
    drop_id: int,
    viewer: ViewerRef,
    *,
    limit: int,
    expires_at: datetime,
) -> Claimed:
    """The claim itself, in one transaction and nothing but SQL: safe to run from any
    number of tasks or processes at once (the tests run it without :class:`Stock`'s lock)."""
    key = viewer_key(viewer)
    async with in_transaction() as conn:
        if not await take_unit(conn, item_id):
            raise SoldOut()
        if not await hold_allowance(conn, drop_id, key, limit):
            raise LimitReached(limit)  # rolls back the unit taken above
        left = await remaining_of(conn, item_id)
        for _ in range(5):
            code = new_code()
            if not await Reservation.filter(code=code).using_db(conn).exists():
                break
        reservation = await Reservation.create(
            using_db=conn,
            code=code,
            item_id=item_id,
            drop_id=drop_id,
            viewer_key=key,
            viewer_platform=viewer.platform,
            viewer_id=viewer.id,
            viewer_name=viewer.name[:200],
            expires_at=expires_at,
        )
    return Claimed(reservation, left)


async def release(reservation_id: int, status: str) -> Reservation | None:
    """Return a held reservation's unit (``status``: expired or cancelled); ``None`` when
    it was not held any more (paid meanwhile, released by another path)."""
    async with in_transaction() as conn:
        changed = await execute(
            conn,
            "UPDATE shop_reservation SET status = ? WHERE id = ? AND status = 'held'",
            [status, reservation_id],
        )
        if changed != 1:
            return None
        reservation = await Reservation.get(id=reservation_id, using_db=conn)
        await return_unit(conn, reservation.item_id)  # type: ignore[attr-defined]
        await free_allowance(conn, reservation.drop_id, reservation.viewer_key)
    return reservation
