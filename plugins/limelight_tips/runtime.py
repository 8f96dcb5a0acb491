"""The running tips plugin: ledger writes, reactions, approval queue, leaderboard.

One :class:`Runtime` lives per server. The hook functions in ``__init__`` hand it the
plugin context at startup and every event after.

Order of work for a tip. What must be durable is written in the bus's transaction
(``record_events``), so the tip, its ledger row and its alert are on disk together before
the provider gets its 2xx, at one disk flush per batch of concurrent deliveries:

1. the ledger row,
2. what may be shown (anonymity, name opt-out, filters, minimum amount),
3. the alert in the overlay outbox, or the approval queue when the message needs a look.

Then, live (``on_event``):

4. the chat thank-you (merged with others arriving in the same few seconds),
5. the leaderboard and goal (recomputed at most twice a second, whatever the burst),
6. the row is marked ``reacted``, so a replay after a crash does not react twice.

Test tips, events dispatched again after a restart and batches whose writes failed take
steps 1-3 in ``on_event`` instead, idempotently: a replay finds its ledger row and the
outbox refuses a second alert for the same event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from limelight import Cheer, Event, Money, Refund, StreamOnline, Tip, Transaction, ViewerRef
from limelight.webhooks import WebhookError

from . import ledger
from .attribution import Links
from .config import TipsConfig, load_webhooks
from .ledger import Converter, display
from .models import LedgerEntry, PendingAlert, TipsState
from .moderation import Moderator, Shown

log = logging.getLogger("limelight.plugin.tips")

PERIOD_TITLES = {"stream": "This stream", "month": "This month", "all": "All time"}
BOARD_KEYS = {"stream": "stream", "month": "month", "all": "all_time"}
LEADERBOARD_INTERVAL = 1.0
#: The browser source that reads approved messages aloud (speech synthesis in the page).
TTS_OVERLAY = "tips-tts"


@dataclass(slots=True)
class Person:
    """What a tip needs of the core viewer: who they are across platforms, their opt-out."""

    pk: int
    name: str
    hide_name: bool
    fresh_until: float


#: Platforms that name a payer rather than a chat viewer (see ``providers.common.supporter``).
PROVIDERS = frozenset({"kofi", "stripe", "generic"})
#: Seconds a cached viewer is trusted before the core's table is read again.
PERSON_TTL = 10.0


@dataclass(slots=True)
class Written:
    """What the durable part of a tip left behind, for the live part."""

    entry: LedgerEntry | None
    shown: Shown
    #: False for a tip whose refund arrived first: counted, but not alerted or thanked.
    announce: bool = True
    #: The message to read aloud once the tip is committed ("" for none).
    speak: str = ""


@dataclass(slots=True)
class Thank:
    name: str
    money: Money
    message: str


class Thanks:
    """Chat thank-yous, merged when a burst arrives so chat is not flooded."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.pending: list[Thank] = []
        self._task: asyncio.Task[None] | None = None

    async def add(self, thank: Thank) -> None:
        self.pending.append(thank)
        if self.runtime.config.thanks_window <= 0:
            await self.flush()
        elif self._task is None or self._task.done():
            self._task = asyncio.create_task(self._after_window(), name="tips:thanks")

    async def _after_window(self) -> None:
        await asyncio.sleep(self.runtime.config.thanks_window)
        await self.flush()

    async def flush(self) -> None:
        batch, self.pending = self.pending, []
        if not batch:
            return
        text = self.text(batch)
        chat = self.runtime.ctx.chat if self.runtime.ctx is not None else None
        if chat is None:
            return
        try:
            await chat.say(text, priority="money")
        except Exception:
            log.exception("could not send the chat thank-you")

    def text(self, batch: list[Thank]) -> str:
        config = self.runtime.config
        if len(batch) == 1:
            one = batch[0]
            return _fill(
                config.thanks_template,
                name=one.name,
                amount=display(one.money),
                message=one.message,
            )
        names: list[str] = []
        for thank in batch:
            if thank.name not in names:
                names.append(thank.name)
        amounts = ", ".join(display(t.money) for t in batch)
        return _fill(
            config.thanks_burst_template,
            names=_join_names(names),
            count=str(len(batch)),
            amounts=amounts,
        )

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self.flush()


def _join_names(names: list[str], limit: int = 5) -> str:
    if len(names) > limit:
        rest = len(names) - limit + 1
        return ", ".join(names[: limit - 1]) + f" and {rest} others"
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]


def _fill(template: str, **values: str) -> str:
    out = template
    for key, value in values.items():
        out = out.replace("{" + key + "}", value)
    return out


class Runtime:
    def __init__(self) -> None:
        self.ctx: Any = None
        self.config = TipsConfig()
        self.webhooks: dict[str, Any] = {}
        self.converter = Converter.from_config(self.config)
        self.moderator = Moderator(self.config, self.converter)
        self.links: Links | None = None
        self.thanks = Thanks(self)
        self.stream_started: datetime | None = None
        self.tts_killed = False
        self._dirty = asyncio.Event() if _has_loop() else None
        self._refresher: asyncio.Task[None] | None = None
        self.boards: dict[str, Any] = {}
        self._people: dict[tuple[str, str], Person] = {}
        self._reacted: set[int] = set()
        #: ``refund_of`` keys of refunds whose tip has not arrived (see ``adopt_refunds``).
        self._orphans: set[str] = set()
        #: Event id -> what ``record_events`` committed for it, until ``on_event`` runs.
        self._written: dict[int, Written] = {}

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self, ctx: Any) -> None:
        self.ctx = ctx
        self.config = ctx.config if isinstance(ctx.config, TipsConfig) else TipsConfig()
        self.webhooks = load_webhooks(ctx.settings.webhooks)
        self.converter = Converter.from_config(self.config)
        self.moderator = Moderator(self.config, self.converter)
        secret = self.config.link_secret or ctx.settings.security.admin_token
        self.links = (
            Links(
                secret,
                link_ttl=timedelta(minutes=self.config.link_ttl_minutes),
                code_ttl=timedelta(days=self.config.code_ttl_days),
            )
            if secret
            else None
        )
        self.thanks = Thanks(self)
        self._people = {}
        self._reacted = set()
        self._written = {}
        self._orphans = await ledger.orphan_refund_keys()
        started = await TipsState.get_or_none(key="stream_started")
        if started is not None and started.value.get("at"):
            self.stream_started = datetime.fromisoformat(started.value["at"])
        tts = await TipsState.get_or_none(key="tts")
        self.tts_killed = bool(tts and tts.value.get("killed"))
        self._dirty = asyncio.Event()
        self._dirty.set()
        self._refresher = asyncio.create_task(self._refresh_loop(), name="tips:leaderboard")
        if not self.webhooks:
            log.info(
                "no tip provider is configured; add [webhooks.kofi], [webhooks.stripe] "
                "or [webhooks.generic] (see docs/tips.md)"
            )

    async def stop(self) -> None:
        await self.thanks.stop()
        try:
            await self.flush_reacted()
        except Exception:
            log.exception("could not mark the last reactions as done")
        if self._refresher is not None:
            self._refresher.cancel()
            try:
                await self._refresher
            except asyncio.CancelledError:
                pass
            self._refresher = None

    def webhook(self, name: str) -> Any:
        """The validated ``[webhooks.<name>]`` table, or a 404 saying how to set it up."""
        if self.ctx is None:
            raise WebhookError(503, "the tips plugin is starting; retry later")
        settings = self.webhooks.get(name)
        if settings is None:
            raise WebhookError(
                404,
                f"the {name} provider is not configured: add "
                f"[webhooks.{name}] to the config (see docs/tips.md)",
            )
        return settings

    @property
    def tts_enabled(self) -> bool:
        return self.config.tts and not self.tts_killed

    # -- events ----------------------------------------------------------------------------

    @staticmethod
    def money_of(event: Event) -> tuple[Money, str] | None:
        """The amount and ledger kind of a tip or a cheer; ``None`` for other events."""
        if isinstance(event, Tip):
            return event.amount, "tip"
        if isinstance(event, Cheer):
            return Money(event.bits, "BITS"), "cheer"
        return None

    async def record_events(self, events: list[Event], tx: Transaction) -> None:
        """The durable part of new tips, cheers and refunds, in the bus's transaction."""
        for event in events:
            if isinstance(event, Refund):
                await self.apply_refund(event, tx)
                continue
            found = self.money_of(event)
            if found is not None and found[0].minor > 0:
                written = await self.write(event, *found, tx)
                if written is not None and event.id is not None:
                    tx.on_commit(lambda i=event.id, w=written: self._keep(i, w))

    def _keep(self, event_id: int, written: Written) -> None:
        if len(self._written) > 100_000:  # on_event never came (the plugin was switched off)
            self._written.clear()
        self._written[event_id] = written

    async def on_event(self, event: Event) -> None:
        found = self.money_of(event)
        if found is not None:
            await self.on_money(event, *found)
        elif isinstance(event, Refund):
            if not event.test and self._written.pop(event.id or 0, None) is None:
                await self.apply_refund(event)
        elif isinstance(event, StreamOnline) and not event.test:
            await self.set_stream_start(event.occurred_at)

    async def on_money(self, event: Tip | Cheer, money: Money, kind: str) -> None:
        if money.minor <= 0:
            log.warning(
                "ignoring %s %s:%s with a non-positive amount", kind, event.source, event.source_id
            )
            return
        written = self._written.pop(event.id, None) if event.id is not None else None
        if written is None:
            written = await self.write(event, money, kind, None)
            if written is None:
                return  # a replay of an event whose reactions already went out
        shown = written.shown
        if written.speak:
            await self.speak(written.speak)
        if self.config.thanks and not event.test and written.announce:
            await self.thanks.add(Thank(shown.name, money, shown.message))
        if written.entry is not None:
            self._reacted.add(written.entry.id)
            self.mark_dirty()

    async def write(
        self, event: Tip | Cheer, money: Money, kind: str, tx: Transaction | None
    ) -> Written | None:
        """The ledger row and the alert (or approval-queue item) of one tip or cheer.

        In ``tx`` (``record_events``) both are plain inserts that commit with the event.
        Without (``on_event``: test events, replays, a failed batch) each write stands
        alone and is idempotent; ``None`` means a replay whose reactions already went out.
        """
        viewer = event.viewer
        # Payers known only to a provider (no tip code) are not chat viewers: no core row.
        person = (
            await self.person(viewer, tx)
            if viewer is not None and (viewer.platform not in PROVIDERS)
            else None
        )
        entry: LedgerEntry | None = None
        replayed = False
        announce = True
        if not event.test:
            recorded = await ledger.record(
                provider=event.source,
                provider_id=event.source_id,
                kind=kind,
                money=money,
                detail=getattr(event, "kind", "") or getattr(event, "provider", ""),
                viewer_pk=person.pk if person is not None else None,
                viewer_platform=viewer.platform if viewer else "",
                viewer_id=viewer.id if viewer else "",
                viewer_name=viewer.name if viewer else "",
                anonymous=event.anonymous,
                message=event.message,
                occurred_at=event.occurred_at,
                event_id=event.id,
                in_transaction=tx is not None,
            )
            entry = recorded.entry
            if entry.reacted or entry.id in self._reacted:
                return None
            replayed = not recorded.created
            announce = await self.adopt_refunds(entry, tx, replayed)
        shown = self.moderator.present(
            name=viewer.name if viewer else "",
            message=event.message,
            money=money,
            anonymous=event.anonymous,
            hide_name=bool(person is not None and person.hide_name),
            tts_enabled=self.tts_enabled,
        )
        data = self.alert_data(event, money, kind, shown)
        if not announce:
            log.info(
                "%s %s:%s arrived after its full refund: recorded, not announced",
                kind,
                event.source,
                event.source_id,
            )
            return Written(entry, shown, announce=False)
        if kind == "cheer":
            pass  # the alerts plugin shows cheers; here they count and are thanked
        elif self.config.approval and shown.message:
            if not (
                replayed and entry is not None and await PendingAlert.exists(entry_id=entry.id)
            ):
                await PendingAlert.create(
                    entry_id=entry.id if entry else None,
                    kind=kind,
                    name=shown.name,
                    amount=display(money),
                    message=shown.message,
                    payload=data,
                    test=event.test,
                )
        else:
            await self.push_alert(kind, data, money, event, tx=tx, speak=False)
            if data.get("tts") and self.tts_enabled:
                return Written(entry, shown, speak=data["tts"])
        return Written(entry, shown)

    async def adopt_refunds(
        self, entry: LedgerEntry, tx: Transaction | None, replayed: bool
    ) -> bool:
        """Link refunds that arrived before this tip (providers do not promise order);
        ``False`` when they give all of it back, so the tip is not announced."""
        key = ledger.key_of(entry.provider, entry.provider_id)
        if key in self._orphans:
            given_back = await ledger.adopt_refunds(entry)
            self._after(tx, lambda: self._orphans.discard(key))
        elif replayed:  # adopted in an earlier life, which ended before the reactions
            given_back = await ledger.refunded_minor(entry)
        else:
            return True
        return given_back < entry.amount_minor

    @staticmethod
    def _after(tx: Transaction | None, change: Callable[[], Any]) -> None:
        """Change memory now, or once ``tx`` has committed."""
        if tx is not None:
            tx.on_commit(change)
        else:
            change()

    async def person(self, viewer: ViewerRef, tx: Transaction | None = None) -> Person:
        """The core viewer behind ``viewer``, cached briefly: a burst of tips from regulars
        costs no viewer query (``!tipname`` refreshes the cache at once). In ``tx`` the
        cache learns a new viewer only once the transaction has committed."""
        now = time.monotonic()
        cached = self._people.get(viewer.key)
        if cached is not None and cached.fresh_until > now and cached.name == viewer.name:
            return cached
        row = await self.ctx.viewers.get_or_create(viewer)
        person = Person(row.id, viewer.name, bool(row.hide_name), now + PERSON_TTL)
        self._after(tx, lambda: self._cache_person(viewer, person))
        return person

    def _cache_person(self, viewer: ViewerRef, person: Person) -> None:
        if len(self._people) > 50_000:
            self._people.clear()
        self._people[viewer.key] = person

    def forget_person(self, viewer: ViewerRef) -> None:
        self._people.pop(viewer.key, None)

    async def flush_reacted(self) -> None:
        """Mark ledger rows whose reactions went out, in one statement per batch. A mark
        lost in a crash only means the overlay dedupes the replayed alert."""
        if not self._reacted:
            return
        ids, self._reacted = self._reacted, set()
        try:
            await LedgerEntry.filter(id__in=sorted(ids)).update(reacted=True)
        except Exception:
            self._reacted |= ids
            raise

    def alert_data(
        self, event: Tip | Cheer, money: Money, kind: str, shown: Shown
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": shown.name,
            "amount": money.to_wire(),
            "currency": money.currency,
            "display_amount": display(money),
            "message": shown.message,
            "provider": getattr(event, "provider", "") or event.source,
            "anonymous": event.anonymous,
        }
        if kind == "cheer":
            data["bits"] = money.minor
            value = self.converter.value_of_bits(money.minor)
            data["value"] = value.to_wire()
            data["value_currency"] = value.currency
        if shown.speak:
            data["tts"] = shown.message
        return data

    async def push_alert(
        self,
        kind: str,
        data: dict[str, Any],
        money: Money,
        event: Event | None,
        *,
        test: bool = False,
        tx: Transaction | None = None,
        speak: bool = True,
    ) -> None:
        """Queue the alert (in ``tx`` when given: stored with the event, sent on commit)
        and, with ``speak``, hand its message to the speech overlay (tips leave that to
        ``on_event``, once the tip is committed)."""
        overlays = self.ctx.overlays if self.ctx is not None else None
        if overlays is None:
            return
        overlay = self.config.alerts_overlay
        count = money.minor if kind == "cheer" else None
        variation = overlays.variation(kind, money, overlay=overlay, count=count)
        base = self.converter.to_base(money)
        if variation.min_amount is None and base is not None and base != money:
            # no tier in the tip's own currency: try the tiers of the base currency
            in_base = overlays.variation(kind, base, overlay=overlay, count=count)
            if in_base.min_amount is not None:
                variation = in_base
        test = test or bool(event is not None and event.test)
        if tx is not None:
            # in the transaction a failure must roll back this plugin's part (and leave the
            # tip to on_event), not be swallowed
            await overlays.alert(
                overlay, kind=kind, data=data, test=test, event=event, variation=variation, tx=tx
            )
        else:
            try:
                await overlays.alert(
                    overlay, kind=kind, data=data, test=test, event=event, variation=variation
                )
            except Exception:
                log.exception("could not queue the %s alert on overlay %s", kind, overlay)
                return
        if speak and data.get("tts") and self.tts_enabled:
            await self.speak(data["tts"])

    async def speak(self, text: str) -> None:
        """Send an approved message to the speech overlay (a live message, never stored)."""
        overlays = self.ctx.overlays if self.ctx is not None else None
        if overlays is None:
            return
        try:
            await overlays.send(TTS_OVERLAY, "tts.say", {"text": text})
        except Exception:
            log.exception("could not send the message to the speech overlay")

    # -- refunds ---------------------------------------------------------------------------

    async def apply_refund(self, event: Refund, tx: Transaction | None = None) -> LedgerEntry:
        """The negative row for ``event``; idempotent like every ledger write (in ``tx``:
        a plain insert that commits with the event)."""
        original = await LedgerEntry.get_or_none(
            provider=event.original_source, provider_id=event.original_id
        )
        money = event.amount
        key = ledger.key_of(event.original_source, event.original_id)
        if original is None:
            log.warning(
                "refund %s:%s points at %s:%s, which is not in the ledger yet; it is linked "
                "to the tip when the tip arrives",
                event.source,
                event.source_id,
                event.original_source,
                event.original_id,
            )
        elif original.currency != money.currency:
            log.warning(
                "refund %s:%s is in %s but the tip was in %s",
                event.source,
                event.source_id,
                money.currency,
                original.currency,
            )
        else:
            left = original.amount_minor - await ledger.refunded_minor(original)
            if money.minor > left:
                log.warning(
                    "refund %s:%s of %s is more than the %s left of the tip",
                    event.source,
                    event.source_id,
                    display(money),
                    display(Money(left, money.currency)),
                )
        recorded = await ledger.record(
            provider=event.source,
            provider_id=event.source_id,
            kind="refund",
            money=-money,
            **ledger.payer_of(original),
            occurred_at=event.occurred_at,
            event_id=event.id,
            original=original,
            reason=event.reason,
            detail="refund",
            refund_of=key,
            in_transaction=tx is not None,
        )
        if original is None and recorded.created:
            self._after(tx, lambda: self._orphans.add(key))
        if tx is not None:
            entry, event_id = recorded.entry, event.id
            tx.on_commit(lambda: self._refunded(entry, written_for=event_id))
        elif recorded.created:
            self._refunded(recorded.entry)
        return recorded.entry

    def _refunded(self, entry: LedgerEntry, written_for: int | None = None) -> None:
        if written_for is not None:  # tells on_event the row is already written
            self._keep(written_for, Written(entry, Shown("", "")))
        self._reacted.add(entry.id)
        self.mark_dirty()

    async def refund_by_hand(
        self, entry: LedgerEntry, amount: Money | None, reason: str
    ) -> tuple[LedgerEntry, bool]:
        """Refund ``entry`` from the dashboard: published as a :class:`Refund` so other
        plugins reverse what the tip granted. Keyed by what was refunded before, so a
        double click refunds once."""
        if entry.kind not in ("tip", "cheer"):
            raise ValueError("only tips and cheers can be refunded")
        already = await ledger.refunded_minor(entry)
        left = entry.amount_minor - already
        if left <= 0:
            raise ValueError("this tip is already fully refunded")
        money = amount if amount is not None else Money(left, entry.currency)
        if money.currency != entry.currency:
            raise ValueError(f"the refund must be in {entry.currency}")
        if not 0 < money.minor <= left:
            raise ValueError(
                f"the refund must be more than zero and at most "
                f"{display(Money(left, entry.currency))}"
            )
        event = Refund(
            source="tips",
            source_id=f"manual:{entry.id}:{already}",
            amount=money,
            original_source=entry.provider,
            original_id=entry.provider_id,
            reason=reason or "marked as refunded in the dashboard",
        )
        accepted = await self.ctx.publish(event)
        if accepted.duplicate:
            row = await LedgerEntry.get_or_none(provider="tips", provider_id=event.source_id)
            if row is not None:
                return row, False
        return await self.apply_refund(event), True

    # -- approval queue ----------------------------------------------------------------------

    async def decide(self, pending_id: int, approve: bool) -> PendingAlert | None:
        """Approve (alert with the message) or reject (alert without it). Only the first
        decision counts; ``None`` when there is nothing pending with that id."""
        status = "approved" if approve else "rejected"
        changed = await PendingAlert.filter(id=pending_id, status="pending").update(
            status=status, decided_at=datetime.now(UTC)
        )
        if not changed:
            return None
        row = await PendingAlert.get(id=pending_id)
        data = dict(row.payload)
        if not approve:
            data["message"] = ""
            data.pop("tts", None)
        money = Money.parse(data["amount"], data["currency"])
        await self.push_alert(row.kind, data, money, None, test=row.test)
        return row

    # -- stream, leaderboard, goal --------------------------------------------------------------

    async def set_stream_start(self, when: datetime) -> None:
        self.stream_started = when
        await TipsState.update_or_create(
            key="stream_started", defaults={"value": {"at": when.isoformat()}}
        )
        self.mark_dirty()

    async def set_tts_killed(self, killed: bool) -> None:
        self.tts_killed = killed
        await TipsState.update_or_create(key="tts", defaults={"value": {"killed": killed}})
        overlays = self.ctx.overlays if self.ctx is not None else None
        if killed and overlays is not None:
            try:
                await overlays.send(TTS_OVERLAY, "tts.stop", {})
            except Exception:
                log.exception("could not tell the alerts overlay to stop speaking")

    def mark_dirty(self) -> None:
        if self._dirty is not None:
            self._dirty.set()

    async def _refresh_loop(self) -> None:
        assert self._dirty is not None
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            started = time.monotonic()
            try:
                await self.flush_reacted()
                await self.refresh()
            except Exception:
                log.exception("could not update the leaderboard")
            # Under a burst the database is busy: refresh less often rather than compete.
            await asyncio.sleep(max(LEADERBOARD_INTERVAL, 4 * (time.monotonic() - started)))

    async def board(self, period: str, size: int | None = None) -> dict[str, Any]:
        since = ledger.period_start(period, self.stream_started)
        board = await ledger.leaderboard(
            self.converter, since=since, size=size or self.config.leaderboard_size
        )
        for entry in board["entries"]:
            ref = entry.pop("viewer")
            if ref is not None and (await self.person(ViewerRef(*ref, entry["name"]))).hide_name:
                entry["name"] = "Anonymous supporter"
        board["title"] = PERIOD_TITLES[period]
        board["period"] = period
        return board

    async def refresh(self) -> None:
        """Recompute the boards and the goal and hand them to the overlays."""
        for period, key in BOARD_KEYS.items():
            self.boards[key] = await self.board(period)
        overlays = self.ctx.overlays if self.ctx is not None else None
        if overlays is None:
            return
        for key, data in self.boards.items():
            await overlays.set_state(self.config.leaderboard_overlay, key, data)
        goal = await self.goal()
        if goal is not None:
            await overlays.set_state(self.config.goal_overlay, "tips", goal)

    async def goal(self) -> dict[str, Any] | None:
        config = self.config
        if not config.goal_target:
            return None
        since = ledger.period_start(config.goal_period, self.stream_started)
        current = await ledger.total_in(self.converter, since=since)
        target = ledger.parse_threshold(config.goal_target, current.currency)
        percent = (
            0 if target.minor <= 0 else min(100, max(0, round(100 * current.minor / target.minor)))
        )
        return {
            "title": config.goal_title,
            # the goal overlay compares numbers in one unit: minor units here
            "current": current.minor,
            "target": target.minor,
            "unit": current.currency,
            "amount": current.to_wire(),
            "target_amount": target.to_wire(),
            "currency": current.currency,
            "percent": percent,
            "label": f"{display(current)} / {display(target)}",
        }

    async def top_line(self, size: int = 3) -> str:
        board = await self.board(self.config.top_period, size)
        if not board["entries"]:
            return f"No tips yet ({board['title'].lower()}). Type !tip to be the first!"
        parts = [f"{e['rank']}. {e['name']} {e['display']}" for e in board["entries"]]
        return f"Top supporters ({board['title'].lower()}): " + ", ".join(parts)

    async def tip_link(self, viewer: ViewerRef) -> str:
        if self.links is None:
            raise RuntimeError(
                "tip links need [security] admin_token or [plugins.tips] link_secret"
            )
        code = await self.links.issue(viewer)
        return self.ctx.url(f"/p/tips/go/{self.links.sign(code.code)}")


def _has_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
