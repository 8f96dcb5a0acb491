"""Rows a money plugin still owes: the core's second attempt, and what the publisher hears.

When a plugin's ``record_events`` fails inside a group-commit batch, its savepoint rolls
back and the events are committed with an ``unrecorded`` mark naming it (one bad event
thus never fails its batch-mates: each marked event gets its own second attempt, alone,
in a fresh transaction). That second attempt runs **before the publisher is answered**,
and its outcome is the answer (:mod:`limelight.failures`):

* it worked: the event is recorded; a webhook gets its 2xx and plugins get the event;
* a database hiccup (transient): a publisher that can retry (a webhook provider, an API
  client: ``retryable``) gets :class:`~limelight.failures.NotRecorded` (503) and the event
  is *held*: committed with its mark, not dispatched, not remembered as seen. The
  provider's retry finds it as a duplicate that still owes rows and tries again
  (:meth:`OwedRows.after_duplicate`), so it either writes the rows and gets its 2xx (and
  plugins get the event then), or keeps failing honestly. A publisher that cannot retry
  (a chat connector) keeps the old way: the event goes out with its mark (the plugin that
  owes rows skips it) and the next start writes it again;
* poison (the same failure every time): the event goes to the quarantine and the
  publisher gets :class:`~limelight.failures.Unrecordable` (422). A retry of the delivery
  gets the same 422 from the quarantine entry without calling plugins again, and the
  startup replay skips the event.

Only one attempt per event runs at a time in a process: the publisher whose batch marked
an event owns its settlement; a concurrent duplicate waits for it and then reads the
outcome from the database (:meth:`OwedRows.claim`), so rows are never written twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from . import quarantine
from .commit import Transaction, commit_with
from .events import Event, event_type_name
from .failures import NotRecorded, Unrecordable, describe, is_transient
from .models import EventRecord

if TYPE_CHECKING:
    from .plugins import PluginHost

log = logging.getLogger("limelight.bus")


class OwedRows:
    def __init__(self, host: PluginHost) -> None:
        self.host = host
        #: Event ids whose settlement is running, each with a future done when it ends.
        self._busy: dict[int, asyncio.Future[None]] = {}
        #: Events answered 503 and not dispatched: the retry that records them sends them.
        self.held: set[int] = set()

    # -- who settles an event ---------------------------------------------------------------

    def expect(self, events: Iterable[Event]) -> None:
        """Called as a batch that marked ``events`` commits, before any publisher hears:
        the publisher of each marked money event owns its settlement (:meth:`owned`)."""
        loop = asyncio.get_running_loop()
        for event in events:
            if event.unrecorded and event.money and not event.test and event.id is not None:
                self._busy.setdefault(event.id, loop.create_future())

    def release(self, event_id: int | None) -> None:
        """End the settlement of ``event_id`` (whatever its outcome); waiters go on."""
        if event_id is None:
            return
        future = self._busy.pop(event_id, None)
        if future is not None and not future.done():
            future.set_result(None)

    @asynccontextmanager
    async def claim(self, event_id: int) -> AsyncIterator[None]:
        """Settle ``event_id`` alone: wait for whoever is at it, then hold it until exit."""
        while (busy := self._busy.get(event_id)) is not None:
            await asyncio.shield(busy)
        self._busy[event_id] = asyncio.get_running_loop().create_future()
        try:
            yield
        finally:
            self.release(event_id)

    # -- the second attempt -----------------------------------------------------------------

    async def record_again(self, event: Event) -> dict[str, BaseException]:
        """Write, in a fresh transaction, the durable part that plugins failed to write with
        ``event``; returns those that failed again, with what they raised. Whoever fails
        keeps the mark (its ``on_event`` skips the event, so it stays unhandled and the next
        start tries again); plugins that are off keep theirs for when they return."""
        pending = event.unrecorded & set(self.host.recorders())
        if not pending:
            return {}
        gone = event.unrecorded - pending

        async def work(items: list[Event], tx: Transaction) -> list[dict[str, BaseException]]:
            failed = await self.host.record_events(items, tx, only=pending)
            mark = ",".join(sorted(set(failed) | gone))
            await EventRecord.filter(id=event.id).using_db(tx.connection).update(unrecorded=mark)
            return [failed]

        try:
            (failed,) = await commit_with(work, [event])
        except Exception as exc:
            log.warning(
                "writing again what plugins failed to record for %s %s:%s failed: %s",
                event_type_name(event),
                event.source,
                event.source_id,
                describe(exc),
            )
            return dict.fromkeys(pending, exc)
        for plugin in sorted(pending - set(failed)):
            log.info(
                "plugin %s: wrote its part of %s %s:%s on the second attempt",
                plugin,
                event_type_name(event),
                event.source,
                event.source_id,
            )
        event.unrecorded = frozenset(failed) | gone
        return failed

    async def settle(
        self, event: Event, *, retryable: bool, raw: quarantine.Raw | None = None
    ) -> None:
        """Make the second attempt for a marked money event and turn its outcome into the
        publisher's answer: returns when the event may be dispatched; raises
        :class:`NotRecorded` (held, retry) or :class:`Unrecordable` (quarantined)."""
        failed = await self.record_again(event)
        poison = {p: e for p, e in failed.items() if not is_transient(e)}
        if poison:
            reason = "; ".join(f"plugin {p}: {describe(e)}" for p, e in sorted(poison.items()))
            try:
                await quarantine.keep_event(
                    event,
                    reason,
                    stage=quarantine.RECORD,
                    plugins=",".join(sorted(failed)),
                    raw=raw,
                )
            except Exception as exc:  # not even the quarantine: the database is in trouble
                log.error("could not keep %s in the quarantine: %s", event.source_id, describe(exc))
                self._hold(event, retryable)
                raise NotRecorded("could not record the delivery now; retry later") from exc
            raise Unrecordable(reason, quarantined=True)
        if failed or (event.unrecorded and retryable):
            if not retryable:
                return  # out with its mark; the next start writes it again
            why = (
                describe(next(iter(failed.values())))
                if failed
                else f"plugin {', '.join(sorted(event.unrecorded))} is off"
            )
            self._hold(event, retryable)
            raise NotRecorded(f"could not record the delivery now ({why}); retry later")

    def _hold(self, event: Event, retryable: bool) -> None:
        if retryable and event.id is not None:
            self.held.add(event.id)

    async def after_duplicate(
        self, event: Event, event_id: int, *, retryable: bool, raw: quarantine.Raw | None = None
    ) -> bool | None:
        """A retry of a stored money event: ``None`` when its rows are all written (a plain
        duplicate); else the second attempt runs again for it, as :meth:`settle` (and
        raises as it does). ``True`` when it was recorded now and had been held back (the
        caller dispatches it), ``False`` when it had gone out already."""
        async with self.claim(event_id):
            marks = await EventRecord.filter(id=event_id).values_list("unrecorded", flat=True)
            mark = str(marks[0]) if marks and marks[0] else ""
            if not mark:
                return None
            entry = await quarantine.entry_for(event_id)
            if entry is not None:
                raise Unrecordable(entry.error, quarantined=True)
            event.id = event_id
            event.unrecorded = frozenset(mark.split(","))
            await self.settle(event, retryable=retryable, raw=raw)
            if event.unrecorded:
                return False  # still owed (a publisher that cannot retry): as before
            if event_id in self.held:
                self.held.discard(event_id)
                return True
            return False


__all__ = ["OwedRows"]
