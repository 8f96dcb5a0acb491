"""Tiltify webhooks: the signature scheme as Tiltify documents it, exactly-once donations
under concurrent redelivery (SQLite and PostgreSQL), and nothing written for a bad one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from limelight.models import EventRecord
from limelight.webhooks import WebhookError
from limelight_charity import tiltify
from limelight_charity.config import TiltifyWebhook
from multidict import CIMultiDict

from .doubles import (
    KNOWN_BODY,
    KNOWN_SECRET,
    KNOWN_SIGNATURE,
    KNOWN_TIMESTAMP,
    TILTIFY_SECRET,
    donation_updated,
    tiltify_request,
)


def test_signature_matches_a_captured_tiltify_delivery() -> None:
    assert tiltify.signature(KNOWN_SECRET, KNOWN_TIMESTAMP, KNOWN_BODY) == KNOWN_SIGNATURE
    headers = CIMultiDict(
        {"X-Tiltify-Timestamp": KNOWN_TIMESTAMP, "X-Tiltify-Signature": KNOWN_SIGNATURE}
    )
    sent = datetime(2023, 4, 18, 16, 49, 1, tzinfo=UTC)
    tiltify.verify(TiltifyWebhook(secret=KNOWN_SECRET), headers, KNOWN_BODY, now=sent)
    with pytest.raises(WebhookError) as wrong:
        tiltify.verify(TiltifyWebhook(secret=KNOWN_SECRET), headers, KNOWN_BODY + b" ", now=sent)
    assert wrong.value.status == 401
    with pytest.raises(WebhookError) as late:  # the same delivery replayed an hour later
        tiltify.verify(
            TiltifyWebhook(secret=KNOWN_SECRET),
            headers,
            KNOWN_BODY,
            now=sent + timedelta(hours=1),
        )
    assert late.value.status == 400


async def test_five_concurrent_deliveries_are_one_donation(database_url: str, charity) -> None:
    c = await charity(database_url=database_url)
    body, headers = tiltify_request(donation_updated("25.00", "USD", donor_name="Jirachi"))
    results = await asyncio.gather(*(c.post(body, headers, settle=False) for _ in range(5)))
    await c.h.settle()
    assert [status for status, _ in results] == [200] * 5
    rows = await c.rows()
    assert len(rows) == 1
    row = rows[0]
    assert (row.kind, row.channel, row.amount_minor, row.currency) == (
        "donation",
        "tiltify",
        2500,
        "USD",
    )
    # converted into the campaign's EUR at its rate
    assert (row.counted_minor, row.converted, row.rate) == (2250, True, "0.90")
    assert row.viewer_name == "Jirachi"
    assert len(c.events.of_type("charity.donation")) == 1


@pytest.mark.parametrize(
    "tamper",
    ["wrong-secret", "body-changed", "no-signature", "no-timestamp", "old-timestamp"],
)
async def test_bad_signature_is_4xx_and_writes_nothing(charity, tamper: str) -> None:
    c = await charity()
    payload = donation_updated("25.00", "USD")
    body, headers = tiltify_request(
        payload, secret="not-" + TILTIFY_SECRET if tamper == "wrong-secret" else TILTIFY_SECRET
    )
    if tamper == "body-changed":
        body = body.replace(b'"25.00"', b'"2500.00"')
    elif tamper == "no-signature":
        del headers["X-Tiltify-Signature"]
    elif tamper == "no-timestamp":
        del headers["X-Tiltify-Timestamp"]
    elif tamper == "old-timestamp":
        old = datetime.now(UTC) - timedelta(hours=2)
        headers = tiltify.signed_headers(TILTIFY_SECRET, body, old)
    status, _ = await c.post(body, headers)
    assert 400 <= status < 500
    assert await c.rows() == []
    assert await EventRecord.filter(type="donation").count() == 0


async def test_unfinished_donation_and_other_events_are_acknowledged_only(charity) -> None:
    c = await charity()
    status, _ = await c.post(*tiltify_request(donation_updated(completed=False)))
    assert status == 200
    fact = donation_updated()
    fact["meta"]["event_type"] = "public:direct:fact_updated"
    status, _ = await c.post(*tiltify_request(fact))
    assert status == 200
    assert await c.rows() == []


async def test_test_subscription_delivery_counts_nothing(charity) -> None:
    c = await charity()
    calls: list[dict] = []
    overlays = c.h.services.overlays
    original = overlays.alert

    async def spy(overlay: str, **kwargs):  # type: ignore[no-untyped-def]
        calls.append({"overlay": overlay, **kwargs})
        return await original(overlay, **kwargs)

    overlays.alert = spy  # type: ignore[method-assign]
    payload = donation_updated("7.00", "USD", source_type="test", donor_name="Tester")
    status, _ = await c.post(*tiltify_request(payload))
    assert status == 200
    assert await c.rows() == []
    mine = [call for call in calls if call["overlay"] == "charity"]
    assert len(mine) == 1 and mine[0]["kind"] == "charity.donation"
    assert mine[0]["data"]["name"] == "Tester" and mine[0]["event"].test is True


async def test_bad_amount_is_400(charity) -> None:
    c = await charity()
    status, _ = await c.post(*tiltify_request(donation_updated("-5.00")))
    assert status == 400
    assert await c.rows() == []
