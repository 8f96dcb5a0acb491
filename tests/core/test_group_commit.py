"""Group commit and ``record_events``, on SQLite and PostgreSQL.

Concurrent publishers share one transaction; each is answered only after it commits; one
bad event fails alone; plugins' rows commit with the events or, when the plugin fails, not
at all while the events still do, and the core writes them again in a fresh transaction
before that plugin's ``on_event`` (or at the next start).
"""

from __future__ import annotations

import asyncio
from typing import Any

import limelight.bus as bus_module
import pytest
from limelight import Event, Money, Plugin, Tip, Transaction, hookimpl
from limelight.failures import Unrecordable
from limelight.models import EventRecord, QuarantineEntry, Viewer
from limelight.testing import HookPlugin, Recorder
from tortoise.exceptions import OperationalError

from tests.support import wait_until


def tip(source_id: str, minor: int = 500, *, test: bool = False) -> Tip:
    return Tip(source="bench", source_id=source_id, amount=Money(minor, "USD"), test=test)


async def test_hook_record_events_rows_commit_with_their_events(database_url, limelight):
    batches: list[list[str]] = []
    committed: list[str] = []
    seen: list[int] = []

    async def record_events(events: list[Any], tx: Transaction, ctx: Any) -> None:
        batches.append([e.source_id for e in events])
        for event in events:
            assert event.id is not None
            await Viewer.create(display_name=f"row-for-{event.source_id}")
        tx.on_commit(lambda: committed.extend(e.source_id for e in events))

    async def on_event(event: Any) -> None:
        seen.append(event.id)

    h = await limelight(
        database_url=database_url,
        plugins={"rows": HookPlugin(record_events=record_events, on_event=on_event)},
    )
    bus = h.services.bus
    results = await asyncio.gather(*(bus.publish(tip(f"t{i}")) for i in range(20)))
    # each publisher was answered after its event and the plugin's row were committed
    assert await Viewer.filter(display_name__startswith="row-for-").count() == 20
    assert sorted(committed) == sorted(f"t{i}" for i in range(20))
    assert sum(len(b) for b in batches) == 20
    assert bus.writer.batches < 20, "concurrent publishers did not share a commit"
    # a duplicate and a test event reach no record_events
    again = await bus.publish(tip("t0"))
    await bus.publish(tip("sim", test=True))
    assert again.duplicate and sum(len(b) for b in batches) == 20
    await h.settle()
    await wait_until(lambda: len(seen) == 21)
    assert sorted(seen[:20]) == sorted(r.id for r in results)


class FlakyLedger(Plugin):
    """A ledger-like plugin: its rows go in ``record_events`` only, and the first
    ``failures`` calls fail half-way (the database hiccupped)."""

    def __init__(self, failures: int = 0) -> None:
        super().__init__()
        self.failures = failures
        self.dropped: list[str] = []
        #: What happened, in order: "record <ids>" / "failed <ids>" / "on_event <id> <value>".
        self.log: list[str] = []

    @hookimpl
    async def record_events(self, events: list[Event], tx: Transaction) -> dict[int, str]:
        ids = ",".join(e.source_id for e in events)
        for event in events:
            await Viewer.create(display_name=f"ledger-{event.source_id}")
        if self.failures:
            self.failures -= 1
            tx.on_commit(lambda: self.dropped.append(ids))
            self.log.append(f"failed {ids}")
            raise OperationalError("disk I/O error")
        self.log.append(f"record {ids}")
        return {e.id: f"row-{e.source_id}" for e in events if e.id is not None}

    @hookimpl
    async def on_event(self, event: Event) -> None:
        self.log.append(f"on_event {event.source_id} {self.ctx.recorded(event)}")


async def test_record_events_failing_once_is_written_again_before_on_event(database_url, limelight):
    fine_calls: list[str] = []

    async def fine(events: list[Any]) -> None:
        fine_calls.extend(e.source_id for e in events)
        await Viewer.create(display_name="fine-row")

    ledger = FlakyLedger(failures=1)
    h = await limelight(
        database_url=database_url,
        plugins={"ledger": ledger, "fine": HookPlugin(record_events=fine)},
    )
    accepted = await h.publish(tip("x1"))
    assert not accepted.duplicate
    # the failed attempt left nothing (its savepoint rolled back, its on_commit never ran);
    # the core's second attempt, in a fresh transaction, wrote the row once
    assert ledger.log == ["failed x1", "record x1", "on_event x1 row-x1"]
    assert await Viewer.filter(display_name="ledger-x1").count() == 1
    assert ledger.dropped == []
    # the other plugin's rows committed with the event, and were not written twice
    assert fine_calls == ["x1"]
    assert await Viewer.filter(display_name="fine-row").count() == 1
    assert h.host.info["ledger"].stats["record_events"].errors == 1
    await h.services.bus.flush()
    record = await EventRecord.get(id=accepted.id)
    assert (record.unrecorded, record.handled) == ("", True)


async def test_record_events_failing_twice_keeps_the_event_for_the_next_start(
    database_url, limelight
):
    ledger, rec = FlakyLedger(failures=2), Recorder()
    h1 = await limelight(database_url=database_url, plugins={"ledger": ledger, "rec": rec})
    accepted = await h1.publish(tip("x2"))
    # both attempts failed: the plugin's on_event never sees an event it has no rows for
    assert ledger.log == ["failed x2", "failed x2"]
    assert not await Viewer.filter(display_name="ledger-x2").exists()
    assert [e.source_id for e in rec.events] == ["x2"]  # the other plugins still get it
    await h1.services.bus.flush()
    record = await EventRecord.get(id=accepted.id)
    assert (record.unrecorded, record.handled) == ("ledger", False)
    await h1.close()

    again = FlakyLedger()
    h2 = await limelight(database_url=database_url, plugins={"ledger": again, "rec": Recorder()})
    await h2.settle()
    # the next start writes the rows first, then hands the event to on_event
    assert again.log == ["record x2", "on_event x2 row-x2"]
    assert await Viewer.filter(display_name="ledger-x2").count() == 1
    await h2.services.bus.flush()
    record = await EventRecord.get(id=accepted.id)
    assert (record.unrecorded, record.handled) == ("", True)


async def test_one_bad_event_fails_alone_and_the_rest_commit(database_url, limelight, monkeypatch):
    h = await limelight(database_url=database_url)
    original = bus_module._insert_events

    async def picky(conn: Any, dialect: str, events: list[Any]) -> list[tuple[int, bool]]:
        if any(event.source_id == "bad" for event in events):
            raise ValueError("cannot store this one")
        return await original(conn, dialect, events)

    monkeypatch.setattr(bus_module, "_insert_events", picky)
    bus = h.services.bus
    ids = ["a", "b", "bad", "c", "d"]
    results = await asyncio.gather(*(bus.publish(tip(i)) for i in ids), return_exceptions=True)
    outcome = dict(zip(ids, results, strict=True))
    # a value the database refuses every time: never stored, kept in the quarantine
    assert isinstance(outcome["bad"], Unrecordable) and outcome["bad"].quarantined
    assert "cannot store this one" in outcome["bad"].reason
    for good in ("a", "b", "c", "d"):
        assert not isinstance(outcome[good], BaseException)
        assert await EventRecord.filter(source="bench", source_id=good).count() == 1
    assert await EventRecord.filter(source_id="bad").count() == 0
    [kept] = await QuarantineEntry.all()
    assert (kept.source_id, kept.stage, kept.amount, kept.currency) == (
        "bad",
        "store",
        "5.00",
        "USD",
    )


async def test_same_key_in_one_batch_is_stored_once(database_url, limelight):
    recorded: list[str] = []

    async def record_events(events: list[Any]) -> None:
        recorded.extend(e.source_id for e in events)

    h = await limelight(
        database_url=database_url, plugins={"rows": HookPlugin(record_events=record_events)}
    )
    results = await asyncio.gather(*(h.services.bus.publish(tip("same")) for _ in range(5)))
    assert sorted(r.duplicate for r in results) == [False, True, True, True, True]
    assert len({r.id for r in results}) == 1
    assert recorded == ["same"]
    assert await EventRecord.filter(source_id="same").count() == 1


async def test_publishing_from_record_events_is_refused(database_url, limelight):
    errors: list[str] = []

    async def record_events(events: list[Any], ctx: Any) -> None:
        try:
            await ctx.publish(tip("nested"))
        except RuntimeError as exc:
            errors.append(str(exc))
            raise

    h = await limelight(
        database_url=database_url, plugins={"loop": HookPlugin(record_events=record_events)}
    )
    # the plugin raises on every attempt: the outer tip can never be recorded with its rows
    with pytest.raises(Unrecordable):
        await h.services.bus.publish(tip("outer"))
    assert errors and "record_events" in errors[0]
    assert not await EventRecord.filter(source_id="nested").exists()
    assert not await QuarantineEntry.filter(source_id="nested").exists()
    assert await QuarantineEntry.filter(source_id="outer", stage="record").exists()


async def test_alert_written_in_the_transaction_is_sent_after_commit(database_url, limelight):
    from limelight.models import OverlayAlert

    stored: list[int] = []

    async def record_events(events: list[Any], tx: Transaction, ctx: Any) -> None:
        for event in events:
            alert_id = await ctx.overlays.alert(
                "alerts", kind="tip", data={"name": "A"}, event=event, tx=tx
            )
            stored.append(alert_id)
            # not on any page yet: sent only once the transaction has committed
            assert ctx.overlays.channel("alerts").last_alert_id != alert_id

    h = await limelight(
        database_url=database_url, plugins={"staged": HookPlugin(record_events=record_events)}
    )
    accepted = await h.services.bus.publish(tip("al"))
    [row] = await OverlayAlert.filter(event_id=accepted.id)
    assert stored == [row.id]
    assert h.services.overlays.channel("alerts").last_alert_id == row.id
    assert h.services.overlays.outbox.last_real_id == row.id


async def test_alerts_reach_pages_in_id_order_around_an_open_transaction(database_url, limelight):
    # An alert written in a bus transaction takes its id when written and is sent at the
    # commit. An alert queued meanwhile from elsewhere must not overtake it: pages resume
    # after the highest id they showed, so a page that saw the later one first could
    # never get the earlier one back. (On PostgreSQL the two really run concurrently.)
    from limelight.testing import OVERLAY_TOKEN

    inside, release = asyncio.Event(), asyncio.Event()

    async def record_events(events: list[Any], tx: Transaction, ctx: Any) -> None:
        for event in events:
            await ctx.overlays.alert("alerts", kind="tip", data={"name": "A"}, event=event, tx=tx)
        inside.set()
        await release.wait()

    from limelight_alerts import AlertsPlugin

    h = await limelight(
        database_url=database_url,
        plugins={"alerts": AlertsPlugin, "slow": HookPlugin(record_events=record_events)},
    )
    services = h.services
    services.host.timeout = 30
    ws = await h.client.ws_connect(f"/overlays/ws?overlay=alerts&token={OVERLAY_TOKEN}")
    hello = await ws.receive_json()
    assert hello["type"] == "hello"
    publishing = asyncio.create_task(services.bus.publish(tip("first")))
    await asyncio.wait_for(inside.wait(), 5)
    other = asyncio.create_task(
        services.overlays.alert("alerts", kind="raid", data={"name": "B", "viewers": 2})
    )
    await asyncio.sleep(0.05)  # a wrong implementation would send the raid now
    release.set()
    await publishing
    other_id = await other
    received = []
    while len(received) < 2:
        message = await ws.receive_json(timeout=5)
        if message.get("type") == "alert":
            received.append((message["kind"], message["id"]))
    assert [kind for kind, _ in received] == ["tip", "raid"]
    assert received[0][1] < received[1][1] == other_id
    await ws.close()


async def test_an_alert_without_tx_inside_record_events_is_refused(database_url, limelight):
    from limelight.overlays.service import OverlayError

    errors: list[str] = []

    async def record_events(events: list[Any], ctx: Any) -> None:
        try:
            await ctx.overlays.alert("alerts", kind="tip", data={"name": "A"})
        except OverlayError as exc:
            errors.append(str(exc))

    h = await limelight(
        database_url=database_url, plugins={"p": HookPlugin(record_events=record_events)}
    )
    await h.services.bus.publish(tip("no-tx"))
    assert errors and "pass tx=tx" in errors[0]
