"""One named OBS connection: lifecycle, backoff, state, requests and events.

Limelight must start and keep running whatever OBS does: not running yet, restarting,
crashing, or refusing the password. The connection therefore lives in a background task
that retries with a short, capped backoff (OBS is reconnected within a couple of seconds
of coming back), renews the event subscription on every connect and reads the current
program scene and stream state again, since either may have changed while it was away.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .actions import ActionQueue
from .client import ObsLink
from .errors import ObsAuthError, ObsError, ObsRequestError, ObsUnavailable

if TYPE_CHECKING:
    from ..config import ObsConnectionSettings

log = logging.getLogger("limelight.obs")

#: Backoff between attempts: from MIN doubling to MAX (OBS back -> connected within ~2 s).
BACKOFF_MIN = 0.2
BACKOFF_MAX = 2.0
#: A wrong password will not fix itself quickly: retry more slowly, but keep trying (the
#: streamer may correct the password in OBS rather than in Limelight).
AUTH_BACKOFF_MAX = 5.0
#: An idle connection is checked this often, so an OBS that hangs (or a network that
#: silently drops a remote OBS) is noticed even when no action is asked for.
KEEPALIVE = 10.0

#: ``on_event(connection, event_type, data, previous_scene)``, called on the event loop.
EventHandler = Callable[["ObsConnection", str, dict[str, Any], str | None], None]
LinkFactory = Callable[..., ObsLink]


class ObsConnection:
    def __init__(
        self,
        settings: ObsConnectionSettings,
        *,
        max_delay: float,
        on_event: EventHandler | None = None,
        link_factory: LinkFactory = ObsLink,
    ) -> None:
        self.name = settings.name
        self.settings = settings
        self.state = "connecting"
        self.error: str | None = None
        self.since = time.time()
        self.attempts = 0
        self.connects = 0
        self.scene: str | None = None
        self.streaming: bool | None = None
        self.version: dict[str, Any] = {}
        self.ready = asyncio.Event()
        self.queue = ActionQueue(self, max_delay)
        self._on_event = on_event
        self._link_factory = link_factory
        self._link: ObsLink | None = None
        self._lost = asyncio.Event()
        self._lost_reason = ""
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_request = 0.0
        self.keepalive = KEEPALIVE

    def __repr__(self) -> str:
        return f"<ObsConnection {self.name} {self.where} {self.state}>"

    @property
    def where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._run(), name=f"obs:{self.name}")

    async def stop(self) -> None:
        await self.queue.stop()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        link, self._link = self._link, None
        self.ready.clear()
        if link is not None:
            await asyncio.to_thread(link.close)

    async def _run(self) -> None:
        delay = BACKOFF_MIN
        while True:
            self.attempts += 1
            try:
                wait, delay = await self._attempt(delay)
            except Exception as exc:  # a bug here must not end the connection for good
                log.exception("OBS %s: unexpected error; retrying", self.name)
                self._set_state("unreachable", f"unexpected error: {type(exc).__name__}: {exc}")
                wait, delay = BACKOFF_MAX, BACKOFF_MAX
            if wait:
                await asyncio.sleep(wait * random.uniform(0.8, 1.0))

    async def _attempt(self, delay: float) -> tuple[float, float]:
        """One connection attempt (and its session); returns (wait, next delay)."""
        link = self._new_link()
        try:
            # The socket timeout bounds each step; this guards the sum of them.
            async with asyncio.timeout(self.settings.timeout * 3 + 1):
                await asyncio.to_thread(link.connect)
        except ObsAuthError as exc:
            self._set_state("auth_failed", str(exc))
            return min(delay, AUTH_BACKOFF_MAX), min(delay * 2, AUTH_BACKOFF_MAX)
        except (ObsUnavailable, TimeoutError) as exc:
            # After a timeout the thread may still finish connecting: the link closes
            # itself then (it was closed before the connect returned).
            await asyncio.to_thread(link.close)
            self._set_state("unreachable", str(exc) or f"no answer from OBS at {self.where}")
            return delay, min(delay * 2, BACKOFF_MAX)
        await self._session(link)
        return 0.0, BACKOFF_MIN

    def _new_link(self) -> ObsLink:
        holder: dict[str, ObsLink] = {}

        def on_event(event_type: str, data: dict[str, Any]) -> None:
            self._from_thread(self._event, holder["link"], event_type, data)

        def on_close(reason: str) -> None:
            self._from_thread(self._closed, holder["link"], reason)

        s = self.settings
        link = self._link_factory(
            s.host, s.port, s.password, s.timeout, on_event=on_event, on_close=on_close
        )
        holder["link"] = link
        return link

    def _from_thread(self, fn: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop closed between the check and the call
            pass

    async def _session(self, link: ObsLink) -> None:
        """A connected session, from the first reads until the connection is lost."""
        self._link = link
        self._lost.clear()
        self._lost_reason = ""
        try:
            await self._read_state(link)
        except ObsUnavailable as exc:
            self._link = None
            await asyncio.to_thread(link.close)
            self._set_state("unreachable", str(exc))
            return
        self.connects += 1
        self._set_state("connected", None)
        self.ready.set()
        await self._keepalive(link)
        self.ready.clear()
        self._link = None
        await asyncio.to_thread(link.close)
        self._set_state("connecting", f"connection lost: {self._lost_reason}; reconnecting")

    async def _keepalive(self, link: ObsLink) -> None:
        """Wait for the session to end, checking it when it has been quiet for a while."""
        loop = asyncio.get_running_loop()
        while not self._lost.is_set():
            try:
                async with asyncio.timeout(self.keepalive):
                    await self._lost.wait()
            except TimeoutError:
                if loop.time() - self._last_request < self.keepalive:
                    continue
                try:
                    await self.request("GetStats")
                except ObsUnavailable as exc:
                    self._closed(link, f"keepalive failed: {exc}")
                except ObsError:
                    pass  # an answer, even a refusal, proves OBS is alive

    async def _read_state(self, link: ObsLink) -> None:
        version = await asyncio.to_thread(link.request, "GetVersion")
        self.version = {
            k: version.get(k)
            for k in ("obsVersion", "obsWebSocketVersion", "platform", "rpcVersion")
        }
        try:
            scene = await asyncio.to_thread(link.request, "GetCurrentProgramScene")
            new_scene = str(scene.get("currentProgramSceneName") or "") or None
        except ObsRequestError:  # an answer all the same; the next scene event fills it in
            new_scene = None
        try:
            stream = await asyncio.to_thread(link.request, "GetStreamStatus")
            streaming: bool | None = bool(stream.get("outputActive"))
        except ObsRequestError:
            streaming = None
        old_scene, was_streaming = self.scene, self.streaming
        self.scene, self.streaming = new_scene, streaming
        # Tell listeners what changed while we were away (not on the very first connect).
        if self.connects and old_scene != new_scene and new_scene is not None:
            self._emit("CurrentProgramSceneChanged", {"sceneName": new_scene}, previous=old_scene)
        if was_streaming is not None and streaming is not None and was_streaming != streaming:
            state = "OBS_WEBSOCKET_OUTPUT_STARTED" if streaming else "OBS_WEBSOCKET_OUTPUT_STOPPED"
            self._emit("StreamStateChanged", {"outputActive": streaming, "outputState": state})

    def _closed(self, link: ObsLink, reason: str) -> None:
        if link is self._link and not self._lost.is_set():
            self._lost_reason = reason
            self.ready.clear()
            self._lost.set()

    def _set_state(self, state: str, error: str | None) -> None:
        changed = state != self.state or error != self.error
        if state != self.state:
            self.since = time.time()
        self.state, self.error = state, error
        if not changed:
            return
        if state == "connected":
            log.info(
                "OBS %s connected at %s (OBS %s, obs-websocket %s, program scene %r)",
                self.name,
                self.where,
                self.version.get("obsVersion"),
                self.version.get("obsWebSocketVersion"),
                self.scene,
            )
        elif state == "auth_failed":
            log.error("OBS %s: %s", self.name, error)
        else:
            log.warning("OBS %s %s: %s", self.name, state, error)

    # -- events -------------------------------------------------------------------------------

    def _event(self, link: ObsLink, event_type: str, data: dict[str, Any]) -> None:
        if link is not self._link:
            return  # a stale session's last words
        previous = None
        if event_type == "CurrentProgramSceneChanged":
            previous, self.scene = self.scene, data.get("sceneName")
        elif event_type == "StreamStateChanged":
            state = data.get("outputState")
            if state in ("OBS_WEBSOCKET_OUTPUT_STARTED", "OBS_WEBSOCKET_OUTPUT_STOPPED"):
                self.streaming = state == "OBS_WEBSOCKET_OUTPUT_STARTED"
        elif event_type == "ExitStarted":
            self._closed(link, "OBS is shutting down")
        self._emit(event_type, data, previous=previous)

    def _emit(self, event_type: str, data: dict[str, Any], *, previous: str | None = None) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(self, event_type, data, previous)
        except Exception:
            log.exception("OBS %s: handling %s failed", self.name, event_type)

    # -- requests -----------------------------------------------------------------------------

    async def request(
        self, request_type: str, data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One request on this connection (serialised); raises ObsError subclasses."""
        link = self._link
        if link is None or not self.ready.is_set() or not link.alive:
            if link is not None and not link.alive:
                self._closed(link, "the event socket ended")
            raise ObsUnavailable(
                f"OBS {self.name} is {self.state}" + (f": {self.error}" if self.error else "")
            )
        async with self._lock:
            self._last_request = asyncio.get_running_loop().time()
            return await asyncio.to_thread(link.request, request_type, data)

    def status(self) -> dict[str, Any]:
        """JSON-able, without the password."""
        return {
            "status": self.state,
            "error": self.error,
            "host": self.settings.host,
            "port": self.settings.port,
            "since": self.since,
            "attempts": self.attempts,
            "connects": self.connects,
            "scene": self.scene,
            "streaming": self.streaming,
            "obs_version": self.version.get("obsVersion"),
            "websocket_version": self.version.get("obsWebSocketVersion"),
            "actions": {
                "pending": self.queue.pending(),
                "applied": self.queue.applied,
                "failed": self.queue.failed,
                "dropped": self.queue.dropped,
                "last_error": self.queue.last_error,
            },
        }
