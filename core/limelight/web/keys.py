"""Typed keys for what the app stores (``app[SERVICES]``), per aiohttp's ``web.AppKey``."""

from __future__ import annotations

from aiohttp import web

from ..config import Settings
from ..context import Services
from ..plugins import PluginHost

SETTINGS = web.AppKey("settings", Settings)
HOST = web.AppKey("host", PluginHost)
SERVICES = web.AppKey("services", Services)
