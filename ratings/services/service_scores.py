"""The service scores of agencies' rated jobs (ratings.domain.service_score over the rating and review tables):
the `sᵢ` of every credit computation in Python — the per-agency inputs the API publishes, and the credit at a
moment (a quote deadline). The set-based statement (ratings.services.scores_sql) computes the same in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import ensure_aware
from marketplace.catalogue_models import Department
from marketplace.models import Job
from marketplace.ports import JobEvaluation
from ratings.domain.credit import CreditParams
from ratings.domain.service_score import Evaluation, ServiceScore, service_score
from ratings.models import Rating, Review
from ratings.parameters import params_in_force


@dataclass(frozen=True)
class CountedJob:
    """One rated job of an agency: its rating and review (either may be absent) and its service score."""

    job_no: str
    rating: Rating | None
    review: Review | None
    department: Department | None
    service: ServiceScore


def _evaluation(score, at: datetime, voided_at: datetime | None) -> Evaluation:
    return Evaluation(score, ensure_aware(at), ensure_aware(voided_at) if voided_at else None)


async def counted_jobs(session: AsyncSession, agency_ids: list[int], params: CreditParams,
                       at: datetime | None = None, with_details: bool = False) -> dict[int, list[CountedJob]]:
    """Each agency's rated jobs with their service scores, oldest first: as they stand now (not voided), or
    as they stood at `at` (given by then, not voided by then). `with_details` also reads job numbers and
    departments (what the API publishes)."""
    out: dict[int, list[CountedJob]] = {a: [] for a in agency_ids}
    if not agency_ids:
        return out
    if at is None:
        alive = [col(Rating.voided_at).is_(None)], [col(Review.voided_at).is_(None)]
    else:
        alive = ([Rating.rated_at <= at, or_(col(Rating.voided_at).is_(None), col(Rating.voided_at) > at)],
                 [Review.reviewed_at <= at, or_(col(Review.voided_at).is_(None), col(Review.voided_at) > at)])
    ratings = (await session.exec(select(Rating).where(col(Rating.agency_id).in_(agency_ids), *alive[0]))).all()
    reviews = (await session.exec(select(Review).where(col(Review.agency_id).in_(agency_ids), *alive[1]))).all()
    by_contract: dict[int, list] = {}
    for r in ratings:
        by_contract.setdefault(r.contract_id, [None, None])[0] = r
    for v in reviews:
        by_contract.setdefault(v.contract_id, [None, None])[1] = v
    jobs: dict[int, str] = {}
    departments: dict[int, Department] = {}
    if with_details and by_contract:
        job_ids = {(r or v).job_id for r, v in by_contract.values()}
        jobs = dict((await session.exec(select(Job.id, Job.job_no).where(col(Job.id).in_(job_ids)))).all())
        dept_ids = {v.department_id for _, v in by_contract.values() if v is not None}
        if dept_ids:
            departments = {d.id: d for d in (await session.exec(
                select(Department).where(col(Department.id).in_(dept_ids)))).all()}
    for rating, review in by_contract.values():
        owner = _evaluation(rating.score, rating.rated_at, rating.voided_at) if rating else None
        dept = _evaluation(review.score, review.reviewed_at, review.voided_at) if review else None
        service = service_score(owner, dept, params.owner_weight, params.review_weight, as_of=at)
        if service is None:
            continue
        first = rating or review
        out[first.agency_id].append(CountedJob(jobs.get(first.job_id, ""), rating, review,
                                               departments.get(review.department_id) if review else None, service))
    for items in out.values():
        items.sort(key=lambda c: (c.service.at, (c.rating or c.review).contract_id))
    return out


async def job_evaluation(session: AsyncSession, job_id: int) -> JobEvaluation | None:
    """The job's rating and review with its service score now (under the weights in force), for its page."""
    rating = (await session.exec(select(Rating).where(Rating.job_id == job_id))).first()
    review = (await session.exec(select(Review).where(Review.job_id == job_id))).first()
    if rating is None and review is None:
        return None
    department = await session.get(Department, review.department_id) if review else None
    params = await params_in_force(session)
    owner = _evaluation(rating.score, rating.rated_at, rating.voided_at) if rating else None
    dept = _evaluation(review.score, review.reviewed_at, review.voided_at) if review else None
    service = service_score(owner, dept, params.owner_weight, params.review_weight)
    return JobEvaluation(
        rating_score=rating.score if rating else None, rated_at=rating.rated_at if rating else None,
        rating_voided_at=rating.voided_at if rating else None, review_score=review.score if review else None,
        reviewed_at=review.reviewed_at if review else None, review_voided_at=review.voided_at if review else None,
        department_zh=department.name_zh if department else "", department_en=department.name_en if department else "",
        review_comment=review.comment if review else "", service_score=service.score if service else None,
        owner_weight=params.owner_weight, review_weight=params.review_weight)
