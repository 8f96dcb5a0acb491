"""Guest slots ("Go Live with"): the paid queue, bringing the next guest on, the timer.

A guest slot is a product of kind ``guest`` in a drop (the session): it is claimed and
paid like merch, through the same stock engine, so N slots sell exactly N times. A paid
(or, for chosen VIP tiers, free) slot puts the viewer in the queue (:mod:`.orders`);
members go first when the session says so. ``!next`` or the dashboard brings the next
guest on: OBS switches to the guest scene and sets the name text source, the guest gets
the join instructions privately (a whisper), and a timer runs. A no-show is skipped and
their order flagged for a refund.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from limelight import PluginContext, ViewerRef, fill
from limelight.db import in_transaction

from . import stock
from .board import Board
from .config import ShopConfig
from .models import Guest, Order


class Guests:
    def __init__(self, ctx: PluginContext[ShopConfig], board: Board) -> None:
        self.ctx = ctx
        self.board = board
        #: Told the id of an order a skip flagged for a refund (the plugin publishes
        #: ``shop.refund_due``); set at startup.
        self.on_refund_due: Callable[[int], Awaitable[None]] | None = None

    async def start(self) -> None:
        live = await Guest.filter(status="live").first()
        if live is not None:
            self._schedule_timer(live)

    async def waiting(self) -> list[Guest]:
        return await Guest.filter(status="queued").order_by("position", "id")

    async def place_of(self, viewer: ViewerRef) -> int | None:
        key = stock.viewer_key(viewer)
        for number, guest in enumerate(await self.waiting(), 1):
            if guest.viewer_key == key:
                return number
        return None

    async def leave(self, viewer: ViewerRef) -> bool:
        changed = await Guest.filter(viewer_key=stock.viewer_key(viewer), status="queued").update(
            status="left", ended_at=datetime.now(UTC)
        )
        if changed:
            self.board.changed()
        return bool(changed)

    async def next(self) -> Guest | None:
        """Finish the guest on now and bring the next one on; ``None``: queue empty."""
        now = datetime.now(UTC)
        await Guest.filter(status="live").update(status="done", ended_at=now)
        self.ctx.scheduler.cancel("guest-timer")
        for guest in await self.waiting():
            # conditional: two !next at once bring on one guest
            if await Guest.filter(id=guest.id, status="queued").update(
                status="live", started_at=now
            ):
                guest.status, guest.started_at = "live", now
                await self._bring_on(guest)
                self.board.changed()
                return guest
        config = self.ctx.config
        if config.return_scene:
            await self._obs(lambda: self.ctx.obs.switch_scene(config.return_scene))
        self.board.changed()
        return None

    async def skip(self, guest_id: int) -> Guest | None:
        """A no-show: out of the queue (or off stream), their order flagged for a refund."""
        guest = await Guest.get_or_none(id=guest_id)
        if guest is None or guest.status not in ("queued", "live"):
            return None
        flagged = 0
        async with in_transaction():
            await Guest.filter(id=guest.id).update(status="skipped", ended_at=datetime.now(UTC))
            if guest.order_id is not None:
                flagged = await (
                    Order.filter(id=guest.order_id, status="paid")
                    .exclude(amount_minor=0)
                    .update(status="refund_due", note="guest did not show up: refund it")
                )
        if guest.status == "live":
            self.ctx.scheduler.cancel("guest-timer")
        self.board.changed()
        if flagged and guest.order_id is not None and self.on_refund_due is not None:
            await self.on_refund_due(guest.order_id)
        return guest

    async def reorder(self, ids: list[int]) -> None:
        """Put the queued guests ``ids`` first, in that order (the dashboard's drag)."""
        waiting = await self.waiting()
        known = {g.id: g for g in waiting}
        ordered = [known[i] for i in ids if i in known]
        ordered += [g for g in waiting if g.id not in set(ids)]
        async with in_transaction():
            for number, guest in enumerate(ordered):
                await Guest.filter(id=guest.id).update(position=float(number))
        self.board.changed()

    async def _bring_on(self, guest: Guest) -> None:
        config = self.ctx.config
        name = guest.viewer_name or "our guest"
        await self._obs(lambda: self.ctx.obs.set_text(config.guest_name_source, name))
        await self._obs(lambda: self.ctx.obs.switch_scene(config.guest_scene))
        if config.join_link:
            text = fill(config.join_template, name=name, link=config.join_link)
            viewer = ViewerRef(guest.viewer_platform, guest.viewer_id, guest.viewer_name)
            try:
                sent = await self.ctx.chat.whisper(viewer, text)
            except Exception as exc:
                sent = False
                self.ctx.log.warning("could not whisper %s the join link: %s", name, exc)
            if not sent:
                self.ctx.log.warning(
                    "no private message reached %s; give them the join link yourself", name
                )
        self._schedule_timer(guest)

    def _schedule_timer(self, guest: Guest) -> None:
        minutes = self.ctx.config.guest_minutes
        if minutes and guest.started_at is not None:
            self.ctx.scheduler.run_at(
                guest.started_at + timedelta(minutes=minutes),
                self.time_up,
                id="guest-timer",
                args=(guest.id,),
            )

    async def time_up(self, guest_id: int) -> None:
        guest = await Guest.get_or_none(id=guest_id)
        if guest is None or guest.status != "live":
            return
        try:
            await self.ctx.chat.say(f"Time's up for {guest.viewer_name}! Thank you for joining.")
        except Exception as exc:
            self.ctx.log.info("could not announce the end of a guest's time: %s", exc)

    async def _obs(self, action: Callable[[], Awaitable[object]]) -> None:
        """Run an OBS action; OBS queues it while away, and a failure never stops the queue."""
        try:
            await action()
        except Exception as exc:
            self.ctx.log.warning("OBS: %s", exc)
