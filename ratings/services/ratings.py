"""Owners rate a completed service (DESIGN "Ratings and credit")."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.audit import append_event
from app.auth import CurrentUser
from app.clock import ensure_aware, utcnow
from app.errors import Conflict
from app.i18n import gettext as _
from marketplace.domain.due_dates import EVALUATION_WINDOW_DAYS
from marketplace.models import COMPLETED, RATED, Agency, Contract
from marketplace.services.awards import mark_rated
from marketplace.services.jobs import own_job
from marketplace.services.registry import notify
from ratings.domain.credit import rating_score
from ratings.models import Rating
from ratings.schemas import RatingIn

RATING_WINDOW_DAYS = EVALUATION_WINDOW_DAYS


async def rate_job(session: AsyncSession, user: CurrentUser, job_no: str, data: RatingIn) -> Rating:
    job = await own_job(session, user, job_no)
    contract = (await session.exec(select(Contract).where(Contract.job_id == job.id))).first()
    if job.status == RATED:
        raise Conflict(_("This contract has already been rated."))
    if job.status != COMPLETED or contract is None:
        raise Conflict(_("Only a completed job can be rated."))
    if utcnow() > ensure_aware(job.completed_at) + timedelta(days=RATING_WINDOW_DAYS):
        raise Conflict(_("The 30-day rating period has ended."))
    await mark_rated(session, job)
    score = rating_score(data.quality, data.timeliness, data.fee_compliance, data.attitude)
    rating = Rating(contract_id=contract.id, job_id=job.id, agency_id=contract.agency_id, owner_id=job.owner_id,
                    quality=data.quality, timeliness=data.timeliness, fee_compliance=data.fee_compliance,
                    attitude=data.attitude, score=score, comment=data.comment)
    session.add(rating)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict(_("This contract has already been rated.")) from None
    agency = await session.get(Agency, contract.agency_id)
    await append_event(session, actor=actor_of(user), kind="rating.recorded", subject=f"agency:{agency.credit_code}",
                       data={"job": job.job_no, "rating_id": rating.id, "score": f"{score:.2f}",
                             "quality": data.quality, "timeliness": data.timeliness,
                             "fee_compliance": data.fee_compliance, "attitude": data.attitude})
    await notify(session, agency_id=agency.id, kind="rating.received", data={"job": job.job_no})
    await session.commit()
    return rating
