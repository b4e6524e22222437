"""Regulators' list of overdue services (DESIGN "After the award": regulators see overdue services),
as a page and as JSON: contracted jobs whose service time has run out, most overdue first."""

from __future__ import annotations

from litestar import Request, get
from litestar.params import FromQuery
from litestar.response import Template
from pydantic import BaseModel

from app.auth import roles
from app.db import DB
from app.forms import FilterCheck
from app.i18n import gettext as _
from marketplace.controllers.page_helpers import PER_PAGE, Page, PerPage, pager_base, render_page
from marketplace.models import Agency, Owner
from marketplace.services.job_notices import iso
from marketplace.services.registry import Listing
from marketplace.services.timers import overdue_services


class OverdueServiceOut(BaseModel):
    job_id: str
    title: str
    owner: str
    agency: str
    agency_code: str
    due_at: str
    days_overdue: int
    paused: bool


class OverdueServicesOut(BaseModel):
    items: list[OverdueServiceOut]
    total: int
    page: int
    per_page: int


async def _overdue(db, q: str | None, min_days: int | None, page: int, per_page: int) -> Listing:
    rows = []
    for job, contract, state in await overdue_services(db):
        if q and q not in job.job_no and q not in job.title:
            continue
        days = -state.remaining_days
        if min_days and days < min_days:
            continue
        owner, agency = await db.get(Owner, job.owner_id), await db.get(Agency, contract.agency_id)
        rows.append(OverdueServiceOut(job_id=job.job_no, title=job.title, owner=owner.name, agency=agency.name,
                                      agency_code=agency.credit_code, due_at=iso(state.due_at), days_overdue=days,
                                      paused=state.paused))
    start = (page - 1) * per_page
    return Listing(rows[start:start + per_page], len(rows), page, per_page)


def _filters(q: str | None, min_days: str | None) -> tuple[str | None, int | None]:
    check = FilterCheck()
    q = check.text("q", q)
    days = check.text("min_days", min_days)
    n = None
    if days and days.isdigit() and len(days) <= 5:
        n = int(days)
    elif days:
        check.refuse("min_days", _("Enter a whole number of days."))
    check.done()
    return q, n


@get("/regulator/services", opt=roles("regulator", "admin"))
async def overdue_services_page(request: Request, db: DB, page: Page = 1, q: FromQuery[str | None] = None,
                                min_days: FromQuery[str | None] = None) -> Template:
    q, n = _filters(q, min_days)
    listing = await _overdue(db, q, n, page, PER_PAGE)
    params = {"q": q, "min_days": n}
    return await render_page(request, "marketplace/jobs/overdue_services.html", listing=listing, filters=params,
                             pager_base=pager_base("/regulator/services", params))


@get("/api/regulator/services/overdue", opt=roles("regulator", "admin"))
async def api_overdue_services(db: DB, page: Page = 1, per_page: PerPage = 20, q: FromQuery[str | None] = None,
                               min_days: FromQuery[str | None] = None) -> OverdueServicesOut:
    """Contracted jobs past their service due date (pauses and extensions counted), most overdue first;
    `q` searches the job number and title, `min_days` keeps those at least that many days overdue."""
    q, n = _filters(q, min_days)
    listing = await _overdue(db, q, n, page, per_page)
    return OverdueServicesOut(items=listing.items, total=listing.total, page=page, per_page=per_page)


route_handlers = [overdue_services_page, api_overdue_services]
