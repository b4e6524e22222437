"""What the owner's rating form of a job shows: the contract, the agency, a rating given, and why not."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import CurrentUser
from app.clock import ensure_aware, utcnow
from app.i18n import gettext as _
from marketplace.models import COMPLETED, RATED, Agency, Contract
from marketplace.services.jobs import own_job
from ratings.models import Rating
from ratings.services.ratings import RATING_WINDOW_DAYS


async def rating_form(db: AsyncSession, user: CurrentUser, job_no: str) -> dict[str, Any]:
    """The owner's job (404 if not theirs), its contract, agency and rating, the rating deadline, and
    `blocked`: why the job cannot be rated now ("" if it can)."""
    job = await own_job(db, user, job_no)
    contract = (await db.exec(select(Contract).where(Contract.job_id == job.id))).first()
    agency = await db.get(Agency, contract.agency_id) if contract else None
    rating = (await db.exec(select(Rating).where(Rating.job_id == job.id))).first()
    due = ensure_aware(job.completed_at) + timedelta(days=RATING_WINDOW_DAYS) if job.completed_at else None
    now = utcnow()
    if job.status == RATED or rating is not None:
        blocked = _("This contract has already been rated.")
    elif job.status != COMPLETED or contract is None:
        blocked = _("Only a completed job can be rated.")
    elif due is not None and now > due:
        blocked = _("The 30-day rating period has ended.")
    else:
        blocked = ""
    return {"job": job, "contract": contract, "agency": agency, "rating": rating, "due": due, "blocked": blocked}
