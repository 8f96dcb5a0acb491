"""What a plugin gets: its own :class:`PluginContext`.

Plugins react through the context (``ctx.chat``, ``ctx.overlays``, ``ctx.obs``, ``ctx.db``,
``ctx.scheduler``, ``ctx.config``) and never import core internals, so the core can change
behind this surface without breaking third-party plugins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .scheduler import PluginScheduler, Scheduler

if TYPE_CHECKING:
    from pydantic import BaseModel

    from .badges import BadgeBook
    from .bus import Accepted, EventBus
    from .config import Settings
    from .db import Database
    from .events import Event
    from .plugins import PluginHost
    from .viewers import Viewers


@dataclass
class Services:
    """The running server's shared services; built by the app factory."""

    settings: Settings
    host: PluginHost
    db: Database
    bus: EventBus
    scheduler: Scheduler
    viewers: Viewers
    badges: BadgeBook
    #: Filled in by the chat, overlay and OBS services as they start.
    chat: Any = None
    overlays: Any = None
    obs: Any = None
    extras: dict[str, Any] = field(default_factory=dict)


class PluginContext:
    """One plugin's handle on the running server."""

    def __init__(self, name: str, services: Services, config: BaseModel | None) -> None:
        self.name = name
        self._services = services
        #: The plugin's validated ``[plugins.<name>]`` settings (its declared model).
        self.config = config
        self.log = logging.getLogger(f"limelight.plugin.{name}")
        self.scheduler = PluginScheduler(services.scheduler, name)

    @property
    def settings(self) -> Settings:
        """The server's settings (read them; do not change them)."""
        return self._services.settings

    @property
    def db(self) -> Database:
        return self._services.db

    @property
    def chat(self) -> Any:
        return self._services.chat

    @property
    def overlays(self) -> Any:
        return self._services.overlays

    @property
    def obs(self) -> Any:
        return self._services.obs

    @property
    def viewers(self) -> Viewers:
        return self._services.viewers

    @property
    def badges(self) -> BadgeBook:
        return self._services.badges

    @property
    def bus(self) -> EventBus:
        return self._services.bus

    async def publish(self, event: Event) -> Accepted:
        """Put an event on the bus (deduped, persisted, dispatched like any other)."""
        return await self._services.bus.publish(event)

    def url(self, path: str) -> str:
        """An absolute URL on this server (``server.public_url`` when set)."""
        return self._services.settings.base_url() + path
