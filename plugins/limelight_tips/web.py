"""The tips dashboard page, its admin JSON API, the CSV export and the tip-link page.

Admin routes live under ``/api/tips/`` (Bearer admin token or the dashboard session); the
page is ``/p/tips/``; ``/p/tips/go/<token>`` is public: a viewer opens it from chat.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp_jinja2
from aiohttp import web
from limelight import Money, Route
from limelight.web.errors import ApiError

from . import ledger
from .attribution import PREFIX, LinkError
from .models import LedgerEntry, PendingAlert

if TYPE_CHECKING:
    from .runtime import Runtime

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
MAX_LIMIT = 500
KINDS = ("tip", "cheer", "refund")
# Spreadsheet programs run cells that start with these as formulas.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class BadRequest(ApiError):
    """A 400 whose message the error middleware renders as ``{"error": ...}``."""

    def __init__(self, message: str) -> None:
        super().__init__(400, message)


def _secure(response: web.StreamResponse) -> web.StreamResponse:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _date(raw: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise BadRequest(f"{name} must be a date or ISO 8601 timestamp") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def filtered(query: dict[str, str]) -> Any:
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


async def entry_rows(entries: list[LedgerEntry]) -> list[dict[str, Any]]:
    ids = [e.id for e in entries]
    refunds: dict[int, int] = {}
    if ids:
        for row in await LedgerEntry.filter(original_id__in=ids).values(
            "original_id", "amount_minor"
        ):
            refunds[row["original_id"]] = refunds.get(row["original_id"], 0) - int(
                row["amount_minor"]
            )
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
                "display": ledger.display(_money(e)),
                "viewer": {"platform": e.viewer_platform, "id": e.viewer_id, "name": e.viewer_name},
                "anonymous": e.anonymous,
                "message": e.message,
                "original_id": e.original_id,  # type: ignore[attr-defined]
                "reason": e.reason,
                "refunded": ledger.display(Money(refunded, e.currency)) if refunded else "",
                "refundable": e.kind in ("tip", "cheer") and refunded < e.amount_minor,
            }
        )
    return out


def routes(runtime: Runtime) -> list[Route]:
    async def page(request: web.Request) -> web.StreamResponse:
        response = aiohttp_jinja2.render_template(
            "tips/dashboard.html",
            request,
            {
                "config": runtime.config,
                "providers": sorted(runtime.webhooks),
                "webhook_base": runtime.ctx.url("/webhooks/") if runtime.ctx else "/webhooks/",
            },
        )
        return _secure(response)

    async def list_entries(request: web.Request) -> web.Response:
        query = dict(request.query)
        try:
            limit = int(query.get("limit", "100"))
            before = int(query["before"]) if query.get("before") else None
        except ValueError:
            raise BadRequest("limit and before must be integers") from None
        if not 1 <= limit <= MAX_LIMIT:
            raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
        rows = filtered(query)
        totals = await _totals(query)
        if before is not None:
            rows = rows.filter(id__lt=before)
        entries = await rows.order_by("-id").limit(limit)
        return web.json_response({"entries": await entry_rows(entries), "totals": totals})

    async def _totals(query: dict[str, str]) -> list[dict[str, Any]]:
        return await ledger.totals(filtered(query))

    async def totals(request: web.Request) -> web.Response:
        return web.json_response({"totals": await _totals(dict(request.query))})

    async def export_csv(request: web.Request) -> web.StreamResponse:
        rows = await filtered(dict(request.query)).order_by("id")
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(
            [
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
            ]
        )
        for e in rows:
            writer.writerow(
                [
                    e.id,
                    e.occurred_at.isoformat(),
                    e.kind,
                    _cell(e.detail),
                    _cell(e.provider),
                    _cell(e.provider_id),
                    _money(e).to_wire(),
                    e.currency,
                    _cell(e.viewer_platform),
                    _cell(e.viewer_id),
                    _cell(e.viewer_name),
                    "yes" if e.anonymous else "no",
                    _cell(e.message),
                    e.original_id or "",
                    _cell(e.reason),  # type: ignore[attr-defined]
                ]
            )
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        return web.Response(
            body=buffer.getvalue().encode("utf-8"),
            content_type="text/csv",
            charset="utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="tips-{stamp}.csv"',
                "Cache-Control": "no-store",
            },
        )

    async def refund(request: web.Request) -> web.Response:
        try:
            entry_id = int(request.match_info["id"])
        except ValueError:
            raise BadRequest("the entry id must be an integer") from None
        entry = await LedgerEntry.get_or_none(id=entry_id)
        if entry is None:
            raise ApiError(404, f"no ledger entry {entry_id}")
        body = await _json_body(request)
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
            row, created = await runtime.refund_by_hand(entry, amount, reason[:200])
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        rows = await entry_rows([row])
        return web.json_response(
            {"refund": rows[0], "created": created}, status=201 if created else 200
        )

    async def queue(request: web.Request) -> web.Response:
        rows = await PendingAlert.filter(status="pending").order_by("id").limit(200)
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

    async def decide(request: web.Request) -> web.Response:
        try:
            pending_id = int(request.match_info["id"])
        except ValueError:
            raise BadRequest("the id must be an integer") from None
        action = request.match_info["action"]
        row = await runtime.decide(pending_id, action == "approve")
        if row is None:
            raise ApiError(409, f"alert {pending_id} is not waiting for approval")
        return web.json_response({"id": row.id, "status": row.status})

    async def tts(request: web.Request) -> web.Response:
        if request.method == "POST":
            body = await _json_body(request)
            killed = body.get("killed")
            if not isinstance(killed, bool):
                raise BadRequest("killed must be true or false")
            await runtime.set_tts_killed(killed)
        return web.json_response(
            {
                "configured": runtime.config.tts,
                "killed": runtime.tts_killed,
                "speaking": runtime.tts_enabled,
            }
        )

    async def leaderboard(request: web.Request) -> web.Response:
        period = request.query.get("period", "stream")
        if period not in ("stream", "month", "all"):
            raise BadRequest("period must be stream, month or all")
        return web.json_response(await runtime.board(period))

    async def stream_start(request: web.Request) -> web.Response:
        now = datetime.now(UTC)
        await runtime.set_stream_start(now)
        return web.json_response({"stream_started": now.isoformat()})

    async def go(request: web.Request) -> web.StreamResponse:
        if runtime.links is None:
            raise web.HTTPNotFound(text="Tip links are not set up on this server.")
        try:
            code = runtime.links.verify(request.match_info["token"])
        except LinkError as exc:
            return _secure(
                web.Response(status=410 if "expired" in str(exc) else 400, text=str(exc))
            )
        config = runtime.config
        if config.stripe_payment_link and not config.kofi_page:
            sep = "&" if "?" in config.stripe_payment_link else "?"
            target = (
                config.stripe_payment_link
                + sep
                + urlencode({"client_reference_id": f"{PREFIX}{code}"})
            )
            raise web.HTTPFound(target)
        response = aiohttp_jinja2.render_template(
            "tips/go.html",
            request,
            {
                "nav": [],
                "code": f"{PREFIX}{code}",
                "kofi_page": config.kofi_page,
                "stripe_link": (
                    config.stripe_payment_link
                    + ("&" if "?" in config.stripe_payment_link else "?")
                    + urlencode({"client_reference_id": f"{PREFIX}{code}"})
                )
                if config.stripe_payment_link
                else "",
            },
        )
        return _secure(response)

    return [
        Route("GET", "/p/tips/", page, nav="Tips"),
        Route("GET", "/api/tips/entries", list_entries),
        Route("GET", "/api/tips/totals", totals),
        Route("GET", "/api/tips/export.csv", export_csv),
        Route("POST", "/api/tips/entries/{id}/refund", refund),
        Route("GET", "/api/tips/queue", queue),
        Route("POST", "/api/tips/queue/{id}/{action:approve|reject}", decide),
        Route("GET", "/api/tips/tts", tts),
        Route("POST", "/api/tips/tts", tts),
        Route("GET", "/api/tips/leaderboard", leaderboard),
        Route("POST", "/api/tips/stream/start", stream_start),
        Route("GET", "/p/tips/go/{token}", go, auth="public"),
    ]


def _cell(value: str) -> str:
    """A text cell that a spreadsheet shows as text, never runs as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


async def _json_body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("the body must be JSON") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body
