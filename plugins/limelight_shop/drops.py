"""Drops: when they open and close, who may claim, and what chat hears about them.

Start and end times are jobs rebuilt from the rows at every start (``ctx.scheduler.run_at``
runs a time already past at once), and every transition is one conditional UPDATE on the
drop's status, so a job that runs twice, or a restart in the middle, opens a drop once.
A live-only drop opens when its time has come *and* the stream is online, and pauses while
it is offline. Unpaid reservations expire through a job per reservation, rebuilt the same
way, and their unit goes back to stock (:func:`.stock.release`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from limelight import CustomEvent, Money, PluginContext, ViewerRef, fill
from limelight.db import in_transaction

from . import stock
from .board import Board
from .config import ShopConfig
from .models import Drop, DropItem, Order, Product, Reservation, ShopState, item_label
from .orders import MEMBER_HEAD_START, member_rank, memberships

OPENABLE = ("scheduled", "paused")


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a claim gave: a reservation (and its item), or why not (``refused``)."""

    refused: str = ""
    reservation: Reservation | None = None
    item: DropItem | None = None
    free: bool = False


class Drops:
    def __init__(
        self,
        ctx: PluginContext[ShopConfig],
        stock_book: stock.Stock,
        board: Board,
    ) -> None:
        self.ctx = ctx
        self.stock = stock_book
        self.board = board
        self.live = False
        self._last_line = -1e9
        #: Called when a free guest slot was taken (the guest queue shows it).
        self.on_free_guest: Callable[[], Awaitable[None]] | None = None
        #: sku -> the open drops' items of it (read-only copies), so a rush of claims
        #: finds its item without a query; dropped whenever a drop or product changes.
        self._catalog: dict[str, list[DropItem]] | None = None
        self._generation = 0
        self._loading: tuple[int, asyncio.Task[dict[str, list[DropItem]]]] | None = None

    def invalidate(self) -> None:
        """A drop opened, paused or ended, or the catalog changed: reload on next use."""
        self._catalog = None
        self._generation += 1

    async def catalog(self) -> dict[str, list[DropItem]]:
        """The open items by sku; one load shared by every claim that arrives meanwhile."""
        if self._catalog is not None:
            return self._catalog
        loading = self._loading
        if loading is None or loading[0] != self._generation:
            task = asyncio.get_running_loop().create_task(self._load_catalog(self._generation))
            loading = self._loading = (self._generation, task)
        return await asyncio.shield(loading[1])

    async def _load_catalog(self, generation: int) -> dict[str, list[DropItem]]:
        try:
            items = (
                await DropItem.filter(drop__status="open")
                .prefetch_related("product", "drop")
                .order_by("id")
            )
        finally:
            if self._loading is not None and self._loading[0] == generation:
                self._loading = None
        catalog: dict[str, list[DropItem]] = {}
        for item in items:
            catalog.setdefault(item.product.sku, []).append(item)
        if generation == self._generation:  # nothing changed while it loaded
            self._catalog = catalog
        return catalog

    # -- start-up ----------------------------------------------------------------------------

    async def start(self) -> None:
        state = await ShopState.get_or_none(key="live")
        self.live = bool(state and state.value.get("live"))
        for drop in await Drop.filter(status__in=("scheduled", "paused", "open")):
            self.schedule(drop)
        for reservation in await Reservation.filter(status="held"):
            self.schedule_expiry(reservation)
        self.board.changed()

    def schedule(self, drop: Drop) -> None:
        scheduler = self.ctx.scheduler
        if drop.status in OPENABLE and drop.starts_at is not None:
            scheduler.run_at(drop.starts_at, self.open_due, id=f"open:{drop.id}", args=(drop.id,))
        if drop.ends_at is not None:
            scheduler.run_at(drop.ends_at, self.end, id=f"end:{drop.id}", args=(drop.id,))

    def schedule_expiry(self, reservation: Reservation) -> None:
        self.ctx.scheduler.run_at(
            reservation.expires_at,
            self.expire,
            id=f"expire:{reservation.id}",
            args=(reservation.id,),
        )

    # -- transitions -------------------------------------------------------------------------

    async def open_due(self, drop_id: int) -> None:
        """The start job: open the drop if its time has come and, for a live-only drop,
        the stream is online (else it opens at ``stream.online``)."""
        drop = await Drop.get_or_none(id=drop_id)
        if drop is None or drop.status not in OPENABLE:
            return
        if drop.starts_at is not None and drop.starts_at > datetime.now(UTC):
            self.schedule(drop)  # moved later in the dashboard meanwhile
            return
        if drop.live_only and not self.live:
            self.ctx.log.info("drop %s waits for the stream to go live", drop.name)
            return
        await self.open(drop_id)

    async def open(self, drop_id: int) -> bool:
        # The first price formatted loads the locale's data (~70 ms and ~5 MB, the event
        # loop blocked): here, before the drop is open and the rush can begin, rather than
        # at every start of a server that may never open a drop.
        self.ctx.money(Money(0, "EUR"))
        now = datetime.now(UTC)
        async with in_transaction() as conn:
            changed = await stock.execute(
                conn,
                "UPDATE shop_drop SET status = 'open' WHERE id = ? AND status IN (?, ?)",
                [drop_id, *OPENABLE],
            )
            if changed:
                await stock.execute(
                    conn,
                    "UPDATE shop_drop SET opened_at = ? WHERE id = ? AND opened_at IS NULL",
                    [now, drop_id],
                )
        self.invalidate()
        if not changed:
            return False
        drop = await Drop.get(id=drop_id)
        for item in await DropItem.filter(drop_id=drop_id):
            self.stock.forget(item.id)
        # loaded before anyone hears of the drop: the first claims of the rush find their
        # items in memory instead of all waiting on one load
        await self.catalog()
        await self.publish("drop_started", f"{drop_id}:{int(now.timestamp())}", self._info(drop))
        await self.say(fill(self.ctx.config.drop_started_template, drop=drop.name))
        self.board.changed()
        return True

    async def end(self, drop_id: int) -> bool:
        now = datetime.now(UTC)
        changed = await Drop.filter(id=drop_id, status__in=("scheduled", "paused", "open")).update(
            status="ended", ended_at=now
        )
        self.invalidate()
        if not changed:
            return False
        self.ctx.scheduler.cancel(f"open:{drop_id}")
        self.ctx.scheduler.cancel(f"end:{drop_id}")
        drop = await Drop.get(id=drop_id)
        await self.publish("drop_ended", str(drop_id), self._info(drop))
        self.board.changed()
        return True

    async def set_live(self, live: bool) -> None:
        """``stream.online`` / ``stream.offline``: live-only drops open and pause with it."""
        self.live = live
        await ShopState.update_or_create(key="live", defaults={"value": {"live": live}})
        now = datetime.now(UTC)
        if live:
            for drop in await Drop.filter(status__in=OPENABLE, live_only=True):
                if drop.starts_at is None or drop.starts_at <= now:
                    if drop.status == "paused" or drop.starts_at is not None:
                        await self.open(drop.id)
        else:
            paused = await Drop.filter(status="open", live_only=True).update(status="paused")
            self.invalidate()
            if paused:
                self.board.changed()

    async def expire(self, reservation_id: int) -> None:
        """The expiry job: an unpaid reservation's unit goes back to stock."""
        reservation = await Reservation.get_or_none(id=reservation_id)
        if reservation is None or reservation.status != "held":
            return
        if reservation.expires_at > datetime.now(UTC):
            self.schedule_expiry(reservation)  # extended meanwhile
            return
        await self.release(reservation_id, "expired")

    async def release(self, reservation_id: int, status: str) -> bool:
        released = await stock.release(reservation_id, status)
        if released is None:
            return False
        self.stock.forget(released.item_id)  # type: ignore[attr-defined]
        self.ctx.scheduler.cancel(f"expire:{reservation_id}")
        self.board.changed()
        return True

    # -- claims ------------------------------------------------------------------------------

    async def claim(self, viewer: ViewerRef, sku: str, variant: str = "") -> Outcome:
        sku = sku.strip().lower().lstrip("#")[:40]
        items = (await self.catalog()).get(sku, [])
        if not items:
            return Outcome(refused=await self._why_not_open(sku))
        drop: Drop = items[0].drop
        items = [i for i in items if i.drop_id == drop.id]  # type: ignore[attr-defined]
        product: Product = items[0].product
        item = pick_variant(items, variant)
        if item is None:
            choices = ", ".join(i.variant for i in items if i.variant)
            return Outcome(refused=f"which one? {product.name} comes in {choices}")
        if self.stock.known_left.get(item.id) == 0:
            # the rush after the last unit (9,900 of 10,000 claims): answered from memory
            # before the clock, the VIP peer or the claim queue are asked
            return Outcome(refused=stock.SOLD_OUT)
        now = datetime.now(UTC)
        # asked only when needed: a protocol check costs more than the rest of a claim
        vip = (
            memberships(self.ctx)
            if drop.members_first_minutes > 0 or product.kind == "guest"
            else None
        )
        if drop.members_first_minutes > 0 and drop.opened_at is not None:
            until = drop.opened_at + timedelta(minutes=drop.members_first_minutes)
            if now < until:
                tiers = drop.members_tiers or None
                if vip is None or not vip.is_member(viewer, tiers):
                    minutes = max(1, int((until - now).total_seconds() // 60) + 1)
                    return Outcome(refused=f"members only for {minutes} more min")
        ttl = timedelta(minutes=self.ctx.config.reservation_minutes)
        try:
            claimed = await self.stock.claim(
                item.id,
                drop.id,
                viewer,
                limit=drop.per_viewer_limit,
                expires_at=now + ttl,
            )
        except stock.ClaimRefused as exc:
            return Outcome(refused=str(exc))
        reservation = claimed.reservation
        free = (
            product.kind == "guest"
            and bool(drop.free_tiers)
            and vip is not None
            and vip.is_member(viewer, drop.free_tiers)
        )
        if free:
            await self._free_slot(reservation, item, product, drop, viewer)
        else:
            self.schedule_expiry(reservation)
        self.board.changed()
        if claimed.left <= self.ctx.config.low_stock_at:  # a crossing: low or sold out
            await self.announce(item.id)
        return Outcome(reservation=reservation, item=item, free=free)

    async def _free_slot(
        self,
        reservation: Reservation,
        item: DropItem,
        product: Product,
        drop: Drop,
        viewer: ViewerRef,
    ) -> None:
        """A member of a free tier takes a guest slot: paid at once, at zero."""
        from .models import Guest

        now = datetime.now(UTC)
        rank = member_rank(self.ctx, viewer)
        position = time.time() - (
            MEMBER_HEAD_START if drop.members_first_queue and rank >= 0 else 0
        )
        async with in_transaction():
            await Reservation.filter(id=reservation.id).update(status="paid", paid_at=now)
            order = await Order.create(
                provider="free",
                provider_id=reservation.code,
                reservation_id=reservation.id,
                drop_id=drop.id,
                item_id=item.id,
                sku=product.sku,
                item_name=product.name,
                quantity=1,
                amount_minor=0,
                currency=product.currency,
                buyer_platform=viewer.platform,
                buyer_id=viewer.id,
                buyer_name=viewer.name[:200],
                note="free for members",
                announced=True,
            )
            await Guest.create(
                drop_id=drop.id,
                order_id=order.id,
                viewer_key=stock.viewer_key(viewer),
                viewer_platform=viewer.platform,
                viewer_id=viewer.id,
                viewer_name=viewer.name[:200],
                member_rank=rank,
                position=position,
            )
        reservation.status = "paid"
        if self.on_free_guest is not None:
            await self.on_free_guest()

    async def _why_not_open(self, sku: str) -> str:
        upcoming = (
            await DropItem.filter(product__sku=sku, drop__status__in=OPENABLE)
            .prefetch_related("drop")
            .first()
        )
        if upcoming is None:
            return f"{sku} is not on sale right now"
        drop: Drop = upcoming.drop
        if drop.status == "paused" or (drop.live_only and not self.live):
            return f"{drop.name} opens when the stream is live"
        if drop.starts_at is not None:
            return f"{drop.name} opens at {drop.starts_at.strftime('%H:%M')} UTC"
        return f"{drop.name} has not opened yet"

    # -- what chat and the bus hear ----------------------------------------------------------

    async def announce(self, item_id: int) -> None:
        """Low-stock and sold-out events (once per crossing) and their rate-limited lines."""
        item = await DropItem.get_or_none(id=item_id).prefetch_related("product", "drop")
        if item is None:
            return
        config = self.ctx.config
        product: Product = item.product
        label = item_label(product.name, item.variant)
        data = {
            "drop": item.drop.name,
            "sku": product.sku,
            "item": label,
            "left": item.remaining,
            "stock": item.stock,
        }
        if item.remaining <= 0 and not item.sold_out_announced:
            if await DropItem.filter(id=item.id, sold_out_announced=False).update(
                sold_out_announced=True
            ):
                await self.publish("sold_out", f"{item.id}:{int(time.time())}", data)
                await self.say(fill(config.sold_out_template, item=label), throttle=False)
        elif 0 < item.remaining <= config.low_stock_at and not item.low_announced:
            if await DropItem.filter(id=item.id, low_announced=False).update(low_announced=True):
                await self.publish("low_stock", str(item.id), data)
                await self.say(
                    fill(config.low_stock_template, item=label, left=str(item.remaining))
                )

    async def publish(self, name: str, key: str, payload: dict[str, object]) -> None:
        try:
            await self.ctx.publish(
                CustomEvent(
                    source="shop",
                    source_id=f"{name}:{key}",
                    custom_type=f"shop.{name}",
                    payload=dict(payload),
                )
            )
        except Exception:
            self.ctx.log.exception("could not publish shop.%s", name)

    async def say(self, text: str, *, throttle: bool = True) -> None:
        if not text.strip():
            return
        now = time.monotonic()
        if throttle and now - self._last_line < self.ctx.config.stock_lines_every:
            return
        self._last_line = now
        try:
            await self.ctx.chat.say(text)
        except Exception as exc:
            self.ctx.log.info("could not say %r in chat: %s", text[:60], exc)

    def _info(self, drop: Drop) -> dict[str, object]:
        return {
            "drop": drop.name,
            "id": drop.id,
            "ends_at": drop.ends_at.isoformat() if drop.ends_at else None,
            "live_only": drop.live_only,
        }

    def price(self, product: Product) -> str:
        return self.ctx.money(Money(int(product.price_minor), product.currency))


def pick_variant(items: list[DropItem], variant: str) -> DropItem | None:
    """The item of ``variant`` (any case); the only one when none is named."""
    wanted = variant.strip().lower()
    if not wanted:
        return items[0] if len(items) == 1 or not any(i.variant for i in items) else None
    for item in items:
        if item.variant.lower() == wanted:
            return item
    return None
