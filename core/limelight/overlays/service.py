"""The overlay service: ``ctx.overlays`` for plugins, ``app[SERVICES].overlays`` for the core.

Three kinds of message reach an overlay page:

* **alerts** (:meth:`OverlayService.alert`) go through the durable outbox: stored with an
  id, sent live, acked by the page when shown, replayed after a reconnect, played one at a
  time from a queue the streamer can pause, skip, replay and clear;
* **state** (:meth:`OverlayService.set_state`): the latest snapshot under a key
  (a leaderboard, a goal's progress), sent to a page as soon as it connects and live after;
* **live messages** (:meth:`OverlayService.send`): ephemeral (a chat line), never replayed.

Events of the types an overlay lists when it is registered are forwarded to its pages as
live messages; chat lines only when gating lets them be shown, with the viewer's badges.

The service knows no overlay by name: each plugin registers its overlays, and an overlay
that declares the kinds of alert it plays (``Overlay(..., alerts=(AlertKind(...), ...))``)
gets its own book of variations from ``[overlays.<name>]`` and its test alerts.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import logging
import re
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..commit import in_writer
from ..emotes import parse_placed
from ..events import ChatDeleted, ChatMessage, Event, ViewerRef, event_type_name
from ..models import AlertDesign, OverlaySetting
from ..money import Money, format_money
from ..registry import AlertKind, Overlay
from .outbox import SKIPPED, Outbox, OutboxAlert, dumps, utcnow
from .variations import (
    DesignError,
    Variation,
    VariationBook,
    amount_of,
    check_design,
    count_of,
    size_of,
)
from .websocket import Client

if TYPE_CHECKING:
    from ..badges import BadgeBook
    from ..chat.outbound import SentMessage
    from ..chat.service import ChatService
    from ..commit import Transaction
    from ..config import Settings
    from ..emotes import EmoteBook, Fragment
    from ..plugins import PluginHost

log = logging.getLogger("limelight.overlays")

NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,79}$")
KIND = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")
RESERVED = {"ws", "-"}
#: Most ids one ack message may carry.
MAX_ACKS = 100
#: Largest JSON body one alert, state or live message may carry.
MAX_MESSAGE = 64 * 1024
#: The data of a test alert whose kind the overlay declared no sample for.
TEST_SAMPLE = {"name": "Test Viewer", "message": "This is a test alert."}


@dataclass(frozen=True, slots=True)
class NewAlert:
    """One alert for :meth:`OverlayService.alerts` (the arguments of ``alert``)."""

    kind: str
    data: dict[str, Any]
    event: Event | None = None
    variation: Variation | dict[str, Any] | None = None
    duration_ms: int | None = None


class OverlayError(ValueError):
    """A call the service cannot accept (bad name, data too large); says why."""


@dataclass
class Channel:
    """Everything the service knows about one overlay name."""

    name: str
    spec: Overlay | None = None
    clients: set[Client] = field(default_factory=set)
    state: dict[str, dict[str, Any]] = field(default_factory=dict)
    paused: bool = False
    alerts: int = 0
    evicted: int = 0
    acked: int = 0
    connects: int = 0
    refused: int = 0
    last_alert_id: int | None = None
    #: Pages admitted (counted against ``[overlays] max_clients``) whose handshake runs.
    joining: int = 0
    #: The state snapshots as one JSON text, shared by every page's greeting.
    _state_json: str | None = None

    def state_json(self) -> str:
        if self._state_json is None:
            self._state_json = dumps(self.state)
        return self._state_json

    def status(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "registered": self.spec is not None,
            "clients": sum(1 for c in self.clients if not c.preview),
            "previews": sum(1 for c in self.clients if c.preview),
            # Messages waiting in the pages' send queues (shared texts, counted per page).
            "queued": sum(len(c.queue) for c in self.clients),
            "refused": self.refused,
            "paused": self.paused,
            "alerts": self.alerts,
            "acked": self.acked,
            "evicted": self.evicted,
            "connects": self.connects,
            "last_alert_id": self.last_alert_id,
            "state_keys": sorted(self.state),
        }


class OverlayService:
    """Durable alerts, state snapshots and live messages for every overlay."""

    def __init__(
        self,
        settings: Settings,
        host: PluginHost | None = None,
        badges: BadgeBook | None = None,
        emotes: EmoteBook | None = None,
    ) -> None:
        self.settings = settings
        self.host = host
        self.badges = badges
        self.emotes = emotes
        #: The chat service, when it runs: the bot's own lines that its platform echoes
        #: back are left out (:meth:`bot_said` shows what the bot says, once).
        self.chat: ChatService | None = None
        self._bot_lines = itertools.count(1)
        self.outbox = Outbox(
            settings.overlays.replay_max_age,
            settings.overlays.history_days,
            test_max_age=settings.overlays.test_replay_max_age,
        )
        #: One book of alert variations per overlay (``[overlays.<name>]``).
        self.variations: dict[str, VariationBook] = {}
        self.channels: dict[str, Channel] = {}
        #: Changes at every start, so pages forget the (memory-only) test ids they showed.
        self.boot = secrets.token_hex(6)
        self._lock = asyncio.Lock()
        #: Alerts written in bus transactions that have not ended yet (see ``_exclusive``).
        self._staging = 0
        self._staging_over = asyncio.Event()
        self._staging_over.set()
        self._routes: dict[str, list[Channel]] = {}
        if host is not None:
            for overlay in host.overlays.values():
                self.register(overlay)

    # -- registration ---------------------------------------------------------------------

    def register(self, overlay: Overlay) -> None:
        if not NAME.match(overlay.name) or overlay.name in RESERVED:
            log.error(
                "overlay %r: names are lower-case letters, digits, '_', '.', '-' "
                "(and not 'ws'); it is not served",
                overlay.name,
            )
            return
        channel = self.channel(overlay.name)
        channel.spec = overlay
        self.variations[overlay.name] = VariationBook(
            self.settings.overlays.alerts_of(overlay.name),
            {k.kind: k.text for k in overlay.alerts},
            overlay.name,
            {k.kind: (k.image, k.sound) for k in overlay.alerts},
        )
        for etype in overlay.events:
            self._routes.setdefault(etype, []).append(channel)

    def channel(self, name: str) -> Channel:
        channel = self.channels.get(name)
        if channel is None:
            if not NAME.match(name) or name in RESERVED:
                raise OverlayError(f"invalid overlay name {name!r}")
            channel = self.channels[name] = Channel(name)
        return channel

    def exists(self, name: str) -> bool:
        """Is ``name`` a registered overlay whose plugin is still enabled?"""
        channel = self.channels.get(name)
        if channel is None or channel.spec is None:
            return False
        return self.host is None or name in self.host.overlays

    def spec(self, name: str) -> Overlay | None:
        return self.channels[name].spec if self.exists(name) else None

    def specs(self) -> list[Overlay]:
        return [c.spec for n, c in self.channels.items() if c.spec is not None and self.exists(n)]

    def alert_kinds(self, name: str) -> list[AlertKind]:
        """The kinds of alert overlay ``name`` declared it plays (none: it plays no alerts
        the dashboard could test or queue)."""
        spec = self.spec(name)
        return list(spec.alerts) if spec is not None else []

    def book(self, overlay: str) -> VariationBook:
        """The variations of ``overlay``; an overlay nobody registered (alerts pushed by
        name) gets one from its ``[overlays.<name>]`` table with no built-in texts."""
        book = self.variations.get(overlay)
        if book is None:
            self.channel(overlay)  # checks the name
            book = self.variations[overlay] = VariationBook(
                self.settings.overlays.alerts_of(overlay), overlay=overlay
            )
        return book

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        await self.outbox.start()
        for name in self.settings.overlays.alert_tables():
            if not self.exists(name):
                log.warning(
                    "[overlays.%s] is set, but no enabled plugin registers an overlay %r",
                    name,
                    name,
                )
        for design in await AlertDesign.all():
            try:
                entries = check_design(design.kind, design.variations)
                self.book(design.overlay).set_design(design.kind, entries)
            except (DesignError, OverlayError, ValueError) as exc:
                log.warning(
                    "the saved design of %s alerts on overlay %r is not used: %s",
                    design.kind,
                    design.overlay,
                    exc,
                )
        for setting in await OverlaySetting.filter(paused=True):
            try:
                self.channel(setting.overlay).paused = True
            except OverlayError:
                log.warning("ignoring the stored pause of unknown overlay %r", setting.overlay)

    async def stop(self) -> None:
        clients = [c for ch in self.channels.values() for c in ch.clients]
        await asyncio.gather(
            *(c.close(1001, b"server stopping") for c in clients), return_exceptions=True
        )
        await asyncio.gather(*(c.stop() for c in clients), return_exceptions=True)

    # -- the plugin API -------------------------------------------------------------------

    def variation(
        self,
        event_type: str,
        amount: Money | None = None,
        *,
        overlay: str,
        count: int | None = None,
    ) -> Variation:
        """How an alert of kind ``event_type`` looks on ``overlay`` at the tier that
        ``amount``/``count`` reaches.

        Tiers come from ``[[overlays.<overlay>.variations]]``; amounts are compared in minor
        units of the same currency, never converted.
        """
        return self.book(overlay).pick(event_type, amount, count)

    async def alert(
        self,
        overlay: str,
        *,
        kind: str,
        data: dict[str, Any],
        duration_ms: int | None = None,
        test: bool = False,
        event: Event | None = None,
        variation: Variation | dict[str, Any] | None = None,
        tx: Transaction | None = None,
    ) -> int:
        """Queue an alert on ``overlay``; returns its id once it is durable.

        ``data`` is what the page shows (viewer text is always rendered as text). With no
        ``variation`` the one for ``kind`` and the amount in ``data`` is picked. A test
        alert (``test=True`` or a test ``event``) is kept in memory only and has a negative
        id. An alert for an event that already has one of this ``kind`` on this overlay
        (the event was dispatched again after a restart) is not queued twice.

        With ``tx`` (in ``record_events``) the alert is written in that transaction and
        sent to the pages right after it commits: the alert is on disk exactly when the
        event is, and costs no disk flush of its own (:meth:`alerts` writes several).
        """
        if event is not None:
            test = test or event.test
        if tx is not None and not test:
            new = NewAlert(kind, data, event, variation, duration_ms)
            return (await self.alerts(overlay, [new], tx=tx))[0]
        channel, variation_wire, duration_ms, _ = self._prepare(
            overlay, kind, data, duration_ms, event, variation
        )
        event_id = event.id if event is not None and not test else None
        if not test and in_writer():
            raise OverlayError(
                "inside record_events, pass tx=tx: the alert must commit with "
                "the events and be sent after they are on disk"
            )
        stored = await self._add_and_deliver(
            channel, kind, data, variation_wire, duration_ms, test=test, event_id=event_id
        )
        return stored.id

    async def alerts(
        self, overlay: str, alerts: Sequence[NewAlert], *, tx: Transaction
    ) -> list[int]:
        """Queue several alerts on ``overlay`` in ``tx`` (``record_events`` of a batch of
        events) with one insert; their ids, in order. Each is checked, stored and sent
        after the commit exactly as :meth:`alert` with ``tx`` does; the alert of a test
        event is kept in memory only.

        Why: a batch of tips is written in one transaction, and one insert for all their
        alerts is one round trip to the database instead of one per tip."""
        prepared = [
            (a, *self._prepare(overlay, a.kind, a.data, a.duration_ms, a.event, a.variation))
            for a in alerts
        ]
        now = utcnow()
        staged: list[tuple[Channel, OutboxAlert]] = []
        for a, channel, variation_wire, duration_ms, data_json in prepared:
            if a.event is not None and a.event.test:
                continue
            event_id = a.event.id if a.event is not None else None
            # The data encoded once (by the size check): the row and the wire text use it.
            alert = OutboxAlert(
                0,
                channel.name,
                a.kind,
                a.data,
                variation_wire,
                duration_ms,
                now,
                event_id=event_id,
                data_json=data_json,
                variation_json=dumps(variation_wire),
            )
            staged.append((channel, alert))
        if staged:
            self._staging += len(staged)
            self._staging_over.clear()
            for _ in staged:
                tx.on_end(self._unstage)
            await self.outbox.add_staged(tx.connection, [alert for _, alert in staged])
            for channel, alert in staged:
                tx.on_commit(functools.partial(self._committed, channel, alert))
        ids = iter(alert.id for _, alert in staged)
        out: list[int] = []
        for a, channel, variation_wire, duration_ms, _ in prepared:
            if a.event is not None and a.event.test:
                stored = await self._add_and_deliver(
                    channel, a.kind, a.data, variation_wire, duration_ms, test=True
                )
                out.append(stored.id)
            else:
                out.append(next(ids))
        return out

    def _prepare(
        self,
        overlay: str,
        kind: str,
        data: dict[str, Any],
        duration_ms: int | None,
        event: Event | None,
        variation: Variation | dict[str, Any] | None,
    ) -> tuple[Channel, dict[str, Any], int, str]:
        """Check an alert and settle what it shows: its channel, its variation as sent,
        how long it stays and its data as :func:`dumps` encodes it (the size check's
        encoding, kept for the row and the wire text). Raises :class:`OverlayError` for
        what cannot be queued."""
        channel = self.channel(overlay)
        if not KIND.match(kind):
            raise OverlayError(f"invalid alert kind {kind!r}")
        if not isinstance(data, dict):
            raise OverlayError("alert data must be a dict")
        if variation is None:
            variation = self.variation(kind, amount_of(data), overlay=overlay, count=count_of(data))
        variation_wire = (
            variation.to_wire(self._text_values(data, event))
            if isinstance(variation, Variation)
            else dict(variation)
        )
        if "size" not in variation_wire:
            variation_wire["size"] = size_of(kind, amount_of(data), count_of(data))
        if duration_ms is None:
            duration_ms = int(
                variation_wire.get("duration_ms") or self.book(overlay).settings.duration_ms
            )
        data_json = dumps(data)
        if len(data_json) > MAX_MESSAGE:
            raise OverlayError(f"overlay message larger than {MAX_MESSAGE} bytes")
        return channel, variation_wire, duration_ms, data_json

    async def set_state(self, overlay: str, key: str, data: dict[str, Any]) -> None:
        """Replace the snapshot ``key`` of ``overlay``; connected pages update at once."""
        channel = self.channel(overlay)
        if not isinstance(data, dict):
            raise OverlayError("state data must be a dict")
        self._check_size(data)
        channel.state[key] = data
        channel._state_json = None
        self._broadcast(channel, dumps({"type": "state", "key": key, "data": data}))

    async def clear_state(self, overlay: str, key: str) -> None:
        channel = self.channel(overlay)
        if channel.state.pop(key, None) is not None:
            channel._state_json = None
            self._broadcast(channel, dumps({"type": "state", "key": key, "data": None}))

    async def send(self, overlay: str, kind: str, data: dict[str, Any]) -> None:
        """An ephemeral live message (a chat line): sent to connected pages, never stored."""
        channel = self.channel(overlay)
        if not KIND.match(kind):
            raise OverlayError(f"invalid message kind {kind!r}")
        self._check_size(data)
        self._broadcast(channel, dumps({"type": "live", "kind": kind, "data": data}))

    # -- the alert editor -----------------------------------------------------------------

    async def save_design(self, overlay: str, kind: str, raw: Any) -> None:
        """Store the alert editor's variations of ``kind`` on ``overlay`` (``None``: back to
        config.toml's) and use them for the next alert at once. Open pages are told, so
        they can load the new pictures and sounds before the next alert needs them."""
        if not KIND.match(kind):
            raise OverlayError(f"invalid alert kind {kind!r}")
        book = self.book(overlay)
        if raw is None:
            await AlertDesign.filter(overlay=overlay, kind=kind).delete()
            book.set_design(kind, None)
        else:
            try:
                entries = check_design(kind, raw)
                book.set_design(kind, entries)  # builds them: a bad amount fails here
            except (DesignError, ValueError) as exc:
                raise OverlayError(str(exc)) from None
            stored = [e.model_dump(exclude={"event"}) for e in entries]
            await AlertDesign.update_or_create(
                overlay=overlay, kind=kind, defaults={"variations": stored}
            )
        media = sorted(
            {v.image for v in book.entries(kind) if v.image}
            | {v.sound for v in book.entries(kind) if v.sound}
        )
        self._broadcast(
            self.channel(overlay), dumps({"type": "designs", "kind": kind, "media": media})
        )

    def draft(self, overlay: str, kind: str, raw: Any) -> Variation:
        """One variation from the editor, unsaved (for a test alert of a draft)."""
        book = self.book(overlay)
        try:
            entry = check_design(kind, [raw])[0]
            probe = VariationBook(book.settings, book.texts, overlay, book.media)
            probe.set_design(kind, [entry])
        except (DesignError, ValueError) as exc:
            raise OverlayError(str(exc)) from None
        return probe.entries_built(kind)[0]

    # -- queue control --------------------------------------------------------------------

    async def pause(self, overlay: str) -> None:
        """Finish the alert on screen, then hold the queue. Stored: pages keep it across
        reloads and the server across restarts."""
        channel = self.channel(overlay)
        await OverlaySetting.update_or_create(overlay=overlay, defaults={"paused": True})
        channel.paused = True
        self._control(channel, "pause")

    async def resume(self, overlay: str) -> None:
        channel = self.channel(overlay)
        await OverlaySetting.update_or_create(overlay=overlay, defaults={"paused": False})
        channel.paused = False
        self._control(channel, "resume")

    async def skip(self, overlay: str, alert_id: int | None = None) -> bool:
        """Skip the alert on screen, or one queued alert by id (it is never replayed)."""
        channel = self.channel(overlay)
        changed = True
        if alert_id is not None:
            changed = await self.outbox.set_status(overlay, alert_id, SKIPPED)
        self._control(channel, "skip", id=alert_id)
        return changed

    async def clear(self, overlay: str) -> int:
        """Drop every alert no page has shown yet, and stop the one on screen."""
        channel = self.channel(overlay)
        cleared = await self.outbox.clear(overlay)
        self._control(channel, "clear")
        return cleared

    async def replay(self, alert_id: int) -> int:
        """Show a past alert again: a new alert (new id) with the same content."""
        original = await self.outbox.get(alert_id)
        if original is None:
            raise KeyError(alert_id)
        stored = await self._add_and_deliver(
            self.channel(original.overlay),
            original.kind,
            original.data,
            original.variation,
            original.duration_ms,
            test=original.test,
            replay_of=original.id,
        )
        return stored.id

    async def test_alert(
        self,
        overlay: str,
        kind: str | None = None,
        data: dict[str, Any] | None = None,
        variation: Variation | None = None,
    ) -> int:
        """A test alert (memory only, marked ``test``) with the sample data the overlay
        declared for ``kind``; without a ``kind``, the first kind it declared. With
        ``variation`` (an unsaved draft from the alert editor) it shows that design."""
        kinds = self.alert_kinds(overlay)
        if kind is None:
            if not kinds:
                raise OverlayError(f"overlay {overlay!r} plays no alerts; name a kind")
            kind = kinds[0].kind
        declared = next((k for k in kinds if k.kind == kind), None)
        sample: dict[str, Any] = dict(
            declared.sample if declared and declared.sample else TEST_SAMPLE
        )
        sample.update(data or {})
        return await self.alert(overlay, kind=kind, data=sample, test=True, variation=variation)

    async def history(self, overlay: str, limit: int = 50) -> list[dict[str, Any]]:
        return [a.to_json() for a in await self.outbox.history(overlay, limit)]

    async def pending(self, overlay: str) -> int:
        return await self.outbox.pending(overlay)

    async def disconnect_all(self, overlay: str, code: int = 1012) -> int:
        """Close every page of ``overlay`` (they reconnect and resume); for operators and
        for tests that cut the line in the middle of a burst."""
        channel = self.channel(overlay)
        clients = list(channel.clients)
        await asyncio.gather(
            *(c.close(code, b"reconnect") for c in clients), return_exceptions=True
        )
        return len(clients)

    def status(self) -> dict[str, Any]:
        return {
            "boot": self.boot,
            "replay_max_age": self.settings.overlays.replay_max_age,
            "test_replay_max_age": self.settings.overlays.test_replay_max_age,
            "overlays": {n: c.status() for n, c in sorted(self.channels.items())},
        }

    # -- pages ----------------------------------------------------------------------------

    def admit(self, overlay: str) -> bool:
        """Count one more page of ``overlay`` against ``[overlays] max_clients``; ``False``
        (and counted as refused) when it has that many already. A page admitted here is
        given back with :meth:`disconnect` (or :meth:`release` if it never connected)."""
        channel = self.channel(overlay)
        if len(channel.clients) + channel.joining >= self.settings.overlays.max_clients:
            channel.refused += 1
            return False
        channel.joining += 1
        return True

    def release(self, overlay: str) -> None:
        channel = self.channels.get(overlay)
        if channel is not None and channel.joining:
            channel.joining -= 1

    async def connect(self, client: Client, since: int | None) -> None:
        """Greet a page: state snapshot, pause state, then the replay, then live messages.

        The page is registered before the replay is read, so nothing sent meanwhile is
        missed; what arrives twice that way the page drops by id. The replay fills at most
        half of the page's send queue (the newest alerts), so it counts against the same
        bound as live messages, with room left for them; its texts are shared with every
        other page (:meth:`Outbox.wire`).
        """
        channel = self.channel(client.overlay)
        self.release(client.overlay)
        channel.clients.add(client)
        channel.connects += 1
        try:
            replay, expired = await self.outbox.replay(
                channel.name, since, limit=max(1, client.queue_size // 2)
            )
        except Exception:
            log.exception("overlay %s: reading the replay failed", channel.name)
            replay, expired = [], 0
        hello = {
            "type": "hello",
            "overlay": channel.name,
            "boot": self.boot,
            "paused": channel.paused,
            "since": since,
            "last_id": self.outbox.last_real_id,
            "expired": expired,
            "replay": len(replay),
        }
        # The snapshots are spliced in as one shared text rather than copied per page.
        greeting = dumps(hello)[:-1] + ',"state":' + channel.state_json() + "}"
        client.prepend([greeting, *replay])
        client.start()

    async def receive(self, client: Client, text: str) -> None:
        """A message from a page: ``{"type": "ack", "id": N}`` when an alert was shown, or
        ``{"type": "ack", "ids": [...]}`` repeating recent acks after a reconnect."""
        try:
            message = json.loads(text)
        except ValueError:
            return
        if not isinstance(message, dict) or message.get("type") != "ack" or client.preview:
            return
        raw = message.get("ids") if "ids" in message else [message.get("id")]
        if not isinstance(raw, list):
            return
        ids = [i for i in raw[:MAX_ACKS] if isinstance(i, int) and not isinstance(i, bool)]
        if not ids:
            return
        channel = self.channel(client.overlay)
        channel.acked += len(ids)
        try:
            await self.outbox.mark_shown(channel.name, ids)
        except Exception:
            log.exception("overlay %s: recording acks failed", channel.name)

    async def disconnect(self, client: Client) -> None:
        channel = self.channels.get(client.overlay)
        if channel is not None:
            channel.clients.discard(client)
            if client.evicted:
                channel.evicted += 1
        await client.stop()

    # -- events from the bus --------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """Forward events to the overlays that listed their type (a plain ``def``: it
        never waits, so the bus calls it without a coroutine)."""
        etype = event_type_name(event)
        channels = self._routes.get(etype)
        if not channels:
            return
        if isinstance(event, ChatMessage):
            verdict = event.verdict
            if verdict is None or not verdict.shown:  # gating fails closed
                return
            if event.private:  # a members' room line is not for the public chat box
                return
            if self.chat is not None and self.chat.is_own(event):
                return
            data = self._chat_line(event)
        elif isinstance(event, ChatDeleted):
            if event.private:
                return
            data = {
                "message_id": event.message_id,
                "viewer": event.viewer.to_wire() if event.viewer else None,
                "channel": event.channel,
            }
        else:
            data = event.to_wire()
        text = dumps({"type": "live", "kind": etype, "data": data})
        for channel in channels:
            self._broadcast(channel, text)

    def _chat_line(self, event: ChatMessage) -> dict[str, Any]:
        """A chat line as the chat overlay draws it: the text as fragments (emotes the
        platform placed, and plugins' coded emotes the viewer may use), the platform's
        badges with their pictures, the badges plugins award, and whether it is a command
        (a page may hide those)."""
        viewer = event.viewer
        badges = []
        highlight = False
        if self.badges is not None:
            for b in self.badges.for_viewer(viewer):
                badge = {"name": b.name, "label": b.label, "icon": b.icon}
                if b.colour:
                    badge["colour"] = b.colour
                badges.append(badge)
                highlight = highlight or b.highlight
        # Text and emote parts: pages insert text with textContent and emotes as <img>
        # whose src is the server's, so a line can never become HTML.
        placed = parse_placed(event.emotes, event.text)
        fragments: list[Fragment] = (
            self.emotes.split(event.text, viewer, placed) if self.emotes is not None else []
        ) or ([{"text": event.text}] if event.text else [])
        return {
            "id": event.source_id,
            "source": event.source,
            "name": viewer.name if viewer else "",
            "viewer": viewer.to_wire() if viewer else None,
            "text": event.text,
            "fragments": fragments,
            "color": event.color if _COLOR.match(event.color or "") else "",
            "roles": sorted(event.roles),
            "platform_badges": _platform_badges(event.badges, event.badge_images),
            "badges": badges,
            "highlight": highlight,
            "first": event.first,
            "command": event.text.startswith(self.settings.chat.prefix),
            "bot": False,
            "test": event.test,
        }

    def bot_said(self, sent: SentMessage, name: str) -> None:
        """What the bot said in chat (command answers, thanks, the dashboard's "say as
        bot"), as a line on the overlays that show chat lines: viewers on stream see the
        answer to ``!top``, not only the question."""
        channels = self._routes.get(ChatMessage.type)
        if not channels:
            return
        viewer = ViewerRef(sent.platform, f"bot:{sent.connector}", name or "Bot")
        fragments: list[Any] = (
            list(self.emotes.split(sent.text, None))
            if self.emotes is not None
            else [{"text": sent.text}]
        )
        data = {
            "id": sent.message_id or f"bot-{next(self._bot_lines)}",
            "source": sent.connector,
            "name": viewer.name,
            "viewer": viewer.to_wire(),
            "text": sent.text,
            "fragments": fragments,
            "color": "",
            "roles": ["bot"],
            "platform_badges": [],
            "badges": [],
            "first": False,
            "command": False,
            "bot": True,
            "test": False,
        }
        text = dumps({"type": "live", "kind": ChatMessage.type, "data": data})
        for channel in channels:
            self._broadcast(channel, text)

    # -- internals ------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        """Hold the right to store-and-send an alert outside a bus transaction.

        Pages resume after the highest id they showed, so alerts must reach them in id
        order. Alerts written in a bus transaction take their ids when written and are sent
        when it commits; on PostgreSQL another alert could take a later id and be sent in
        between. So such an alert first waits for those transactions to end (on SQLite
        the single connection serialises them anyway).
        """
        async with self._lock:
            while self._staging:
                await self._staging_over.wait()
            yield

    async def _add_and_deliver(
        self,
        channel: Channel,
        kind: str,
        data: dict[str, Any],
        variation: dict[str, Any] | None,
        duration_ms: int,
        *,
        test: bool = False,
        event_id: int | None = None,
        replay_of: int | None = None,
    ) -> OutboxAlert:
        """Store an alert outside a bus transaction and send it, in id order (see
        :meth:`_exclusive`); an alert its event already has is returned, not sent again."""
        async with self._exclusive():
            stored = await self.outbox.add(
                channel.name,
                kind,
                data,
                variation,
                duration_ms,
                test=test,
                event_id=event_id,
                replay_of=replay_of,
            )
            if not stored.duplicate:
                self._deliver(channel, stored)
        return stored

    def _unstage(self) -> None:
        # one call per staged alert (Transaction.on_end), so this never goes below zero
        self._staging -= 1
        if not self._staging:
            self._staging_over.set()

    def _committed(self, channel: Channel, alert: OutboxAlert) -> None:
        """An alert written in a bus transaction is on disk: count it and send it."""
        self.outbox.committed(alert)
        self._deliver(channel, alert)

    def _deliver(self, channel: Channel, alert: OutboxAlert) -> None:
        channel.alerts += 1
        channel.last_alert_id = alert.id
        self._broadcast(channel, self.outbox.wire(alert))

    def _control(self, channel: Channel, action: str, **extra: Any) -> None:
        self._broadcast(channel, dumps({"type": "control", "action": action, **extra}))

    @staticmethod
    def _broadcast(channel: Channel, text: str) -> None:
        for client in list(channel.clients):
            client.offer(text)

    @staticmethod
    def _check_size(data: Any) -> None:
        if len(dumps(data)) > MAX_MESSAGE:
            raise OverlayError(f"overlay message larger than {MAX_MESSAGE} bytes")

    def _text_values(self, data: dict[str, Any], event: Event | None) -> dict[str, Any]:
        """Placeholders for a variation's text: the data plus a display name and amount.

        ``{amount}`` reads as the data's ``display_amount`` when the plugin formatted one,
        else as the one money formatter formats ``amount`` + ``currency`` in the streamer's
        locale (``$5.00``, ``100 bits``), never as the raw wire number."""
        values: dict[str, Any] = {
            k: v for k, v in data.items() if isinstance(v, str | int) and not isinstance(v, bool)
        }
        if not values.get("name"):
            viewer = event.viewer if event is not None else None
            values["name"] = viewer.name if viewer is not None and viewer.name else "Someone"
        display = data.get("display_amount")
        if isinstance(display, str) and display:
            values["amount"] = display
        elif (amount := amount_of(data)) is not None:
            values["amount"] = format_money(amount, self.settings.server.locale)
        return values


_COLOR = re.compile(r"^#[0-9A-Fa-f]{3,8}$")


def _platform_badges(names: tuple[str, ...], images: tuple[str, ...]) -> list[dict[str, str]]:
    """The platform's badges (``"moderator/1"``) with their pictures, for the chat line."""
    out = []
    for index, raw in enumerate(names[:12]):
        name, _, version = raw.partition("/")
        if not name:
            continue
        image = images[index] if index < len(images) else ""
        label = name.replace("_", " ").replace("-", " ").capitalize()
        out.append({"name": name, "version": version, "label": label, "image": image})
    return out


async def overlay_service_context(app: web.Application) -> AsyncIterator[None]:
    """Cleanup context: build the service after the database, subscribe it to the bus."""
    from ..web.keys import HOST, SERVICES, SETTINGS

    services = app[SERVICES]
    service = OverlayService(app[SETTINGS], app[HOST], services.badges, services.emotes)
    service.chat = services.chat
    await service.start()
    services.overlays = service
    services.bus.subscribe("overlays", service.on_event)
    try:
        yield
    finally:
        await service.stop()
