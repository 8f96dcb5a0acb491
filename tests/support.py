"""Helpers shared by the suite: real parts, free ports, readiness waits.

A test that needs a real part (PostgreSQL, Chromium, OBS, Redis) calls :func:`need`. On a
developer's machine without the part it skips with the reason; under CI (``CI=true``) it
fails instead, because CI installs every part and a skip there would hide a broken setup.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import time

import pytest

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
