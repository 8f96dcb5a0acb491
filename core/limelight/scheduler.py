"""Scheduling on APScheduler's asyncio scheduler, behind ``ctx.scheduler``.

Job stores stay in memory on purpose: work that belongs to a database row (a drop's start,
a membership's expiry) is rebuilt from that row in the plugin's ``startup`` with
:meth:`PluginScheduler.run_at`. A time already past runs at once, exactly once, because the
row is the truth and the plugin marks it done when the job runs; so a restart loses nothing
and never runs a job twice.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from .commit import _IN_WRITER
from .registry import Job, plugin_args

log = logging.getLogger("limelight.scheduler")


class Scheduler:
    def __init__(self) -> None:
        self._aps = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "misfire_grace_time": None, "max_instances": 1},
        )
        self.failures = 0

    def start(self) -> None:
        if not self._aps.running:
            self._aps.start()

    def shutdown(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=False)

    @property
    def running(self) -> bool:
        return bool(self._aps.running)

    def _guard(self, owner: str, job_id: str, func: Callable[..., Any]) -> Callable[..., Any]:
        """Run ``func`` with its failures logged under the owning plugin's name, as
        ordinary code: APScheduler's timers run in the context of whatever woke the
        scheduler last, and a job scheduled from an ``on_commit`` callback (a membership
        ended now, in ``record_events``) would otherwise still count as inside that batch
        and be refused when it publishes."""

        async def run(*args: Any) -> None:
            _IN_WRITER.set(False)
            try:
                result = func(*args)
                if inspect.isawaitable(result):
                    await result
            except Exception:
                self.failures += 1
                log.exception("plugin %s: scheduled job %s failed", owner, job_id)

        return run

    def add(
        self,
        owner: str,
        job_id: str,
        func: Callable[..., Any],
        trigger: Any,
        args: tuple[Any, ...] = (),
        **trigger_args: Any,
    ) -> None:
        self._aps.add_job(
            self._guard(owner, job_id, func),
            trigger,
            args=args,
            id=job_id,
            name=job_id,
            replace_existing=True,
            **trigger_args,
        )

    def remove(self, job_id: str) -> bool:
        job = self._aps.get_job(job_id)
        if job is None:
            return False
        job.remove()
        return True

    def jobs(self) -> list[dict[str, Any]]:
        return [
            {"id": j.id, "next_run": j.next_run_time.isoformat() if j.next_run_time else None}
            for j in self._aps.get_jobs()
        ]

    def next_run(self, job_id: str) -> datetime | None:
        job = self._aps.get_job(job_id)
        return job.next_run_time if job else None


class PluginScheduler:
    """One plugin's view of the scheduler: job ids are namespaced ``<plugin>:<id>``."""

    def __init__(self, scheduler: Scheduler, plugin: str) -> None:
        self._s = scheduler
        self.plugin = plugin

    def _id(self, job_id: str) -> str:
        return f"{self.plugin}:{job_id}"

    def run_at(
        self, when: datetime, func: Callable[..., Any], *, id: str, args: tuple[Any, ...] = ()
    ) -> None:
        """Run ``func(*args)`` once at ``when``; a time already past runs now. Replaces any
        job with the same id, so rebuilding from the database at startup is idempotent."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        self._s.add(self.plugin, self._id(id), func, DateTrigger(run_date=when), args=args)

    def every(
        self,
        func: Callable[..., Any],
        *,
        id: str,
        seconds: float = 0,
        minutes: float = 0,
        hours: float = 0,
        args: tuple[Any, ...] = (),
    ) -> None:
        self._s.add(
            self.plugin,
            self._id(id),
            func,
            "interval",
            args=args,
            seconds=seconds,
            minutes=minutes,
            hours=hours,
        )

    def add_job(self, job: Job, ctx: Any) -> None:
        args = plugin_args(job.func, ctx)
        self._s.add(
            self.plugin, self._id(job.id), job.func, job.trigger, args=args, **job.trigger_args
        )

    def cancel(self, id: str) -> bool:
        return self._s.remove(self._id(id))

    def cancel_all(self) -> int:
        """Remove every job of this plugin (it was disabled); returns how many went."""
        prefix = f"{self.plugin}:"
        ids = [j["id"] for j in self._s.jobs() if j["id"].startswith(prefix)]
        for job_id in ids:
            self._s.remove(job_id)
        return len(ids)

    def next_run(self, id: str) -> datetime | None:
        return self._s.next_run(self._id(id))
