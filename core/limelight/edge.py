"""The edge: where text, times, keys and JSON from outside become Limelight's.

Why one module: a webhook payload, a chat line and an API event all end up in the same
event log and ledger, and a single bad string there (half an emoji, a NUL byte, a date in
year 9999) used to stop every later start of the server. Each door calls this one
normaliser as input enters — the webhook door (:mod:`limelight.web.webhooks`), the API
(:func:`limelight.wire.event_from_wire`), the chat sink every connector hands its lines to
— so what lies behind the doors may assume clean values.

The rules (docs/operations.md, "Limits on input"):

* **Text**: a lone surrogate (half an emoji) becomes U+FFFD; NUL and every other control
  character is removed, except newlines and tabs in multi-line fields (messages, chat
  text; ``\\r\\n`` and ``\\r`` become ``\\n``), where a single-line field (a name) reads them
  as a space. Then the text is capped: :data:`MAX_TEXT` characters for messages and chat
  lines, :data:`MAX_NAME` for names and every other string.
* **Keys** (``source_id``, viewer ids, a provider's derived keys): cleaned like text, and
  when longer than their column they are shortened *deterministically* (a prefix plus a
  hash of the whole, :func:`bounded_key`), so the same long id always gives the same key
  and dedupe still works.
* **Times**: parsed strictly (RFC 3339: ``2024-05-01T12:00:00Z``, a time zone offset, or
  none for UTC; Unix seconds where a provider sends numbers) and kept within
  :data:`EARLIEST` .. now + :data:`FUTURE_SLACK`. A provider's time outside that is
  replaced by the receive time and kept as sent (:func:`provider_time`); the admin API
  answers 400 instead.
* **JSON**: at most :data:`MAX_DEPTH` levels of nesting, no integer of thousands of digits;
  either is a 400, never a 500 (:func:`loads`).
* **Numbers** in events: integers within +-(2**53 - 1), what a browser overlay can show.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import operator
import re
import time
import types
import typing
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .events import Event

_E = TypeVar("_E", bound="Event")

#: Characters of a message, a tip's text or a chat line.
MAX_TEXT = 2000
#: Characters of a name and of every other short string (kind, reason, channel, ...).
MAX_NAME = 200
#: Characters of an event's ``source_id`` and of keys derived from provider ids.
MAX_ID = 200
#: Characters of an event's ``source`` (a plugin, connector or provider name).
MAX_SOURCE = 80
#: Characters of a viewer's ``platform`` and ``id`` (their columns' sizes).
MAX_PLATFORM = 40
MAX_VIEWER_ID = 100
#: Levels of nesting a JSON body may have (Ko-fi's and Stripe's real ones have fewer than 6).
MAX_DEPTH = 32
#: Largest integer an event may carry (bits, months, counts): what JavaScript holds exactly.
MAX_INT = 2**53 - 1
#: Times from outside are kept within [EARLIEST, now + FUTURE_SLACK].
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
#: Latest time an event's other date fields (a membership's end) may name.
LATEST = datetime(2100, 1, 1, tzinfo=UTC)

# Control characters (C0, DEL, C1) and surrogates; the multi-line form lets \t and \n pass.
_BAD_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_BAD_MULTI = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SPACES = re.compile("[\t\n\r]")
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})?"
)


class EdgeError(ValueError):
    """Input that cannot be taken in; the message names the part and the problem."""


# -- text ----------------------------------------------------------------------------------------


def clean_text(value: str, limit: int = MAX_NAME, *, multiline: bool = False) -> str:
    """``value`` as it may be stored and shown: see the module docstring for the rules."""
    bad = _BAD_MULTI if multiline else _BAD_LINE
    if len(value) <= limit and bad.search(value) is None:
        return value  # the common case: one scan, no copy
    if _SURROGATE.search(value) is not None:
        # Pairs written as two code points become the character they encode; a lone half
        # becomes U+FFFD.
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        value = _BAD_MULTI.sub("", value)
    else:
        value = _SPACES.sub(" ", value)
        value = _BAD_LINE.sub("", value)
    return value[:limit]


def bounded_key(value: str, limit: int = MAX_ID) -> str:
    """A key (an id, or one derived from ids) cleaned and at most ``limit`` characters.

    A longer key keeps its start and ends in ``~`` plus 16 hex digits of its SHA-256, so the
    same input always gives the same key (dedupe and refund links still match) and two
    long keys that differ anywhere stay different."""
    value = clean_text(value, len(value))
    if len(value) <= limit:
        return value
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:16]
    return value[: limit - 17] + "~" + digest


def same_secret(given: str, expected: str) -> bool:
    """Compare a secret from outside with ours in constant time; text with lone
    surrogates (``"\\ud800"``) or undecodable header bytes compares unequal instead of
    raising."""
    if not expected:
        return False
    return hmac.compare_digest(
        given.encode("utf-8", "surrogatepass"), expected.encode("utf-8", "surrogatepass")
    )


# -- time ----------------------------------------------------------------------------------------


def parse_time(raw: str) -> datetime:
    """An RFC 3339 timestamp (``2024-05-01T12:00:00Z``, ``...+02:00``; no zone = UTC), in
    UTC. Raises :class:`EdgeError` for anything else, or for one no calendar can hold
    (``0001-01-01T00:00:00+05:00`` is before year 1 in UTC)."""
    if not isinstance(raw, str) or len(raw) > 40 or not _RFC3339.fullmatch(raw):
        raise EdgeError("must be an ISO 8601 (RFC 3339) timestamp such as 2024-05-01T12:00:00Z")
    text = raw.upper().replace(" ", "T").replace("Z", "+00:00")
    if "." in text:  # Python takes at most 6 fractional digits
        head, _, rest = text.partition(".")
        digits = re.match(r"[0-9]+", rest)
        assert digits is not None
        text = head + "." + digits.group()[:6].ljust(6, "0") + rest[digits.end() :]
    try:
        value = datetime.fromisoformat(text)
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    except (ValueError, OverflowError):
        raise EdgeError("is not a date and time that exists") from None


def from_epoch(seconds: float) -> datetime:
    """Unix seconds as a UTC time; raises :class:`EdgeError` when no calendar holds it."""
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (ValueError, OverflowError, OSError):
        raise EdgeError("is not a Unix time that exists") from None


def sane(value: datetime, now: datetime | None = None) -> bool:
    """Whether ``value`` lies within [:data:`EARLIEST`, now + :data:`FUTURE_SLACK`]."""
    now = now or datetime.now(UTC)
    return EARLIEST <= value <= now + FUTURE_SLACK


def provider_time(raw: Any, received: datetime | None = None) -> tuple[datetime, str]:
    """A provider's time of an event: ``(time, "")`` when ``raw`` (RFC 3339 text or Unix
    seconds) is readable and sane, else ``(received, raw as sent)`` so the provider's value
    is kept in the event (``provider_time``) while the event counts from when it came."""
    received = received or datetime.now(UTC)
    if raw is None or raw == "":
        return received, ""
    try:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            value = from_epoch(raw)
        elif isinstance(raw, str):
            value = parse_time(raw)
        else:
            raise EdgeError("not a time")
    except EdgeError:
        value = None
    if value is not None and sane(value, received):
        return value, ""
    kept = raw if isinstance(raw, str) else json.dumps(raw)
    return received, clean_text(kept, 64)


# -- JSON ----------------------------------------------------------------------------------------


def loads(raw: bytes | str, where: str = "body") -> Any:
    """JSON from outside; raises :class:`EdgeError` with a message for anything that is not
    UTF-8 JSON of at most :data:`MAX_DEPTH` levels (the parser's own recursion error and
    its integer-size limit included, which used to surface as 500s)."""
    try:
        value = json.loads(raw)
    except UnicodeDecodeError:
        raise EdgeError(f"{where} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise EdgeError(f"{where} is not valid JSON: {exc.msg} at position {exc.pos}") from None
    except RecursionError:
        raise EdgeError(f"{where} is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # e.g. an integer of more than 4,300 digits
        raise EdgeError(f"{where} is not acceptable JSON: {exc}") from None
    if value.__class__ is dict and _NESTING.isdisjoint(map(type, value.values())):
        return value  # one flat object (the usual webhook body): one level, nothing to walk
    check_depth(value, where)
    return value


#: What nests in parsed JSON (``json.loads`` makes exactly these types).
_NESTING = frozenset((dict, list))


def check_depth(value: Any, where: str = "body", limit: int = MAX_DEPTH) -> None:
    """Raise :class:`EdgeError` when ``value`` nests deeper than ``limit`` (iterative: a
    deep value cannot exhaust the stack here)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            raise EdgeError(f"{where} is nested deeper than {limit} levels")
        stack.extend((child, depth + 1) for child in children)


def clean_json(value: Any, where: str, depth: int = 0) -> Any:
    """Free-form JSON data from outside (a plugin event's payload) with every string and key
    cleaned, integers bounded and nesting limited."""
    if depth > MAX_DEPTH:
        raise EdgeError(f"{where} is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        return clean_text(value, MAX_TEXT, multiline=True)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return value
    if isinstance(value, int):
        return _bounded_int(value, where)
    if isinstance(value, dict):
        return {
            clean_text(str(k), MAX_NAME): clean_json(v, f"{where}.{k}", depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [clean_json(v, where, depth + 1) for v in value]
    return value


def _bounded_int(value: int, where: str) -> int:
    if not -MAX_INT <= value <= MAX_INT:
        raise EdgeError(f"{where} is out of range (at most {MAX_INT})")
    return value


# -- events --------------------------------------------------------------------------------------

#: Multi-line fields, capped at MAX_TEXT; every other string field is single-line MAX_NAME.
TEXT_FIELDS = frozenset({"text", "message"})
#: Key fields, shortened by bounded_key rather than cut.
KEY_FIELDS = {
    "source": MAX_SOURCE,
    "source_id": MAX_ID,
    "original_source": MAX_SOURCE,
    "original_id": MAX_ID,
    "reply_to": MAX_ID,
    "message_id": MAX_ID,
    "gift_bomb": MAX_ID,
}
_SKIP = frozenset({"id", "unrecorded", "recorded", "verdict", "test", "custom_type"})
_Cleaner = Callable[[Any, str], Any]
_PLANS: dict[type, _Plan] = {}


def clean_viewer(viewer: Any, where: str = "viewer") -> Any:
    """A :class:`~limelight.events.ViewerRef` with its platform and id bounded (their
    columns hold 40 and 100 characters) and its name cleaned."""
    if viewer is None:
        return None
    platform, vid, name = viewer.platform, viewer.id, viewer.name
    if (
        len(platform) <= MAX_PLATFORM
        and len(vid) <= MAX_VIEWER_ID
        and len(name) <= MAX_NAME
        and (
            ((joined := platform + vid + name).isascii() and joined.isprintable())
            or _BAD_LINE.search(joined) is None
        )
    ):
        return viewer  # the common case: one scan, no copy
    return type(viewer)(
        bounded_key(platform, MAX_PLATFORM),
        bounded_key(vid, MAX_VIEWER_ID),
        clean_text(name, MAX_NAME),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class _Plan:
    """How to clean one event class: its string fields (read at once, checked with one
    scan in the common case) and the cleaners of its other fields."""

    read: Callable[[Any], tuple[Any, ...]]
    #: ``(name, limit, multiline, key)`` of each string field, in ``read``'s order.
    strings: tuple[tuple[str, int, bool, bool], ...]
    #: Fields holding several strings (roles, badges), read at once by ``read_many``.
    many: tuple[str, ...]
    read_many: Callable[[Any], tuple[Any, ...]]
    others: tuple[tuple[str, _Cleaner], ...]
    #: The smallest limit of the string fields not in ``short``; ``short`` holds
    #: ``(index in read's order, limit)`` of those with a smaller one.
    common_limit: int = MAX_NAME
    short: tuple[tuple[int, int], ...] = ()
    #: The common case's whole check (``True``: nothing to clean) for a class whose other
    #: fields are only viewers and integers; ``None`` for the others.
    fine: Callable[[Any], bool] | None = None


def clean_event(event: _E, *, now: datetime | None = None) -> _E:
    """Normalise every outside value ``event`` carries, in place, and return it.

    Strings are cleaned and capped (multi-line for ``text`` and ``message``), keys bounded,
    the viewer (and a gifter) cleaned, integers bounded, a plugin event's payload cleaned
    as JSON. ``occurred_at`` is made UTC (a naive one is taken as UTC), and outside the
    sane range it becomes the receive time (the providers keep the raw value themselves;
    this is the backstop for any other door); another date outside [:data:`EARLIEST`,
    :data:`LATEST`] raises :class:`EdgeError`. Why UTC: SQLite stores a time as the text
    of its own offset and compares those texts, so one time in ``+02:00`` among UTC ones
    sorts and filters (a dashboard's "since", an export's order) two hours off.

    Chat lines pass here one by one, so the common case (nothing to clean) is one check
    over all the string fields together (:func:`_fine_check`), with no field visited
    twice; anything it does not vouch for takes the field-by-field path below."""
    plan = _PLANS.get(type(event))
    if plan is None:
        plan = _PLANS[type(event)] = _plan(type(event))
    if now is None and plan.fine is not None and plan.fine(event):
        return event
    values = plan.read(event)
    try:
        joined = "".join(filter(None, values))
    except TypeError:  # a field that should hold text holds something else
        joined = "\x00"
    # Printable ASCII (most chat) needs no regular expression at all.
    suspect = not (joined.isascii() and joined.isprintable()) and (
        _BAD_LINE.search(joined) is not None
    )
    if not suspect and len(joined) <= plan.common_limit:
        # Clean and short: only the fields with a smaller limit (``source``) can be too long.
        for i, limit in plan.short:
            value = values[i]
            if value.__class__ is str and len(value) > limit:
                break
        else:
            values = ()
    for value, (name, limit, multiline, key) in zip(values, plan.strings, strict=False):
        if value.__class__ is not str or not (suspect or len(value) > limit):
            continue
        if key:
            cleaned = bounded_key(value, limit)
        else:
            cleaned = clean_text(value, limit, multiline=multiline)
        if cleaned is not value:
            setattr(event, name, cleaned)
    if plan.many:
        try:
            joined = "".join(map("".join, plan.read_many(event)))
            fine = joined.isascii() and joined.isprintable() and len(joined) <= MAX_NAME
        except TypeError:
            fine = False
        if not fine:
            for name in plan.many:
                value = getattr(event, name)
                cleaned = _strings(value, name)
                if cleaned is not value:
                    setattr(event, name, cleaned)
    for name, cleaner in plan.others:
        value = getattr(event, name)
        cleaned = cleaner(value, name)
        if cleaned is not value:
            setattr(event, name, cleaned)
    when = event.occurred_at
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    elif when.tzinfo is not UTC:
        when = when.astimezone(UTC)
    event.occurred_at = when if sane(when, now) else now or datetime.now(UTC)
    return event


def _plan(cls: type) -> _Plan:
    """Which cleaner each field of ``cls`` needs, by its declared type (cached per class)."""
    hints = typing.get_type_hints(cls)
    strings: list[tuple[str, int, bool, bool]] = []
    many: list[str] = []
    others: list[tuple[str, _Cleaner]] = []
    for f in dataclasses.fields(cls):
        if f.name in _SKIP or f.name == "occurred_at":
            continue
        kind = _kind(hints.get(f.name))
        if f.name in KEY_FIELDS:
            strings.append((f.name, KEY_FIELDS[f.name], False, True))
        elif f.name in TEXT_FIELDS:
            strings.append((f.name, MAX_TEXT, True, False))
        elif kind is str:
            strings.append((f.name, MAX_NAME, False, False))
        elif kind is int:
            others.append((f.name, _bounded_field))
        elif kind is dict:
            others.append((f.name, lambda v, n: clean_json(v, f"data.{n}")))
        elif kind in (frozenset, tuple, list):
            many.append(f.name)
        elif kind is datetime:
            others.append((f.name, _date))
        elif getattr(kind, "__name__", "") == "ViewerRef":
            others.append((f.name, clean_viewer))
    common = min([s[1] for s in strings if s[1] >= MAX_NAME], default=MAX_NAME)
    read = _reader([s[0] for s in strings])
    short = tuple((i, s[1]) for i, s in enumerate(strings) if s[1] < common)
    fine = None
    if strings and all(c in (clean_viewer, _bounded_field) for _, c in others):
        fine = _fine_check(
            [s[0] for s in strings],
            common,
            short,
            many,
            [n for n, c in others if c is clean_viewer],
            [n for n, c in others if c is _bounded_field],
        )
    return _Plan(
        read, tuple(strings), tuple(many), _reader(many), tuple(others), common, short, fine
    )


def _fine_check(
    strings: list[str],
    common_limit: int,
    short: tuple[tuple[int, int], ...],
    many: list[str],
    viewers: list[str],
    ints: list[str],
) -> Callable[[Any], bool]:
    """A function telling whether :func:`clean_event` would leave an event as it is,
    checked at once: every string field (and each string of the tuple and set fields)
    clean and short, the viewers clean, the integers bounded, ``occurred_at`` in UTC and
    sane. ``False`` is not a verdict, only "look field by field". Why: a chat line is
    nearly always clean, and this is the whole of its edge check, so every field is read
    in one go and nothing is called per field."""
    from .events import ViewerRef  # a class's first clean: events is loaded by then

    read = operator.attrgetter(*strings, *many, *viewers, *ints, "occurred_at")
    n_strings = len(strings)
    end_many = n_strings + len(many)
    end_viewers = end_many + len(viewers)
    #: What may be remembered as clean: values that cannot change.
    immutable = frozenset({tuple, frozenset, ViewerRef})

    def fine(event: Any) -> bool:
        values = read(event)
        texts = values[:n_strings]
        try:
            joined = "".join(filter(None, texts))
        except TypeError:  # a field that should hold text holds something else
            return False
        if len(joined) > common_limit:
            return False
        for i, limit in short:
            value = texts[i]
            if value is not None and len(value) > limit:
                return False
        if not (joined.isascii() and joined.isprintable()) and (
            _BAD_LINE.search(joined) is not None
        ):
            return False
        # ``known`` holds each value it names, so an id in it is that very object: no
        # other live object can have its id.
        known = _KNOWN_CLEAN
        for value in values[n_strings:end_many]:  # the tuples and sets of strings
            if id(value) in known:
                continue
            try:
                listed = "".join(value)
            except TypeError:
                return False
            if len(listed) > MAX_NAME or not (listed.isascii() and listed.isprintable()):
                return False
            _known_clean(value, immutable)
        for viewer in values[end_many:end_viewers]:
            if viewer is None or id(viewer) in known:
                continue
            if clean_viewer(viewer) is not viewer:
                return False
            _known_clean(viewer, immutable)
        for number in values[end_viewers:-1]:
            if number.__class__ is not int or not -MAX_INT <= number <= MAX_INT:
                return False
        when = values[-1]
        if when is _SANE_LAST[0]:  # the time of the line before (a flood shares them)
            return True
        if when.tzinfo is UTC and EARLIEST <= when <= _sane_until():
            _SANE_LAST[0] = when
            return True
        return False

    return fine


#: Values of the tuple, set and viewer fields found clean lately, by ``id`` (each held, so
#: its id cannot be another object's): a chat repeats its viewers, badges and roles line
#: after line (the Twitch mapper hands out the same objects), so most are checked once.
_KNOWN_CLEAN: dict[int, Any] = {}
KNOWN_CLEAN = 4096


def _known_clean(value: Any, immutable: frozenset[type]) -> None:
    """Remember ``value`` as clean when it cannot change (a tuple, a frozenset, a viewer)."""
    if value.__class__ in immutable:
        known = _KNOWN_CLEAN
        if len(known) >= KNOWN_CLEAN:
            known.clear()
        known[id(value)] = value  # held here, so its id names no other object


#: ``(time.time() then, that time + FUTURE_SLACK)``: the latest sane time of a second ago.
_SANE_UNTIL: list[Any] = [-1.0, EARLIEST]
#: The ``occurred_at`` object the fine check last found sane: in a flood, lines sent in the
#: same millisecond carry one time object (the Twitch mapper shares it), and a time found
#: sane stays sane as the clock moves on. Held here, so ``is`` names that very object.
_SANE_LAST: list[Any] = [None]


def _sane_until() -> datetime:
    """At most now + :data:`FUTURE_SLACK`, recomputed once a second (or when the clock went
    back): a time it admits, :func:`sane` admits too; one past it is checked exactly."""
    cached = _SANE_UNTIL
    now = time.time()
    if not cached[0] <= now < cached[0] + 1.0:
        cached[0] = now
        cached[1] = datetime.fromtimestamp(now, UTC) + FUTURE_SLACK
    until: datetime = cached[1]
    return until


def _reader(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """A function reading ``names`` of an event as a tuple (``attrgetter``, in C)."""
    if not names:
        return lambda event: ()
    getter = operator.attrgetter(*names)
    return getter if len(names) > 1 else (lambda event: (getter(event),))


def _kind(hint: Any) -> Any:
    """The class a field holds: ``str`` for ``str | None``, ``dict`` for ``dict[str, Any]``."""
    if typing.get_origin(hint) in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        hint = args[0] if len(args) == 1 else None
    return typing.get_origin(hint) or hint


def _bounded_field(value: Any, name: str) -> Any:
    if value.__class__ is int and -MAX_INT <= value <= MAX_INT:
        return value
    return _bounded_int(value, f"data.{name}") if isinstance(value, int) else value


def _strings(value: Any, name: str) -> Any:
    if not value:
        return value
    try:
        if _BAD_LINE.search("".join(value)) is None and max(map(len, value)) <= MAX_NAME:
            return value
    except TypeError:
        pass
    cleaned = [clean_text(v, MAX_NAME) if isinstance(v, str) else v for v in value]
    if all(a is b for a, b in zip(cleaned, value, strict=True)):
        return value
    return type(value)(cleaned)


def _date(value: Any, name: str) -> Any:
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if not EARLIEST <= value <= LATEST:
        raise EdgeError(f"data.{name} must lie between 2000-01-01 and 2100-01-01")
    return value


__all__ = [
    "EARLIEST",
    "FUTURE_SLACK",
    "LATEST",
    "MAX_DEPTH",
    "MAX_ID",
    "MAX_INT",
    "MAX_NAME",
    "MAX_TEXT",
    "EdgeError",
    "bounded_key",
    "check_depth",
    "clean_event",
    "clean_json",
    "clean_text",
    "from_epoch",
    "loads",
    "parse_time",
    "provider_time",
    "same_secret",
    "sane",
]
