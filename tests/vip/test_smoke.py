from __future__ import annotations

from limelight import Subscription
from limelight.testing import make_viewer
from limelight_vip.api import Memberships


async def test_twitch_sub_makes_a_member(vip):
    v = await vip()
    assert isinstance(v.plugin, Memberships)
    alice = make_viewer("alice")
    await v.h.publish(Subscription(source="twitch", source_id="sub-1", viewer=alice, tier="2000"))
    assert v.plugin.is_member(alice)
    held = v.plugin.membership(alice)
    assert held is not None and held.tier == "tier2"
    assert [c.status for c in v.changes()] == ["granted"]
    await v.h.chat_as("alice", "!vip")
    assert "Tier 2 member until" in v.h.said[-1].text
