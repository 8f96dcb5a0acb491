"""The alert editor's API: designs saved in the database replace config.toml's variations
of one kind, apply to the next alert at once (no restart), survive a restart, and are
refused with a reason when wrong; uploads go through the media store and the CSRF guard."""

from __future__ import annotations

from typing import Any

import aiohttp
from limelight.testing import ADMIN_TOKEN
from limelight_alerts import AlertsPlugin

from .media import png, wav

CONFIG = {
    "overlays": {
        "alerts": {
            "variations": [
                {"event": "tip", "text": "CONFIG {name} {amount}"},
                {"event": "raid", "text": "CONFIG RAID {name}"},
            ]
        }
    }
}


async def start(limelight: Any, database_url: str | None = None) -> Any:
    return await limelight({"alerts": AlertsPlugin}, config=CONFIG, database_url=database_url)


def design(*tiers: dict[str, Any]) -> dict[str, Any]:
    return {"variations": list(tiers)}


async def test_designs_list_every_kind_in_words(limelight) -> None:
    h = await start(limelight)
    r = await h.client.get("/api/overlays/alerts/designs", headers=h.admin_headers)
    assert r.status == 200
    body = await r.json()
    kinds = {k["kind"]: k for k in body["kinds"]}
    assert kinds["membership.changed"]["label"] == "New member"
    assert kinds["gift_bomb"]["label"] == "Gift bomb"
    # a kind that is no event type's names itself: gifts for chat are designed apart
    assert kinds["merch.gift"]["label"] == "Gift for chat"
    assert (
        kinds["merch.gift"]["variations"][0]["text"]
        == "{name} gifted {quantity}\u00d7 {item} to chat!"
    )
    assert kinds["merch.gift"]["sample"]["gift"] is True
    assert "quantity" in kinds["merch.gift"]["placeholders"]
    # config.toml's variation is the starting point; kinds without one show the built-in text
    assert kinds["tip"]["variations"][0]["text"] == "CONFIG {name} {amount}"
    assert kinds["tip"]["saved"] is False
    assert kinds["cheer"]["variations"][0]["text"] == "{name} cheered {bits} bits!"
    assert "amount" in kinds["tip"]["placeholders"] and "name" in kinds["tip"]["placeholders"]
    assert "fade" in body["animations"]


async def test_saved_design_applies_to_the_next_alert_and_survives_a_restart(
    limelight, database_url: str
) -> None:
    h = await start(limelight, database_url)
    saved = design(
        {"text": "Thanks {name} for {amount}", "animation": "bounce", "volume": 0.4},
        {
            "name": "Big",
            "text": "HUGE {amount} from {name}",
            "min_amount": "20.00",
            "currency": "USD",
            "duration_ms": 9000,
            "image": "/-/uploads/" + "a" * 64 + ".png",
            "sound": "/-/uploads/" + "b" * 64 + ".wav",
        },
    )
    r = await h.client.put("/api/overlays/alerts/designs/tip", json=saved, headers=h.admin_headers)
    assert r.status == 200, await r.text()
    overlays = h.services.overlays
    small = overlays.variation("tip", None, overlay="alerts")
    assert small.text == "Thanks {name} for {amount}" and small.animation == "bounce"
    alert_id = await overlays.test_alert(
        "alerts", "tip", {"name": "Zed", "amount": "25.00", "currency": "USD"}
    )
    shown = (await overlays.outbox.get(alert_id)) if alert_id > 0 else None
    assert shown is None  # a test alert lives in memory only
    big = overlays.variation("tip", _money("25.00"), overlay="alerts")
    wire = big.to_wire({"name": "Zed", "amount": "$25.00"})
    assert wire["text"] == "HUGE $25.00 from Zed"
    assert wire["duration_ms"] == 9000 and wire["image"].endswith(".png")
    # other kinds keep config.toml's look
    assert overlays.variation("raid", overlay="alerts").text == "CONFIG RAID {name}"
    await h.close()

    again = await start(limelight, database_url)
    kinds = {
        k["kind"]: k
        for k in (
            await (
                await again.client.get("/api/overlays/alerts/designs", headers=again.admin_headers)
            ).json()
        )["kinds"]
    }
    assert kinds["tip"]["saved"] is True and len(kinds["tip"]["variations"]) == 2
    assert again.services.overlays.variation("tip", _money("25.00"), overlay="alerts").name == "Big"
    r = await again.client.delete("/api/overlays/alerts/designs/tip", headers=again.admin_headers)
    assert r.status == 200
    assert again.services.overlays.variation("tip", overlay="alerts").text.startswith("CONFIG")


def _money(amount: str) -> Any:
    from limelight import Money

    return Money.parse(amount, "USD")


async def test_wrong_designs_are_refused_with_the_reason(limelight) -> None:
    h = await start(limelight)
    url = "/api/overlays/alerts/designs/tip"
    cases = [
        (design({"text": "x", "image": "https://evil.example/a.png"}), "uploaded here"),
        (design({"text": "x", "sound": "javascript:alert(1)"}), "uploaded here"),
        (design({"text": "x", "image": "//evil.example/a.png"}), "uploaded here"),
        (design({"text": "x", "image": "/-/theme/../../etc/passwd"}), "uploaded here"),
        (design({"text": "x", "image": "/admin/logout"}), "uploaded here"),
        (design({"text": "x", "min_amount": "5_00", "currency": "USD"}), "min_amount"),
        (design({"text": "x", "animation": "explode"}), "animation"),
        (design({"text": "x", "volume": 3}), "volume"),
        (design({"text": "x", "onclick": "y"}), "onclick"),
        ({"variations": []}, "non-empty"),
        ({"variations": "nope"}, "non-empty"),
    ]
    for body, why in cases:
        r = await h.client.put(url, json=body, headers=h.admin_headers)
        assert r.status == 400, body
        assert why in (await r.json())["error"], (body, await r.text())
    r = await h.client.put(
        "/api/overlays/alerts/designs/nonsense", json=design({"text": "x"}), headers=h.admin_headers
    )
    assert r.status == 404
    r = await h.client.put(
        "/api/overlays/chat/designs/tip", json=design({"text": "x"}), headers=h.admin_headers
    )
    assert r.status == 404
    # nothing was stored by the refusals
    assert h.services.overlays.variation("tip", overlay="alerts").text.startswith("CONFIG")
    # "none" is no file but a choice: the kind's default picture off, its sound kept
    r = await h.client.put(
        "/api/overlays/alerts/designs/raid",
        json=design({"text": "RAID", "image": "none", "sound": ""}),
        headers=h.admin_headers,
    )
    assert r.status == 200, await r.text()
    raid = h.services.overlays.variation("raid", overlay="alerts")
    assert (raid.image, raid.sound) == ("", "/-/static-plugins/alerts/sounds/raid.wav")


async def test_preview_fills_the_draft_with_the_one_filler_and_money_formatter(limelight) -> None:
    h = await start(limelight)
    r = await h.client.post(
        "/api/overlays/alerts/preview",
        json={"kind": "tip", "variation": {"text": "{name} gave {amount} {{amount}} {missing}"}},
        headers=h.admin_headers,
    )
    assert r.status == 200
    body = await r.json()
    assert body["variation"]["text"] == "Test Viewer gave $5.00 {$5.00} "
    assert body["data"]["name"] == "Test Viewer"
    # a tier is previewed at its threshold: "From 20.00 EUR" shows a 20 EUR tip
    r = await h.client.post(
        "/api/overlays/alerts/preview",
        json={
            "kind": "tip",
            "variation": {"text": "{amount}!", "min_amount": "20.00", "currency": "EUR"},
        },
        headers=h.admin_headers,
    )
    assert (await r.json())["variation"]["text"] == "\u20ac20.00!"
    r = await h.client.post(
        "/api/overlays/alerts/preview",
        json={"kind": "raid", "variation": {"text": "{viewers} raiders", "min_count": 500}},
        headers=h.admin_headers,
    )
    assert (await r.json())["variation"]["text"] == "500 raiders"
    # a draft test alert carries the draft's look; nothing is saved
    r = await h.client.post(
        "/api/overlays/alerts/test",
        json={"kind": "raid", "variation": {"text": "DRAFT {name}", "animation": "zoom"}},
        headers=h.admin_headers,
    )
    assert r.status == 201
    assert h.services.overlays.variation("raid", overlay="alerts").text == "CONFIG RAID {name}"


async def _upload(
    h: Any, data: bytes, kind: str, headers: dict[str, str], filename: str = "f.bin"
) -> aiohttp.ClientResponse:
    form = aiohttp.FormData()
    form.add_field("kind", kind)
    form.add_field("file", data, filename=filename, content_type="application/octet-stream")
    return await h.client.post("/admin/media", data=form, headers=headers)


async def test_uploads_are_checked_and_served(limelight) -> None:
    h = await limelight({"alerts": AlertsPlugin}, config={"media": {"max_image_bytes": 64 * 1024}})
    picture = png()
    r = await _upload(h, picture, "visual", h.admin_headers, "cat.png")
    assert r.status == 201, await r.text()
    stored = await r.json()
    assert stored["kind"] == "image" and stored["url"].startswith("/-/uploads/")
    assert (stored["width"], stored["height"]) == (64, 64)
    served = await h.client.get(stored["url"])
    assert served.status == 200 and await served.read() == picture
    assert served.headers["Content-Type"] == "image/png"
    sound = await _upload(h, wav(), "audio", h.admin_headers, "ding.wav")
    assert sound.status == 201 and (await sound.json())["url"].endswith(".wav")

    # wrong type: by content, not by name
    r = await _upload(h, b"<script>alert(1)</script>", "visual", h.admin_headers, "x.png")
    assert r.status == 400 and "not a supported" in (await r.json())["error"]
    r = await _upload(h, wav(), "visual", h.admin_headers, "sound-as-picture.png")
    assert r.status == 400 and "expected image or video" in (await r.json())["error"]
    r = await _upload(h, picture, "audio", h.admin_headers, "picture-as-sound.wav")
    assert r.status == 400 and "expected audio" in (await r.json())["error"]
    # too big: refused while streaming (above the kind's cap) or by the media store
    r = await _upload(h, png(400, 400) + b"\x00" * 70_000, "image", h.admin_headers)
    assert r.status in (400, 413)
    assert "MB" in (await r.json())["error"] or "KB" in (await r.json())["error"]
    r = await _upload(h, picture, "spreadsheet", h.admin_headers)
    assert r.status == 400


async def test_upload_needs_the_admin_and_the_csrf_token(limelight) -> None:
    h = await start(limelight)
    r = await _upload(h, png(), "image", {})
    assert r.status == 401
    dashboard = await h.login(ADMIN_TOKEN)
    # the session alone (a page elsewhere posting a form) is not enough
    r = await _upload(h, png(), "image", {"Origin": dashboard["Origin"]})
    assert r.status == 403 and "CSRF" in (await r.json())["error"]
    r = await _upload(h, png(), "image", dashboard)
    assert r.status == 201


async def test_a_video_picture_travels_as_video(limelight) -> None:
    h = await start(limelight)
    webm = b"\x1a\x45\xdf\xa3" + b"\x00" * 2048  # an EBML (WebM) header: sniffed as video
    r = await _upload(h, webm, "visual", h.admin_headers, "clip.webm")
    assert r.status == 201, await r.text()
    clip = (await r.json())["url"]
    assert clip.endswith(".webm")
    r = await h.client.put(
        "/api/overlays/alerts/designs/raid",
        json=design({"text": "{name} raids", "image": clip, "animation": "slide"}),
        headers=h.admin_headers,
    )
    assert r.status == 200
    wire = h.services.overlays.variation("raid", overlay="alerts").to_wire({"name": "Vi"})
    assert wire["video"] == clip and wire["image"] == ""
    assert wire["animation"] == "slide" and wire["text"] == "Vi raids"
