"""Expiry on the scheduler (and at startup for what ran out while the server was down), the
warning a day before, moderators' commands, the typed API, the defaults with no table."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from limelight import Subscription
from limelight.testing import make_viewer, run_examples
from limelight_vip.models import Membership
from limelight_vip.roster import now_utc

from tests.support import wait_until


async def test_defaults_with_no_table(vip):
    v = await vip()
    tiers = v.plugin.tiers()
    assert [(t.name, t.label, t.rank) for t in tiers] == [
        ("tier1", "Subscriber", 0),
        ("tier2", "Tier 2", 1),
        ("tier3", "Tier 3", 2),
    ]
    badges = {b.name for b in v.h.services.badges.registry.values()}
    assert {"vip-tier1", "vip-tier2", "vip-tier3"} <= badges
    assert await run_examples(v.h, "vip") == []


async def test_expiry_runs_on_the_scheduler(vip):
    v = await vip()
    ann = make_viewer("ann")
    granted = await v.plugin.grant(
        ann, "tier1", duration=timedelta(milliseconds=400), source="t", source_id="short"
    )
    assert granted.new and v.plugin.is_member(ann)
    assert v.h.services.badges.for_viewer(ann)
    await wait_until(lambda: not v.plugin.is_member(ann), timeout=5)
    await wait_until(lambda: v.changes("expired"), timeout=5)
    assert v.h.services.badges.for_viewer(ann) == []
    row = await Membership.get(source="t", source_id="short")
    assert row.ended_at is not None and row.revoked_at is None


async def test_expired_while_down_ends_at_startup(vip, database_url):
    v = await vip(database_url=database_url)
    ann, bea = make_viewer("ann"), make_viewer("bea")
    await v.plugin.grant(ann, "tier2", duration=timedelta(days=3), source="t", source_id="a")
    await v.plugin.grant(bea, "tier2", duration=timedelta(days=30), source="t", source_id="b")
    # ann's month runs out while the server is down (written behind the server's back,
    # which only learns it from the database at its next start)
    await Membership.filter(source_id="a").update(ends=now_utc() - timedelta(hours=1))
    await v.h.close()
    v2 = await vip(database_url=database_url)
    assert not v2.plugin.is_member(ann) and v2.plugin.is_member(bea)
    await wait_until(lambda: v2.changes("expired"), timeout=5)
    expired = v2.changes("expired")
    assert [c.viewer.name for c in expired] == ["ann"]
    assert (await Membership.get(source_id="a")).ended_at is not None
    assert [b.name for b in v2.h.services.badges.for_viewer(bea)] == ["vip-tier2"]


async def test_members_stay_members_while_the_roster_is_read_again(vip):
    v = await vip()
    ann = make_viewer("ann")
    await v.plugin.grant(ann, "tier1", duration=timedelta(days=30), source="t", source_id="a")
    await v.h.settle()
    reload = asyncio.ensure_future(v.plugin.engine.load())
    steps = 0
    while not reload.done():  # a gate asking at any step meanwhile sees the member
        assert v.plugin.is_member(ann), f"not a member {steps} steps into the reload"
        await asyncio.sleep(0)
        steps += 1
    await reload
    assert steps > 0 and v.plugin.is_member(ann)


async def test_a_membership_granted_while_the_roster_is_read_again_is_kept(vip, monkeypatch):
    v = await vip()
    ann, bob = make_viewer("ann"), make_viewer("bob")
    await v.plugin.grant(ann, "tier1", duration=timedelta(days=30), source="t", source_id="a")
    await v.h.settle()
    read, release = asyncio.Event(), asyncio.Event()
    real_filter = Membership.filter

    async def held_read(**filters):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(Membership, "filter", real_filter)  # only the reload's read
        rows = await real_filter(**filters)
        read.set()
        await release.wait()  # the rows are read; a commit lands before the reload goes on
        return rows

    monkeypatch.setattr(Membership, "filter", held_read)
    reload = asyncio.ensure_future(v.plugin.engine.load())
    await asyncio.wait_for(read.wait(), 10)
    await v.plugin.grant(bob, "tier2", duration=timedelta(days=30), source="t", source_id="b")
    await v.h.settle()
    assert v.plugin.is_member(bob)
    release.set()
    await asyncio.wait_for(reload, 10)
    assert v.plugin.is_member(ann) and v.plugin.is_member(bob)


async def test_warning_a_day_before(vip):
    v = await vip()
    cat = make_viewer("cat")
    await v.plugin.grant(cat, "tier1", duration=timedelta(hours=20), source="t", source_id="c")
    await wait_until(lambda: any("ends in a day" in s.text for s in v.h.said), timeout=5)
    warnings = [s.text for s in v.h.said if "ends in a day" in s.text]
    assert warnings == [warnings[0]] and warnings[0].startswith("@cat your Subscriber")
    assert (await Membership.get(source_id="c")).warned
    # a renewal queued after it: no warning for the renewed member
    dan = make_viewer("dan")
    await v.plugin.grant(dan, "tier1", duration=timedelta(hours=20), source="t", source_id="d1")
    await v.plugin.grant(dan, "tier1", duration=timedelta(days=30), source="t", source_id="d2")
    await v.h.settle()
    await v.plugin.engine.tick()
    assert not any(s.text.startswith("@dan") for s in v.h.said)


async def test_moderator_commands(vip):
    v = await vip({"plugins": {"vip": {"tiers": [{"name": "gold", "label": "Gold"}]}}})
    await v.h.chat_as("eve", "hi")  # seen in chat, so @eve resolves
    await v.h.chat_as("eve", "!vip grant @eve gold 30d")
    assert v.h.said[-1].text == "Only moderators can grant, extend or revoke memberships."
    await v.h.chat_as("mo", "!vip grant @eve gold 30d", roles={"moderator"})
    assert v.h.said[-1].text == "eve is a Gold member for 30 days."
    eve = make_viewer("eve")
    assert v.plugin.is_member(eve, {"gold"})
    await v.h.chat_as("mo", "!vip extend @eve 10d", roles={"moderator"})
    held = v.plugin.membership(eve)
    assert held is not None and held.ends is not None
    assert timedelta(days=39) < held.ends - now_utc() <= timedelta(days=40)
    await v.h.chat_as("eve", "!vip")
    assert v.h.said[-1].text.startswith("eve is a Gold member until ")
    await v.h.chat_as("anyone", "!members")
    assert v.h.said[-1].text == "1 member: Gold 1"
    await v.h.chat_as("anyone", "!perks")
    assert v.h.said[-1].text.startswith("Gold: exclusive emotes, talking in members-only chat")
    await v.h.chat_as("mo", "!vip revoke @eve", roles={"moderator"})
    assert v.h.said[-1].text == "eve's membership is revoked."
    assert not v.plugin.is_member(eve)
    assert [c.status for c in v.changes()] == ["granted", "renewed", "revoked"]
    await v.h.chat_as("mo", "!vip grant @nobody gold 30d", roles={"moderator"})
    assert v.h.said[-1].text == "I have not seen nobody in chat yet."
    await v.h.chat_as("mo", "!vip grant @eve platinum 30d", roles={"moderator"})
    assert v.h.said[-1].text.startswith("Unknown tier.")
    await v.h.chat_as("mo", "!vip grant @eve gold 3 days", roles={"moderator"})
    assert "is not a duration" in v.h.said[-1].text
    # One of a unit reads as one: not "for 1 days" / "for 1 hours".
    await v.h.chat_as("mo", "!vip grant @eve gold 1d", roles={"moderator"})
    assert v.h.said[-1].text == "eve is a Gold member for 1 day."
    await v.h.chat_as("mo", "!vipchat on 1h", roles={"moderator"})
    assert v.h.said[-1].text == "Members-only chat is on for 1 hour."


async def test_api_grants_once_per_source_id(vip, database_url):
    v = await vip(database_url=database_url)
    fan = make_viewer("fan")
    results = await asyncio.gather(
        *(
            v.plugin.grant(
                fan, "tier2", duration=timedelta(days=7), source="challenges", source_id="m-50"
            )
            for _ in range(5)
        )
    )
    assert sum(r.new for r in results) == 1
    assert all(r.membership.tier == "tier2" for r in results)
    await v.h.settle()
    assert len(await Membership.filter(source="challenges")) == 1
    assert len(v.changes("granted")) == 1
    try:
        await v.plugin.grant(fan, "nope", duration=None, source="x", source_id="1")
    except KeyError:
        pass
    else:
        raise AssertionError("an unknown tier must raise KeyError")
    revoked = await asyncio.gather(
        *(v.plugin.revoke("challenges", "m-50", reason="test") for _ in range(5))
    )
    assert sum(revoked) == 1
    await v.h.settle()
    assert len(v.changes("revoked")) == 1
    assert not v.plugin.is_member(fan)


async def test_test_events_write_nothing(vip):
    v = await vip()
    await v.h.publish(
        Subscription(source="twitch", source_id="t-1", viewer=make_viewer("t"), test=True)
    )
    assert await Membership.all().count() == 0


async def test_scheduled_windows_and_perks_in_the_api(vip):
    config = {
        "plugins": {
            "vip": {
                "tiers": [{"name": "gold", "perks": ["early_access", "room"]}],
                "members_only": {"schedule": [{"cron": "0 20 * * fri", "minutes": 15}]},
            }
        }
    }
    v = await vip(config)
    [tier] = v.plugin.tiers()
    assert tier.perks == frozenset({"early_access", "room"}) and tier.label == "Gold"
    job = v.h.services.scheduler._aps.get_job("vip:members-only-0")
    assert job is not None
    assert "day_of_week='fri'" in str(job.trigger) and "hour='20'" in str(job.trigger)
    await job.func(*job.args)
    assert v.plugin.members_window_open()
    await v.h.settle()
    assert v.h.said[-1].text == "Chat is members-only for 15 minutes."
