"""The plugin host: isolation, discovery, configuration, selection and the plugin list.

Each failure mode disables exactly one plugin with a reason a streamer can act on, and the
other plugins keep running. Entry points are faked in-process here (fast); the slow wheel
test proves the same with real installed distributions.
"""

from __future__ import annotations

import asyncio
import importlib.metadata as md
import json
import logging
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from limelight import ConfigModel, Overlay, PluginConfig, hookimpl
from limelight.cli import main
from limelight.testing import Recorder, make_tip

from tests.support import free_port

# -- plugins used below -------------------------------------------------------------------------


class Raiser:
    @hookimpl
    def on_event(self, event: Any, ctx: Any) -> None:
        raise RuntimeError("kaboom in on_event")


class Hanger:
    """An async hook that never finishes on its own; records that it was abandoned."""

    def __init__(self) -> None:
        self.cancelled = asyncio.Event()

    @hookimpl
    async def on_event(self, event: Any, ctx: Any) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


class Misspelled:
    @hookimpl
    def check_pending(self, message: Any, ctx: Any) -> None:
        return None


class Typo:
    @hookimpl
    def on_evnet(self, event: Any, ctx: Any) -> None:
        return None


class LimitConfig(PluginConfig):
    limit: int = 10
    greeting: str = "hi"


class Configured:
    @hookimpl
    def register_config_model(self, register: Any) -> None:
        register(ConfigModel(LimitConfig))

    @hookimpl
    def on_event(self, event: Any, ctx: Any) -> None:
        return None


class FailsToStart:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    @hookimpl
    def register_overlays(self, register: Any) -> None:
        register(Overlay("doomed", "doomed.html"))

    @hookimpl
    async def startup(self, ctx: Any) -> None:
        raise RuntimeError("cannot reach the merch shop")

    @hookimpl
    def on_event(self, event: Any, ctx: Any) -> None:
        self.seen.append(event)


class OverlayOwner:
    def __init__(self, name: str = "alerts") -> None:
        self.name = name

    @hookimpl
    def register_overlays(self, register: Any) -> None:
        register(Overlay(self.name, "alerts.html"))


def stats(h: Any, plugin: str, hook: str = "on_event") -> Any:
    return h.host.info[plugin].stats[hook]


# -- isolation ----------------------------------------------------------------------------------


async def test_exception_in_on_event_is_logged_counted_and_others_still_run(limelight, caplog):
    before, after = Recorder(), Recorder()
    h = await limelight(plugins={"before": before, "bad": Raiser(), "after": after})
    with caplog.at_level(logging.ERROR, logger="limelight.plugins"):
        await h.publish(make_tip())
        await h.publish(make_tip())
    assert len(before.events) == len(after.events) == 2
    assert stats(h, "bad").errors == 2 and stats(h, "bad").calls == 2
    assert "kaboom" in stats(h, "bad").last_error
    assert stats(h, "after").errors == 0
    logged = [r for r in caplog.records if "plugin bad" in r.getMessage()]
    assert logged and "RuntimeError: kaboom in on_event" in logged[0].getMessage()
    assert h.host.info["bad"].status == "enabled"  # one bad call does not disable a plugin


async def test_async_hook_past_its_timeout_is_abandoned_and_counted(limelight, caplog):
    hanger, other = Hanger(), Recorder()
    h = await limelight(
        plugins={"hanger": hanger, "other": other}, config={"plugins": {"hook_timeout": 0.05}}
    )
    with caplog.at_level(logging.ERROR, logger="limelight.plugins"):
        await h.publish(make_tip())
    await asyncio.wait_for(hanger.cancelled.wait(), 5)
    assert stats(h, "hanger").timeouts == 1
    assert "timed out after 0.05 s" in stats(h, "hanger").last_error
    assert len(other.events) == 1
    assert any("plugin hanger: on_event timed out" in r.getMessage() for r in caplog.records)
    # the plugin lane is free again: the next event reaches the hanger's lane and times out too
    await h.publish(make_tip())
    assert stats(h, "hanger").timeouts == 2 and len(other.events) == 2


async def test_hook_calls_are_counted_and_listed(limelight):
    h = await limelight(plugins={"rec": Recorder()})
    await h.publish(make_tip())
    await h.publish(make_tip())
    row = next(p for p in h.host.list_json() if p["name"] == "rec")
    assert row["stats"]["on_event"]["calls"] == 2
    assert row["stats"]["on_event"]["errors"] == row["stats"]["on_event"]["timeouts"] == 0


# -- a plugin is disabled alone, with a reason ---------------------------------------------------


async def test_unknown_hook_disables_the_plugin_alone(limelight):
    good = Recorder()
    h = await limelight(plugins={"misspelled": Misspelled(), "good": good})
    info = h.host.info["misspelled"]
    assert info.status == "failed"
    assert "unknown hook 'check_pending'" in info.reason
    assert h.host.info["good"].status == "enabled"
    await h.publish(make_tip())
    assert len(good.events) == 1


async def test_misspelled_hook_reason_suggests_the_right_name(limelight):
    h = await limelight(plugins={"typo": Typo()})
    assert "'on_evnet' (did you mean 'on_event'?)" in h.host.info["typo"].reason


async def test_misspelled_config_key_names_plugin_key_and_problem(limelight):
    h = await limelight(
        plugins={"cfg": Configured(), "good": Recorder()}, config={"plugins": {"cfg": {"limt": 5}}}
    )
    info = h.host.info["cfg"]
    assert info.status == "failed"
    assert "plugin 'cfg'" in info.reason
    assert "plugins.cfg.limt" in info.reason and "unknown key" in info.reason
    assert h.host.info["good"].status == "enabled"


async def test_wrong_config_type_names_plugin_key_and_expectation(limelight):
    h = await limelight(
        plugins={"cfg": Configured()}, config={"plugins": {"cfg": {"limit": "ten"}}}
    )
    reason = h.host.info["cfg"].reason
    assert "plugin 'cfg'" in reason and "plugins.cfg.limit" in reason
    assert "valid integer" in reason and "'ten'" in reason


async def test_config_table_for_a_plugin_without_a_config_model_is_an_error(limelight):
    h = await limelight(plugins={"rec": Recorder()}, config={"plugins": {"rec": {"x": 1}}})
    assert h.host.info["rec"].status == "failed"
    assert "plugins.rec has keys (x)" in h.host.info["rec"].reason


async def test_valid_config_reaches_ctx_config(limelight):
    h = await limelight(plugins={"cfg": Configured()}, config={"plugins": {"cfg": {"limit": 3}}})
    assert h.ctx("cfg").config == LimitConfig(limit=3, greeting="hi")


async def test_startup_failure_disables_the_plugin_alone_and_drops_its_registrations(limelight):
    doomed, good = FailsToStart(), Recorder()
    h = await limelight(plugins={"doomed": doomed, "good": good})
    info = h.host.info["doomed"]
    assert info.status == "failed"
    assert info.reason == "startup failed: RuntimeError: cannot reach the merch shop"
    assert "doomed" not in h.host.overlays
    await h.publish(make_tip())
    assert doomed.seen == [] and len(good.events) == 1
    health = await (await h.client.get("/healthz")).json()
    assert health["status"] == "degraded"
    assert {"name": "doomed", "status": "failed", "reason": info.reason} in health["plugins"]


async def test_duplicate_registration_disables_the_second_plugin_alone(limelight):
    h = await limelight(plugins={"first": OverlayOwner(), "second": OverlayOwner()})
    assert h.host.info["first"].status == "enabled"
    assert h.host.overlays.owner_of("alerts") == "first"
    second = h.host.info["second"]
    assert second.status == "failed"
    assert (
        "overlay 'alerts' of plugin 'second' collides with the one plugin 'first' registered"
        in second.reason
    )


async def test_two_plugins_with_the_same_name_the_second_is_refused(limelight, caplog):
    first = Recorder()
    h = await limelight(plugins={"rec": first})
    assert not h.host.add(Recorder(), "rec")
    assert "a plugin named 'rec' is already loaded" in caplog.text
    assert h.host.info["rec"].status == "enabled"  # the running plugin keeps running
    await h.publish(make_tip())
    assert len(first.events) == 1


# -- discovery through entry points and selection ------------------------------------------------

PLUGIN_A = OverlayOwner("a-overlay")
PLUGIN_B = OverlayOwner("b-overlay")
PLUGIN_C = OverlayOwner("c-overlay")


@pytest.fixture
def entry_points(monkeypatch: pytest.MonkeyPatch) -> list[md.EntryPoint]:
    """Replace the installed ``limelight`` entry points with a known set."""
    eps = [
        md.EntryPoint("a", f"{__name__}:PLUGIN_A", "limelight"),
        md.EntryPoint("b", f"{__name__}:PLUGIN_B", "limelight"),
        md.EntryPoint("c", f"{__name__}:PLUGIN_C", "limelight"),
        md.EntryPoint("missing", "tests.fixtures.apps.no_such_module", "limelight"),
    ]

    def fake(**kwargs: Any) -> list[md.EntryPoint]:
        return eps if kwargs.get("group") == "limelight" else []

    monkeypatch.setattr("limelight.plugins.md.entry_points", fake)
    monkeypatch.delenv("LIMELIGHT_PLUGINS", raising=False)
    return eps


def statuses(h: Any) -> dict[str, str]:
    return {name: info.status for name, info in h.host.info.items()}


async def test_plugin_failing_to_import_is_disabled_alone(limelight, entry_points):
    h = await limelight(entry_points=True)
    assert statuses(h) == {"a": "enabled", "b": "enabled", "c": "enabled", "missing": "failed"}
    reason = h.host.info["missing"].reason
    assert reason.startswith("failed to import tests.fixtures.apps.no_such_module")
    assert "ModuleNotFoundError" in reason
    assert set(h.host.overlays.values()) == {PLUGIN_A_OVERLAY, PLUGIN_B_OVERLAY, PLUGIN_C_OVERLAY}


PLUGIN_A_OVERLAY = Overlay("a-overlay", "alerts.html")
PLUGIN_B_OVERLAY = Overlay("b-overlay", "alerts.html")
PLUGIN_C_OVERLAY = Overlay("c-overlay", "alerts.html")


async def test_plugins_disabled_in_config_are_not_loaded(limelight, entry_points):
    h = await limelight(entry_points=True, config={"plugins": {"disabled": ["b", "missing"]}})
    assert statuses(h) == {"a": "enabled", "b": "disabled", "c": "enabled", "missing": "disabled"}
    assert h.host.info["b"].reason == "listed in [plugins] disabled"
    assert "b-overlay" not in h.host.overlays


async def test_limelight_plugins_env_chooses_what_loads(limelight, entry_points):
    h = await limelight(entry_points=True, environ={"LIMELIGHT_PLUGINS": "a, c"})
    assert statuses(h) == {"a": "enabled", "b": "disabled", "c": "enabled", "missing": "disabled"}
    assert h.host.info["b"].reason == "not in LIMELIGHT_PLUGINS"


async def test_empty_limelight_plugins_env_loads_none(limelight, entry_points):
    h = await limelight(entry_points=True, environ={"LIMELIGHT_PLUGINS": ""})
    assert set(statuses(h).values()) == {"disabled"}
    assert len(h.host.overlays) == 0


# -- listing --------------------------------------------------------------------------------------


@pytest.fixture
def no_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``limelight plugins`` in an empty folder, pointed at a port nothing listens on, so
    a server running on the default 8600 cannot answer in place of the check."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LIMELIGHT_CONFIG", raising=False)
    monkeypatch.setenv("LIMELIGHT_SERVER__PORT", str(free_port()))


def test_plugins_cli_json_lists_name_version_origin_hooks_status_reason(
    entry_points, no_server, capsys
):
    assert main(["plugins", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)["plugins"]}
    assert set(rows) == {"a", "b", "c", "missing"}
    a = rows["a"]
    assert {k: a[k] for k in ("version", "origin", "hooks", "status", "reason")} == {
        "version": "",
        "origin": "built-in",
        "hooks": ["register_overlays"],
        "status": "ready",  # checked without starting plugins: not "enabled"
        "reason": "",
    }
    assert rows["missing"]["status"] == "failed" and "failed to import" in rows["missing"]["reason"]


def test_plugins_cli_text_shows_reasons(entry_points, no_server, capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "missing" in out and "reason: failed to import" in out
    assert "hooks: register_overlays" in out


async def test_plugins_json_endpoint_is_admin_only_and_complete(limelight):
    h = await limelight(plugins={"rec": Recorder(), "typo": Typo()})
    assert (await h.client.get("/-/plugins.json")).status == 401
    wrong = {"Authorization": "Bearer nope"}
    assert (await h.client.get("/-/plugins.json", headers=wrong)).status == 403
    response = await h.client.get("/-/plugins.json", headers=h.admin_headers)
    assert response.status == 200
    rows = {r["name"]: r for r in (await response.json())["plugins"]}
    assert rows["rec"]["status"] == "enabled" and rows["rec"]["hooks"] == ["on_event"]
    assert rows["rec"]["origin"] == "registered in code"
    assert rows["typo"]["status"] == "failed" and "on_evnet" in rows["typo"]["reason"]
    for row in rows.values():
        assert {"name", "version", "origin", "hooks", "status", "reason"} <= set(row)


def test_entry_point_from_a_distribution_names_it_as_origin(monkeypatch):
    from limelight.plugins import PluginHost

    dist = SimpleNamespace(name="limelight-extra", version="2.3.4")
    ep = md.EntryPoint("extra", f"{__name__}:PLUGIN_A", "limelight")
    fake_ep = SimpleNamespace(name=ep.name, value=ep.value, dist=dist, load=ep.load)
    monkeypatch.setattr(
        "limelight.plugins.md.entry_points",
        lambda **kw: [fake_ep] if kw.get("group") == "limelight" else [],
    )
    host = PluginHost()
    host.load_entry_points()
    info = host.info["extra"]
    assert (info.origin, info.version, info.status) == ("limelight-extra 2.3.4", "2.3.4", "enabled")


class ConfigModelRaises:
    @hookimpl
    def register_config_model(self, register: Any) -> None:
        raise ImportError("pydantic extra missing")


async def test_failing_config_model_registration_disables_the_plugin_alone(limelight):
    good = Recorder()
    h = await limelight(plugins={"cfgfail": ConfigModelRaises(), "good": good})
    info = h.host.info["cfgfail"]
    assert info.status == "failed"
    assert info.reason == "register_config_model failed: ImportError: pydantic extra missing"
    await h.publish(make_tip())
    assert len(good.events) == 1
