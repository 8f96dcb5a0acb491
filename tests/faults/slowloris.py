"""A slowloris attacker in a process of its own, for the fault tests.

It runs apart from the test as a real attacker does: its event loop does not share a GIL
with the ``/healthz`` probe beside it, so a probe's request is not held back whenever the
attacker's 1,100 connections keep the test's loop busy (the server would then see the
probe as one more client that connected and sent nothing). Kept small: the spawned process
imports only this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import socket
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event

HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
LINE = b"X-Slow: 1\r\n"


class Slowloris:
    """Keeps up to ``count`` connections that send a request head one header line at a
    time and never finish it; a connection the server closes is opened again. Use it as a
    context manager: the attack runs from ``__enter__`` until ``__exit__``."""

    def __init__(self, port: int, count: int) -> None:
        context = multiprocessing.get_context("spawn")
        self._opened: Synchronized[int] = context.Value("i", 0)
        self._closed: Synchronized[int] = context.Value("i", 0)
        self._refused: Synchronized[int] = context.Value("i", 0)
        self._stop = context.Event()
        self._process = context.Process(
            target=attack,
            args=(port, count, self._stop, self._opened, self._closed, self._refused),
            name="slowloris",
            daemon=True,
        )

    @property
    def opened(self) -> int:
        return self._opened.value

    @property
    def closed_by_server(self) -> int:
        return self._closed.value

    @property
    def refused(self) -> int:
        """Connections never accepted (the connect failed or timed out)."""
        return self._refused.value

    def __enter__(self) -> Slowloris:
        self._process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(30)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()


def add_one(value: Synchronized[int]) -> None:
    with value.get_lock():
        value.value += 1


def attack(
    port: int,
    connections: int,
    stop: Event,
    opened: Synchronized[int],
    closed: Synchronized[int],
    refused: Synchronized[int],
) -> None:
    """The attacker process: ``connections`` slow clients until ``stop`` is set."""

    async def one(stopping: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stopping.is_set():
            sock = socket.socket()
            sock.setblocking(False)
            connected = False
            try:
                await asyncio.wait_for(loop.sock_connect(sock, ("127.0.0.1", port)), 5)
                connected = True
                add_one(opened)
                await loop.sock_sendall(sock, HEAD)
                while not stopping.is_set():
                    await loop.sock_sendall(sock, LINE)
                    with contextlib.suppress(TimeoutError):
                        if not await asyncio.wait_for(loop.sock_recv(sock, 1), 0.5):
                            raise ConnectionResetError
            except (OSError, TimeoutError):
                add_one(closed if connected else refused)
            finally:
                sock.close()

    async def main() -> None:
        stopping = asyncio.Event()
        tasks = [asyncio.create_task(one(stopping)) for _ in range(connections)]
        await asyncio.to_thread(stop.wait)
        stopping.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
