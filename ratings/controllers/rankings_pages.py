"""Public pages of credit: the ranking with its formula, an agency's profile, the red and black lists."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import MediaType, Request, Response, get
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import PUBLIC, roles
from app.cached_pages import shared_page
from app.db import DB
from app.errors import InputError
from app.forms import FilterCheck
from app.i18n import get_locale
from app.i18n import gettext as _
from marketplace.models import APPROVED
from marketplace.services import registry
from marketplace.services.commitments import commitments_out
from marketplace.services.job_notices import JOB_PAGES
from ratings.controllers.page_helpers import (
    PER_PAGE,
    Page,
    pager_base,
    param_label,
    render_page,
)
from ratings.domain.credit import GRADES, PROVISIONAL_BELOW, RATING_WEIGHTS
from ratings.domain.service_score import REVIEW_WEIGHTS
from ratings.parameters import params_in_force
from ratings.services.list_entries import LIST_KINDS, public_lists
from ratings.services.profiles import (
    AGENCY_PAGES,
    JOBS_WON_LIMIT,
    credit_record,
    jobs_won,
    public_agency,
    rating_summary,
)
from ratings.services.rankings import rankings


def _formula(params: dict[str, Any]) -> list[str]:
    """The credit formula in words, with the platform's parameter values filled in."""
    w = RATING_WEIGHTS
    return [
        _("Each rating gives 1 to 5 points on quality ({q}%), timeliness ({t}%), fee compliance ({f}%) and "
          "service attitude ({a}%). Its score from 0 to 100 is (weighted mean − 1) ÷ 4 × 100.",
          q=w["quality"], t=w["timeliness"], f=w["fee_compliance"], a=w["attitude"]),
        _("The approving department of the job's catalogue item may review the result within the same 30 days: "
          "1 to 5 points on result quality ({q}%) and compliance ({c}%), scored by the same transform.",
          q=REVIEW_WEIGHTS["result_quality"], c=REVIEW_WEIGHTS["compliance"]),
        _("A job's service score is ({ow} × rating + {rw} × review) ÷ 100 when both exist, else the one that "
          "exists, rounded to 0.01 and dated by the rating (by the review where there is no rating). A voided "
          "rating or review (appeal upheld) does not count.", ow=params["owner_weight"], rw=params["review_weight"]),
        _("Credit score = (C × m + Σ wᵢ × sᵢ) ÷ (C + Σ wᵢ) − deductions, where sᵢ are the service scores of the "
          "agency's rated jobs, m = {m} is the prior score and C = {c} its weight in ratings.",
          m=params["prior_mean"], c=params["prior_weight"]),
        _("Older ratings count less: wᵢ = 0.5 ^ (age in days ÷ {h}), so a rating {h} days old counts half.",
          h=params["half_life_days"]),
        _("Each violation of the last {d} days deducts points: minor {minor}, major {major}, severe {severe} "
          "(a severe violation black-lists instead). The result is kept within 0–100 and rounded to 0.01.",
          d=params["violation_window_days"], minor=params["minor_deduction"], major=params["major_deduction"],
          severe=params["severe_deduction"]),
        _("Grades: A from {a}, B from {b}, C from {c}, D below {c}.",
          a=params["grade_a_min"], b=params["grade_b_min"], c=params["grade_c_min"]),
        _("Red list: score of at least {s}, at least {n} ratings in the last {d} days and no violation in the "
          "last {clean} days.", s=params["red_min_score"], n=params["red_min_ratings"],
          d=params["red_rating_window_days"], clean=params["red_clean_window_days"]),
        _("Black list: score below {s} with at least {n} ratings (barred from quoting for {m} months), or a "
          "severe violation ({sm} months). The regulator may lift an entry early with a reason.",
          s=params["black_score_below"], n=params["black_min_ratings"], m=params["black_months"],
          sm=params["black_severe_months"]),
        _("An agency with fewer than {n} ratings is marked provisional: its score is still mostly the prior.",
          n=PROVISIONAL_BELOW),
    ]


@get("/rankings", opt=roles(PUBLIC))
async def rankings_page(request: Request, db: DB, page: Page = 1, q: FromQuery[str | None] = None,
                        category: FromQuery[str | None] = None, grade: FromQuery[str | None] = None,
                        list_: Annotated[str | None, QueryParameter(name="list")] = None) -> Response | Template:
    """Agencies by credit score, with the formula and its parameters."""
    anonymous = request.scope.get("user") is None
    cache = request.app.state.ranking_cache
    credit_version = await cache.version.current(db)
    if not anonymous:
        # A signed-in visitor: the body is shared and cached, the header is this user's.
        return await shared_page(request, topics=(AGENCY_PAGES,), also=(credit_version,),
                                 build=lambda: _rankings(request, db, page, q, category, grade, list_))
    key = (get_locale(), str(request.url.query), credit_version)
    html = cache.get(key)
    if html is None:
        await db.rollback()  # hold no connection while waiting for another visitor's render
        async with cache.flight(key):
            html = cache.get(key)
            if html is None:
                resp = await _rankings(request, db, page, q, category, grade, list_)
                if resp.status_code != 200 or resp.context.get("flash"):
                    return resp
                html = request.app.template_engine.get_template(resp.template_name).render(**resp.context)
                cache.put(key, html)
    return Response(html, media_type=MediaType.HTML)


async def _rankings(request: Request, db: AsyncSession, page: int, q: str | None, category: str | None,
                    grade: str | None, list_: str | None) -> Template:
    categories = await registry.list_categories(db, active_only=False)
    filters = {"q": (q or "").strip(), "category": category or "", "grade": grade or "", "list": list_ or ""}
    p = await params_in_force(db)
    params = p.to_json()
    ctx: dict[str, Any] = dict(categories=categories, filters=filters, grades=GRADES, list_kinds=LIST_KINDS,
                               formula=_formula(params), parameters_json=params,
                               parameters=[(k, param_label(k), v) for k, v in params.items()])
    check = FilterCheck()
    text = check.text("q", q)
    try:
        listing = await rankings(db, page=page, per_page=PER_PAGE, q=text, category=category, grade=grade,
                                 list_=list_, check=check)
    except InputError as exc:
        return await render_page(request, db, "ratings/rankings.html", status_code=exc.status_code, params=p,
                                 error=exc.message, errors=exc.fields, listing=None, **ctx)
    return await render_page(request, db, "ratings/rankings.html", params=p, listing=listing,
                             pager_base=pager_base("/rankings", filters), **ctx)


@get("/agencies/{code:str}/profile", opt=roles(PUBLIC))
async def agency_profile_page(request: Request, db: DB, code: FromPath[str]) -> Response | Template:
    """Qualifications, credit, jobs won, ratings by criterion, violations and list history; the same for
    every visitor, cached while neither the agency's record nor the credit scores change."""
    credit_version = await request.app.state.ranking_cache.version.current(db)
    return await shared_page(request, topics=(AGENCY_PAGES, JOB_PAGES), also=(credit_version,),
                             build=lambda: _agency_profile(request, db, code))


async def _agency_profile(request: Request, db: AsyncSession, code: str) -> Template:
    agency = await public_agency(db, code)
    quals = [(q, c) for q, c in (await registry.qualifications_of(db, [agency.id]))[agency.id] if q.status == APPROVED]
    won, won_total = await jobs_won(db, agency.id)
    view = await credit_record(db, agency)
    commitments = (await commitments_out(db, agency.credit_code)).in_force
    return await render_page(request, db, "ratings/profile.html", quals=quals, won=won, won_total=won_total,
                             won_limit=JOBS_WON_LIMIT, summary=await rating_summary(db, agency.id),
                             commitments=commitments, **view)


@get("/lists", opt=roles(PUBLIC))
async def lists_page(request: Request, db: DB) -> Template:
    """The red list and the black list in force: reason, start and end of each entry."""
    return await render_page(request, db, "ratings/lists.html", lists=await public_lists(db), list_kinds=LIST_KINDS)


route_handlers = [rankings_page, agency_profile_page, lists_page]
