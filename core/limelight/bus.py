"""The event bus: validate, dedupe, persist, then dispatch.

The order of work for every event is fixed, because each step protects the next:

1. **Dedupe** on ``(source, source_id)``: a recent-keys cache answers most replays in
   memory; the database's unique constraint is the authority for everything that is stored
   (a chat line's stored key has its time in front of its id: :func:`log_dedupe_id`).
   A money event enters the cache only once every plugin's rows for it are written.
2. **Persist.** Money events (and other rare, meaningful ones) are inserted and committed
   before :meth:`EventBus.publish` returns, so a webhook's 2xx is only ever sent for money
   that is on disk. Concurrent publishers share one transaction (group commit, see
   :mod:`limelight.commit`), and plugins write their own durable rows for the events in
   it (``record_events``: the tips ledger, the alert outbox), so an event and everything
   it must leave behind commit together. Chat messages are written in batches by a
   background task, so chat never waits on a disk write. Test events are logged without a
   dedupe key: they can never block a real delivery and write no other state.
3. **Gate** chat messages through ``check_chat_message`` (fails closed).
4. **Dispatch** to each plugin (and each core subscriber) through its own bounded lane. A
   lane delivers in arrival order, so events from one source reach every plugin in order;
   one slow plugin delays only its own lane. Under overload, lanes shed chat messages first
   and never drop money events (a full lane makes money publishers wait instead).

Money events that were committed but not yet seen by every plugin when the process died
are dispatched again at the next start (``handled`` is false in the log).

The core owns every second attempt at a plugin's durable rows: when a plugin's
``record_events`` fails inside a batch, the events are marked as not yet recorded for it
(``unrecorded`` in the log, in the same transaction) and the bus calls the hook again for
each such event alone, in a fresh transaction, *before its publisher is answered*; after a
crash, the next start does the same. A plugin never writes those rows from ``on_event``.
The outcome of that attempt is the publisher's answer (:mod:`limelight.owed`): recorded
(2xx), not now (:class:`~limelight.failures.NotRecorded`, 503: the event is held and the
provider's retry writes it) or never (:class:`~limelight.failures.Unrecordable`, 422: the
delivery is kept in the quarantine, :mod:`limelight.quarantine`). An event the database
refuses to store at all is answered the same way.

No single row stops the server: the startup replay moves a row it cannot read back or
whose rows can never be written to the quarantine and goes on, and a chat line the
database refuses is dropped alone (with a log line) instead of holding back the chat log.

Test events are deduplicated among themselves, in memory, for :data:`TEST_KEY_TTL`
seconds (a provider's test delivery retried plays once); they never touch the real
dedupe state, so a test event never blocks a real one.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import operator
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from . import quarantine
from .commit import GroupCommit, Transaction, in_writer
from .db import (
    MAX_BOUND_VALUES,
    Statement,
    mark_unflushed,
    placeholders,
    unflushed_statements,
    write_statements,
    write_unflushed,
)
from .events import ChatMessage, Event, data_json, event_type_name
from .failures import NotRecorded, Unrecordable, describe, is_transient
from .gating import Verdict
from .logs import Throttled
from .models import DEDUPE_ID_CHARS, EventRecord
from .owed import OwedRows
from .plugins import PluginHost

log = logging.getLogger("limelight.bus")

#: Test deliveries are deduplicated among themselves for this long (seconds; Stripe
#: retries a test-mode delivery for up to three days), and at most this many are kept.
TEST_KEY_TTL = 3 * 24 * 3600.0
TEST_KEYS_MAX = 10_000

#: A lane's handler; returning ``False`` (or raising) means it failed on the event. A core
#: subscriber that never waits (the chat service, the overlays) is a plain ``def``: no
#: coroutine per event and lane.
Handler = Callable[[Event], Awaitable[bool | None] | bool | None]
#: A handler that takes what is queued at once: a plugin's plain ``def`` hook runs on its
#: worker thread, and one thread hop per batch instead of per event keeps such a plugin
#: as fast as an ``async def`` one under load. It answers one ok flag per event it got
#: to, in order; events past the last flag go back to the front of the lane.
BatchHandler = Callable[[list[Event]], Awaitable[list[bool]]]


@dataclass(frozen=True, slots=True)
class Accepted:
    """What :meth:`EventBus.publish` answers: the event-log id and whether it was a replay."""

    id: int | None
    duplicate: bool
    event: Event


class Lane:
    """A bounded FIFO with its own worker task, feeding one plugin or core subscriber."""

    def __init__(
        self,
        name: str,
        handler: Handler,
        maxsize: int,
        batch_handler: BatchHandler | None = None,
    ) -> None:
        self.name = name
        self.handler = handler
        self.batch_handler = batch_handler
        self.maxsize = maxsize
        self.queue: deque[Event] = deque()
        self.shed = 0
        self.delivered = 0
        self._wakeup = asyncio.Event()
        self._space = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        #: Plain flags mirroring the events for the per-event path (no method call to
        #: ask): the worker waits for ``_wakeup`` (it is idle), a publisher waits for
        #: ``_space``.
        self._asleep = True
        self._space_wanted = False
        self._task: asyncio.Task[None] | None = None
        self.on_done: Callable[[Event, bool], None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"lane:{self.name}")

    def offer(self, event: Event) -> bool:
        """Append ``event`` when the lane has room (the common case, no coroutine); else
        ``False``, and the caller awaits :meth:`put`, which sheds or waits."""
        queue = self.queue
        if len(queue) >= self.maxsize:
            return False
        queue.append(event)
        if self._asleep:
            self._asleep = False
            self._idle.clear()
            self._wakeup.set()
        return True

    async def put(self, event: Event) -> None:
        """Append ``event``; a full lane sheds a chat display update first (this one, or
        the oldest queued), and makes anything else wait for room."""
        if self.offer(event):
            return
        queue = self.queue
        if event.sheddable:
            self.shed += 1
            return
        for i, queued in enumerate(queue):
            if queued.sheddable:
                del queue[i]
                self.shed += 1
                break
        else:
            while len(queue) >= self.maxsize:
                self._space_wanted = True
                self._space.clear()
                await self._space.wait()
        self.offer(event)

    async def _run(self) -> None:
        queue, space, batches = self.queue, self._space, self.batch_handler
        while True:
            if not queue:
                self._idle.set()
                self._wakeup.clear()
                self._asleep = True
                await self._wakeup.wait()
                continue
            if batches is None:
                # One event at a time, straight to the handler: no list, no extra coroutine.
                event = queue.popleft()
                if self._space_wanted:
                    self._space_wanted = False
                    space.set()
                try:
                    result = self.handler(event)
                    if result is None or isinstance(result, bool):
                        ok = result is not False
                    else:
                        ok = await result is not False
                except Exception:  # handlers isolate plugins; this guards core subscribers
                    log.exception(
                        "lane %s: handler failed on %s", self.name, event_type_name(event)
                    )
                    ok = False
                self.delivered += 1
                if event.money and self.on_done is not None:
                    self.on_done(event, ok)
                continue
            batch = list(queue)
            queue.clear()
            if self._space_wanted:
                self._space_wanted = False
                space.set()
            oks = await self._many(batches, batch)
            self.delivered += len(oks)
            if self.on_done is not None:
                for event, ok in zip(batch, oks, strict=False):
                    if event.money:
                        self.on_done(event, ok)

    async def _many(self, handler: BatchHandler, batch: list[Event]) -> list[bool]:
        try:
            oks = await handler(batch)
        except Exception:
            log.exception("lane %s: batch handler failed", self.name)
            return [False] * len(batch)
        if len(oks) < len(batch):  # not reached in time: back to the front, in order
            self.queue.extendleft(reversed(batch[len(oks) :]))
        return oks

    async def drain(self, timeout: float) -> None:
        try:
            async with asyncio.timeout(timeout):
                while self.queue or not self._idle.is_set():
                    await self._idle.wait()
                    await asyncio.sleep(0)
        except TimeoutError:
            log.warning(
                "lane %s: %d event(s) not delivered at shutdown", self.name, len(self.queue)
            )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None


class EventBus:
    def __init__(
        self,
        host: PluginHost,
        *,
        lane_size: int = 10_000,
        recent_keys: int = 100_000,
        chat_flush_interval: float = 0.25,
        chat_batch_max: int = 1_000,
        chat_batch_limit: int = 20_000,
    ) -> None:
        self.host = host
        self.lane_size = lane_size
        self.recent_keys = recent_keys
        self.chat_flush_interval = chat_flush_interval
        self.chat_batch_max = chat_batch_max
        self.chat_batch_limit = chat_batch_limit
        self.lanes: dict[str, Lane] = {}
        self._recent: OrderedDict[tuple[str, str], int | None] = OrderedDict()
        #: Test events seen lately: ``key -> (monotonic time, event-log id)``.
        self._recent_tests: OrderedDict[tuple[str, str], tuple[float, int | None]] = OrderedDict()
        self.owed = OwedRows(host)
        #: Chat lines waiting for the log; their rows are built at the flush (off the line's path).
        self._chat_batch: list[Event] = []
        self._chat_flush_wakeup = asyncio.Event()
        #: Set (and replaced) each time a flush takes the batch: what publishers held back
        #: by a full batch (:meth:`_log_room`) wait for.
        self._chat_taken = asyncio.Event()
        #: Publishers that waited for room in the chat log (see :meth:`_log_room`); a long
        #: flood waits often, logged once a minute like the other repeating problems.
        self._log_behind = Throttled(log, "chat waits for the chat log")
        self._flusher: asyncio.Task[None] | None = None
        self._flush_lock = asyncio.Lock()
        #: A database outage fails every flush (4 a second): logged once a minute.
        self._flush_failures = Throttled(log, "writing the chat log failed; retrying")
        self._closing = False
        self._pending: dict[int, int] = {}
        self._failed: set[int] = set()
        self._handled: list[int] = []
        self.published = 0
        self.duplicates = 0
        self.running = False
        self.persist = True
        self.writer: GroupCommit[Event, Accepted] = GroupCommit(self._write_events)

    # -- lifecycle ------------------------------------------------------------------------

    def subscribe(
        self, name: str, handler: Handler, batch_handler: BatchHandler | None = None
    ) -> None:
        """Add a core subscriber (overlays, chat, OBS rules) with its own lane."""
        lane = Lane(name, handler, self.lane_size, batch_handler)
        lane.on_done = self._lane_done
        self.lanes[name] = lane
        if self.running:
            lane.start()

    async def start(self, *, replay: bool = True) -> None:
        for caller in self.host.event_callers():
            self.subscribe(
                f"plugin:{caller.plugin}",
                self.host.event_handler(caller),
                None if caller.is_async else self.host.thread_handler(caller),
            )
        self.running = True
        for lane in self.lanes.values():
            lane.start()
        self._closing = False
        self._flusher = asyncio.create_task(self._flush_loop(), name="bus:chat-log")
        self.writer.start()
        if replay:
            await self.replay_unhandled()

    async def stop(self, timeout: float = 3.0) -> None:
        """Deliver what is queued (within ``timeout``), flush the chat log, stop workers."""
        self.running = False
        await self.writer.stop()
        for lane in self.lanes.values():
            await lane.drain(timeout)
        for lane in self.lanes.values():
            await lane.stop()
        if self._flusher is not None:
            # Let the chat-log writer finish the write it is in: cancelling it inside a
            # write would leave SQLite's connection in an open transaction.
            self._closing = True
            self._chat_flush_wakeup.set()
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.shield(self._flusher)
            except TimeoutError:
                log.warning("the chat log writer did not finish within %g s", timeout)
                self._flusher.cancel()
            except Exception:
                pass
            self._flusher = None
        await self.flush()

    # -- publishing -----------------------------------------------------------------------

    async def publish(
        self,
        event: Event,
        *,
        immediate: bool = False,
        retryable: bool = False,
        raw: quarantine.Raw | None = None,
    ) -> Accepted:
        """Accept ``event``: dedupe, persist (committed for money), gate, and dispatch.

        Chat messages are logged in batches unless ``immediate`` (the admin API wants the
        event-log id in its answer).

        Raises :class:`~limelight.failures.Unrecordable` when the event can never be
        recorded as it is (a money event is then in the quarantine, with ``raw``, the
        delivery as received, when given), and :class:`~limelight.failures.NotRecorded`
        when it could not be stored now. A ``retryable`` publisher (a webhook, the API:
        it answers 503 and the sender retries) also gets ``NotRecorded`` when a money
        plugin's rows could not be written now; the retry writes them (see
        :mod:`limelight.owed`)."""
        key = event.dedupe_key
        if event.test:
            seen = self._seen_test(key)
            if seen is not None:
                self.duplicates += 1
                return Accepted(seen[1], True, event)
        elif key in self._recent:
            self.duplicates += 1
            self._recent.move_to_end(key)
            return Accepted(self._recent[key], True, event)
        elif isinstance(event, ChatMessage) and not (immediate and self.persist):
            # A real chat line, the hot path: see _chat_line.
            rest = self._chat_line(event, key)
            if rest is not None:
                await rest
            return Accepted(None, False, event)
        try:
            accepted = await self._accept(event, immediate, retryable, raw)
        except BaseException:
            if event.test:
                self._recent_tests.pop(key, None)
            raise
        if event.test:
            self._recent_tests[key] = (time.monotonic(), accepted.id)
        elif accepted.duplicate:
            self.duplicates += 1
            return accepted
        elif not event.unrecorded:
            self._remember(key, accepted.id)
        self.published += 1
        await self._dispatch(event)
        return accepted

    def publish_line(self, event: ChatMessage) -> Awaitable[object] | None:
        """:meth:`publish` for a chat line whose publisher needs no answer (a chat
        connector): the same steps, in a plain call that returns ``None`` once they are
        all done, or an awaitable for the rest when something has to wait (a gating check
        that waits, a full lane). Why: a busy chat makes no coroutine and no
        :class:`Accepted` per line for it. A test line takes :meth:`publish`."""
        if event.test:
            return self.publish(event)
        key = event.dedupe_key
        recent = self._recent
        if key in recent:
            self.duplicates += 1
            recent.move_to_end(key)
            return None
        return self._chat_line(event, key)

    def _chat_line(self, event: ChatMessage, key: tuple[str, str]) -> Awaitable[object] | None:
        """A new real chat line, the hot path: the steps of :meth:`publish` (log, gate,
        remember, dispatch) with nothing awaited unless a gating check waits or a lane is
        full; then the awaitable for the rest is returned. The line goes to the log's
        next batch; gating fails closed (PluginHost.gate)."""
        full = self._batch_chat(event)
        if full is not None:
            return self._line_after_log_room(full, event, key)
        return self._gate_line(event, key)

    def _gate_line(self, event: ChatMessage, key: tuple[str, str]) -> Awaitable[object] | None:
        """Gate and dispatch a logged chat line (:meth:`_chat_line`'s last steps)."""
        verdict = self.host.gate(event)
        if not isinstance(verdict, Verdict):
            return self._gated_line(event, key, verdict)
        return self._dispatch_line(event, key, verdict)

    async def _line_after_log_room(
        self, room: Awaitable[None], event: ChatMessage, key: tuple[str, str]
    ) -> None:
        """The rest of :meth:`_chat_line` once the chat log has room again."""
        await room
        rest = self._gate_line(event, key)
        if rest is not None:
            await rest

    async def _gated_line(
        self, event: ChatMessage, key: tuple[str, str], verdict: Awaitable[Verdict]
    ) -> None:
        """The rest of :meth:`_chat_line` once a gating check that waits has answered."""
        rest = self._dispatch_line(event, key, await verdict)
        if rest is not None:
            await rest

    def _dispatch_line(
        self, event: ChatMessage, key: tuple[str, str], verdict: Verdict
    ) -> Awaitable[object] | None:
        event.verdict = verdict
        if not event.unrecorded:
            self._remember(key, None)
        self.published += 1
        lanes = self.lanes.values()
        for lane in lanes:  # no money here: nothing to count per lane
            if not lane.offer(event):
                return self._put_line(event, list(lanes), lane)
        return None

    @staticmethod
    async def _put_line(event: ChatMessage, lanes: list[Lane], full: Lane) -> None:
        """Hand ``event`` to ``full`` (which sheds or waits) and to the lanes after it."""
        for lane in lanes[lanes.index(full) :]:
            if lane is full or not lane.offer(event):
                await lane.put(event)

    async def _accept(
        self, event: Event, immediate: bool, retryable: bool, raw: quarantine.Raw | None
    ) -> Accepted:
        """Store ``event`` and settle what plugins still owe for it (:mod:`.owed`). Not a
        duplicate when it is the retry that recorded an event held back earlier."""
        if isinstance(event, ChatMessage) and not (immediate and self.persist):
            # A test chat line (real ones take publish's hot path): logged with the batch.
            full = self._batch_chat(event)
            if full is not None:
                await full
            accepted = Accepted(None, False, event)
            if self._gates():
                event.verdict = await self.host.check_chat_message(event)
            return accepted
        if not self.persist:
            return Accepted(None, False, event)
        accepted = await self._store(event, raw)
        if accepted.duplicate:
            if event.money and not event.test and accepted.id is not None:
                held = await self.owed.after_duplicate(
                    event, accepted.id, retryable=retryable, raw=raw
                )
                if held is None:  # its rows are all written: a plain duplicate
                    self._remember(event.dedupe_key, accepted.id)
                elif held:
                    return Accepted(accepted.id, False, event)
            return accepted
        if isinstance(event, ChatMessage) and self._gates():
            event.verdict = await self.host.check_chat_message(event)
        if event.unrecorded:
            if event.money and not event.test:
                try:
                    await self.owed.settle(event, retryable=retryable, raw=raw)
                finally:
                    self.owed.release(event.id)
            else:
                await self.owed.record_again(event)
        return accepted

    async def _store(self, event: Event, raw: quarantine.Raw | None) -> Accepted:
        """Commit ``event`` through the group writer. A failure is either the database's
        (:class:`NotRecorded`: retry) or the event's own (:class:`Unrecordable`: a value the
        database refuses; a money event is kept in the quarantine)."""
        try:
            return await self.writer.submit(event)
        except Exception as exc:
            if in_writer():
                raise  # publishing from inside record_events: the plugin's mistake, refused
            reason = describe(exc)
            if is_transient(exc):
                raise NotRecorded(
                    f"could not store the delivery now ({reason}); retry later"
                ) from exc
            if not event.money or event.test:
                raise Unrecordable(reason, quarantined=False) from exc
            try:
                await quarantine.keep_event(event, reason, stage=quarantine.STORE, raw=raw)
            except Exception as kept:
                log.error(
                    "could not keep %s in the quarantine: %s", event.source_id, describe(kept)
                )
                raise NotRecorded("could not store the delivery now; retry later") from exc
            raise Unrecordable(reason, quarantined=True) from exc

    def _seen_test(self, key: tuple[str, str]) -> tuple[float, int | None] | None:
        """When a test event with ``key`` was seen lately, and its event-log id (``None``
        while it is being stored); else ``None``, after noting this one. A provider's
        test delivery retried plays once; real events never look here, so a test event
        never blocks a real one."""
        now = time.monotonic()
        recent = self._recent_tests
        while recent and (
            len(recent) >= TEST_KEYS_MAX or now - next(iter(recent.values()))[0] > TEST_KEY_TTL
        ):
            recent.popitem(last=False)
        seen = recent.get(key)
        if seen is None:
            recent[key] = (now, None)
        return seen

    def _gates(self) -> bool:
        return bool(self.host.callers("check_chat_message"))

    def _remember(self, key: tuple[str, str], event_id: int | None) -> None:
        recent = self._recent
        recent[key] = event_id
        if len(recent) > self.recent_keys:
            recent.popitem(last=False)

    async def _dispatch(self, event: Event) -> None:
        lanes = self.lanes.values()
        if event.money and event.id is not None and not event.test:
            self._pending[event.id] = len(lanes)
            if not lanes:
                self._lane_done(event, True, force=True)
        for lane in lanes:
            if not lane.offer(event):
                await lane.put(event)

    def _lane_done(self, event: Event, ok: bool, force: bool = False) -> None:
        """Count a lane's delivery of a money event; mark it handled only when every lane
        handled it. A plugin that failed on it leaves it unhandled, so the next start
        dispatches it again (plugins must treat a replayed event idempotently)."""
        if event.id is None or event.id not in self._pending:
            return
        if not ok:
            self._failed.add(event.id)
        left = self._pending[event.id] - 1
        if left <= 0 or force:
            del self._pending[event.id]
            if event.id in self._failed:
                self._failed.discard(event.id)
                log.warning(
                    "%s %s:%s was not handled by every plugin; it will be dispatched "
                    "again at the next start",
                    event_type_name(event),
                    event.source,
                    event.source_id,
                )
                return
            # Written with the next chat-log flush (``chat_flush_interval``), not at once:
            # each write is a disk flush of its own, and on SQLite it would hold up the
            # group commit behind it. A crash before it only means the event is dispatched
            # again at the next start, which plugins handle idempotently anyway.
            self._handled.append(event.id)
        else:
            self._pending[event.id] = left

    # -- persistence ----------------------------------------------------------------------

    async def _write_events(self, events: list[Event], tx: Transaction) -> list[Accepted]:
        """The group writer's work: insert the event-log rows of ``events`` inside ``tx``,
        then let plugins write theirs for the ones that are new (``record_events``)."""
        dialect = tx.connection.capabilities.dialect
        results: list[Accepted] = []
        fresh: list[Event] = []
        stored = await _insert_events(tx.connection, dialect, events)
        for event, (event_id, inserted) in zip(events, stored, strict=True):
            if inserted:
                event.id = event_id
            results.append(Accepted(event_id, not inserted, event))
            if inserted and not event.test:
                fresh.append(event)
        if fresh:
            failed = await self.host.record_events(fresh, tx)
            if failed:
                await _mark_unrecorded(tx, fresh, failed)
                tx.on_commit(lambda: self.owed.expect(fresh))

        # A replay found in the database is remembered only once the batch has committed;
        # a money one only once its rows are known to be written (see OwedRows).
        def remember_replays() -> None:
            for r in results:
                if r.duplicate and not r.event.money:
                    self._remember(r.event.dedupe_key, r.id)

        tx.on_commit(remember_replays)
        return results

    def _batch_chat(self, event: Event) -> Awaitable[None] | None:
        """Add a chat line to the log's next batch: per line one append (the flush builds
        the rows of a whole batch in one loop). ``None``, or, when the batch holds
        ``chat_batch_limit`` lines, the awaitable that waits until a flush has taken it
        (:meth:`_log_room`): the publisher awaits it before its next line."""
        if not self.persist:
            return None
        batch = self._chat_batch
        batch.append(event)
        if len(batch) >= self.chat_batch_max:
            self._chat_flush_wakeup.set()
        if len(batch) >= self.chat_batch_limit:
            return self._log_room()
        return None

    async def _log_room(self) -> None:
        """Wait until a flush has taken the chat log's full batch.

        Why: a flood the log cannot keep up with (a line's row costs a third of its CPU
        or more, docs/performance.md) would otherwise grow the batch without end: in
        ``make bench``'s 40,000-line rounds, up to 35,000 lines were still waiting when
        the lanes were done. Holding the publisher (a chat connector stops reading its
        socket) bounds that memory and leaves the loop to the flush. While the database
        is away, chat goes on until the batch is full, then waits for the database, as
        money does."""
        self._log_behind.note(f"the chat log is {len(self._chat_batch)} lines behind")
        while len(self._chat_batch) >= self.chat_batch_limit and not self._closing:
            self._chat_flush_wakeup.set()
            await self._chat_taken.wait()

    async def _flush_loop(self) -> None:
        while not self._closing:
            try:
                async with asyncio.timeout(self.chat_flush_interval):
                    await self._chat_flush_wakeup.wait()
            except TimeoutError:
                pass
            self._chat_flush_wakeup.clear()
            try:
                await self.flush()
            except Exception as exc:
                self._flush_failures.note(f"{type(exc).__name__}: {exc}", exc)
                # Paced: the next try after a flush interval, whatever wakes the flusher
                # meanwhile (a publisher waiting for room does, each time a write takes
                # its lines). Without it an outage was retried as fast as it failed.
                await asyncio.sleep(self.chat_flush_interval)

    async def flush(self) -> None:
        """Write batched chat lines and ``handled`` marks now: every line batched when it
        is called (in writes of at most ``chat_batch_limit`` lines), or raise."""
        # One write at a time: the API's GET /api/events flushes too, and two overlapping
        # batch writes on one SQLite connection would nest transactions.
        async with self._flush_lock:
            await self._flush()

    async def _flush(self) -> None:
        # BaseException: when stop() cancels the flusher in the middle of a write, the lines
        # go back for stop()'s own final flush instead of being lost with the task.
        # At most a batch's worth a write: lines put back by a failed write stay in front
        # of those batched since, and publishers waiting for room stay waiting
        # (:meth:`_log_room`) while the database is away. Taking everything, a failed write
        # let another batch in at each retry: an outage kept all of chat in memory.
        limit = self.chat_batch_limit
        left = len(self._chat_batch)
        while left > 0 and self._chat_batch:
            if len(self._chat_batch) <= limit:  # the usual case: all of it, no copy
                batch, self._chat_batch = self._chat_batch, []
            else:
                batch = self._chat_batch[:limit]
                del self._chat_batch[:limit]
            left -= len(batch)
            taken, self._chat_taken = self._chat_taken, asyncio.Event()
            taken.set()
            try:
                await _write_chat_rows(batch)
            except Exception as exc:
                if is_transient(exc):
                    self._chat_batch[:0] = batch
                    raise
                await self._write_chat_one_by_one(batch, exc)
            except BaseException:
                self._chat_batch[:0] = batch
                raise
        if self._handled:
            ids, self._handled = self._handled, []
            try:
                await _write_handled(ids)
            except BaseException:
                self._handled[:0] = ids
                raise

    async def _write_chat_one_by_one(self, batch: list[Event], exc: Exception) -> None:
        """A batch of chat lines the database refused (not a hiccup: one line holds a
        value it cannot store): write the lines one by one and drop, with a log line, only
        those that fail, so one line never holds back the whole chat log."""
        log.warning(
            "the chat log refused a batch of %d (%s); writing it line by line",
            len(batch),
            describe(exc),
        )
        for i, event in enumerate(batch):
            try:
                await _write_chat_rows([event])
            except Exception as one:
                if is_transient(one):
                    self._chat_batch[:0] = batch[i:]
                    raise
                log.error(
                    "chat line %s:%s dropped from the log: %s",
                    event.source,
                    event.source_id,
                    describe(one),
                )

    async def replay_unhandled(self) -> None:
        """Dispatch committed money events that no plugin saw before the last stop (the app
        calls this once chat connectors run, so reactions to them can be said).

        One row never stops a start: a row that cannot be read back (a damaged value, a
        date Python cannot hold, an unknown type) or whose rows a plugin can never write
        is logged and moved to the quarantine, and the replay goes on. Rows already in
        the quarantine are skipped."""
        if not self.persist:
            return
        skip = await quarantine.event_ids()
        ids = (
            await EventRecord.filter(handled=False, test=False)
            .order_by("id")
            .values_list("id", flat=True)
        )
        for found in ids:
            event_id = int(str(found))
            if event_id in skip:
                continue
            try:
                await self._replay_one(event_id)
            except Exception as exc:
                log.error("event %s could not be replayed: %s", event_id, describe(exc))

    async def _replay_one(self, event_id: int) -> None:
        from .wire import event_from_record

        try:
            record = await EventRecord.get(id=event_id)
            event = event_from_record(record, self.host)
        except Exception as exc:
            if is_transient(exc):  # the database, not the row: the next start tries again
                log.error("event %s could not be read now: %s", event_id, describe(exc))
                return
            await quarantine.keep_row(event_id, f"cannot be read back: {describe(exc)}")
            return
        log.info(
            "replaying %s %s:%s committed before the last stop",
            record.type,
            record.source,
            record.source_id,
        )
        async with self.owed.claim(event_id):
            if event.unrecorded:
                if event.money:
                    try:
                        await self.owed.settle(event, retryable=False)
                    except Unrecordable:
                        return  # quarantined (and logged)
                else:
                    await self.owed.record_again(event)
            if not event.unrecorded:
                self._remember(event.dedupe_key, event_id)
        await self._dispatch(event)

    async def retry_quarantined(self, entry_id: int) -> Accepted:
        """The dashboard's Try again for a quarantine entry (after a plugin was fixed or
        upgraded): read its event back and write the rows plugins owe for it; on success
        the entry goes and plugins get the event. Raises ``LookupError`` (no such entry),
        :class:`Unrecordable` (still failing, or never stored: nothing to retry here) or
        :class:`NotRecorded` (the database could not take it now)."""
        from .wire import event_from_record

        entry = await quarantine.QuarantineEntry.get_or_none(id=entry_id)
        if entry is None:
            raise LookupError(f"no quarantine entry {entry_id}")
        if entry.event_id is None:
            raise Unrecordable(
                "it was never stored, so there is nothing to write again: record it by hand "
                "and dismiss it",
                quarantined=True,
            )
        event_id = int(entry.event_id)
        async with self.owed.claim(event_id):
            record = await EventRecord.get_or_none(id=event_id)
            if record is None:
                raise LookupError(f"event {event_id} is no longer in the event log")
            try:
                event = event_from_record(record, self.host)
            except Exception as exc:
                reason = f"cannot be read back: {describe(exc)}"
                await quarantine.note_attempt(entry_id, reason)
                raise Unrecordable(reason, quarantined=True) from exc
            if event.unrecorded:
                await self.owed.settle(event, retryable=True)
            self.owed.held.discard(event_id)
            await quarantine.release(entry_id)
            log.info(
                "%s %s:%s recorded from the quarantine", record.type, event.source, event.source_id
            )
            self._remember(event.dedupe_key, event_id)
        if not record.handled:
            self.published += 1
            await self._dispatch(event)
        return Accepted(event_id, False, event)

    @property
    def log_waits(self) -> int:
        """Times a publisher waited for room in the chat log (see :meth:`_log_room`)."""
        return self._log_behind.total

    def stats(self) -> dict[str, Any]:
        return {
            "published": self.published,
            "duplicates": self.duplicates,
            "commits": self.writer.stats(),
            "lanes": {
                name: {"queued": len(lane.queue), "shed": lane.shed, "delivered": lane.delivered}
                for name, lane in self.lanes.items()
            },
        }


# -- the chat log ------------------------------------------------------------------------------
# Chat lines are many and already validated, so they skip tortoise's per-field model
# validation (most of the cost of a chat line otherwise) and go in with one executemany.

_LOG_COLUMNS = (
    "type",
    "source",
    "source_id",
    "dedupe_id",
    "test",
    "occurred_at",
    "received_at",
    "viewer_platform",
    "viewer_id",
    "viewer_name",
    "data",
    "handled",
)


#: Chat log rows built between two turns of the event loop at a flush.
ROWS_PER_SLICE = 50


#: The fields of an event that its log row holds besides its type and data, read at once.
_ROW_FIELDS = operator.attrgetter("source", "source_id", "test", "occurred_at", "viewer")
_VIEWER_FIELDS = operator.attrgetter("platform", "id", "name")
_NO_VIEWER = (None, None, None)
#: The last time written as text and its text (``str()`` of an aware time is ~1 µs): the
#: Twitch mapper hands lines sent in the same millisecond one time object.
_LAST_TIME: list[Any] = [None, ""]

#: Hex digits of the millisecond (Unix time) a chat line's log key starts with: a fixed
#: width, so the keys sort by time as text (11 digits last until the year 2527).
_KEY_MS_DIGITS = 11
#: The longest chat line id that takes the time in front of it within the column.
_KEYED_ID_MAX = DEDUPE_ID_CHARS - _KEY_MS_DIGITS - 1
#: The key's prefix as a %-format: 0.12 µs a line where an f-string with the width
#: nested in its spec (``f"{ms:0{digits}x}:"``) takes 0.29 µs.
_KEY_PREFIX = f"%0{_KEY_MS_DIGITS}x:"
#: The last chat line time made into a key prefix and that prefix (as ``_LAST_TIME``).
_LAST_KEY_TIME: list[Any] = [None, ""]


def log_dedupe_id(event: Event) -> str | None:
    """The event log's ``dedupe_id`` for ``event``, the key its unique ``(source,
    dedupe_id)`` stores it once by: ``None`` for a test event (it never blocks a real one),
    the provider's id for every other event but a chat line, and for a chat line its time
    in milliseconds (hex) then its id: ``1a23db4f880:<id>``.

    Why the time: chat platforms' ids are random (Twitch's are version-4 UUIDs), and a
    unique index on random keys makes every batch of chat lines write pages all over it,
    more of them the longer the log (docs/performance.md, "Per chat line", sixth round).
    With the time in front, new lines land at the index's end. A line written again (a
    batch retried after an ambiguous commit) has the same time and id, so it is still
    stored once; the bus's in-memory dedupe stays on ``(source, source_id)``. An id too
    long to take the time in front (no platform's is; Twitch's are 36 characters) is the
    key as it is. Money keeps the provider's id alone: a provider's retry may carry
    another time."""
    if event.test:
        return None
    source_id = event.source_id
    if not isinstance(event, ChatMessage) or len(source_id) > _KEYED_ID_MAX:
        return source_id
    occurred_at = event.occurred_at
    last = _LAST_KEY_TIME
    if occurred_at is not last[0]:
        last[0], last[1] = occurred_at, _KEY_PREFIX % int(occurred_at.timestamp() * 1000)
    prefix: str = last[1]
    return prefix + source_id


def _row_values(event: Event, handled: bool, sqlite: bool, received: Any) -> list[Any]:
    """One event-log row in ``_LOG_COLUMNS`` order, as the driver takes it (``received``
    is the stamp of the batch, already in the dialect's form); see :func:`_add_row_values`."""
    row: list[Any] = []
    _add_row_values(row, event, handled, sqlite, received)
    return row


def _add_row_values(
    out: list[Any], event: Event, handled: bool, sqlite: bool, received: Any
) -> None:
    """Append one event-log row's values to ``out`` in ``_LOG_COLUMNS`` order: the chat
    log's flush on PostgreSQL binds a whole batch as one flat list (multi-row statements),
    so a row is appended where it goes instead of built as a list of its own and copied;
    once per chat line there, so the fields are read at once. (SQLite's chat log binds
    less a row, :func:`_chat_statements`; its money rows come through here.) On SQLite the
    flags and the time go as tortoise's SQLite backend stores them: integers and text."""
    source, source_id, test, occurred_at, viewer = _ROW_FIELDS(event)
    platform, viewer_id, name = _NO_VIEWER if viewer is None else _VIEWER_FIELDS(viewer)
    if sqlite:
        last = _LAST_TIME
        if occurred_at is not last[0]:  # lines of one millisecond share their time
            last[0], last[1] = occurred_at, str(occurred_at)
        out += (
            event_type_name(event),
            source,
            source_id,
            log_dedupe_id(event),
            1 if test else 0,
            last[1],
            received,
            platform,
            viewer_id,
            name,
            data_json(event),
            1 if handled else 0,
        )
        return
    out += (
        event_type_name(event),
        source,
        source_id,
        log_dedupe_id(event),
        test,
        occurred_at,
        received,
        platform,
        viewer_id,
        name,
        data_json(event),
        handled,
    )


def _stamp(sqlite: bool) -> Any:
    """``received_at`` now, in the form ``_row_values`` takes for the dialect."""
    received = datetime.now(UTC)
    return str(received) if sqlite else received


_INSERT_HEAD = f"INSERT INTO {EventRecord._meta.db_table} ({', '.join(_LOG_COLUMNS)})"


@functools.cache
def _insert_sql(dialect: str, rows: int) -> str:
    """The chat log's ``INSERT`` of ``rows`` event-log rows (:func:`write_unflushed`'s
    statements); a key already stored is skipped."""
    marks = placeholders(dialect, len(_LOG_COLUMNS), rows)
    return f"{_INSERT_HEAD} VALUES {marks} ON CONFLICT DO NOTHING"


async def _insert_events(conn: Any, dialect: str, events: list[Event]) -> list[tuple[int, bool]]:
    """Insert the event-log rows of a batch with one ``INSERT ... ON CONFLICT DO NOTHING``
    per :data:`~limelight.db.MAX_BOUND_VALUES`; for each event ``(id, True)``, or
    ``(existing id, False)`` when its dedupe key is already stored (also by an earlier
    event of the same batch). No exception on a replay, so a transaction holding other
    events' rows stays usable on PostgreSQL too.

    One statement a batch, not one per event: each statement is a round trip to SQLite's
    thread (or PostgreSQL's socket) that the event loop has to come back for."""
    sqlite = dialect == "sqlite"
    stamp = _stamp(sqlite)
    rows = [_row_values(e, not e.money or e.test, sqlite, stamp) for e in events]
    width = len(_LOG_COLUMNS)
    step = max(1, MAX_BOUND_VALUES // width)
    returned: list[dict[str, Any]] = []
    for start in range(0, len(rows), step):
        chunk = rows[start : start + step]
        sql = (
            f"{_INSERT_HEAD} VALUES {placeholders(dialect, width, len(chunk))} "
            "ON CONFLICT DO NOTHING RETURNING id, source, dedupe_id"
        )
        # execute_query_dict: tortoise's execute_query drops an INSERT's RETURNING rows on
        # PostgreSQL
        returned.extend(await conn.execute_query_dict(sql, [v for row in chunk for v in row]))
    # Ids follow the VALUES order, so the inserted rows, sorted by id, are the events in
    # order minus the ones skipped as already stored (test events have no dedupe key and
    # are never skipped).
    inserted = iter(sorted(returned, key=lambda r: int(r["id"])))
    ahead = next(inserted, None)
    out: list[tuple[int, bool] | None] = []
    keys = [log_dedupe_id(e) for e in events]
    for event, key_id in zip(events, keys, strict=True):
        key = (event.source, key_id)
        if ahead is not None and (ahead["source"], ahead["dedupe_id"]) == key:
            out.append((int(ahead["id"]), True))
            ahead = next(inserted, None)
        else:
            out.append(None)
    if ahead is not None:
        raise RuntimeError("the event log returned rows that were not asked for")
    missing = [(e, k) for e, k, found in zip(events, keys, out, strict=True) if found is None]
    existing: dict[tuple[str, str | None], int] = {}
    for source in {e.source for e, _ in missing}:
        wanted = [k for e, k in missing if e.source == source]
        found_rows = (
            await EventRecord.filter(source=source, dedupe_id__in=wanted)
            .using_db(conn)
            .values_list("id", "dedupe_id")
        )
        existing.update({(source, str(key)): int(str(i)) for i, key in found_rows})
    result: list[tuple[int, bool]] = []
    for event, key_id, found in zip(events, keys, out, strict=True):
        if found is None:
            event_id = existing.get((event.source, key_id))
            if event_id is None:
                raise RuntimeError(
                    f"event {event.source}:{event.source_id} was neither stored nor found"
                )
            found = (event_id, False)
        result.append(found)
    return result


async def _mark_unrecorded(tx: Transaction, events: list[Event], failed: Collection[str]) -> None:
    """Note in the log, with the events, which plugins still owe their durable part."""
    mark = ",".join(sorted(failed))
    ids = [e.id for e in events if e.id is not None]
    await EventRecord.filter(id__in=ids).using_db(tx.connection).update(unrecorded=mark)
    marked = frozenset(failed)

    def remember() -> None:
        for event in events:
            event.unrecorded = marked

    tx.on_commit(remember)


#: A chat log row's values that differ from line to line, in ``_LOG_COLUMNS`` order. On
#: SQLite the rest (type, source, test, received_at, viewer_platform, handled) is the same
#: for a run of lines from one source and is bound once a statement (:func:`_chat_insert_sql`).
_CHAT_OWN_COLUMNS = ("source_id", "dedupe_id", "occurred_at", "viewer_id", "viewer_name", "data")


@functools.cache
def _chat_insert_sql(rows: int) -> str:
    """SQLite's ``INSERT`` of ``rows`` chat log rows that share their other columns: those
    are bound once, in front (``_LOG_COLUMNS`` order), and each row binds only its
    :data:`_CHAT_OWN_COLUMNS`, half of the twelve. Why: binding is a good part of what
    SQLite's thread spends on a chat line, ~5 µs a row bound whole and ~0.75 µs less this
    way (docs/performance.md, "Per chat line", eighth round). A key already stored is
    skipped, as by :func:`_insert_sql`."""
    picks = ", ".join(
        f"column{_CHAT_OWN_COLUMNS.index(c) + 1}" if c in _CHAT_OWN_COLUMNS else "?"
        for c in _LOG_COLUMNS
    )
    marks = placeholders("sqlite", len(_CHAT_OWN_COLUMNS), rows)
    # "WHERE true": SQLite's parser needs it between a SELECT and its ON CONFLICT
    return f"{_INSERT_HEAD} SELECT {picks} FROM (VALUES {marks}) WHERE true ON CONFLICT DO NOTHING"


async def _write_chat_rows(events: list[Event]) -> None:
    """Insert the log rows of a batch of chat lines (``handled``: nothing is owed for them)."""
    conn = EventRecord._meta.db
    dialect = conn.capabilities.dialect
    sqlite = dialect == "sqlite"
    stamp = _stamp(sqlite)  # one stamp per batch: lines wait at most one flush
    if sqlite:
        await write_statements(conn, await _chat_statements(events, stamp))
        return
    values: list[Any] = []
    add = _add_row_values
    for start in range(0, len(events), ROWS_PER_SLICE):
        if start:
            # A full batch takes milliseconds to build: a command line arriving meanwhile
            # waits at most one slice, so replies stay quick while chat is logged.
            await asyncio.sleep(0)
        for event in events[start : start + ROWS_PER_SLICE]:
            add(values, event, True, sqlite, stamp)
    await write_unflushed(conn, functools.partial(_insert_sql, dialect), values, len(_LOG_COLUMNS))


async def _chat_statements(events: list[Event], stamp: Any) -> list[Statement]:
    """SQLite's statements for a batch of chat lines, in the batch's order: each run of
    lines that share type, source, test flag and viewer platform (a whole batch, in a
    channel of one platform) as :func:`_chat_insert_sql`'s statements with what they share
    bound in front."""
    runs: list[tuple[tuple[Any, ...], list[Any]]] = []
    shared: tuple[Any, ...] | None = None
    values: list[Any] = []
    last = _LAST_TIME
    for start in range(0, len(events), ROWS_PER_SLICE):
        if start:
            await asyncio.sleep(0)  # as in _write_chat_rows: replies stay quick
        for event in events[start : start + ROWS_PER_SLICE]:
            source, source_id, test, occurred_at, viewer = _ROW_FIELDS(event)
            platform, viewer_id, name = _NO_VIEWER if viewer is None else _VIEWER_FIELDS(viewer)
            if occurred_at is not last[0]:  # lines of one millisecond share their time
                last[0], last[1] = occurred_at, str(occurred_at)
            key = (event_type_name(event), source, 1 if test else 0, platform)
            if key != shared:
                shared, values = key, []
                runs.append((key, values))
            values += (source_id, log_dedupe_id(event), last[1], viewer_id, name, data_json(event))
    statements: list[Statement] = []
    width = len(_CHAT_OWN_COLUMNS)
    for (etype, source, test, platform), rows in runs:
        head = (etype, source, test, stamp, platform, 1)
        statements += unflushed_statements(_chat_insert_sql, rows, width, head)
    return statements


async def _write_handled(ids: list[int]) -> None:
    """Mark events handled, without a flush of their own: a mark lost to a power cut means
    the event is offered to the plugins again at the next start, which they already
    expect (a crash before the mark does the same)."""
    await mark_unflushed(EventRecord, "handled", ids)
