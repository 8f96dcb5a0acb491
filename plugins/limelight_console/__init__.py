"""The dashboard chat console: type in chat as any test viewer, with any role.

It is an ordinary chat connector (name and platform ``console``) with no network: the
dashboard's chat page posts lines to ``POST /api/console/messages`` and they go through
the whole pipeline (bus, gating, commands, overlays) like a Twitch line; the bot's replies
come back to the page. ``make run`` is therefore enough to try every command without a
Twitch account. On by default; turn it off with ``[plugins.console] enabled = false`` or
``[plugins] disabled = ["console"]``.
"""

from __future__ import annotations

import re

from aiohttp import web
from limelight import ChatConnectorSpec, Plugin, PluginConfig, Register, Route, ViewerRef, hookimpl
from limelight.chat import LocalConnector
from pydantic import Field

ROLES = ("subscriber", "vip", "moderator", "broadcaster")
_NAME = re.compile(r"^[A-Za-z0-9_]{1,25}$")


class ConsoleConfig(PluginConfig):
    enabled: bool = True
    #: Channel name shown for console lines.
    channel: str = Field("console", min_length=1, max_length=40)
    #: Mark console lines as test events (never write ledgers); on by default, since a
    #: typed line is not a real viewer.
    test: bool = True


class ConsoleConnector(LocalConnector):
    def __init__(self, config: ConsoleConfig) -> None:
        super().__init__("console", platform="console", channel=config.channel)
        self.config = config


class ConsolePlugin(Plugin[ConsoleConfig]):
    """The connector and the route that feeds it; the route reaches the connector this
    plugin built for its own app, so two apps in one process never type into each other."""

    config_model = ConsoleConfig

    def __init__(self) -> None:
        super().__init__()
        #: Built by the chat service when the app starts (``None`` while switched off).
        self.connector: ConsoleConnector | None = None

    def make_connector(self) -> ConsoleConnector | None:
        if not self.config.enabled:
            return None
        self.connector = ConsoleConnector(self.config)
        return self.connector

    async def post_message(self, request: web.Request) -> web.Response:
        """``{"viewer": "alice", "roles": ["subscriber"], "text": "!top"}`` -> typed in chat."""
        connector = self.connector
        if connector is None or not connector.running:
            raise web.HTTPServiceUnavailable(text="the chat console is off")
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(text="the body must be JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="the body must be a JSON object")
        name = str(body.get("viewer") or "viewer").strip()
        if not _NAME.match(name):
            raise web.HTTPBadRequest(text="viewer must be 1-25 letters, digits or _")
        roles = body.get("roles") or []
        if not isinstance(roles, list) or any(r not in ROLES for r in roles):
            raise web.HTTPBadRequest(text=f"roles must be a list of {', '.join(ROLES)}")
        text = body.get("text")
        if not isinstance(text, str) or not text.strip() or len(text) > 500:
            raise web.HTTPBadRequest(text="text must be 1-500 characters")
        viewer = ViewerRef("console", name.lower(), name)
        message = connector.make_message(
            viewer, text.strip(), roles=set(roles), test=connector.config.test
        )
        accepted = await connector.receive(message)
        return web.json_response(
            {"id": message.source_id, "duplicate": accepted.duplicate}, status=202
        )

    @hookimpl
    def register_chat_connectors(self, register: Register[ChatConnectorSpec]) -> None:
        register(ChatConnectorSpec("console", self.make_connector))

    @hookimpl
    def register_routes(self, register: Register[Route]) -> None:
        register(Route("POST", "/api/console/messages", self.post_message, auth="moderator"))


__all__ = ["ConsoleConfig", "ConsoleConnector", "ConsolePlugin"]
