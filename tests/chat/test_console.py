"""The dashboard chat console: a built-in connector, its page and its API."""

from __future__ import annotations

from limelight import NoConfig, Plugin, command, hookimpl
from limelight_console import ConsolePlugin

from tests.support import wait_until


class Hello(Plugin[NoConfig]):
    @command("hello")
    async def hello(self, call) -> str:
        "Greets you."
        return f"Hello, {call.viewer.name} ({', '.join(sorted(call.roles))})!"

    @hookimpl
    def register_commands(self, register):
        register(self.hello)


async def test_type_as_any_viewer_and_see_the_reply(limelight):
    h = await limelight(plugins={"console": ConsolePlugin, "hello": Hello()})
    resp = await h.client.post(
        "/api/console/messages",
        headers=h.admin_headers,
        json={"viewer": "Tester", "roles": ["vip", "moderator"], "text": "!hello"},
    )
    assert resp.status == 202
    await h.settle()
    said = [s for s in h.said if s.connector == "console"]
    assert [s.text for s in said] == ["Hello, Tester (moderator, viewer, vip)!"]
    resp = await h.client.get("/api/chat/feed?since=0", headers=h.admin_headers)
    lines = (await resp.json())["lines"]
    assert [(line["kind"], line["text"]) for line in lines] == [
        ("in", "!hello"),
        ("out", "Hello, Tester (moderator, viewer, vip)!"),
    ]
    assert lines[0]["viewer"] == "Tester" and lines[0]["test"] is True
    seq = lines[-1]["seq"]
    resp = await h.client.get(f"/api/chat/feed?since={seq}", headers=h.admin_headers)
    assert (await resp.json())["lines"] == []


async def test_console_input_is_validated_and_admin_only(limelight):
    h = await limelight(plugins={"console": ConsolePlugin})
    bad = [
        {"viewer": "a b", "text": "x"},
        {"viewer": "a", "roles": ["admin"], "text": "x"},
        {"viewer": "a", "text": ""},
        {"viewer": "a", "text": "x" * 501},
        ["not", "a dict"],
    ]
    for body in bad:
        resp = await h.client.post("/api/console/messages", headers=h.admin_headers, json=body)
        assert resp.status == 400, body
    resp = await h.client.post("/api/console/messages", json={"viewer": "a", "text": "hi"})
    assert resp.status == 401
    resp = await h.client.get("/api/chat/feed")
    assert resp.status == 401


async def test_say_as_the_bot_from_the_dashboard(limelight):
    h = await limelight(plugins={"console": ConsolePlugin})
    resp = await h.client.post(
        "/api/chat/say", headers=h.admin_headers, json={"text": "Stream starts in 5!"}
    )
    assert resp.status == 202 and (await resp.json())["queued"] == 2  # console + test kit
    await h.settle()
    assert {(s.connector, s.text) for s in h.said} == {
        ("console", "Stream starts in 5!"),
        ("test", "Stream starts in 5!"),
    }
    resp = await h.client.post(
        "/api/chat/say", headers=h.admin_headers, json={"text": "x", "priority": "urgent"}
    )
    assert resp.status == 400


async def test_chat_page_renders_safely(limelight):
    h = await limelight(plugins={"console": ConsolePlugin, "hello": Hello()})
    await h.chat_as("mallory", "<script>alert(1)</script>")
    resp = await h.client.get("/admin/chat", headers=h.admin_headers)
    assert resp.status == 200
    html = await resp.text()
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert 'id="console-form"' in html and "/-/static/chat-console.js" in html
    assert "<code>!hello</code>" in html and "Greets you." in html
    assert "<script>alert" not in html  # viewer text only arrives through the JSON feed
    assert '<a href="/admin/chat"' in html
    assert "<script>" not in html.replace('<script src="/-/static/chat-console.js" defer>', "")
    resp = await h.client.get("/-/static/chat-console.js")
    assert resp.status == 200 and "innerHTML" not in await resp.text()
    resp = await h.client.get("/admin/chat", allow_redirects=False)
    assert resp.status == 302


async def test_console_can_be_switched_off(limelight):
    h = await limelight(
        plugins={"console": ConsolePlugin}, config={"plugins": {"console": {"enabled": False}}}
    )
    assert "console" not in h.services.chat.connectors
    resp = await h.client.post(
        "/api/console/messages", headers=h.admin_headers, json={"viewer": "a", "text": "hi"}
    )
    assert resp.status == 503
    resp = await h.client.get("/admin/chat", headers=h.admin_headers)
    assert "console connector is off" in await resp.text()


async def test_console_is_on_by_default_through_entry_points(limelight):
    h = await limelight(entry_points=True)
    await wait_until(lambda: "console" in h.services.chat.connectors)
    status = (await (await h.client.get("/healthz")).json())["chat"]
    assert any(c["name"] == "console" and c["connected"] for c in status["connectors"])
    assert not any(c["name"] == "twitch" for c in status["connectors"])  # [plugins.twitch] is off
