"""Against real OBS Studio (Debian's obs-studio with obs-websocket 5) under Xvfb.

One OBS serves the whole session (see ``real_obs`` in conftest.py); the crash test kills
it and starts it again, so it runs last in this module.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from limelight.obs.errors import ObsRequestError
from limelight.testing import Recorder, make_tip

from ..support import wait_until
from .conftest import obs_config
from .fake_rtmp import FakeRtmp
from .real_obs import RealObs

pytestmark = pytest.mark.obs


def config_for(obs: RealObs, password: str | None = None, **extra: Any) -> dict[str, Any]:
    return obs_config(obs.port, password=password or obs.password, **extra)


def scene_log(h: Any) -> list[str]:
    seen: list[str] = []
    h.services.obs.add_listener(
        lambda conn, etype, data: (
            seen.append(data["sceneName"]) if etype == "CurrentProgramSceneChanged" else None
        )
    )
    return seen


async def connected(h: Any) -> None:
    await wait_until(lambda: h.services.obs.is_connected(), timeout=15)


async def test_connects_with_the_password(limelight, obs_studio):
    h = await limelight(config=config_for(obs_studio))
    await connected(h)
    status = h.services.obs.status()
    assert status["status"] == "connected"
    main = status["connections"]["main"]
    assert main["obs_version"].startswith("29.")
    assert main["websocket_version"].startswith("5.")
    assert main["scene"] == "Scene"
    health = await (await h.client.get("/healthz")).text()
    assert obs_studio.password not in health


async def test_wrong_password_gives_auth_failed(limelight, obs_studio):
    h = await limelight(config=config_for(obs_studio, password="definitely-wrong"))
    await wait_until(lambda: h.services.obs.status()["status"] == "auth_failed", timeout=15)
    assert "refused the password" in h.services.obs.status()["error"]


async def test_a_big_tip_switches_the_scene_and_back(limelight, obs_studio):
    rule = {
        "on": "tip",
        "min_amount": "10.00",
        "currency": "USD",
        "action": "switch_scene",
        "scene": "Big Tip",
        "duration": 1.5,
    }
    h = await limelight(config=config_for(obs_studio, rules=[rule]))
    await connected(h)
    seen = scene_log(h)
    await h.publish(make_tip("2.00"))
    await h.publish(make_tip("25.00"))
    await wait_until(lambda: seen == ["Big Tip", "Scene"], timeout=10)
    assert obs_studio.program_scene() == "Scene"


async def test_a_source_is_shown_and_hidden(limelight, obs_studio):
    h = await limelight(config=config_for(obs_studio))
    await connected(h)
    obs = h.services.obs
    assert obs_studio.item_enabled("Scene", "Box")
    hide = await obs.hide_source("Box", scene="Scene", duration=0.5)
    await hide.applied()
    assert not obs_studio.item_enabled("Scene", "Box")
    await hide.finished()
    assert obs_studio.item_enabled("Scene", "Box")
    await (await obs.hide_source("Box")).finished()  # in the program scene, for good
    assert not obs_studio.item_enabled("Scene", "Box")
    show = await obs.show_source("Box", scene="Scene", duration=0.5)
    await show.applied()
    assert obs_studio.item_enabled("Scene", "Box")
    await show.finished()
    assert not obs_studio.item_enabled("Scene", "Box")


async def test_a_text_source_is_set(limelight, obs_studio):
    rule = {
        "on": "tip",
        "action": "set_text",
        "source": "Label",
        "text": "Last tip: {viewer} {amount} {currency}",
    }
    h = await limelight(config=config_for(obs_studio, rules=[rule]))
    await connected(h)
    await (await h.services.obs.set_text("Label", "Thanks, Alice!")).applied()
    assert obs_studio.input_settings("Label")["text"] == "Thanks, Alice!"
    await h.publish(make_tip("7.50", "EUR", "Bob"))
    await wait_until(
        lambda: obs_studio.input_settings("Label")["text"] == "Last tip: Bob 7.50 EUR", timeout=10
    )


async def test_obs_refusals_keep_its_status_code_and_message(limelight, obs_studio):
    h = await limelight(config=config_for(obs_studio))
    await connected(h)
    handle = await h.services.obs.switch_scene("No Such Scene")
    with pytest.raises(ObsRequestError) as info:
        await handle.applied()
    assert info.value.code == 600
    assert "No Such Scene" in info.value.comment


async def test_going_live_and_stopping_in_obs_become_stream_online_and_offline(
    limelight, obs_studio
):
    recorder = Recorder()
    h = await limelight(plugins={"rec": recorder}, config=config_for(obs_studio))
    await connected(h)
    rtmp = FakeRtmp()
    try:
        await asyncio.to_thread(obs_studio.go_live, rtmp.url)
        await wait_until(lambda: recorder.of_type("stream.online"), timeout=15)
        assert h.services.obs.is_streaming() is True
        assert recorder.of_type("stream.online")[0].source == "obs"
        await asyncio.to_thread(obs_studio.request, "StopStream")
        await wait_until(lambda: recorder.of_type("stream.offline"), timeout=15)
        assert h.services.obs.is_streaming() is False
        assert rtmp.publishes == 1
    finally:
        rtmp.close()


def test_obs_setup_on_a_browserless_obs_refuses_and_changes_nothing(obs_studio, tmp_path: Path):
    config = tmp_path / "config.toml"
    config.write_text(
        '[security]\nadmin_token = "a-admin-token"\noverlay_token = "an-overlay-token"\n'
        f'[database]\nurl = "sqlite://{tmp_path}/db.sqlite3"\n'
        f'[obs]\nenabled = true\nport = {obs_studio.port}\npassword = "{obs_studio.password}"\n',
        encoding="utf-8",
    )
    kinds = obs_studio.request("GetInputKindList")["responseData"]["inputKinds"]
    assert "browser_source" not in kinds  # Debian's build: no CEF
    before = obs_studio.snapshot()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIMELIGHT_")}
    result = subprocess.run(
        [sys.executable, "-m", "limelight.cli", "obs", "setup", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode != 0
    assert "no Browser source" in result.stderr
    assert "Flatpak" in result.stderr and "Nothing was changed in OBS" in result.stderr
    assert obs_studio.snapshot() == before
    assert "Limelight" not in before["scenes"]


async def test_obs_killed_mid_stream_then_restarted(limelight, obs_studio):
    """OBS is live and tips keep arriving when it dies; it comes back: Limelight never
    stops, reconnects with its event subscription renewed, and reports the stream that
    ended with the crash."""
    rule = {
        "on": "tip",
        "min_amount": "10.00",
        "currency": "USD",
        "action": "switch_scene",
        "scene": "Big Tip",
        "duration": 1.5,
    }
    recorder = Recorder()
    h = await limelight(plugins={"rec": recorder}, config=config_for(obs_studio, rules=[rule]))
    await connected(h)
    rtmp = FakeRtmp()
    await asyncio.to_thread(obs_studio.go_live, rtmp.url)
    await wait_until(lambda: h.services.obs.is_streaming(), timeout=15)
    obs = h.services.obs
    answers: list[int] = []
    stop = asyncio.Event()

    async def keep_tipping() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            status, _ = await h.post_event(
                {
                    "type": "tip",
                    "source": "api",
                    "source_id": f"flow-{n}",
                    "viewer": {"platform": "twitch", "id": "9", "name": "Flo"},
                    "data": {"amount": "1.00", "currency": "USD"},
                },
                settle=False,
            )
            answers.append(status)
            await asyncio.sleep(0.02)

    flow = asyncio.create_task(keep_tipping())
    try:
        await wait_until(lambda: len(answers) >= 5, timeout=10)
        obs_studio.kill()
        await wait_until(
            lambda: obs.status()["status"] in ("connecting", "unreachable"), timeout=10
        )
        count = len(answers)
        await wait_until(lambda: len(answers) >= count + 10, timeout=10)
        assert (await h.client.get("/healthz")).status == 200
        await wait_until(lambda: obs.status()["status"] == "unreachable", timeout=10)
        await asyncio.to_thread(obs_studio.start)
        # Reconnected within 5 s of OBS being back (its handshake answered).
        await wait_until(lambda: obs.is_connected(), timeout=5)
        await asyncio.to_thread(obs_studio.reset_scenes)
        seen = scene_log(h)
        await h.publish(make_tip("15.00"), settle=False)
        await wait_until(lambda: seen[-2:] == ["Big Tip", "Scene"], timeout=10)
        await wait_until(lambda: recorder.of_type("stream.offline"), timeout=10)
        assert obs.is_streaming() is False
    finally:
        stop.set()
        await flow
        rtmp.close()
    assert answers and set(answers) == {201}
    assert obs.connection().connects >= 2
