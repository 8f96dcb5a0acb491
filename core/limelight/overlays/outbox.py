"""The durable outbox: every alert an overlay should show, with an id, until it is old.

Real alerts are rows of :class:`limelight.models.OverlayAlert`, committed before they are
sent, so a browser source that reloads, freezes or was closed gets them on reconnect and a
server restart loses none. Test alerts (DESIGN section 2: test events write no persistent
state) live in memory only; they have negative ids so they can never collide with or
advance a page's resume point.

Replay policy, for a page that connects with ``since=<last id it showed>``:

* every alert after ``since`` younger than ``[overlays] replay_max_age`` is sent again, in
  order, including alerts another page already showed (each page gets everything);
* a page with no ``since`` (a brand-new browser source) gets only the alerts nobody has
  shown yet that are younger than the limit, so adding a source never replays old alerts;
* older alerts are not replayed: the page is told how many expired (``hello.expired``) and
  the streamer can replay any of them from the dashboard's history;
* skipped and cleared alerts are never replayed;
* test alerts replay only within ``[overlays] test_replay_max_age`` (seconds): a test sent
  while OBS was closed does not play minutes later when it opens.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from ..db import Encoded, insert_rows
from ..models import OverlayAlert

log = logging.getLogger("limelight.overlays")

QUEUED, SHOWN, SKIPPED, CLEARED = "queued", "shown", "skipped", "cleared"
#: Most alerts one reconnect replays; a page that missed more gets the newest ones.
REPLAY_LIMIT = 500
#: Test alerts kept in memory per overlay.
TEST_KEEP = 500
#: Seconds one replay reading is shared by pages connecting meanwhile (while the outbox
#: does not change); the replay window moves on, so not longer.
REPLAY_SHARE = 1.0
#: Most shared readings kept at once.
REPLAY_READINGS = 256


#: One encoder for every message: ``json.dumps`` with options builds a new one per call.
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def dumps(message: dict[str, Any]) -> str:
    """The one JSON form of every message a page gets."""
    return _encode(message)


def _string(text: str) -> str:
    """A string as :func:`dumps` encodes it inside a message."""
    return _encode(text)


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class OutboxAlert:
    """One alert as the outbox and the pages see it."""

    id: int
    overlay: str
    kind: str
    data: dict[str, Any]
    variation: dict[str, Any] | None
    duration_ms: int
    created_at: datetime
    test: bool = False
    status: str = QUEUED
    event_id: int | None = None
    replay_of: int | None = None
    #: The newest real alert id when a test alert was made: orders it among real ones.
    after: int = 0
    duplicate: bool = False
    #: ``data`` and ``variation`` as :func:`dumps` encodes them, when the alert was made
    #: with them encoded (a batch's alerts, :meth:`OverlayService.alerts`): its row and
    #: its wire text reuse them instead of encoding the same dicts again.
    data_json: str | None = None
    variation_json: str | None = None

    def sort_key(self) -> tuple[int, int, int]:
        if self.id > 0:
            return (self.id, 0, 0)
        return (self.after, 1, -self.id)

    def to_wire(self) -> dict[str, Any]:
        return {
            "type": "alert",
            "id": self.id,
            "overlay": self.overlay,
            "kind": self.kind,
            "data": self.data,
            "variation": self.variation,
            "duration_ms": self.duration_ms,
            "test": self.test,
            "created_at": self.created_at.isoformat(),
            "replay_of": self.replay_of,
        }

    def wire_text(self) -> str:
        """``dumps(self.to_wire())``: built around the encoded ``data`` and ``variation``
        when the alert has them (the same text, character for character), else encoded."""
        data, variation = self.data_json, self.variation_json
        if data is None or variation is None:
            return dumps(self.to_wire())
        return (
            f'{{"type":"alert","id":{self.id!r},"overlay":{_string(self.overlay)},'
            f'"kind":{_string(self.kind)},"data":{data},"variation":{variation},'
            f'"duration_ms":{self.duration_ms!r},"test":{"true" if self.test else "false"},'
            f'"created_at":{_string(self.created_at.isoformat())},'
            f'"replay_of":{"null" if self.replay_of is None else repr(self.replay_of)}}}'
        )

    def to_json(self) -> dict[str, Any]:
        """The dashboard's view (with the status)."""
        wire = self.to_wire()
        wire.pop("type")
        wire["status"] = self.status
        return wire

    @classmethod
    def from_row(cls, row: OverlayAlert) -> OutboxAlert:
        created = row.created_at
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        return cls(
            id=row.id,
            overlay=row.overlay,
            kind=row.kind,
            data=row.data or {},
            variation=row.variation,
            duration_ms=row.duration_ms,
            created_at=created,
            status=row.status,
            event_id=row.event_id,
            replay_of=row.replay_of,
        )


class Outbox:
    """Stores alerts, answers replays, records acks and queue-control decisions."""

    def __init__(
        self, replay_max_age: float, history_days: int = 30, *, test_max_age: float | None = None
    ) -> None:
        self.replay_max_age = replay_max_age
        #: Test alerts replay only this young (seconds): a page opened later must not
        #: play tests made long before it, back to back.
        self.test_max_age = min(
            replay_max_age, replay_max_age if test_max_age is None else test_max_age
        )
        self.history_days = history_days
        self.last_real_id = 0
        self._test_ids = itertools.count(1)
        self._tests: dict[str, deque[OutboxAlert]] = {}
        #: Ids already marked shown, so ten pages acking one alert write once.
        self._acked: deque[int] = deque(maxlen=4096)
        self._acked_set: set[int] = set()
        #: Bumped by every change (see ``changed``); a shared replay reading is only
        #: reused within one generation.
        self.generation = 0
        self._replays: dict[
            tuple[str, int | None, int | None, int],
            tuple[float, asyncio.Future[tuple[list[str], int]]],
        ] = {}
        #: Each overlay's replayable alerts as sent (``to_wire`` serialised once): every
        #: page that gets an alert, live or replayed, holds this one string, so a thousand
        #: reconnecting pages cost a thousand references, not a thousand copies.
        self._wire: dict[str, dict[int, tuple[datetime, str]]] = {}

    async def start(self) -> None:
        newest = await OverlayAlert.all().order_by("-id").first()
        self.last_real_id = newest.id if newest is not None else 0
        cutoff = utcnow() - timedelta(days=self.history_days)
        # The newest row always stays: SQLite would otherwise reuse its id, and pages
        # resume by id.
        pruned = await OverlayAlert.filter(created_at__lt=cutoff, id__lt=self.last_real_id).delete()
        if pruned:
            log.info("removed %d overlay alert(s) older than %d days", pruned, self.history_days)

    # -- adding ---------------------------------------------------------------------------

    async def add(
        self,
        overlay: str,
        kind: str,
        data: dict[str, Any],
        variation: dict[str, Any] | None,
        duration_ms: int,
        *,
        test: bool = False,
        event_id: int | None = None,
        replay_of: int | None = None,
    ) -> OutboxAlert:
        """Store one alert (committed when real); an alert already stored for the same
        event, overlay and kind is returned instead with ``duplicate`` set. Alerts written
        in a bus transaction go through :meth:`add_staged` instead."""
        now = utcnow()
        if test:
            alert = OutboxAlert(
                id=-next(self._test_ids),
                overlay=overlay,
                kind=kind,
                data=data,
                variation=variation,
                duration_ms=duration_ms,
                created_at=now,
                test=True,
                event_id=event_id,
                replay_of=replay_of,
                after=self.last_real_id,
            )
            self._tests.setdefault(overlay, deque(maxlen=TEST_KEEP)).append(alert)
            self.changed()
            return alert
        row = OverlayAlert(
            overlay=overlay,
            kind=kind,
            data=data,
            variation=variation,
            duration_ms=duration_ms,
            created_at=now,
            event_id=event_id,
            replay_of=replay_of,
        )
        try:
            await row.save()
        except IntegrityError:
            existing = await OverlayAlert.get_or_none(overlay=overlay, event_id=event_id, kind=kind)
            if existing is None:
                raise
            alert = OutboxAlert.from_row(existing)
            alert.duplicate = True
            return alert
        self.last_real_id = max(self.last_real_id, row.id)
        self.changed()
        return OutboxAlert.from_row(row)

    async def add_staged(self, conn: BaseDBAsyncClient, alerts: list[OutboxAlert]) -> None:
        """Store real alerts in the caller's transaction (``conn``) with one insert and
        give each its id; the transaction's commit makes them real (then
        :meth:`committed` moves ``last_real_id``). A conflict raises, since it cannot be
        read back in a failed transaction."""
        rows = [
            {
                "overlay": a.overlay,
                "kind": a.kind,
                "data": a.data if a.data_json is None else Encoded(a.data_json),
                "variation": (
                    a.variation if a.variation_json is None else Encoded(a.variation_json)
                ),
                "duration_ms": a.duration_ms,
                "created_at": a.created_at,
                "event_id": a.event_id,
                "replay_of": a.replay_of,
            }
            for a in alerts
        ]
        for alert, new_id in zip(alerts, await insert_rows(conn, OverlayAlert, rows), strict=True):
            alert.id = new_id

    # -- reading --------------------------------------------------------------------------

    def wire(self, alert: OutboxAlert) -> str:
        """``alert`` as pages get it, serialised once and shared (see ``_wire``)."""
        texts = self._wire.setdefault(alert.overlay, {})
        cached = texts.get(alert.id)
        if cached is not None:
            return cached[1]
        text = alert.wire_text()
        texts[alert.id] = (alert.created_at, text)
        if len(texts) > REPLAY_LIMIT + TEST_KEEP + 64:
            self._prune_wire(alert.overlay)
        return text

    def _prune_wire(self, overlay: str) -> None:
        """Keep what a replay can still send: young enough, and the newest ones (real ids
        grow, test ids shrink: both are kept by how new they are)."""
        cutoff = utcnow() - timedelta(seconds=self.replay_max_age)
        texts = self._wire.get(overlay, {})
        young = [i for i, (at, _) in texts.items() if at >= cutoff]
        real = sorted(i for i in young if i > 0)[-REPLAY_LIMIT:]
        tests = sorted(i for i in young if i < 0)[:TEST_KEEP]
        self._wire[overlay] = {i: texts[i] for i in (*tests, *real)}

    def changed(self) -> None:
        """An alert was added, committed, shown, skipped or cleared: replays read afresh."""
        self.generation += 1
        self._replays.clear()

    def committed(self, alert: OutboxAlert) -> None:
        """An alert written in a bus transaction is on disk."""
        self.last_real_id = max(self.last_real_id, alert.id)
        self.changed()

    async def replay(
        self, overlay: str, since: int | None, limit: int | None = None
    ) -> tuple[list[str], int]:
        """What a page connecting with ``since`` must be sent, in order (the shared wire
        texts, at most ``limit`` of the newest), and how many alerts it missed that are too
        old to replay.

        Pages that connect together (every source after a restart or a network blip) share
        one reading while nothing changed in the outbox, so a thousand reconnects cost a
        few queries, not two thousand in the database's queue ahead of everything else."""
        key = (overlay, since, limit, self.generation)
        now = asyncio.get_running_loop().time()
        shared = self._replays.get(key)
        if shared is not None and now - shared[0] < REPLAY_SHARE:
            return await asyncio.shield(shared[1])
        future = asyncio.ensure_future(self._read_replay(overlay, since, limit))
        if len(self._replays) >= REPLAY_READINGS:  # (each page may ask for its own since)
            self._replays.clear()
        self._replays[key] = (now, future)
        try:
            return await asyncio.shield(future)
        finally:
            if future.done() and future.exception() is not None:
                self._replays.pop(key, None)

    async def _read_replay(
        self, overlay: str, since: int | None, limit: int | None
    ) -> tuple[list[str], int]:
        cutoff = utcnow() - timedelta(seconds=self.replay_max_age)
        limit = REPLAY_LIMIT if limit is None else min(limit, REPLAY_LIMIT)
        live = (QUEUED, SHOWN) if since is not None else (QUEUED,)
        query = OverlayAlert.filter(overlay=overlay, status__in=live)
        if since is not None:
            query = query.filter(id__gt=since)
        rows = await (
            query.filter(created_at__gte=cutoff).order_by("-id").limit(limit).values_list("id")
        )
        real = [int(row[0]) for row in rows]
        expired = await query.filter(created_at__lt=cutoff, status=QUEUED).count()
        cached = self._wire.get(overlay, {})
        found = {i: cached[i][1] for i in real if i in cached}
        missing = [i for i in real if i not in found]
        if missing:
            for row in await OverlayAlert.filter(id__in=missing):
                found[row.id] = self.wire(OutboxAlert.from_row(row))
        keyed: list[tuple[tuple[int, int, int], str]] = []
        for alert_id in real:
            if alert_id in found:  # (a row pruned from the history meanwhile is skipped)
                keyed.append(((alert_id, 0, 0), found[alert_id]))
        test_cutoff = utcnow() - timedelta(seconds=self.test_max_age)
        for test in self._tests.get(overlay, ()):
            if test.status not in live or test.created_at < test_cutoff:
                continue
            if since is not None and test.after < since:
                continue
            keyed.append((test.sort_key(), self.wire(test)))
        keyed.sort(key=lambda pair: pair[0])
        return [text for _, text in keyed[-limit:]], expired

    async def get(self, alert_id: int) -> OutboxAlert | None:
        if alert_id < 0:
            for tests in self._tests.values():
                for test in tests:
                    if test.id == alert_id:
                        return test
            return None
        row = await OverlayAlert.get_or_none(id=alert_id)
        return OutboxAlert.from_row(row) if row is not None else None

    async def history(self, overlay: str, limit: int = 50) -> list[OutboxAlert]:
        """The newest alerts of ``overlay`` (real and test), newest first."""
        rows = await OverlayAlert.filter(overlay=overlay).order_by("-id").limit(limit)
        alerts = [OutboxAlert.from_row(r) for r in rows]
        alerts.extend(self._tests.get(overlay, ()))
        alerts.sort(key=lambda a: a.created_at, reverse=True)
        return alerts[:limit]

    async def pending(self, overlay: str) -> int:
        """Alerts no page has shown yet and that are still young enough to be replayed."""
        cutoff = utcnow() - timedelta(seconds=self.replay_max_age)
        count = await OverlayAlert.filter(
            overlay=overlay, status=QUEUED, created_at__gte=cutoff
        ).count()
        test_cutoff = utcnow() - timedelta(seconds=self.test_max_age)
        count += sum(
            1
            for t in self._tests.get(overlay, ())
            if t.status == QUEUED and t.created_at >= test_cutoff
        )
        return count

    # -- changing status ------------------------------------------------------------------

    async def mark_shown(self, overlay: str, alert_ids: list[int]) -> None:
        """Record that a page showed these alerts (pages repeat recent acks after a
        reconnect, since an ack sent as the line dropped may never have arrived)."""
        fresh = []
        for alert_id in alert_ids:
            if alert_id in self._acked_set:
                continue
            if len(self._acked) == self._acked.maxlen:
                self._acked_set.discard(self._acked[0])
            self._acked.append(alert_id)
            self._acked_set.add(alert_id)
            fresh.append(alert_id)
        real = [i for i in fresh if i > 0]
        for alert_id in fresh:
            if alert_id < 0:
                for test in self._tests.get(overlay, ()):
                    if test.id == alert_id and test.status == QUEUED:
                        test.status = SHOWN
        if real:
            await OverlayAlert.filter(id__in=real, overlay=overlay, status=QUEUED).update(
                status=SHOWN, shown_at=utcnow()
            )
        if fresh:
            self.changed()

    async def set_status(self, overlay: str, alert_id: int, status: str) -> bool:
        """Skip one alert that no page has shown yet; ``False`` when there is none."""
        if alert_id < 0:
            test = await self.get(alert_id)
            if test is None or test.overlay != overlay or test.status != QUEUED:
                return False
            test.status = status
            self.changed()
            return True
        changed = await OverlayAlert.filter(id=alert_id, overlay=overlay, status=QUEUED).update(
            status=status
        )
        self.changed()
        return bool(changed)

    async def clear(self, overlay: str) -> int:
        """Mark every alert of ``overlay`` that no page has shown yet as cleared."""
        changed = await OverlayAlert.filter(overlay=overlay, status=QUEUED).update(status=CLEARED)
        for test in self._tests.get(overlay, ()):
            if test.status == QUEUED:
                test.status = CLEARED
                changed += 1
        self.changed()
        return changed
