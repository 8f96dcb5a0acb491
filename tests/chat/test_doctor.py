"""``limelight doctor`` for chat: the core's ``[chat]`` checks, and the Twitch plugin's own
doctor check (a ``DoctorCheck`` it registers) against the fake Twitch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from limelight.chat.doctor import check_chat
from limelight.plugins import PluginHost
from limelight.testing import make_settings
from limelight.web.app import build_host
from limelight_twitch import TwitchPlugin

from tests.support import free_port

from .fake_twitch import FakeTwitch


def twitch_host(tmp_path: Path, table: dict[str, Any]) -> PluginHost:
    """A host with only the Twitch plugin, configured but not started (as doctor runs)."""
    settings = make_settings(tmp_path, {"plugins": {"twitch": table}})
    return build_host(settings, {"twitch": TwitchPlugin}, entry_points=False)


async def twitch_problems(host: PluginHost) -> list[str]:
    [(owner, title, problems)] = await host.doctor()
    assert owner == "twitch" and "Twitch" in title
    return problems


async def test_twitch_login_and_token_are_checked(tmp_path, fake_twitch: FakeTwitch):
    host = twitch_host(tmp_path, fake_twitch.config())
    assert await twitch_problems(host) == []
    assert fake_twitch.irc_received[:3] == [
        "CAP REQ :twitch.tv/tags twitch.tv/commands twitch.tv/membership",
        f"PASS oauth:{fake_twitch.token}",
        f"NICK {fake_twitch.bot}",
    ]


async def test_bad_token_is_reported_without_the_token(tmp_path, fake_twitch: FakeTwitch):
    host = twitch_host(tmp_path, fake_twitch.config(token="nope-not-valid"))
    problems = await twitch_problems(host)
    assert len(problems) == 2
    irc, helix = problems
    assert "login refused: Login authentication failed" in irc
    assert "plugins.twitch.token" in irc
    assert "Helix 401: Invalid OAuth token" in helix
    assert "nope-not-valid" not in " ".join(problems)


async def test_missing_keys_are_named(tmp_path):
    host = twitch_host(tmp_path, {"enabled": True, "channel": "x"})
    assert await twitch_problems(host) == [
        "[plugins.twitch] is enabled but plugins.twitch.bot_username, plugins.twitch.token, "
        "plugins.twitch.client_id are empty"
    ]


async def test_unreachable_twitch(tmp_path):
    port = free_port()
    host = twitch_host(
        tmp_path,
        {
            "enabled": True,
            "channel": "c",
            "bot_username": "b",
            "token": "t",
            "client_id": "i",
            "irc_url": f"ws://127.0.0.1:{port}/irc",
            "api_url": f"http://127.0.0.1:{port}/helix",
        },
    )
    problems = await twitch_problems(host)
    assert len(problems) == 2 and all("cannot reach" in p for p in problems)


async def test_no_twitch_check_while_twitch_is_off(tmp_path):
    host = twitch_host(tmp_path, {})
    assert host.info["twitch"].enabled
    assert await host.doctor() == []


async def test_chat_commands_config_is_checked(tmp_path, capsys: pytest.CaptureFixture[str]):
    settings = make_settings(
        tmp_path,
        {"chat": {"commands": {"help": "mine", "ok": {"text": "fine", "aliases": ["bad alias"]}}}},
    )
    assert await check_chat(settings) == 2
    out = capsys.readouterr().out
    assert "!help is already taken" in out and "'bad alias' is not a valid" in out
    settings = make_settings(tmp_path, {"chat": {"commands": {"discord": "Join us!"}}})
    assert await check_chat(settings) == 0
    assert "chat: ok    1 text command, 0 timers" in capsys.readouterr().out
