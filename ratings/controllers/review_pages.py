"""Reviews by approving departments (审批部门): the reviewer's list and form, administrators' reviewer accounts,
the agency's reviews and their appeals, and the JSON API of the same."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.api_docs import body
from app.auth import PUBLIC, roles
from app.canonical import format_time
from app.clock import ensure_aware
from app.db import DB
from app.errors import DomainError, NotFound
from app.forms import FilterCheck, parse
from app.i18n import gettext as _
from app.web import done, form_action, read_input
from marketplace.services.jobs import public_job
from ratings.controllers.page_helpers import (
    PER_PAGE,
    Page,
    PerPage,
    department_name,
    missing_is_404,
    recompute_later,
    recompute_then,
    render_page,
    user_of,
)
from ratings.controllers.rating_pages import STARS
from ratings.controllers.rating_pages import _my_ratings as my_ratings
from ratings.domain.service_score import REVIEW_WEIGHTS
from ratings.review_schemas import ReviewerIn, ReviewIn
from ratings.schemas import (
    AppealIn,
    AppealStateOut,
    ReceivedReviewOut,
    ReviewerOut,
    ReviewGivenOut,
    ReviewQueueItemOut,
)
from ratings.services.appeals import appeal_review
from ratings.services.reviews import (
    ShownReview,
    active_departments,
    create_reviewer,
    review_context,
    review_job,
    review_of_job,
    reviewer_accounts,
    reviewer_queue,
    reviews_of_agency,
)

SHOW = ("open", "all")


# ---- reviewer: the department's completed jobs, the review form ------------------------------

def _show(show: str | None) -> str:
    check = FilterCheck()
    wanted = check.choice("show", show, SHOW) or "open"
    check.done()
    return wanted


@get("/reviewer", opt=roles("reviewer"))
async def reviewer_page(request: Request, db: DB, page: Page = 1, show: FromQuery[str | None] = None) -> Template:
    """The completed jobs under the department's catalogue items: those still to review (within 30 days of
    completion), or all of them."""
    wanted = _show(show)
    dept, listing = await reviewer_queue(db, user_of(request), page, PER_PAGE, wanted)
    return await render_page(request, db, "ratings/reviews.html", department=dept, listing=listing, show=wanted,
                             pager_base=f"/reviewer?show={wanted}&")


async def _review_form(request: Request, db: AsyncSession, job_no: str, status_code: int | None = None,
                       **extra: Any) -> Template:
    view = await review_context(db, user_of(request), job_no)
    if status_code is None:
        status_code = 409 if view["blocked"] and view["review"] is None else 200
    return await render_page(request, db, "ratings/review.html", status_code=status_code, stars=STARS,
                             weights=REVIEW_WEIGHTS, form=extra.pop("form", {}), errors=extra.pop("errors", {}),
                             **extra, **view)


@get("/reviewer/jobs/{job_no:str}/review", opt=roles("reviewer"))
async def review_page(request: Request, db: DB, job_no: FromPath[str]) -> Template:
    """The review form of a completed job of the department (1–5 on two criteria and a comment)."""
    return await _review_form(request, db, job_no)


@post("/reviewer/jobs/{job_no:str}/review", opt=roles("reviewer"))
async def review_submit(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    data = await read_input(request)

    async def again(exc: DomainError) -> Template:
        if exc.status_code in (403, 404):
            raise exc
        return await _review_form(request, db, job_no, exc.status_code, form=data, errors=exc.fields or {},
                                  error=exc.message)

    thanks = done(request, lambda review: _("Thank you. Your review ({score} of 100) was recorded.",
                                            score=f"{review.score:.2f}"), f"/reviewer/jobs/{job_no}/review")
    return await form_action(db, lambda: review_job(db, user_of(request), job_no, parse(ReviewIn, data)),
                             recompute_then(request, thanks), again)


# ---- administrators: reviewer accounts -------------------------------------------------------

async def _reviewers(request: Request, db: AsyncSession, status_code: int = 200, **extra: Any) -> Template:
    return await render_page(request, db, "ratings/admin_reviewers.html", status_code=status_code,
                             reviewers=await reviewer_accounts(db), departments=await active_departments(db),
                             form=extra.pop("form", {}), errors=extra.pop("errors", {}), **extra)


@get("/admin/reviewers", opt=roles("admin"))
async def reviewers_page(request: Request, db: DB) -> Template:
    """Reviewer accounts, each of one approving department; a form for a new one."""
    return await _reviewers(request, db)


@post("/admin/reviewers", opt=roles("admin"))
async def reviewers_create(request: Request, db: DB) -> Response | Template:
    data = await read_input(request)

    async def again(exc: DomainError) -> Template:
        form = {k: v for k, v in data.items() if k != "password"}
        return await _reviewers(request, db, exc.status_code, form=form, errors=exc.fields or {}, error=exc.message)

    return await form_action(db, lambda: create_reviewer(db, actor_of(user_of(request)), parse(ReviewerIn, data)),
                             done(request, lambda u: _("Reviewer account {name} created.", name=u.username),
                                  "/admin/reviewers"), again)


# ---- agency: appeal a review -------------------------------------------------------------------

@post("/agency/reviews/{review_id:int}/appeal", opt=roles("agency"))
async def review_appeal_submit(request: Request, db: DB, review_id: FromPath[int]) -> Response | Template:
    data = await read_input(request)

    async def again(exc: DomainError) -> Template:
        return await my_ratings(request, db, status_code=exc.status_code, error=exc.message,
                                 review_appeal_for=review_id, appeal_form=data, appeal_errors=exc.fields)

    return await form_action(db, lambda: appeal_review(db, user_of(request), review_id, parse(AppealIn, data).reason),
                             done(request, _("Your appeal was filed. The regulator will decide on it."),
                                  "/agency/ratings"), missing_is_404(again))


# ---- JSON API --------------------------------------------------------------------------------

def _iso(at) -> str:
    return format_time(ensure_aware(at))


def received_review_out(shown: ShownReview) -> ReceivedReviewOut:
    v = shown.review
    return ReceivedReviewOut(id=v.id, job_id=shown.job.job_no, department=shown.department.code,
                             department_name=department_name(shown.department), score=f"{v.score:.2f}",
                             result_quality=v.result_quality, compliance=v.compliance, comment=v.comment,
                             reviewed_at=_iso(v.reviewed_at), voided=v.voided_at is not None,
                             appeal_status=shown.appeal.status if shown.appeal else None)


@get("/api/reviewer/jobs", opt=roles("reviewer"))
async def api_reviewer_jobs(request: Request, db: DB, page: Page = 1, per_page: PerPage = 20,
                            show: FromQuery[str | None] = None) -> list[ReviewQueueItemOut]:
    """The department's completed jobs: `show=open` (default: still to review) or `all`."""
    _dept, listing = await reviewer_queue(db, user_of(request), page, per_page, _show(show))
    return [ReviewQueueItemOut(job_id=it.job.job_no, title=it.job.title, item_code=it.item.code,
                               agency_code=it.agency.credit_code, agency_name=it.agency.name,
                               completed_at=_iso(it.job.completed_at), review_due=_iso(it.due),
                               can_review=it.can_review,
                               review_score=f"{it.review.score:.2f}" if it.review else None)
            for it in listing.items]


@post("/api/reviewer/jobs/{job_no:str}/review", opt=roles("reviewer"), status_code=201,
      operation_class=body(ReviewIn))
async def api_review(request: Request, db: DB, job_no: FromPath[str]) -> ReviewGivenOut:
    """Body: `{"result_quality", "compliance"}` (1–5 each) and `"comment"`; once per job, within 30 days of its
    completion, by a reviewer of the department of the job's catalogue item."""
    review = await review_job(db, user_of(request), job_no, parse(ReviewIn, await read_input(request)))
    await recompute_later(request, review.agency_id)
    return ReviewGivenOut.of(review, job_no)


@get("/api/jobs/{job_no:str}/review", opt=roles(PUBLIC))
async def api_job_review(db: DB, job_no: FromPath[str]) -> ReceivedReviewOut:
    """The approving department's review of the job's result (score, criteria, comment; not the reviewer)."""
    job = await public_job(db, job_no)
    shown = await review_of_job(db, job.id)
    if shown is None:
        raise NotFound(_("This job has no review."))
    return received_review_out(shown)


@get("/api/agency/reviews", opt=roles("agency"))
async def api_my_reviews(request: Request, db: DB) -> list[ReceivedReviewOut]:
    """The reviews my agency's results received, newest first (voided ones too)."""
    agency_id = user_of(request).agency_id
    if not agency_id:
        return []
    return [received_review_out(s) for s in await reviews_of_agency(db, agency_id, limit=500)]


@post("/api/agency/reviews/{review_id:int}/appeal", opt=roles("agency"), status_code=201,
      operation_class=body(AppealIn))
async def api_review_appeal(request: Request, db: DB, review_id: FromPath[int]) -> AppealStateOut:
    """Body: `{"reason"}`; within 15 days of the review, once."""
    appeal = await appeal_review(db, user_of(request), review_id, parse(AppealIn, await read_input(request)).reason)
    return AppealStateOut.of(appeal)


@post("/api/admin/reviewers", opt=roles("admin"), status_code=201, operation_class=body(ReviewerIn))
async def api_reviewer_create(request: Request, db: DB) -> ReviewerOut:
    """Body: ReviewerIn — username, password, display_name, department_code (e.g. `ECO`)."""
    data = parse(ReviewerIn, await read_input(request))
    user = await create_reviewer(db, actor_of(user_of(request)), data)
    return ReviewerOut(id=user.id, username=user.username, role=user.role, department=data.department_code.upper())


route_handlers = [reviewer_page, review_page, review_submit, reviewers_page, reviewers_create, review_appeal_submit,
                  api_reviewer_jobs, api_review, api_job_review, api_my_reviews, api_review_appeal,
                  api_reviewer_create]
