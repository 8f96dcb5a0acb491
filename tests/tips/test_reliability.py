"""Exactly-once money, on SQLite and PostgreSQL: concurrent duplicates, commit before 2xx,
retries after a 5xx, and events dispatched again after a crash."""

from __future__ import annotations

import asyncio
from typing import Any

import limelight_tips
import pytest
from limelight.models import EventRecord
from tortoise.exceptions import OperationalError

from tests.support import wait_until

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
        database_url: str, tips, provider: str) -> None:
    t = await tips(database_url=database_url)
    body, headers = _delivery(provider)
    results = await asyncio.gather(*(t.post(provider, body, headers, settle=False)
                                     for _ in range(5)))
    await t.h.settle()
    assert [status for status, _ in results] == [200] * 5
    assert sorted(payload["duplicates"] for _, payload in results) == [0, 1, 1, 1, 1]
    assert len({payload["ids"][0] for _, payload in results}) == 1
    assert len(await t.entries()) == 1
    assert len(t.alerts.of("tip")) == 1
    assert len(t.h.said) == 1


async def test_2xx_is_sent_only_after_the_commit(database_url: str, tips,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    t = await tips(database_url=database_url)
    reached, release = asyncio.Event(), asyncio.Event()
    original = EventRecord.save

    async def gated_save(self: EventRecord, *args: Any, **kwargs: Any) -> None:
        if self.type == "tip":
            reached.set()
            await release.wait()
        await original(self, *args, **kwargs)

    monkeypatch.setattr(EventRecord, "save", gated_save)
    request = asyncio.create_task(t.post("generic", *_delivery("generic"), settle=False))
    await asyncio.wait_for(reached.wait(), 5)
    await asyncio.sleep(0.05)  # give a wrong implementation the chance to answer early
    assert not request.done(), "answered before the delivery was committed"
    assert await EventRecord.filter(type="tip").count() == 0
    release.set()
    status, payload = await request
    assert status == 200
    assert await EventRecord.filter(type="tip", id=payload["ids"][0]).exists()


async def test_delivery_retried_after_a_5xx_is_accepted_once(
        database_url: str, tips, monkeypatch: pytest.MonkeyPatch) -> None:
    t = await tips(database_url=database_url)
    original = EventRecord.save
    failures = {"left": 1}

    async def flaky_save(self: EventRecord, *args: Any, **kwargs: Any) -> None:
        if self.type == "tip" and failures["left"]:
            failures["left"] -= 1
            raise OperationalError("disk I/O error")
        await original(self, *args, **kwargs)

    monkeypatch.setattr(EventRecord, "save", flaky_save)
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


async def test_event_committed_but_not_handled_is_applied_once_after_restart(
        database_url: str, tips, monkeypatch: pytest.MonkeyPatch) -> None:
    # First life: the tip is committed and answered 2xx, then the process "dies" before the
    # tips plugin sees it (its on_event never runs and the event stays unhandled).
    t1 = await tips(database_url=database_url)
    with monkeypatch.context() as patch:
        async def dead(event: Any) -> None:
            return None

        patch.setattr(limelight_tips.runtime, "on_event", dead)
        status, payload = await t1.post("generic", *_delivery("generic"))
        assert status == 200
    event_id = payload["ids"][0]
    await EventRecord.filter(id=event_id).update(handled=False)
    assert await t1.entries() == []
    await t1.h.client.close()

    # Second life: the bus dispatches the committed event again; the ledger takes it once.
    t2 = await tips(database_url=database_url)
    await t2.h.settle()
    await wait_until(lambda: t2.alerts.of("tip"))
    [entry] = await t2.entries()
    assert entry["kind"] == "tip"
    await t2.h.services.bus.flush()
    assert (await EventRecord.get(id=event_id)).handled
    await t2.h.client.close()

    # Third life: nothing left to replay; nothing is written or shown twice.
    t3 = await tips(database_url=database_url)
    await t3.h.settle()
    assert len(await t3.entries()) == 1
    assert t3.alerts.calls == []


async def test_replay_of_a_handled_tip_does_not_react_twice(database_url: str, tips) -> None:
    t = await tips(database_url=database_url)
    status, payload = await t.post("kofi", *_delivery("kofi"))
    assert status == 200
    record = await EventRecord.get(id=payload["ids"][0])
    from limelight.wire import event_from_record

    await limelight_tips.runtime.on_event(event_from_record(record, t.h.host))
    assert len(await t.entries()) == 1
    assert len(t.alerts.of("tip")) == 1
    assert len(t.h.said) == 1


async def test_ledger_write_retries_a_transient_failure(database_url: str, tips,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from limelight_tips import ledger
    from limelight_tips.models import LedgerEntry

    t = await tips(database_url=database_url)
    monkeypatch.setattr(ledger, "RETRY_DELAYS", (0.01, 0.01))
    original = LedgerEntry.save
    failures = {"left": 2}

    async def flaky(self: LedgerEntry, *args: Any, **kwargs: Any) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("database is locked")
        await original(self, *args, **kwargs)

    monkeypatch.setattr(LedgerEntry, "save", flaky)
    status, _ = await t.post("generic", *_delivery("generic"))
    assert status == 200
    assert len(await t.entries()) == 1
    assert len(t.alerts.of("tip")) == 1
