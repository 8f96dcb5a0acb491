"""The live part of a money event (``on_event``): speech, the chat thank-you, the boards.

Why on its own: reactions happen once, after the commit, and never write what the event
must leave behind (that is :mod:`.recording`). They read what was written —
``ctx.recorded(event)``, or the ledger row after a restart — and mark the row ``reacted``
once they went out, so a replay after a crash reacts only to what it had not reacted to.
Test events (``event.test``) are shown (an in-memory alert, speech) and write nothing: no
ledger row, no viewer, no approval item, no thank-you in the real chat.
"""

from __future__ import annotations

from limelight import Cheer, Event, Money, PluginContext, Refund, StreamOnline, Tip
from limelight.db import mark_unflushed

from .alerting import Alerting
from .boards import Boards
from .config import TipsConfig
from .models import LedgerEntry
from .people import People
from .recording import Recorder, Written, money_of
from .speech import Speech
from .thanks import Thanks

#: Seconds between two writes of the ``reacted`` marks.
MARK_INTERVAL = 1.0


class Marks:
    """Ledger rows whose reactions went out, marked ``reacted`` once a second
    (:func:`limelight.db.mark_unflushed`): a mark costs no disk flush of its own, and one
    lost in a crash or a power cut only means a replay."""

    def __init__(self) -> None:
        self._pending: set[int] = set()

    def add(self, entry_id: int) -> None:
        self._pending.add(entry_id)

    def __contains__(self, entry_id: int) -> bool:
        return entry_id in self._pending

    async def flush(self) -> None:
        if not self._pending:
            return
        ids, self._pending = self._pending, set()
        try:
            await mark_unflushed(LedgerEntry, "reacted", sorted(ids))
        except BaseException:
            self._pending |= ids
            raise


class Reactions:
    def __init__(
        self,
        ctx: PluginContext[TipsConfig],
        *,
        recorder: Recorder,
        alerting: Alerting,
        people: People,
        thanks: Thanks,
        speech: Speech,
        boards: Boards,
    ) -> None:
        self.ctx = ctx
        self.recorder = recorder
        self.alerting = alerting
        self.people = people
        self.thanks = thanks
        self.speech = speech
        self.boards = boards
        self.marks = Marks()

    def start(self) -> None:
        self.ctx.scheduler.every(self.marks.flush, id="reacted", seconds=MARK_INTERVAL)

    async def stop(self) -> None:
        await self.thanks.stop()
        try:
            await self.marks.flush()
        except Exception:
            self.ctx.log.exception("could not mark the last reactions as done")

    async def on_event(self, event: Event) -> None:
        if isinstance(event, Tip | Cheer):
            if event.test:
                found = money_of(event)
                assert found is not None
                await self.show_test(event, *found)
            else:
                await self.react(event)
        elif isinstance(event, Refund):
            if not event.test:
                await self.react(event)
        elif isinstance(event, StreamOnline) and not event.test:
            await self.boards.set_stream_start(event.occurred_at)

    async def react(self, event: Event) -> None:
        """React once to a committed money event."""
        written = self.ctx.recorded(event)
        if not isinstance(written, Written):  # dispatched again after a restart
            written = await self.recorder.read_back(event)
            if written is None:
                return
        if written.reacted or written.entry_id in self.marks:
            return
        if written.speak:
            await self.speech.say(written.speak)
        if written.thank is not None and self.ctx.config.thanks:
            await self.thanks.add(written.thank)
        self.marks.add(written.entry_id)
        self.boards.mark_dirty()

    async def show_test(self, event: Tip | Cheer, money: Money, kind: str) -> None:
        """A simulated tip plays its alert (in memory) and its speech; a simulated cheer's
        alert is the alerts plugin's. It skips the approval queue: it writes nothing."""
        if kind != "tip":
            return
        hide = await self.people.hides_name(event.viewer)
        shown = self.recorder.present(event, money, hide_name=hide)
        data = self.alerting.data(event, money, kind, shown)
        try:
            await self.alerting.push(kind, data, money, event, test=True)
        except Exception:
            self.ctx.log.exception("could not show the test %s alert", kind)
            return
        if shown.speak:
            await self.speech.say(shown.message)
