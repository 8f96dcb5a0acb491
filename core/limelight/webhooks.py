"""What webhook providers use: the rejection they raise, and a shared HMAC scheme.

Providers with a scheme of their own verify it in their plugin; Stripe's is here
(:func:`verify_stripe`) because several plugins take Stripe payments (tips, memberships,
the shop), each on its own endpoint, and one check must not drift into three; so is
Fourthwall's (:func:`verify_fourthwall`, and :func:`fourthwall_money` for its amounts: its
orders go to the shop, its donations to the tips plugin, its memberships to the vip
plugin). Services without one use Limelight's generic scheme, the same shape Stripe
uses: the sender puts the Unix time in ``X-Limelight-Timestamp`` and ``sha256=<hex>`` in
``X-Limelight-Signature``, where ``<hex>`` is HMAC-SHA256 over
``"<timestamp>.<raw body>"`` with the shared secret. Signing the timestamp with the body
makes a captured delivery useless after the tolerance.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from .edge import MAX_ID, MAX_NAME, clean_text, same_secret
from .money import ISO_CURRENCIES, Money

TIMESTAMP_HEADER = "X-Limelight-Timestamp"
SIGNATURE_HEADER = "X-Limelight-Signature"
#: Deliveries signed longer ago than this (or this far in the future) are refused.
DEFAULT_TOLERANCE = 300
#: Stripe's own tolerance for ``Stripe-Signature`` (its libraries' default).
STRIPE_TOLERANCE = 300
#: Fourthwall's signature header: base64 HMAC-SHA256 of the raw body with the shop's key.
FOURTHWALL_HEADER = "X-Fourthwall-Hmac-SHA256"


class WebhookError(Exception):
    """Reject a delivery with ``status`` (4xx) and a message that says what is wrong.

    Nothing is written for a rejected delivery."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def hmac_signature(secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Limelight-Signature`` value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Headers a sender attaches (used by the tests and by ``limelight`` senders)."""
    ts = int(time.time()) if timestamp is None else timestamp
    return {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: hmac_signature(secret, ts, body)}


def verify_hmac(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    tolerance: int = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Check a generic-scheme delivery; return its timestamp or raise :class:`WebhookError`.

    The signature is compared in constant time before the timestamp is judged, so a
    stranger learns nothing from the answer but "wrong signature".
    """
    if not secret:
        raise WebhookError(503, "this endpoint has no secret configured; deliveries are refused")
    if not timestamp:
        raise WebhookError(400, f"missing {TIMESTAMP_HEADER} header (Unix seconds)")
    if not signature:
        raise WebhookError(401, f"missing {SIGNATURE_HEADER} header (sha256=<hex>)")
    stamp = timestamp.strip()
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        raise WebhookError(400, f"{TIMESTAMP_HEADER} must be an integer (Unix seconds)")
    ts = int(stamp)
    expected = hmac_signature(secret, ts, body)
    given = [part.strip() for part in signature.split(",")]
    # surrogatepass: a header byte outside ASCII (read as a surrogate) compares unequal
    # instead of raising.
    if not any(
        hmac.compare_digest(expected.encode(), g.encode("utf-8", "surrogatepass")) for g in given
    ):
        raise WebhookError(401, "signature does not match the body (check the secret)")
    current = time.time() if now is None else now
    if abs(current - ts) > tolerance:
        raise WebhookError(
            400, f"timestamp is outside the {tolerance} s tolerance (clock skew or a replay)"
        )
    return ts


def verify_stripe(
    body: bytes,
    header: str | None,
    secret: str,
    *,
    key: str = "[webhooks.stripe]",
    tolerance: int = STRIPE_TOLERANCE,
    now: float | None = None,
) -> None:
    """Check ``Stripe-Signature`` with the official ``stripe`` package, or raise
    :class:`WebhookError` naming the config ``key`` whose secret to check.

    It also refuses what the package does not: a signature dated more than ``tolerance``
    seconds in the *future* (``verify_header`` judges only the past), so a delivery signed
    ahead of time cannot be held back and replayed later."""
    # Imported here, not at module level: the stripe package takes about half a second to
    # import, which every start of the server would otherwise pay.
    import stripe

    if not secret:
        raise WebhookError(503, f"{key} secret is not set; deliveries are refused")
    if not header:
        raise WebhookError(400, "missing Stripe-Signature header")
    malformed = WebhookError(400, "Stripe-Signature header is malformed")
    try:
        stripe.WebhookSignature.verify_header(body, header, secret, tolerance)
    except UnicodeDecodeError:
        raise WebhookError(400, "body is not UTF-8 text") from None
    except (UnicodeError, TypeError, ValueError):  # bytes outside ASCII in the header
        raise malformed from None
    except stripe.SignatureVerificationError as exc:
        text = str(exc.user_message or exc)
        if "tolerance" in text:
            raise WebhookError(
                400,
                f"Stripe-Signature timestamp is more than {tolerance} s "
                "old (a replayed or delayed delivery)",
            ) from None
        if "Unable to extract" in text or "No signatures found with expected" in text:
            raise malformed from None
        raise WebhookError(
            401, f"Stripe-Signature does not match the body (check {key} secret)"
        ) from None
    signed_at = int(header.split("t=", 1)[1].split(",", 1)[0])  # verify_header read it
    if signed_at > (time.time() if now is None else now) + tolerance:
        raise WebhookError(
            400,
            f"Stripe-Signature timestamp is more than {tolerance} s in the future "
            "(check this server's clock)",
        )


#: Keys of a Stripe Checkout custom text field that asks the payer for the name to show
#: on stream (a Payment Link's *Custom fields*; Stripe keys are letters and digits).
STRIPE_NAME_FIELDS = ("name", "displayname", "username", "nickname")


def stripe_custom_text(obj: dict[str, Any], keys: tuple[str, ...]) -> str:
    """The payer's answer to a Checkout Session's custom text field keyed one of ``keys``
    (compared in lower case), as Stripe sent it; "" when there is none. The caller cleans
    it for where it goes (a name, a multi-line message)."""
    fields = obj.get("custom_fields")
    for field in fields if isinstance(fields, list) else ():
        if isinstance(field, dict) and str(field.get("key", "")).lower() in keys:
            text = field.get("text")
            value = text.get("value") if isinstance(text, dict) else None
            if isinstance(value, str) and value.strip():
                return value
    return ""


def stripe_public_name(obj: dict[str, Any]) -> str:
    """The name a Stripe payer chose to be shown under: the value of a Checkout custom
    text field keyed one of :data:`STRIPE_NAME_FIELDS`, else ``metadata.name`` (set by
    the streamer's own integration); "" when there is neither.

    Never ``customer_details.name``, ``customer_name`` or a shipping name: those are the
    card holder's and the parcel's names from the payment form, typed for the bank, not
    for the stream, and an alert or a chat thanks would read them out. Here because every
    plugin that takes Stripe payments (tips, memberships, the shop) names payers the same
    way."""
    if name := clean_text(stripe_custom_text(obj, STRIPE_NAME_FIELDS), MAX_NAME):
        return name
    meta = obj.get("metadata")
    value = meta.get("name") if isinstance(meta, dict) else None
    return clean_text(value, MAX_NAME) if isinstance(value, str) else ""


def required_id(obj: dict[str, Any], key: str, where: str = "") -> str:
    """A provider's id in a delivery (the dedupe key, or what a later delivery finds its
    rows by): a non-blank string of at most :data:`~limelight.edge.MAX_ID` characters,
    stripped, else a 400 naming ``<where><key>`` (``data.id is required``)."""
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise WebhookError(400, f"{where}{key} is required")
    if len(value) > MAX_ID:
        raise WebhookError(400, f"{where}{key} is longer than {MAX_ID} characters")
    return value.strip()


def fourthwall_signature(secret: str, body: bytes) -> str:
    """The ``X-Fourthwall-Hmac-SHA256`` value Fourthwall sends for ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_fourthwall(body: bytes, header: str | None, secret: str, *, key: str) -> None:
    """Check ``X-Fourthwall-Hmac-SHA256`` in constant time, or raise :class:`WebhookError`
    naming the config ``key`` whose secret to check. Fourthwall signs no time: a replayed
    delivery is stopped by the event's id, which the bus stores once."""
    if not secret:
        raise WebhookError(503, f"{key} secret is not set; deliveries are refused")
    if not header:
        raise WebhookError(401, f"missing {FOURTHWALL_HEADER} header")
    if not same_secret(header.strip(), fourthwall_signature(secret, body)):
        raise WebhookError(401, f"{FOURTHWALL_HEADER} does not match the body (check {key} secret)")


def fourthwall_money(value: Any, where: str) -> Money:
    """A Fourthwall amount (``{"value": 10, "currency": "USD"}``) as :class:`Money`, or a
    400 naming ``where``.

    Fourthwall writes ``value`` as a JSON number in major units; a float is read through
    its shortest decimal (``repr``: ``5.1`` is 5.10, never 5.0999...), so no binary
    rounding reaches a ledger. Here because every plugin's Fourthwall endpoint (the shop's
    orders, the vip plugin's memberships) must read amounts the same way. Zero is an
    amount (a free membership tier); a caller that needs more checks it."""
    if not isinstance(value, dict):
        raise WebhookError(400, f"{where} is required ({{value, currency}})")
    amount, currency = value.get("value"), value.get("currency")
    code = currency.upper() if isinstance(currency, str) else ""
    if code not in ISO_CURRENCIES:
        raise WebhookError(400, f"{where}.currency: unknown currency {currency!r}")
    if isinstance(amount, bool) or not isinstance(amount, int | float | str):
        raise WebhookError(400, f"{where}.value must be a number")
    try:
        number = Decimal(repr(amount) if isinstance(amount, float) else str(amount))
        return Money.parse(number, code)
    except (InvalidOperation, ValueError) as exc:
        raise WebhookError(400, f"{where}.value: {exc}") from None
