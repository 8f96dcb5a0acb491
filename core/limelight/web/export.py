"""What every dashboard's CSV export and JSON form share, written once.

Tips, memberships, the shop and charity each export CSV and take small JSON bodies from
their dashboard pages; four copies of these two checks had already started to drift.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .. import edge
from .errors import ApiError

#: Spreadsheet programs run cells that start with these as formulas.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: str) -> str:
    """A text cell a spreadsheet shows as text, never runs as a formula (a viewer named
    ``=HYPERLINK(...)`` stays a name in the streamer's export)."""
    return "'" + value if value.startswith(FORMULA_START) else value


async def json_object(request: web.Request) -> dict[str, Any]:
    """A dashboard call's JSON object body (an empty body is ``{}``), read through the
    edge; anything else is a 400 that says what is wrong."""
    raw = await request.read()
    if not raw:
        return {}
    try:
        body = edge.loads(raw)
    except edge.EdgeError as exc:
        raise ApiError(400, f"the body must be JSON: {exc}") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


__all__ = ["FORMULA_START", "json_object", "spreadsheet_cell"]
