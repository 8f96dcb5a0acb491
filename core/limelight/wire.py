"""Events from their wire form (``POST /api/events``) and from the event log."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from . import edge
from .events import EVENT_TYPES, CustomEvent, Event, EventError, MoneyCustomEvent, ViewerRef

if TYPE_CHECKING:
    from .models import EventRecord
    from .plugins import PluginHost

MAX_ID = 200


def known_types(host: PluginHost | None) -> list[str]:
    names = set(EVENT_TYPES)
    if host is not None:
        names.update(t.name for t in host.event_types.values())
    return sorted(names)


def event_from_wire(
    payload: Any,
    host: PluginHost | None = None,
    *,
    default_source: str = "api",
    from_outside: bool = True,
) -> Event:
    """Validate a wire event; raises :class:`EventError` naming the offending field.

    ``from_outside`` (the API): every string is normalised (:mod:`limelight.edge`) and
    ``occurred_at`` must lie within 2000-01-01 .. now + 1 day. Events read back from the
    log (:func:`event_from_record`) were normalised when they came in."""
    if not isinstance(payload, dict):
        raise EventError("the body must be a JSON object")
    unknown = set(payload) - {
        "type",
        "test",
        "source",
        "source_id",
        "viewer",
        "data",
        "occurred_at",
        "id",
    }
    if unknown:
        raise EventError(f"unknown field(s): {', '.join(sorted(unknown))}")
    etype = payload.get("type")
    if not isinstance(etype, str) or not etype:
        raise EventError('type is required, e.g. "tip"')
    test = payload.get("test", False)
    if not isinstance(test, bool):
        raise EventError("test must be true or false")
    source = payload.get("source", default_source)
    if not isinstance(source, str) or not source or len(source) > 80:
        raise EventError("source must be a non-empty string of at most 80 characters")
    source_id = payload.get("source_id")
    if source_id is None:
        source_id = uuid.uuid4().hex
    if not isinstance(source_id, str) or not source_id or len(source_id) > MAX_ID:
        raise EventError(f"source_id must be a non-empty string of at most {MAX_ID} characters")
    viewer = ViewerRef.from_wire(payload.get("viewer"))
    occurred_at = _timestamp(payload.get("occurred_at"), sane=from_outside)
    data = payload.get("data", {})
    event = _build(etype, data, host, source, source_id, viewer, test, occurred_at)
    if not from_outside:
        return event
    try:
        return edge.clean_event(event)
    except edge.EdgeError as exc:
        raise EventError(str(exc)) from None


def _build(
    etype: str,
    data: Any,
    host: PluginHost | None,
    source: str,
    source_id: str,
    viewer: ViewerRef | None,
    test: bool,
    occurred_at: datetime,
) -> Event:
    cls = EVENT_TYPES.get(etype)
    if cls is not None:
        return cls.from_data(
            data,
            source=source,
            source_id=source_id,
            viewer=viewer,
            test=test,
            occurred_at=occurred_at,
        )
    if host is not None and etype in host.event_types:
        if not isinstance(data, dict):
            raise EventError("data must be an object")
        declared = host.event_types.get(etype)
        kind = MoneyCustomEvent if declared is not None and declared.money else CustomEvent
        return kind(
            custom_type=etype,
            payload=data,
            source=source,
            source_id=source_id,
            viewer=viewer,
            test=test,
            occurred_at=occurred_at,
        )
    raise EventError(f"unknown event type {etype!r}; known: {', '.join(known_types(host))}")


def _timestamp(raw: Any, *, sane: bool) -> datetime:
    if raw is None:
        return datetime.now(UTC)
    try:
        value = edge.parse_time(raw)
    except edge.EdgeError as exc:
        raise EventError(f"occurred_at {exc}") from None
    if sane and not edge.sane(value):
        raise EventError(
            "occurred_at must lie between 2000-01-01 and one day from now (leave it out for now)"
        )
    return value


def record_to_wire(record: EventRecord) -> dict[str, Any]:
    viewer = None
    if record.viewer_platform:
        viewer = {
            "platform": record.viewer_platform,
            "id": record.viewer_id,
            "name": record.viewer_name or "",
        }
    return {
        "id": record.id,
        "type": record.type,
        "source": record.source,
        "source_id": record.source_id,
        "occurred_at": record.occurred_at.isoformat(),
        "test": record.test,
        "viewer": viewer,
        "data": record.data,
    }


def event_from_record(record: EventRecord, host: PluginHost | None = None) -> Event:
    wire = record_to_wire(record)
    event = event_from_wire(wire, host, from_outside=False)
    event.id = record.id
    if record.unrecorded:
        event.unrecorded = frozenset(record.unrecorded.split(","))
    return event
