"""What plugins register, and the book of who registered what.

Registration hooks hand plugins a ``register`` callback (the llm pattern). Everything a plugin
registers is one of the small frozen specs below; the :class:`Registry` records the owning
plugin and refuses a second registration under the same key, so two plugins can never both
answer ``!top`` or ``/webhooks/kofi`` and nobody has to guess which one won.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeAlias, TypeVar

if TYPE_CHECKING:
    from aiohttp import web
    from pydantic import BaseModel

    from .chat.connector import ChatConnector
    from .events import Event

T = TypeVar("T")

#: The ``register`` callback a registration hook receives: ``Register[Route]`` and so on.
Register: TypeAlias = Callable[[T], None]


class RegistrationError(ValueError):
    """A duplicate or malformed registration; the plugin that made it is disabled."""


def plugin_args(func: Callable[..., Any], ctx: Any) -> tuple[Any, ...]:
    """The arguments a plugin callback (job, connector factory) is called with: none for a
    bound method (it has the plugin as ``self``), the plugin context for a plain function
    of a module plugin."""
    return () if inspect.ismethod(func) else (ctx,)


@dataclass(frozen=True)
class Route:
    """A web route a plugin adds. ``auth`` says who may call it: the streamer (``admin``:
    the admin token or the streamer's dashboard login), the streamer or a moderator
    (``moderator``: queue controls, chat tools; never money, settings or invites), the
    overlay token, or anyone (``public``, for example a page a viewer opens from a chat
    link)."""

    method: str
    path: str
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    auth: Literal["admin", "moderator", "overlay", "public"] = "admin"
    name: str | None = None
    #: A label to list this page in the dashboard's navigation (GET admin pages only).
    nav: str = ""

    @property
    def key(self) -> str:
        return f"{self.method.upper()} {self.path}"


@dataclass(frozen=True)
class AlertKind:
    """One kind of alert an overlay plays (``"raid"``, ``"tip"``, ...).

    ``text`` is what the alert says when no ``[[overlays.<overlay>.variations]]`` entry
    matches (``{placeholder}``s are the alert's data fields); ``sample`` is the data of a
    test alert sent from the dashboard. Declaring the kinds is what gives an overlay its
    queue and test-alert controls in the dashboard. ``image`` and ``sound`` are the default
    picture and sound of the kind (URLs on this server), used when no variation names its
    own. ``label`` is what the dashboard calls the kind; empty, the label of the event type
    of that name (a kind of alert that is not an event type's, such as the alerts plugin's
    ``merch.gift``, names itself here).
    """

    kind: str
    text: str = "{name}"
    sample: Mapping[str, str | int | bool] = field(default_factory=dict, hash=False)
    image: str = ""
    sound: str = ""
    label: str = ""


@dataclass(frozen=True)
class Overlay:
    """A browser source: ``/overlays/<name>`` renders ``template`` and receives ``events``.

    ``alerts`` lists the kinds of alert the overlay plays (empty for an overlay that only
    shows state or live messages)."""

    name: str
    template: str
    events: tuple[str, ...] = ()
    width: int = 1920
    height: int = 1080
    title: str = ""
    description: str = ""
    alerts: tuple[AlertKind, ...] = ()

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
    with its arguments, e.g. ``Job("refresh", self.refresh, "interval", {"minutes": 5})``.

    ``func`` is usually a bound method of the plugin and takes no argument; a plain function
    of a module plugin receives the plugin's context as its only argument."""

    id: str
    func: Callable[..., Any]
    trigger: str
    trigger_args: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.id


#: A webhook provider's name: ``/webhooks/<name>`` and ``[webhooks.<name>]``.
PROVIDER_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


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

    def __post_init__(self) -> None:
        # The name is a path segment and a config table, and an environment variable
        # names the table with ``_`` for ``-`` (LIMELIGHT_WEBHOOKS__VIP_STRIPE__SECRET):
        # a name with ``_`` or capitals could not be reached that way.
        if not PROVIDER_NAME.fullmatch(self.name):
            raise RegistrationError(
                f"webhook provider name {self.name!r}: use lowercase letters and digits, "
                "words joined by '-' (e.g. 'acme-pay')"
            )

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True)
class ChatConnectorSpec:
    """A chat platform: ``factory()`` builds the connector once the app starts (``None``
    when the platform is switched off). A plain function of a module plugin receives the
    plugin's context as its only argument."""

    name: str
    factory: Callable[..., ChatConnector | None]

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
    #: Chat lines of viewers holding it stand out in chat overlays (a paid tier's perk).
    highlight: bool = False
    #: The badge's colour (``#rrggbb``) for overlays that draw a text badge; "" for none.
    colour: str = ""

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True)
class EventType:
    """A plugin's own event type, namespaced ``<plugin>.<name>``.

    ``label`` and ``describe`` are how the dashboard's activity feed reads it: ``label``
    names the type in a few words ("Drop started"), ``describe`` is a line filled with
    :func:`~limelight.text.fill` from the event's data plus ``{name}`` (the viewer), e.g.
    ``"{item} is on sale: {stock} left"``. The data keys named in ``amounts`` are amounts
    of the data's ``currency`` and read as money in the streamer's locale, through the one
    money formatter (``"{amount}"`` → "€120.00", not "120.00"); an event whose data lacks a
    value the line names reads as ``label`` instead. ``icon`` picks one of the
    feed's icons (see ``docs/overlays.md``). Without them the feed shows the type's name in
    words.
    """

    name: str
    money: bool = False
    description: str = ""
    label: str = ""
    describe: str = ""
    icon: str = ""
    amounts: tuple[str, ...] = ("amount",)

    @property
    def key(self) -> str:
        return self.name


@dataclass(frozen=True)
class Metric:
    """A quantity other plugins can set goals on (a challenge: "host 3 paid guests").

    ``measure(event)`` says how much one accepted event adds to it (``0``: nothing; a
    negative amount takes back what an earlier event added, as a refund does); it is called
    for every event of the ``events`` types, must be quick and pure (no I/O: it may run
    inside the transaction that records a money event) and return the same answer each
    time for the same event. ``unit`` is how the amounts read ("guests", "cents").
    ``name`` is namespaced ``<plugin>.<name>``, like event types."""

    name: str
    label: str
    events: tuple[str, ...]
    measure: Callable[[Event], int]
    unit: str = ""
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


@dataclass(frozen=True)
class NavLink:
    """A dashboard page in the navigation (from a ``Route`` with ``nav=``); ``role`` is the
    least dashboard role that sees it (the route's ``auth``)."""

    path: str
    label: str
    role: str = "admin"

    @property
    def key(self) -> str:
        return self.path


@dataclass(frozen=True)
class DoctorCheck:
    """A check ``limelight doctor`` runs for a plugin: ``run()`` returns the problems found
    (empty: all good), each a sentence a streamer can act on, never a secret's value. It
    runs with the plugin's config and context but without the server started.

    ``off()``, when given, says why the check does not apply yet (its feature is not set
    up at all) or returns "" when it does. A feature nobody has started to set up is not
    a problem: the doctor prints it as ``off`` with the reason, as it does for OBS and the
    webhooks, and does not run ``run()`` or count it, so a fresh install reads all good."""

    title: str
    run: Callable[[], list[str] | Awaitable[list[str]]]
    timeout: float = 10.0
    off: Callable[[], str] | None = None

    @property
    def key(self) -> str:
        return self.title


@dataclass
class Owned(Generic[T]):
    owner: str
    item: T


class Registry(Generic[T]):
    """Items of one kind, keyed, each with the plugin that registered it."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, Owned[T]] = {}
        self._reserved: dict[str, str] = {}

    def add(self, owner: str, item: T, key: str | None = None) -> None:
        key = key if key is not None else item.key  # type: ignore[attr-defined]
        other = self.owner_of(key)
        if other is not None:
            raise RegistrationError(
                f"{self.kind} {key!r} of plugin {owner!r} collides with the one "
                f"plugin {other!r} registered"
                if other != "core"
                else f"{self.kind} {key!r} of plugin {owner!r} is reserved by the core"
            )
        self._items[key] = Owned(owner, item)

    def reserve(self, owner: str, key: str) -> None:
        """Claim ``key`` for ``owner`` without an item (names the core answers to)."""
        if key in self._reserved or key in self._items:
            raise RegistrationError(f"{self.kind} {key!r} is already taken")
        self._reserved[key] = owner

    def drop_owner(self, owner: str) -> None:
        """Forget everything ``owner`` registered (the plugin was disabled)."""
        self._items = {k: v for k, v in self._items.items() if v.owner != owner}

    def get(self, key: str) -> T | None:
        owned = self._items.get(key)
        return owned.item if owned else None

    def owner_of(self, key: str) -> str | None:
        owned = self._items.get(key)
        return owned.owner if owned else self._reserved.get(key)

    def items(self) -> list[tuple[str, T]]:
        """``(owner, item)`` pairs, each item once (a command is keyed by every alias)."""
        seen: set[int] = set()
        out: list[tuple[str, T]] = []
        for owned in self._items.values():
            if id(owned.item) not in seen:
                seen.add(id(owned.item))
                out.append((owned.owner, owned.item))
        return out

    def values(self) -> list[T]:
        return [item for _, item in self.items()]

    def __contains__(self, key: str) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self.items())
