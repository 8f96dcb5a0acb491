"""Tiltify deliveries built exactly as Tiltify sends them (v5 API webhooks).

The payload shape is the ``public:direct:donation_updated`` event Tiltify documents (and
sends from its "test" subscription): ``data`` is the donation, ``meta`` the delivery.
``X-Tiltify-Timestamp`` is an ISO 8601 time and ``X-Tiltify-Signature`` the base64
HMAC-SHA256 of ``"<timestamp>.<raw body>"`` with the webhook signing key.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from limelight_charity.tiltify import signed_headers

TILTIFY_SECRET = "5f3a9c1e8b7d6a4f2e0c9b8a7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e"
TILTIFY_CAMPAIGN = "a4fd5207-bd9f-4712-920a-85f8d92cf4e6"

#: A delivery captured from Tiltify's test subscription, with its real headers (the signing
#: key above it is the one that endpoint had): a known-answer check of the scheme.
KNOWN_SECRET = "13c3b68914487acd1c68d85857ee1cfc308f15510f2d8e71273ee0f8a42d9d00"
KNOWN_TIMESTAMP = "2023-04-18T16:49:00.617031Z"
KNOWN_SIGNATURE = "4OSwlhTt0EcrlSQFlqgE18FOtT+EKX4qTJdJeC8oV/o="
KNOWN_BODY = (
    b'{"data":{"amount":{"currency":"USD","value":"82.95"},"campaign_id":"a4fd5207-bd9f-4712-'
    b'920a-85f8d92cf4e6","completed_at":"2023-04-18T16:48:26.510702Z","created_at":"2023-04-'
    b'18T03:36:36.510717Z","donor_comment":"Rerum quo necessitatibus voluptas provident ad '
    b'molestiae ipsam.","donor_name":"Jirachi","fundraising_event_id":null,"id":"dfa25dcc-2026-'
    b'4320-a5b7-5da076efeb05","legacy_id":0,"poll_id":null,"poll_option_id":null,"reward_id":'
    b'null,"sustained":false,"target_id":null,"team_event_id":null},"meta":{"attempted_at":'
    b'"2023-04-18T16:49:00.617031Z","event_type":"public:direct:donation_updated","generated_at"'
    b':"2023-04-18T16:48:59.510758Z","id":"d8768e26-1092-4f4c-a829-a2698cd19664",'
    b'"subscription_source_id":"00000000-0000-0000-0000-000000000000",'
    b'"subscription_source_type":"test"}}'
)


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def donation_updated(
    value: str = "25.00",
    currency: str = "USD",
    *,
    donor_name: str = "Jirachi",
    comment: str = "For the pandas!",
    donation_id: str | None = None,
    campaign_id: str = TILTIFY_CAMPAIGN,
    completed: bool = True,
    source_type: str = "campaign",
    at: datetime | None = None,
) -> dict[str, Any]:
    now = at or datetime.now(UTC)
    return {
        "data": {
            "amount": {"currency": currency, "value": value},
            "campaign_id": campaign_id,
            "completed_at": iso(now) if completed else None,
            "created_at": iso(now - timedelta(minutes=1)),
            "donor_comment": comment,
            "donor_name": donor_name,
            "fundraising_event_id": None,
            "id": donation_id or str(uuid.uuid4()),
            "legacy_id": 0,
            "poll_id": None,
            "poll_option_id": None,
            "reward_id": None,
            "sustained": False,
            "target_id": None,
            "team_event_id": None,
        },
        "meta": {
            "attempted_at": iso(now),
            "event_type": "public:direct:donation_updated",
            "generated_at": iso(now),
            "id": str(uuid.uuid4()),
            "subscription_source_id": str(uuid.uuid4()),
            "subscription_source_type": source_type,
        },
    }


def tiltify_request(
    payload: dict[str, Any], secret: str = TILTIFY_SECRET
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return body, signed_headers(secret, body)
