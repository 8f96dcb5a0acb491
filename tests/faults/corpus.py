"""Hostile-but-signed deliveries, by class, for every door outside input comes through.

Each :class:`Case` builds its deliveries when it is sent (signatures and timestamps are
fresh): zero or more set-up deliveries that must be accepted (a tip before its refund),
then the one under test. Deliveries are raw HTTP requests (:class:`Delivery`), so a header
can carry a byte outside ASCII exactly as a hostile client would send it.

Doors: ``kofi``, ``stripe``, ``generic`` (Limelight's signature), ``standard`` (the generic
endpoint with Standard Webhooks signatures) and ``api`` (``POST /api/events``).
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import stripe
from limelight.testing import ADMIN_TOKEN
from limelight.webhooks import hmac_signature
from standardwebhooks import Webhook

from tests.tips.doubles import (
    GENERIC_SECRET,
    KOFI_TOKEN,
    STRIPE_SECRET,
    WEBHOOK_CONFIG,
    charge_refunded,
    checkout_session,
    kofi_payload,
    payment_intent,
    stripe_event,
)

STANDARD_SECRET = "whsec_" + base64.b64encode(b"standard-webhooks-test-secret-32b").decode()
CONFIG: dict[str, Any] = {
    "webhooks": {
        **WEBHOOK_CONFIG["webhooks"],
        "generic": {"secret": GENERIC_SECRET, "standard_secret": STANDARD_SECRET},
    },
    "plugins": {"tips": {"thanks": False}},
}

Headers = tuple[tuple[bytes, bytes], ...]
_seq = itertools.count(1)


def uid(prefix: str) -> str:
    return f"{prefix}-{next(_seq)}-{time.monotonic_ns()}"


@dataclass(frozen=True)
class Delivery:
    """One raw HTTP POST."""

    path: str
    body: bytes
    headers: Headers


@dataclass(frozen=True)
class Case:
    klass: str
    door: str
    name: str
    #: Builds the deliveries: set-up ones (each must be answered 2xx), then the one judged.
    make: Callable[[], list[Delivery]]
    #: Only a 4xx will do (a lax amount, a non-ISO currency, a future signature, an
    #: over-refund at a provider's door): a 2xx, even with one ledger row, is a failure.
    #: ``None``: decided by class (:data:`REFUSED`).
    must_refuse: bool | None = None


def _h(**headers: str | bytes) -> Headers:
    return tuple(
        (k.replace("_", "-").encode(), v if isinstance(v, bytes) else v.encode("utf-8"))
        for k, v in headers.items()
    )


# -- the doors ---------------------------------------------------------------------------------


def kofi(payload: dict[str, Any] | str, **extra: str | bytes) -> Delivery:
    data = payload if isinstance(payload, str) else json.dumps(payload)
    body = urlencode({"data": data}).encode()
    return Delivery(
        "/webhooks/kofi", body, _h(Content_Type="application/x-www-form-urlencoded", **extra)
    )


def kofi_tip(**overrides: Any) -> Delivery:
    return kofi(kofi_payload(txid=overrides.pop("txid", uid("kofi")), **overrides))


def stripe_raw(
    event: dict[str, Any] | str, *, timestamp: int | None = None, **extra: str | bytes
) -> Delivery:
    payload = event if isinstance(event, str) else json.dumps(event, indent=2)
    header = stripe.WebhookSignature.generate_signature_header(
        payload, STRIPE_SECRET, timestamp=timestamp
    )
    headers = {"Content_Type": "application/json", "Stripe_Signature": header, **extra}
    return Delivery("/webhooks/stripe", payload.encode(), _h(**headers))


def stripe_tip(amount: int = 500, currency: str = "usd", **obj: Any) -> Delivery:
    return stripe_raw(
        stripe_event("payment_intent.succeeded", payment_intent(amount, currency, **obj))
    )


def generic_raw(
    body: dict[str, Any] | bytes, *, timestamp: int | None = None, **extra: str | bytes
) -> Delivery:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    ts = int(time.time()) if timestamp is None else timestamp
    headers: dict[str, str | bytes] = {
        "Content_Type": "application/json",
        "X_Limelight_Timestamp": str(ts),
        "X_Limelight_Signature": hmac_signature(GENERIC_SECRET, ts, raw),
        **extra,
    }
    return Delivery("/webhooks/generic", raw, _h(**headers))


def generic_tip(**fields: Any) -> dict[str, Any]:
    return {
        "id": fields.pop("id", uid("gen")),
        "amount": "5.00",
        "currency": "USD",
        "name": "Gen",
        "message": "hi",
        **fields,
    }


def standard_raw(
    body: dict[str, Any] | bytes,
    *,
    msg_id: str | None = None,
    timestamp: float | None = None,
    **extra: str | bytes,
) -> Delivery:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    when = datetime.fromtimestamp(time.time() if timestamp is None else timestamp, UTC)
    msg_id = msg_id or uid("msg")
    signature = Webhook(STANDARD_SECRET).sign(msg_id, when, raw.decode())
    headers: dict[str, str | bytes] = {
        "Content_Type": "application/json",
        "webhook_id": msg_id,
        "webhook_timestamp": str(int(when.timestamp())),
        "webhook_signature": signature,
        **extra,
    }
    return Delivery("/webhooks/generic", raw, _h(**headers))


def api(payload: dict[str, Any] | bytes, **extra: str | bytes) -> Delivery:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers: dict[str, str | bytes] = {
        "Content_Type": "application/json",
        "Authorization": f"Bearer {ADMIN_TOKEN}",
        **extra,
    }
    return Delivery("/api/events", raw, _h(**headers))


def api_tip(**data: Any) -> dict[str, Any]:
    viewer = data.pop("viewer", {"platform": "twitch", "id": "v1", "name": "Vee"})
    return {
        "type": "tip",
        "source_id": data.pop("source_id", uid("api")),
        "viewer": viewer,
        "data": {"amount": "5.00", "currency": "USD", "message": "hi", **data},
    }


# -- what each door gets, by class ---------------------------------------------------------------

SURROGATE = "\ud83d"  # half an emoji
NASTY_TEXT = [SURROGATE, "a\udc00b", "\ud800", "ok\x00nul", "\x1b[31mred\x07", "\u0085\u009f"]
LAX_AMOUNTS = ["5_00", "\uff15", "1E+2", "1e2", "+5", " 5", "5 ", "5.", ".5", "5.000", "0x10"]
LAX_AMOUNTS += ["5,00", "\u0665", "5\n", "NaN", "-0", "Infinity", "5\u00a0"]
NON_ISO = ["BITS", "bits", "XBT", " USD", "USD ", "\uff35\uff33\uff24", "US", "U$D", "\x00USD"]
ODD_TIMES = [
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59-05:00",
    "1970-01-01T00:00:00Z",
    "2024-02-30T12:00:00Z",
    "2024-05-01",
    "20240501T120000Z",
    "2024-W18-3",
    "yesterday",
    "",
    "2999-01-01T00:00:00Z",
]
NUMERIC_TIMES: list[Any] = [0, -1, 10**20, 1e308, -1e308, 253402300800, True, [1], {"t": 1}]


def deep(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


def deep_text(levels: int) -> str:
    return "[" * levels + "]" * levels


def _kofi_cases() -> list[Case]:
    cases: list[Case] = []
    add = cases.append
    for i, text in enumerate(NASTY_TEXT):
        k = "lone surrogates" if "\ud800" <= max(text) <= "\udfff" else "NUL and controls"
        add(Case(k, "kofi", f"name {i}", lambda t=text: [kofi_tip(from_name=t)]))
        add(Case(k, "kofi", f"message {i}", lambda t=text: [kofi_tip(message=t)]))
    add(Case("lone surrogates", "kofi", "token \\ud800", lambda: [kofi_tip(token="\ud800")]))
    add(Case("lone surrogates", "kofi", "type \\ud800", lambda: [kofi_tip(type="\ud800")]))
    add(Case("huge strings", "kofi", "60k name", lambda: [kofi_tip(from_name="N" * 60_000)]))
    add(Case("huge strings", "kofi", "40k message", lambda: [kofi_tip(message="\u00e9" * 20_000)]))
    for t in ODD_TIMES:
        add(Case("timestamps", "kofi", repr(t), lambda t=t: [kofi_tip(timestamp=t)]))
    for t in NUMERIC_TIMES:
        add(Case("timestamps", "kofi", repr(t)[:30], lambda t=t: [kofi_tip(timestamp=t)]))
    for a in LAX_AMOUNTS:
        add(Case("lax amounts", "kofi", repr(a), lambda a=a: [kofi_tip(amount=a)]))
    for c in NON_ISO:
        add(Case("non-ISO currency", "kofi", repr(c), lambda c=c: [kofi_tip(currency=c)]))
    add(Case("nested JSON", "kofi", "3000 deep (unauthenticated)", lambda: [kofi(deep_text(3000))]))
    add(
        Case(
            "nested JSON",
            "kofi",
            "40 deep in a field, valid token",
            lambda: [kofi_tip(shop_items=deep(40))],
        )
    )
    add(Case("huge ids", "kofi", "201 chars", lambda: [kofi_tip(txid="k" * 201)]))
    add(Case("huge ids", "kofi", "10k chars", lambda: [kofi_tip(txid="k" * 10_000)]))
    add(
        Case(
            "huge numbers",
            "kofi",
            "5000-digit integer",
            lambda: [
                kofi('{"verification_token": "' + KOFI_TOKEN + '", "amount": ' + "9" * 5000 + "}")
            ],
        )
    )
    add(Case("huge numbers", "kofi", "amount 1e400", lambda: [kofi_tip(amount=1e400)]))
    add(Case("odd types", "kofi", "amount list", lambda: [kofi_tip(amount=["5"])]))
    add(
        Case(
            "odd types",
            "kofi",
            "name object",
            lambda: [kofi({**kofi_payload(txid=uid("k")), "from_name": {"a": 1}})],
        )
    )
    add(Case("odd types", "kofi", "is_public string", lambda: [kofi_tip(is_public="no")]))
    return cases


def _stripe_refund_pair(
    amount: int, refunded: int, currency: str = "usd", charge_currency: str | None = None
) -> list[Delivery]:
    intent = uid("pi")
    obj, previous = charge_refunded(intent, amount, refunded, 0, charge_currency or currency)
    return [
        stripe_raw(
            stripe_event("payment_intent.succeeded", payment_intent(amount, currency, id=intent))
        ),
        stripe_raw(stripe_event("charge.refunded", obj, previous=previous)),
    ]


def _stripe_long_refund() -> list[Delivery]:
    intent = "pi_" + "L" * 190
    obj, previous = charge_refunded(intent, 500, 200)
    obj["id"] = "ch_" + "C" * 195
    tip = stripe_raw(
        stripe_event("payment_intent.succeeded", payment_intent(500, "usd", id=intent))
    )
    return [tip, stripe_raw(stripe_event("charge.refunded", obj, previous=previous))]


def _stripe_cases() -> list[Case]:
    cases: list[Case] = []
    add = cases.append
    for i, text in enumerate(NASTY_TEXT):
        k = "lone surrogates" if "\ud800" <= max(text) <= "\udfff" else "NUL and controls"
        add(
            Case(
                k,
                "stripe",
                f"checkout name+message {i}",
                lambda t=text: [
                    stripe_raw(
                        stripe_event(
                            "checkout.session.completed",
                            checkout_session(500, name=t, message=t, customer=t),
                        )
                    )
                ],
            )
        )
        add(
            Case(
                k,
                "stripe",
                f"metadata {i}",
                lambda t=text: [stripe_tip(metadata={"name": t, "message": t, "anonymous": t})],
            )
        )
    add(
        Case(
            "huge strings",
            "stripe",
            "100k message",
            lambda: [stripe_tip(metadata={"message": "m" * 100_000})],
        )
    )
    for t in NUMERIC_TIMES + ODD_TIMES[:3]:

        def make(t: Any = t) -> list[Delivery]:
            event = stripe_event("payment_intent.succeeded", payment_intent())
            event["created"] = t
            return [stripe_raw(event)]

        add(Case("timestamps", "stripe", f"created {t!r}"[:40], make))
    for c in ["bits", "xbt", "US", "\uff55sd", " usd", ""]:
        add(Case("non-ISO currency", "stripe", repr(c), lambda c=c: [stripe_tip(currency=c)]))
    for a in ["500", 5.0, True, 10**30, -1, [500]]:
        add(Case("lax amounts", "stripe", repr(a), lambda a=a: [stripe_tip(amount_received=a)]))
    add(
        Case(
            "nested JSON",
            "stripe",
            "signed, 3000 deep",
            lambda: [
                stripe_raw('{"type": "payment_intent.succeeded", "data": ' + deep_text(3000) + "}")
            ],
        )
    )
    add(
        Case(
            "nested JSON",
            "stripe",
            "signed, 40 deep metadata",
            lambda: [stripe_tip(metadata={"message": deep(40)})],
        )
    )
    add(
        Case(
            "nested JSON",
            "stripe",
            "custom_fields of odd shapes",
            lambda: [
                stripe_raw(
                    stripe_event(
                        "checkout.session.completed",
                        checkout_session(500, custom_fields=[{"key": "message", "text": "x"}, 5]),
                    )
                ),
            ],
        )
    )
    add(
        Case(
            "nested JSON",
            "stripe",
            "custom_fields not a list",
            lambda: [
                stripe_raw(
                    stripe_event(
                        "checkout.session.completed", checkout_session(500, custom_fields=7)
                    )
                )
            ],
        )
    )
    add(Case("huge ids", "stripe", "201-char intent", lambda: [stripe_tip(id="pi_" + "x" * 198)]))
    add(
        Case(
            "huge ids",
            "stripe",
            "checkout with 5k payment_intent",
            lambda: [
                stripe_raw(
                    stripe_event(
                        "checkout.session.completed",
                        checkout_session(500, intent="pi_" + "y" * 5000),
                    )
                )
            ],
        )
    )
    add(Case("huge ids", "stripe", "derived refund key over 200", _stripe_long_refund))
    future = lambda: [  # noqa: E731
        stripe_raw(
            stripe_event("payment_intent.succeeded", payment_intent()),
            timestamp=int(time.time()) + 3600,
        )
    ]
    add(Case("future signatures", "stripe", "an hour ahead", future))
    add(
        Case(
            "future signatures",
            "stripe",
            "a day ahead",
            lambda: [
                stripe_raw(
                    stripe_event("payment_intent.succeeded", payment_intent()),
                    timestamp=int(time.time()) + 86_400,
                )
            ],
        )
    )
    add(
        Case(
            "bad header bytes",
            "stripe",
            "\\xff in Stripe-Signature",
            lambda: [
                stripe_raw(
                    stripe_event("payment_intent.succeeded", payment_intent()),
                    Stripe_Signature=b"t=1,v1=\xff\xfe",
                )
            ],
        )
    )
    add(
        Case(
            "over-refunds",
            "stripe",
            "refund over the charge",
            lambda: _stripe_refund_pair(500, 900),
        )
    )
    add(
        Case(
            "cross-currency refunds",
            "stripe",
            "charge in eur, tip in usd",
            lambda: _stripe_refund_pair(500, 200, "usd", "eur"),
        )
    )
    return cases


def _generic_cases(door: str) -> list[Case]:
    send = generic_raw if door == "generic" else standard_raw
    cases: list[Case] = []
    add = cases.append
    for i, text in enumerate(NASTY_TEXT):
        k = "lone surrogates" if "\ud800" <= max(text) <= "\udfff" else "NUL and controls"
        add(
            Case(
                k,
                door,
                f"name, message, kind, viewer {i}",
                lambda t=text: [
                    send(
                        generic_tip(
                            name=t,
                            message=t,
                            kind=t,
                            viewer={"platform": t, "id": t + "id", "name": t},
                        )
                    )
                ],
            )
        )
        add(Case(k, door, f"id {i}", lambda t=text: [send(generic_tip(id="id" + t))]))
    add(
        Case(
            "huge strings", door, "50k message", lambda: [send(generic_tip(message="x\n" * 25_000))]
        )
    )
    for t in ODD_TIMES:
        add(
            Case(
                "timestamps",
                door,
                f"occurred_at {t!r}",
                lambda t=t: [send(generic_tip(occurred_at=t))],
            )
        )
    for t in NUMERIC_TIMES[:5]:
        add(
            Case(
                "timestamps",
                door,
                f"occurred_at {t!r}"[:40],
                lambda t=t: [send(generic_tip(occurred_at=t))],
            )
        )
    for a in LAX_AMOUNTS:
        add(Case("lax amounts", door, repr(a), lambda a=a: [send(generic_tip(amount=a))]))
    for c in NON_ISO:
        add(Case("non-ISO currency", door, repr(c), lambda c=c: [send(generic_tip(currency=c))]))
    add(Case("nested JSON", door, "signed, 3000 deep", lambda: [send(deep_text(3000).encode())]))
    add(
        Case(
            "nested JSON",
            door,
            "signed, 40 deep field",
            lambda: [send(generic_tip(viewer=deep(40)))],
        )
    )
    add(Case("huge ids", door, "201 chars", lambda: [send(generic_tip(id="g" * 201))]))
    add(
        Case(
            "huge ids",
            door,
            "refund_of 10k",
            lambda: [send(generic_tip(type="refund", refund_of="r" * 10_000))],
        )
    )
    add(Case("huge numbers", door, "amount 10**30", lambda: [send(generic_tip(amount=10**30))]))
    add(
        Case(
            "huge numbers",
            door,
            "5000 digits",
            lambda: [send(b'{"id": "x", "amount": ' + b"9" * 5000 + b"}")],
        )
    )
    add(Case("odd types", door, "amount null", lambda: [send(generic_tip(amount=None))]))
    add(Case("odd types", door, "test as string", lambda: [send(generic_tip(test="false"))]))
    add(Case("odd types", door, "body is a list", lambda: [send(b"[1, 2]")]))
    ahead = time.time() + 3600
    add(
        Case(
            "future signatures",
            door,
            "an hour ahead",
            lambda: [send(generic_tip(), timestamp=int(ahead))],
        )
    )
    if door == "generic":
        add(
            Case(
                "bad header bytes",
                door,
                "\\xff in X-Limelight-Signature",
                lambda: [send(generic_tip(), X_Limelight_Signature=b"sha256=\xff")],
            )
        )
        add(
            Case(
                "bad header bytes",
                door,
                "arabic digits in X-Limelight-Timestamp",
                lambda: [send(generic_tip(), X_Limelight_Timestamp="\u0661\u0667".encode())],
            )
        )
    else:
        add(
            Case(
                "bad header bytes",
                door,
                "\\xff in webhook-signature",
                lambda: [send(generic_tip(), webhook_signature=b"v1,\xff\xfe")],
            )
        )
        add(
            Case(
                "bad header bytes",
                door,
                "\\xff in webhook-id",
                lambda: [send(generic_tip(), webhook_id=b"id-\xff")],
            )
        )
        add(
            Case(
                "bad header bytes",
                door,
                "signature that is no base64",
                lambda: [send(generic_tip(), webhook_signature=b"v1,***,x")],
            )
        )
        add(
            Case(
                "huge ids",
                door,
                "no body id, 5k webhook-id",
                lambda: [send({"amount": "5.00", "currency": "USD"}, msg_id="m" * 5000)],
            )
        )
    add(
        Case(
            "over-refunds",
            door,
            "one refund over the tip",
            lambda: _generic_refunds(send, ["6.00"]),
        )
    )
    add(
        Case(
            "over-refunds",
            door,
            "two refunds of 4.00 on 5.00",
            lambda: _generic_refunds(send, ["4.00", "4.00"]),
        )
    )
    add(
        Case(
            "over-refunds",
            door,
            "pending refund over the tip",
            lambda: _pending_refund(send),
            must_refuse=False,
        )
    )
    add(
        Case(
            "cross-currency refunds",
            door,
            "EUR refund of a USD tip",
            lambda: _generic_refunds(send, ["1.00"], currency="EUR"),
        )
    )
    return cases


def _generic_refunds(
    send: Callable[..., Delivery], amounts: list[str], currency: str = "USD"
) -> list[Delivery]:
    tip = generic_tip()
    out = [send(tip)]
    for amount in amounts:
        out.append(
            send(
                generic_tip(
                    type="refund", refund_of=tip["id"], amount=amount, currency=currency, name=None
                )
            )
        )
    return out


def _pending_refund(send: Callable[..., Delivery]) -> list[Delivery]:
    tip = generic_tip()
    refund = generic_tip(type="refund", refund_of=tip["id"], amount="9.00", name=None)
    return [send(refund), send(tip)]


def _api_cases() -> list[Case]:
    cases: list[Case] = []
    add = cases.append
    for i, text in enumerate(NASTY_TEXT):
        k = "lone surrogates" if "\ud800" <= max(text) <= "\udfff" else "NUL and controls"
        add(
            Case(
                k,
                "api",
                f"tip strings {i}",
                lambda t=text: [
                    api(api_tip(message=t, kind=t, viewer={"platform": t, "id": t, "name": t}))
                ],
            )
        )
        add(
            Case(
                k,
                "api",
                f"chat line {i}",
                lambda t=text: [
                    api(
                        {
                            "type": "chat.message",
                            "source_id": uid("chat") + t,
                            "viewer": {"platform": "twitch", "id": "1", "name": t},
                            "data": {"text": t, "channel": t, "badges": [t], "color": t},
                        }
                    )
                ],
            )
        )
        add(Case(k, "api", f"source {i}", lambda t=text: [api({**api_tip(), "source": "api" + t})]))
    add(Case("huge strings", "api", "100k message", lambda: [api(api_tip(message="y" * 100_000))]))
    add(
        Case(
            "huge strings",
            "api",
            "5k viewer id",
            lambda: [api(api_tip(viewer={"platform": "p" * 500, "id": "i" * 5000, "name": "n"}))],
        )
    )
    for t in ODD_TIMES:
        add(
            Case(
                "timestamps",
                "api",
                f"occurred_at {t!r}",
                lambda t=t: [api({**api_tip(), "occurred_at": t})],
            )
        )
    add(
        Case(
            "timestamps",
            "api",
            "membership expires 9999",
            lambda: [
                api(
                    {
                        "type": "membership.changed",
                        "viewer": {"platform": "twitch", "id": "1", "name": "m"},
                        "data": {
                            "level": "vip",
                            "status": "granted",
                            "expires_at": "9999-12-31T23:59:59-05:00",
                        },
                    }
                )
            ],
        )
    )
    for a in LAX_AMOUNTS:
        add(Case("lax amounts", "api", repr(a), lambda a=a: [api(api_tip(amount=a))]))
    for c in NON_ISO:
        add(Case("non-ISO currency", "api", repr(c), lambda c=c: [api(api_tip(currency=c))]))
    add(Case("nested JSON", "api", "3000 deep", lambda: [api(deep_text(3000).encode())]))
    add(Case("huge ids", "api", "201-char source_id", lambda: [api(api_tip(source_id="s" * 201))]))
    add(
        Case(
            "huge numbers",
            "api",
            "cheer of 10**20 bits",
            lambda: [
                api(
                    {
                        "type": "cheer",
                        "viewer": {"platform": "twitch", "id": "1", "name": "b"},
                        "data": {"bits": 10**20},
                    }
                )
            ],
        )
    )
    add(
        Case(
            "huge numbers",
            "api",
            "5000-digit number",
            lambda: [api(b'{"type": "tip", "data": {"amount": ' + b"9" * 5000 + b"}}")],
        )
    )
    add(
        Case(
            "bad header bytes",
            "api",
            "\\xff in Authorization",
            lambda: [api(api_tip(), Authorization=b"Bearer \xff\xfe")],
        )
    )
    add(
        Case(
            "bad header bytes",
            "api",
            "\\xff in Cookie, no token",
            lambda: [
                Delivery(
                    "/api/events",
                    json.dumps(api_tip()).encode(),
                    _h(Content_Type="application/json", Cookie=b"limelight_session=\xff\xfe"),
                )
            ],
        )
    )
    add(
        Case(
            "over-refunds",
            "api",
            "refund over the tip",
            lambda: _api_refunds(["4.00", "4.00"]),
        )
    )
    add(
        Case(
            "cross-currency refunds",
            "api",
            "EUR refund of a USD tip",
            lambda: _api_refunds(["1.00"], "EUR"),
        )
    )
    return cases


def _api_refunds(amounts: list[str], currency: str = "USD") -> list[Delivery]:
    tip = api_tip()
    out = [api(tip)]
    for amount in amounts:
        out.append(
            api(
                {
                    "type": "refund",
                    "source_id": uid("refund"),
                    "data": {
                        "amount": amount,
                        "currency": currency,
                        "original_source": "api",
                        "original_id": tip["source_id"],
                    },
                }
            )
        )
    return out


#: Classes where nothing but a 4xx is right, on every door.
REFUSED = {"lax amounts", "non-ISO currency", "future signatures"}
#: ... and on the providers' doors (the API caps a refund in the transaction instead).
REFUSED_AT_PROVIDERS = {"over-refunds", "cross-currency refunds"}


def corpus() -> list[Case]:
    """Every case, for every door."""
    cases = [
        *_kofi_cases(),
        *_stripe_cases(),
        *_generic_cases("generic"),
        *_generic_cases("standard"),
        *_api_cases(),
    ]
    return [
        dataclasses.replace(
            case,
            must_refuse=case.klass in REFUSED
            or (case.klass in REFUSED_AT_PROVIDERS and case.door != "api"),
        )
        if case.must_refuse is None
        else case
        for case in cases
    ]
