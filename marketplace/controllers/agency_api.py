"""The agencies' half of the jobs API: open jobs with eligibility, sealed quotes and their receipts,
objections and the justification of an abnormally low price."""

from __future__ import annotations

from litestar import Request, delete, get, post
from litestar.params import FromPath

from app.api_docs import body
from app.auth import roles
from app.db import DB
from app.errors import NotFound
from app.forms import parse
from app.i18n import gettext as _
from app.web import read_input
from marketplace.controllers.page_helpers import Page, PerPage, user_of
from marketplace.schemas import (
    AgencyJobListOut,
    JustificationOut,
    ObjectionStateOut,
    QuoteIn,
    QuoteReceiptOut,
    ReasonIn,
    SealedReceiptOut,
)
from marketplace.services.agency_jobs import open_jobs_out, own_agency_code, quote_receipt, receipt_answer
from marketplace.services.awards import file_objection, submit_justification
from marketplace.services.jobs import public_job
from marketplace.services.quotes import my_quote, submit_quote_for_receipt, withdraw_quote


@get("/api/agency/jobs", opt=roles("agency"))
async def api_agency_jobs(request: Request, db: DB, page: Page = 1, per_page: PerPage = 20) -> AgencyJobListOut:
    """Open jobs, each with `eligible` and the exact reasons when not."""
    return await open_jobs_out(db, user_of(request).agency_id, page, per_page)


@post("/api/jobs/{job_no:str}/quote", opt=roles("agency"), status_code=201,
      operation_class=body(QuoteIn))
async def api_submit_quote(request: Request, db: DB,
                           job_no: FromPath[str]) -> QuoteReceiptOut | SealedReceiptOut:
    """Body: `{"price": "1234.50", "service_days": 30, "note": ""}`; on a sealed job (`sealing` on the notice)
    only `{"envelope": {...}}`, the marketseal-v1 envelope (a price there is refused). Replaces a live quote.
    Returns the receipt (a sealed job: the sealed receipt and its fields)."""
    # The job, the agency (its credit code too) and the checks come from one query; nothing is read after the
    # commit.
    quote, agency_code = await submit_quote_for_receipt(
        db, user_of(request), job_no, await read_input(request),
        client_ip=request.client.host if request.client else "", user_agent=request.headers.get("user-agent", ""),
        no_agency=lambda: NotFound(_("No such agency.")))
    return receipt_answer(job_no, quote, agency_code)


@delete("/api/jobs/{job_no:str}/quote", opt=roles("agency"), status_code=200)
async def api_withdraw_quote(request: Request, db: DB,
                             job_no: FromPath[str]) -> QuoteReceiptOut | SealedReceiptOut:
    agency_code = await own_agency_code(db, user_of(request).agency_id)
    quote = await withdraw_quote(db, user_of(request), job_no)
    return receipt_answer(job_no, quote, agency_code)


@get("/api/jobs/{job_no:str}/quote", opt=roles("agency"))
async def api_my_quote(request: Request, db: DB,
                       job_no: FromPath[str]) -> QuoteReceiptOut | SealedReceiptOut:
    """This agency's own latest quote on the job, with its receipt (a sealed job: its envelope and sealed receipt)."""
    job = await public_job(db, job_no)
    quote = await my_quote(db, user_of(request), job)
    if quote is None:
        raise NotFound(_("You have no quote on this job."))
    return await quote_receipt(db, job, quote)


@post("/api/jobs/{job_no:str}/objections", opt=roles("agency"), status_code=201,
      operation_class=body(ReasonIn))
async def api_objection(request: Request, db: DB, job_no: FromPath[str]) -> ObjectionStateOut:
    """Body: `{"reason": str}`; only bidders, only during the publicity period."""
    obj = await file_objection(db, user_of(request), job_no, parse(ReasonIn, await read_input(request)).reason)
    return ObjectionStateOut(id=obj.id, status=obj.status)


@post("/api/jobs/{job_no:str}/justification", opt=roles("agency"), status_code=200,
      operation_class=body(ReasonIn))
async def api_justification(request: Request, db: DB, job_no: FromPath[str]) -> JustificationOut:
    """Body: `{"reason": str}`: the flagged winner's justification of its price."""
    sel = await submit_justification(db, user_of(request), job_no, parse(ReasonIn, await read_input(request)).reason)
    return JustificationOut(abnormal_status=sel.abnormal_status)


route_handlers = [api_agency_jobs, api_submit_quote, api_withdraw_quote, api_my_quote, api_objection,
                  api_justification]
