"""Reviewers of approving departments (审批部门) review the results of completed jobs (DESIGN "Ratings and credit").

A reviewer is a user with the role "reviewer" and a department; an administrator creates the account. It sees
the completed (or rated) jobs whose catalogue item is its department's, and reviews each once within 30 days of
completion: result quality (60 %) and compliance (40 %), 1–5 each, and a comment. The review's score joins the
owner's rating in the job's service score (ratings.domain.service_score), which the agency may appeal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of, new_user
from app.audit import append_event
from app.auth import CurrentUser
from app.clock import ensure_aware, utcnow
from app.errors import Conflict, Forbidden, InputError
from app.i18n import gettext as _
from app.models import User
from marketplace.catalogue_models import Department, ServiceItem
from marketplace.domain.due_dates import EVALUATION_WINDOW_DAYS
from marketplace.models import COMPLETED, RATED, Agency, Contract, Job
from marketplace.services.jobs import get_job
from marketplace.services.registry import Listing, notify
from ratings.domain.service_score import review_score
from ratings.models import Appeal, Review
from ratings.review_schemas import ReviewerIn, ReviewIn
from ratings.services.appeals import APPEAL_WINDOW_DAYS

REVIEW_WINDOW_DAYS = EVALUATION_WINDOW_DAYS  # from the job's completion, as the owner's rating
REVIEWABLE_STATES = (COMPLETED, RATED)


# ---- reviewer accounts (administrators) -----------------------------------------------------

async def active_departments(db: AsyncSession) -> list[Department]:
    return list((await db.exec(select(Department).where(col(Department.active).is_(True))
                               .order_by(col(Department.sort_order), col(Department.id)))).all())


async def reviewer_accounts(db: AsyncSession) -> list[tuple[User, Department | None]]:
    return list((await db.exec(select(User, Department).outerjoin(Department, Department.id == User.department_id)
                               .where(User.role == "reviewer").order_by(col(User.id)))).all())


async def create_reviewer(db: AsyncSession, actor: str, data: ReviewerIn) -> User:
    """A reviewer account of one approving department (by its code)."""
    dept = (await db.exec(select(Department).where(func.upper(Department.code) == data.department_code.upper(),
                                                   col(Department.active).is_(True)))).first()
    if dept is None:
        message = _("No such approving department.")
        raise InputError(message, fields={"department_code": message})
    user = await new_user(db, username=data.username, password=data.password, role="reviewer",
                          display_name=data.display_name)
    user.department_id = dept.id
    db.add(user)
    await append_event(db, actor=actor, kind="account.reviewer_created", subject=f"user:{user.username}",
                       data={"display_name": data.display_name, "department": dept.code})
    await db.commit()
    return user


# ---- who reviews what -----------------------------------------------------------------------

async def reviewer_department(db: AsyncSession, user: CurrentUser | None) -> Department | None:
    """The department of a signed-in reviewer (None for anyone else, or a reviewer without one)."""
    if user is None or user.role != "reviewer":
        return None
    row = await db.get(User, user.id)
    if row is None or row.department_id is None or not row.is_active:
        return None
    return await db.get(Department, row.department_id)


async def job_department_id(db: AsyncSession, job: Job) -> int | None:
    if job.item_id is None:
        return None
    item = await db.get(ServiceItem, job.item_id)
    return item.department_id if item else None


def review_due(job: Job) -> datetime:
    return ensure_aware(job.completed_at) + timedelta(days=REVIEW_WINDOW_DAYS)


@dataclass(frozen=True)
class ReviewableJob:
    """One job of the reviewer's department: its item, the agency, its review (if any) and until when."""

    job: Job
    item: ServiceItem
    agency: Agency
    review: Review | None
    due: datetime
    can_review: bool


def _department_jobs(dept_id: int):
    return (select(Job, ServiceItem, Agency, Review).join(ServiceItem, ServiceItem.id == Job.item_id)
            .join(Contract, Contract.job_id == Job.id).join(Agency, Agency.id == Contract.agency_id)
            .outerjoin(Review, Review.contract_id == Contract.id)
            .where(ServiceItem.department_id == dept_id, col(Job.status).in_(REVIEWABLE_STATES),
                   col(Job.completed_at).is_not(None)))


def to_review_query(dept_id: int, now: datetime):
    """The department's completed jobs still waiting for its review, soonest to close first (the workbench)."""
    return (_department_jobs(dept_id).where(col(Review.id).is_(None),
                                            col(Job.completed_at) >= now - timedelta(days=REVIEW_WINDOW_DAYS))
            .order_by(col(Job.completed_at), col(Job.id)))


async def reviewer_queue(db: AsyncSession, user: CurrentUser, page: int, per_page: int,
                         show: str = "open") -> tuple[Department, Listing]:
    """One page of the reviewer's department's completed jobs: `open` (still to review, soonest to close
    first) or `all` (newest completion first, reviewed and closed ones too)."""
    dept = await _own_department(db, user)
    now = utcnow()
    stmt = to_review_query(dept.id, now) if show == "open" else (
        _department_jobs(dept.id).order_by(col(Job.completed_at).desc(), col(Job.id).desc()))
    total = (await db.exec(select(func.count()).select_from(stmt.subquery()))).one()
    rows = (await db.exec(stmt.offset((page - 1) * per_page).limit(per_page))).all()
    items = [ReviewableJob(job, item, agency, review, review_due(job),
                           review is None and now <= review_due(job)) for job, item, agency, review in rows]
    return dept, Listing(items, total, page, per_page)


async def _own_department(db: AsyncSession, user: CurrentUser) -> Department:
    dept = await reviewer_department(db, user)
    if dept is None:
        raise Forbidden(_("Your account belongs to no approving department."))
    return dept


async def review_context(db: AsyncSession, user: CurrentUser, job_no: str) -> dict:
    """What the review form shows: the job, its item, agency, contract, the review given (if any) and why it
    cannot be reviewed (if so). Another department's job is refused (403)."""
    dept = await _own_department(db, user)
    job = await get_job(db, job_no)
    if await job_department_id(db, job) != dept.id:
        raise Forbidden(_("This job is not under an item of your department."))
    contract = (await db.exec(select(Contract).where(Contract.job_id == job.id))).first()
    item = await db.get(ServiceItem, job.item_id)
    agency = await db.get(Agency, contract.agency_id) if contract else None
    review = (await db.exec(select(Review).where(Review.job_id == job.id))).first()
    blocked = None
    if review is not None:
        blocked = _("This job's result has already been reviewed.")
    elif job.status not in REVIEWABLE_STATES or contract is None or job.completed_at is None:
        blocked = _("Only the result of a completed job can be reviewed.")
    elif utcnow() > review_due(job):
        blocked = _("The 30-day review period has ended.")
    return {"department": dept, "job": job, "item": item, "agency": agency, "contract": contract,
            "review": review, "blocked": blocked, "due": review_due(job) if job.completed_at else None}


async def review_job(db: AsyncSession, user: CurrentUser, job_no: str, data: ReviewIn) -> Review:
    """Record the department's review of a completed job's result (once, within 30 days of completion)."""
    view = await review_context(db, user, job_no)
    if view["blocked"]:
        raise Conflict(view["blocked"])
    job, contract, dept = view["job"], view["contract"], view["department"]
    score = review_score(data.result_quality, data.compliance)
    review = Review(contract_id=contract.id, job_id=job.id, agency_id=contract.agency_id, department_id=dept.id,
                    reviewer_user_id=user.id, result_quality=data.result_quality, compliance=data.compliance,
                    score=score, comment=data.comment)
    db.add(review)
    try:
        await db.flush()
    except IntegrityError:
        await db.rollback()
        raise Conflict(_("This job's result has already been reviewed.")) from None
    agency = view["agency"]
    await append_event(db, actor=actor_of(user), kind="review.recorded", subject=f"agency:{agency.credit_code}",
                       data={"job": job.job_no, "review_id": review.id, "department": dept.code,
                             "score": f"{score:.2f}", "result_quality": data.result_quality,
                             "compliance": data.compliance})
    await notify(db, agency_id=agency.id, kind="review.received", data={"job": job.job_no})
    await db.commit()
    return review


# ---- what others see --------------------------------------------------------------------------

@dataclass(frozen=True)
class ShownReview:
    """A review as the job page, the agency's pages and the profile show it (never the reviewer's name)."""

    review: Review
    department: Department
    job: Job
    appeal: Appeal | None = None

    @property
    def appeal_due(self) -> datetime:
        return ensure_aware(self.review.reviewed_at) + timedelta(days=APPEAL_WINDOW_DAYS)

    @property
    def can_appeal(self) -> bool:
        return self.review.voided_at is None and self.appeal is None and utcnow() <= self.appeal_due


def _shown():
    return (select(Review, Department, Job, Appeal).join(Department, Department.id == Review.department_id)
            .join(Job, Job.id == Review.job_id).outerjoin(Appeal, Appeal.review_id == Review.id))


async def review_of_job(db: AsyncSession, job_id: int) -> ShownReview | None:
    row = (await db.exec(_shown().where(Review.job_id == job_id))).first()
    return ShownReview(*row) if row else None


async def reviews_of_agency(db: AsyncSession, agency_id: int, limit: int = 50,
                            counted_only: bool = False) -> list[ShownReview]:
    """The agency's latest reviews (voided ones too unless `counted_only`), newest first."""
    stmt = _shown().where(Review.agency_id == agency_id)
    if counted_only:
        stmt = stmt.where(col(Review.voided_at).is_(None))
    rows = (await db.exec(stmt.order_by(col(Review.reviewed_at).desc(), col(Review.id).desc()).limit(limit))).all()
    return [ShownReview(*r) for r in rows]


async def review_summary(db: AsyncSession, agency_id: int) -> dict:
    """How many reviews count (voided ones do not) and their mean score, to 0.01."""
    count, avg = (await db.exec(select(func.count(), func.avg(Review.score)).where(
        Review.agency_id == agency_id, col(Review.voided_at).is_(None)))).one()
    return {"count": count, "score": avg}
