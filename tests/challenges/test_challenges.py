"""Challenges: metrics, windows by a test clock, milestones once, rewards, commands, the
dashboard API and the achievements page."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from limelight import (
    CustomEvent,
    EventType,
    MembershipChanged,
    Metric,
    Money,
    NoConfig,
    Plugin,
    Refund,
    Register,
    StreamOffline,
    StreamOnline,
    hookimpl,
)
from limelight.milestones import claims
from limelight.models import MilestoneClaim
from limelight.testing import make_chat, make_tip, make_viewer
from limelight_challenges.models import Contribution, Run

from .conftest import START, StartChallenges, TestClock, weekly_tips


async def totals(c: Any) -> dict[str, int]:
    await c.plugin.progress.load()
    return {
        c.plugin.progress.challenges[cid].key: int(run.total)
        for cid, run in c.plugin.progress.open_runs.items()
    }


async def test_tips_count_towards_the_week_and_each_milestone_fires_once(
    challenges: StartChallenges,
) -> None:
    c = await challenges(weekly_tips())
    alice, bob = make_viewer("alice"), make_viewer("bob")
    await c.h.publish(make_tip("20.00", "EUR", alice))
    await c.settle()
    assert await totals(c) == {"tips-week": 2000}
    assert c.said() == []
    await c.h.publish(make_tip("10.00", "USD", bob))  # 5.00 EUR at the configured rate
    await c.settle()
    assert await totals(c) == {"tips-week": 2500}
    assert c.said() == ["Quarter of Tips this week: €25.00!"]
    await c.h.publish(make_tip("80.00", "EUR", alice))
    await c.settle()
    assert c.said()[1:] == [
        "Half of Tips this week: €105.00!",  # {total}: the total that crossed it
        "Challenge complete: Tips this week (€105.00 of €100.00)!",
    ]
    # The reward: every contributor holds the badge; the achievement is recorded.
    assert [b.name for b in c.h.ctx("challenges").badges.for_viewer(bob)] == ["challenger"]
    run = await Run.get(key="2026-W49")
    assert run.completed_at is not None
    await c.h.publish(make_tip("50.00", "EUR", bob))
    await c.settle()
    assert len(c.said()) == 3
    await c.h.chat_as("carol", "!challenges")
    assert c.said()[-1].endswith("Challenges: Tips this week: €155.00 / €100.00 ✔")
    page = await (await c.h.client.get("/p/challenges/achievements")).text()
    assert (
        "Tips this week" in page and "week of 2026-11-30" in page and "€155.00 of €100.00" in page
    )


async def test_a_tip_counted_while_the_challenges_are_reloaded_is_not_lost(
    challenges: StartChallenges, monkeypatch: Any
) -> None:
    """Every roll and every dashboard edit reads the challenges and their open runs again,
    while tips go on being counted. Here the read of the open runs is held back: until it
    is done the old state stands (the challenge is running, a tip counted meanwhile goes
    to it); a half-read state would have no open run, and the tip would count nowhere."""
    c = await challenges(weekly_tips())
    progress = c.plugin.progress
    await c.h.publish(make_tip("20.00", "EUR", make_viewer("alice")))
    await c.settle()
    real_filter = Run.filter
    reached, go_on = asyncio.Event(), asyncio.Event()

    class HeldRead:
        def __init__(self, query: Any) -> None:
            self.query = query

        def order_by(self, *fields: str) -> Any:
            async def read() -> Any:
                reached.set()
                await go_on.wait()
                return await self.query.order_by(*fields)

            return read()

    def filter_runs(*args: Any, **kwargs: Any) -> Any:
        query = real_filter(*args, **kwargs)
        return HeldRead(query) if kwargs == {"closed": False} else query

    monkeypatch.setattr(Run, "filter", filter_runs)
    reload = asyncio.create_task(progress.load())
    async with asyncio.timeout(60):
        await reached.wait()
    try:
        assert [progress.challenges[i].key for i in progress.open_runs] == ["tips-week"]
        await c.h.publish(make_tip("5.00", "EUR", make_viewer("bob")))
    finally:
        go_on.set()
        await reload
    monkeypatch.undo()
    await c.settle()
    assert await totals(c) == {"tips-week": 2500}


async def test_200_concurrent_tips_fire_each_milestone_exactly_once(
    challenges: StartChallenges, database_url: str
) -> None:
    c = await challenges(weekly_tips(target=20000), database_url=database_url)
    tips = [make_tip("1.00", "EUR", make_viewer(f"v{i % 37}")) for i in range(200)]
    results = await asyncio.gather(*(c.h.publish(t, settle=False) for t in tips))
    assert all(not r.duplicate for r in results)
    # The same 200 deliveries again (a provider retrying): nothing more counts.
    await asyncio.gather(*(c.h.publish(t, settle=False) for t in tips))
    await c.settle()
    assert await totals(c) == {"tips-week": 20000}
    said = c.said()
    # Each once ({total} is whatever total crossed it: one batch may cross several).
    for start in ("Quarter of Tips this week:", "Half of Tips this week:", "Challenge complete"):
        assert sum(line.startswith(start) for line in said) == 1, said
    assert len(said) == 3
    assert await MilestoneClaim.filter(owner="challenges").count() == 3
    assert await Contribution.all().count() == 200


async def test_a_refund_below_a_milestone_does_not_fire_it_again(
    challenges: StartChallenges, database_url: str
) -> None:
    c = await challenges(weekly_tips(), database_url=database_url)
    big = make_tip("30.00", "EUR", make_viewer("alice"))
    await c.h.publish(big)
    await c.settle()
    assert c.said() == ["Quarter of Tips this week: €30.00!"]
    await c.h.publish(
        Refund(
            source="test",
            source_id="refund-1",
            amount=Money(2000, "EUR"),
            original_source=big.source,
            original_id=big.source_id,
        )
    )
    await c.settle()
    assert await totals(c) == {"tips-week": 1000}
    [item] = (await c.api("GET", "/api/challenges"))[1]["challenges"]
    quarter = item["milestones"][0]
    assert quarter["label"] == "Quarter" and quarter["fired"] and not quarter["reached"]
    await c.h.publish(make_tip("20.00", "EUR", make_viewer("bob")))
    await c.settle()
    assert await totals(c) == {"tips-week": 3000}
    assert c.said() == ["Quarter of Tips this week: €30.00!"]  # not again


async def test_a_weekly_challenge_rolls_over_on_its_window_by_the_test_clock(
    challenges: StartChallenges,
) -> None:
    c = await challenges(weekly_tips(), timezone="Europe/Berlin")
    ctx = c.h.ctx("challenges")
    # The roll is scheduled at the next week boundary: Monday 00:00 in Berlin.
    boundary = datetime(2026, 12, 6, 23, 0, tzinfo=UTC)
    assert ctx.scheduler.next_run("roll") == boundary
    await c.h.publish(make_tip("30.00", "EUR", make_viewer("alice")))
    await c.settle()
    c.clock.set(boundary - timedelta(seconds=1))
    await c.run_due_roll()
    assert await totals(c) == {"tips-week": 3000}  # still the same week
    c.clock.set(boundary + timedelta(seconds=1))
    await c.run_due_roll()
    assert await totals(c) == {"tips-week": 0}
    runs = await Run.all().order_by("id")
    assert [(r.key, r.closed, int(r.total)) for r in runs] == [
        ("2026-W49", True, 3000),
        ("2026-W50", False, 0),
    ]
    assert ctx.scheduler.next_run("roll") == boundary + timedelta(days=7)
    # A fresh ladder: the new week's quarter fires again, once.
    await c.h.publish(make_tip("25.00", "EUR", make_viewer("bob")))
    await c.settle()
    assert c.said() == [
        "Quarter of Tips this week: €30.00!",
        "Quarter of Tips this week: €25.00!",
    ]


async def test_a_non_recurring_week_does_not_start_again(challenges: StartChallenges) -> None:
    c = await challenges(weekly_tips(recurring=False))
    c.clock.advance(days=7)
    await c.run_due_roll()
    assert await totals(c) == {}
    assert [r.key for r in await Run.all()] == ["2026-W49"]


async def test_minutes_live_counts_only_online_time(challenges: StartChallenges) -> None:
    c = await challenges(
        {
            "key": "hours",
            "title": "Stream 10 hours this week",
            "metric": "minutes_live",
            "target": 600,
            "window": "week",
            "milestones": [
                {"at": 120, "label": "2h", "actions": [{"do": "chat", "text": "{total} live!"}]}
            ],
        }
    )
    t0 = START + timedelta(hours=1)

    async def stream(n: int, start: datetime, minutes: float) -> None:
        await c.h.publish(StreamOnline(source="twitch", source_id=f"on-{n}", occurred_at=start))
        await c.h.publish(
            StreamOffline(
                source="twitch",
                source_id=f"off-{n}",
                occurred_at=start + timedelta(minutes=minutes),
            )
        )
        await c.settle()

    await stream(1, t0, 90.5)  # 90 whole minutes
    assert await totals(c) == {"hours": 90}
    # Offline for 5 hours: nothing counts; chat while offline adds no minutes either.
    await c.h.publish(make_chat("anyone here?"))
    await stream(2, t0 + timedelta(hours=6, minutes=30), 45)
    assert await totals(c) == {"hours": 135}
    assert c.said() == ["2 h 15 min live!"]
    # A stray offline without an online, and a replayed online, count nothing.
    await c.h.publish(StreamOffline(source="twitch", source_id="off-stray"))
    await c.settle()
    assert await totals(c) == {"hours": 135}
    # Live now: the overlay and !challenges count the running minutes too.
    c.clock.set(t0 + timedelta(hours=10))
    await c.h.publish(StreamOnline(source="twitch", source_id="on-3", occurred_at=c.clock.now))
    await c.settle()
    c.clock.advance(minutes=30)
    c.plugin.tick()  # the scheduler's minute job
    await c.settle()
    state = c.h.services.overlays.channel("challenges").state["progress"]
    assert state["challenges"][0]["progress"] == "2 h 45 min / 10 h"
    await c.h.chat_as("dave", "!challenges")
    assert c.said()[-1].endswith("Stream 10 hours this week: 2 h 45 min / 10 h (4 days left)")


async def test_a_stream_crossing_the_week_boundary_splits_its_minutes(
    challenges: StartChallenges,
) -> None:
    c = await challenges(
        {
            "key": "hours",
            "title": "Hours",
            "metric": "minutes_live",
            "target": 600,
            "window": "week",
        }
    )
    boundary = datetime(2026, 12, 7, tzinfo=UTC)
    await c.h.publish(
        StreamOnline(source="twitch", source_id="on", occurred_at=boundary - timedelta(minutes=40))
    )
    await c.settle()
    c.clock.set(boundary)
    await c.run_due_roll()
    await c.h.publish(
        StreamOffline(
            source="twitch", source_id="off", occurred_at=boundary + timedelta(minutes=20)
        )
    )
    await c.settle()
    runs = {r.key: int(r.total) for r in await Run.all()}
    assert runs == {"2026-W49": 40, "2026-W50": 20}


async def test_stream_windows_open_and_close_with_the_stream(
    challenges: StartChallenges,
) -> None:
    c = await challenges(
        {
            "key": "bits",
            "title": "1,000 bits unlock the spicy round",
            "metric": "chat_messages",
            "target": 3,
            "window": "stream",
            "audience": "viewer",
        },
        {
            "key": "chatters",
            "title": "Chatters",
            "metric": "unique_chatters",
            "target": 50,
            "window": "stream",
        },
    )
    await c.h.chat_as("alice", "before the stream")
    assert await totals(c) == {}
    await c.h.publish(StreamOnline(source="twitch", source_id="on-1", occurred_at=c.clock.now))
    await c.settle()
    for text, who in (("hi", "alice"), ("hello", "alice"), ("yo", "bob")):
        await c.h.chat_as(who, text)
    assert await totals(c) == {"bits": 3, "chatters": 2}
    # a count's unit once: not "(3 messages of 3 messages)"
    assert "Challenge complete: 1,000 bits unlock the spicy round (3 of 3 messages)!" in c.said()
    # A count names its unit once: "2 / 50 chatters", not "2 chatters / 50 chatters".
    await c.h.chat_as("carol", "!challenges")
    assert "Chatters: 2 / 50 chatters" in c.said()[-1]
    await c.h.publish(StreamOffline(source="twitch", source_id="off-1", occurred_at=c.clock.now))
    await c.settle()
    assert await totals(c) == {}
    await c.h.publish(StreamOnline(source="twitch", source_id="on-2", occurred_at=c.clock.now))
    await c.settle()
    assert await totals(c) == {"bits": 0, "chatters": 0}


async def test_new_members_count_once_per_viewer(challenges: StartChallenges) -> None:
    c = await challenges(
        {
            "key": "members",
            "title": "50 new members",
            "metric": "new_members",
            "target": 50,
            "window": "month",
        }
    )
    alice = make_viewer("alice")
    for n, status in enumerate(("granted", "renewed", "expired", "granted")):
        await c.h.publish(
            MembershipChanged(
                source="vip", source_id=f"m-{n}", viewer=alice, level="gold", status=status
            )
        )
    await c.h.publish(
        MembershipChanged(
            source="vip", source_id="m-9", viewer=make_viewer("bob"), level="gold", status="new"
        )
    )
    await c.settle()
    assert await totals(c) == {"members": 2}
    assert (await Run.get()).key == "2026-12"


class Shop(Plugin[NoConfig]):
    """Another plugin with a metric of its own (paid guests hosted, weighted by slot)."""

    @hookimpl
    def register_event_types(self, register: Register[EventType]) -> None:
        register(EventType("shop.guest_hosted"))

    @hookimpl
    def register_metrics(self, register: Register[Metric]) -> None:
        register(
            Metric(
                "shop.guest_minutes",
                "Guest minutes",
                events=("shop.guest_hosted",),
                measure=self.minutes,
                unit="minutes",
            )
        )

    def minutes(self, event: Any) -> int:
        return int(event.payload.get("minutes", 0))


async def test_hook_register_metrics_a_plugin_metric_counts_in_a_challenge(
    challenges: StartChallenges,
) -> None:
    c = await challenges(
        {"key": "guests", "title": "Host 3 guests", "metric": "guests_hosted", "target": 3},
        {"key": "gm", "title": "Guest minutes", "metric": "shop.guest_minutes", "target": 60},
        plugins={"shop": Shop},
    )
    metrics = {m["name"] for m in (await c.api("GET", "/api/challenges"))[1]["metrics"]}
    assert {"shop.guest_minutes", "guests_hosted", "minutes_live", "tips"} <= metrics
    for n in range(2):
        event = CustomEvent(
            custom_type="shop.guest_hosted",
            source="shop",
            source_id=f"slot-{n}",
            viewer=make_viewer(f"guest{n}"),
            payload={"minutes": 25},
        )
        await c.h.publish(event)
    await c.settle()
    assert await totals(c) == {"guests": 2, "gm": 50}


async def test_paused_challenges_count_nothing_and_the_dashboard_edits_them(
    challenges: StartChallenges,
) -> None:
    c = await challenges(weekly_tips())
    [item] = (await c.api("GET", "/api/challenges"))[1]["challenges"]
    cid = item["id"]
    headers = await c.h.login()
    response = await c.h.client.post(f"/api/challenges/{cid}/pause", headers=headers)
    assert response.status == 200, await response.text()
    await c.h.publish(make_tip("30.00", "EUR"))
    await c.settle()
    assert await totals(c) == {"tips-week": 0}
    assert await c.h.chat_as("x", "!challenges") and c.said()[-1].endswith(
        "No challenges running right now."
    )
    # Edit (target and a milestone); the edit keeps it paused; resume; count again.
    settings = dict(item["settings"], target=4000, milestones=[{"at": 1000, "label": "Tenner"}])
    response = await c.h.client.post(f"/api/challenges/{cid}", json=settings, headers=headers)
    body = await response.json()
    assert response.status == 200, body
    assert body["challenge"]["paused"] and body["challenge"]["target"] == 4000
    await c.h.client.post(f"/api/challenges/{cid}/resume", headers=headers)
    await c.h.publish(make_tip("45.00", "EUR"))
    await c.settle()
    assert await totals(c) == {"tips-week": 4500}
    review = (await c.api("GET", f"/api/challenges/{cid}/review"))[1]
    [run] = review["runs"]
    assert run["completed_at"] is not None and run["contributions"] == 1
    fired = {m["label"]: m for m in run["milestones"]}
    assert set(fired) == {"Tenner", "Completed"}
    assert [a["state"] for a in fired["Completed"]["actions"]] == ["done", "done"]


async def test_the_dashboard_creates_challenges_and_refuses_bad_ones(
    challenges: StartChallenges,
) -> None:
    c = await challenges()
    page = await c.h.client.get("/p/challenges/", headers=c.h.admin_headers)
    assert page.status == 200 and "challenges.js" in await page.text()
    bad = [
        ({"key": "x", "title": "t", "metric": "nope", "target": 5}, "metric: unknown metric"),
        ({"key": "Bad Key", "title": "t", "metric": "tips", "target": 5}, "key"),
        ({"key": "x", "title": "t", "metric": "tips", "target": 0}, "target"),
        ({"key": "x", "title": "t", "metric": "tips", "target": 5, "window": "dates"}, "dates"),
        (
            {"key": "x", "title": "t", "metric": "tips", "target": 5, "milestones": [{"at": 9}]},
            "beyond the target",
        ),
        (
            {
                "key": "x",
                "title": "t",
                "metric": "tips",
                "target": 5,
                "rewards": [{"do": "rm -rf"}],
            },
            "rewards",
        ),
    ]
    for body, why in bad:
        status, answer = await c.api("POST", "/api/challenges", body)
        assert status == 400 and why in answer["error"], (body, answer)
    status, answer = await c.api(
        "POST",
        "/api/challenges",
        {
            "key": "drive",
            "title": "Holiday drive",
            "metric": "donations",
            "target": 5000,
            "window": "dates",
            "starts": (START - timedelta(days=1)).isoformat(),
            "ends": (START + timedelta(days=1)).isoformat(),
        },
    )
    assert status == 201, answer
    assert answer["challenge"]["running"] and answer["challenge"]["left"] == "1 day left"
    status, answer = await c.api(
        "POST", "/api/challenges", {"key": "drive", "title": "t", "metric": "tips", "target": 5}
    )
    assert status == 409
    # Without the CSRF token a dashboard session cannot create one.
    await c.h.login()
    response = await c.h.client.post(
        "/api/challenges", json={"key": "y", "title": "t", "metric": "tips", "target": 5}
    )
    assert response.status == 403
    # The dates window closes at its end.
    c.clock.advance(days=2)
    await c.run_due_roll()
    assert await totals(c) == {}


async def test_config_challenges_seed_once_and_the_dashboard_wins(
    challenges: StartChallenges, limelight: Any, tmp_path: Any
) -> None:
    clock = TestClock()
    url = f"sqlite://{tmp_path / 'seed.sqlite3'}"
    c = await challenges(weekly_tips(), database_url=url, clock=clock)
    [item] = (await c.api("GET", "/api/challenges"))[1]["challenges"]
    status, _ = await c.api(
        "POST", f"/api/challenges/{item['id']}", dict(item["settings"], title="Renamed")
    )
    assert status == 200
    await c.h.close()
    again = await challenges(weekly_tips(), database_url=url, clock=clock)
    titles = [i["title"] for i in (await again.api("GET", "/api/challenges"))[1]["challenges"]]
    assert titles == ["Renamed"]


async def test_test_events_count_nothing(challenges: StartChallenges) -> None:
    c = await challenges(weekly_tips())
    await c.h.publish(make_tip("99.00", "EUR", test=True))
    await c.settle()
    assert await totals(c) == {"tips-week": 0}
    assert await claims("challenges") == []
