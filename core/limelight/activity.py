"""The activity feed: every event described in words, for the dashboard's home page.

Each event of the log becomes a line a streamer reads at a glance: an icon, a label
("New member", never ``membership.changed``), a sentence ("Alice tipped $5.00") with
amounts through the one money formatter, and the viewer's own words (a chat line, a tip
message) as a separate detail the page shows as text. A plugin's own event types read
through the ``label``/``describe``/``icon`` they declare on :class:`~limelight.EventType`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .events import sub_tier_name
from .money import BITS, Money, MoneyError, format_money
from .text import fill, placeholders, plural

if TYPE_CHECKING:
    from .plugins import PluginHost
    from .registry import AlertKind

#: The icons of ``/-/static/icons.svg`` a line may use.
ICONS = frozenset(
    {
        "chat", "trash", "coin", "refund", "bits", "star", "gift", "raid", "heart", "bag",
        "crown", "flag", "live", "offline", "spark",
    }
)  # fmt: skip
#: Membership statuses that read as a welcome ("New member") rather than a change.
WELCOME = frozenset({"granted", "new", "started", "active", "renewed", "upgraded"})


@dataclass(frozen=True, slots=True)
class Line:
    """One event in words."""

    icon: str
    label: str
    text: str
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        return {"icon": self.icon, "label": self.label, "text": self.text, "detail": self.detail}


#: The core's types: label and icon, for the feed's filter and its lines.
LABELS: dict[str, tuple[str, str]] = {
    "chat.message": ("Chat", "chat"),
    "chat.deleted": ("Message removed", "trash"),
    "tip": ("Tip", "coin"),
    "refund": ("Refund", "refund"),
    "cheer": ("Cheer", "bits"),
    "subscription": ("Subscription", "star"),
    "gift_bomb": ("Gift bomb", "gift"),
    "raid": ("Raid", "raid"),
    "donation": ("Donation", "heart"),
    "merch.order": ("Merch order", "bag"),
    "merch.refund": ("Merch refund", "refund"),
    "membership.changed": ("New member", "crown"),
    "milestone": ("Milestone", "flag"),
    "stream.online": ("Stream online", "live"),
    "stream.offline": ("Stream offline", "offline"),
}


class Describer:
    """Describes wire events (``GET /api/events`` rows) in the streamer's locale."""

    def __init__(self, locale: str = "en_US", host: PluginHost | None = None) -> None:
        self.locale = locale
        self.host = host

    # -- labels -----------------------------------------------------------------------------

    def label(self, etype: str) -> str:
        """What a type is called in the dashboard: ``membership.changed`` → "New member"."""
        if etype in LABELS:
            return LABELS[etype][0]
        declared = self.host.event_types.get(etype) if self.host is not None else None
        if declared is not None and declared.label:
            return declared.label
        return humanise(etype)

    def kind_label(self, kind: AlertKind) -> str:
        """What an overlay's kind of alert is called in the dashboard: its own ``label``,
        else its event type's (:meth:`label`)."""
        return kind.label or self.label(kind.kind)

    def types(self, names: list[str]) -> list[dict[str, str]]:
        return sorted(
            ({"type": n, "label": self.label(n)} for n in names), key=lambda t: t["label"]
        )

    # -- lines -------------------------------------------------------------------------------

    def describe(self, event: Mapping[str, Any]) -> Line:
        etype = str(event.get("type", ""))
        data = event.get("data")
        if not isinstance(data, Mapping):
            data = {}
        viewer = event.get("viewer")
        name = ""
        if isinstance(viewer, Mapping):
            name = str(viewer.get("name") or viewer.get("id") or "")
        if data.get("anonymous") is True:
            name = "Anonymous"
        name = name or "Someone"
        own = _CORE.get(etype)
        if own is not None:
            return own(self, name, data)
        return self._custom(etype, name, data)

    def money(self, data: Mapping[str, Any], key: str = "amount") -> str:
        """``data[key]`` (an amount of ``data["currency"]``) as money in the streamer's
        locale, or "" when the data holds no readable amount there."""
        raw, currency = data.get(key), data.get("currency")
        if raw is None or not isinstance(currency, str) or not currency:
            return ""
        try:
            return format_money(Money.parse(str(raw), currency), self.locale)
        except MoneyError:
            return ""

    def bits(self, count: Any) -> str:
        number = count if isinstance(count, int) and not isinstance(count, bool) else 0
        return format_money(Money(number, BITS), self.locale)

    def _custom(self, etype: str, name: str, data: Mapping[str, Any]) -> Line:
        declared = self.host.event_types.get(etype) if self.host is not None else None
        label = self.label(etype)
        icon = "spark"
        text = label
        if declared is not None:
            if declared.icon in ICONS:
                icon = declared.icon
            if declared.describe:
                values: dict[str, Any] = {
                    k: v
                    for k, v in data.items()
                    if isinstance(v, str | int) and not isinstance(v, bool)
                }
                values["name"] = name
                for key in declared.amounts:
                    amount = self.money(data, key)
                    if amount:
                        values[key] = amount
                # An event without a value the line names (logged before the plugin added
                # it, or posted by hand) reads as its label, not as a sentence with a hole.
                if placeholders(declared.describe) <= values.keys():
                    text = fill(declared.describe, values)
        return Line(icon, label, text)


def humanise(etype: str) -> str:
    """``shop.drop_started`` → "Shop: drop started" (a type nobody labelled)."""
    plugin, _, rest = etype.partition(".")
    if not rest:
        return plugin.replace("_", " ").capitalize()
    return f"{plugin.replace('_', ' ').capitalize()}: {rest.replace('_', ' ').replace('.', ' ')}"


def _s(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _n(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _tier(value: Any) -> str:
    return sub_tier_name(_s(value))


def _chat(d: Describer, name: str, data: Mapping[str, Any]) -> Line:
    bits = _n(data.get("bits"))
    label = "Chat" if not bits else "Cheer in chat"
    return Line("chat" if not bits else "bits", label, f"{name} said", _s(data.get("text")))


def _deleted(d: Describer, name: str, data: Mapping[str, Any]) -> Line:
    return Line("trash", "Message removed", f"A message by {name} was removed")


def _tip(d: Describer, name: str, data: Mapping[str, Any]) -> Line:
    amount = d.money(data) or "an amount"
    kind = _s(data.get("kind"))
    text = {
        "subscription": f"{name} paid {amount} for a membership",
        "commission": f"{name} paid {amount} for a commission",
        "shop_order": f"{name} ordered from the shop for {amount}",
    }.get(kind, f"{name} tipped {amount}")
    provider = _s(data.get("provider"))
    if provider:
        text += f" on {_PROVIDERS.get(provider, provider)}"
    return Line("coin", "Tip", text, _s(data.get("message")))


def _refund(d: Describer, name: str, data: Mapping[str, Any]) -> Line:
    amount = d.money(data) or "A payment"
    return Line("refund", "Refund", f"{amount} refunded to {name}", _s(data.get("reason")))


def _cheer(d: Describer, name: str, data: Mapping[str, Any]) -> Line:
    return Line(
        "bits", "Cheer", f"{name} cheered {d.bits(data.get('bits'))}", _s(data.get("message"))
    )


def _sub(d: Describer, name: str, data: Mapping[str, Any]) -> Line:
    tier = _tier(data.get("tier")) or "Tier 1"
    months = _n(data.get("months"))
    gifter = data.get("gifter")
    if data.get("gifted") is True:
        giver = _s(gifter.get("name")) if isinstance(gifter, Mapping) else ""
        text = f"{giver or 'Anonymous'} gifted {name} a {tier} sub"
    elif months > 1:
        text = f"{name} resubscribed for {months} months ({tier})"
    else:
        text = f"{name} subscribed ({tier})"
    return Line("star", "Subscription", text, _s(data.get("message")))


def _bomb(d: Describer, name: str, data: Mapping[str, Any]) -> Line:
    count = _n(data.get("count"))
    tier = _tier(data.get("tier")) or "Tier 1"
    subs = "sub" if count == 1 else "subs"
    return Line("gift", "Gift bomb", f"{name} gifted {count} {tier} {subs}")


def _raid(d: Describer, name: str, data: Mapping[str, Any]) -> Line:
    viewers = _n(data.get("viewers"))
    return Line("raid", "Raid", f"{name} raided with {plural(viewers, 'viewer')}")


def _donation(d: Describer, name: str, data: Mapping[str, Any]) -> Line:
    amount = d.money(data) or "an amount"
    # Not "to <campaign>": the field is the provider's campaign id (Tiltify's and Twitch's
    # are UUIDs), no name a streamer reads; the charity plugin's own line names the
    # campaign by its title.
    return Line("heart", "Donation", f"{name} donated {amount} to charity", _s(data.get("message")))


def _merch(d: Describer, name: str, data: Mapping[str, Any]) -> Line:
    quantity = _n(data.get("quantity")) or 1
    item = _s(data.get("item_name")) or _s(data.get("item")) or "an item"
    what = f"{quantity} \u00d7 {item}" if quantity > 1 else item
    money = d.money(data)
    amount = f" ({money})" if money else ""
    if data.get("gift") is True:  # bought for the stream's chat, not for the buyer
        return Line("gift", "Merch gift", f"{name} gifted {what} to chat{amount}")
    return Line("bag", "Merch order", f"{name} bought {what}{amount}")


def _merch_refund(d: Describer, name: str, data: Mapping[str, Any]) -> Line:
    amount = d.money(data) or "An order"
    return Line(
        "refund", "Merch refund", f"{amount} of an order refunded to {name}", _s(data.get("reason"))
    )


def _member(d: Describer, name: str, data: Mapping[str, Any]) -> Line:
    level = _s(data.get("level")) or "a member"
    status = _s(data.get("status")).lower()
    if status in WELCOME:
        return Line("crown", "New member", f"{name} is now {level}")
    words = {"expired": "ended", "revoked": "was revoked", "cancelled": "was cancelled"}
    return Line(
        "crown",
        "Membership ended" if status in words else "Membership changed",
        f"{name}'s {level} membership {words.get(status, status or 'changed')}",
    )


def _milestone(d: Describer, name: str, data: Mapping[str, Any]) -> Line:
    title = _s(data.get("name")) or "A goal"
    current, target, unit = _n(data.get("current")), _n(data.get("target")), _s(data.get("unit"))
    progress = f" ({current} of {target}{' ' + unit if unit else ''})" if target else ""
    return Line("flag", "Milestone", f"{title} reached{progress}")


def _online(d: Describer, name: str, data: Mapping[str, Any]) -> Line:
    title = _s(data.get("title"))
    return Line("live", "Stream online", "The stream started", title)


def _offline(d: Describer, name: str, data: Mapping[str, Any]) -> Line:
    return Line("offline", "Stream offline", "The stream ended")


_PROVIDERS = {
    "kofi": "Ko-fi",
    "stripe": "Stripe",
    "streamlabs": "Streamlabs",
    "fourthwall": "Fourthwall",
}

_CORE: dict[str, Callable[[Describer, str, Mapping[str, Any]], Line]] = {
    "chat.message": _chat,
    "chat.deleted": _deleted,
    "tip": _tip,
    "refund": _refund,
    "cheer": _cheer,
    "subscription": _sub,
    "gift_bomb": _bomb,
    "raid": _raid,
    "donation": _donation,
    "merch.order": _merch,
    "merch.refund": _merch_refund,
    "membership.changed": _member,
    "milestone": _milestone,
    "stream.online": _online,
    "stream.offline": _offline,
}
