"""What the drop overlay, the guest-queue overlay and the public drop page show.

Why one builder: the overlay (over its WebSocket), the public page (polling JSON) and the
dashboard show the same snapshot, so they can never disagree about the stock. Changes are
coalesced: a rush of claims rebuilds the snapshot a few times a second, not once a claim.
Names are sent as data and rendered with ``textContent`` by the pages, never as HTML.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from limelight import Money, PluginContext

from .config import ShopConfig
from .models import Drop, DropItem, Guest, Order, Product

#: Seconds between two snapshot pushes while things change.
PUSH_EVERY = 0.25
LATEST_BUYERS = 5
QUEUE_SHOWN = 6


#: The shop's line on the ticker overlay (other plugins may hold lines of their own there).
TICKER_KEY = "shop-drop"


def ticker_line(drop: dict[str, Any]) -> dict[str, Any]:
    """The open drop as the ticker shows it (docs/overlays.md, "State shapes"): its name,
    how to buy and from how much, the countdown to its end, units left of all."""
    return {
        "title": drop["name"],
        "text": "Type !merch to shop" + (f", {drop['price']}" if drop["price"] else ""),
        "ends_at": drop["ends_at"],
        "stock": drop["left"],
        "total": drop["stock"],
    }


class Board:
    def __init__(self, ctx: PluginContext[ShopConfig]) -> None:
        self.ctx = ctx
        self.drop: dict[str, Any] | None = None
        self.queue: dict[str, Any] = {"guests": [], "live": None}
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.pushes = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="shop:board")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None

    def changed(self) -> None:
        self._dirty.set()

    async def _run(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                await self.refresh()
            except Exception:
                self.ctx.log.exception("could not update the shop overlays")
            await asyncio.sleep(PUSH_EVERY)

    async def refresh(self) -> None:
        """Rebuild both snapshots and push them to the overlays now."""
        self.drop = await self.build_drop()
        self.queue = await self.build_queue()
        self.pushes += 1
        config = self.ctx.config
        await self._show(config.drop_overlay, "drop", self.drop)
        await self._show(config.queue_overlay, "queue", self.queue)
        line = ticker_line(self.drop) if self.drop is not None else None
        await self._show(config.ticker_overlay, TICKER_KEY, line)

    async def _show(self, overlay: str, key: str, state: dict[str, Any] | None) -> None:
        """``state`` as ``overlay``'s snapshot ``key``, or none (``None``: an idle overlay
        is empty); nothing for an overlay that is not there or set to ""."""
        overlays = self.ctx.overlays
        if not overlay or not overlays.exists(overlay):
            return
        if state is None:
            await overlays.clear_state(overlay, key)
        else:
            await overlays.set_state(overlay, key, state)

    async def build_drop(self) -> dict[str, Any] | None:
        """The open merch drop (the latest opened), or ``None``: the overlay is empty."""
        drops = await Drop.filter(status="open").order_by("-opened_at", "-id")
        for drop in drops:
            items = (
                await DropItem.filter(drop_id=drop.id, product__kind="merch")
                .prefetch_related("product")
                .order_by("id")
            )
            if items:
                return await self._drop_state(drop, items)
        return None

    def _price_line(self, prices: list[Money]) -> str:
        """The price beside the drop's name: ``$45.00`` when every item costs that, ``from
        $25.00`` when they differ (the overlay said the first item's price for all)."""
        if not prices:
            return ""
        cheapest = min(
            prices, key=lambda money: (money.currency != prices[0].currency, money.minor)
        )
        shown = self.ctx.money(cheapest)
        return shown if len(set(prices)) == 1 else f"from {shown}"

    async def _drop_state(self, drop: Drop, items: list[DropItem]) -> dict[str, Any]:
        out_items: list[dict[str, Any]] = []
        left = stock = 0
        prices: list[Money] = []
        for item in items:
            left += max(0, item.remaining)
            stock += item.stock
            product: Product = item.product
            prices.append(Money(int(product.price_minor), product.currency))
            out_items.append(
                {
                    "id": item.id,
                    "sku": product.sku,
                    "name": product.name,
                    "variant": item.variant,
                    "price": self.ctx.money(Money(int(product.price_minor), product.currency)),
                    "image": product.image,
                    "left": max(0, item.remaining),
                    "stock": item.stock,
                }
            )
        # the latest distinct names: an order of several lines (one row each), or a
        # viewer who bought twice, is one name on stream, not "sunny, sunny, ..."
        recent = (
            await Order.filter(drop_id=drop.id, status="paid")
            .order_by("-id")
            .limit(LATEST_BUYERS * 10)
            .values_list("buyer_name", flat=True)
        )
        buyers = list(dict.fromkeys(str(b) for b in recent if b))[:LATEST_BUYERS]
        members_until = None
        if drop.members_first_minutes and drop.opened_at is not None:
            until = drop.opened_at + timedelta(minutes=drop.members_first_minutes)
            if until > datetime.now(UTC):
                members_until = until.isoformat()
        return {
            "id": drop.id,
            "name": drop.name,
            "price": self._price_line(prices),
            "ends_at": drop.ends_at.isoformat() if drop.ends_at else None,
            "members_until": members_until,
            "items": out_items,
            "left": left,
            "stock": stock,
            "sold_out": left <= 0,
            "buyers": buyers,
        }

    async def build_queue(self) -> dict[str, Any]:
        live = await Guest.filter(status="live").order_by("-started_at").first()
        waiting = await Guest.filter(status="queued").order_by("position", "id").limit(QUEUE_SHOWN)
        minutes = self.ctx.config.guest_minutes
        ends = (
            (live.started_at + timedelta(minutes=minutes)).isoformat()
            if live is not None and live.started_at is not None and minutes
            else None
        )
        return {
            "live": {"name": live.viewer_name, "ends_at": ends} if live is not None else None,
            "guests": [{"name": g.viewer_name, "member": g.member_rank >= 0} for g in waiting],
        }
