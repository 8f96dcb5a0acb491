"""The Members dashboard page, its admin JSON API, the CSV export, the revenue chart, the
emote uploads, and the public join and welcome pages.

Admin routes live under ``/api/vip/`` (Bearer admin token or the dashboard session; JSON
bodies); the emote upload is a multipart form at ``/p/vip/emotes`` (the request guard
checks its CSRF token like any other). ``/p/vip/join/<token>`` (a ``!vip join`` link) and
``/p/vip/welcome`` (the Stripe Payment Link's return page) are public.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from limelight import MediaError, Money, Route, ViewerRef, edge
from limelight.emotes import CODE
from limelight.events import sub_tier_name
from limelight.links import LinkError
from limelight.web.charts import svg_response
from limelight.web.errors import ApiError, link_refused
from limelight.web.export import csv_download, json_object, pages, spreadsheet_cell
from limelight.web.security import secure
from limelight_room.api import RoomLinks
from pydantic import ValidationError

from . import chart
from .config import TierConfig, VipConfig
from .engine import PERK_TEXT
from .grants import Ask
from .joining import PREFIX
from .models import Membership, StoredTier, TierEmote
from .roster import now_utc

if TYPE_CHECKING:
    from . import VipPlugin

MAX_LIMIT = 500
EXPIRING = timedelta(days=7)
CSV_COLUMNS = (
    "id", "viewer_platform", "viewer_id", "viewer_name", "kind", "tier", "source",
    "source_id", "starts", "ends", "revoked_at", "ended_at", "granted_by", "reason",
    "amount", "currency",
)  # fmt: skip


class BadRequest(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(400, message)


def status_of(row: Membership, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.ended_at is not None or (row.ends is not None and row.ends <= now):
        return "ended"
    if row.starts > now:
        return "queued"
    return "current"


def _days(body: dict[str, Any], key: str = "days") -> timedelta | None:
    value = body.get(key)
    if value in (None, 0, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= 3660:
        raise BadRequest(f"{key} must be a whole number of days from 1 to 3660, or 0 for no end")
    return timedelta(days=value)


def _amount(row: Membership) -> str:
    if row.amount_minor is None or not row.currency:
        return ""
    return Money(row.amount_minor, row.currency).to_wire()


def _csv_cells(r: Membership) -> list[Any]:
    """One membership of the CSV export, in :data:`CSV_COLUMNS` order."""
    return [
        r.id,
        spreadsheet_cell(r.viewer_platform),
        spreadsheet_cell(r.viewer_id),
        spreadsheet_cell(r.viewer_name),
        r.kind,
        r.tier,
        spreadsheet_cell(r.source),
        spreadsheet_cell(r.source_id),
        r.starts.isoformat(),
        r.ends.isoformat() if r.ends else "",
        r.revoked_at.isoformat() if r.revoked_at else "",
        r.ended_at.isoformat() if r.ended_at else "",
        spreadsheet_cell(r.granted_by), spreadsheet_cell(r.reason),
        _amount(r),
        r.currency,
    ]  # fmt: skip


class Dashboard:
    def __init__(self, plugin: VipPlugin) -> None:
        self.plugin = plugin

    @property
    def ctx(self) -> Any:
        return self.plugin.ctx

    @property
    def config(self) -> VipConfig:
        return self.plugin.config

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/p/vip/", self.page, nav="Members"),
            Route("GET", "/api/vip/members", self.list_members),
            Route("POST", "/api/vip/members", self.grant),
            Route("POST", "/api/vip/members/{id}/extend", self.extend),
            Route("POST", "/api/vip/members/{id}/revoke", self.revoke),
            Route("GET", "/api/vip/export.csv", self.export_csv),
            Route("GET", "/api/vip/revenue", self.revenue),
            Route("GET", "/api/vip/revenue.svg", self.revenue_svg),
            Route("GET", "/api/vip/tiers", self.get_tiers),
            Route("PUT", "/api/vip/tiers", self.put_tiers),
            Route("DELETE", "/api/vip/tiers", self.reset_tiers),
            Route("GET", "/api/vip/emotes", self.list_emotes),
            Route("POST", "/p/vip/emotes", self.upload_emote),
            Route("DELETE", "/api/vip/emotes/{id}", self.delete_emote),
            Route("GET", "/api/vip/window", self.window),
            Route("POST", "/api/vip/window", self.window),
            Route("GET", "/p/vip/join/{token}", self.join, auth="public"),
            Route("GET", "/p/vip/welcome", self.welcome, auth="public"),
        ]

    # -- the page ----------------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.StreamResponse:
        response = aiohttp_jinja2.render_template(
            "vip/dashboard.html",
            request,
            {
                "tiers": self.plugin.tiers_book.list,
                "webhook": self.ctx.url("/webhooks/vip-stripe"),
                "fourthwall_webhook": self.ctx.url("/webhooks/vip-fourthwall"),
                "welcome": self.ctx.url("/p/vip/welcome") + "?session_id={CHECKOUT_SESSION_ID}",
            },
        )
        return secure(response)

    # -- members -----------------------------------------------------------------------------

    def row_json(self, row: Membership, now: datetime) -> dict[str, Any]:
        return {
            "id": row.id,
            "viewer": {
                "platform": row.viewer_platform,
                "id": row.viewer_id,
                "name": row.viewer_name,
            },
            "kind": row.kind,
            "tier": row.tier,
            "tier_label": self.plugin.tiers_book.label(row.tier),
            "source": row.source,
            "source_id": row.source_id,
            "starts": row.starts.isoformat(),
            "ends": row.ends.isoformat() if row.ends else None,
            "status": status_of(row, now),
            "revoked_at": row.revoked_at.isoformat() if row.revoked_at else None,
            "granted_by": row.granted_by,
            "reason": row.reason,
            "amount": (
                self.ctx.money(Money(row.amount_minor, row.currency))
                if row.amount_minor is not None and row.currency
                else ""
            ),
            "room_link": self.room_link(
                ViewerRef(row.viewer_platform, row.viewer_id, row.viewer_name)
            ),
        }

    def room_link(self, viewer: ViewerRef) -> str | None:
        """The member's personal link to the members' room, when the room plugin runs and
        the membership admits them (its documented API; the room owns links and access)."""
        room = self.ctx.peer("room", RoomLinks)
        return room.link_for(viewer) if room is not None else None

    def _filtered(self, query: Any) -> Any:
        rows = Membership.all()
        now = now_utc()
        view = query.get("view", "current")
        if q := query.get("q", "").strip():
            rows = rows.filter(viewer_name__icontains=q[:100])
        if tier := query.get("tier", "").strip():
            rows = rows.filter(tier=tier[:40])
        if source := query.get("source", "").strip():
            rows = rows.filter(source=source[:80])
        if view == "current":
            rows = rows.filter(revoked_at=None, ended_at=None)
        elif view == "expiring":
            rows = rows.filter(
                revoked_at=None, ended_at=None, ends__not_isnull=True, ends__lte=now + EXPIRING
            )
        elif view != "all":
            raise BadRequest("view must be current, expiring or all")
        return rows

    async def list_members(self, request: web.Request) -> web.Response:
        try:
            limit = int(request.query.get("limit", "200"))
        except ValueError:
            raise BadRequest("limit must be an integer") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
        rows = await self._filtered(request.query).order_by("-id").limit(limit)
        now = now_utc()
        counts: dict[str, int] = {}
        for member in self.plugin.roster.members():
            counts[member.tier] = counts.get(member.tier, 0) + 1
        return web.json_response(
            {
                "members": [self.row_json(r, now) for r in rows],
                "counts": counts,
                "labels": {t.name: t.label for t in self.plugin.tiers_book.list},
                "window": self._window_state(),
            }
        )

    async def grant(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        tier = body.get("tier")
        if not isinstance(tier, str) or self.plugin.tiers_book.get(tier) is None:
            raise BadRequest(
                "tier must be one of " + ", ".join(t.name for t in self.plugin.tiers_book.list)
            )
        viewer = await self._viewer(body)
        duration = _days(body)
        reason = edge.clean_text(str(body.get("reason") or "granted in the dashboard"), 200)
        key = body.get("request_id")
        if not isinstance(key, str) or not 8 <= len(key) <= 80:
            raise BadRequest("request_id (8-80 characters, one per click) is required")
        granted = await self.plugin.engine.grant(
            Ask(
                viewer=viewer,
                tier=tier,
                source="dashboard",
                source_id=key,
                duration=duration,
                granted_by="dashboard",
                reason=reason,
            )
        )
        await self.plugin.push_wall()
        return web.json_response(
            {"new": granted.new, "tier": granted.membership.tier},
            status=201 if granted.new else 200,
        )

    async def _viewer(self, body: dict[str, Any]) -> ViewerRef:
        raw = body.get("viewer")
        if isinstance(raw, dict):
            try:
                ref = ViewerRef.from_wire(raw)
            except ValueError as exc:
                raise BadRequest(str(exc)) from None
            if ref is not None:
                return ViewerRef(ref.platform[:40], ref.id[:100], edge.clean_text(ref.name, 200))
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise BadRequest(
                "name (a chat name seen lately) or viewer {platform, id, name} is required"
            )
        found = await self.plugin.resolve_stored(name.strip())
        if found is None:
            raise BadRequest(
                f"{name.strip()[:60]} has not been seen in chat; give viewer {{platform, id, name}}"
            )
        return found

    async def _row(self, request: web.Request) -> Membership:
        try:
            row_id = int(request.match_info["id"])
        except ValueError:
            raise BadRequest("the id must be an integer") from None
        row = await Membership.get_or_none(id=row_id)
        if row is None:
            raise ApiError(404, "no such membership")
        return row

    async def extend(self, request: web.Request) -> web.Response:
        row = await self._row(request)
        body = await json_object(request)
        duration = _days(body)
        if duration is None:
            raise BadRequest("days must be at least 1")
        if row.revoked_at is not None or row.ended_at is not None:
            raise BadRequest("this membership has ended; grant a new one")
        row = await self.plugin.engine.extend(row, duration.days)
        await self.plugin.push_wall()
        return web.json_response(self.row_json(row, now_utc()))

    async def revoke(self, request: web.Request) -> web.Response:
        row = await self._row(request)
        body = await json_object(request)
        reason = edge.clean_text(str(body.get("reason") or "revoked in the dashboard"), 200)
        if row.revoked_at is None:
            await self.plugin.engine.revoke([row], reason)
            await self.plugin.push_wall()
        row = await Membership.get(id=row.id)
        return web.json_response(self.row_json(row, now_utc()))

    async def export_csv(self, request: web.Request) -> web.StreamResponse:
        query = dict(request.query)
        query.setdefault("view", "all")
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        return await csv_download(
            request,
            filename=f"members-{stamp}.csv",
            columns=CSV_COLUMNS,
            rows=pages(self._filtered(query), using=self.ctx.db.reader),
            cells=_csv_cells,
        )

    # -- revenue -----------------------------------------------------------------------------

    async def revenue(self, request: web.Request) -> web.Response:
        return web.json_response(await chart.revenue(using=self.ctx.db.reader))

    async def revenue_svg(self, request: web.Request) -> web.StreamResponse:
        data = await chart.revenue(using=self.ctx.db.reader)
        tiers = self.plugin.tiers_book
        return svg_response(
            chart.picture(
                data,
                {t.name: t.colour for t in tiers.list},
                {t.name: t.label for t in tiers.list},
                self.ctx.money,
            )
        )

    # -- tiers -------------------------------------------------------------------------------

    async def get_tiers(self, request: web.Request) -> web.Response:
        stored = await StoredTier.exists()
        return web.json_response(
            {
                "tiers": [t.model_dump() for t in self.plugin.tiers_book.list],
                "from": "dashboard" if stored else "config",
            }
        )

    async def put_tiers(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        raw = body.get("tiers")
        if not isinstance(raw, list) or not raw or len(raw) > 20:
            raise BadRequest("tiers must be a list of 1 to 20 tiers")
        try:
            tiers = [TierConfig.model_validate(t) for t in raw]
            # The whole config is checked again, so purchase rules keep naming real tiers.
            VipConfig.model_validate(
                {**self.config.model_dump(), "tiers": [t.model_dump() for t in tiers]}
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise BadRequest(f"{where}: {first['msg']}" if where else first["msg"]) from None
        await StoredTier.all().delete()
        for rank, tier in enumerate(tiers):
            await StoredTier.create(name=tier.name, rank=rank, settings=tier.model_dump())
        self._apply(tiers)
        return web.json_response({"tiers": [t.model_dump() for t in tiers], "from": "dashboard"})

    async def reset_tiers(self, request: web.Request) -> web.Response:
        await StoredTier.all().delete()
        self._apply(self.config.tiers)
        return web.json_response(
            {"tiers": [t.model_dump() for t in self.config.tiers], "from": "config"}
        )

    def _apply(self, tiers: list[TierConfig]) -> None:
        self.plugin.tiers_book.set(tiers)
        self.plugin.engine.reregister_badges()

    # -- emotes ------------------------------------------------------------------------------

    async def list_emotes(self, request: web.Request) -> web.Response:
        rows = await TierEmote.all().order_by("tier", "code")
        return web.json_response(
            {"emotes": [{"id": r.id, "code": r.code, "tier": r.tier, "url": r.url} for r in rows]}
        )

    async def upload_emote(self, request: web.Request) -> web.Response:
        """The emote form (multipart, so not under ``/api/``); errors answer JSON too."""
        try:
            return await self._upload_emote(request)
        except BadRequest as exc:
            return secure(
                web.json_response({"error": exc.message, "status": 400}, status=400), csp=None
            )

    async def _upload_emote(self, request: web.Request) -> web.Response:
        if request.content_type != "multipart/form-data":
            raise BadRequest("send the emote as multipart/form-data (tier, code, file)")
        form = await request.post()
        tier, code, upload = form.get("tier"), form.get("code"), form.get("file")
        if not isinstance(tier, str) or self.plugin.tiers_book.get(tier) is None:
            raise BadRequest("tier must be one of your tiers")
        if not isinstance(code, str) or not CODE.fullmatch(f":{code.strip(':')}:"):
            raise BadRequest("code must be 2-32 letters, digits or _ (typed as :code: in chat)")
        code = code.strip(":")
        if upload is None or isinstance(upload, str) or not hasattr(upload, "file"):
            raise BadRequest("file (a PNG, GIF or WebP of at most 112x112 pixels) is required")
        data = upload.file.read(2 * 1024 * 1024 + 1)
        try:
            stored = await self.ctx.media.store(data, kinds=("image",), max_dimensions=(112, 112))
        except MediaError as exc:
            raise BadRequest(str(exc)) from None
        if stored.type.ext not in ("png", "gif", "webp"):
            raise BadRequest("emotes must be PNG, GIF or WebP")
        existing = await TierEmote.get_or_none(code=code)
        if existing is not None:
            existing.tier, existing.url = tier, stored.url
            await existing.save(update_fields=["tier", "url"])
            row = existing
        else:
            row = await TierEmote.create(code=code, tier=tier, url=stored.url)
        await self.plugin.engine.load_emotes()
        return web.json_response(
            {"id": row.id, "code": row.code, "tier": row.tier, "url": row.url}, status=201
        )

    async def delete_emote(self, request: web.Request) -> web.Response:
        try:
            emote_id = int(request.match_info["id"])
        except ValueError:
            raise BadRequest("the id must be an integer") from None
        deleted = await TierEmote.filter(id=emote_id).delete()
        await self.plugin.engine.load_emotes()
        return web.json_response({"deleted": bool(deleted)})

    # -- members-only chat -------------------------------------------------------------------

    def _window_state(self) -> dict[str, Any]:
        gate = self.plugin.gate
        return {
            "open": gate.is_open(),
            "until": gate.until.isoformat() if gate.is_open() and gate.until else None,
            "reason": gate.reason if gate.is_open() else "",
            "hidden": gate.hidden,
        }

    async def window(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            body = await json_object(request)
            if body.get("open") is True:
                minutes = body.get("minutes", 10)
                if (
                    isinstance(minutes, bool)
                    or not isinstance(minutes, int)
                    or not 1 <= minutes <= 1440
                ):
                    raise BadRequest("minutes must be from 1 to 1440")
                await self.plugin.gate.open(timedelta(minutes=minutes), reason="dashboard")
            elif body.get("open") is False:
                await self.plugin.gate.close()
            else:
                raise BadRequest("open must be true or false")
        return web.json_response(self._window_state())

    # -- public pages ------------------------------------------------------------------------

    async def join(self, request: web.Request) -> web.StreamResponse:
        codes = self.plugin.stripe.codes
        if codes is None:
            raise web.HTTPNotFound(text="Join links are not set up on this server.")
        try:
            code = codes.verify(request.match_info["token"])
        except LinkError as exc:
            return link_refused(request, exc)
        found = await codes.resolve(code)
        chosen = found[1] if found else ""
        reference = urlencode({"client_reference_id": f"{PREFIX}{code}"})
        offers = []
        for tier in self.plugin.tiers_book.list:
            link = ""
            if tier.stripe_payment_link:
                sep = "&" if "?" in tier.stripe_payment_link else "?"
                link = tier.stripe_payment_link + sep + reference
            money = tier.price_money
            price = f"{self.ctx.money(money)} a {tier.period}" if money else ""
            offers.append(
                {
                    "name": tier.name,
                    "label": tier.label,
                    "badge": tier.badge,
                    "perks": tier.perks,
                    "price": price,
                    "twitch": sub_tier_name(tier.twitch_tier),
                    "link": link,
                    "chosen": tier.name == chosen,
                }
            )
        response = aiohttp_jinja2.render_template(
            "vip/join.html",
            request,
            {
                "nav": [],
                "code": f"{PREFIX}{code}",
                "offers": offers,
                "kofi_page": self.config.kofi_page,
                "perk_text": PERK_TEXT,
            },
        )
        return secure(response)

    async def welcome(self, request: web.Request) -> web.StreamResponse:
        """Where the Stripe Payment Link returns (``?session_id={CHECKOUT_SESSION_ID}``): the
        membership, once the webhook has granted it (the page refreshes until then)."""
        session = request.query.get("session_id", "")[:200]
        found = None
        if session.startswith("cs_"):
            found = await Membership.filter(checkout=session, revoked_at=None).first()
        viewer = (
            ViewerRef(found.viewer_platform, found.viewer_id, found.viewer_name) if found else None
        )
        response = aiohttp_jinja2.render_template(
            "vip/welcome.html",
            request,
            {
                "nav": [],
                "found": found is not None,
                # who the membership is for (the members' room builds its link from it)
                "viewer": viewer,
                "room_link": self.room_link(viewer) if viewer is not None else None,
                "name": found.viewer_name if found else "",
                "tier": self.plugin.tiers_book.label(found.tier) if found else "",
                "ends": found.ends.strftime("%Y-%m-%d") if found and found.ends else "",
                "pending": bool(session) and found is None,
            },
        )
        if found is None and session:
            response.headers["Refresh"] = "5"
        return secure(response)


__all__ = ["Dashboard"]
