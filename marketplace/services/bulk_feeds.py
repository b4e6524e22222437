"""The batches of the bulk feeds (every draw record; the latest OCDS release of every published job),
read in id order so that a feed streams from a fresh session per batch."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from marketplace.models import DRAFT, Job, Selection
from marketplace.services.open_data import touched_since


async def drawn_jobs_after(db: AsyncSession, last_selection_id: int, limit: int) -> list[tuple[Selection, Job]]:
    """(selection, job) of the next `limit` selections after `last_selection_id`, oldest first."""
    return list((await db.exec(select(Selection, Job).join(Job, Job.id == Selection.job_id)
                               .where(Selection.id > last_selection_id).order_by(col(Selection.id))
                               .limit(limit))).all())


async def published_jobs_after(db: AsyncSession, last_job_id: int, since: datetime | None, limit: int) -> list[Job]:
    """The next `limit` published jobs after `last_job_id` (touched at or after `since`, if given), by id."""
    stmt = select(Job).where(Job.id > last_job_id, Job.status != DRAFT, col(Job.published_at).is_not(None))
    if since is not None:
        stmt = stmt.where(touched_since(since))
    return list((await db.exec(stmt.order_by(col(Job.id)).limit(limit))).all())
