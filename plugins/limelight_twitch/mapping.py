"""Twitch messages (IRC lines and EventSub notifications) to Limelight events.

Both paths report some of the same things (a cheer, a subscription, a gift bomb). Every
such event comes with a **correlation key** that both paths compute alike (see
:mod:`.correlate`); the first report is published and its twin from the other path is
dropped, so plugins see one event.

Keys (``tier`` is ``1000``/``2000``/``3000``; Prime counts as ``1000`` as EventSub reports it):

* cheer: ``("cheer", user id or "anon", bits)``
* a subscription, new, renewed or gifted: ``("sub", recipient user id, tier)``
* a gift bomb of N >= 2: ``("gift", gifter user id or "anon", N, tier)``
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from limelight import (
    ChatDeleted,
    ChatMessage,
    Cheer,
    Donation,
    Event,
    GiftBomb,
    Milestone,
    Money,
    Raid,
    Subscription,
    ViewerRef,
)
from limelight.edge import EARLIEST, FUTURE_SLACK

from .images import TwitchImages
from .irc import IrcMessage, strip_action

SOURCE = "twitch"
_EARLIEST_MS = int(EARLIEST.timestamp() * 1000)
_SLACK_S = FUTURE_SLACK.total_seconds()
PLATFORM = "twitch"
#: Logins Twitch uses for anonymous cheers and gifts.
ANONYMOUS_LOGINS = frozenset({"ananonymouscheerer", "ananonymousgifter"})

#: Entries IrcMapper's cache of chatters holds before it starts over.
CACHED = 4096

Key = tuple[Any, ...]
Produced = list[tuple[Event, Key | None]]
#: Who typed a chat line, their badges and their roles.
Chatter = tuple[ViewerRef | None, tuple[str, ...], frozenset[str]]


def norm_tier(plan: str) -> str:
    return plan if plan in ("1000", "2000", "3000") else "1000"


def badge_list(tags: dict[str, str]) -> tuple[str, ...]:
    raw = tags.get("badges", "")
    return tuple(b for b in raw.split(",") if b) if raw else ()


def roles_from_tags(
    tags: dict[str, str], badge_names: tuple[str, ...] | None = None
) -> frozenset[str]:
    """Platform-neutral roles from Twitch's badges and the mod/subscriber/vip tags."""
    if badge_names is None:
        badge_names = badge_list(tags)
    badges = {b.partition("/")[0] for b in badge_names}
    roles = {"viewer"}
    if "broadcaster" in badges:
        roles.add("broadcaster")
    if tags.get("mod") == "1" or "moderator" in badges:
        roles.add("moderator")
    if tags.get("subscriber") == "1" or badges & {"subscriber", "founder"}:
        roles.add("subscriber")
    if "vip" in tags or "vip" in badges:
        roles.add("vip")
    return frozenset(roles)


def sent_at(tags: dict[str, str]) -> datetime:
    """When Twitch says the line was sent; now when the tag is missing, unreadable or out
    of the sane range of :mod:`limelight.edge` (2000-01-01 .. now + 1 day)."""
    return _sent_time(tags.get("tmi-sent-ts", "")) or datetime.now(UTC)


def _sent_time(ts: str) -> datetime | None:
    """A ``tmi-sent-ts`` value (Unix milliseconds) as a time, or ``None`` when it is not
    one within :func:`sent_at`'s range."""
    if ts.isascii() and ts.isdigit() and len(ts) <= 16:
        ms = int(ts)
        if _EARLIEST_MS <= ms <= (time.time() + _SLACK_S) * 1000:  # per line: no parsing twice
            return datetime.fromtimestamp(ms / 1000, UTC)
    return None


def _viewer(tags: dict[str, str], nick: str = "") -> ViewerRef | None:
    uid = tags.get("user-id", "")
    login = tags.get("login", "") or nick
    if not uid or login in ANONYMOUS_LOGINS:
        return None
    return ViewerRef(PLATFORM, uid, tags.get("display-name") or login)


@dataclass
class IrcMapper:
    """Turns IRC lines into events; remembers open gift bombs to link their gifts."""

    #: community-gift-id -> (gift bomb source_id, gifts still expected)
    bombs: dict[str, list[Any]] = field(default_factory=dict)
    #: Emote, badge and cheermote pictures for the lines it maps.
    images: TwitchImages = field(default_factory=lambda: TwitchImages(""))
    #: Who typed a line, with their badges and roles, per combination of the tags they
    #: come from: a busy chat repeats a few hundred, so most lines build none of them.
    _chatters: dict[tuple[Any, ...], Chatter] = field(default_factory=dict, repr=False)
    #: The last ``tmi-sent-ts`` read and its time: in a busy chat, lines sent within the
    #: same millisecond follow each other, and share one (immutable) time.
    _last_sent: tuple[str, datetime | None] = field(default=("", None), repr=False)

    def map(self, msg: IrcMessage) -> Produced:
        if msg.command == "PRIVMSG":  # nearly every line: no name built, no lookup
            return self._on_privmsg(msg)
        handler = getattr(self, "_on_" + msg.command.lower(), None)
        return handler(msg) if handler is not None else []

    def _on_privmsg(self, msg: IrcMessage) -> Produced:
        params = msg.params
        return self.privmsg(msg.tags, msg.nick, msg.channel, params[-1] if params else "")

    def privmsg(self, tags: dict[str, str], nick: str, channel: str, text: str) -> Produced:
        """The events of a chat line: its :class:`ChatMessage`, and a :class:`Cheer` when
        it carries bits; none without an ``id`` tag."""
        chat = self.chat_line(tags, nick, channel, text)
        if chat is None:
            return []
        if chat.bits > 0:
            return [(chat, None), self.cheer(chat, tags, nick)]
        return [(chat, None)]

    def chat_line(
        self, tags: dict[str, str], nick: str, channel: str, text: str
    ) -> ChatMessage | None:
        """The :class:`ChatMessage` of a chat line from its parts (as
        :func:`~.irc.split_privmsg` gives them, the nick and channel taken out); ``None``
        without an ``id`` tag. Why its own method: the connector's read loop calls it
        straight for the common line, with no :class:`IrcMessage` and no list of pairs;
        :meth:`privmsg` adds the cheer a line with bits also is."""
        get = tags.get
        mid = get("id")
        if not mid:
            return None
        if text[:1] == "\x01":
            text, _action = strip_action(text)
        key = (
            get("user-id", ""),
            get("login", ""),
            get("display-name", ""),
            nick,
            get("badges", ""),
            get("mod", ""),
            get("subscriber", ""),
            "vip" in tags,
        )
        chatter = self._chatters.get(key)
        if chatter is None:
            chatter = self._chatter(tags, key)
        viewer, badges, roles = chatter
        bits_tag = get("bits")
        bits = int(bits_tag) if bits_tag and bits_tag.isascii() and bits_tag.isdigit() else 0
        emotes = get("emotes")
        ts = get("tmi-sent-ts", "")
        last_ts, when = self._last_sent
        if ts != last_ts or when is None:
            when = _sent_time(ts)
            if when is None:
                when = datetime.now(UTC)
            else:
                self._last_sent = (ts, when)
        return ChatMessage(
            source=SOURCE,
            source_id=mid,
            viewer=viewer,
            occurred_at=when,
            text=text,
            channel=channel,
            roles=roles,
            badges=badges,
            first=get("first-msg") == "1",
            reply_to=get("reply-parent-msg-id") or None,
            bits=bits,
            color=get("color", ""),
            emotes=self.images.emotes(emotes, text) if emotes else (),
            badge_images=self.images.badge_images(badges) if badges else (),
        )

    def cheer(self, chat: ChatMessage, tags: dict[str, str], nick: str) -> tuple[Cheer, Key]:
        """The :class:`Cheer` a chat line with bits also is, with its correlation key."""
        anonymous = (tags.get("login") or nick) in ANONYMOUS_LOGINS
        who = None if anonymous else chat.viewer
        cheer = Cheer(
            source=SOURCE,
            source_id=f"cheer:{chat.source_id}",
            viewer=who,
            occurred_at=chat.occurred_at,
            bits=chat.bits,
            message=chat.text,
            anonymous=anonymous,
            emotes=self.images.cheer_emotes(chat.text),
        )
        return cheer, ("cheer", who.id if who else "anon", chat.bits)

    def _chatter(self, tags: dict[str, str], key: tuple[Any, ...]) -> Chatter:
        """Who typed a chat line (its login when Twitch gives no user id), their
        :func:`badge_list` and :func:`roles_from_tags`, remembered under ``key``."""
        nick = key[3]
        viewer = _viewer(tags, nick)
        if viewer is None and nick:
            viewer = ViewerRef(PLATFORM, key[0] or nick, key[2] or nick)
        badges = badge_list(tags)
        chatter = (viewer, badges, roles_from_tags(tags, badges))
        cache = self._chatters
        if len(cache) >= CACHED:
            cache.clear()
        cache[key] = chatter
        return chatter

    def _on_usernotice(self, msg: IrcMessage) -> Produced:
        tags = msg.tags
        kind = tags.get("msg-id", "")
        mid = tags.get("id") or ""
        if not mid:
            return []
        at = sent_at(tags)
        viewer = _viewer(tags, msg.nick)
        plan = tags.get("msg-param-sub-plan", "1000")
        tier = norm_tier(plan)
        if kind in ("sub", "resub"):
            if viewer is None:
                return []
            months = _int(tags.get("msg-param-cumulative-months"), 1)
            sub = Subscription(
                source=SOURCE,
                source_id=mid,
                viewer=viewer,
                occurred_at=at,
                tier=plan if plan == "Prime" else tier,
                months=months,
                message=msg.trailing if len(msg.params) > 1 else "",
            )
            return [(sub, ("sub", viewer.id, tier))]
        if kind in ("subgift", "anonsubgift"):
            rid = tags.get("msg-param-recipient-id", "")
            if not rid:
                return []
            recipient = ViewerRef(
                PLATFORM,
                rid,
                tags.get("msg-param-recipient-display-name")
                or tags.get("msg-param-recipient-user-name", ""),
            )
            gifter = None if kind == "anonsubgift" else viewer
            group = tags.get("msg-param-community-gift-id") or tags.get("msg-param-origin-id")
            bomb_id = None
            if group and group in self.bombs:
                open_bomb = self.bombs[group]
                bomb_id = open_bomb[0]
                open_bomb[1] -= 1
                if open_bomb[1] <= 0:
                    del self.bombs[group]
            sub = Subscription(
                source=SOURCE,
                source_id=mid,
                viewer=recipient,
                occurred_at=at,
                tier=tier,
                months=_int(tags.get("msg-param-months"), 1),
                gifted=True,
                gifter=gifter,
                gift_bomb=bomb_id,
            )
            return [(sub, ("sub", rid, tier))]
        if kind in ("submysterygift", "anonsubmysterygift"):
            count = _int(tags.get("msg-param-mass-gift-count"), 0)
            if count < 2:
                return []
            anonymous = kind.startswith("anon") or viewer is None
            group = tags.get("msg-param-community-gift-id") or tags.get("msg-param-origin-id")
            if group:
                self.bombs[group] = [mid, count]
                if len(self.bombs) > 1000:
                    self.bombs.pop(next(iter(self.bombs)))
            bomb = GiftBomb(
                source=SOURCE,
                source_id=mid,
                viewer=None if anonymous else viewer,
                occurred_at=at,
                count=count,
                tier=tier,
                anonymous=anonymous,
            )
            giver = "anon" if anonymous or viewer is None else viewer.id
            return [(bomb, ("gift", giver, count, tier))]
        if kind == "raid":
            raider = viewer or ViewerRef(
                PLATFORM, tags.get("user-id", ""), tags.get("msg-param-displayName", "")
            )
            return [
                (
                    Raid(
                        source=SOURCE,
                        source_id=mid,
                        viewer=raider,
                        occurred_at=at,
                        viewers=_int(tags.get("msg-param-viewerCount"), 0),
                    ),
                    None,
                )
            ]
        if kind == "announcement":
            color = tags.get("msg-param-color", "PRIMARY").lower()
            chat = ChatMessage(
                source=SOURCE,
                source_id=mid,
                viewer=viewer,
                occurred_at=at,
                text=msg.trailing if len(msg.params) > 1 else "",
                channel=msg.channel,
                roles=roles_from_tags(tags),
                badges=(
                    *(b for b in tags.get("badges", "").split(",") if b),
                    f"announcement/{color}",
                ),
                color=tags.get("color", ""),
            )
            return [(chat, None)]
        return []

    def _on_clearchat(self, msg: IrcMessage) -> Produced:
        tags = msg.tags
        target = tags.get("target-user-id")
        viewer = (
            ViewerRef(PLATFORM, target, msg.trailing) if target and len(msg.params) > 1 else None
        )
        sid = f"clearchat:{tags.get('room-id', '')}:{target or '*'}:{tags.get('tmi-sent-ts', '')}"
        return [
            (
                ChatDeleted(
                    source=SOURCE,
                    source_id=sid,
                    viewer=viewer,
                    occurred_at=sent_at(tags),
                    channel=msg.channel,
                ),
                None,
            )
        ]

    def _on_clearmsg(self, msg: IrcMessage) -> Produced:
        tags = msg.tags
        target = tags.get("target-msg-id")
        if not target:
            return []
        login = tags.get("login", "")
        return [
            (
                ChatDeleted(
                    source=SOURCE,
                    source_id=f"clearmsg:{target}",
                    viewer=ViewerRef(PLATFORM, login, login) if login else None,
                    occurred_at=sent_at(tags),
                    channel=msg.channel,
                    message_id=target,
                ),
                None,
            )
        ]


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw is not None else default
    except ValueError:
        return default


# -- EventSub -------------------------------------------------------------------------------


@dataclass
class EventSubMapper:
    """Turns EventSub notifications into events.

    EventSub's ``channel.subscribe`` for a gifted sub does not name the gifter; the gifter
    comes just before in ``channel.subscription.gift``. The mapper keeps those open gifts
    to fill in ``gifter`` and ``gift_bomb`` on the subscriptions that follow.
    """

    #: Open gifts, oldest first: [tier, gifts still expected, gifter, gift bomb id]
    gifts: list[list[Any]] = field(default_factory=list)
    #: Cheermote pictures for the cheers it maps.
    images: TwitchImages = field(default_factory=lambda: TwitchImages(""))

    def map(self, sub_type: str, message_id: str, event: dict[str, Any], at: datetime) -> Produced:
        handler = getattr(self, "_" + sub_type.replace(".", "_"), None)
        if handler is None:
            return []
        produced: Produced = handler(f"eventsub:{message_id}", event, at)
        return produced

    @staticmethod
    def _user(event: dict[str, Any], prefix: str = "user") -> ViewerRef | None:
        uid = event.get(f"{prefix}_id")
        if not uid or event.get("is_anonymous"):
            return None
        return ViewerRef(
            PLATFORM, str(uid), event.get(f"{prefix}_name") or event.get(f"{prefix}_login") or ""
        )

    def _channel_cheer(self, sid: str, event: dict[str, Any], at: datetime) -> Produced:
        who = self._user(event)
        bits = int(event.get("bits") or 0)
        if bits <= 0:
            return []
        cheer = Cheer(
            source=SOURCE,
            source_id=sid,
            viewer=who,
            occurred_at=at,
            bits=bits,
            message=event.get("message") or "",
            anonymous=who is None,
            emotes=self.images.cheer_emotes(event.get("message") or ""),
        )
        return [(cheer, ("cheer", who.id if who else "anon", bits))]

    def _channel_subscribe(self, sid: str, event: dict[str, Any], at: datetime) -> Produced:
        who = self._user(event)
        if who is None:
            return []
        tier = norm_tier(str(event.get("tier", "1000")))
        gifted = bool(event.get("is_gift"))
        gifter, bomb_id = None, None
        if gifted:
            for gift in self.gifts:
                if gift[0] == tier and gift[1] > 0:
                    gift[1] -= 1
                    gifter, bomb_id = gift[2], gift[3]
                    break
            self.gifts = [g for g in self.gifts if g[1] > 0]
        sub = Subscription(
            source=SOURCE,
            source_id=sid,
            viewer=who,
            occurred_at=at,
            tier=tier,
            gifted=gifted,
            gifter=gifter,
            gift_bomb=bomb_id,
        )
        return [(sub, ("sub", who.id, tier))]

    def _channel_subscription_message(
        self, sid: str, event: dict[str, Any], at: datetime
    ) -> Produced:
        who = self._user(event)
        if who is None:
            return []
        tier = norm_tier(str(event.get("tier", "1000")))
        message = event.get("message") or {}
        sub = Subscription(
            source=SOURCE,
            source_id=sid,
            viewer=who,
            occurred_at=at,
            tier=tier,
            months=int(event.get("cumulative_months") or 1),
            message=message.get("text", "") if isinstance(message, dict) else "",
        )
        return [(sub, ("sub", who.id, tier))]

    def _channel_subscription_gift(self, sid: str, event: dict[str, Any], at: datetime) -> Produced:
        who = self._user(event)
        total = int(event.get("total") or 0)
        tier = norm_tier(str(event.get("tier", "1000")))
        anonymous = who is None
        bomb_id = sid if total >= 2 else None
        self.gifts.append([tier, total, who, bomb_id])
        self.gifts = self.gifts[-50:]
        if total < 2:
            return []
        bomb = GiftBomb(
            source=SOURCE,
            source_id=sid,
            viewer=who,
            occurred_at=at,
            count=total,
            tier=tier,
            anonymous=anonymous,
        )
        return [(bomb, ("gift", "anon" if anonymous else who.id, total, tier))]  # type: ignore[union-attr]

    def _channel_charity_campaign_donate(
        self, sid: str, event: dict[str, Any], at: datetime
    ) -> Produced:
        amount = money_from(event.get("amount"))
        if amount is None:
            return []
        donation_id = event.get("id")
        return [
            (
                Donation(
                    source=SOURCE,
                    source_id=f"charity:{donation_id}" if donation_id else sid,
                    viewer=self._user(event),
                    occurred_at=at,
                    amount=amount,
                    campaign=str(event.get("campaign_id") or ""),
                    anonymous=self._user(event) is None,
                ),
                None,
            )
        ]

    def _channel_charity_campaign_progress(
        self, sid: str, event: dict[str, Any], at: datetime
    ) -> Produced:
        current = money_from(event.get("current_amount"))
        target = money_from(event.get("target_amount"))
        if current is None:
            return []
        return [
            (
                Milestone(
                    source=SOURCE,
                    source_id=sid,
                    occurred_at=at,
                    name=f"charity:{event.get('charity_name') or event.get('id', '')}",
                    current=current.minor,
                    target=target.minor if target else 0,
                    unit=current.currency,
                ),
                None,
            )
        ]


def money_from(raw: Any) -> Money | None:
    """EventSub amounts: ``{"value": 500, "decimal_places": 2, "currency": "USD"}``."""
    if not isinstance(raw, dict):
        return None
    try:
        value = Decimal(int(raw["value"])).scaleb(-int(raw.get("decimal_places", 0)))
        return Money.parse(value, str(raw["currency"]))
    except (KeyError, ValueError, TypeError, ArithmeticError):
        return None
