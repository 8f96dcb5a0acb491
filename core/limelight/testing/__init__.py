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


def make_settings(tmp_path: Path, config: dict[str, Any] | None = None,
                  database_url: str | None = None) -> Settings:
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


def make_chat(text: str, viewer: ViewerRef | str = "alice", *, roles: set[str] | None = None,
              source: str = "test", test: bool = False, **fields: Any) -> ChatMessage:
    ref = make_viewer(viewer) if isinstance(viewer, str) else viewer
    return ChatMessage(source=source, source_id=f"chat-{next(_ids)}", viewer=ref, text=text,
                       roles=frozenset(roles or {"viewer"}), test=test, **fields)


def make_tip(amount: str = "5.00", currency: str = "USD", viewer: ViewerRef | str = "alice",
             *, message: str = "", source: str = "test", source_id: str | None = None,
             test: bool = False, **fields: Any) -> Tip:
    ref = make_viewer(viewer) if isinstance(viewer, str) else viewer
    return Tip(source=source, source_id=source_id or f"tip-{next(_ids)}", viewer=ref,
               amount=Money.parse(amount, currency), message=message, test=test, **fields)


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
        response = await self.client.post("/api/events", json=payload,
                                          headers=self.admin_headers)
        body = await response.json()
        if settle:
            await self.settle()
        return response.status, body

    async def settle(self, timeout: float = 5.0) -> None:
        """Wait until every lane has delivered what is queued (no sleeping on a guess)."""
        async with asyncio.timeout(timeout):
            while True:
                lanes = self.services.bus.lanes.values()
                if all(not lane.queue and lane._idle.is_set() for lane in lanes):
                    await asyncio.sleep(0)
                    if all(not lane.queue and lane._idle.is_set() for lane in lanes):
                        return
                await asyncio.sleep(0.001)


async def start_harness(settings: Settings, plugins: dict[str, Any] | None = None,
                        *, entry_points: bool = False) -> Harness:
    app = create_app(settings, plugins=plugins, entry_points=entry_points)
    client = TestClient(TestServer(app))
    await client.start_server()
    return Harness(app, client)


__all__ = [
    "ADMIN_TOKEN",
    "OVERLAY_TOKEN",
    "Harness",
    "make_chat",
    "make_settings",
    "make_tip",
    "make_viewer",
    "start_harness",
]
