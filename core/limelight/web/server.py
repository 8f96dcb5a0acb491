"""The listening side of ``limelight run``: bound sockets and a guard in front of aiohttp.

aiohttp serves requests well but leaves three things to the host, which this module adds
without touching aiohttp's internals (a thin :class:`asyncio.Protocol` wraps each of its
request handlers):

* **A header-read timeout.** A connection that has not sent its whole request head within
  ``[server] header_timeout`` seconds is closed, so slow clients (slowloris) cannot hold
  sockets open by trickling bytes. Later requests on a kept-alive connection are bounded by
  the keep-alive timeout.
* **A connection cap below the descriptor limit.** With the usual 1,024 open files of a
  service, a thousand slow sockets used to exhaust the process: ``accept()`` failed,
  ``/healthz`` went dark and every failed accept wrote a traceback. The cap
  (``[server] max_connections``, lowered to leave room under ``RLIMIT_NOFILE``) keeps
  descriptors for the database, OBS and chat. At the cap a new connection takes the place of
  the oldest one that is still waiting for its request head; when there is none, the new one
  is closed at once.
* **Quiet accept errors.** Running out of descriptors anyway (another part of the process
  opened many files) is logged once per interval with a count, never once per attempt.

The sockets are bound before the slow part of startup (plugins, database, migrations) and
start listening only when the app is ready: a taken port is reported at once, and nothing
connects to a server that is not ready yet.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import socket
import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ..config import Settings

log = logging.getLogger("limelight.web")

#: Seconds an idle kept-alive connection stays open (longer than nginx's 60 s upstream
#: keep-alive, so the proxy, not Limelight, closes an idle connection first).
KEEPALIVE_TIMEOUT = 75.0
#: Descriptors kept free under ``RLIMIT_NOFILE`` for everything that is not a client
#: connection (database, log, OBS, chat, plugin files): at least this many ...
RESERVED_FDS = 64
#: ... or this share of the limit, whichever is more.
RESERVED_SHARE = 0.1
#: At most one log line per this many seconds for each kind of refusal.
LOG_INTERVAL = 60.0
ACCEPT_ERROR = "socket.accept() out of system resource"


class ListenError(Exception):
    """The address cannot be bound; ``str()`` is the one-line cause."""


def bind_sockets(host: str, port: int) -> list[socket.socket]:
    """Bind (without listening) every address ``host`` resolves to, as asyncio would.

    Listening starts later (:class:`GuardedSite`), once the app is ready."""
    where = f"{host}:{port}"
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise ListenError(f"cannot listen on {where}: {exc.strerror}") from None
    sockets: list[socket.socket] = []
    seen: set[tuple[int, Any]] = set()
    try:
        for family, kind, proto, _, address in infos:
            if (family, address) in seen:
                continue
            seen.add((family, address))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.setblocking(False)
    except OSError as exc:
        for sock in sockets:
            sock.close()
        taken = exc.errno in (errno.EADDRINUSE, 48, 10048)
        reason = "is already in use" if taken else f"failed: {exc.strerror}"
        raise ListenError(f"cannot listen on {where}: address {reason}") from None
    return sockets


def descriptor_limit() -> int:
    """The soft ``RLIMIT_NOFILE`` of this process (what ``accept()`` runs into)."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def connection_cap(configured: int, limit: int | None = None) -> int:
    """``[server] max_connections``, lowered so the cap stays below the descriptor limit
    with room for everything else the process opens."""
    limit = descriptor_limit() if limit is None else limit
    reserve = max(RESERVED_FDS, int(limit * RESERVED_SHARE))
    return max(1, min(configured, limit - reserve))


def runner_options(settings: Settings) -> dict[str, Any]:
    """Options for :class:`aiohttp.web.AppRunner`.

    ``auto_decompress=False``: request bodies are never inflated by the HTTP parser (a
    gzip bomb would inflate on the event loop, even for a request about to be refused);
    endpoints that take bodies refuse a ``Content-Encoding`` instead."""
    return {
        "handle_signals": False,
        "shutdown_timeout": 3.0,
        "keepalive_timeout": KEEPALIVE_TIMEOUT,
        "auto_decompress": False,
    }


class Throttled:
    """Counts occurrences and logs one line per interval (with how many there were)."""

    def __init__(self, message: str, interval: float = LOG_INTERVAL) -> None:
        self.message = message
        self.interval = interval
        self.count = 0
        self.total = 0
        self._last = -interval

    def note(self, detail: str = "") -> None:
        self.count += 1
        self.total += 1
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        suffix = f" ({detail})" if detail else ""
        log.warning(
            "%s: %d time(s) in the last %.0f s%s", self.message, self.count, self.interval, suffix
        )
        self.count = 0


class Guard:
    """Tracks the open connections of one server: the cap and the header timeout."""

    def __init__(self, cap: int, header_timeout: float) -> None:
        self.cap = cap
        self.header_timeout = header_timeout
        #: Open connections, oldest first.
        self.open: dict[GuardedProtocol, None] = {}
        #: Open connections that have not sent a whole request head yet, oldest first.
        self.waiting: dict[GuardedProtocol, None] = {}
        self.timed_out = Throttled("closed connections that sent no request head in time")
        self.replaced = Throttled("connection cap reached: closed the oldest idle connection")
        self.refused = Throttled("connection cap reached: refused a new connection")

    def stats(self) -> dict[str, int]:
        return {
            "open": len(self.open),
            "cap": self.cap,
            "waiting_for_headers": len(self.waiting),
            "header_timeouts": self.timed_out.total,
            "replaced": self.replaced.total,
            "refused": self.refused.total,
        }

    def admit(self, conn: GuardedProtocol) -> bool:
        """Make room for ``conn``: under the cap it just counts; at the cap it replaces the
        oldest connection still waiting for its request head, or is refused."""
        if len(self.open) >= self.cap:
            oldest = next(iter(self.waiting), None)
            if oldest is None:
                self.refused.note(f"{len(self.open)} open, cap {self.cap}")
                return False
            self.replaced.note(f"cap {self.cap}")
            oldest.drop()
        self.open[conn] = None
        self.waiting[conn] = None
        return True

    def heard(self, conn: GuardedProtocol) -> None:
        self.waiting.pop(conn, None)

    def forget(self, conn: GuardedProtocol) -> None:
        self.open.pop(conn, None)
        self.waiting.pop(conn, None)


class GuardedProtocol(asyncio.Protocol):
    """Passes everything to aiohttp's request handler, watching for the end of the first
    request head (``\\r\\n\\r\\n``) to enforce the header timeout and the cap."""

    def __init__(self, inner: asyncio.Protocol, guard: Guard) -> None:
        self.inner = inner
        self.guard = guard
        self.transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tail = b""
        self._heard = False
        self._admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        if not self.guard.admit(self):
            transport.abort()
            return
        self._admitted = True
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.guard.header_timeout, self._too_slow)
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self._heard:
            seen = self._tail + data
            if b"\r\n\r\n" in seen:
                self._heard = True
                self.guard.heard(self)
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
            else:
                self._tail = seen[-3:]
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.guard.forget(self)
        if self._admitted:
            self.inner.connection_lost(exc)

    def _too_slow(self) -> None:
        self._timer = None
        if not self._heard:
            self.guard.timed_out.note(f"within {self.guard.header_timeout:g} s")
            self.drop()

    def drop(self) -> None:
        self.guard.forget(self)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()


class GuardedSite(web.BaseSite):
    """A site on an already bound socket whose connections pass through a :class:`Guard`."""

    __slots__ = ("_guard", "_name", "_sock")

    def __init__(self, runner: web.BaseRunner, sock: socket.socket, guard: Guard) -> None:
        super().__init__(runner, backlog=128)
        self._sock = sock
        self._guard = guard
        host, port = sock.getsockname()[:2]
        self._name = f"http://{f'[{host}]' if ':' in host else host}:{port}"

    @property
    def name(self) -> str:
        return self._name

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        guard = self._guard

        def protocol() -> asyncio.Protocol:
            return GuardedProtocol(server(), guard)

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(protocol, sock=self._sock, backlog=self._backlog)


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> Throttled:
    """Log asyncio's "out of system resource" accept errors once per interval, with a
    count and no traceback; every other loop error goes where it went before."""
    previous: Callable[[asyncio.AbstractEventLoop, dict[str, Any]], object] | None = (
        loop.get_exception_handler()
    )
    throttle = Throttled("cannot accept connections: out of file descriptors")

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if str(context.get("message", "")).startswith(ACCEPT_ERROR):
            exc = context.get("exception")
            throttle.note(str(getattr(exc, "strerror", "") or exc or ""))
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    return throttle
