"""Fixtures shared by the whole suite.

* ``database_url`` — parametrized over SQLite (a file in ``tmp_path``) and PostgreSQL (a
  throw-away database on the server at 127.0.0.1:5432, created for the test and dropped
  after it). Storage tests take it so every one runs on both backends.
* ``pg_database`` — a factory for extra throw-away PostgreSQL databases.
* ``installed_venv`` — one fresh virtual environment per session with the built wheel and
  the fixture plugin distributions installed (``slow`` tests share it).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import POSTGRES_HOST, POSTGRES_PORT, need, port_open

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
PG_ADMIN_URL = f"postgres://root@{POSTGRES_HOST}:{POSTGRES_PORT}/test"


def postgres_available() -> bool:
    return port_open(POSTGRES_HOST, POSTGRES_PORT)


async def _pg_admin(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://"), timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def pg_read_only(database_url: str, on: bool) -> None:
    """Make the PostgreSQL database of ``database_url`` read-only (or writable again), as
    a standby after a failover is: new sessions start with the setting, and the open ones
    are ended so that pools reconnect with it."""
    name = database_url.rsplit("/", 1)[1]
    await _pg_admin(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {on}')
    await _pg_admin(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
    )


@pytest.fixture
async def pg_database() -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """Create throw-away PostgreSQL databases (``limelight_<random>``); drop them after."""
    need(postgres_available(), f"PostgreSQL at {POSTGRES_HOST}:{POSTGRES_PORT}")
    created: list[str] = []

    async def create() -> str:
        name = f"limelight_{secrets.token_hex(6)}"
        await _pg_admin(f'CREATE DATABASE "{name}"')
        created.append(name)
        return f"postgres://root@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"

    yield create
    for name in created:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database: SQLite and, in a second run of the test, PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'limelight.sqlite3'}"
        return
    need(postgres_available(), f"PostgreSQL at {POSTGRES_HOST}:{POSTGRES_PORT}")
    name = f"limelight_{secrets.token_hex(6)}"
    await _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://root@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"
    finally:
        await _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Any]:
    """The core's database on :func:`database_url`, opened (migrated) and closed after."""
    from limelight.db import Database

    database = Database(database_url)
    await database.open()
    yield database
    await database.close()


# -- an installed wheel in a fresh virtual environment ------------------------------------------


@dataclass(frozen=True)
class Venv:
    """A virtual environment with Limelight installed from its wheel (not editable)."""

    root: Path
    wheel: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    @property
    def limelight(self) -> Path:
        return self.bin / "limelight"

    def env(self, **extra: str) -> dict[str, str]:
        """A clean environment: nothing from the checkout or the outer venv leaks in."""
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("LIMELIGHT_", "PYTHON", "VIRTUAL_ENV", "PYTEST"))
        }
        env["PATH"] = f"{self.bin}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(self.root)
        env.update(extra)
        return env

    def run(
        self, *args: str | Path, cwd: Path, timeout: float = 60, check: bool = True, **env: str
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [str(a) for a in args],
            cwd=cwd,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(map(str, args))} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result


def _pip(python: Path | str, *args: str | Path, cwd: Path) -> None:
    cmd = [str(python), "-m", "pip", "--disable-pip-version-check", "-q", *map(str, args)]
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}")


@pytest.fixture(scope="session")
def installed_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venv]:
    """Build the wheel, make a fresh venv, install the wheel and the fixture plugins.

    Dependencies come from the package index; the fixture distributions
    (``tests/fixtures/limelight-shoutout`` and its broken twin) are built from their own
    ``pyproject.toml`` like any third party's plugin. One venv serves the whole session.
    """
    root = tmp_path_factory.mktemp("wheel")
    dist = root / "dist"
    # Reuse this interpreter's hatchling when it has one (fast, offline); else pip fetches it.
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-build-isolation"]
    _pip(sys.executable, "wheel", ".", "--no-deps", *isolation, "-w", dist, cwd=REPO)
    wheels = sorted(dist.glob("limelight-*.whl"))
    assert len(wheels) == 1, f"expected one limelight wheel, found {wheels}"
    for name in ("limelight-shoutout", "limelight-broken"):
        _pip(
            sys.executable, "wheel", FIXTURES / name, "--no-deps", *isolation, "-w", dist, cwd=root
        )
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    plugin_wheels = sorted(p for p in dist.glob("limelight_*.whl"))
    # The test extra's pytest bits let the example plugin's own tests run in this venv.
    _pip(
        python,
        "install",
        wheels[0],
        *plugin_wheels,
        "pytest>=8",
        "pytest-aiohttp>=1.1",
        "pytest-asyncio>=1.0",
        cwd=root,
    )
    yield Venv(root=venv, wheel=wheels[0])
    shutil.rmtree(root, ignore_errors=True)
