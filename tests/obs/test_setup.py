"""``limelight obs setup`` and the doctor check, against the obs-websocket 5 fake."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from limelight import Overlay, cli
from limelight.obs.commands import doctor_check, overlay_source_name, run_setup, text_kind
from limelight.testing import OVERLAY_TOKEN, make_settings
from limelight.web.app import build_host

from ..support import free_port
from .conftest import FAKE_PASSWORD, obs_config
from .fake_obs import LINUX_KINDS, FakeObs

OVERLAYS = [
    Overlay("alerts", "alerts.html", width=1920, height=1080, title="Alerts"),
    Overlay("goal", "goal.html", width=1000, height=160, title="Goal"),
]
CHANGING = {
    "CreateScene",
    "CreateInput",
    "SetInputSettings",
    "CreateSceneItem",
    "RemoveInput",
    "SetCurrentProgramScene",
    "SetSceneItemEnabled",
    "RemoveSceneItem",
}


def setup(settings: Any, overlays: list[Overlay] = OVERLAYS, **kwargs: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_setup(settings, overlays, out=out, err=err, **kwargs)
    return code, out.getvalue(), err.getvalue()


def changes(fake: FakeObs, since: int = 0) -> list[str]:
    return [t for t in fake.request_types()[since:] if t in CHANGING]


@pytest.fixture
def settings(tmp_path: Path, fake_obs: FakeObs) -> Any:
    return make_settings(
        tmp_path, {**obs_config(fake_obs.port), "server": {"public_url": "http://stream-pc:8600"}}
    )


def test_setup_creates_the_scene_and_a_browser_source_per_overlay(settings, fake_obs):
    code, out, err = setup(settings)
    assert code == 0, err
    state = fake_obs.snapshot()
    assert [i["sourceName"] for i in state["scenes"]["Limelight"]] == [
        "Limelight alerts",
        "Limelight goal",
    ]
    alerts = state["inputs"]["Limelight alerts"]
    assert alerts == {
        "inputKind": "browser_source",
        "inputSettings": {
            "url": f"http://stream-pc:8600/overlays/alerts?token={OVERLAY_TOKEN}",
            "width": 1920,
            "height": 1080,
        },
    }
    goal = state["inputs"]["Limelight goal"]["inputSettings"]
    assert (goal["width"], goal["height"]) == (1000, 160)
    assert goal["url"].endswith(f"/overlays/goal?token={OVERLAY_TOKEN}")
    assert "created scene 'Limelight'" in out
    assert OVERLAY_TOKEN not in out  # the token is in OBS, not on the terminal
    assert "done: 3 changes in OBS" in out


def test_setup_twice_changes_nothing_the_second_time(settings, fake_obs):
    assert setup(settings)[0] == 0
    before, mark = fake_obs.snapshot(), len(fake_obs.requests)
    code, out, _ = setup(settings)
    assert code == 0
    assert "nothing to change" in out
    assert changes(fake_obs, mark) == []
    assert fake_obs.snapshot() == before


def test_setup_repairs_a_changed_token_and_a_removed_item(settings, fake_obs, tmp_path):
    assert setup(settings)[0] == 0
    with fake_obs.lock:
        fake_obs.scenes["Limelight"] = [
            i for i in fake_obs.scenes["Limelight"] if i["sourceName"] != "Limelight goal"
        ]
    settings.security.overlay_token = "rotated-token"
    mark = len(fake_obs.requests)
    code, out, _ = setup(settings)
    assert code == 0
    assert sorted(changes(fake_obs, mark)) == [
        "CreateSceneItem",
        "SetInputSettings",
        "SetInputSettings",
    ]
    state = fake_obs.snapshot()
    assert state["inputs"]["Limelight goal"]["inputSettings"]["url"].endswith("token=rotated-token")
    assert "Limelight goal" in [i["sourceName"] for i in state["scenes"]["Limelight"]]
    assert "updated 'Limelight alerts': url" in out


def test_setup_uses_the_given_scene_and_adds_text_sources_of_the_platform_kind(settings, fake_obs):
    code, _, err = setup(settings, scene="Stream", texts=["Charity Total"])
    assert code == 0, err
    state = fake_obs.snapshot()
    assert state["inputs"]["Charity Total"]["inputKind"] == "text_ft2_source_v2"
    assert {i["sourceName"] for i in state["scenes"]["Stream"]} == {
        "Limelight alerts",
        "Limelight goal",
        "Charity Total",
    }
    assert "Limelight" not in state["scenes"]


def test_setup_on_windows_obs_uses_gdiplus_text(tmp_path):
    kinds = [
        "image_source",
        "color_source_v3",
        "text_gdiplus_v2",
        "text_gdiplus_v3",
        "browser_source",
        "ffmpeg_source",
    ]
    with FakeObs(FAKE_PASSWORD, kinds=kinds) as fake:
        settings = make_settings(tmp_path, obs_config(fake.port))
        code, _, err = setup(settings, texts=["Total"])
        assert code == 0, err
        assert fake.snapshot()["inputs"]["Total"]["inputKind"] == "text_gdiplus_v3"


def test_text_kind_prefers_what_the_platform_has():
    assert text_kind(LINUX_KINDS) == "text_ft2_source_v2"
    assert text_kind(["text_gdiplus_v2", "text_ft2_source_v2"]) == "text_gdiplus_v2"
    assert text_kind(["image_source"]) is None


def test_setup_refuses_plainly_on_an_obs_without_browser_source(tmp_path):
    with FakeObs(FAKE_PASSWORD, browser=False) as fake:
        settings = make_settings(tmp_path, obs_config(fake.port))
        before = fake.snapshot()
        code, out, err = setup(settings, texts=["Total"])
        assert code != 0
        assert "no Browser source" in err
        assert "Flatpak" in err and "obsproject.com" in err
        assert "Nothing was changed in OBS" in err
        assert changes(fake) == []
        assert fake.snapshot() == before
        assert out == ""


def test_setup_refuses_a_name_clash_without_changing_anything(settings, fake_obs):
    fake_obs.add_input("Scene", "Limelight goal", "image_source")
    before = fake_obs.snapshot()
    code, _, err = setup(settings)
    assert code != 0
    assert "'Limelight goal' exists but is a image_source" in err
    assert changes(fake_obs) == []
    assert fake_obs.snapshot() == before


def test_setup_says_what_is_wrong_when_obs_cannot_be_reached(tmp_path, fake_obs):
    settings = make_settings(tmp_path, obs_config(free_port()))
    code, _, err = setup(settings)
    assert code != 0 and "connection refused" in err
    settings = make_settings(tmp_path, obs_config(fake_obs.port, password="wrong"))
    code, _, err = setup(settings)
    assert code != 0 and "refused the password" in err
    assert "wrong" not in err.replace("refused", "")
    code, _, err = setup(settings, connection="nope")
    assert code == 2 and "no OBS connection named 'nope'" in err


def test_setup_with_obs_disabled_says_so_instead_of_asking_whether_obs_runs(tmp_path):
    config = obs_config(free_port())
    config["obs"]["enabled"] = False
    code, _, err = setup(make_settings(tmp_path, config))
    assert code != 0
    assert "OBS is disabled in the config ([obs] enabled = false)" in err
    assert "is OBS running" not in err
    assert "Nothing was changed in OBS" in err


def test_setup_needs_an_overlay_token(settings, fake_obs):
    settings.security.overlay_token = ""
    code, _, err = setup(settings)
    assert code != 0 and "overlay_token is empty" in err
    assert changes(fake_obs) == []


def test_obs_setup_command_end_to_end(tmp_path, fake_obs, capsys):
    config = tmp_path / "config.toml"
    config.write_text(
        '[security]\nadmin_token = "a-admin-token"\noverlay_token = "an-overlay-token"\n'
        f'[database]\nurl = "sqlite://{tmp_path}/db.sqlite3"\n'
        f'[obs]\nenabled = true\nport = {fake_obs.port}\npassword = "{FAKE_PASSWORD}"\n',
        encoding="utf-8",
    )
    code = cli.main(
        ["obs", "setup", "--config", str(config), "--scene", "Stream", "--text", "Total"]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    overlays = build_host(cli.load_settings(config)).overlays.values()
    state = fake_obs.snapshot()
    for overlay in overlays:
        source = state["inputs"][overlay_source_name(overlay)]["inputSettings"]
        assert source["url"] == (
            f"http://127.0.0.1:8600/overlays/{overlay.name}?token=an-overlay-token"
        )
        assert (source["width"], source["height"]) == (overlay.width, overlay.height)
    assert len(state["scenes"]["Stream"]) == len(overlays) + 1
    assert (
        cli.main(["obs", "setup", "--config", str(config), "--scene", "Stream", "--text", "Total"])
        == 0
    )
    assert "nothing to change" in capsys.readouterr().out


# -- doctor --------------------------------------------------------------------------------------


async def test_doctor_check_reports_each_connection(tmp_path, fake_obs, capsys):
    ok = make_settings(tmp_path, obs_config(fake_obs.port))
    assert await doctor_check(ok) == 0
    assert "obs: ok    OBS 29.0.2 (obs-websocket 5.1.0)" in capsys.readouterr().out
    bad = make_settings(
        tmp_path,
        obs_config(
            fake_obs.port,
            password="nope-nope",
            connections=[{"name": "booth", "port": free_port(), "timeout": 1}],
        ),
    )
    assert await doctor_check(bad) == 2
    out = capsys.readouterr().out
    assert "obs: FAIL  OBS at 127.0.0.1" in out and "refused the password" in out
    assert "obs booth: FAIL  connection refused" in out
    assert "nope-nope" not in out
    assert await doctor_check(make_settings(tmp_path)) == 0
    assert "obs: off" in capsys.readouterr().out


async def test_doctor_notes_a_browser_less_obs(tmp_path, capsys):
    with FakeObs(FAKE_PASSWORD, browser=False) as fake:
        assert await doctor_check(make_settings(tmp_path, obs_config(fake.port))) == 0
    assert "no Browser source" in capsys.readouterr().out


def test_limelight_doctor_includes_the_obs_check(tmp_path, fake_obs, capsys):
    config = tmp_path / "config.toml"
    config.write_text(
        f'[obs]\nenabled = true\nport = {fake_obs.port}\npassword = "wrong-password"\n',
        encoding="utf-8",
    )
    assert cli.main(["doctor", "--config", str(config)]) != 0
    out = capsys.readouterr().out
    assert "obs: FAIL" in out and "refused the password" in out
    assert "wrong-password" not in out
