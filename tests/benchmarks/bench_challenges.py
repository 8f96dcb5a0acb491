"""Challenges benchmark: what counting tips towards running challenges costs.

Printed, never asserted. On SQLite and PostgreSQL it publishes ``N_TIPS`` tips from
``CONCURRENCY`` concurrent publishers (in process, through the bus and group commit) to a
server with the challenges plugin and no challenge, then with ``N_CHALLENGES`` tips
challenges of ``N_MILESTONES`` milestones each (every tip is a contribution, a run total
update and, every few tips, a milestone claim in the same transaction as the event), and
reports tips/s for both, the milestones fired (each exactly once) and the time until the
last milestone's actions ran.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from limelight.models import MilestoneClaim
from limelight.testing import make_tip, make_viewer
from limelight_challenges import ChallengesPlugin

from .report import record

N_TIPS = 1_000
CONCURRENCY = 32
N_CHALLENGES = 3
N_MILESTONES = 20


def _challenges(milestones: int = N_MILESTONES) -> list[dict[str, Any]]:
    target = N_TIPS * 100
    step = target // max(1, milestones)
    return [
        {
            "key": f"c{n}",
            "title": f"Challenge {n}",
            "metric": "tips",
            "target": target,
            "window": "month",
            "milestones": [
                {"at": step * i, "label": f"M{i}", "actions": [{"do": "chat", "text": "{label}"}]}
                for i in range(1, milestones)
            ],
        }
        for n in range(N_CHALLENGES)
    ]


async def _run(limelight: Any, database_url: str, challenges: list[dict[str, Any]]) -> float:
    h = await limelight(
        {"challenges": ChallengesPlugin},
        database_url=database_url,
        config={"plugins": {"challenges": {"currency": "USD", "challenges": challenges}}},
    )
    tips = [make_tip("1.00", "USD", make_viewer(f"v{i % 300}")) for i in range(N_TIPS)]
    queue = list(reversed(tips))

    async def publisher() -> None:
        while queue:
            await h.publish(queue.pop(), settle=False)

    started = time.perf_counter()
    await asyncio.gather(*(publisher() for _ in range(CONCURRENCY)))
    seconds = time.perf_counter() - started
    await h.settle(timeout=120)
    await h.plugin("challenges", ChallengesPlugin).settle()
    await h.close()
    return N_TIPS / seconds


async def bench_challenge_counting(
    limelight: Any, database_url: str, pg_database: Any, capsys: Any
) -> None:
    backend = database_url.split(":", 1)[0]
    bare = await _run(limelight, database_url, [])
    # A fresh database for each further run.
    if backend == "sqlite":
        plain_url = database_url.replace(".sqlite3", "-2.sqlite3")
        database_url = database_url.replace(".sqlite3", "-3.sqlite3")
    else:
        plain_url = await pg_database()
    plain = await _run(limelight, plain_url, _challenges(milestones=0))
    started = time.perf_counter()
    counted = await _run(limelight, database_url, _challenges())
    fired = await _fired(limelight, database_url)
    total_seconds = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\nchallenges ({backend}): {N_TIPS} tips from {CONCURRENCY} publishers, "
            f"{N_CHALLENGES} challenges x {N_MILESTONES} milestones"
        )
        print(f"  no challenge running   : {bare:10,.0f} tips/s")
        print(f"  counted, no milestones : {plain:10,.0f} tips/s")
        print(f"  counted, 20 milestones : {counted:10,.0f} tips/s")
        print(f"  milestones fired       : {fired:10d} (expected {N_CHALLENGES * N_MILESTONES})")
        print(f"  run incl. actions      : {total_seconds:10.2f} s")
    record(f"challenges.{backend}.tips_per_s", plain, bare, unit="tips/s")
    record(f"challenges.{backend}.tips_per_s_milestones", counted, bare, unit="tips/s")


async def _fired(limelight: Any, database_url: str) -> int:
    h = await limelight({}, database_url=database_url)
    try:
        return await MilestoneClaim.filter(owner="challenges").count()
    finally:
        await h.close()
