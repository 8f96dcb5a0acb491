"""The dashboard's Quarantine page and its API: money the server could not record.

``/admin/quarantine`` lists what :mod:`limelight.quarantine` keeps (provider, provider
id, amount, payer, why, the raw delivery), so a payment refused with a 422 is never lost
from the streamer's sight. Two actions, through the admin API like every dashboard button:

* ``POST /api/quarantine/{id}/retry`` (Try again): write the rows again, after the plugin
  that failed was fixed or upgraded; on success the event is recorded and plays.
* ``POST /api/quarantine/{id}/dismiss``: the streamer dealt with it (recorded it by hand,
  refunded it); it leaves the page, and a retry by the provider still gets its 422.

``GET /api/quarantine`` lists the entries as JSON (``?all=true`` with dismissed ones).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import quarantine
from ..failures import NotRecorded, Unrecordable
from ..models import QuarantineEntry
from .dashboard import render, require_session
from .errors import ApiError
from .keys import SERVICES


def entry_json(entry: QuarantineEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "source": entry.source,
        "source_id": entry.source_id,
        "type": entry.type,
        "amount": entry.amount,
        "currency": entry.currency,
        "payer": entry.payer,
        "event_id": entry.event_id,
        "stage": entry.stage,
        "plugins": [p for p in entry.plugins.split(",") if p],
        "error": entry.error,
        "payload": entry.payload,
        "attempts": entry.attempts,
        "first_seen": entry.first_seen.isoformat(),
        "last_seen": entry.last_seen.isoformat(),
        "dismissed": entry.dismissed_at is not None,
    }


async def _entries(show_all: bool) -> list[QuarantineEntry]:
    if show_all:
        return await QuarantineEntry.all().order_by("-last_seen", "-id").limit(quarantine.LIST_MAX)
    return await quarantine.pending()


async def page(request: web.Request) -> web.Response:
    require_session(request)
    show_all = request.query.get("all") == "true"
    entries = await _entries(show_all)
    dismissed = await QuarantineEntry.filter(dismissed_at__isnull=False).count()
    return render(
        request,
        "admin/quarantine.html",
        {"entries": [entry_json(e) for e in entries], "show_all": show_all, "dismissed": dismissed},
    )


async def list_entries(request: web.Request) -> web.Response:
    entries = await _entries(request.query.get("all") == "true")
    return web.json_response({"entries": [entry_json(e) for e in entries]})


def _entry_id(request: web.Request) -> int:
    try:
        return int(request.match_info["id"])
    except ValueError:
        raise ApiError(404, "no such quarantine entry") from None


async def retry(request: web.Request) -> web.Response:
    entry_id = _entry_id(request)
    try:
        accepted = await request.app[SERVICES].bus.retry_quarantined(entry_id)
    except LookupError as exc:
        raise ApiError(404, str(exc)) from None
    except Unrecordable as exc:
        raise ApiError(422, f"still cannot be recorded: {exc.reason}") from None
    except NotRecorded as exc:
        raise ApiError(503, str(exc)) from None
    return web.json_response({"recorded": True, "event_id": accepted.id})


async def dismiss(request: web.Request) -> web.Response:
    if not await quarantine.dismiss(_entry_id(request)):
        raise ApiError(404, "no such quarantine entry, or dismissed already")
    return web.json_response({"dismissed": True})


def setup(app: web.Application) -> None:
    app.router.add_get("/admin/quarantine", page, name="admin-quarantine")
    app.router.add_get("/api/quarantine", list_entries)
    app.router.add_post("/api/quarantine/{id}/retry", retry)
    app.router.add_post("/api/quarantine/{id}/dismiss", dismiss)
