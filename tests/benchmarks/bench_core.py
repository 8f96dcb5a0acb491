"""Core benchmarks: bus throughput, start-up time, idle memory. Printed, never asserted.

Run with ``make bench``. Each figure is printed beside a baseline measured in the same run
on the same machine, so the ratio means something even on a slow or busy box.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import limelight
from limelight.testing import make_chat

from ..support import free_port
from .report import record, rss_mb

N_EVENTS = 50_000
N_PLUGINS = 5


class NoOp:
    def __init__(self) -> None:
        self.seen = 0

    @limelight.hookimpl
    def on_event(self, event):
        self.seen += 1


async def bench_bus_throughput(limelight, capsys) -> None:
    plugins = {f"noop{i}": NoOp() for i in range(N_PLUGINS)}
    h = await limelight(plugins=plugins)
    events = [make_chat(f"message {i}", f"viewer{i % 500}") for i in range(N_EVENTS)]
    bus = h.services.bus

    started = time.perf_counter()
    for i, event in enumerate(events):
        await bus.publish(event)
        if i % 200 == 199:  # a connector yields between socket reads
            await asyncio.sleep(0)
    await h.settle(timeout=120)
    await bus.flush()
    bus_seconds = time.perf_counter() - started
    shed = sum(lane.shed for lane in bus.lanes.values())
    assert all(p.seen + shed >= N_EVENTS for p in plugins.values())

    funcs = [p.on_event for p in (NoOp() for _ in range(N_PLUGINS))]
    started = time.perf_counter()
    for event in events:
        for f in funcs:
            f(event)
    direct_seconds = time.perf_counter() - started

    with capsys.disabled():
        print(
            f"\nbus: {N_EVENTS} chat events to {N_PLUGINS} no-op plugins "
            f"(dedupe, batched log on SQLite, gating, per-plugin lanes)"
        )
        print(f"  through the bus : {N_EVENTS / bus_seconds:12,.0f} events/s")
        print(f"  direct calls    : {N_EVENTS / direct_seconds:12,.0f} events/s")
        print(
            f"  ratio           : {bus_seconds / direct_seconds:12.1f}x slower than direct "
            f"(goal: >= 25,000 events/s through the bus)"
        )
        print(f"  shed under load : {shed:12,d} chat events")
    record("bus.events_per_s", N_EVENTS / bus_seconds, N_EVENTS / direct_seconds, unit="events/s")
    record("bus.shed", shed, unit="chat events")


def _start(exe: Path, config: Path, port: int) -> tuple[float, subprocess.Popen[bytes]]:
    """Start ``limelight run``; seconds until ``/healthz`` answers 200, and the process."""
    env = {**os.environ, "LIMELIGHT_SERVER__PORT": str(port)}
    started = time.perf_counter()
    proc = subprocess.Popen(
        [exe, "run", "--config", config],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return time.perf_counter() - started, proc
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.01)
    except BaseException:
        proc.terminate()
        proc.wait(10)
        raise


def bench_startup_and_rss(tmp_path, capsys) -> None:
    exe = Path(sys.executable).parent / "limelight"
    subprocess.run([exe, "init", "--dir", tmp_path], check=True, capture_output=True)
    config = tmp_path / "config.toml"
    # As installed: pip compiles an installed package's bytecode; this editable checkout
    # (and a PYTHONDONTWRITEBYTECODE environment) would otherwise compile ~100 modules
    # from source at every start. Written to __pycache__ beside the sources (gitignored).
    repo = Path(__file__).resolve().parents[2]
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", repo / "core", repo / "plugins"],
        check=True,
        capture_output=True,
    )

    # Baseline: the interpreter starting and importing nothing.
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    bare = time.perf_counter() - started

    # First start: a new home, so the migrations are applied.
    to_health, proc = _start(exe, config, free_port())
    try:
        time.sleep(1.0)  # let it go idle before reading memory
        rss = rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(10)
    # Restart: the database is up to date, as on every start but the first.
    restart, proc = _start(exe, config, free_port())
    proc.terminate()
    proc.wait(10)
    with capsys.disabled():
        print("\nstart-up: `limelight run` on SQLite with the installed plugins")
        print(f"  start to /healthz : {to_health * 1000:8.0f} ms (goal < 1000 ms)")
        print(f"  restart to /healthz: {restart * 1000:7.0f} ms (database already migrated)")
        print(f"  bare interpreter  : {bare * 1000:8.0f} ms (baseline)")
        print(f"  idle RSS          : {rss:8.1f} MB (goal < 80 MB)")
    record("startup.to_healthz_ms", to_health * 1000, bare * 1000, unit="ms")
    record("startup.restart_to_healthz_ms", restart * 1000, bare * 1000, unit="ms")
    record("startup.idle_rss_mb", rss, unit="MB")
