"""Signed per-viewer links to the public drop page (``!merch`` hands them out in chat).

Why signed: the drop page's claim button reserves a unit *for the chat viewer*, so the link
carries who they are, signed with a key derived from the server's secret and bounded in
time. Nobody can claim in someone else's name or mint a link for a made-up viewer.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

from limelight import ViewerRef


class LinkError(ValueError):
    """A link that is malformed, forged or expired."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ViewerLinks:
    def __init__(self, secret: str, ttl: timedelta) -> None:
        if not secret:
            raise ValueError(
                "drop links need a secret: set [security] admin_token or [plugins.shop] link_secret"
            )
        self._key = hashlib.sha256(b"limelight-shop-links\0" + secret.encode()).digest()
        self.ttl = ttl

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest()[:18])

    def sign(self, viewer: ViewerRef, *, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + self.ttl.total_seconds())
        body = _b64(json.dumps([viewer.platform, viewer.id, viewer.name[:60], expires]).encode())
        return f"{body}.{self._mac(body)}"

    def verify(self, token: str, *, now: float | None = None) -> ViewerRef:
        body, _, mac = token.partition(".")
        if not body or not mac or len(token) > 600:
            raise LinkError("this drop link is malformed")
        if not hmac.compare_digest(self._mac(body).encode(), mac.encode("utf-8", "replace")):
            raise LinkError("this drop link is not valid")
        try:
            platform, viewer_id, name, expires = json.loads(_unb64(body))
        except (ValueError, TypeError):
            raise LinkError("this drop link is malformed") from None
        if int(expires) < (time.time() if now is None else now):
            raise LinkError("this drop link has expired; type !merch in chat for a new one")
        return ViewerRef(str(platform), str(viewer_id), str(name))
