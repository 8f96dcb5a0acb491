"""The live shop: merch drops that cannot oversell, and paid guest slots ("Go Live with").

A drop is a race: products with stock, a window (scheduled, live-only, members first), a
per-viewer limit. ``!claim <sku> [variant]`` (or the button on the public drop page)
reserves one unit for a while and answers with a personal checkout link; the order
arrives by webhook (Stripe, Fourthwall, or Ko-fi through the tips plugin) and is committed
once. Guest slots are sold the same way and fill a queue the streamer calls from with
``!next``. Overlays: ``shop-drop`` (the drop) and ``shop-queue`` (who is next).

:class:`ShopPlugin` only wires the parts together; each part is a module with one concern
(see docs/shop.md, "How it is built"). VIP cooperation goes only through
``ctx.peer("vip", Memberships)``; without the VIP plugin, members-first windows admit
nobody early (they fail closed) and free-for-members guest slots are not free.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from functools import cached_property, partial

from limelight import (
    Call,
    Command,
    CustomEvent,
    DoctorCheck,
    Event,
    EventType,
    MerchOrder,
    MerchRefund,
    Models,
    Money,
    Overlay,
    Plugin,
    Register,
    Route,
    StreamOffline,
    StreamOnline,
    Tip,
    Transaction,
    ViewerRef,
    WebhookProvider,
    command,
    example,
    fill,
    hookimpl,
)

from .board import Board
from .checkout import Checkout
from .config import ShopConfig, webhook_problems, webhook_secret
from .drops import Drops
from .guests import Guests
from .links import ViewerLinks
from .models import Drop, DropItem, Order, Product, item_label
from .orders import Orders, Recorded
from .providers import (
    FOURTHWALL,
    FOURTHWALL_MAX_BODY,
    STRIPE,
    fourthwall_handle,
    stripe_handle,
)
from .stock import PREFIX, Stock
from .web import Web

__version__ = "0.1.0"

EVENT_TYPES = (
    # label, describe and icon: how the dashboard's activity feed reads them
    EventType(
        "shop.drop_started",
        description="A drop opened: drop, id, ends_at, live_only.",
        label="Drop opened",
        describe="{drop} is open",
        icon="bag",
    ),
    EventType(
        "shop.low_stock",
        description="A drop item is running low: drop, sku, item, left.",
        label="Low stock",
        describe="Only {left} {item} left in {drop}",
        icon="bag",
    ),
    EventType(
        "shop.sold_out",
        description="A drop item sold out: drop, sku, item, stock.",
        label="Sold out",
        describe="{item} sold out in {drop} (all {stock})",
        icon="bag",
    ),
    EventType(
        "shop.drop_ended",
        description="A drop closed: drop, id.",
        label="Drop ended",
        describe="{drop} ended",
        icon="flag",
    ),
    EventType(
        "shop.refund_due",
        description="A paid order needs a refund by hand (paid after its reservation ran "
        "out with the stock gone, a second payment, a sold-out order, a guest who did not "
        "show up): order, provider, provider_id, item, amount, currency, reason, due (how "
        "many wait). For the streamer: the dashboard shows it; no chat line, no alert.",
        label="Refund needed",
        describe="Refund needed: {name}, {item} {amount}: {reason}",
        icon="refund",
    ),
)


class ShopPlugin(Plugin[ShopConfig]):
    config_model = ShopConfig

    def __init__(self) -> None:
        super().__init__()
        self.stock = Stock()

    # -- the parts ---------------------------------------------------------------------------

    @cached_property
    def board(self) -> Board:
        return Board(self.ctx)

    @cached_property
    def drops(self) -> Drops:
        return Drops(self.ctx, self.stock, self.board)

    @cached_property
    def orders(self) -> Orders:
        return Orders(self.ctx, self.stock)

    @cached_property
    def guests(self) -> Guests:
        return Guests(self.ctx, self.board)

    @cached_property
    def checkout(self) -> Checkout:
        return Checkout(self.config)

    @cached_property
    def links(self) -> ViewerLinks:
        secret = self.config.link_secret or self.ctx.settings.security.admin_token
        return ViewerLinks(secret, timedelta(minutes=self.config.link_ttl_minutes))

    @cached_property
    def web(self) -> Web:
        return Web(self)

    # -- registration ------------------------------------------------------------------------

    @hookimpl
    def register_models(self, register: Register[Models]) -> None:
        register(Models("shop", "limelight_shop.models", "limelight_shop.migrations"))

    @hookimpl
    def register_event_types(self, register: Register[EventType]) -> None:
        for event_type in EVENT_TYPES:
            register(event_type)

    @hookimpl
    def register_webhook_providers(self, register: Register[WebhookProvider]) -> None:
        register(
            WebhookProvider(
                STRIPE,
                self._stripe,
                check_config=partial(webhook_problems, STRIPE),
            )
        )
        register(
            WebhookProvider(
                FOURTHWALL,
                self._fourthwall,
                max_body=FOURTHWALL_MAX_BODY,
                check_config=partial(webhook_problems, FOURTHWALL),
            )
        )

    async def _stripe(self, request: object, body: bytes) -> list[Event]:
        secret = webhook_secret(self.ctx.settings.webhooks, STRIPE)
        return await stripe_handle(secret, request, body)  # type: ignore[arg-type]

    async def _fourthwall(self, request: object, body: bytes) -> list[Event]:
        secret = webhook_secret(self.ctx.settings.webhooks, FOURTHWALL)
        return await fourthwall_handle(secret, request, body)  # type: ignore[arg-type]

    @hookimpl
    def register_doctor_checks(self, register: Register[DoctorCheck]) -> None:
        register(DoctorCheck("shop checkout", self.check_checkout, off=self.checkout_off))

    def checkout_off(self) -> str:
        """Why ``limelight doctor`` shows the checkout as off rather than failed: nothing of
        it is set up yet (no product in the config, no Stripe key, no shop URL, no shop
        webhook, ``checkout`` left at its default), as on a fresh install. Once any of it
        is set, :meth:`check_checkout` names what is still missing; the dashboard's Shop
        page names it too, for products added there."""
        config, webhooks = self.config, self.ctx.settings.webhooks
        if (
            config.products
            or config.stripe_api_key
            or config.shop_url
            or "checkout" in config.model_fields_set
            or STRIPE in webhooks
            or FOURTHWALL in webhooks
        ):
            return ""
        return (
            "viewers' pay links are not set up (plugins.shop.stripe_api_key and "
            '[webhooks.shop-stripe], or checkout = "external" with a shop_url; docs/shop.md)'
        )

    def check_checkout(self) -> list[str]:
        """What stops viewers from paying, named by the key to set (never its value)."""
        config = self.config
        problems = []
        if config.checkout == "stripe" and not config.stripe_api_key:
            problems.append(
                "plugins.shop.stripe_api_key is empty: pay links cannot open Stripe "
                '(set LIMELIGHT_PLUGINS__SHOP__STRIPE_API_KEY, or checkout = "external")'
            )
        if config.checkout == "stripe" and not webhook_secret(self.ctx.settings.webhooks, STRIPE):
            problems.append(
                "webhooks.shop-stripe.secret is not set: paid Stripe orders would not arrive"
            )
        if (
            config.checkout == "external"
            and not config.shop_url
            and not any(p.url for p in config.products)
        ):
            problems.append("plugins.shop.shop_url is empty: pay links have nowhere to go")
        return problems

    @hookimpl
    def register_routes(self, register: Register[Route]) -> None:
        for route in self.web.routes():
            register(route)

    @hookimpl
    def register_overlays(self, register: Register[Overlay]) -> None:
        register(
            Overlay(
                self.config.drop_overlay,
                "shop/drop_overlay.html",
                width=720,
                height=240,
                title="Merch drop",
                description="The open drop: image, price, stock bar, countdown, latest "
                "buyers, sold out. Empty when no drop is open.",
            )
        )
        register(
            Overlay(
                self.config.queue_overlay,
                "shop/queue_overlay.html",
                width=420,
                height=360,
                title="Guest queue",
                description="Who is on with you now (and their timer) and who is next.",
            )
        )

    @hookimpl
    def register_commands(self, register: Register[Command]) -> None:
        for cmd in (self.merch, self.claim, self.queue, self.leave, self.next_guest):
            register(cmd)

    # -- commands ----------------------------------------------------------------------------

    @command("merch", aliases=("shop",), user_cooldown=10)
    @example("!merch", r"(Nothing is on sale right now\.|On sale: .*)", regex=True)
    async def merch(self, call: Call) -> str:
        """What is on sale now, with your personal link to the drop page."""
        items = (
            await DropItem.filter(drop__status="open", product__kind="merch")
            .prefetch_related("product")
            .order_by("id")
        )
        if not items:
            return "Nothing is on sale right now."
        seen: dict[str, list[str]] = {}
        for item in items:
            product: Product = item.product
            label = f"{product.sku} {product.name} {self.drops.price(product)}"
            seen.setdefault(label, [])
            if item.remaining <= 0:
                seen[label].append(f"{item.variant or ''} sold out".strip())
            elif item.variant:
                seen[label].append(item.variant)
        parts = [label + (f" [{', '.join(v)}]" if v else "") for label, v in seen.items()]
        line = "On sale: " + "; ".join(parts) + ". Type !claim <sku> [size]"
        if call.viewer is not None:
            line += " or open " + self.ctx.url(f"/p/shop/drop?v={self.links.sign(call.viewer)}")
        return line

    @command("claim", aliases=("buy",))
    @example("!claim", r".*", regex=True)
    async def claim(self, call: Call, sku: str = "", variant: str = "") -> str | None:
        """Reserve one: !claim <sku> [size]. You get a personal checkout link."""
        if call.viewer is None:
            return "Claiming needs a chat account."
        if not sku:
            return "Which one? Type !merch to see what is on sale."
        outcome = await self.drops.claim(call.viewer, sku, variant)
        if outcome.reservation is None:
            # low: in a rush, 9,900 "sold out" answers at Twitch's 20 lines per 30 s would
            # hold the chat for hours; low lines are merged under pressure and the stale
            # ones dropped, while pay links (normal) go out first
            await call.reply(f"@{call.viewer.name} {outcome.refused}.", priority="low")
            return None
        reservation = outcome.reservation
        if outcome.free:
            return (
                f"@{call.viewer.name} you have a guest slot (free for members). "
                "!queue shows your place."
            )
        minutes = self.config.reservation_minutes
        link = self.ctx.url(f"/p/shop/pay/{reservation.code}")
        return (
            f"@{call.viewer.name} reserved for you for {minutes} min "
            f"({PREFIX}{reservation.code}): pay here {link}"
        )

    @command("queue", user_cooldown=5)
    @example("!queue", r".*", regex=True)
    async def queue(self, call: Call) -> str:
        """Your place in the guest queue, and who is next."""
        waiting = await self.guests.waiting()
        if call.viewer is not None:
            place = await self.guests.place_of(call.viewer)
            if place is not None:
                return (
                    f"@{call.viewer.name} you are number {place} of {len(waiting)} "
                    "in the guest queue."
                )
        if not waiting:
            return "The guest queue is empty."
        names = ", ".join(g.viewer_name for g in waiting[:5])
        return f"Next guests: {names}" + (
            f" (+{len(waiting) - 5} more)" if len(waiting) > 5 else ""
        )

    @command("leave", user_cooldown=5)
    @example("!leave", r".*", regex=True)
    async def leave(self, call: Call) -> str:
        """Leave the guest queue (a paid slot is not refunded automatically)."""
        if call.viewer is None:
            return "This needs a chat account."
        if await self.guests.leave(call.viewer):
            return f"@{call.viewer.name} you left the guest queue."
        return f"@{call.viewer.name} you are not in the guest queue."

    @command("next", role="moderator")
    @example("!next", r".*", regex=True)
    async def next_guest(self, call: Call) -> str:
        """Bring the next guest on stream (broadcaster and moderators)."""
        guest = await self.guests.next()
        if guest is None:
            return "The guest queue is empty."
        return f"Now on stream with us: {guest.viewer_name}!"

    # -- lifecycle and events ----------------------------------------------------------------

    @hookimpl
    async def startup(self) -> None:
        await self.sync_products()
        self.drops.on_free_guest = self._board_changed
        self.guests.on_refund_due = self.orders.flag
        self.board.start()
        await self.drops.start()
        await self.guests.start()

    async def _board_changed(self) -> None:
        self.board.changed()

    @hookimpl
    async def shutdown(self) -> None:
        await self.board.stop()

    async def sync_products(self) -> None:
        """``[[plugins.shop.products]]`` into the catalog (the config wins for those skus)."""
        for p in self.config.products:
            money = p.money()
            await Product.update_or_create(
                sku=p.sku,
                defaults={
                    "name": p.name,
                    "kind": "merch",
                    "price_minor": money.minor,
                    "currency": money.currency,
                    "variants": list(p.variants),
                    "image": p.image,
                    "url": p.url,
                    "kofi_code": p.kofi_code,
                    "from_config": True,
                    "archived": False,
                },
            )

    @hookimpl
    async def record_events(self, events: list[Event], tx: Transaction) -> Mapping[int, Recorded]:
        return await self.orders.record_events(events, tx)

    @hookimpl
    async def on_event(self, event: Event) -> None:
        if isinstance(event, StreamOnline | StreamOffline):
            if not event.test:
                await self.drops.set_live(isinstance(event, StreamOnline))
            return
        if event.test or isinstance(event, CustomEvent):
            return
        if isinstance(event, MerchOrder) and event.source == "shop":
            return  # our own announcement of a Ko-fi order
        if isinstance(event, Tip) and event.kind != "shop_order":
            return  # a tip: the tips plugin's
        if not isinstance(event, MerchOrder | MerchRefund | Tip):
            return
        recorded = self.ctx.recorded(event)
        if not isinstance(recorded, Recorded):
            recorded = await self.orders.read_back(event)
            if recorded is None:
                return
        for item_id in recorded.items:
            await self.drops.announce(item_id)
        self.board.changed()
        if recorded.status == "paid":
            await self.react(event, recorded)
        elif recorded.status == "refund_due":
            await self.orders.flag(recorded.order_id)

    async def react(self, event: Event, recorded: Recorded) -> None:
        """Once per paid order: the merch.order event (Ko-fi), the thanks in chat
        (``gift_thanks_template`` for gifts bought for chat)."""
        if not await Order.filter(id=recorded.order_id, announced=False).update(announced=True):
            return
        order = await Order.get(id=recorded.order_id)
        money = Money(int(order.amount_minor), order.currency)
        if isinstance(event, Tip):
            await self.ctx.publish(
                MerchOrder(
                    source="shop",
                    source_id=f"kofi:{event.source_id}",
                    viewer=ViewerRef(order.buyer_platform, order.buyer_id, order.buyer_name)
                    if order.buyer_id
                    else event.viewer,
                    item=order.item_name,
                    variant=order.variant,
                    amount=money,
                    quantity=order.quantity,
                    provider="kofi",
                )
            )
        lines = [order]
        if order.payment_ref and order.payment_ref != order.provider_id:
            # a line of a Fourthwall order: the first paid line thanks for all of them
            lines = await Order.filter(
                provider=order.provider, payment_ref=order.payment_ref, status="paid"
            ).order_by("id")
            if not lines or lines[0].id != order.id:
                return
            money = Money(sum(int(o.amount_minor) for o in lines), order.currency)
        # gifts for chat: their own line, which names how many ({quantity})
        template = self.config.gift_thanks_template if order.gift else self.config.thanks_template
        if template and order.buyer_name:
            label = ", ".join(
                item_label(o.item_name, o.variant)
                + (f" x{o.quantity}" if o.quantity > 1 and not o.gift else "")
                for o in lines
            )
            text = fill(
                template,
                name=order.buyer_name,
                item=label,
                amount=self.ctx.money(money),
                quantity=sum(o.quantity for o in lines),
            )
            try:
                await self.ctx.chat.say(text)
            except Exception as exc:
                self.ctx.log.info("could not thank %s in chat: %s", order.buyer_name, exc)


__all__ = ["Drop", "ShopPlugin"]
