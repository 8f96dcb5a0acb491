"""The stock engine drops and guest slots share: atomic claims, releases, late re-takes.

Why SQL and not memory: the promise of a drop is that exactly the stock is sold, on SQLite
and on PostgreSQL, whatever arrives at once (chat, the drop page, webhooks, a second
server on the same database). So every unit moves through one conditional UPDATE::

    UPDATE shop_drop_item SET remaining = remaining - 1 WHERE id = ? AND remaining > 0

and the per-viewer limit through a conditional upsert of the viewer's allowance row, in the same
transaction as the reservation row. On PostgreSQL the UPDATE takes the row lock and, under
READ COMMITTED, a waiting UPDATE re-checks ``remaining > 0`` against the committed row, so
two claims of the last unit give one reservation; on SQLite transactions take the database
lock one at a time. Locks are taken in one order everywhere (allowance, then item), so
two transactions never deadlock.

Memory only makes the rush cheap: claims of one item are queued and written in batches
(one transaction and one disk flush for many claims, each in its own savepoint), and
``known_left`` remembers an item found empty, so the 9,900 claims after the last unit are
answered without a transaction. The hint is dropped whenever a unit can come back (an
expiry, a refund, a drop opening), never trusted to sell.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from limelight import ViewerRef
from limelight.db import in_transaction
from limelight.links import new_code
from tortoise.backends.base.client import BaseDBAsyncClient

from .models import Reservation

PREFIX = "SH-"


class ClaimRefused(Exception):
    """Why a claim got no unit (the message is what the viewer is told)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


#: What a claim of a sold-out item is told.
SOLD_OUT = "sold out"


class SoldOut(ClaimRefused):
    def __init__(self) -> None:
        super().__init__("sold_out", SOLD_OUT)


class LimitReached(ClaimRefused):
    def __init__(self, limit: int) -> None:
        super().__init__("limit", f"you already hold the limit of {limit} for this drop")


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


async def _returning(conn: BaseDBAsyncClient, sql: str, values: list[object]) -> list[Any]:
    """Rows of an UPDATE/INSERT ... RETURNING (PostgreSQL runs it inside a WITH, which is
    how tortoise's asyncpg client hands back its rows)."""
    if conn.capabilities.dialect == "postgres":
        column = sql.rsplit("RETURNING", 1)[1].strip()
        sql = f"WITH changed AS ({sql}) SELECT {column} FROM changed"
    _, rows = await conn.execute_query(_sql(conn, sql), values)
    return list(rows)


async def take_unit_left(conn: BaseDBAsyncClient, item_id: int) -> int | None:
    """Take one unit of ``item_id``: the units left after it, or ``None`` when there was
    none to take. One statement, so one round trip."""
    rows = await _returning(
        conn,
        "UPDATE shop_drop_item SET remaining = remaining - 1 "
        "WHERE id = ? AND remaining > 0 RETURNING remaining",
        [item_id],
    )
    return int(rows[0]["remaining"]) if rows else None


async def try_allowance(conn: BaseDBAsyncClient, drop_id: int, key: str, limit: int) -> bool:
    """Count one more unit for ``key`` in ``drop_id`` unless it holds ``limit``: one
    upsert whose update is conditional, so one round trip and no race between viewers'
    first claims."""
    rows = await _returning(
        conn,
        "INSERT INTO shop_allowance (drop_id, viewer_key, held) VALUES (?, ?, 1) "
        "ON CONFLICT (drop_id, viewer_key) DO UPDATE SET held = shop_allowance.held + 1 "
        "WHERE shop_allowance.held < ? RETURNING held",
        [drop_id, key, limit],
    )
    return bool(rows)


# The statements below take a count and are one statement whatever it is: an order of
# 10,000 gifts moves its stock in one round trip, not 10,000 (a statement per unit took
# longer than the hook timeout on a slow machine, and the delivery got 503 at every retry).


async def take_units(conn: BaseDBAsyncClient, item_id: int, count: int = 1) -> bool:
    """Take ``count`` units of ``item_id`` in ``conn``'s transaction, all or none; False
    when fewer are left."""
    return (
        await execute(
            conn,
            "UPDATE shop_drop_item SET remaining = remaining - ? WHERE id = ? AND remaining >= ?",
            [count, item_id, count],
        )
        == 1
    )


async def return_units(conn: BaseDBAsyncClient, item_id: int, count: int = 1) -> None:
    """Put ``count`` units of ``item_id`` back (never above the item's stock)."""
    await execute(
        conn,
        "UPDATE shop_drop_item SET remaining = CASE WHEN remaining + ? > stock THEN stock "
        "ELSE remaining + ? END, sold_out_announced = ? WHERE id = ? AND remaining < stock",
        [count, count, False, item_id],
    )


async def force_allowance(conn: BaseDBAsyncClient, drop_id: int, key: str, count: int = 1) -> None:
    """Count ``count`` more units for ``key`` whatever the limit (a payment that arrived
    late, an order bought straight in the shop)."""
    await execute(
        conn,
        "INSERT INTO shop_allowance (drop_id, viewer_key, held) VALUES (?, ?, 0) "
        "ON CONFLICT (drop_id, viewer_key) DO NOTHING",
        [drop_id, key],
    )
    await execute(
        conn,
        "UPDATE shop_allowance SET held = held + ? WHERE drop_id = ? AND viewer_key = ?",
        [count, drop_id, key],
    )


async def free_allowance(conn: BaseDBAsyncClient, drop_id: int, key: str, count: int = 1) -> None:
    """Count ``count`` fewer units for ``key`` (never below none)."""
    await execute(
        conn,
        "UPDATE shop_allowance SET held = CASE WHEN held > ? THEN held - ? ELSE 0 END "
        "WHERE drop_id = ? AND viewer_key = ? AND held > 0",
        [count, count, drop_id, key],
    )


@dataclass(frozen=True, slots=True)
class Claimed:
    reservation: Reservation
    #: Units of the item left after this claim.
    left: int


@dataclass
class _Pending:
    viewer: ViewerRef
    limit: int
    expires_at: datetime
    future: asyncio.Future[Claimed]


#: Claims of one item written in one transaction (each in its own savepoint).
MAX_BATCH = 256


class Stock:
    """Claims and releases; one per plugin instance (its hints are this process's).

    Claims of one item are queued and written in batches: one transaction (one disk
    flush) for up to :data:`MAX_BATCH` claims, each claim in its own savepoint running
    the same conditional UPDATEs as :func:`reserve`. So a rush costs a few flushes, not
    one per unit, and a refused claim (limit reached) rolls back alone."""

    def __init__(self) -> None:
        self._queues: dict[int, list[_Pending]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        #: item id -> units left, as last read in a committed claim (0: sold out).
        self.known_left: dict[int, int] = {}
        self.batches = 0

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
        future: asyncio.Future[Claimed] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(item_id, []).append(_Pending(viewer, limit, expires_at, future))
        worker = self._workers.get(item_id)
        if worker is None or worker.done():
            self._workers[item_id] = asyncio.get_running_loop().create_task(
                self._drain(item_id, drop_id), name=f"shop:claims:{item_id}"
            )
        return await future

    async def _drain(self, item_id: int, drop_id: int) -> None:
        queue = self._queues.setdefault(item_id, [])
        while queue:
            batch = queue[:MAX_BATCH]
            del queue[:MAX_BATCH]
            if self.known_left.get(item_id) == 0:
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(SoldOut())
                continue
            try:
                results = await _reserve_batch(item_id, drop_id, batch)
            except Exception as exc:  # the database failed: every claim of the batch
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                continue
            self.batches += 1
            for pending, result in zip(batch, results, strict=True):
                if isinstance(result, SoldOut):
                    self.known_left[item_id] = 0
                elif isinstance(result, Claimed):
                    self.known_left[item_id] = result.left
                if not pending.future.done():
                    if isinstance(result, Claimed):
                        pending.future.set_result(result)
                    else:
                        pending.future.set_exception(result)


async def _reserve_batch(
    item_id: int, drop_id: int, batch: list[_Pending]
) -> list[Claimed | ClaimRefused]:
    """One transaction for ``batch``; the rest are sold out as soon as one finds no unit.

    Each claim counts the viewer's allowance first (a refusal there wrote nothing), then
    takes the unit; when none is left its allowance is given back in the same transaction.
    The allowance row is always locked before the item row, here and everywhere."""
    out: list[Claimed | ClaimRefused] = []
    sold_out = False
    async with in_transaction() as conn:
        for pending in batch:
            if sold_out:
                out.append(SoldOut())
                continue
            try:
                out.append(
                    await _reserve_in(
                        conn,
                        item_id,
                        drop_id,
                        pending.viewer,
                        limit=pending.limit,
                        expires_at=pending.expires_at,
                    )
                )
            except ClaimRefused as exc:
                sold_out = isinstance(exc, SoldOut)
                out.append(exc)
    return out


async def reserve(
    item_id: int,
    drop_id: int,
    viewer: ViewerRef,
    *,
    limit: int,
    expires_at: datetime,
) -> Claimed:
    """One claim in one transaction and nothing but SQL: safe to run from any number of
    tasks or processes at once (the tests run it without :class:`Stock`'s batching)."""
    async with in_transaction() as conn:
        return await _reserve_in(conn, item_id, drop_id, viewer, limit=limit, expires_at=expires_at)


async def _reserve_in(
    conn: BaseDBAsyncClient,
    item_id: int,
    drop_id: int,
    viewer: ViewerRef,
    *,
    limit: int,
    expires_at: datetime,
) -> Claimed:
    """The claim's statements in ``conn``: three round trips. A refusal leaves nothing
    behind (the allowance it counted is given back), so a batch goes on after it."""
    key = viewer_key(viewer)
    if not await try_allowance(conn, drop_id, key, limit):
        raise LimitReached(limit)
    left = await take_unit_left(conn, item_id)
    if left is None:
        await free_allowance(conn, drop_id, key)
        raise SoldOut()
    # 31^8 codes: a collision is left to the UNIQUE constraint (the batch then fails
    # and its claimers are told to try again), not checked with a query per claim
    reservation = await Reservation.create(
        using_db=conn,
        code=new_code(),
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
        await free_allowance(conn, reservation.drop_id, reservation.viewer_key)
        await return_units(conn, reservation.item_id)  # type: ignore[attr-defined]
    return reservation
