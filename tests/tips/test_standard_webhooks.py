"""``/webhooks/generic`` with Standard Webhooks signatures (``webhook-id``,
``webhook-timestamp``, ``webhook-signature``), beside Limelight's own scheme."""

from __future__ import annotations

import base64
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from limelight_tips.config import table_problems
from standardwebhooks import Webhook

from .doubles import GENERIC_SECRET, generic_request, generic_tip

STANDARD_SECRET = "whsec_" + base64.b64encode(b"a-standard-webhooks-secret-bytes").decode()


def standard_request(
    body: dict[str, Any],
    *,
    secret: str = STANDARD_SECRET,
    msg_id: str | None = None,
    at: float | None = None,
) -> tuple[bytes, dict[str, str]]:
    """A delivery exactly as a Standard Webhooks sender makes it (the package's signer)."""
    raw = json.dumps(body)
    when = datetime.fromtimestamp(time.time() if at is None else at, UTC)
    msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
    return raw.encode(), {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, when, raw),
    }


def config(**generic: str) -> dict[str, Any]:
    return {"webhooks": {"generic": generic}}


BOTH = config(secret=GENERIC_SECRET, standard_secret=STANDARD_SECRET)


async def test_a_standard_webhooks_delivery_is_recorded_once(tips) -> None:
    t = await tips(BOTH)
    tip = generic_tip("7.50", "EUR", name="Stan")
    body, headers = standard_request(tip)
    assert await t.post("generic", body, headers) == (
        200,
        {"ok": True, "ids": [1], "duplicates": 0},
    )
    retried = await t.post("generic", body, headers)
    assert retried[0] == 200 and retried[1]["duplicates"] == 1
    [entry] = await t.entries()
    assert (entry["provider_id"], entry["amount"], entry["currency"]) == (tip["id"], "7.50", "EUR")
    assert entry["viewer"]["name"] == "Stan"
    # Limelight's own scheme keeps working on the same endpoint.
    old_body, old_headers = generic_request(generic_tip("1.00", "EUR"))
    assert (await t.post("generic", old_body, old_headers))[0] == 200
    assert len(await t.entries()) == 2


async def test_webhook_id_is_the_dedupe_key_when_the_body_has_no_id(tips) -> None:
    t = await tips(BOTH)
    payload = {"amount": "3.00", "currency": "USD", "name": "No Id"}
    first = standard_request(payload, msg_id="msg_2Lz1")
    # The sender retries: same webhook-id, a fresh timestamp and signature.
    again = standard_request(payload, msg_id="msg_2Lz1", at=time.time() + 1)
    other = standard_request(payload, msg_id="msg_2Lz2")
    assert (await t.post("generic", *first))[1]["duplicates"] == 0
    assert (await t.post("generic", *again))[1]["duplicates"] == 1
    assert (await t.post("generic", *other))[1]["duplicates"] == 0
    assert sorted(e["provider_id"] for e in await t.entries()) == ["msg_2Lz1", "msg_2Lz2"]


async def test_the_standard_webhooks_envelope_is_understood(tips) -> None:
    t = await tips(BOTH)
    envelope = {
        "type": "tip",
        "timestamp": "2025-03-01T10:00:00Z",
        "data": {"id": "shop-77", "amount": "12.00", "currency": "GBP", "name": "Env"},
    }
    status, _ = await t.post("generic", *standard_request(envelope))
    assert status == 200
    [event] = [e for e in await t.events() if e["type"] == "tip"]
    assert event["source_id"] == "shop-77"
    assert event["occurred_at"].startswith("2025-03-01T10:00:00")
    bad = {**envelope, "data": {**envelope["data"], "id": "shop-78"}, "extra": 1}
    status, body = await t.post("generic", *standard_request(bad))
    assert status == 400 and "unknown envelope field(s): extra" in body["error"]


async def test_bad_standard_webhooks_deliveries_are_refused_with_the_reason(tips) -> None:
    t = await tips(BOTH)
    tip = generic_tip()
    wrong = "whsec_" + base64.b64encode(b"another-secret-entirely-000000000").decode()
    cases = [
        (standard_request(tip, secret=wrong), 401, "does not match"),
        (standard_request(tip, at=time.time() - 600), 400, "outside the 300 s tolerance"),
        (standard_request(tip, at=time.time() + 600), 400, "outside the 300 s tolerance"),
    ]
    body, headers = standard_request(tip)
    cases.append(((body.replace(b"5.00", b"9.00"), headers), 401, "does not match"))
    cases.append(((body, {**headers, "webhook-signature": "v1"}), 400, "malformed"))
    no_id = {k: v for k, v in headers.items() if k != "webhook-id"}
    cases.append(((body, no_id), 400, "needs webhook-id, webhook-timestamp"))
    for (raw, hdrs), status, words in cases:
        got, answer = await t.post("generic", raw, hdrs)
        assert got == status and words in answer["error"], (words, answer)
    assert await t.entries() == []


async def test_each_scheme_needs_its_own_secret(tips) -> None:
    t = await tips(config(standard_secret=STANDARD_SECRET), webhooks=False)
    status, body = await t.post("generic", *generic_request(generic_tip()))
    assert status == 401 and "set [webhooks.generic] secret" in body["error"]
    assert (await t.post("generic", *standard_request(generic_tip())))[0] == 200
    await t.h.close()

    t = await tips(config(secret=GENERIC_SECRET), webhooks=False)
    status, body = await t.post("generic", *standard_request(generic_tip()))
    assert status == 401 and "standard_secret" in body["error"]


def test_the_generic_table_is_checked_without_echoing_secrets() -> None:
    assert table_problems("generic", {"tolerance": 300}) == [
        "webhooks.generic: Value error, set secret (Limelight's signature), standard_secret "
        "(Standard Webhooks), or both"
    ]
    [problem] = table_problems("generic", {"standard_secret": "not-base64-secret!"})
    assert problem.startswith("webhooks.generic.standard_secret: Value error, must be whsec_")
    assert "not-base64-secret!" not in problem
    assert table_problems("generic", {"standard_secret": STANDARD_SECRET}) == []


async def test_a_signed_body_that_is_not_utf8_is_refused_and_nothing_recorded(tips) -> None:
    t = await tips(BOTH)
    raw = b'{"id": "bad-bytes", "amount": "5.00", "currency": "EUR", "name": "\xff\xfe"}'
    when = datetime.now(UTC)
    headers = {
        "Content-Type": "application/json",
        "webhook-id": "msg_bad_bytes",
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(STANDARD_SECRET).sign("msg_bad_bytes", when, raw),
    }
    status, answer = await t.post("generic", raw, headers)
    assert status == 400 and "UTF-8" in answer["error"], answer
    assert await t.entries() == []
