"""The regulator's queue of appeals against ratings and reviews."""

from __future__ import annotations

from sqlmodel import case, col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from marketplace.catalogue_models import Department
from marketplace.models import Agency, Job
from marketplace.services.registry import Listing
from ratings.models import Appeal, Rating, Review

APPEAL_STATUSES = ("open", "upheld", "dismissed")


async def appeal_queue(db: AsyncSession, status: str | None, page: int, per_page: int) -> Listing:
    """One page of appeals (of one status, or all with the open ones first), newest first, each with
    its rating or review and the review's department (the others None), job and agency."""
    stmt = (select(Appeal, Rating, Review, Department, Job, Agency).outerjoin(Rating, Rating.id == Appeal.rating_id)
            .outerjoin(Review, Review.id == Appeal.review_id).outerjoin(Department, Department.id == Review.department_id)
            .join(Job, Job.id == func.coalesce(Rating.job_id, Review.job_id))
            .join(Agency, Agency.id == Appeal.agency_id))
    if status:
        stmt = stmt.where(Appeal.status == status)
    total = (await db.exec(select(func.count()).select_from(stmt.subquery()))).one()
    open_first = case((Appeal.status == "open", 0), else_=1)
    rows = (await db.exec(stmt.order_by(open_first, col(Appeal.id).desc())
                          .offset((page - 1) * per_page).limit(per_page))).all()
    return Listing(list(rows), total, page, per_page)


async def appeals_with_status(db: AsyncSession, status: str, limit: int = 200) -> list[Appeal]:
    """The latest `limit` appeals of one status, newest first."""
    return list((await db.exec(select(Appeal).where(Appeal.status == status)
                               .order_by(col(Appeal.id).desc()).limit(limit))).all())
