"""The request guard: a state-changing request made with the dashboard's session must come
from the dashboard itself (CSRF protection), for every route, core and plugin.

Why more than ``SameSite=Strict``: a page on another port of the same host, or on a sibling
subdomain of ``public_url``, is *same-site*, so the browser sends the session cookie with
its requests; such a page could refund a tip or make the bot talk. So a POST, PUT, PATCH or
DELETE that carries a live session is let through as the streamer only when

1. its ``Origin`` (or, when the browser sent none, its ``Referer``) is this server's own
   origin: ``server.public_url``, or the scheme and ``Host`` the request arrived with; and
2. it carries the session's CSRF token, in the ``X-CSRF-Token`` header (the dashboard's
   scripts send it through ``/-/static/csrf-fetch.js``) or, for an HTML form, in the field
   ``csrf_token``. Pages get it as ``csrf_token`` (and in ``<meta name="csrf-token">``).

Otherwise the request goes on *without* the session: an admin route answers 403 with the
reason, a public route is not affected. A request with ``Authorization: Bearer`` uses no
cookie and needs no token: a page cannot send that header to another origin.

Independently of who sends them, bodies sent to ``/api/`` with a state-changing method
must be JSON (``Content-Type: application/json``, else 415): a page can post
``text/plain`` or form bodies anywhere without asking, but not JSON.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from yarl import URL

from ..config import Settings
from . import sessions
from .errors import ApiError
from .keys import SETTINGS
from .sessions import REFUSED, SESSION, Refused, Session

log = logging.getLogger("limelight.web")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
LOGIN = "/admin/login"
#: Paths that never act as the streamer (files, provider webhooks): their requests are not
#: looked up, so a dashboard page's stylesheet costs no database query.
NO_SESSION = (
    "/-/static/",
    "/-/static-plugins/",
    "/-/theme/",
    "/-/media/",
    "/-/uploads/",
    "/favicon.ico",
    "/webhooks/",
)
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def request_guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Resolve the session cookie once per request and apply the rules above."""
    changes = request.method not in SAFE_METHODS
    # The login form is the one state-changing route that takes no session: it starts one
    # (and ends the one its cookie carried, itself).
    path = request.path
    if (
        path != LOGIN
        and not path.startswith(NO_SESSION)
        and not _header(request, "Authorization").startswith("Bearer ")
    ):
        session_id = sessions.cookie_id(request)
        if session_id:
            await _resolve(request, session_id, changes)
    if (
        changes
        and path.startswith("/api/")
        and request.body_exists
        and request.content_type != "application/json"
    ):
        raise ApiError(415, "send JSON with Content-Type: application/json")
    return await handler(request)


async def _resolve(request: web.Request, session_id: str, changes: bool) -> None:
    settings = request.app[SETTINGS]
    try:
        session = await sessions.find(session_id, settings)
    except Exception as exc:  # the database is down: say so instead of "log in"
        log.warning("could not check a dashboard session: %s", type(exc).__name__)
        request[REFUSED] = Refused(
            503, "could not check the dashboard session: the database is unavailable"
        )
        return
    if session is None:
        return
    if changes:
        problem = await forgery_problem(request, session, settings)
        if problem:
            log.warning(
                "refused %s %s with the dashboard session: %s",
                request.method,
                request.path,
                problem,
            )
            request[REFUSED] = Refused(403, problem)
            return
    request[SESSION] = session


async def forgery_problem(request: web.Request, session: Session, settings: Settings) -> str:
    """Why this state-changing request may not use ``session`` ("" when it may)."""
    problem = origin_problem(request, settings)
    if problem:
        return problem
    given = _header(request, CSRF_HEADER)
    if not given and request.content_type in FORM_TYPES:
        try:
            form = await request.post()
        except ValueError:
            return "CSRF check failed: unreadable form body"
        given = str(form.get(CSRF_FIELD, ""))
    expected = session.csrf_token
    if not given or not hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode()
    ):
        return (
            "CSRF check failed: the token is missing or wrong (send it in the "
            f"{CSRF_HEADER} header or the {CSRF_FIELD} form field; reload the dashboard page)"
        )
    return ""


def origin_problem(request: web.Request, settings: Settings) -> str:
    """Why the request's origin is not this server's ("" when it is)."""
    given = _header(request, "Origin")
    if not given or given == "null":
        given = origin_of(_header(request, "Referer"))
    if not given:
        return "CSRF check failed: the request names no Origin or Referer"
    if origin_of(given) not in own_origins(request, settings):
        return (
            f"CSRF check failed: the request comes from {given[:100]!r}, not from this "
            "server (behind a reverse proxy, set server.public_url to the address you open "
            "the dashboard at)"
        )
    return ""


def own_origins(request: web.Request, settings: Settings) -> set[str]:
    """This server's origins: ``public_url``'s and the one the request was sent to."""
    origins = {origin_of(f"{request.scheme}://{request.host}")}
    if settings.server.public_url:
        origins.add(origin_of(settings.server.public_url))
    origins.discard("")
    return origins


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lowercased, default ports dropped; "" if none."""
    if not url:
        return ""
    try:
        parsed = URL(url)
        if not parsed.absolute or parsed.scheme not in ("http", "https"):
            return ""
        return str(parsed.origin())
    except (ValueError, TypeError, UnicodeError):
        return ""


async def template_context(request: web.Request) -> dict[str, Any]:
    """``csrf_token`` for every page: forms put it in a hidden field, the base template in
    ``<meta name="csrf-token">`` for the scripts ("" without a session)."""
    session = request.get(SESSION)
    return {"csrf_token": session.csrf_token if session is not None else ""}


def _header(request: web.Request, name: str) -> str:
    return request.headers.get(name, "")
