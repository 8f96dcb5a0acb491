"""Twitch's config is the plugin's own ``[plugins.twitch]`` table: the old core ``[twitch]``
section (and ``LIMELIGHT_TWITCH__*``) stop with a one-line error naming the new key (in
the test kit's settings too), and
the token stays a secret in its new place (redacted from logs, never in errors or
``/healthz``). config.example.toml documents the chat plugins' tables with their defaults."""

from __future__ import annotations

import logging
import tomllib
from pathlib import Path

import pytest
from limelight import resources
from limelight.config import ConfigError, load_settings
from limelight.logs import RedactSecrets
from limelight.testing import make_settings
from limelight.web.app import build_host
from limelight_console import ConsoleConfig
from limelight_twitch import TwitchConfig, TwitchPlugin

from tests.support import wait_until

from .fake_twitch import FakeTwitch

TOKEN = "oauth-s3cr3t-value-xyz"


def _error(path: Path, text: str, environ: dict[str, str] | None = None) -> str:
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ=environ or {})
    return str(caught.value)


def test_old_twitch_table_names_the_new_key(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    message = _error(cfg, f'[twitch]\nenabled = true\nchannel = "me"\ntoken = "{TOKEN}"\n')
    assert message == (
        f"{cfg}: [twitch] moved to [plugins.twitch]: write twitch.token as "
        "plugins.twitch.token (env LIMELIGHT_PLUGINS__TWITCH__TOKEN)"
    )
    assert "\n" not in message and TOKEN not in message


def test_old_twitch_table_without_a_secret_names_its_first_key(tmp_path: Path) -> None:
    message = _error(tmp_path / "c.toml", '[twitch]\nchannel = "me"\n')
    assert "write twitch.channel as plugins.twitch.channel" in message
    assert "LIMELIGHT_PLUGINS__TWITCH__CHANNEL" in message


def test_old_twitch_environment_variable_names_the_new_one(tmp_path: Path) -> None:
    message = _error(
        tmp_path / "c.toml",
        "[plugins.twitch]\nenabled = true\n",
        environ={"LIMELIGHT_TWITCH__TOKEN": TOKEN},
    )
    assert message == (
        "environment variable LIMELIGHT_TWITCH__TOKEN: [twitch] moved to [plugins.twitch]: "
        "write twitch.token as plugins.twitch.token (env LIMELIGHT_PLUGINS__TWITCH__TOKEN)"
    )


def test_old_twitch_table_given_as_overrides_is_refused_too(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[twitch\] moved to \[plugins.twitch\]"):
        load_settings(cfg, environ={}, overrides={"twitch": {"enabled": True}})


def test_the_test_kit_gives_the_same_hint_for_the_old_table(tmp_path: Path) -> None:
    # A plugin author's test written against the old table learns the new key, as the
    # streamer's config file would, instead of a bare "twitch: unknown key".
    with pytest.raises(ConfigError) as caught:
        make_settings(tmp_path, {"twitch": {"channel": "me", "token": TOKEN}})
    assert str(caught.value) == (
        "test settings: [twitch] moved to [plugins.twitch]: write twitch.token as "
        "plugins.twitch.token (env LIMELIGHT_PLUGINS__TWITCH__TOKEN)"
    )
    with pytest.raises(ConfigError) as caught:
        make_settings(tmp_path, environ={"LIMELIGHT_TWITCH__CHANNEL": "me"})
    assert str(caught.value) == (
        "environment variable LIMELIGHT_TWITCH__CHANNEL: [twitch] moved to "
        "[plugins.twitch]: write twitch.channel as plugins.twitch.channel "
        "(env LIMELIGHT_PLUGINS__TWITCH__CHANNEL)"
    )
    assert TOKEN not in str(caught.value)


def test_the_new_table_and_its_environment_variable_reach_the_plugin(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('[plugins.twitch]\nenabled = true\nchannel = "me"\n', encoding="utf-8")
    settings = load_settings(cfg, environ={"LIMELIGHT_PLUGINS__TWITCH__TOKEN": TOKEN})
    host = build_host(settings, {"twitch": TwitchPlugin}, entry_points=False)
    config = host.plugin("twitch").config
    assert isinstance(config, TwitchConfig)
    assert (config.enabled, config.channel, config.token) == (True, "me", TOKEN)
    assert config.send_via == "helix"  # the fine-tuning keys share the table
    assert TOKEN in settings.secrets()


def test_the_token_is_redacted_from_logs(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, {"plugins": {"twitch": {"token": TOKEN}}})
    record = logging.LogRecord("t", logging.ERROR, __file__, 1, "login as %s", (TOKEN,), None)
    RedactSecrets(settings.secrets()).filter(record)
    assert record.getMessage() == "login as ***"


def test_a_bad_token_value_is_not_echoed_in_the_plugin_error(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, {"plugins": {"twitch": {"token": 12345678901}}})
    host = build_host(settings, {"twitch": TwitchPlugin}, entry_points=False)
    info = host.info["twitch"]
    assert not info.enabled
    assert "plugins.twitch.token" in info.reason and "12345678901" not in info.reason


async def test_healthz_never_shows_the_token(limelight, fake_twitch: FakeTwitch) -> None:
    h = await limelight(
        plugins={"twitch": TwitchPlugin},
        config={"plugins": {"twitch": {**fake_twitch.config(), "eventsub": False}}},
    )
    conn = h.services.chat.connectors["twitch"]
    await wait_until(lambda: conn.joined)
    text = await (await h.client.get("/healthz")).text()
    assert '"twitch"' in text and fake_twitch.token not in text


async def test_enabled_without_credentials_fails_the_connector_saying_why(limelight) -> None:
    h = await limelight(
        plugins={"twitch": TwitchPlugin}, config={"plugins": {"twitch": {"enabled": True}}}
    )
    assert "twitch" not in h.services.chat.connectors
    reason = h.services.chat.failed["twitch"]
    assert "plugins.twitch.channel" in reason and "plugins.twitch.token" in reason


def _example_table(name: str) -> dict[str, object]:
    """The commented-out ``# [plugins.<name>]`` block of config.example.toml, parsed."""
    lines = resources.example_config().read_text(encoding="utf-8").splitlines()
    start = lines.index(f"# [plugins.{name}]") + 1
    body = []
    for line in lines[start:]:
        if not line.startswith("# ") or line.startswith("# ["):
            break
        if not line.startswith("# #"):
            body.append(line[2:])
    return tomllib.loads("\n".join(body))


@pytest.mark.parametrize(("name", "model"), [("twitch", TwitchConfig), ("console", ConsoleConfig)])
def test_the_example_documents_every_key_with_its_default(name: str, model: type) -> None:
    example = _example_table(name)
    defaults = model().model_dump(mode="json")
    assert example == defaults
