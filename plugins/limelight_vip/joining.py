"""Personal join links: which chat viewer a membership payment is for.

``!vip join gold`` gives a viewer a short random code (``VIP-7K3QH2MX``) stored with their
chat identity and the tier they chose, and a signed, expiring link to the join page. The
page sends them to the tier's Stripe Payment Link with the code as
``client_reference_id``; when ``checkout.session.completed`` arrives on ``/webhooks/
vip-stripe`` the code names the viewer, so the membership (badge, emotes, members-only
chat) lands on their chat account. The code is random, so it reveals nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from limelight import ViewerRef
from limelight.links import LinkSigner, new_code

from .models import JoinCode

PREFIX = "VIP-"
REFERENCE = re.compile(r"^VIP-([A-HJ-NP-Z2-9]{8})$", re.IGNORECASE)


def code_from_reference(reference: object) -> str | None:
    """The code in a Stripe ``client_reference_id``, if it is one of ours."""
    if not isinstance(reference, str):
        return None
    match = REFERENCE.match(reference.strip())
    return match.group(1).upper() if match else None


class JoinCodes:
    def __init__(self, secret: str, *, link_ttl: timedelta, code_ttl: timedelta) -> None:
        self.signer = LinkSigner(
            secret,
            purpose="limelight-vip-join",
            noun="join link",
            renew="type !vip join in chat for a new one",
            setting="[plugins.vip] link_secret",
        )
        self.link_ttl = link_ttl
        self.code_ttl = code_ttl

    async def issue(self, viewer: ViewerRef, tier: str) -> JoinCode:
        """The viewer's current code for ``tier``, or a new one."""
        now = datetime.now(UTC)
        existing = (
            await JoinCode.filter(
                viewer_platform=viewer.platform,
                viewer_id=viewer.id,
                tier=tier,
                expires_at__gt=now + self.link_ttl,
            )
            .order_by("-id")
            .first()
        )
        if existing is not None:
            return existing
        for _ in range(5):
            code = new_code()
            if not await JoinCode.exists(code=code):
                return await JoinCode.create(
                    code=code,
                    viewer_platform=viewer.platform,
                    viewer_id=viewer.id,
                    viewer_name=viewer.name[:200],
                    tier=tier,
                    expires_at=now + self.code_ttl,
                )
        raise RuntimeError("could not find a free join code")

    @staticmethod
    async def resolve(code: str | None) -> tuple[ViewerRef, str] | None:
        """The chat viewer and tier behind ``code`` while it is valid."""
        if not code:
            return None
        row = await JoinCode.get_or_none(code=code.upper())
        if row is None or row.expires_at < datetime.now(UTC):
            return None
        return ViewerRef(row.viewer_platform, row.viewer_id, row.viewer_name), row.tier

    def sign(self, code: str, *, now: float | None = None) -> str:
        """A link token ``<code>.<expiry>.<mac>``, valid for ``link_ttl``."""
        return self.signer.sign(code, self.link_ttl, now=now)

    def verify(self, token: str, *, now: float | None = None) -> str:
        """The code in a valid token; :class:`~limelight.links.LinkError` otherwise."""
        return self.signer.verify(token, now=now)
