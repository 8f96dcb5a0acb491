"""What a plugin gets: its own typed :class:`PluginContext`.

Plugins react through the context (``ctx.chat``, ``ctx.overlays``, ``ctx.obs``, ``ctx.db``,
``ctx.scheduler``, ``ctx.config``) and never import core internals, so the core can change
behind this surface without breaking third-party plugins.

The host creates a plugin's context as soon as its config is validated, so ``ctx.config``
and ``ctx.log`` work in registration hooks; the running services (database, chat,
overlays, OBS, ...) are attached when the app starts, before the plugin's ``startup``.
Reaching for one earlier is a programming error with a message that says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .config import ConfigT
from .money import Money, format_money
from .scheduler import PluginScheduler, Scheduler

if TYPE_CHECKING:
    from .badges import BadgeBook
    from .bus import Accepted, EventBus
    from .chat.service import ChatService
    from .config import Settings
    from .db import Database
    from .emotes import EmoteBook
    from .events import Event
    from .media import MediaStore
    from .obs.service import ObsService
    from .overlays.service import OverlayService
    from .plugins import PluginHost
    from .registry import Metric
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
    media: MediaStore
    emotes: EmoteBook
    #: Filled in by the chat, overlay and OBS services as they start.
    chat: ChatService | None = None
    overlays: OverlayService | None = None
    obs: ObsService | None = None


PeerT = TypeVar("PeerT")


class NotRunning(RuntimeError):
    """A service was used before the app started it (say, ``ctx.db`` in a register hook)."""


class PluginContext(Generic[ConfigT]):
    """One plugin's handle on the running server."""

    def __init__(self, name: str, config: ConfigT, settings: Settings) -> None:
        self.name = name
        #: The plugin's validated ``[plugins.<name>]`` settings (its declared model).
        self.config: ConfigT = config
        self.log = logging.getLogger(f"limelight.plugin.{name}")
        self._settings = settings
        self._services: Services | None = None
        self._scheduler: PluginScheduler | None = None

    def bind(self, services: Services) -> None:
        """Attach the running services (the app factory does this before ``startup``)."""
        self._services = services
        self._scheduler = PluginScheduler(services.scheduler, self.name)

    def _running(self, what: str) -> Services:
        if self._services is None:
            raise NotRunning(
                f"ctx.{what} is not available yet: the server starts its services after "
                "the registration hooks; use it from startup, event hooks or callbacks"
            )
        return self._services

    @property
    def settings(self) -> Settings:
        """The server's settings (read them; do not change them)."""
        return self._settings

    @property
    def db(self) -> Database:
        return self._running("db").db

    @property
    def scheduler(self) -> PluginScheduler:
        """Jobs owned by this plugin (``run_at``, ``every``); removed when it is disabled."""
        self._running("scheduler")
        assert self._scheduler is not None
        return self._scheduler

    @property
    def chat(self) -> ChatService:
        """Say things in chat, delete lines, set chat modes (``ctx.chat.say(...)``)."""
        chat = self._running("chat").chat
        if chat is None:
            raise NotRunning("ctx.chat is not available: the chat service has not started")
        return chat

    @property
    def overlays(self) -> OverlayService:
        """Alerts, state and live messages for overlays (``ctx.overlays.alert(...)``)."""
        overlays = self._running("overlays").overlays
        if overlays is None:
            raise NotRunning("ctx.overlays is not available: the overlay service has not started")
        return overlays

    @property
    def obs(self) -> ObsService:
        """OBS actions (``ctx.obs.switch_scene(...)``); queued while OBS is away."""
        obs = self._running("obs").obs
        if obs is None:
            raise NotRunning("ctx.obs is not available: the OBS service has not started")
        return obs

    @property
    def viewers(self) -> Viewers:
        return self._running("viewers").viewers

    @property
    def badges(self) -> BadgeBook:
        return self._running("badges").badges

    @property
    def media(self) -> MediaStore:
        """The media folder: check and store uploads (``await ctx.media.store(data)``)."""
        return self._running("media").media

    @property
    def emotes(self) -> EmoteBook:
        """Coded emotes (``ctx.emotes.replace(self.name, [...])``) and the splitter pages
        use to render a chat line as text and emote fragments."""
        return self._running("emotes").emotes

    def peer(self, name: str, kind: type[PeerT]) -> PeerT | None:
        """The enabled plugin ``name`` as its documented API ``kind``, or ``None`` when it
        is not installed, disabled, or not that kind.

        This is how plugins cooperate without reaching into each other's internals: the
        shop asks ``ctx.peer("vip", Memberships)`` for members' early access and works
        without it. ``kind`` is a class (or ``runtime_checkable`` protocol) the other
        plugin documents as its API. Ask at call time, not once at startup: a peer can be
        disabled while the server runs."""
        return self._running("peer").host.peer(name, kind)

    @property
    def metrics(self) -> list[Metric]:
        """Every :class:`~limelight.registry.Metric` the enabled plugins registered
        (``register_metrics``): what goal-setting plugins can count."""
        host = self._running("metrics").host
        return [m for owner, m in host.metrics.items() if owner in host.enabled]

    @property
    def bus(self) -> EventBus:
        return self._running("bus").bus

    @property
    def running(self) -> bool:
        """Whether the services are attached (the app has started)."""
        return self._services is not None

    def recorded(self, event: Event) -> Any:
        """What this plugin's ``record_events`` returned for ``event`` (``{event.id:
        value}``), or ``None``: the event was not written in this process (dispatched again
        after a restart) or the plugin returned nothing for it. Read your own tables then."""
        return event.recorded.get(self.name) if event.recorded else None

    async def publish(self, event: Event) -> Accepted:
        """Put an event on the bus (deduped, persisted, dispatched like any other)."""
        return await self._running("bus").bus.publish(event)

    def money(self, money: Money) -> str:
        """``money`` as the streamer's audience reads it (``[server] locale``): the one
        formatter every surface uses."""
        return format_money(money, self._settings.server.locale)

    def url(self, path: str) -> str:
        """An absolute URL on this server (``server.public_url`` when set)."""
        return self._settings.base_url() + path


__all__ = ["NotRunning", "PluginContext", "Services"]
