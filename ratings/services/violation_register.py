"""The register of recorded violations, with what each deducts and whether it still does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import ensure_aware
from marketplace.models import Agency
from marketplace.services.registry import Listing
from ratings.domain.credit import CreditParams
from ratings.models import Violation


@dataclass(frozen=True)
class RecordedViolation:
    v: Violation
    agency: Agency
    deduction: Decimal
    active: bool  # within the violation window before `now`: it deducts


async def violation_register(db: AsyncSession, params: CreditParams, now: datetime, page: int,
                             per_page: int) -> Listing:
    """One page of violations, latest first."""
    window = timedelta(days=params.violation_window_days)
    stmt = select(Violation, Agency).join(Agency, Agency.id == Violation.agency_id)
    total = (await db.exec(select(func.count()).select_from(Violation))).one()
    rows = (await db.exec(stmt.order_by(col(Violation.occurred_at).desc(), col(Violation.id).desc())
                          .offset((page - 1) * per_page).limit(per_page))).all()
    items = [RecordedViolation(v=v, agency=a, deduction=params.deduction(v.severity),
                               active=now - window < ensure_aware(v.occurred_at) <= now) for v, a in rows]
    return Listing(items, total, page, per_page)
