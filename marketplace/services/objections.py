"""Objections as the regulator reviews them: the listing (open ones first) with the quote each is
against, and the API's recent list."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from marketplace.models import Agency, Job, Objection, Quote
from marketplace.schemas import ObjectionOut
from marketplace.services.job_notices import iso
from marketplace.services.registry import Listing

OBJECTION_STATUSES = ("open", "upheld", "dismissed")


@dataclass
class ObjectionListing:
    listing: Listing                          # (Objection, Job, objecting Agency) rows
    against: dict[str, tuple[Quote, Agency]]  # quote id -> the quote objected to and its agency


async def objection_listing(db: AsyncSession, status: str | None, page: int, per_page: int) -> ObjectionListing:
    """Objections (of one status, or all), open ones first, newest first."""
    stmt = (select(Objection, Job, Agency).join(Job, Job.id == Objection.job_id)
            .join(Agency, Agency.id == Objection.agency_id))
    if status:
        stmt = stmt.where(Objection.status == status)
    total = (await db.exec(select(func.count()).select_from(stmt.subquery()))).one()
    open_first = case((Objection.status == "open", 0), else_=1)
    rows = (await db.exec(stmt.order_by(open_first, col(Objection.id).desc())
                          .offset((page - 1) * per_page).limit(per_page))).all()
    against: dict[str, tuple[Quote, Agency]] = {}
    ids = {int(o.against_quote_id) for o, _j, _a in rows if o.against_quote_id.isdigit()}
    if ids:
        for quote, agency in (await db.exec(select(Quote, Agency).join(Agency, Agency.id == Quote.agency_id)
                                            .where(col(Quote.id).in_(ids)))).all():
            against[str(quote.id)] = (quote, agency)
    return ObjectionListing(Listing(list(rows), total, page, per_page), against)


async def recent_objections(db: AsyncSession, status: str | None, limit: int = 200) -> list[ObjectionOut]:
    """The latest objections (of one status, or all), newest first."""
    stmt = select(Objection, Job).join(Job, Job.id == Objection.job_id).order_by(col(Objection.id).desc()).limit(limit)
    if status:
        stmt = stmt.where(Objection.status == status)
    return [ObjectionOut(id=o.id, job_id=j.job_no, against_quote_id=o.against_quote_id, reason=o.reason,
                         status=o.status, decision_reason=o.decision_reason, created_at=iso(o.created_at))
            for o, j in (await db.exec(stmt)).all()]
