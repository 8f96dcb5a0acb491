"""What challenges can count: the built-in metrics, and the ones plugins register.

A metric turns one accepted event into a :class:`Count`: how much it adds, under which key
it is counted once (the event's own ``(source, source_id)``, or the viewer's for "unique
chatters"), and who contributed. Everything here is pure: it runs inside the transaction
that records a money event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from limelight import (
    ChatMessage,
    Cheer,
    Donation,
    Event,
    MembershipChanged,
    Metric,
    Money,
    Tip,
    ViewerRef,
)
from limelight.events import event_type_name

log = logging.getLogger("limelight.plugin.challenges")

#: Membership changes that make a new member (not a renewal, not an expiry).
NEW_MEMBER = frozenset({"granted", "new", "started"})
#: The custom event the shop publishes when a paid guest slot is hosted.
GUEST_HOSTED = "shop.guest_hosted"
MINUTES_LIVE = "minutes_live"
#: Counting keys that are a viewer, not an event: counted once per window.
PER_VIEWER = frozenset({"chatter", "member"})


@dataclass(frozen=True, slots=True)
class Count:
    amount: int
    source: str
    source_id: str
    viewer: ViewerRef | None


@dataclass(frozen=True, slots=True)
class MetricInfo:
    """A metric as the dashboard, the overlay and ``!challenges`` show it."""

    name: str
    label: str
    #: money (minor units of the configured currency), minutes, or count
    kind: str
    unit: str
    owner: str
    description: str = ""


Measure = Callable[[Event], Count | None]


class Metrics:
    """The built-in metrics plus the registered ones, by name."""

    def __init__(self, currency: str, rates: dict[str, Decimal]) -> None:
        self.currency = currency
        self.rates = rates
        self._measures: dict[str, tuple[MetricInfo, tuple[str, ...], Measure]] = {}
        builtin: list[tuple[MetricInfo, tuple[str, ...], Measure]] = [
            (
                MetricInfo("tips", "Tips", "money", currency, "challenges", "every tip's amount"),
                ("tip",),
                self._tip,
            ),
            (
                MetricInfo(
                    "donations",
                    "Donations",
                    "money",
                    currency,
                    "challenges",
                    "charity donations (Twitch Charity, campaigns)",
                ),
                ("donation",),
                self._donation,
            ),
            (
                MetricInfo("bits", "Bits", "count", "bits", "challenges", "bits cheered"),
                ("cheer",),
                self._bits,
            ),
            (
                MetricInfo(
                    "new_members",
                    "New members",
                    "count",
                    "members",
                    "challenges",
                    "viewers who became members (membership.changed granted)",
                ),
                ("membership.changed",),
                self._member,
            ),
            (
                MetricInfo(
                    "guests_hosted",
                    "Paid guests hosted",
                    "count",
                    "guests",
                    "challenges",
                    f"{GUEST_HOSTED} events (the shop's guest slots)",
                ),
                (GUEST_HOSTED,),
                self._guest,
            ),
            (
                MetricInfo("chat_messages", "Chat messages", "count", "messages", "challenges"),
                ("chat.message",),
                self._message,
            ),
            (
                MetricInfo(
                    "unique_chatters",
                    "Unique chatters",
                    "count",
                    "chatters",
                    "challenges",
                    "each viewer who chatted, once per window",
                ),
                ("chat.message",),
                self._chatter,
            ),
            (
                MetricInfo(
                    MINUTES_LIVE,
                    "Minutes live",
                    "minutes",
                    "minutes",
                    "challenges",
                    "time between stream.online and stream.offline",
                ),
                (),
                lambda event: None,
            ),
        ]
        for info, events, measure in builtin:
            self._measures[info.name] = (info, events, measure)

    def add_registered(self, metrics: Iterable[Metric]) -> None:
        """Take in the metrics other plugins registered (``register_metrics``)."""
        for metric in metrics:
            if metric.name in self._measures:
                log.error("metric %s is ignored: a built-in has that name", metric.name)
                continue
            info = MetricInfo(
                metric.name, metric.label, "count", metric.unit, "", metric.description
            )
            self._measures[metric.name] = (info, tuple(metric.events), _registered(metric))

    def info(self, name: str) -> MetricInfo | None:
        found = self._measures.get(name)
        return found[0] if found else None

    def all(self) -> list[MetricInfo]:
        return [info for info, _, _ in self._measures.values()]

    def measure(self, name: str, event: Event) -> Count | None:
        found = self._measures.get(name)
        if found is None:
            return None
        _, events, measure = found
        if event_type_name(event) not in events:
            return None
        count = measure(event)
        return count if count is not None and count.amount != 0 else None

    # -- money ------------------------------------------------------------------------------

    def convert(self, money: Money) -> int | None:
        """``money`` in minor units of the configured currency; ``None`` without a rate."""
        if money.currency == self.currency:
            return money.minor
        rate = self.rates.get(money.currency)
        if rate is None:
            log.warning(
                "a %s amount is not counted towards challenges: no rate for it "
                "([plugins.challenges] rates)",
                money.currency,
            )
            return None
        return money.convert(self.currency, rate).minor

    def _money(self, event: Event, money: Money) -> Count | None:
        minor = self.convert(money)
        if minor is None or minor <= 0:
            return None
        return Count(minor, event.source, event.source_id, event.viewer)

    def _tip(self, event: Event) -> Count | None:
        return self._money(event, event.amount) if isinstance(event, Tip) else None

    def _donation(self, event: Event) -> Count | None:
        return self._money(event, event.amount) if isinstance(event, Donation) else None

    # -- counts -------------------------------------------------------------------------------

    @staticmethod
    def _bits(event: Event) -> Count | None:
        if not isinstance(event, Cheer) or event.bits <= 0:
            return None
        return Count(event.bits, event.source, event.source_id, event.viewer)

    @staticmethod
    def _member(event: Event) -> Count | None:
        if not isinstance(event, MembershipChanged) or event.status not in NEW_MEMBER:
            return None
        if event.viewer is None:
            return Count(1, event.source, event.source_id, None)
        # Once per viewer and window: a membership granted twice is one new member.
        return Count(1, "member", _who(event.viewer), event.viewer)

    @staticmethod
    def _guest(event: Event) -> Count | None:
        return Count(1, event.source, event.source_id, event.viewer)

    @staticmethod
    def _message(event: Event) -> Count | None:
        if not isinstance(event, ChatMessage):
            return None
        return Count(1, event.source, event.source_id, event.viewer)

    @staticmethod
    def _chatter(event: Event) -> Count | None:
        if not isinstance(event, ChatMessage) or event.viewer is None:
            return None
        return Count(1, "chatter", _who(event.viewer), event.viewer)


def _who(viewer: ViewerRef) -> str:
    return f"{viewer.platform}:{viewer.id}"[:200]


def _registered(metric: Metric) -> Measure:
    def measure(event: Event) -> Count | None:
        try:
            amount = int(metric.measure(event))
        except Exception:
            log.exception("metric %s failed to measure a %s", metric.name, event_type_name(event))
            return None
        return Count(amount, event.source, event.source_id, event.viewer) if amount else None

    return measure
