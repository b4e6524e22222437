"""An agency's pages: its open calls and quotes, and its forms on a notice (quote, withdraw, object,
justify an abnormally low price, confirm or refuse the contract, ask for an extension, submit the
result); the receipt file of a quote."""

from __future__ import annotations

import json

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template

from app.auth import roles
from app.db import DB
from app.errors import NotFound
from app.forms import FilterCheck, parse
from app.i18n import gettext as _
from app.web import done, form_action, read_input
from marketplace.controllers.filters import job_filters
from marketplace.controllers.job_pages import render_job_page
from marketplace.controllers.page_helpers import PER_PAGE, Page, pager_base, recompute_later, render_page, user_of
from marketplace.controllers.performance_api import uploaded_files
from marketplace.models import Quote
from marketplace.schemas import ExtensionIn, ReasonIn
from marketplace.services import registry
from marketplace.services.accounts import agency_of
from marketplace.services.agency_jobs import agency_quotes, open_calls, receipt_file
from marketplace.services.awards import file_objection, submit_justification
from marketplace.services.contracts import agency_confirm_contract, agency_refuse_contract
from marketplace.services.quotes import submit_quote, withdraw_quote
from marketplace.services.results import submit_result
from marketplace.services.timers import request_extension


@post("/jobs/{job_no:str}/quote", opt=roles("agency"))
async def quote_submit(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    data = await read_input(request)
    return await form_action(
        db,
        lambda: _submit(db, request, job_no, data),
        done(request, lambda quote: _("Your quote was received. Keep its receipt: {receipt}", receipt=quote.receipt),
             f"/jobs/{job_no}"),
        lambda exc: render_job_page(request, db, job_no, status_code=exc.status_code, quote_form=_kept(data),
                                    quote_errors=exc.fields, error=exc.message))


async def _submit(db: DB, request: Request, job_no: str, data: dict) -> Quote:
    """Parse the form by the job's kind (a sealed job: the envelope only) and submit it."""
    return await submit_quote(db, user_of(request), job_no, data,
                              client_ip=request.client.host if request.client else "",
                              user_agent=request.headers.get("user-agent", ""))


def _kept(data: dict) -> dict:
    """The form values re-shown after a refusal (never an envelope: the page seals afresh)."""
    return {k: v for k, v in data.items() if k != "envelope"}


@post("/jobs/{job_no:str}/quote/withdraw", opt=roles("agency"))
async def quote_withdraw(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    return await form_action(
        db, lambda: withdraw_quote(db, user_of(request), job_no),
        done(request, _("Your quote was withdrawn. You may submit a new one until the deadline."), f"/jobs/{job_no}"),
        lambda exc: render_job_page(request, db, job_no, status_code=exc.status_code, error=exc.message))


@post("/jobs/{job_no:str}/objection", opt=roles("agency"))
async def objection_submit(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    data = await read_input(request)
    return await form_action(
        db, lambda: file_objection(db, user_of(request), job_no, parse(ReasonIn, data).reason),
        done(request, _("Your objection was filed. The regulator will decide on it."), f"/jobs/{job_no}"),
        lambda exc: render_job_page(request, db, job_no, status_code=exc.status_code, objection_form=data,
                                    objection_errors=exc.fields, error=exc.message))


@post("/jobs/{job_no:str}/justification", opt=roles("agency"))
async def justification_submit(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    data = await read_input(request)
    return await form_action(
        db, lambda: submit_justification(db, user_of(request), job_no, parse(ReasonIn, data).reason),
        done(request, _("Your justification was submitted to the owner."), f"/jobs/{job_no}"),
        lambda exc: render_job_page(request, db, job_no, status_code=exc.status_code, justification_form=data,
                                    justification_errors=exc.fields, error=exc.message))


@post("/jobs/{job_no:str}/contract/{answer:str}", opt=roles("agency"))
async def contract_answer(request: Request, db: DB, job_no: FromPath[str], answer: FromPath[str]) -> Response | Template:
    """The winning agency confirms the signed contract (the timer starts) or refuses it (a refusal to sign)."""
    if answer not in ("confirm", "refuse"):
        raise NotFound(_("No such page."))
    data = await read_input(request)

    async def act():
        if answer == "confirm":
            return await agency_confirm_contract(db, user_of(request), job_no)
        job = await agency_refuse_contract(db, user_of(request), job_no, parse(ReasonIn, data).reason)
        await recompute_later(request, user_of(request).agency_id)  # the refusal is a violation
        return job
    return await form_action(
        db, act, done(request, _("You confirmed the contract; the service timer has started.") if answer == "confirm"
                      else _("Your refusal to sign was recorded."), f"/jobs/{job_no}"),
        lambda exc: render_job_page(request, db, job_no, status_code=exc.status_code, perf_form="contract",
                                    perf_data=data, perf_errors=exc.fields, error=exc.message))


@post("/jobs/{job_no:str}/extensions", opt=roles("agency"))
async def extension_submit(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    data = await read_input(request)

    async def act():
        d = parse(ExtensionIn, data)
        return await request_extension(db, user_of(request), job_no, d.days, d.reason)
    return await form_action(
        db, act, done(request, _("Your extension request was sent to the owner."), f"/jobs/{job_no}"),
        lambda exc: render_job_page(request, db, job_no, status_code=exc.status_code, perf_form="extension",
                                    perf_data=data, perf_errors=exc.fields, error=exc.message))


@post("/jobs/{job_no:str}/results", opt=roles("agency"))
async def result_submit(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    files, fields = await uploaded_files(request)

    async def act():
        return await submit_result(db, user_of(request), job_no, str(fields.get("note") or "")[:2000], files,
                                   request.app.state.settings.var_dir)
    return await form_action(
        db, act, done(request, _("Your result was submitted; the owner answers within 10 working days."),
                      f"/jobs/{job_no}"),
        lambda exc: render_job_page(request, db, job_no, status_code=exc.status_code, perf_form="result",
                                    perf_data=fields, perf_errors=exc.fields, error=exc.message))


@get("/agency/jobs", opt=roles("agency"))
async def agency_jobs_page(request: Request, db: DB, page: Page = 1, q: FromQuery[str | None] = None,
                           category: FromQuery[str | None] = None, show: FromQuery[str | None] = None) -> Template:
    """Open calls only: published and before the deadline, with this agency's eligibility; by default only
    those it may quote on (`show=all`: every open call, with the reasons on the others)."""
    agency = await agency_of(db, user_of(request))
    if agency is None:
        raise NotFound(_("No such agency."))
    check = FilterCheck()
    show = check.choice("show", show, ("eligible", "all")) or "eligible"
    check.done()
    f = await job_filters(db, q=q, category=category)
    calls = await open_calls(db, agency, q=f.q, category=f.category, page=page, per_page=PER_PAGE,
                             eligible_only=show == "eligible")
    params = {"q": f.q, "category": f.category, "show": None if show == "eligible" else show}
    return await render_page(request, "marketplace/jobs/agency_jobs.html", listing=calls.listing,
                             reasons=calls.reasons, quoted=calls.quoted, filters=params,
                             categories=await registry.list_categories(db, active_only=False),
                             pager_base=pager_base("/agency/jobs", params))


@get("/agency/quotes", opt=roles("agency"))
async def agency_quotes_page(request: Request, db: DB, page: Page = 1) -> Template:
    return await render_page(request, "marketplace/jobs/agency_quotes.html",
                             listing=await agency_quotes(db, user_of(request).agency_id, page, PER_PAGE))


@get("/agency/quotes/{quote_id:int}/receipt.json", opt=roles("agency"))
async def receipt_download(request: Request, db: DB, quote_id: FromPath[int]) -> Response:
    body = await receipt_file(db, user_of(request).agency_id, quote_id)
    filename = f"receipt-{body['job_id']}-{body['quote_id']}.json"
    return Response(content=json.dumps(body, ensure_ascii=False, indent=2).encode("utf-8"),
                    media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


route_handlers = [quote_submit, quote_withdraw, objection_submit, justification_submit, contract_answer,
                  extension_submit, result_submit, agency_jobs_page, agency_quotes_page, receipt_download]
