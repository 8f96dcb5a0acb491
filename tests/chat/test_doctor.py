"""``limelight doctor``'s chat checks, against the fake Twitch."""

from __future__ import annotations

from limelight import cli
from limelight.chat.doctor import check_chat
from limelight.testing import make_settings


async def test_doctor_check_is_registered():
    assert check_chat in cli.DOCTOR_CHECKS


async def test_twitch_login_and_token_are_checked(tmp_path, fake_twitch, capsys):
    settings = make_settings(tmp_path, {"twitch": fake_twitch.config()})
    assert await check_chat(settings) == 0
    out = capsys.readouterr().out
    assert "twitch irc: ok" in out and "logged in as limebot" in out
    assert "twitch helix: ok" in out and "channel id 1001" in out
    assert fake_twitch.token not in out


async def test_bad_token_and_missing_keys_are_reported(tmp_path, fake_twitch, capsys):
    settings = make_settings(tmp_path, {"twitch": fake_twitch.config(token="nope")})
    assert await check_chat(settings) == 2
    out = capsys.readouterr().out
    assert "login refused: Login authentication failed" in out
    assert "Helix 401: Invalid OAuth token" in out
    settings = make_settings(tmp_path, {"twitch": {"enabled": True, "channel": "x"}})
    assert await check_chat(settings) == 1
    assert "twitch.bot_username, twitch.token, twitch.client_id is empty" in capsys.readouterr().out


async def test_unreachable_twitch(tmp_path, capsys):
    from tests.support import free_port

    port = free_port()
    settings = make_settings(
        tmp_path,
        {
            "twitch": {
                "enabled": True,
                "channel": "c",
                "bot_username": "b",
                "token": "t",
                "client_id": "i",
                "irc_url": f"ws://127.0.0.1:{port}/irc",
                "api_url": f"http://127.0.0.1:{port}/helix",
            }
        },
    )
    assert await check_chat(settings) == 2
    out = capsys.readouterr().out
    assert out.count("cannot reach") == 2


async def test_chat_commands_config_is_checked(tmp_path, capsys):
    settings = make_settings(
        tmp_path,
        {"chat": {"commands": {"help": "mine", "ok": {"text": "fine", "aliases": ["bad alias"]}}}},
    )
    assert await check_chat(settings) == 2
    out = capsys.readouterr().out
    assert "!help is already taken" in out and "'bad alias' is not a valid" in out
    assert "twitch: off" in out
