"""The shop's pages and API: the dashboard, the public drop page, the pay link, CSV, chart.

Admin routes live under ``/api/shop/`` (Bearer admin token or the dashboard session) and
the dashboard page is ``/p/shop/``; the image upload is a multipart POST at
``/p/shop/products/{id}/image`` (admin, through the CSRF guard: ``/api/`` bodies are JSON).
Public: ``/p/shop/drop`` (the drop page; with a signed ``?v=`` link from ``!merch`` it has
claim buttons), ``/p/shop/drop.json`` (its live stock), ``/p/shop/claim`` (a claim from
the page) and ``/p/shop/pay/{code}`` (a reservation's checkout).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiohttp_jinja2
from aiohttp import web
from limelight import MediaError, Money, Route, duration, edge
from limelight.links import LinkError
from limelight.web.charts import svg_response
from limelight.web.errors import ApiError, link_refused, notice_page
from limelight.web.export import csv_download, json_object, pages, spreadsheet_cell
from limelight.web.security import secure
from tortoise.functions import Sum

from . import chart
from .checkout import CheckoutError
from .config import check_sku, currency_code
from .models import Drop, DropItem, Guest, Order, Product, Reservation, item_label
from .orders import memberships
from .stock import PREFIX

if TYPE_CHECKING:
    from . import ShopPlugin

MAX_ROWS = 500
ORDER_STATUSES = ("paid", "refund_due", "refunded")
ORDER_CSV_COLUMNS = (
    "id",
    "created_at",
    "provider",
    "provider_id",
    "drop_id",
    "sku",
    "item",
    "variant",
    "quantity",
    "gift",
    "amount",
    "currency",
    "refunded",
    "buyer",
    "status",
    "note",
)


class BadRequest(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(400, message)


def _text(body: dict[str, Any], key: str, limit: int, default: str = "") -> str:
    value = body.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise BadRequest(f"{key} must be a string")
    return edge.clean_text(value, limit)


def _int(body: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadRequest(f"{key} must be an integer from {low} to {high}")
    return value


def _time(body: dict[str, Any], key: str) -> datetime | None:
    value = body.get(key)
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{key} must be an ISO 8601 time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadRequest(f"{key} must be an ISO 8601 time") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise BadRequest("the id must be an integer") from None


def _strings(body: dict[str, Any], key: str, limit: int) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"{key} must be a list of strings")
    return [edge.clean_text(v, limit) for v in value if v.strip()][:50]


class Web:
    def __init__(self, plugin: ShopPlugin) -> None:
        self.plugin = plugin
        self.ctx = plugin.ctx

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/p/shop/", self.page, nav="Shop"),
            Route("GET", "/api/shop/products", self.products),
            Route("POST", "/api/shop/products", self.save_product),
            Route("POST", "/p/shop/products/{id}/image", self.upload_image),
            Route("GET", "/api/shop/drops", self.drops),
            Route("POST", "/api/shop/drops", self.save_drop),
            Route("POST", "/api/shop/drops/{id}/{action:open|end}", self.drop_action),
            Route("GET", "/api/shop/drops/{id}/chart.svg", self.drop_chart),
            Route("GET", "/api/shop/reservations", self.reservations),
            Route("POST", "/api/shop/reservations/{id}/cancel", self.cancel_reservation),
            Route("GET", "/api/shop/orders", self.orders),
            Route("POST", "/api/shop/orders/{id}/refunded", self.mark_refunded),
            Route("GET", "/api/shop/export.csv", self.export_csv),
            Route("GET", "/api/shop/guests", self.guests),
            Route("POST", "/api/shop/guests/next", self.guest_next),
            Route("POST", "/api/shop/guests/{id}/skip", self.guest_skip),
            Route("POST", "/api/shop/guests/order", self.guest_order),
            Route("GET", "/p/shop/drop", self.drop_page, auth="public"),
            Route("GET", "/p/shop/drop.json", self.drop_json, auth="public"),
            Route("POST", "/p/shop/claim", self.claim, auth="public"),
            Route("GET", "/p/shop/pay/{code}", self.pay, auth="public"),
        ]

    # -- dashboard -----------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.StreamResponse:
        response = aiohttp_jinja2.render_template(
            "shop/dashboard.html",
            request,
            {
                "webhook_base": self.ctx.url("/webhooks/"),
                "config": self.ctx.config,
                "refund_due": await Order.filter(status="refund_due").count(),
                # what stops viewers from paying, before a drop is opened (not on stream)
                "payment_problems": self.plugin.check_checkout(),
                # the tiers a drop's guest slots can be free for (a box each)
                "tiers": vip.tiers() if (vip := memberships(self.ctx)) else [],
            },
        )
        return secure(response)

    def _product(self, p: Product) -> dict[str, Any]:
        return {
            "id": p.id,
            "sku": p.sku,
            "name": p.name,
            "kind": p.kind,
            "price": Money(int(p.price_minor), p.currency).to_wire(),
            "currency": p.currency,
            "display": self.ctx.money(Money(int(p.price_minor), p.currency)),
            "variants": list(p.variants),
            "image": p.image,
            "url": p.url,
            "kofi_code": p.kofi_code,
            "from_config": p.from_config,
        }

    async def products(self, request: web.Request) -> web.Response:
        rows = await Product.filter(archived=False).order_by("kind", "sku")
        return web.json_response({"products": [self._product(p) for p in rows]})

    async def save_product(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        try:
            sku = check_sku(_text(body, "sku", 40))
            currency = currency_code(_text(body, "currency", 8, "EUR"))
            price = Money.parse(str(body.get("price", "0")), currency)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        if price.minor < 0:
            raise BadRequest("price must be 0 or more")
        name = _text(body, "name", 120)
        if not name:
            raise BadRequest("name is required")
        kind = _text(body, "kind", 10, "merch")
        if kind not in ("merch", "guest"):
            raise BadRequest("kind must be merch or guest")
        url = _text(body, "url", 500)
        if url and not url.startswith(("https://", "http://")):
            raise BadRequest("url must start with https://")
        values = {
            "name": name,
            "kind": kind,
            "price_minor": price.minor,
            "currency": currency,
            "variants": _strings(body, "variants", 60),
            "url": url,
            "kofi_code": _text(body, "kofi_code", 64),
            "archived": False,
        }
        product, created = await Product.update_or_create(sku=sku, defaults=values)
        self.plugin.drops.invalidate()
        self.plugin.board.changed()
        return web.json_response(
            {"product": self._product(product)}, status=201 if created else 200
        )

    async def upload_image(self, request: web.Request) -> web.Response:
        product = await Product.get_or_none(id=_id(request))
        if product is None:
            raise ApiError(404, "no such product")
        if not request.content_type.startswith("multipart/"):
            raise ApiError(415, "send the image as multipart/form-data (field image)")
        reader = await request.multipart()
        data = b""
        async for part in reader:
            if getattr(part, "name", "") == "image":
                data = await part.read()  # type: ignore[union-attr]
                break
        if not data:
            raise BadRequest("the form has no image field")
        try:
            stored = await self.ctx.media.store(data, kinds=("image",), max_dimensions=(2048, 2048))
        except MediaError as exc:
            raise BadRequest(str(exc)) from None
        product.image = stored.url
        await product.save(update_fields=["image"])
        self.plugin.board.changed()
        return web.json_response({"product": self._product(product)})

    async def _drop(self, d: Drop) -> dict[str, Any]:
        items = await DropItem.filter(drop_id=d.id).prefetch_related("product").order_by("id")
        # units, not orders: a hoodie x3 or three gifts are three sold (as the chart counts)
        units = (
            await Order.filter(drop_id=d.id, status="paid")
            .annotate(units=Sum("quantity"))
            .values("units")
        )
        sold = int(units[0]["units"] or 0) if units else 0
        return {
            "id": d.id,
            "name": d.name,
            "status": d.status,
            "starts_at": d.starts_at.isoformat() if d.starts_at else None,
            "ends_at": d.ends_at.isoformat() if d.ends_at else None,
            "live_only": d.live_only,
            "per_viewer_limit": d.per_viewer_limit,
            "members_first_minutes": d.members_first_minutes,
            "members_tiers": list(d.members_tiers),
            "free_tiers": list(d.free_tiers),
            "members_first_queue": d.members_first_queue,
            "sold": sold,
            "items": [
                {
                    "id": i.id,
                    "sku": i.product.sku,
                    "name": i.product.name,
                    "variant": i.variant,
                    "stock": i.stock,
                    "left": i.remaining,
                }
                for i in items
            ],
        }

    async def drops(self, request: web.Request) -> web.Response:
        rows = await Drop.all().order_by("-id").limit(100)
        return web.json_response({"drops": [await self._drop(d) for d in rows]})

    async def save_drop(self, request: web.Request) -> web.Response:
        """Create a drop: {name, starts_at?, ends_at?, live_only, per_viewer_limit,
        members_first_minutes, members_tiers, free_tiers, members_first_queue,
        items: [{sku, variant?, stock}]}."""
        body = await json_object(request)
        name = _text(body, "name", 120)
        if not name:
            raise BadRequest("name is required")
        starts, ends = _time(body, "starts_at"), _time(body, "ends_at")
        if starts and ends and ends <= starts:
            raise BadRequest("ends_at must be after starts_at")
        raw_items = body.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            raise BadRequest("items must list at least one {sku, stock}")
        lines: list[tuple[Product, str, int]] = []
        for number, raw in enumerate(raw_items[:50]):
            if not isinstance(raw, dict):
                raise BadRequest(f"items[{number}] must be an object")
            sku = _text(raw, "sku", 40).lower()
            product = await Product.get_or_none(sku=sku, archived=False)
            if product is None:
                raise BadRequest(f"items[{number}]: no product {sku!r}")
            variant = _text(raw, "variant", 60)
            if product.variants and variant not in product.variants:
                raise BadRequest(f"items[{number}]: {sku} comes in {', '.join(product.variants)}")
            lines.append((product, variant, _int(raw, "stock", 1, 0, 1_000_000)))
        if len({(p.id, v) for p, v, _ in lines}) != len(lines):
            raise BadRequest("an item is listed twice")
        drop = await Drop.create(
            name=name,
            starts_at=starts,
            ends_at=ends,
            live_only=bool(body.get("live_only", False)),
            per_viewer_limit=_int(
                body, "per_viewer_limit", self.ctx.config.per_viewer_limit, 1, 100
            ),
            members_first_minutes=_int(body, "members_first_minutes", 0, 0, 24 * 60),
            members_tiers=_strings(body, "members_tiers", 40),
            free_tiers=_strings(body, "free_tiers", 40),
            members_first_queue=bool(body.get("members_first_queue", False)),
        )
        for product, variant, count in lines:
            await DropItem.create(
                drop=drop, product=product, variant=variant, stock=count, remaining=count
            )
        self.plugin.drops.schedule(drop)
        return web.json_response({"drop": await self._drop(drop)}, status=201)

    async def drop_action(self, request: web.Request) -> web.Response:
        drop_id = _id(request)
        drops = self.plugin.drops
        if request.match_info["action"] == "open":
            done = await drops.open(drop_id)
        else:
            done = await drops.end(drop_id)
        drop = await Drop.get_or_none(id=drop_id)
        if drop is None:
            raise ApiError(404, "no such drop")
        return web.json_response({"changed": done, "drop": await self._drop(drop)})

    async def drop_chart(self, request: web.Request) -> web.Response:
        drop = await Drop.get_or_none(id=_id(request))
        if drop is None:
            raise ApiError(404, "no such drop")
        orders = await Order.filter(drop_id=drop.id, status="paid").order_by("created_at")
        return svg_response(
            chart.sales_chart(
                drop.name, [(o.created_at, o.quantity) for o in orders], drop.opened_at
            )
        )

    async def reservations(self, request: web.Request) -> web.Response:
        rows = Reservation.all()
        if status := request.query.get("status", "").strip():
            rows = rows.filter(status=status[:10])
        found = await rows.order_by("-id").limit(MAX_ROWS).prefetch_related("item__product")
        return web.json_response(
            {
                "reservations": [
                    {
                        "id": r.id,
                        "code": PREFIX + r.code,
                        "drop_id": r.drop_id,
                        "sku": r.item.product.sku,
                        "variant": r.item.variant,
                        "viewer": r.viewer_name,
                        "platform": r.viewer_platform,
                        "status": r.status,
                        "expires_at": r.expires_at.isoformat(),
                    }
                    for r in found
                ]
            }
        )

    async def cancel_reservation(self, request: web.Request) -> web.Response:
        done = await self.plugin.drops.release(_id(request), "cancelled")
        if not done:
            raise ApiError(409, "that reservation is not held any more")
        return web.json_response({"cancelled": True})

    def _order(self, o: Order) -> dict[str, Any]:
        money = Money(int(o.amount_minor), o.currency)
        return {
            "id": o.id,
            "provider": o.provider,
            "provider_id": o.provider_id,
            "drop_id": o.drop_id,
            "sku": o.sku,
            "item": o.item_name,
            "variant": o.variant,
            "quantity": o.quantity,
            "gift": o.gift,
            "amount": money.to_wire(),
            "currency": o.currency,
            "display": self.ctx.money(money),
            "refunded": Money(int(o.refunded_minor), o.currency).to_wire(),
            "refunded_display": self.ctx.money(Money(int(o.refunded_minor), o.currency))
            if o.refunded_minor
            else "",
            "buyer": o.buyer_name,
            "status": o.status,
            "note": o.note,
            "created_at": o.created_at.isoformat(),
        }

    def _orders_query(self, request: web.Request) -> Any:
        rows = Order.all()
        if status := request.query.get("status", "").strip():
            if status not in ORDER_STATUSES:
                raise BadRequest(f"status must be one of {', '.join(ORDER_STATUSES)}")
            rows = rows.filter(status=status)
        if drop := request.query.get("drop", "").strip():
            if not drop.isdigit():
                raise BadRequest("drop must be a drop id")
            rows = rows.filter(drop_id=int(drop))
        return rows

    async def orders(self, request: web.Request) -> web.Response:
        rows = await self._orders_query(request).order_by("-id").limit(MAX_ROWS)
        due = await Order.filter(status="refund_due").count()
        return web.json_response({"orders": [self._order(o) for o in rows], "refund_due": due})

    async def mark_refunded(self, request: web.Request) -> web.Response:
        """The streamer refunded a flagged order by hand: it leaves the to-do list."""
        order_id = _id(request)
        changed = await Order.filter(id=order_id, status="refund_due").update(status="refunded")
        if not changed:
            raise ApiError(409, "that order is not waiting for a refund")
        return web.json_response({"refunded": True})

    async def export_csv(self, request: web.Request) -> web.StreamResponse:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        return await csv_download(
            request,
            filename=f"shop-orders-{stamp}.csv",
            columns=ORDER_CSV_COLUMNS,
            rows=pages(self._orders_query(request), using=self.ctx.db.reader),
            cells=self._csv_cells,
        )

    def _csv_cells(self, o: Order) -> list[Any]:
        """One order of the CSV export, in :data:`ORDER_CSV_COLUMNS` order (``gift`` as
        yes/no, as the other exports write a flag)."""
        row = {**self._order(o), "gift": "yes" if o.gift else "no"}
        return [
            spreadsheet_cell(row[c])
            if isinstance(row[c], str)
            else ("" if row[c] is None else row[c])
            for c in ORDER_CSV_COLUMNS
        ]

    async def guests(self, request: web.Request) -> web.Response:
        rows = await Guest.filter(status__in=("queued", "live")).order_by("position", "id")
        return web.json_response(
            {
                "guests": [
                    {
                        "id": g.id,
                        "name": g.viewer_name,
                        "platform": g.viewer_platform,
                        "status": g.status,
                        "member": g.member_rank >= 0,
                        "started_at": g.started_at.isoformat() if g.started_at else None,
                    }
                    for g in rows
                ]
            }
        )

    async def guest_next(self, request: web.Request) -> web.Response:
        guest = await self.plugin.guests.next()
        return web.json_response({"guest": guest.viewer_name if guest else None})

    async def guest_skip(self, request: web.Request) -> web.Response:
        guest = await self.plugin.guests.skip(_id(request))
        if guest is None:
            raise ApiError(409, "that guest is not in the queue")
        return web.json_response({"skipped": guest.viewer_name})

    async def guest_order(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        ids = body.get("ids")
        if not isinstance(ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids
        ):
            raise BadRequest("ids must be a list of guest ids")
        await self.plugin.guests.reorder(ids[:500])
        return web.json_response({"ok": True})

    # -- public ---------------------------------------------------------------------------

    async def drop_page(self, request: web.Request) -> web.StreamResponse:
        token = request.query.get("v", "")
        viewer_name = ""
        if token:
            try:
                viewer_name = self.plugin.links.verify(token).name
            except LinkError as exc:
                return link_refused(request, exc)
        response = aiohttp_jinja2.render_template(
            "shop/drop.html", request, {"nav": [], "token": token, "viewer_name": viewer_name}
        )
        return secure(response)

    async def drop_json(self, request: web.Request) -> web.Response:
        board = self.plugin.board
        if board.drop is None and board.pushes == 0:
            await board.refresh()
        return web.json_response({"drop": board.drop}, headers={"Cache-Control": "no-store"})

    async def claim(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise ApiError(401, "open the drop page from your !merch link in chat to claim")
        try:
            viewer = self.plugin.links.verify(token)
        except LinkError as exc:
            raise ApiError(401, str(exc)) from None
        sku = _text(body, "sku", 40)
        if not sku:
            raise BadRequest("sku is required")
        outcome = await self.plugin.drops.claim(viewer, sku, _text(body, "variant", 60))
        if outcome.reservation is None:
            return web.json_response({"ok": False, "message": outcome.refused}, status=409)
        reservation = outcome.reservation
        return web.json_response(
            {
                "ok": True,
                "code": PREFIX + reservation.code,
                "free": outcome.free,
                "pay_url": "" if outcome.free else self.ctx.url(f"/p/shop/pay/{reservation.code}"),
                "expires_at": reservation.expires_at.isoformat(),
            },
            status=201,
        )

    async def pay(self, request: web.Request) -> web.StreamResponse:
        code = request.match_info["code"].upper().removeprefix(PREFIX)[:16]
        reservation = await Reservation.get_or_none(code=code).prefetch_related("item__product")
        if reservation is None:
            return notice_page(
                request,
                404,
                "No such reservation",
                "Check the link, or type !claim in chat again",
            )
        if reservation.status == "paid":
            return notice_page(
                request, 200, "Paid, thank you!", "This reservation is paid; your order is in"
            )
        if reservation.status != "held" or reservation.expires_at < datetime.now(UTC):
            return notice_page(
                request,
                410,
                "This reservation ran out",
                "Its unit went back to stock; claim again if any are left",
            )
        drop_page = self.ctx.url("/p/shop/drop")
        try:
            url = await self.plugin.checkout.url_for(
                reservation, success=drop_page + "?paid=1", cancel=drop_page
            )
        except CheckoutError as exc:
            return notice_page(request, 503, "Checkout is not available right now", str(exc))
        if self.ctx.config.checkout == "external":
            item: DropItem = reservation.item
            product: Product = item.product
            response = aiohttp_jinja2.render_template(
                "shop/pay.html",
                request,
                {
                    "nav": [],
                    "code": PREFIX + reservation.code,
                    "url": url,
                    "item": item_label(product.name, item.variant),
                    "price": self.ctx.money(Money(int(product.price_minor), product.currency)),
                    "held_for": duration(reservation.expires_at - datetime.now(UTC)),
                },
            )
            return secure(response)
        raise web.HTTPFound(url)
