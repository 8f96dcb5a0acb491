"""Exactly-once money, on SQLite and PostgreSQL: concurrent duplicates, commit before 2xx,
retries after a 5xx, the core writing again what the plugin failed to write, and events
dispatched again after a crash."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from limelight.models import EventRecord, OverlayAlert
from limelight_tips import ledger
from limelight_tips.models import LedgerEntry
from tortoise.exceptions import OperationalError

from .doubles import (
    generic_request,
    generic_tip,
    kofi_payload,
    kofi_request,
    payment_intent,
    stripe_event,
    stripe_request,
)


def _delivery(provider: str) -> tuple[bytes, dict[str, str]]:
    if provider == "kofi":
        return kofi_request(kofi_payload(amount="5.00"))
    if provider == "stripe":
        return stripe_request(stripe_event("payment_intent.succeeded", payment_intent(500)))
    return generic_request(generic_tip("5.00", "USD"))


@pytest.mark.parametrize("provider", ["kofi", "stripe", "generic"])
async def test_same_webhook_five_times_at_once_is_one_entry_and_one_alert(
    database_url: str, tips, provider: str
) -> None:
    t = await tips(database_url=database_url)
    body, headers = _delivery(provider)
    results = await asyncio.gather(
        *(t.post(provider, body, headers, settle=False) for _ in range(5))
    )
    await t.h.settle()
    assert [status for status, _ in results] == [200] * 5
    assert sorted(payload["duplicates"] for _, payload in results) == [0, 1, 1, 1, 1]
    assert len({payload["ids"][0] for _, payload in results}) == 1
    assert len(await t.entries()) == 1
    assert len(t.alerts.of("tip")) == 1
    assert len(t.h.said) == 1


async def test_2xx_is_sent_only_after_the_commit(
    database_url: str, tips, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = await tips(database_url=database_url)
    reached, release = asyncio.Event(), asyncio.Event()
    original = ledger.record_many

    async def gated_insert(tx: Any, rows: list[dict[str, Any]]) -> list[int]:
        # the ledger row is written in the transaction that commits the event: hold it
        reached.set()
        await release.wait()
        return await original(tx, rows)

    monkeypatch.setattr(ledger, "record_many", gated_insert)
    request = asyncio.create_task(t.post("generic", *_delivery("generic"), settle=False))
    await asyncio.wait_for(reached.wait(), 5)
    await asyncio.sleep(0.05)  # give a wrong implementation the chance to answer early
    assert not request.done(), "answered before the delivery was committed"
    if database_url.startswith("postgres"):
        # (SQLite has one connection, held by the open transaction: no reading past it)
        assert await EventRecord.filter(type="tip").count() == 0
        assert await LedgerEntry.all().count() == 0
    release.set()
    status, payload = await request
    assert status == 200
    # answered: the event and its ledger row are both committed already, before any
    # plugin's on_event has run
    assert await EventRecord.filter(type="tip", id=payload["ids"][0]).exists()
    assert await LedgerEntry.filter(event_id=payload["ids"][0]).count() == 1


async def test_delivery_retried_after_a_5xx_is_accepted_once(
    database_url: str, tips, monkeypatch: pytest.MonkeyPatch
) -> None:
    import limelight.bus as bus_module

    t = await tips(database_url=database_url)
    original = bus_module._insert_events
    failures = {"left": 1}

    async def flaky_insert(conn: Any, dialect: str, events: list[Any]) -> list[tuple[int, bool]]:
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("disk I/O error")
        return await original(conn, dialect, events)

    monkeypatch.setattr(bus_module, "_insert_events", flaky_insert)
    body, headers = _delivery("kofi")
    status, payload = await t.post("kofi", body, headers)
    assert status == 503
    assert "retry" in payload["error"]
    assert await t.entries() == []
    assert t.alerts.calls == []
    for expected_duplicates in (0, 1, 1):  # the provider's retry, then two more replays
        status, payload = await t.post("kofi", body, headers)
        assert (status, payload["duplicates"]) == (200, expected_duplicates)
    assert len(await t.entries()) == 1
    assert len(t.alerts.of("tip")) == 1


async def test_failed_record_events_is_written_again_by_the_core_before_on_event(
    database_url: str, tips, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The plugin's part of the commit fails once, after it wrote its row and staged its
    # alert: both roll back, the tip is still committed and answered, and the core calls
    # record_events again for it before on_event. One row, one alert, one thank-you.
    t = await tips(database_url=database_url)
    recorder = t.plugin.recorder
    original = recorder.record_events
    calls: list[int] = []

    async def fails_once(events: list[Any], tx: Any) -> Any:
        calls.append(len(events))
        written = await original(events, tx)
        if len(calls) == 1:
            raise RuntimeError("the plugin's part of the commit failed")
        return written

    monkeypatch.setattr(recorder, "record_events", fails_once)
    status, payload = await t.post("generic", *_delivery("generic"))
    assert status == 200
    event_id = payload["ids"][0]
    assert calls == [1, 1]
    [entry] = await t.entries()
    assert entry["kind"] == "tip"
    assert await OverlayAlert.filter(event_id=event_id).count() == 1
    assert len(await t.h.services.overlays.history("alerts")) == 1
    assert [m.text for m in t.h.said] == ["Thank you Gen Eric for the $5.00 tip!"]
    record = await EventRecord.get(id=event_id)
    assert record.unrecorded == ""
    await t.h.services.bus.flush()
    assert (await EventRecord.get(id=event_id)).handled


async def test_ledger_write_that_fails_once_is_written_on_the_second_attempt(
    database_url: str, tips, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = await tips(database_url=database_url)
    original = ledger.record_many
    failures = {"left": 1}

    async def flaky(tx: Any, rows: list[dict[str, Any]]) -> list[int]:
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("database is locked")
        return await original(tx, rows)

    monkeypatch.setattr(ledger, "record_many", flaky)
    status, _ = await t.post("generic", *_delivery("generic"))
    assert status == 200
    assert len(await t.entries()) == 1
    assert len(t.alerts.of("tip")) == 1
    assert len(t.h.said) == 1


@pytest.mark.parametrize("lost", ["reactions", "rows and reactions"])
async def test_event_committed_but_not_handled_is_applied_once_after_restart(
    database_url: str, tips, monkeypatch: pytest.MonkeyPatch, lost: str
) -> None:
    # First life: the tip is committed and answered 2xx, then the process "dies" before the
    # tips plugin reacted to it (the event stays unhandled). With "rows and reactions" the
    # plugin's own writes failed too (the database hiccupped), on the core's second attempt
    # as well: the provider is answered 503 (never 2xx without the ledger row), the event
    # stays committed with its mark, and the ledger row and the alert exist only after the
    # next start writes them (or the provider's retry does: tests/faults/test_recorded.py).
    t1 = await tips(database_url=database_url)
    with monkeypatch.context() as patch:

        async def dead(*args: Any) -> None:
            return None

        async def failing(*args: Any) -> None:
            raise OperationalError("database is locked")

        patch.setattr(t1.plugin.reactions, "on_event", dead)
        if lost == "rows and reactions":
            patch.setattr(t1.plugin.recorder, "record_events", failing)
        status, _ = await t1.post("generic", *_delivery("generic"))
        assert status == (503 if lost == "rows and reactions" else 200)
    event_id = (await EventRecord.get(type="tip")).id
    await t1.h.services.bus.flush()  # the handled mark is written with the next flush
    await EventRecord.filter(id=event_id).update(handled=False)
    expected_rows = 0 if lost == "rows and reactions" else 1
    assert len(await t1.entries()) == expected_rows
    assert await OverlayAlert.filter(event_id=event_id).count() == expected_rows
    assert (await EventRecord.get(id=event_id)).unrecorded == (
        "tips" if lost == "rows and reactions" else ""
    )
    assert t1.h.said == []
    await t1.h.close()

    # Second life: the bus dispatches the committed event again as the server starts
    # (writing the plugin's rows first when they are missing); one ledger row, one alert,
    # one thank-you.
    t2 = await tips(database_url=database_url)
    await t2.h.settle()
    [entry] = await t2.entries()
    assert entry["kind"] == "tip"
    assert await OverlayAlert.filter(event_id=event_id).count() == 1
    assert len(t2.h.said) == 1
    await t2.h.services.bus.flush()
    record = await EventRecord.get(id=event_id)
    assert record.handled and record.unrecorded == ""
    await t2.h.close()

    # Third life: nothing left to replay; nothing is written or shown twice.
    t3 = await tips(database_url=database_url)
    await t3.h.settle()
    assert len(await t3.entries()) == 1
    assert await OverlayAlert.filter(event_id=event_id).count() == 1
    assert t3.alerts.calls == []
    assert t3.h.said == []


async def test_replay_of_a_tip_reacts_once(database_url: str, tips) -> None:
    # The same committed event reaches on_event again with nothing recorded in this life
    # (as after a restart): the ledger row says whether its reactions went out.
    from limelight.wire import event_from_record

    t = await tips(database_url=database_url)
    status, payload = await t.post("kofi", *_delivery("kofi"))
    assert status == 200
    record = await EventRecord.get(id=payload["ids"][0])
    await t.plugin.on_event(event_from_record(record, t.h.host))  # marked, not yet flushed
    await t.plugin.reactions.marks.flush()
    await t.plugin.on_event(event_from_record(record, t.h.host))  # marked in the ledger
    assert len(await t.entries()) == 1
    assert len(t.alerts.of("tip")) == 1
    assert len(t.h.said) == 1


async def test_replay_of_a_tip_whose_reactions_were_lost_reacts_once(tips) -> None:
    from limelight.wire import event_from_record

    t = await tips()
    with pytest.MonkeyPatch.context() as patch:

        async def dead(*args: Any) -> None:
            return None

        patch.setattr(t.plugin.reactions, "on_event", dead)
        status, payload = await t.post("kofi", *_delivery("kofi"))
    assert status == 200
    assert t.h.said == []
    record = await EventRecord.get(id=payload["ids"][0])
    for _ in range(2):
        await t.plugin.on_event(event_from_record(record, t.h.host))
    assert [m.text for m in t.h.said] == ["Thank you Jo Example for the $5.00 tip!"]
    assert len(t.alerts.of("tip")) == 1
