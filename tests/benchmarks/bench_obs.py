"""OBS benchmark: a tip event to the scene change, observed through OBS's own event.

Printed, never asserted. Measured against real OBS Studio under Xvfb when it is installed
(else against the protocol fake, and the output says so). Baselines from the same run:

* a bare obsws-python request round trip (``GetVersion``);
* a bare obsws-python ``SetCurrentProgramScene`` until OBS's ``CurrentProgramSceneChanged``
  arrives, which is the floor for what Limelight does after the tip.

The Limelight figure covers the whole path: ``bus.publish`` (dedupe, commit to SQLite),
the rule lane, the action queue, the request in a worker thread, and OBS's event back.
"""

from __future__ import annotations

import asyncio
import logging
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import obsws_python
from limelight.testing import make_tip

from ..obs.fake_obs import FakeObs
from ..obs.real_obs import RealObs, obs_available
from .report import record

N = 200
WARMUP = 10


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def fmt(values: list[float]) -> str:
    return (
        f"p50 {pct(values, 0.5) * 1000:7.2f} ms   p99 {pct(values, 0.99) * 1000:7.2f} ms   "
        f"mean {statistics.fmean(values) * 1000:7.2f} ms"
    )


class SceneWatcher:
    """A separate obsws-python event client: stamps each program scene change on arrival."""

    def __init__(self, host: str, port: int, password: str) -> None:
        self.changes: list[tuple[str, float]] = []
        self._cond = threading.Condition()
        client = obsws_python.EventClient(host=host, port=port, password=password, timeout=5)

        def on_current_program_scene_changed(data: Any) -> None:
            with self._cond:
                self.changes.append((data.scene_name, time.perf_counter()))
                self._cond.notify_all()

        client.callback.register(on_current_program_scene_changed)
        self.client = client

    def wait_for(self, scene: str, after: int, timeout: float = 10) -> float:
        """Block until a change to ``scene`` beyond index ``after``; return its stamp."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for name, stamp in self.changes[after:]:
                    if name == scene:
                        return stamp
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no change to {scene!r} seen")
                self._cond.wait(left)

    def close(self) -> None:
        self.client.disconnect()


def prepare(req: Callable[..., dict[str, Any]]) -> None:
    """Two scenes to alternate between, and a cut (no transition to wait out)."""
    names = {s["sceneName"] for s in req("GetSceneList")["responseData"]["scenes"]}
    for scene in ("Bench A", "Bench B"):
        if scene not in names:
            req("CreateScene", {"sceneName": scene})
    req("SetCurrentSceneTransition", {"transitionName": "Cut"})
    req("SetCurrentProgramScene", {"sceneName": "Bench B"})


async def bench_obs_tip_to_scene_change(limelight, tmp_path: Path, capsys) -> None:
    logging.getLogger("obsws_python").setLevel(logging.CRITICAL)
    real = obs_available()
    obs: RealObs | None = None
    fake: FakeObs | None = None
    if real:
        obs = RealObs(tmp_path / "obs-home")
        obs.home.mkdir()
        obs.start()
        host, port, password = obs.host, obs.port, obs.password
        target = "real OBS Studio under Xvfb"
    else:
        fake = FakeObs("bench-password").start()
        host, port, password = "127.0.0.1", fake.port, "bench-password"
        target = "the obs-websocket fake (OBS Studio is not installed here)"
    bare = obsws_python.ReqClient(host=host, port=port, password=password, timeout=5)
    watcher = SceneWatcher(host, port, password)
    try:
        prepare(bare.base_client.req)

        # Baseline 1: a bare request round trip.
        round_trips = []
        for _ in range(N + WARMUP):
            t0 = time.perf_counter()
            bare.base_client.req("GetVersion")
            round_trips.append(time.perf_counter() - t0)
        round_trips = round_trips[WARMUP:]

        # Baseline 2: a bare scene switch until OBS's own event.
        bare_switch = []
        for i in range(N + WARMUP):
            scene = "Bench A" if i % 2 == 0 else "Bench B"
            mark = len(watcher.changes)
            t0 = time.perf_counter()
            bare.base_client.req("SetCurrentProgramScene", {"sceneName": scene})
            bare_switch.append(watcher.wait_for(scene, mark) - t0)
        bare_switch = bare_switch[WARMUP:]

        # Limelight: a tip through the bus, a rule, the queue and obsws-python.
        rules = [
            {
                "on": "tip",
                "currency": "USD",
                "min_amount": "1.00",
                "action": "switch_scene",
                "scene": "Bench A",
            },
            {
                "on": "tip",
                "currency": "EUR",
                "min_amount": "1.00",
                "action": "switch_scene",
                "scene": "Bench B",
            },
        ]
        h = await limelight(
            config={
                "obs": {
                    "enabled": True,
                    "host": host,
                    "port": port,
                    "password": password,
                    "rules": rules,
                }
            }
        )
        async with asyncio.timeout(30):
            await h.services.obs.connection().ready.wait()
        tip_to_scene = []
        for i in range(N + WARMUP):
            scene, currency = ("Bench A", "USD") if i % 2 == 0 else ("Bench B", "EUR")
            mark = len(watcher.changes)
            t0 = time.perf_counter()
            await h.publish(make_tip("5.00", currency, source_id=f"bench-{i}"), settle=False)
            seen = await asyncio.to_thread(watcher.wait_for, scene, mark)
            tip_to_scene.append(seen - t0)
        tip_to_scene = tip_to_scene[WARMUP:]
    finally:
        watcher.close()
        bare.disconnect()
        if obs is not None:
            obs.stop()
        if fake is not None:
            fake.stop()

    with capsys.disabled():
        print(f"\nOBS benchmark against {target}, {N} samples each")
        print(f"  bare obsws-python GetVersion round trip     {fmt(round_trips)}")
        print(f"  bare SetCurrentProgramScene -> OBS event    {fmt(bare_switch)}")
        print(f"  Limelight tip -> OBS scene-change event     {fmt(tip_to_scene)}")
        p50 = pct(tip_to_scene, 0.5)
        print(f"  ratio tip->scene / bare round trip (p50)    {p50 / pct(round_trips, 0.5):.1f}x")
        print(f"  ratio tip->scene / bare switch->event (p50) {p50 / pct(bare_switch, 0.5):.1f}x")
    for q, label in ((0.5, "p50"), (0.99, "p99")):
        ours = pct(tip_to_scene, q) * 1000
        record(f"obs.tip_to_scene.{label}_ms", ours, pct(bare_switch, q) * 1000, unit="ms")
        record(f"obs.round_trip.{label}_ms", pct(round_trips, q) * 1000, unit="ms")
