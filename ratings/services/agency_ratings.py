"""The ratings an agency received, each with its appeal and whether it may still be appealed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import ensure_aware, utcnow
from marketplace.models import Job
from marketplace.services.registry import Listing
from ratings.models import Appeal, Rating
from ratings.services.appeals import APPEAL_WINDOW_DAYS


@dataclass(frozen=True)
class ReceivedRating:
    r: Rating
    job: Job
    appeal: Appeal | None
    appeal_due: datetime
    can_appeal: bool


async def received_ratings_page(db: AsyncSession, agency_id: int, page: int, per_page: int) -> Listing:
    """One page of the agency's ratings, newest first, with their appeals."""
    stmt = (select(Rating, Job, Appeal).join(Job, Job.id == Rating.job_id)
            .outerjoin(Appeal, Appeal.rating_id == Rating.id).where(Rating.agency_id == agency_id))
    total = (await db.exec(select(func.count()).select_from(Rating).where(Rating.agency_id == agency_id))).one()
    rows = (await db.exec(stmt.order_by(col(Rating.rated_at).desc(), col(Rating.id).desc())
                          .offset((page - 1) * per_page).limit(per_page))).all()
    now = utcnow()
    items = []
    for r, j, a in rows:
        appeal_due = ensure_aware(r.rated_at) + timedelta(days=APPEAL_WINDOW_DAYS)
        items.append(ReceivedRating(r=r, job=j, appeal=a, appeal_due=appeal_due,
                                    can_appeal=r.voided_at is None and a is None and now <= appeal_due))
    return Listing(items, total, page, per_page)


async def received_ratings(db: AsyncSession, agency_id: int | None) -> list[tuple[Rating, Job]]:
    """All the agency's ratings with their jobs, newest first (none without an agency)."""
    rows = (await db.exec(select(Rating, Job).join(Job, Job.id == Rating.job_id)
                          .where(Rating.agency_id == agency_id).order_by(col(Rating.id).desc()))).all()
    return list(rows)
