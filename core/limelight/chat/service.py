"""The chat service (``ctx.chat``): every connector, every send queue, command routing.

Incoming: connectors hand events to :meth:`ChatService.publish`, which puts them on the bus
(dedupe, gating, dispatch to plugins and overlays). The service also listens on the bus in
its own lane: a message gating marked ``delete`` is deleted on its platform, a message that
gating let through is routed to the command framework, and every line feeds the dashboard
console and the timers' line counters. Command handlers run in their own tasks, so a slow
command never holds up chat.

Outgoing: :meth:`ChatService.say` splits and queues text on one :class:`OutboundQueue` per
(connector, channel) and returns at once; the queue sends within the platform's limits.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Coroutine
from typing import TYPE_CHECKING, Any

from .. import edge
from ..events import ChatDeleted, ChatMessage, Event, ViewerRef
from ..gating import Action
from ..registry import plugin_args
from .clock import Clock, MonotonicClock
from .connector import ChatConnector, ChatUnsupported
from .outbound import PRIORITIES, OutboundQueue, Outgoing, SentMessage

if TYPE_CHECKING:
    from ..bus import Accepted
    from ..config import ChatSettings
    from ..context import Services

log = logging.getLogger("limelight.chat")


class ChatService:
    def __init__(
        self, services: Services, settings: ChatSettings | None = None, clock: Clock | None = None
    ) -> None:
        from ..commands import CommandRouter
        from ..config import ChatSettings

        self.services = services
        self.settings = settings or ChatSettings()
        self.clock = clock or MonotonicClock()
        self.connectors: dict[str, ChatConnector] = {}
        self.owners: dict[str, str] = {}
        self.failed: dict[str, str] = {}
        self.queues: dict[tuple[str, str], OutboundQueue] = {}
        #: Everything the bot said, newest last (the test kit's ``h.said``).
        self.sent: deque[SentMessage] = deque(maxlen=self.settings.history)
        #: Lines for the dashboard console: incoming, outgoing, deletions.
        #: ``(seq, time, dict)``, or ``(seq, time, message, shown, reason)`` for a chat line.
        self.feed: deque[tuple[Any, ...]] = deque(maxlen=self.settings.history)
        self._feed_seq = itertools.count(1)
        self.router = CommandRouter(self)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timer_tasks: list[asyncio.Task[None]] = []
        #: How many messages were sent in all (``sent`` keeps only the newest).
        self.sent_count = 0
        self.lines_seen = 0
        self.commands_run = 0
        self.command_errors = 0
        self.deleted_by_gating = 0

    # -- lifecycle ------------------------------------------------------------------------

    def subscribe(self) -> None:
        self.services.bus.subscribe("chat", self.on_event)

    async def start_connectors(self) -> None:
        """Build and start every registered connector (after the bus runs), then timers."""
        host = self.services.host
        self.router.build(host)
        for owner, spec in host.chat_connectors.items():
            ctx = host.contexts.get(owner)
            if ctx is None:
                continue
            try:
                connector = spec.factory(*plugin_args(spec.factory, ctx))
            except Exception as exc:
                self.failed[spec.name] = f"{type(exc).__name__}: {exc}"
                log.exception("chat connector %s (plugin %s) failed to build", spec.name, owner)
                continue
            if connector is None:
                continue
            if connector.name in self.connectors:  # say, the test kit's "test" connector
                self.failed[spec.name] = f"the name {connector.name!r} is taken"
                log.error("chat connector %s (plugin %s): name taken", spec.name, owner)
                continue
            await self.attach(connector, owner=owner)
        self._start_timers()

    async def attach(self, connector: ChatConnector, *, owner: str = "core") -> None:
        """Start ``connector`` and route chat through it (used by the test kit, too)."""
        if not connector.name or connector.name in self.connectors:
            raise ValueError(f"chat connector name {connector.name!r} is empty or taken")
        try:
            await connector.start(self)
        except Exception as exc:
            self.failed[connector.name] = f"{type(exc).__name__}: {exc}"
            log.exception("chat connector %s failed to start", connector.name)
            return
        self.connectors[connector.name] = connector
        self.owners[connector.name] = owner
        log.info("chat connector %s (%s) started", connector.name, connector.platform)

    async def detach(self, name: str) -> None:
        """Stop connector ``name`` and forget it (and its send queues)."""
        connector = self.connectors.pop(name, None)
        self.owners.pop(name, None)
        for key in [k for k in self.queues if k[0] == name]:
            await self.queues.pop(key).stop()
        if connector is not None:
            await connector.stop()

    async def stop(self) -> None:
        for task in self._timer_tasks:
            task.cancel()
        for name, connector in list(self.connectors.items()):
            try:
                await connector.stop()
            except Exception:
                log.exception("chat connector %s failed to stop cleanly", name)
        self.connectors.clear()
        for queue in self.queues.values():
            await queue.stop()
        for task in list(self._tasks) + self._timer_tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._timer_tasks, return_exceptions=True)
        self._tasks.clear()
        self._timer_tasks.clear()

    # -- incoming -------------------------------------------------------------------------

    def publish(self, event: Event) -> Coroutine[Any, Any, Accepted]:
        """The :class:`ChatSink` connectors call (and await): put what they received on the
        bus, its text, names and ids normalised first (:func:`limelight.edge.clean_event`),
        whatever the platform let through. It hands back the bus's own coroutine, one
        frame less per chat line."""
        return self.services.bus.publish(edge.clean_event(event))

    def publish_line(self, event: ChatMessage) -> Awaitable[object] | None:
        """The :class:`ChatSink`'s per-line door: :meth:`publish` for a chat line whose
        connector needs no answer (:meth:`EventBus.publish_line`): ``None`` once it is on
        the bus, else an awaitable for the rest."""
        return self.services.bus.publish_line(edge.clean_event(event))

    def on_event(self, event: Event) -> None:
        """The chat service's bus lane: gating actions, commands, console feed, counters.
        A plain ``def``: it never waits (deletions and commands run in tasks of their own)."""
        if isinstance(event, ChatMessage):
            verdict = event.verdict
            shown = verdict is None or verdict.action is Action.ALLOW
            self._feed_in(event, shown, verdict.reason if verdict is not None else "")
            if verdict is not None and verdict.action is Action.DELETE and not event.test:
                self.deleted_by_gating += 1
                self._spawn(self.delete(event), "gating-delete")
            if not shown or self.is_own(event):
                return
            self.lines_seen += 1
            self.router.route(event)
        elif isinstance(event, ChatDeleted):
            self._feed_add(
                {
                    "kind": "deleted",
                    "connector": event.source,
                    "channel": event.channel,
                    "message_id": event.message_id,
                    "viewer": event.viewer.name if event.viewer else "",
                }
            )

    def is_own(self, event: ChatMessage) -> bool:
        """Is ``event`` the bot's own line, echoed back by its platform?"""
        connector = self.connectors.get(event.source)
        return connector is not None and connector.is_self(event.viewer)

    def _spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=f"chat:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("chat task %s failed: %r", task.get_name(), task.exception())

    # -- outgoing -------------------------------------------------------------------------

    def _targets(
        self, platform: str | None, channel: str | None, reply_to: ChatMessage | None
    ) -> list[tuple[ChatConnector, str]]:
        if reply_to is not None:
            connector = self.connectors.get(reply_to.source)
            if connector is not None:
                return [(connector, channel or reply_to.channel or connector.default_channel)]
            # A line that came in through the API or the CLI, not from a chat: a simulated
            # one is answered where only the streamer sees it; a real one on its platform.
            if reply_to.test:
                return [
                    (c, c.default_channel)
                    for c in self.connectors.values()
                    if c.local and c.default_channel
                ]
            platform = reply_to.viewer.platform if reply_to.viewer is not None else None
            connector = next(
                (c for c in self.connectors.values() if c.platform == platform and not c.local),
                None,
            )
            if connector is None:
                return []
            return [(connector, channel or connector.default_channel)]
        out = []
        for connector in self.connectors.values():
            if platform is not None and platform not in (connector.platform, connector.name):
                continue
            target = channel or connector.default_channel
            if target:
                out.append((connector, target))
        return out

    def queue_for(self, connector: ChatConnector, channel: str) -> OutboundQueue:
        key = (connector.name, channel)
        queue = self.queues.get(key)
        if queue is None:
            queue = OutboundQueue(
                connector, channel, self.clock, self._on_sent, low_ttl=self.settings.low_ttl
            )
            self.queues[key] = queue
        return queue

    async def say(
        self,
        text: str,
        *,
        platform: str | None = None,
        channel: str | None = None,
        reply_to: ChatMessage | None = None,
        priority: str = "normal",
    ) -> list[Outgoing]:
        """Queue ``text`` and return at once with the queued parts.

        Without ``platform``/``channel``/``reply_to`` it goes to every connector's main
        channel. ``priority``: ``"money"`` (thanks for money, sent first), ``"normal"``,
        or ``"low"`` (chatter that may be merged or dropped under pressure). Await
        ``part.done`` on a returned part to learn the platform's message id.
        """
        if priority not in PRIORITIES:
            raise ValueError(f"priority must be one of {', '.join(PRIORITIES)}, got {priority!r}")
        queued: list[Outgoing] = []
        for connector, target in self._targets(platform, channel, reply_to):
            queued.extend(
                self.queue_for(connector, target).put(text, priority=priority, reply_to=reply_to)
            )
        if not queued:
            log.debug(
                "chat: nowhere to say %r (platform=%s channel=%s)", text[:60], platform, channel
            )
        return queued

    def _on_sent(self, sent: SentMessage) -> None:
        self.sent.append(sent)
        self.sent_count += 1
        overlays = self.services.overlays
        if overlays is not None:
            connector = self.connectors.get(sent.connector)
            try:
                overlays.bot_said(sent, connector.bot_name if connector is not None else "")
            except Exception:
                log.exception("chat: showing the bot's line on the overlays failed")
        self._feed_add(
            {
                "kind": "out",
                "connector": sent.connector,
                "platform": sent.platform,
                "channel": sent.channel,
                "viewer": "",
                "text": sent.text,
                "reply_to": sent.reply_to_id,
                "priority": sent.priority,
                "merged": sent.merged,
            }
        )

    async def delete(self, message: ChatMessage) -> bool:
        """Delete ``message`` on its platform; False when the platform cannot."""
        connector = self.connectors.get(message.source)
        if connector is None:
            return False
        try:
            await connector.delete(message.channel or connector.default_channel, message.source_id)
        except ChatUnsupported:
            return False
        except Exception:
            log.exception("chat %s: deleting message %s failed", connector.name, message.source_id)
            return False
        self._feed_add(
            {
                "kind": "deleted",
                "connector": connector.name,
                "channel": message.channel,
                "message_id": message.source_id,
                "viewer": message.viewer.name if message.viewer else "",
            }
        )
        return True

    async def set_modes(
        self,
        *,
        platform: str | None = None,
        channel: str | None = None,
        subscriber_only: bool | None = None,
        emote_only: bool | None = None,
        slow: int | None = None,
        followers_only: int | None = None,
    ) -> int:
        """Change chat modes where supported; returns how many channels changed."""
        modes = {
            k: v
            for k, v in {
                "subscriber_only": subscriber_only,
                "emote_only": emote_only,
                "slow": slow,
                "followers_only": followers_only,
            }.items()
            if v is not None
        }
        changed = 0
        for connector, target in self._targets(platform, channel, None):
            try:
                await connector.set_modes(target, **modes)
                changed += 1
            except ChatUnsupported:
                continue
            except Exception:
                log.exception("chat %s: changing modes in %s failed", connector.name, target)
        return changed

    async def whisper(self, viewer: ViewerRef, text: str) -> bool:
        """A private message to ``viewer`` on their platform; False where there is none."""
        for connector in self.connectors.values():
            if connector.platform == viewer.platform:
                try:
                    await connector.whisper(viewer, text)
                    return True
                except ChatUnsupported:
                    continue
                except Exception:
                    log.exception("chat %s: whisper to %s failed", connector.name, viewer.name)
                    return False
        return False

    # -- timers ---------------------------------------------------------------------------

    def set_clock(self, clock: Clock) -> None:
        """Use ``clock`` from now on (tests: a :class:`ManualClock`); restarts the timers and
        the send queues so they wait on it."""
        self.clock = clock
        for queue in self.queues.values():
            queue.clock = clock
        for task in self._timer_tasks:
            task.cancel()
        self._timer_tasks.clear()
        self._start_timers()

    def _start_timers(self) -> None:
        for i, timer in enumerate(self.settings.timers):
            self._timer_tasks.append(
                asyncio.create_task(self._timer(timer), name=f"chat-timer:{i}")
            )

    async def _timer(self, timer: Any) -> None:
        """Post ``timer.text`` every N minutes, only when M chat lines passed since."""
        every = timer.every_minutes * 60
        lines_at_last = self.lines_seen
        while True:
            await self.clock.sleep(every)
            if self.lines_seen - lines_at_last < timer.min_lines:
                continue
            lines_at_last = self.lines_seen
            try:
                await self.say(timer.text, platform=timer.platform or None, priority="low")
            except Exception:
                log.exception("chat timer failed")

    # -- introspection --------------------------------------------------------------------

    def quiet(self) -> bool:
        """Nothing left to do without time passing: no command running, queues idle."""
        return not self._tasks and all(q.idle for q in self.queues.values())

    def _feed_in(self, event: ChatMessage, shown: bool, reason: str) -> None:
        # Chat is the hot path: keep the event (in one tuple), build the console's dict
        # only when asked.
        self.feed.append((next(self._feed_seq), time.time(), event, shown, reason))

    def _feed_add(self, entry: dict[str, Any]) -> None:
        self.feed.append((next(self._feed_seq), time.time(), entry))

    @staticmethod
    def _feed_entry(seq: int, at: float, item: Any, *verdict: Any) -> dict[str, Any]:
        if isinstance(item, dict):
            return {**item, "seq": seq, "at": at}
        event = item
        shown, reason = verdict
        viewer = event.viewer
        return {
            "kind": "in",
            "connector": event.source,
            "platform": viewer.platform if viewer else "",
            "channel": event.channel,
            "id": event.source_id,
            "viewer": viewer.name if viewer else "",
            "roles": sorted(event.roles),
            "text": event.text,
            "shown": shown,
            "reason": reason,
            "test": event.test,
            "seq": seq,
            "at": at,
        }

    def sent_since(self, count: int) -> list[SentMessage]:
        """What was sent after the ``sent_count`` was ``count`` (as far as history reaches)."""
        new = self.sent_count - count
        if new <= 0:
            return []
        return list(self.sent)[-new:]

    def feed_since(self, seq: int) -> list[dict[str, Any]]:
        """The console lines after ``seq``, oldest first."""
        return [self._feed_entry(*item) for item in self.feed if item[0] > seq]

    def status(self) -> dict[str, Any]:
        connectors = []
        for name, connector in self.connectors.items():
            try:
                state = connector.status()
            except Exception as exc:
                state = {"error": f"{type(exc).__name__}"}
                log.debug("status of %s failed: %s", name, exc)
            connectors.append(
                {
                    "name": name,
                    "platform": connector.platform,
                    "plugin": self.owners.get(name, ""),
                    **state,
                }
            )
        for name, reason in self.failed.items():
            connectors.append({"name": name, "connected": False, "error": reason})
        return {
            "connectors": connectors,
            "queues": [q.status() | {"connector": k[0]} for k, q in self.queues.items()],
            "commands": {
                "registered": len(self.router.commands),
                "run": self.commands_run,
                "errors": self.command_errors,
            },
            "lines": self.lines_seen,
            "deleted_by_gating": self.deleted_by_gating,
        }


async def chat_service(app: Any) -> AsyncIterator[None]:
    """The cleanup context that sets ``app[SERVICES].chat`` (see ``web/app.py``)."""
    from ..web.keys import CHAT_CONNECTORS, SERVICES, SETTINGS

    services = app[SERVICES]
    chat = ChatService(services, app[SETTINGS].chat)
    services.chat = chat
    chat.subscribe()
    # Connectors given in code (the test kit's) are there before plugins start and before
    # the bus replays, so nothing said at startup finds "nowhere to say".
    for connector in app.get(CHAT_CONNECTORS, ()):
        await chat.attach(connector)
    try:
        yield
    finally:
        await chat.stop()
