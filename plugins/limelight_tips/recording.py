"""The durable part of a money event: the ledger row and the alert (or approval item).

Why on its own: this is the ONE place the plugin writes what an event must leave behind,
and it runs only inside the bus's transaction (``record_events``), so a tip, its ledger
row and its alert reach the disk together, before the provider gets its 2xx. If the write
fails, the core rolls back this plugin's part and calls ``record_events`` again for the
event in a fresh transaction before ``on_event`` (and at the next start): there is no
second write path. What ``on_event`` needs of the write comes back as :class:`Written`
(``ctx.recorded(event)``); after a restart it is read back from the ledger instead
(:meth:`Recorder.read_back`), without writing anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from limelight import Cheer, Event, Money, PluginContext, Refund, Tip, Transaction
from limelight.overlays import NewAlert

from . import ledger
from .alerting import Alerting
from .approval import Approval
from .config import TipsConfig
from .moderation import Moderator, Shown
from .people import People, Person, is_chat_viewer
from .refunds import Refunds
from .speech import Speech
from .thanks import Thank


@dataclass(frozen=True, slots=True)
class _Money:
    """A tip or cheer of a batch, between reading who it counts for and writing its row."""

    event: Tip | Cheer
    money: Money
    kind: str
    person: Person | None
    row: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Written:
    """What a money event left in the ledger, for its live reactions."""

    entry_id: int
    #: The thank-you it is owed: ``None`` for refunds and for a tip that arrived after its
    #: full refund (counted, never announced).
    thank: Thank | None = None
    #: The message to read aloud ("" for none): set when its alert was queued, not held.
    speak: str = ""
    #: Its reactions went out already (read back from the ledger after a restart).
    reacted: bool = False


def money_of(event: Event) -> tuple[Money, str] | None:
    """The amount and ledger kind of a tip or a cheer; ``None`` for other events."""
    if isinstance(event, Tip):
        return event.amount, "tip"
    if isinstance(event, Cheer):
        return Money(event.bits, "BITS"), "cheer"
    return None


class Recorder:
    def __init__(
        self,
        ctx: PluginContext[TipsConfig],
        *,
        people: People,
        moderator: Moderator,
        alerting: Alerting,
        approval: Approval,
        refunds: Refunds,
        speech: Speech,
    ) -> None:
        self.ctx = ctx
        self.people = people
        self.moderator = moderator
        self.alerting = alerting
        self.approval = approval
        self.refunds = refunds
        self.speech = speech

    async def record_events(self, events: list[Event], tx: Transaction) -> dict[int, Written]:
        """Write the rows of new tips, cheers and refunds in ``tx``; ``{event.id: Written}``.

        The tips and cheers between two refunds are written together: one insert for
        their ledger rows and one for their alerts (a refund is written alone, in order,
        since it reads the rows before it)."""
        written: dict[int, Written] = {}
        orphans: set[str] = set()  # refunds in this batch whose tip is not in the ledger
        run: list[_Money] = []
        for event in events:
            if event.id is None or event.test:
                continue
            if isinstance(event, Refund):
                await self._write(run, tx, orphans, written)
                run = []
                entry = await self.refunds.apply(event, tx, orphans)
                written[event.id] = Written(entry.id)
                continue
            found = money_of(event)
            if found is None:
                continue
            money, kind = found
            if money.minor <= 0:
                what = f"{kind} {event.source}:{event.source_id}"
                self.ctx.log.warning("ignoring %s: its amount is not positive", what)
                continue
            assert isinstance(event, Tip | Cheer)
            run.append(await self._row(event, money, kind, tx))
        await self._write(run, tx, orphans, written)
        return written

    async def _row(self, event: Tip | Cheer, money: Money, kind: str, tx: Transaction) -> _Money:
        """What a tip or cheer writes: its ledger row and the viewer it counts for."""
        viewer = event.viewer
        person = (
            await self.people.person(viewer, tx)
            if viewer is not None and is_chat_viewer(viewer)
            else None
        )
        row = ledger.row(
            provider=event.source,
            provider_id=event.source_id,
            kind=kind,
            money=money,
            detail=(event.kind or event.provider) if isinstance(event, Tip) else "",
            viewer_pk=person.pk if person is not None else None,
            viewer_platform=viewer.platform if viewer else "",
            viewer_id=viewer.id if viewer else "",
            viewer_name=viewer.name if viewer else "",
            anonymous=event.anonymous,
            message=event.message,
            occurred_at=event.occurred_at,
            event_id=event.id,
        )
        return _Money(event, money, kind, person, row)

    async def _write(
        self, run: list[_Money], tx: Transaction, orphans: set[str], written: dict[int, Written]
    ) -> None:
        """The ledger rows of ``run`` in one insert, then their alerts in another."""
        if not run:
            return
        ids = await ledger.record_many(tx, [m.row for m in run])
        alerts: list[NewAlert] = []
        for m, entry_id in zip(run, ids, strict=True):
            event, money, kind = m.event, m.money, m.kind
            assert event.id is not None
            key = ledger.key_of(event.source, event.source_id)
            if not await self.refunds.adopt(entry_id, key, money.minor, tx, orphans):
                self.ctx.log.info(
                    "%s %s:%s arrived after its full refund: recorded, not announced",
                    kind,
                    event.source,
                    event.source_id,
                )
                written[event.id] = Written(entry_id)
                continue
            if self.sold_by_shop(event):
                written[event.id] = Written(entry_id)  # counted here; the shop announces it
                continue
            hide_name = m.person is not None and m.person.hide_name
            shown = self.present(event, money, hide_name=hide_name)
            queued = False
            if kind == "tip":  # the alerts plugin shows cheers; here they count and are thanked
                data = self.alerting.data(event, money, kind, shown)
                if self.ctx.config.approval and shown.message:
                    await self.approval.hold(entry_id, kind, data, money)
                else:
                    alerts.append(self.alerting.new(kind, data, money, event))
                    queued = True
            written[event.id] = Written(
                entry_id,
                Thank(shown.name, money, shown.message),
                speak=shown.message if queued and shown.speak else "",
            )
        await self.alerting.push_many(alerts, tx)

    def sold_by_shop(self, event: Event) -> bool:
        """A Ko-fi Shop Order while a ``shop`` plugin is enabled: that plugin sells it
        (stock, the order alert, the thanks), so it is counted here but not announced as
        a tip. Asked at call time: the shop can be disabled while the server runs."""
        return (
            isinstance(event, Tip)
            and event.kind == "shop_order"
            and self.ctx.peer("shop", object) is not None
        )

    def present(self, event: Tip | Cheer, money: Money, *, hide_name: bool) -> Shown:
        """What of ``event`` may reach the stream (see :mod:`.moderation`)."""
        return self.moderator.present(
            name=event.viewer.name if event.viewer else "",
            message=event.message,
            money=money,
            anonymous=event.anonymous,
            hide_name=hide_name,
            tts_enabled=self.speech.enabled,
        )

    async def read_back(self, event: Event) -> Written | None:
        """What ``record_events`` wrote for ``event`` in an earlier life of the server (it
        was dispatched again after a restart); ``None`` when it wrote nothing."""
        row = await ledger.row_of(event.source, event.source_id)
        found = money_of(event)
        if row is None:
            if found is None or found[0].minor > 0:
                self.ctx.log.warning(
                    "%s %s:%s has no ledger row (the plugin was off when it came?); not "
                    "reacting to it",
                    event.type,
                    event.source,
                    event.source_id,
                )
            return None
        if row.reacted or found is None or self.sold_by_shop(event):
            # a refund, reactions that went out already, or the shop's to announce
            return Written(row.id, reacted=row.reacted)
        money, kind = found
        assert isinstance(event, Tip | Cheer)
        if await ledger.left_minor(row) <= 0:
            return Written(row.id)
        viewer = event.viewer
        hide = (
            viewer is not None
            and is_chat_viewer(viewer)
            and (await self.people.person(viewer)).hide_name
        )
        shown = self.present(event, money, hide_name=hide)
        queued = kind == "tip" and not await self.approval.held(row.id)
        return Written(
            row.id,
            Thank(shown.name, money, shown.message),
            speak=shown.message if queued and shown.speak else "",
        )
