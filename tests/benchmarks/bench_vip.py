"""What the vip plugin costs chat: lines per second through the whole pipeline (bus,
gating, chat log) without vip, with vip and no members-only window, and with a window open
(every line checked against the roster), each from one in-memory connector. Printed, and
written to bench-results.json; never asserted."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from limelight.chat import LocalConnector
from limelight.testing import make_viewer
from limelight_vip import VipPlugin

from .report import record

N_LINES = 5_000
N_MEMBERS = 200


async def _rate(h: Any, name: str) -> float:
    connector = LocalConnector(name, platform="bench", channel="bench")
    await h.services.chat.attach(connector)
    lines = [
        connector.make_message(f"viewer{i % 500}", f"just chatting {i}", badges=())
        for i in range(N_LINES)
    ]
    started = time.perf_counter()
    for line in lines:
        await connector.receive(line)
    await h.settle(timeout=300)
    return N_LINES / (time.perf_counter() - started)


async def bench_vip_chat_gating(limelight, capsys) -> None:
    h = await limelight(plugins={})
    bare = await _rate(h, "bare")
    await h.close()

    quiet = {"plugins": {"vip": {"welcome": "", "members_only": {"notice": "", "opened": ""}}}}
    h = await limelight(plugins={"vip": VipPlugin}, config=quiet)
    vip = h.plugin("vip", VipPlugin)
    for i in range(N_MEMBERS):
        viewer = make_viewer(f"viewer{i}", platform="bench")
        await vip.grant(viewer, "tier1", duration=None, source="bench", source_id=str(i))
    closed = await _rate(h, "closed")
    await vip.open_members_window(timedelta(hours=1), reason="bench")
    open_ = await _rate(h, "open")
    with capsys.disabled():
        print(f"\nvip chat gating ({N_LINES:,} lines, {N_MEMBERS:,} members)")
        print(f"  no vip          : {bare:12,.0f} lines/s")
        print(f"  vip, chat open  : {closed:12,.0f} lines/s ({closed / bare:.2f}x)")
        print(f"  members-only    : {open_:12,.0f} lines/s ({open_ / bare:.2f}x)")
    record("vip.chat.closed_window.msg_per_s", closed, bare, unit="msg/s")
    record("vip.chat.members_only.msg_per_s", open_, bare, unit="msg/s")
