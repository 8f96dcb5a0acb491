"""A 2xx means recorded, a 4xx means never, a 503 means retry and it will work; no single
row bricks the server. On SQLite and PostgreSQL.

Failures are injected into a money plugin's ``record_events`` (a plugin built with the
kit, and the real tips plugin through ``h.plugin("tips")``), into the event-log insert,
and into the event log itself (rows written directly with SQL). Every case checks what
the publisher was told against what is on disk:

* transient (a database error): 503 with ``Retry-After``, then the provider's retry gets
  its 2xx with exactly one ledger row;
* poison (raises every time): 422 with the reason, the delivery in the quarantine (API
  and dashboard page), the retry gets the same 422 without calling the plugin again, and
  the server restarts cleanly;
* corrupt event-log rows (bad JSON, a date out of range, an unknown type): the server
  starts, ``GET /api/events`` answers 200 with the row marked, the row is quarantined;
* test deliveries retried play once and never block the real one.

Each test prints its figures: cases tried and failed in its class.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import limelight.bus as bus_module
import pytest
from aiohttp import web
from limelight import Event, Money, Plugin, Register, Route, Tip, Transaction, hookimpl
from limelight.models import EventRecord, QuarantineEntry, Viewer
from limelight.testing import Harness, HookPlugin, Recorder, merge_config
from limelight_alerts import AlertsPlugin
from limelight_tips import TipsPlugin
from limelight_tips.models import LedgerEntry
from tortoise.exceptions import IntegrityError, OperationalError

from tests.core.procs import clean_env, running_server
from tests.support import wait_until
from tests.tips.doubles import (
    GENERIC_SECRET,
    KOFI_TOKEN,
    WEBHOOK_CONFIG,
    generic_request,
    generic_tip,
    kofi_payload,
    kofi_request,
    payment_intent,
    stripe_event,
    stripe_request,
)

StartHarness = Callable[..., Awaitable[Harness]]


class Cases:
    """Counts the cases of one class; a failed case is noted and the rest still run."""

    def __init__(self, name: str, database_url: str) -> None:
        self.name = name
        self.backend = database_url.split(":", 1)[0]
        self.tried = 0
        self.failed: list[str] = []

    @asynccontextmanager
    async def case(self, label: str) -> AsyncIterator[None]:
        self.tried += 1
        try:
            yield
        except AssertionError as exc:
            self.failed.append(f"{label}: {exc}")

    def report(self, capsys: pytest.CaptureFixture[str]) -> None:
        with capsys.disabled():
            print(
                f"\nfaults/recorded [{self.backend}] {self.name}: {self.tried} cases tried, "
                f"{len(self.failed)} failed"
            )
        assert not self.failed, "\n".join(self.failed)


class Ledger(Plugin):
    """A money plugin built with the kit: one row per tip, written in ``record_events``
    only (a ``Viewer`` row stands in for a ledger row). ``failures[source_id]`` is what
    its next calls raise for a batch holding that tip (an exception, or a list of them
    consumed one per call)."""

    def __init__(self) -> None:
        super().__init__()
        self.failures: dict[str, BaseException | list[BaseException]] = {}
        self.calls: list[str] = []
        self.seen: list[str] = []

    @hookimpl
    async def record_events(self, events: list[Event], tx: Transaction) -> None:
        for event in events:
            if not isinstance(event, Tip):
                continue
            self.calls.append(event.source_id)
            await Viewer.create(display_name=f"ledger:{event.source_id}")
            failure = self.failures.get(event.source_id)
            if isinstance(failure, list):
                failure = failure.pop(0) if failure else None
            if failure is not None:
                raise failure

    @hookimpl
    async def on_event(self, event: Event) -> None:
        if isinstance(event, Tip) and not event.test:
            self.seen.append(event.source_id)

    @hookimpl
    def register_routes(self, register: Register[Route]) -> None:
        register(Route("POST", "/api/ledger/manual", self.manual))

    async def manual(self, request: web.Request) -> web.Response:
        """A plugin's own route that records a tip by hand (``ctx.publish``)."""
        payload = await request.json()
        tip = Tip(source="manual", source_id=payload["id"], amount=Money(250, "USD"))
        accepted = await self.ctx.publish(tip)
        return web.json_response({"id": accepted.id})


async def ledger_rows(source_id: str) -> int:
    return await Viewer.filter(display_name=f"ledger:{source_id}").count()


def api_tip(source_id: str, name: str = "alice", amount: str = "5.00") -> dict[str, Any]:
    return {
        "type": "tip",
        "source": "api",
        "source_id": source_id,
        "viewer": {"platform": "twitch", "id": name, "name": name.title()},
        "data": {"amount": amount, "currency": "USD", "message": "hi"},
    }


async def post_api(h: Harness, payload: dict[str, Any]) -> tuple[int, dict[str, Any], str]:
    """``POST /api/events``: status, body and ``Retry-After``."""
    response = await h.client.post("/api/events", json=payload, headers=h.admin_headers)
    body = await response.json()
    await h.settle()
    return response.status, body, response.headers.get("Retry-After", "")


async def post_hook(
    h: Harness, provider: str, request: tuple[bytes, dict[str, str]]
) -> tuple[int, dict[str, Any], str]:
    body, headers = request
    response = await h.client.post(f"/webhooks/{provider}", data=body, headers=headers)
    payload = await response.json()
    await h.settle()
    return response.status, payload, response.headers.get("Retry-After", "")


async def start_tips(
    limelight: StartHarness, database_url: str, rec: Recorder | None = None
) -> Harness:
    config = merge_config(WEBHOOK_CONFIG, {"plugins": {"tips": {"thanks_window": 0}}})
    plugins: dict[str, object] = {"tips": TipsPlugin, "alerts": AlertsPlugin}
    if rec is not None:
        plugins["rec"] = rec
    h = await limelight(plugins=plugins, config=config, database_url=database_url)
    assert h.host.info["tips"].enabled, h.host.info["tips"].reason
    return h


def tips_recorder(h: Harness) -> Any:
    plugin = h.plugin("tips", TipsPlugin)
    return plugin.recorder


def inject(
    monkeypatch: pytest.MonkeyPatch, h: Harness, fail: Callable[[list[Event]], BaseException | None]
) -> list[int]:
    """Make the real tips plugin's ``record_events`` raise ``fail(events)`` when that is
    not ``None`` (after writing its rows, so they must roll back); returns the call log."""
    recorder = tips_recorder(h)
    original = recorder.record_events
    calls: list[int] = []

    async def record_events(events: list[Event], tx: Transaction) -> Any:
        calls.append(len(events))
        written = await original(events, tx)
        failure = fail(events)
        if failure is not None:
            raise failure
        return written

    monkeypatch.setattr(recorder, "record_events", record_events)
    return calls


def times(n: int, exc: BaseException) -> Callable[[list[Event]], BaseException | None]:
    left = [n]

    def fail(events: list[Event]) -> BaseException | None:
        if left[0] > 0:
            left[0] -= 1
            return exc
        return None

    return fail


async def tip_rows(provider_id: str) -> int:
    return await LedgerEntry.filter(provider_id=provider_id).count()


async def login(h: Harness) -> None:
    response = await h.client.post(
        "/admin/login",
        data={"token": h.settings.security.admin_token},
        headers={"Origin": h.url("").rstrip("/")},
        allow_redirects=False,
    )
    assert response.status == 302, await response.text()


# -- transient: 503 with Retry-After, and the retry records --------------------------------------


async def test_transient_failure_gets_503_and_the_retry_records_once(
    database_url: str, limelight: StartHarness, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    cases = Cases("transient", database_url)
    ledger = Ledger()
    h = await limelight(plugins={"ledger": ledger}, database_url=database_url)

    async with cases.case("kit plugin, database locked in the batch and the second attempt"):
        ledger.failures["t-1"] = [OperationalError("database is locked")] * 2
        status, body, retry_after = await post_api(h, api_tip("t-1"))
        assert (status, retry_after) == (503, "30"), (status, body)
        assert "retry" in body["error"]
        assert await ledger_rows("t-1") == 0 and ledger.seen == []
        record = await EventRecord.get(source="api", source_id="t-1")
        assert record.unrecorded == "ledger" and not record.handled
        # the provider's retry writes the rows: 2xx, one row, the event goes out once
        status, body, _ = await post_api(h, api_tip("t-1"))
        assert (status, body["duplicate"]) == (201, False), body
        assert await ledger_rows("t-1") == 1 and ledger.seen == ["t-1"]
        status, body, _ = await post_api(h, api_tip("t-1"))
        assert (status, body["duplicate"]) == (200, True)
        assert await ledger_rows("t-1") == 1 and ledger.seen == ["t-1"]

    async with cases.case("kit plugin, connection lost on the second attempt only"):
        ledger.failures["t-2"] = [
            OperationalError("database is locked"),
            ConnectionResetError("connection reset by peer"),
        ]
        status, _, retry_after = await post_api(h, api_tip("t-2"))
        assert (status, retry_after) == (503, "30")
        status, _, _ = await post_api(h, api_tip("t-2"))
        assert status == 201 and await ledger_rows("t-2") == 1

    async with cases.case("kit plugin, hiccup in the batch only: no 503 at all"):
        ledger.failures["t-3"] = [OperationalError("disk I/O error")]
        status, _, _ = await post_api(h, api_tip("t-3"))
        assert status == 201 and await ledger_rows("t-3") == 1

    async with cases.case("hook plugin: one bad tip does not fail its batch-mates"):
        calls: list[str] = []

        async def record_events(events: list[Event]) -> None:
            calls.extend(e.source_id for e in events)
            if any(e.source_id == "mate-bad" for e in events) and calls.count("mate-bad") < 3:
                raise OperationalError("database is locked")

        await h.close()
        h = await limelight(
            plugins={"hook": HookPlugin(record_events=record_events)}, database_url=database_url
        )
        ids = ["mate-1", "mate-2", "mate-bad", "mate-3"]
        results = await asyncio.gather(
            *(h.client.post("/api/events", json=api_tip(i), headers=h.admin_headers) for i in ids)
        )
        statuses = dict(zip(ids, [r.status for r in results], strict=True))
        assert statuses == {"mate-1": 201, "mate-2": 201, "mate-bad": 503, "mate-3": 201}, statuses
        status, _, _ = await post_api(h, api_tip("mate-bad"))
        assert status == 201
        await h.close()

    h = await start_tips(limelight, database_url)
    async with cases.case("tips plugin, database locked twice: 503, then one ledger row"):
        calls_log = inject(monkeypatch, h, times(2, OperationalError("database is locked")))
        request = generic_request(generic_tip("5.00", "USD", id="order-transient"))
        status, body, retry_after = await post_hook(h, "generic", request)
        assert (status, retry_after) == (503, "30"), body
        assert await tip_rows("order-transient") == 0
        status, body, _ = await post_hook(h, "generic", request)
        assert status == 200, body
        assert await tip_rows("order-transient") == 1
        event_id = (await EventRecord.get(source_id="order-transient")).id
        assert await EventRecord.filter(id=event_id, unrecorded="").exists()
        # its alert was queued once, with the row
        assert len([a for a in await h.services.overlays.history("alerts")]) == 1
        status, body, _ = await post_hook(h, "generic", request)
        assert (status, body["duplicates"]) == (200, 1)
        assert await tip_rows("order-transient") == 1 and calls_log == [1, 1, 1]

    async with cases.case("tips plugin, concurrent retries while the first attempt fails"):
        inject(monkeypatch, h, times(2, OperationalError("database is locked")))
        request = generic_request(generic_tip("3.00", "USD", id="order-concurrent"))
        body, headers = request
        responses = await asyncio.gather(
            *(h.client.post("/webhooks/generic", data=body, headers=headers) for _ in range(4))
        )
        await h.settle()
        statuses = sorted(r.status for r in responses)
        assert 503 in statuses and set(statuses) <= {200, 503}, statuses
        status, _, _ = await post_hook(h, "generic", request)
        assert status == 200 and await tip_rows("order-concurrent") == 1

    async with cases.case("the database failing during the replay quarantines nothing"):
        inject(monkeypatch, h, times(99, OperationalError("database is locked")))
        request = generic_request(generic_tip("2.00", "USD", id="order-replay"))
        status, _, _ = await post_hook(h, "generic", request)
        assert status == 503
        await h.close()
        with monkeypatch.context() as patch:
            original_get = EventRecord.get

            def flaky_get(*args: Any, **kwargs: Any) -> Any:
                raise OperationalError("database is locked")

            patch.setattr(EventRecord, "get", flaky_get)
            h = await start_tips(limelight, database_url)
            await h.settle()
        assert EventRecord.get == original_get
        assert not await QuarantineEntry.filter(source_id="order-replay").exists()
        assert await tip_rows("order-replay") == 0
        await h.close()
        h = await start_tips(limelight, database_url)
        await h.settle()
        assert await tip_rows("order-replay") == 1

    async with cases.case("tips plugin, still failing at a restart: the next start writes it"):
        inject(monkeypatch, h, times(99, OperationalError("database is locked")))
        request = generic_request(generic_tip("7.00", "USD", id="order-restart"))
        status, _, _ = await post_hook(h, "generic", request)
        assert status == 503
        await h.close()
        h = await start_tips(limelight, database_url)
        await h.settle()
        assert await tip_rows("order-restart") == 1
        status, body, _ = await post_hook(h, "generic", request)
        assert (status, body["duplicates"]) == (200, 1)
        assert await tip_rows("order-restart") == 1
    cases.report(capsys)


# -- poison: 422, quarantined, the same 422 on retry, a clean restart -----------------------------


async def test_poison_gets_422_is_quarantined_and_never_loops(
    database_url: str, limelight: StartHarness, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    cases = Cases("poison", database_url)
    ledger = Ledger()
    h = await limelight(plugins={"ledger": ledger}, database_url=database_url)

    async with cases.case("kit plugin raises ValueError every time: 422 and the quarantine"):
        ledger.failures["p-1"] = ValueError("amount out of range for this ledger")
        status, body, retry_after = await post_api(h, api_tip("p-1", name="bob", amount="12.34"))
        assert status == 422 and retry_after == "", body
        assert "amount out of range" in body["error"] and body["quarantined"] is True
        assert ledger.calls.count("p-1") == 2  # the batch and the core's second attempt
        assert await ledger_rows("p-1") == 0 and ledger.seen == []
        response = await h.client.get("/api/quarantine", headers=h.admin_headers)
        [entry] = (await response.json())["entries"]
        assert (entry["source"], entry["source_id"], entry["type"]) == ("api", "p-1", "tip")
        assert (entry["amount"], entry["currency"], entry["payer"]) == ("12.34", "USD", "Bob")
        assert entry["stage"] == "record" and entry["plugins"] == ["ledger"]
        assert "amount out of range" in entry["error"] and '"p-1"' in entry["payload"]

    async with cases.case("the retry gets the same 422 without calling the plugin"):
        status, again, _ = await post_api(h, api_tip("p-1", name="bob", amount="12.34"))
        assert status == 422 and again["error"] == body["error"]
        assert ledger.calls.count("p-1") == 2

    async with cases.case("GET /api/events marks it; the dashboard page shows it"):
        response = await h.client.get("/api/events", headers=h.admin_headers)
        assert response.status == 200
        [listed] = [e for e in (await response.json())["events"] if e["source_id"] == "p-1"]
        assert "quarantine" in listed["problem"]
        await login(h)
        page = await (await h.client.get("/admin/quarantine")).text()
        for text in ("p-1", "12.34 USD", "Bob", "amount out of range", "Try again"):
            assert text in page, text
        overview = await (await h.client.get("/admin/")).text()
        assert "1 payment could not be recorded" in overview
        assert 'href="/admin/quarantine"' in overview

    async with cases.case("IntegrityError and KeyError are poison too; batch-mates commit"):
        ledger.failures["p-2"] = IntegrityError("duplicate key value")
        ledger.failures["p-3"] = KeyError("no such field")
        ids = ["p-ok-1", "p-2", "p-ok-2", "p-3", "p-ok-3"]
        results = await asyncio.gather(
            *(h.client.post("/api/events", json=api_tip(i), headers=h.admin_headers) for i in ids)
        )
        await h.settle()
        statuses = dict(zip(ids, [r.status for r in results], strict=True))
        expected = {"p-ok-1": 201, "p-2": 422, "p-ok-2": 201, "p-3": 422, "p-ok-3": 201}
        assert statuses == expected, statuses
        for good in ("p-ok-1", "p-ok-2", "p-ok-3"):
            assert await ledger_rows(good) == 1
        assert sorted(ledger.seen) == ["p-ok-1", "p-ok-2", "p-ok-3"]
        assert await QuarantineEntry.filter(stage="record").count() == 3

    async with cases.case("a plugin's own route publishing poison answers 422, not 500"):
        ledger.failures["m-1"] = ValueError("no manual tips today")
        response = await h.client.post(
            "/api/ledger/manual", json={"id": "m-1"}, headers=h.admin_headers
        )
        body = await response.json()
        assert response.status == 422 and "no manual tips today" in body["error"], body
        assert await QuarantineEntry.filter(source="manual", source_id="m-1").exists()

    async with cases.case("a value the database refuses at the insert: 422, kept, no row"):
        original = bus_module._insert_events

        async def refuses(conn: Any, dialect: str, events: list[Any]) -> Any:
            if any(event.source_id == "p-store" for event in events):
                raise ValueError("date value out of range")
            return await original(conn, dialect, events)

        monkeypatch.setattr(bus_module, "_insert_events", refuses)
        for attempt in (1, 2):
            status, body, _ = await post_api(h, api_tip("p-store", name="carol"))
            assert status == 422 and "date value out of range" in body["error"], body
            entry = await QuarantineEntry.get(source_id="p-store")
            assert (entry.stage, entry.event_id, entry.attempts) == ("store", None, attempt)
        assert not await EventRecord.filter(source_id="p-store").exists()
        monkeypatch.setattr(bus_module, "_insert_events", original)

    async with cases.case("the server restarts cleanly and replays nothing quarantined"):
        await h.close()
        again = Ledger()
        again.failures["p-1"] = ValueError("still out of range")
        h = await limelight(plugins={"ledger": again}, database_url=database_url)
        await h.settle()
        assert again.calls == []  # the quarantined rows are skipped, not retried
        status, _, _ = await post_api(h, api_tip("p-1", name="bob", amount="12.34"))
        assert status == 422 and again.calls == []
        status, health = (await h.client.get("/healthz")).status, None
        assert status == 200, health

    async with cases.case("Try again after the plugin is fixed records it and plays it"):
        del again.failures["p-1"]
        entry = await QuarantineEntry.get(source_id="p-1")
        response = await h.client.post(
            f"/api/quarantine/{entry.id}/retry", json={}, headers=h.admin_headers
        )
        assert response.status == 200, await response.text()
        await h.settle()
        assert await ledger_rows("p-1") == 1 and again.seen == ["p-1"]
        assert not await QuarantineEntry.filter(source_id="p-1").exists()
        status, body, _ = await post_api(h, api_tip("p-1", name="bob", amount="12.34"))
        assert (status, body["duplicate"]) == (200, True)
        stored = await QuarantineEntry.get(source_id="p-store")
        response = await h.client.post(
            f"/api/quarantine/{stored.id}/retry", json={}, headers=h.admin_headers
        )
        assert response.status == 422  # never stored: record it by hand
        response = await h.client.post(
            f"/api/quarantine/{stored.id}/dismiss", json={}, headers=h.admin_headers
        )
        assert response.status == 200
        listed = await (await h.client.get("/api/quarantine", headers=h.admin_headers)).json()
        assert "p-store" not in [e["source_id"] for e in listed["entries"]]
    await h.close()

    h = await start_tips(limelight, database_url)
    async with cases.case("tips plugin: a lone surrogate its write refuses, on a webhook"):
        calls = inject(
            monkeypatch,
            h,
            lambda events: (
                UnicodeEncodeError("utf-8", "\ud83d", 0, 1, "surrogates not allowed")
                if any(e.source_id == "order-poison" for e in events)
                else None
            ),
        )
        request = generic_request(generic_tip("9.99", "EUR", id="order-poison"))
        status, body, _ = await post_hook(h, "generic", request)
        assert status == 422 and body["quarantined"] is True, body
        assert await tip_rows("order-poison") == 0
        assert await h.services.overlays.history("alerts") == []
        entry = await QuarantineEntry.get(source_id="order-poison")
        assert (entry.amount, entry.currency, entry.payer) == ("9.99", "EUR", "Gen Eric")
        assert "order-poison" in entry.payload  # the raw delivery, as received
        status, _, _ = await post_hook(h, "generic", request)
        assert status == 422 and len(calls) == 2

    async with cases.case("tips plugin: a Ko-fi delivery is kept without its token"):
        inject(
            monkeypatch,
            h,
            lambda events: (
                ValueError("refused") if any(e.source == "kofi" for e in events) else None
            ),
        )
        status, body, _ = await post_hook(
            h, "kofi", kofi_request(kofi_payload(amount="4.00", from_name="Kit"))
        )
        assert status == 422, body
        entry = await QuarantineEntry.get(source="kofi")
        assert (entry.amount, entry.currency, entry.payer) == ("4.00", "USD", "Kit")
        assert KOFI_TOKEN not in entry.payload and "[redacted]" in entry.payload
        assert "Good+luck" in entry.payload  # the rest of the delivery, as received
    await h.close()
    async with cases.case("tips plugin: the next start skips it and starts"):
        h = await start_tips(limelight, database_url)
        await h.settle()
        assert await tip_rows("order-poison") == 0
        assert (await h.client.get("/healthz")).status == 200
    cases.report(capsys)


# -- corrupt event-log rows: the server starts, GET /api/events answers ----------------------------

GOOD_TIP = '{"amount": "5.00", "currency": "USD", "message": "hi"}'


def corrupt_rows(postgres: bool) -> list[tuple[str, str, str, str]]:
    """``(label, type, occurred_at, data)`` of rows no ORM can read back as events."""
    return [
        (
            "bad JSON",
            "tip",
            "2024-05-01 12:00:00+00:00",
            # jsonb holds only valid JSON: the nearest thing there is the wrong shape
            "[1, 2, 3]" if postgres else '{"amount": "5.00", "currency": ',
        ),
        ("date before year 1", "tip", "0001-01-01 00:00:00+05:00", GOOD_TIP),
        ("date after year 9999", "tip", "9999-12-31 23:59:59-05:00", GOOD_TIP),
        ("unknown type", "nonsense.type", "2024-05-01 12:00:00+00:00", "{}"),
        ("bad amount", "tip", "2024-05-01 12:00:00+00:00", '{"amount": "lots", "currency": "USD"}'),
    ]


async def write_rows(database_url: str, rows: list[tuple[str, str, str, str]]) -> None:
    """Insert unhandled money rows straight into the event log, bypassing every check."""
    columns = (
        "type, source, source_id, dedupe_id, test, occurred_at, received_at, "
        "viewer_platform, viewer_id, viewer_name, data, handled, unrecorded"
    )
    if database_url.startswith("sqlite"):
        path = database_url[len("sqlite://") :]
        with sqlite3.connect(path) as conn:
            for i, (_, etype, occurred, data) in enumerate(rows):
                conn.execute(
                    f"INSERT INTO limelight_event ({columns}) VALUES "
                    "(?, 'kofi', ?, ?, 0, ?, '2024-05-01 12:00:00+00:00', 'kofi', 'x', 'Dana', "
                    "?, 0, '')",
                    (etype, f"bad-{i}", f"bad-{i}", occurred, data),
                )
        return
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://"))
    try:
        for i, (_, etype, occurred, data) in enumerate(rows):
            await conn.execute(
                f"INSERT INTO limelight_event ({columns}) VALUES "
                "($1, 'kofi', $2, $2, false, $3::text::timestamptz, now(), 'kofi', 'x', 'Dana', "
                "$4::text::jsonb, false, '')",
                etype,
                f"bad-{i}",
                occurred,
                data,
            )
    finally:
        await conn.close()


async def test_corrupt_event_log_rows_never_stop_a_start(
    database_url: str, limelight: StartHarness, capsys
) -> None:
    cases = Cases("corrupt row", database_url)
    rows = corrupt_rows(database_url.startswith("postgres"))
    ledger = Ledger()
    h = await limelight(plugins={"ledger": ledger}, database_url=database_url)
    status, _, _ = await post_api(h, api_tip("good-before"))
    assert status == 201
    await h.close()
    await write_rows(database_url, rows)

    rec = Recorder()
    h = await limelight(plugins={"ledger": Ledger(), "rec": rec}, database_url=database_url)
    await h.settle()
    response = await h.client.get("/api/events?limit=50", headers=h.admin_headers)
    events = (await response.json())["events"] if response.status == 200 else []
    listed = {e["source_id"]: e for e in events}
    kept = {e.source_id: e for e in await QuarantineEntry.all()}
    for i, (label, etype, _, _) in enumerate(rows):
        async with cases.case(label):
            assert response.status == 200, response.status
            assert f"bad-{i}" in kept, f"bad-{i} not quarantined"
            entry = kept[f"bad-{i}"]
            assert entry.stage == "replay" and entry.event_id is not None
            assert entry.type == etype and entry.payer == "Dana"
            assert "problem" in listed[f"bad-{i}"], listed.get(f"bad-{i}")
    async with cases.case("the good row is listed as it was"):
        assert "problem" not in listed["good-before"]
        assert listed["good-before"]["data"]["amount"] == "5.00"
        assert rec.events == []  # nothing bad reached a plugin
    async with cases.case("filters still answer (type=tip, test=false)"):
        for query in ("type=tip", "test=false", "limit=2"):
            response = await h.client.get(f"/api/events?{query}", headers=h.admin_headers)
            assert response.status == 200, query
    async with cases.case("a second restart skips them without new attempts"):
        await h.close()
        h = await limelight(plugins={"ledger": Ledger()}, database_url=database_url)
        await h.settle()
        attempts = [e.attempts for e in await QuarantineEntry.all()]
        assert attempts == [1] * len(rows), attempts
    cases.report(capsys)


@pytest.mark.slow
async def test_limelight_run_starts_over_a_corrupt_row(
    database_url: str, tmp_path: Path, capsys
) -> None:
    """The issue's report, end to end: a real ``limelight run`` on an event log holding
    rows that used to make every start exit 3."""
    cases = Cases("corrupt row, real process", database_url)
    admin = "faults-admin-token"
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[server]
host = "127.0.0.1"

[security]
admin_token = "{admin}"
overlay_token = "faults-overlay-token"

[database]
url = "{database_url}"

[webhooks.generic]
secret = "{GENERIC_SECRET}"
""",
        encoding="utf-8",
    )
    env = clean_env(LIMELIGHT_PLUGINS="tips,alerts")
    rows = corrupt_rows(database_url.startswith("postgres"))
    with running_server(config, tmp_path, env=env) as server:  # creates the schema
        await wait_until(lambda: server.get("/healthz")[0] == 200, timeout=20, interval=0.1)
        assert server.stop() == 0
    await write_rows(database_url, rows)
    for restart in (1, 2):
        with running_server(config, tmp_path, env=env) as server:
            async with cases.case(f"start {restart}: serves, lists, quarantines"):
                await wait_until(lambda: server.get("/healthz")[0] == 200, timeout=20, interval=0.1)

                def all_kept() -> bool:
                    status, body = server.get("/api/quarantine", token=admin)
                    return status == 200 and len(body["entries"]) == len(rows)

                await wait_until(all_kept, timeout=20, interval=0.1)
                status, body = server.get("/api/events?limit=50", token=admin)
                assert status == 200, body
                assert sum("problem" in e for e in body["events"]) == len(rows)
                assert server.process.poll() is None, server.output()
            assert server.stop() == 0, server.output()
    cases.report(capsys)


# -- test deliveries: deduplicated among themselves, never blocking a real one ------------------


async def test_test_deliveries_retried_play_once(
    database_url: str, limelight: StartHarness, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    cases = Cases("test-event dedupe", database_url)
    rec = Recorder()
    h = await start_tips(limelight, database_url, rec)
    intent = payment_intent(500, id="pi_faults_1")

    async with cases.case("a Stripe test-mode delivery sent three times plays once"):
        delivery = stripe_request(stripe_event("payment_intent.succeeded", intent, livemode=False))
        for _ in range(3):
            status, body, _ = await post_hook(h, "stripe", delivery)
            assert status == 200, body
        played = [e for e in rec.events if e.test]
        assert len(played) == 1, played
        assert await LedgerEntry.all().count() == 0

    async with cases.case("three at once play once too"):
        delivery = stripe_request(
            stripe_event(
                "payment_intent.succeeded", payment_intent(700, id="pi_faults_2"), livemode=False
            )
        )
        body, headers = delivery
        responses = await asyncio.gather(
            *(h.client.post("/webhooks/stripe", data=body, headers=headers) for _ in range(3))
        )
        await h.settle()
        assert [r.status for r in responses] == [200] * 3
        assert len([e for e in rec.events if e.test]) == 2

    async with cases.case("the real payment with the same id is recorded and plays"):
        live = stripe_request(stripe_event("payment_intent.succeeded", intent))
        status, body, _ = await post_hook(h, "stripe", live)
        assert (status, body["duplicates"]) == (200, 0), body
        assert await LedgerEntry.all().count() == 1
        assert len([e for e in rec.events if not e.test]) == 1

    async with cases.case("another test id still plays"):
        other = stripe_request(
            stripe_event(
                "payment_intent.succeeded", payment_intent(300, id="pi_faults_3"), livemode=False
            )
        )
        status, _, _ = await post_hook(h, "stripe", other)
        assert status == 200 and len([e for e in rec.events if e.test]) == 3

    async with cases.case("after the window a test id plays again; the set stays bounded"):
        monkeypatch.setattr(bus_module, "TEST_KEY_TTL", -1.0)
        status, _, _ = await post_hook(h, "stripe", delivery)
        assert status == 200 and len([e for e in rec.events if e.test]) == 4
        monkeypatch.setattr(bus_module, "TEST_KEY_TTL", 3600.0)
        monkeypatch.setattr(bus_module, "TEST_KEYS_MAX", 5)
        for i in range(20):
            payload = {**api_tip(f"sim-{i}"), "test": True}
            status, _, _ = await post_api(h, payload)
            assert status == 201
        assert len(h.services.bus._recent_tests) <= 5
    async with cases.case("the API: the same test source_id twice answers a duplicate"):
        payload = {**api_tip("sim-api"), "test": True}
        first = await post_api(h, payload)
        second = await post_api(h, payload)
        assert (first[0], second[0], second[1]["duplicate"]) == (201, 200, True)
        assert second[1]["id"] == first[1]["id"]
    cases.report(capsys)


# -- the issue's triggers, as providers send them ---------------------------------------------

#: Deliveries that once got a 2xx without their ledger row, or a 503 forever on PostgreSQL,
#: or stopped every restart. Whatever the edge does with them now (clean them, refuse them),
#: the answer must be "4xx, or 2xx with exactly one ledger row", never a 5xx, and the next
#: start must come up.
TRIGGERS: list[tuple[str, dict[str, Any]]] = [
    ("lone surrogate in the message", {"message": "thanks \ud83d"}),
    ("lone surrogate in the name", {"name": "Ali\udc00ce"}),
    ("NUL byte in the message", {"message": "a\u0000b"}),
    ("timestamp before year 1 in UTC", {"occurred_at": "0001-01-01T00:00:00+05:00"}),
    ("timestamp after year 9999 in UTC", {"occurred_at": "9999-12-31T23:59:59-05:00"}),
    (
        "every trigger at once",
        {"message": "\ud83d\u0000", "name": "\udfff", "occurred_at": "0001-01-01T00:00:00+05:00"},
    ),
]


async def test_the_issues_triggers_get_4xx_or_2xx_with_one_row(
    database_url: str, limelight: StartHarness, capsys
) -> None:
    cases = Cases("real triggers (generic webhook)", database_url)
    h = await start_tips(limelight, database_url)
    answered: dict[str, int] = {}
    for i, (label, extra) in enumerate(TRIGGERS):
        async with cases.case(label):
            order = f"order-trigger-{i}"
            request = generic_request(generic_tip("5.00", "USD", id=order, **extra))
            for attempt in range(3):  # the provider retries a 5xx; a 4xx must repeat as is
                status, body, _ = await post_hook(h, "generic", request)
                assert status < 500, (attempt, status, body)
                assert answered.setdefault(order, status) // 100 == status // 100, body
                rows = await tip_rows(order)
                assert rows == (1 if status < 300 else 0), (status, rows, body)
    async with cases.case("GET /api/events answers after all of them"):
        response = await h.client.get("/api/events?limit=50", headers=h.admin_headers)
        assert response.status == 200
    await h.close()
    async with cases.case("the next start comes up and lists them"):
        h = await start_tips(limelight, database_url)
        await h.settle()
        assert (await h.client.get("/healthz")).status == 200
        response = await h.client.get("/api/events?limit=50", headers=h.admin_headers)
        assert response.status == 200
        for order, status in answered.items():
            assert await tip_rows(order) == (1 if status < 300 else 0), order
    with capsys.disabled():
        print(f"\n  answers: {sorted(answered.values())}")
    cases.report(capsys)


async def test_a_hook_that_hangs_on_the_retry_is_timed_out_and_the_provider_told(
    database_url: str, limelight: StartHarness
) -> None:
    """The provider's retry of a delivery whose rows are still owed settles them in its
    request. A hook that hangs there is ended by the hook timeout and the provider gets
    an answer (a 503 to retry), not a dropped request: the webhook's commit runs in a task
    of its own (``asyncio.shield``), so the timeout, which cancels the current task, is
    the hook's and not the request's. The next retry records the tip once."""
    calls: list[str] = []

    async def record_events(events: list[Event]) -> None:
        calls.append(events[0].source_id)
        if len(calls) <= 2:  # the batch and its second attempt: 503, rows owed
            raise OperationalError("database is locked")
        if len(calls) == 3:  # the retry's settle: hangs past the hook timeout
            await asyncio.sleep(30)

    config = merge_config(
        WEBHOOK_CONFIG, {"plugins": {"hook_timeout": 0.3, "tips": {"thanks_window": 0}}}
    )
    h = await limelight(
        plugins={
            "tips": TipsPlugin,
            "alerts": AlertsPlugin,
            "hook": HookPlugin(record_events=record_events),
        },
        config=config,
        database_url=database_url,
    )
    request = generic_request(generic_tip("5.00", "USD", id="order-hangs"))
    status, _, _ = await post_hook(h, "generic", request)
    assert status == 503
    status, body, retry_after = await post_hook(h, "generic", request)
    assert (status, retry_after) == (503, "30"), body
    status, body, _ = await post_hook(h, "generic", request)
    assert status in (200, 201), body
    assert len(calls) == 4
    record = await EventRecord.get(source_id="order-hangs")
    assert record.unrecorded == ""
