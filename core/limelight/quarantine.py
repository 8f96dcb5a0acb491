"""The quarantine: money the server could not record, kept where the streamer sees it.

A delivery lands here when it can never be recorded as it is (see
:mod:`limelight.failures`): the database refuses one of its values, or a money plugin's
``record_events`` raises on it on the core's second attempt too. The provider is answered
422 with the reason, so it stops retrying; the entry keeps what the streamer needs to act
(provider, provider id, type, amount and currency, payer, the error, the raw delivery,
capped) and shows on the dashboard's Quarantine page. Event-log rows that cannot be read
back at startup land here too, so one bad row never stops a restart.

Each entry is keyed by ``(source, source_id)``: a retry of the same delivery updates it
(``attempts``, ``last_seen``) instead of adding another. An entry with an ``event_id``
points at an event-log row; the bus skips such rows when it replays at startup, and a
retry of the delivery is answered the same 422 without calling plugins again.

Every value written here is cleaned first (NUL bytes and lone surrogates escaped, lengths
capped): the quarantine must be able to keep exactly what the rest of the database
refused.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tortoise.exceptions import IntegrityError

from .db import in_transaction
from .failures import describe
from .models import EventRecord, QuarantineEntry

if TYPE_CHECKING:
    from .events import Event

log = logging.getLogger("limelight.quarantine")

#: How much of a delivery's raw body (characters) an entry keeps.
PAYLOAD_CAP = 16_000
ERROR_CAP = 1_000

STORE = "store"  # the event could not be stored
RECORD = "record"  # a money plugin could not write its rows for it
REPLAY = "replay"  # a stored row could not be read or handled at startup


def clean(value: object, limit: int) -> str:
    """``value`` as text any database takes: lone surrogates and NUL written as escapes
    (``\\ud83d``, ``\\x00``), cut to ``limit`` characters."""
    text = value if isinstance(value, str) else str(value)
    text = text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: A delivery's raw body as the quarantine keeps it: the text, or a function that makes it
#: (webhooks redact credentials from the body, which is worth doing only for the rare
#: delivery that is quarantined, not on every request).
Raw = bytes | str | Callable[[], str]


def _raw_text(raw: Raw) -> str:
    if callable(raw):
        raw = raw()
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "backslashreplace")
    return clean(raw, PAYLOAD_CAP)


def summary_of(event: Event) -> dict[str, str]:
    """What an entry shows of ``event``: type, amount, currency, payer."""
    out = {"type": event.type or type(event).__name__, "amount": "", "currency": "", "payer": ""}
    try:
        data = event.data()
    except Exception:  # a value that cannot even be shown: the payload still has it
        data = {}
    return {**out, **_money_and_payer(data), "payer": event.viewer.name if event.viewer else ""}


def _money_and_payer(data: Any) -> dict[str, str]:
    if not isinstance(data, dict):
        return {}
    out: dict[str, str] = {}
    if data.get("amount") is not None:
        out["amount"] = str(data["amount"])
        out["currency"] = str(data.get("currency") or "")
    elif data.get("bits") is not None:
        out["amount"], out["currency"] = str(data["bits"]), "BITS"
    return out


async def keep(
    *,
    source: str,
    source_id: str,
    stage: str,
    error: str,
    payload: str,
    type: str = "",
    amount: str = "",
    currency: str = "",
    payer: str = "",
    event_id: int | None = None,
    plugins: str = "",
) -> QuarantineEntry:
    """Add an entry, or update the one kept for the same ``(source, source_id)``. Raises
    when the database cannot take it (the caller answers 503: nothing is lost yet)."""
    now = datetime.now(UTC)
    key = {"source": clean(source, 80), "source_id": clean(source_id, 200)}
    values: dict[str, Any] = {
        "stage": clean(stage, 16),
        "error": clean(error, ERROR_CAP),
        "payload": clean(payload, PAYLOAD_CAP),
        "type": clean(type, 80),
        "amount": clean(amount, 40),
        "currency": clean(currency, 16),
        "payer": clean(payer, 200),
        "plugins": clean(plugins, 500),
        "last_seen": now,
    }
    for _ in range(2):  # a concurrent retry of the same delivery may create it first
        try:
            async with in_transaction():
                entry = await QuarantineEntry.filter(**key).first()
                if entry is None:
                    return await QuarantineEntry.create(
                        **{**key, **values, "event_id": event_id, "first_seen": now}
                    )
                entry.update_from_dict(values)
                entry.attempts += 1
                if event_id is not None:
                    entry.event_id = event_id
                await entry.save()
                return entry
        except IntegrityError:
            continue
    raise RuntimeError(f"could not keep {source}:{source_id} in the quarantine")


async def keep_event(
    event: Event,
    error: str,
    *,
    stage: str,
    plugins: str = "",
    raw: Raw | None = None,
) -> QuarantineEntry:
    """Keep ``event`` (and the raw delivery it came in, when there is one)."""
    if raw is not None:
        payload = _raw_text(raw)
    else:
        try:
            payload = json.dumps(event.to_wire(), default=str)
        except Exception:
            payload = repr(event)
    entry = await keep(
        source=event.source,
        source_id=event.source_id,
        stage=stage,
        error=error,
        payload=payload,
        event_id=event.id,
        plugins=plugins,
        **summary_of(event),
    )
    log.error(
        "%s %s:%s (%s %s from %s) cannot be recorded and is kept in the quarantine: %s",
        entry.type,
        entry.source,
        entry.source_id,
        entry.amount or "-",
        entry.currency,
        entry.payer or "nobody named",
        entry.error,
    )
    return entry


async def read_row(event_id: int) -> dict[str, str]:
    """The columns of event-log row ``event_id`` as plain text, read without the ORM's
    conversions (which are what fails on a damaged row): for the quarantine and for
    ``GET /api/events``. Empty when the row is gone or cannot be read even so."""
    conn = EventRecord._meta.db
    dialect = conn.capabilities.dialect
    table = EventRecord._meta.db_table
    names = ("type", "source", "source_id", "occurred_at", "viewer_name", "data", "test")
    if dialect == "sqlite":  # blobs: text SQLite cannot decode as UTF-8 still comes back
        cols = ", ".join(f"CAST({n} AS BLOB) AS {n}" for n in names)
        mark = "?"
    else:
        cols = ", ".join(f"CAST({n} AS TEXT) AS {n}" for n in names)
        mark = "$1"
    try:
        rows = await conn.execute_query_dict(
            f"SELECT {cols} FROM {table} WHERE id = {mark}", [event_id]
        )
    except Exception as exc:
        log.warning("event %s cannot be read even as text: %s", event_id, describe(exc))
        return {}
    if not rows:
        return {}
    out: dict[str, str] = {}
    for name, value in rows[0].items():
        if isinstance(value, bytes):
            value = value.decode("utf-8", "backslashreplace")
        out[name] = "" if value is None else clean(value, PAYLOAD_CAP)
    return out


async def keep_row(event_id: int, error: str) -> None:
    """Keep event-log row ``event_id``, which cannot be read or handled, as the
    quarantine's ``replay`` entry. Never raises: a server starting must not stop here."""
    row = await read_row(event_id)
    try:
        data = json.loads(row.get("data", ""))
    except ValueError:
        data = None
    try:
        await keep(
            source=row.get("source") or "?",
            source_id=row.get("source_id") or f"event-{event_id}",
            stage=REPLAY,
            error=error,
            payload=json.dumps(row) if row else "",
            type=row.get("type", ""),
            payer=row.get("viewer_name", ""),
            event_id=event_id,
            **_money_and_payer(data),
        )
    except Exception as exc:
        log.error("could not keep event %s in the quarantine: %s", event_id, describe(exc))
        return
    log.error("event %s cannot be replayed; kept in the quarantine: %s", event_id, error)


async def event_ids() -> set[int]:
    """Event-log rows that are in the quarantine (the startup replay skips them)."""
    ids = await QuarantineEntry.filter(event_id__isnull=False).values_list("event_id", flat=True)
    return {int(str(i)) for i in ids if i is not None}


async def entry_for(event_id: int) -> QuarantineEntry | None:
    return await QuarantineEntry.filter(event_id=event_id).first()


#: At most this many entries are listed at once (the newest).
LIST_MAX = 500


async def pending() -> list[QuarantineEntry]:
    """Entries the streamer has not dismissed, newest first."""
    query = QuarantineEntry.filter(dismissed_at__isnull=True)
    return await query.order_by("-last_seen", "-id").limit(LIST_MAX)


async def count_pending() -> int:
    return await QuarantineEntry.filter(dismissed_at__isnull=True).count()


async def dismiss(entry_id: int) -> bool:
    """The streamer dealt with it; it leaves the page (a retry still gets its 422)."""
    updated = await QuarantineEntry.filter(id=entry_id, dismissed_at__isnull=True).update(
        dismissed_at=datetime.now(UTC)
    )
    return bool(updated)


async def note_attempt(entry_id: int, error: str) -> None:
    """Another try failed (the dashboard's Try again): count it, keep the latest error."""
    entry = await QuarantineEntry.get_or_none(id=entry_id)
    if entry is not None:
        entry.attempts += 1
        entry.error = clean(error, ERROR_CAP)
        entry.last_seen = datetime.now(UTC)
        await entry.save()


async def release(entry_id: int) -> None:
    """Forget an entry whose event was recorded after all (the dashboard's Try again)."""
    await QuarantineEntry.filter(id=entry_id).delete()


__all__ = [
    "PAYLOAD_CAP",
    "QuarantineEntry",
    "clean",
    "count_pending",
    "dismiss",
    "entry_for",
    "event_ids",
    "keep",
    "keep_event",
    "keep_row",
    "note_attempt",
    "pending",
    "read_row",
    "release",
    "summary_of",
]
