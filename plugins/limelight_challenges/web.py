"""The challenges dashboard (create, edit, pause, review), its JSON API, the public
achievements page, and the state the progress overlay shows.

Admin routes live under ``/api/challenges`` (Bearer admin token or the dashboard session
with its CSRF token); the dashboard page is ``/p/challenges/``; the achievements page
``/p/challenges/achievements`` is public (viewers open it from chat).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import tzinfo
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from limelight import PluginContext, Route
from limelight.milestones import claims
from limelight.money import exponent
from limelight.web.errors import ApiError
from limelight.web.security import secure
from pydantic import ValidationError

from .config import ChallengesConfig, ChallengeSettings
from .metrics import Metrics
from .models import Challenge, Contribution, Run
from .progress import COMPLETED, Progress, aware, window_text
from .store import row_fields, settings_of

OVERLAY = "challenges"
STATE_KEY = "progress"
#: Challenges the overlay shows at once (it is sized for this many).
OVERLAY_MAX = 3
MAX_BODY = 64 * 1024


def _problem(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))


class Dashboard:
    def __init__(
        self,
        ctx: PluginContext[ChallengesConfig],
        progress: Progress,
        metrics: Metrics,
        roll: Callable[[], Awaitable[None]],
    ) -> None:
        self.ctx = ctx
        self.progress = progress
        self.metrics = metrics
        self.roll = roll

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/p/challenges/", self.page, nav="Challenges"),
            Route("GET", "/p/challenges/achievements", self.achievements, auth="public"),
            Route("GET", "/api/challenges", self.list),
            Route("POST", "/api/challenges", self.create),
            Route("POST", r"/api/challenges/{id:\d+}", self.edit),
            Route("POST", r"/api/challenges/{id:\d+}/{action:pause|resume}", self.pause),
            Route("GET", r"/api/challenges/{id:\d+}/review", self.review),
        ]

    # -- what is shown ------------------------------------------------------------------------

    async def item(self, challenge: Challenge, *, fresh: bool = False) -> dict[str, Any]:
        """One challenge as the dashboard, ``!challenges`` and the overlay see it
        (``fresh``: milestone states read from the database, for the dashboard)."""
        run = self.progress.open_runs.get(challenge.id)
        target = int(challenge.target)
        total = self.progress.live_total(challenge, run) if run is not None else 0
        marks: list[dict[str, Any]] = []
        if run is not None:
            for state in await self.progress.view(challenge, run, fresh=fresh):
                if state.at == target and state.label == COMPLETED:
                    continue  # the end of the bar
                marks.append(
                    {
                        "label": state.label,
                        "at": state.at,
                        "display": self.progress.display(challenge, state.at),
                        "pos": round(min(100.0, 100.0 * state.at / target), 2),
                        "reached": state.reached,
                        "fired": state.fired,
                    }
                )
        info = self.progress.info(challenge)
        return {
            "id": challenge.id,
            "key": challenge.key,
            "title": challenge.title,
            "metric": challenge.metric,
            "metric_label": info.label,
            "window": challenge.window,
            "audience": challenge.audience,
            "paused": challenge.paused,
            "show": challenge.show,
            "running": run is not None,
            "window_key": run.key if run is not None else "",
            "left": window_text(challenge, run, self.progress.clock()),
            "total": total,
            "target": target,
            "progress": self.progress.display_of(challenge, total, target),
            "percent": round(max(0.0, min(100.0, 100.0 * total / target)), 2),
            "completed": bool(run is not None and run.completed_at is not None)
            or (run is not None and total >= target),
            "milestones": marks,
            "settings": settings_of(challenge),
        }

    async def running(self) -> list[dict[str, Any]]:
        """The challenges running now (not paused, in a window), in creation order."""
        out = []
        for challenge in sorted(self.progress.challenges.values(), key=lambda c: c.id):
            if challenge.paused or challenge.id not in self.progress.open_runs:
                continue
            out.append(await self.item(challenge))
        return out

    async def overlay_state(self) -> list[dict[str, Any]]:
        shown = []
        for item in await self.running():
            if not item["show"]:
                continue
            shown.append(
                {
                    "id": item["id"],
                    "title": item["title"],
                    "progress": item["progress"],
                    "percent": item["percent"],
                    "completed": item["completed"],
                    "left": item["left"],
                    "milestones": [
                        {
                            "label": m["label"],
                            "pos": m["pos"],
                            "reached": m["reached"],
                            # fired before, and a refund took the total back below it
                            "fired": m["fired"] and not m["reached"],
                        }
                        for m in item["milestones"]
                    ],
                }
            )
        return shown[:OVERLAY_MAX]

    async def push_overlay(self) -> None:
        overlays = self.ctx.overlays
        shown = await self.overlay_state()
        if shown:
            await overlays.set_state(OVERLAY, STATE_KEY, {"challenges": shown})
        else:
            await overlays.clear_state(OVERLAY, STATE_KEY)

    # -- pages --------------------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.StreamResponse:
        response = aiohttp_jinja2.render_template(
            "challenges/dashboard.html",
            request,
            {
                "metrics": self.metrics.all(),
                # money is typed in major units (200.00) and sent in minor units (20000)
                "money_exponent": exponent(self.metrics.currency),
                "overlay_url": "/overlays/" + OVERLAY,
                "config": self.ctx.config,
            },
        )
        return secure(response)

    async def achievements(self, request: web.Request) -> web.StreamResponse:
        rows = await Run.filter(completed_at__isnull=False).order_by("-completed_at").limit(200)
        titles = {c.id: c for c in await Challenge.filter(id__in={r.challenge_id for r in rows})}
        done = []
        for run in rows:
            challenge = titles.get(run.challenge_id)
            if challenge is None:
                continue
            done.append(
                {
                    "title": challenge.title,
                    "window": _window_label(challenge, run, self.progress.zone),
                    "completed": aware(run.completed_at).strftime("%Y-%m-%d %H:%M UTC")
                    if run.completed_at
                    else "",
                    "result": self.progress.display_of(
                        challenge, int(run.total), int(challenge.target), "of"
                    ),
                }
            )
        response = aiohttp_jinja2.render_template(
            "challenges/achievements.html",
            request,
            {"nav": [], "running": await self.running(), "done": done},
        )
        return secure(response)

    # -- the API --------------------------------------------------------------------------------

    async def list(self, request: web.Request) -> web.StreamResponse:
        items = [
            await self.item(c, fresh=True)
            for c in sorted(self.progress.challenges.values(), key=lambda c: c.id)
        ]
        metrics = [
            {"name": m.name, "label": m.label, "kind": m.kind, "unit": m.unit}
            for m in self.metrics.all()
        ]
        return web.json_response({"challenges": items, "metrics": metrics})

    async def _settings(
        self, request: web.Request, keep: Challenge | None = None
    ) -> ChallengeSettings:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise ApiError(413, "the challenge is too large")
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "the body must be JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "the body must be a JSON object")
        if keep is not None:
            body["paused"] = keep.paused  # pause and resume have their own buttons
        try:
            settings = ChallengeSettings.model_validate(body)
        except ValidationError as exc:
            raise ApiError(400, _problem(exc)) from None
        if self.metrics.info(settings.metric) is None:
            names = ", ".join(m.name for m in self.metrics.all())
            raise ApiError(400, f"metric: unknown metric {settings.metric!r} (one of {names})")
        return settings

    async def _changed(self) -> None:
        self.progress.forget_ladders()
        await self.roll()

    async def create(self, request: web.Request) -> web.StreamResponse:
        settings = await self._settings(request)
        if await Challenge.filter(key=settings.key).exists():
            raise ApiError(409, f"key: a challenge {settings.key!r} exists already")
        now = self.progress.clock()
        row = await Challenge.create(
            key=settings.key,
            origin="dashboard",
            created_at=now,
            updated_at=now,
            **row_fields(settings),
        )
        await self._changed()
        return web.json_response({"challenge": await self._fresh(row.id)}, status=201)

    async def edit(self, request: web.Request) -> web.StreamResponse:
        row = await self._row(request)
        settings = await self._settings(request, keep=row)
        if settings.key != row.key:
            raise ApiError(400, "key: the key of a challenge cannot change")
        fields = row_fields(settings)
        if fields["window"] != row.window or fields["starts"] != row.starts:
            # A new kind of window: the current one ends here; the next roll opens the new.
            await Run.filter(challenge_id=row.id, closed=False).update(closed=True)
        await Challenge.filter(id=row.id).update(updated_at=self.progress.clock(), **fields)
        await self._changed()
        return web.json_response({"challenge": await self._fresh(row.id)})

    async def pause(self, request: web.Request) -> web.StreamResponse:
        row = await self._row(request)
        paused = request.match_info["action"] == "pause"
        await Challenge.filter(id=row.id).update(paused=paused, updated_at=self.progress.clock())
        await self._changed()
        return web.json_response({"challenge": await self._fresh(row.id)})

    async def review(self, request: web.Request) -> web.StreamResponse:
        row = await self._row(request)
        runs = await Run.filter(challenge_id=row.id).order_by("-id").limit(20)
        out = []
        for run in runs:
            people = len(await self.progress.contributors(int(run.id)))
            entries = await Contribution.filter(run_id=run.id).count()
            out.append(
                {
                    "key": run.key,
                    "window": _window_label(row, run, self.progress.zone),
                    "total": self.progress.display(row, int(run.total)),
                    "completed_at": run.completed_at.isoformat() if run.completed_at else None,
                    "open": not run.closed,
                    "contributions": entries,
                    "contributors": people,
                    "milestones": await claims(self.ctx.name, f"run:{run.id}"),
                }
            )
        return web.json_response({"challenge": await self.item(row, fresh=True), "runs": out})

    async def _row(self, request: web.Request) -> Challenge:
        row = await Challenge.get_or_none(id=int(request.match_info["id"]))
        if row is None:
            raise ApiError(404, "no such challenge")
        return row

    async def _fresh(self, challenge_id: int) -> dict[str, Any]:
        challenge = self.progress.challenges.get(challenge_id)
        if challenge is None:
            challenge = await Challenge.get(id=challenge_id)
        return await self.item(challenge)


def _window_label(challenge: Challenge, run: Run, zone: tzinfo) -> str:
    """The window a run counted, as a viewer reads it, in the plugin's time zone (where
    its days and weeks start): "week of 2026-11-30", "December 2026", "stream of ..."."""
    start = aware(run.starts).astimezone(zone)
    if challenge.window == "stream":
        return "stream of " + start.strftime("%Y-%m-%d")
    if challenge.window == "dates" and run.ends is not None:
        return f"{start:%Y-%m-%d} to {aware(run.ends).astimezone(zone):%Y-%m-%d}"
    if challenge.window == "week":
        return f"week of {start:%Y-%m-%d}"
    if challenge.window == "month":
        return f"{start:%B %Y}"
    return f"{start:%Y-%m-%d}"  # a day


__all__ = ["OVERLAY", "Dashboard"]
