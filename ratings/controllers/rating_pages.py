"""The owner rates a completed job; the agency sees its ratings, appeals one, and sees its credit."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import roles
from app.db import DB
from app.errors import DomainError, NotFound
from app.forms import parse
from app.i18n import gettext as _
from app.web import done, form_action, read_input
from ratings.controllers.page_helpers import PER_PAGE, Page, missing_is_404, recompute_then, render_page, user_of
from ratings.domain.credit import RATING_WEIGHTS
from ratings.schemas import AppealIn, RatingIn
from ratings.services.agency_ratings import received_ratings_page
from ratings.services.appeals import appeal_rating
from ratings.services.profiles import credit_record, own_agency, rating_summary
from ratings.services.rankings import PUBLIC_STATUSES
from ratings.services.rating_form import rating_form
from ratings.services.ratings import rate_job
from ratings.services.reviews import reviews_of_agency

STARS = (5, 4, 3, 2, 1)


# ---- owner: rate a completed job ------------------------------------------------------------

async def _rate_form(request: Request, db: AsyncSession, job_no: str, status_code: int | None = None,
                     **extra: Any) -> Template:
    view = await rating_form(db, user_of(request), job_no)
    if status_code is None:
        # A job that cannot be rated is a conflict; once rated, the page shows the rating given.
        status_code = 409 if view["blocked"] and view["rating"] is None else 200
    return await render_page(request, db, "ratings/rate.html", status_code=status_code, stars=STARS,
                             weights=RATING_WEIGHTS, **extra, **view)


@get("/owner/jobs/{job_no:str}/rate", opt=roles("owner"))
async def rate_page(request: Request, db: DB, job_no: FromPath[str]) -> Template:
    """The rating form of a completed job (1–5 on four criteria and a comment)."""
    return await _rate_form(request, db, job_no)


@post("/owner/jobs/{job_no:str}/rate", opt=roles("owner"))
async def rate_submit(request: Request, db: DB, job_no: FromPath[str]) -> Response | Template:
    data = await read_input(request)

    async def again(exc: DomainError) -> Template:
        return await _rate_form(request, db, job_no, exc.status_code, form=data, errors=exc.fields, error=exc.message)

    thanks = done(request, lambda rating: _("Thank you. Your rating ({score} of 100) was recorded.",
                                            score=f"{rating.score:.2f}"), f"/owner/jobs/{job_no}")
    return await form_action(db, lambda: rate_job(db, user_of(request), job_no, parse(RatingIn, data)),
                             recompute_then(request, thanks), again)


# ---- agency: my ratings, appeals, my credit ---------------------------------------------------

def _agency_id(request: Request) -> int:
    agency_id = user_of(request).agency_id
    if not agency_id:
        raise NotFound(_("No such agency."))
    return agency_id


async def _my_ratings(request: Request, db: AsyncSession, page: int = 1, status_code: int = 200,
                      **extra: Any) -> Template:
    listing = await received_ratings_page(db, _agency_id(request), page, PER_PAGE)
    reviews = await reviews_of_agency(db, _agency_id(request))
    return await render_page(request, db, "ratings/agency_ratings.html", status_code=status_code, listing=listing,
                             reviews=reviews, **extra)


@get("/agency/ratings", opt=roles("agency"))
async def my_ratings_page(request: Request, db: DB, page: Page = 1) -> Template:
    """My ratings, each with its criteria, comment and appeal (within 15 days, once)."""
    return await _my_ratings(request, db, page)


@post("/agency/ratings/{rating_id:int}/appeal", opt=roles("agency"))
async def appeal_submit(request: Request, db: DB, rating_id: FromPath[int]) -> Response | Template:
    data = await read_input(request)

    async def again(exc: DomainError) -> Template:
        return await _my_ratings(request, db, status_code=exc.status_code, error=exc.message, appeal_for=rating_id,
                                 appeal_form=data, appeal_errors=exc.fields)

    return await form_action(db, lambda: appeal_rating(db, user_of(request), rating_id, parse(AppealIn, data).reason),
                             done(request, _("Your appeal was filed. The regulator will decide on it."),
                                  "/agency/ratings"), missing_is_404(again))


@get("/agency/credit", opt=roles("agency"))
async def my_credit_page(request: Request, db: DB) -> Template:
    """My credit score, grade and list status, with what they are computed from."""
    agency = await own_agency(db, user_of(request))
    view = await credit_record(db, agency)
    return await render_page(request, db, "ratings/agency_credit.html", summary=await rating_summary(db, agency.id),
                             public=agency.status in PUBLIC_STATUSES, **view)


route_handlers = [rate_page, rate_submit, my_ratings_page, appeal_submit, my_credit_page]
