"""The aiohttp application factory.

Plugins are loaded and their registrations collected when the app is built (routes must be
known before the router freezes); resources that need the event loop (database, scheduler,
bus, plugin startup) live in one ``cleanup_ctx`` each, so they are torn down in reverse
order even when a later one fails to start.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from .. import __version__, resources
from ..badges import BadgeBook
from ..bus import EventBus
from ..chat import web as chat_web
from ..chat.connector import ChatConnector
from ..config import Settings, plugin_selection
from ..context import Services
from ..db import Database, normalise_url
from ..emotes import EmoteBook
from ..media import UPLOADS, MediaStore
from ..overlays import dashboard as overlay_dashboard
from ..overlays import editor as overlay_editor
from ..overlays import routes as overlay_routes
from ..plugins import PluginHost
from ..scheduler import Scheduler
from ..text import plural
from ..viewers import Viewers
from . import activity as activity_web
from . import api, choices, dashboard, health, moderators, webhooks
from . import quarantine as quarantine_web
from . import report as report_web
from . import uploads as uploads_web
from .auth import require_admin, require_moderator, require_overlay, role_of
from .csrf import NO_SESSION, request_guard, template_context
from .errors import ApiError, error_middleware
from .keys import CHAT_CONNECTORS, HOST, MODERATOR_ROUTES, PLUGIN_ROUTES, SERVICES, SETTINGS
from .security import name_the_server, secure

log = logging.getLogger("limelight.web")

CORE_TEMPLATES = Path(__file__).parent / "templates"
CORE_STATIC = Path(__file__).parent / "static"

#: One check a plugin route runs before its handler (raises to refuse the request).
Check = Callable[[web.Request], None]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def build_host(
    settings: Settings,
    plugins: dict[str, Any] | None = None,
    *,
    entry_points: bool = True,
    environ: Mapping[str, str] | None = None,
    strict_config: bool = False,
) -> PluginHost:
    """Load plugins (entry points, then objects given in code), configure, register.

    ``environ`` is where ``LIMELIGHT_PLUGINS`` is read (the process environment when
    ``None``; the test kit passes its own, so a developer's shell does not leak in).
    ``strict_config``: the caller stops on a mistake in a plugin's table (``limelight
    run``), so the plugin's disabling is not logged too."""
    host = PluginHost(settings, strict_config=strict_config)
    if entry_points:
        host.load_entry_points(plugin_selection(environ), settings.plugins.disabled)
    for name, obj in (plugins or {}).items():
        host.add(obj, name)
    host.configure()
    host.collect_registrations()
    return host


def plugin_dir(host: PluginHost, name: str) -> Path | None:
    obj = host.pm.get_plugin(name)
    file = getattr(obj, "__file__", None)
    if file is None and obj is not None:
        file = getattr(__import__(type(obj).__module__, fromlist=["_"]), "__file__", None)
    return Path(file).parent if file else None


def template_loader(settings: Settings, host: PluginHost) -> jinja2.BaseLoader:
    """The streamer's theme folder, then plugin templates, then the default theme."""
    loaders: list[jinja2.BaseLoader] = []
    if settings.overlays.theme_dir:
        theme = Path(settings.overlays.theme_dir)
        if not theme.is_absolute():
            theme = settings.base_dir / theme
        loaders.append(jinja2.FileSystemLoader(theme))
    for name in host.enabled:
        folder = plugin_dir(host, name)
        if folder is not None and (folder / "templates").is_dir():
            loaders.append(jinja2.FileSystemLoader(folder / "templates"))
    loaders.append(jinja2.FileSystemLoader(resources.theme_dir()))
    loaders.append(jinja2.FileSystemLoader(CORE_TEMPLATES))
    return jinja2.ChoiceLoader(loaders)


def create_app(
    settings: Settings,
    *,
    plugins: dict[str, Any] | None = None,
    entry_points: bool = True,
    host: PluginHost | None = None,
    environ: Mapping[str, str] | None = None,
    chat_connectors: Sequence[ChatConnector] = (),
) -> web.Application:
    """The app on ``settings``. ``chat_connectors`` are started with the chat service,
    before any plugin starts and before the bus replays what a crash left unhandled, so
    whatever is said from then on reaches them (the test kit passes its in-memory one);
    plugins' connectors start once the bus runs, since they publish what they read."""
    host = host or build_host(settings, plugins, entry_points=entry_points, environ=environ)
    app = web.Application(
        middlewares=[error_middleware, request_guard], client_max_size=settings.server.max_body
    )
    app[SETTINGS] = settings
    app[HOST] = host
    app[PLUGIN_ROUTES] = set()
    app[MODERATOR_ROUTES] = set()
    app[CHAT_CONNECTORS] = list(chat_connectors)
    env = aiohttp_jinja2.setup(
        app,
        loader=template_loader(settings, host),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    )
    app[aiohttp_jinja2.APP_CONTEXT_PROCESSORS_KEY] = [
        aiohttp_jinja2.request_processor,
        _navigation,
        template_context,
    ]
    app.middlewares.append(_page_context)
    env.globals["version"] = __version__
    env.globals["channel"] = settings.server.name  # the viewer pages' heading
    env.filters["plural"] = plural  # {{ n | plural("source") }}: the one way pages count

    health.setup(app)
    api.setup(app)
    webhooks.setup(app)
    dashboard.setup(app)
    overlay_routes.setup(app)
    overlay_dashboard.setup(app)
    overlay_editor.setup(app)
    chat_web.setup(app)
    quarantine_web.setup(app)
    moderators.setup(app)
    report_web.setup(app)
    uploads_web.setup(app)
    activity_web.setup(app)
    choices.setup(app)
    app.router.add_get(UPLOADS + "{name}", uploaded_media, name="uploads")
    app.router.add_get("/favicon.ico", favicon, name="favicon")
    app.router.add_static("/-/static/", CORE_STATIC, name="static")
    app.router.add_static("/-/theme/", resources.theme_dir() / "static", name="theme-static")
    for name in host.enabled:
        folder = plugin_dir(host, name)
        if folder is not None and (folder / "static").is_dir():
            app.router.add_static(f"/-/static-plugins/{name}/", folder / "static")
    _add_plugin_routes(app, host)

    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.extend(core_services())
    app.cleanup_ctx.append(_plugins)
    app.on_response_prepare.append(name_the_server)
    app.on_shutdown.append(_close_live_connections)
    return app


async def _close_live_connections(app: web.Application) -> None:
    """First thing at a stop (``on_shutdown`` runs before the server waits for requests in
    flight): close the overlay pages' WebSockets. Their handlers are requests that never
    end by themselves; left open, the server would wait out its shutdown timeout for them
    and the cleanup would then close each one again. The pages reconnect and resume."""
    services = app.get(SERVICES)
    overlays = services.overlays if services is not None else None
    if overlays is not None:
        await _bounded("the overlay pages", overlays.stop(), STOP_PAGES)


def core_services() -> list[Any]:
    """Cleanup contexts of the core services (chat, overlays, OBS), in start order.

    Each runs after the database is open and before plugins start, so ``ctx.chat``,
    ``ctx.overlays`` and ``ctx.obs`` are ready in every plugin's ``startup``; each sets its
    attribute on ``app[SERVICES]`` and may ``services.bus.subscribe`` to events.
    """
    from ..chat.service import chat_service
    from ..obs.service import obs_service
    from ..overlays.service import overlay_service_context

    return [chat_service, overlay_service_context, obs_service]


def _add_plugin_routes(app: web.Application, host: PluginHost) -> None:
    """Add each plugin route behind the checks it declared: its plugin still enabled, then
    its ``auth``. The route's own ``auth`` decides, whatever the path (see
    :func:`limelight.web.api.admin_middleware`)."""
    settings = app[SETTINGS]
    for owner, route in host.routes.items():
        checks: list[Check] = [functools.partial(_require_enabled, host, owner)]
        if route.auth == "admin":
            checks.append(lambda r: require_admin(r, settings))
        elif route.auth == "moderator":
            checks.append(lambda r: require_moderator(r, settings))
        elif route.auth == "overlay":
            checks.append(lambda r: require_overlay(r, settings))
        try:
            added = app.router.add_route(
                route.method, route.path, _guarded(route.handler, checks), name=route.name
            )
        except (ValueError, RuntimeError) as exc:
            host.disable(owner, f"route {route.key} rejected: {exc}")
            continue
        app[PLUGIN_ROUTES].add(added)


async def favicon(request: web.Request) -> web.StreamResponse:
    """Browsers ask every page's server for ``/favicon.ico``; ours (also as SVG under
    ``/-/static/favicon.svg``), instead of a 404 in every log."""
    response = web.FileResponse(
        CORE_STATIC / "favicon.ico", headers={"Content-Type": "image/x-icon"}
    )
    return secure(response, csp=None, cache="public, max-age=86400")


async def uploaded_media(request: web.Request) -> web.StreamResponse:
    """A file from the media folder. Names are content hashes, so a file never changes
    under its name and may be cached for a year; ``nosniff`` and a sandbox policy keep a
    browser from treating it as anything but the picture or sound it was checked to be."""
    path = request.app[SERVICES].media.path(request.match_info["name"])
    if path is None:
        raise web.HTTPNotFound(text="no such upload")
    media = MediaStore.type_of(path.name)
    response = web.FileResponse(path, headers={"Content-Type": media.content_type})
    return secure(
        response, csp="default-src 'none'; sandbox", cache="public, max-age=31536000, immutable"
    )


@web.middleware
async def _page_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp_jinja2's context processors (the navigation, the CSRF token), except on
    the paths that take no session (static files, webhooks): they never render a page,
    and a webhook delivery should not work out the dashboard's navigation."""
    if request.path.startswith(NO_SESSION):
        return await handler(request)
    return await aiohttp_jinja2.context_processors_middleware(request, handler)


async def _navigation(request: web.Request) -> dict[str, Any]:
    """Plugin pages that extend ``admin/base.html`` get this app's navigation too."""
    role = role_of(request, request.app[SETTINGS])
    return {"nav": dashboard.navigation(request.app, role), "role": role or ""}


def _require_enabled(host: PluginHost, owner: str, request: web.Request) -> None:
    """A plugin disabled after the router froze (say, its startup failed) stops answering."""
    info = host.info.get(owner)
    if info is None or not info.enabled:
        reason = info.reason if info else "not loaded"
        raise ApiError(503, f"plugin {owner!r} is disabled: {reason}")


def _guarded(handler: Handler, checks: list[Check]) -> Handler:
    async def guarded(request: web.Request) -> web.StreamResponse:
        for check in checks:
            check(request)
        return await handler(request)

    return guarded


async def _database(app: web.Application) -> AsyncIterator[None]:
    settings, host = app[SETTINGS], app[HOST]
    url = normalise_url(settings.database.url, settings.base_dir)
    db = Database(url, host.models.values(), connect_timeout=settings.database.connect_timeout)
    await db.open()
    scheduler = Scheduler()
    services = Services(
        settings=settings,
        host=host,
        db=db,
        bus=EventBus(host),
        scheduler=scheduler,
        viewers=Viewers(),
        badges=BadgeBook(host.badges),
        media=MediaStore(settings.media.folder(settings.base_dir), settings.media.limits()),
        emotes=EmoteBook(),
    )
    app[SERVICES] = services
    try:
        yield
    finally:
        await db.close()


async def _plugins(app: web.Application) -> AsyncIterator[None]:
    services, host = app[SERVICES], app[HOST]
    for name in host.enabled:
        host.contexts[name].bind(services)
    services.scheduler.start()
    await host.startup()
    for owner, job in host.jobs.items():  # only plugins that started
        ctx = host.contexts.get(owner)
        if ctx is not None:
            ctx.scheduler.add_job(job, ctx)
    await services.bus.start(replay=False)
    if services.chat is not None:  # connectors publish only once the bus runs
        await services.chat.start_connectors()
    # Only now: what plugins say while reacting to a replayed event needs a connector.
    await services.bus.replay_unhandled()
    try:
        yield
    finally:
        if services.chat is not None:
            await _bounded("the chat connectors", services.chat.stop(), STOP_CHAT)
        await _bounded("the event bus", services.bus.stop(timeout=STOP_BUS / 2), STOP_BUS)
        await _bounded("the plugins", host.shutdown(), STOP_PLUGINS)
        services.scheduler.shutdown()


#: Seconds each part may take to stop (a database that stopped answering must not hold up
#: the rest, nor SIGTERM: ``limelight run`` exits within 5 s whatever happens).
STOP_CHAT = 0.5
STOP_PAGES = 1.0
STOP_BUS = 1.5
STOP_PLUGINS = 1.0


async def _bounded(what: str, step: Awaitable[None], timeout: float) -> None:
    """Await one step of stopping for at most ``timeout`` seconds; a step that fails or
    takes longer is logged in one line and left behind, and stopping goes on."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=timeout)
    if not done:
        log.error("stopping %s took longer than %g s; going on without it", what, timeout)
        task.cancel()
    elif (exc := task.exception()) is not None:
        reason = str(exc).strip().splitlines()
        log.error(
            "stopping %s failed: %s%s", what, type(exc).__name__, f": {reason[0]}" if reason else ""
        )
