"""Typed, platform-neutral events: everything that happens on stream becomes one of these.

Connectors, webhooks, the scheduler and the admin API all produce events; the bus dedupes,
persists and dispatches them; plugins react to them. The wire form (``type``, ``source``,
``source_id``, ``occurred_at``, ``test``, ``viewer``, ``data``) is the public contract of
``POST/GET /api/events`` and of overlay messages (DESIGN section 4).

Each event class declares its wire ``type`` and whether it carries money (``money``): money
events are committed to the database before anyone is told they were accepted and are never
shed under load.
"""

from __future__ import annotations

import dataclasses
import json
import operator
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from . import edge
from .gating import ALLOW, Verdict
from .money import Money, MoneyError


class EventError(ValueError):
    """A wire event that cannot be accepted; the message names the field and the problem."""


@dataclass(frozen=True, slots=True)
class ViewerRef:
    """Who did it, as the platform knows them. ``(platform, id)`` is the identity."""

    platform: str
    id: str
    name: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.platform, self.id)

    def to_wire(self) -> dict[str, str]:
        return {"platform": self.platform, "id": self.id, "name": self.name}

    @classmethod
    def from_wire(cls, raw: Any, where: str = "viewer") -> ViewerRef | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise EventError(f"{where} must be an object with platform, id and name")
        platform, vid, name = raw.get("platform"), raw.get("id"), raw.get("name", "")
        if not isinstance(platform, str) or not platform:
            raise EventError(f"{where}.platform must be a non-empty string")
        if not isinstance(vid, str | int) or isinstance(vid, bool) or str(vid) == "":
            raise EventError(f"{where}.id must be a non-empty string")
        if not isinstance(name, str):
            raise EventError(f"{where}.name must be a string")
        return cls(platform, str(vid), name[:200])


def utcnow() -> datetime:
    return datetime.now(UTC)


EVENT_TYPES: dict[str, type[Event]] = {}
"""Wire name -> event class, for the built-in types. Plugins add theirs through the
``register_event_types`` hook; :class:`limelight.plugins.PluginHost` keeps the full table."""


@dataclass(kw_only=True, slots=True)
class Event:
    """Fields every event carries. Subclasses add their own data fields."""

    type: ClassVar[str] = ""
    money: ClassVar[bool] = False
    #: Chat display updates are shed first under overload; money events never are.
    sheddable: ClassVar[bool] = False

    #: Where it came from: a chat connector (``twitch``), a webhook provider (``kofi``),
    #: ``api``, ``simulate``.
    source: str
    #: The source's own id for it; ``(source, source_id)`` is unique, so a replayed
    #: delivery is recognised as a duplicate.
    source_id: str
    #: Who did it (``platform``, ``id``, ``name``); ``null`` when nobody did (stream went
    #: online) or the source does not say.
    viewer: ViewerRef | None = None
    #: When it happened (ISO 8601 with a time zone on the wire; now when left out).
    occurred_at: datetime = field(default_factory=utcnow)
    #: A simulated event: overlays and plugins show it, nothing durable is written.
    test: bool = False
    #: Event-log id, set by the bus once the event is accepted.
    id: int | None = None
    #: Plugins whose durable part (``record_events``) is still to be written; the core
    #: writes it again before their ``on_event``. Not on the wire.
    unrecorded: frozenset[str] = field(default=frozenset(), repr=False, compare=False)
    #: What each plugin's ``record_events`` returned for this event (``ctx.recorded``).
    recorded: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # No zero-argument super() here: slotted dataclasses replace the class object.
        if cls.type and cls.__module__ == __name__:
            EVENT_TYPES[cls.type] = cls

    @property
    def dedupe_key(self) -> tuple[str, str]:
        return (self.source, self.source_id)

    def note_recorded(self, plugin: str, value: Any) -> None:
        """Keep what ``plugin``'s ``record_events`` left for its ``on_event`` (core only)."""
        if self.recorded is None:
            self.recorded = {}
        self.recorded[plugin] = value

    # -- wire form -----------------------------------------------------------------------
    def data(self) -> dict[str, Any]:
        """The type-specific fields in wire form (money as major-unit strings)."""
        names = _wire_fields(type(self))
        out: dict[str, Any] = {}
        if not names:
            return out
        # Read every field at once (in C); most are plain and go on the wire as they are.
        values = _WIRE_READERS[names](self) if len(names) > 1 else (getattr(self, names[0]),)
        for name, value in zip(names, values, strict=True):
            kind = value.__class__  # class lookups, not isinstance: chat is a hot path
            if kind in _PLAIN:
                out[name] = value
            elif kind is tuple:  # badges, emotes: the common non-plain fields of chat
                out[name] = list(value)
            elif kind is frozenset:  # roles
                out[name] = sorted(value)
            else:
                out.update(_to_wire(name, value))
        return out

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "source": self.source,
            "source_id": self.source_id,
            "occurred_at": self.occurred_at.isoformat(),
            "test": self.test,
            "viewer": self.viewer.to_wire() if self.viewer else None,
            "data": self.data(),
        }

    @classmethod
    def from_data(cls, data: dict[str, Any], **base: Any) -> Event:
        """Build an event from its wire ``data`` plus the base fields; raises EventError."""
        if not isinstance(data, dict):
            raise EventError("data must be an object")
        hints = _hints(cls)
        kwargs: dict[str, Any] = {}
        known = {"currency"}
        for f in dataclasses.fields(cls):
            if f.name in _BASE_FIELDS or f.metadata.get("wire") is False:
                continue
            known.add(f.name)
            if f.name not in data:
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                    raise EventError(f"data.{f.name} is required for {cls.type}")
                continue
            value = _from_wire(f.name, data[f.name], hints[f.name], data)
            if cls.money:
                # Money events carry what was paid; refunds are their own entries, so a zero
                # or negative amount (or count of bits, gifts, months) on the wire is a mistake.
                if isinstance(value, Money) and value.minor <= 0:
                    raise EventError(f"data.{f.name} must be greater than zero")
                if isinstance(value, int) and not isinstance(value, bool) and value < 1:
                    raise EventError(f"data.{f.name} must be at least 1")
            kwargs[f.name] = value
        unknown = sorted(set(data) - known)
        if unknown:
            raise EventError(f"data has unknown field(s) for {cls.type}: {', '.join(unknown)}")
        return cls(**base, **kwargs)


_BASE_FIELDS = {
    "source",
    "source_id",
    "viewer",
    "occurred_at",
    "test",
    "id",
    "unrecorded",
    "recorded",
}
_HINT_CACHE: dict[type, dict[str, Any]] = {}
#: Values that go on the wire as they are (a subclass, an enum, takes ``_to_wire``'s path).
_PLAIN = frozenset({str, int, bool, type(None)})
_WIRE_READERS: dict[tuple[str, ...], Callable[[Any], tuple[Any, ...]]] = {}
_WIRE_FIELDS: dict[type, tuple[str, ...]] = {}


def _wire_fields(cls: type) -> tuple[str, ...]:
    """Names of the type-specific fields that go on the wire (cached: chat is a hot path)."""
    names = _WIRE_FIELDS.get(cls)
    if names is None:
        names = tuple(
            f.name
            for f in dataclasses.fields(cls)
            if f.name not in _BASE_FIELDS and f.metadata.get("wire") is not False
        )
        _WIRE_FIELDS[cls] = names
        if len(names) > 1:
            _WIRE_READERS[names] = operator.attrgetter(*names)
    return names


_compact_json = json.JSONEncoder(separators=(",", ":")).encode
#: ``json``'s own string encoder (in C): the text ``_compact_json`` writes for a string.
_json_str: Callable[[str], str] = json.encoder.encode_basestring_ascii
#: Distinct tuples and sets of strings whose JSON is remembered before a cache starts over.
JSON_MEMO = 4096


class _JsonMemo(dict[Any, str]):
    """The JSON array of a tuple (or a frozenset, sorted) of strings, by value: a chat's
    roles and badges repeat line after line, so most are encoded once. A value holding
    anything but strings raises ``TypeError`` (and is never stored), so two equal values
    always have the same text here."""

    __slots__ = ("_sort",)

    def __init__(self, sort: bool) -> None:
        super().__init__()
        self._sort = sort

    def __missing__(self, value: Any) -> str:
        items = sorted(value) if self._sort else value
        text = "[" + ",".join(map(_json_str, items)) + "]"
        if len(self) >= JSON_MEMO:
            self.clear()
        self[value] = text
        return text


#: The JSON text of a value of each class a chat line's fields hold, exactly as
#: ``_compact_json`` writes it (in :meth:`Event.data`'s form: a tuple as a list, a set
#: sorted); every other class (a float, a Money, a subclass) takes ``data()``'s path.
_JSON_PIECES: dict[type, Callable[[Any], str]] = {
    str: _json_str,
    bool: {False: "false", True: "true"}.__getitem__,
    int: int.__repr__,
    type(None): {None: "null"}.__getitem__,
    tuple: _JsonMemo(sort=False).__getitem__,
    frozenset: _JsonMemo(sort=True).__getitem__,
}
_json_piece = _JSON_PIECES.__getitem__


def _json_money(money: Money) -> str:
    """A ``Money`` field's text after its key: ``data()`` writes it as two keys, its own
    (the major-unit string) and ``currency`` (see ``_to_wire``)."""
    return f'{_json_str(money.to_wire())},"currency":{_json_str(money.currency)}'


#: Per event class: its generated :func:`data_json` encoder, or ``None`` when ``data()``
#: decides (a class with a ``data()`` of its own).
_JSON_ENCODERS: dict[type, Callable[[Any], str | None] | None] = {}
#: What a generated encoder's code refers to.
_ENCODER_NAMES: dict[str, Any] = {
    "_s": _json_str,
    "_i": int.__repr__,
    "_t": _JSON_PIECES[tuple],
    "_f": _JSON_PIECES[frozenset],
    "_p": _json_piece,
    "_m": _json_money,
    "Money": Money,
}


def _json_field(hint: Any, v: str) -> tuple[str, str]:
    """The check that ``v`` holds what its annotation ``hint`` says (``""``: none) and the
    expression of its JSON text, as ``_compact_json`` writes it in :meth:`Event.data`'s
    form. A value of any other class (a str subclass, a bool in an int field) fails the
    check and the event takes ``data()``'s path; a field of any other annotation is
    written by the piece for its value's class, or raises ``KeyError``/``TypeError``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is str:
        return f"type({v}) is str", f"_s({v})"
    if hint is bool:
        return f"type({v}) is bool", f'("true" if {v} else "false")'
    if hint is int:
        return f"type({v}) is int", f"_i({v})"
    if origin in (types.UnionType, typing.Union) and set(args) == {str, type(None)}:
        return f"({v} is None or type({v}) is str)", f'("null" if {v} is None else _s({v}))'
    if origin is tuple and args == (str, ...):
        return f"type({v}) is tuple", f"_t({v})"  # TypeError for a non-string item
    if origin is frozenset and args == (str,):
        return f"type({v}) is frozenset", f"_f({v})"
    if hint is Money:  # a tip's, a donation's amount
        return f"type({v}) is Money", f"_m({v})"
    return "", f"_p(type({v}))({v})"


def _json_encoder(cls: type) -> Callable[[Any], str | None] | None:
    """Generate ``cls``'s encoder for :func:`data_json`: it reads each wire field as an
    attribute, checks its class against the field's annotation and writes the object in
    one f-string, or returns ``None`` (then ``data()`` and ``json`` decide). Why
    generated: per chat line this is the event log's ``data`` column, and code written
    for the class's fields takes no per-value dispatch (a chat line's: 0.85 µs against
    1.9 - 2.1 µs for a template filled by a piece chosen by each value's class)."""
    if getattr(cls, "data", None) is not Event.data:
        return None
    names = _wire_fields(cls)
    hints = _hints(cls)
    money = [n for n in names if hints.get(n) is Money]
    if len(money) > 1 or (money and "currency" in names):
        return None  # two keys named "currency": data() keeps the last one's place
    reads, checks, pieces = [], [], []
    for i, name in enumerate(names):
        check, piece = _json_field(hints.get(name), f"v{i}")
        reads.append(f"    v{i} = event.{name}\n")
        if check:
            checks.append(check)
        pieces.append(f"{_json_str(name)}:{{{piece}}}")
    text = "{{" + ",".join(pieces) + "}}"
    source = (
        "def encode(event):\n"
        + "".join(reads)
        + f"    if {' and '.join(checks) or 'True'}:\n"
        + "        try:\n"
        + f"            return f'{text}'\n"
        + "        except (KeyError, TypeError):\n"
        + "            pass\n"
        + "    return None\n"
    )
    namespace = dict(_ENCODER_NAMES)
    exec(compile(source, f"<data_json of {cls.__name__}>", "exec"), namespace)
    encode: Callable[[Any], str | None] = namespace["encode"]
    encode.__qualname__ = f"data_json<{cls.__name__}>"
    return encode


def data_json(event: Event) -> str:
    """``event.data()`` as compact JSON (the event log's ``data`` column), the same text.

    Once per chat line at the log's flush: when every field holds what its annotation
    says (a string, an integer, a bool, ``None``, a tuple or frozenset of strings: all of
    a chat line's), the class's generated encoder (:func:`_json_encoder`) writes the text
    with no ``data()`` dict built and no encoder object made per call; the arrays of the
    roles and badges a chat repeats are remembered. Anything else goes through ``data()``
    and ``json``."""
    cls = event.__class__
    try:
        encode = _JSON_ENCODERS[cls]
    except KeyError:
        encode = _JSON_ENCODERS[cls] = _json_encoder(cls)
    if encode is not None:
        text = encode(event)
        if text is not None:
            return text
    return _compact_json(event.data())


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINT_CACHE:
        _HINT_CACHE[cls] = typing.get_type_hints(cls)
    return _HINT_CACHE[cls]


def _to_wire(name: str, value: Any) -> dict[str, Any]:
    if isinstance(value, Money):
        # One Money field per event, named "amount" on the wire with its "currency".
        return {name: value.to_wire(), "currency": value.currency}
    if isinstance(value, ViewerRef):
        return {name: value.to_wire()}
    if isinstance(value, datetime):
        return {name: value.isoformat()}
    if isinstance(value, frozenset | set):
        return {name: sorted(value)}
    if isinstance(value, tuple):
        return {name: list(value)}
    return {name: value}


def _from_wire(name: str, raw: Any, hint: Any, data: dict[str, Any]) -> Any:
    where = f"data.{name}"
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (types.UnionType, typing.Union):
        if raw is None and type(None) in args:
            return None
        hint = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Money:
        try:
            return Money.parse(raw, data.get("currency", ""), iso_only=True)
        except MoneyError as exc:
            raise EventError(f"{where}: {exc}") from None
    if hint is ViewerRef:
        return ViewerRef.from_wire(raw, where)
    if hint is datetime:
        try:
            value = edge.parse_time(raw)
        except edge.EdgeError as exc:
            raise EventError(f"{where} {exc}") from None
        if not edge.EARLIEST <= value <= edge.LATEST:
            raise EventError(f"{where} must lie between 2000-01-01 and 2100-01-01")
        return value
    if hint is bool:
        if not isinstance(raw, bool):
            raise EventError(f"{where} must be true or false")
        return raw
    if hint is int:
        if not isinstance(raw, int) or isinstance(raw, bool):
            raise EventError(f"{where} must be an integer")
        if abs(raw) > edge.MAX_INT:
            raise EventError(f"{where} is out of range (at most {edge.MAX_INT})")
        return raw
    if hint is str:
        if not isinstance(raw, str):
            raise EventError(f"{where} must be a string")
        return raw
    if origin in (frozenset, tuple, list):
        if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
            raise EventError(f"{where} must be a list of strings")
        return origin(raw)
    if origin is dict or hint is dict:
        if not isinstance(raw, dict):
            raise EventError(f"{where} must be an object")
        return raw
    return raw


# -- built-in event types ---------------------------------------------------------------------


@dataclass(kw_only=True, slots=True)
class ChatMessage(Event):
    """A chat line. ``roles`` uses the platform-neutral role names of the command framework."""

    type: ClassVar[str] = "chat.message"
    sheddable: ClassVar[bool] = True

    #: The line as typed.
    text: str
    #: The channel it was typed in (a platform may carry several).
    channel: str = ""
    #: Platform-neutral roles: ``subscriber``, ``vip``, ``moderator``, ``broadcaster``.
    roles: frozenset[str] = frozenset()
    #: The platform's badge names, as the platform sends them.
    badges: tuple[str, ...] = ()
    #: The viewer's first message in the channel.
    first: bool = False
    #: The platform id of the message this one answers.
    reply_to: str | None = None
    #: Bits cheered in this line (the cheer itself is a separate ``cheer`` event).
    bits: int = 0
    #: The viewer's name colour (``#rrggbb``), when the platform has one.
    color: str = ""
    #: Emotes the platform found in ``text``: ``"<start>-<end>:<image URL>"`` each, the
    #: positions in code points, inclusive (as Twitch's ``emotes`` tag counts them).
    emotes: tuple[str, ...] = ()
    #: The picture of each of ``badges``, in the same order (``""`` where unknown).
    badge_images: tuple[str, ...] = ()
    #: Said in a private place (the members' room): plugins, commands and the chat log
    #: see it, the public chat overlay does not.
    private: bool = False
    #: Set by the bus from the gating hook (allowed when no plugin gates chat); not part of
    #: the wire form.
    verdict: Verdict = field(default=ALLOW, compare=False, metadata={"wire": False})


@dataclass(kw_only=True, slots=True)
class ChatDeleted(Event):
    """Messages removed by a moderator: one ``message_id``, or every line of ``viewer``."""

    type: ClassVar[str] = "chat.deleted"

    #: The channel the lines were in.
    channel: str = ""
    #: The platform id of the one removed line; ``null`` removes every line of ``viewer``.
    message_id: str | None = None
    #: Lines of a private place (the members' room): the public chat overlay ignores it.
    private: bool = False


#: :attr:`Tip.kind` values that are purchases or memberships, not gifts.
PURCHASE_KINDS = frozenset({"shop_order", "subscription", "commission"})


@dataclass(kw_only=True, slots=True)
class Tip(Event):
    """Money a viewer sent the streamer through a tip provider (Ko-fi, Stripe, the API)."""

    type: ClassVar[str] = "tip"
    money: ClassVar[bool] = True

    #: What was paid, with ``currency`` (ISO 4217) beside it on the wire.
    amount: Money
    #: What the payer wrote (viewer text: shown as text, never as HTML).
    message: str = ""
    #: The payment provider (``kofi``, ``stripe``) when it is not the ``source``.
    provider: str = ""
    #: The payer asked not to be named.
    anonymous: bool = False
    #: What the provider calls it: ``donation``, ``subscription``, ``shop_order``, ``checkout``.
    kind: str = ""
    #: The membership plan a ``subscription`` payment is for, as the provider names it
    #: (Ko-fi's ``tier_name``); "" otherwise.
    plan: str = ""
    #: The provider's own time for it, as sent, when that was unreadable or outside
    #: 2000-01-01 .. now + 1 day (``occurred_at`` is then when it was received); else "".
    provider_time: str = ""
    #: A Ko-fi Shop Order's items, one string per unit: ``<direct_link_code>`` or
    #: ``<direct_link_code>:<variation_name>`` (the shop plugin matches them to its stock).
    shop_items: tuple[str, ...] = ()

    @property
    def is_gift(self) -> bool:
        """A gift (a tip, a donation), not a purchase or a membership payment (a Ko-fi Shop
        Order, a membership, a commission): only gifts count towards a fundraiser, a
        purchase rule or a supporter level. The money is in the ledger either way."""
        return self.kind not in PURCHASE_KINDS


@dataclass(kw_only=True, slots=True)
class Refund(Event):
    """Money given back. A new event (never an edit) that points at the money event it
    reverses by that event's ``source`` and ``source_id``; plugins undo what it granted."""

    type: ClassVar[str] = "refund"
    money: ClassVar[bool] = True

    #: How much was given back, with ``currency``.
    amount: Money
    #: ``source`` of the money event it reverses.
    original_source: str
    #: ``source_id`` of the money event it reverses.
    original_id: str
    #: Why, as the provider says it (``refunded``, ``chargeback``).
    reason: str = ""
    #: The provider's own time for it, as sent, when that was unreadable or outside
    #: 2000-01-01 .. now + 1 day (``occurred_at`` is then when it was received); else "".
    provider_time: str = ""


@dataclass(kw_only=True, slots=True)
class Cheer(Event):
    """Bits cheered in chat (Twitch); the amount is the number of bits, not a currency."""

    type: ClassVar[str] = "cheer"
    money: ClassVar[bool] = True

    #: How many bits.
    bits: int
    #: The chat line the bits came with.
    message: str = ""
    #: Cheered anonymously.
    anonymous: bool = False
    #: The cheermotes in ``message`` (``"Cheer100"``) as pictures: ``"<start>-<end>:<image
    #: URL>"`` each, like :attr:`ChatMessage.emotes`.
    emotes: tuple[str, ...] = ()


#: Twitch's sub tier ids as viewers say them.
SUB_TIERS = {"1000": "Tier 1", "2000": "Tier 2", "3000": "Tier 3", "prime": "Prime"}


def sub_tier_name(tier: str) -> str:
    """``1000`` -> ``Tier 1``, ``prime`` -> ``Prime``; another id as ``Tier <id>``; "" for
    none. One place, so the activity feed and the join page name a sub alike."""
    return SUB_TIERS.get(tier.lower(), tier and f"Tier {tier}")


@dataclass(kw_only=True, slots=True)
class Subscription(Event):
    """A new or renewed subscription; ``gifted`` with ``gifter`` when someone paid for it."""

    type: ClassVar[str] = "subscription"
    money: ClassVar[bool] = True

    #: The platform's tier id (Twitch: ``1000``, ``2000``, ``3000``, ``prime``).
    tier: str = "1000"
    #: Cumulative months subscribed.
    months: int = 1
    #: Someone else paid for it.
    gifted: bool = False
    #: Who paid for a gift (``null``: anonymous or not a gift).
    gifter: ViewerRef | None = None
    #: The resub message the viewer shared.
    message: str = ""
    #: ``source_id`` of the ``gift_bomb`` this gift belongs to: show one alert for the
    #: bomb, not one per gift (each gift is still its own event and ledger entry).
    gift_bomb: str | None = None


@dataclass(kw_only=True, slots=True)
class GiftBomb(Event):
    """Many gifted subscriptions at once: one alert, while each gift is still recorded."""

    type: ClassVar[str] = "gift_bomb"
    money: ClassVar[bool] = True

    #: How many subscriptions were gifted at once.
    count: int
    #: The tier of the gifted subscriptions.
    tier: str = "1000"
    #: Gifted anonymously.
    anonymous: bool = False


@dataclass(kw_only=True, slots=True)
class Donation(Event):
    """A charity donation (the money goes to the charity, not to the streamer)."""

    type: ClassVar[str] = "donation"
    money: ClassVar[bool] = True

    #: How much was donated, with ``currency``.
    amount: Money
    #: What the donor wrote.
    message: str = ""
    #: The fundraiser it counts towards, by the provider's id for it (Tiltify's or
    #: Twitch's campaign id; a charity campaign's id for a donation entered in the
    #: dashboard), not a name to show.
    campaign: str = ""
    #: The donor asked not to be named.
    anonymous: bool = False


@dataclass(kw_only=True, slots=True)
class MerchOrder(Event):
    """An order in the streamer's shop."""

    type: ClassVar[str] = "merch.order"
    money: ClassVar[bool] = True

    #: What was bought (the shop's item name or SKU).
    item: str
    #: What the buyer saw it called (the product's name at the provider), for what viewers
    #: read: alerts, the activity feed. Empty when the provider gave none: show ``item``.
    item_name: str = ""
    #: What the order paid, with ``currency``.
    amount: Money
    #: How many.
    quantity: int = 1
    #: The product variant (a size, a colour), when there is one.
    variant: str = ""
    #: The payment provider (``stripe``, ``fourthwall``, ``kofi``) when it is not the source.
    provider: str = ""
    #: The seller's reference for it: the shop's reservation code, when the buyer had one.
    reference: str = ""
    #: Bought as gifts for the stream's chat (a Fourthwall gift purchase): ``quantity`` is
    #: the number of gifts, which viewers win; nothing is shipped to the buyer.
    gift: bool = False


@dataclass(kw_only=True, slots=True)
class MerchRefund(Event):
    """Money of a shop order given back (the shop's own refunds, apart from tips' ``refund``)."""

    type: ClassVar[str] = "merch.refund"
    money: ClassVar[bool] = True

    #: What was given back, with ``currency``.
    amount: Money
    #: The ``source`` of the order it gives back.
    original_source: str
    #: The ``source_id`` of the order it gives back (or the provider's payment id).
    original_id: str
    #: Why, when the provider says.
    reason: str = ""
    #: The whole order is given back whatever ``amount`` says (a cancelled order): its
    #: units return to stock as with a refund of its whole price.
    full: bool = False


@dataclass(kw_only=True, slots=True)
class MembershipChanged(Event):
    """A paid membership (VIP, supporter tier) was granted, renewed, expired or revoked."""

    type: ClassVar[str] = "membership.changed"
    money: ClassVar[bool] = True

    #: The membership level (``vip``, a supporter tier's name).
    level: str
    #: What happened: ``granted``, ``renewed``, ``expired``, ``revoked``, ...
    status: str
    #: When it ends (``null``: never, or it just ended).
    expires_at: datetime | None = None
    #: The level as viewers read it (a tier's label, "Gold"); "" when it is ``level``.
    label: str = ""
    #: Whether it deserves a "new member" alert: false when the payment behind it had an
    #: alert of its own (a Twitch sub, a tip).
    alert: bool = True


@dataclass(kw_only=True, slots=True)
class Milestone(Event):
    """A goal reached a step: a fundraiser total, a challenge count."""

    type: ClassVar[str] = "milestone"

    #: Which goal (a fundraiser's or challenge's name).
    name: str
    #: Where it is now, in ``unit``.
    current: int = 0
    #: Where it is going, in ``unit``.
    target: int = 0
    #: What is counted: a currency code (then ``current`` and ``target`` are minor
    #: units), or a word such as ``pushups``.
    unit: str = ""


@dataclass(kw_only=True, slots=True)
class Raid(Event):
    """Another channel (``viewer``) ended its stream by sending its audience here."""

    type: ClassVar[str] = "raid"

    #: How many viewers the raid brought.
    viewers: int = 0


@dataclass(kw_only=True, slots=True)
class StreamOnline(Event):
    """The stream went live; per-stream totals (a "this stream" board) start here."""

    type: ClassVar[str] = "stream.online"

    #: The stream's title, when the platform says it.
    title: str = ""


@dataclass(kw_only=True, slots=True)
class StreamOffline(Event):
    """The stream ended."""

    type: ClassVar[str] = "stream.offline"


@dataclass(kw_only=True, slots=True)
class CustomEvent(Event):
    """An event type a plugin declared (``<plugin>.<name>``), carrying free-form data."""

    type: ClassVar[str] = ""
    custom_type: str
    payload: dict[str, Any] = field(default_factory=dict)

    def data(self) -> dict[str, Any]:
        return dict(self.payload)

    def to_wire(self) -> dict[str, Any]:
        wire = Event.to_wire(self)
        wire["type"] = self.custom_type
        return wire


@dataclass(kw_only=True, slots=True)
class MoneyCustomEvent(CustomEvent):
    """A plugin's own money event (declared ``EventType(name, money=True)``): committed with
    what every ``record_events`` writes for it before its sender is answered, like a tip.
    A subscription payment on a plugin's own Stripe endpoint is one."""

    money: ClassVar[bool] = True


def event_type_name(event: Event) -> str:
    return event.custom_type if isinstance(event, CustomEvent) else event.type
