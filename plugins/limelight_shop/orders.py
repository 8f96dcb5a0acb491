"""Orders: written once, in ``record_events``, from every provider; stock settled there too.

Why here and only here: an order must be on disk exactly when its delivery is, and the
unit it pays for must be decided in the same transaction (a late payment takes a unit back
if one is left, else it is flagged for a refund — never sold twice). The rows are keyed
UNIQUE by ``(provider, provider_id)``, the bus's own dedupe key, so a provider's retries,
five concurrent copies of one delivery or a replay after a crash make one order.

Inputs:

* :class:`limelight.MerchOrder` from ``shop-stripe`` and ``fourthwall`` (:mod:`.providers`);
  a Fourthwall gift purchase (``gift``) is an order of ``quantity`` units like any other,
  kept with ``gift`` set;
* :class:`limelight.Tip` of kind ``shop_order`` from Ko-fi (the tips plugin owns Ko-fi's
  one webhook URL; the items ride along in ``Tip.shop_items``);
* :class:`limelight.MerchRefund`: its amount is the provider's running total given back
  (Stripe's ``amount_refunded``), kept on the order as ``refunded_minor``. A partial
  refund (less than the order paid) keeps the unit sold and the order paid: the buyer
  keeps the hoodie and got a discount. A full refund returns the unit to stock while its
  drop is open.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from limelight import (
    CustomEvent,
    Event,
    MerchOrder,
    MerchRefund,
    Money,
    PluginContext,
    Tip,
    Transaction,
    ViewerRef,
)
from limelight_vip.api import Memberships
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q

from . import stock
from .config import ShopConfig
from .models import Drop, DropItem, Guest, Order, Product, Reservation, item_label
from .providers import FOURTHWALL, LINE_SEPARATOR, STRIPE, find_code

KOFI = "kofi"
PROVIDERS = (STRIPE, FOURTHWALL, KOFI)
#: A member's place in a members-first queue is moved this many seconds ahead.
MEMBER_HEAD_START = 1e10


@dataclass(frozen=True, slots=True)
class Recorded:
    """What ``record_events`` decided for an order (``ctx.recorded``)."""

    order_id: int
    #: paid, refund_due or refunded
    status: str
    #: DropItem ids whose stock moved (their overlay and low-stock lines need a look).
    items: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Line:
    """One thing an order pays for."""

    product: Product | None
    variant: str
    quantity: int


class Orders:
    def __init__(self, ctx: PluginContext[ShopConfig], stock_book: stock.Stock) -> None:
        self.ctx = ctx
        self.stock = stock_book

    # -- record_events -----------------------------------------------------------------------

    async def record_events(self, events: list[Event], tx: Transaction) -> dict[int, Recorded]:
        out: dict[int, Recorded] = {}
        for event in events:
            if event.id is None or event.test:
                continue
            found: Recorded | None = None
            if isinstance(event, MerchOrder) and event.source in (STRIPE, FOURTHWALL):
                product = await self._product_by_sku(event.item)
                found = await self.record_order(
                    tx,
                    provider=event.source,
                    provider_id=event.source_id,
                    # a line of a Fourthwall order: refunds name the order
                    payment_ref=event.source_id.split(LINE_SEPARATOR, 1)[0]
                    if event.source == FOURTHWALL
                    else "",
                    code=event.reference,
                    lines=[Line(product, event.variant, event.quantity)],
                    amount=event.amount,
                    viewer=event.viewer,
                    event_id=event.id,
                    label=event.item_name or event.item,
                    gift=event.gift,
                )
            elif isinstance(event, Tip) and event.kind == "shop_order" and event.source == KOFI:
                found = await self.record_order(
                    tx,
                    provider=KOFI,
                    provider_id=event.source_id,
                    code=find_code(event.message),
                    lines=await self._kofi_lines(event.shop_items),
                    amount=event.amount,
                    viewer=event.viewer,
                    event_id=event.id,
                    label="Ko-fi shop order",
                )
            elif isinstance(event, MerchRefund) and event.original_source in PROVIDERS:
                found = await self.record_refund(tx, event)
            if found is not None:
                out[event.id] = found
        return out

    async def _product_by_sku(self, sku: str) -> Product | None:
        return await Product.get_or_none(sku=sku.strip().lower()[:40]) if sku else None

    async def _kofi_lines(self, units: tuple[str, ...]) -> list[Line]:
        counts: dict[tuple[str, str], int] = {}
        for unit in units:
            code, _, variant = unit.partition(":")
            counts[(code, variant)] = counts.get((code, variant), 0) + 1
        lines = []
        for (code, variant), count in counts.items():
            product = await Product.get_or_none(kofi_code=code) if code else None
            lines.append(Line(product, variant, count))
        return lines

    async def record_order(
        self,
        tx: Transaction,
        *,
        provider: str,
        provider_id: str,
        code: str,
        lines: list[Line],
        amount: Money,
        viewer: ViewerRef | None,
        event_id: int,
        label: str,
        payment_ref: str = "",
        gift: bool = False,
    ) -> Recorded:
        existing = await Order.get_or_none(provider=provider, provider_id=provider_id)
        if existing is not None:  # written in an earlier life of this delivery
            return Recorded(existing.id, existing.status)
        conn = tx.connection
        now = datetime.now(UTC)
        payment_ref = payment_ref or provider_id
        reservation = await Reservation.get_or_none(code=code.upper()) if code else None
        buyer = viewer
        if reservation is not None:  # the code names the chat viewer, whichever line it pays
            buyer = reservation.viewer
        held, rest = await self._reserved_line(reservation, lines, provider, payment_ref)
        moved: list[int] = []
        taken: dict[int, int] = {}
        item: DropItem | None = None
        if held is not None:
            item = await DropItem.get(id=held.item_id).prefetch_related("product")  # type: ignore[attr-defined]
            status, note = await self._pay_reservation(conn, held, now)
            moved.append(item.id)
            if status == "paid":
                taken[item.id] = 1
                if rest:  # more units, or more products, than the one reserved
                    more_status, why, _, more = await self._take_without_reservation(
                        conn, rest, buyer
                    )
                    for item_id, count in more.items():
                        taken[item_id] = taken.get(item_id, 0) + count
                        moved.append(item_id)
                    if more_status == "refund_due":
                        status = "refund_due"
                        note = f"{why}; the reserved unit is sold: refund only the rest"
        else:
            status, note, item, more = await self._take_without_reservation(conn, lines, buyer)
            taken.update(more)
            moved.extend(more)
        product = item.product if item is not None else (lines[0].product if lines else None)
        order = await Order.create(
            provider=provider,
            provider_id=provider_id,
            payment_ref=payment_ref,
            reservation=held,
            drop_id=item.drop_id if item is not None else None,  # type: ignore[attr-defined]
            item_id=item.id if item is not None else None,
            sku=product.sku if product is not None else "",
            item_name=(product.name if product is not None else label)[:200],
            variant=(item.variant if item is not None else (lines[0].variant if lines else ""))[
                :60
            ],
            quantity=max(sum(line.quantity for line in lines), 1),
            amount_minor=amount.minor,
            currency=amount.currency,
            buyer_platform=buyer.platform if buyer else "",
            buyer_id=buyer.id if buyer else "",
            buyer_name=buyer.name[:200] if buyer else "",
            status=status,
            note=note[:300],
            event_id=event_id,
            taken={str(item_id): count for item_id, count in taken.items()},
            gift=gift,
        )
        if (
            status == "paid"
            and product is not None
            and product.kind == "guest"
            and item is not None
        ):
            await self._queue_guest(order, item, buyer)
        for item_id in moved:
            tx.on_commit(lambda item_id=item_id: self.stock.forget(item_id))  # type: ignore[misc]
        return Recorded(order.id, status, tuple(dict.fromkeys(moved)))

    async def _reserved_line(
        self, reservation: Reservation | None, lines: list[Line], provider: str, payment_ref: str
    ) -> tuple[Reservation | None, list[Line]]:
        """The reservation this order pays for (or ``None``) and the lines left to take
        from stock besides it.

        The code pays the reservation when the order names no product of ours (a Stripe
        session says only the code) or when one of its lines is the reserved product: that
        line's first unit is the reserved one, its other units and the other lines are
        taken like an order nobody claimed. A Fourthwall order is one row per line, all
        with the code: the first line of the reserved product pays it, its sibling lines
        (same ``payment_ref``) do not count as a second payment."""
        if reservation is None:
            return None, lines
        item = await DropItem.get(id=reservation.item_id)  # type: ignore[attr-defined]
        if await Order.filter(
            provider=provider, payment_ref=payment_ref, reservation_id=reservation.id
        ).exists():
            return None, lines
        if all(line.product is None for line in lines):
            return reservation, []
        for n, line in enumerate(lines):
            if line.product is not None and line.product.id == item.product_id:  # type: ignore[attr-defined]
                more = line.quantity - 1  # units of the reserved product beyond the reserved one
                extra = [Line(line.product, item.variant, more)] if more > 0 else []
                return reservation, [*lines[:n], *extra, *lines[n + 1 :]]
        return None, lines

    async def _pay_reservation(
        self, conn: BaseDBAsyncClient, reservation: Reservation, now: datetime
    ) -> tuple[str, str]:
        code = stock.PREFIX + reservation.code
        if await stock.execute(
            conn,
            "UPDATE shop_reservation SET status = 'paid', paid_at = ? "
            "WHERE id = ? AND status = 'held'",
            [now, reservation.id],
        ):
            return "paid", ""
        await reservation.refresh_from_db(fields=["status"])
        if reservation.status in ("expired", "cancelled"):
            item_id = reservation.item_id  # type: ignore[attr-defined]
            await stock.force_allowance(conn, reservation.drop_id, reservation.viewer_key)
            if await stock.take_units(conn, item_id):
                await stock.execute(
                    conn,
                    "UPDATE shop_reservation SET status = 'paid', paid_at = ? WHERE id = ?",
                    [now, reservation.id],
                )
                return "paid", f"paid after {code} ran out; a unit was still there"
            await stock.free_allowance(conn, reservation.drop_id, reservation.viewer_key)
            return "refund_due", f"paid after {code} ran out and the stock was gone: refund it"
        return "refund_due", f"a second payment for {code}: refund it"

    async def _take_without_reservation(
        self, conn: BaseDBAsyncClient, lines: list[Line], buyer: ViewerRef | None
    ) -> tuple[str, str, DropItem | None, dict[int, int]]:
        """An order nobody claimed first (bought straight in the external shop): it takes
        its units from an open drop of each line's product, all or none (when one unit is
        missing, the units taken are put back and the order is flagged). Products in no
        open drop are sold outside drops: no stock is counted. Returns the DropItem units
        taken, by item id."""
        taken: list[tuple[DropItem, int]] = []
        first: DropItem | None = None
        key = stock.viewer_key(buyer) if buyer is not None else ""
        for line in lines:
            if line.product is None:
                continue
            item = (
                await DropItem.filter(
                    product_id=line.product.id, variant=line.variant, drop__status="open"
                )
                .prefetch_related("product")
                .first()
            )
            if item is None and line.variant:
                item = (
                    await DropItem.filter(product_id=line.product.id, drop__status="open")
                    .prefetch_related("product")
                    .first()
                )
            if item is None:
                continue
            first = first or item
            count = line.quantity
            if key:  # allowance before item, as everywhere (no deadlock)
                await stock.force_allowance(conn, item.drop_id, key, count)  # type: ignore[attr-defined]
            if not await stock.take_units(conn, item.id, count):
                if key:
                    await stock.free_allowance(conn, item.drop_id, key, count)  # type: ignore[attr-defined]
                for back, back_count in taken:
                    await stock.return_units(conn, back.id, back_count)
                    if key:
                        await stock.free_allowance(conn, back.drop_id, key, back_count)  # type: ignore[attr-defined]
                return (
                    "refund_due",
                    f"{line.product.name} sold out before this order: refund it",
                    item,
                    {},
                )
            taken.append((item, count))
        counts: dict[int, int] = {}
        for unit, count in taken:
            counts[unit.id] = counts.get(unit.id, 0) + count
        note = "" if first is not None or not lines else "sold outside a drop"
        return "paid", note, first, counts

    async def _queue_guest(self, order: Order, item: DropItem, buyer: ViewerRef | None) -> None:
        if buyer is None:
            return
        drop = await Drop.get(id=item.drop_id)  # type: ignore[attr-defined]
        rank = member_rank(self.ctx, buyer)
        position = time.time()
        if drop.members_first_queue and rank >= 0:
            position -= MEMBER_HEAD_START
        await Guest.create(
            drop_id=drop.id,
            order_id=order.id,
            viewer_key=stock.viewer_key(buyer),
            viewer_platform=buyer.platform,
            viewer_id=buyer.id,
            viewer_name=buyer.name[:200],
            member_rank=rank,
            position=position,
        )

    # -- after the commit ---------------------------------------------------------------------

    async def flag(self, order_id: int) -> None:
        """Tell the streamer, once, that ``order_id`` waits for a refund by hand.

        Only where viewers do not look: the ``shop.refund_due`` event (the dashboard's
        activity feed, OBS rules, other plugins; the alerts overlay does not play it), the
        log and the dashboard's notice. Never a chat line: "we owe alice a refund" is not
        for the stream. ``refund_flagged`` makes it once, also when the event is replayed
        after a restart."""
        if not await Order.filter(id=order_id, status="refund_due", refund_flagged=False).update(
            refund_flagged=True
        ):
            return
        order = await Order.get(id=order_id)
        due = await Order.filter(status="refund_due").count()
        money = Money(int(order.amount_minor), order.currency)
        label = item_label(order.item_name, order.variant)
        self.ctx.log.warning(
            "order %s (%s %s) needs a refund by hand: %s; %s waiting (shop dashboard)",
            order.id,
            order.provider,
            order.provider_id,
            order.note,
            due,
        )
        try:
            await self.ctx.publish(
                CustomEvent(
                    source="shop",
                    source_id=f"refund_due:{order.id}",
                    custom_type="shop.refund_due",
                    viewer=ViewerRef(order.buyer_platform, order.buyer_id, order.buyer_name)
                    if order.buyer_id
                    else None,
                    payload={
                        "order": order.id,
                        "provider": order.provider,
                        "provider_id": order.provider_id,
                        "item": label,
                        "amount": money.to_wire(),
                        "currency": money.currency,
                        "reason": order.note,
                        "due": due,
                    },
                )
            )
        except Exception:
            self.ctx.log.exception("could not publish shop.refund_due for order %s", order.id)

    async def record_refund(self, tx: Transaction, event: MerchRefund) -> Recorded | None:
        order = (
            await Order.filter(provider=event.original_source)
            .filter(Q(provider_id=event.original_id) | Q(payment_ref=event.original_id))
            .first()
        )
        if order is None:
            self.ctx.log.warning(
                "refund %s:%s points at order %s:%s, which is not here; nothing to give back",
                event.source,
                event.source_id,
                event.original_source,
                event.original_id,
            )
            return None
        conn = tx.connection
        if event.full:  # a cancelled order: all of it, whatever the provider's amount says
            given = order.amount_minor
        elif event.amount.currency != order.currency:
            self.ctx.log.warning(
                "refund %s:%s is in %s, order %s was paid in %s: nothing given back",
                event.source,
                event.source_id,
                event.amount.currency,
                order.id,
                order.currency,
            )
            return Recorded(order.id, order.status)
        else:
            given = event.amount.minor
        # The provider's running total (Stripe's amount_refunded), so the largest one seen
        # wins: deliveries of two partial refunds may arrive in either order.
        await stock.execute(
            conn,
            "UPDATE shop_order SET refunded_minor = ? WHERE id = ? AND refunded_minor < ?",
            [given, order.id, given],
        )
        if given < order.amount_minor:
            self.ctx.log.info(
                "order %s partly refunded (%s of %s): the unit stays sold",
                order.id,
                given,
                order.amount_minor,
            )
            return Recorded(order.id, order.status)
        was = order.status
        if was not in ("paid", "refund_due"):
            return Recorded(order.id, order.status)
        if not await stock.execute(
            conn,
            "UPDATE shop_order SET status = 'refunded' WHERE id = ? AND status = ?",
            [order.id, was],
        ):
            return Recorded(order.id, "refunded")
        moved: list[int] = []
        if was == "paid":
            moved = await self._give_back(conn, order)
        await Guest.filter(order_id=order.id, status__in=("queued", "skipped")).update(
            status="refunded"
        )
        for item_id in moved:
            tx.on_commit(lambda item_id=item_id: self.stock.forget(item_id))  # type: ignore[misc]
        return Recorded(order.id, "refunded", tuple(moved))

    async def _give_back(self, conn: BaseDBAsyncClient, order: Order) -> list[int]:
        """A refunded order's units go back to stock, each while its drop is open: the
        units it took (``taken``), and one allowance per unit for the buyer."""
        if order.reservation_id is not None:  # type: ignore[attr-defined]
            await stock.execute(
                conn,
                "UPDATE shop_reservation SET status = 'refunded' WHERE id = ?",
                [order.reservation_id],  # type: ignore[attr-defined]
            )
        units = {int(item_id): int(count) for item_id, count in (order.taken or {}).items()}
        if not units and order.item_id is not None:  # an order written before ``taken``
            units = {order.item_id: 1 if order.reservation_id else order.quantity}  # type: ignore[attr-defined]
        key = f"{order.buyer_platform}:{order.buyer_id}"[:150] if order.buyer_id else ""
        moved: list[int] = []
        for item_id, count in units.items():
            item = await DropItem.get_or_none(id=item_id).prefetch_related("drop")
            if item is None or item.drop.status != "open":
                continue
            if key:
                await stock.free_allowance(conn, item.drop.id, key, count)
            await stock.return_units(conn, item.id, count)
            moved.append(item.id)
        return moved

    async def read_back(self, event: Event) -> Recorded | None:
        """What ``record_events`` wrote for ``event`` before a restart, or ``None``."""
        if isinstance(event, MerchOrder | Tip):
            order = await Order.get_or_none(provider=event.source, provider_id=event.source_id)
            return Recorded(order.id, order.status) if order is not None else None
        return None


def memberships(ctx: PluginContext[ShopConfig]) -> Memberships | None:
    """The VIP plugin's API, or ``None`` when it is not running (asked at call time)."""
    return ctx.peer("vip", Memberships)  # type: ignore[type-abstract]


def member_rank(ctx: PluginContext[ShopConfig], viewer: ViewerRef) -> int:
    """The viewer's VIP tier rank, or -1 (not a member, or no VIP plugin)."""
    vip = memberships(ctx)
    if vip is None:
        return -1
    held = vip.membership(viewer)
    if held is None:
        return -1
    ranks = {tier.name: tier.rank for tier in vip.tiers()}
    return ranks.get(held.tier, 0)
