"""JSON API of the marketplace loop (same services as the pages)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Request, Response, delete, get, post, put
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Stream
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.api_docs import body, upload
from app.auth import PUBLIC, CurrentUser, roles
from app.canonical import format_time
from app.clock import ensure_aware, utcnow
from app.db import DB
from app.errors import InputError, NotFound
from app.forms import parse
from app.i18n import gettext as _
from app.web import read_input
from marketplace.domain.money import money
from marketplace.domain.receipts import receipt_body
from marketplace.models import (
    JOB_STATUSES,
    LIVE,
    Agency,
    Attachment,
    Job,
    Objection,
    Quote,
    Selection,
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
from marketplace.services import attachments
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
from marketplace.services.draw_records import draw_record, opened_quotes
from marketplace.services.eligibility import eligibility_reasons, reason_text
from marketplace.services.jobs import (
    JobFilters,
    cancel_job,
    create_job,
    get_job,
    list_jobs,
    own_job,
    public_job,
    publish_job,
    quotes_are_open,
    republish_copy,
    schedule_close,
    update_job,
)
from marketplace.services.quotes import my_quote, submit_quote, withdraw_quote
from marketplace.services.selection import choose_direct, close_and_select, enter_beacon

Page = Annotated[int, QueryParameter(name="page", ge=1, le=100000)]
PerPage = Annotated[int, QueryParameter(name="per_page", ge=1, le=100)]


def _user(request: Request) -> CurrentUser:
    return request.scope["user"]


def _iso(dt) -> str | None:
    return format_time(ensure_aware(dt)) if dt else None


async def jobs_out(db: AsyncSession, jobs: list[Job], *, owner_view: bool = False) -> list[dict[str, Any]]:
    """Jobs as the public (or their owner) may see them; never a price before opening.

    Batched: a page of jobs costs a fixed number of queries, not a few per job.
    """
    if not jobs:
        return []
    ids = [j.id for j in jobs]
    cats = {c.id: c.code for c in (await db.exec(select(ServiceCategory))).all()}
    files: dict[int, list[Attachment]] = {i: [] for i in ids}
    for a in (await db.exec(select(Attachment).where(col(Attachment.job_id).in_(ids))
                            .order_by(col(Attachment.id)))).all():
        files[a.job_id].append(a)
    counts = dict((await db.exec(select(Quote.job_id, func.count()).where(
        col(Quote.job_id).in_(ids), Quote.status == LIVE).group_by(Quote.job_id))).all())
    selections = {sel.job_id: sel for sel in (await db.exec(select(Selection).where(
        col(Selection.job_id).in_(ids)))).all()}
    winner_ids = [int(sel.winner_quote_id) for sel in selections.values() if sel.winner_quote_id]
    winners = {str(q.id): (q, a) for q, a in (await db.exec(
        select(Quote, Agency).join(Agency, Agency.id == Quote.agency_id).where(col(Quote.id).in_(winner_ids)))).all()
    } if winner_ids else {}
    out = []
    for job in jobs:
        item: dict[str, Any] = {
            "job_id": job.job_no, "title": job.title, "project_name": job.project_name,
            "project_code": job.project_code, "category": cats[job.category_id], "min_level": job.min_level,
            "budget_cap": money(job.budget_cap), "method": job.method, "price_weight": job.price_weight,
            "credit_weight": job.credit_weight, "state_funded": job.state_funded,
            "quote_deadline": _iso(job.quote_deadline), "service_days": job.service_days,
            "description": job.description, "district": job.district, "beacon_source": job.beacon_source,
            "beacon_label": job.beacon_label, "beacon_value": job.beacon_value, "status": job.status,
            "seed_commitment": job.seed_commitment, "published_at": _iso(job.published_at),
            "closed_at": _iso(job.closed_at), "awarded_at": _iso(job.awarded_at),
            "publicity_ends_at": _iso(job.publicity_ends_at), "contract_due_at": _iso(job.contract_due_at),
            "status_reason": job.status_reason,
            "attachments": [{"id": a.id, "filename": a.filename, "size": a.size, "sha256": a.sha256,
                             "url": f"/jobs/{job.job_no}/attachments/{a.id}"} for a in files[job.id]],
        }
        if job.status != "draft" and (owner_view or quotes_are_open(job)):
            # Sealed (DESIGN): until the quotes are opened only the job's owner sees how many there are.
            item["quote_count"] = counts.get(job.id, 0)
        sel = selections.get(job.id)
        if sel is not None:
            win = winners.get(sel.winner_quote_id or "")
            item["result"] = {"winner_quote_id": sel.winner_quote_id,
                              "winner_agency_code": win[1].credit_code if win else None,
                              "winner_agency_name": win[1].name if win else None,
                              "price": money(win[0].price) if win else None,
                              "selected_at": _iso(sel.selected_at), "excluded": sel.excluded,
                              "abnormally_low": sel.abnormal_quote_id, "abnormal_status": sel.abnormal_status,
                              "draw": f"/api/jobs/{job.job_no}/draw"}
        if owner_view and quotes_are_open(job):
            item["quotes"] = await opened_quotes(db, job)
        out.append(item)
    return out


async def job_out(db: AsyncSession, job: Job, *, owner_view: bool = False) -> dict[str, Any]:
    return (await jobs_out(db, [job], owner_view=owner_view))[0]


def _check_filters(status: str | None, method: str | None) -> None:
    fields = {}
    if status and status not in JOB_STATUSES:
        fields["status"] = _("Choose one of the offered values.")
    if method and method not in METHOD_CODES:
        fields["method"] = _("Choose one of the offered values.")
    if fields:
        raise InputError(_("Unknown filter value."), fields=fields)


async def _listing(db: AsyncSession, f: JobFilters, page: int, per_page: int, drafts: bool = False) -> dict[str, Any]:
    _check_filters(f.status, f.method)
    if f.status == "draft" and not drafts:
        raise InputError(_("Unknown filter value."), fields={"status": _("Choose one of the offered values.")})
    listing = await list_jobs(db, f, page, per_page, include_drafts=drafts)
    return {"items": await jobs_out(db, [job for job, _cat in listing.items]), "total": listing.total,
            "page": listing.page, "per_page": listing.per_page}


# ---- public ------------------------------------------------------------------------------

@get("/api/jobs", opt=roles(PUBLIC))
async def api_jobs(db: DB, page: Page = 1, per_page: PerPage = 20, q: FromQuery[str | None] = None,
                   category: FromQuery[str | None] = None, method: FromQuery[str | None] = None,
                   district: FromQuery[str | None] = None, status: FromQuery[str | None] = None) -> dict[str, Any]:
    """Open calls and results (search, filters, pagination)."""
    return await _listing(db, JobFilters(q=q, category=category, method=method, district=district,
                                                status=status), page, per_page)


@get("/api/jobs/{job_no:str}", opt=roles(PUBLIC))
async def api_job(db: DB, job_no: FromPath[str]) -> dict[str, Any]:
    """A job notice: before the deadline only the number of quotes, never prices."""
    return await job_out(db, await public_job(db, job_no))


@get("/api/jobs/{job_no:str}/draw", opt=roles(PUBLIC))
async def api_draw(db: DB, job_no: FromPath[str]) -> dict[str, Any]:
    """The draw record (DESIGN 'Draw protocol') plus the opened quotes with their nonces."""
    job = await public_job(db, job_no)
    record = await draw_record(db, job)
    if record is None:
        raise NotFound(_("This job has not been drawn yet."))
    return record


@get("/api/draws.jsonl", opt=roles(PUBLIC), media_type="application/x-ndjson")
async def api_draws(request: Request) -> Stream:
    """Every draw record, one JSON object per line, oldest first."""
    sessionmaker = request.app.state.sessionmaker

    async def lines() -> AsyncIterator[bytes]:
        last = 0
        while True:
            async with sessionmaker() as db:
                rows = (await db.exec(select(Selection.id, Job).join(Job, Job.id == Selection.job_id)
                                      .where(Selection.id > last).order_by(col(Selection.id)).limit(200))).all()
                if not rows:
                    return
                for sel_id, job in rows:
                    record = await draw_record(db, job)
                    yield (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
                    last = sel_id

    return Stream(lines(), media_type="application/x-ndjson")


# ---- agencies --------------------------------------------------------------------------------

@get("/api/agency/jobs", opt=roles("agency"))
async def api_agency_jobs(request: Request, db: DB, page: Page = 1, per_page: PerPage = 20) -> dict[str, Any]:
    """Open jobs, each with `eligible` and the exact reasons when not."""
    agency = await db.get(Agency, _user(request).agency_id)
    listing = await list_jobs(db, JobFilters(status="published"), page, per_page)
    items = []
    jobs = [job for job, _cat in listing.items]
    for job, out in zip(jobs, await jobs_out(db, jobs)):
        reasons = await eligibility_reasons(db, agency, job, utcnow())
        items.append({**out, "eligible": not reasons, "reasons": reasons,
                      "reason_texts": [reason_text(r) for r in reasons]})
    return {"items": items, "total": listing.total, "page": listing.page, "per_page": listing.per_page}


def _quote_out(job: Job, quote, agency_code: str) -> dict[str, Any]:
    body = receipt_body(job.job_no, quote, agency_code)
    return {**body, "receipt": quote.receipt, "status": quote.status, "note": quote.note}


@post("/api/jobs/{job_no:str}/quote", opt=roles("agency"), status_code=201,
      operation_class=body(QuoteIn))
async def api_submit_quote(request: Request, db: DB, job_no: FromPath[str]) -> dict[str, Any]:
    """Body: `{"price": "1234.50", "service_days": 30, "note": ""}`. Replaces a live quote. Returns the receipt."""
    data = parse(QuoteIn, await read_input(request))
    quote = await submit_quote(db, _user(request), job_no, data,
                                      client_ip=request.client.host if request.client else "",
                                      user_agent=request.headers.get("user-agent", ""))
    agency = await db.get(Agency, quote.agency_id)
    return _quote_out(await get_job(db, job_no), quote, agency.credit_code)


@delete("/api/jobs/{job_no:str}/quote", opt=roles("agency"), status_code=200)
async def api_withdraw_quote(request: Request, db: DB, job_no: FromPath[str]) -> dict[str, Any]:
    quote = await withdraw_quote(db, _user(request), job_no)
    agency = await db.get(Agency, quote.agency_id)
    return _quote_out(await get_job(db, job_no), quote, agency.credit_code)


@get("/api/jobs/{job_no:str}/quote", opt=roles("agency"))
async def api_my_quote(request: Request, db: DB, job_no: FromPath[str]) -> dict[str, Any]:
    """This agency's own latest quote on the job, with its receipt."""
    job = await public_job(db, job_no)
    quote = await my_quote(db, _user(request), job)
    if quote is None:
        raise NotFound(_("You have no quote on this job."))
    agency = await db.get(Agency, quote.agency_id)
    return _quote_out(job, quote, agency.credit_code)


@post("/api/jobs/{job_no:str}/objections", opt=roles("agency"), status_code=201,
      operation_class=body(ReasonIn))
async def api_objection(request: Request, db: DB, job_no: FromPath[str]) -> dict[str, Any]:
    """Body: `{"reason": str}`; only bidders, only during the publicity period."""
    obj = await file_objection(db, _user(request), job_no, parse(ReasonIn, await read_input(request)).reason)
    return {"id": obj.id, "status": obj.status}


@post("/api/jobs/{job_no:str}/justification", opt=roles("agency"), status_code=200,
      operation_class=body(ReasonIn))
async def api_justification(request: Request, db: DB, job_no: FromPath[str]) -> dict[str, Any]:
    """Body: `{"reason": str}`: the flagged winner's justification of its price."""
    sel = await submit_justification(db, _user(request), job_no,
                                               parse(ReasonIn, await read_input(request)).reason)
    return {"abnormal_status": sel.abnormal_status}


# ---- owners ---------------------------------------------------------------------------------

@get("/api/owner/jobs", opt=roles("owner"))
async def api_owner_jobs(request: Request, db: DB, page: Page = 1, per_page: PerPage = 20,
                         status: FromQuery[str | None] = None) -> dict[str, Any]:
    return await _listing(db, JobFilters(status=status, owner_id=_user(request).owner_id), page, per_page,
                          drafts=True)


@post("/api/owner/jobs", opt=roles("owner"), status_code=201,
      operation_class=body(JobIn))
async def api_create_job(request: Request, db: DB) -> dict[str, Any]:
    """Body: JobIn (title, project_name, project_code, category_code, min_level, budget_cap, method,
    price_weight, credit_weight, state_funded, quote_deadline, service_days, description, beacon_source,
    beacon_label, exclusions). Creates a draft."""
    job = await create_job(db, _user(request), parse(JobIn, await read_input(request)))
    return await job_out(db, job, owner_view=True)


@get("/api/owner/jobs/{job_no:str}", opt=roles("owner"))
async def api_owner_job(request: Request, db: DB, job_no: FromPath[str]) -> dict[str, Any]:
    """The owner's view: the opened quotes once the deadline has passed."""
    return await job_out(db, await own_job(db, _user(request), job_no), owner_view=True)


@put("/api/owner/jobs/{job_no:str}", opt=roles("owner"),
      operation_class=body(JobIn))
async def api_update_job(request: Request, db: DB, job_no: FromPath[str]) -> dict[str, Any]:
    job = await update_job(db, _user(request), job_no, parse(JobIn, await read_input(request)))
    return await job_out(db, job, owner_view=True)


@post("/api/owner/jobs/{job_no:str}/publish", opt=roles("owner"), status_code=200)
async def api_publish_job(request: Request, db: DB, job_no: FromPath[str]) -> dict[str, Any]:
    """Publishes the draft and its seed commitment; the deadline job is queued."""
    job = await publish_job(db, _user(request), job_no)
    await schedule_close(request.app.state.queue, job)
    return await job_out(db, job, owner_view=True)


@post("/api/owner/jobs/{job_no:str}/cancel", opt=roles("owner"), status_code=200,
      operation_class=body(ReasonIn))
async def api_cancel_job(request: Request, db: DB, job_no: FromPath[str]) -> dict[str, Any]:
    """Body: `{"reason": str}`; before the deadline only."""
    job = await cancel_job(db, _user(request), job_no, parse(ReasonIn, await read_input(request)).reason)
    return await job_out(db, job, owner_view=True)


@post("/api/owner/jobs/{job_no:str}/copy", opt=roles("owner"), status_code=201)
async def api_copy_job(request: Request, db: DB, job_no: FromPath[str]) -> dict[str, Any]:
    """A failed (流标) or cancelled job re-published as a new draft."""
    return await job_out(db, await republish_copy(db, _user(request), job_no), owner_view=True)


@post("/api/owner/jobs/{job_no:str}/direct", opt=roles("owner"), status_code=200,
      operation_class=body(DirectChoiceIn))
async def api_direct_choice(request: Request, job_no: FromPath[str]) -> dict[str, Any]:
    """Body: `{"quote_id", "reason"}` for a closed `direct` job."""
    data = parse(DirectChoiceIn, await read_input(request))
    sel = await choose_direct(request.app.state.sessionmaker, _user(request), job_no, data.quote_id, data.reason)
    return {"winner_quote_id": sel.winner_quote_id}


@post("/api/owner/jobs/{job_no:str}/justification-decision", opt=roles("owner"), status_code=200,
      operation_class=body(JustificationDecisionIn))
async def api_justification_decision(request: Request, db: DB, job_no: FromPath[str]) -> dict[str, Any]:
    """Body: `{"decision": "accept"|"reject", "reason"}`."""
    data = parse(JustificationDecisionIn, await read_input(request))
    sel = await decide_justification(db, _user(request), job_no, data.decision == "accept", data.reason)
    return {"abnormal_status": sel.abnormal_status, "winner_quote_id": sel.winner_quote_id}


@post("/api/owner/jobs/{job_no:str}/contract", opt=roles("owner"), status_code=201)
async def api_confirm_contract(request: Request, db: DB, job_no: FromPath[str]) -> dict[str, Any]:
    """Confirms the contract (amount = awarded price) after the publicity period, within 10 days."""
    contract = await confirm_contract(db, _user(request), job_no)
    return {"job_id": job_no, "quote_id": str(contract.quote_id), "amount": money(contract.amount),
            "confirmed_at": _iso(contract.confirmed_at)}


@post("/api/owner/jobs/{job_no:str}/refusal", opt=roles("owner"), status_code=200,
      operation_class=body(ReasonIn))
async def api_refusal(request: Request, db: DB, job_no: FromPath[str]) -> dict[str, Any]:
    """Body: `{"reason"}`: the winner refused to sign; the next candidate is offered the job."""
    job = await record_refusal(db, _user(request), job_no, parse(ReasonIn, await read_input(request)).reason)
    return await job_out(db, job, owner_view=True)


@post("/api/owner/jobs/{job_no:str}/complete", opt=roles("owner"), status_code=200)
async def api_complete(request: Request, db: DB, job_no: FromPath[str]) -> dict[str, Any]:
    return await job_out(db, await complete_job(db, _user(request), job_no), owner_view=True)


@post("/api/owner/jobs/{job_no:str}/attachments", opt=roles("owner"), status_code=201,
      operation_class=upload("file", "PDF, Word, Excel, ZIP, PNG or JPEG; at most 10 MB"))
async def api_add_attachment(request: Request, db: DB, job_no: FromPath[str]) -> dict[str, Any]:
    """Multipart form with one `file` (PDF, Word, Excel, ZIP, PNG, JPEG; at most 10 MB)."""
    form = await request.form()
    upload = form.get("file")
    if upload is None or not hasattr(upload, "read"):
        msg = _("Choose a file to upload.")
        raise InputError(msg, fields={"file": msg})
    data = await upload.read()
    att = await attachments.add_attachment(db, _user(request), job_no, upload.filename or "", data,
                                           request.app.state.settings.var_dir)
    return {"id": att.id, "filename": att.filename, "size": att.size, "sha256": att.sha256,
            "url": f"/jobs/{job_no}/attachments/{att.id}"}


@get("/jobs/{job_no:str}/attachments/{attachment_id:int}", opt=roles(PUBLIC), include_in_schema=False)
async def download_attachment(request: Request, db: DB, job_no: FromPath[str], attachment_id: FromPath[int]) -> Response:
    """Attachments are public with the notice (drafts' only to their owner)."""
    job = await get_job(db, job_no)
    user = request.scope.get("user")
    if job.status == "draft" and not (user and user.owner_id == job.owner_id):
        raise NotFound(_("No such job."))
    att, path = await attachments.attachment_file(db, job, attachment_id, request.app.state.settings.var_dir)
    from urllib.parse import quote as urlquote
    return Response(path.read_bytes(), media_type=att.content_type, headers={
        "content-disposition": f"attachment; filename*=UTF-8''{urlquote(att.filename)}",
        "x-content-type-options": "nosniff"})


# ---- regulators ------------------------------------------------------------------------------

@post("/api/regulator/jobs/{job_no:str}/select", opt=roles("regulator"), status_code=200)
async def api_select_now(request: Request, db: DB, job_no: FromPath[str]) -> dict[str, Any]:
    """'Select now' for a job past its deadline; a no-op when already selected."""
    job_id = (await public_job(db, job_no)).id
    # Release this request's connection: the selection runs in its own transaction
    # (and SQLite has a single connection).
    await db.rollback()
    outcome = await close_and_select(request.app.state.sessionmaker, job_id, f"user:{_user(request).username}")
    job = await db.get(Job, job_id)
    return {"outcome": outcome, "status": job.status}


@post("/api/regulator/jobs/{job_no:str}/beacon", opt=roles("regulator"), status_code=200,
      operation_class=body(BeaconIn))
async def api_beacon(request: Request, job_no: FromPath[str]) -> dict[str, Any]:
    """Body: `{"value": str}`: the public randomness named on the notice."""
    data = parse(BeaconIn, await read_input(request))
    sel = await enter_beacon(request.app.state.sessionmaker, _user(request), job_no, data.value)
    return {"winner_quote_id": sel.winner_quote_id}


@post("/api/regulator/jobs/{job_no:str}/contract-window", opt=roles("regulator"), status_code=200,
      operation_class=body(ContractWindowIn))
async def api_contract_window(request: Request, db: DB, job_no: FromPath[str]) -> dict[str, Any]:
    """Body: `{"days": 1–30, "reason": str}`. Gives the owner of an awarded job `days` from now to confirm the
    contract (DESIGN's 10 days passed or are about to); an audit event and a notice to the owner."""
    data = parse(ContractWindowIn, await read_input(request))
    job = await extend_contract_window(db, _user(request), job_no, data.days, data.reason)
    return {"job_no": job.job_no, "status": job.status, "contract_due_at": _iso(job.contract_due_at)}


@get("/api/regulator/objections", opt=roles("regulator"))
async def api_objections(db: DB, status: FromQuery[str | None] = "open") -> list[dict[str, Any]]:
    if status not in (None, "", "open", "upheld", "dismissed"):
        raise InputError(_("Unknown filter value."), fields={"status": _("Choose one of the offered values.")})
    stmt = select(Objection, Job).join(Job, Job.id == Objection.job_id).order_by(col(Objection.id).desc()).limit(200)
    if status:
        stmt = stmt.where(Objection.status == status)
    return [{"id": o.id, "job_id": j.job_no, "against_quote_id": o.against_quote_id, "reason": o.reason,
             "status": o.status, "decision_reason": o.decision_reason, "created_at": _iso(o.created_at)}
            for o, j in (await db.exec(stmt)).all()]


@post("/api/regulator/objections/{objection_id:int}/decision", opt=roles("regulator"), status_code=200,
      operation_class=body(ObjectionDecisionIn))
async def api_objection_decision(request: Request, db: DB, objection_id: FromPath[int]) -> dict[str, Any]:
    """Body: `{"decision": "uphold"|"dismiss", "reason"}`; upheld → the winner is excluded (step 10)."""
    data = parse(ObjectionDecisionIn, await read_input(request))
    obj = await decide_objection(db, _user(request), objection_id, data.decision, data.reason)
    return {"id": obj.id, "status": obj.status}


route_handlers = [
    api_jobs, api_job, api_draw, api_draws, api_agency_jobs, api_submit_quote, api_withdraw_quote, api_my_quote,
    api_objection, api_justification, api_owner_jobs, api_create_job, api_owner_job, api_update_job,
    api_publish_job, api_cancel_job, api_copy_job, api_direct_choice, api_justification_decision,
    api_confirm_contract, api_refusal, api_complete, api_select_now, api_beacon, api_contract_window, api_objections,
    api_objection_decision, api_add_attachment, download_attachment,
]
