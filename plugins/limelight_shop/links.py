"""Signed per-viewer links to the public drop page (``!merch`` hands them out in chat).

Why signed: the drop page's claim button reserves a unit *for the chat viewer*, so the link
carries who they are, signed with a key derived from the server's secret and bounded in
time. Nobody can claim in someone else's name or mint a link for a made-up viewer.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

from limelight import ViewerRef
from limelight.links import LinkError, LinkSigner, b64, unb64


class ViewerLinks:
    def __init__(self, secret: str, ttl: timedelta) -> None:
        self.signer = LinkSigner(
            secret,
            purpose="limelight-shop-links",
            noun="drop link",
            renew="type !merch in chat for a new one",
            setting="[plugins.shop] link_secret",
        )
        self.ttl = ttl

    def sign(self, viewer: ViewerRef, *, now: float | None = None) -> str:
        """A token ``<viewer and expiry, base64 JSON>.<mac>``, valid for ``ttl``."""
        expires = int((time.time() if now is None else now) + self.ttl.total_seconds())
        return self.signer.seal(
            b64(json.dumps([viewer.platform, viewer.id, viewer.name[:60], expires]).encode())
        )

    def verify(self, token: str, *, now: float | None = None) -> ViewerRef:
        """The viewer of a genuine token still in its time;
        :class:`~limelight.links.LinkError` otherwise."""
        body = self.signer.unseal(token)
        try:
            platform, viewer_id, name, expires = json.loads(unb64(body))
        except (ValueError, TypeError):
            raise LinkError("this drop link is malformed") from None
        self.signer.check_time(int(expires), now=now)
        return ViewerRef(str(platform), str(viewer_id), str(name))
