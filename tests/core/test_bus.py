"""The event bus: dedupe, commit-before-answer, batched chat, order, overload, test events,
and redelivery of money events after a crash."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import sqlite3
import typing
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import pytest
from limelight import bus as bus_module
from limelight import hookimpl
from limelight.bus import Lane, log_dedupe_id
from limelight.events import ChatMessage, CustomEvent, Event, Refund, Tip, data_json
from limelight.gating import Action, Verdict
from limelight.models import EventRecord
from limelight.money import Money
from limelight.testing import HookPlugin, Recorder, make_chat, make_tip

from tests.conftest import pg_read_only
from tests.support import wait_until


class Gate:
    """An on_event that holds every event until the test opens the gate."""

    def __init__(self) -> None:
        self.open = asyncio.Event()
        self.entered = asyncio.Event()
        self.seen: list[Any] = []

    @hookimpl
    async def on_event(self, event: Any, ctx: Any) -> None:
        self.entered.set()
        await self.open.wait()
        self.seen.append(event)


async def count_rows(database_url: str, source_id: str) -> int:
    """Count event-log rows through a separate connection (not the app's)."""
    if database_url.startswith("sqlite://"):
        with sqlite3.connect(database_url[len("sqlite://") :]) as conn:
            return conn.execute(
                "SELECT count(*) FROM limelight_event WHERE source_id = ?", (source_id,)
            ).fetchone()[0]
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://"))
    try:
        return await conn.fetchval(
            "SELECT count(*) FROM limelight_event WHERE source_id = $1", source_id
        )
    finally:
        await conn.close()


# -- dedupe -------------------------------------------------------------------------------------


async def test_duplicate_delivery_is_accepted_once(limelight):
    rec = Recorder()
    h = await limelight(plugins={"rec": rec})
    first = await h.publish(make_tip(source="kofi", source_id="k-1"))
    again = await h.publish(make_tip(source="kofi", source_id="k-1"))
    other_source = await h.publish(make_tip(source="stripe", source_id="k-1"))
    assert (first.duplicate, again.duplicate, other_source.duplicate) == (False, True, False)
    assert again.id == first.id
    assert [e.source for e in rec.events] == ["kofi", "stripe"]
    assert await EventRecord.filter(source_id="k-1").count() == 2


async def test_dedupe_survives_a_restart_because_the_database_decides(database_url, limelight):
    rec1 = Recorder()
    h1 = await limelight(plugins={"rec": rec1}, database_url=database_url)
    first = await h1.publish(make_tip(source="kofi", source_id="k-restart"))
    await h1.close()

    rec2 = Recorder()
    h2 = await limelight(plugins={"rec": rec2}, database_url=database_url)
    assert ("kofi", "k-restart") not in h2.services.bus._recent  # memory is empty
    again = await h2.publish(make_tip(source="kofi", source_id="k-restart"))
    assert again.duplicate and again.id == first.id
    assert rec2.events == []
    assert await count_rows(database_url, "k-restart") == 1


async def test_concurrent_duplicate_deliveries_store_and_dispatch_once(database_url, limelight):
    rec = Recorder()
    h = await limelight(plugins={"rec": rec}, database_url=database_url)
    results = await asyncio.gather(
        *(h.services.bus.publish(make_tip(source="kofi", source_id="k-race")) for _ in range(5))
    )
    await h.settle()
    assert sum(not r.duplicate for r in results) == 1
    assert len({r.id for r in results}) == 1
    assert len(rec.events) == 1
    assert await count_rows(database_url, "k-race") == 1


# -- money is committed before publish returns --------------------------------------------------


async def test_money_is_committed_before_publish_returns(database_url, limelight):
    gate = Gate()
    h = await limelight(plugins={"gate": gate}, database_url=database_url)
    accepted = await h.services.bus.publish(make_tip(source="kofi", source_id="k-commit"))
    # No plugin has finished with it, yet another connection already sees the row.
    assert gate.seen == []
    assert accepted.id is not None and not accepted.duplicate
    assert await count_rows(database_url, "k-commit") == 1
    gate.open.set()
    await h.settle()
    assert [e.source_id for e in gate.seen] == ["k-commit"]


async def test_a_webhook_2xx_means_the_row_is_on_disk(database_url, limelight):
    h = await limelight(database_url=database_url)
    status, _body = await h.post_event(
        {
            "type": "tip",
            "source": "api",
            "source_id": "w-1",
            "data": {"amount": "1.00", "currency": "USD"},
        },
        settle=False,
    )
    assert status == 201
    assert await count_rows(database_url, "w-1") == 1


# -- chat is logged in batches ------------------------------------------------------------------


async def test_chat_publish_does_not_write_and_flush_does(database_url, limelight, monkeypatch):
    h = await limelight(database_url=database_url)
    writes: list[int] = []
    original_write, original_save = bus_module._write_chat_rows, EventRecord.save

    async def spy_write(rows):  # type: ignore[no-untyped-def]
        writes.append(len(rows))
        await original_write(rows)

    async def spy_save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        writes.append(-1)
        return await original_save(self, *args, **kwargs)

    monkeypatch.setattr(bus_module, "_write_chat_rows", spy_write)
    monkeypatch.setattr(EventRecord, "save", spy_save)
    bus = h.services.bus
    await bus.flush()
    writes.clear()
    message = make_chat("hello chat")
    accepted = await bus.publish(message)
    assert accepted.id is None and not accepted.duplicate
    assert writes == []  # publish returned without touching the database
    assert await count_rows(database_url, message.source_id) == 0
    await bus.flush()
    assert writes == [1]
    assert await count_rows(database_url, message.source_id) == 1


async def test_chat_lines_reach_the_log_without_an_explicit_flush(limelight):
    h = await limelight()
    messages = [make_chat(f"line {i}") for i in range(20)]
    for message in messages:
        await h.services.bus.publish(message)

    async def logged() -> bool:
        return await EventRecord.filter(type="chat.message").count() == 20

    await wait_until(logged, timeout=5)


# -- order ----------------------------------------------------------------------------------------


class Jittery:
    """Records (source, seq) with random yields in between, to shake out reordering."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seen: list[tuple[str, int]] = []

    @hookimpl
    async def on_event(self, event: Any, ctx: Any) -> None:
        for _ in range(self.rng.randint(0, 3)):
            await asyncio.sleep(0)
        self.seen.append((event.source, int(event.source_id.split("-")[1])))


async def test_events_from_one_source_reach_each_plugin_in_order(limelight):
    a, b = Jittery(1), Jittery(2)
    h = await limelight(plugins={"a": a, "b": b})
    bus = h.services.bus
    sources = ["kofi", "stripe", "twitch"]

    async def feed(source: str) -> None:
        for i in range(30):
            if i % 3 == 0:
                event: Any = make_tip(source=source, source_id=f"{source}-{i}")
            else:
                event = make_chat(f"msg {i}", source=source)
                event.source_id = f"{source}-{i}"
            await bus.publish(event)
            if i % 4 == 0:
                await asyncio.sleep(0)

    await asyncio.gather(*(feed(s) for s in sources))
    await h.settle()
    for plugin in (a, b):
        for source in sources:
            seqs = [n for s, n in plugin.seen if s == source]
            assert seqs == list(range(30)), (source, seqs)


# -- overload ---------------------------------------------------------------------------------


async def test_overload_sheds_chat_first_and_never_money(limelight):
    gate = Gate()
    h = await limelight(plugins={"gate": gate})
    bus = h.services.bus
    lane = bus.lanes["plugin:gate"]
    lane.maxsize = 5

    await bus.publish(make_chat("first"))
    await gate.entered.wait()  # the lane's worker holds "first"; its queue is empty
    chats = [make_chat(f"chat {i}") for i in range(10)]
    for chat in chats:
        await bus.publish(chat)
    assert lane.shed == 5 and len(lane.queue) == 5  # the queue is full of chat

    tips = [make_tip(source_id=f"ovl-{i}") for i in range(8)]
    publishing = asyncio.create_task(_publish_all(bus, tips))
    # five tips push out the five queued chat lines; the rest wait for room, never dropped
    await wait_until(lambda: all(not e.sheddable for e in lane.queue) and len(lane.queue) == 5)
    assert not publishing.done()
    assert await EventRecord.filter(source_id__startswith="ovl-").count() >= 6
    gate.open.set()
    await publishing
    await h.settle()
    delivered_tips = [e.source_id for e in gate.seen if isinstance(e, Tip)]
    assert delivered_tips == [t.source_id for t in tips]
    assert lane.shed == 10
    assert [e.text for e in gate.seen if not isinstance(e, Tip)] == ["first"]


async def _publish_all(bus: Any, events: list[Any]) -> None:
    for event in events:
        await bus.publish(event)


# -- test events --------------------------------------------------------------------------------


async def test_a_test_tip_reaches_plugins_but_never_blocks_the_real_one(limelight):
    # A provider's test delivery retried plays once (DESIGN §2: test events with a
    # source_id are deduplicated among test events), and never blocks the real one.
    rec = Recorder()
    h = await limelight(plugins={"rec": rec})
    simulated = await h.publish(make_tip(source="kofi", source_id="same-1", test=True))
    simulated_again = await h.publish(make_tip(source="kofi", source_id="same-1", test=True))
    real = await h.publish(make_tip(source="kofi", source_id="same-1"))
    replay = await h.publish(make_tip(source="kofi", source_id="same-1"))
    simulated_after = await h.publish(make_tip(source="kofi", source_id="same-1", test=True))
    assert not simulated.duplicate
    assert simulated_again.duplicate and simulated_again.id == simulated.id
    assert not real.duplicate and replay.duplicate and real.id != simulated.id
    assert simulated_after.duplicate and simulated_after.id == simulated.id
    assert [e.test for e in rec.events] == [True, False]
    rows = await EventRecord.filter(source_id="same-1").order_by("id")
    assert [(r.test, r.dedupe_id) for r in rows] == [(True, None), (False, "same-1")]
    # another test id plays; the same id from another source is another delivery
    assert not (await h.publish(make_tip(source="kofi", source_id="same-2", test=True))).duplicate
    assert not (await h.publish(make_tip(source="api", source_id="same-1", test=True))).duplicate


async def test_test_money_events_are_not_redelivered_after_a_restart(limelight):
    h1 = await limelight()
    await h1.publish(make_tip(source_id="sim-1", test=True))
    await h1.close()
    rec = Recorder()
    h2 = await limelight(plugins={"rec": rec})
    await h2.settle()
    assert rec.events == []


# -- redelivery after a crash between commit and dispatch -----------------------------------------


async def test_committed_but_undelivered_money_is_dispatched_after_restart(database_url, limelight):
    rec1 = Recorder()
    h1 = await limelight(plugins={"rec": rec1}, database_url=database_url)
    lane = h1.services.bus.lanes["plugin:rec"]
    await lane.stop()  # the process "dies" after the commit, before the plugin saw it
    await h1.services.bus.publish(make_tip(source="kofi", source_id="crash-1"))
    assert await count_rows(database_url, "crash-1") == 1
    lane.queue.clear()  # a dead process's memory is gone
    lane._idle.set()  # and nobody waits for it at shutdown
    await h1.close()
    assert rec1.events == []
    assert (await _handled(database_url, "crash-1")) is False

    rec2 = Recorder()
    h2 = await limelight(plugins={"rec": rec2}, database_url=database_url)
    await h2.settle()
    assert [e.source_id for e in rec2.events] == ["crash-1"]
    assert rec2.events[0].amount == make_tip().amount
    # a replayed key is known again: a late duplicate delivery is refused
    assert (await h2.services.bus.publish(make_tip(source="kofi", source_id="crash-1"))).duplicate
    await h2.services.bus.flush()
    await h2.close()
    assert (await _handled(database_url, "crash-1")) is True

    rec3 = Recorder()
    h3 = await limelight(plugins={"rec": rec3}, database_url=database_url)
    await h3.settle()
    assert rec3.events == []  # delivered once, never again


async def _handled(database_url: str, source_id: str) -> bool:
    if database_url.startswith("sqlite://"):
        with sqlite3.connect(database_url[len("sqlite://") :]) as conn:
            return bool(
                conn.execute(
                    "SELECT handled FROM limelight_event WHERE source_id = ?", (source_id,)
                ).fetchone()[0]
            )
    import asyncpg

    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://"))
    try:
        return bool(
            await conn.fetchval(
                "SELECT handled FROM limelight_event WHERE source_id = $1", source_id
            )
        )
    finally:
        await conn.close()


async def test_flushes_interleaved_with_publishing_write_every_line_once(database_url, limelight):
    h = await limelight(database_url=database_url)
    bus = h.services.bus

    async def chatter(n: int) -> None:
        for i in range(40):
            await bus.publish(make_chat(f"{n}-{i}", source=f"room{n}"))
            if i % 5 == 0:
                await bus.flush()  # what GET /api/events does while the writer runs

    await asyncio.gather(*(chatter(n) for n in range(4)))
    await bus.flush()
    assert await EventRecord.filter(type="chat.message").count() == 160
    await h.close()  # a clean stop after all that: the connection is not stuck


async def test_stop_lets_an_in_flight_chat_write_finish(limelight, monkeypatch):
    """Cancelling the writer inside a write would leave SQLite in an open transaction."""
    h = await limelight()
    bus = h.services.bus
    original = bus_module._write_chat_rows
    started, release = asyncio.Event(), asyncio.Event()
    outcomes: list[str] = []

    async def slow_write(rows):  # type: ignore[no-untyped-def]
        started.set()
        try:
            await release.wait()
        except asyncio.CancelledError:
            outcomes.append("cancelled")
            raise
        await original(rows)
        outcomes.append(f"wrote {len(rows)}")

    monkeypatch.setattr(bus_module, "_write_chat_rows", slow_write)
    await bus.publish(make_chat("in flight"))
    bus._chat_flush_wakeup.set()
    await asyncio.wait_for(started.wait(), 5)
    stopping = asyncio.create_task(bus.stop())
    await asyncio.sleep(0)
    assert not stopping.done()
    release.set()
    await asyncio.wait_for(stopping, 5)
    assert outcomes == ["wrote 1"]
    assert await EventRecord.filter(type="chat.message").count() == 1


class FailsOnce:
    """A ledger-like plugin whose first write fails (the database hiccupped)."""

    def __init__(self) -> None:
        self.calls = 0
        self.recorded: list[str] = []

    @hookimpl
    async def on_event(self, event: Any, ctx: Any) -> None:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("disk I/O error")
        self.recorded.append(event.source_id)


async def test_money_a_plugin_failed_on_is_dispatched_again_at_next_start(database_url, limelight):
    flaky, rec = FailsOnce(), Recorder()
    h1 = await limelight(plugins={"ledger": flaky, "rec": rec}, database_url=database_url)
    await h1.publish(make_tip(source="kofi", source_id="fail-1"))
    await h1.publish(make_tip(source="kofi", source_id="ok-1"))
    await h1.services.bus.flush()
    assert flaky.recorded == ["ok-1"]
    await h1.close()
    assert (await _handled(database_url, "fail-1")) is False  # kept for redelivery
    assert (await _handled(database_url, "ok-1")) is True

    again = FailsOnce()
    again.calls = 1  # this time the write works
    h2 = await limelight(plugins={"ledger": again, "rec": Recorder()}, database_url=database_url)
    await h2.settle()
    assert again.recorded == ["fail-1"]  # only the one that failed comes back
    await h2.services.bus.flush()
    await h2.close()
    assert (await _handled(database_url, "fail-1")) is True


async def test_the_chat_log_stores_each_lines_wire_data(database_url, limelight):
    """The log row of a chat line is built at the flush, from the event's fields: it holds
    the same ``data`` as the event's wire form (roles sorted, tuples as lists)."""
    h = await limelight(database_url=database_url)
    message = make_chat(
        "hi @bob",
        roles={"vip", "subscriber", "viewer"},
        badges=("vip/1", "subscriber/12"),
        emotes=("0-1:https://e/1",),
        reply_to="parent-1",
    )
    await h.services.bus.publish(message)
    await h.services.bus.flush()
    row = await EventRecord.get(source=message.source, source_id=message.source_id)
    assert row.data == message.data()
    assert row.data["roles"] == ["subscriber", "viewer", "vip"]
    assert row.type == "chat.message" and row.handled


@pytest.mark.postgres
async def test_chat_while_postgresql_is_read_only_is_logged_once_it_can_write(
    limelight, pg_database
):
    """A real outage: the database turns read-only (as a standby after a failover does, or
    ``default_transaction_read_only`` in maintenance) while chat goes on. Its refusal is
    the database's, not the lines': they wait and are logged once it can write, in order
    (a refusal taken for the lines' own would have the log write them one by one and drop
    each)."""
    url = await pg_database()
    rec = Recorder()
    h = await limelight(plugins={"rec": rec}, database_url=url)
    bus = h.services.bus
    bus.chat_flush_interval = 0.05
    await pg_read_only(url, True)
    failed = bus._flush_failures.total
    lines = [make_chat(f"line {i}", "v") for i in range(10)]
    for line in lines:
        assert bus.publish_line(line) is None
    await wait_until(lambda: bus._flush_failures.total >= failed + 3, timeout=20)
    assert [e.source_id for e in bus._chat_batch] == [line.source_id for line in lines]

    await pg_read_only(url, False)
    await wait_until(lambda: not bus._chat_batch, timeout=20)
    await bus.flush()
    await h.settle()
    await _logged_once_and_seen_in_order(rec, lines)


async def test_chat_lines_are_keyed_by_their_time_then_their_id(database_url, limelight):
    """The log's unique key of a chat line starts with its time, so lines with random ids
    (Twitch's) sort by time in the index and a new batch lands at its end; the key still
    stores a line once, whichever way it comes in again. Money keeps the provider's id."""
    h = await limelight(database_url=database_url)
    bus = h.services.bus
    start = datetime(2026, 12, 3, 21, 0, tzinfo=UTC)
    lines = [
        dataclasses.replace(
            make_chat(f"line {i}", source="twitch"),
            source_id=str(uuid.uuid4()),
            occurred_at=start + timedelta(milliseconds=7 * i),
        )
        for i in range(40)
    ]
    for line in lines:
        await bus.publish(line)
    await h.settle()
    await bus.flush()
    keys = (
        await EventRecord.filter(type="chat.message")
        .order_by("dedupe_id")
        .values_list("dedupe_id", "source_id")
    )
    assert [source_id for _, source_id in keys] == [line.source_id for line in lines]
    assert [key for key, _ in keys] == [log_dedupe_id(line) for line in lines]
    assert keys[0][0] == f"{int(start.timestamp() * 1000):011x}:{lines[0].source_id}"
    # The same line again through the API's path (the event-log id in the answer), the
    # bus's memory of recent lines gone as after a restart: the log's key finds it.
    bus._recent.clear()
    again = await bus.publish(dataclasses.replace(lines[5]), immediate=True)
    assert again.duplicate and again.id is not None
    assert await EventRecord.filter(source_id=lines[5].source_id).count() == 1
    fresh = dataclasses.replace(
        make_chat("typed in the API", source="twitch"), source_id=str(uuid.uuid4())
    )
    stored = await bus.publish(fresh, immediate=True)
    row = await EventRecord.get(id=stored.id)
    assert row.dedupe_id == log_dedupe_id(fresh) != fresh.source_id
    # An id too long to take the time in front of it is the key as it is.
    long_line = dataclasses.replace(make_chat("long id", source="twitch"), source_id="x" * 200)
    await bus.publish(long_line)
    await bus.flush()
    assert (await EventRecord.get(source_id="x" * 200)).dedupe_id == "x" * 200
    tip = await bus.publish(make_tip(source="kofi", source_id="k-key"))
    assert (await EventRecord.get(id=tip.id)).dedupe_id == "k-key"


def test_data_json_is_the_json_of_data_for_every_kind_of_field():
    """``data_json`` skips building ``data()`` only where the text comes out the same."""
    message = make_chat("x", roles={"b", "a"}, badges=("z",))
    tip = make_tip("5.00", message="thanks")  # Money: two keys on the wire
    yen = make_tip("500", "JPY", message="\u00e9")  # no minor units
    back = Refund(
        source="kofi",
        source_id="r",
        amount=Money(-250, "EUR"),
        original_source="kofi",
        original_id="t",
    )
    for event in (
        message,
        tip,
        yen,
        back,
        _TwoAmounts(source="t", source_id="2", amount=Money(100, "USD"), fee=Money(5, "EUR")),
    ):
        assert json.loads(data_json(event)) == event.data()
        assert data_json(event) == json.dumps(event.data(), separators=(",", ":"))


@dataclass(kw_only=True, slots=True)
class _TwoAmounts(Event):
    """Two Money fields write two ``currency`` keys: ``data()`` keeps one, and decides."""

    type: ClassVar[str] = "test.two"

    amount: Money
    fee: Money


@dataclass(kw_only=True, slots=True)
class _Odd(Event):
    """Field values of every class ``data_json`` writes itself, and some it leaves to json."""

    type: ClassVar[str] = "test.odd"

    items: tuple[Any, ...] = ()
    flags: frozenset[Any] = frozenset()
    count: Any = 0
    label: Any = ""


def test_data_json_writes_each_kind_of_value_as_json_does():
    """The per-class template and the remembered arrays give ``json``'s own text, for the
    values they take and for those they hand back (a float, ints in a tuple, a str
    subclass); equal tuples of other things never share a remembered array."""

    class Name(str):
        pass

    values: list[dict[str, Any]] = [
        {"items": ("a", 'b\u00e9\n"q"'), "flags": frozenset({"z", "a"}), "count": 3},
        {"items": (1,), "count": True, "label": None},
        {"items": (True,), "count": False, "label": Name("sub")},
        {"items": (1.5, "x"), "flags": frozenset({2, 1}), "count": 2.5},
        {"items": (), "flags": frozenset(), "count": -(2**60), "label": "\ud83d"},
        {"items": ("a", "b"), "flags": frozenset({"z", "a"}), "count": 1},
    ]
    for fields in values * 2:  # twice: the second time from the remembered arrays
        event = _Odd(source="t", source_id="1", **fields)
        assert data_json(event) == json.dumps(event.data(), separators=(",", ":")), fields
    # A class with a data() of its own (a plugin's event: its payload) is never templated.
    custom = CustomEvent(source="t", source_id="2", custom_type="p.x", payload={"a": "b"})
    assert data_json(custom) == '{"a":"b"}'


@dataclass(kw_only=True, slots=True)
class _Typed(Event):
    """A field of every annotation ``data_json``'s generated encoders check, and one they
    do not."""

    type: ClassVar[str] = "test.typed"

    name: str = ""
    maybe: str | None = None
    count: int = 0
    flag: bool = False
    tags: tuple[str, ...] = ()
    kinds: frozenset[str] = frozenset()
    anything: Any = None


class _Sub(str):
    pass


#: Values of every class a field may hold, right for its annotation or not (dataclasses do
#: not check): odd strings, a str subclass, ints, bools, floats, arrays of strings and not.
_JSON_VALUES: list[Any] = [
    "",
    "plain",
    'q"uo\\te',
    "é日本\u2028",
    "\ud83d",
    "\x00\n\t",
    _Sub("sub"),
    None,
    0,
    -1,
    2**70,
    True,
    False,
    1.5,
    (),
    ("a",),
    ("b", 'q"', "é"),
    (1,),
    ("a", None),
    (_Sub("x"),),
    frozenset(),
    frozenset({"z", "a", "é"}),
    frozenset({2, 1}),
    ["a"],
]


#: The values right for each annotation (a str subclass is a str, but not what the
#: generated encoders vouch for).
_RIGHT: dict[Any, list[Any]] = {
    str: [v for v in _JSON_VALUES if type(v) is str],
    str | None: [v for v in _JSON_VALUES if v is None or type(v) is str],
    int: [0, -1, 2**70, 7],
    bool: [True, False],
    tuple[str, ...]: [
        v for v in _JSON_VALUES if type(v) is tuple and all(type(i) is str for i in v)
    ],
    frozenset[str]: [frozenset(), frozenset({"z", "a", "é"}), frozenset({"vip"})],
}


@pytest.mark.parametrize("cls", [_Typed, ChatMessage])
def test_data_json_is_json_s_own_text_for_any_field_values(cls: type[Event]) -> None:
    """Property-style: events of random field values (seeded), nearly all right for the
    annotation and some not, give exactly the text ``json`` writes for ``data()``."""
    rng = random.Random(16)
    hints = typing.get_type_hints(cls)
    pools = {
        f.name: _RIGHT.get(hints[f.name], _JSON_VALUES)
        for f in dataclasses.fields(cls)
        if f.name not in Event.__dataclass_fields__ and f.metadata.get("wire") is not False
    }
    for _ in range(3000):
        values = {
            n: rng.choice(pool if rng.random() < 0.9 else _JSON_VALUES) for n, pool in pools.items()
        }
        event = cls(source="t", source_id="1", **values)
        assert data_json(event) == json.dumps(event.data(), separators=(",", ":")), values


def test_a_chat_line_is_written_without_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of the generated encoder: a chat line of plain values builds no
    ``data()`` dict (one that did would fail here)."""
    message = make_chat('a "line" é', roles={"vip", "viewer"}, badges=("vip/1",), bits=5)
    expected = json.dumps(message.data(), separators=(",", ":"))
    assert data_json(message) == expected  # the encoder is made (and kept) here

    def refuse(self: Event) -> dict[str, Any]:
        raise AssertionError("data() was built")

    monkeypatch.setattr(ChatMessage, "data", refuse)
    assert data_json(message) == expected
    assert data_json(make_chat("", reply_to="x", first=True)) == (
        '{"text":"","channel":"","roles":["viewer"],"badges":[],"first":true,'
        '"reply_to":"x","bits":0,"color":"","emotes":[],"badge_images":[],"private":false}'
    )


async def test_a_full_lane_lets_every_waiting_publisher_in_and_goes_idle():
    """Publishers waiting for room in a full lane are each let in as the worker takes
    events (none is left waiting, none dropped), and the lane reads idle once it has
    delivered everything, as the test kit's ``settle()`` expects."""
    release = asyncio.Event()
    seen: list[str] = []

    async def handler(event: Event) -> None:
        await release.wait()
        seen.append(event.source_id)

    lane = Lane("slow", handler, maxsize=2)
    lane.start()
    tips = [make_tip(source_id=f"wait-{i}") for i in range(7)]
    waiting = [asyncio.create_task(lane.put(tip)) for tip in tips]
    await wait_until(lambda: len(lane.queue) == 2 and sum(t.done() for t in waiting) == 3)
    assert not lane._idle.is_set()
    release.set()
    await asyncio.gather(*waiting)
    await wait_until(lambda: lane._idle.is_set())
    assert sorted(seen) == sorted(t.source_id for t in tips) and lane.shed == 0
    assert lane.delivered == 7 and not lane.queue
    lane.offer(make_chat("again"))  # an idle lane wakes for the next event
    assert not lane._idle.is_set()
    await wait_until(lambda: lane._idle.is_set())
    assert lane.delivered == 8
    await lane.stop()


async def test_publish_line_takes_a_chat_line_with_no_coroutine_unless_something_waits(limelight):
    """A connector's per-line door: done in the call when nothing waits (``None``), else
    an awaitable for the rest; the same dedupe, log, gating and lanes as ``publish``."""
    release = asyncio.Event()
    waited: list[str] = []

    async def gate(message: Any) -> Verdict | None:
        if "slow" in message.text:
            await release.wait()
            waited.append(message.text)
            return Verdict.hide("slow one")
        return None

    rec = Recorder()
    h = await limelight(plugins={"gate": HookPlugin(check_chat_message=gate), "rec": rec})
    bus = h.services.bus
    line = make_chat("hello")
    assert bus.publish_line(line) is None
    assert line.verdict.shown and bus._chat_batch[-1] is line
    replay = make_chat("hello")
    replay.source_id = line.source_id
    assert bus.publish_line(replay) is None  # a replay: dropped, counted
    assert bus.duplicates == 1

    slow = make_chat("slow")
    rest = bus.publish_line(slow)
    assert rest is not None and not waited
    release.set()
    await rest
    assert waited == ["slow"] and slow.verdict.action is Action.HIDE

    test_line = bus.publish_line(make_chat("a test", test=True))  # test lines: publish()
    assert test_line is not None
    assert (await test_line).duplicate is False  # type: ignore[attr-defined]

    lane = bus.lanes["plugin:rec"]
    lane.maxsize = 0  # full: a chat line is shed there, the other lanes still get it
    shed = make_chat("shed")
    rest = bus.publish_line(shed)
    assert rest is not None
    await rest
    assert lane.shed == 1
    lane.maxsize = 10_000
    await h.settle()
    texts = [e.text for e in rec.of_type("chat.message")]
    assert texts == ["hello", "slow", "a test"]
    assert h.services.chat.feed_since(0)[-1]["text"] == "shed"


async def _logged_once_and_seen_in_order(rec: Recorder, lines: list[ChatMessage]) -> None:
    """Every line is in the chat log once, in the order sent, and the plugins saw them all
    in that order."""
    sent = [line.source_id for line in lines]
    logged = (
        await EventRecord.filter(type="chat.message")
        .order_by("id")
        .values_list("source_id", flat=True)
    )
    assert logged == sent
    assert [e.source_id for e in rec.events] == sent


async def test_a_chat_flood_waits_for_the_chat_log_once_its_batch_is_full(
    limelight, monkeypatch, caplog
):
    """The log's batch is bounded: the line that fills it waits until a flush has taken
    the batch, and the next full batch waits for that write to finish; nothing is lost
    and the order holds, in the log and for the plugins."""
    rec = Recorder()
    h = await limelight(plugins={"rec": rec})
    bus = h.services.bus
    bus.chat_batch_limit = 5
    original = bus_module._write_chat_rows
    release = asyncio.Event()
    writes: list[int] = []

    async def held_write(rows):  # type: ignore[no-untyped-def]
        writes.append(len(rows))
        await release.wait()
        await original(rows)

    monkeypatch.setattr(bus_module, "_write_chat_rows", held_write)
    lines = [make_chat(f"line {i}", "v") for i in range(10)]
    assert all(bus.publish_line(line) is None for line in lines[:4])
    filled = bus.publish_line(lines[4])
    assert filled is not None  # the fifth line fills the batch: its publisher waits
    await asyncio.wait_for(filled, 10)  # ... until the flush takes the batch
    assert writes == [5]
    assert "the chat log is 5 lines behind" in caplog.text

    assert all(bus.publish_line(line) is None for line in lines[5:9])
    second = asyncio.ensure_future(bus.publish_line(lines[9]))  # type: ignore[arg-type]
    for _ in range(20):  # the first write is still held: no flush can take this batch
        await asyncio.sleep(0)
    assert not second.done() and writes == [5]
    release.set()
    await asyncio.wait_for(second, 10)
    await bus.flush()
    assert writes == [5, 5] and bus.log_waits == 2
    await h.settle()
    await _logged_once_and_seen_in_order(rec, lines)


async def test_the_chat_log_stays_bounded_while_the_database_is_away(
    database_url, limelight, monkeypatch
):
    """A database outage fails every write of the chat log. Chat goes on until the log
    holds its bound, then waits for the database: each failed write must not let another
    batch of lines in (it once did, one per retry, so an outage held every line of chat in
    memory), and the retries are paced, not a loop as fast as the failures come. When the
    database is back, every line is logged once, in order, and chat goes on."""
    rec = Recorder()
    h = await limelight(plugins={"rec": rec}, database_url=database_url)
    bus = h.services.bus
    limit = bus.chat_batch_limit = 5
    bus.chat_flush_interval = 0.02
    original = bus_module._write_chat_rows
    down = True
    attempts: list[int] = []

    async def write(rows):  # type: ignore[no-untyped-def]
        attempts.append(len(rows))
        if down:
            await asyncio.sleep(0.001)  # a failure takes a round trip to the database
            raise sqlite3.OperationalError("disk I/O error")  # transient: kept, retried
        await original(rows)

    monkeypatch.setattr(bus_module, "_write_chat_rows", write)
    lines = [make_chat(f"line {i}", "v") for i in range(40)]
    sent = 0

    async def chat() -> None:  # a connector's read loop: the next line once this one is in
        nonlocal sent
        for line in lines:
            rest = bus.publish_line(line)
            if rest is not None:
                await rest
            sent += 1

    reader = asyncio.create_task(chat())
    await wait_until(lambda: len(attempts) >= 8, timeout=10)
    assert not reader.done()
    # The batch being written and the one filling behind it: never more than two.
    assert sent <= 2 * limit
    assert max(attempts) <= limit
    assert len(bus._chat_batch) <= 2 * limit
    loop = asyncio.get_running_loop()
    started, before = loop.time(), len(attempts)
    await asyncio.sleep(0.2)
    elapsed = loop.time() - started
    # Paced: a retry per flush interval (0.02 s here), not one per turn of the loop (the
    # unpaced flusher tried 170 times in 0.2 s here).
    assert len(attempts) - before <= elapsed / bus.chat_flush_interval + 2, attempts

    down = False
    await asyncio.wait_for(reader, 10)
    await bus.flush()
    await h.settle()
    await _logged_once_and_seen_in_order(rec, lines)
