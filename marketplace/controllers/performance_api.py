"""The API of the record after the award: the contract's two-party confirmation, the service timer,
the result and its sign-off (DESIGN "After the award"), and the files' downloads."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote as urlquote

from litestar import Request, Response, get, post
from litestar.params import FromPath

from app.api_docs import body, upload
from app.auth import PUBLIC, roles
from app.db import DB
from app.errors import InputError
from app.forms import parse
from app.i18n import gettext as _
from app.web import read_input
from marketplace.controllers.page_helpers import recompute_later, user_of
from marketplace.domain.money import money
from marketplace.models import Contract
from marketplace.schemas import (
    ContractOut,
    ExtensionDecisionIn,
    ExtensionIn,
    ExtensionOut,
    PerformanceOut,
    ReasonIn,
    TimerReasonIn,
)
from marketplace.services import contracts, results, timers
from marketplace.services.job_notices import iso
from marketplace.services.jobs import own_job, public_job
from marketplace.services.performance import performance


def contract_out(job_no: str, c: Contract) -> ContractOut:
    return ContractOut(job_id=job_no, quote_id=str(c.quote_id), amount=money(c.amount),
                       confirmed_at=iso(c.confirmed_at), status=c.status, sha256=c.file_sha256,
                       agency_confirm_due_at=iso(c.agency_confirm_due_at), started_at=iso(c.started_at))


async def uploaded_files(request: Request, field: str = "file") -> tuple[list[tuple[str, bytes]], dict]:
    """The multipart form's files under `field` (one or more) and its other fields."""
    form = await request.form()
    files = [(f.filename or "", await f.read()) for f in form.getall(field, []) if hasattr(f, "read")]
    others = {k: v for k, v in form.items() if not hasattr(v, "read")}
    return files, others


async def one_file(request: Request) -> tuple[str, bytes]:
    files, _others = await uploaded_files(request)
    if len(files) != 1:
        msg = _("Choose a file to upload.")
        raise InputError(msg, fields={"file": msg})
    return files[0]


async def performance_now(request: Request, db: DB, job_no: str) -> PerformanceOut:
    """The job's record after the award as the caller now sees it (the answer of every step on it)."""
    return await performance(db, await public_job(db, job_no), user_of(request))


async def with_reason(request: Request, db: DB, job_no: str, schema: type[TimerReasonIn | ReasonIn],
                      step: Callable[..., Awaitable[object]]) -> PerformanceOut:
    """Parse the body's `{"reason"}`, take the owner's `step(db, user, job_no, reason)`, answer the record."""
    data = parse(schema, await read_input(request))
    await step(db, user_of(request), job_no, data.reason)
    return await performance_now(request, db, job_no)


# ---- the owner ----------------------------------------------------------------------------------

@post("/api/owner/jobs/{job_no:str}/contract", opt=roles("owner"), status_code=201,
      operation_class=upload("file", "the signed contract (PDF, 10 MB)"))
async def api_confirm_contract(request: Request, db: DB, job_no: FromPath[str]) -> ContractOut:
    """Multipart form with `file`: the signed contract (PDF). After the publicity period, within the window;
    the agency then confirms it within 5 working days."""
    await own_job(db, user_of(request), job_no)  # someone else's job is a 404, whatever the body
    name, data = await one_file(request)
    c = await contracts.confirm_contract(db, user_of(request), job_no, name, data, request.app.state.settings.var_dir)
    return contract_out(job_no, c)


@post("/api/owner/jobs/{job_no:str}/timer/pause", opt=roles("owner"), status_code=200,
      operation_class=body(TimerReasonIn))
async def api_pause_timer(request: Request, db: DB, job_no: FromPath[str]) -> PerformanceOut:
    """Body: `{"reason"}`. Pauses the service timer (暂停计时)."""
    return await with_reason(request, db, job_no, TimerReasonIn, timers.pause_timer)


@post("/api/owner/jobs/{job_no:str}/timer/resume", opt=roles("owner"), status_code=200,
      operation_class=body(TimerReasonIn))
async def api_resume_timer(request: Request, db: DB, job_no: FromPath[str]) -> PerformanceOut:
    """Body: `{"reason"}`. Resumes a paused service timer; the due date moves by the pause."""
    return await with_reason(request, db, job_no, TimerReasonIn, timers.resume_timer)


@post("/api/owner/jobs/{job_no:str}/extensions/{extension_id:int}/decision", opt=roles("owner"), status_code=200,
      operation_class=body(ExtensionDecisionIn))
async def api_decide_extension(request: Request, db: DB, job_no: FromPath[str],
                               extension_id: FromPath[int]) -> ExtensionOut:
    """Body: `{"decision": "approve"|"reject", "days"?, "reason"}` (a reason is required to reject)."""
    d = parse(ExtensionDecisionIn, await read_input(request))
    e = await timers.decide_extension(db, user_of(request), job_no, extension_id, d.decision == "approve", d.reason,
                                      d.days)
    return ExtensionOut(id=e.id, days=e.days, reason=e.reason, status=e.status, requested_at=iso(e.requested_at),
                        decided_at=iso(e.decided_at), decision_reason=e.decision_reason)


@post("/api/owner/jobs/{job_no:str}/result/confirm", opt=roles("owner"), status_code=200)
async def api_confirm_result(request: Request, db: DB, job_no: FromPath[str]) -> PerformanceOut:
    """Confirms the submitted result: the job is completed and may be rated."""
    job = await results.confirm_result(db, user_of(request), job_no)
    contract = await contracts.contract_of(db, job)
    await recompute_later(request, contract.agency_id)  # a late result is a violation: the score moves now
    return await performance(db, job, user_of(request))


@post("/api/owner/jobs/{job_no:str}/result/return", opt=roles("owner"), status_code=200,
      operation_class=body(ReasonIn))
async def api_return_result(request: Request, db: DB, job_no: FromPath[str]) -> PerformanceOut:
    """Body: `{"reason"}`. Returns the submitted result; the agency submits again."""
    return await with_reason(request, db, job_no, ReasonIn, results.return_result)


# ---- the agency ---------------------------------------------------------------------------------

@post("/api/jobs/{job_no:str}/contract/confirm", opt=roles("agency"), status_code=200)
async def api_agency_confirm_contract(request: Request, db: DB, job_no: FromPath[str]) -> ContractOut:
    """Confirms the signed contract the owner uploaded: the job is contracted and the service timer starts."""
    return contract_out(job_no, await contracts.agency_confirm_contract(db, user_of(request), job_no))


@post("/api/jobs/{job_no:str}/contract/refuse", opt=roles("agency"), status_code=200,
      operation_class=body(ReasonIn))
async def api_agency_refuse_contract(request: Request, db: DB, job_no: FromPath[str]) -> PerformanceOut:
    """Body: `{"reason"}`. A refusal to sign (a major violation); the next candidate is offered the job."""
    data = parse(ReasonIn, await read_input(request))
    job = await contracts.agency_refuse_contract(db, user_of(request), job_no, data.reason)
    await recompute_later(request, user_of(request).agency_id)  # the refusal is a violation
    return await performance(db, job, user_of(request))


@post("/api/jobs/{job_no:str}/extensions", opt=roles("agency"), status_code=201, operation_class=body(ExtensionIn))
async def api_request_extension(request: Request, db: DB, job_no: FromPath[str]) -> ExtensionOut:
    """Body: `{"days": 1-365, "reason"}`. The owner approves or rejects it."""
    d = parse(ExtensionIn, await read_input(request))
    e = await timers.request_extension(db, user_of(request), job_no, d.days, d.reason)
    return ExtensionOut(id=e.id, days=e.days, reason=e.reason, status=e.status, requested_at=iso(e.requested_at),
                        decided_at=None, decision_reason="")


@post("/api/jobs/{job_no:str}/results", opt=roles("agency"), status_code=201,
      operation_class=upload(
          "file", "one or more result files (PDF, Word, Excel, ZIP, PNG or JPEG; 10 MB each); field `note`"))
async def api_submit_result(request: Request, db: DB, job_no: FromPath[str]) -> PerformanceOut:
    """Multipart form: one or more `file` fields and a `note`. The owner confirms or returns it within
    10 working days (or it is deemed confirmed)."""
    files, fields = await uploaded_files(request)
    note = str(fields.get("note") or "")
    if len(note) > 2000:
        msg = _("At most {n} characters.", n=2000)
        raise InputError(msg, fields={"note": msg})
    await results.submit_result(db, user_of(request), job_no, note, files, request.app.state.settings.var_dir)
    return await performance_now(request, db, job_no)


# ---- everyone -----------------------------------------------------------------------------------

@get("/api/jobs/{job_no:str}/performance", opt=roles(PUBLIC))
async def api_performance(request: Request, db: DB, job_no: FromPath[str]) -> PerformanceOut:
    """The contract publicity, the service timer and the result's sign-off. Reasons, extensions and files
    are for the parties and regulators; everyone sees dates, states and counts."""
    return await performance(db, await public_job(db, job_no), request.scope.get("user"))


def _download(path, filename: str, content_type: str) -> Response:
    return Response(path.read_bytes(), media_type=content_type, headers={
        "content-disposition": f"attachment; filename*=UTF-8''{urlquote(filename)}",
        "x-content-type-options": "nosniff"})


@get("/jobs/{job_no:str}/contract.pdf", opt=roles(PUBLIC), include_in_schema=False)
async def download_contract(request: Request, db: DB, job_no: FromPath[str]) -> Response:
    """The signed contract, for the parties and regulators (404 for anyone else)."""
    c, path = await contracts.contract_file(db, request.scope.get("user"), job_no, request.app.state.settings.var_dir)
    return _download(path, c.file_name or f"{job_no}-contract.pdf", "application/pdf")


@get("/jobs/{job_no:str}/results/{file_id:int}", opt=roles(PUBLIC), include_in_schema=False)
async def download_result_file(request: Request, db: DB, job_no: FromPath[str], file_id: FromPath[int]) -> Response:
    f, path = await results.result_file(db, request.scope.get("user"), job_no, file_id,
                                        request.app.state.settings.var_dir)
    return _download(path, f.filename, f.content_type)


route_handlers = [
    api_confirm_contract, api_pause_timer, api_resume_timer, api_decide_extension, api_confirm_result,
    api_return_result, api_agency_confirm_contract, api_agency_refuse_contract, api_request_extension,
    api_submit_result, api_performance, download_contract, download_result_file,
]
