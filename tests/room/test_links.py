"""Signed room links: bound to the viewer, tamper-proof, revocable, as good as the membership."""

from __future__ import annotations

import base64

import pytest
from limelight import ViewerRef
from limelight_room import RoomPlugin
from limelight_room.links import LinkError, Signer

from .conftest import ALICE, BOB, make_member, room_path
from .vip_double import FakeVip

KEY = bytes(range(32))


def test_a_genuine_token_names_its_viewer_and_generation():
    signer = Signer(KEY)
    viewer, generation = signer.verify(signer.sign(ALICE, 3))
    assert (viewer.platform, viewer.id, generation) == ("twitch", "1001", 3)


def _swap_payload(token: str, payload: bytes) -> str:
    _, mac = token.split(".")
    return base64.urlsafe_b64encode(payload).rstrip(b"=").decode() + "." + mac


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda t: _swap_payload(t, b"r1\ntwitch\n1002\n0"), id="other-viewer"),
        pytest.param(lambda t: _swap_payload(t, b"r1\ntwitch\n1001\n1"), id="other-generation"),
        pytest.param(lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), id="signature"),
        pytest.param(lambda t: t.split(".")[0], id="no-signature"),
        pytest.param(lambda t: t + ".x", id="extra-part"),
        pytest.param(lambda t: "", id="empty"),
        pytest.param(lambda t: "%%%.%%%", id="not-base64"),
        pytest.param(lambda t: t + "A" * 500, id="huge"),
        pytest.param(lambda t: Signer(bytes(32)).sign(ALICE, 0), id="other-key"),
    ],
)
def test_a_tampered_token_is_refused(tamper):
    signer = Signer(KEY)
    with pytest.raises(LinkError):
        signer.verify(tamper(signer.sign(ALICE, 0)))


def test_an_old_format_token_is_refused_with_a_reason():
    import hashlib
    import hmac

    payload = b"r0\ntwitch\n1001\n0"
    mac = hmac.new(KEY, payload, hashlib.sha256).digest()
    token = (
        base64.urlsafe_b64encode(payload).rstrip(b"=").decode()
        + "."
        + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
    )
    with pytest.raises(LinkError, match="older version"):
        Signer(KEY).verify(token)


async def test_links_survive_a_restart_and_die_when_revoked(room_harness):
    h, room, vip, _ = await room_harness()
    await make_member(vip, ALICE)
    link = room.link_for(ALICE)
    assert link is not None and link.endswith(room_path(room, ALICE))
    assert room.link_for(BOB) is None  # not a member: no link at all
    old = room_path(room, ALICE)
    await h.close()
    h, room, vip, _ = await room_harness()  # same database: the key was kept
    await make_member(vip, ALICE)
    assert room_path(room, ALICE) == old
    assert (await h.client.get(old)).status == 200
    await room.room.revoke(ALICE)
    refused = await h.client.get(old)
    assert refused.status == 403
    assert "revoked" in await refused.text()
    new = room_path(room, ALICE)
    assert new != old and (await h.client.get(new)).status == 200


async def test_the_link_expires_with_the_membership_and_works_again_on_renewal(room_harness):
    h, room, vip, _ = await room_harness()
    await make_member(vip, ALICE)
    path = room_path(room, ALICE)
    await vip.end(ALICE)
    await h.settle()
    refused = await h.client.get(path)
    assert refused.status == 403
    assert "for members" in await refused.text()
    assert room.link_for(ALICE) is None
    await vip.grant(ALICE, "gold", duration=None, source="test", source_id="renewal")
    assert (await h.client.get(path)).status == 200


async def test_only_the_configured_tiers_open_the_room(room_harness):
    h, room, vip, _ = await room_harness(config={"tiers": ["gold"]})
    await make_member(vip, ALICE, "silver")
    await make_member(vip, BOB, "gold")
    assert room.link_for(ALICE) is None
    token = room.passes.token_for(ALICE)
    assert (await h.client.get(f"/room/{token}")).status == 403
    assert (await h.client.get(room_path(room, BOB))).status == 200


async def test_without_the_vip_plugin_nobody_enters(room_harness):
    h, room, vip, _ = await room_harness()
    await make_member(vip, ALICE)
    path = room_path(room, ALICE)
    info = h.host.info["vip"]
    status, info.status = info.status, "failed"  # as if VIP just failed, room still up
    try:
        response = await h.client.get(path)
        assert response.status == 403
        assert room.link_for(ALICE) is None
    finally:
        info.status = status


@pytest.mark.parametrize("token", ["x", "a.b", "cjEKdHdpdGNoCjEwMDEKMA.AAAA", "é" * 20])
async def test_a_bad_link_gets_a_plain_refusal_page(room_harness, token):
    h, _room, _vip, _ = await room_harness()
    for path in (f"/room/{token}", f"/room/{token}/ws"):
        response = await h.client.get(path)
        text = await response.text()
        assert response.status == 403
        assert "The members' room is closed for this link" in text
        assert "Traceback" not in text and "Error" not in text
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_viewer_refs_with_separators_cannot_forge_another_viewer():
    signer = Signer(KEY)
    sneaky = ViewerRef("twitch", "1001\n0\nx")
    with pytest.raises(LinkError):
        signer.verify(signer.sign(sneaky, 0))


async def test_the_room_is_headed_by_the_channels_name(limelight, database_url):
    """``[server] name`` heads the member's page and the refusal, as the other pages viewers
    open from chat."""
    h = await limelight(
        {"vip": FakeVip, "room": RoomPlugin},
        config={"server": {"name": "Aurora Live"}},
        database_url=database_url,
    )
    await make_member(h.plugin("vip", FakeVip), ALICE)
    page = await (await h.client.get(room_path(h.plugin("room", RoomPlugin), ALICE))).text()
    assert "<title>Members' room · Aurora Live</title>" in page
    assert '<span class="room-channel">Aurora Live</span>' in page
    refused = await (await h.client.get("/room/x")).text()
    assert "<title>Members' room · Aurora Live</title>" in refused
