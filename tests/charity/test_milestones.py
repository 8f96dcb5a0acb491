"""A campaign's milestones on the shared engine: each fires once under concurrent
donations (SQLite and PostgreSQL), a refund below a milestone never fires it again, and
the overlay shows the ladder honestly."""

from __future__ import annotations

import asyncio
import uuid

from limelight import Donation, Money
from limelight.commit import in_writer
from limelight.models import MilestoneClaim
from limelight.testing import make_viewer
from limelight_charity.models import CharityEntry

from tests.support import wait_until

from .conftest import campaign
from .doubles import donation_updated, tiltify_request

LADDER = [
    {
        "at": 10000,
        "label": "Hair dye",
        "actions": [
            {"do": "chat", "text": "{label}: {total} raised for {cause}!"},
            {"do": "badge", "badge": "charity-donor"},
        ],
    },
    {"at": 50000, "label": "Spicy food", "actions": [{"do": "chat", "text": "{label}!"}]},
]


def said(c, text: str) -> int:
    return sum(1 for s in c.h.said if text in s.text)


async def test_each_milestone_fires_once_under_concurrent_donations(
    database_url: str, charity
) -> None:
    c = await charity(database_url=database_url, campaigns=[campaign(milestones=LADDER)])
    # 40 donations of 15.00 EUR at once (600.00 EUR): both rungs are crossed while
    # deliveries race each other, and each is redelivered once more, concurrently.
    bodies = [
        tiltify_request(donation_updated("15.00", "EUR", donor_name=f"donor{i}")) for i in range(40)
    ]
    results = await asyncio.gather(
        *(c.post(body, headers, settle=False) for body, headers in bodies + bodies)
    )
    await c.h.settle()
    assert {status for status, _ in results} == {200}
    assert await CharityEntry.all().count() == 40
    claims = await MilestoneClaim.filter(owner="charity").values_list("at", flat=True)
    assert sorted(claims) == [10000, 50000]
    await wait_until(lambda: said(c, "Spicy food!") >= 1 and said(c, "Hair dye:") >= 1)
    await c.plugin.campaigns.ladder(c.plugin.campaigns.get("pandas-2026")).settle()
    await c.h.settle()
    assert said(c, "Hair dye:") == 1
    assert said(c, "Spicy food!") == 1
    assert len(c.events.of_type("charity.milestone")) == 2
    state = c.h.services.overlays.channel("charity").state["pandas-2026"]
    assert state["current"] == 60000
    assert [m["state"] for m in state["milestones"]] == ["reached", "reached"]


async def test_a_refund_below_a_milestone_does_not_fire_it_again(
    database_url: str, charity
) -> None:
    c = await charity(database_url=database_url, campaigns=[campaign(milestones=LADDER)])
    alice = make_viewer("alice")

    async def donate(amount: str) -> None:
        await c.h.publish(
            Donation(
                source="twitch",
                source_id=f"charity:{uuid.uuid4()}",
                viewer=alice,
                amount=Money.parse(amount, "EUR"),
            )
        )

    await donate("120.00")
    await wait_until(lambda: said(c, "Hair dye:") == 1)
    assert said(c, "€120.00 raised for WWF") == 1
    # the donor badge came from the milestone's badge action too
    assert [b.name for b in c.h.services.badges.for_viewer(alice)] == ["charity-donor"]
    row = await CharityEntry.get(channel="twitch")
    status, _ = await c.api(
        "POST", f"/api/charity/entries/{row.id}/refund", json={"amount": "50.00"}
    )
    assert status == 201
    state = c.h.services.overlays.channel("charity").state["pandas-2026"]
    assert state["current"] == 7000
    # fired, and the total is below it now: shown as fired, not reached
    assert [m["state"] for m in state["milestones"]] == ["fired", "ahead"]
    await donate("40.00")  # back above 100.00
    await c.h.settle()
    await c.plugin.campaigns.ladder(c.plugin.campaigns.get("pandas-2026")).settle()
    assert said(c, "Hair dye:") == 1
    assert await MilestoneClaim.filter(owner="charity").count() == 1
    state = c.h.services.overlays.channel("charity").state["pandas-2026"]
    assert [m["state"] for m in state["milestones"]] == ["reached", "ahead"]
    assert len(c.events.of_type("charity.milestone")) == 1
    # the dashboard's activity feed reads the plugin's events in words
    status, feed = await c.api("GET", "/api/activity")
    assert status == 200
    lines = {(e["label"], e["text"]) for e in feed["events"] if e["type"].startswith("charity.")}
    assert {
        ("Counted for a campaign", "alice's €120.00 counted for Pandas need bamboo"),
        ("Campaign milestone", "Pandas need bamboo reached €100.00: Hair dye"),
        ("Donation refunded", f"Donation #{row.id} refunded (€50.00): refunded in the dashboard"),
    } <= lines, lines


async def test_the_donors_are_read_only_when_a_milestone_is_due(charity, monkeypatch) -> None:
    """Gathering a milestone's contributors reads every entry of the campaign; a batch that
    crosses nothing must not pay for it, or each commit of a long campaign waits on it.
    The one that crosses a rung still hands the badge to everyone who gave."""
    from limelight_charity import ledger

    c = await charity(campaigns=[campaign(milestones=LADDER)])
    reads: list[int] = []
    real = ledger.donors

    async def counted(campaign_id: int, using: object = None) -> list[ledger.Donor]:
        if in_writer():  # in the batch's transaction (the donor wall reads them apart)
            reads.append(campaign_id)
        return await real(campaign_id, using)  # type: ignore[arg-type]

    monkeypatch.setattr(ledger, "donors", counted)
    alice, bob = make_viewer("alice"), make_viewer("bob")

    async def donate(viewer: object, amount: str) -> None:
        await c.h.publish(
            Donation(
                source="twitch",
                source_id=f"charity:{uuid.uuid4()}",
                viewer=viewer,  # type: ignore[arg-type]
                amount=Money.parse(amount, "EUR"),
            )
        )

    for _ in range(3):
        await donate(alice, "20.00")  # 60.00: below the first rung
    assert reads == []
    await donate(bob, "50.00")  # 110.00: crosses "Hair dye"
    await wait_until(lambda: said(c, "Hair dye:") == 1)
    assert len(reads) == 1
    claim = await MilestoneClaim.get(owner="charity", at=10000)
    assert sorted(p["name"] for p in claim.contributors) == ["alice", "bob"]
    await donate(alice, "5.00")  # 115.00: the next rung is 500.00
    await c.h.settle()
    assert len(reads) == 1
