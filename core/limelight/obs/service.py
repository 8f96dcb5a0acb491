"""The OBS service: ``app[SERVICES].obs`` for the core, ``ctx.obs`` for plugins.

It owns one :class:`~limelight.obs.connection.ObsConnection` per configured OBS (``main``
plus the named ``[[obs.connections]]``), runs the config rules on bus events, turns OBS's
stream state into ``stream.online`` / ``stream.offline`` events and program scene changes
into ``obs.scene_changed`` events, and offers the actions plugins call::

    await ctx.obs.switch_scene("Big Tip", duration=8)
    await ctx.obs.show_source("Merch Drop", duration=ctx.config.drop_seconds)
    await ctx.obs.set_text("Charity Total", "1,234.00 USD")

Every action returns at once with an :class:`~limelight.obs.actions.ActionHandle`; the
work happens in the connection's queue (see :mod:`limelight.obs.actions` for the order
and the policy while OBS is down).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..events import CustomEvent, Event, StreamOffline, StreamOnline, event_type_name
from .actions import (
    Action,
    ActionHandle,
    RestartMedia,
    SetFilterEnabled,
    SetInputSettings,
    SetSourceVisible,
    SwitchScene,
    dropped_handle,
)
from .client import ObsLink, quiet_obsws_logging
from .connection import LinkFactory, ObsConnection
from .errors import ObsError
from .rules import ObsRule

if TYPE_CHECKING:
    from aiohttp import web

    from ..config import ObsSettings

log = logging.getLogger("limelight.obs")

#: The event type plugins receive when a program scene changes (``data``: ``connection``,
#: ``scene``, ``previous``).
SCENE_CHANGED = "obs.scene_changed"
#: ``source`` of the events this service publishes.
EVENT_SOURCE = "obs"

Publish = Callable[[Event], Awaitable[Any]]
Listener = Callable[[str, str, dict[str, Any]], Any]


class ObsService:
    def __init__(
        self,
        settings: ObsSettings,
        *,
        publish: Publish | None = None,
        link_factory: LinkFactory = ObsLink,
    ) -> None:
        quiet_obsws_logging()
        self.settings = settings
        self.enabled = settings.enabled
        self.rules: list[ObsRule] = list(settings.rules)
        self._publish = publish
        self._listeners: list[Listener] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self.connections: dict[str, ObsConnection] = {
            s.name: ObsConnection(
                s, max_delay=settings.max_delay, on_event=self._obs_event, link_factory=link_factory
            )
            for s in settings.connection_settings()
        }
        self.rules_fired = 0

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        if not self.enabled:
            log.info("OBS control is disabled ([obs] enabled = false)")
            return
        for conn in self.connections.values():
            conn.start()

    async def stop(self) -> None:
        self._publish = None
        for conn in self.connections.values():
            await conn.stop()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            try:
                await task
            except (asyncio.CancelledError, Exception):
                pass

    # -- status -------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """``{"status", "error", "connections": {...}}``, JSON-able, never a password.

        The overall status is ``connected`` when every connection is; otherwise it is the
        most telling problem (``auth_failed`` over ``unreachable`` over ``connecting``)."""
        if not self.enabled:
            return {"status": "disabled", "error": None, "connections": {}}
        conns = {name: conn.status() for name, conn in self.connections.items()}
        rank = {"auth_failed": 0, "unreachable": 1, "connecting": 2, "connected": 3}
        worst = min(self.connections.values(), key=lambda c: rank.get(c.state, 0))
        error = worst.error
        if error and len(self.connections) > 1:
            error = f"{worst.name}: {error}"
        return {
            "status": worst.state,
            "error": error,
            "connections": conns,
            "rules": len(self.rules),
            "rules_fired": self.rules_fired,
        }

    def connection(self, name: str = "main") -> ObsConnection:
        try:
            return self.connections[name]
        except KeyError:
            raise ObsError(
                f"no OBS connection named {name!r} (configured: {', '.join(self.connections)})"
            ) from None

    def current_scene(self, connection: str = "main") -> str | None:
        """The program scene as last seen (None before the first connect)."""
        return self.connection(connection).scene

    def is_streaming(self, connection: str = "main") -> bool | None:
        return self.connection(connection).streaming

    def is_connected(self, connection: str = "main") -> bool:
        return self.enabled and self.connection(connection).ready.is_set()

    # -- actions ------------------------------------------------------------------------------

    def submit(self, action: Action, connection: str = "main") -> ActionHandle:
        """Queue any action on a connection (the named helpers below call this)."""
        conn = self.connection(connection)
        if not self.enabled:
            return dropped_handle(action, connection, "OBS control is disabled")
        return conn.queue.submit(action)

    async def switch_scene(
        self, scene: str, *, duration: float | None = None, connection: str = "main"
    ) -> ActionHandle:
        """Switch the program scene; with ``duration``, switch back after that many seconds
        (unless the streamer switched elsewhere meanwhile)."""
        return self.submit(SwitchScene(scene, duration=_duration(duration)), connection)

    async def show_source(
        self,
        source: str,
        *,
        duration: float | None = None,
        scene: str | None = None,
        connection: str = "main",
    ) -> ActionHandle:
        """Show a source (in ``scene``, default the program scene), hidden again after
        ``duration`` seconds if it was hidden before."""
        return self.submit(
            SetSourceVisible(source, True, scene, duration=_duration(duration)), connection
        )

    async def hide_source(
        self,
        source: str,
        *,
        duration: float | None = None,
        scene: str | None = None,
        connection: str = "main",
    ) -> ActionHandle:
        return self.submit(
            SetSourceVisible(source, False, scene, duration=_duration(duration)), connection
        )

    async def set_text(self, source: str, text: str, *, connection: str = "main") -> ActionHandle:
        """Set a text source's text (FreeType 2 on Linux/macOS, GDI+ on Windows)."""
        return self.submit(SetInputSettings(source, {"text": str(text)}, "set text of"), connection)

    async def set_source_settings(
        self, source: str, settings: dict[str, Any], *, connection: str = "main"
    ) -> ActionHandle:
        """Merge settings into a source's: a browser source's ``url``, ``width``, ``height``
        or ``css``, an image source's ``file``, ..."""
        if not isinstance(settings, dict) or not settings:
            raise ObsError("settings must be a non-empty dict")
        return self.submit(SetInputSettings(source, dict(settings)), connection)

    async def restart_media(self, source: str, *, connection: str = "main") -> ActionHandle:
        """Play a media source from the start (an alert video or sound)."""
        return self.submit(RestartMedia(source), connection)

    async def set_filter_enabled(
        self, source: str, filter: str, enabled: bool, *, connection: str = "main"
    ) -> ActionHandle:
        return self.submit(SetFilterEnabled(source, filter, bool(enabled)), connection)

    async def enable_filter(
        self, source: str, filter: str, *, connection: str = "main"
    ) -> ActionHandle:
        return await self.set_filter_enabled(source, filter, True, connection=connection)

    async def disable_filter(
        self, source: str, filter: str, *, connection: str = "main"
    ) -> ActionHandle:
        return await self.set_filter_enabled(source, filter, False, connection=connection)

    async def request(
        self, request_type: str, data: dict[str, Any] | None = None, *, connection: str = "main"
    ) -> dict[str, Any]:
        """Send any obs-websocket request now, outside the queue; returns ``responseData``.

        Raises :class:`ObsUnavailable` when not connected and :class:`ObsRequestError` (with
        OBS's status code) when OBS refuses. For reads and one-off tools; use the actions
        above for changes that should survive an OBS restart."""
        if not self.enabled:
            raise ObsError("OBS control is disabled ([obs] enabled = false)")
        return await self.connection(connection).request(request_type, data)

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(connection, event_type, data)`` for every OBS event received
        (sync or async). Returns a function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    # -- rules --------------------------------------------------------------------------------

    async def handle_event(self, event: Event) -> None:
        """Bus subscriber: run the config rules that match ``event``."""
        if not self.rules or not self.enabled:
            return
        for rule in self.rules:
            try:
                if not rule.matches(event):
                    continue
                action = rule_action(rule, event)
            except Exception:
                log.exception("OBS rule %s failed on %s", rule.describe(), event_type_name(event))
                continue
            self.rules_fired += 1
            log.info(
                "OBS rule fired by %s %s:%s: %s",
                event_type_name(event),
                event.source,
                event.source_id,
                rule.describe(),
            )
            self.submit(action, rule.connection)

    # -- OBS events -> bus events and listeners -------------------------------------------------

    def _obs_event(
        self,
        conn: ObsConnection,
        event_type: str,
        data: dict[str, Any],
        previous: str | None = None,
    ) -> None:
        if event_type == "CurrentProgramSceneChanged":
            self._spawn(
                self._publish_event(
                    CustomEvent(
                        custom_type=SCENE_CHANGED,
                        source=EVENT_SOURCE,
                        source_id=f"{conn.name}:scene:{uuid.uuid4().hex}",
                        payload={
                            "connection": conn.name,
                            "scene": data.get("sceneName"),
                            "previous": previous,
                        },
                    )
                )
            )
        elif event_type == "StreamStateChanged":
            state = data.get("outputState")
            sid = f"{conn.name}:stream:{uuid.uuid4().hex}"
            if state == "OBS_WEBSOCKET_OUTPUT_STARTED":
                self._spawn(self._publish_event(StreamOnline(source=EVENT_SOURCE, source_id=sid)))
            elif state == "OBS_WEBSOCKET_OUTPUT_STOPPED":
                self._spawn(self._publish_event(StreamOffline(source=EVENT_SOURCE, source_id=sid)))
        for listener in list(self._listeners):
            try:
                result = listener(conn.name, event_type, data)
                if inspect.isawaitable(result):
                    self._spawn(_guard(result, listener))
            except Exception:
                log.exception("OBS event listener %r failed on %s", listener, event_type)

    async def _publish_event(self, event: Event) -> None:
        publish = self._publish
        if publish is None:
            return
        try:
            await publish(event)
        except Exception:
            log.exception("publishing %s from OBS failed", event_type_name(event))

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


async def _guard(awaitable: Awaitable[Any], listener: Listener) -> None:
    try:
        await awaitable
    except Exception:
        log.exception("OBS event listener %r failed", listener)


def _duration(value: float | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ObsError(f"duration must be a number of seconds, got {value!r}")
    return float(value) or None


def rule_action(rule: ObsRule, event: Event) -> Action:
    """The action a matching rule asks for, filled from the event."""
    duration = rule.duration
    match rule.action:
        case "switch_scene":
            assert rule.scene is not None
            return SwitchScene(rule.scene, duration=duration)
        case "show_source" | "hide_source":
            assert rule.source is not None
            return SetSourceVisible(
                rule.source, rule.action == "show_source", rule.scene, duration=duration
            )
        case "set_text":
            assert rule.source is not None
            return SetInputSettings(rule.source, {"text": rule.render_text(event)}, "set text of")
        case "set_source_settings":
            assert rule.source is not None and rule.settings is not None
            return SetInputSettings(rule.source, dict(rule.settings))
        case "restart_media":
            assert rule.source is not None
            return RestartMedia(rule.source)
        case "enable_filter" | "disable_filter":
            assert rule.source is not None and rule.filter is not None
            return SetFilterEnabled(rule.source, rule.filter, rule.action == "enable_filter")
    raise ObsError(f"unknown action {rule.action!r}")


# -- wiring into the app -----------------------------------------------------------------------


async def obs_service(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context (``core_services()``): attach ``services.obs`` and subscribe rules."""
    from ..web.keys import SERVICES

    services = app[SERVICES]
    service = ObsService(services.settings.obs, publish=services.bus.publish)
    services.obs = service
    if service.enabled and service.rules:
        services.bus.subscribe("obs", service.handle_event)
    await service.start()
    try:
        yield
    finally:
        await service.stop()
