"""The regulator's pages: appeals to decide, violations to record, list entries to lift early."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import roles
from app.clock import utcnow
from app.db import DB
from app.errors import DomainError
from app.forms import FilterCheck, parse
from app.i18n import gettext as _
from app.web import done, form_action, read_input
from ratings.controllers.page_helpers import (
    PER_PAGE,
    Page,
    missing_is_404,
    pager_base,
    recompute_then,
    render_page,
    user_of,
)
from ratings.domain.credit import SEVERITIES
from ratings.parameters import params_in_force
from ratings.schemas import AppealDecisionIn, LiftIn, ViolationIn
from ratings.services.appeal_queue import APPEAL_STATUSES, appeal_queue
from ratings.services.appeals import decide_appeal
from ratings.services.list_entries import entries_in_force
from ratings.services.violation_register import violation_register
from ratings.services.violations import lift_entry, record_violation


# ---- appeals ---------------------------------------------------------------------------------

async def _appeals(request: Request, db: AsyncSession, *, page: int = 1, status: str | None = None,
                   status_code: int = 200, **extra: Any) -> Template:
    check = FilterCheck()
    status = check.choice("status", status, APPEAL_STATUSES)
    check.done()
    listing = await appeal_queue(db, status, page, PER_PAGE)
    return await render_page(request, db, "ratings/appeals.html", status_code=status_code, listing=listing,
                             status=status or "", statuses=APPEAL_STATUSES,
                             pager_base=pager_base("/regulator/appeals", {"status": status}), **extra)


@get("/regulator/appeals", opt=roles("regulator", "admin"))
async def appeals_page(request: Request, db: DB, page: Page = 1, status: FromQuery[str | None] = None) -> Template:
    """Appeals against ratings, open first; the regulator upholds (voids the rating) or dismisses."""
    return await _appeals(request, db, page=page, status=status)


@post("/regulator/appeals/{appeal_id:int}/decision", opt=roles("regulator"))
async def appeal_decision(request: Request, db: DB, appeal_id: FromPath[int]) -> Response | Template:
    data = await read_input(request)

    async def decide():
        d = parse(AppealDecisionIn, data)
        return await decide_appeal(db, user_of(request), appeal_id, d.decision == "uphold", d.reason)

    async def again(exc: DomainError) -> Template:
        return await _appeals(request, db, status_code=exc.status_code, error=exc.message, decision_for=appeal_id,
                              decision_form=data, decision_errors=exc.fields)

    decided = done(request, lambda appeal: _("The appeal was upheld; the rating is voided.")
                   if appeal.status == "upheld" else _("The appeal was dismissed; the rating stands."),
                   "/regulator/appeals")
    return await form_action(db, decide, recompute_then(request, decided), missing_is_404(again))


# ---- violations and list entries -------------------------------------------------------------

async def _violations(request: Request, db: AsyncSession, *, page: int = 1, status_code: int = 200,
                      **extra: Any) -> Template:
    now = utcnow()
    p = await params_in_force(db)
    listing = await violation_register(db, p, now, page, PER_PAGE)
    entries = await entries_in_force(db, now)
    extra.setdefault("form", {})
    return await render_page(request, db, "ratings/violations.html", status_code=status_code, listing=listing,
                             entries=entries, severities=SEVERITIES, **extra)


@get("/regulator/violations", opt=roles("regulator", "admin"))
async def violations_page(request: Request, db: DB, page: Page = 1, agency_code: FromQuery[str | None] = None,
                          kind: FromQuery[str | None] = None, evidence: FromQuery[str | None] = None) -> Template:
    """Recorded violations, the form to record one, and the list entries in force (lift early).

    `agency_code`, `kind` and `evidence` prefill the form (a collusion signal links here); nothing is
    recorded until the regulator adds a description and submits."""
    prefill = {"agency_code": (agency_code or "")[:18], "kind": (kind or "")[:40], "evidence": (evidence or "")[:5000]}
    return await _violations(request, db, page=page, form={k: v.strip() for k, v in prefill.items() if v})


@post("/regulator/violations", opt=roles("regulator"))
async def violation_submit(request: Request, db: DB) -> Response | Template:
    data = await read_input(request)

    async def again(exc: DomainError) -> Template:
        return await _violations(request, db, status_code=exc.status_code, error=exc.message, form=data,
                                 errors=exc.fields)

    recorded = done(request, _("The violation was recorded; the agency's credit is being recomputed."),
                    "/regulator/violations")
    return await form_action(db, lambda: record_violation(db, user_of(request), parse(ViolationIn, data)),
                             recompute_then(request, recorded), again)


@post("/regulator/list-entries/{entry_id:int}/lift", opt=roles("regulator"))
async def lift_submit(request: Request, db: DB, entry_id: FromPath[int]) -> Response | Template:
    data = await read_input(request)

    async def again(exc: DomainError) -> Template:
        return await _violations(request, db, status_code=exc.status_code, error=exc.message, lift_for=entry_id,
                                 lift_form=data, lift_errors=exc.fields)

    return await form_action(db, lambda: lift_entry(db, user_of(request), entry_id, parse(LiftIn, data).reason),
                             recompute_then(request, done(request, _("The list entry was lifted."),
                                                          "/regulator/violations")),
                             missing_is_404(again))


route_handlers = [appeals_page, appeal_decision, violations_page, violation_submit, lift_submit]
