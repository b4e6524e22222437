"""The public ranking: agencies by credit score, filtered by name, category, grade and list."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.forms import FilterCheck, contains
from marketplace.models import APPROVED, SUSPENDED, Agency, Qualification, ServiceCategory
from marketplace.services.registry import Listing
from ratings.domain.credit import GRADES, PROVISIONAL_BELOW
from ratings.models import AgencyCredit
from ratings.services.list_entries import LIST_KINDS

# The agencies that appear in public (ranking, profile, credit): approved or suspended.
PUBLIC_STATUSES = (APPROVED, SUSPENDED)


@dataclass(frozen=True)
class RankedAgency:
    rank: int
    agency: Agency
    credit: AgencyCredit
    provisional: bool


async def _category_codes(db: AsyncSession, code: str) -> tuple[str, ...]:
    """`(code,)` if a service category has this code, else `()`."""
    found = (await db.exec(select(ServiceCategory.id).where(ServiceCategory.code == code))).first()
    return (code,) if found else ()


async def rankings(db: AsyncSession, *, page: int, per_page: int, q: str | None, category: str | None,
                   grade: str | None, list_: str | None, check: FilterCheck | None = None) -> Listing:
    """One page of public agencies by score (then rating count, then id); an unknown filter value is a 400.

    Problems the caller noted in `check` (e.g. a search text too long) are reported with these."""
    check = check or FilterCheck()
    grade = check.choice("grade", grade, GRADES)
    list_ = check.choice("list", list_, LIST_KINDS)
    category = check.choice("category", category, await _category_codes(db, category) if category else ())
    check.done()
    stmt = (select(Agency, AgencyCredit).join(AgencyCredit, AgencyCredit.agency_id == Agency.id)
            .where(col(Agency.status).in_(PUBLIC_STATUSES)))
    if q:
        stmt = stmt.where(or_(contains(Agency.name, q), contains(Agency.credit_code, q)))
    if category:
        sub = (select(Qualification.agency_id).join(ServiceCategory, ServiceCategory.id == Qualification.category_id)
               .where(ServiceCategory.code == category, Qualification.status == APPROVED))
        stmt = stmt.where(col(Agency.id).in_(sub))
    if grade:
        stmt = stmt.where(AgencyCredit.grade == grade)
    if list_ == "red":
        stmt = stmt.where(AgencyCredit.red == True)  # noqa: E712
    if list_ == "black":
        stmt = stmt.where(AgencyCredit.black == True)  # noqa: E712
    total = (await db.exec(select(func.count()).select_from(stmt.subquery()))).one()
    # AgencyCredit.agency_id (= Agency.id by the join): the order of ix_agency_credit_ranking, one index scan.
    rows = (await db.exec(stmt.order_by(col(AgencyCredit.score).desc(), col(AgencyCredit.rating_count).desc(),
                                        col(AgencyCredit.agency_id)).offset((page - 1) * per_page)
                          .limit(per_page))).all()
    items = [RankedAgency(rank=(page - 1) * per_page + i + 1, agency=a, credit=c,
                          provisional=c.rating_count < PROVISIONAL_BELOW) for i, (a, c) in enumerate(rows)]
    return Listing(items, total, page, per_page)
