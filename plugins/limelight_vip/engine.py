"""Keeping memory, badges, emotes and the expiry schedule in step with the grant rows, and
telling the world (``membership.changed``, a welcome in chat).

Why on its own: every source of grants (payments in ``record_events``, a moderator's
``!vip grant``, the dashboard, another plugin through the API) ends up here after its write
commits, so the reversal of a refund and an expiry cascade the same way: the badge goes,
the emotes stop rendering, members-only chat stops admitting the viewer, and
``membership.changed`` tells the members' room to close its door.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from limelight import Badge, Emote, MembershipChanged, PluginContext, ViewerRef, fill
from limelight.db import in_transaction
from tortoise.exceptions import IntegrityError

from . import grants
from .api import Granted, Held
from .config import VipConfig
from .grants import Ask, Change
from .models import Membership, TierEmote
from .roster import MEMBER, SUPPORTER, Roster, Row, Tiers, now_utc, row_of

#: Sources whose memberships renew on the platform, without anything to do here.
RENEWED_ELSEWHERE = frozenset({"twitch", "twitch-badge"})
#: Warn this long before a membership runs out.
WARN_AHEAD = timedelta(days=1)
#: The scheduler job that ends and warns.
TICK = "tick"


def badge_name(kind: str, tier: str) -> str:
    return f"vip-{tier}" if kind == MEMBER else f"vip-supporter-{tier}"


class Engine:
    def __init__(self, ctx: PluginContext[VipConfig], tiers: Tiers, roster: Roster) -> None:
        self.ctx = ctx
        self.tiers = tiers
        self.roster = roster
        self.lock = asyncio.Lock()
        #: Badges awarded per viewer, so a change awards and revokes only the difference.
        self._awarded: dict[tuple[str, str], set[str]] = {}
        self._names: dict[tuple[str, str], ViewerRef] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: While :meth:`load` reads the rows: the commits that land meanwhile, to apply
        #: again over what it read (the read may have run before them).
        self._meanwhile: list[tuple[list[Membership], list[int]]] | None = None

    # -- badges and emotes ------------------------------------------------------------------

    def badges(self) -> list[Badge]:
        out = [
            Badge(
                badge_name(MEMBER, t.name),
                t.label,
                icon=t.badge,
                description=f"{t.label} member",
                highlight=t.highlight,
                colour=t.colour,
            )
            for t in self.tiers.list
        ]
        out += [
            Badge(
                badge_name(SUPPORTER, lv.name),
                lv.label,
                icon=lv.badge,
                description=f"{lv.label} supporter",
                colour=lv.colour,
            )
            for lv in self.ctx.config.supporter_levels
        ]
        return out

    def reregister_badges(self) -> None:
        """The tiers changed in the dashboard: the badge book learns the new set."""
        registry = self.ctx.badges.registry
        registry.drop_owner(self.ctx.name)
        for badge in self.badges():
            registry.add(self.ctx.name, badge)
        self._awarded.clear()
        for key in self.roster.viewers():
            self.refresh(key)

    def refresh(self, key: tuple[str, str]) -> None:
        """Award and revoke ``key``'s badges to match their current grants."""
        viewer = self._viewer(key)
        want = {badge_name(MEMBER, t) for t in self.roster.tiers_of(key, MEMBER)}
        want |= {badge_name(SUPPORTER, t) for t in self.roster.tiers_of(key, SUPPORTER)}
        registry = self.ctx.badges.registry
        want = {b for b in want if b in registry}
        have = self._awarded.get(key, set())
        for name in have - want:
            self.ctx.badges.revoke(viewer, name)
        for name in want - have:
            self.ctx.badges.award(viewer, name)
        if want:
            self._awarded[key] = want
        else:
            self._awarded.pop(key, None)

    def _viewer(self, key: tuple[str, str]) -> ViewerRef:
        rows = self.roster.of(key)
        return rows[0].viewer if rows else self._names.get(key, ViewerRef(*key))

    async def load_emotes(self) -> None:
        rows = await TierEmote.all().order_by("id")
        emotes = [Emote(row.code, row.url, allowed=self._emote_rule(row.tier)) for row in rows]
        self.ctx.emotes.replace(self.ctx.name, emotes)

    def _emote_rule(self, tier: str) -> Callable[[ViewerRef | None], bool]:
        tiers = self.tiers
        roster = self.roster

        def allowed(viewer: ViewerRef | None) -> bool:
            if viewer is None:
                return False
            # A tier's emotes belong to it and every tier above it that has the perk.
            rank = tiers.rank.get(tier)
            if rank is None:
                return False
            for held in roster.tiers_of(viewer, MEMBER):
                spec = tiers.get(held)
                if spec is None or "emotes" not in spec.perks:
                    continue
                if tiers.rank.get(held, -1) >= rank:
                    return True
            return False

        return allowed

    # -- memory ------------------------------------------------------------------------------

    async def load(self) -> None:
        """Rebuild memory from the database (startup), then end what expired while down.

        The roster is emptied only once the rows are read, so it is never empty while the
        read waits (a gate asking then would refuse every member); commits that land
        during the read are applied again over what it returned."""
        self._meanwhile = []
        try:
            rows = await Membership.filter(revoked_at=None, ended_at=None)
        finally:
            meanwhile, self._meanwhile = self._meanwhile, None
        self.roster.clear()
        for m in rows:
            self.roster.add(row_of(m))
        for written, dropped in meanwhile:
            self._apply(written, dropped)
        for key in self.roster.viewers():
            self.refresh(key)
        await self.tick()

    def committed(self, written: Iterable[Membership], dropped: Iterable[int] = ()) -> None:
        """After a commit: what was written joins memory, what was revoked leaves it."""
        written, dropped = list(written), list(dropped)
        if self._meanwhile is not None:
            self._meanwhile.append((written, dropped))
        for key in self._apply(written, dropped):
            self.refresh(key)
        self.reschedule()

    def _apply(self, written: list[Membership], dropped: list[int]) -> set[tuple[str, str]]:
        """One commit's rows on the roster; the viewers it touched."""
        touched: set[tuple[str, str]] = set()
        for row_id in dropped:
            row = self.roster.drop(row_id)
            if row is not None:
                touched.add(row.viewer.key)
        for m in written:
            if m.revoked_at is None and m.ended_at is None:
                row = row_of(m)
                self.roster.add(row)
                touched.add(row.viewer.key)
        return touched

    # -- announcing -------------------------------------------------------------------------

    async def announce(self, changes: Iterable[Change]) -> None:
        """``membership.changed`` for each change (deduped on the row and status, so a
        replay after a restart announces once) and a welcome in chat for a new member."""
        for change in changes:
            tier = self.tiers.get(change.tier)
            label = tier.label if tier else change.tier
            if change.kind == SUPPORTER:
                level = next(
                    (lv for lv in self.ctx.config.supporter_levels if lv.name == change.tier),
                    None,
                )
                label = level.label if level else change.tier
            event = MembershipChanged(
                source="vip",
                source_id=f"membership:{change.row_id}:{change.status}",
                viewer=change.viewer,
                level=change.tier if change.kind == MEMBER else f"supporter:{change.tier}",
                label=label,
                status=change.status,
                expires_at=change.expires_at,
                alert=change.alert and change.kind == MEMBER,
            )
            accepted = await self.ctx.publish(event)
            if accepted.duplicate or change.kind != MEMBER or change.quiet:
                continue
            welcome = self.ctx.config.welcome
            if change.status == "granted" and welcome and tier is not None:
                await self.ctx.chat.say(
                    fill(
                        welcome,
                        {
                            "name": change.viewer.name,
                            "tier": label,
                            "perks": perks_text(tier.perks),
                        },
                    )
                )
        self.reschedule()

    async def announce_when_running(self, changes: list[Change]) -> None:
        """Announce now, or, during startup (memberships that ran out while the server
        was down), as soon as the bus dispatches: events published before it runs would
        reach no plugin."""
        bus = self.ctx.bus
        if bus.running:
            await self.announce(changes)
            return

        async def later() -> None:
            for _ in range(600):  # the bus starts right after the plugins; 60 s at most
                if bus.running:
                    await self.announce(changes)
                    return
                await asyncio.sleep(0.1)
            self.ctx.log.warning(
                "the event bus never started; %d changes unannounced", len(changes)
            )

        task = asyncio.ensure_future(later())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- grants outside payments ------------------------------------------------------------

    async def grant(self, ask: Ask) -> Granted:
        """Grant now (a moderator, the dashboard, another plugin): once per source id."""
        if self.tiers.get(ask.tier) is None and ask.kind == MEMBER:
            raise KeyError(f"unknown tier {ask.tier!r}")
        async with self.lock:
            try:
                async with in_transaction():
                    row, change = await grants.write(ask, now_utc())
            except IntegrityError:  # the same source id granted at the same moment elsewhere
                row = await Membership.get(source=ask.source, source_id=ask.source_id)
                change = None
            if change is not None:
                self.committed([row])
        if change is not None:
            await self.announce([change])
        held = self.roster.held(ask.viewer)
        if held is None or held.tier != row.tier:
            held = Held(
                ViewerRef(row.viewer_platform, row.viewer_id, row.viewer_name),
                row.tier,
                row.source,
                row.starts,
                row.ends,
            )
        return Granted(new=change is not None, membership=held)

    async def revoke(self, rows: list[Membership], reason: str) -> int:
        """Revoke ``rows``; how many this call revoked (0: they were revoked already)."""
        async with self.lock:
            async with in_transaction():
                done, changes = await grants.revoke(rows, reason, now_utc())
            self.committed([], [int(r.id) for r in done])
        await self.announce(changes)
        return len(done)

    async def extend(self, row: Membership, days: int) -> Membership:
        """Push a grant's end out by ``days`` (one without an end stays without)."""
        async with self.lock:
            if row.ends is not None:
                base = max(row.ends, now_utc())
                row.ends = base + timedelta(days=days)
                row.warned = False
                await row.save(update_fields=["ends", "warned"])
            self.committed([row], [int(row.id)])
        await self.announce(
            [
                Change(
                    int(row.id),
                    ViewerRef(row.viewer_platform, row.viewer_id, row.viewer_name),
                    row.tier,
                    row.kind,
                    "renewed",
                    row.ends,
                )
            ]
        )
        return row

    # -- expiry -----------------------------------------------------------------------------

    def reschedule(self) -> None:
        """Run :meth:`tick` at the next moment anything starts, ends or needs a warning."""
        if not self.ctx.running:
            return
        now = now_utc()
        moments: list[datetime] = []
        warn = self.ctx.config.warn_before_expiry
        for row in self.roster.rows.values():
            if row.starts > now:
                moments.append(row.starts)
            if row.ends is not None:
                moments.append(row.ends)
                if not warn or row.kind != MEMBER or row.warned or row.source in RENEWED_ELSEWHERE:
                    continue
                if row.ends - WARN_AHEAD > now:
                    moments.append(row.ends - WARN_AHEAD)
                else:
                    moments.append(now + timedelta(seconds=1))
        if not moments:
            self.ctx.scheduler.cancel(TICK)
            return
        self.ctx.scheduler.run_at(min(moments), self.tick, id=TICK)

    async def tick(self) -> None:
        """End what ran out, award what started, warn who runs out within a day."""
        now = now_utc()
        ended = [r for r in self.roster.rows.values() if r.ends is not None and r.ends <= now]
        changes: list[Change] = []
        if ended:
            async with self.lock:
                ids = [r.id for r in ended]
                await Membership.filter(id__in=ids, ended_at=None).update(ended_at=now)
                for row in ended:
                    self.roster.drop(row.id)
                for row in ended:
                    # A renewal queued after it keeps the viewer in the tier.
                    still = any(
                        r.tier == row.tier and r.kind == row.kind
                        for r in self.roster.of(row.viewer)
                    )
                    if not still:
                        changes.append(
                            Change(row.id, row.viewer, row.tier, row.kind, "expired", None)
                        )
        for key in {r.viewer.key for r in ended} | set(self.roster.viewers()):
            self.refresh(key)
        if changes:
            await self.announce_when_running(_unique(changes))
        if self.ctx.config.warn_before_expiry:
            await self._warn(now)
        self.reschedule()

    async def _warn(self, now: datetime) -> None:
        config = self.ctx.config
        due: list[Row] = []
        for row in list(self.roster.rows.values()):
            if row.kind != MEMBER or row.warned or row.ends is None:
                continue
            if row.source in RENEWED_ELSEWHERE:
                continue  # a Twitch sub renews on Twitch: no warning to act on
            if row.ends - WARN_AHEAD > now:
                continue
            # Only the grant that ends the chain: a renewal queued after it means no warning.
            if self.roster.tier_end(row.viewer, row.tier) != row.ends:
                await Membership.filter(id=row.id).update(warned=True)
                self.roster.mark_warned(row.id)
                continue
            due.append(row)
        for row in due:
            updated = await Membership.filter(id=row.id, warned=False).update(warned=True)
            self.roster.mark_warned(row.id)
            if not updated or not config.warning:
                continue
            await self.ctx.chat.say(
                fill(
                    config.warning,
                    {
                        "name": row.viewer.name,
                        "tier": self.tiers.label(row.tier),
                        "ends": row.ends.strftime("%Y-%m-%d %H:%M UTC") if row.ends else "",
                        "join": "Renew with !vip join."
                        if config.join_url == ""
                        else config.join_url,
                    },
                ),
                platform=row.viewer.platform,
            )

    async def end_stream_levels(self) -> None:
        """The stream ended: supporter levels given "for the stream" end now."""
        rows = [r for r in self.roster.rows.values() if r.kind == SUPPORTER and r.ends is None]
        if not rows:
            return
        now = now_utc()
        async with self.lock:
            await Membership.filter(id__in=[r.id for r in rows], ended_at=None).update(
                ended_at=now, ends=now
            )
            for row in rows:
                self.roster.drop(row.id)
        for row in rows:
            self.refresh(row.viewer.key)
        await self.announce(
            _unique([Change(r.id, r.viewer, r.tier, r.kind, "expired", None) for r in rows])
        )


def _unique(changes: list[Change]) -> list[Change]:
    seen: set[tuple[str, str, str, str]] = set()
    out: list[Change] = []
    for c in changes:
        marker = (c.viewer.platform, c.viewer.id, c.kind, c.tier)
        if marker not in seen:
            seen.add(marker)
            out.append(c)
    return out


PERK_TEXT = {
    "emotes": "exclusive emotes",
    "room": "the members' room",
    "content": "members-only posts",
    "members_only_chat": "talking in members-only chat",
    "early_access": "early access to drops",
}


def perks_text(perks: Iterable[str]) -> str:
    names = [PERK_TEXT.get(p, p) for p in perks]
    return ", ".join(names) if names else "a member badge"
