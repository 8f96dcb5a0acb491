"""Bad deliveries: each gets a 4xx whose message says what is wrong, and nothing is written."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest

from .doubles import (
    GENERIC_SECRET,
    checkout_session,
    generic_request,
    generic_tip,
    kofi_payload,
    kofi_request,
    payment_intent,
    stripe_event,
    stripe_request,
)

Request = tuple[str, bytes, dict[str, str]]


def kofi(**overrides: Any) -> Request:
    return ("kofi", *kofi_request(kofi_payload(**overrides)))


def generic(**overrides: Any) -> Request:
    return ("generic", *generic_request(generic_tip(**overrides)))


def stripe_pi(**overrides: Any) -> Request:
    return (
        "stripe",
        *stripe_request(stripe_event("payment_intent.succeeded", payment_intent(**overrides))),
    )


def _tampered() -> Request:
    body, headers = stripe_request(
        stripe_event("checkout.session.completed", checkout_session(500))
    )
    return "stripe", body.replace(b"500", b"900"), headers


def _stale_stripe() -> Request:
    return (
        "stripe",
        *stripe_request(
            stripe_event("payment_intent.succeeded", payment_intent()),
            timestamp=int(time.time()) - 301,
        ),
    )


def _stale_generic() -> Request:
    return ("generic", *generic_request(generic_tip(), timestamp=int(time.time()) - 301))


def _wrong_secret_generic() -> Request:
    return ("generic", *generic_request(generic_tip(), secret=GENERIC_SECRET + "x"))


def _malformed_stripe_json() -> Request:
    return ("stripe", *stripe_request('{"type": "payment_intent.succeeded", "data": '))


def _malformed_generic_json() -> Request:
    return ("generic", *generic_request(b"{not json"))


def _kofi_bad_json() -> Request:
    return ("kofi", *kofi_request("{'amount': 5}"))


def _kofi_no_data() -> Request:
    return "kofi", b"payload=%7B%7D", {"Content-Type": "application/x-www-form-urlencoded"}


def _kofi_as_json() -> Request:
    return "kofi", json.dumps(kofi_payload()).encode(), {"Content-Type": "application/json"}


def _kofi_broken_form() -> Request:
    return "kofi", b"data", {"Content-Type": "application/x-www-form-urlencoded"}


def _huge(provider: str) -> Callable[[], Request]:
    def make() -> Request:
        filler = "x" * (1024 * 1024)
        if provider == "kofi":
            return ("kofi", *kofi_request(kofi_payload(message=filler)))
        if provider == "stripe":
            return (
                "stripe",
                *stripe_request(
                    stripe_event(
                        "payment_intent.succeeded", payment_intent(metadata={"pad": filler})
                    )
                ),
            )
        return ("generic", *generic_request(generic_tip(message=filler)))

    return make


def _stripe_no_signature() -> Request:
    provider, body, headers = stripe_pi()
    headers.pop("Stripe-Signature")
    return provider, body, headers


def _stripe_garbage_signature() -> Request:
    provider, body, headers = stripe_pi()
    headers["Stripe-Signature"] = "nonsense"
    return provider, body, headers


CASES: dict[str, tuple[Callable[[], Request], int, str]] = {
    "kofi wrong token": (lambda: kofi(token="not-the-token"), 401, "verification_token"),
    "kofi missing token": (lambda: kofi(token=None), 401, "verification_token"),
    "kofi malformed json": (_kofi_bad_json, 400, "not valid JSON"),
    "kofi no data field": (_kofi_no_data, 400, "missing the form field data"),
    "kofi json body": (_kofi_as_json, 415, "x-www-form-urlencoded"),
    "kofi broken form": (_kofi_broken_form, 400, "malformed form body"),
    "kofi unknown type": (lambda: kofi(type="Refund"), 400, "unknown Ko-fi type"),
    "kofi negative": (lambda: kofi(amount="-5.00"), 400, "greater than zero"),
    "kofi zero": (lambda: kofi(amount="0.00"), 400, "greater than zero"),
    "kofi NaN": (lambda: kofi(amount="NaN"), 400, "plain decimal"),
    "kofi infinity": (lambda: kofi(amount="Infinity"), 400, "plain decimal"),
    "kofi absurd": (lambda: kofi(amount="99999999999.00"), 400, "larger than"),
    "kofi words": (lambda: kofi(amount="five"), 400, "plain decimal"),
    "kofi float": (lambda: kofi(amount=5.5), 400, "decimal string"),
    "kofi too many decimals": (lambda: kofi(amount="5.001"), 400, "decimal places"),
    "kofi unknown currency": (lambda: kofi(currency="XYZ"), 400, "unknown currency"),
    "kofi no currency": (lambda: kofi(currency=""), 400, "currency is required"),
    "kofi missing txid": (
        lambda: kofi(kofi_transaction_id=None),
        400,
        "kofi_transaction_id is required",
    ),
    "kofi 1 MB": (_huge("kofi"), 413, "body larger than"),
    "stripe no signature": (_stripe_no_signature, 400, "missing Stripe-Signature"),
    "stripe garbage signature": (_stripe_garbage_signature, 400, "malformed"),
    "stripe wrong secret": (
        lambda: (
            "stripe",
            *stripe_request(
                stripe_event("payment_intent.succeeded", payment_intent()),
                secret="whsec_wrong_secret_1234",
            ),
        ),
        401,
        "does not match",
    ),
    "stripe tampered body": (_tampered, 401, "does not match"),
    "stripe stale timestamp": (_stale_stripe, 400, "more than 300 s old"),
    "stripe malformed json": (_malformed_stripe_json, 400, "not valid JSON"),
    "stripe negative": (lambda: stripe_pi(amount_received=-500), 400, "greater than zero"),
    "stripe zero": (lambda: stripe_pi(amount_received=0), 400, "greater than zero"),
    "stripe absurd": (lambda: stripe_pi(amount_received=10**13), 400, "larger than"),
    "stripe string amount": (lambda: stripe_pi(amount_received="5.00"), 400, "integer amount"),
    "stripe unknown currency": (lambda: stripe_pi(currency="zzz"), 400, "unknown currency"),
    "stripe 1 MB": (_huge("stripe"), 413, "body larger than"),
    "generic wrong secret": (_wrong_secret_generic, 401, "signature does not match"),
    "generic stale timestamp": (_stale_generic, 400, "tolerance"),
    "generic malformed json": (_malformed_generic_json, 400, "not valid JSON"),
    "generic negative": (lambda: generic(amount="-1.00"), 400, "greater than zero"),
    "generic zero": (lambda: generic(amount="0"), 400, "greater than zero"),
    "generic NaN": (lambda: generic(amount="nan"), 400, "plain decimal"),
    "generic absurd": (lambda: generic(amount="1000000000000"), 400, "larger than"),
    "generic exponent": (lambda: generic(amount="1e12"), 400, "plain decimal"),
    "generic unknown currency": (lambda: generic(currency="ABC"), 400, "unknown currency"),
    "generic unknown field": (lambda: generic(colour="red"), 400, "unknown field"),
    "generic 1 MB": (_huge("generic"), 413, "body larger than"),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_bad_delivery_is_refused_and_nothing_is_written(tips, case: str) -> None:
    t = await tips()
    make, status, words = CASES[case]
    provider, body, headers = make()
    got, payload = await t.post(provider, body, headers)
    assert got == status, payload
    assert words in payload["error"], payload
    assert await t.entries() == []
    assert await t.events() == []
    assert t.alerts.calls == []
    assert t.h.said == []


async def test_generic_missing_headers_say_which(tips) -> None:
    t = await tips()
    body, _ = generic_request(generic_tip())
    status, payload = await t.post("generic", body, {"Content-Type": "application/json"})
    assert status == 400
    assert "X-Limelight-Timestamp" in payload["error"]


async def test_unconfigured_provider_is_404_with_how_to(tips) -> None:
    t = await tips(webhooks=False)
    status, payload = await t.post("kofi", *kofi_request(kofi_payload()))
    assert status == 404
    assert "[webhooks.kofi]" in payload["error"]
    assert await t.events() == []


async def test_secrets_never_appear_in_error_messages(tips) -> None:
    from .doubles import KOFI_TOKEN

    t = await tips()
    status, payload = await t.post(*kofi(token=KOFI_TOKEN[:-1]))
    assert status == 401
    assert KOFI_TOKEN not in json.dumps(payload)
