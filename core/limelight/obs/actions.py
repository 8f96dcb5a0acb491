"""OBS actions and the per-connection queue that runs them.

Actions on one connection run from a queue with one lane per *target* (the program scene,
one scene item, one input, one filter). A lane runs its actions one after the other,
including the hold of a timed action, so two alerts never fight over the scene: the
second big tip gets its eight seconds after the first one's have ended. Lanes for other
targets keep going meanwhile (a text update never waits for a scene to switch back).

While OBS is unreachable (the policy, see docs/obs.md):

* **momentary** actions (a scene switch, a source shown or hidden for a while, a media
  restart) wait at most ``obs.max_delay`` seconds from when they were asked; after that
  they are dropped with a log line, because a celebration scene a minute late is worse
  than none;
* **state** actions (a text, source settings, a filter on or off, a source shown or
  hidden for good) wait for OBS however long it takes, and only the newest value per
  target is kept, so the charity total is right as soon as OBS is back.

The undo step of a timed action (switching back, hiding again) follows the same rule as a
momentary action: it waits up to ``max_delay`` for OBS, then gives up.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ObsActionDropped, ObsError, ObsRequestError, ObsUnavailable

if TYPE_CHECKING:
    from .connection import ObsConnection

log = logging.getLogger("limelight.obs")

Undo = Callable[["ObsConnection"], Awaitable[None]]
#: Most actions waiting for one target; more are dropped (something is badly stuck).
MAX_LANE = 200


class ActionHandle:
    """What an action call returns. Ignore it, or await :meth:`applied` / :meth:`finished`.

    ``status`` moves ``queued`` -> ``running`` -> (``holding``) -> ``done``, or ends in
    ``failed`` (OBS said no: ``error`` is an :class:`ObsRequestError` with OBS's status
    code) or ``dropped`` (not carried out: OBS disabled or unreachable too long, the
    action was superseded, or Limelight stopped).
    """

    def __init__(self, action: Action, connection: str) -> None:
        self.action = action
        self.connection = connection
        self.status = "queued"
        self.error: ObsError | None = None
        loop = asyncio.get_running_loop()
        self.asked_at = loop.time()
        self._applied: asyncio.Future[None] = loop.create_future()
        self._finished: asyncio.Future[None] = loop.create_future()
        for fut in (self._applied, self._finished):
            fut.add_done_callback(_consume)

    def __repr__(self) -> str:
        return f"<ActionHandle {self.action.describe()} on {self.connection}: {self.status}>"

    async def applied(self) -> None:
        """Return once OBS made the change; raise the failure or drop otherwise."""
        await asyncio.shield(self._applied)

    async def finished(self) -> None:
        """Return once the action is over (a timed one undone); raise like :meth:`applied`."""
        await asyncio.shield(self._finished)

    @property
    def done(self) -> bool:
        return self._finished.done()

    def _set_applied(self) -> None:
        self.status = "holding" if self.action.duration else "running"
        if not self._applied.done():
            self._applied.set_result(None)

    def _set_done(self) -> None:
        self.status = "done"
        if not self._applied.done():
            self._applied.set_result(None)
        if not self._finished.done():
            self._finished.set_result(None)

    def _end(self, status: str, error: ObsError) -> None:
        self.status = status
        self.error = error
        for fut in (self._applied, self._finished):
            if not fut.done():
                fut.set_exception(error)


def _consume(fut: asyncio.Future[None]) -> None:
    # Nobody has to await a handle: never warn about an exception nobody retrieved.
    if not fut.cancelled():
        fut.exception()


def dropped_handle(action: Action, connection: str, reason: str) -> ActionHandle:
    handle = ActionHandle(action, connection)
    handle._end("dropped", ObsActionDropped(reason))
    return handle


# -- the actions -------------------------------------------------------------------------------


@dataclass
class Action:
    """One change to make in OBS. Subclasses implement :meth:`apply`."""

    #: Seconds to hold before :meth:`apply`'s undo runs (timed actions only).
    duration: float | None = field(default=None, kw_only=True)

    kind = "action"

    @property
    def resource(self) -> tuple[Any, ...]:
        """The lane: actions on the same target run strictly one after the other."""
        raise NotImplementedError

    @property
    def momentary(self) -> bool:
        """Dropped when OBS stays unreachable for ``max_delay`` (else kept until it's back)."""
        return True

    @property
    def coalesce_key(self) -> tuple[Any, ...] | None:
        """Queued state actions with the same key are replaced by the newest one."""
        return None

    def supersedes(self, older: Action) -> bool:
        return True

    def describe(self) -> str:
        raise NotImplementedError

    async def apply(self, conn: ObsConnection) -> Undo | None:
        """Make the change; return how to undo it when the action is timed."""
        raise NotImplementedError


@dataclass
class SwitchScene(Action):
    scene: str
    kind = "switch_scene"

    @property
    def resource(self) -> tuple[Any, ...]:
        return ("program",)

    def describe(self) -> str:
        hold = f" for {self.duration:g} s" if self.duration else ""
        return f"switch to scene {self.scene!r}{hold}"

    async def apply(self, conn: ObsConnection) -> Undo | None:
        current = await conn.request("GetCurrentProgramScene")
        previous = str(current.get("currentProgramSceneName") or "")
        if previous != self.scene:
            await conn.request("SetCurrentProgramScene", {"sceneName": self.scene})
        if not self.duration or not previous or previous == self.scene:
            return None
        target = self.scene

        async def undo(conn: ObsConnection) -> None:
            now = await conn.request("GetCurrentProgramScene")
            if now.get("currentProgramSceneName") != target:
                # The streamer moved on by hand meanwhile: never yank them back.
                log.info(
                    "OBS %s: not switching back to %r, the program scene is now %r",
                    conn.name,
                    previous,
                    now.get("currentProgramSceneName"),
                )
                return
            await conn.request("SetCurrentProgramScene", {"sceneName": previous})

        return undo


@dataclass
class SetSourceVisible(Action):
    source: str
    visible: bool
    #: The scene holding the source; None = the current program scene.
    scene: str | None = None
    kind = "source_visibility"

    @property
    def resource(self) -> tuple[Any, ...]:
        return ("item", self.scene, self.source)

    @property
    def momentary(self) -> bool:
        return bool(self.duration)

    @property
    def coalesce_key(self) -> tuple[Any, ...] | None:
        return None if self.duration else ("item", self.scene, self.source)

    def describe(self) -> str:
        verb = "show" if self.visible else "hide"
        where = f" in scene {self.scene!r}" if self.scene else ""
        hold = f" for {self.duration:g} s" if self.duration else ""
        return f"{verb} source {self.source!r}{where}{hold}"

    async def apply(self, conn: ObsConnection) -> Undo | None:
        scene = self.scene
        if scene is None:
            current = await conn.request("GetCurrentProgramScene")
            scene = str(current["currentProgramSceneName"])
        found = await conn.request(
            "GetSceneItemId", {"sceneName": scene, "sourceName": self.source}
        )
        item = {"sceneName": scene, "sceneItemId": found["sceneItemId"]}
        before = await conn.request("GetSceneItemEnabled", item)
        was = bool(before.get("sceneItemEnabled"))
        if was != self.visible:
            await conn.request("SetSceneItemEnabled", {**item, "sceneItemEnabled": self.visible})
        if not self.duration or was == self.visible:
            return None

        async def undo(conn: ObsConnection) -> None:
            await conn.request("SetSceneItemEnabled", {**item, "sceneItemEnabled": was})

        return undo


@dataclass
class SetInputSettings(Action):
    """Merge ``settings`` into an input's (a text's ``text``, a browser's ``url``, ...)."""

    source: str
    settings: dict[str, Any]
    label: str = "change settings of"
    kind = "set_source_settings"

    @property
    def resource(self) -> tuple[Any, ...]:
        return ("input", self.source)

    @property
    def momentary(self) -> bool:
        return False

    @property
    def coalesce_key(self) -> tuple[Any, ...] | None:
        return ("input", self.source)

    def supersedes(self, older: Action) -> bool:
        # Only when nothing of the older change would be lost.
        return isinstance(older, SetInputSettings) and set(older.settings) <= set(self.settings)

    def describe(self) -> str:
        if self.label == "set text of":
            return f"set text of {self.source!r}"
        return f"{self.label} {self.source!r} ({', '.join(sorted(self.settings))})"

    async def apply(self, conn: ObsConnection) -> Undo | None:
        await conn.request(
            "SetInputSettings",
            {"inputName": self.source, "inputSettings": self.settings, "overlay": True},
        )
        return None


@dataclass
class RestartMedia(Action):
    source: str
    kind = "restart_media"

    @property
    def resource(self) -> tuple[Any, ...]:
        return ("input", self.source)

    def describe(self) -> str:
        return f"restart media {self.source!r}"

    async def apply(self, conn: ObsConnection) -> Undo | None:
        await conn.request(
            "TriggerMediaInputAction",
            {
                "inputName": self.source,
                "mediaAction": "OBS_WEBSOCKET_MEDIA_INPUT_ACTION_RESTART",
            },
        )
        return None


@dataclass
class SetFilterEnabled(Action):
    source: str
    filter: str
    enabled: bool
    kind = "set_filter"

    @property
    def resource(self) -> tuple[Any, ...]:
        return ("filter", self.source, self.filter)

    @property
    def momentary(self) -> bool:
        return False

    @property
    def coalesce_key(self) -> tuple[Any, ...] | None:
        return ("filter", self.source, self.filter)

    def describe(self) -> str:
        verb = "enable" if self.enabled else "disable"
        return f"{verb} filter {self.filter!r} on {self.source!r}"

    async def apply(self, conn: ObsConnection) -> Undo | None:
        await conn.request(
            "SetSourceFilterEnabled",
            {"sourceName": self.source, "filterName": self.filter, "filterEnabled": self.enabled},
        )
        return None


# -- the queue ---------------------------------------------------------------------------------


class ActionQueue:
    """One connection's actions: a lane (FIFO plus worker task) per target."""

    def __init__(self, conn: ObsConnection, max_delay: float) -> None:
        self.conn = conn
        self.max_delay = max_delay
        self._lanes: dict[tuple[Any, ...], deque[ActionHandle]] = {}
        self._workers: dict[tuple[Any, ...], asyncio.Task[None]] = {}
        self._running: set[ActionHandle] = set()
        self.stopped = False
        self.applied = 0
        self.failed = 0
        self.dropped = 0
        self.last_error: str | None = None

    def pending(self) -> int:
        return sum(len(lane) for lane in self._lanes.values()) + len(self._running)

    def submit(self, action: Action) -> ActionHandle:
        handle = ActionHandle(action, self.conn.name)
        if self.stopped:
            self._drop(handle, "Limelight is stopping")
            return handle
        lane = self._lanes.setdefault(action.resource, deque())
        key = action.coalesce_key
        if key is not None:
            for old in [h for h in lane if h.action.coalesce_key == key]:
                if action.supersedes(old.action):
                    lane.remove(old)
                    self._drop(old, "superseded by a newer value", quiet=True)
        if len(lane) >= MAX_LANE:
            self._drop(handle, f"{MAX_LANE} actions already wait for the same target")
            return handle
        lane.append(handle)
        if action.resource not in self._workers:
            self._workers[action.resource] = asyncio.create_task(
                self._work(action.resource), name=f"obs:{self.conn.name}:{action.resource}"
            )
        return handle

    async def _work(self, resource: tuple[Any, ...]) -> None:
        lane = self._lanes[resource]
        try:
            while lane:
                handle = lane.popleft()
                self._running.add(handle)
                try:
                    await self._run(handle)
                except Exception as exc:  # a bug must not end the lane
                    log.exception("OBS %s: %s crashed", self.conn.name, handle.action.describe())
                    handle._end("failed", ObsError(f"internal error: {exc}"))
                finally:
                    self._running.discard(handle)
        finally:
            self._workers.pop(resource, None)
            if not lane:
                self._lanes.pop(resource, None)

    async def _ready_by(self, deadline: float | None) -> bool:
        ready = self.conn.ready
        if ready.is_set():
            return True
        if deadline is None:
            await ready.wait()
            return True
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return False
        try:
            async with asyncio.timeout(remaining):
                await ready.wait()
        except TimeoutError:
            return False
        return True

    async def _run(self, handle: ActionHandle) -> None:
        action = handle.action
        deadline = handle.asked_at + self.max_delay if action.momentary else None
        undo: Undo | None = None
        while True:
            if not await self._ready_by(deadline):
                self._drop(
                    handle,
                    f"OBS {self.conn.name} was unavailable for "
                    f"{self.max_delay:g} s ({self.conn.error or self.conn.state})",
                )
                return
            handle.status = "running"
            try:
                undo = await action.apply(self.conn)
                break
            except ObsRequestError as exc:
                self._fail(handle, exc)
                return
            except ObsUnavailable as exc:
                # The connection went down under us: wait for it again (same policy).
                log.warning(
                    "OBS %s: %s interrupted (%s); it waits for OBS to come back",
                    self.conn.name,
                    action.describe(),
                    exc,
                )
                handle.status = "queued"
                continue
        self.applied += 1
        handle._set_applied()
        log.debug("OBS %s: %s", self.conn.name, action.describe())
        if undo is not None and action.duration:
            await asyncio.sleep(action.duration)
            await self._undo(handle, undo)
        handle._set_done()

    async def _undo(self, handle: ActionHandle, undo: Undo) -> None:
        deadline = asyncio.get_running_loop().time() + self.max_delay
        while True:
            if not await self._ready_by(deadline):
                log.warning(
                    "OBS %s: could not undo %s: OBS unavailable for %g s",
                    self.conn.name,
                    handle.action.describe(),
                    self.max_delay,
                )
                return
            try:
                await undo(self.conn)
                return
            except ObsRequestError as exc:
                self.last_error = str(exc)
                log.warning(
                    "OBS %s: undoing %s failed: %s", self.conn.name, handle.action.describe(), exc
                )
                return
            except ObsUnavailable:
                continue

    def _fail(self, handle: ActionHandle, exc: ObsRequestError) -> None:
        self.failed += 1
        self.last_error = f"{handle.action.describe()}: {exc}"
        log.warning("OBS %s: %s failed: %s", self.conn.name, handle.action.describe(), exc)
        handle._end("failed", exc)

    def _drop(self, handle: ActionHandle, reason: str, *, quiet: bool = False) -> None:
        self.dropped += 1
        if not quiet:
            log.warning("OBS %s: dropped %s: %s", self.conn.name, handle.action.describe(), reason)
        handle._end("dropped", ObsActionDropped(f"{handle.action.describe()}: {reason}"))

    async def stop(self) -> None:
        self.stopped = True
        workers = list(self._workers.values())
        for task in workers:
            task.cancel()
        for task in workers:
            try:
                await task
            except asyncio.CancelledError:
                pass
        for lane in self._lanes.values():
            for handle in lane:
                self._drop(handle, "Limelight is stopping", quiet=True)
        for handle in list(self._running):
            self._drop(handle, "Limelight is stopping", quiet=True)
        self._lanes.clear()
