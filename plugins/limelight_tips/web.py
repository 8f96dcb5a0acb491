"""The tips dashboard page, its admin JSON API, the CSV export and the tip-link page.

Why a class: every handler needs the running plugin's parts (the ledger's money formatter,
refunds, the approval queue, speech, the boards, the tip links); :class:`Dashboard` holds
them, and its bound methods are the routes. Admin routes live under ``/api/tips/`` (Bearer
admin token or the dashboard session); the page is ``/p/tips/``; ``/p/tips/go/<token>`` is
public: a viewer opens it from chat.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from limelight import Money, PluginContext, Route, edge
from limelight.links import LinkError
from limelight.web.errors import ApiError, link_refused
from limelight.web.export import csv_download, json_object, pages, spreadsheet_cell
from limelight.web.security import secure
from tortoise.queryset import QuerySet

from . import ledger
from .approval import Approval
from .attribution import PREFIX
from .boards import PERIODS, Boards
from .config import WEBHOOK_TABLES, TipsConfig
from .models import LedgerEntry
from .providers import Intake
from .refunds import RefundError, Refunds
from .speech import TTS_OVERLAY, TTS_TITLE, Speech

MAX_LIMIT = 500
KINDS = ("tip", "cheer", "refund")


class BadRequest(ApiError):
    """A 400 whose message the error middleware renders as ``{"error": ...}``."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


def _date(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a date or ISO 8601 timestamp") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def filtered(query: dict[str, str]) -> QuerySet[LedgerEntry]:
    """The ledger rows matching the dashboard's filters (validated, with clear errors)."""
    rows = LedgerEntry.all()
    if provider := query.get("provider", "").strip():
        rows = rows.filter(provider=provider)
    if kind := query.get("kind", "").strip():
        if kind not in KINDS:
            raise BadRequest(f"kind must be one of {', '.join(KINDS)}")
        rows = rows.filter(kind=kind)
    if currency := query.get("currency", "").strip().upper():
        rows = rows.filter(currency=currency)
    if name := query.get("q", "").strip():
        rows = rows.filter(viewer_name__icontains=name[:100])
    if since := query.get("since", "").strip():
        rows = rows.filter(occurred_at__gte=_date(since, "since"))
    if until := query.get("until", "").strip():
        rows = rows.filter(occurred_at__lt=_date(until, "until"))
    return rows


def _money(entry: LedgerEntry) -> Money:
    return Money(entry.amount_minor, entry.currency)


def _csv_cells(e: LedgerEntry) -> list[Any]:
    """One ledger row of the CSV export, in :data:`CSV_COLUMNS` order."""
    return [
        e.id,
        e.occurred_at.isoformat(),
        e.kind,
        spreadsheet_cell(e.detail),
        spreadsheet_cell(e.provider),
        spreadsheet_cell(e.provider_id),
        _money(e).to_wire(),
        e.currency,
        spreadsheet_cell(e.viewer_platform),
        spreadsheet_cell(e.viewer_id),
        spreadsheet_cell(e.viewer_name),
        "yes" if e.anonymous else "no",
        spreadsheet_cell(e.message),
        e.original_id or "",  # type: ignore[attr-defined]
        spreadsheet_cell(e.reason),
    ]


CSV_COLUMNS = (
    "id",
    "occurred_at",
    "kind",
    "detail",
    "provider",
    "provider_id",
    "amount",
    "currency",
    "viewer_platform",
    "viewer_id",
    "viewer_name",
    "anonymous",
    "message",
    "refund_of",
    "reason",
)


class Dashboard:
    def __init__(
        self,
        ctx: PluginContext[TipsConfig],
        *,
        intake: Intake,
        refunds: Refunds,
        approval: Approval,
        speech: Speech,
        boards: Boards,
    ) -> None:
        self.ctx = ctx
        self.intake = intake
        self.refunds = refunds
        self.approval = approval
        self.speech = speech
        self.boards = boards

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/p/tips/", self.page, nav="Tips"),
            Route("GET", "/api/tips/entries", self.list_entries),
            Route("GET", "/api/tips/totals", self.totals),
            Route("GET", "/api/tips/export.csv", self.export_csv),
            Route("POST", "/api/tips/entries/{id}/refund", self.refund),
            Route("GET", "/api/tips/queue", self.queue),
            Route("POST", "/api/tips/queue/{id}/{action:approve|reject}", self.decide),
            Route("GET", "/api/tips/tts", self.tts),
            Route("POST", "/api/tips/tts", self.tts),
            Route("GET", "/api/tips/leaderboard", self.leaderboard),
            Route("POST", "/api/tips/stream/start", self.stream_start),
            Route("GET", "/p/tips/go/{token}", self.go, auth="public"),
        ]

    # -- helpers -------------------------------------------------------------------------

    async def entry_rows(self, entries: list[LedgerEntry]) -> list[dict[str, Any]]:
        """Ledger rows as the dashboard shows them, with what was refunded of each."""
        money = self.ctx.money
        ids = [e.id for e in entries]
        refunds: dict[int, int] = {}
        if ids:
            for row in await LedgerEntry.filter(original_id__in=ids).values(
                "original_id", "amount_minor"
            ):
                original = int(row["original_id"])
                refunds[original] = refunds.get(original, 0) - int(row["amount_minor"])
        out = []
        for e in entries:
            refunded = refunds.get(e.id, 0)
            out.append(
                {
                    "id": e.id,
                    "occurred_at": e.occurred_at.isoformat(),
                    "kind": e.kind,
                    "detail": e.detail,
                    "provider": e.provider,
                    "provider_id": e.provider_id,
                    "amount": _money(e).to_wire(),
                    "currency": e.currency,
                    "display": money(_money(e)),
                    "viewer": {
                        "platform": e.viewer_platform,
                        "id": e.viewer_id,
                        "name": e.viewer_name,
                    },
                    "anonymous": e.anonymous,
                    "message": e.message,
                    "original_id": e.original_id,  # type: ignore[attr-defined]
                    "reason": e.reason,
                    "refunded": money(Money(refunded, e.currency)) if refunded else "",
                    "refundable": e.kind in ("tip", "cheer") and refunded < e.amount_minor,
                }
            )
        return out

    async def _totals(self, query: dict[str, str]) -> list[dict[str, Any]]:
        return [
            {
                "currency": t.money.currency,
                "amount": t.money.to_wire(),
                "display": self.ctx.money(t.money),
                "minor": t.money.minor,
                "entries": t.entries,
                "refunds": t.refunds,
            }
            for t in await ledger.totals(filtered(query).using_db(self.ctx.db.reader))
        ]

    # -- routes ----------------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.StreamResponse:
        response = aiohttp_jinja2.render_template(
            "tips/dashboard.html",
            request,
            {
                "config": self.ctx.config,
                "providers": sorted(self.intake.tables),
                "webhook_base": self.ctx.url("/webhooks/"),
                "endpoints": list(WEBHOOK_TABLES),
                "tts_overlay": {"name": TTS_OVERLAY, "title": TTS_TITLE},
            },
        )
        return secure(response)

    async def list_entries(self, request: web.Request) -> web.Response:
        query = dict(request.query)
        try:
            limit = int(query.get("limit", "100"))
            before = int(query["before"]) if query.get("before") else None
        except ValueError:
            raise BadRequest("limit and before must be integers") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
        rows = filtered(query)
        totals = await self._totals(query)
        if before is not None:
            rows = rows.filter(id__lt=before)
        entries = await rows.order_by("-id").limit(limit)
        return web.json_response({"entries": await self.entry_rows(entries), "totals": totals})

    async def totals(self, request: web.Request) -> web.Response:
        return web.json_response({"totals": await self._totals(dict(request.query))})

    async def export_csv(self, request: web.Request) -> web.StreamResponse:
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        return await csv_download(
            request,
            filename=f"tips-{stamp}.csv",
            columns=CSV_COLUMNS,
            rows=pages(filtered(dict(request.query)), using=self.ctx.db.reader),
            cells=_csv_cells,
        )

    async def refund(self, request: web.Request) -> web.Response:
        try:
            entry_id = int(request.match_info["id"])
        except ValueError:
            raise BadRequest("the entry id must be an integer") from None
        entry = await LedgerEntry.get_or_none(id=entry_id)
        if entry is None:
            raise ApiError(404, f"no ledger entry {entry_id}")
        body = await json_object(request)
        amount = None
        if body.get("amount") not in (None, ""):
            try:
                amount = Money.parse_positive(body["amount"], entry.currency)
            except (ValueError, TypeError) as exc:
                raise BadRequest(f"amount: {exc}") from None
        reason = body.get("reason", "")
        if not isinstance(reason, str):
            raise BadRequest("reason must be a string")
        try:
            row, created = await self.refunds.by_hand(entry, amount, edge.clean_text(reason))
        except RefundError as exc:
            raise BadRequest(str(exc)) from None
        rows = await self.entry_rows([row])
        return web.json_response(
            {"refund": rows[0], "created": created}, status=201 if created else 200
        )

    async def queue(self, request: web.Request) -> web.Response:
        rows = await self.approval.pending()
        return web.json_response(
            {
                "pending": [
                    {
                        "id": r.id,
                        "kind": r.kind,
                        "name": r.name,
                        "amount": r.amount,
                        "message": r.message,
                        "test": r.test,
                        "created_at": r.created_at.isoformat(),
                    }
                    for r in rows
                ]
            }
        )

    async def decide(self, request: web.Request) -> web.Response:
        try:
            pending_id = int(request.match_info["id"])
        except ValueError:
            raise BadRequest("the id must be an integer") from None
        action = request.match_info["action"]
        row = await self.approval.decide(pending_id, action == "approve")
        if row is None:
            raise ApiError(409, f"alert {pending_id} is not waiting for approval")
        return web.json_response({"id": row.id, "status": row.status})

    async def tts(self, request: web.Request) -> web.Response:
        if request.method == "POST":
            body = await json_object(request)
            killed = body.get("killed")
            if not isinstance(killed, bool):
                raise BadRequest("killed must be true or false")
            await self.speech.set_killed(killed)
        return web.json_response(
            {
                "configured": self.ctx.config.tts,
                "killed": self.speech.killed,
                "speaking": self.speech.enabled,
            }
        )

    async def leaderboard(self, request: web.Request) -> web.Response:
        period = PERIODS.get(request.query.get("period", "stream"))
        if period is None:
            raise BadRequest("period must be stream, month or all")
        return web.json_response(await self.boards.board(period))

    async def stream_start(self, request: web.Request) -> web.Response:
        now = datetime.now(UTC)
        await self.boards.set_stream_start(now)
        return web.json_response({"stream_started": now.isoformat()})

    async def go(self, request: web.Request) -> web.StreamResponse:
        """The page a ``!tip`` link opens: straight to Stripe, or the code for Ko-fi."""
        links = self.intake.links
        if links is None:
            raise web.HTTPNotFound(text="Tip links are not set up on this server.")
        try:
            code = links.verify(request.match_info["token"])
        except LinkError as exc:
            return link_refused(request, exc)
        config = self.ctx.config
        reference = urlencode({"client_reference_id": f"{PREFIX}{code}"})
        stripe_link = ""
        if config.stripe_payment_link:
            sep = "&" if "?" in config.stripe_payment_link else "?"
            stripe_link = config.stripe_payment_link + sep + reference
        if stripe_link and not config.kofi_page:
            raise web.HTTPFound(stripe_link)
        response = aiohttp_jinja2.render_template(
            "tips/go.html",
            request,
            {
                "nav": [],
                "code": f"{PREFIX}{code}",
                "kofi_page": config.kofi_page,
                "stripe_link": stripe_link,
            },
        )
        return secure(response)
