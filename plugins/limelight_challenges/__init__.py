"""Challenges: goals on any metric, over a window, with milestones that fire once.

A challenge counts a metric (tips, donations, bits, new members, paid guests hosted, chat
messages, unique chatters, minutes live, or a metric another plugin registers through the
``register_metrics`` hook) over a window (this stream, a day, a week, a month, or dates)
towards a target. Its milestones and its completion run actions through the core's
milestone engine (:mod:`limelight.milestones`): OBS, chat, alerts, badges for every
contributor, unlocked commands, VIP tiers. Reaching the target records the creator's
achievement. Recurring challenges start again in the next window by themselves.

Viewers type ``!challenges``; the ``challenges`` overlay shows progress bars with their
milestones; ``/p/challenges/`` is the dashboard to create, edit, pause and review them;
``/p/challenges/achievements`` lists what was completed. See docs/challenges.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from functools import cached_property

from limelight import (
    Badge,
    Call,
    Command,
    Event,
    Job,
    Models,
    Overlay,
    Plugin,
    Register,
    Route,
    StreamOffline,
    StreamOnline,
    Transaction,
    command,
    example,
    hookimpl,
)
from limelight.milestones import resume

from .config import ChallengesConfig
from .metrics import Metrics
from .progress import Progress
from .store import seed
from .web import OVERLAY, Dashboard
from .windows import system_now

__version__ = "0.1.0"

log = logging.getLogger("limelight.plugin.challenges")

#: The badge a challenge's rewards can give its contributors (``{do = "badge", badge =
#: "challenger"}``).
BADGE = Badge("challenger", "Challenger", "🏆", "Helped complete a stream challenge")


class ChallengesPlugin(Plugin[ChallengesConfig]):
    config_model = ChallengesConfig

    def __init__(self) -> None:
        super().__init__()
        #: The time windows follow; tests replace it with a clock they move.
        self.clock: Callable[[], datetime] = system_now
        self._dirty = False
        self._refresher: asyncio.Task[None] | None = None
        self._roller: asyncio.Lock | None = None

    # -- parts --------------------------------------------------------------------------------

    @cached_property
    def metrics(self) -> Metrics:
        return Metrics(self.config.currency, dict(self.config.rates))

    @cached_property
    def progress(self) -> Progress:
        progress = Progress(self.ctx, self.metrics, lambda: self.clock())
        progress.on_change = self.changed
        return progress

    @cached_property
    def dashboard(self) -> Dashboard:
        return Dashboard(self.ctx, self.progress, self.metrics, self.roll)

    # -- registration -------------------------------------------------------------------------

    @hookimpl
    def register_models(self, register: Register[Models]) -> None:
        register(
            Models("challenges", "limelight_challenges.models", "limelight_challenges.migrations")
        )

    @hookimpl
    def register_badges(self, register: Register[Badge]) -> None:
        register(BADGE)

    @hookimpl
    def register_overlays(self, register: Register[Overlay]) -> None:
        register(
            Overlay(
                OVERLAY,
                "challenges/progress.html",
                events=(),
                width=640,
                height=360,
                title="Challenges",
                description="Progress bars of the running challenges with their milestones; "
                "empty when none runs.",
            )
        )

    @hookimpl
    def register_routes(self, register: Register[Route]) -> None:
        for route in self.dashboard.routes():
            register(route)

    @hookimpl
    def register_jobs(self, register: Register[Job]) -> None:
        # The overlay's "time left" and a live stream's minutes move without any event.
        register(Job("tick", self.tick, "interval", {"minutes": 1}))

    def tick(self) -> None:
        if self.progress.open_runs:
            self.changed()

    @hookimpl
    def register_commands(self, register: Register[Command]) -> None:
        register(self.challenges_command)

    # -- commands -----------------------------------------------------------------------------

    @command("challenges", aliases=("challenge",), cooldown=5)
    @example("!challenges", r"(No challenges running right now\.|Challenges: .+)", regex=True)
    async def challenges_command(self, call: Call) -> str:
        """The running challenges and how far along they are."""
        parts = []
        for item in await self.dashboard.running():
            done = " ✔" if item["completed"] else ""
            left = f" ({item['left']})" if item["left"] and not item["completed"] else ""
            parts.append(f"{item['title']}: {item['progress']}{done}{left}")
        if not parts:
            return "No challenges running right now."
        return "Challenges: " + " · ".join(parts)

    # -- lifecycle ----------------------------------------------------------------------------

    @hookimpl
    async def startup(self) -> None:
        self._roller = asyncio.Lock()
        self.metrics.add_registered(self.ctx.metrics)
        await seed(self.config.challenges, self.clock())
        await self.roll()
        # Milestones whose actions a stop interrupted; badges and unlocks back in memory.
        await resume(self.ctx)

    @hookimpl
    async def shutdown(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()

    async def roll(self) -> None:
        """Open and close windows for the clock's time, then come back at the next
        boundary (the scheduler runs this at local midnight of a day/week/month change)."""
        assert self._roller is not None
        async with self._roller:
            upcoming = await self.progress.roll()
        if upcoming is not None:
            self.ctx.scheduler.run_at(upcoming, self.roll, id="roll")
        else:
            self.ctx.scheduler.cancel("roll")

    # -- events -------------------------------------------------------------------------------

    @hookimpl
    async def record_events(self, events: list[Event], tx: Transaction) -> Mapping[int, bool]:
        real = [e for e in events if e.id is not None and not e.test]
        if not real:
            return {}
        counted = await self.progress.count_many(real, tx)
        return {e.id: e.id in counted for e in real if e.id is not None}

    @hookimpl
    async def on_event(self, event: Event) -> None:
        if event.test:
            return
        if isinstance(event, StreamOnline):
            await self.progress.stream_online(event)
            return
        if isinstance(event, StreamOffline):
            await self.progress.stream_offline(event)
            return
        if self.ctx.recorded(event) is not None:
            return  # counted with its record_events
        if not self.progress.relevant(event):
            return
        # Chat, custom events, and money events dispatched again after a restart
        # (counted once: contributions are unique per run and counting key).
        await self.progress.count(event)

    # -- the overlay --------------------------------------------------------------------------

    def changed(self) -> None:
        """Something the overlay shows changed: push its state (coalesced)."""
        self._dirty = True
        if not self.ctx.running:
            return
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.get_running_loop().create_task(
                self._refresh(), name="challenges:overlay"
            )

    async def _refresh(self) -> None:
        while self._dirty:
            self._dirty = False
            try:
                await self.dashboard.push_overlay()
            except Exception:
                log.exception("the challenges overlay could not be updated")

    async def settle(self) -> None:
        """Wait until milestone actions and the overlay push are done (tests)."""
        await self.progress.settle()
        while self._refresher is not None and not self._refresher.done():
            await asyncio.wait({self._refresher})


__all__ = ["ChallengesPlugin"]
