"""The Members page and its API: search, grant, extend, revoke, expiring soon, CSV, the
revenue chart, the tier editor, emote uploads (checked by the media store)."""

from __future__ import annotations

import csv
import io
import uuid

import aiohttp
from limelight import Money, Subscription, Tip
from limelight.testing import make_viewer
from limelight_vip.models import Membership

from .doubles import png


async def test_members_page_and_api(vip):
    config = {
        "plugins": {
            "vip": {
                "tiers": [
                    {"name": "silver", "label": "Silver"},
                    {"name": "gold", "label": "Gold", "colour": "#f5a623"},
                ],
                "purchases": [{"min_amount": "5.00", "currency": "EUR", "tier": "gold"}],
            }
        }
    }
    v = await vip(config)
    headers = await v.h.login()
    page = await v.h.client.get("/p/vip/")
    assert page.status == 200
    html = await page.text()
    assert "Members" in html and "vip.js" in html and "<script>" not in html
    assert "default-src" in page.headers["Content-Security-Policy"]

    await v.h.chat_as("=cmd|' /C calc'!A0", "hello")  # a hostile name, seen in chat
    grant = {
        "name": "=cmd|' /C calc'!A0",
        "tier": "silver",
        "days": 5,
        "request_id": uuid.uuid4().hex,
    }
    r = await v.h.client.post("/api/vip/members", json=grant, headers=headers)
    assert r.status == 201, await r.text()
    again = await v.h.client.post("/api/vip/members", json=grant, headers=headers)
    assert again.status == 200 and (await again.json())["new"] is False  # a double click
    await v.h.publish(
        Tip(source="api", source_id="t1", viewer=make_viewer("gil"), amount=Money(700, "EUR"))
    )

    data = await (await v.h.client.get("/api/vip/members", headers=headers)).json()
    assert {m["tier"] for m in data["members"]} == {"silver", "gold"}
    assert data["counts"] == {"silver": 1, "gold": 1}
    soon = await (await v.h.client.get("/api/vip/members?view=expiring", headers=headers)).json()
    assert [m["tier"] for m in soon["members"]] == ["silver"]
    found = await (await v.h.client.get("/api/vip/members?q=gil", headers=headers)).json()
    [gil] = found["members"]
    assert gil["amount"] == "€7.00" or "7.00" in gil["amount"]

    r = await v.h.client.post(
        f"/api/vip/members/{gil['id']}/extend", json={"days": 10}, headers=headers
    )
    assert r.status == 200
    r = await v.h.client.post(
        f"/api/vip/members/{gil['id']}/revoke", json={"reason": "chargeback"}, headers=headers
    )
    assert (await r.json())["status"] == "revoked"
    assert not v.plugin.is_member(make_viewer("gil"))
    # without the CSRF token the session may not change anything
    r = await v.h.client.post(f"/api/vip/members/{gil['id']}/revoke", json={})
    assert r.status in (401, 403)

    export = await v.h.client.get("/api/vip/export.csv", headers=headers)
    rows = list(csv.reader(io.StringIO(await export.text())))
    assert rows[0][:4] == ["id", "viewer_platform", "viewer_id", "viewer_name"]
    assert rows[1][3].startswith("'=")  # a formula-looking name stays text in a spreadsheet

    revenue = await (await v.h.client.get("/api/vip/revenue", headers=headers)).json()
    assert revenue["currency"] == "" or revenue["tiers"] == {}  # the only payment was refunded
    await v.h.publish(
        Tip(source="api", source_id="t2", viewer=make_viewer("hal"), amount=Money(900, "EUR"))
    )
    revenue = await (await v.h.client.get("/api/vip/revenue", headers=headers)).json()
    assert revenue["currency"] == "EUR" and sum(revenue["tiers"]["gold"]) == 900
    svg = await v.h.client.get("/api/vip/revenue.svg", headers=headers)
    body = await svg.text()
    assert svg.content_type == "image/svg+xml" and "<rect" in body and "Gold" in body
    assert "<script" not in body


async def test_tier_editor(vip, database_url):
    v = await vip(database_url=database_url)
    headers = await v.h.login()
    bob = make_viewer("bob")
    await v.h.publish(Subscription(source="twitch", source_id="s1", viewer=bob, tier="1000"))
    tiers = (await (await v.h.client.get("/api/vip/tiers", headers=headers)).json())["tiers"]
    assert [t["name"] for t in tiers] == ["tier1", "tier2", "tier3"]
    tiers[0]["label"] = "Fan Club"
    tiers[0]["highlight"] = True
    tiers.append({"name": "legend", "label": "Legend", "colour": "#ff0000", "badge": "L"})
    r = await v.h.client.put("/api/vip/tiers", json={"tiers": tiers}, headers=headers)
    assert r.status == 200, await r.text()
    assert [b.label for b in v.h.services.badges.for_viewer(bob)] == ["Fan Club"]
    assert v.h.services.badges.for_viewer(bob)[0].highlight is True
    bad = [{**tiers[0], "colour": "red"}]
    r = await v.h.client.put("/api/vip/tiers", json={"tiers": bad}, headers=headers)
    assert r.status == 400 and "colour" in (await r.json())["error"]
    # it survives a restart
    await v.h.close()
    v2 = await vip(database_url=database_url)
    assert [t.label for t in v2.plugin.tiers()][:1] == ["Fan Club"]
    assert len(v2.plugin.tiers()) == 4
    headers = await v2.h.login()
    r = await v2.h.client.delete("/api/vip/tiers", headers=headers)
    assert (await r.json())["from"] == "config"
    assert [t.label for t in v2.plugin.tiers()] == ["Subscriber", "Tier 2", "Tier 3"]


async def upload(v, headers, code: str, data: bytes, tier: str = "tier1"):  # type: ignore[no-untyped-def]
    form = aiohttp.FormData()
    form.add_field("tier", tier)
    form.add_field("code", code)
    form.add_field("file", data, filename="emote.png", content_type="image/png")
    return await v.h.client.post("/p/vip/emotes", data=form, headers=headers)


async def test_emote_uploads(vip):
    v = await vip()
    headers = await v.h.login()
    r = await upload(v, headers, "hype", png(56, 56))
    assert r.status == 201, await r.text()
    emote = await r.json()
    assert emote["url"].startswith("/-/uploads/") and emote["url"].endswith(".png")
    assert (await v.h.client.get(emote["url"])).status == 200
    r = await upload(v, headers, "huge", png(200, 200))
    assert r.status == 400 and "112" in (await r.json())["error"]
    r = await upload(v, headers, "fake", b"<svg onload=alert(1)>")
    assert r.status == 400
    r = await upload(v, headers, "<b>x</b>", png(10, 10))
    assert r.status == 400
    # the upload needs the dashboard's CSRF token
    r = await upload(v, {}, "nocsrf", png(10, 10))
    assert r.status in (401, 403)
    listed = (await (await v.h.client.get("/api/vip/emotes", headers=headers)).json())["emotes"]
    assert [e["code"] for e in listed] == ["hype"]
    # members get the picture, others the text
    member, other = make_viewer("mem"), make_viewer("oth")
    await v.plugin.grant(member, "tier1", duration=None, source="t", source_id="1")
    emotes = v.h.services.emotes
    assert emotes.split("gg :hype:", member) == [
        {"text": "gg "},
        {"emote": ":hype:", "url": emote["url"]},
    ]
    assert emotes.split("gg :hype:", other) == [{"text": "gg :hype:"}]
    r = await v.h.client.delete(f"/api/vip/emotes/{emote['id']}", headers=headers)
    assert (await r.json())["deleted"] is True
    assert emotes.split("gg :hype:", member) == [{"text": "gg :hype:"}]
    assert await Membership.all().count() == 1
