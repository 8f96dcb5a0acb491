"""Run ``limelight`` as a real process: startup, readiness by port, clean termination."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import free_port, port_open

CLI = [sys.executable, "-m", "limelight.cli"]


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any LIMELIGHT_* setting that could leak in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIMELIGHT_")}
    env.update(extra)
    return env


def cli(
    *args: str | Path,
    cwd: Path,
    timeout: float = 30,
    command: Sequence[str] = CLI,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env or clean_env(),
    )


def fake_distribution(
    site: Path, name: str, entry_points: Mapping[str, str], modules: Mapping[str, str]
) -> Path:
    """Install a plugin distribution the cheap way: a ``<name>-1.0.dist-info`` with its
    ``limelight`` entry points and the modules' sources, in ``site`` (put it on
    ``PYTHONPATH``). ``importlib.metadata`` finds it exactly as it finds a pip-installed one.
    """
    dist = site / f"{name.replace('-', '_')}-1.0.dist-info"
    dist.mkdir(parents=True, exist_ok=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = "".join(f"{ep} = {target}\n" for ep, target in entry_points.items())
    (dist / "entry_points.txt").write_text(f"[limelight]\n{lines}")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))
    return site


@dataclass
class Server:
    process: subprocess.Popen[str]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def get(self, path: str, token: str | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(self.base + path)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def get_text(self, path: str) -> str:
        with urllib.request.urlopen(self.base + path, timeout=10) as response:
            return response.read().decode()

    def stop(self, timeout: float = 5) -> int:
        """SIGTERM, then the exit code; fails the test if the process does not exit in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(
                f"limelight did not exit within {timeout} s of SIGTERM:\n{self.output()}"
            ) from None


@contextmanager
def running_server(
    config: Path,
    cwd: Path,
    *,
    command: Sequence[str] = CLI,
    env: dict[str, str] | None = None,
    extra: Sequence[str] = (),
    preexec_fn: Callable[[], None] | None = None,
) -> Iterator[Server]:
    """``limelight run --config <config> --port <free>`` until the block ends.

    ``preexec_fn`` runs in the child before ``exec`` (lower its ``RLIMIT_NOFILE`` or
    ``RLIMIT_FSIZE`` with :mod:`resource`)."""
    port = free_port()
    log = cwd / f"server-{port}.log"
    with open(log, "w", encoding="utf-8") as out:
        process = subprocess.Popen(
            [*command, "run", "--config", str(config), "--port", str(port), *extra],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            env=env or clean_env(),
            preexec_fn=preexec_fn,
        )
    server = Server(process, port, log)
    try:
        deadline = time.monotonic() + 30
        while not port_open("127.0.0.1", port, 0.2):
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"limelight did not listen:\n{server.output()}")
            time.sleep(0.05)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


class TcpProxy:
    """A TCP proxy between a server under test and a real part (PostgreSQL), that a test
    can cut: ``cut("reset")`` drops every connection and refuses new ones (the database
    went down); ``cut("hang")`` keeps the connections open but forwards nothing, and new
    connections are accepted and never answered (a network that stopped passing packets).
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.mode = "open"
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._thread = threading.Thread(target=self._accept, daemon=True, name="tcp-proxy")
        self._thread.start()

    def _keep(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self._keep(client)
            if self.mode != "open":
                continue  # accepted, never answered
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            self._keep(upstream)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if self.mode == "open":
                    sink.sendall(data)
        except OSError:
            pass
        if self.mode == "open":
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def cut(self, mode: str = "reset") -> None:
        """Stop passing traffic (see the class docstring for ``reset`` and ``hang``)."""
        self.mode = mode
        if mode == "reset":
            self._listener.close()
            reset = struct.pack("ii", 1, 0)  # SO_LINGER 0: close() sends a RST
            with self._lock:
                for sock in self._sockets:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, reset)
                        sock.close()

    def close(self) -> None:
        self.mode = "closed"
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()
            self._sockets.clear()


class HealthProbe:
    """Ask ``GET /healthz`` of a running server every ``every`` seconds on a thread of its
    own (a fresh connection each time, as a monitor does) until stopped; keeps each answer's
    status and latency, so a test can show that the server kept answering under abuse."""

    def __init__(self, base: str, *, every: float = 0.1, timeout: float = 10.0) -> None:
        self.url = base + "/healthz"
        self.every = every
        self.timeout = timeout
        self.results: list[tuple[int, float]] = []  # (status or 0 for no answer, seconds)
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="health-probe")

    def __enter__(self) -> HealthProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(self.timeout + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                with urllib.request.urlopen(self.url, timeout=self.timeout) as response:
                    response.read()
                    status = response.status
            except urllib.error.HTTPError as exc:
                status = exc.code
                exc.close()
            except OSError as exc:
                status = 0
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self.results.append((status, time.monotonic() - started))
            self._stop.wait(self.every)

    @property
    def worst(self) -> float:
        return max((seconds for _, seconds in self.results), default=0.0)

    def statuses(self) -> set[int]:
        return {status for status, _ in self.results}


def memory_kb(pid: int) -> dict[str, int]:
    """``VmRSS`` (now) and ``VmHWM`` (the peak so far) of a process, in kB."""
    found = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0])
    return found


def raise_open_files(wanted: int) -> int:
    """Raise this process's soft ``RLIMIT_NOFILE`` towards ``wanted`` (never above the hard
    limit); returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def child_limits(**limits: int) -> Callable[[], None]:
    """A ``preexec_fn`` that sets resource limits in the child, e.g.
    ``child_limits(RLIMIT_NOFILE=256)``; the hard limit stays where it was, so a test can
    raise the soft one again later with :func:`resource.prlimit`."""

    def apply() -> None:
        for name, soft in limits.items():
            kind = getattr(resource, name)
            _, hard = resource.getrlimit(kind)
            if hard != resource.RLIM_INFINITY:
                soft = min(soft, hard)
            resource.setrlimit(kind, (soft, hard))

    return apply
