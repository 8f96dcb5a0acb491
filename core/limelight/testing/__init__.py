"""The test kit for plugin authors (and for Limelight's own suite).

With Limelight installed, pytest picks up the fixtures in :mod:`.pytest_plugin`
automatically. A test asks for ``limelight`` and starts a server on a throw-away database::

    async def test_hello(limelight):
        h = await limelight(plugins={"hello": hello_plugin})
        await h.chat_as("alice", "!hello")
        assert h.said[-1].text == "Hello, alice!"

The harness talks to the server through a real aiohttp test client, so routes, auth and
middlewares behave exactly as in production.
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from ..chat import LocalConnector, SentMessage
from ..config import Settings, load_settings
from ..context import PluginContext, Services
from ..events import ChatMessage, Event, Tip, ViewerRef
from ..money import Money
from ..plugins import PluginHost
from ..web.app import create_app
from ..web.keys import HOST, SERVICES

ADMIN_TOKEN = "test-admin-token"
OVERLAY_TOKEN = "test-overlay-token"

_ids = itertools.count(1)
#: Name of the in-memory chat connector the harness attaches (``h.chat_as``).
TEST_CONNECTOR = "test"


def make_settings(
    tmp_path: Path, config: dict[str, Any] | None = None, database_url: str | None = None
) -> Settings:
    """Settings on a fresh SQLite file in ``tmp_path`` with known test tokens."""
    base: dict[str, Any] = {
        "server": {"host": "127.0.0.1", "port": 0},
        "security": {"admin_token": ADMIN_TOKEN, "overlay_token": OVERLAY_TOKEN},
        "database": {"url": database_url or f"sqlite://{tmp_path / 'limelight.sqlite3'}"},
    }
    return _settings_from(base, config or {}, tmp_path)


def _settings_from(base: dict[str, Any], config: dict[str, Any], tmp_path: Path) -> Settings:
    merged = _merge(base, config)
    settings = load_settings(None, environ={}, overrides=merged)
    settings.base_dir = tmp_path
    return settings


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


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

    def __init__(self, app: web.Application, client: TestClient) -> None:
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

    def ctx(self, plugin: str) -> PluginContext:
        return self.host.contexts[plugin]

    def url(self, path: str) -> str:
        return str(self.client.make_url(path))

    async def publish(self, event: Event, *, settle: bool = True) -> Any:
        accepted = await self.services.bus.publish(event)
        if settle:
            await self.settle()
        return accepted

    async def post_event(self, payload: dict[str, Any], *, settle: bool = True) -> Any:
        response = await self.client.post("/api/events", json=payload, headers=self.admin_headers)
        body = await response.json()
        if settle:
            await self.settle()
        return response.status, body

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait until every lane has delivered what is queued (no sleeping on a guess)."""
        chat = self.services.chat
        async with asyncio.timeout(timeout):
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
    def chat_connector(self) -> LocalConnector:
        """The in-memory chat connector ``chat_as`` types into (named ``test``)."""
        return self.services.chat.connectors[TEST_CONNECTOR]

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
        return list(self.services.chat.sent)


async def start_harness(
    settings: Settings, plugins: dict[str, Any] | None = None, *, entry_points: bool = False
) -> Harness:
    app = create_app(settings, plugins=plugins, entry_points=entry_points)
    client = TestClient(TestServer(app))
    try:
        await client.start_server()
    except BaseException:
        await client.close()  # a failed start must not leak the client's session
        raise
    harness = Harness(app, client)
    chat = harness.services.chat
    if chat is not None and TEST_CONNECTOR not in chat.connectors:
        await chat.attach(LocalConnector(TEST_CONNECTOR, platform="twitch", channel="test"))
    return harness


async def run_examples(harness: Harness, plugin: str | None = None) -> list[str]:
    """Run every ``@example`` of the registered commands (or of one plugin's) through the
    harness's chat; returns one line per failed example (empty: all passed).

    ``assert not await run_examples(h, "myplugin")`` makes the examples part of a suite.
    """
    router = harness.services.chat.router
    failures = []
    for name, cmd in sorted(router.commands.items()):
        owner = router.owners.get(name)
        if plugin is not None and owner != plugin:
            continue
        for ex in cmd.examples:
            before = harness.services.chat.sent_count
            line = ex.line
            if line.startswith("!") and router.prefix != "!":
                line = router.prefix + line[1:]
            message = await harness.chat_as(ex.user, line, roles=set(ex.roles))
            replies = [
                s.text for s in harness.services.chat.sent_since(before) if s.reply_to is message
            ]
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
    "make_chat",
    "make_settings",
    "make_tip",
    "make_viewer",
    "run_examples",
    "start_harness",
]
