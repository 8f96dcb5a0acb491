"""The charity dashboard page, its admin JSON API, the final report and the CSV export.

Admin routes live under ``/api/charity/`` (Bearer admin token or the dashboard session,
through the CSRF guard); the pages are ``/p/charity/`` and ``/p/charity/<id>/report``.
Manual donations and refunds made here are published as events (``donation`` with source
``manual``, ``charity.refund``) and written by ``record_events`` like every other amount.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from functools import partial
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from limelight import CustomEvent, Donation, Money, PluginContext, Route, ViewerRef, edge
from limelight.money import exponent
from limelight.web import charts
from limelight.web.errors import ApiError
from limelight.web.export import csv_download, json_object, pages, spreadsheet_cell
from limelight.web.security import secure
from pydantic import ValidationError

from . import ledger
from .campaigns import Campaigns, fields_of, spec_of
from .config import CampaignSpec, CharityConfig
from .models import Campaign, CharityEntry
from .reactions import Reactions
from .recording import REFUND_TYPE

MANUAL = "manual"
CSV_COLUMNS = (
    "id",
    "occurred_at",
    "kind",
    "channel",
    "provider",
    "provider_id",
    "amount",
    "currency",
    "counted",
    "campaign_currency",
    "rate",
    "donor",
    "anonymous",
    "message",
    "refund_of",
    "reason",
)
CHART_W, CHART_H = 760, 280


def _csv_cells(currency: str, e: CharityEntry) -> list[Any]:
    """One entry of the CSV export, in :data:`CSV_COLUMNS` order; ``currency`` is the
    campaign's, which the counted amount is in."""
    return [
        e.id,
        e.occurred_at.isoformat(),
        e.kind,
        e.channel,
        spreadsheet_cell(e.provider),
        spreadsheet_cell(e.provider_id),
        Money(e.amount_minor, e.currency).to_wire(),
        e.currency,
        Money(e.counted_minor, currency).to_wire(),
        currency,
        e.rate,
        spreadsheet_cell(e.viewer_name),
        "yes" if e.anonymous else "no",
        spreadsheet_cell(e.message),
        e.original_id or "",  # type: ignore[attr-defined]
        spreadsheet_cell(e.reason),
    ]


class BadRequest(ApiError):
    def __init__(self, message: str) -> None:
        super().__init__(400, message)


def chart(entries: list[CharityEntry], campaign: Campaign, now: datetime, money: Any) -> str:
    """The report's chart as an image ``data:`` URI: the running total over the
    campaign's window (steps: a donation is a jump) and the goal as a dashed line, drawn
    by the dashboard's one chart helper. ``money`` formats the axis from minor units."""
    start = campaign.starts_at
    last = max([e.occurred_at for e in entries], default=start)
    end = min(campaign.ends_at, max(now, last)) if now < campaign.ends_at else campaign.ends_at
    end = max(end, last)
    span = max((end - start).total_seconds() / 3600, 1 / 60)
    scale = 10 ** exponent(campaign.currency)
    running = 0
    steps: list[tuple[float, float]] = [(0.0, 0.0)]
    for e in sorted(entries, key=lambda e: (e.occurred_at, e.id)):
        hours = min(max((e.occurred_at - start).total_seconds() / 3600, 0.0), span)
        steps.append((hours, running / scale))
        running += e.counted_minor
        steps.append((hours, running / scale))
    steps.append((span, running / scale))
    drawn = charts.chart(
        "xy",
        width=CHART_W,
        height=CHART_H,
        colors=[charts.PALETTE[0], charts.PALETTE[1]],
        x_title="hours since the campaign started",
        show_dots=False,
        empty="No donations yet",
    )
    drawn.value_formatter = lambda major: str(money(Money(round(major * scale), campaign.currency)))
    drawn.add("Raised", steps if running else [], stroke_style={"width": 3})
    goal = campaign.goal_minor / scale
    drawn.add("Goal", [(0.0, goal), (span, goal)], stroke_style={"width": 2, "dasharray": "6, 4"})
    return charts.data_uri(drawn)


class Dashboard:
    def __init__(
        self, ctx: PluginContext[CharityConfig], campaigns: Campaigns, reactions: Reactions
    ) -> None:
        self.ctx = ctx
        self.campaigns = campaigns
        self.reactions = reactions

    def routes(self) -> list[Route]:
        return [
            Route("GET", "/p/charity/", self.page, nav="Charity"),
            Route("GET", "/p/charity/{slug}/report", self.report),
            Route("GET", "/api/charity/campaigns", self.list_campaigns),
            Route("POST", "/api/charity/campaigns", self.save_campaign),
            Route("GET", "/api/charity/campaigns/{slug}/entries", self.entries),
            Route("POST", "/api/charity/campaigns/{slug}/donations", self.add_donation),
            Route("GET", "/api/charity/campaigns/{slug}/export.csv", self.export_csv),
            Route("POST", "/api/charity/entries/{id}/refund", self.refund),
        ]

    def _campaign(self, request: web.Request) -> Campaign:
        campaign = self.campaigns.get(request.match_info["slug"])
        if campaign is None:
            raise ApiError(404, f"no campaign {request.match_info['slug']!r}")
        return campaign

    async def summary(self, campaign: Campaign) -> dict[str, Any]:
        total = await ledger.total(campaign.id)
        converted, missing = await ledger.any_converted(campaign.id)
        spec = spec_of(campaign)
        return {
            **spec.model_dump(mode="json"),
            "origin": campaign.origin,
            "total": Money(total, campaign.currency).to_wire(),
            "total_display": self.ctx.money(Money(total, campaign.currency)),
            "goal_display": self.ctx.money(Money(campaign.goal_minor, campaign.currency)),
            "converted": converted,
            "missing_rates": missing,
            "per_currency": [
                {
                    "currency": m.currency,
                    "amount": m.to_wire(),
                    "display": self.ctx.money(m),
                    "entries": n,
                }
                for m, n in await ledger.per_currency(campaign.id)
            ],
            "running": campaign.starts_at <= datetime.now(UTC) < campaign.ends_at,
        }

    # -- pages ------------------------------------------------------------------------------

    async def page(self, request: web.Request) -> web.StreamResponse:
        response = aiohttp_jinja2.render_template(
            "charity/dashboard.html",
            request,
            {
                "config": self.ctx.config,
                "webhook": self.ctx.url("/webhooks/tiltify"),
                "tiltify": bool(self.ctx.settings.webhooks.get("tiltify")),
            },
        )
        return secure(response)

    async def report(self, request: web.Request) -> web.StreamResponse:
        campaign = self._campaign(request)
        entries = (  # all of a campaign's entries, read once, beside the commits
            await CharityEntry.filter(campaign_id=campaign.id)
            .using_db(self.ctx.db.reader)
            .order_by("occurred_at", "id")
        )
        donors = ledger.donors_of(entries)  # from those entries: no second read
        config = self.ctx.config
        summary = await self.summary(campaign)
        context = {
            "campaign": campaign,
            "summary": summary,
            "chart": chart(entries, campaign, datetime.now(UTC), self.ctx.money),
            "donations": sum(1 for e in entries if e.kind != "refund"),
            "refunds": sum(1 for e in entries if e.kind == "refund"),
            "top": [
                {
                    "name": config.anonymous_name if d.anonymous or not d.name else d.name,
                    "amount": self.ctx.money(Money(d.counted_minor, campaign.currency)),
                }
                for d in donors[:10]
            ],
            "donor_count": len(donors),
            "milestones": [
                {**m, "amount": self.ctx.money(Money(m["at"], campaign.currency))}
                for m in (await self.reactions.campaign_state(campaign))["milestones"]
            ],
        }
        return secure(aiohttp_jinja2.render_template("charity/report.html", request, context))

    # -- API --------------------------------------------------------------------------------

    async def list_campaigns(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"campaigns": [await self.summary(c) for c in reversed(self.campaigns.all())]}
        )

    async def save_campaign(self, request: web.Request) -> web.Response:
        body = await json_object(request)
        try:
            spec = CampaignSpec.model_validate(body)
        except ValidationError as exc:
            first = exc.errors(include_input=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            raise BadRequest(f"{where + ': ' if where else ''}{first['msg']}") from None
        existing = await Campaign.get_or_none(slug=spec.id)
        if existing is not None and existing.origin == "config":
            raise ApiError(409, f"campaign {spec.id!r} is set in the config file; change it there")
        if existing is not None and existing.currency != spec.currency:
            if await CharityEntry.filter(campaign_id=existing.id).exists():
                raise BadRequest("currency cannot change once the campaign has donations")
        row, created = await Campaign.update_or_create(
            slug=spec.id, defaults=fields_of(spec, "dashboard")
        )
        await self.campaigns.load()
        campaign = self.campaigns.get(row.slug)
        assert campaign is not None
        await self.reactions.publish_state(campaign)
        return web.json_response(
            {"campaign": await self.summary(campaign)}, status=201 if created else 200
        )

    async def entries(self, request: web.Request) -> web.Response:
        campaign = self._campaign(request)
        rows = await CharityEntry.filter(campaign_id=campaign.id).order_by("-id").limit(500)
        back: dict[int, int] = {}
        for r in rows:
            if r.original_id is not None:  # type: ignore[attr-defined]
                key = int(r.original_id)  # type: ignore[attr-defined]
                back[key] = back.get(key, 0) - r.amount_minor
        return web.json_response(
            {
                "entries": [
                    {
                        "id": r.id,
                        "occurred_at": r.occurred_at.isoformat(),
                        "kind": r.kind,
                        "channel": r.channel,
                        "display": self.ctx.money(Money(r.amount_minor, r.currency)),
                        "counted": self.ctx.money(Money(r.counted_minor, campaign.currency)),
                        "converted": r.converted,
                        "unconverted": r.unconverted,
                        "name": r.viewer_name,
                        "anonymous": r.anonymous,
                        "message": r.message,
                        "reason": r.reason,
                        "refundable": r.kind != "refund" and back.get(r.id, 0) < r.amount_minor,
                    }
                    for r in rows
                ]
            }
        )

    async def add_donation(self, request: web.Request) -> web.Response:
        """A donation made outside every connected service (a cheque, a bank transfer)."""
        campaign = self._campaign(request)
        body = await json_object(request)
        currency = str(body.get("currency") or campaign.currency)
        try:
            money = Money.parse_positive(str(body.get("amount", "")), currency, iso_only=True)
        except (ValueError, TypeError) as exc:
            raise BadRequest(f"amount: {exc}") from None
        name = body.get("name", "")
        message = body.get("message", "")
        anonymous = body.get("anonymous", False)
        key = body.get("key") or uuid.uuid4().hex
        if not isinstance(name, str) or not isinstance(message, str):
            raise BadRequest("name and message must be strings")
        if not isinstance(anonymous, bool):
            raise BadRequest("anonymous must be true or false")
        if not isinstance(key, str) or not 8 <= len(key) <= 64:
            raise BadRequest("key must be a string of 8 to 64 characters")
        if money.currency != campaign.currency and money.currency not in (campaign.rates or {}):
            raise BadRequest(
                f"no rate from {money.currency} to {campaign.currency}: add it to the "
                "campaign's rates first"
            )
        name = edge.clean_text(name).strip()
        event = Donation(
            source=MANUAL,
            source_id=f"{campaign.slug}:{key}",
            viewer=ViewerRef(MANUAL, name.casefold(), name) if name else None,
            amount=money,
            message=edge.clean_text(message, 1000, multiline=True),
            campaign=campaign.slug,
            anonymous=anonymous or not name,
        )
        accepted = await self.ctx.publish(event)
        row = await ledger.row_of(MANUAL, event.source_id)
        return web.json_response(
            {"entry": row.id if row else None, "duplicate": accepted.duplicate},
            status=200 if accepted.duplicate else 201,
        )

    async def refund(self, request: web.Request) -> web.Response:
        try:
            entry_id = int(request.match_info["id"])
        except ValueError:
            raise BadRequest("the entry id must be an integer") from None
        entry = await CharityEntry.get_or_none(id=entry_id)
        if entry is None:
            raise ApiError(404, f"no ledger entry {entry_id}")
        if entry.kind == "refund":
            raise BadRequest("a refund cannot be refunded")
        body = await json_object(request)
        back, _ = await ledger.refunded(entry)
        left = entry.amount_minor - back
        raw = body.get("amount")
        if raw in (None, ""):
            money = Money(left, entry.currency)
        else:
            try:
                money = Money.parse_positive(str(raw), entry.currency)
            except (ValueError, TypeError) as exc:
                raise BadRequest(f"amount: {exc}") from None
        if left <= 0:
            raise BadRequest("this donation is already fully refunded")
        if money.minor > left:
            raise BadRequest(f"the refund is more than the {Money(left, entry.currency)} left")
        reason = body.get("reason", "")
        if not isinstance(reason, str):
            raise BadRequest("reason must be a string")
        event = CustomEvent(
            custom_type=REFUND_TYPE,
            source=MANUAL,
            source_id=f"refund:{uuid.uuid4().hex}",
            payload={
                "entry": entry.id,
                "amount": money.to_wire(),
                "currency": money.currency,
                "reason": edge.clean_text(reason).strip() or "refunded in the dashboard",
            },
        )
        await self.ctx.publish(event)
        row = await ledger.row_of(MANUAL, event.source_id)
        return web.json_response({"refund": row.id if row else None}, status=201)

    async def export_csv(self, request: web.Request) -> web.StreamResponse:
        campaign = self._campaign(request)
        stamp = datetime.now(UTC).strftime("%Y%m%d")
        return await csv_download(
            request,
            filename=f"{campaign.slug}-{stamp}.csv",
            columns=CSV_COLUMNS,
            rows=pages(
                CharityEntry.filter(campaign_id=campaign.id),
                using=self.ctx.db.reader,
                after="occurred_at",
            ),
            cells=partial(_csv_cells, campaign.currency),
        )
