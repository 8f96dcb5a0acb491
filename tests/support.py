"""Helpers shared by the suite: real parts, free ports, readiness waits.

A test that needs a real part (PostgreSQL, Chromium, OBS, Redis) calls :func:`need`. On a
developer's machine without the part it skips with the reason; under CI (``CI=true``) it
fails instead, because CI installs every part and a skip there would hide a broken setup.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import shutil
import socket
import threading
import time
from typing import Any

import pytest
from tortoise.backends.base.client import BaseDBAsyncClient

IN_CI = os.environ.get("CI", "").lower() == "true"
POSTGRES_HOST, POSTGRES_PORT = "127.0.0.1", 5432


def need(available: bool, why: str) -> None:
    """Skip (locally) or fail (in CI) when a real part is missing."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"CI must provide this part: {why}")
    pytest.skip(why)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def wait_for_port(host: str, port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(host, port, 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on {host}:{port} within {timeout:g} s")


async def wait_until(predicate, timeout: float = 5.0, interval: float = 0.01) -> None:  # type: ignore[no-untyped-def]
    """Poll ``predicate`` (sync or async) until true; fail with a clear message."""
    async with asyncio.timeout(timeout):
        while True:
            result = predicate()
            if asyncio.iscoroutine(result):
                result = await result
            if result:
                return
            await asyncio.sleep(interval)


#: A SQLite read that runs for minutes unless interrupted (:func:`interrupt`): long past
#: any test's steps.
ENDLESS_READ = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000000000) "
    "SELECT count(*) FROM n"
)


async def start_long_read(connection: BaseDBAsyncClient) -> asyncio.Task[object]:
    """:data:`ENDLESS_READ` on ``connection``, returned once SQLite is running it (its
    trace callback, on the connection's thread, says so)."""
    raw = connection._connection  # type: ignore[attr-defined]
    if raw is None:
        await connection.execute_query("SELECT 1")  # connect first
        raw = connection._connection  # type: ignore[attr-defined]
    running = threading.Event()

    def trace(statement: str) -> None:
        if statement.startswith("WITH RECURSIVE"):
            running.set()

    await raw._execute(raw._conn.set_trace_callback, trace)
    task = asyncio.create_task(connection.execute_query(ENDLESS_READ))
    while not running.is_set():
        assert not task.done(), task
        await asyncio.sleep(0.001)
    return task


def interrupt(connection: BaseDBAsyncClient) -> None:
    """Stop the statement SQLite is running on ``connection`` (thread-safe in sqlite3)."""
    connection._connection._conn.interrupt()  # type: ignore[attr-defined]


def fourthwall_signed(event: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    """A Fourthwall delivery as Fourthwall sends it: the JSON body and
    ``X-Fourthwall-Hmac-SHA256``, the base64 HMAC-SHA256 of the body with the shop's
    secret key (computed here, not with the code under test)."""
    body = json.dumps(event).encode()
    digest = hmac.new(secret.encode("utf-8"), body, digestmod=hashlib.sha256).digest()
    return body, {
        "Content-Type": "application/json",
        "X-Fourthwall-Hmac-SHA256": base64.b64encode(digest).decode(),
    }
