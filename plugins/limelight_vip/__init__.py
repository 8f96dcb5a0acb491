"""VIP memberships: tiers, badges, exclusive emotes and members-only chat.

Viewers become members of a tier by subscribing on Twitch, by a Stripe subscription on this
plugin's own endpoint (``/webhooks/vip-stripe``), by a Fourthwall membership (its endpoint
``/webhooks/vip-fourthwall``), by a Ko-fi membership (through the tips plugin's Ko-fi
webhook), by a tip that meets a purchase rule, by a moderator's ``!vip grant``, from the
dashboard, or through the typed API other plugins use (:mod:`limelight_vip.api`). Every
grant is deduplicated on its source's own id; payments are written in ``record_events``
with the payment itself. Members get their tier's badge beside their name, its emotes, and
a voice in members-only chat windows; a refund revokes all of it. See docs/vip.md.

:class:`VipPlugin` wires the parts together; each part is a module with one concern.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Collection, Mapping, Sequence
from datetime import timedelta
from functools import cached_property, partial

from limelight import (
    Badge,
    Call,
    ChatMessage,
    Command,
    CustomEvent,
    Event,
    EventType,
    Job,
    Models,
    Overlay,
    Plugin,
    Register,
    Route,
    StreamOffline,
    StreamOnline,
    Transaction,
    Verdict,
    ViewerRef,
    WebhookProvider,
    command,
    duration,
    example,
    hookimpl,
)

from .api import Granted, Held, Memberships, Tier
from .config import TierConfig, VipConfig
from .engine import Engine, perks_text
from .fourthwall_hook import EVENT as FOURTHWALL_EVENT
from .fourthwall_hook import MAX_BODY as FOURTHWALL_MAX_BODY
from .fourthwall_hook import NAME as FOURTHWALL_NAME
from .fourthwall_hook import FourthwallMemberships
from .gating import Gate
from .grants import Ask, Change
from .joining import PREFIX, JoinCodes
from .models import Membership, StoredTier
from .roster import MEMBER, Roster, Tiers, badge_sub_tier, now_utc
from .sources import Sources
from .stripe_hook import EVENT as STRIPE_EVENT
from .stripe_hook import MAX_BODY as STRIPE_MAX_BODY
from .stripe_hook import NAME as STRIPE_NAME
from .stripe_hook import StripeMemberships
from .web import Dashboard

__version__ = "0.1.0"

WALL = "members"
#: How many chat names the plugin remembers to resolve ``@name`` in moderator commands.
SEEN_LIMIT = 5000
DURATION = re.compile(r"^(\d{1,5})([mhdw])$")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
OBS_SCENE = "obs.scene_changed"
#: A sub badge seen in chat renews a Twitch membership that ends within this.
BADGE_RENEW_AHEAD = timedelta(days=3)


def parse_duration(text: str) -> timedelta | None:
    """``30d``, ``12h``, ``10m``, ``2w`` -> a timedelta; ``forever`` -> ``None``.
    Raises ValueError for anything else."""
    word = text.strip().lower()
    if word in ("forever", "permanent", "always"):
        return None
    match = DURATION.match(word)
    if match is None or int(match.group(1)) == 0:
        raise ValueError(f"{text!r} is not a duration such as 30d, 12h, 10m or forever")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def say_duration(delta: timedelta | None) -> str:
    """``for 30 days``, ``for 1 day``, ``for 1 h 30 min``, ``for good``."""
    return "for good" if delta is None else "for " + duration(delta)


class VipPlugin(Plugin[VipConfig]):
    config_model = VipConfig

    def __init__(self) -> None:
        super().__init__()
        #: Chat names seen lately -> who they are (``!vip grant @name`` resolves here).
        self.seen: OrderedDict[str, ViewerRef] = OrderedDict()
        #: Sub-badge grants asked for in this process (the database dedupes them too).
        self._badge_seen: set[str] = set()
        self._tasks: set[asyncio.Task[Granted]] = set()

    # -- the parts ---------------------------------------------------------------------------

    @cached_property
    def tiers_book(self) -> Tiers:
        return Tiers(self.config.tiers)

    @cached_property
    def roster(self) -> Roster:
        return Roster(self.tiers_book)

    @cached_property
    def engine(self) -> Engine:
        return Engine(self.ctx, self.tiers_book, self.roster)

    @cached_property
    def sources(self) -> Sources:
        return Sources(self.ctx, self.tiers_book, self.engine)

    @cached_property
    def gate(self) -> Gate:
        return Gate(self.ctx, self.tiers_book, self.roster)

    @cached_property
    def stripe(self) -> StripeMemberships:
        return StripeMemberships(self.ctx, self.tiers_book)

    @cached_property
    def fourthwall(self) -> FourthwallMemberships:
        return FourthwallMemberships(self.ctx, self.tiers_book)

    @cached_property
    def dashboard(self) -> Dashboard:
        return Dashboard(self)

    # -- registration ------------------------------------------------------------------------

    @hookimpl
    def register_models(self, register: Register[Models]) -> None:
        register(Models("vip", "limelight_vip.models", "limelight_vip.migrations"))

    @hookimpl
    def register_badges(self, register: Register[Badge]) -> None:
        for badge in self.engine.badges():
            register(badge)

    @hookimpl
    def register_event_types(self, register: Register[EventType]) -> None:
        register(
            EventType(
                STRIPE_EVENT,
                money=True,
                description="A membership payment, end or refund from /webhooks/vip-stripe.",
                label="Stripe membership",
                icon="crown",
            )
        )
        register(
            EventType(
                FOURTHWALL_EVENT,
                money=True,
                description="A membership purchase, tier change or end from "
                "/webhooks/vip-fourthwall.",
                label="Fourthwall membership",
                icon="crown",
            )
        )

    @hookimpl
    def register_webhook_providers(self, register: Register[WebhookProvider]) -> None:
        register(
            WebhookProvider(
                STRIPE_NAME,
                self.stripe.handle,
                max_body=STRIPE_MAX_BODY,
                check_config=StripeMemberships.check_config,
            )
        )
        register(
            WebhookProvider(
                FOURTHWALL_NAME,
                self.fourthwall.handle,
                max_body=FOURTHWALL_MAX_BODY,
                check_config=FourthwallMemberships.check_config,
            )
        )

    @hookimpl
    def register_routes(self, register: Register[Route]) -> None:
        for route in self.dashboard.routes():
            register(route)

    @hookimpl
    def register_overlays(self, register: Register[Overlay]) -> None:
        register(
            Overlay(
                WALL,
                "vip/wall.html",
                width=400,
                height=600,
                title="Members wall",
                description="Current members, newest first; empty when there are none.",
            )
        )

    @hookimpl
    def register_jobs(self, register: Register[Job]) -> None:
        for index, window in enumerate(self.config.members_only.schedule):
            fields = window.cron.split()
            names = ("minute", "hour", "day", "month", "day_of_week")
            register(
                Job(
                    f"members-only-{index}",
                    partial(self._scheduled_window, window.minutes),
                    "cron",
                    dict(zip(names, fields, strict=True)),
                )
            )

    @hookimpl
    def register_commands(self, register: Register[Command]) -> None:
        register(self.vip.with_options(user_cooldown=3))
        register(self.members.with_options(cooldown=5))
        register(self.perks.with_options(cooldown=5))
        register(self.vipchat)

    # -- lifecycle ---------------------------------------------------------------------------

    @hookimpl
    async def startup(self) -> None:
        stored = await StoredTier.all().order_by("rank")
        if stored:
            try:
                self.tiers_book.set(TierConfig.model_validate(row.settings) for row in stored)
                self.engine.reregister_badges()
            except ValueError:
                self.ctx.log.exception(
                    "the tiers saved in the dashboard are invalid; using the config's"
                )
        secret = self.config.link_secret or self.ctx.settings.security.admin_token
        if secret:
            self.stripe.codes = JoinCodes(
                secret,
                link_ttl=timedelta(minutes=self.config.link_ttl_minutes),
                code_ttl=timedelta(days=self.config.code_ttl_days),
            )
        await self.engine.load_emotes()
        await self.engine.load()
        await self.gate.restore()
        await self.push_wall()

    @hookimpl
    async def shutdown(self) -> None:
        await self.gate.stop()

    # -- events ------------------------------------------------------------------------------

    @hookimpl
    async def record_events(
        self, events: list[Event], tx: Transaction
    ) -> Mapping[int, list[Change]]:
        return await self.sources.record(events, tx)

    @hookimpl
    async def on_event(self, event: Event) -> None:
        if isinstance(event, StreamOffline | StreamOnline) and not event.test:
            await self.engine.end_stream_levels()
            return
        if isinstance(event, CustomEvent) and event.custom_type == OBS_SCENE:
            await self._scene(event)
            return
        if event.type == "membership.changed" and event.source == "vip":
            await self.push_wall()
            return
        if not event.money or event.test:
            return
        changes = self.ctx.recorded(event)
        if changes is None:
            changes = await self.sources.read_back(event)
        if changes:
            await self.engine.announce(changes)

    @hookimpl
    async def check_chat_message(self, message: ChatMessage) -> Verdict | None:
        viewer = message.viewer
        if viewer is not None and viewer.name:
            key = viewer.name.lower()
            self.seen[key] = viewer
            self.seen.move_to_end(key)
            if len(self.seen) > SEEN_LIMIT:
                self.seen.popitem(last=False)
        if viewer is not None and message.badges and not message.test:
            self._sub_badge(message, viewer)
        return self.gate.check(message)

    def _sub_badge(self, message: ChatMessage, viewer: ViewerRef) -> None:
        """A Twitch subscriber's badge in chat keeps their membership going: Twitch renews
        subs without telling anyone unless the viewer shares a resub message. Once a month
        per viewer and tier at most, and only when what they hold runs out within 3 days."""
        shown = badge_sub_tier(message.badges)
        tier = self.tiers_book.for_twitch(shown) if shown else None
        if tier is None:
            return
        end = self.roster.tier_end(viewer, tier.name)
        held = self.roster.holds(viewer, {tier.name})
        if held and (end is None or end - now_utc() > BADGE_RENEW_AHEAD):
            return
        month = now_utc().strftime("%Y-%m")
        source_id = f"{viewer.platform}:{viewer.id}:{tier.name}:{month}"
        if source_id in self._badge_seen:
            return
        if len(self._badge_seen) > SEEN_LIMIT * 10:
            self._badge_seen.clear()
        self._badge_seen.add(source_id)
        task = asyncio.ensure_future(
            self.engine.grant(
                Ask(
                    viewer=viewer,
                    tier=tier.name,
                    source="twitch-badge",
                    source_id=source_id,
                    duration=timedelta(days=self.config.twitch_sub_days),
                    reason="sub badge seen in chat",
                    quiet=True,
                    alert=False,
                )
            )
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _scene(self, event: CustomEvent) -> None:
        scene = event.payload.get("scene")
        minutes = self.config.members_only.obs_scenes.get(scene) if isinstance(scene, str) else None
        if minutes:
            await self.gate.open(timedelta(minutes=minutes), reason=f"OBS scene {scene}")

    async def _scheduled_window(self, minutes: int, *_ctx: object) -> None:
        await self.gate.open(timedelta(minutes=minutes), reason="schedule")

    async def push_wall(self) -> None:
        """The members wall's state: current members, newest first."""
        members = self.roster.members()[: self.config.wall_limit]
        await self.ctx.overlays.set_state(
            WALL,
            "members",
            {
                "members": [
                    {
                        "name": row.viewer.name,
                        "tier": self.tiers_book.label(row.tier),
                        "colour": (t.colour if (t := self.tiers_book.get(row.tier)) else ""),
                        "badge": (t.badge if t else ""),
                    }
                    for row in members
                ],
                "count": len(self.roster.members()),
            },
        )

    # -- the API other plugins use (limelight_vip.api.Memberships) ---------------------------

    def tiers(self) -> Sequence[Tier]:
        return self.tiers_book.public()

    def membership(self, viewer: ViewerRef) -> Held | None:
        return self.roster.held(viewer)

    def is_member(self, viewer: ViewerRef, tiers: Collection[str] | None = None) -> bool:
        return self.roster.holds(viewer, tiers)

    async def grant(
        self,
        viewer: ViewerRef,
        tier: str,
        *,
        duration: timedelta | None,
        source: str,
        source_id: str,
        reason: str = "",
    ) -> Granted:
        granted = await self.engine.grant(
            Ask(
                viewer=viewer,
                tier=tier,
                source=source,
                source_id=source_id,
                duration=duration,
                granted_by=source,
                reason=reason,
            )
        )
        await self.push_wall()
        return granted

    async def revoke(self, source: str, source_id: str, *, reason: str) -> bool:
        row = await Membership.get_or_none(source=source, source_id=source_id)
        if row is None or row.revoked_at is not None:
            return False
        revoked = await self.engine.revoke([row], reason) > 0
        if revoked:
            await self.push_wall()
        return revoked

    async def open_members_window(self, duration: timedelta, *, reason: str) -> None:
        await self.gate.open(duration, reason=reason)

    def members_window_open(self) -> bool:
        return self.gate.is_open()

    # -- commands ----------------------------------------------------------------------------

    def resolve(self, name: str) -> ViewerRef | None:
        wanted = name.lstrip("@").lower()
        return self.seen.get(wanted) or self.roster.find_name(wanted)

    async def resolve_stored(self, name: str) -> ViewerRef | None:
        found = self.resolve(name)
        if found is not None:
            return found
        row = await Membership.filter(viewer_name__iexact=name.lstrip("@")).order_by("-id").first()
        return ViewerRef(row.viewer_platform, row.viewer_id, row.viewer_name) if row else None

    def status_line(self, viewer: ViewerRef) -> str:
        held = self.roster.held(viewer)
        if held is None:
            return ""
        label = self.tiers_book.label(held.tier)
        if held.ends is None:
            return f"{viewer.name} is a {label} member."
        return f"{viewer.name} is a {label} member until {held.ends:%Y-%m-%d %H:%M} UTC."

    @command("vip", aliases=("membership",))
    @example("!vip", r"(\S+ is a .+ member.*|You are not a member yet.*)", regex=True)
    async def vip(self, call: Call, *words: str) -> str:
        """Your membership and when it ends; mods: !vip grant @name tier 30d, !vip extend
        @name 30d, !vip revoke @name; everyone: !vip join [tier]."""
        if call.viewer is None:
            return "Memberships need a chat account."
        if not words:
            line = self.status_line(call.viewer)
            return line or (
                "You are not a member yet. Type !vip join to become one, !perks for what you get."
            )
        verb, args = words[0].lower(), list(words[1:])
        if verb == "join":
            return await self._join(call, args)
        if verb in ("grant", "extend", "revoke"):
            if not call.has_role("moderator"):
                return "Only moderators can grant, extend or revoke memberships."
            return await self._moderate(call, verb, args)
        target = await self.resolve_stored(verb) if verb.startswith("@") else None
        if target is not None:
            line = self.status_line(target)
            return line or f"{target.name} is not a member."
        return (
            "Usage: !vip, !vip join [tier], !vip grant @name tier 30d, "
            "!vip extend @name 30d, !vip revoke @name"
        )

    async def _join(self, call: Call, args: list[str]) -> str:
        assert call.viewer is not None
        sold = [t for t in self.tiers_book.list if t.stripe_payment_link]
        if self.config.join_url and not sold:
            return f"Become a member here: {self.config.join_url}"
        codes = self.stripe.codes
        if codes is None or not (sold or self.config.kofi_page):
            twitch = [t for t in self.tiers_book.list if t.twitch_tier]
            if twitch:
                return "Subscribe on Twitch to become a member (!perks for what you get)."
            return "Memberships are not for sale here yet."
        tier = self.tiers_book.find(args[0]) if args else None
        if args and tier is None:
            return "Tiers: " + ", ".join(t.label for t in self.tiers_book.list)
        chosen = tier or (sold[0] if sold else self.tiers_book.list[0])
        code = await codes.issue(call.viewer, chosen.name)
        link = self.ctx.url(f"/p/vip/join/{codes.sign(code.code)}")
        minutes = self.config.link_ttl_minutes
        return (
            f"Join {chosen.label} here: {link} (your code {PREFIX}{code.code}, valid {minutes} min)"
        )

    async def _moderate(self, call: Call, verb: str, args: list[str]) -> str:
        if not args:
            return f"Usage: !vip {verb} @name ..."
        target = await self.resolve_stored(args[0])
        if target is None:
            return f"I have not seen {args[0].lstrip('@')} in chat yet."
        who = call.viewer.name if call.viewer else "a moderator"
        if verb == "revoke":
            rows = await Membership.filter(
                viewer_platform=target.platform,
                viewer_id=target.id,
                kind=MEMBER,
                revoked_at=None,
                ended_at=None,
            )
            if not rows:
                return f"{target.name} has no membership to revoke."
            await self.engine.revoke(rows, f"revoked by {who}")
            await self.push_wall()
            return f"{target.name}'s membership is revoked."
        if verb == "grant":
            if len(args) < 2:
                return "Usage: !vip grant @name tier 30d"
            tier = self.tiers_book.find(args[1])
            if tier is None:
                return "Unknown tier. Tiers: " + ", ".join(t.name for t in self.tiers_book.list)
            try:
                duration = parse_duration(args[2]) if len(args) > 2 else timedelta(days=30)
            except ValueError as exc:
                return str(exc)
            await self.engine.grant(
                Ask(
                    viewer=target,
                    tier=tier.name,
                    source="manual",
                    source_id=f"chat:{call.message.source}:{call.message.source_id}",
                    duration=duration,
                    granted_by=who,
                    reason=f"granted by {who} in chat",
                )
            )
            await self.push_wall()
            return f"{target.name} is a {tier.label} member {say_duration(duration)}."
        # extend
        try:
            duration = parse_duration(args[1]) if len(args) > 1 else timedelta(days=30)
        except ValueError as exc:
            return str(exc)
        held = self.roster.held(target)
        if held is None:
            return f"{target.name} is not a member; use !vip grant."
        if duration is None:
            return "Extend by a duration such as 30d; grant 'forever' with !vip grant."
        await self.engine.grant(
            Ask(
                viewer=target,
                tier=held.tier,
                source="manual",
                source_id=f"chat:{call.message.source}:{call.message.source_id}",
                duration=duration,
                granted_by=who,
                reason=f"extended by {who} in chat",
            )
        )
        return self.status_line(target) or f"{target.name}'s membership is extended."

    @command("members")
    @example("!members", r"(No members yet.*|\d+ members?.*)", regex=True)
    async def members(self, call: Call) -> str:
        """How many members the channel has, per tier."""
        rows = self.roster.members()
        if not rows:
            return "No members yet. Be the first: !vip join"
        counts: dict[str, int] = {}
        for row in rows:
            counts[row.tier] = counts.get(row.tier, 0) + 1
        parts = [
            f"{self.tiers_book.label(t.name)} {counts[t.name]}"
            for t in reversed(self.tiers_book.list)
            if t.name in counts
        ]
        noun = "member" if len(rows) == 1 else "members"
        return f"{len(rows)} {noun}: " + ", ".join(parts)

    @command("perks")
    @example("!perks", r".+", regex=True)
    async def perks(self, call: Call) -> str:
        """What each membership tier gives you."""
        emotes = self.ctx.emotes
        parts = []
        for tier in reversed(self.tiers_book.list):
            text = perks_text(tier.perks)
            if "emotes" in tier.perks:
                codes = [c for c in emotes.codes()]
                if codes:
                    text += " (" + " ".join(f":{c}:" for c in codes[:5]) + ")"
            parts.append(f"{tier.label}: {text}")
        return " | ".join(parts) + " — join with !vip join"

    @command("vipchat", role="moderator")
    @example("!vipchat on 10m", "Members-only chat is on for 10 minutes.", roles=("moderator",))
    async def vipchat(self, call: Call, switch: str = "on", length: str = "10m") -> str:
        """Members-only chat: !vipchat on 10m, !vipchat off."""
        if switch.lower() == "off":
            was = self.gate.is_open()
            await self.gate.close()
            return "Members-only chat is off." if was else "Members-only chat was not on."
        if switch.lower() != "on":
            return "Usage: !vipchat on 10m, or !vipchat off"
        try:
            duration = parse_duration(length)
        except ValueError as exc:
            return str(exc)
        if duration is None or duration > timedelta(hours=24):
            return "Members-only chat lasts at most 24h."
        who = call.viewer.name if call.viewer else "a moderator"
        await self.gate.open(duration, reason=f"!vipchat by {who}")
        return f"Members-only chat is on {say_duration(duration)}."


__all__ = ["Memberships", "VipPlugin"]
