"""``limelight run`` as a real process with OBS absent, then present: it starts, keeps
serving, reconnects, never logs the password, and stops promptly on SIGTERM."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from ..core.procs import running_server
from ..support import free_port
from .fake_obs import FakeObs

pytestmark = pytest.mark.slow

PASSWORD = "process-test-obs-password"


def wait_for(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_limelight_runs_without_obs_and_connects_when_it_appears(tmp_path: Path):
    obs_port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        '[security]\nadmin_token = "proc-admin-token"\noverlay_token = "proc-overlay-token"\n'
        f'[database]\nurl = "sqlite://{tmp_path}/db.sqlite3"\n'
        f'[obs]\nenabled = true\nport = {obs_port}\npassword = "{PASSWORD}"\ntimeout = 2\n'
        '[[obs.rules]]\non = "tip"\nmin_amount = "10.00"\ncurrency = "USD"\n'
        'action = "switch_scene"\nscene = "Big Tip"\n',
        encoding="utf-8",
    )
    with running_server(config, tmp_path) as server:

        def obs_status() -> str:
            return server.get("/healthz")[1]["obs"]["status"]

        wait_for(lambda: obs_status() == "unreachable")
        with FakeObs(PASSWORD, port=obs_port) as fake:
            fake.add_scene("Big Tip")
            wait_for(lambda: obs_status() == "connected", timeout=5)
            wait_for(lambda: fake.clients >= 2)  # requests + events
            tip = {
                "type": "tip",
                "source": "api",
                "source_id": "proc-1",
                "data": {"amount": "12.00", "currency": "USD"},
            }
            request = urllib.request.Request(
                server.base + "/api/events",
                data=json.dumps(tip).encode(),
                method="POST",
                headers={
                    "Authorization": "Bearer proc-admin-token",
                    "Content-Type": "application/json",
                },
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 201
            wait_for(lambda: fake.program == "Big Tip", timeout=5)
        wait_for(lambda: obs_status() in ("connecting", "unreachable"))
        assert server.get("/healthz")[0] == 200
        assert server.stop() == 0
    assert PASSWORD not in server.output()
