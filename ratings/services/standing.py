"""Ratings' side of the marketplace's credit port (marketplace.ports.CreditPort).

List bars and credit at a moment, and recording a refusal to sign: the marketplace
never reads or writes ratings' tables itself. `CREDIT` is the implementation the
composition root wires.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from marketplace.models import Agency
from marketplace.ports import JobEvaluation, Standing, ViolationRef
from marketplace.services.registry import notify
from ratings.domain.credit import CreditParams, credit_grade, credit_score
from ratings.models import ListEntry, Violation
from ratings.parameters import params_in_force
from ratings.services.service_scores import counted_jobs, job_evaluation
from ratings.services.violations import add_violation, record_overdue_service, record_refusal


async def black_listed(session: AsyncSession, agency_ids: list[int], at: datetime) -> set[int]:
    """Agencies with a black-list entry in force at `at`."""
    return await _listed(session, agency_ids, at, "black")


async def red_listed(session: AsyncSession, agency_ids: list[int], at: datetime) -> set[int]:
    """Agencies with a red-list entry in force at `at` (weight 4 in `random_weighted`)."""
    return await _listed(session, agency_ids, at, "red")


async def _listed(session: AsyncSession, agency_ids: list[int], at: datetime, kind: str) -> set[int]:
    if not agency_ids:
        return set()
    rows = (await session.exec(select(ListEntry.agency_id).where(
        col(ListEntry.agency_id).in_(agency_ids), ListEntry.kind == kind, ListEntry.starts_at <= at,
        or_(col(ListEntry.ends_at).is_(None), col(ListEntry.ends_at) > at),
        or_(col(ListEntry.lifted_at).is_(None), col(ListEntry.lifted_at) > at),
    ))).all()
    return set(rows)


def grade_of(score: Decimal, params: CreditParams) -> str:
    return credit_grade(score, params)


async def credit_params(session: AsyncSession) -> CreditParams:
    """The credit formula's parameters in force (platform settings)."""
    return await params_in_force(session)


async def credit_at(session: AsyncSession, agency_ids: list[int], at: datetime,
                    params: CreditParams | None = None) -> dict[int, Decimal]:
    """Credit score of each agency as it stood at `at` (DESIGN "Ratings and credit").

    Service scores of the ratings and reviews given by `at` and not voided by then
    (ratings.services.service_scores), and violations up to `at`,
    through ratings.credit's formula: what best_value and random_weighted use
    at a quote deadline.
    """
    if not agency_ids:
        return {}
    p = params or await params_in_force(session)
    jobs = await counted_jobs(session, agency_ids, p, at=at)
    violations = (await session.exec(select(Violation.agency_id, Violation.severity, Violation.occurred_at).where(
        col(Violation.agency_id).in_(agency_ids), Violation.occurred_at <= at,
        Violation.occurred_at > at - timedelta(days=p.violation_window_days)))).all()
    by_rating = {a: [(c.service.score, c.service.at) for c in jobs[a]] for a in agency_ids}
    by_violation: dict[int, list] = {a: [] for a in agency_ids}
    for agency_id, severity, occurred_at in violations:
        by_violation[agency_id].append((severity, occurred_at))
    return {a: credit_score(by_rating[a], by_violation[a], at, p) for a in agency_ids}


class CreditStanding:
    """The credit port as ratings implements it."""

    async def black_listed(self, session: AsyncSession, agency_ids: list[int], at: datetime) -> set[int]:
        return await black_listed(session, agency_ids, at)

    async def standing_at(self, session: AsyncSession, agency_ids: list[int], at: datetime) -> dict[int, Standing]:
        params = await credit_params(session)
        scores = await credit_at(session, agency_ids, at, params)
        red = await red_listed(session, agency_ids, at)
        return {a: Standing(score=scores[a], grade=grade_of(scores[a], params), red_listed=a in red)
                for a in agency_ids}

    async def record_refusal(self, session: AsyncSession, *, agency_id: int, job_id: int, job_no: str,
                             reason: str, actor: str) -> str:
        return await record_refusal(session, agency_id=agency_id, job_id=job_id, job_no=job_no, reason=reason,
                                    actor=actor)

    async def record_overdue_service(self, session: AsyncSession, *, agency_id: int, job_id: int, job_no: str,
                                     days_late: int, actor: str) -> None:
        await record_overdue_service(session, agency_id=agency_id, job_id=job_id, job_no=job_no,
                                     days_late=days_late, actor=actor)

    async def violations_of(self, session: AsyncSession, agency_id: int) -> list[ViolationRef]:
        rows = (await session.exec(select(Violation).where(Violation.agency_id == agency_id)
                                   .order_by(col(Violation.occurred_at).desc(), col(Violation.id).desc()))).all()
        return [_ref(v) for v in rows]

    async def record_violation_for(self, session: AsyncSession, *, agency_id: int, severity: str, kind: str,
                                   description: str, evidence: str, actor: str, job_id: int | None,
                                   event: dict) -> ViolationRef:
        agency = await session.get(Agency, agency_id)
        v = await add_violation(session, agency, severity=severity, kind=kind, description=description,
                                evidence=evidence, recorded_by=actor, job_id=job_id,
                                event=lambda v: {"violation_id": v.id, "severity": severity, "kind": kind, **event})
        await notify(session, agency_id=agency_id, kind="violation.recorded", data={"reason": description})
        return _ref(v)

    async def evaluation_of(self, session: AsyncSession, job_id: int) -> JobEvaluation | None:
        return await job_evaluation(session, job_id)


def _ref(v: Violation) -> ViolationRef:
    return ViolationRef(id=v.id, severity=v.severity, kind=v.kind, description=v.description,
                        occurred_at=v.occurred_at)


CREDIT = CreditStanding()
