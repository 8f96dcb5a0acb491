"""Isolation that holds: what one plugin does never takes the server, or another plugin,
down with it.

* a plain ``def`` hook that blocks (``time.sleep``) freezes nothing: ``/healthz`` answers,
  the other plugins get their events, SIGTERM stops the real process within 5 s, and the
  plugin is named in the log and, when it keeps timing out, in its status;
* an ``async`` hook that hangs forever is abandoned at each timeout and, after
  ``[plugins] max_timeouts`` in a row, disabled with the reason shown;
* a plugin whose required plugin is missing or failed is disabled with a reason naming it;
* a plugin class is instantiated once per app, so two apps never share its state.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
from limelight import Call, Command, Event, Overlay, Plugin, Register, command, hookimpl
from limelight.testing import Recorder, make_chat, make_tip

from tests.core.procs import clean_env, fake_distribution, running_server
from tests.support import wait_until

ONE_SECOND = aiohttp.ClientTimeout(total=1)


async def healthz(h: Any) -> dict[str, Any]:
    """``GET /healthz`` with a 1 s client timeout: a frozen loop fails the test."""
    response = await h.client.get("/healthz", timeout=ONE_SECOND)
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


def plugin_row(health: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in health["plugins"] if p["name"] == name)


# -- a plain def hook that blocks ------------------------------------------------------------------


class Blocker(Plugin):
    """A plain ``def on_event`` that blocks its thread for up to 60 s (a synchronous HTTP
    call to a dead host, say). ``release`` ends the block early so the test leaves no
    sleeping thread behind."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()

    @hookimpl
    def on_event(self, event: Event) -> None:
        self.entered.set()
        self.release.wait(60)


async def test_a_blocking_sync_hook_freezes_nothing_and_is_named(limelight, caplog) -> None:
    blocker, rec = Blocker(), Recorder()
    h = await limelight(
        plugins={"blocker": blocker, "rec": rec}, config={"plugins": {"hook_timeout": 0.5}}
    )
    try:
        with caplog.at_level(logging.ERROR, logger="limelight.plugins"):
            await h.publish(make_chat("first"), settle=False)
            assert await asyncio.to_thread(blocker.entered.wait, 5)
            # the hook is blocked right now: the server still answers at once
            health = await healthz(h)
            assert health["status"] == "ok"
            # ... and the other plugins still get their events
            await h.publish(make_tip(), settle=False)
            await wait_until(lambda: len(rec.events) == 2)
            await h.settle()
            # both calls were abandoned at the timeout, each logged by the plugin's name
            assert caplog.text.count("plugin blocker: on_event timed out after 0.5 s") == 2
            assert h.host.info["blocker"].stats["on_event"].timeouts == 2
            assert h.host.info["blocker"].status == "enabled"  # not yet max_timeouts (3)

            # it keeps blocking: the third call in a row switches it off, by name
            await h.publish(make_chat("third"))
        info = h.host.info["blocker"]
        assert info.status == "failed"
        assert info.reason == "on_event timed out 3 times in a row (each after 0.5 s)"
        assert "plugin blocker disabled: on_event timed out 3 times" in caplog.text
        health = await healthz(h)
        assert health["status"] == "degraded"
        assert plugin_row(health, "blocker") == {
            "name": "blocker",
            "status": "failed",
            "reason": info.reason,
        }
        assert plugin_row(health, "rec")["status"] == "enabled"
        await h.publish(make_chat("fourth"))
        assert len(rec.events) == 4
        assert h.host.info["blocker"].stats["on_event"].calls == 3  # off means off
    finally:
        blocker.release.set()


BLOCKER_SOURCE = """\
    import time

    from limelight import Event, Plugin, hookimpl


    class Blocker(Plugin):
        @hookimpl
        def on_event(self, event: Event) -> None:
            print("blocker: blocking for 60 s", flush=True)
            time.sleep(60)
"""

ADMIN = "isolation-admin-token"


def post_event(base: str, payload: dict[str, Any]) -> int:
    request = urllib.request.Request(
        base + "/api/events",
        data=json.dumps(payload).encode(),
        headers={"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return int(response.status)


def get_health(base: str) -> dict[str, Any]:
    """``/healthz`` with a 1 s client timeout (urllib raises when it takes longer)."""
    with urllib.request.urlopen(base + "/healthz", timeout=1) as response:
        body: dict[str, Any] = json.loads(response.read())
        return body


async def test_sigterm_stops_the_real_server_while_a_sync_hook_blocks(tmp_path: Path) -> None:
    site = fake_distribution(
        tmp_path / "site",
        "limelight-blocker",
        {"blocker": "limelight_blocker:Blocker"},
        {"limelight_blocker": BLOCKER_SOURCE},
    )
    config = tmp_path / "config.toml"
    config.write_text(
        f'[security]\nadmin_token = "{ADMIN}"\noverlay_token = "o"\n[plugins]\nhook_timeout = 1\n'
    )
    env = clean_env(PYTHONPATH=str(site), LIMELIGHT_PLUGINS="blocker")
    with running_server(config, tmp_path, env=env) as server:
        chat = {"type": "chat.message", "data": {"text": "hello"}}
        assert post_event(server.base, {**chat, "source_id": "c-1"}) == 201
        await wait_until(lambda: "blocker: blocking" in server.output())
        assert get_health(server.base)["status"] == "ok"
        await wait_until(lambda: "plugin blocker: on_event timed out after 1 s" in server.output())
        # a second event waits behind the blocked one while SIGTERM arrives
        assert post_event(server.base, {**chat, "source_id": "c-2"}) == 201
        assert get_health(server.base)["status"] == "ok"
        code = server.stop(timeout=5)  # fails the test unless the process exits in 5 s
    assert code == 0, server.output()
    assert "Limelight stopping" in server.output()


# -- an async hook that hangs forever --------------------------------------------------------------


class Hanger(Plugin):
    """An ``async def on_event`` that never returns on its own."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    @hookimpl
    async def on_event(self, event: Event) -> None:
        self.calls += 1
        await asyncio.Event().wait()


async def test_a_hanging_async_hook_is_disabled_after_max_timeouts_in_a_row(limelight) -> None:
    hanger, rec = Hanger(), Recorder()
    h = await limelight(
        plugins={"hanger": hanger, "rec": rec}, config={"plugins": {"hook_timeout": 0.05}}
    )
    for i in range(2):
        await h.publish(make_tip())
        assert h.host.info["hanger"].status == "enabled", f"disabled after {i + 1} timeouts"
    assert (await healthz(h))["status"] == "ok"
    await h.publish(make_tip())
    info = h.host.info["hanger"]
    assert info.status == "failed"
    assert info.reason == "on_event timed out 3 times in a row (each after 0.05 s)"
    health = await healthz(h)
    assert health["status"] == "degraded"
    assert plugin_row(health, "hanger") == {
        "name": "hanger",
        "status": "failed",
        "reason": info.reason,
    }
    await h.publish(make_tip())
    assert hanger.calls == 3 and len(rec.events) == 4


async def test_max_timeouts_is_configurable_and_a_finished_call_resets_the_count(limelight) -> None:
    class SometimesHangs(Plugin):
        @hookimpl
        async def on_event(self, event: Event) -> None:
            if event.source_id.startswith("hang"):
                await asyncio.Event().wait()

    h = await limelight(
        plugins={"flaky": SometimesHangs},
        config={"plugins": {"hook_timeout": 0.05, "max_timeouts": 2}},
    )
    for source_id in ("hang-1", "ok-1", "hang-2", "ok-2", "hang-3"):
        await h.publish(make_tip(source_id=source_id))
    assert h.host.info["flaky"].status == "enabled"  # never two in a row
    await h.publish(make_tip(source_id="hang-4"))
    assert h.host.info["flaky"].status == "failed"
    assert "timed out 2 times in a row" in h.host.info["flaky"].reason


# -- dependencies between plugins ------------------------------------------------------------------


class NeedsAlerts(Plugin):
    requires = ("alerts",)

    def __init__(self) -> None:
        super().__init__()
        self.started = False

    @hookimpl
    def register_overlays(self, register: Register[Overlay]) -> None:
        register(Overlay("needy", "needy.html"))

    @hookimpl
    async def startup(self) -> None:
        self.started = True


async def test_a_plugin_whose_required_plugin_is_missing_is_disabled_with_the_reason(
    limelight,
) -> None:
    needy, rec = NeedsAlerts(), Recorder()
    h = await limelight(plugins={"needy": needy, "rec": rec})
    info = h.host.info["needy"]
    assert info.status == "failed"
    assert info.reason == "requires plugin 'alerts', which is not installed"
    assert not needy.started and "needy" not in h.host.overlays
    health = await healthz(h)
    assert health["status"] == "degraded"
    assert plugin_row(health, "needy")["reason"] == info.reason
    await h.publish(make_tip())
    assert len(rec.events) == 1


async def test_a_plugin_whose_required_plugin_failed_goes_off_with_it(limelight) -> None:
    class Alerts(Plugin):
        @hookimpl
        async def startup(self) -> None:
            raise RuntimeError("no theme")

    needy = NeedsAlerts()
    h = await limelight(plugins={"alerts": Alerts, "needy": needy})
    assert h.host.info["alerts"].reason == "startup failed: RuntimeError: no theme"
    info = h.host.info["needy"]
    assert info.status == "failed"
    assert info.reason == (
        "requires plugin 'alerts', which is failed: startup failed: RuntimeError: no theme"
    )
    assert "needy" not in h.host.overlays


# -- one instance per app --------------------------------------------------------------------------


class Counter(Plugin):
    """State on the instance: ``!count`` counts per app."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    @command("count")
    async def count_command(self, call: Call) -> str:
        self.count += 1
        return f"count {self.count}"

    @hookimpl
    def register_commands(self, register: Register[Command]) -> None:
        register(self.count_command)


async def test_a_plugin_class_is_instantiated_once_per_app(limelight) -> None:
    h1 = await limelight(plugins={"counter": Counter})
    await h1.chat_as("alice", "!count")
    await h1.chat_as("alice", "!count")
    assert [s.text for s in h1.said] == ["count 1", "count 2"]
    first = h1.plugin("counter", Counter)
    assert first.count == 2
    assert first.ctx is h1.ctx("counter")
    await h1.close()

    h2 = await limelight(plugins={"counter": Counter})
    await h2.chat_as("alice", "!count")
    assert [s.text for s in h2.said] == ["count 1"]  # a fresh instance, fresh state
    second = h2.plugin("counter", Counter)
    assert second is not first and second.ctx is h2.ctx("counter")
    assert first.count == 2  # the first app's plugin was not touched
