"""What the marketplace may read from ratings: list bars and credit at a moment.

One small interface (STYLE: marketplace never reads ratings' tables directly).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from ratings.credit import DEFAULT_PARAMS, credit_grade, credit_score
from ratings.models import ListEntry, Violation


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
    return credit_grade(score)


async def credit_at(session: AsyncSession, agency_ids: list[int], at: datetime) -> dict[int, Decimal]:
    """Credit score of each agency as it stood at `at` (DESIGN "Ratings and credit").

    Ratings are not recorded yet, so each score is the prior m less the
    deductions of violations active at `at`; the formula is ratings.credit's.
    """
    if not agency_ids:
        return {}
    rows = (await session.exec(select(Violation.agency_id, Violation.severity, Violation.occurred_at).where(
        col(Violation.agency_id).in_(agency_ids), Violation.occurred_at <= at,
        Violation.occurred_at > at - timedelta(days=DEFAULT_PARAMS.violation_window_days)))).all()
    violations: dict[int, list] = {a: [] for a in agency_ids}
    for agency_id, severity, occurred_at in rows:
        violations[agency_id].append((severity, occurred_at))
    return {a: credit_score([], violations[a], at) for a in agency_ids}
