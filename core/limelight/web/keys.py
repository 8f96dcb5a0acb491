"""Typed keys for what the app stores (``app[SERVICES]``), per aiohttp's ``web.AppKey``."""

from __future__ import annotations

from aiohttp import web
from aiohttp.web_urldispatcher import AbstractRoute

from ..chat.connector import ChatConnector
from ..config import Settings
from ..context import Services
from ..plugins import PluginHost

SETTINGS = web.AppKey("settings", Settings)
HOST = web.AppKey("host", PluginHost)
SERVICES = web.AppKey("services", Services)
#: The routes plugins registered: each carries its own auth check (``Route.auth``), so the
#: admin API's path rule (everything under ``/api/`` is admin) does not apply to them.
PLUGIN_ROUTES = web.AppKey("plugin_routes", set[AbstractRoute])
#: Core routes under ``/api/`` a moderator may call too (queue controls, the chat console,
#: the event list); every other core ``/api/`` route needs the streamer.
MODERATOR_ROUTES = web.AppKey("moderator_routes", set[AbstractRoute])
#: Connectors given in code (``create_app(chat_connectors=...)``, the test kit's in-memory
#: one): started with the chat service, before plugins start and the bus replays.
CHAT_CONNECTORS = web.AppKey("chat_connectors", list[ChatConnector])
