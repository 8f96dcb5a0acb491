"""Which connection the cap closes (``limelight.web.server.Guard.make_room``), on real
loopback sockets: a slow client goes first, a request that has arrived is never cut.

Under a slowloris attack connections last milliseconds each at the cap, so the choice
decides whether a real client gets through: before, the oldest connection still waiting
for its head was closed, even when its request came a few milliseconds late or was in the
kernel's buffer waiting for a busy loop to read it (a CI run had a ``/healthz`` probe
reset during the slowloris fault test).
"""

from __future__ import annotations

import asyncio
import select
import socket
from collections.abc import AsyncIterator

import pytest
from limelight.web.server import Guard, GuardedProtocol

from tests.support import wait_until

HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
PART = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"


class Clients:
    """Loopback connections accepted into one guard, each behind a GuardedProtocol whose
    inner protocol does nothing (what the guard sees, without aiohttp)."""

    def __init__(self, guard: Guard) -> None:
        self.guard = guard
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.sockets: list[socket.socket] = []

    async def connect(self) -> tuple[socket.socket, GuardedProtocol]:
        loop = asyncio.get_running_loop()
        client = socket.create_connection(self.listener.getsockname())
        conn, _ = self.listener.accept()
        conn.setblocking(False)
        self.sockets += [client, conn]
        _, protocol = await loop.connect_accepted_socket(
            lambda: GuardedProtocol(asyncio.Protocol(), self.guard, conn), conn
        )
        await asyncio.sleep(0)  # connection_made has run
        assert isinstance(protocol, GuardedProtocol)
        return client, protocol

    def close(self) -> None:
        for sock in [self.listener, *self.sockets]:
            sock.close()


@pytest.fixture
async def clients() -> AsyncIterator[Clients]:
    made = Clients(Guard(cap=3, header_timeout=60))
    yield made
    made.close()


def queued(protocol: GuardedProtocol) -> None:
    """Wait (without letting the event loop run) until bytes sent to ``protocol``'s socket
    are in its receive buffer, unread."""
    readable, _, _ = select.select([protocol.sock], [], [], 5)
    assert readable, "the bytes sent never arrived"


def closed(protocol: GuardedProtocol) -> bool:
    return protocol.transport is not None and protocol.transport.is_closing()


async def test_at_the_cap_a_slow_client_goes_first_and_a_request_that_arrived_is_never_cut(
    clients: Clients,
) -> None:
    guard = clients.guard
    _, silent = await clients.connect()  # the oldest: connected, nothing sent yet
    arrived_client, arrived = await clients.connect()
    slow_client, slow = await clients.connect()
    slow_client.sendall(PART)
    await wait_until(lambda: slow in guard.started, timeout=5, interval=0.01)

    # The whole request of the second one arrives; the loop does not run before make_room.
    arrived_client.sendall(HEAD)
    queued(arrived)
    guard.make_room()
    assert closed(slow) and not closed(silent) and not closed(arrived)
    guard.make_room()
    assert closed(silent) and not closed(arrived)
    guard.make_room()  # only a request about to be read is left: nothing is cut
    assert not closed(arrived)
    assert guard.stats()["replaced"] == 2 and guard.stats()["held"] == 1

    # The loop reads it: it no longer waits for its head, and its client was never cut.
    await wait_until(lambda: arrived not in guard.silent, timeout=5, interval=0.01)
    assert guard.stats()["waiting_for_headers"] == 0
    arrived_client.setblocking(False)
    with pytest.raises(BlockingIOError):
        arrived_client.recv(1)  # open: no reset, no end of stream


async def test_bytes_not_read_yet_make_a_connection_slow_not_silent(clients: Clients) -> None:
    guard = clients.guard
    _, silent = await clients.connect()
    trickling_client, trickling = await clients.connect()
    trickling_client.sendall(PART)
    queued(trickling)  # still among the silent ones: the loop has not read it
    assert trickling in guard.silent
    guard.make_room()
    assert closed(trickling) and not closed(silent)


async def test_a_closed_connection_stops_waiting_and_its_place_is_not_kept(
    clients: Clients,
) -> None:
    guard = clients.guard
    client, protocol = await clients.connect()
    assert guard.stats()["waiting_for_headers"] == 1
    client.close()
    await wait_until(lambda: protocol not in guard.silent, timeout=5, interval=0.01)
    assert guard.stats()["waiting_for_headers"] == 0
