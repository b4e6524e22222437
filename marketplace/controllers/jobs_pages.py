"""HTML pages of the marketplace loop (owners, agencies, public, regulators).

Thin handlers: each reads the request, calls one service of `marketplace.market`
or `marketplace.selecting` (which hold every rule) and renders or redirects.
Sealed prices are never loaded for a page before quotes are opened: before that
the only figure about quotes any page shows is the live count.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Template
from sqlalchemy import case
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import PUBLIC, CurrentUser, roles
from app.canonical import canonical
from app.clock import SHANGHAI, ensure_aware, utcnow
from app.db import DB
from app.errors import DomainError, InputError, NotFound
from app.forms import contains, parse
from app.i18n import gettext as _
from app.i18n import local_time
from app.parameters import direct_threshold
from app.web import flash, read_input, redirect, render
from marketplace.domain.methods import min_quotes_required
from marketplace.domain.money import money
from marketplace.domain.receipts import compute_receipt, receipt_body
from marketplace.domain.records import explain
from marketplace.models import (
    AWARDED,
    CANCELLED,
    CLOSED,
    CONTRACTED,
    DRAFT,
    FAILED,
    JOB_STATUSES,
    LEVELS,
    LIVE,
    PUBLISHED,
    Agency,
    Contract,
    Job,
    JobExclusion,
    Objection,
    Owner,
    Quote,
    ServiceCategory,
)
from marketplace.schemas import (
    METHOD_CODES,
    BeaconIn,
    ContractWindowIn,
    DirectChoiceIn,
    JobIn,
    JustificationDecisionIn,
    ObjectionDecisionIn,
    QuoteIn,
    ReasonIn,
)
from marketplace.services import registry
from marketplace.services.awards import (
    complete_job,
    confirm_contract,
    decide_justification,
    decide_objection,
    extend_contract_window,
    file_objection,
    record_refusal,
    submit_justification,
)
from marketplace.services.draw_records import opened_quotes, record_of
from marketplace.services.eligibility import eligibility_reasons, reason_text
from marketplace.services.jobs import (
    JobFilters,
    cancel_job,
    create_job,
    job_input,
    list_jobs,
    own_job,
    public_job,
    publish_job,
    quotes_are_open,
    republish_copy,
    schedule_close,
    update_job,
)
from marketplace.services.quotes import live_quote_count, my_quote, submit_quote, withdraw_quote
from marketplace.services.selection import (
    CLOSED_AWAITING_BEACON,
    CLOSED_AWAITING_CHOICE,
    choose_direct,
    close_and_select,
    enter_beacon,
    selection_of,
)

Page = Annotated[int, QueryParameter(name="page", ge=1, le=100000)]
PER_PAGE = 20
RECEIPT_FIELDS = ("job_id", "quote_id", "agency_code", "price", "service_days", "submitted_at", "nonce")
OBJECTION_STATUSES = ("open", "upheld", "dismissed")


def _user(request: Request) -> CurrentUser:
    return request.scope["user"]


# ---- labels (translated per request) ---------------------------------------------------

def method_name(code: str) -> str:
    return {
        "random": _("Random draw"), "random_weighted": _("Credit-weighted draw"), "lowest": _("Lowest price"),
        "optimal": _("Optimal price"), "best_value": _("Best value"), "direct": _("Direct selection"),
    }.get(code, code)


def job_status_name(status: str) -> str:
    return {
        DRAFT: _("Draft"), PUBLISHED: _("Open for quotes"), CLOSED: _("Quotes opened"),
        AWARDED: _("Awarded (publicity)"), CONTRACTED: _("Contracted"), "completed": _("Completed"),
        "rated": _("Rated"), FAILED: _("Failed (流标)"), CANCELLED: _("Cancelled"),
    }.get(status, status)


def quote_status_name(status: str) -> str:
    return {"live": _("Live"), "withdrawn": _("Withdrawn"), "replaced": _("Replaced")}.get(status, status)


def exclusion_reason_name(code: str) -> str:
    return {
        "objection_upheld": _("Objection upheld"),
        "abnormally_low_rejected": _("Abnormally low price not justified"),
        "refused_to_sign": _("Refused to sign the contract"),
    }.get(code, code)


def objection_status_name(status: str) -> str:
    return {"open": _("Open"), "upheld": _("Upheld"), "dismissed": _("Dismissed")}.get(status, status)


def failure_text(job: Job, eligible: int) -> str:
    if job.status_reason == "no_candidate_left":
        return _("No candidate was left after the exclusions.")
    return _("Too few eligible quotes: {n} eligible, at least {required} required.",
             n=eligible, required=min_quotes_required(job.state_funded))


def yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


def _helpers() -> dict[str, Any]:
    return dict(money=money, method_name=method_name, job_status_name=job_status_name,
                quote_status_name=quote_status_name, exclusion_reason_name=exclusion_reason_name,
                objection_status_name=objection_status_name, reason_text=reason_text, yes_no=yes_no,
                method_codes=METHOD_CODES)


async def _render(request: Request, template: str, status_code: int = 200, **context: Any) -> Template:
    return await render(request, template, status_code=status_code, **_helpers(), **context)


def _iso(dt: datetime | None) -> str:
    return ensure_aware(dt).isoformat() if dt else ""


# A filter of the regulator's selections page: awarded jobs whose contract window has passed.
CONTRACT_OVERDUE = "contract_overdue"


def _domain_message(exc: DomainError) -> str:
    return exc.message + ("" if not exc.fields else " " + " ".join(exc.fields.values()))


def _pager_base(path: str, params: dict[str, Any]) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    return f"{path}?{urlencode(kept)}&" if kept else f"{path}?"


def _safe_back(value: Any, default: str) -> str:
    if isinstance(value, str) and value.startswith(("/jobs/", "/regulator/")) and "//" not in value:
        return value
    return default


# ---- filters ---------------------------------------------------------------------------

def _text_filter(value: str | None, name: str, fields: dict[str, str], limit: int = 100) -> str | None:
    value = (value or "").strip()
    if len(value) > limit:
        fields[name] = _("Must be at most {n} characters.", n=limit)
    return value or None


async def _job_filters(db: AsyncSession, *, q: str | None = None, category: str | None = None,
                       method: str | None = None, district: str | None = None, status: str | None = None,
                       statuses: tuple[str, ...] = JOB_STATUSES) -> JobFilters:
    """Validated list filters; an unknown value is a 400, never an empty page."""
    fields: dict[str, str] = {}
    q = _text_filter(q, "q", fields)
    district = _text_filter(district, "district", fields)
    if category:
        codes = {c.code for c in await registry.list_categories(db, active_only=False)}
        if category not in codes:
            fields["category"] = _("Choose one of the offered values.")
    if method and method not in METHOD_CODES:
        fields["method"] = _("Choose one of the offered values.")
    if status and status not in statuses:
        fields["status"] = _("Choose one of the offered values.")
    if fields:
        raise InputError(_("Unknown filter value."), fields=fields)
    return JobFilters(q=q, category=category or None, method=method or None, district=district,
                      status=status or None)


async def _districts(db: AsyncSession) -> list[str]:
    rows = (await db.exec(select(Job.district).where(Job.status != DRAFT, Job.district != "")
                          .distinct().order_by(Job.district))).all()
    return list(rows)


# ---- the job view (notice, result, draw explained) ------------------------------------------

async def _job_view(db: AsyncSession, request: Request, job: Job) -> dict[str, Any]:
    """Everything the notice and the manage page show about a job, sealed until opening."""
    user: CurrentUser | None = request.scope.get("user")
    now = utcnow()
    deadline = ensure_aware(job.quote_deadline)
    cat = await db.get(ServiceCategory, job.category_id)
    owner = await db.get(Owner, job.owner_id)
    exclusions = list((await db.exec(select(JobExclusion.agency_code).where(JobExclusion.job_id == job.id)
                                     .order_by(JobExclusion.agency_code))).all())
    opened = quotes_are_open(job)
    is_owner = bool(user and user.role == "owner" and user.owner_id == job.owner_id)
    # Sealed: before opening nothing about the quotes but their number (for the owner) is read.
    quotes = await opened_quotes(db, job) if opened else []
    for q in quotes:
        q["reasons_text"] = [reason_text(r) for r in q["ineligible_reasons"]]
        q["submitted_dt"] = datetime.fromisoformat(q["submitted_at"].replace("Z", "+00:00"))
    names = {q["quote_id"]: q["agency_name"] for q in quotes}
    sel = await selection_of(db, job) if opened else None
    winner = None
    if sel and sel.winner_quote_id:
        winner = next((q for q in quotes if q["quote_id"] == sel.winner_quote_id), None)
    objections = list((await db.exec(select(Objection).where(Objection.job_id == job.id)
                                     .order_by(col(Objection.id)))).all())
    contract = (await db.exec(select(Contract).where(Contract.job_id == job.id))).first()
    publicity_ends = ensure_aware(job.publicity_ends_at)
    view = {
        "job": job, "cat": cat, "owner": owner, "exclusions": exclusions, "now": now,
        "deadline": deadline, "deadline_iso": _iso(deadline), "before_deadline": deadline > now,
        # Sealed (DESIGN): until the quotes are opened only the job's owner sees how many there are.
        "live_count": (await live_quote_count(db, job.id)
                       if job.status != DRAFT and (opened or is_owner) else None),
        "opened": opened, "quotes": quotes, "eligible_count": sum(1 for q in quotes if q["eligible"]),
        "sel": sel, "winner": winner,
        "winner_saved": money(job.budget_cap - Decimal(winner["price"])) if winner else "",
        "min_required": min_quotes_required(job.state_funded), "draw": explain(record_of(job, sel), names) if sel else None,
        "objections": objections, "open_objections": sum(1 for o in objections if o.status == "open"),
        "contract": contract, "in_publicity": job.status == AWARDED and publicity_ends is not None and now < publicity_ends,
        "publicity_over": publicity_ends is not None and now >= publicity_ends,
        "failure": failure_text(job, sum(1 for q in quotes if q["eligible"])) if job.status == FAILED else "",
        "draw_url": f"{str(request.base_url).rstrip('/')}/api/jobs/{job.job_no}/draw",
        "is_owner": is_owner,
        "awaiting_beacon": job.status == CLOSED and job.beacon_source == "manual" and not job.beacon_value,
        "awaiting_choice": job.status == CLOSED and job.method == "direct",
        "due_for_selection": job.status == PUBLISHED and deadline <= now,
    }
    if user and user.role == "agency":
        view.update(await _agency_view(db, request, user, job, view))
    return view


async def _agency_view(db: AsyncSession, request: Request, user: CurrentUser, job: Job,
                       view: dict[str, Any]) -> dict[str, Any]:
    agency = await db.get(Agency, user.agency_id) if user.agency_id else None
    mine = await my_quote(db, user, job)
    can_quote = job.status == PUBLISHED and view["before_deadline"] and agency is not None
    reasons = await eligibility_reasons(db, agency, job, utcnow()) if can_quote else []
    check = None
    if mine is not None and view["opened"]:
        published = next((q for q in view["quotes"] if q["quote_id"] == str(mine.id)), None)
        if published is not None:
            body = {k: published[k] for k in RECEIPT_FIELDS}
            recomputed = compute_receipt(body)
            pasted = str(request.query_params.get("receipt", "")).strip().lower()[:64]
            check = {"body": body, "body_json": canonical(body).decode(), "recomputed": recomputed,
                     "held": mine.receipt, "published": published["receipt"],
                     "ok": recomputed == mine.receipt == published["receipt"],
                     "pasted": pasted, "pasted_ok": pasted == recomputed if pasted else None}
    sel = view["sel"]
    live_mine = mine is not None and mine.status == LIVE
    return {
        "agency": agency, "mine": mine, "can_quote": can_quote and not reasons, "quote_reasons": reasons,
        "receipt_check": check,
        "can_object": view["in_publicity"] and live_mine,
        "must_justify": bool(sel and sel.abnormal_status == "awaiting" and live_mine
                             and sel.winner_quote_id == str(mine.id)),
    }


async def _job_page(request: Request, db: AsyncSession, job_no: str, status_code: int = 200,
                    **extra: Any) -> Template:
    job = await public_job(db, job_no)
    view = await _job_view(db, request, job)
    return await _render(request, "marketplace/jobs/job.html", status_code=status_code, **view, **extra)


# ---- public -------------------------------------------------------------------------------

@get("/jobs", opt=roles(PUBLIC))
async def jobs_page(request: Request, db: DB, page: Page = 1, q: FromQuery[str | None] = None,
                    category: FromQuery[str | None] = None, method: FromQuery[str | None] = None,
                    district: FromQuery[str | None] = None, status: FromQuery[str | None] = None) -> Template:
    public_statuses = tuple(s for s in JOB_STATUSES if s != DRAFT)
    f = await _job_filters(db, q=q, category=category, method=method, district=district, status=status,
                           statuses=public_statuses)
    listing = await list_jobs(db, f, page=page, per_page=PER_PAGE)
    params = {"q": f.q, "category": f.category, "method": f.method, "district": f.district, "status": f.status}
    return await _render(request, "marketplace/jobs/jobs.html", listing=listing, filters=params, statuses=public_statuses,
                         categories=await registry.list_categories(db, active_only=False),
                         districts=await _districts(db), pager_base=_pager_base("/jobs", params), now=utcnow())


@get("/jobs/{job_no:str}", opt=roles(PUBLIC))
async def job_page(request: Request, db: DB, job_no: FromPath[str]) -> Template:
    return await _job_page(request, db, job_no)


# ---- agency: quotes, receipts, objections, justification ----------------------------------

@post("/jobs/{job_no:str}/quote", opt=roles("agency"))
async def quote_submit(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    data = await read_input(request)
    try:
        quote = await submit_quote(db, _user(request), job_no, parse(QuoteIn, data),
                                          client_ip=request.client.host if request.client else "",
                                          user_agent=request.headers.get("user-agent", ""))
    except DomainError as exc:
        await db.rollback()
        return await _job_page(request, db, job_no, status_code=exc.status_code, quote_form=data,
                               quote_errors=exc.fields, error=exc.message)
    await flash(request, _("Your quote was received. Keep its receipt: {receipt}", receipt=quote.receipt))
    return redirect(f"/jobs/{job_no}")


@post("/jobs/{job_no:str}/quote/withdraw", opt=roles("agency"))
async def quote_withdraw(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    try:
        await withdraw_quote(db, _user(request), job_no)
    except DomainError as exc:
        await db.rollback()
        return await _job_page(request, db, job_no, status_code=exc.status_code, error=exc.message)
    await flash(request, _("Your quote was withdrawn. You may submit a new one until the deadline."))
    return redirect(f"/jobs/{job_no}")


@post("/jobs/{job_no:str}/objection", opt=roles("agency"))
async def objection_submit(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    data = await read_input(request)
    try:
        await file_objection(db, _user(request), job_no, parse(ReasonIn, data).reason)
    except DomainError as exc:
        await db.rollback()
        return await _job_page(request, db, job_no, status_code=exc.status_code, objection_form=data,
                               objection_errors=exc.fields, error=exc.message)
    await flash(request, _("Your objection was filed. The regulator will decide on it."))
    return redirect(f"/jobs/{job_no}")


@post("/jobs/{job_no:str}/justification", opt=roles("agency"))
async def justification_submit(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    data = await read_input(request)
    try:
        await submit_justification(db, _user(request), job_no, parse(ReasonIn, data).reason)
    except DomainError as exc:
        await db.rollback()
        return await _job_page(request, db, job_no, status_code=exc.status_code, justification_form=data,
                               justification_errors=exc.fields, error=exc.message)
    await flash(request, _("Your justification was submitted to the owner."))
    return redirect(f"/jobs/{job_no}")


@get("/agency/jobs", opt=roles("agency"))
async def agency_jobs_page(request: Request, db: DB, page: Page = 1, q: FromQuery[str | None] = None,
                           category: FromQuery[str | None] = None) -> Template:
    user = _user(request)
    agency = await db.get(Agency, user.agency_id) if user.agency_id else None
    if agency is None:
        raise NotFound(_("No such agency."))
    f = await _job_filters(db, q=q, category=category)
    now = utcnow()
    # Open calls only: published and before the deadline (JobFilters has no deadline filter).
    stmt = (select(Job, ServiceCategory).join(ServiceCategory, ServiceCategory.id == Job.category_id)
            .where(Job.status == PUBLISHED, Job.quote_deadline > now))
    if f.q:
        stmt = stmt.where(contains(Job.title, f.q) | contains(Job.project_name, f.q) | contains(Job.job_no, f.q))
    if f.category:
        stmt = stmt.where(ServiceCategory.code == f.category)
    total = (await db.exec(select(func.count()).select_from(stmt.subquery()))).one()
    rows = (await db.exec(stmt.order_by(col(Job.quote_deadline), col(Job.id))
                          .offset((page - 1) * PER_PAGE).limit(PER_PAGE))).all()
    listing = registry.Listing(list(rows), total, page, PER_PAGE)
    reasons = {job.id: await eligibility_reasons(db, agency, job, now) for job, _c in rows}
    quoted = set((await db.exec(select(Quote.job_id).where(
        Quote.agency_id == agency.id, Quote.status == LIVE,
        col(Quote.job_id).in_([job.id for job, _c in rows] or [0])))).all())
    params = {"q": f.q, "category": f.category}
    return await _render(request, "marketplace/jobs/agency_jobs.html", listing=listing, reasons=reasons, quoted=quoted,
                         filters=params, categories=await registry.list_categories(db, active_only=False),
                         pager_base=_pager_base("/agency/jobs", params))


@get("/agency/quotes", opt=roles("agency"))
async def agency_quotes_page(request: Request, db: DB, page: Page = 1) -> Template:
    user = _user(request)
    stmt = (select(Quote, Job).join(Job, Job.id == Quote.job_id).where(Quote.agency_id == (user.agency_id or 0)))
    total = (await db.exec(select(func.count()).select_from(stmt.subquery()))).one()
    rows = (await db.exec(stmt.order_by(col(Quote.id).desc()).offset((page - 1) * PER_PAGE).limit(PER_PAGE))).all()
    return await _render(request, "marketplace/jobs/agency_quotes.html",
                         listing=registry.Listing(list(rows), total, page, PER_PAGE))


@get("/agency/quotes/{quote_id:int}/receipt.json", opt=roles("agency"))
async def receipt_download(request: Request, db: DB, quote_id: FromPath[int]) -> Response:
    user = _user(request)
    quote = await db.get(Quote, quote_id)
    if quote is None or user.agency_id is None or quote.agency_id != user.agency_id:
        raise NotFound(_("No such quote."))
    job = await db.get(Job, quote.job_id)
    agency = await db.get(Agency, quote.agency_id)
    body = {**receipt_body(job.job_no, quote, agency.credit_code), "receipt": quote.receipt}
    return Response(content=json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8"),
                    media_type="application/json", headers={
                        "Content-Disposition": f'attachment; filename="receipt-{job.job_no}-{quote.id}.json"'})


# ---- owner ----------------------------------------------------------------------------------

def _owner_id(user: CurrentUser) -> int:
    # list_jobs treats a missing owner_id as "no filter": never call it without one.
    if not user.owner_id:
        raise NotFound(_("No such job."))
    return user.owner_id


@get("/owner/jobs", opt=roles("owner"))
async def owner_jobs_page(request: Request, db: DB, page: Page = 1, status: FromQuery[str | None] = None,
                          q: FromQuery[str | None] = None) -> Template:
    user = _user(request)
    f = await _job_filters(db, q=q, status=status)
    f.owner_id = _owner_id(user)
    listing = await list_jobs(db, f, page=page, per_page=PER_PAGE, include_drafts=True)
    params = {"q": f.q, "status": f.status}
    return await _render(request, "marketplace/jobs/owner_jobs.html", listing=listing, filters=params, statuses=JOB_STATUSES,
                         pager_base=_pager_base("/owner/jobs", params), now=utcnow())


def _job_form_input(data: dict[str, Any]) -> dict[str, Any]:
    """Form fields → JobIn input: method parameters only where they apply."""
    data = dict(data)
    if data.get("method") != "best_value":
        data.pop("price_weight", None)
        data.pop("credit_weight", None)
    if data.get("beacon_source") != "manual":
        data.pop("beacon_label", None)
    return data


def _job_form_values(job_in: JobIn) -> dict[str, Any]:
    deadline = ensure_aware(job_in.quote_deadline).astimezone(SHANGHAI)
    return {
        "title": job_in.title, "project_name": job_in.project_name, "project_code": job_in.project_code,
        "category_code": job_in.category_code, "min_level": str(job_in.min_level),
        "budget_cap": money(job_in.budget_cap), "method": job_in.method,
        "price_weight": "" if job_in.price_weight is None else str(job_in.price_weight),
        "credit_weight": "" if job_in.credit_weight is None else str(job_in.credit_weight),
        "state_funded": "true" if job_in.state_funded else "false",
        "quote_deadline": deadline.strftime("%Y-%m-%dT%H:%M"), "service_days": str(job_in.service_days),
        "description": job_in.description, "beacon_source": job_in.beacon_source, "beacon_label": job_in.beacon_label,
        "exclusions": " ".join(job_in.exclusions),
    }


async def _job_form(request: Request, db: AsyncSession, *, job: Job | None, form: dict[str, Any],
                    status_code: int = 200, errors: dict[str, str] | None = None, error: str = "") -> Template:
    owner = await db.get(Owner, _user(request).owner_id) if _user(request).owner_id else None
    return await _render(request, "marketplace/jobs/job_form.html", status_code=status_code, job=job, form=form,
                         errors=errors or {}, error=error, owner=owner,
                         categories=await registry.list_categories(db), levels=LEVELS,
                         threshold=money(await direct_threshold(db)))


NEW_JOB_DEFAULTS = {"method": "random", "state_funded": "true", "min_level": "3", "price_weight": "60",
                    "credit_weight": "40", "beacon_source": "none", "service_days": "30"}


@get("/owner/jobs/new", opt=roles("owner"))
async def job_new_page(request: Request, db: DB) -> Template:
    return await _job_form(request, db, job=None, form=dict(NEW_JOB_DEFAULTS))


@post("/owner/jobs/new", opt=roles("owner"))
async def job_new_submit(request: Request, db: DB) -> Response | Template:
    data = await read_input(request)
    try:
        job = await create_job(db, _user(request), parse(JobIn, _job_form_input(data)))
    except DomainError as exc:
        await db.rollback()
        return await _job_form(request, db, job=None, form=data, status_code=exc.status_code, errors=exc.fields,
                               error=exc.message)
    await flash(request, _("Draft {job_no} saved. Check it, then publish it.", job_no=job.job_no))
    return redirect(f"/owner/jobs/{job.job_no}")


@get("/owner/jobs/{job_no:str}/edit", opt=roles("owner"))
async def job_edit_page(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    job = await own_job(db, _user(request), job_no)
    if job.status != DRAFT:
        await flash(request, _("Only a draft can be edited."), "error")
        return redirect(f"/owner/jobs/{job_no}")
    return await _job_form(request, db, job=job, form=_job_form_values(await job_input(db, job)))


@post("/owner/jobs/{job_no:str}/edit", opt=roles("owner"))
async def job_edit_submit(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    user = _user(request)
    data = await read_input(request)
    try:
        job = await update_job(db, user, job_no, parse(JobIn, _job_form_input(data)))
    except DomainError as exc:
        await db.rollback()
        job = await own_job(db, user, job_no)
        return await _job_form(request, db, job=job, form=data, status_code=exc.status_code, errors=exc.fields,
                               error=exc.message)
    await flash(request, _("Draft {job_no} saved.", job_no=job.job_no))
    return redirect(f"/owner/jobs/{job.job_no}")


async def _manage_page(request: Request, db: AsyncSession, job_no: str, status_code: int = 200,
                       **extra: Any) -> Template:
    job = await own_job(db, _user(request), job_no)
    view = await _job_view(db, request, job)
    sel = view["sel"]
    now = view["now"]
    due = ensure_aware(sel.abnormal_due_at) if sel and sel.abnormal_due_at else None
    view.update(
        can_edit=job.status == DRAFT,
        can_cancel=job.status == DRAFT or (job.status == PUBLISHED and view["before_deadline"]),
        can_copy=job.status in (FAILED, CANCELLED),
        eligible_quotes=[q for q in view["quotes"] if q["eligible"]] if view["awaiting_choice"] else [],
        can_decide_justification=bool(job.status == AWARDED and sel and (
            sel.abnormal_status == "submitted" or (sel.abnormal_status == "awaiting" and due and now > due))),
        can_accept_justification=bool(sel and sel.abnormal_status == "submitted"),
        can_confirm=job.status == AWARDED and bool(sel and sel.winner_quote_id) and view["publicity_over"],
        contract_overdue=job.status == AWARDED and bool(job.contract_due_at) and now > ensure_aware(job.contract_due_at),
        can_refuse=job.status == AWARDED and bool(sel and sel.winner_quote_id),
        can_complete=job.status == CONTRACTED,
        copied_from=(await db.get(Job, job.copied_from_id)) if job.copied_from_id else None,
    )
    return await _render(request, "marketplace/jobs/owner_job.html", status_code=status_code, **view, **extra)


@get("/owner/jobs/{job_no:str}", opt=roles("owner"))
async def owner_job_page(request: Request, db: DB, job_no: FromPath[str]) -> Template:
    return await _manage_page(request, db, job_no)


async def _owner_action(request: Request, db: AsyncSession, job_no: str, form_name: str, action,
                        success: str, to: str | None = None) -> Response | Template:
    """Run an owner action on the manage page; on a domain error show it there with its status."""
    data = await read_input(request)
    try:
        result = await action(data)
    except DomainError as exc:
        await db.rollback()
        return await _manage_page(request, db, job_no, status_code=exc.status_code, error=exc.message,
                                  action_form=form_name, action_data=data, action_errors=exc.fields)
    await flash(request, success)
    return redirect(to(result) if callable(to) else (to or f"/owner/jobs/{job_no}"))


@get("/owner/jobs/{job_no:str}/publish", opt=roles("owner"))
async def job_publish_page(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    job = await own_job(db, _user(request), job_no)
    if job.status != DRAFT:
        await flash(request, _("Only a draft can be published."), "error")
        return redirect(f"/owner/jobs/{job_no}")
    view = await _job_view(db, request, job)
    return await _render(request, "marketplace/jobs/publish_confirm.html", **view)


@post("/owner/jobs/{job_no:str}/publish", opt=roles("owner"))
async def job_publish_submit(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    user = _user(request)
    try:
        job = await publish_job(db, user, job_no)
    except DomainError as exc:
        await db.rollback()
        job = await own_job(db, user, job_no)
        view = await _job_view(db, request, job)
        return await _render(request, "marketplace/jobs/publish_confirm.html", status_code=exc.status_code, **view,
                             error=exc.message, errors=exc.fields)
    await schedule_close(request.app.state.queue, job)
    await flash(request, _("Job {job_no} is published. Seed commitment: {commitment}", job_no=job.job_no,
                           commitment=job.seed_commitment))
    return redirect(f"/owner/jobs/{job.job_no}")


@post("/owner/jobs/{job_no:str}/cancel", opt=roles("owner"))
async def job_cancel(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    async def act(data):
        return await cancel_job(db, _user(request), job_no, parse(ReasonIn, data).reason)
    return await _owner_action(request, db, job_no, "cancel", act, _("The job was cancelled."))


@post("/owner/jobs/{job_no:str}/copy", opt=roles("owner"))
async def job_copy(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    async def act(_data):
        return await republish_copy(db, _user(request), job_no)
    return await _owner_action(request, db, job_no, "copy", act,
                               _("A new draft was made from this job. Check the deadline and publish it."),
                               to=lambda copy: f"/owner/jobs/{copy.job_no}/edit")


@post("/owner/jobs/{job_no:str}/choose", opt=roles("owner"))
async def job_choose_direct(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    async def act(data):
        choice = parse(DirectChoiceIn, data)
        return await choose_direct(request.app.state.sessionmaker, _user(request), job_no,
                                             choice.quote_id, choice.reason)
    return await _owner_action(request, db, job_no, "choose", act, _("The agency was chosen; the result is published."))


@post("/owner/jobs/{job_no:str}/justification", opt=roles("owner"))
async def job_decide_justification(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    async def act(data):
        d = parse(JustificationDecisionIn, data)
        return await decide_justification(db, _user(request), job_no, d.decision == "accept", d.reason)
    return await _owner_action(request, db, job_no, "justification", act, _("Your decision was recorded."))


@post("/owner/jobs/{job_no:str}/contract", opt=roles("owner"))
async def job_confirm_contract(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    async def act(_data):
        return await confirm_contract(db, _user(request), job_no)
    return await _owner_action(request, db, job_no, "contract", act, _("The contract is confirmed."))


@post("/owner/jobs/{job_no:str}/refusal", opt=roles("owner"))
async def job_record_refusal(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    async def act(data):
        return await record_refusal(db, _user(request), job_no, parse(ReasonIn, data).reason)
    return await _owner_action(request, db, job_no, "refusal", act,
                               _("The refusal was recorded; the next candidate is offered the job."))


@post("/owner/jobs/{job_no:str}/complete", opt=roles("owner"))
async def job_complete(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    async def act(_data):
        return await complete_job(db, _user(request), job_no)
    return await _owner_action(request, db, job_no, "complete", act, _("The service is marked completed."))


# ---- regulator -------------------------------------------------------------------------------

async def _selections_page(request: Request, db: AsyncSession, *, page: int = 1, q: str | None = None,
                           method: str | None = None, status: str | None = None, status_code: int = 200,
                           **extra: Any) -> Template:
    public_statuses = tuple(s for s in JOB_STATUSES if s != DRAFT)
    now = utcnow()
    f = await _job_filters(db, q=q, method=method, status=status, statuses=(*public_statuses, CONTRACT_OVERDUE))
    if f.status == CONTRACT_OVERDUE:
        f.status, f.contract_overdue_at = None, now
    listing = await list_jobs(db, f, page=page, per_page=PER_PAGE)
    due = {j.id for j, _c in listing.items if j.status == PUBLISHED and ensure_aware(j.quote_deadline) <= now}
    overdue = {j.id for j, _c in listing.items
               if j.status == AWARDED and j.contract_due_at and ensure_aware(j.contract_due_at) < now}
    params = {"q": f.q, "method": f.method, "status": CONTRACT_OVERDUE if f.contract_overdue_at else f.status}
    return await _render(request, "marketplace/jobs/selections.html", status_code=status_code, listing=listing,
                         filters=params, statuses=public_statuses, due=due, overdue=overdue,
                         pager_base=_pager_base("/regulator/selections", params),
                         back=_pager_base("/regulator/selections", {**params, "page": page if page > 1 else None})[:-1],
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
}


@post("/regulator/jobs/{job_no:str}/select", opt=roles("regulator"))
async def regulator_select(request: Request, db: DB, job_no: FromPath[str]) -> Response:
    user = _user(request)
    data = await read_input(request)
    job = await public_job(db, job_no)
    job_id = job.id
    # Release this request's connection: the service opens its own session
    # (SQLite has a single pooled connection).
    await db.rollback()
    outcome = await close_and_select(request.app.state.sessionmaker, job_id, actor_name=f"user:{user.username}")
    level, message = SELECT_OUTCOMES.get(outcome, ("info", lambda: outcome))
    await flash(request, message(), level)
    return redirect(_safe_back(data.get("back"), f"/jobs/{job_no}"))


@post("/regulator/jobs/{job_no:str}/beacon", opt=roles("regulator"))
async def regulator_beacon(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    data = await read_input(request)
    back = _safe_back(data.get("back"), f"/jobs/{job_no}")
    try:
        value = parse(BeaconIn, data).value
        await enter_beacon(request.app.state.sessionmaker, _user(request), job_no, value)
    except DomainError as exc:
        if back.startswith("/jobs/"):
            return await _job_page(request, db, job_no, status_code=exc.status_code, error=exc.message,
                                   beacon_errors=exc.fields, beacon_form=data)
        return await _selections_page(request, db, status_code=exc.status_code, error=_domain_message(exc))
    await flash(request, _("The beacon value was entered and the selection was made."))
    return redirect(back)


@post("/regulator/jobs/{job_no:str}/contract-window", opt=roles("regulator"))
async def regulator_contract_window(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    data = await read_input(request)
    back = _safe_back(data.get("back"), "/regulator/selections?status=" + CONTRACT_OVERDUE)
    try:
        form = parse(ContractWindowIn, data)
        job = await extend_contract_window(db, _user(request), job_no, form.days, form.reason)
    except DomainError as exc:
        await db.rollback()
        return await _selections_page(request, db, status=CONTRACT_OVERDUE, status_code=exc.status_code,
                                      error=_domain_message(exc), window_form={**data, "job_no": job_no})
    await flash(request, _("Job {job}: the owner now has until {due} to confirm the contract.",
                           job=job.job_no, due=local_time(job.contract_due_at, request.app.state.settings.display_timezone)))
    return redirect(back)


async def _objections_page(request: Request, db: AsyncSession, *, page: int = 1, status: str | None = None,
                           status_code: int = 200, **extra: Any) -> Template:
    if status and status not in OBJECTION_STATUSES:
        raise InputError(_("Unknown filter value."), fields={"status": _("Choose one of the offered values.")})
    stmt = select(Objection, Job, Agency).join(Job, Job.id == Objection.job_id).join(Agency, Agency.id == Objection.agency_id)
    if status:
        stmt = stmt.where(Objection.status == status)
    total = (await db.exec(select(func.count()).select_from(stmt.subquery()))).one()
    open_first = case((Objection.status == "open", 0), else_=1)
    rows = (await db.exec(stmt.order_by(open_first, col(Objection.id).desc())
                          .offset((page - 1) * PER_PAGE).limit(PER_PAGE))).all()
    against: dict[str, tuple[Quote, Agency]] = {}
    ids = {int(o.against_quote_id) for o, _j, _a in rows if o.against_quote_id.isdigit()}
    if ids:
        for quote, agency in (await db.exec(select(Quote, Agency).join(Agency, Agency.id == Quote.agency_id)
                                            .where(col(Quote.id).in_(ids)))).all():
            against[str(quote.id)] = (quote, agency)
    return await _render(request, "marketplace/jobs/objections.html", status_code=status_code,
                         listing=registry.Listing(list(rows), total, page, PER_PAGE), against=against,
                         status=status or "", statuses=OBJECTION_STATUSES,
                         pager_base=_pager_base("/regulator/objections", {"status": status}), **extra)


@get("/regulator/objections", opt=roles("regulator", "admin"))
async def objections_page(request: Request, db: DB, page: Page = 1, status: FromQuery[str | None] = None) -> Template:
    return await _objections_page(request, db, page=page, status=status)


@post("/regulator/objections/{objection_id:int}/decision", opt=roles("regulator"))
async def objection_decision(request: Request, db: DB, objection_id: FromPath[int]) -> Response | Template:
    data = await read_input(request)
    try:
        d = parse(ObjectionDecisionIn, data)
        await decide_objection(db, _user(request), objection_id, d.decision, d.reason)
    except DomainError as exc:
        await db.rollback()
        return await _objections_page(request, db, status_code=exc.status_code, error=exc.message,
                                      decision_for=objection_id, decision_form=data, decision_errors=exc.fields)
    await flash(request, _("The objection was decided."))
    return redirect("/regulator/objections")


route_handlers = [
    jobs_page, job_page, quote_submit, quote_withdraw, objection_submit, justification_submit,
    agency_jobs_page, agency_quotes_page, receipt_download,
    owner_jobs_page, job_new_page, job_new_submit, job_edit_page, job_edit_submit, owner_job_page,
    job_publish_page, job_publish_submit, job_cancel, job_copy, job_choose_direct, job_decide_justification,
    job_confirm_contract, job_record_refusal, job_complete,
    selections_page, regulator_select, regulator_beacon, regulator_contract_window, objections_page,
    objection_decision,
]
