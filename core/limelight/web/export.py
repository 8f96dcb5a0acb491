"""What every dashboard's CSV export and JSON form share, written once.

Tips, memberships, the shop and charity each export CSV and take small JSON bodies from
their dashboard pages; four copies of these checks had already started to drift.

An export reads its table a page at a time (:func:`pages`) and sends each page as it is
read (:func:`csv_download`). Why: a big channel's ledger is hundreds of thousands of rows.
Read in one piece, as the exports first were, a 200,000-row ledger took 6.7 s before the
first byte and 270 MB of memory, all of it on the event loop and (on SQLite) on the
connection that commits tips: alerts and webhook answers stalled for two seconds. Page by
page, on ``ctx.db.reader``, the loop gets a turn between pages, the commits never wait for
the export, and memory stays at a page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Any, TypeVar

from aiohttp import web
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.models import Model
from tortoise.queryset import QuerySet

from .. import edge
from .errors import ApiError
from .security import secure

M = TypeVar("M", bound=Model)

#: Rows per read of an export: small enough that alerts and commits get a turn of the
#: event loop between two pages, big enough that a 200,000-row ledger is 400 reads.
EXPORT_PAGE = 500

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


async def pages(
    query: QuerySet[M],
    *,
    using: BaseDBAsyncClient,
    after: str | None = None,
    size: int | None = None,
) -> AsyncIterator[list[M]]:
    """Every row of ``query``, :data:`EXPORT_PAGE` rows (or ``size``) at a time, each
    page its own short read on ``using`` (pass ``ctx.db.reader``).

    In ``id`` order, each page starts after the last row of the one before (keyset
    paging: no ``OFFSET`` that re-reads what came before, so the last page costs what
    the first did, and nothing is held between pages). It has every row committed before
    it started, once each, and may have rows committed while it ran.

    In ``after`` order, then ``id`` (charity exports by when a donation happened), the
    ids are read first, in that order, and then their rows a page at a time: the export
    has exactly the rows there were when it started. Why not keyset paging on ``after``
    too: on SQLite a time is compared as the text it was stored as, and the same instant
    can be stored as two texts (another UTC offset, fewer digits), so a page boundary
    there could skip or repeat rows. A row deleted in the meantime is left out.

    A row changed while it runs shows its state when its page was read."""
    size = size or EXPORT_PAGE
    query = query.using_db(using)
    if after is not None:
        ids = await query.order_by(after, "id").values_list("id", flat=True)
        for start in range(0, len(ids), size):
            wanted = ids[start : start + size]
            found = {row.pk: row for row in await query.filter(id__in=wanted)}
            if page := [found[i] for i in wanted if i in found]:
                yield page
        return
    query = query.order_by("id")
    page = await query.limit(size)
    while page:
        yield page
        if len(page) < size:
            return
        page = await query.filter(id__gt=page[-1].pk).limit(size)


async def csv_download(
    request: web.Request,
    *,
    filename: str,
    columns: Sequence[str],
    rows: AsyncIterator[list[M]],
    cells: Callable[[M], Iterable[Any]],
) -> web.StreamResponse:
    """Send ``rows`` (from :func:`pages`) as the CSV attachment ``filename``, one page as
    it is read: a header line of ``columns``, then ``cells(row)`` for each row. Text
    cells should go through :func:`spreadsheet_cell`.

    The first page is read before the answer starts, so an error there is still a clean
    error status. An error after that cannot change the status any more: the error
    middleware lets aiohttp log it and cut the transfer off without its last chunk, which
    the browser reports as a failed download rather than saving a file that looks
    complete."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    done: list[M] = []
    page = await anext(rows, done)
    response = secure(web.StreamResponse(), csp=None)
    response.content_type = "text/csv"
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    await response.prepare(request)
    while True:
        writer.writerows(cells(row) for row in page)
        await response.write(buffer.getvalue().encode("utf-8"))
        buffer.seek(0)
        buffer.truncate()
        if page is done or not (page := await anext(rows, done)):
            break
    await response.write_eof()
    return response


__all__ = [
    "EXPORT_PAGE",
    "FORMULA_START",
    "csv_download",
    "json_object",
    "pages",
    "spreadsheet_cell",
]
