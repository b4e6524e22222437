"""A regulator's pages: the selections (jobs due, contracts overdue) with 'select now', the beacon
value and the contract window; the objections and their decisions."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import roles
from app.clock import ensure_aware, utcnow
from app.db import DB
from app.errors import DomainError
from app.forms import parse
from app.i18n import gettext as _
from app.i18n import local_time
from app.web import done, flash, form_action, read_input, redirect
from marketplace.controllers.filters import PUBLIC_STATUSES, job_filters, objection_status
from marketplace.controllers.job_pages import render_job_page
from marketplace.controllers.page_helpers import (
    PER_PAGE,
    Page,
    domain_message,
    pager_base,
    render_page,
    safe_back,
    user_of,
)
from marketplace.models import AWARDED, PUBLISHED, Contract
from marketplace.schemas import BeaconIn, ContractWindowIn, ObjectionDecisionIn
from marketplace.services.awards import decide_objection, extend_contract_window
from marketplace.services.jobs import list_jobs, public_job
from marketplace.services.objections import OBJECTION_STATUSES, objection_listing
from marketplace.services.selection import (
    AWAITING_KEYS,
    CLOSED_AWAITING_BEACON,
    CLOSED_AWAITING_CHOICE,
    enter_beacon,
)
from marketplace.services.selection import close_and_select as select_now  # the regulator's 'select now'

# A filter of the selections page: awarded jobs whose contract window has passed.
CONTRACT_OVERDUE = "contract_overdue"


async def _selections_page(request: Request, db: AsyncSession, *, page: int = 1, q: str | None = None,
                           method: str | None = None, status: str | None = None, status_code: int = 200,
                           **extra: Any) -> Template:
    now = utcnow()
    f = await job_filters(db, q=q, method=method, status=status, statuses=(*PUBLIC_STATUSES, CONTRACT_OVERDUE))
    if f.status == CONTRACT_OVERDUE:
        f.status, f.contract_overdue_at = None, now
    listing = await list_jobs(db, f, page=page, per_page=PER_PAGE)
    due = {j.id for j, _c in listing.items if j.status == PUBLISHED and ensure_aware(j.quote_deadline) <= now}
    late = [j.id for j, _c in listing.items
            if j.status == AWARDED and j.contract_due_at and ensure_aware(j.contract_due_at) < now]
    uploaded = set((await db.exec(select(Contract.job_id).where(col(Contract.job_id).in_(late or [0])))).all())
    overdue = set(late) - uploaded  # the owner's window passed without the signed contract
    params = {"q": f.q, "method": f.method, "status": CONTRACT_OVERDUE if f.contract_overdue_at else f.status}
    back = pager_base("/regulator/selections", {**params, "page": page if page > 1 else None})[:-1]
    return await render_page(request, "marketplace/jobs/selections.html", status_code=status_code, listing=listing,
                             filters=params, statuses=PUBLIC_STATUSES, due=due, overdue=overdue,
                             pager_base=pager_base("/regulator/selections", params),
                             back=back,
                             **extra)


@get("/regulator/selections", opt=roles("regulator", "admin"))
async def selections_page(request: Request, db: DB, page: Page = 1, q: FromQuery[str | None] = None,
                          method: FromQuery[str | None] = None, status: FromQuery[str | None] = None) -> Template:
    return await _selections_page(request, db, page=page, q=q, method=method, status=status)


SELECT_OUTCOMES = {
    "selected": ("success", lambda: _("Quotes were opened and the selection was made.")),
    "failed": ("info", lambda: _("Quotes were opened: too few eligible quotes, the job failed (流标).")),
    CLOSED_AWAITING_BEACON: ("info", lambda: _("Quotes were opened; the job waits for the beacon value.")),
    CLOSED_AWAITING_CHOICE: ("info", lambda: _("Quotes were opened; the owner now chooses directly.")),
    "noop": ("error", lambda: _("Nothing was done: the deadline has not passed or the job was already closed.")),
    AWAITING_KEYS: ("info", lambda: _("The sealed quotes cannot be opened yet: not enough key holders have released "
                                      "their keys. They were asked again; the sweeper keeps asking.")),
}


@post("/regulator/jobs/{job_no:str}/select", opt=roles("regulator"))
async def regulator_select_now(request: Request, db: DB, job_no: FromPath[str]) -> Response:
    user = user_of(request)
    data = await read_input(request)
    job_id = (await public_job(db, job_no)).id
    # Release this request's connection: the service opens its own session
    # (SQLite has a single pooled connection).
    await db.rollback()
    outcome = await select_now(request.app.state.sessionmaker, job_id, actor_name=f"user:{user.username}")
    level, message = SELECT_OUTCOMES.get(outcome, ("info", lambda: outcome))
    await flash(request, message(), level)
    return redirect(safe_back(data.get("back"), f"/jobs/{job_no}"))


@post("/regulator/jobs/{job_no:str}/beacon", opt=roles("regulator"))
async def regulator_beacon(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    data = await read_input(request)
    back = safe_back(data.get("back"), f"/jobs/{job_no}")

    async def again(exc: DomainError) -> Template:
        if back.startswith("/jobs/"):
            return await render_job_page(request, db, job_no, status_code=exc.status_code, error=exc.message,
                                         beacon_errors=exc.fields, beacon_form=data)
        return await _selections_page(request, db, status_code=exc.status_code, error=domain_message(exc))

    return await form_action(
        db, lambda: enter_beacon(request.app.state.sessionmaker, user_of(request), job_no, parse(BeaconIn, data).value),
        done(request, _("The beacon value was entered and the selection was made."), back), again)


@post("/regulator/jobs/{job_no:str}/contract-window", opt=roles("regulator"))
async def regulator_contract_window(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    data = await read_input(request)
    back = safe_back(data.get("back"), "/regulator/selections?status=" + CONTRACT_OVERDUE)

    async def extend():
        form = parse(ContractWindowIn, data)
        return await extend_contract_window(db, user_of(request), job_no, form.days, form.reason)

    def extended(job) -> str:
        return _("Job {job}: the owner now has until {due} to confirm the contract.", job=job.job_no,
                 due=local_time(job.contract_due_at, request.app.state.settings.display_timezone))

    return await form_action(
        db, extend, done(request, extended, back),
        lambda exc: _selections_page(request, db, status=CONTRACT_OVERDUE, status_code=exc.status_code,
                                     error=domain_message(exc), window_form={**data, "job_no": job_no}))


async def _objections_page(request: Request, db: AsyncSession, *, page: int = 1, status: str | None = None,
                           status_code: int = 200, **extra: Any) -> Template:
    status = objection_status(status)
    found = await objection_listing(db, status, page, PER_PAGE)
    return await render_page(request, "marketplace/jobs/objections.html", status_code=status_code,
                             listing=found.listing, against=found.against, status=status or "",
                             statuses=OBJECTION_STATUSES,
                             pager_base=pager_base("/regulator/objections", {"status": status}), **extra)


@get("/regulator/objections", opt=roles("regulator", "admin"))
async def objections_page(request: Request, db: DB, page: Page = 1, status: FromQuery[str | None] = None) -> Template:
    return await _objections_page(request, db, page=page, status=status)


@post("/regulator/objections/{objection_id:int}/decision", opt=roles("regulator"))
async def objection_decision(request: Request, db: DB, objection_id: FromPath[int]) -> Response | Template:
    data = await read_input(request)

    async def decide():
        d = parse(ObjectionDecisionIn, data)
        return await decide_objection(db, user_of(request), objection_id, d.decision, d.reason)

    return await form_action(
        db, decide, done(request, _("The objection was decided."), "/regulator/objections"),
        lambda exc: _objections_page(request, db, status_code=exc.status_code, error=exc.message,
                                     decision_for=objection_id, decision_form=data, decision_errors=exc.fields))


route_handlers = [selections_page, regulator_select_now, regulator_beacon, regulator_contract_window, objections_page,
                  objection_decision]
