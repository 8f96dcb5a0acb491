"""The milestone engine: a ladder of milestones on any metric, each firing its actions once.

A plugin (charity campaigns, challenges, a third party's) keeps a total of something (money
raised, minutes live, new members) and, whenever it changes, tells the ladder::

    ladder = Ladder(self.ctx, "charity", f"campaign:{campaign.id}", campaign.milestones)
    async with transaction() as tx:       # or ``tx`` in record_events
        ...write the contribution...
        await ladder.reach(new_total, contributors=donors, tx=tx, values={"cause": name})

``reach`` claims every milestone at or below the total that has not fired yet, by writing a
row with a unique ``(owner, ladder, at)`` key in the same transaction as the contribution.
Whatever the concurrency (200 tips at once, two processes) and however often the server
dies, exactly one transaction wins each claim. The actions run after that transaction
commits, never inside it.

**What happens to actions across a crash.** Each claim row remembers what became of each of
its actions. On the next start :func:`resume` runs what was not done:

* *Repeatable* actions (OBS scene/source/text/filter, badges, VIP grants deduplicated by
  ``(source, source_id)``, command unlocks and members-only windows, whose end is reckoned
  from when the milestone fired) are **at least once**: a crash after OBS switched the
  scene but before the row said so switches it again, which changes nothing.
* *Announcements* (the chat line, the overlay alert) are **at most once**: the row says
  ``started`` before they go out. An announcement that raised is retried at the next start;
  one interrupted by a crash (``started`` found at start) is not repeated, because the
  viewers may already have seen it and a second "We hit 100 €!" is worse than a missing one.

A refund that drops the total below a fired milestone changes nothing here: the claim stays,
so the milestone never fires again, and :meth:`Ladder.view` shows it as fired but no longer
reached, which is how overlays show the ladder honestly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from tortoise.exceptions import IntegrityError

from .commit import _IN_WRITER, Transaction
from .db import in_transaction
from .events import ViewerRef
from .models import MilestoneClaim
from .obs.errors import ObsActionDropped, ObsError
from .text import fill

if TYPE_CHECKING:
    from .context import PluginContext

log = logging.getLogger("limelight.milestones")

#: Seconds an OBS action may wait for OBS before the engine leaves it to the OBS queue
#: (which carries it out when OBS comes back).
OBS_WAIT = 30.0
#: Longest label and texts, in characters.
MAX_LABEL = 200
MAX_TEXT = 500


class _Act(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ObsScene(_Act):
    """Switch OBS to ``scene`` (back again after ``seconds``, when given)."""

    do: Literal["obs_scene"]
    scene: str = Field(min_length=1, max_length=200)
    seconds: float | None = Field(None, gt=0)


class ObsSource(_Act):
    """Show (or hide) ``source`` in ``scene`` (the program scene when empty), for
    ``seconds`` when given."""

    do: Literal["obs_source"]
    scene: str = Field("", max_length=200)
    source: str = Field(min_length=1, max_length=200)
    visible: bool = True
    seconds: float | None = Field(None, gt=0)


class ObsText(_Act):
    """Set the text source ``source`` to ``text`` (placeholders filled)."""

    do: Literal["obs_text"]
    source: str = Field(min_length=1, max_length=200)
    text: str = Field(max_length=MAX_TEXT)


class ObsFilter(_Act):
    """Enable (or disable) ``filter`` on ``source``."""

    do: Literal["obs_filter"]
    source: str = Field(min_length=1, max_length=200)
    filter: str = Field(min_length=1, max_length=200)
    enabled: bool = True


class ChatSay(_Act):
    """Say ``text`` in chat (placeholders filled)."""

    do: Literal["chat"]
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class AlertPlay(_Act):
    """Play an alert of ``kind`` on ``overlay``, in the look of the configured variation
    named ``variation`` (``[[overlays.<overlay>.variations]] name``) or the kind's default;
    ``text`` (placeholders filled) replaces the variation's text when given. Without an
    ``overlay``, the alert box plays it: the overlay that declares the most kinds of alert
    (the core knows no overlay by name; which one is the alert box is the plugins' say)."""

    do: Literal["alert"]
    overlay: str = Field("", max_length=80)
    kind: str = Field("milestone", min_length=1, max_length=80)
    variation: str = Field("", max_length=80)
    text: str = Field("", max_length=MAX_TEXT)


class BadgeAward(_Act):
    """Award the registered badge ``badge`` to every contributor of the ladder so far."""

    do: Literal["badge"]
    badge: str = Field(min_length=1, max_length=80)


class UnlockCommand(_Act):
    """Let the locked chat command ``command`` answer for ``minutes`` after the milestone."""

    do: Literal["unlock_command"]
    command: str = Field(min_length=1, max_length=80)
    minutes: float = Field(gt=0)


class VipGrant(_Act):
    """Grant every contributor the VIP tier ``tier`` for ``days`` (until revoked when
    empty), through the VIP plugin; skipped with a reason when it is not running."""

    do: Literal["vip_grant"]
    tier: str = Field(min_length=1, max_length=80)
    days: float | None = Field(None, gt=0)


class MembersWindow(_Act):
    """Make chat members-only for ``minutes`` after the milestone (the VIP plugin)."""

    do: Literal["members_window"]
    minutes: float = Field(gt=0)


Action = Annotated[
    ObsScene
    | ObsSource
    | ObsText
    | ObsFilter
    | ChatSay
    | AlertPlay
    | BadgeAward
    | UnlockCommand
    | VipGrant
    | MembersWindow,
    Field(discriminator="do"),
]
_ACTION: TypeAdapter[Action] = TypeAdapter(Action)
#: Actions that announce something (at most once across a crash; see the module docstring).
ANNOUNCEMENTS = frozenset({"chat", "alert"})


class MilestoneSpec(BaseModel):
    """One rung of a ladder, as the streamer writes it in a config table or the dashboard:
    ``{at = 5000, label = "Halfway!", actions = [{do = "chat", text = "..."}]}``.

    ``at`` is in the metric's own unit: minor units of money (cents), minutes, members."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: int = Field(ge=1)
    label: str = Field("", max_length=MAX_LABEL)
    actions: list[Action] = []


@dataclass(frozen=True, slots=True)
class MilestoneState:
    """How one milestone stands, for overlays and pages."""

    at: int
    label: str
    #: The total is at or above ``at`` right now.
    reached: bool
    #: It fired (once; a refund since may have dropped the total below it again).
    fired: bool
    fired_at: datetime | None
    #: Every action of it is settled (done, skipped or given up).
    done: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "label": self.label,
            "reached": self.reached,
            "fired": self.fired,
            "fired_at": self.fired_at.isoformat() if self.fired_at else None,
            "done": self.done,
        }


@contextlib.asynccontextmanager
async def transaction() -> AsyncIterator[Transaction]:
    """A transaction to write a contribution and :meth:`Ladder.reach` in, outside
    ``record_events`` (which has its own ``tx``): its ``on_commit`` callbacks (the
    milestones' actions) run once it commits."""
    tx: Transaction | None = None
    try:
        async with in_transaction() as conn:
            tx = Transaction(conn)
            yield tx
        tx._run_callbacks()
    finally:
        if tx is not None:
            tx._end()


class Ladder:
    """The milestones ``specs`` of one metric of ``owner`` (a plugin name), known in the
    database as ``ladder_id`` (say ``"campaign:7"``, ``"challenge:3:2026-W49"``: a new id
    for each window of a recurring challenge starts a fresh ladder).

    Build one whenever convenient: everything it knows is in the database. ``values`` are
    placeholders for the actions' texts (``{label}`` and ``{at}`` are added per milestone).
    """

    def __init__(
        self,
        ctx: PluginContext[Any],
        owner: str,
        ladder_id: str,
        specs: Sequence[MilestoneSpec],
        *,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        if not owner or len(owner) > 80:
            raise ValueError("owner must be a plugin name (1-80 characters)")
        if not ladder_id or len(ladder_id) > 200:
            raise ValueError("ladder_id must be 1-200 characters")
        ats = [s.at for s in specs]
        if len(set(ats)) != len(ats):
            raise ValueError(f"ladder {ladder_id}: two milestones at the same value")
        self.ctx = ctx
        self.owner = owner
        self.ladder_id = ladder_id
        self.specs: tuple[MilestoneSpec, ...] = tuple(sorted(specs, key=lambda s: s.at))
        self.values: dict[str, Any] = dict(values or {})
        self._fired: dict[int, datetime] | None = None
        self._done: set[int] = set()
        self._loading = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- reading --------------------------------------------------------------------------

    async def _load(self, tx: Transaction | None = None) -> dict[int, datetime]:
        if self._fired is not None:
            return self._fired
        async with self._loading:
            if self._fired is None:
                query = MilestoneClaim.filter(owner=self.owner, ladder=self.ladder_id)
                if tx is not None:
                    query = query.using_db(tx.connection)
                rows = await query.values_list("at", "fired_at", "done_at")
                self._fired = {int(at): fired for at, fired, _ in rows}
                self._done = {int(at) for at, _, done in rows if done is not None}
        return self._fired

    async def fired(self) -> dict[int, datetime]:
        """``{at: fired_at}`` of every milestone of this ladder that fired."""
        return dict(await self._load())

    async def due(self, total: int, tx: Transaction | None = None) -> list[MilestoneSpec]:
        """The milestones at or below ``total`` not known to have fired: whether a
        :meth:`reach` would claim anything (so a caller gathers its contributors only
        then)."""
        fired = await self._load(tx)
        return [s for s in self.specs if s.at <= total and s.at not in fired]

    async def view(self, total: int, *, fresh: bool = True) -> list[MilestoneState]:
        """Each milestone's state at ``total``, lowest first. ``fresh`` reads the database
        (another process may have fired one; ``done`` is only known then); otherwise what
        this ladder knows, without a query: what an overlay refreshed on every tip wants,
        because a read outside the group-commit writer's transaction waits for it."""
        if fresh:
            rows = await MilestoneClaim.filter(owner=self.owner, ladder=self.ladder_id).values_list(
                "at", "fired_at", "done_at"
            )
            fired = {int(at): (f, d) for at, f, d in rows}
        else:
            known = await self._load()
            fired = {at: (f, f if at in self._done else None) for at, f in known.items()}
        out = []
        for spec in self.specs:
            f, d = fired.get(spec.at, (None, None))
            out.append(
                MilestoneState(
                    at=spec.at,
                    label=spec.label,
                    reached=total >= spec.at,
                    fired=f is not None,
                    fired_at=f,
                    done=d is not None,
                )
            )
        return out

    # -- claiming -------------------------------------------------------------------------

    async def reach(
        self,
        total: int,
        *,
        contributors: Iterable[ViewerRef] = (),
        values: Mapping[str, Any] | None = None,
        tx: Transaction | None = None,
    ) -> list[MilestoneSpec]:
        """Claim every milestone at or below ``total`` that has not fired; returns those
        this call claimed (each is claimed by exactly one call, ever).

        With ``tx`` the claims are written in it (``record_events``' transaction, or
        :func:`transaction`) and their actions start once it commits; without, in a
        transaction of their own. ``contributors`` are who the badge and VIP actions
        reward: everyone who contributed to the ladder so far."""
        if not any(s.at <= total for s in self.specs):
            return []
        if tx is None:
            async with transaction() as own:
                return await self.reach(total, contributors=contributors, values=values, tx=own)
        fired = await self._load(tx)
        due = [s for s in self.specs if s.at <= total and s.at not in fired]
        if not due:
            return []
        people = _people(contributors)
        merged = {**self.values, **(values or {})}
        claimed: list[tuple[MilestoneSpec, int]] = []
        now = datetime.now(UTC)
        for spec in due:
            try:
                async with tx.savepoint():
                    row = await MilestoneClaim.create(
                        using_db=tx.connection,
                        owner=self.owner,
                        ladder=self.ladder_id,
                        at=spec.at,
                        label=spec.label,
                        fired_at=now,
                        actions=[a.model_dump(mode="json") for a in spec.actions],
                        values=_jsonable(merged),
                        contributors=people,
                        progress=["" for _ in spec.actions],
                        done_at=now if not spec.actions else None,
                    )
            except IntegrityError:
                # Another caller (or process) claimed it first: learn when, lazily.
                self._fired = None
                continue
            claimed.append((spec, int(row.id)))
        if claimed:
            tx.on_commit(lambda: self._committed(claimed, now))
        return [spec for spec, _ in claimed]

    def _committed(self, claimed: list[tuple[MilestoneSpec, int]], when: datetime) -> None:
        if self._fired is not None:
            for spec, _ in claimed:
                self._fired[spec.at] = when
        ids = [row_id for spec, row_id in claimed if spec.actions]
        if not ids:
            return
        task = asyncio.get_running_loop().create_task(
            _run_claims(self.ctx, ids), name=f"milestones:{self.owner}:{self.ladder_id}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def settle(self) -> None:
        """Wait until the actions of the milestones this ladder claimed have run."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


def _people(contributors: Iterable[ViewerRef]) -> list[dict[str, str]]:
    seen: dict[tuple[str, str], dict[str, str]] = {}
    for viewer in contributors:
        if viewer is None:
            continue
        seen[viewer.key] = {"platform": viewer.platform, "id": viewer.id, "name": viewer.name}
    return list(seen.values())


def _jsonable(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if value is None or isinstance(value, (str, int, float, bool)):
            out[str(key)] = value
        else:
            out[str(key)] = str(value)
    return out


# -- running actions ---------------------------------------------------------------------------


class _GiveUp(Exception):
    """The action can never work as written (an unknown badge or tier): not retried."""


class _Skip(Exception):
    """The action does not apply now (VIP not running, OBS disabled): not retried."""


async def _run_claims(ctx: PluginContext[Any], ids: Collection[int]) -> None:
    # Started from an on_commit callback, possibly inside the group-commit writer's
    # context: the actions run after the commit, as ordinary code.
    _IN_WRITER.set(False)
    try:
        for row_id in ids:
            row = await MilestoneClaim.get_or_none(id=row_id)
            if row is not None and row.done_at is None:
                await _run_claim(ctx, row, resuming=False)
    except Exception as exc:
        # The database went away (the server is stopping): the claim stays unfinished
        # and resume() runs the rest at the next start.
        log.warning("milestone actions of %s left for the next start: %s", ctx.name, exc)


async def _run_claim(ctx: PluginContext[Any], row: MilestoneClaim, *, resuming: bool) -> None:
    progress = list(row.progress) + [""] * (len(row.actions) - len(row.progress))
    viewers = [ViewerRef(p["platform"], p["id"], p.get("name", "")) for p in row.contributors]
    values = {**row.values, "label": row.label, "at": row.at}
    for index, raw in enumerate(row.actions):
        state = progress[index]
        if state == "started" and resuming:
            progress[index] = (
                "interrupted by a restart; not repeated (announcements run at most once)"
            )
            continue
        if state not in ("", "started"):
            continue
        try:
            action = _ACTION.validate_python(raw)
        except ValueError as exc:
            progress[index] = f"given up: not a valid action ({exc.__class__.__name__})"
            continue
        if action.do in ANNOUNCEMENTS:
            progress[index] = "started"
            await _save(row, progress)
        try:
            await _perform(ctx, row, action, viewers, values)
        except _Skip as exc:
            progress[index] = f"skipped: {exc}"
            log.info(
                "milestone %s/%s@%s: %s skipped: %s", row.owner, row.ladder, row.at, action.do, exc
            )
        except _GiveUp as exc:
            progress[index] = f"given up: {exc}"
            log.error("milestone %s/%s@%s: %s: %s", row.owner, row.ladder, row.at, action.do, exc)
        except Exception:
            log.exception(
                "milestone %s/%s@%s: action %s failed; retried at the next start",
                row.owner,
                row.ladder,
                row.at,
                action.do,
            )
            progress[index] = ""
        else:
            progress[index] = "done"
        if action.do in ANNOUNCEMENTS:
            # Its outcome is on disk before the next action: a crash from here on never
            # repeats it, and one that failed is retried. Repeatable actions are written
            # once at the end (a crash before that runs them again, harmlessly).
            await _save(row, progress)
    await _save(row, progress)


async def _save(row: MilestoneClaim, progress: list[str]) -> None:
    row.progress = list(progress)
    settled = all(p not in ("", "started") for p in progress)
    update: dict[str, Any] = {"progress": row.progress}
    if settled and row.done_at is None:
        row.done_at = datetime.now(UTC)
        update["done_at"] = row.done_at
    await MilestoneClaim.filter(id=row.id).update(**update)


def _until(row: MilestoneClaim, minutes: float) -> datetime:
    fired = row.fired_at if row.fired_at.tzinfo else row.fired_at.replace(tzinfo=UTC)
    return fired + timedelta(minutes=minutes)


async def _perform(
    ctx: PluginContext[Any],
    row: MilestoneClaim,
    action: Action,
    viewers: list[ViewerRef],
    values: Mapping[str, Any],
) -> None:
    if isinstance(action, ObsScene | ObsSource | ObsText | ObsFilter):
        await _obs(ctx, action, values)
    elif isinstance(action, ChatSay):
        await ctx.chat.say(fill(action.text, values), priority="normal")
    elif isinstance(action, AlertPlay):
        await _alert(ctx, row, action, values)
    elif isinstance(action, BadgeAward):
        if action.badge not in ctx.badges.registry:
            raise _GiveUp(f"no badge {action.badge!r} is registered")
        for viewer in viewers:
            ctx.badges.award(viewer, action.badge)
    elif isinstance(action, UnlockCommand):
        until = _until(row, action.minutes)
        if until <= datetime.now(UTC):
            raise _Skip("its time had passed when it could run")
        if not ctx.chat.router.unlock(action.command, until):
            raise _GiveUp(f"there is no command {action.command!r}")
    elif isinstance(action, VipGrant):
        await _vip_grant(ctx, row, action, viewers)
    elif isinstance(action, MembersWindow):
        vip = _vip(ctx)
        left = _until(row, action.minutes) - datetime.now(UTC)
        if left <= timedelta(0):
            raise _Skip("its time had passed when it could run")
        await vip.open_members_window(left, reason=row.label or f"milestone {row.at}")


async def _obs(ctx: PluginContext[Any], action: Action, values: Mapping[str, Any]) -> None:
    obs = ctx.obs
    if isinstance(action, ObsScene):
        handle = await obs.switch_scene(action.scene, duration=action.seconds)
    elif isinstance(action, ObsSource):
        show = obs.show_source if action.visible else obs.hide_source
        handle = await show(action.source, duration=action.seconds, scene=action.scene or None)
    elif isinstance(action, ObsText):
        handle = await obs.set_text(action.source, fill(action.text, values))
    else:
        assert isinstance(action, ObsFilter)
        handle = await obs.set_filter_enabled(action.source, action.filter, action.enabled)
    try:
        async with asyncio.timeout(OBS_WAIT):
            await handle.applied()
    except TimeoutError:
        # Queued until OBS is back; the OBS queue carries it out then.
        return
    except ObsActionDropped as exc:
        raise _Skip(str(exc)) from None
    except ObsError as exc:
        raise _GiveUp(f"OBS refused: {exc}") from None


async def _alert(
    ctx: PluginContext[Any], row: MilestoneClaim, action: AlertPlay, values: Mapping[str, Any]
) -> None:
    overlays = ctx.overlays
    # Without a name: the alert box, i.e. the overlay that plays the most kinds of alert.
    boxes = sorted((s for s in overlays.specs() if s.alerts), key=lambda s: -len(s.alerts))
    target = action.overlay or (boxes[0].name if boxes else "")
    if not target:
        raise _GiveUp("no overlay plays alerts; name one with overlay = ...")
    if not overlays.exists(target):
        raise _GiveUp(f"there is no overlay {target!r}")
    data = {"title": row.label, "label": row.label, "at": row.at, **_jsonable(values)}
    book = overlays.book(target)
    variation = next((v for v in book.all() if v.name == action.variation), None)
    if action.variation and variation is None:
        log.warning(
            "milestone %s/%s@%s: no variation %r on overlay %s; using the default look",
            row.owner,
            row.ladder,
            row.at,
            action.variation,
            target,
        )
    if variation is None:
        variation = overlays.variation(action.kind, overlay=target)
    wire = variation.to_wire(data)
    if action.text:
        wire["text"] = fill(action.text, data)
    await overlays.alert(target, kind=action.kind, data=data, variation=wire)


@runtime_checkable
class _Vip(Protocol):
    """The part of the VIP plugin's documented API (``limelight_vip.api.Memberships``)
    the engine uses; the core never imports a plugin, so it asks for this shape."""

    async def grant(
        self,
        viewer: ViewerRef,
        tier: str,
        *,
        duration: timedelta | None,
        source: str,
        source_id: str,
        reason: str = "",
    ) -> Any: ...

    async def open_members_window(self, duration: timedelta, *, reason: str) -> None: ...


def _vip(ctx: PluginContext[Any]) -> _Vip:
    vip = ctx.peer("vip", _Vip)  # type: ignore[type-abstract]  # a runtime_checkable protocol
    if vip is None:
        raise _Skip("the VIP plugin is not running")
    return vip


async def _vip_grant(
    ctx: PluginContext[Any], row: MilestoneClaim, action: VipGrant, viewers: list[ViewerRef]
) -> None:
    vip = _vip(ctx)
    if not viewers:
        raise _Skip("nobody contributed")
    duration = timedelta(days=action.days) if action.days else None
    for viewer in viewers:
        try:
            # Deduplicated by (source, source_id): a retry after a crash grants nothing twice.
            await vip.grant(
                viewer,
                action.tier,
                duration=duration,
                source=f"milestone:{row.owner}",
                source_id=f"{row.ladder}@{row.at}:{viewer.platform}:{viewer.id}",
                reason=row.label or f"milestone {row.at}",
            )
        except KeyError:
            raise _GiveUp(f"the VIP plugin has no tier {action.tier!r}") from None


async def resume(ctx: PluginContext[Any]) -> int:
    """Call from your plugin's ``startup``: run what the milestones of ``ctx.name`` left
    undone when the server stopped, and put back what they give that lives in memory (the
    badges they awarded, the commands they unlocked that are still open). Returns how many
    claims had actions left to run."""
    rows = await MilestoneClaim.filter(owner=ctx.name).order_by("id")
    pending = 0
    now = datetime.now(UTC)
    for row in rows:
        if row.done_at is None:
            pending += 1
            await _run_claim(ctx, row, resuming=True)
            continue
        for raw, state in zip(row.actions, row.progress, strict=False):
            if state != "done":
                continue
            kind = raw.get("do")
            badge = str(raw.get("badge", ""))
            if kind == "badge" and badge in ctx.badges.registry:
                for p in row.contributors:
                    ctx.badges.award(ViewerRef(p["platform"], p["id"], p.get("name", "")), badge)
            elif kind == "unlock_command":
                until = _until(row, float(raw.get("minutes", 0)))
                if until > now and ctx.running:
                    with contextlib.suppress(Exception):
                        ctx.chat.router.unlock(str(raw.get("command", "")), until)
    return pending


async def claims(owner: str, ladder_id: str | None = None) -> list[dict[str, Any]]:
    """The claims of ``owner`` (one ladder's, or all), newest first, for review pages:
    at, label, fired_at, done_at and what became of each action."""
    query = MilestoneClaim.filter(owner=owner)
    if ladder_id is not None:
        query = query.filter(ladder=ladder_id)
    out = []
    for row in await query.order_by("-id"):
        out.append(
            {
                "ladder": row.ladder,
                "at": row.at,
                "label": row.label,
                "fired_at": row.fired_at.isoformat(),
                "done_at": row.done_at.isoformat() if row.done_at else None,
                "actions": [
                    {"do": raw.get("do", ""), "state": state or "pending"}
                    for raw, state in zip(row.actions, row.progress, strict=False)
                ],
            }
        )
    return out


__all__ = [
    "ANNOUNCEMENTS",
    "Action",
    "AlertPlay",
    "BadgeAward",
    "ChatSay",
    "Ladder",
    "MembersWindow",
    "MilestoneSpec",
    "MilestoneState",
    "ObsFilter",
    "ObsScene",
    "ObsSource",
    "ObsText",
    "UnlockCommand",
    "VipGrant",
    "claims",
    "resume",
    "transaction",
]
