"""The leaderboard and the tip goal: recomputed from the ledger, handed to the overlays.

Read on ``ctx.db.reader``: over years of tips the all-time board is a scan of the whole
ledger (~0.7 s for 200,000 rows), and on SQLite's one writing connection every commit
behind it (a webhook's 2xx, an alert) would wait that long.

Why on its own: the boards are derived data, never written with a tip. A tip only marks
them out of date; one task recomputes them at most about once a second whatever the burst
(less often while the database is busy), so a thousand tips cost a few board queries, not
a thousand. "This stream" starts at the last ``stream.online`` (or the dashboard's reset),
kept in ``tips_state`` across restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import datetime
from typing import Any

from limelight import PluginContext, ViewerRef

from . import ledger
from .config import Period, TipsConfig
from .ledger import Converter
from .models import TipsState
from .people import People

PERIOD_TITLES: dict[Period, str] = {
    "stream": "This stream",
    "month": "This month",
    "all": "All time",
}
#: The periods by name, for reading one from a request.
PERIODS: dict[str, Period] = {period: period for period in PERIOD_TITLES}
#: The leaderboard overlay's state key of each period.
BOARD_KEYS: dict[Period, str] = {"stream": "stream", "month": "month", "all": "all_time"}
#: Seconds between two refreshes at least.
LEADERBOARD_INTERVAL = 1.0
#: Seconds between two refreshes at most while a change waits, however slow the last one
#: was: one refresh stalled behind a burst of writes must not leave the boards stale for
#: a minute after the burst.
LEADERBOARD_MAX_WAIT = 5.0
#: How a supporter who opted out of being named is ranked.
HIDDEN_NAME = "Anonymous supporter"


class Boards:
    def __init__(
        self, ctx: PluginContext[TipsConfig], converter: Converter, people: People
    ) -> None:
        self.ctx = ctx
        self.converter = converter
        self.people = people
        self.stream_started: datetime | None = None
        self._dirty = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        row = await TipsState.get_or_none(key="stream_started")
        if row is not None and row.value.get("at"):
            self.stream_started = datetime.fromisoformat(row.value["at"])
        self._dirty.set()
        self._task = asyncio.create_task(self._refresh_loop(), name="tips:boards")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def mark_dirty(self) -> None:
        """The ledger or a name changed: refresh soon (many calls, one refresh)."""
        self._dirty.set()

    async def set_stream_start(self, when: datetime) -> None:
        self.stream_started = when
        await TipsState.update_or_create(
            key="stream_started", defaults={"value": {"at": when.isoformat()}}
        )
        self.mark_dirty()

    async def _refresh_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            started = time.monotonic()
            try:
                await self.refresh()
            except Exception:
                self.ctx.log.exception("could not update the leaderboard")
            # Under a burst the database is busy: refresh less often rather than compete.
            took = time.monotonic() - started
            await asyncio.sleep(min(max(LEADERBOARD_INTERVAL, 4 * took), LEADERBOARD_MAX_WAIT))

    async def refresh(self) -> None:
        """Recompute the boards and the goal and hand them to the overlays."""
        config, overlays = self.ctx.config, self.ctx.overlays
        for period, key in BOARD_KEYS.items():
            await overlays.set_state(config.leaderboard_overlay, key, await self.board(period))
        goal = await self.goal()
        if goal is not None:
            await overlays.set_state(config.goal_overlay, "tips", goal)

    async def board(self, period: Period, size: int | None = None) -> dict[str, Any]:
        """One board as the leaderboard overlay and the dashboard read it."""
        since = ledger.period_start(period, self.stream_started)
        currency, ranked = await ledger.leaderboard(
            self.converter,
            since=since,
            size=size or self.ctx.config.leaderboard_size,
            using=self.ctx.db.reader,
        )
        entries = []
        for place in ranked:
            name = place.name
            if place.viewer is not None:
                who = ViewerRef(place.viewer[0], place.viewer[1], name)
                if (await self.people.person(who)).hide_name:
                    name = HIDDEN_NAME
            shown = self.ctx.money(place.money)
            entries.append(
                {
                    "rank": place.rank,
                    "name": name,
                    "amount": place.money.to_wire(),
                    "currency": place.money.currency,
                    "display": shown,
                    "value": shown,
                }
            )
        return {
            "title": PERIOD_TITLES[period],
            "period": period,
            "currency": currency,
            "entries": entries,
        }

    async def goal(self) -> dict[str, Any] | None:
        config = self.ctx.config
        if not config.goal_target:
            return None
        since = ledger.period_start(config.goal_period, self.stream_started)
        current = await ledger.total_in(self.converter, since=since, using=self.ctx.db.reader)
        target = ledger.parse_threshold(config.goal_target, current.currency)
        percent = (
            0 if target.minor <= 0 else min(100, max(0, round(100 * current.minor / target.minor)))
        )
        return {
            "title": config.goal_title,
            # the goal overlay compares numbers in one unit: minor units here
            "current": current.minor,
            "target": target.minor,
            "unit": current.currency,
            "amount": current.to_wire(),
            "target_amount": target.to_wire(),
            "currency": current.currency,
            "percent": percent,
            "label": f"{self.ctx.money(current)} / {self.ctx.money(target)}",
        }

    async def top_line(self, size: int = 3) -> str:
        """``!top``'s answer."""
        board = await self.board(self.ctx.config.top_period, size)
        title = str(board["title"]).lower()
        if not board["entries"]:
            return f"No tips yet ({title}). Type !tip to be the first!"
        parts = [f"{e['rank']}. {e['name']} {e['display']}" for e in board["entries"]]
        return f"Top supporters ({title}): " + ", ".join(parts)
