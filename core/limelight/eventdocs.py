"""Render ``docs/events.md``, the reference of every built-in event type, from the models.

Why generated: the event classes in :mod:`limelight.events` are the contract of
``POST/GET /api/events``, of overlay messages and of ``on_event``; a hand-written list
would drift from them. Each field's description is its ``#:`` comment in ``events.py`` (or
``metadata={"doc": ...}`` on the field). ``tests/core/test_docs.py`` fails when the page
and the models disagree; regenerate it with::

    python -m limelight.eventdocs > docs/events.md
"""

from __future__ import annotations

import ast
import dataclasses
import inspect
import sys
import types
import typing
from collections.abc import Iterable
from datetime import datetime

from . import events
from .events import EVENT_TYPES, Event, ViewerRef
from .money import Money

#: Base fields that are on the wire outside ``data`` (or not on the wire at all).
_ENVELOPE = ("source", "source_id", "viewer", "occurred_at", "test")
_INTERNAL = {"id", "unrecorded", "recorded"}


def field_comments(module: types.ModuleType = events) -> dict[str, dict[str, str]]:
    """``{class name: {field name: description}}`` from the ``#:`` comments that precede
    each annotated field in the module's source (the Sphinx autodoc convention)."""
    source = inspect.getsource(module)
    lines = source.splitlines()
    out: dict[str, dict[str, str]] = {}
    for node in ast.parse(source).body:
        if not isinstance(node, ast.ClassDef):
            continue
        docs: dict[str, str] = {}
        for item in node.body:
            if not (isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)):
                continue
            comment: list[str] = []
            row = item.lineno - 2  # the line above, 0-based
            while row >= 0 and lines[row].strip().startswith("#:"):
                comment.insert(0, lines[row].strip()[2:].strip())
                row -= 1
            if comment:
                docs[item.target.id] = " ".join(comment)
        out[node.name] = docs
    return out


def describe(cls: type[Event], name: str, comments: dict[str, dict[str, str]]) -> str:
    """A field's description: ``metadata["doc"]``, else its ``#:`` comment in the class
    that declares it (base fields are described on :class:`Event`)."""
    for f in dataclasses.fields(cls):
        if f.name == name and f.metadata.get("doc"):
            return str(f.metadata["doc"])
    for klass in cls.__mro__:
        text = comments.get(klass.__name__, {}).get(name)
        if text:
            return text
    return ""


def wire_type(hint: object) -> str:
    """How a field's value is written in the JSON of ``data``."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        text = " or ".join(wire_type(a) for a in inner)
        return f"{text} or null" if len(inner) < len(args) else text
    if hint is Money:
        return 'decimal string in major units ("5.00"), with `currency`'
    if hint is ViewerRef:
        return "viewer object (`platform`, `id`, `name`)"
    if hint is datetime:
        return "ISO 8601 timestamp"
    if hint is bool:
        return "boolean"
    if hint is int:
        return "integer"
    if hint is str:
        return "string"
    if origin in (frozenset, set, tuple, list):
        return "list of strings"
    if origin is dict or hint is dict:
        return "object"
    return getattr(hint, "__name__", str(hint))


def default_text(f: dataclasses.Field[object]) -> str:
    """The default as it reads on the wire; ``required`` when there is none."""
    if f.default is not dataclasses.MISSING:
        value: object = f.default
    elif f.default_factory is not dataclasses.MISSING:
        return "now" if f.name == "occurred_at" else "empty"
    else:
        return "required"
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, str):
        return f'`"{value}"`' if value else '`""`'
    if isinstance(value, frozenset | set | tuple | list):
        return "`[]`" if not value else f"`{sorted(map(str, value))}`"
    return f"`{value}`"


def _row(
    cls: type[Event], f: dataclasses.Field[object], comments: dict[str, dict[str, str]]
) -> str:
    hints = typing.get_type_hints(cls)
    python = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    cells = [
        f"`{f.name}`",
        f"`{python}`".replace("|", "\\|"),
        wire_type(hints[f.name]),
        default_text(f),
        _markdown(describe(cls, f.name, comments)),
    ]
    return "| " + " | ".join(cells) + " |"


def data_fields(cls: type[Event]) -> list[dataclasses.Field[object]]:
    """The type-specific fields that go in ``data`` on the wire, in declaration order."""
    base = set(_ENVELOPE) | _INTERNAL
    return [
        f
        for f in dataclasses.fields(cls)
        if f.name not in base and f.metadata.get("wire") is not False
    ]


def _table(
    cls: type[Event],
    fields: Iterable[dataclasses.Field[object]],
    comments: dict[str, dict[str, str]],
) -> list[str]:
    out = [
        "| field | Python type | on the wire | default | description |",
        "| --- | --- | --- | --- | --- |",
    ]
    out += [_row(cls, f, comments) for f in fields]
    return out


def _doc(cls: type) -> str:
    text = inspect.getdoc(cls) or ""
    # A dataclass without a docstring gets a generated signature as its __doc__.
    return "" if text.startswith(f"{cls.__name__}(") else _markdown(" ".join(text.split()))


def _markdown(text: str) -> str:
    """Docstring and comment markup (reStructuredText literals) as Markdown table text."""
    return text.replace("``", "`").replace("|", "\\|")


def render() -> str:
    """The whole of ``docs/events.md``."""
    comments = field_comments()
    envelope = {f.name: f for f in dataclasses.fields(Event)}
    out = [
        "# Event reference",
        "",
        "<!-- Generated by `python -m limelight.eventdocs > docs/events.md` from",
        "     core/limelight/events.py; tests/core/test_docs.py fails when it is stale. -->",
        "",
        "Everything that happens on stream becomes one typed event. Plugins receive the",
        "classes (`from limelight import Tip`) in `on_event` and `record_events`; the admin",
        "API (`POST /api/events`, `GET /api/events`), `limelight simulate` and overlay pages",
        "use the wire form below. Money events are committed to the database before anyone is",
        "told they were accepted and are never shed under load; `chat.message` is shed first",
        "when a plugin falls behind.",
        "",
        "```json",
        '{"type": "tip", "test": false, "source": "api", "source_id": "abc-1",',
        ' "viewer": {"platform": "twitch", "id": "1234", "name": "Alice"},',
        ' "data": {"amount": "5.00", "currency": "USD", "message": "hi"}}',
        "```",
        "",
        'Amounts are integers in minor units inside (`Money(500, "USD")`) and decimal strings',
        "in major units on the wire, with the ISO 4217 code in `currency`. A field left out of",
        "`data` takes its default; a field that is not listed is refused with a 400 naming it.",
        "",
        "| type | class | money |",
        "| --- | --- | --- |",
    ]
    for name, cls in EVENT_TYPES.items():
        anchor = name.replace(".", "")  # GitHub's anchor for a "## `chat.message`" heading
        money = "yes" if cls.money else "no"
        out.append(f"| [`{name}`](#{anchor}) | `limelight.{cls.__name__}` | {money} |")
    out += [
        "",
        "## Fields every event has",
        "",
        "These are the envelope of the wire form (beside `type` and `data`); in Python they",
        "are attributes of every event. `id` is the event-log id the bus gives an accepted",
        "event (`null` on the way in).",
        "",
        *_table(Event, (envelope[n] for n in _ENVELOPE), comments),
        "",
    ]
    for name, cls in EVENT_TYPES.items():
        out += [f"## `{name}`", ""]
        traits = [f"`limelight.{cls.__name__}`"]
        traits.append("money event" if cls.money else "not money")
        if cls.sheddable:
            traits.append("shed first under load")
        out += [" · ".join(traits), ""]
        doc = _doc(cls)
        if doc:
            out += [doc, ""]
        fields = data_fields(cls)
        if fields:
            out += _table(cls, fields, comments)
        else:
            out.append("No fields beyond those every event has.")
        out.append("")
    out += [
        "## Event types plugins declare",
        "",
        "A plugin declares its own types with `register_event_types`",
        '(`EventType("<plugin>.<name>", money=..., description=...)`, see',
        "[hooks.md](hooks.md)). They arrive in `on_event` as `limelight.CustomEvent`:",
        "`event.custom_type` is the wire type and `event.payload` the free-form `data` object.",
        "",
    ]
    return "\n".join(out)


def main() -> None:
    sys.stdout.write(render())


if __name__ == "__main__":
    main()
