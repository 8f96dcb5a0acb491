"""The server, run as a real process, is killed with SIGKILL in the middle of a burst of
500 tips. After a restart every tip it answered 2xx for is in the ledger, none twice."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import signal
from pathlib import Path

import aiohttp
import pytest

from tests.core.procs import clean_env, running_server
from tests.support import wait_until

from .doubles import GENERIC_SECRET, generic_request, generic_tip

ADMIN = "crash-test-admin-token"
TOTAL = 500
KILL_AFTER = 150
SENDERS = 8


def _config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[server]
host = "127.0.0.1"

[security]
admin_token = "{ADMIN}"
overlay_token = "crash-test-overlay-token"

[database]
url = "{database_url}"

[webhooks.generic]
secret = "{GENERIC_SECRET}"

[plugins.tips]
thanks = false
""",
        encoding="utf-8",
    )
    return path


async def _burst(base: str, kill: asyncio.Event) -> tuple[set[str], int]:
    """Send ``TOTAL`` tips from ``SENDERS`` concurrent senders; return the ids answered 2xx."""
    queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    for i in range(TOTAL):
        queue.put_nowait(generic_tip("1.00", "USD", id=f"burst-{i:04d}", name=f"viewer{i % 40}"))
    acked: set[str] = set()
    failed = 0

    async def sender(session: aiohttp.ClientSession) -> None:
        nonlocal failed
        while not queue.empty():
            tip = queue.get_nowait()
            body, headers = generic_request(tip)
            try:
                async with session.post(
                    base + "/webhooks/generic", data=body, headers=headers
                ) as response:
                    await response.read()
                    if 200 <= response.status < 300:
                        acked.add(tip["id"])
                        if len(acked) >= KILL_AFTER:
                            kill.set()
                    else:
                        failed += 1
            except (TimeoutError, aiohttp.ClientError, OSError):
                failed += 1

    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(*(sender(session) for _ in range(SENDERS)))
    return acked, failed


async def _ledger(base: str) -> list[str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            base + "/api/tips/export.csv", headers={"Authorization": f"Bearer {ADMIN}"}
        ) as response,
    ):
        assert response.status == 200
        text = await response.text()
    return [row["provider_id"] for row in csv.DictReader(io.StringIO(text))]


@pytest.mark.slow
async def test_sigkill_in_a_burst_loses_no_acknowledged_tip(
    database_url: str, tmp_path: Path
) -> None:
    config = _config(tmp_path, database_url)
    env = clean_env(LIMELIGHT_PLUGINS="tips,alerts")
    with running_server(config, tmp_path, env=env) as server:
        status, health = server.get("/healthz")
        assert status == 200, health
        assert any(p["name"] == "tips" and p["status"] == "enabled" for p in health["plugins"])
        kill = asyncio.Event()

        async def killer() -> None:
            await kill.wait()
            server.process.send_signal(signal.SIGKILL)

        kill_task = asyncio.create_task(killer())
        acked, failed = await _burst(server.base, kill)
        await kill_task
        assert server.process.wait(timeout=10) == -signal.SIGKILL
    assert KILL_AFTER <= len(acked) < TOTAL, (len(acked), failed)

    with running_server(config, tmp_path, env=env) as server:
        status, _ = server.get("/healthz")
        assert status == 200

        status, body = server.get("/api/events?type=tip&limit=500", token=ADMIN)
        logged = [e["source_id"] for e in body["events"]]
        assert len(logged) == len(set(logged))
        assert acked <= set(logged), "a tip answered 2xx is not in the event log"

        async def replayed() -> bool:
            # Committed but unanswered deliveries are replayed too (the provider retries
            # them and gets a duplicate), so the ledger ends up equal to the event log.
            return set(await _ledger(server.base)) == set(logged)

        await wait_until(replayed, timeout=30, interval=0.2)
        ids = await _ledger(server.base)
        assert len(ids) == len(set(ids)), "a tip is in the ledger twice"
        assert acked <= set(ids)
    print(json.dumps({"acked": len(acked), "not_acked": failed, "in_ledger": len(ids)}))
