"""The milestone engine (limelight.milestones): each milestone fires its actions exactly once,
under concurrency, across restarts, and never again after a refund."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from limelight import Badge, MilestoneSpec, NoConfig, Plugin, Register, hookimpl
from limelight.milestones import Ladder, claims, resume, transaction
from limelight.models import MilestoneClaim
from limelight.testing import make_viewer
from pydantic import ValidationError


class Owner(Plugin[NoConfig]):
    """A plugin that owns ladders (and a badge they award)."""

    @hookimpl
    def register_badges(self, register: Register[Badge]) -> None:
        register(Badge("hero", "Hero", "★"))


def specs(*ats: int, chat: bool = True) -> list[MilestoneSpec]:
    return [
        MilestoneSpec.model_validate(
            {
                "at": at,
                "label": f"M{at}",
                "actions": (
                    [
                        {"do": "chat", "text": "{label} reached for {cause}!"},
                        {"do": "badge", "badge": "hero"},
                    ]
                    if chat
                    else [{"do": "badge", "badge": "hero"}]
                ),
            }
        )
        for at in ats
    ]


def lines(h: Any) -> list[str]:
    return [m.text for m in h.said]


def test_a_spec_validates_its_actions() -> None:
    spec = MilestoneSpec.model_validate(
        {
            "at": 500,
            "label": "x",
            "actions": [
                {"do": "obs_scene", "scene": "Party"},
                {"do": "obs_source", "scene": "Main", "source": "Confetti", "seconds": 5},
                {"do": "obs_text", "source": "Goal", "text": "{label}"},
                {"do": "obs_filter", "source": "Cam", "filter": "Blur", "enabled": False},
                {"do": "chat", "text": "hi"},
                {"do": "alert", "kind": "milestone", "variation": "big", "text": "{label}"},
                {"do": "badge", "badge": "hero"},
                {"do": "unlock_command", "command": "spicy", "minutes": 10},
                {"do": "vip_grant", "tier": "gold", "days": 7},
                {"do": "members_window", "minutes": 5},
            ],
        }
    )
    assert [a.do for a in spec.actions][:2] == ["obs_scene", "obs_source"]
    with pytest.raises(ValidationError):
        MilestoneSpec.model_validate({"at": 5, "actions": [{"do": "explode"}]})
    with pytest.raises(ValidationError):
        MilestoneSpec.model_validate({"at": 0})


async def test_200_concurrent_contributions_fire_each_milestone_once(
    limelight: Any, database_url: str
) -> None:
    h = await limelight({"owner": Owner}, database_url=database_url)
    ctx = h.ctx("owner")
    # Separate Ladder objects: no shared memory, as if 200 callers in different processes.
    ladders = [
        Ladder(ctx, "owner", "drive", specs(100, 1000, 5000), values={"cause": "cats"})
        for _ in range(200)
    ]
    viewers = [make_viewer(f"v{i}") for i in range(200)]

    async def contribute(i: int) -> list[MilestoneSpec]:
        return await ladders[i].reach((i + 1) * 10, contributors=viewers[: i + 1])

    won = await asyncio.gather(*(contribute(i) for i in range(200)))
    for ladder in ladders:
        await ladder.settle()
    await h.settle()
    claimed = sorted(s.at for got in won for s in got)
    assert claimed == [100, 1000]  # 5000 never reached (max total 2000)
    assert await MilestoneClaim.filter(owner="owner", ladder="drive").count() == 2
    said = lines(h)
    assert said.count("M100 reached for cats!") == 1
    assert said.count("M1000 reached for cats!") == 1
    # The contributors at claim time got the badge: the 10th caller claimed M100 (or a
    # later one, if it ran first): everyone of the winner's contributors holds it.
    assert [b.name for b in ctx.badges.for_viewer(viewers[0])] == ["hero"]
    rows = await claims("owner", "drive")
    assert all(a["state"] == "done" for r in rows for a in r["actions"])


async def test_a_refund_below_a_milestone_never_fires_it_again(
    limelight: Any, database_url: str
) -> None:
    h = await limelight({"owner": Owner}, database_url=database_url)
    ladder = Ladder(h.ctx("owner"), "owner", "drive", specs(500), values={"cause": "dogs"})
    assert [s.at for s in await ladder.reach(600)] == [500]
    await ladder.settle()
    # refunded down to 300, then back up past 500
    view = await ladder.view(300)
    assert view[0].fired and not view[0].reached and view[0].fired_at is not None
    assert await ladder.reach(300) == []
    assert await ladder.reach(700) == []
    fresh = Ladder(h.ctx("owner"), "owner", "drive", specs(500))
    assert await fresh.reach(900) == []
    await h.settle()
    assert lines(h).count("M500 reached for dogs!") == 1
    assert (await fresh.view(900))[0].to_json()["fired"] is True


async def test_claims_commit_with_the_contribution_or_not_at_all(
    limelight: Any, database_url: str
) -> None:
    h = await limelight({"owner": Owner}, database_url=database_url)
    ladder = Ladder(h.ctx("owner"), "owner", "drive", specs(100))

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        async with transaction() as tx:
            assert [s.at for s in await ladder.reach(150, tx=tx)] == [100]
            raise Boom
    await ladder.settle()
    await h.settle()
    assert lines(h) == []  # rolled back: nothing fired, nothing said
    assert await MilestoneClaim.filter(owner="owner").count() == 0
    again = Ladder(h.ctx("owner"), "owner", "drive", specs(100))
    assert [s.at for s in await again.reach(150)] == [100]
    await again.settle()
    await h.settle()
    assert len(lines(h)) == 1


async def test_unfinished_actions_run_at_the_next_start_and_announcements_at_most_once(
    limelight: Any, database_url: str
) -> None:
    h = await limelight({"owner": Owner}, database_url=database_url)
    viewer = make_viewer("ann")
    now = datetime.now(UTC)
    base = {
        "owner": "owner",
        "label": "L",
        "fired_at": now,
        "values": {},
        "contributors": [{"platform": viewer.platform, "id": viewer.id, "name": viewer.name}],
    }
    # Crash after the claim committed, before any action ran.
    await MilestoneClaim.create(
        ladder="a",
        at=1,
        actions=[{"do": "chat", "text": "first"}, {"do": "badge", "badge": "hero"}],
        progress=["", ""],
        **base,
    )
    # Crash while the chat line was going out: never repeated.
    await MilestoneClaim.create(
        ladder="b",
        at=1,
        actions=[{"do": "chat", "text": "second"}, {"do": "badge", "badge": "hero"}],
        progress=["started", ""],
        **base,
    )
    # Done long ago: its badge is put back in memory, nothing is said.
    await MilestoneClaim.create(
        ladder="c",
        at=1,
        actions=[{"do": "chat", "text": "third"}],
        progress=["done"],
        done_at=now,
        **base,
    )
    ctx = h.ctx("owner")
    assert await resume(ctx) == 2
    await h.settle()
    assert lines(h) == ["first"]
    assert [b.name for b in ctx.badges.for_viewer(viewer)] == ["hero"]
    states = {r["ladder"]: [a["state"] for a in r["actions"]] for r in await claims("owner")}
    assert states["a"] == ["done", "done"]
    assert states["b"][0].startswith("interrupted") and states["b"][1] == "done"
    assert await resume(ctx) == 0
    await h.settle()
    assert lines(h) == ["first"]


async def test_unlock_command_opens_a_locked_command_for_a_while(
    limelight: Any, database_url: str
) -> None:
    h = await limelight(
        {"owner": Owner},
        database_url=database_url,
        config={"chat": {"commands": {"spicy": {"text": "SPICY ROUND", "locked": True}}}},
    )
    await h.chat_as("bob", "!spicy")
    assert lines(h) == []
    spec = MilestoneSpec.model_validate(
        {"at": 10, "actions": [{"do": "unlock_command", "command": "spicy", "minutes": 5}]}
    )
    ladder = Ladder(h.ctx("owner"), "owner", "u", [spec])
    await ladder.reach(10)
    await ladder.settle()
    await h.chat_as("bob", "!spicy")
    assert lines(h) == ["@bob SPICY ROUND"] or lines(h)[-1].endswith("SPICY ROUND")
    until = h.chat.router.unlocked["spicy"]
    assert timedelta(minutes=4) < until - datetime.now(UTC) <= timedelta(minutes=5)
    # Closed again once the time is over.
    h.chat.router.unlocked["spicy"] = datetime.now(UTC) - timedelta(seconds=1)
    count = len(lines(h))
    await h.chat_as("bob", "!spicy")
    assert len(lines(h)) == count


async def test_vip_actions_are_skipped_with_a_reason_without_vip(
    limelight: Any, database_url: str
) -> None:
    h = await limelight({"owner": Owner}, database_url=database_url)
    spec = MilestoneSpec.model_validate(
        {
            "at": 1,
            "actions": [
                {"do": "vip_grant", "tier": "gold", "days": 3},
                {"do": "members_window", "minutes": 5},
                {"do": "obs_scene", "scene": "Party"},
            ],
        }
    )
    ladder = Ladder(h.ctx("owner"), "owner", "v", [spec])
    await ladder.reach(1, contributors=[make_viewer("x")])
    await ladder.settle()
    [row] = await claims("owner", "v")
    states = [a["state"] for a in row["actions"]]
    assert states[0] == "skipped: the VIP plugin is not running"
    assert states[1] == "skipped: the VIP plugin is not running"
    assert states[2].startswith("skipped:")  # OBS control is off in tests
    assert row["done_at"] is not None


class FakeVip(Plugin[NoConfig]):
    """Stands in for the VIP plugin's API (the shape of limelight_vip.api.Memberships)."""

    def __init__(self) -> None:
        super().__init__()
        self.grants: dict[tuple[str, str], tuple[Any, str, Any]] = {}
        self.windows: list[timedelta] = []

    async def grant(
        self,
        viewer: Any,
        tier: str,
        *,
        duration: timedelta | None,
        source: str,
        source_id: str,
        reason: str = "",
    ) -> Any:
        if tier != "gold":
            raise KeyError(tier)
        self.grants.setdefault((source, source_id), (viewer, tier, duration))

    async def open_members_window(self, duration: timedelta, *, reason: str) -> None:
        self.windows.append(duration)


async def test_vip_grants_go_to_every_contributor_once_through_the_peer(
    limelight: Any, database_url: str
) -> None:
    h = await limelight({"owner": Owner, "vip": FakeVip}, database_url=database_url)
    vip = h.plugin("vip", FakeVip)
    spec = MilestoneSpec.model_validate(
        {
            "at": 10,
            "label": "Gold rush",
            "actions": [
                {"do": "vip_grant", "tier": "gold", "days": 7},
                {"do": "members_window", "minutes": 5},
                {"do": "vip_grant", "tier": "platinum"},
            ],
        }
    )
    people = [make_viewer("ann"), make_viewer("ben"), make_viewer("ann")]
    ladder = Ladder(h.ctx("owner"), "owner", "g", [spec])
    await ladder.reach(10, contributors=people)
    await ladder.settle()
    assert sorted(v.name for v, _, _ in vip.grants.values()) == ["ann", "ben"]
    assert {d for _, _, d in vip.grants.values()} == {timedelta(days=7)}
    assert all(src == "milestone:owner" for src, _ in vip.grants)
    assert len(vip.windows) == 1 and timedelta(minutes=4) < vip.windows[0] <= timedelta(minutes=5)
    # A resume after a (simulated) crash grants nothing twice.
    await MilestoneClaim.filter(owner="owner").update(progress=["", "done", ""], done_at=None)
    await resume(h.ctx("owner"))
    assert len(vip.grants) == 2
    [row] = await claims("owner", "g")
    assert [a["state"] for a in row["actions"]] == [
        "done",
        "done",
        "given up: the VIP plugin has no tier 'platinum'",
    ]


async def test_an_alert_action_plays_once_in_the_named_variation(
    limelight: Any, database_url: str
) -> None:
    from limelight_alerts import AlertsPlugin

    h = await limelight(
        {"owner": Owner, "alerts": AlertsPlugin},
        database_url=database_url,
        config={
            "overlays": {
                "alerts": {
                    "variations": [
                        {"event": "milestone", "name": "big", "text": "BIG {label}", "image": ""}
                    ]
                }
            }
        },
    )
    spec = MilestoneSpec.model_validate(
        {
            "at": 5,
            "label": "Five",
            "actions": [
                {"do": "alert", "variation": "big"},
                {"do": "alert", "text": "{label} for {cause}!"},
            ],
        }
    )
    # Two ladders race for the one claim (each would fill in the same text): whichever wins,
    # each action plays once.
    ladders = [
        Ladder(h.ctx("owner"), "owner", "a", [spec], values={"cause": "<b>x</b>"}) for _ in range(2)
    ]
    await asyncio.gather(*(ladder.reach(7) for ladder in ladders))
    for ladder in ladders:
        await ladder.settle()
    history = await h.services.overlays.history("alerts")
    texts = sorted(a["variation"]["text"] for a in history)
    assert texts == ["BIG Five", "Five for <b>x</b>!"]
    assert {a["kind"] for a in history} == {"milestone"}


async def test_unlocks_and_badges_come_back_after_a_restart(limelight: Any, tmp_path: Any) -> None:
    url = f"sqlite://{tmp_path / 'restart.sqlite3'}"
    config = {"chat": {"commands": {"spicy": {"text": "SPICY", "locked": True}}}}
    h = await limelight({"owner": Owner}, database_url=url, config=config)
    spec = MilestoneSpec.model_validate(
        {
            "at": 1,
            "actions": [
                {"do": "unlock_command", "command": "spicy", "minutes": 30},
                {"do": "badge", "badge": "hero"},
            ],
        }
    )
    ladder = Ladder(h.ctx("owner"), "owner", "r", [spec])
    await ladder.reach(1, contributors=[make_viewer("zoe")])
    await ladder.settle()
    await h.close()

    class Restarted(Owner):
        @hookimpl
        async def startup(self) -> None:
            await resume(self.ctx)

    again = await limelight({"owner": Restarted}, database_url=url, config=config)
    assert "spicy" in again.chat.router.unlocked
    assert [b.name for b in again.ctx("owner").badges.for_viewer(make_viewer("zoe"))] == ["hero"]
    await again.chat_as("zoe", "!spicy")
    assert [m.text for m in again.said][-1].endswith("SPICY")
    # Lapsed unlocks are not put back.
    await MilestoneClaim.filter(owner="owner").update(
        fired_at=datetime.now(UTC) - timedelta(hours=1)
    )
    again.chat.router.unlocked.clear()
    await resume(again.ctx("owner"))
    assert again.chat.router.unlocked == {}
