"""The public job pages: the list of calls and results, the notice (the result and the draw
explained; an agency's own box), and the notice's attachments.

Sealed prices are never loaded for a page before quotes are opened: before that the only figure
about quotes any page shows is the live count, and only to the job's owner.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote as urlquote

from litestar import Request, Response, get
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import PUBLIC, roles
from app.cached_pages import shared_page
from app.clock import utcnow
from app.db import DB
from app.errors import NotFound
from app.i18n import gettext as _
from app.page_cache import next_moment
from marketplace.controllers.filters import PUBLIC_STATUSES, job_filters
from marketplace.controllers.page_helpers import PER_PAGE, Page, badge_changes_at, pager_base, render_page
from marketplace.models import AWARDED, COMPLETED, CONTRACTED, DRAFT, RATED, Job
from marketplace.ports import credit
from marketplace.services import attachments, registry
from marketplace.services.clarifications import clarifications_of
from marketplace.services.commitments import commitment_at
from marketplace.services.contracts import contract_of
from marketplace.services.job_notices import JOB_PAGES
from marketplace.services.job_views import job_view
from marketplace.services.jobs import get_job, job_districts, list_jobs, public_job
from marketplace.services.performance import next_step, performance
from marketplace.services.selection import winning_quote


async def notice_context(request: Request, db: AsyncSession, job: Job) -> dict[str, Any]:
    """`job_view` for this request's user (an agency may paste a receipt to check: `?receipt=`)."""
    user = request.scope.get("user")
    view = await job_view(db, job, user, base_url=str(request.base_url).rstrip("/"),
                          pasted_receipt=str(request.query_params.get("receipt", "")).strip().lower()[:64])
    perf = await performance(db, job, user) if job.status in (AWARDED, CONTRACTED, COMPLETED, RATED) else None
    contract = await contract_of(db, job) if perf and perf.contract else None
    actor = ""
    if perf and user and user.owner_id and user.owner_id == job.owner_id:
        actor = "owner"
    elif perf and user and user.agency_id:
        # The contract's agency, or before the contract the current winner.
        sel = view.get("sel")
        winner = await winning_quote(db, sel) if sel is not None and contract is None else None
        holder = contract.agency_id if contract else (winner.agency_id if winner else None)
        actor = "agency" if holder == user.agency_id else ""
    view["job_files"] = attachments.file_items(job.job_no, await attachments.attachments_of(db, job))
    view["clar"] = await clarifications_of(db, job, user)
    if user and user.role == "agency" and user.agency_id:
        view["my_commitment"] = await commitment_at(db, user.agency_id, job.category_id, utcnow())
    view["evaluation"] = await credit().evaluation_of(db, job.id) if job.status in (COMPLETED, RATED) else None
    view.update(perf=perf, perf_actor=actor, perf_next=next_step(perf, actor, job),
                perf_waiting_round=bool(perf and perf.rounds and perf.rounds[-1].status == "submitted"),
                perf_pending_ext=[e for e in (perf.extensions or []) if e.status == "pending"] if perf else [])
    return view


async def render_job_page(request: Request, db: AsyncSession, job_no: str, status_code: int = 200,
                          **extra: Any) -> Template:
    """The notice; `extra` carries a form shown again with its errors."""
    job = await public_job(db, job_no)
    view = await notice_context(request, db, job)
    return await render_page(request, "marketplace/jobs/job.html", status_code=status_code, **view, **extra)


@get("/jobs", opt=roles(PUBLIC))
async def jobs_page(request: Request, db: DB, page: Page = 1, q: FromQuery[str | None] = None,
                    category: FromQuery[str | None] = None, method: FromQuery[str | None] = None,
                    district: FromQuery[str | None] = None, status: FromQuery[str | None] = None) -> Response | Template:
    """The list is the same for every visitor: its body is cached while no job changes (and until a badge
    on it reads differently by the clock: a publicity ending)."""

    async def build() -> Template:
        f = await job_filters(db, q=q, category=category, method=method, district=district, status=status,
                              statuses=PUBLIC_STATUSES)
        listing = await list_jobs(db, f, page=page, per_page=PER_PAGE)
        params = {"q": f.q, "category": f.category, "method": f.method, "district": f.district, "status": f.status}
        return await render_page(request, "marketplace/jobs/jobs.html", listing=listing, filters=params,
                                 statuses=PUBLIC_STATUSES,
                                 categories=await registry.list_categories(db, active_only=False),
                                 districts=await job_districts(db), pager_base=pager_base("/jobs", params))

    return await shared_page(request, topics=(JOB_PAGES,), build=build,
                             valid_until=lambda page: badge_changes_at(j for j, _c in page.context["listing"].items))


@get("/jobs/{job_no:str}", opt=roles(PUBLIC))
async def job_page(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    """A visitor's notice (no user, no `?receipt=`) is the same for every visitor: cached while no job
    changes and until the next time the job names (its deadline first), so a notice read before the
    deadline is never served after it, nor one before the opening after it."""
    if request.scope.get("user") is not None or request.url.query:
        return await render_job_page(request, db, job_no)
    return await shared_page(request, topics=(JOB_PAGES,), build=lambda: render_job_page(request, db, job_no),
                             valid_until=_clock_changes)


def _clock_changes(page: Template) -> Any:
    """When the notice would read differently by the clock alone: the next time its rows name."""
    ctx = page.context
    return next_moment(ctx["now"], ctx["job"], ctx.get("sel"), ctx.get("contract"))


@get("/jobs/{job_no:str}/attachments/{attachment_id:int}", opt=roles(PUBLIC), include_in_schema=False)
async def download_attachment(request: Request, db: DB, job_no: FromPath[str],
                              attachment_id: FromPath[int]) -> Response:
    """Attachments are public with the notice (drafts' only to their owner)."""
    job = await get_job(db, job_no)
    user = request.scope.get("user")
    if job.status == DRAFT and not (user and user.owner_id == job.owner_id):
        raise NotFound(_("No such job."))
    att, path = await attachments.attachment_file(db, job, attachment_id, request.app.state.settings.var_dir)
    return Response(path.read_bytes(), media_type=att.content_type, headers={
        "content-disposition": f"attachment; filename*=UTF-8''{urlquote(att.filename)}",
        "x-content-type-options": "nosniff"})


route_handlers = [jobs_page, job_page, download_attachment]
