"""The regulator's queue of appeals against ratings."""

from __future__ import annotations

from sqlmodel import case, col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from marketplace.models import Agency, Job
from marketplace.services.registry import Listing
from ratings.models import Appeal, Rating

APPEAL_STATUSES = ("open", "upheld", "dismissed")


async def appeal_queue(db: AsyncSession, status: str | None, page: int, per_page: int) -> Listing:
    """One page of appeals (of one status, or all with the open ones first), newest first, each with
    its rating, job and agency."""
    stmt = (select(Appeal, Rating, Job, Agency).join(Rating, Rating.id == Appeal.rating_id)
            .join(Job, Job.id == Rating.job_id).join(Agency, Agency.id == Appeal.agency_id))
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
