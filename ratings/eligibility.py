"""What the marketplace may read from ratings: list bars and credit at a moment.

One small interface (STYLE: marketplace never reads ratings' tables directly).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ratings.models import ListEntry, Violation

PRIOR_SCORE = Decimal("80.00")
DEDUCTIONS = {"minor": Decimal("5"), "major": Decimal("20"), "severe": Decimal("0")}
GRADE_THRESHOLDS = ((Decimal("90"), "A"), (Decimal("75"), "B"), (Decimal("60"), "C"))


async def black_listed(session: AsyncSession, agency_ids: list[int], at: datetime) -> set[int]:
    """Agencies with a black-list entry in force at `at`."""
    if not agency_ids:
        return set()
    rows = (await session.exec(select(ListEntry.agency_id).where(
        col(ListEntry.agency_id).in_(agency_ids), ListEntry.kind == "black", ListEntry.starts_at <= at,
        or_(col(ListEntry.ends_at).is_(None), col(ListEntry.ends_at) > at),
        or_(col(ListEntry.lifted_at).is_(None), col(ListEntry.lifted_at) > at),
    ))).all()
    return set(rows)


def grade_of(score: Decimal) -> str:
    for threshold, grade in GRADE_THRESHOLDS:
        if score >= threshold:
            return grade
    return "D"


async def credit_at(session: AsyncSession, agency_ids: list[int], at: datetime) -> dict[int, Decimal]:
    """Credit score of each agency as it stood at `at` (DESIGN "Ratings and credit").

    Until ratings are recorded every agency stands at the prior m = 80, less
    the deductions of violations active in the 12 months before `at`.
    """
    scores = {a: PRIOR_SCORE for a in agency_ids}
    if not agency_ids:
        return scores
    rows = (await session.exec(select(Violation.agency_id, Violation.severity).where(
        col(Violation.agency_id).in_(agency_ids), Violation.occurred_at <= at,
        Violation.occurred_at > at - timedelta(days=365)))).all()
    for agency_id, severity in rows:
        scores[agency_id] = max(Decimal("0.00"), scores[agency_id] - DEDUCTIONS.get(severity, Decimal("0")))
    return scores
