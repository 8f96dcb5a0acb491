"""Signed personal links (limelight.links): what every plugin's ``!tip``, ``!vip join`` and
``!merch`` links rest on."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta

import pytest
from limelight.links import CODE_ALPHABET, LinkError, LinkExpired, LinkSigner, new_code

SECRET = "server-secret-0123456789"
HOUR = timedelta(hours=1)


def _signer(purpose: str = "limelight-tip-links") -> LinkSigner:
    return LinkSigner(
        SECRET,
        purpose=purpose,
        noun="tip link",
        renew="type !tip in chat for a new one",
        setting="[plugins.tips] link_secret",
    )


def test_a_link_signed_before_the_shared_signer_still_opens() -> None:
    """Links already handed out in chat keep working after an upgrade: the token is the
    one the plugins made before (computed here independently of the code under test)."""
    key = hashlib.sha256(b"limelight-tip-links\0" + SECRET.encode()).digest()
    payload = "ABCDEFGH.4102444800"
    mac = base64.urlsafe_b64encode(hmac.new(key, payload.encode(), "sha256").digest()[:18])
    token = f"{payload}.{mac.decode().rstrip('=')}"
    assert _signer().sign("ABCDEFGH", timedelta(seconds=4102444800), now=0) == token
    assert _signer().verify(token, now=0) == "ABCDEFGH"


def test_forged_malformed_and_expired_links_are_refused_with_their_status() -> None:
    signer = _signer()
    token = signer.sign("ABCDEFGH", HOUR, now=1_000)
    assert signer.verify(token, now=1_000 + 3_599) == "ABCDEFGH"
    refused: dict[str, LinkError] = {}
    for name, bad in {
        "tampered mac": token[:-2] + ("xx" if not token.endswith("xx") else "yy"),
        "other code": "ZZZZZZZZ" + token[8:],
        "later expiry": token.replace(".", ".9", 1),
        "no mac": token.rpartition(".")[0],
        "empty": "",
        "lone surrogate": token[:-1] + "\ud800",
        "surrogate in the code": "\ud800" + token[1:],
        "not ascii": token[:-1] + "é",
        "too long": "A" * 700 + token,
    }.items():
        with pytest.raises(LinkError) as caught:
            signer.verify(bad, now=1_000)
        refused[name] = caught.value
    assert all(type(e) is LinkError and e.status == 400 for e in refused.values()), refused
    assert str(refused["tampered mac"]) == "this tip link is not valid"
    with pytest.raises(LinkExpired) as late:
        signer.verify(token, now=1_000 + 3_601)
    assert late.value.status == 410
    assert str(late.value) == "this tip link has expired; type !tip in chat for a new one"


def test_a_link_of_one_purpose_does_not_open_another() -> None:
    """The tips plugin's link is no join link, though both are signed with the same
    server secret."""
    tip = _signer("limelight-tip-links").sign("ABCDEFGH", HOUR)
    with pytest.raises(LinkError):
        _signer("limelight-vip-join").verify(tip)


def test_a_signer_without_a_secret_says_which_setting_to_fill() -> None:
    with pytest.raises(ValueError, match=r"admin_token or \[plugins.tips\] link_secret"):
        LinkSigner("", purpose="p", noun="tip link", renew="", setting="[plugins.tips] link_secret")


def test_codes_use_only_letters_that_read_aloud_unambiguously() -> None:
    codes = {new_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(c) == 8 and set(c) <= set(CODE_ALPHABET) for c in codes)
    assert not set("01OIL") & set(CODE_ALPHABET)
