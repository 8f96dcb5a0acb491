"""Overlay pages (token, CSP, theme), the queue-control API and the dashboard pages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from limelight.models import OverlayAlert
from limelight.testing import ADMIN_TOKEN, OVERLAY_TOKEN
from limelight_alerts import AlertsPlugin

from .test_delivery import connect, receive, receive_type

OVERLAYS = ("alerts", "chat", "leaderboard", "goal", "ticker")


async def start(limelight: Any, **kw: Any) -> Any:
    return await limelight(plugins={"alerts": AlertsPlugin}, **kw)


@pytest.mark.parametrize("name", OVERLAYS)
async def test_page_needs_the_overlay_token(limelight, name: str) -> None:
    h = await start(limelight)
    missing = await h.client.get(f"/overlays/{name}")
    assert missing.status == 401
    wrong = await h.client.get(f"/overlays/{name}?token=nope")
    assert wrong.status == 403
    for response in (missing, wrong):
        text = await response.text()
        assert "overlay.js" not in text and "data-overlay" not in text
    ok = await h.client.get(f"/overlays/{name}?token={OVERLAY_TOKEN}")
    assert ok.status == 200
    html = await ok.text()
    assert f'data-overlay="{name}"' in html
    assert "<script>" not in html and " on" not in html.split("<body", 1)[1].split(">", 1)[0]


async def test_page_csp_forbids_inline_script_and_foreign_connections(limelight) -> None:
    h = await start(limelight)
    response = await h.client.get(f"/overlays/alerts?token={OVERLAY_TOKEN}")
    csp = dict(
        part.strip().split(" ", 1)
        for part in response.headers["Content-Security-Policy"].split(";")
    )
    assert csp["script-src"] == "'self'"
    assert csp["connect-src"] == "'self'"
    assert csp["default-src"] == "'none'"
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"


async def test_unknown_overlay_is_404_only_with_a_valid_token(limelight) -> None:
    h = await start(limelight)
    assert (await h.client.get("/overlays/nope?token=wrong")).status == 403
    assert (await h.client.get(f"/overlays/nope?token={OVERLAY_TOKEN}")).status == 404


async def test_websocket_refuses_bad_tokens_before_upgrading(limelight) -> None:
    h = await start(limelight)
    missing = await h.client.get("/overlays/ws?overlay=alerts")
    assert missing.status == 401
    wrong = await h.client.get("/overlays/ws?overlay=alerts&token=bad")
    assert wrong.status == 403
    unknown = await h.client.get(f"/overlays/ws?overlay=nope&token={OVERLAY_TOKEN}")
    assert unknown.status == 404
    bad_since = await h.client.get(f"/overlays/ws?overlay=alerts&token={OVERLAY_TOKEN}&since=abc")
    assert bad_since.status == 400
    plain = await h.client.get(f"/overlays/ws?overlay=alerts&token={OVERLAY_TOKEN}")
    assert plain.status == 400  # not a WebSocket handshake


async def test_overlays_disabled_without_a_token(limelight) -> None:
    h = await start(limelight, config={"security": {"overlay_token": ""}})
    assert (await h.client.get("/overlays/alerts?token=")).status == 403
    assert (await h.client.get("/overlays/alerts?token=x")).status == 403


async def test_theme_css_sets_variables_and_skips_unsafe_values(limelight) -> None:
    h = await start(
        limelight,
        config={
            "overlays": {
                "theme": {
                    "accent": "#ff6b9a",
                    "font": "'Comic Neue', sans-serif",
                    "alert_in": "300ms",
                    "evil": "red; } body { background: url(https://evil.example/x.png)",
                    "leak": "url(/x)",
                    "Bad Name!": "red",
                }
            }
        },
    )
    css = await (await h.client.get("/-/overlays/theme.css")).text()
    assert "--ll-accent: #ff6b9a;" in css
    assert "--ll-font: 'Comic Neue', sans-serif;" in css
    assert "--ll-alert-in: 300ms;" in css
    assert "evil" not in css and "url(" not in css and "Bad" not in css


MINE = (
    '{% extends "templates/base.html" %}{% block content %}<p id="mine">'
    "{{ overlay.name }}</p>{% endblock %}"
)


async def test_template_override_from_theme_dir(limelight, tmp_path) -> None:
    """The streamer's theme folder comes first in the loader: it overrides a plugin's page
    (``alerts/goal.html``) and the core's base page by the same names."""
    theme = tmp_path / "mytheme"
    (theme / "alerts").mkdir(parents=True)
    (theme / "alerts" / "goal.html").write_text(MINE)
    (theme / "templates").mkdir()
    base = (Path(limelight_theme()) / "templates" / "base.html").read_text()
    (theme / "templates" / "base.html").write_text(base.replace("<body", "<body data-mine"))
    h = await start(limelight, config={"overlays": {"theme_dir": str(theme)}})
    html = await (await h.client.get(f"/overlays/goal?token={OVERLAY_TOKEN}")).text()
    assert '<p id="mine">goal</p>' in html and "<body data-mine" in html
    chat = await (await h.client.get(f"/overlays/chat?token={OVERLAY_TOKEN}")).text()
    assert 'id="chat-lines"' in chat and "<body data-mine" in chat


async def test_theme_override_under_the_old_name_still_applies(limelight, tmp_path, caplog) -> None:
    """A theme written when the pages were the core theme's (``templates/goal.html``)
    keeps overriding, and the log says what to rename it to."""
    theme = tmp_path / "mytheme" / "templates"
    theme.mkdir(parents=True)
    (theme / "goal.html").write_text(MINE)
    h = await start(limelight, config={"overlays": {"theme_dir": str(tmp_path / "mytheme")}})
    html = await (await h.client.get(f"/overlays/goal?token={OVERLAY_TOKEN}")).text()
    assert '<p id="mine">goal</p>' in html
    assert "rename it to" in caplog.text and "alerts/goal.html" in caplog.text
    chat = await (await h.client.get(f"/overlays/chat?token={OVERLAY_TOKEN}")).text()
    assert 'id="chat-lines"' in chat


def limelight_theme() -> Path:
    from limelight import resources

    return resources.theme_dir()


async def test_plugin_pages_load_their_files_from_the_plugin(limelight) -> None:
    h = await start(limelight)
    html = await (await h.client.get(f"/overlays/leaderboard?token={OVERLAY_TOKEN}")).text()
    assert '<script src="/-/static-plugins/alerts/leaderboard.js"></script>' in html
    assert '<link rel="stylesheet" href="/-/static-plugins/alerts/alerts.css">' in html
    for path in ("leaderboard.js", "chat.js", "goal.js", "ticker.js", "alerts.css"):
        assert (await h.client.get(f"/-/static-plugins/alerts/{path}")).status == 200
        assert (await h.client.get(f"/-/theme/{path}")).status == 404


async def test_query_parameters_are_escaped_into_data_attributes(limelight) -> None:
    h = await start(limelight)
    response = await h.client.get(
        f'/overlays/leaderboard?token={OVERLAY_TOKEN}&board="><script>alert(1)</script>&evil=1'
    )
    html = await response.text()
    assert "<script>alert(1)" not in html
    assert 'data-board="&#34;&gt;&lt;script&gt;' in html
    assert "data-evil" not in html


# -- admin API ------------------------------------------------------------------------------


async def api(h: Any, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    kwargs: dict[str, Any] = {"headers": h.admin_headers}
    if body is not None:
        kwargs["json"] = body
    response = await h.client.request(method, path, **kwargs)
    return response.status, await response.json()


async def test_api_needs_the_admin_token(limelight) -> None:
    h = await start(limelight)
    assert (await h.client.get("/api/overlays")).status == 401
    assert (
        await h.client.post("/api/overlays/alerts/pause", headers={"Authorization": "Bearer nope"})
    ).status == 403
    assert (await h.client.post("/api/overlays/alerts/pause")).status == 401


async def test_api_lists_overlays_with_urls_and_sizes(limelight) -> None:
    h = await start(limelight, config={"server": {"public_url": "https://live.example.tv"}})
    status, body = await api(h, "GET", "/api/overlays")
    assert status == 200
    by_name = {o["name"]: o for o in body["overlays"]}
    assert set(by_name) == set(OVERLAYS)
    assert by_name["chat"]["url"] == f"https://live.example.tv/overlays/chat?token={OVERLAY_TOKEN}"
    assert (by_name["chat"]["width"], by_name["chat"]["height"]) == (480, 800)
    assert by_name["chat"]["events"] == ["chat.message", "chat.deleted"]
    assert by_name["alerts"]["owner"] == "alerts"


async def test_pause_resume_reach_pages_and_new_pages(limelight) -> None:
    h = await start(limelight)
    ws, _, _ = await connect(h)
    assert (await api(h, "POST", "/api/overlays/alerts/pause"))[0] == 200
    assert await receive(ws) == {"type": "control", "action": "pause"}
    ws2, hello, _ = await connect(h)
    assert hello["paused"] is True
    assert (await api(h, "POST", "/api/overlays/alerts/resume"))[1] == {"paused": False}
    for page in (ws, ws2):
        assert (await receive_type(page, "control"))["action"] == "resume"
        await page.close()


async def test_skip_one_queued_alert_is_never_replayed(limelight) -> None:
    h = await start(limelight)
    overlays = h.services.overlays
    a = await overlays.alert("alerts", kind="raid", data={"name": "a", "viewers": 1})
    b = await overlays.alert("alerts", kind="raid", data={"name": "b", "viewers": 2})
    ws, _, _ = await connect(h, since=0)
    status, body = await api(h, "POST", "/api/overlays/alerts/skip", {"id": a})
    assert status == 200 and body["changed"] is True
    assert await receive_type(ws, "control") == {"type": "control", "action": "skip", "id": a}
    assert (await OverlayAlert.get(id=a)).status == "skipped"
    ws2, _, replay = await connect(h, since=0)
    assert [m["id"] for m in replay] == [b]
    # Skipping what is on screen: no id.
    status, body = await api(h, "POST", "/api/overlays/alerts/skip")
    assert status == 200 and body["skipped"] is None
    assert (await api(h, "POST", "/api/overlays/alerts/skip", {"id": "x"}))[0] == 400
    await ws.close()
    await ws2.close()


async def test_clear_drops_waiting_alerts(limelight) -> None:
    h = await start(limelight)
    overlays = h.services.overlays
    for i in range(3):
        await overlays.alert("alerts", kind="raid", data={"name": str(i), "viewers": i})
    await overlays.test_alert("alerts")
    ws, _, _ = await connect(h, since=0)
    status, body = await api(h, "POST", "/api/overlays/alerts/clear")
    assert status == 200 and body == {"cleared": 4}
    assert await OverlayAlert.filter(status="queued").count() == 0
    assert await overlays.pending("alerts") == 0
    ws2, _, replay = await connect(h, since=0)
    assert replay == []
    await ws.close()
    await ws2.close()


async def test_replay_makes_a_new_alert_with_the_same_content(limelight) -> None:
    h = await start(limelight)
    original = await h.services.overlays.alert(
        "alerts", kind="donation", data={"name": "Dee", "amount": "10.00", "currency": "EUR"}
    )
    ws, _, _ = await connect(h)
    status, body = await api(h, "POST", f"/api/overlays/alerts/replay/{original}")
    assert status == 201 and body["replay_of"] == original and body["id"] > original
    message = await receive(ws)
    assert message["id"] == body["id"] and message["replay_of"] == original
    assert message["variation"]["text"] == "Dee donated €10.00!"
    assert (await api(h, "POST", "/api/overlays/chat/replay/" + str(original)))[0] == 404
    assert (await api(h, "POST", "/api/overlays/alerts/replay/999999"))[0] == 404
    assert (await api(h, "POST", "/api/overlays/alerts/replay/x"))[0] == 400
    await ws.close()


async def test_test_alert_endpoint_sends_a_sample_test_alert(limelight) -> None:
    h = await start(limelight)
    ws, _, _ = await connect(h)
    status, body = await api(h, "POST", "/api/overlays/alerts/test", {"kind": "gift_bomb"})
    assert status == 201 and body["id"] < 0
    message = await receive(ws)
    assert message["test"] is True and message["kind"] == "gift_bomb"
    assert message["variation"]["text"] == "Test Viewer gifted 5 subs!"
    assert await OverlayAlert.all().count() == 0
    _, events = await api(h, "GET", "/api/events")
    assert events["events"] == []  # a test alert writes no persistent state at all
    # gifts for chat are a kind of their own, so the dashboard can test how they look
    status, body = await api(h, "POST", "/api/overlays/alerts/test", {"kind": "merch.gift"})
    assert status == 201 and body["id"] < 0
    message = await receive(ws)
    assert message["test"] is True and message["kind"] == "merch.gift"
    assert message["variation"]["text"] == "Test Viewer gifted 5\u00d7 Test T-shirt to chat!"
    assert message["variation"]["image"] == "/-/static-plugins/alerts/art/gift_bomb.svg"
    assert message["variation"]["sound"] == "/-/static-plugins/alerts/sounds/gift_bomb.wav"
    await ws.close()


async def test_push_alert_and_state_through_the_api(limelight) -> None:
    h = await start(limelight)
    ws, _, _ = await connect(h, "goal")
    status, body = await api(
        h,
        "POST",
        "/api/overlays/goal/state",
        {"key": "charity", "data": {"title": "Save the owls", "current": 250, "target": 1000}},
    )
    assert status == 200
    assert (await receive(ws))["data"]["title"] == "Save the owls"
    status, body = await api(
        h, "POST", "/api/overlays/goal/alerts", {"kind": "milestone", "data": {"title": "25%!"}}
    )
    assert status == 201
    message = await receive(ws)
    assert message["id"] == body["id"] and message["variation"]["text"] == "25%!"
    assert (await api(h, "POST", "/api/overlays/goal/alerts", {"kind": 1}))[0] == 400
    assert (await api(h, "POST", "/api/overlays/goal/state", {"key": ""}))[0] == 400
    assert (await api(h, "POST", "/api/overlays/nope/pause"))[0] == 404
    await ws.close()


async def test_overlay_detail_lists_history(limelight) -> None:
    h = await start(limelight)
    alert_id = await h.services.overlays.alert(
        "alerts", kind="raid", data={"name": "Ray", "viewers": 9}
    )
    status, body = await api(h, "GET", "/api/overlays/alerts")
    assert status == 200 and body["pending"] == 1
    assert body["history"][0]["id"] == alert_id
    assert body["history"][0]["status"] == "queued"
    assert (await api(h, "GET", "/api/overlays/alerts?limit=0"))[0] == 400


# -- dashboard ------------------------------------------------------------------------------


async def login(h: Any) -> dict[str, str]:
    """Log in as the dashboard does; the headers its scripts send (Origin, CSRF token)."""
    return await h.login(ADMIN_TOKEN)


async def test_dashboard_lists_overlays_with_url_and_size(limelight) -> None:
    h = await start(limelight)
    response = await h.client.get("/admin/overlays", allow_redirects=False)
    assert response.status == 302
    await login(h)
    html = await (await h.client.get("/admin/overlays")).text()
    for name in OVERLAYS:
        assert f"/overlays/{name}?token={OVERLAY_TOKEN}" in html
    assert "480 \u00d7 800" in html and 'data-action="test"' in html
    # Test and queue controls for the overlays that play alerts, with their own kinds (in
    # words), and a live preview of each overlay in preview mode.
    cards = {
        card.split('"', 1)[0]: card.split("</section>", 1)[0]
        for card in html.split('<section class="card overlay-card" data-overlay="')[1:]
    }
    assert 'data-action="test"' in cards["alerts"]
    assert '<option value="raid">Raid</option>' in cards["alerts"]
    assert '<option value="milestone">Milestone</option>' in cards["goal"]
    assert 'value="raid"' not in cards["goal"]
    for name in ("chat", "leaderboard", "ticker"):
        assert 'data-action="test"' not in cards[name] and "no queue" in cards[name]
        assert 'data-action="pause"' not in cards[name]
    for name, card in cards.items():
        assert f'data-copy="url-{name}"' in card
        assert f'src="/overlays/{name}?token={OVERLAY_TOKEN}&amp;preview=1"' in card
    assert "/-/static/overlays-admin.js" in html
    assert 'href="/admin/overlays"' in html  # in the navigation


async def test_dashboard_detail_shows_history_escaped(limelight) -> None:
    h = await start(limelight)
    await h.services.overlays.alert(
        "alerts",
        kind="tip",
        data={
            "name": "<b>Mal</b>",
            "amount": "1.00",
            "currency": "USD",
            "message": "<script>alert(1)</script>",
        },
    )
    await login(h)
    response = await h.client.get("/admin/overlays/alerts")
    html = await response.text()
    assert response.status == 200
    assert "&lt;b&gt;Mal&lt;/b&gt; tipped $1.00!" in html
    assert "<script>alert(1)" not in html
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert (await h.client.get("/admin/overlays/nope")).status == 404
    # the status says how many frozen browser sources were cut off, in words, and only
    # once there was one
    assert "frozen" not in html and "(s)" not in html
    channel = h.services.overlays.channel("alerts")
    for evicted, words in (
        (1, "1 frozen browser source disconnected"),
        (3, "3 frozen browser sources"),
    ):
        channel.evicted = evicted
        assert words in await (await h.client.get("/admin/overlays/alerts")).text()


async def test_dashboard_buttons_work_with_the_session_cookie(limelight) -> None:
    h = await start(limelight)
    session = await login(h)
    response = await h.client.post(
        "/api/overlays/alerts/test", json={"kind": "raid"}, headers=session
    )
    assert response.status == 201
    # The cookie alone (a page elsewhere on this host could send it) changes nothing.
    forged = await h.client.post("/api/overlays/alerts/pause", json={})
    assert forged.status == 403 and "CSRF check failed" in (await forged.json())["error"]
    assert (await api(h, "GET", "/api/overlays/alerts"))[1]["paused"] is False


async def test_streamer_media_is_served_from_theme_dir(limelight, tmp_path) -> None:
    static = tmp_path / "mytheme" / "static"
    static.mkdir(parents=True)
    (static / "big.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    h = await start(limelight, config={"overlays": {"theme_dir": str(tmp_path / "mytheme")}})
    response = await h.client.get("/-/media/big.svg")
    assert response.status == 200
    assert (await h.client.get("/-/theme/img/star.svg")).status == 200


async def test_healthz_reports_overlays_without_secrets(limelight) -> None:
    h = await start(limelight)
    body = await (await h.client.get("/healthz")).json()
    assert set(body["overlays"]["overlays"]) >= {"alerts", "chat"}
    assert OVERLAY_TOKEN not in str(body) and ADMIN_TOKEN not in str(body)
