"""Personal tip links: which chat viewer a payment came from.

``!tip`` gives a viewer a short code (``LL-7K3QH2MX``) stored with their chat identity and a
link that carries it, signed and expiring. The link hands the code to the provider: as
Stripe's ``client_reference_id`` (a Payment Link accepts it as a query parameter), or shown
on a page that asks the viewer to put it in their Ko-fi message. When the payment arrives,
the provider finds the code and the tip counts for the chat viewer, on whatever platform
they chat. The code is random (not derived from the identity), so it reveals nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from limelight import ViewerRef
from limelight.links import LinkSigner, new_code

from .models import TipCode

PREFIX = "LL-"
CODE_RE = re.compile(r"\bLL-([A-HJ-NP-Z2-9]{8})\b", re.IGNORECASE)
#: Stripe's client_reference_id allows letters, digits, "-" and "_".
STRIPE_REF_RE = re.compile(r"^(?:LL-)?([A-HJ-NP-Z2-9]{8})$", re.IGNORECASE)


def find_code(text: str) -> str | None:
    """The first tip code in free text (a Ko-fi message), upper-cased."""
    match = CODE_RE.search(text or "")
    return match.group(1).upper() if match else None


def strip_code(text: str) -> str:
    """The message without the tip code, so the code never shows on stream."""
    return " ".join(CODE_RE.sub(" ", text or "").split())


def code_from_reference(reference: str | None) -> str | None:
    """The code in a Stripe ``client_reference_id`` / metadata value, if it is one."""
    match = STRIPE_REF_RE.match((reference or "").strip())
    return match.group(1).upper() if match else None


class Links:
    """Issues codes and signs/verifies the links that carry them."""

    def __init__(self, secret: str, *, link_ttl: timedelta, code_ttl: timedelta) -> None:
        self.signer = LinkSigner(
            secret,
            purpose="limelight-tip-links",
            noun="tip link",
            renew="type !tip in chat for a new one",
            setting="[plugins.tips] link_secret",
        )
        self.link_ttl = link_ttl
        self.code_ttl = code_ttl

    async def issue(self, viewer: ViewerRef) -> TipCode:
        """The viewer's current code, or a new one (a viewer spamming !tip reuses theirs)."""
        now = datetime.now(UTC)
        existing = (
            await TipCode.filter(
                viewer_platform=viewer.platform,
                viewer_id=viewer.id,
                expires_at__gt=now + self.link_ttl,
            )
            .order_by("-id")
            .first()
        )
        if existing is not None:
            if viewer.name and existing.viewer_name != viewer.name:
                existing.viewer_name = viewer.name[:200]
                await existing.save(update_fields=["viewer_name"])
            return existing
        for _ in range(5):
            code = new_code()
            if not await TipCode.exists(code=code):
                return await TipCode.create(
                    code=code,
                    viewer_platform=viewer.platform,
                    viewer_id=viewer.id,
                    viewer_name=viewer.name[:200],
                    expires_at=now + self.code_ttl,
                )
        raise RuntimeError("could not find a free tip code")  # 31^8 codes: never in practice

    @staticmethod
    async def resolve(code: str | None) -> ViewerRef | None:
        """The chat viewer behind ``code`` while the code is valid."""
        if not code:
            return None
        row = await TipCode.get_or_none(code=code.upper())
        if row is None or row.expires_at < datetime.now(UTC):
            return None
        return ViewerRef(row.viewer_platform, row.viewer_id, row.viewer_name)

    def sign(self, code: str, *, now: float | None = None) -> str:
        """A link token ``<code>.<expiry>.<mac>``, valid for ``link_ttl``."""
        return self.signer.sign(code, self.link_ttl, now=now)

    def verify(self, token: str, *, now: float | None = None) -> str:
        """The code in a valid token; :class:`~limelight.links.LinkError` otherwise."""
        return self.signer.verify(token, now=now)
