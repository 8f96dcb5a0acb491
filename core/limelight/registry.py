"""What plugins register, and the book of who registered what.

Registration hooks hand plugins a ``register`` callback (the llm pattern). Everything a plugin
registers is one of the small frozen specs below; the :class:`Registry` records the owning
plugin and refuses a second registration under the same key, so two plugins can never both
answer ``!top`` or ``/webhooks/kofi`` and nobody has to guess which one won.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

if TYPE_CHECKING:
    from aiohttp import web
    from pydantic import BaseModel

    from .events import Event


class RegistrationError(ValueError):
    """A duplicate or malformed registration; the plugin that made it is disabled."""


@dataclass(frozen=True)
class Route:
    """A web route a plugin adds. ``auth`` says who may call it: the admin token, the overlay
    token, or anyone (``public``, for example a page a viewer opens from a chat link)."""

    method: str
    path: str
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    auth: Literal["admin", "overlay", "public"] = "admin"
    name: str | None = None
    #: A label to list this page in the dashboard's navigation (GET admin pages only).
    nav: str = ""

    @property
    def key(self) -> str:
        return f"{self.method.upper()} {self.path}"


@dataclass(frozen=True)
class Overlay:
    """A browser source: ``/overlays/<name>`` renders ``template`` and receives ``events``."""

    name: str
    template: str
    events: tuple[str, ...] = ()
    width: int = 1920
    height: int = 1080
    title: str = ""
    description: str = ""

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True)
class Models:
    """A tortoise app owned by the plugin: ``models`` and ``migrations`` are module paths.

    ``app`` is the tortoise app label other models use in foreign keys (``"tips.Tip"``)."""

    app: str
    models: str
    migrations: str | None = None

    def __post_init__(self) -> None:
        # Tables are only ever created by migrations; without a migrations module the
        # plugin would start and then fail on its first query ("no such table").
        if not self.migrations:
            raise RegistrationError(
                f"models app {self.app!r} has no migrations module; generate one with "
                "`python -m tortoise ... makemigrations` (see docs/writing-plugins.md)"
            )

    @property
    def key(self) -> str:
        return self.app


@dataclass(frozen=True)
class Job:
    """A recurring job: ``trigger`` is an APScheduler trigger name (``interval``, ``cron``)
    with its arguments, e.g. ``Job("refresh", refresh, "interval", {"minutes": 5})``.

    ``func`` receives the plugin's context as its only argument."""

    id: str
    func: Callable[[Any], Any]
    trigger: str
    trigger_args: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.id


@dataclass(frozen=True)
class WebhookProvider:
    """A payment or tip provider at ``/webhooks/<name>``.

    ``handle`` receives the request and its raw body (already size-checked), verifies the
    provider's signature, and returns the events the delivery carries. It raises
    :class:`limelight.webhooks.WebhookError` (a 4xx with a clear message) for anything it
    cannot accept. The core commits money events before it answers 2xx.
    """

    name: str
    handle: Callable[[web.Request, bytes], Awaitable[list[Event]]]
    max_body: int = 256 * 1024
    #: Problems in the provider's ``[webhooks.<name>]`` table (``limelight doctor``), each
    #: naming the key, never echoing a value: these tables hold secrets.
    check_config: Callable[[dict[str, Any]], list[str]] | None = None

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True)
class ChatConnectorSpec:
    """A chat platform: ``factory(ctx)`` builds the connector once its plugin is configured."""

    name: str
    factory: Callable[[Any], Any]

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True)
class Badge:
    """A badge a plugin can award to viewers; shown beside their name in chat overlays."""

    name: str
    label: str
    icon: str = ""
    description: str = ""

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True)
class EventType:
    """A plugin's own event type, namespaced ``<plugin>.<name>``."""

    name: str
    money: bool = False
    description: str = ""

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True)
class ConfigModel:
    """The typed model of the plugin's ``[plugins.<name>]`` table (a pydantic model)."""

    model: type[BaseModel]

    @property
    def key(self) -> str:
        return "config"


T = TypeVar("T")


@dataclass
class Owned(Generic[T]):
    owner: str
    item: T


class Registry(Generic[T]):
    """Items of one kind, keyed, each with the plugin that registered it."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, Owned[T]] = {}

    def add(self, owner: str, item: T, key: str | None = None) -> None:
        key = key if key is not None else item.key  # type: ignore[attr-defined]
        existing = self._items.get(key)
        if existing is not None:
            raise RegistrationError(
                f"{self.kind} {key!r} is already registered by plugin {existing.owner!r}"
            )
        self._items[key] = Owned(owner, item)

    def drop_owner(self, owner: str) -> None:
        """Forget everything ``owner`` registered (the plugin was disabled)."""
        self._items = {k: v for k, v in self._items.items() if v.owner != owner}

    def get(self, key: str) -> T | None:
        owned = self._items.get(key)
        return owned.item if owned else None

    def owner_of(self, key: str) -> str | None:
        owned = self._items.get(key)
        return owned.owner if owned else None

    def items(self) -> list[tuple[str, T]]:
        return [(o.owner, o.item) for o in self._items.values()]

    def values(self) -> list[T]:
        return [o.item for o in self._items.values()]

    def by_owner(self, owner: str) -> list[T]:
        return [o.item for o in self._items.values() if o.owner == owner]

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)
