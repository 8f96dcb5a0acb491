"""The scheduler behind ``ctx.scheduler``: one-off work, and work rebuilt from the database.

Jobs that belong to rows (a drop's start, a membership's expiry) are rebuilt from those rows
in ``startup``: a restart loses nothing and runs what fell due while it was down, once.
The ``reminders`` fixture plugin (tests/fixtures/apps/reminders) is such a plugin.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from limelight import CustomEvent, Money, Tip, Transaction, hookimpl
from limelight.testing import HookPlugin

from tests.fixtures.apps import reminders
from tests.fixtures.apps.reminders.models import Reminder
from tests.support import wait_until


async def test_run_at_with_a_past_time_runs_once_at_startup(limelight):
    runs: list[str] = []
    ran = asyncio.Event()

    class Late:
        @hookimpl
        def startup(self, ctx: Any) -> None:
            ctx.scheduler.run_at(
                datetime.now(UTC) - timedelta(hours=3), self.fire, id="late", args=("late",)
            )

        async def fire(self, what: str) -> None:
            runs.append(what)
            ran.set()

    h = await limelight(plugins={"late": Late()})
    await asyncio.wait_for(ran.wait(), 5)
    assert runs == ["late"]
    assert h.ctx("late").scheduler.next_run("late") is None  # one-off: gone once it ran


async def test_run_at_replaces_a_job_with_the_same_id_and_cancel_removes_it(limelight):
    h = await limelight(plugins={"p": type("P", (), {})()})
    scheduler = h.ctx("p").scheduler
    later = datetime.now(UTC) + timedelta(days=1)
    scheduler.run_at(later, lambda: None, id="x")
    scheduler.run_at(later + timedelta(hours=1), lambda: None, id="x")
    assert scheduler.next_run("x") == later + timedelta(hours=1)
    assert [j["id"] for j in h.services.scheduler.jobs()].count("p:x") == 1
    assert scheduler.cancel("x") and scheduler.next_run("x") is None
    assert not scheduler.cancel("x")


async def test_naive_times_are_taken_as_utc(limelight):
    h = await limelight(plugins={"p": type("P", (), {})()})
    scheduler = h.ctx("p").scheduler
    naive = datetime(2100, 1, 1, 12, 0)
    scheduler.run_at(naive, lambda: None, id="naive")
    assert scheduler.next_run("naive") == naive.replace(tzinfo=UTC)


async def test_every_runs_repeatedly(limelight):
    ticks = 0

    def tick() -> None:
        nonlocal ticks
        ticks += 1

    h = await limelight(plugins={"p": type("P", (), {})()})
    h.ctx("p").scheduler.every(tick, id="tick", seconds=0.02)
    await wait_until(lambda: ticks >= 3)


async def test_jobs_rebuilt_from_rows_after_a_restart_run_what_fell_due_once(
    database_url, limelight
):
    h1 = await limelight(plugins={"reminders": reminders}, database_url=database_url)
    now = datetime.now(UTC)
    # Rows as the server left them when it stopped. The plugin schedules rows at startup
    # (and, in real life, when it creates them); these were never scheduled in this run, like
    # a due time that passed while the server was down.
    overdue = await Reminder.create(text="start the drop", due_at=now - timedelta(minutes=5))
    future = await Reminder.create(text="end the drop", due_at=now + timedelta(days=2))
    done = await Reminder.create(
        text="already ran", due_at=now - timedelta(days=1), done=True, runs=1
    )
    await h1.close()

    h2 = await limelight(plugins={"reminders": reminders}, database_url=database_url)

    async def overdue_ran() -> bool:
        return (await Reminder.get(id=overdue.id)).done

    await wait_until(overdue_ran)
    scheduler = h2.ctx("reminders").scheduler
    assert scheduler.next_run(f"reminder-{overdue.id}") is None
    assert scheduler.next_run(f"reminder-{future.id}") == future.due_at
    assert scheduler.next_run(f"reminder-{done.id}") is None
    await h2.close()

    h3 = await limelight(plugins={"reminders": reminders}, database_url=database_url)
    assert h3.ctx("reminders").scheduler.next_run(f"reminder-{overdue.id}") is None
    rows = {r.id: (r.done, r.runs) for r in await Reminder.all()}
    assert rows == {overdue.id: (True, 1), future.id: (False, 0), done.id: (True, 1)}


async def test_scheduled_job_failures_are_logged_with_the_plugin_name(limelight, caplog):
    failed = asyncio.Event()

    def boom() -> None:
        failed.set()
        raise RuntimeError("job exploded")

    h = await limelight(plugins={"p": type("P", (), {})()})
    h.ctx("p").scheduler.run_at(datetime.now(UTC), boom, id="boom")
    await asyncio.wait_for(failed.wait(), 5)
    await wait_until(lambda: h.services.scheduler.failures == 1)
    assert any("plugin p: scheduled job p:boom failed" in r.getMessage() for r in caplog.records)


async def test_a_job_scheduled_from_a_commit_may_publish(limelight):
    """A job that ``record_events`` schedules for now (in an ``on_commit`` callback, still
    in the batch's context) runs as ordinary code: its publish is accepted, not refused as
    a publish from inside the batch (a membership ended now announces its end)."""
    fired: list[Any] = []
    h: Any = None

    async def announce() -> None:
        fired.append(
            await h.ctx("p").publish(CustomEvent(custom_type="p.done", source="p", source_id="d1"))
        )

    async def record_events(events: list[Any], tx: Transaction, ctx: Any) -> None:
        tx.on_commit(lambda: ctx.scheduler.run_at(datetime.now(UTC), announce, id="now"))

    h = await limelight(plugins={"p": HookPlugin(record_events=record_events)})
    await h.publish(Tip(source="t", source_id="t1", amount=Money(500, "USD")))
    await wait_until(lambda: fired or h.services.scheduler.failures)
    assert h.services.scheduler.failures == 0
    assert len(fired) == 1 and not fired[0].duplicate
