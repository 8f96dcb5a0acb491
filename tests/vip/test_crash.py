"""The server, run as a real process, is killed with SIGKILL in the middle of a burst of
membership payments from each source, every delivery sent five times at once (as providers
retry a slow answer). After a restart every payment it answered 2xx for is a membership,
none twice, each granted and (for a refund) revoked exactly once.

* Stripe: subscription checkouts on ``/webhooks/vip-stripe``, every fourth refunded
  (``charge.refunded``) once its checkout was answered;
* Fourthwall: membership purchases (``SUBSCRIPTION_PURCHASED``, signed as Fourthwall signs
  them) on ``/webhooks/vip-fourthwall``;
* Ko-fi: membership payments (``is_subscription_payment``, ``tier_name``) as Ko-fi posts
  them, form-encoded ``data=`` with the verification token, to the tips plugin's
  ``/webhooks/kofi``;
* Twitch: subs, resubs and gifted subs over EventSub from the fake Twitch the chat tests use
  (tests/chat/fake_twitch.py), which the server process connects to as it would to Twitch.
  A WebSocket notification has no answer, so nothing is "acknowledged": what the server had
  recorded before the kill is read after the restart, then the fake delivers the whole
  burst again (Twitch redelivers a message with the same ``message_id``), and every sub
  must be a membership once, the ones from before the kill untouched.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import signal
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.chat.conftest import FAST
from tests.chat.fake_twitch import FakeTwitch
from tests.core.procs import Server, clean_env, running_server
from tests.support import fourthwall_signed, wait_until
from tests.tips.doubles import KOFI_TOKEN, kofi_payload, kofi_request

from . import doubles

ADMIN = "vip-crash-test-admin-token"
ITEMS = 160
KILL_AFTER = 50
SENDERS = 8
COPIES = 5
#: EventSub notifications sent before the server is asked how far it got; it is never more
#: than two of these ahead, so the kill always lands in the middle of the burst.
CHUNK = 10
#: The subscription types the Twitch connector subscribes to on a new EventSub session.
TWITCH_TYPES = 6


@dataclass(frozen=True)
class Step:
    """One delivery (sent ``COPIES`` times at once); ``key`` is the membership's source id
    it grants, or revokes when ``revokes``."""

    key: str
    path: str
    body: bytes
    headers: dict[str, str]
    revokes: bool = False


@dataclass(frozen=True)
class Source:
    name: str
    #: ``LIMELIGHT_PLUGINS`` for the server process.
    plugins: str
    #: The membership's ``source`` column.
    membership_source: str
    #: The event type the paying event is logged as, and its source.
    paid_type: str
    paid_source: str
    #: Extra TOML for the config file.
    toml: str
    #: The tier every membership is of (Ko-fi's ``tier_name`` "Tier 2" is tier2's label).
    tier: str
    #: The deliveries of one payment, in order (a later step only after an earlier 2xx);
    #: ``None`` for Twitch, which delivers over EventSub.
    items: Callable[[], list[list[Step]]] | None = None


def _stripe_items() -> list[list[Step]]:
    items = []
    for i in range(ITEMS):
        invoice = f"in_{i:04d}"
        session = doubles.subscription_checkout(
            reference=None, subscription=f"sub_{i:04d}", invoice=invoice, name=f"fan{i}"
        )
        body, headers = doubles.signed(doubles.envelope("checkout.session.completed", session))
        steps = [Step(invoice, "/webhooks/vip-stripe", body, headers)]
        if i % 4 == 0:
            charge = doubles.charge_refunded(invoice=invoice)
            body, headers = doubles.signed(doubles.envelope("charge.refunded", charge))
            steps.append(Step(invoice, "/webhooks/vip-stripe", body, headers, revokes=True))
        items.append(steps)
    return items


FOURTHWALL_SECRET = "fw-crash-secret-" + "3" * 16


def _fourthwall_items() -> list[list[Step]]:
    items = []
    for i in range(ITEMS):
        event = doubles.fourthwall_membership(
            "SUBSCRIPTION_PURCHASED", f"msup_{i:04d}", tier="fw-tier-1"
        )
        body, headers = fourthwall_signed(event, FOURTHWALL_SECRET)
        items.append([Step(event["id"], "/webhooks/vip-fourthwall", body, headers)])
    return items


def _kofi_items() -> list[list[Step]]:
    items = []
    for i in range(ITEMS):
        txid = f"kofi-tx-{i:04d}"
        payload = kofi_payload(
            "Subscription", "4.00", "EUR", from_name=f"Kofi Fan {i}", txid=txid, tier_name="Tier 2"
        )
        body, headers = kofi_request(payload)
        items.append([Step(txid, "/webhooks/kofi", body, headers)])
    return items


SOURCES = [
    Source(
        "stripe",
        "vip,alerts",
        "vip-stripe",
        "vip.stripe",
        "vip-stripe",
        f'[webhooks.vip-stripe]\nsecret = "{doubles.VIP_STRIPE_SECRET}"\n',
        "tier1",
        _stripe_items,
    ),
    Source(
        "fourthwall",
        "vip,alerts",
        "vip-fourthwall",
        "vip.fourthwall",
        "vip-fourthwall",
        f'[webhooks.vip-fourthwall]\nsecret = "{FOURTHWALL_SECRET}"\n\n'
        '[[plugins.vip.tiers]]\nname = "tier1"\nfourthwall_tier = "fw-tier-1"\n',
        "tier1",
        _fourthwall_items,
    ),
    Source(
        "kofi",
        "vip,tips,alerts",
        "kofi",
        "tip",
        "kofi",
        f'[webhooks.kofi]\nverification_token = "{KOFI_TOKEN}"\n\n[plugins.tips]\nthanks = false\n',
        "tier2",
        _kofi_items,
    ),
    Source("twitch", "vip,twitch,alerts", "twitch", "subscription", "twitch", "", "tier1"),
]


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value))


def _config(tmp_path: Path, database_url: str, source: Source, fake: FakeTwitch) -> Path:
    extra = source.toml
    if source.items is None:
        table = {**fake.config(), **FAST}
        extra += "[plugins.twitch]\n" + "".join(
            f"{key} = {_toml_value(value)}\n" for key, value in table.items()
        )
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[server]
host = "127.0.0.1"

[security]
admin_token = "{ADMIN}"
overlay_token = "vip-crash-test-overlay-token"

[database]
url = "{database_url}"

[plugins.vip]
welcome = ""

{extra}""",
        encoding="utf-8",
    )
    return path


@dataclass
class Acked:
    granted: set[str]
    revoked: set[str]
    failed: int = 0


async def _http_burst(base: str, items: list[list[Step]], kill: asyncio.Event) -> Acked:
    """Deliver every payment's steps from ``SENDERS`` senders, each step ``COPIES`` times
    at once; kill once ``KILL_AFTER`` payments were answered 2xx."""
    queue: asyncio.Queue[list[Step]] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    acked = Acked(set(), set())

    async def post(client: aiohttp.ClientSession, step: Step) -> bool:
        try:
            async with client.post(base + step.path, data=step.body, headers=step.headers) as r:
                await r.read()
                return 200 <= r.status < 300
        except (TimeoutError, aiohttp.ClientError, OSError):
            return False

    async def sender(client: aiohttp.ClientSession) -> None:
        while not queue.empty():
            for step in queue.get_nowait():
                answers = await asyncio.gather(*(post(client, step) for _ in range(COPIES)))
                acked.failed += answers.count(False)
                if not any(answers):
                    break  # the server is gone: a later step would not be sent either
                (acked.revoked if step.revokes else acked.granted).add(step.key)
                if len(acked.granted) >= KILL_AFTER:
                    kill.set()

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as client:
        await asyncio.gather(*(sender(client) for _ in range(SENDERS)))
    return acked


# -- Twitch over the fake's EventSub ---------------------------------------------------------


def _twitch_frames(fake: FakeTwitch) -> list[dict[str, Any]]:
    """Subs, resubs and gifted subs (the gift, then the recipient's sub), one viewer each;
    the frames are built once so a redelivery carries the same ``message_id``."""
    frames = []
    for i in range(ITEMS):
        user = {
            "user_id": str(50_000 + i),
            "user_login": f"twitchfan{i}",
            "user_name": f"TwitchFan{i}",
            "broadcaster_user_id": fake.broadcaster_id,
            "tier": "1000",
        }
        if i % 3 == 0:
            frames.append(("channel.subscribe", {**user, "is_gift": False}))
        elif i % 3 == 1:
            message = {"text": "still here", "emotes": None}
            resub = {**user, "message": message, "cumulative_months": 4, "duration_months": 1}
            frames.append(("channel.subscription.message", {**resub, "streak_months": None}))
        else:
            gifter = {
                "user_id": str(90_000 + i),
                "user_login": f"gifter{i}",
                "user_name": f"Gifter{i}",
                "broadcaster_user_id": fake.broadcaster_id,
                "tier": "1000",
                "total": 1,
                "cumulative_total": None,
                "is_anonymous": False,
            }
            frames.append(("channel.subscription.gift", gifter))
            frames.append(("channel.subscribe", {**user, "is_gift": True}))
    return [fake.notification(t, e) for t, e in frames]


async def _events(base: str, etype: str) -> list[dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as client,
        client.get(
            base + f"/api/events?type={etype}&limit=500",
            headers={"Authorization": f"Bearer {ADMIN}"},
        ) as response,
    ):
        assert response.status == 200
        events: list[dict[str, Any]] = (await response.json())["events"]
        return events


async def _eventsub_ready(fake: FakeTwitch) -> None:
    async def subscribed() -> bool:
        sessions = fake.es_session_ids
        current = sessions[-1] if sessions else None
        subs = [s for s in fake.subscriptions if s["transport"]["session_id"] == current]
        return len(subs) == TWITCH_TYPES

    await wait_until(subscribed, timeout=30, interval=0.05)


async def _deliver(fake: FakeTwitch, frames: list[dict[str, Any]]) -> None:
    """Each frame ``COPIES`` times at once."""
    for frame in frames:
        await asyncio.gather(*(fake.es_send(frame) for _ in range(COPIES)))


async def _twitch_burst(server: Server, fake: FakeTwitch, frames: list[dict[str, Any]]) -> int:
    """Deliver in chunks, never more than two chunks ahead of what the server recorded; kill
    it once ``KILL_AFTER`` subs are recorded. Returns how many frames were sent."""

    async def recorded(at_least: int) -> bool:
        return len(await _events(server.base, "subscription")) >= at_least

    sent = 0
    while sent < len(frames):
        await _deliver(fake, frames[sent : sent + CHUNK])
        sent += CHUNK
        if await recorded(KILL_AFTER):
            break
        await wait_until(lambda s=sent: recorded(min(s - 2 * CHUNK, KILL_AFTER)), timeout=30)
    server.process.send_signal(signal.SIGKILL)
    return sent


async def _members(base: str) -> list[dict[str, str]]:
    async with (
        aiohttp.ClientSession() as client,
        client.get(
            base + "/api/vip/export.csv", headers={"Authorization": f"Bearer {ADMIN}"}
        ) as response,
    ):
        assert response.status == 200
        return list(csv.DictReader(io.StringIO(await response.text())))


async def _check_once(server: Server, source: Source, rows: list[dict[str, str]]) -> None:
    """Every membership once, its paying event logged, granted and revoked announced once."""
    ids = [r["source_id"] for r in rows]
    assert len(ids) == len(set(ids)), "a payment granted twice"
    assert {(r["source"], r["tier"]) for r in rows} == {(source.membership_source, source.tier)}
    paid = {
        e["source_id"]
        for e in await _events(server.base, source.paid_type)
        if e["source"] == source.paid_source and not e["source_id"].startswith("refund:")
    }
    assert set(ids) == paid  # nothing committed without its membership, and the reverse
    revoked = {r["id"] for r in rows if r["revoked_at"]}

    async def announced() -> bool:
        # Memberships committed before the kill whose announcement had not gone out are
        # announced by the replay after the restart; each exactly once.
        events = await _events(server.base, "membership.changed")
        said = [e["source_id"] for e in events]
        assert len(said) == len(set(said)), "a change announced twice"
        granted = {s.split(":")[1] for s in said if s.endswith(":granted")}
        gone = {s.split(":")[1] for s in said if s.endswith(":revoked")}
        assert gone <= revoked
        return granted == {r["id"] for r in rows} and gone == revoked

    await wait_until(announced, timeout=30, interval=0.2)


@pytest.mark.slow
@pytest.mark.parametrize("source", SOURCES, ids=[s.name for s in SOURCES])
async def test_sigkill_in_a_burst_loses_no_acknowledged_membership(
    database_url: str, tmp_path: Path, fake_twitch: FakeTwitch, source: Source
) -> None:
    config = _config(tmp_path, database_url, source, fake_twitch)
    env = clean_env(LIMELIGHT_PLUGINS=source.plugins)
    frames = _twitch_frames(fake_twitch) if source.items is None else []
    acked = Acked(set(), set())
    with running_server(config, tmp_path, env=env) as server:
        status, health = server.get("/healthz")
        assert status == 200, health
        enabled = {p["name"] for p in health["plugins"] if p["status"] == "enabled"}
        assert set(source.plugins.split(",")) <= enabled, health
        if source.items is None:
            await _eventsub_ready(fake_twitch)
            sent = await _twitch_burst(server, fake_twitch, frames)
            assert sent < len(frames)
        else:
            kill = asyncio.Event()

            async def killer() -> None:
                await kill.wait()
                server.process.send_signal(signal.SIGKILL)

            kill_task = asyncio.create_task(killer())
            acked = await _http_burst(server.base, source.items(), kill)
            await kill_task
        assert server.process.wait(timeout=10) == -signal.SIGKILL
    if source.items is not None:
        assert KILL_AFTER <= len(acked.granted) < ITEMS, (len(acked.granted), acked.failed)

    with running_server(config, tmp_path, env=env) as server:
        status, _ = server.get("/healthz")
        assert status == 200
        before = await _members(server.base)
        if source.items is None:
            # What the server recorded before the kill, then the whole burst again.
            assert KILL_AFTER <= len(before) < ITEMS, len(before)
            await _eventsub_ready(fake_twitch)
            await _deliver(fake_twitch, frames)

            async def all_recorded() -> bool:
                return len(await _events(server.base, "subscription")) >= ITEMS

            await wait_until(all_recorded, timeout=60, interval=0.2)
            rows = await _members(server.base)
            assert len(rows) == ITEMS
            kept = {r["source_id"]: r["id"] for r in rows}
            assert all(kept[r["source_id"]] == r["id"] for r in before), "a sub granted again"
            gifted = [r for r in rows if r["granted_by"].startswith("Gifter")]
            assert gifted, "no gifted sub credited its gifter"
        else:
            rows = before
            by_id = {r["source_id"]: r for r in rows}
            assert acked.granted <= set(by_id), "a payment answered 2xx has no membership"
            assert all(by_id[k]["revoked_at"] for k in acked.revoked), "a refund not applied"
        await _check_once(server, source, rows)
    print(
        json.dumps(
            {
                "source": source.name,
                "acked": len(acked.granted) if source.items is not None else None,
                "refunds_acked": len(acked.revoked),
                "failed_posts": acked.failed,
                "after_restart": len(before),
                "members": len(rows),
                "revoked": sum(1 for r in rows if r["revoked_at"]),
            }
        )
    )
