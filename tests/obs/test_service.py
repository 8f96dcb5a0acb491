"""The OBS service against the protocol fake: lifecycle, actions, queue, policy, events."""

from __future__ import annotations

import logging
from typing import Any

import obsws_python
import pytest
from limelight import hookimpl
from limelight.events import Event, event_type_name
from limelight.obs.errors import ObsActionDropped, ObsError, ObsRequestError, ObsUnavailable
from limelight.testing import Recorder, make_tip

from ..support import free_port, wait_until
from .conftest import FAKE_PASSWORD, obs_config
from .fake_obs import FakeObs


async def connected(h: Any, name: str = "main") -> None:
    await wait_until(lambda: h.services.obs.is_connected(name), timeout=10)


# -- lifecycle -------------------------------------------------------------------------------


async def test_connects_and_status_shows_everywhere_without_the_password(limelight, fake_obs):
    h = await limelight(config=obs_config(fake_obs.port))
    await connected(h)
    status = h.services.obs.status()
    assert status["status"] == "connected"
    assert status["error"] is None
    main = status["connections"]["main"]
    assert main["scene"] == "Scene"
    assert main["obs_version"] == "29.0.2" and main["websocket_version"] == "5.1.0"
    response = await h.client.get("/healthz")
    body = await response.text()
    assert (await response.json())["obs"]["status"] == "connected"
    assert FAKE_PASSWORD not in body
    page = await h.client.get("/admin/", headers=h.admin_headers)
    assert page.status == 200
    html = await page.text()
    assert (
        '<dt>OBS</dt><dd id="status-obs" class="state-ok"><span class="status-dot"></span>'
        "connected</dd>" in html.replace("\n", "")
    )
    assert FAKE_PASSWORD not in html


async def test_wrong_password_gives_auth_failed_and_a_clear_error(limelight, fake_obs, caplog):
    caplog.set_level(logging.DEBUG)
    h = await limelight(config=obs_config(fake_obs.port, password="not-the-password"))
    await wait_until(lambda: h.services.obs.status()["status"] == "auth_failed", timeout=10)
    status = h.services.obs.status()
    assert "refused the password" in status["error"]
    assert fake_obs.auth_failures >= 1
    health = await (await h.client.get("/healthz")).text()
    assert "not-the-password" not in health and "not-the-password" not in caplog.text
    page = await (await h.client.get("/admin/", headers=h.admin_headers)).text()
    assert 'id="status-obs" class="state-bad"' in page
    assert "auth failed — OBS at 127.0.0.1" in page and "not-the-password" not in page
    # The server keeps serving.
    status_code, _ = await h.post_event(
        {
            "type": "tip",
            "source": "api",
            "source_id": "t1",
            "data": {"amount": "5.00", "currency": "USD"},
        }
    )
    assert status_code == 201


async def test_obs_password_missing_in_config_is_auth_failed(limelight, fake_obs):
    h = await limelight(config=obs_config(fake_obs.port, password=""))
    await wait_until(lambda: h.services.obs.status()["status"] == "auth_failed", timeout=10)
    assert "obs.password is empty" in h.services.obs.status()["error"]


async def test_obs_absent_at_start_then_started_later_connects(limelight):
    port = free_port()
    h = await limelight(config=obs_config(port))
    await wait_until(lambda: h.services.obs.status()["status"] == "unreachable", timeout=10)
    assert "connection refused" in h.services.obs.status()["error"]
    assert (await h.client.get("/healthz")).status == 200
    with FakeObs(FAKE_PASSWORD, port=port):
        # Within 5 s of OBS coming back (the backoff is capped at 2 s).
        await wait_until(lambda: h.services.obs.is_connected(), timeout=5)


async def test_disabled_service_reports_disabled_and_drops_actions(limelight):
    h = await limelight()
    obs = h.services.obs
    assert obs.status() == {"status": "disabled", "error": None, "connections": {}}
    handle = await obs.switch_scene("Big Tip", duration=3)
    assert handle.status == "dropped"
    with pytest.raises(ObsActionDropped, match="disabled"):
        await handle.applied()
    with pytest.raises(ObsError, match="no OBS connection named 'nope'"):
        await obs.set_text("x", "y", connection="nope")


async def test_obsws_logger_is_kept_at_warning_and_no_password_is_logged(
    limelight, fake_obs, caplog
):
    caplog.set_level(logging.DEBUG)
    h = await limelight(config=obs_config(fake_obs.port))
    await connected(h)
    await (await h.services.obs.set_text("Total", "1.00")).applied()
    assert logging.getLogger("obsws_python").level == logging.WARNING
    assert FAKE_PASSWORD not in caplog.text
    assert "connected at 127.0.0.1" in caplog.text


# -- actions -----------------------------------------------------------------------------------


async def test_rule_switches_scene_for_a_big_tip_and_back(limelight, fake_obs):
    rule = {
        "on": "tip",
        "min_amount": "10.00",
        "currency": "USD",
        "action": "switch_scene",
        "scene": "Big Tip",
        "duration": 0.3,
    }
    h = await limelight(config=obs_config(fake_obs.port, rules=[rule]))
    await connected(h)
    seen: list[str] = []
    h.services.obs.add_listener(
        lambda conn, etype, data: (
            seen.append(data["sceneName"]) if etype == "CurrentProgramSceneChanged" else None
        )
    )
    await h.publish(make_tip("9.99", "USD"))
    await h.publish(make_tip("50.00", "EUR"))
    await h.publish(make_tip("10.00", "USD"))
    await wait_until(lambda: seen == ["Big Tip", "Scene"], timeout=5)
    assert fake_obs.program == "Scene"
    assert fake_obs.request_types().count("SetCurrentProgramScene") == 2
    assert h.services.obs.status()["rules_fired"] == 1


async def test_two_alerts_never_fight_over_the_scene(limelight, fake_obs):
    h = await limelight(config=obs_config(fake_obs.port))
    await connected(h)
    obs = h.services.obs
    seen: list[str] = []
    obs.add_listener(
        lambda c, t, d: seen.append(d["sceneName"]) if t == "CurrentProgramSceneChanged" else None
    )
    first = await obs.switch_scene("Big Tip", duration=0.3)
    second = await obs.switch_scene("Other", duration=0.3)
    # A text update does not wait for the scene lane.
    text = await obs.set_text("Total", "42.00")
    await text.applied()
    assert first.status in ("running", "holding") and second.status == "queued"
    await second.finished()
    # OBS's events trail the answers to the requests that caused them.
    await wait_until(lambda: seen == ["Big Tip", "Scene", "Other", "Scene"], timeout=5)
    assert first.status == second.status == "done"


async def test_switch_back_is_skipped_when_the_streamer_moved_on(limelight, fake_obs):
    h = await limelight(config=obs_config(fake_obs.port))
    await connected(h)
    handle = await h.services.obs.switch_scene("Big Tip", duration=0.5)
    await handle.applied()
    other = obsws_python.ReqClient(
        host="127.0.0.1", port=fake_obs.port, password=FAKE_PASSWORD, timeout=2
    )
    try:
        other.base_client.req("SetCurrentProgramScene", {"sceneName": "Other"})
    finally:
        other.disconnect()
    await handle.finished()
    assert fake_obs.program == "Other"


async def test_show_a_hidden_source_for_a_while(limelight, fake_obs):
    h = await limelight(config=obs_config(fake_obs.port))
    await connected(h)
    assert not fake_obs.item_enabled("Scene", "Merch Drop")
    handle = await h.services.obs.show_source("Merch Drop", duration=0.3)
    await handle.applied()
    assert fake_obs.item_enabled("Scene", "Merch Drop")
    await handle.finished()
    assert not fake_obs.item_enabled("Scene", "Merch Drop")


async def test_hide_source_for_good_and_in_a_named_scene(limelight, fake_obs):
    h = await limelight(config=obs_config(fake_obs.port))
    await connected(h)
    await (await h.services.obs.hide_source("Total", scene="Scene")).finished()
    assert not fake_obs.item_enabled("Scene", "Total")


async def test_text_settings_media_and_filters(limelight, fake_obs):
    h = await limelight(config=obs_config(fake_obs.port))
    await connected(h)
    obs = h.services.obs
    await (await obs.set_text("Total", "1,234.00 USD")).applied()
    await (await obs.set_source_settings("Goal Page", {"url": "http://new.invalid/"})).applied()
    await (await obs.restart_media("Alert Video")).applied()
    await (await obs.enable_filter("Total", "Glow")).applied()
    state = fake_obs.snapshot()
    assert state["inputs"]["Total"]["inputSettings"]["text"] == "1,234.00 USD"
    goal = state["inputs"]["Goal Page"]["inputSettings"]
    assert goal == {"url": "http://new.invalid/", "width": 800, "height": 600}
    assert fake_obs.media_restarts == ["Alert Video"]
    assert state["filters"]["Total/Glow"]["filterEnabled"] is True
    await (await obs.disable_filter("Total", "Glow")).applied()
    assert fake_obs.snapshot()["filters"]["Total/Glow"]["filterEnabled"] is False


async def test_failed_action_is_logged_with_obs_status_code_and_message(
    limelight, fake_obs, caplog
):
    h = await limelight(config=obs_config(fake_obs.port))
    await connected(h)
    caplog.set_level(logging.WARNING, logger="limelight.obs")
    handle = await h.services.obs.switch_scene("No Such Scene", duration=1)
    with pytest.raises(ObsRequestError) as info:
        await handle.applied()
    assert info.value.code == 600
    assert handle.status == "failed"
    assert "OBS status 600 (ResourceNotFound)" in caplog.text
    assert "No source was found by the name of `No Such Scene`" in caplog.text
    assert "switch to scene 'No Such Scene'" in caplog.text
    assert h.services.obs.status()["connections"]["main"]["actions"]["failed"] == 1
    # The connection stays up: a refusal is not a network problem.
    assert h.services.obs.is_connected()


async def test_a_request_that_times_out_drops_the_connection_and_is_retried(
    limelight, fake_obs, caplog
):
    caplog.set_level(logging.WARNING, logger="limelight.obs")
    h = await limelight(config=obs_config(fake_obs.port, timeout=0.5))
    await connected(h)
    conn = h.services.obs.connection()
    fake_obs.hang.add("SetInputSettings")
    handle = await h.services.obs.set_text("Total", "after timeout")
    await wait_until(lambda: conn.connects >= 2, timeout=10)
    assert "did not answer SetInputSettings within 0.5 s" in caplog.text
    fake_obs.hang.clear()
    await handle.applied()
    assert fake_obs.snapshot()["inputs"]["Total"]["inputSettings"]["text"] == "after timeout"
    with pytest.raises(ObsUnavailable):
        fake_obs.hang.add("GetSceneList")
        await h.services.obs.request("GetSceneList")
    fake_obs.hang.clear()


async def test_direct_requests_for_plugins(limelight, fake_obs):
    h = await limelight(config=obs_config(fake_obs.port))
    await connected(h)
    kinds = await h.services.obs.request("GetInputKindList")
    assert "browser_source" in kinds["inputKinds"]
    with pytest.raises(ObsRequestError) as info:
        await h.services.obs.request("GetInputSettings", {"inputName": "missing"})
    assert info.value.code == 600


# -- the policy while OBS is down ---------------------------------------------------------------


async def test_while_obs_is_down_moments_expire_and_the_latest_state_is_applied(
    limelight, fake_obs
):
    h = await limelight(config=obs_config(fake_obs.port, max_delay=0.5))
    await connected(h)
    obs = h.services.obs
    fake_obs.stop()
    await wait_until(lambda: not obs.is_connected(), timeout=5)
    moment = await obs.switch_scene("Big Tip", duration=5)
    first = await obs.set_text("Total", "10.00")
    latest = await obs.set_text("Total", "25.00")
    show = await obs.show_source("Merch Drop")  # shown for good: a state
    with pytest.raises(ObsActionDropped, match=r"unavailable for 0\.5 s"):
        await moment.applied()
    with pytest.raises(ObsActionDropped, match="superseded"):
        await first.applied()
    before = len(fake_obs.requests)
    fake_obs.start()
    await latest.applied()
    await show.applied()
    sent = [d for t, d in fake_obs.requests[before:] if t == "SetInputSettings"]
    assert sent == [{"inputName": "Total", "inputSettings": {"text": "25.00"}, "overlay": True}]
    assert fake_obs.item_enabled("Scene", "Merch Drop")
    assert fake_obs.program == "Scene"  # the stale celebration never happened
    assert obs.status()["connections"]["main"]["actions"]["dropped"] == 2


async def test_a_moment_asked_during_a_short_outage_still_happens(limelight, fake_obs):
    h = await limelight(config=obs_config(fake_obs.port, max_delay=30))
    await connected(h)
    fake_obs.stop()
    await wait_until(lambda: not h.services.obs.is_connected(), timeout=5)
    handle = await h.services.obs.switch_scene("Big Tip")
    fake_obs.start()
    await handle.applied()
    assert fake_obs.program == "Big Tip"


# -- reconnecting -----------------------------------------------------------------------------


async def test_reconnects_renews_subscriptions_and_rereads_the_scene(limelight, fake_obs):
    recorder = Recorder()
    h = await limelight(plugins={"rec": recorder}, config=obs_config(fake_obs.port))
    await connected(h)
    conn = h.services.obs.connection()
    fake_obs.stop()
    await wait_until(lambda: conn.state in ("connecting", "unreachable"), timeout=5)
    assert "connection lost" in (conn.error or "") or conn.state == "unreachable"
    fake_obs.program = "Other"  # changed while we were away
    fake_obs.start()
    await wait_until(lambda: h.services.obs.is_connected(), timeout=5)
    assert h.services.obs.current_scene() == "Other"
    await wait_until(lambda: recorder.of_type("obs.scene_changed"), timeout=5)
    assert recorder.of_type("obs.scene_changed")[-1].data() == {
        "connection": "main",
        "scene": "Other",
        "previous": "Scene",
    }
    # Events flow again on the new session.
    fake_obs.add_scene("Fresh")
    other = obsws_python.ReqClient(
        host="127.0.0.1", port=fake_obs.port, password=FAKE_PASSWORD, timeout=2
    )
    try:
        other.base_client.req("SetCurrentProgramScene", {"sceneName": "Fresh"})
    finally:
        other.disconnect()
    await wait_until(lambda: h.services.obs.current_scene() == "Fresh", timeout=5)


async def test_limelight_keeps_taking_events_while_obs_comes_and_goes(limelight, fake_obs):
    rule = {
        "on": "tip",
        "min_amount": "1.00",
        "currency": "USD",
        "action": "set_text",
        "source": "Total",
        "text": "{viewer}: {amount} {currency}",
    }
    h = await limelight(config=obs_config(fake_obs.port, rules=[rule]))
    await connected(h)
    for round_ in range(3):
        fake_obs.stop()
        for i in range(5):
            status, body = await h.post_event(
                {
                    "type": "tip",
                    "source": "api",
                    "source_id": f"r{round_}-{i}",
                    "viewer": {"platform": "twitch", "id": "7", "name": "Bo"},
                    "data": {"amount": f"{round_ + 1}.0{i}", "currency": "USD"},
                }
            )
            assert status == 201, body
        fake_obs.start()
        await wait_until(lambda: h.services.obs.is_connected(), timeout=5)
    await wait_until(
        lambda: fake_obs.snapshot()["inputs"]["Total"]["inputSettings"]["text"] == "Bo: 3.04 USD",
        timeout=5,
    )


# -- OBS events for plugins ---------------------------------------------------------------------


async def test_stream_state_becomes_stream_online_and_offline(limelight, fake_obs):
    recorder = Recorder()
    h = await limelight(plugins={"rec": recorder}, config=obs_config(fake_obs.port))
    await connected(h)
    fake_obs.set_streaming(True)
    await wait_until(lambda: recorder.of_type("stream.online"), timeout=5)
    assert h.services.obs.is_streaming() is True
    fake_obs.set_streaming(False)
    await wait_until(lambda: recorder.of_type("stream.offline"), timeout=5)
    await h.settle()
    assert (
        len(recorder.of_type("stream.online")) == 1 and len(recorder.of_type("stream.offline")) == 1
    )
    assert {e.source for e in recorder.events if event_type_name(e).startswith("stream.")} == {
        "obs"
    }


async def test_stream_that_ended_while_disconnected_is_reported_offline(limelight, fake_obs):
    recorder = Recorder()
    h = await limelight(plugins={"rec": recorder}, config=obs_config(fake_obs.port))
    await connected(h)
    fake_obs.set_streaming(True)
    await wait_until(lambda: recorder.of_type("stream.online"), timeout=5)
    fake_obs.stop()
    fake_obs.streaming = False  # OBS crashed: the stream is gone
    fake_obs.start()
    await wait_until(lambda: recorder.of_type("stream.offline"), timeout=5)


async def test_program_scene_changes_reach_plugins_and_ctx_obs_works(limelight, fake_obs):
    class Dropper(Recorder):
        @hookimpl
        async def on_event(self, event: Event) -> None:
            self.events.append(event)
            if event_type_name(event) == "tip":
                await self.ctx.obs.show_source("Merch Drop", scene="Scene", duration=0.2)

    plugin = Dropper()
    h = await limelight(plugins={"drops": plugin}, config=obs_config(fake_obs.port))
    await connected(h)
    assert plugin.ctx.obs is h.services.obs
    await (await plugin.ctx.obs.switch_scene("Big Tip")).applied()
    await wait_until(lambda: plugin.of_type("obs.scene_changed"), timeout=5)
    event = plugin.of_type("obs.scene_changed")[0]
    assert event.source == "obs"
    assert event.data() == {"connection": "main", "scene": "Big Tip", "previous": "Scene"}
    await h.publish(make_tip("3.00"))
    await wait_until(lambda: fake_obs.request_types().count("SetSceneItemEnabled") == 2, timeout=5)
    assert not fake_obs.item_enabled("Scene", "Merch Drop")


# -- several OBS ------------------------------------------------------------------------------


async def test_named_connections_each_with_their_own_status(limelight, fake_obs):
    second_port = free_port()
    rule = {"on": "tip", "action": "switch_scene", "scene": "Big Tip", "connection": "booth"}
    config = obs_config(
        fake_obs.port,
        rules=[rule],
        connections=[
            {
                "name": "booth",
                "host": "127.0.0.1",
                "port": second_port,
                "password": "booth-pw",
                "timeout": 1,
            }
        ],
    )
    h = await limelight(config=config)
    obs = h.services.obs
    await connected(h)
    await wait_until(lambda: obs.connection("booth").state == "unreachable", timeout=5)
    status = obs.status()
    assert status["status"] == "unreachable"
    assert status["error"].startswith("booth: connection refused")
    assert set(status["connections"]) == {"main", "booth"}
    assert "booth-pw" not in str(status)
    with FakeObs("booth-pw", port=second_port) as booth:
        booth.add_scene("Big Tip")
        await connected(h, "booth")
        assert obs.status()["status"] == "connected"
        await h.publish(make_tip("1.00"))
        await wait_until(lambda: booth.program == "Big Tip", timeout=5)
        assert fake_obs.program == "Scene"


async def test_a_hung_obs_is_noticed_without_any_action(limelight, fake_obs, caplog, monkeypatch):
    caplog.set_level(logging.WARNING, logger="limelight.obs")
    monkeypatch.setattr("limelight.obs.connection.KEEPALIVE", 0.2)
    h = await limelight(config=obs_config(fake_obs.port, timeout=0.5))
    await connected(h)
    conn = h.services.obs.connection()
    fake_obs.hang.add("GetStats")  # OBS frozen: the socket stays open, nothing answers
    await wait_until(lambda: conn.connects >= 2, timeout=10)
    assert "keepalive failed" in caplog.text or "no answer to GetStats" in caplog.text
    fake_obs.hang.clear()
    await wait_until(lambda: h.services.obs.is_connected(), timeout=5)


async def test_obs_quitting_normally_is_let_go_at_once(limelight, fake_obs, caplog):
    caplog.set_level(logging.WARNING, logger="limelight.obs")
    h = await limelight(config=obs_config(fake_obs.port))
    await connected(h)
    fake_obs.quit()
    await wait_until(lambda: not h.services.obs.is_connected(), timeout=5)
    assert "connection lost: OBS is shutting down" in caplog.text
    fake_obs.start()
    await connected(h)


async def test_a_refused_state_read_does_not_keep_obs_from_connecting(limelight, fake_obs):
    fake_obs.fail_next["GetStreamStatus"] = (207, "OBS is not ready to perform the request.")
    h = await limelight(config=obs_config(fake_obs.port))
    await connected(h)
    assert h.services.obs.is_streaming() is None
    assert h.services.obs.current_scene() == "Scene"
