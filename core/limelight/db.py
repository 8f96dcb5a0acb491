"""The database: tortoise-orm on SQLite (default) or PostgreSQL, one app per plugin.

Limelight owns its :class:`~tortoise.context.TortoiseContext` instead of relying on
tortoise's task-local default, because requests, bus workers and scheduler jobs all run in
different tasks; the context is installed as tortoise's global fallback while open.
Pending migrations of the core and of every enabled plugin are applied at startup, so an
upgrade of Limelight or of a plugin upgrades the schema without losing data.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.context import TortoiseContext
from tortoise.migrations.executor import MigrationExecutor, MigrationTarget
from tortoise.transactions import in_transaction

from .registry import Models

log = logging.getLogger(__name__)

CORE_MODELS = Models(app="limelight", models="limelight.models", migrations="limelight.migrations")
CONNECT_TIMEOUT = 4.0


class DatabaseError(Exception):
    """The database cannot be reached or upgraded; ``str()`` is a one-line cause."""


@dataclass
class DatabaseStatus:
    ok: bool
    backend: str
    error: str = ""


def normalise_url(url: str, base_dir: Path) -> str:
    """Make a relative SQLite path relative to the config file and create its folder."""
    if url.startswith("sqlite://") and url != "sqlite://:memory:":
        path = Path(url[len("sqlite://") :])
        if not path.is_absolute():
            path = base_dir / path
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite://{path}"
    if url.startswith("postgresql://"):
        return "postgres://" + url[len("postgresql://") :]
    return url


def backend_name(url: str) -> str:
    return url.split("://", 1)[0]


def tortoise_config(url: str, apps: list[Models]) -> dict[str, Any]:
    app_cfg: dict[str, Any] = {}
    for spec in apps:
        entry: dict[str, Any] = {"models": [spec.models], "default_connection": "default"}
        if spec.migrations:
            entry["migrations"] = spec.migrations
        app_cfg[spec.app] = entry
    return {"connections": {"default": url}, "apps": app_cfg}


class Database:
    """Open, migrate and close the database; the handle plugins get as ``ctx.db``."""

    def __init__(self, url: str, apps: list[Models] | None = None) -> None:
        self.url = url
        self.apps = [CORE_MODELS, *(apps or [])]
        self.backend = backend_name(url)
        self._tctx: TortoiseContext | None = None
        self.last_error = ""

    async def open(self, *, migrate: bool = True) -> None:
        if self.backend not in ("sqlite", "postgres", "asyncpg", "psycopg"):
            raise DatabaseError(f"database.url: unsupported database {self.backend!r}")
        config = tortoise_config(self.url, self.apps)
        # tortoise caches each model's INSERT/DELETE SQL per connection *name* (always
        # "default" here), so SQL built for SQLite would be reused for PostgreSQL when one
        # process opens both (test suites do): start from an empty cache.
        EXECUTOR_CACHE.clear()
        tctx = TortoiseContext()
        try:
            with tctx:
                await tctx.init(config=config, _enable_global_fallback=True)
                self._tctx = tctx
                async with asyncio.timeout(CONNECT_TIMEOUT):
                    await self.connection.execute_query("SELECT 1")
                if migrate:
                    await self.migrate()
        except TimeoutError:
            await self.close()
            raise DatabaseError(
                f"database {self.describe()}: no answer within {CONNECT_TIMEOUT:.0f} s"
            ) from None
        except DatabaseError:
            await self.close()
            raise
        except Exception as exc:
            await self.close()
            if "Global context fallback is already enabled" in str(exc):
                # tortoise serves one global context per process: a second app cannot open
                # its database while the first one runs (a test that starts two harnesses).
                raise DatabaseError(
                    "another Limelight app is already running in this "
                    "process; stop it first (in tests: await "
                    "h.client.close())"
                ) from None
            raise DatabaseError(f"database {self.describe()}: {_one_line(exc)}") from None

    async def migrate(self, targets: list[tuple[str, str]] | None = None) -> None:
        """Apply pending migrations (all apps, or up to ``targets`` of ``(app, name)``)."""
        apps_cfg = tortoise_config(self.url, self.apps)["apps"]
        apps_cfg = {k: v for k, v in apps_cfg.items() if "migrations" in v}
        executor = MigrationExecutor(self.connection, apps_cfg)
        wanted = [MigrationTarget(app_label=a, name=n) for a, n in targets] if targets else None
        with self._context():
            await executor.migrate(wanted)

    async def close(self) -> None:
        tctx, self._tctx = self._tctx, None
        if tctx is not None:
            try:
                await tctx.close_connections()
            except Exception as exc:  # closing must never mask the error that got us here
                log.debug("closing the database failed: %s", exc)

    def _context(self) -> TortoiseContext:
        if self._tctx is None:
            raise DatabaseError("the database is not open")
        return self._tctx

    @property
    def connection(self) -> BaseDBAsyncClient:
        return self._context().connections.get("default")

    def transaction(self) -> Any:
        """``async with ctx.db.transaction():`` — commits on exit, rolls back on error."""
        return in_transaction("default")

    async def status(self) -> DatabaseStatus:
        try:
            async with asyncio.timeout(2):
                await self.connection.execute_query("SELECT 1")
            return DatabaseStatus(True, self.backend)
        except Exception as exc:
            self.last_error = _one_line(exc)
            return DatabaseStatus(False, self.backend, self.last_error)

    def describe(self) -> str:
        """The URL without credentials, for messages."""
        scheme, _, rest = self.url.partition("://")
        if "@" in rest:
            rest = rest.split("@", 1)[1]
        return f"{scheme}://{rest}"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")
