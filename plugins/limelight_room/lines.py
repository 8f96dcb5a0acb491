"""The room's history in the database, so a restart does not empty the room.

The room shows a line first and writes it after: :meth:`LineStore.add` and
:meth:`LineStore.forget` only queue, and one writer task applies the queue in order (a
run of new lines is one ``INSERT``, then deletions, then the prune to the newest
``keep`` rows). A member's message never waits on the database, and a deletion queued
after a line is applied after it, so a deleted line cannot come back.

What survives what:

* a clean stop (SIGTERM, ``limelight`` restarting) waits for the queue
  (:meth:`LineStore.close`, from the plugin's ``shutdown``, within the second a stop gives
  each plugin): every line a member saw is there after the restart, and every deletion a
  moderator made;
* a crash (SIGKILL, power loss) loses what was still queued: the lines and deletions of
  the last moments (the writer is usually a few milliseconds behind). The event log still
  holds every line (``chat.message`` events), and a deletion that was lost leaves its
  ``chat.deleted`` event there too;
* a database error while writing loses that batch from the history (logged), never the
  room itself.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from .models import RoomLine


@dataclass(frozen=True)
class _Forget:
    ids: frozenset[str]
    #: Every line of this viewer ("platform:id"), too.
    viewer: str = ""


class LineStore:
    """Room lines written behind the room, loaded at startup, pruned to ``keep``."""

    def __init__(self, keep: int, log: logging.Logger) -> None:
        self.keep = max(keep, 1)
        self.log = log
        self._queue: list[dict[str, Any] | _Forget] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    async def load(self) -> list[dict[str, Any]]:
        """The newest ``keep`` lines, oldest first (what the room's history starts with)."""
        rows = await RoomLine.all().order_by("-id").limit(self.keep)
        return [dict(row.data) for row in reversed(rows)]

    def start(self) -> None:
        if self._task is None:
            self._closing = False
            self._task = asyncio.ensure_future(self._run())

    def add(self, line: dict[str, Any]) -> None:
        self._queue.append(line)
        self._wake.set()

    def forget(self, ids: set[str], viewer: str = "") -> None:
        if ids or viewer:
            self._queue.append(_Forget(frozenset(ids), viewer))
            self._wake.set()

    async def close(self) -> None:
        """Write what is queued, then stop the writer."""
        self._closing = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            await task

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    await self._write(batch)
                except Exception:
                    self.log.exception(
                        "room: writing %d history change(s) failed; they are not kept",
                        len(batch),
                    )
            if self._closing:
                return

    async def _write(self, batch: list[dict[str, Any] | _Forget]) -> None:
        lines: list[dict[str, Any]] = []
        for item in batch:
            if isinstance(item, dict):
                lines.append(item)
                continue
            await self._insert(lines)
            lines = []
            if item.ids:
                await RoomLine.filter(line_id__in=sorted(item.ids)).delete()
            if item.viewer:
                await RoomLine.filter(viewer=item.viewer).delete()
        await self._insert(lines)
        await self._prune()

    @staticmethod
    async def _insert(lines: list[dict[str, Any]]) -> None:
        if lines:
            await RoomLine.bulk_create(
                [
                    RoomLine(line_id=str(line["id"]), viewer=str(line["viewer"]), data=line)
                    for line in lines
                ]
            )

    async def _prune(self) -> None:
        oldest_kept = await RoomLine.all().order_by("-id").offset(self.keep - 1).first()
        if oldest_kept is not None:
            await RoomLine.filter(id__lt=oldest_kept.id).delete()


__all__ = ["LineStore"]
