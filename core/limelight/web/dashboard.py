"""The streamer's dashboard at ``/admin/``: log in with the admin token or password.

Pages are server-rendered with autoescaping; live parts are small scripts under
``/-/static/`` that call the admin API with the session cookie and the session's CSRF
token (``csrf-fetch.js``). No inline script runs, and the Content-Security-Policy says so.
A login starts a new server-side session (:mod:`.sessions`); wrong logins are throttled
(:mod:`.throttle`); logging out ends the session on the server.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp_jinja2
from aiohttp import web

from .. import quarantine
from . import sessions
from .auth import AuthError, check_login, is_admin, require_role, role_of
from .csrf import origin_problem
from .errors import ApiError
from .keys import HOST, SERVICES, SETTINGS
from .security import DASHBOARD_CSP, secure
from .sessions import REFUSED, SESSION
from .throttle import THROTTLE, LoginThrottle

log = logging.getLogger("limelight.web")

#: The core's dashboard pages, in navigation order, with the least role that sees each;
#: plugins' pages (``Route(nav=...)``) follow, per app, from the host's ``nav`` registry.
CORE_NAV: tuple[tuple[str, str, str], ...] = (
    ("/admin/", "Overview", "moderator"),
    ("/admin/chat", "Chat", "moderator"),
    ("/admin/overlays", "Overlays", "moderator"),
    ("/admin/alerts", "Alert editor", "admin"),
    ("/admin/report", "Report", "admin"),
    ("/admin/moderators", "Moderators", "admin"),
    ("/admin/quarantine", "Quarantine", "admin"),
)


def navigation(app: web.Application, role: str | None = "admin") -> list[tuple[str, str]]:
    """This app's navigation for ``role``: the core pages, then the pages of plugins still
    enabled; a moderator sees only the pages they may use (none when signed out)."""
    if role is None:
        return []
    host = app[HOST]
    links = [*CORE_NAV, *((link.path, link.label, link.role) for link in host.nav.values())]
    return [(path, label) for path, label, least in links if role == "admin" or least == role]


def render(request: web.Request, template: str, context: dict[str, Any]) -> web.Response:
    # ``nav`` (and ``csrf_token``) come from the app's context processors (app.py).
    context = {"settings": request.app[SETTINGS], **context}
    return secure(aiohttp_jinja2.render_template(template, request, context), csp=DASHBOARD_CSP)


def require_session(request: web.Request, role: str = "admin") -> None:
    """A dashboard page for ``role`` or more: signed-out browsers go to the login page, a
    moderator on a page of the streamer's gets a 403 page that says so."""
    settings = request.app[SETTINGS]
    if role_of(request, settings) is None:
        refused = request.get(REFUSED)
        if refused is not None and refused.status >= 500:
            raise AuthError(refused.status, refused.message)
        raise web.HTTPFound("/admin/login")
    require_role(request, settings, role)


async def login_form(request: web.Request) -> web.Response:
    return render(request, "admin/login.html", {"error": ""})


def _login_page(request: web.Request, status: int, error: str) -> web.Response:
    response = render(request, "admin/login.html", {"error": error})
    response.set_status(status)
    return response


async def login(request: web.Request) -> web.StreamResponse:
    """Check the token or password, throttled per address; on success a new session."""
    settings = request.app[SETTINGS]
    throttle = request.app[THROTTLE]
    address = request.remote or "unknown"
    form = await request.post()
    # From here to the verdict nothing awaits: concurrent guesses cannot all pass the
    # throttle before the first of them is counted.
    refusal = throttle.check(address)
    if refusal is not None:
        response = _login_page(request, 429, refusal.message)
        response.headers["Retry-After"] = str(refusal.retry_after)
        return response
    if not settings.security.admin_token:
        return _login_page(request, 403, "The dashboard is off: set [security] admin_token.")
    if request.headers.get("Origin") and origin_problem(request, settings):
        return _login_page(request, 403, "That login form was not this server's.")
    given = str(form.get("token", ""))
    name = str(form.get("name", "")).strip()
    moderator_id: int | None = None
    if name:  # a moderator's own login (made from an invite link)
        from . import moderators

        async with request.app[moderators.LOGIN_LOCK]:
            refusal = throttle.check(address)  # again: others were counted meanwhile
            if refusal is not None:
                response = _login_page(request, 429, refusal.message)
                response.headers["Retry-After"] = str(refusal.retry_after)
                return response
            try:
                moderator = await moderators.check_login(moderators.clean_name(name), given)
            except Exception as exc:
                log.warning("could not check a moderator login: %s", type(exc).__name__)
                raise ApiError(
                    503, "could not check the login: the database is unavailable"
                ) from None
            if moderator is None:
                throttle.failed(address)
                log.warning("wrong moderator login from %s", address)
                return _login_page(request, 403, "That is not a moderator name and password.")
            moderator_id = moderator.id
    elif not check_login(given, settings):
        throttle.failed(address)
        log.warning("wrong dashboard login from %s", address)
        return _login_page(request, 403, "That is not the admin token or password.")
    throttle.succeeded(address)
    try:
        old = await sessions.find(sessions.cookie_id(request), settings)
        if old is not None:  # a new id at every login; the one before stops working
            await sessions.end(old)
        if moderator_id is not None:
            session = await sessions.start(settings, role="moderator", moderator_id=moderator_id)
        else:
            session = await sessions.start(settings)
    except Exception as exc:
        log.warning("could not start a dashboard session: %s", type(exc).__name__)
        raise ApiError(503, "could not start a session: the database is unavailable") from None
    response = web.HTTPFound("/admin/")
    sessions.set_cookie(response, session, settings)
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    """End the session on the server (a copy of the cookie stops working too)."""
    settings = request.app[SETTINGS]
    session = request.get(SESSION)
    refused = request.get(REFUSED)
    if session is None and refused is not None:
        raise AuthError(refused.status, refused.message)
    if session is not None:
        await sessions.end(session)
    response = web.HTTPFound("/admin/login")
    sessions.clear_cookie(response, settings)
    raise response


async def overview(request: web.Request) -> web.Response:
    require_session(request, "moderator")
    host = request.app[HOST]
    services = request.app[SERVICES]
    settings = request.app[SETTINGS]
    base = settings.base_url()
    overlays = [
        {
            "name": o.name,
            "title": o.title or o.name,
            "width": o.width,
            "height": o.height,
            "url": f"{base}/overlays/{o.name}?token={settings.security.overlay_token}",
        }
        for o in host.overlays.values()
    ]
    db = await services.db.status()
    try:
        quarantined = await quarantine.count_pending()
    except Exception:  # the status card already says what is wrong with the database
        quarantined = 0
    obs = services.obs.status() if services.obs is not None else {"status": "disabled"}
    chat = services.chat.status()["connectors"] if services.chat is not None else []
    return render(
        request,
        "admin/index.html",
        {
            "plugins": [
                {**p, "state": PLUGIN_STATES.get(p["status"], "bad")} for p in host.list_json()
            ],
            "overlays": overlays,
            "db": db,
            "quarantined": quarantined if is_admin(request, settings) else 0,
            "obs": {**obs, "state": OBS_STATES.get(obs["status"], "bad")},
            "chat": [
                {
                    **c,
                    "state": "ok" if c.get("connected") else "bad",
                    "label": "connected" if c.get("connected") else "not connected",
                }
                for c in chat
            ],
        },
    )


#: Status colours (admin.css ``state-*``): green working, amber on its way or switched
#: off, red down.
OBS_STATES = {
    "connected": "ok",
    "connecting": "warn",
    "disabled": "off",
    "unreachable": "bad",
    "auth_failed": "bad",
}
PLUGIN_STATES = {"enabled": "ok", "disabled": "off", "failed": "bad"}


async def to_dashboard(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/admin/")


def setup(app: web.Application) -> None:
    security = app[SETTINGS].security
    app[THROTTLE] = LoginThrottle(security.login_attempts, security.login_lockout)
    app.router.add_get("/admin", to_dashboard)
    app.router.add_get("/admin/", overview, name="admin")
    app.router.add_get("/admin/login", login_form)
    app.router.add_post("/admin/login", login)
    app.router.add_post("/admin/logout", logout)
