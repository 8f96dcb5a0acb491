"""The test kit for plugin authors (and for Limelight's own suite).

With Limelight installed, pytest picks up the fixtures in :mod:`.pytest_plugin`
automatically. A test asks for ``limelight`` and starts a server on a throw-away database::

    from limelight import Tip
    from limelight.testing import Recorder, make_tip

    async def test_hello(limelight):
        rec = Recorder()
        h = await limelight(plugins={"hello": HelloPlugin, "rec": rec})
        await h.chat_as("alice", "!hello")
        assert h.said[-1].text == "Hello, alice!"
        assert h.plugin("hello", HelloPlugin).greeted == ["alice"]
        await h.publish(make_tip("5.00"))
        assert len(rec.of_type(Tip)) == 1

The harness talks to the server through a real aiohttp test client, so routes, auth and
middlewares behave exactly as in production.

The rules:

* **Nothing leaks in from the machine.** Settings are the defaults plus the test's
  ``config`` (and a throw-away SQLite file in ``tmp_path``, known test tokens, port 0).
  The kit never reads ``./config.toml``, ``LIMELIGHT_CONFIG``, any ``LIMELIGHT_*``
  variable or ``LIMELIGHT_PLUGINS``: a streamer's real OBS, Twitch or webhook settings
  never reach a test. A test that wants a file or an environment says so:
  ``make_settings(tmp_path, config_file=path, environ={...})``, or the same keywords on
  the ``limelight`` fixture.
* **One harness at a time.** A process runs one Limelight app at a time (the database
  layer is process-wide); starting a second while one runs fails with a clear error. To
  test a restart, ``await h.close()`` and start another on the same ``database_url``. The
  fixture closes whatever is still running after the test.
* **Plugins are created per harness.** Pass a :class:`~limelight.Plugin` class and the
  host creates a fresh instance for that app (``h.plugin(name)`` returns it); pass an
  instance (``Recorder()``) to keep a handle on it in the test.
* **What ``publish`` waits for.** ``await h.publish(event)`` returns once the event is
  accepted (deduped, committed for money, ``record_events`` written, gated) *and*, with
  the default ``settle=True``, once every plugin's ``on_event`` and every core subscriber
  (overlays, chat, OBS rules) has finished with it and every chat reply is sent.
  ``chat_as`` and ``post_event`` wait the same way.
* **When to call ``settle()``.** After anything that reaches the bus without the harness:
  a request through ``h.client`` (a webhook, ``/api/...``), a job or task of the plugin
  that publishes, an event published with ``settle=False``, and a start on a database a
  previous harness left events unhandled in (the bus replays them as the server starts;
  the chat connector ``chat_as`` types into is attached before that, and before plugins'
  ``startup``, so what they say is in ``h.said``). ``settle()`` waits only for work
  already queued; it does not wait for time to pass (a scheduled job, a cooldown), and it
  never sleeps on a guess. For a condition that depends on another process (a browser, a
  fake OBS), poll the condition itself.
* **Timeouts are production's.** Hooks run under ``[plugins] hook_timeout`` (5 s) and
  ``max_timeouts``, so ``publish`` returns after a hook that hangs is abandoned; set
  ``hook_timeout`` small in ``config`` to test that quickly. ``settle()`` gives up with
  ``TimeoutError`` after its own ``timeout`` rather than hanging the suite.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, overload

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import ValidationError

from .. import hookimpl
from ..bus import Accepted
from ..chat import LocalConnector, SentMessage
from ..chat.service import ChatService
from ..config import (
    ConfigError,
    NoConfig,
    Settings,
    env_overrides,
    format_validation_error,
    load_settings,
    moved_table_error,
)
from ..context import PluginContext, Services
from ..events import ChatMessage, Event, Tip, ViewerRef, event_type_name
from ..money import Money
from ..plugin import Plugin
from ..plugins import PluginHost
from ..web.app import create_app
from ..web.keys import HOST, SERVICES

ADMIN_TOKEN = "test-admin-token"
OVERLAY_TOKEN = "test-overlay-token"

_ids = itertools.count(1)
#: Name of the in-memory chat connector the harness attaches (``h.chat_as``).
TEST_CONNECTOR = "test"

E = TypeVar("E", bound=Event)
P = TypeVar("P")


def make_settings(
    tmp_path: Path,
    config: Mapping[str, Any] | None = None,
    database_url: str | None = None,
    *,
    config_file: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Settings for a test: the defaults, a fresh SQLite file in ``tmp_path``, the known
    test tokens, port 0, then ``config`` on top.

    Nothing else is read: not ``./config.toml``, not ``LIMELIGHT_CONFIG``, not the
    process environment. A test that wants them asks: ``config_file`` is read as
    ``limelight run --config`` would read it, and ``environ`` supplies ``LIMELIGHT_*``
    overrides as the environment would. ``config`` (and the database and tokens above)
    wins over both, so a test never touches a real database.
    """
    base: dict[str, Any] = {
        "server": {"host": "127.0.0.1", "port": 0},
        "security": {"admin_token": ADMIN_TOKEN, "overlay_token": OVERLAY_TOKEN},
        "database": {"url": database_url or f"sqlite://{tmp_path / 'limelight.sqlite3'}"},
        "media": {"dir": str(tmp_path / "media")},
    }
    merged = merge_config(base, config or {})
    if config_file is not None:
        settings = load_settings(config_file, environ=dict(environ or {}), overrides=merged)
    else:
        # A table that moved into a plugin (``twitch`` -> ``plugins.twitch``) gets the
        # loader's one-line hint naming the new key, not a bare "unknown key".
        moved = moved_table_error(config or {}, environ or {}, "test settings")
        if moved:
            raise ConfigError(moved)
        tree, origin = env_overrides(environ or {})
        try:
            settings = Settings.model_validate(merge_config(tree, merged))
        except ValidationError as exc:
            raise ConfigError(
                format_validation_error(exc, "test settings", origin=origin)
            ) from None
        settings.source = "<test settings>"
    settings.base_dir = tmp_path
    return settings


def merge_config(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """``b`` over ``a``, table by table (a key in ``b`` replaces the same key in ``a``)."""
    out = dict(a)
    for k, v in b.items():
        old = out.get(k)
        out[k] = merge_config(old, v) if isinstance(v, Mapping) and isinstance(old, Mapping) else v
    return out


# -- plugins for tests ---------------------------------------------------------------------------


class Recorder(Plugin[NoConfig]):
    """A plugin that records every event it is handed, in order (test events too).

    ``on_event`` is ``async``, so it runs on the event loop and ``h.publish(...)`` returns
    with the event already in :attr:`events`::

        rec = Recorder()
        h = await limelight(plugins={"rec": rec})
        await h.publish(make_tip("5.00"))
        [tip] = rec.of_type(Tip)
    """

    def __init__(self) -> None:
        super().__init__()
        #: Every event received, oldest first.
        self.events: list[Event] = []

    @hookimpl
    async def on_event(self, event: Event) -> None:
        self.events.append(event)

    @overload
    def of_type(self, kind: type[E]) -> list[E]: ...

    @overload
    def of_type(self, kind: str) -> list[Event]: ...

    def of_type(self, kind: type[Event] | str) -> list[Any]:
        """The events of one class (``Tip``) or wire type name (``"tip"``,
        ``"shop.sold_out"``), oldest first."""
        if isinstance(kind, str):
            return [e for e in self.events if event_type_name(e) == kind]
        return [e for e in self.events if isinstance(e, kind)]

    def clear(self) -> None:
        self.events.clear()


class HookPlugin:
    """A throw-away plugin made of hook functions given by keyword, for tests that need
    one hook with a particular behaviour::

        async def record_events(events, tx):
            raise RuntimeError("disk full")

        h = await limelight(plugins={"broken": HookPlugin(record_events=record_events)})

    Each function takes any subset of the hook's arguments, as a hook method would. Write
    a :class:`~limelight.Plugin` subclass for anything with state.
    """

    def __init__(self, **hooks: Callable[..., Any]) -> None:
        for name, function in hooks.items():
            setattr(self, name, hookimpl(function))


# -- factories ---------------------------------------------------------------------------------


def make_viewer(name: str = "alice", platform: str = "twitch", id: str | None = None) -> ViewerRef:
    return ViewerRef(platform, id or f"{name.lower()}-id", name)


def make_chat(
    text: str,
    viewer: ViewerRef | str = "alice",
    *,
    roles: set[str] | None = None,
    source: str = "test",
    test: bool = False,
    **fields: Any,
) -> ChatMessage:
    ref = make_viewer(viewer) if isinstance(viewer, str) else viewer
    return ChatMessage(
        source=source,
        source_id=f"chat-{next(_ids)}",
        viewer=ref,
        text=text,
        roles=frozenset(roles or {"viewer"}),
        test=test,
        **fields,
    )


def make_tip(
    amount: str = "5.00",
    currency: str = "USD",
    viewer: ViewerRef | str = "alice",
    *,
    message: str = "",
    source: str = "test",
    source_id: str | None = None,
    test: bool = False,
    **fields: Any,
) -> Tip:
    ref = make_viewer(viewer) if isinstance(viewer, str) else viewer
    return Tip(
        source=source,
        source_id=source_id or f"tip-{next(_ids)}",
        viewer=ref,
        amount=Money.parse(amount, currency),
        message=message,
        test=test,
        **fields,
    )


# -- the harness -------------------------------------------------------------------------------


class Harness:
    """A running Limelight app with a test client; see the module docstring."""

    def __init__(
        self, app: web.Application, client: TestClient[web.Request, web.Application]
    ) -> None:
        self.app = app
        self.client = client

    @property
    def services(self) -> Services:
        return self.app[SERVICES]

    @property
    def host(self) -> PluginHost:
        return self.app[HOST]

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.security.admin_token}"}

    async def login(self, secret: str | None = None) -> dict[str, str]:
        """Log in to the dashboard as a browser does (the session cookie stays in
        ``h.client``) and return the headers a dashboard script sends with a request that
        changes something: ``Origin`` and the session's ``X-CSRF-Token``, read from the
        page's ``<meta name="csrf-token">``. ``secret`` defaults to the admin token.

        ``await h.client.post("/api/tips/tts", json={...}, headers=await h.login())``"""
        origin = str(self.client.make_url("/").origin())
        response = await self.client.post(
            "/admin/login",
            data={"token": self.settings.security.admin_token if secret is None else secret},
            headers={"Origin": origin},
            allow_redirects=False,
        )
        if response.status != 302:
            raise AssertionError(f"login refused ({response.status}): {await response.text()}")
        page = await (await self.client.get("/admin/")).text()
        found = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
        if found is None:
            raise AssertionError("the dashboard page carries no CSRF token")
        return {"Origin": origin, "X-CSRF-Token": found.group(1)}

    def ctx(self, plugin: str) -> PluginContext[Any]:
        """The context the host gave ``plugin`` (its config, services, log)."""
        return self.host.contexts[plugin]

    @overload
    def plugin(self, name: str) -> object: ...

    @overload
    def plugin(self, name: str, kind: type[P]) -> P: ...

    def plugin(self, name: str, kind: type[Any] | None = None) -> Any:
        """The plugin object the host runs as ``name`` (the instance it created from a
        class). With ``kind``, checked and typed: ``h.plugin("hype", Hype).level``."""
        obj = self.host.plugin(name)
        if obj is None:
            info = self.host.info.get(name)
            why = f"{info.status}: {info.reason}" if info else "not loaded"
            raise LookupError(f"no running plugin {name!r} ({why})")
        if kind is not None and not isinstance(obj, kind):
            raise TypeError(f"plugin {name!r} is a {type(obj).__name__}, not a {kind.__name__}")
        return obj

    def url(self, path: str) -> str:
        return str(self.client.make_url(path))

    async def close(self) -> None:
        """Stop the server (plugins' ``shutdown``, the database closed), as SIGTERM would.
        Another harness may start after this, on the same database to test a restart."""
        await self.client.close()

    async def publish(self, event: Event, *, settle: bool = True) -> Accepted:
        """Put ``event`` on the bus as a source would; see the module docstring for what
        this waits for."""
        accepted = await self.services.bus.publish(event)
        if settle:
            await self.settle()
        return accepted

    async def post_event(self, payload: dict[str, Any], *, settle: bool = True) -> tuple[int, Any]:
        """``POST /api/events`` with the admin token: ``(status, JSON body)``."""
        response = await self.client.post("/api/events", json=payload, headers=self.admin_headers)
        body = await response.json()
        if settle:
            await self.settle()
        return response.status, body

    async def settle(self, timeout: float | None = None) -> None:
        """Wait until every lane (each plugin's ``on_event``, overlays, chat, OBS rules) has
        delivered what is queued and chat has sent every reply. Raises ``TimeoutError``
        after ``timeout`` seconds (default: 5 s more than ``[plugins] hook_timeout``, so a
        hook abandoned at its timeout is not mistaken for a hang) instead of hanging."""
        chat = self.services.chat
        limit = timeout if timeout is not None else self.host.timeout + 5.0
        async with asyncio.timeout(limit):
            while True:
                lanes = self.services.bus.lanes.values()
                if all(not lane.queue and lane._idle.is_set() for lane in lanes) and (
                    chat is None or chat.quiet()
                ):
                    await asyncio.sleep(0)
                    if all(not lane.queue and lane._idle.is_set() for lane in lanes) and (
                        chat is None or chat.quiet()
                    ):
                        return
                await asyncio.sleep(0.001)

    # -- chat ------------------------------------------------------------------------------

    @property
    def chat(self) -> ChatService:
        """The running chat service (``h.chat.feed_since(0)``, ``h.chat.router``)."""
        chat = self.services.chat
        if chat is None:
            raise RuntimeError("the chat service is not running")
        return chat

    @property
    def chat_connector(self) -> LocalConnector:
        """The in-memory chat connector ``chat_as`` types into (named ``test``)."""
        connector = self.chat.connectors[TEST_CONNECTOR]
        assert isinstance(connector, LocalConnector)
        return connector

    async def chat_as(
        self,
        viewer: ViewerRef | str,
        text: str,
        *,
        roles: set[str] | frozenset[str] | None = None,
        settle: bool = True,
        **fields: Any,
    ) -> ChatMessage:
        """Type ``text`` in chat as ``viewer`` (a name, or a ViewerRef) with ``roles``.

        The line goes through the whole pipeline (bus, gating, command routing); with
        ``settle`` this returns once every reply is sent, so ``h.said`` holds them.
        ``make_viewer(name)`` builds the viewer, so chat lines and ``make_tip`` agree on who
        is who.
        """
        ref = make_viewer(viewer) if isinstance(viewer, str) else viewer
        message = self.chat_connector.make_message(ref, text, roles=roles, **fields)
        await self.chat_connector.receive(message)
        if settle:
            await self.settle()
        return message

    @property
    def said(self) -> list[SentMessage]:
        """Everything the bot said on any connector, oldest first (``.text``,
        ``.reply_to``, ``.channel``, ``.platform``)."""
        return list(self.chat.sent)


async def start_harness(
    settings: Settings,
    plugins: Mapping[str, object] | None = None,
    *,
    entry_points: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Harness:
    """Start an app on ``settings`` with ``plugins`` (name -> a Plugin class, an instance,
    or a module). ``entry_points`` also loads the installed plugins; which of them is
    chosen as ``LIMELIGHT_PLUGINS`` in ``environ`` says (never the process environment)."""
    # The in-memory connector starts with the chat service, before plugins start and the
    # bus replays what a previous run left unhandled, so ``h.said`` holds what they say.
    connector = LocalConnector(TEST_CONNECTOR, platform="twitch", channel="test")
    app = create_app(
        settings,
        plugins=dict(plugins or {}),
        entry_points=entry_points,
        environ=environ or {},
        chat_connectors=[connector],
    )
    client = TestClient(TestServer(app))
    try:
        await client.start_server()
    except BaseException:
        await client.close()  # a failed start must not leak the client's session
        raise
    return Harness(app, client)


async def run_examples(harness: Harness, plugin: str | None = None) -> list[str]:
    """Run every ``@example`` of the registered commands (or of one plugin's) through the
    harness's chat; returns one line per failed example (empty: all passed).

    ``assert not await run_examples(h, "myplugin")`` makes the examples part of a suite.
    """
    router = harness.chat.router
    failures = []
    for name, cmd in sorted(router.commands.items()):
        owner = router.owners.get(name)
        if plugin is not None and owner != plugin:
            continue
        for ex in cmd.examples:
            before = harness.chat.sent_count
            line = ex.line
            if line.startswith("!") and router.prefix != "!":
                line = router.prefix + line[1:]
            message = await harness.chat_as(ex.user, line, roles=set(ex.roles))
            replies = [s.text for s in harness.chat.sent_since(before) if s.reply_to is message]
            said = replies[0] if replies else None
            failed = said == harness.settings.chat.error_reply and ex.reply != said
            if failed or not ex.matches(said):
                failures.append(
                    f"{ex.line!r} (as {ex.user}, {sorted(ex.roles)}): expected "
                    f"{ex.reply!r}, got {said!r}"
                )
    return failures


__all__ = [
    "ADMIN_TOKEN",
    "OVERLAY_TOKEN",
    "TEST_CONNECTOR",
    "Harness",
    "HookPlugin",
    "Recorder",
    "make_chat",
    "make_settings",
    "make_tip",
    "make_viewer",
    "merge_config",
    "run_examples",
    "start_harness",
]
