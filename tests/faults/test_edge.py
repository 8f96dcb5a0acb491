"""Text and time at the edge: hostile-but-signed deliveries on every door, SQLite and
PostgreSQL.

For each case of the corpus (:mod:`tests.faults.corpus`): the answer is a 4xx (the only
right answer for a lax amount, a non-ISO currency, a future-dated signature and, at a
provider, an over-refund or a refund in another currency), or a 2xx with exactly one
ledger row per money event it accepted, each event readable through
``GET /api/events`` with every string clean (no lone surrogate, no control character but
newline and tab). After the corpus: no tip has more refunded than it paid or a refund in
another currency, and the server restarts on the same database (the startup replay
included) and answers ``GET /api/events`` with 200. Per class, the cases tried and failed
are printed.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from limelight import Money, edge
from limelight.money import MoneyError
from limelight.testing import Harness, make_viewer
from limelight_alerts import AlertsPlugin
from limelight_tips import TipsPlugin
from limelight_tips.models import LedgerEntry

from .corpus import CONFIG, Case, Delivery, corpus

Start = Callable[..., Awaitable[Harness]]


async def start(limelight: Start, database_url: str) -> Harness:
    h = await limelight(
        plugins={"tips": TipsPlugin, "alerts": AlertsPlugin},
        config=CONFIG,
        database_url=database_url,
    )
    assert h.host.info["tips"].enabled, h.host.info["tips"].reason
    return h


async def send(h: Harness, delivery: Delivery, method: str = "POST") -> tuple[int, Any]:
    """``delivery`` over a raw connection (headers byte for byte); ``(status, body)``."""
    server = h.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    head = [
        f"{method} {delivery.path} HTTP/1.1".encode(),
        f"Host: {server.host}:{server.port}".encode(),
        f"Content-Length: {len(delivery.body)}".encode(),
        b"Connection: close",
        *(name + b": " + value for name, value in delivery.headers),
    ]
    try:
        writer.write(b"\r\n".join(head) + b"\r\n\r\n" + delivery.body)
        await writer.drain()
    except ConnectionError:
        pass  # the server may answer (413) and close before the whole body is sent
    raw = await asyncio.wait_for(reader.read(), timeout=30)
    writer.close()
    status = int(raw.split(b" ", 2)[1])
    text = raw.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in raw else b""
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text[:200]


async def event_by_id(h: Harness, event_id: int) -> tuple[int, dict[str, Any] | None]:
    response = await h.client.get(
        "/api/events", params={"before": str(event_id + 1), "limit": "1"}, headers=h.admin_headers
    )
    if response.status != 200:
        return response.status, None
    events = (await response.json())["events"]
    return 200, events[0] if events and events[0]["id"] == event_id else None


def dirty_strings(value: Any, where: str = "") -> list[str]:
    """Where a string in ``value`` still holds a surrogate or a control character."""
    found: list[str] = []
    if isinstance(value, str):
        for ch in value:
            if (
                "\ud800" <= ch <= "\udfff"
                or (ord(ch) < 32 and ch not in "\n\t")
                or (0x7F <= ord(ch) <= 0x9F)
            ):
                found.append(f"{where}: {value[:40]!r}")
                break
    elif isinstance(value, dict):
        for k, v in value.items():
            found += dirty_strings(k, f"{where}.<key>") + dirty_strings(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += dirty_strings(v, f"{where}[{i}]")
    return found


async def judge(h: Harness, case: Case) -> str | None:
    """What is wrong with how ``case`` was answered, or ``None``."""
    deliveries = case.make()
    for delivery in deliveries[:-1]:
        status, body = await send(h, delivery)
        if not 200 <= status < 300:
            return f"a set-up delivery was answered {status}: {body}"
        await h.settle()
    status, body = await send(h, deliveries[-1])
    await h.settle()
    if 400 <= status < 500:
        if not isinstance(body, dict) or not body.get("error"):
            return f"{status} without an error message: {body!r}"
        return None
    if not 200 <= status < 300:
        return f"answered {status}: {body}"
    if case.must_refuse:
        return f"accepted ({status}) what must be refused: {body}"
    ids = body.get("ids", []) if "ids" in body else [body.get("id")]
    for event_id in ids:
        got, event = await event_by_id(h, event_id)
        if event is None:
            return f"event {event_id} not readable through GET /api/events ({got})"
        dirty = dirty_strings(event)
        if dirty:
            return f"event {event_id} kept unclean text: {dirty[:3]}"
        if event["type"] in ("tip", "refund", "cheer") and not event["test"]:
            rows = await LedgerEntry.filter(event_id=event_id).count()
            if rows != 1:
                return f"{event['type']} {event_id} has {rows} ledger rows"
    return None


async def refund_problems() -> list[str]:
    """Tips that gave back more than they paid, or refunds in another currency."""
    problems = []
    for tip in await LedgerEntry.filter(kind__in=["tip", "cheer"]):
        refunds = await LedgerEntry.filter(original_id=tip.id)
        given = -sum(int(r.amount_minor) for r in refunds)
        if given > tip.amount_minor:
            problems.append(
                f"{tip.provider}:{tip.provider_id} refunded {given} of {tip.amount_minor}"
            )
        if any(r.currency != tip.currency for r in refunds):
            problems.append(f"{tip.provider}:{tip.provider_id} has a refund in another currency")
    return problems


async def test_hostile_corpus_leaves_the_ledger_exact_and_the_server_restartable(
    limelight: Start, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    h = await start(limelight, database_url)
    tried: dict[str, int] = defaultdict(int)
    failures: dict[str, list[str]] = defaultdict(list)
    for case in corpus():
        tried[case.klass] += 1
        try:
            problem = await judge(h, case)
        except Exception as exc:  # a crash in the test's own reading counts as a failure
            problem = f"{type(exc).__name__}: {exc}"
        if problem is not None:
            failures[case.klass].append(f"[{case.door}] {case.name}: {problem}")
    problems = await refund_problems()
    listing = await h.client.get("/api/events", params={"limit": "500"}, headers=h.admin_headers)
    listed = listing.status

    await h.close()
    try:
        h2 = await start(limelight, database_url)
        await h2.settle()
        after = await h2.client.get(
            "/api/events", params={"limit": "500"}, headers=h2.admin_headers
        )
        restarted = str(after.status)
        problems += await refund_problems()
        dirty = dirty_strings((await after.json())["events"]) if after.status == 200 else []
    except Exception as exc:
        restarted, dirty = f"no: {type(exc).__name__}: {exc}", []

    backend = "postgres" if database_url.startswith("postgres") else "sqlite"
    with capsys.disabled():
        print(f"\nedge corpus on {backend}: class, cases tried / failed")
        for klass in sorted(tried):
            print(f"  {klass:<24} {tried[klass]:>4} / {len(failures[klass])}")
        print(f"  {'total':<24} {sum(tried.values()):>4} / {sum(map(len, failures.values()))}")
        print(f"  GET /api/events before the restart: {listed}, after it: {restarted}")
    assert not any(failures.values()), "\n".join(f for fs in failures.values() for f in fs)
    assert not problems, problems
    assert listed == 200 and restarted == "200", (listed, restarted)
    assert not dirty, dirty


async def test_chat_lines_are_normalised_where_they_enter(
    limelight: Start, database_url: str
) -> None:
    h = await limelight(database_url=database_url)
    viewer = make_viewer("half\ud83d", id="id\x00" + "9" * 300)
    message = await h.chat_as(
        viewer, "hi \ud83d\ude00 \ud800 and\x00nul\x1b[0m\r\nnext" + "z" * 5000
    )
    assert message.text.startswith("hi \U0001f600 \ufffd andnul[0m\nnext")
    assert len(message.text) == edge.MAX_TEXT
    assert message.viewer is not None and message.viewer.name == "half\ufffd"
    assert len(message.viewer.id) == edge.MAX_VIEWER_ID
    response = await h.client.get(
        "/api/events", params={"type": "chat.message", "limit": "1"}, headers=h.admin_headers
    )
    assert response.status == 200
    [event] = (await response.json())["events"]
    assert event["data"]["text"] == message.text and not dirty_strings(event)
    assert event["viewer"]["name"] == "half\ufffd"


@pytest.mark.parametrize("path", ["/api/events", "/-/plugins.json", "/admin/"])
@pytest.mark.parametrize(
    "header",
    [
        (b"Authorization", b"Bearer \xff\xfe"),
        (b"Authorization", b"Bearer test-admin-token\xff"),
        (b"Cookie", b"limelight_session=\xff\xfe"),
        (b"Cookie", b"\xff=\xff; limelight_session=\xc3"),
    ],
)
async def test_bytes_outside_ascii_in_credentials_are_refused_not_crashed(
    limelight: Start, path: str, header: tuple[bytes, bytes]
) -> None:
    h = await limelight()
    status, body = await send(h, Delivery(path, b"", (header,)), method="GET")
    assert status in (302, 303, 401, 403), (status, body)


async def test_a_long_derived_stripe_refund_key_still_dedupes(
    limelight: Start, database_url: str
) -> None:
    from .corpus import _stripe_long_refund

    h = await start(limelight, database_url)
    tip, refund = _stripe_long_refund()
    assert (await send(h, tip))[0] == 200
    first = await send(h, refund)
    again = await send(h, refund)
    assert first[0] == again[0] == 200, (first, again)
    assert again[1]["duplicates"] == 1
    [row] = await LedgerEntry.filter(kind="refund")
    assert len(row.provider_id) == edge.MAX_ID and row.amount_minor == -200
    assert row.original_id is not None


async def test_refunds_are_capped_on_every_path(limelight: Start, database_url: str) -> None:
    """A refund over what is left, or in another currency, is a 400 at the providers' door;
    through the API (no door check) the row is capped in the transaction; a refund that
    comes before its tip is capped when the tip arrives."""
    from .corpus import api, api_tip, generic_raw, generic_tip

    h = await start(limelight, database_url)
    tip = generic_tip(amount="5.00")
    assert (await send(h, generic_raw(tip)))[0] == 200

    def refund(amount: str, currency: str = "USD", of: str = tip["id"]) -> Delivery:
        return generic_raw(
            generic_tip(type="refund", refund_of=of, amount=amount, currency=currency, name=None)
        )

    assert (await send(h, refund("4.00")))[0] == 200
    status, body = await send(h, refund("4.00"))
    assert status == 400 and "is more than the 1.00 USD left" in body["error"], body
    status, body = await send(h, refund("1.00", "EUR"))
    assert status == 400 and "in EUR but the tip was in USD" in body["error"], body
    again = refund("1.00")
    assert (await send(h, again))[0] == 200
    assert (await send(h, again))[1]["duplicates"] == 1  # a retry is no over-refund

    api_tip_payload = api_tip(amount="3.00")
    assert (await send(h, api(api_tip_payload)))[0] == 201
    over = {
        "type": "refund",
        "data": {
            "amount": "5.00",
            "currency": "USD",
            "original_source": "api",
            "original_id": api_tip_payload["source_id"],
        },
    }
    assert (await send(h, api(over)))[0] == 201
    await h.settle()
    [capped] = await LedgerEntry.filter(kind="refund", provider="api")
    assert capped.amount_minor == -300 and "5.00 USD asked" in capped.reason

    later = generic_tip(amount="2.00")
    assert (await send(h, refund("9.00", of=later["id"])))[0] == 200  # pending
    assert (await send(h, generic_raw(later)))[0] == 200
    await h.settle()
    pending = await LedgerEntry.get(provider="generic", refund_of=f"generic:{later['id']}")
    assert pending.amount_minor == -200 and pending.original_id is not None
    assert await refund_problems() == []

    entries = await h.client.get("/api/tips/entries", headers=h.admin_headers)
    row = next(e for e in (await entries.json())["entries"] if e["provider_id"] == tip["id"])
    by_hand = await h.client.post(
        f"/api/tips/entries/{row['id']}/refund", json={"amount": "0.01"}, headers=h.admin_headers
    )
    assert by_hand.status == 400 and "already fully refunded" in (await by_hand.json())["error"]


# -- the normaliser, money and time parsing, by value ---------------------------------------------


@pytest.mark.parametrize(
    ("raw", "multiline", "clean"),
    [
        ("plain", False, "plain"),
        ("half \ud83d", False, "half \ufffd"),
        ("pair \ud83d\ude00", False, "pair \U0001f600"),
        ("nul\x00byte", False, "nulbyte"),
        ("line\nbreak\ttab", False, "line break tab"),
        ("line\r\nbreak\rx\ttab", True, "line\nbreak\nx\ttab"),
        ("c1\x85\x9f del\x7f esc\x1b", True, "c1 del esc"),
        ("emoji \U0001f469\u200d\U0001f4bb zwj", False, "emoji \U0001f469\u200d\U0001f4bb zwj"),
    ],
)
def test_clean_text(raw: str, multiline: bool, clean: str) -> None:
    assert edge.clean_text(raw, multiline=multiline) == clean


def test_clean_text_caps_and_bounded_keys_stay_distinct_and_stable() -> None:
    assert edge.clean_text("x" * 500) == "x" * edge.MAX_NAME
    a, b = "k" * 300 + "a", "k" * 300 + "b"
    assert edge.bounded_key(a) == edge.bounded_key(a) != edge.bounded_key(b)
    assert len(edge.bounded_key(a)) == edge.MAX_ID
    assert edge.bounded_key("short") == "short"


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("2024-05-01T12:00:00Z", ""),
        ("2024-05-01T14:00:00.123456789+02:00", ""),
        ("0001-01-01T00:00:00+05:00", "0001-01-01T00:00:00+05:00"),
        ("9999-12-31T23:59:59-05:00", "9999-12-31T23:59:59-05:00"),
        ("1999-12-31T23:59:59Z", "1999-12-31T23:59:59Z"),
        ("2024-05-01", "2024-05-01"),
        ("2024-02-30T00:00:00Z", "2024-02-30T00:00:00Z"),
        (1714564800, ""),
        (10**20, "100000000000000000000"),
        (float("nan"), "NaN"),
    ],
)
def test_provider_times_out_of_range_become_the_receive_time(raw: Any, kept: str) -> None:
    from datetime import UTC, datetime

    received = datetime(2024, 6, 1, tzinfo=UTC)
    when, raw_kept = edge.provider_time(raw, received)
    assert raw_kept == kept
    if kept:
        assert when == received
    else:
        assert when.year == 2024 and when.month == 5 and when.tzinfo is not None


@pytest.mark.parametrize(
    "raw", ["5_00", "\uff15", "1E+2", "1e2", "+5", " 5", "5 ", "5.", ".5", "5.000", "0x10", "5,00"]
)
def test_money_parse_refuses_lax_text(raw: str) -> None:
    with pytest.raises(MoneyError):
        Money.parse(raw, "USD")


def test_money_parse_reads_plain_decimals_and_keeps_bits_internal() -> None:
    assert Money.parse("5", "USD") == Money(500, "USD")
    assert Money.parse("5.5", "usd") == Money(550, "USD")
    assert Money.parse("-1.25", "EUR") == Money(-125, "EUR")
    assert Money.parse("500", "JPY") == Money(500, "JPY")
    assert Money.parse(Decimal("5.000"), "USD") == Money(500, "USD")  # a value from code
    assert Money.parse("100", "BITS") == Money(100, "BITS")  # cheers, thresholds
    with pytest.raises(MoneyError, match="BITS is not a currency"):
        Money.parse_positive("100", "BITS", iso_only=True)
    with pytest.raises(MoneyError, match="decimal places"):
        Money.parse("5.0", "JPY")
