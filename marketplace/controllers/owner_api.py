"""The owners' half of the jobs API: drafts, publishing, attachments, and the award's steps (direct
choice, the justification decision, contract, refusal, completion)."""

from __future__ import annotations

from litestar import Request, delete, get, post, put
from litestar.params import FromPath, FromQuery

from app.api_docs import body, upload
from app.auth import roles
from app.db import DB
from app.errors import InputError
from app.forms import parse
from app.i18n import gettext as _
from app.web import read_input
from marketplace.controllers.filters import api_job_filters
from marketplace.controllers.page_helpers import Page, PerPage, user_of
from marketplace.schemas import (
    AttachmentOut,
    DirectChoiceIn,
    JobIn,
    JobListOut,
    JobOut,
    JustificationDecisionIn,
    JustificationDecisionOut,
    ReasonIn,
    WinnerOut,
)
from marketplace.services import attachments
from marketplace.services.awards import decide_justification, record_refusal
from marketplace.services.job_notices import job_notice, notice_listing
from marketplace.services.jobs import (
    JobFilters,
    cancel_job,
    create_job,
    own_job,
    publish_job,
    republish_copy,
    schedule_close,
    update_job,
)
from marketplace.services.selection import choose_direct


@get("/api/owner/jobs", opt=roles("owner"))
async def api_owner_jobs(request: Request, db: DB, page: Page = 1, per_page: PerPage = 20,
                         status: FromQuery[str | None] = None) -> JobListOut:
    f = api_job_filters(JobFilters(status=status, owner_id=user_of(request).owner_id), drafts=True)
    return await notice_listing(db, f, page, per_page, include_drafts=True)


@post("/api/owner/jobs", opt=roles("owner"), status_code=201,
      operation_class=body(JobIn))
async def api_create_job(request: Request, db: DB) -> JobOut:
    """Body: JobIn (title, project_name, project_code, category_code, min_level, budget_cap, method,
    price_weight, credit_weight, state_funded, quote_deadline, service_days, description, beacon_source,
    beacon_label, exclusions). Creates a draft."""
    job = await create_job(db, user_of(request), parse(JobIn, await read_input(request)))
    return await job_notice(db, job, owner_view=True)


@get("/api/owner/jobs/{job_no:str}", opt=roles("owner"))
async def api_owner_job(request: Request, db: DB, job_no: FromPath[str]) -> JobOut:
    """The owner's view: the opened quotes once the deadline has passed."""
    return await job_notice(db, await own_job(db, user_of(request), job_no), owner_view=True)


@put("/api/owner/jobs/{job_no:str}", opt=roles("owner"),
     operation_class=body(JobIn))
async def api_update_job(request: Request, db: DB, job_no: FromPath[str]) -> JobOut:
    job = await update_job(db, user_of(request), job_no, parse(JobIn, await read_input(request)))
    return await job_notice(db, job, owner_view=True)


@post("/api/owner/jobs/{job_no:str}/publish", opt=roles("owner"), status_code=200)
async def api_publish_job(request: Request, db: DB, job_no: FromPath[str]) -> JobOut:
    """Publishes the draft and its seed commitment; the deadline job is queued. With the `sealing` parameter on,
    the job is first registered with every active key holder and the notice gains `sealing`: 503 (`holders`:
    each failing holder's fault) when a holder does not answer or answers badly, 409 when the threshold exceeds
    the active holders; either way nothing is written and the job stays a draft."""
    job = await publish_job(db, user_of(request), job_no, request.app.state.settings)
    await schedule_close(request.app.state.queue, job)
    return await job_notice(db, job, owner_view=True)


@post("/api/owner/jobs/{job_no:str}/cancel", opt=roles("owner"), status_code=200,
      operation_class=body(ReasonIn))
async def api_cancel_job(request: Request, db: DB, job_no: FromPath[str]) -> JobOut:
    """Body: `{"reason": str}`; before the deadline only."""
    job = await cancel_job(db, user_of(request), job_no, parse(ReasonIn, await read_input(request)).reason)
    return await job_notice(db, job, owner_view=True)


@post("/api/owner/jobs/{job_no:str}/copy", opt=roles("owner"), status_code=201)
async def api_copy_job(request: Request, db: DB, job_no: FromPath[str]) -> JobOut:
    """A failed (流标) or cancelled job re-published as a new draft."""
    return await job_notice(db, await republish_copy(db, user_of(request), job_no), owner_view=True)


@post("/api/owner/jobs/{job_no:str}/direct", opt=roles("owner"), status_code=200,
      operation_class=body(DirectChoiceIn))
async def api_direct_choice(request: Request, job_no: FromPath[str]) -> WinnerOut:
    """Body: `{"quote_id", "reason"}` for a closed `direct` job."""
    data = parse(DirectChoiceIn, await read_input(request))
    sel = await choose_direct(request.app.state.sessionmaker, user_of(request), job_no, data.quote_id, data.reason)
    return WinnerOut(winner_quote_id=sel.winner_quote_id)


@post("/api/owner/jobs/{job_no:str}/justification-decision", opt=roles("owner"), status_code=200,
      operation_class=body(JustificationDecisionIn))
async def api_justification_decision(request: Request, db: DB, job_no: FromPath[str]) -> JustificationDecisionOut:
    """Body: `{"decision": "accept"|"reject", "reason"}`."""
    data = parse(JustificationDecisionIn, await read_input(request))
    sel = await decide_justification(db, user_of(request), job_no, data.decision == "accept", data.reason)
    return JustificationDecisionOut(abnormal_status=sel.abnormal_status, winner_quote_id=sel.winner_quote_id)


@post("/api/owner/jobs/{job_no:str}/refusal", opt=roles("owner"), status_code=200,
      operation_class=body(ReasonIn))
async def api_refusal(request: Request, db: DB, job_no: FromPath[str]) -> JobOut:
    """Body: `{"reason"}`: the winner refused to sign; the next candidate is offered the job."""
    job = await record_refusal(db, user_of(request), job_no, parse(ReasonIn, await read_input(request)).reason)
    return await job_notice(db, job, owner_view=True)


@post("/api/owner/jobs/{job_no:str}/attachments", opt=roles("owner"), status_code=201,
      operation_class=upload("file", "PDF, Word, Excel, ZIP, PNG or JPEG; at most 10 MB"))
async def api_add_attachment(request: Request, db: DB, job_no: FromPath[str]) -> AttachmentOut:
    """Multipart form with one `file` (PDF, Word, Excel, ZIP, PNG, JPEG; at most 10 MB)."""
    form = await request.form()
    file = form.get("file")
    if file is None or not hasattr(file, "read"):
        msg = _("Choose a file to upload.")
        raise InputError(msg, fields={"file": msg})
    data = await file.read()
    att = await attachments.add_attachment(db, user_of(request), job_no, file.filename or "", data,
                                           request.app.state.settings.var_dir)
    return AttachmentOut(id=att.id, filename=att.filename, size=att.size, sha256=att.sha256,
                         url=f"/jobs/{job_no}/attachments/{att.id}")


@delete("/api/owner/jobs/{job_no:str}/attachments/{attachment_id:int}", opt=roles("owner"), status_code=200)
async def api_remove_attachment(request: Request, db: DB, job_no: FromPath[str], attachment_id: FromPath[int]) -> JobOut:
    """A draft's attachment removed by its owner; answers the draft (its remaining `attachments`). Once the job is
    published its attachments are fixed (409). Another owner's job, or an attachment not of this job, is a 404."""
    await attachments.remove_attachment(db, user_of(request), job_no, attachment_id)
    return await job_notice(db, await own_job(db, user_of(request), job_no), owner_view=True)


route_handlers = [
    api_owner_jobs, api_create_job, api_owner_job, api_update_job, api_publish_job, api_cancel_job, api_copy_job,
    api_direct_choice, api_justification_decision, api_refusal,
    api_add_attachment, api_remove_attachment,
]
