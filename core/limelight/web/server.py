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
  descriptors for the database, OBS and chat. Sockets are counted from ``accept()`` on (an
  accept loop of our own: asyncio's accepts a hundred at a time before anyone looks). At
  the cap a connection still waiting for its request head is closed to make room: the
  oldest that has sent part of a head but not its end (what a slow client does), else the
  oldest that has sent nothing yet. One whose whole head is already in the kernel's buffer
  (its request came while the loop was busy) is about to be served and is never chosen.
  With no connection to close, new connections wait in the kernel's queue until one
  closes.
* **Quiet accept errors.** Running out of descriptors anyway (another part of the process
  opened many files) pauses accepting for a second and is logged once per interval with a
  count, never once per attempt.

The sockets are bound before the slow part of startup (plugins, database, migrations) and
start listening only when the app is ready: a taken port is reported at once, and nothing
connects to a server that is not ready yet.
"""

from __future__ import annotations

import asyncio
import enum
import errno
import itertools
import logging
import resource
import socket
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ..logs import Throttled

log = logging.getLogger("limelight.web")

#: Seconds an idle kept-alive connection stays open (longer than nginx's 60 s upstream
#: keep-alive, so the proxy, not Limelight, closes an idle connection first).
KEEPALIVE_TIMEOUT = 75.0
#: Connections the kernel queues before they are accepted; asyncio also accepts up to
#: this many at once before any of them is looked at, so the cap keeps room for them.
BACKLOG = 128
#: Descriptors kept free under ``RLIMIT_NOFILE``, besides the backlog, for everything that
#: is not a client connection (database, log, OBS, chat, plugin files): at least this
#: many ...
RESERVED_FDS = 64
#: ... or this share of the limit, whichever is more.
RESERVED_SHARE = 0.1
#: At the cap, how many connections waiting for their request head are looked at for one
#: to close, in the order they would be chosen (each look is one ``recv(MSG_PEEK)``).
ROOM_SCAN = 32
#: Bytes of a waiting connection's unread input looked at for the end of its head; a
#: client that has this much queued is sending at full speed, not trickling.
PEEK_BYTES = 16 * 1024


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
    reserve = BACKLOG + max(RESERVED_FDS, int(limit * RESERVED_SHARE))
    return max(16, min(configured, limit - reserve))


def runner_options() -> dict[str, Any]:
    """Options for :class:`aiohttp.web.AppRunner`.

    ``auto_decompress=False``: request bodies are never inflated by the HTTP parser (a
    gzip bomb would inflate on the event loop, even for a request about to be refused);
    ``/webhooks/`` refuses a ``Content-Encoding`` with 415, and elsewhere a compressed body
    is simply not JSON (400). ``shutdown_timeout``: seconds requests in flight get at a
    stop (a webhook's commit is shielded and ends with the bus, after them)."""
    return {
        "handle_signals": False,
        "shutdown_timeout": 1.0,
        "keepalive_timeout": KEEPALIVE_TIMEOUT,
        "auto_decompress": False,
    }


class Guard:
    """Counts the open connections of one server (from ``accept()`` to the socket's
    close), enforces the cap and remembers which connections still wait for their request
    head (the ones that make room at the cap)."""

    def __init__(self, cap: int, header_timeout: float) -> None:
        self.cap = cap
        self.header_timeout = header_timeout
        #: Accepted sockets not closed yet (what counts against the descriptor limit).
        self.count = 0
        #: Connections that have not sent a whole request head yet, oldest first: the ones
        #: that have sent part of it, and the ones that have sent nothing.
        self.started: dict[GuardedProtocol, None] = {}
        self.silent: dict[GuardedProtocol, None] = {}
        self.listeners: list[Listener] = []
        self.timed_out = Throttled(log, "closed connections that sent no request head in time")
        self.replaced = Throttled(
            log, "connection cap reached: closed a connection that had not sent its request"
        )
        self.held = Throttled(log, "connection cap reached: new connections wait until one closes")
        self.accept_errors = Throttled(log, "cannot accept connections")

    def stats(self) -> dict[str, int]:
        return {
            "open": self.count,
            "cap": self.cap,
            "waiting_for_headers": len(self.started) + len(self.silent),
            "header_timeouts": self.timed_out.total,
            "replaced": self.replaced.total,
            "held": self.held.total,
        }

    def has_room(self) -> bool:
        return self.count < self.cap

    def make_room(self) -> None:
        """At the cap: close one connection still waiting for its request head (its
        descriptor is free once it is closed, and then the next one is accepted).

        Which one matters under attack, when connections last a few milliseconds each:
        closing simply the oldest also closed real clients whose request was a little late
        (a slow link, a busy client) or had arrived but was not read yet (a busy loop). So
        the choice is the oldest that has sent part of a head but not its end (read or
        still queued), then the oldest that has sent nothing; one whose whole head is
        already queued is never chosen. At most :data:`ROOM_SCAN` are looked at.

        With none to close, new connections wait in the kernel's queue until one closes."""
        victim: GuardedProtocol | None = None
        candidates = itertools.chain(self.started, self.silent)
        for conn in itertools.islice(candidates, ROOM_SCAN):
            sent = conn.sent()
            if sent is Sent.WHOLE_HEAD:
                continue  # about to be read and served
            if sent is Sent.PART or conn in self.started:
                victim = conn
                break
            if victim is None:
                victim = conn  # the oldest silent one, unless a slow one comes after it
        if victim is not None:
            self.replaced.note(f"cap {self.cap}")
            victim.drop()
        else:
            self.held.note(f"{self.count} open, cap {self.cap}")

    def waiting(self, conn: GuardedProtocol, *, started: bool) -> None:
        """``conn`` is waiting for its request head, and has sent part of it or not (a
        connection keeps its place among the started ones from its first bytes on)."""
        if started:
            self.silent.pop(conn, None)
            self.started[conn] = None
        else:
            self.silent[conn] = None

    def not_waiting(self, conn: GuardedProtocol) -> None:
        """``conn`` has sent its whole head, or is closed."""
        self.started.pop(conn, None)
        self.silent.pop(conn, None)

    def accepted(self) -> None:
        self.count += 1

    def closed(self) -> None:
        self.count -= 1
        for listener in self.listeners:
            listener.resume()


#: The running server's guard (``limelight run`` only), for ``/healthz``.
GUARD = web.AppKey("guard", Guard)


class Sent(enum.Enum):
    """What a connection waiting for its request head has queued in the kernel's buffer,
    not read by the loop yet."""

    NOTHING = "nothing"
    #: Bytes without the end of the head: from a slow client, or a head cut in two.
    PART = "part"
    #: The end of the head: the next turn of the loop reads it and serves the request.
    WHOLE_HEAD = "whole head"


class GuardedProtocol(asyncio.Protocol):
    """Passes everything to aiohttp's request handler, watching for the end of the first
    request head (``\\r\\n\\r\\n``) to enforce the header timeout.

    ``sock`` is the accepted socket itself (the transport's is a wrapper that cannot
    ``recv``): :meth:`sent` peeks at what it holds unread."""

    def __init__(self, inner: asyncio.Protocol, guard: Guard, sock: socket.socket) -> None:
        self.inner = inner
        self.guard = guard
        self.sock = sock
        self.transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._tail = b""
        self._heard = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.guard.waiting(self, started=False)
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(self.guard.header_timeout, self._too_slow)
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self._heard:
            seen = self._tail + data
            if b"\r\n\r\n" in seen:
                self._heard = True
                self.guard.not_waiting(self)
                self._cancel_timer()
            else:
                self._tail = seen[-3:]
                self.guard.waiting(self, started=True)
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        self.guard.not_waiting(self)
        self.guard.closed()
        self.inner.connection_lost(exc)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _too_slow(self) -> None:
        self._timer = None
        if not self._heard:
            self.guard.timed_out.note(f"within {self.guard.header_timeout:g} s")
            self.drop()

    def sent(self) -> Sent:
        """What this connection has queued unread (a peek, which leaves the bytes for the
        transport to read)."""
        try:
            queued = self.sock.recv(PEEK_BYTES, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return Sent.NOTHING
        except OSError:
            return Sent.PART  # reset or broken: as good to close as a slow client
        if len(queued) == PEEK_BYTES or b"\r\n\r\n" in self._tail + queued:
            return Sent.WHOLE_HEAD
        return Sent.PART  # some bytes, or none and the end of the stream (b"")

    def drop(self) -> None:
        """Close at once; the descriptor counts until the socket is really closed."""
        self.guard.not_waiting(self)
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()


#: Connections accepted per wake-up of the listening socket.
ACCEPT_BURST = 32
#: Errors of ``accept()`` that mean the process ran out of something (descriptors,
#: memory): accepting pauses for a moment instead of spinning.
OUT_OF_RESOURCES = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
#: Seconds accepting pauses after running out of resources.
ACCEPT_RETRY = 1.0


class Listener:
    """An accept loop that counts each socket from ``accept()`` on, so the process never
    holds more client sockets than the cap: at the cap it stops accepting (connections
    wait in the kernel's queue) until one closes."""

    def __init__(
        self,
        sock: socket.socket,
        protocol: Callable[[socket.socket], asyncio.Protocol],
        guard: Guard,
    ) -> None:
        self.sock = sock
        self.protocol = protocol
        self.guard = guard
        self.loop = asyncio.get_running_loop()
        self.reading = False
        self.closed = False
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        self.sock.listen(BACKLOG)
        self.guard.listeners.append(self)
        self.resume()

    def resume(self) -> None:
        if not self.reading and not self.closed:
            self.loop.add_reader(self.sock.fileno(), self._readable)
            self.reading = True

    def pause(self) -> None:
        if self.reading:
            self.loop.remove_reader(self.sock.fileno())
            self.reading = False

    def close(self) -> None:
        self.pause()
        self.closed = True
        if self in self.guard.listeners:
            self.guard.listeners.remove(self)
        self.sock.close()

    def _readable(self) -> None:
        for _ in range(ACCEPT_BURST):
            if not self.guard.has_room():
                self.pause()
                self.guard.make_room()
                return
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in OUT_OF_RESOURCES:
                    self.guard.accept_errors.note(exc.strerror or str(exc))
                    self.pause()
                    self.loop.call_later(ACCEPT_RETRY, self.resume)
                    return
                continue  # the client gave up before it was accepted (ECONNABORTED)
            conn.setblocking(False)
            self.guard.accepted()
            task = self.loop.create_task(self._connect(conn))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _connect(self, conn: socket.socket) -> None:
        try:
            await self.loop.connect_accepted_socket(lambda: self.protocol(conn), conn)
        except Exception as exc:  # the client left in between
            log.debug("could not set up an accepted connection: %s", exc)
            conn.close()
            self.guard.closed()


class GuardedSite(web.BaseSite):
    """A site on an already bound socket whose connections pass through a :class:`Guard`."""

    __slots__ = ("_guard", "_listener", "_name", "_sock")

    def __init__(self, runner: web.BaseRunner, sock: socket.socket, guard: Guard) -> None:
        super().__init__(runner, backlog=BACKLOG)
        self._sock = sock
        self._guard = guard
        self._listener: Listener | None = None
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

        def protocol(conn: socket.socket) -> asyncio.Protocol:
            return GuardedProtocol(server(), guard, conn)

        self._listener = Listener(self._sock, protocol, guard)
        self._listener.start()

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
        await super().stop()
