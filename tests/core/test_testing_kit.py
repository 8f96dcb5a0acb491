"""The test kit (``limelight.testing``) a plugin author's suite runs on.

Its promise: a test's settings come from the test alone. A streamer who follows the
README (a ``./config.toml`` that enables OBS, secrets in ``LIMELIGHT_*`` variables) must
not see their plugin's tests, or Limelight's own, pick any of that up.
"""

from __future__ import annotations

import importlib.metadata as md
from pathlib import Path
from typing import Any

import pytest
from limelight import ChatMessage, Event, Overlay, Plugin, Register, Tip, hookimpl
from limelight.config import ConfigError
from limelight.testing import (
    ADMIN_TOKEN,
    HookPlugin,
    Recorder,
    make_chat,
    make_settings,
    make_tip,
)

STREAMER_CONFIG = """\
[server]
locale = "de_DE"

[security]
admin_token = "the-streamers-real-token"

[obs]
enabled = true
host = "obs.streamer.invalid"
password = "the-streamers-obs-password"
"""

STREAMER_ENV = {
    "LIMELIGHT_OBS__ENABLED": "true",
    "LIMELIGHT_OBS__HOST": "obs-from-env.invalid",
    "LIMELIGHT_SERVER__LOCALE": "fr_FR",
    "LIMELIGHT_SECURITY__ADMIN_TOKEN": "token-from-env",
    "LIMELIGHT_PLUGINS": "nothing-of-the-kind",
}


class Marker(Plugin):
    @hookimpl
    def register_overlays(self, register: Register[Overlay]) -> None:
        register(Overlay("marker", "marker.html"))


@pytest.fixture
def streamers_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The working directory and environment of a streamer who configured everything."""
    home = tmp_path / "streamer"
    home.mkdir()
    (home / "config.toml").write_text(STREAMER_CONFIG)
    monkeypatch.chdir(home)
    for name, value in STREAMER_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LIMELIGHT_CONFIG", str(home / "config.toml"))
    # one installed plugin, which LIMELIGHT_PLUGINS above would leave out
    ep = md.EntryPoint("marker", f"{__name__}:Marker", "limelight")
    monkeypatch.setattr(
        "limelight.plugins.md.entry_points",
        lambda **kw: [ep] if kw.get("group") == "limelight" else [],
    )
    return home / "config.toml"


async def test_a_harness_ignores_the_working_directory_config_and_the_environment(
    streamers_machine: Path, limelight: Any
) -> None:
    h = await limelight(entry_points=True)
    settings = h.settings
    assert settings.obs.enabled is False and settings.obs.host == "127.0.0.1"
    assert settings.server.locale == "en_US"
    assert settings.security.admin_token == ADMIN_TOKEN
    assert h.host.info["marker"].status == "enabled"  # LIMELIGHT_PLUGINS not read either
    health = await (await h.client.get("/healthz")).json()
    assert health["status"] == "ok"
    assert health["obs"]["status"] == "disabled"


def test_make_settings_reads_a_file_or_an_environment_only_when_asked(
    streamers_machine: Path, tmp_path: Path
) -> None:
    assert make_settings(tmp_path).obs.enabled is False

    from_file = make_settings(tmp_path, config_file=streamers_machine)
    assert (from_file.obs.enabled, from_file.obs.host) == (True, "obs.streamer.invalid")
    assert from_file.server.locale == "de_DE"
    # the test's own settings still win: known tokens and a throw-away database
    assert from_file.security.admin_token == ADMIN_TOKEN
    assert from_file.database.url.startswith(f"sqlite://{tmp_path}")

    from_env = make_settings(tmp_path, environ={"LIMELIGHT_OBS__HOST": "obs-from-env.invalid"})
    assert from_env.obs.host == "obs-from-env.invalid" and from_env.obs.enabled is False

    both = make_settings(
        tmp_path,
        {"obs": {"port": 4456}},
        config_file=streamers_machine,
        environ={"LIMELIGHT_OBS__HOST": "obs-from-env.invalid"},
    )
    assert (both.obs.enabled, both.obs.host, both.obs.port) == (True, "obs-from-env.invalid", 4456)


def test_make_settings_errors_name_the_key_and_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"test settings: obs\.port"):
        make_settings(tmp_path, {"obs": {"port": "many"}})
    with pytest.raises(ConfigError, match="LIMELIGHT_OBS__PORT"):
        make_settings(tmp_path, environ={"LIMELIGHT_OBS__PORT": "many"})


async def test_the_fixture_takes_a_config_file_when_a_test_asks(
    limelight: Any, tmp_path: Path
) -> None:
    config = tmp_path / "mine.toml"
    config.write_text('[server]\nlocale = "de_DE"\n')
    h = await limelight(config_file=config)
    assert h.settings.server.locale == "de_DE"


async def test_recorder_records_every_event_and_filters_by_class_or_type_name(
    limelight: Any,
) -> None:
    rec = Recorder()
    h = await limelight(plugins={"rec": rec})
    tip = make_tip("5.00")
    await h.publish(tip)
    await h.publish(make_chat("hello"))
    await h.publish(make_tip("1.00", test=True))
    assert [type(e) for e in rec.events] == [Tip, ChatMessage, Tip]
    tips: list[Tip] = rec.of_type(Tip)
    assert [t.amount for t in tips] == [tip.amount, make_tip("1.00").amount]
    assert [e.text for e in rec.of_type(ChatMessage)] == ["hello"]
    assert rec.of_type("chat.message") == rec.of_type(ChatMessage)
    assert h.plugin("rec") is rec and rec.ctx is h.ctx("rec")
    rec.clear()
    assert rec.events == []


async def test_hook_plugin_and_h_plugin_say_what_is_wrong(limelight: Any) -> None:
    seen: list[Event] = []

    async def on_event(event: Event) -> None:
        seen.append(event)

    h = await limelight(
        plugins={"fn": HookPlugin(on_event=on_event), "typo": HookPlugin(on_evnet=on_event)}
    )
    await h.publish(make_tip())
    assert len(seen) == 1
    with pytest.raises(LookupError, match=r"no running plugin 'typo' \(failed: implements"):
        h.plugin("typo")
    with pytest.raises(LookupError, match=r"'ghost' \(not loaded\)"):
        h.plugin("ghost")
    with pytest.raises(TypeError, match="is a HookPlugin, not a Recorder"):
        h.plugin("fn", Recorder)


async def test_one_harness_at_a_time_and_a_restart_after_close(limelight: Any) -> None:
    from limelight.db import DatabaseError

    h1 = await limelight()
    with pytest.raises(DatabaseError, match="another Limelight app is already running"):
        await limelight()
    accepted = await h1.publish(make_tip(source="kofi", source_id="kit-1"))
    await h1.close()
    h2 = await limelight()  # same tmp_path, same database: a restart
    again = await h2.publish(make_tip(source="kofi", source_id="kit-1"))
    assert again.duplicate and again.id == accepted.id
