"""One test per hook (``test_hook_<name>...``): each hook does what docs/hooks.md says.

``tests/core/test_hook_docs.py`` fails when a hook in ``hookspecs.py`` has no test whose name
contains ``hook_<name>``; other hooks' tests live next to their features.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from limelight import (
    Badge,
    ChatConnectorSpec,
    ConfigModel,
    EventType,
    Job,
    Overlay,
    PluginConfig,
    Route,
    Verdict,
    WebhookProvider,
)
from limelight.chat.connector import LocalConnector
from limelight.commands import command, example
from limelight.events import Tip
from limelight.gating import Action
from limelight.models import EventRecord
from limelight.money import Money
from limelight.testing import HookPlugin, make_chat, make_viewer, run_examples
from limelight.webhooks import WebhookError
from pydantic import Field

from tests.support import wait_until

# -- register_config_model ----------------------------------------------------------------------


class GreeterConfig(PluginConfig):
    greeting: str = "hello"
    volume: int = Field(5, ge=0, le=10)


async def test_hook_register_config_model_validates_and_reaches_ctx(limelight):
    plugin = HookPlugin(register_config_model=lambda register: register(ConfigModel(GreeterConfig)))
    h = await limelight(plugins={"greeter": plugin}, config={"plugins": {"greeter": {"volume": 7}}})
    config = h.ctx("greeter").config
    assert isinstance(config, GreeterConfig)
    assert (config.greeting, config.volume) == ("hello", 7)


async def test_hook_register_config_model_constraint_violation_names_the_key(limelight):
    plugin = HookPlugin(register_config_model=lambda register: register(ConfigModel(GreeterConfig)))
    h = await limelight(
        plugins={"greeter": plugin}, config={"plugins": {"greeter": {"volume": 11}}}
    )
    reason = h.host.info["greeter"].reason
    assert "plugins.greeter.volume" in reason and "less than or equal to 10" in reason


async def test_hook_register_config_model_more_than_one_model_is_refused(limelight):
    def twice(register: Any) -> None:
        register(ConfigModel(GreeterConfig))
        register(ConfigModel(GreeterConfig))

    h = await limelight(plugins={"greedy": HookPlugin(register_config_model=twice)})
    assert h.host.info["greedy"].status == "failed"
    assert "more than one model" in h.host.info["greedy"].reason


# -- register_commands --------------------------------------------------------------------------


@command("greet", aliases=("hi",))
@example("!greet Bob", "Hello, Bob!")
async def greet(ctx: Any, call: Any, name: str = "you") -> str:
    "Say hello."
    return f"Hello, {name}!"


def greeter_plugin() -> HookPlugin:
    return HookPlugin(register_commands=lambda register: register(greet))


async def test_hook_register_commands_routes_chat_and_records_owner(limelight):
    h = await limelight(plugins={"greeter": greeter_plugin()})
    assert h.host.commands.owner_of("greet") == "greeter"
    await h.chat_as("alice", "!hi Bob")
    assert h.said[-1].text == "Hello, Bob!"
    assert not await run_examples(h, "greeter")


async def test_hook_register_commands_duplicate_name_disables_the_second_plugin(limelight):
    h = await limelight(plugins={"first": greeter_plugin(), "second": greeter_plugin()})
    assert h.host.commands.owner_of("greet") == "first"
    assert h.host.info["second"].status == "failed"
    reason = h.host.info["second"].reason
    assert "command !greet of plugin 'second' collides with !greet of plugin 'first'" in reason
    await h.chat_as("alice", "!greet")
    assert h.said[-1].text == "Hello, you!"


async def test_hook_register_commands_colliding_alias_disables_the_later_plugin(limelight):
    @command("hey", aliases=("greet",))
    async def hey(ctx: Any, call: Any) -> str:
        return "hey"

    @command("bonjour")
    async def bonjour(ctx: Any, call: Any) -> str:
        return "bonjour"

    def register_commands(register: Any) -> None:
        register(bonjour)
        register(hey)

    h = await limelight(
        plugins={
            "first": greeter_plugin(),
            "second": HookPlugin(register_commands=register_commands),
        }
    )
    info = h.host.info["second"]
    assert info.status == "failed"
    assert "alias !greet of !hey of plugin 'second' collides with !greet of plugin 'first'" in (
        info.reason
    )
    # nothing of the refused plugin stays registered, not even what it registered first
    assert h.host.commands.owner_of("bonjour") is None
    await h.chat_as("alice", "!bonjour")
    await h.chat_as("alice", "!greet")
    assert [s.text for s in h.said] == ["Hello, you!"]


async def test_hook_register_commands_taking_help_disables_the_plugin(limelight):
    @command("help")
    async def my_help(ctx: Any, call: Any) -> str:
        return "mine"

    h = await limelight(
        plugins={"helpful": HookPlugin(register_commands=lambda register: register(my_help))}
    )
    info = h.host.info["helpful"]
    assert info.status == "failed"
    assert "command !help of plugin 'helpful' collides with !help of 'core'" in info.reason
    await h.chat_as("alice", "!help")
    assert h.said[-1].text.startswith("Commands:")


# -- register_routes ----------------------------------------------------------------------------


async def test_hook_register_routes_with_each_auth_kind(limelight):
    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"hello": request.match_info.get("name", "world")})

    plugin = HookPlugin(
        register_routes=lambda register: [
            register(Route("GET", "/api/greeter/hello", hello)),
            register(Route("GET", "/p/greeter/{name}", hello, auth="public")),
            register(Route("GET", "/p/greeter-overlay/data", hello, auth="overlay")),
        ]
    )
    h = await limelight(plugins={"greeter": plugin})
    c = h.client
    assert (await c.get("/api/greeter/hello")).status == 401
    assert (await c.get("/api/greeter/hello", headers={"Authorization": "Bearer x"})).status == 403
    ok = await c.get("/api/greeter/hello", headers=h.admin_headers)
    assert ok.status == 200 and await ok.json() == {"hello": "world"}
    assert await (await c.get("/p/greeter/ann")).json() == {"hello": "ann"}
    assert (await c.get("/p/greeter-overlay/data")).status == 401
    assert (await c.get("/p/greeter-overlay/data?token=wrong")).status == 403
    token = h.settings.security.overlay_token
    assert (await c.get(f"/p/greeter-overlay/data?token={token}")).status == 200


async def test_hook_register_routes_auth_is_what_the_route_declares_under_api_too(limelight):
    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"hello": "world"})

    plugin = HookPlugin(
        register_routes=lambda register: [
            register(Route("GET", "/api/greeter/public", hello, auth="public")),
            register(Route("GET", "/api/greeter/overlay", hello, auth="overlay")),
            register(Route("GET", "/p/greeter/admin", hello, auth="admin")),
        ]
    )
    h = await limelight(plugins={"greeter": plugin})
    c = h.client
    # a public route is public, although its path is under /api/
    public = await c.get("/api/greeter/public")
    assert public.status == 200 and await public.json() == {"hello": "world"}
    # an overlay route under /api/ takes the overlay token, not the admin token
    token = h.settings.security.overlay_token
    assert (await c.get("/api/greeter/overlay")).status == 401
    assert (await c.get("/api/greeter/overlay", headers=h.admin_headers)).status == 401
    assert (await c.get(f"/api/greeter/overlay?token={token}")).status == 200
    # an admin route outside /api/ is still admin-only
    assert (await c.get("/p/greeter/admin")).status == 401
    assert (await c.get("/p/greeter/admin", headers=h.admin_headers)).status == 200
    # the core's own API stays admin-only, and so does a path nobody registered
    assert (await c.get("/api/events")).status == 401
    assert (await c.get("/api/greeter/nothing-here")).status == 401


async def test_hook_register_routes_of_a_plugin_that_failed_to_start_stop_answering(limelight):
    async def hello(request: web.Request) -> web.Response:
        return web.json_response({})

    async def startup(ctx: Any) -> None:
        raise RuntimeError("no")

    plugin = HookPlugin(
        register_routes=lambda register: register(Route("GET", "/p/broken/", hello, auth="public")),
        startup=startup,
    )
    h = await limelight(plugins={"broken": plugin})
    response = await h.client.get("/p/broken/")
    assert response.status == 503


# -- register_overlays --------------------------------------------------------------------------


async def test_hook_register_overlays_lists_them_with_token_urls(limelight):
    plugin = HookPlugin(
        register_overlays=lambda register: register(
            Overlay("goal", "goal.html", events=("tip",), width=600, height=120, title="Goal bar")
        )
    )
    h = await limelight(plugins={"goal": plugin})
    overlay = h.host.overlays.get("goal")
    assert overlay is not None and overlay.events == ("tip",)
    assert h.host.overlays.owner_of("goal") == "goal"
    # the dashboard lists each overlay with its OBS URL (token included) and size
    login = await h.client.post(
        "/admin/login", data={"token": h.settings.security.admin_token}, allow_redirects=False
    )
    assert login.status == 302
    page = await (await h.client.get("/admin/")).text()
    assert f"/overlays/goal?token={h.settings.security.overlay_token}" in page
    assert "Goal bar" in page


# -- register_models: see tests/core/test_storage.py (test_hook_register_models_...) ------------


# -- register_jobs ------------------------------------------------------------------------------


async def test_hook_register_jobs_runs_the_job_with_the_plugin_context(limelight):
    seen: list[Any] = []
    ran = asyncio.Event()

    async def tick(ctx: Any) -> None:
        seen.append(ctx.name)
        ran.set()

    plugin = HookPlugin(
        register_jobs=lambda register: register(Job("tick", tick, "interval", {"seconds": 0.05}))
    )
    h = await limelight(plugins={"ticker": plugin})
    assert h.services.scheduler.next_run("ticker:tick") is not None
    await asyncio.wait_for(ran.wait(), 5)
    assert seen[0] == "ticker"


async def test_hook_register_jobs_a_failing_job_is_counted_and_keeps_its_schedule(limelight):
    calls = 0

    def boom(ctx: Any) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("job failed")

    plugin = HookPlugin(
        register_jobs=lambda register: register(Job("boom", boom, "interval", {"seconds": 0.02}))
    )
    h = await limelight(plugins={"boomer": plugin})
    await wait_until(lambda: calls >= 2)
    assert h.services.scheduler.failures >= 2
    assert h.host.info["boomer"].status == "enabled"


# -- register_webhook_providers -----------------------------------------------------------------


async def kofi_like(request: web.Request, body: bytes) -> list[Any]:
    if request.headers.get("X-Token") != "letmein":
        raise WebhookError(401, "bad verification token")
    payload = json.loads(body)
    return [
        Tip(
            source="fakepay",
            source_id=payload["id"],
            viewer=make_viewer("Ann"),
            amount=Money.parse(payload["amount"], "USD"),
        )
    ]


async def test_hook_register_webhook_providers_commits_before_answering(limelight):
    seen: list[Any] = []

    async def on_event(event: Any, ctx: Any) -> None:
        seen.append(event)

    plugin = HookPlugin(
        register_webhook_providers=lambda register: register(WebhookProvider("fakepay", kofi_like)),
        on_event=on_event,
    )
    h = await limelight(plugins={"fakepay": plugin})
    body = json.dumps({"id": "pay-1", "amount": "3.50"})
    bad = await h.client.post("/webhooks/fakepay", data=body, headers={"X-Token": "nope"})
    assert bad.status == 401 and "bad verification token" in (await bad.json())["error"]
    assert await EventRecord.all().count() == 0

    ok = await h.client.post("/webhooks/fakepay", data=body, headers={"X-Token": "letmein"})
    assert ok.status == 200
    assert await EventRecord.filter(source="fakepay", source_id="pay-1").count() == 1
    again = await h.client.post("/webhooks/fakepay", data=body, headers={"X-Token": "letmein"})
    assert again.status == 200 and (await again.json())["duplicates"] == 1
    await h.settle()
    assert [e.source_id for e in seen] == ["pay-1"]
    assert (await h.client.post("/webhooks/nosuch", data=body)).status == 404


# -- register_chat_connectors -------------------------------------------------------------------


async def test_hook_register_chat_connectors_builds_and_starts_the_connector(limelight):
    built: list[str] = []

    def factory(ctx: Any) -> LocalConnector:
        built.append(ctx.name)
        return LocalConnector("fakechat", platform="fakeplatform")

    first = HookPlugin(
        register_chat_connectors=lambda register: register(ChatConnectorSpec("fakechat", factory))
    )
    second = HookPlugin(
        register_chat_connectors=lambda register: register(ChatConnectorSpec("fakechat", factory))
    )
    h = await limelight(plugins={"first": first, "second": second})
    assert built == ["first"]
    assert h.host.chat_connectors.owner_of("fakechat") == "first"
    assert h.host.info["second"].status == "failed"
    connector = h.services.chat.connectors["fakechat"]
    assert connector.running
    await h.services.chat.say("hello from the bot", platform="fakeplatform")
    await h.settle()
    assert [m.text for m in connector.sent] == ["hello from the bot"]


# -- register_badges ----------------------------------------------------------------------------


async def test_hook_register_badges_award_and_revoke(limelight):
    plugin = HookPlugin(
        register_badges=lambda register: register(
            Badge("vip", "VIP", icon="star", description="a VIP supporter")
        )
    )
    h = await limelight(plugins={"vip": plugin})
    badges = h.ctx("vip").badges
    alice, bob = make_viewer("alice"), make_viewer("bob")
    badges.award(alice, "vip")
    assert [b.name for b in badges.for_viewer(alice)] == ["vip"]
    assert badges.for_viewer(bob) == [] and badges.for_viewer(None) == []
    badges.revoke(alice, "vip")
    assert badges.for_viewer(alice) == []
    try:
        badges.award(alice, "unregistered")
    except KeyError as exc:
        assert "register it with register_badges" in str(exc)
    else:
        raise AssertionError("awarding an unregistered badge must fail")


# -- register_event_types -----------------------------------------------------------------------


async def test_hook_register_event_types_accepts_declared_types_on_the_api(limelight):
    seen: list[Any] = []

    async def on_event(event: Any, ctx: Any) -> None:
        seen.append(event)

    plugin = HookPlugin(
        register_event_types=lambda register: register(EventType("merch.drop_started")),
        on_event=on_event,
    )
    h = await limelight(plugins={"merch": plugin})
    status, body = await h.post_event(
        {
            "type": "merch.drop_started",
            "source_id": "drop-1",
            "data": {"item": "Hoodie", "stock": 20},
        }
    )
    assert status == 201 and body["duplicate"] is False
    assert seen[0].custom_type == "merch.drop_started"
    assert seen[0].payload == {"item": "Hoodie", "stock": 20}
    listed = await (
        await h.client.get("/api/events?type=merch.drop_started", headers=h.admin_headers)
    ).json()
    assert listed["events"][0]["data"] == {"item": "Hoodie", "stock": 20}
    status, body = await h.post_event({"type": "merch.drop_ended", "data": {}})
    assert status == 400 and "unknown event type 'merch.drop_ended'" in body["error"]


# -- startup / shutdown -------------------------------------------------------------------------


async def test_hook_startup_gets_a_ready_context(limelight):
    found: dict[str, Any] = {}

    async def startup(ctx: Any) -> None:
        found["name"] = ctx.name
        found["db"] = (await ctx.db.status()).ok
        found["scheduler"] = ctx.scheduler is not None
        found["url"] = ctx.url("/x")

    h = await limelight(plugins={"starter": HookPlugin(startup=startup)})
    assert found["name"] == "starter" and found["db"] is True and found["scheduler"]
    assert found["url"].endswith("/x")
    assert h.host.info["starter"].status == "enabled"


async def test_hook_startup_sync_implementation_is_called_too(limelight):
    called: list[str] = []
    await limelight(plugins={"sync": HookPlugin(startup=lambda ctx: called.append(ctx.name))})
    assert called == ["sync"]


async def test_hook_shutdown_runs_when_the_server_stops(limelight):
    stopped: list[str] = []

    async def shutdown(ctx: Any) -> None:
        stopped.append(ctx.name)

    h = await limelight(plugins={"stopper": HookPlugin(shutdown=shutdown)})
    assert stopped == []
    await h.close()
    assert stopped == ["stopper"]


async def test_hook_shutdown_failure_does_not_stop_the_others(limelight):
    stopped: list[str] = []

    def bad(ctx: Any) -> None:
        raise RuntimeError("cannot let go")

    h = await limelight(
        plugins={
            "bad": HookPlugin(shutdown=bad),
            "good": HookPlugin(shutdown=lambda ctx: stopped.append(ctx.name)),
        }
    )
    await h.close()
    assert stopped == ["good"]
    assert h.host.info["bad"].stats["shutdown"].errors == 1


# -- on_event -----------------------------------------------------------------------------------


async def test_hook_on_event_receives_each_accepted_event_once_with_its_id(limelight):
    seen: list[Any] = []
    contexts: list[str] = []

    async def on_event(event: Any, ctx: Any) -> None:
        seen.append(event)
        contexts.append(ctx.name)

    h = await limelight(plugins={"watcher": HookPlugin(on_event=on_event)})
    _status, body = await h.post_event(
        {"type": "tip", "source_id": "t-1", "data": {"amount": "2.00", "currency": "EUR"}}
    )
    await h.post_event(
        {"type": "tip", "source_id": "t-1", "data": {"amount": "2.00", "currency": "EUR"}}
    )
    assert [e.id for e in seen] == [body["id"]]
    assert seen[0].amount == Money(200, "EUR") and contexts == ["watcher"]


async def test_hook_on_event_async_calls_that_wait_or_not_are_handled_alike(limelight):
    """An ``async def on_event`` that finishes without waiting is stepped to its end by the
    lane's handler (a plain answer, no coroutine or timer of ours); one that waits is
    finished under ``hook_timeout``; raising before or after a wait, or waiting past the
    timeout, fails the delivery and is counted. Money events are marked handled only when
    every plugin handled them."""
    order: list[str] = []

    async def at_once(event: Any) -> None:
        order.append(f"at_once {event.source_id}")
        if event.source_id == "boom-now":
            raise RuntimeError("broke at once")

    async def after_a_wait(event: Any) -> None:
        order.append(f"waits {event.source_id}")
        await asyncio.sleep(0)
        if event.source_id == "boom-later":
            raise RuntimeError("broke after a wait")
        if event.source_id == "hang":
            await asyncio.Event().wait()
        order.append(f"waited {event.source_id}")

    h = await limelight(
        plugins={
            "now": HookPlugin(on_event=at_once),
            "later": HookPlugin(on_event=after_a_wait),
        },
        config={"plugins": {"hook_timeout": 0.05, "max_timeouts": 5}},
    )
    host = h.host
    now, later = (
        host.event_handler(next(c for c in host.event_callers() if c.plugin == name))
        for name in ("now", "later")
    )
    event = make_chat("hi")
    answer = now(event)
    assert answer is True  # finished at once: a plain bool for the lane, nothing to await
    waiting = later(event)
    assert not isinstance(waiting, bool)
    assert await waiting is True
    sid = event.source_id
    assert order == [f"at_once {sid}", f"waits {sid}", f"waited {sid}"]

    for source_id in ("boom-now", "boom-later", "hang", "fine"):
        await h.post_event(
            {"type": "tip", "source_id": source_id, "data": {"amount": "1.00", "currency": "EUR"}}
        )
    await h.settle()
    now_stats = host.info["now"].stats["on_event"]
    later_stats = host.info["later"].stats["on_event"]
    assert (now_stats.errors, now_stats.timeouts) == (1, 0)
    assert (later_stats.errors, later_stats.timeouts) == (1, 1)
    assert "waited fine" in order and "waited hang" not in order
    await h.services.bus.flush()  # (handled marks go to disk with the next flush)
    handled = {
        r.source_id: r.handled
        for r in await EventRecord.filter(source_id__in=["boom-now", "boom-later", "hang", "fine"])
    }
    assert handled == {"boom-now": False, "boom-later": False, "hang": False, "fine": True}


# -- check_chat_message -------------------------------------------------------------------------


async def test_hook_check_chat_message_strictest_verdict_wins_and_failures_hide(limelight):
    def allow(message: Any, ctx: Any) -> Verdict | None:
        return Verdict.allow("fine")

    async def hide_links(message: Any, ctx: Any) -> Verdict | None:
        return Verdict.hide("links need VIP") if "http" in message.text else None

    def delete_spam(message: Any, ctx: Any) -> Verdict | None:
        return Verdict.delete("spam") if "SPAM" in message.text else None

    h = await limelight(
        plugins={
            "allow": HookPlugin(check_chat_message=allow),
            "links": HookPlugin(check_chat_message=hide_links),
            "spam": HookPlugin(check_chat_message=delete_spam),
        }
    )
    host = h.host
    assert (await host.check_chat_message(make_chat("hi"))).action is Action.ALLOW
    verdict = await host.check_chat_message(make_chat("see http://x"))
    assert (verdict.action, verdict.plugin, verdict.reason) == (
        Action.HIDE,
        "links",
        "links need VIP",
    )
    verdict = await host.check_chat_message(make_chat("SPAM http://x"))
    assert (verdict.action, verdict.plugin) == (Action.DELETE, "spam")

    # the bus stores the verdict on the message before plugins see it
    message = make_chat("http://y")
    await h.publish(message)
    assert message.verdict.action is Action.HIDE


async def test_hook_check_chat_message_fails_closed_when_a_plugin_raises(limelight):
    def broken(message: Any, ctx: Any) -> Verdict | None:
        raise RuntimeError("gate broke")

    h = await limelight(plugins={"broken": HookPlugin(check_chat_message=broken)})
    verdict = await h.host.check_chat_message(make_chat("hi"))
    assert (verdict.action, verdict.plugin) == (Action.HIDE, "broken")


async def test_hook_check_chat_message_invalid_answer_hides(limelight):
    def nonsense(message: Any, ctx: Any) -> Any:
        return "yes please"

    h = await limelight(plugins={"nonsense": HookPlugin(check_chat_message=nonsense)})
    verdict = await h.host.check_chat_message(make_chat("hi"))
    assert verdict.action is Action.HIDE and "invalid verdict" in verdict.reason


async def test_hook_check_chat_message_without_gating_plugins_allows(limelight):
    h = await limelight()
    assert (await h.host.check_chat_message(make_chat("hi"))).shown


async def test_hook_check_chat_message_async_checks_that_wait_or_not_decide_alike(limelight):
    """An ``async def`` check that answers without waiting is stepped by hand, one that
    waits is awaited under the timeout: both verdicts count, in plugin order, on the bus
    as through the host."""
    order: list[str] = []

    async def at_once(message: Any) -> Verdict | None:
        order.append("at_once")
        return Verdict.hide("no links") if "http" in message.text else None

    async def after_a_wait(message: Any) -> Verdict | None:
        order.append("waits")
        await asyncio.sleep(0)
        order.append("waited")
        return Verdict.delete("spam") if "SPAM" in message.text else None

    h = await limelight(
        plugins={
            "now": HookPlugin(check_chat_message=at_once),
            "later": HookPlugin(check_chat_message=after_a_wait),
        }
    )
    message = make_chat("see http://x")
    await h.publish(message)
    assert (message.verdict.action, message.verdict.plugin) == (Action.HIDE, "now")
    assert order == ["at_once", "waits", "waited"]
    message = make_chat("SPAM http://x")
    await h.publish(message)
    assert (message.verdict.action, message.verdict.plugin) == (Action.DELETE, "later")
    verdict = await h.host.check_chat_message(make_chat("hello"))
    assert verdict.shown
    stats = h.host.info["later"].stats["check_chat_message"]
    assert (stats.calls, stats.errors, stats.timeouts) == (3, 0, 0)


async def test_hook_check_chat_message_fails_closed_on_an_async_error_or_timeout(limelight):
    """Gating fails closed also for ``async def`` checks: raising before or after a wait,
    or waiting past ``hook_timeout``, hides the line (and is counted)."""
    cleaned: list[str] = []

    async def raises_at_once(message: Any) -> None:
        if "now" in message.text:
            raise RuntimeError("broke at once")

    async def raises_later(message: Any) -> None:
        await asyncio.sleep(0)
        if "later" in message.text:
            raise RuntimeError("broke after a wait")

    async def hangs(message: Any) -> None:
        if "hang" in message.text:
            try:
                await asyncio.Event().wait()
            finally:
                cleaned.append(message.text)  # the timeout cancels it inside its wait

    h = await limelight(
        plugins={
            "now": HookPlugin(check_chat_message=raises_at_once),
            "later": HookPlugin(check_chat_message=raises_later),
            "hang": HookPlugin(check_chat_message=hangs),
        },
        config={"plugins": {"hook_timeout": 0.05, "max_timeouts": 5}},
    )
    for text, plugin in (("now", "now"), ("later", "later"), ("hang", "hang")):
        message = make_chat(text)
        await h.publish(message)
        assert (message.verdict.action, message.verdict.plugin) == (Action.HIDE, plugin), text
        assert message.verdict.reason == "gating check failed"
    assert cleaned == ["hang"]
    stats = h.host.info
    assert stats["now"].stats["check_chat_message"].errors == 1
    assert stats["later"].stats["check_chat_message"].errors == 1
    assert stats["hang"].stats["check_chat_message"].timeouts == 1
    fine = make_chat("fine")
    await h.publish(fine)
    assert fine.verdict.shown


async def test_hook_check_chat_message_async_checks_get_their_arguments_and_stats(limelight):
    """The per-line path for ``async def`` checks passes what each asks for (the message,
    its plugin's context, or neither) and counts each call as the general path does."""
    seen: list[tuple[str, Any]] = []

    async def with_ctx(message: Any, ctx: Any) -> Verdict | None:
        seen.append(("with_ctx", ctx))
        return None

    async def ctx_only(ctx: Any) -> Verdict | None:
        seen.append(("ctx_only", ctx))
        return None

    async def nothing() -> Verdict | None:
        seen.append(("nothing", None))
        return Verdict.allow("fine")

    async def message_only(message: Any) -> Verdict | None:
        seen.append(("message_only", message))
        return None

    h = await limelight(
        plugins={
            "a": HookPlugin(check_chat_message=with_ctx),
            "b": HookPlugin(check_chat_message=ctx_only),
            "c": HookPlugin(check_chat_message=nothing),
            "d": HookPlugin(check_chat_message=message_only),
        }
    )
    message = make_chat("hi")
    await h.publish(message)
    contexts = h.host.contexts
    assert seen == [
        ("with_ctx", contexts["a"]),
        ("ctx_only", contexts["b"]),
        ("nothing", None),
        ("message_only", message),
    ]
    assert message.verdict.shown and message.verdict.plugin == "c"
    for plugin in "abcd":
        stats = h.host.info[plugin].stats["check_chat_message"]
        assert (stats.calls, stats.errors, stats.timeouts_in_a_row) == (1, 0, 0)
        assert stats.seconds >= 0.0


async def test_hook_record_events_async_hook_gets_its_arguments_by_name_in_any_order(limelight):
    """An ``async def`` hook without ``ctx`` is called with its arguments in the order of
    its own signature (positionally, on the per-line path): each still gets the value of
    its name, whatever order it declares them in."""
    got: list[tuple[Any, Any]] = []

    async def record_events(tx: Any, events: Any) -> None:  # the spec's order reversed
        got.append((tx, events))

    h = await limelight(plugins={"rev": HookPlugin(record_events=record_events)})
    await h.publish(Tip(source="test", source_id="t-1", amount=Money.parse("2.00", "USD")))
    assert len(got) == 1
    tx, events = got[0]
    assert [e.source_id for e in events] == ["t-1"]
    assert hasattr(tx, "on_commit") and hasattr(tx, "connection")
