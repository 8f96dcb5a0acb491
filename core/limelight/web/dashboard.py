"""The streamer's dashboard at ``/admin/``: log in with the admin token or password.

Pages are server-rendered with autoescaping; live parts are small scripts under
``/-/static/`` that call the admin API with the session cookie. No inline script runs, and
the Content-Security-Policy says so.
"""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from .. import quarantine
from .auth import SESSION_COOKIE, check_login, is_admin, session_value
from .keys import HOST, SERVICES, SETTINGS
from .security import DASHBOARD_CSP, secure

#: The core's dashboard pages, in navigation order; plugins' pages (``Route(nav=...)``)
#: follow, per app, from the host's ``nav`` registry.
CORE_NAV: tuple[tuple[str, str], ...] = (
    ("/admin/", "Overview"),
    ("/admin/chat", "Chat"),
    ("/admin/overlays", "Overlays"),
    ("/admin/quarantine", "Quarantine"),
)


def navigation(app: web.Application) -> list[tuple[str, str]]:
    """This app's navigation: the core pages, then the pages of plugins still enabled."""
    host = app[HOST]
    return [*CORE_NAV, *((link.path, link.label) for link in host.nav.values())]


def render(request: web.Request, template: str, context: dict[str, Any]) -> web.Response:
    context = {"nav": navigation(request.app), "settings": request.app[SETTINGS], **context}
    return secure(aiohttp_jinja2.render_template(template, request, context), csp=DASHBOARD_CSP)


def require_session(request: web.Request) -> None:
    if not is_admin(request, request.app[SETTINGS]):
        raise web.HTTPFound("/admin/login")


async def login_form(request: web.Request) -> web.Response:
    return render(request, "admin/login.html", {"error": ""})


async def login(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    form = await request.post()
    given = str(form.get("token", ""))
    if not check_login(given, settings):
        response = render(
            request, "admin/login.html", {"error": "That is not the admin token or password."}
        )
        response.set_status(403)
        return response
    response = web.HTTPFound("/admin/")
    response.set_cookie(
        SESSION_COOKIE, session_value(settings), httponly=True, samesite="Strict", path="/"
    )
    raise response


async def logout(request: web.Request) -> web.StreamResponse:
    response = web.HTTPFound("/admin/login")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def overview(request: web.Request) -> web.Response:
    require_session(request)
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
    return render(
        request,
        "admin/index.html",
        {
            "plugins": host.list_json(),
            "overlays": overlays,
            "db": db,
            "quarantined": quarantined,
            "obs": services.obs.status() if services.obs is not None else {"status": "disabled"},
        },
    )


async def to_dashboard(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/admin/")


def setup(app: web.Application) -> None:
    app.router.add_get("/admin", to_dashboard)
    app.router.add_get("/admin/", overview, name="admin")
    app.router.add_get("/admin/login", login_form)
    app.router.add_post("/admin/login", login)
    app.router.add_post("/admin/logout", logout)
