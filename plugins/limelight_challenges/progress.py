"""Counting: events into contributions, contributions into run totals, totals into milestones.

Every write for one event happens in one transaction: the contribution (unique per run and
counting key, so a replay adds nothing), the run's new total, the achievement when the
target is reached, and the milestone claims (limelight.milestones). Money events are
counted in ``record_events``' transaction, so a tip's 2xx means its challenge progress is
on disk too; other events (chat, stream, custom) in a transaction of their own.

Windows: day, week and month windows roll over at local midnight (the scheduler runs
:meth:`Progress.roll` at the next boundary; tests call it after moving the clock);
stream windows open with ``stream.online`` and close with ``stream.offline``; date windows
open and close at their dates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from limelight import Event, MilestoneSpec, Money, PluginContext, Refund, ViewerRef, duration
from limelight.commit import Transaction
from limelight.milestones import ChatSay, Ladder, MilestoneState, transaction
from pydantic import TypeAdapter
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from .config import ChallengesConfig
from .metrics import MINUTES_LIVE, PER_VIEWER, Count, MetricInfo, Metrics
from .models import Challenge, Contribution, Run, StreamSpan
from .windows import calendar_window

log = logging.getLogger("limelight.plugin.challenges")

CALENDAR = ("day", "week", "month")
COMPLETED = "Completed"
_SPECS: TypeAdapter[list[MilestoneSpec]] = TypeAdapter(list[MilestoneSpec])


def aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Progress:
    def __init__(
        self, ctx: PluginContext[ChallengesConfig], metrics: Metrics, clock: Callable[[], datetime]
    ) -> None:
        self.ctx = ctx
        self.metrics = metrics
        self.clock = clock
        self.zone = ZoneInfo(ctx.config.timezone)
        self.challenges: dict[int, Challenge] = {}
        #: challenge id -> its open run
        self.open_runs: dict[int, Run] = {}
        self.open_span: StreamSpan | None = None
        self._ladders: dict[int, Ladder] = {}
        #: run id -> per-viewer counting keys written (see _known)
        self._seen: dict[int, set[tuple[str, str]]] = {}
        #: called (plain) after anything that changes what the overlay shows
        self.on_change: Callable[[], None] = lambda: None

    # -- loading ------------------------------------------------------------------------------

    async def load(self) -> None:
        """Read the challenges, their open runs and the open stream span again. The new
        state replaces the old in one step, after every read: between two reads the
        event loop runs other work (a batch of tips counting in ``record_events``, the
        dashboard's list), and it must see the old state or the new, never a half-read
        one (before, ``open_runs`` stood empty across a read, and a tip counted then
        went to no challenge)."""
        challenges = {c.id: c for c in await Challenge.all()}
        open_runs: dict[int, Run] = {}
        for run in await Run.filter(closed=False).order_by("id"):
            open_runs[run.challenge_id] = run
        open_span = await StreamSpan.filter(ended_at__isnull=True).order_by("-id").first()
        self.challenges, self.open_runs, self.open_span = challenges, open_runs, open_span
        self._ladders.clear()
        open_ids = {int(run.id) for run in self.open_runs.values()}
        self._seen = {k: v for k, v in self._seen.items() if k in open_ids}

    def forget_ladders(self) -> None:
        """A challenge's milestones changed: build its ladders again."""
        self._ladders.clear()

    # -- display ------------------------------------------------------------------------------

    def info(self, challenge: Challenge) -> MetricInfo:
        found = self.metrics.info(challenge.metric)
        if found is None:
            return MetricInfo(challenge.metric, challenge.metric, "count", "", "")
        return found

    def display(self, challenge: Challenge, amount: int) -> str:
        info = self.info(challenge)
        if info.kind == "money":
            return self.ctx.money(Money(amount, self.metrics.currency))
        if info.kind == "minutes":
            hours, minutes = divmod(max(0, amount), 60)
            # An amount, not a countdown (text.duration would round 100 hours to days),
            # in the same abbreviations: "2 h 15 min", "10 h", "45 min".
            if not hours:
                return f"{minutes} min"
            return f"{hours:,} h {minutes} min" if minutes else f"{hours:,} h"
        return f"{amount:,}" + (f" {info.unit}" if info.unit else "")

    def display_of(self, challenge: Challenge, total: int, target: int, joint: str = "/") -> str:
        """A total against its target: ``$310.00 / $200.00``, ``7 / 50 chatters`` (a count's
        unit once, not "7 chatters / 50 chatters"); ``joint="of"`` for prose."""
        info = self.info(challenge)
        if info.kind not in ("money", "minutes") and info.unit:
            return f"{total:,} {joint} {self.display(challenge, target)}"
        return f"{self.display(challenge, total)} {joint} {self.display(challenge, target)}"

    def live_total(self, challenge: Challenge, run: Run) -> int:
        """The run's total, with the minutes of a stream still live for minutes-live."""
        total = int(run.total)
        span = self.open_span
        if challenge.metric == MINUTES_LIVE and span is not None:
            now = self.clock()
            start = max(aware(span.started_at), aware(run.starts))
            end = min(now, aware(run.ends)) if run.ends is not None else now
            if end > start:
                total += int((end - start).total_seconds() // 60)
        return total

    # -- ladders ------------------------------------------------------------------------------

    def specs(self, challenge: Challenge) -> list[MilestoneSpec]:
        """The challenge's milestones plus the completion at its target (announcement and
        rewards), as one ladder."""
        specs = {s.at: s for s in _SPECS.validate_python(challenge.milestones)}
        rewards = list(_SPECS.validate_python([{"at": 1, "actions": challenge.rewards}])[0].actions)
        if self.ctx.config.announce:
            rewards.insert(0, ChatSay(do="chat", text=self.ctx.config.announce_text))
        at_target = specs.get(int(challenge.target))
        specs[int(challenge.target)] = MilestoneSpec(
            at=int(challenge.target),
            label=at_target.label if at_target and at_target.label else COMPLETED,
            actions=[*(at_target.actions if at_target else []), *rewards],
        )
        return sorted(specs.values(), key=lambda s: s.at)

    def ladder(self, challenge: Challenge, run: Run) -> Ladder:
        ladder = self._ladders.get(int(run.id))
        if ladder is None:
            ladder = Ladder(
                self.ctx,
                self.ctx.name,
                f"run:{run.id}",
                self.specs(challenge),
                values={
                    "challenge": challenge.title,
                    "target": self.display(challenge, int(challenge.target)),
                },
            )
            self._ladders[int(run.id)] = ladder
        return ladder

    async def view(
        self, challenge: Challenge, run: Run, *, fresh: bool = False
    ) -> list[MilestoneState]:
        return await self.ladder(challenge, run).view(self.live_total(challenge, run), fresh=fresh)

    async def settle(self) -> None:
        """Wait for the milestone actions started so far (tests)."""
        for ladder in list(self._ladders.values()):
            await ladder.settle()

    # -- counting -----------------------------------------------------------------------------

    def relevant(self, event: Event) -> bool:
        """Whether any running challenge counts ``event`` (checked before a transaction
        is opened for it: most chat lines matter to no challenge)."""
        if isinstance(event, Refund):
            return bool(self.open_runs)
        for challenge_id, run in self.open_runs.items():
            challenge = self.challenges.get(challenge_id)
            if challenge is not None and not challenge.paused:
                count = self.metrics.measure(challenge.metric, event)
                if count is not None and not self._known(int(run.id), count):
                    return True
        return False

    def _known(self, run_id: int, count: Count) -> bool:
        """Whether a per-viewer key (a chatter, a member) is known to be counted in the
        run already: a busy chat's every line would otherwise cost a transaction."""
        return count.source in PER_VIEWER and (count.source, count.source_id) in (
            self._seen.get(run_id, ())
        )

    def _remember(self, run_id: int, keys: list[tuple[str, str]]) -> None:
        known = self._seen.setdefault(run_id, set())
        known.update(keys)

    async def count(self, event: Event) -> bool:
        """Count ``event`` (chat, stream, custom: not in ``record_events``) towards every
        running challenge it matters to, in a transaction of its own; True when it added
        something."""
        try:
            async with transaction() as tx:
                return bool(await self.count_many([event], tx))
        except IntegrityError:
            async with transaction() as tx:
                return bool(await self.count_many([event], tx, careful=True))

    async def count_many(
        self, events: list[Event], tx: Transaction, *, careful: bool = False
    ) -> set[int | None]:
        """Count a batch of events (``record_events``' batch); returns the ids of those
        that added something.

        Per running window this costs the same few queries whatever the batch size: one
        read of which counting keys are already in, one insert of the new contributions,
        one update of the total. Under load the group-commit batches grow and the cost
        per event falls."""
        now = self.clock()
        counted: set[int | None] = set()
        per_run: dict[int, tuple[Challenge, Run, dict[tuple[str, str], tuple[Event, Count]]]] = {}
        refunds: list[Refund] = []
        for event in events:
            if event.test:
                continue
            if isinstance(event, Refund):
                refunds.append(event)  # after the batch's payments: it may refund one of them
                continue
            for challenge_id, run in list(self.open_runs.items()):
                challenge = self.challenges.get(challenge_id)
                if challenge is None or challenge.paused:
                    continue
                if aware(run.starts) > now or (run.ends is not None and aware(run.ends) <= now):
                    continue
                count = self.metrics.measure(challenge.metric, event)
                if count is None or count.amount <= 0:
                    continue
                _, _, items = per_run.setdefault(int(run.id), (challenge, run, {}))
                # The first of two events with one counting key (a chatter's two lines).
                items.setdefault((count.source[:80], count.source_id[:200]), (event, count))
        if careful:
            # One by one in savepoints (after a batch met a row another process wrote).
            for challenge, run, items in per_run.values():
                for event, count in items.values():
                    if await self.add(challenge, run, count, tx):
                        counted.add(event.id)
        elif per_run:
            counted.update(event.id for event in await self._add_all(per_run, tx))
        for refund in refunds:
            if await self._refund(refund, tx):
                counted.add(refund.id)
        return counted

    async def _add_all(
        self,
        per_run: dict[int, tuple[Challenge, Run, dict[tuple[str, str], tuple[Event, Count]]]],
        tx: Transaction,
    ) -> list[Event]:
        conn = tx.connection
        keys = sorted({key[1] for _, _, items in per_run.values() for key in items})
        existing = {
            (int(run_id), str(source), str(source_id))
            for run_id, source, source_id in await Contribution.filter(
                run_id__in=list(per_run), source_id__in=keys
            )
            .using_db(conn)
            .values_list("run_id", "source", "source_id")
        }
        for run_id, (_, _, items) in per_run.items():
            per_viewer = [key for key in items if key[0] in PER_VIEWER]
            if per_viewer:
                tx.on_commit(partial(self._remember, run_id, per_viewer))
        now = self.clock()
        rows: list[Contribution] = []
        added: dict[int, tuple[Challenge, Run, int]] = {}
        events: list[Event] = []
        for run_id, (challenge, run, items) in per_run.items():
            amount = 0
            for (source, source_id), (event, count) in items.items():
                if (run_id, source, source_id) in existing:
                    continue  # counted before: a replay, a chatter's second line
                viewer = count.viewer
                rows.append(
                    Contribution(
                        run_id=run_id,
                        source=source,
                        source_id=source_id,
                        amount=count.amount,
                        viewer_platform=viewer.platform if viewer else None,
                        viewer_id=viewer.id if viewer else None,
                        viewer_name=viewer.name if viewer else None,
                        created_at=now,
                    )
                )
                amount += count.amount
                events.append(event)
            if amount:
                added[run_id] = (challenge, run, amount)
        if not rows:
            return []
        # No savepoint: a conflict here means another process counted one of these
        # meanwhile; this plugin's part of the transaction then fails and is written
        # again event by event (the core does that for record_events, on_event retries).
        await Contribution.bulk_create(rows, using_db=conn)
        for run_id, (_, _, amount) in added.items():
            await Run.filter(id=run_id).using_db(conn).update(total=F("total") + amount)
        totals = dict(
            await Run.filter(id__in=list(added)).using_db(conn).values_list("id", "total")
        )
        for run_id, (challenge, run, _) in added.items():
            await self._reached(challenge, run, int(totals[run_id]), tx)
        return events

    async def _total(self, run_id: int, tx: Transaction) -> int:
        row = await Run.filter(id=run_id).using_db(tx.connection).first()
        return int(row.total) if row is not None else 0

    async def add(self, challenge: Challenge, run: Run, count: Count, tx: Transaction) -> bool:
        """Add one contribution (once per counting key) and claim what it reaches."""
        conn = tx.connection
        viewer = count.viewer
        try:
            async with tx.savepoint():
                await Contribution.create(
                    using_db=conn,
                    run_id=run.id,
                    source=count.source[:80],
                    source_id=count.source_id[:200],
                    amount=count.amount,
                    viewer_platform=viewer.platform if viewer else None,
                    viewer_id=viewer.id if viewer else None,
                    viewer_name=viewer.name if viewer else None,
                    created_at=self.clock(),
                )
        except IntegrityError:
            return False  # counted before (a replay, a chatter's second line)
        await Run.filter(id=run.id).using_db(conn).update(total=F("total") + count.amount)
        await self._reached(challenge, run, await self._total(int(run.id), tx), tx)
        return True

    async def _reached(self, challenge: Challenge, run: Run, total: int, tx: Transaction) -> None:
        """The run's total is now ``total``: record the achievement and claim the
        milestones it reaches, in ``tx``."""
        conn = tx.connection
        if total >= int(challenge.target):
            # The creator's achievement: recorded once, with the contribution that made it.
            await (
                Run.filter(id=run.id, completed_at__isnull=True)
                .using_db(conn)
                .update(completed_at=self.clock())
            )
        ladder = self.ladder(challenge, run)
        if await ladder.due(total, tx):
            await ladder.reach(
                total,
                contributors=await self.contributors(int(run.id), tx),
                values={
                    "total": self.display(challenge, total),
                    "progress": self.display_of(challenge, total, int(challenge.target), "of"),
                },
                tx=tx,
            )
        tx.on_commit(partial(self._note_total, int(run.id), total))

    def _note_total(self, run_id: int, total: int) -> None:
        for run in self.open_runs.values():
            if run.id == run_id:
                run.total = total
        self.on_change()

    async def contributors(self, run_id: int, tx: Transaction | None = None) -> list[ViewerRef]:
        query = Contribution.filter(run_id=run_id, viewer_id__isnull=False, amount__gt=0)
        if tx is not None:
            query = query.using_db(tx.connection)
        rows = await query.values_list("viewer_platform", "viewer_id", "viewer_name")
        seen: dict[tuple[str, str], ViewerRef] = {}
        for platform, vid, name in rows:
            seen[(str(platform), str(vid))] = ViewerRef(str(platform), str(vid), str(name or ""))
        return list(seen.values())

    async def _refund(self, refund: Refund, tx: Transaction) -> bool:
        """Take back what the refunded payment added, in every run it counted in (money
        metrics: the refunded part, converted; never below zero for that payment)."""
        conn = tx.connection
        rows = await Contribution.filter(
            source=refund.original_source[:80], source_id=refund.original_id[:200]
        ).using_db(conn)
        minor = self.metrics.convert(refund.amount)
        taken = False
        for row in rows:
            run = await Run.filter(id=row.run_id).using_db(conn).first()
            challenge = self.challenges.get(run.challenge_id) if run else None
            if run is None or challenge is None or self.info(challenge).kind != "money":
                continue
            earlier = await Contribution.filter(
                run_id=run.id,
                source="refund",
                source_id__startswith=f"{row.source}:{row.source_id}:",
            ).using_db(conn)
            already = sum(int(e.amount) for e in earlier)
            left = int(row.amount) + already
            amount = min(left, minor if minor is not None else left)
            if amount <= 0:
                continue
            try:
                async with tx.savepoint():
                    await Contribution.create(
                        using_db=conn,
                        run_id=run.id,
                        source="refund",
                        source_id=f"{row.source}:{row.source_id}:{refund.source}:{refund.source_id}"[
                            :200
                        ],
                        amount=-amount,
                        viewer_platform=row.viewer_platform,
                        viewer_id=row.viewer_id,
                        viewer_name=row.viewer_name,
                        created_at=self.clock(),
                    )
            except IntegrityError:
                continue
            await Run.filter(id=run.id).using_db(conn).update(total=F("total") - amount)
            total = await self._total(int(run.id), tx)
            tx.on_commit(partial(self._note_total, int(run.id), total))
            taken = True
        return taken

    # -- streams ------------------------------------------------------------------------------

    async def stream_online(self, event: Event) -> None:
        if event.test:
            return
        started = aware(event.occurred_at)
        async with transaction() as tx:
            if await StreamSpan.filter(ended_at__isnull=True).using_db(tx.connection).exists():
                return  # already live (a second notice for the same stream)
            try:
                async with tx.savepoint():
                    span = await StreamSpan.create(
                        using_db=tx.connection,
                        online_key=f"{event.source}:{event.source_id}"[:300],
                        started_at=started,
                    )
            except IntegrityError:
                return  # this online notice was handled before
            for challenge in self.challenges.values():
                if challenge.window != "stream":
                    continue
                if not challenge.recurring and (
                    await Run.filter(challenge_id=challenge.id).using_db(tx.connection).exists()
                ):
                    continue
                await _open_run(challenge, f"stream-{span.id}", started, None, tx)
        await self.load()
        self.on_change()

    async def stream_offline(self, event: Event) -> None:
        if event.test:
            return
        ended = aware(event.occurred_at)
        async with transaction() as tx:
            conn = tx.connection
            span = (
                await StreamSpan.filter(ended_at__isnull=True)
                .using_db(conn)
                .order_by("-id")
                .first()
            )
            if span is None:
                return  # not live: nothing to count
            started = aware(span.started_at)
            ended = max(ended, started)
            await StreamSpan.filter(id=span.id).using_db(conn).update(ended_at=ended)
            for challenge in self.challenges.values():
                if challenge.metric != MINUTES_LIVE:
                    continue
                runs = await Run.filter(challenge_id=challenge.id, starts__lt=ended).using_db(conn)
                for run in runs:
                    start = max(started, aware(run.starts))
                    end = min(ended, aware(run.ends)) if run.ends is not None else ended
                    minutes = int((end - start).total_seconds() // 60)
                    if minutes > 0:
                        await self.add(
                            challenge, run, Count(minutes, "stream", f"span-{span.id}", None), tx
                        )
            stream_ids = [c.id for c in self.challenges.values() if c.window == "stream"]
            if stream_ids:
                await (
                    Run.filter(challenge_id__in=stream_ids, closed=False, ends__isnull=True)
                    .using_db(conn)
                    .update(closed=True, ends=ended)
                )
        await self.load()
        self.on_change()

    # -- windows ------------------------------------------------------------------------------

    async def roll(self) -> datetime | None:
        """Open and close windows for the clock's time; returns when the next boundary is
        (the plugin schedules the next roll there)."""
        now = self.clock()
        await self.load()
        upcoming: list[datetime] = []
        for challenge in self.challenges.values():
            run = self.open_runs.get(challenge.id)
            if challenge.window in CALENDAR:
                window = calendar_window(
                    challenge.window, now, self.zone, self.ctx.config.week_starts
                )
                if window.ends is not None:
                    upcoming.append(window.ends)
                if run is not None and run.key == window.key:
                    continue
                async with transaction() as tx:
                    if run is not None:
                        await _close(run, tx)
                    if not challenge.recurring and (
                        await Run.filter(challenge_id=challenge.id).using_db(tx.connection).exists()
                    ):
                        continue
                    await _open_run(challenge, window.key, window.starts, window.ends, tx)
            elif challenge.window == "dates" and challenge.starts and challenge.ends:
                starts, ends = aware(challenge.starts), aware(challenge.ends)
                async with transaction() as tx:
                    if starts <= now < ends:
                        upcoming.append(ends)
                        if run is None:
                            await _open_run(challenge, "dates", starts, ends, tx)
                    elif now >= ends:
                        if run is not None:
                            await _close(run, tx)
                    else:
                        upcoming.append(starts)
        await self.load()
        self.on_change()
        return min(upcoming) if upcoming else None


async def _open_run(
    challenge: Challenge, key: str, starts: datetime, ends: datetime | None, tx: Transaction
) -> None:
    try:
        async with tx.savepoint():
            await Run.create(
                using_db=tx.connection,
                challenge_id=challenge.id,
                key=key,
                starts=starts,
                ends=ends,
            )
    except IntegrityError:
        # Opened before (another process rolled over first, or a restart): reopen it.
        await (
            Run.filter(challenge_id=challenge.id, key=key)
            .using_db(tx.connection)
            .update(closed=False)
        )


async def _close(run: Run, tx: Transaction) -> None:
    await Run.filter(id=run.id).using_db(tx.connection).update(closed=True)


def window_text(challenge: Challenge, run: Run | None, now: datetime) -> str:
    """How long the window has left (\"2 days 4 h left\"), for the dashboard, the overlay
    and ``!challenges``."""
    if run is None or run.ends is None:
        return ""
    left = aware(run.ends) - now
    if left <= timedelta(0):
        return "ended"
    return duration(left) + " left"


__all__ = ["Progress", "aware", "window_text"]
