"""The HTTP application: errors, admin auth, the events API, /healthz, dashboard login."""

from __future__ import annotations

import asyncio
import io
import json
from typing import Any

import pytest
from aiohttp import web
from limelight import Route, hookimpl
from limelight.testing import OVERLAY_TOKEN

TIP = {
    "type": "tip",
    "test": False,
    "source": "api",
    "source_id": "abc-1",
    "viewer": {"platform": "twitch", "id": "1234", "name": "Alice"},
    "data": {"amount": "5.00", "currency": "USD", "message": "hi"},
}


class Boom:
    """Routes that fail in the ways the error middleware must handle."""

    @hookimpl
    def register_routes(self, register: Any) -> None:
        register(Route("GET", "/api/boom/crash", self.crash))
        register(Route("GET", "/p/boom/crash", self.crash, auth="public"))

    async def crash(self, request: web.Request) -> web.Response:
        raise RuntimeError("secret internal detail 7f3a")


# -- errors ---------------------------------------------------------------------------------------


async def test_unknown_api_path_is_json_404_and_page_is_html_404(limelight):
    h = await limelight()
    api = await h.client.get("/api/nope", headers=h.admin_headers)
    assert api.status == 404 and api.content_type == "application/json"
    assert (await api.json())["error"] == "no such page: /api/nope"
    page = await h.client.get("/nope")
    assert page.status == 404 and page.content_type == "text/html"
    assert "No such page: /nope." in await page.text()


async def test_a_page_asked_for_with_or_without_its_trailing_slash_is_redirected(limelight):
    """A page typed with one slash too many or too few lands on the page (308, query kept
    as sent); anything else that matches no route stays a 404 that says so."""

    class Pages:
        @hookimpl
        def register_routes(self, register: Any) -> None:
            register(Route("GET", "/p/pages/", self.page, auth="public"))
            register(Route("POST", "/p/pages/form", self.page, auth="public"))
            register(Route("GET", "/p/pages/gone", self.gone, auth="public"))
            register(Route("GET", "/p/pages/gone/", self.page, auth="public"))

        async def page(self, request: web.Request) -> web.Response:
            return web.Response(text="the page")

        async def gone(self, request: web.Request) -> web.Response:
            raise web.HTTPNotFound()

    h = await limelight(plugins={"pages": Pages})
    for asked, found in (
        ("/p/pages", "/p/pages/"),
        ("/p/pages?x=%20y&z=1", "/p/pages/?x=%20y&z=1"),
        ("/admin/overlays/", "/admin/overlays"),
        ("/overlays/alerts/?token=t", "/overlays/alerts?token=t"),
    ):
        response = await h.client.get(asked, allow_redirects=False)
        assert (response.status, response.headers.get("Location")) == (308, found), asked
    followed = await h.client.get("/p/pages")
    assert (followed.status, await followed.text()) == (200, "the page")
    for method, asked in (
        ("GET", "/nope/"),  # no page either way
        ("GET", "/\\p/pages"),  # "/\\" is "//" to a browser: another host
        ("POST", "/p/pages/form/"),  # only GET and HEAD are redirected
        ("GET", "/p/pages/gone"),  # a page's own 404 is kept, whatever its twin is
    ):
        response = await h.client.request(
            method, asked, allow_redirects=False, headers=h.admin_headers
        )
        assert response.status == 404, (method, asked)
        assert "Location" not in response.headers
    # "//p/pages" as sent on the wire (a client library would read it as a host)
    server = h.client.server
    reader, writer = await asyncio.open_connection(server.host, server.port)
    writer.write(b"GET //p/pages HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head = (await reader.read()).split(b"\r\n\r\n")[0]
    writer.close()
    assert head.startswith(b"HTTP/1.1 404") and b"Location" not in head, head


async def test_pages_carry_the_security_headers_from_the_one_helper(limelight):
    from limelight.web.security import DASHBOARD_CSP, OVERLAY_CSP

    h = await limelight()
    pages = {
        "/admin/login": DASHBOARD_CSP,  # a dashboard page
        "/nope": DASHBOARD_CSP,  # an error page
        "/overlays/nope?token=wrong": OVERLAY_CSP,  # an overlay's error, shown in a preview
    }
    for path, csp in pages.items():
        response = await h.client.get(path)
        assert response.headers["Content-Security-Policy"] == csp, path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        # Dashboard pages send their Referer (and so a real Origin on a form post) to
        # this server only; an overlay page, whose URL holds its token, sends none.
        referrer = "same-origin" if csp == DASHBOARD_CSP else "no-referrer"
        assert response.headers["Referrer-Policy"] == referrer, path
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "frame-ancestors 'none'" in DASHBOARD_CSP
    api = await h.client.get("/api/nope")
    assert api.headers["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in api.headers  # JSON is no page


async def test_every_response_names_the_product_not_its_versions(limelight):
    """``Server: Limelight`` on pages, JSON, errors, files, webhooks and a WebSocket
    handshake, where aiohttp would announce ``Python/3.x aiohttp/3.y``."""
    from limelight_alerts import AlertsPlugin

    h = await limelight(plugins={"alerts": AlertsPlugin})
    answers = [
        await h.client.get("/healthz"),
        await h.client.get("/admin/login"),
        await h.client.get("/nope"),
        await h.client.get("/api/events"),  # 401
        await h.client.get("/api/events", headers=h.admin_headers),
        await h.client.get("/-/static/admin.css"),
        await h.client.post("/webhooks/nope", data=b"{}"),
    ]
    assert [a.status for a in answers] == [200, 200, 404, 401, 200, 200, 404]
    for answer in answers:
        assert answer.headers["Server"] == "Limelight", answer.url
    async with h.client.ws_connect(f"/overlays/ws?token={OVERLAY_TOKEN}&overlay=alerts") as ws:
        assert ws._response.headers["Server"] == "Limelight"


async def test_wrong_method_is_405_with_a_message(limelight):
    h = await limelight()
    response = await h.client.delete("/api/events", headers=h.admin_headers)
    assert response.status == 405
    assert (await response.json())["error"] == "method DELETE not allowed here"


async def test_unexpected_exception_is_a_neutral_500_and_logged(limelight, caplog):
    h = await limelight(plugins={"boom": Boom()})
    api = await h.client.get("/api/boom/crash", headers=h.admin_headers)
    assert api.status == 500 and api.content_type == "application/json"
    body = await api.text()
    assert "7f3a" not in body and "RuntimeError" not in body
    assert json.loads(body)["error"] == "internal error; the server log has details"
    page = await h.client.get("/p/boom/crash")
    assert page.status == 500 and page.content_type == "text/html"
    assert "7f3a" not in await page.text()
    assert any(
        "secret internal detail 7f3a" in (r.exc_text or "") or r.exc_info
        for r in caplog.records
        if r.name == "limelight.web"
    )


async def test_error_pages_escape_what_the_visitor_typed(limelight):
    h = await limelight()
    page = await h.client.get("/<script>alert(1)</script>")
    assert "<script>alert(1)</script>" not in await page.text()


async def test_oversized_body_is_413(limelight):
    h = await limelight()
    response = await h.client.post(
        "/api/events",
        data=b"x" * (2 * 1024 * 1024),
        headers={**h.admin_headers, "Content-Type": "application/json"},
    )
    assert response.status == 413
    assert (await response.json())["error"] == "request body too large"


# -- admin auth -----------------------------------------------------------------------------------


async def test_admin_api_needs_the_bearer_token(limelight, monkeypatch):
    import limelight.edge as edge

    compared: list[tuple[bytes, bytes]] = []
    real = edge.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(edge.hmac, "compare_digest", spy)
    h = await limelight()
    missing = await h.client.get("/api/events")
    assert missing.status == 401
    assert "Authorization: Bearer" in (await missing.json())["error"]
    wrong = await h.client.get("/api/events", headers={"Authorization": "Bearer guess"})
    assert wrong.status == 403 and (await wrong.json())["error"] == "invalid admin token"
    assert compared[-1] == (b"guess", h.settings.security.admin_token.encode())
    right = await h.client.get("/api/events", headers=h.admin_headers)
    assert right.status == 200


async def test_admin_api_is_closed_when_no_admin_token_is_set(limelight):
    h = await limelight(config={"security": {"admin_token": ""}})
    response = await h.client.get("/api/events", headers={"Authorization": "Bearer "})
    assert response.status == 403
    assert "set security.admin_token" in (await response.json())["error"]


# -- POST /api/events -----------------------------------------------------------------------------


async def test_post_event_201_then_200_duplicate(limelight):
    h = await limelight()
    status, body = await h.post_event(TIP)
    assert status == 201 and body == {"id": body["id"], "duplicate": False}
    assert isinstance(body["id"], int)
    status, again = await h.post_event(TIP)
    assert status == 200 and again == {"id": body["id"], "duplicate": True}


async def test_post_event_without_source_id_gets_a_fresh_one(limelight):
    h = await limelight()
    payload = {k: v for k, v in TIP.items() if k != "source_id"}
    (s1, b1), (s2, b2) = await h.post_event(payload), await h.post_event(payload)
    assert (s1, s2) == (201, 201) and b1["id"] != b2["id"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "teleport"}, "unknown event type 'teleport'"),
        ({"type": None}, "type is required"),
        ({"data": {"amount": "5.001", "currency": "USD"}}, "more than 2 decimal places"),
        ({"data": {"amount": "abc", "currency": "USD"}}, "is not a number"),
        ({"data": {"amount": 5.0, "currency": "USD"}}, "not a float"),
        ({"data": {"amount": "5.00", "currency": "XYZ"}}, "unknown currency 'XYZ'"),
        ({"data": {"amount": "0.00", "currency": "USD"}}, "greater than zero"),
        ({"data": {"amount": "-5.00", "currency": "USD"}}, "greater than zero"),
        ({"data": {"currency": "USD"}}, "data.amount is required"),
        ({"data": {"amount": "5.00", "currency": "USD", "bogus": 1}}, "unknown field(s)"),
        ({"test": "yes"}, "test must be true or false"),
        ({"viewer": {"platform": "twitch"}}, "viewer.id must be a non-empty string"),
        ({"source_id": "x" * 201}, "at most 200 characters"),
        ({"occurred_at": "yesterday"}, "ISO 8601"),
        ({"surprise": True}, "unknown field(s): surprise"),
    ],
)
async def test_post_event_rejects_bad_input_with_a_message(limelight, change, message):
    h = await limelight()
    status, body = await h.post_event({**TIP, **change})
    assert status == 400, body
    assert message in body["error"]


async def test_post_event_malformed_json_and_wrong_content_type(limelight):
    h = await limelight()
    bad = await h.client.post(
        "/api/events",
        data=b"{not json",
        headers={**h.admin_headers, "Content-Type": "application/json"},
    )
    assert bad.status == 400 and "malformed JSON" in (await bad.json())["error"]
    array = await h.client.post("/api/events", json=[TIP], headers=h.admin_headers)
    assert array.status == 400 and "JSON object" in (await array.json())["error"]
    form = await h.client.post("/api/events", data={"type": "tip"}, headers=h.admin_headers)
    assert form.status == 415
    assert "Content-Type: application/json" in (await form.json())["error"]


# -- GET /api/events ------------------------------------------------------------------------------


async def test_get_events_newest_first_with_the_wire_shape(limelight):
    h = await limelight()
    ids = []
    for n in range(3):
        _, body = await h.post_event({**TIP, "source_id": f"t-{n}"})
        ids.append(body["id"])
    await h.post_event({"type": "stream.online", "source_id": "on-1", "data": {"title": "Hi"}})
    response = await h.client.get("/api/events?type=tip", headers=h.admin_headers)
    events = (await response.json())["events"]
    assert [e["id"] for e in events] == ids[::-1]
    first = events[-1]
    assert set(first) == {
        "id",
        "type",
        "source",
        "source_id",
        "occurred_at",
        "test",
        "viewer",
        "data",
    }
    assert first["viewer"] == {"platform": "twitch", "id": "1234", "name": "Alice"}
    assert first["data"]["amount"] == "5.00" and first["data"]["currency"] == "USD"
    everything = await (await h.client.get("/api/events", headers=h.admin_headers)).json()
    assert everything["events"][0]["type"] == "stream.online"


async def test_get_events_limit_and_validation(limelight):
    h = await limelight()
    for n in range(5):
        await h.post_event({**TIP, "source_id": f"l-{n}"})
    two = await (await h.client.get("/api/events?limit=2", headers=h.admin_headers)).json()
    assert len(two["events"]) == 2
    for query, message in [
        ("limit=0", "between 1 and 500"),
        ("limit=501", "between 1 and 500"),
        ("limit=lots", "must be integers"),
        ("type=teleport", "unknown event type"),
        ("test=maybe", "true or false"),
    ]:
        response = await h.client.get(f"/api/events?{query}", headers=h.admin_headers)
        assert response.status == 400, query
        assert message in (await response.json())["error"], query


async def test_get_events_includes_chat_written_in_batches(limelight):
    h = await limelight()
    await h.post_event({"type": "chat.message", "source_id": "c-1", "data": {"text": "yo"}})
    events = (
        await (await h.client.get("/api/events?type=chat.message", headers=h.admin_headers)).json()
    )["events"]
    assert [e["data"]["text"] for e in events] == ["yo"]


# -- /healthz ------------------------------------------------------------------------------------


async def test_healthz_reports_state_and_no_secrets(limelight):
    secrets = {
        "security": {
            "admin_token": "adm-9d8c7b6a5f4e",
            "overlay_token": "ovl-1a2b3c4d5e6f",
            "admin_password": "pw-correct-horse",
        },
        "webhooks": {"kofi": {"verification_token": "kofi-0f1e2d3c4b5a"}},
        "plugins": {"twitch": {"token": "oauth:tw-5e6f7a8b9c0d", "client_id": "cid-abcdef123456"}},
        "obs": {"password": "obs-pass-445566"},
    }
    from limelight_twitch import TwitchPlugin

    h = await limelight(plugins={"twitch": TwitchPlugin}, config=secrets)
    assert h.ctx("twitch").config.token == "oauth:tw-5e6f7a8b9c0d"  # the plugin has it
    response = await h.client.get("/healthz")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok" and body["version"]
    assert body["db"]["ok"] is True
    assert {"chat", "obs", "plugins"} <= set(body)
    text = await response.text()
    for value in (
        "adm-9d8c7b6a5f4e",
        "ovl-1a2b3c4d5e6f",
        "pw-correct-horse",
        "kofi-0f1e2d3c4b5a",
        "tw-5e6f7a8b9c0d",
        "obs-pass-445566",
    ):
        assert value not in text


# -- dashboard login ------------------------------------------------------------------------------


async def test_dashboard_login_and_logout_with_a_server_side_session(limelight):
    h = await limelight(config={"security": {"admin_password": "correct horse"}})
    c = h.client
    origin = str(c.make_url("/").origin())
    first = await c.get("/admin/", allow_redirects=False)
    assert first.status == 302 and first.headers["Location"] == "/admin/login"
    form = await c.get("/admin/login")
    assert form.status == 200 and "script-src 'self'" in form.headers["Content-Security-Policy"]

    wrong = await c.post("/admin/login", data={"token": "guess"}, allow_redirects=False)
    assert wrong.status == 403 and "not the admin token or password" in await wrong.text()

    ok = await c.post("/admin/login", data={"token": "correct horse"}, allow_redirects=False)
    assert ok.status == 302 and ok.headers["Location"] == "/admin/"
    cookie = ok.cookies["limelight_session"]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert not cookie["secure"]  # public_url is not https
    assert h.settings.security.admin_token not in cookie.value
    assert "correct horse" not in cookie.value
    page = await c.get("/admin/", allow_redirects=False)
    assert page.status == 200
    html = await page.text()
    token = html.split('<meta name="csrf-token" content="', 1)[1].split('"', 1)[0]
    assert f'name="csrf_token" value="{token}"' in html  # the logout form's hidden field
    assert token != cookie.value
    # the session also opens the admin API the dashboard's scripts call
    assert (await c.get("/api/events")).status == 200

    out = await c.post(
        "/admin/logout",
        data={"csrf_token": token},
        headers={"Origin": origin},
        allow_redirects=False,
    )
    assert out.status == 302
    assert "Max-Age=0" in out.headers.get("Set-Cookie", "")
    # The server ended the session: the same cookie, sent again, opens nothing.
    c.session.cookie_jar.update_cookies({"limelight_session": cookie.value}, c.make_url("/"))
    assert (await c.get("/admin/", allow_redirects=False)).status == 302
    assert (await c.get("/api/events")).status == 401


async def test_changes_with_the_session_need_this_origin_and_the_csrf_token(limelight):
    h = await limelight()
    good = await h.login()
    origin, token = good["Origin"], good["X-CSRF-Token"]
    tip = {**TIP, "source_id": "csrf-0"}
    refused = {
        "no origin, no referer": {"X-CSRF-Token": token},
        "origin null": {"Origin": "null", "X-CSRF-Token": token},
        "another port": {"Origin": "http://127.0.0.1:1", "X-CSRF-Token": token},
        "a sibling host": {"Origin": "http://evil.localhost", "X-CSRF-Token": token},
        "no token": {"Origin": origin},
        "wrong token": {
            "Origin": origin,
            "X-CSRF-Token": token[:-1] + ("1" if token[-1] == "0" else "0"),
        },
        "token of nothing": {"Origin": origin, "X-CSRF-Token": "\udcff"},
    }
    for case, headers in refused.items():
        response = await h.client.post("/api/events", json=tip, headers=headers)
        assert response.status == 403, case
        assert "CSRF check failed" in (await response.json())["error"], case
    assert await h.services.db.connection.execute_query_dict("SELECT id FROM limelight_event") == []
    # The Referer stands in for a missing Origin; then the request is the dashboard's.
    by_referer = await h.client.post(
        "/api/events", json=tip, headers={"Referer": origin + "/admin/", "X-CSRF-Token": token}
    )
    assert by_referer.status == 201
    assert (await h.client.post("/api/events", json=tip, headers=good)).status == 200
    # A Bearer token uses no cookie: no Origin, no CSRF token needed.
    bearer = await h.client.post(
        "/api/events", json={**tip, "source_id": "csrf-1"}, headers=h.admin_headers
    )
    assert bearer.status == 201
    # Reading needs neither.
    assert (await h.client.get("/api/events")).status == 200


class Guestbook:
    """A public form and an admin action, as a plugin would register them."""

    def __init__(self) -> None:
        self.signed: list[tuple[str, bool]] = []

    @hookimpl
    def register_routes(self, register: Any) -> None:
        register(Route("POST", "/p/guestbook/sign", self.sign, auth="public"))
        register(Route("POST", "/p/guestbook/wipe", self.wipe))

    async def sign(self, request: web.Request) -> web.Response:
        from limelight.web.auth import is_admin
        from limelight.web.keys import SETTINGS

        form = await request.post()
        self.signed.append((str(form["name"]), is_admin(request, request.app[SETTINGS])))
        return web.json_response({"ok": True})

    async def wipe(self, request: web.Request) -> web.Response:
        self.signed.clear()
        return web.json_response({"wiped": True})


async def test_plugin_routes_get_the_csrf_rules_for_free(limelight):
    book = Guestbook()
    h = await limelight(plugins={"guestbook": book})
    good = await h.login()
    # A public form works with or without the session; without the token it is a guest's.
    sign = await h.client.post("/p/guestbook/sign", data={"name": "ann"})
    assert sign.status == 200
    form = {"name": "bo", "csrf_token": good["X-CSRF-Token"]}
    assert (await h.client.post("/p/guestbook/sign", data=form, headers=good)).status == 200
    assert book.signed == [("ann", False), ("bo", True)]
    # An admin route refuses the session without the token, and takes it with the token.
    forged = await h.client.post("/p/guestbook/wipe", headers={"Origin": good["Origin"]})
    assert forged.status == 403 and "CSRF check failed" in await forged.text()
    assert len(book.signed) == 2
    assert (await h.client.post("/p/guestbook/wipe", headers=good)).status == 200
    assert book.signed == []


async def test_a_session_that_cannot_be_checked_is_a_503_not_a_logout(limelight):
    h = await limelight()
    await h.login()
    await h.services.db.close()
    api = await h.client.get("/api/events")
    assert api.status == 503 and "database is unavailable" in (await api.json())["error"]
    page = await h.client.get("/admin/", allow_redirects=False)
    assert page.status == 503 and "database is unavailable" in await page.text()
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


async def test_a_form_post_carries_the_token_in_a_field(limelight):
    h = await limelight()
    good = await h.login()
    origin = good["Origin"]
    missing = await h.client.post(
        "/admin/logout", data={}, headers={"Origin": origin}, allow_redirects=False
    )
    assert missing.status == 403 and "CSRF check failed" in await missing.text()
    assert "frame-ancestors 'none'" in missing.headers["Content-Security-Policy"]
    assert (await h.client.get("/admin/", allow_redirects=False)).status == 200  # still in
    out = await h.client.post(
        "/admin/logout",
        data={"csrf_token": good["X-CSRF-Token"]},
        headers={"Origin": origin},
        allow_redirects=False,
    )
    assert out.status == 302


async def test_api_bodies_must_be_json_whoever_sends_them(limelight):
    h = await limelight()
    session = await h.login()

    def bodies() -> dict[str, dict[str, Any]]:
        return {
            "text/plain": {"data": json.dumps(TIP), "content_type": "text/plain"},
            "form": {"data": {"type": "tip"}},
            "multipart": {"data": {"type": "tip", "file": io.BytesIO(b"x")}},
        }

    for who, headers in {"bearer": h.admin_headers, "session": session}.items():
        for path in ("/api/events", "/api/chat/say", "/api/nope"):
            for case, body in bodies().items():
                extra = {"Content-Type": body["content_type"]} if "content_type" in body else {}
                response = await h.client.post(
                    path, data=body["data"], headers={**headers, **extra}
                )
                assert response.status == 415, (who, path, case)
                assert "application/json" in (await response.json())["error"]


async def test_dashboard_session_dies_when_the_admin_token_rotates(limelight):
    h = await limelight()
    await h.client.post(
        "/admin/login", data={"token": h.settings.security.admin_token}, allow_redirects=False
    )
    assert (await h.client.get("/admin/", allow_redirects=False)).status == 200
    h.settings.security.admin_token = "rotated-token-value"
    assert (await h.client.get("/admin/", allow_redirects=False)).status == 302


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"type": "cheer", "data": {"bits": 0}}, "data.bits must be at least 1"),
        ({"type": "gift_bomb", "data": {"count": -3}}, "data.count must be at least 1"),
        (
            {"type": "merch.order", "data": {"item": "Mug", "amount": "0", "currency": "EUR"}},
            "data.amount must be greater than zero",
        ),
    ],
)
async def test_post_event_money_events_need_positive_amounts_and_counts(
    limelight, payload, message
):
    h = await limelight()
    status, body = await h.post_event(payload)
    assert status == 400 and message in body["error"]


async def test_healthz_is_503_when_the_database_is_gone(limelight):
    h = await limelight()
    await h.services.db.close()
    response = await h.client.get("/healthz")
    assert response.status == 503
    body = await response.json()
    assert body["status"] == "degraded" and body["db"]["ok"] is False
    assert body["db"]["error"]
