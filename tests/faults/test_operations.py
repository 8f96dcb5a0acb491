"""Operations: what a streamer (or systemd) sees when things go wrong, with a real
``limelight run``.

* Every startup failure is one line on stderr with the documented exit code (2: the
  config, 3: the port, the database, the startup) within 5 s: a non-UTF-8 or invalid
  config, a mistake in a plugin's or a webhook's table, a taken port (found before the
  slow part of startup), a database that accepts TCP and never answers, an unreachable one.
* ``limelight doctor`` names the same table mistakes.
* SIGTERM stops the server within 5 s after a PostgreSQL outage (a TCP proxy between the
  two is cut: connections reset, or a network that stops passing packets).
* ``/healthz`` says ``degraded`` (503) when the database cannot write — a full disk on
  SQLite (``RLIMIT_FSIZE`` in the server process), a read-only PostgreSQL — and recovers
  with it; and ``degraded`` when an enabled part is down (OBS unreachable, a chat connector,
  a failed plugin).
* A transaction whose ``BEGIN`` fails leaves nothing taken: the next write works.
"""

from __future__ import annotations

import asyncio
import json
import resource
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from limelight import ChatConnectorSpec, Plugin, Register, hookimpl

from tests.conftest import pg_read_only, postgres_available
from tests.core.procs import (
    HealthProbe,
    Server,
    TcpProxy,
    child_limits,
    clean_env,
    cli,
    running_server,
)
from tests.support import (
    POSTGRES_HOST,
    POSTGRES_PORT,
    chromium_path,
    free_port,
    need,
    wait_until,
)
from tests.tips.doubles import GENERIC_SECRET, generic_request, generic_tip

ADMIN = "operations-admin-token-1234"
OVERLAY = "operations-overlay-token-1234"
#: The contract: a failed start says why within this many seconds; so does a stop.
WITHIN = 5.0
PLUGINS = "tips,alerts"

pytestmark = pytest.mark.slow


def config_text(database_url: str, extra: str = "") -> str:
    return f"""
[security]
admin_token = "{ADMIN}"
overlay_token = "{OVERLAY}"

[database]
url = "{database_url}"

[webhooks.generic]
secret = "{GENERIC_SECRET}"

[plugins.tips]
thanks = false
{extra}
"""


@contextmanager
def black_hole() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word (a hung database)."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(2)
        listener.close()
        for sock in held:
            sock.close()


# -- startup failures --------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    code: int
    expect: str
    config: bytes
    port: int | None = None
    #: LIMELIGHT_PLUGINS for the case (None: every installed plugin).
    plugins: str | None = PLUGINS


def startup_cases(tmp_path: Path, hole: int, taken: int) -> list[Case]:
    sqlite = f"sqlite://{tmp_path / 'startup.sqlite3'}"
    pg_hole = f"postgres://root:db-pass-112233@127.0.0.1:{hole}/limelight"
    closed = f"postgres://root:db-pass-112233@127.0.0.1:{free_port()}/limelight"

    def text(url: str = sqlite, extra: str = "") -> bytes:
        return config_text(url, extra).encode()

    return [
        Case("config not UTF-8", 2, "line 3: not UTF-8 text (byte 0xe9)", b"[server]\n\n#\xe9\n"),
        Case("config not TOML", 2, "not valid TOML", b"[server\nport = 1\n"),
        Case("unknown core key", 2, "server.prot: unknown key", text(extra="[server]\nprot = 1")),
        Case(
            "plugin table mistake",
            2,
            "plugins.tips.min_amout: unknown key",
            text(extra='min_amout = "1.00"'),
        ),
        Case(
            "plugin table wrong type",
            2,
            "plugins.tips.thanks: Input should be a valid boolean",
            text().replace(b"thanks = false", b'thanks = "sometimes"'),
        ),
        Case(
            "webhook table mistake",
            2,
            "webhooks.stripe.tolerence: unknown key",
            text(extra='[webhooks.stripe]\nsecret = "whsec_stripe-secret-9988"\ntolerence = 300'),
        ),
        Case(
            "webhook table nobody provides",
            2,
            "[webhooks.kofee]: no installed plugin provides /webhooks/kofee",
            text(extra='[webhooks.kofee]\nverification_token = "kofi-token-445566"'),
            plugins=None,
        ),
        Case(
            "taken port (before the hung database)",
            3,
            f"cannot listen on 127.0.0.1:{taken}: address is already in use",
            text(pg_hole),
            port=taken,
        ),
        Case(
            "database accepts TCP, never answers",
            3,
            f"database postgres://127.0.0.1:{hole}/limelight: no answer within 2.5 s",
            text(pg_hole),
        ),
        Case(
            "database unreachable",
            3,
            "database postgres://127.0.0.1:",
            text(closed),
        ),
    ]


def test_every_startup_failure_is_one_line_with_its_code_within_5_s(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failures: list[str] = []
    timings: list[str] = []
    with black_hole() as hole, socket.create_server(("127.0.0.1", 0)) as taken:
        cases = startup_cases(tmp_path, hole, taken.getsockname()[1])
        for case in cases:
            config = tmp_path / "config.toml"
            config.write_bytes(case.config)
            port = case.port if case.port is not None else free_port()
            started = time.monotonic()
            try:
                result = cli(
                    "run",
                    "--config",
                    config,
                    "--port",
                    str(port),
                    cwd=tmp_path,
                    timeout=WITHIN,
                    env=clean_env()
                    if case.plugins is None
                    else clean_env(LIMELIGHT_PLUGINS=case.plugins),
                )
            except subprocess.TimeoutExpired:
                failures.append(f"{case.name}: still running after {WITHIN:g} s")
                continue
            took = time.monotonic() - started
            timings.append(f"{case.name} {took:.1f} s")
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            problems = []
            if result.returncode != case.code:
                problems.append(f"exit {result.returncode}, not {case.code}")
            if len(lines) != 1 or not lines[0].startswith("limelight: "):
                problems.append(f"not one line: {result.stderr!r}")
            elif case.expect not in lines[0]:
                problems.append(f"{lines[0]!r} does not say {case.expect!r}")
            for secret in ("db-pass-112233", "whsec_stripe-secret-9988", "kofi-token-445566"):
                if secret in result.stderr + result.stdout:
                    problems.append(f"shows the secret {secret}")
            if problems:
                failures.append(f"{case.name}: {'; '.join(problems)}")
    with capsys.disabled():
        print(
            f"\n[faults] startup failures: {len(cases)} cases tried, {len(failures)} failed "
            f"({', '.join(timings)})"
        )
    assert not failures, "\n".join(failures)


def test_doctor_names_mistakes_in_plugin_and_webhook_tables(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        config_text(
            f"sqlite://{tmp_path / 'doctor.sqlite3'}",
            'min_amout = "1.00"\n'
            '[webhooks.stripe]\nsecret = "whsec_stripe-secret-9988"\ntolerence = 300\n',
        ),
        encoding="utf-8",
    )
    result = cli(
        "doctor",
        "--config",
        config,
        cwd=tmp_path,
        timeout=30,
        env=clean_env(LIMELIGHT_PLUGINS=PLUGINS),
    )
    assert result.returncode == 1
    out = result.stdout
    assert "plugin tips: FAIL  invalid config" in out and "plugins.tips.min_amout" in out
    assert "whsec_stripe-secret-9988" not in out + result.stderr


# -- helpers for a running server --------------------------------------------------------------


def deliver(server: Server, tip_id: str, timeout: float = 10) -> int:
    """POST one signed generic tip; its HTTP status (0 when no answer came)."""
    body, headers = generic_request(generic_tip("2.00", "USD", id=tip_id, name="Pat"))
    request = urllib.request.Request(
        server.base + "/webhooks/generic", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)
    except OSError:
        return 0


def health(server: Server) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(server.base + "/healthz")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def ledger_ids(server: Server) -> list[str]:
    status, body = server.get("/api/events?type=tip&limit=500", token=ADMIN)
    assert status == 200, body
    return [e["source_id"] for e in body["events"]]


# -- SIGTERM after a PostgreSQL outage ---------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("outage", ["reset", "hang"])
async def test_sigterm_after_a_postgresql_outage_stops_within_5_s(
    outage: str, pg_database: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    need(postgres_available(), f"PostgreSQL at {POSTGRES_HOST}:{POSTGRES_PORT}")
    url = await pg_database()
    name = url.rsplit("/", 1)[1]
    proxy = TcpProxy(POSTGRES_HOST, POSTGRES_PORT)
    config = tmp_path / "config.toml"
    config.write_text(
        config_text(f"postgres://root@127.0.0.1:{proxy.port}/{name}"), encoding="utf-8"
    )
    try:
        with running_server(config, tmp_path, env=clean_env(LIMELIGHT_PLUGINS=PLUGINS)) as server:
            assert await asyncio.to_thread(deliver, server, "before-outage") == 200
            proxy.cut(outage)
            # A delivery that arrives during the outage (it hangs or gets a 503) ...
            during = asyncio.create_task(asyncio.to_thread(deliver, server, "during", 15))
            # ... and /healthz still answers, and says what is wrong.
            with HealthProbe(server.base, every=0.2) as probe:
                await wait_until(lambda: 503 in probe.statuses(), timeout=15, interval=0.1)
            status, body = await asyncio.to_thread(health, server)
            assert status == 503 and body["status"] == "degraded", body
            assert body["problems"][0].startswith("database: ")
            started = time.monotonic()
            code = await asyncio.to_thread(server.stop, WITHIN)
            took = time.monotonic() - started
            answered = await during
    finally:
        proxy.close()
    with capsys.disabled():
        print(
            f"\n[faults] PostgreSQL outage ({outage}): SIGTERM to exit {took:.2f} s "
            f"(exit {code}); /healthz worst {probe.worst * 1000:.0f} ms over "
            f"{len(probe.results)} probes; the delivery during the outage got "
            f"{answered or 'no answer'}"
        )
    assert code == 0
    assert answered in (0, 503), "a delivery during the outage was answered 2xx"
    assert not probe.errors, probe.errors[:3]


# -- the database cannot write -----------------------------------------------------------------


@dataclass
class Unwritable:
    """How a test makes the server's database unable to write, and able again."""

    backend: str
    url: str
    break_it: Any
    mend: Any
    preexec: Any = None


DISK = 1_000_000  # bytes any one file of the server may grow to while the "disk" is full


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def unwritable(
    request: pytest.FixtureRequest, tmp_path: Path, pg_database: Any
) -> Unwritable:
    if request.param == "sqlite":
        # The disk fills: no file of the server may grow past DISK bytes (RLIMIT_FSIZE,
        # the soft limit only, so the test can lift it again from outside).
        def lift(server: Server) -> None:
            _, hard = resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE)
            resource.prlimit(server.process.pid, resource.RLIMIT_FSIZE, (hard, hard))

        return Unwritable(
            "sqlite",
            f"sqlite://{tmp_path / 'full.sqlite3'}",
            break_it=None,
            mend=lift,
            preexec=child_limits(RLIMIT_FSIZE=DISK),
        )
    need(postgres_available(), f"PostgreSQL at {POSTGRES_HOST}:{POSTGRES_PORT}")
    url = await pg_database()

    return Unwritable(
        "postgres",
        url,
        break_it=lambda: pg_read_only(url, True),
        mend=lambda server: pg_read_only(url, False),
    )


async def test_healthz_is_degraded_while_the_database_cannot_write(
    unwritable: Unwritable, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(config_text(unwritable.url), encoding="utf-8")
    env = clean_env(LIMELIGHT_PLUGINS=PLUGINS)
    with running_server(config, tmp_path, env=env, preexec_fn=unwritable.preexec) as server:
        status, body = await asyncio.to_thread(health, server)
        assert (status, body["status"], body["db"]["writable"]) == (200, "ok", True), body
        if unwritable.break_it is not None:
            await unwritable.break_it()
        # Tips until one cannot be stored: it gets a 503 (the provider retries it).
        sent = 0
        refused = ""
        while not refused and sent < 500:
            sent += 1
            answer = await asyncio.to_thread(deliver, server, f"tip-{sent}")
            assert answer in (200, 503), answer
            if answer == 503:
                refused = f"tip-{sent}"
        assert refused, "the database never refused a write"

        async def degraded() -> bool:
            # (a refusal may come from a connection the outage cut: the write probe, run
            # every few seconds, then finds the database read-only)
            status, body = await asyncio.to_thread(health, server)
            return status == 503 and body["status"] == "degraded"

        await wait_until(degraded, timeout=20, interval=0.2)
        status, body = await asyncio.to_thread(health, server)
        assert body["db"]["writable"] is False and "cannot write" in body["db"]["error"]
        assert any(p.startswith("database: cannot write") for p in body["problems"])
        problem = body["db"]["error"]
        # Room again: the provider's retry is stored, and /healthz is well again.
        mended = unwritable.mend(server)
        if asyncio.iscoroutine(mended):
            await mended

        async def retried() -> bool:
            return await asyncio.to_thread(deliver, server, refused) == 200

        await wait_until(retried, timeout=20, interval=0.2)

        async def healthy() -> bool:
            status, body = await asyncio.to_thread(health, server)
            return status == 200 and body["status"] == "ok"

        await wait_until(healthy, timeout=20, interval=0.2)
        ids = await asyncio.to_thread(ledger_ids, server)
        assert server.stop() == 0
    assert sorted(ids) == sorted(f"tip-{i}" for i in range(1, sent + 1))
    with capsys.disabled():
        print(
            f"\n[faults] {unwritable.backend} cannot write after {sent - 1} tips: "
            f"/healthz 503 degraded ({problem}); the retry stored, /healthz ok again"
        )


async def test_a_transaction_that_could_not_begin_leaves_nothing_taken(
    limelight: Any, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BEGIN fails (a PostgreSQL restart cut the connection under it) more times than the
    pool has connections: each delivery gets an error, and the next one is stored — no
    pooled connection, SQLite lock or current-transaction mark is left behind."""
    from limelight.sqlite_backend import TransactionWrapper as SqliteTransaction
    from tortoise.backends.asyncpg.client import TransactionWrapper as PgTransaction

    h = await limelight(database_url=database_url)
    failures = {"left": 8}
    for cls in (PgTransaction, SqliteTransaction):
        real_begin = cls.begin

        async def begin(
            self: Any, _real: Any = real_begin, _pg: bool = cls is PgTransaction
        ) -> None:
            if failures["left"] > 0:
                failures["left"] -= 1
                if _pg:  # the server is gone: the pooled connection is dead too
                    self._connection.terminate()
                raise ConnectionResetError("the connection was cut")
            await _real(self)

        monkeypatch.setattr(cls, "begin", begin)

    async def tip(n: int) -> int:
        status, _ = await h.post_event(
            {
                "type": "tip",
                "source": "api",
                "source_id": f"begin-{n}",
                "data": {"amount": "1.00", "currency": "USD"},
            },
            settle=False,
        )
        return status

    async with asyncio.timeout(20):  # a lock or a pooled connection left taken would hang
        answers = [await tip(n) for n in range(8)]
        assert 201 not in answers and failures["left"] == 0
        assert [await tip(n) for n in range(8, 11)] == [201, 201, 201]


# -- an enabled part is down -------------------------------------------------------------------


class BrokenChat(Plugin):
    """A chat platform whose connector cannot even be built (say, a bad token)."""

    @hookimpl
    def register_chat_connectors(self, register: Register[ChatConnectorSpec]) -> None:
        register(ChatConnectorSpec("brokenchat", self.connector))

    def connector(self) -> None:
        raise RuntimeError("the chat platform refused the login")


class FailingStart(Plugin):
    @hookimpl
    async def startup(self) -> None:
        raise RuntimeError("cannot start")


async def test_healthz_is_degraded_when_an_enabled_part_is_down(limelight) -> None:
    h = await limelight(
        plugins={"brokenchat": BrokenChat, "failing": FailingStart},
        config={"obs": {"enabled": True, "port": free_port(), "timeout": 1}},
    )
    await wait_until(lambda: h.services.obs.status()["status"] == "unreachable", timeout=10)
    response = await h.client.get("/healthz")
    body = await response.json()
    assert response.status == 200  # the database is fine: degraded, not down
    assert body["status"] == "degraded"
    problems = body["problems"]
    assert any(p.startswith("obs: unreachable") for p in problems), problems
    assert any(
        p.startswith("chat brokenchat: not connected") and "refused the login" in p
        for p in problems
    ), problems
    assert any(p.startswith("plugin failing: failed") for p in problems), problems


async def test_healthz_is_ok_when_every_enabled_part_works(limelight) -> None:
    h = await limelight()
    body = await (await h.client.get("/healthz")).json()
    assert body["status"] == "ok" and body["problems"] == [], body


# -- SIGTERM with browser sources connected ----------------------------------------------------


@pytest.mark.browser
async def test_sigterm_with_overlays_open_in_chromium_stops_within_5_s(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """OBS keeps its browser sources connected all the time: their WebSockets are requests
    that never end by themselves, so a stop closes them first (not after the server has
    waited out its shutdown timeout for them)."""
    need(chromium_path() is not None, "Debian's chromium (apt-get install chromium)")
    from playwright.async_api import async_playwright

    config = tmp_path / "config.toml"
    config.write_text(config_text(f"sqlite://{tmp_path / 'stop.sqlite3'}"), encoding="utf-8")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            with running_server(
                config, tmp_path, env=clean_env(LIMELIGHT_PLUGINS=PLUGINS)
            ) as server:
                pages = []
                for name in ("alerts", "chat", "leaderboard", "goal"):
                    page = await browser.new_page()
                    await page.goto(f"{server.base}/overlays/{name}?token={OVERLAY}")
                    await page.wait_for_function(
                        "() => window.Limelight && window.Limelight.connected"
                    )
                    pages.append(page)
                status, body = await asyncio.to_thread(server.get, "/api/overlays", ADMIN)
                assert status == 200
                assert sum(o["clients"] for o in body["overlays"]) == 4
                started = time.monotonic()
                code = await asyncio.to_thread(server.stop, WITHIN)
                took = time.monotonic() - started
                # The pages saw the server go, and try again (they resume when it is back).
                await pages[0].wait_for_function("() => !window.Limelight.connected")
        finally:
            await browser.close()
    with capsys.disabled():
        print(f"\n[faults] SIGTERM with 4 overlay pages open in Chromium: exit in {took:.2f} s")
    assert code == 0
    assert took < WITHIN
