"""Fourthwall donations (``/webhooks/fourthwall-donations``) become tips, once each."""

from __future__ import annotations

import asyncio

from .doubles import fourthwall_donation, fourthwall_request


async def test_a_completed_donation_is_a_tip_once(tips, database_url: str) -> None:
    """Signed, completed, delivered five times at once: one ledger row, one alert, one
    thanks; the amount (a JSON number) is read exactly."""
    t = await tips(database_url=database_url)
    event = fourthwall_donation(5.5, "USD", username="Johnny123", message="keep it up")
    body, headers = fourthwall_request(event)
    answers = await asyncio.gather(
        *(
            t.h.client.post("/webhooks/fourthwall-donations", data=body, headers=headers)
            for _ in range(5)
        )
    )
    assert [a.status for a in answers] == [200] * 5
    await t.h.settle()
    [entry] = await t.entries()
    assert (entry["amount"], entry["currency"], entry["kind"]) == ("5.50", "USD", "tip")
    assert entry["provider"] == "fourthwall"
    assert entry["provider_id"] == event["data"]["id"]
    assert entry["message"] == "keep it up"
    [alert] = t.alerts.of("tip")
    assert alert["data"]["name"] == "Johnny123"
    assert len([m for m in t.h.said if "Johnny123" in m.text]) == 1


async def test_other_statuses_and_events_are_acknowledged_and_ignored(tips) -> None:
    t = await tips()
    for status in ("OPEN", "ABANDONED", "CANCELLED", "FAILED"):
        code, _ = await t.post(
            "fourthwall-donations", *fourthwall_request(fourthwall_donation(status=status))
        )
        assert code == 200
    other = fourthwall_donation()
    other["type"] = "NEWSLETTER_SUBSCRIBED"
    code, _ = await t.post("fourthwall-donations", *fourthwall_request(other))
    assert code == 200
    assert await t.entries() == [] and t.alerts.of("tip") == []


async def test_bad_deliveries_are_refused_with_the_reason(tips) -> None:
    t = await tips()
    body, headers = fourthwall_request(fourthwall_donation(), secret="not-the-shop-secret")
    code, answer = await t.post("fourthwall-donations", body, headers)
    assert code == 401 and "does not match" in answer["error"]
    headers.pop("X-Fourthwall-Hmac-SHA256")
    code, answer = await t.post("fourthwall-donations", body, headers)
    assert code == 401 and "missing" in answer["error"]
    no_id = fourthwall_donation()
    del no_id["data"]["id"]
    code, answer = await t.post("fourthwall-donations", *fourthwall_request(no_id))
    assert code == 400 and "data.id is required" in answer["error"]
    free = fourthwall_donation(0)
    code, answer = await t.post("fourthwall-donations", *fourthwall_request(free))
    assert code == 400 and "amount" in answer["error"]
    assert await t.entries() == []


async def test_a_tip_code_links_the_donation_to_the_chat_viewer(tips) -> None:
    t = await tips()
    await t.h.chat_as("alice", "!tip")
    code = t.h.said[-1].text.split("your code ", 1)[1].split(",", 1)[0]
    event = fourthwall_donation(10, "EUR", username="", message=f"for the stream {code}")
    await t.post("fourthwall-donations", *fourthwall_request(event))
    [entry] = await t.entries()
    assert entry["viewer"] == {"platform": "twitch", "id": "alice-id", "name": "alice"}
    assert entry["message"] == "for the stream"
    [alert] = t.alerts.of("tip")
    assert alert["data"]["name"] == "alice"


async def test_a_donation_without_a_name_is_shown_with_its_message(tips) -> None:
    """No username is no request for privacy (Fourthwall has no such flag): the alert
    names a "Fourthwall supporter" and shows the message."""
    t = await tips()
    event = fourthwall_donation(username="", message="hello from the shop")
    await t.post("fourthwall-donations", *fourthwall_request(event))
    [alert] = t.alerts.of("tip")
    assert alert["data"]["name"] == "Fourthwall supporter"
    assert alert["data"]["message"] == "hello from the shop"


async def test_test_mode_shows_an_alert_and_writes_no_ledger(tips) -> None:
    t = await tips()
    await t.post("fourthwall-donations", *fourthwall_request(fourthwall_donation(test=True)))
    assert await t.entries() == []
    [alert] = t.alerts.of("tip")
    assert alert["test"] is True


async def test_without_its_table_the_endpoint_says_how_to_set_it_up(tips) -> None:
    t = await tips(webhooks=False)
    code, answer = await t.post("fourthwall-donations", *fourthwall_request(fourthwall_donation()))
    assert code == 404 and "[webhooks.fourthwall-donations]" in answer["error"]
