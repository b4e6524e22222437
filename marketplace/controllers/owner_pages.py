"""An owner's pages: its jobs, the job form (new, edit), the manage page and its actions (publish,
cancel, copy, direct choice, the justification decision, the signed contract, refusal, the service
timer, extensions, the result's sign-off), and a draft's attachments (upload, remove)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import CurrentUser, roles
from app.clock import SHANGHAI, ensure_aware, utcnow
from app.db import DB
from app.errors import DomainError, NotFound
from app.forms import parse
from app.i18n import gettext as _
from app.web import done, flash, form_action, read_input, redirect
from marketplace.controllers.filters import job_filters
from marketplace.controllers.job_pages import notice_context
from marketplace.controllers.page_helpers import PER_PAGE, Page, pager_base, recompute_later, render_page, user_of
from marketplace.controllers.performance_api import one_file, uploaded_files
from marketplace.domain.money import grouped, money
from marketplace.models import DRAFT, JOB_STATUSES, LEVELS, Job
from marketplace.parameters import direct_threshold
from marketplace.schemas import (
    DirectChoiceIn,
    ExtensionDecisionIn,
    JobIn,
    JustificationDecisionIn,
    ReasonIn,
    TimerReasonIn,
)
from marketplace.services import attachments, catalogue, registry
from marketplace.services.accounts import owner_of
from marketplace.services.awards import decide_justification, record_refusal
from marketplace.services.contracts import confirm_contract, contract_of
from marketplace.services.job_views import manage_view
from marketplace.services.jobs import (
    cancel_job,
    create_job,
    job_input,
    list_jobs,
    own_job,
    publish_job,
    republish_copy,
    schedule_close,
    update_job,
)
from marketplace.services.results import confirm_result, return_result
from marketplace.services.selection import choose_direct
from marketplace.services.timers import decide_extension, pause_timer, resume_timer


def _owner_id(user: CurrentUser) -> int:
    # list_jobs treats a missing owner_id as "no filter": never call it without one.
    if not user.owner_id:
        raise NotFound(_("No such job."))
    return user.owner_id


@get("/owner/jobs", opt=roles("owner"))
async def owner_jobs_page(request: Request, db: DB, page: Page = 1, status: FromQuery[str | None] = None,
                          q: FromQuery[str | None] = None) -> Template:
    f = await job_filters(db, q=q, status=status)
    f.owner_id = _owner_id(user_of(request))
    listing = await list_jobs(db, f, page=page, per_page=PER_PAGE, include_drafts=True)
    params = {"q": f.q, "status": f.status}
    return await render_page(request, "marketplace/jobs/owner_jobs.html", listing=listing, filters=params,
                             statuses=JOB_STATUSES, pager_base=pager_base("/owner/jobs", params), now=utcnow())


# ---- the job form ------------------------------------------------------------------------------

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
        "category_code": job_in.category_code, "item_code": job_in.item_code, "min_level": str(job_in.min_level),
        "budget_cap": money(job_in.budget_cap), "method": job_in.method,
        "price_weight": "" if job_in.price_weight is None else str(job_in.price_weight),
        "credit_weight": "" if job_in.credit_weight is None else str(job_in.credit_weight),
        "state_funded": "true" if job_in.state_funded else "false",
        "quote_deadline": deadline.strftime("%Y-%m-%dT%H:%M"), "service_days": str(job_in.service_days),
        "description": job_in.description, "beacon_source": job_in.beacon_source, "beacon_label": job_in.beacon_label,
        "exclusions": " ".join(job_in.exclusions),
    }


async def _job_form(request: Request, db: AsyncSession, *, job: Job | None, form: dict[str, Any],
                    status_code: int = 200, errors: dict[str, str] | None = None, error: str = "",
                    files_error: str = "") -> Template:
    files = attachments.file_items(job.job_no, await attachments.attachments_of(db, job)) if job else []
    return await render_page(request, "marketplace/jobs/job_form.html", status_code=status_code, job=job, form=form,
                             errors=errors or {}, error=error, owner=await owner_of(db, user_of(request)),
                             job_files=files, files_error=files_error,
                             categories=await registry.list_categories(db), levels=LEVELS,
                             item_groups=await _item_groups(db), threshold=grouped(await direct_threshold(db)))


async def _item_groups(db: AsyncSession) -> list[tuple[Any, list[tuple[Any, Any]]]]:
    """The catalogue items for the form's select: [(category, [(item, department), …]), …] in catalogue order."""
    groups: list[tuple[Any, list[tuple[Any, Any]]]] = []
    for item, cat, dept in await catalogue.items_for_form(db):
        if not groups or groups[-1][0].id != cat.id:
            groups.append((cat, []))
        groups[-1][1].append((item, dept))
    return groups


NEW_JOB_DEFAULTS = {"method": "random", "state_funded": "true", "min_level": "3", "price_weight": "60",
                    "credit_weight": "40", "beacon_source": "none", "service_days": "30"}


def _to_job(job: Job) -> str:
    return f"/owner/jobs/{job.job_no}"


@get("/owner/jobs/new", opt=roles("owner"))
async def job_new_page(request: Request, db: DB) -> Template:
    return await _job_form(request, db, job=None, form=dict(NEW_JOB_DEFAULTS))


@post("/owner/jobs/new", opt=roles("owner"))
async def job_new_submit(request: Request, db: DB) -> Response | Template:
    data = await read_input(request)
    return await form_action(
        db, lambda: create_job(db, user_of(request), parse(JobIn, _job_form_input(data))),
        done(request, lambda job: _("Draft {job_no} saved. Check it, then publish it.", job_no=job.job_no), _to_job),
        lambda exc: _job_form(request, db, job=None, form=data, status_code=exc.status_code, errors=exc.fields,
                              error=exc.message))


@get("/owner/jobs/{job_no:str}/edit", opt=roles("owner"))
async def job_edit_page(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    job = await own_job(db, user_of(request), job_no)
    if job.status != DRAFT:
        await flash(request, _("Only a draft can be edited."), "error")
        return redirect(f"/owner/jobs/{job_no}")
    return await _job_form(request, db, job=job, form=_job_form_values(await job_input(db, job)))


@post("/owner/jobs/{job_no:str}/edit", opt=roles("owner"))
async def job_edit_submit(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    user = user_of(request)
    data = await read_input(request)

    async def again(exc: DomainError) -> Template:
        return await _job_form(request, db, job=await own_job(db, user, job_no), form=data,
                               status_code=exc.status_code, errors=exc.fields, error=exc.message)

    return await form_action(db, lambda: update_job(db, user, job_no, parse(JobIn, _job_form_input(data))),
                             done(request, lambda job: _("Draft {job_no} saved.", job_no=job.job_no), _to_job), again)


# ---- the manage page and its actions ----------------------------------------------------------------

async def _manage_page(request: Request, db: AsyncSession, job_no: str, status_code: int = 200,
                       **extra: Any) -> Template:
    job = await own_job(db, user_of(request), job_no)
    view = await notice_context(request, db, job)
    view.update(await manage_view(db, job, view))
    return await render_page(request, "marketplace/jobs/owner_job.html", status_code=status_code, **view, **extra)


@get("/owner/jobs/{job_no:str}", opt=roles("owner"))
async def owner_job_page(request: Request, db: DB, job_no: FromPath[str]) -> Template:
    return await _manage_page(request, db, job_no)


async def _owner_action(request: Request, db: AsyncSession, job_no: str, form_name: str,
                        action: Callable[[dict[str, Any]], Awaitable[Any]], success: str,
                        to: Callable[[Any], str] | None = None) -> Response | Template:
    """Run an owner action of the manage page; on a domain error show it there (`form_name`'s form
    again) with its status."""
    data = await read_input(request)
    return await form_action(
        db, lambda: action(data), done(request, success, to or f"/owner/jobs/{job_no}"),
        lambda exc: _manage_page(request, db, job_no, status_code=exc.status_code, error=exc.message,
                                 action_form=form_name, action_data=data, action_errors=exc.fields))


@get("/owner/jobs/{job_no:str}/publish", opt=roles("owner"))
async def job_publish_page(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    job = await own_job(db, user_of(request), job_no)
    if job.status != DRAFT:
        await flash(request, _("Only a draft can be published."), "error")
        return redirect(f"/owner/jobs/{job_no}")
    view = await notice_context(request, db, job)
    return await render_page(request, "marketplace/jobs/publish_confirm.html", **view)


@post("/owner/jobs/{job_no:str}/publish", opt=roles("owner"))
async def job_publish_submit(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    user = user_of(request)
    announce = done(request, lambda job: _("Job {job_no} is published. Seed commitment: {commitment}",
                                           job_no=job.job_no, commitment=job.seed_commitment), _to_job)

    async def published(job: Job) -> Response:
        await schedule_close(request.app.state.queue, job)
        return await announce(job)

    async def again(exc: DomainError) -> Template:
        view = await notice_context(request, db, await own_job(db, user, job_no))
        return await render_page(request, "marketplace/jobs/publish_confirm.html", status_code=exc.status_code,
                                 **view, error=exc.message, errors=exc.fields)

    return await form_action(db, lambda: publish_job(db, user, job_no, request.app.state.settings), published, again)


@post("/owner/jobs/{job_no:str}/cancel", opt=roles("owner"))
async def job_cancel(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    async def act(data):
        return await cancel_job(db, user_of(request), job_no, parse(ReasonIn, data).reason)
    return await _owner_action(request, db, job_no, "cancel", act, _("The job was cancelled."))


@post("/owner/jobs/{job_no:str}/copy", opt=roles("owner"))
async def job_copy(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    async def act(_data):
        return await republish_copy(db, user_of(request), job_no)
    return await _owner_action(request, db, job_no, "copy", act,
                               _("A new draft was made from this job. Check the deadline and publish it."),
                               to=lambda copy: f"/owner/jobs/{copy.job_no}/edit")


@post("/owner/jobs/{job_no:str}/choose", opt=roles("owner"))
async def job_choose_direct(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    async def act(data):
        choice = parse(DirectChoiceIn, data)
        return await choose_direct(request.app.state.sessionmaker, user_of(request), job_no, choice.quote_id,
                                   choice.reason)
    return await _owner_action(request, db, job_no, "choose", act, _("The agency was chosen; the result is published."))


@post("/owner/jobs/{job_no:str}/justification", opt=roles("owner"))
async def job_decide_justification(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    async def act(data):
        d = parse(JustificationDecisionIn, data)
        return await decide_justification(db, user_of(request), job_no, d.decision == "accept", d.reason)
    return await _owner_action(request, db, job_no, "justification", act, _("Your decision was recorded."))


@post("/owner/jobs/{job_no:str}/contract", opt=roles("owner"))
async def job_confirm_contract(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    async def act(_data):
        name, data = await one_file(request)
        return await confirm_contract(db, user_of(request), job_no, name, data, request.app.state.settings.var_dir)
    return await _owner_action(request, db, job_no, "contract", act,
                               _("The signed contract is uploaded and confirmed; the agency now confirms it."))


@post("/owner/jobs/{job_no:str}/timer/{step:str}", opt=roles("owner"))
async def job_timer_step(request: Request, db: DB, job_no: FromPath[str], step: FromPath[str]) -> Response | Template:
    if step not in ("pause", "resume"):
        raise NotFound(_("No such page."))

    async def act(data):
        reason = parse(TimerReasonIn, data).reason
        if step == "pause":
            return await pause_timer(db, user_of(request), job_no, reason)
        return await resume_timer(db, user_of(request), job_no, reason)
    return await _owner_action(request, db, job_no, "timer", act,
                               _("The service timer is paused.") if step == "pause"
                               else _("The service timer runs again."))


@post("/owner/jobs/{job_no:str}/extensions/{extension_id:int}/decision", opt=roles("owner"))
async def job_decide_extension(request: Request, db: DB, job_no: FromPath[str],
                               extension_id: FromPath[int]) -> Response | Template:
    async def act(data):
        d = parse(ExtensionDecisionIn, {**data, "days": data.get("days") or None})
        return await decide_extension(db, user_of(request), job_no, extension_id, d.decision == "approve",
                                      d.reason, d.days)
    return await _owner_action(request, db, job_no, "extension", act, _("Your decision on the extension was recorded."))


@post("/owner/jobs/{job_no:str}/result/{answer:str}", opt=roles("owner"))
async def job_answer_result(request: Request, db: DB, job_no: FromPath[str],
                            answer: FromPath[str]) -> Response | Template:
    if answer not in ("confirm", "return"):
        raise NotFound(_("No such page."))

    async def act(data):
        if answer == "confirm":
            job = await confirm_result(db, user_of(request), job_no)
            await recompute_later(request, (await contract_of(db, job)).agency_id)  # lateness moves the score
            return job
        return await return_result(db, user_of(request), job_no, parse(ReasonIn, data).reason)
    return await _owner_action(request, db, job_no, "result", act,
                               _("The result is confirmed: the service is completed. You may now rate the agency.")
                               if answer == "confirm" else _("The result was returned to the agency."))


@post("/owner/jobs/{job_no:str}/refusal", opt=roles("owner"))
async def job_record_refusal(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    async def act(data):
        return await record_refusal(db, user_of(request), job_no, parse(ReasonIn, data).reason)
    return await _owner_action(request, db, job_no, "refusal", act,
                               _("The refusal was recorded; the next candidate is offered the job."))


# ---- a draft's attachments (the upload form of the edit and manage pages) --------------------------

async def _files_action(request: Request, db: AsyncSession, job_no: str, back: Any,
                        action: Callable[[], Awaitable[Any]], success: Callable[[Any], str]) -> Response | Template:
    """Run an attachment action; back to the page its form was on (`back` = "edit": the job form, else the
    manage page) with a flash, or that page again with the error in place of the file list."""
    edit = back == "edit"

    async def again(exc: DomainError) -> Template:
        job = await own_job(db, user_of(request), job_no)
        if edit and job.status == DRAFT:
            return await _job_form(request, db, job=job, form=_job_form_values(await job_input(db, job)),
                                   status_code=exc.status_code, files_error=exc.message)
        return await _manage_page(request, db, job_no, status_code=exc.status_code, files_error=exc.message)

    return await form_action(db, action, done(request, success, f"/owner/jobs/{job_no}" + ("/edit" if edit else "")),
                             again)


@post("/owner/jobs/{job_no:str}/attachments", opt=roles("owner"))
async def job_add_attachments(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    """Multipart form: one or more `file` fields (the rules of `attachments.checked_file`), `back`."""
    files, fields = await uploaded_files(request)
    files = [(name, data) for name, data in files if name or data]  # an empty file input sends an empty part

    async def act():
        return await attachments.add_attachments(db, user_of(request), job_no, files,
                                                 request.app.state.settings.var_dir)
    return await _files_action(request, db, job_no, fields.get("back"), act, lambda added: _(
        "Attachments saved: {names}.", names=", ".join(a.filename for a in added)))


@post("/owner/jobs/{job_no:str}/attachments/{attachment_id:int}/remove", opt=roles("owner"))
async def job_remove_attachment(request: Request, db: DB, job_no: FromPath[str],
                                attachment_id: FromPath[int]) -> Response | Template:
    data = await read_input(request)

    async def act():
        return await attachments.remove_attachment(db, user_of(request), job_no, attachment_id)
    return await _files_action(request, db, job_no, data.get("back"), act,
                               lambda att: _("Attachment removed: {name}.", name=att.filename))


route_handlers = [
    owner_jobs_page, job_new_page, job_new_submit, job_edit_page, job_edit_submit, owner_job_page,
    job_publish_page, job_publish_submit, job_cancel, job_copy, job_choose_direct, job_decide_justification,
    job_confirm_contract, job_record_refusal, job_timer_step, job_decide_extension, job_answer_result,
    job_add_attachments, job_remove_attachment,
]
