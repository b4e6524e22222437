"""What the marketplace needs from credit, as a small port (DESIGN "Eligibility", "Selection methods").

The marketplace never reads or writes ratings' tables: it asks this port whether agencies
are black- or red-listed, for their credit standing at a quote deadline (best_value and
random_weighted), records a refusal to sign or an overdue service, and reads a job's evaluations for its
page. `ratings` implements it
(`ratings.services.standing.CreditStanding`) and the composition root (app.main) wires it
with `use_credit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession


@dataclass(frozen=True)
class Standing:
    """An agency's credit as it stood at a moment."""

    score: Decimal
    grade: str          # A, B, C or D under the parameters in force
    red_listed: bool


@dataclass(frozen=True)
class ViolationRef:
    """A violation recorded against an agency, as the marketplace may show it (complaints link one)."""

    id: int
    severity: str       # minor, major or severe
    kind: str
    description: str
    occurred_at: datetime


@dataclass(frozen=True)
class JobEvaluation:
    """A completed job's evaluations as its public page shows them (DESIGN "Ratings and credit"): the owner's
    rating and the approving department's review as 0–100 scores, each with when it was given and, if an appeal
    against it was upheld, when it was voided; the review's department and comment; and the job's service score
    with the weights that made it (None when neither evaluation counts)."""

    rating_score: Decimal | None
    rated_at: datetime | None
    rating_voided_at: datetime | None
    review_score: Decimal | None
    reviewed_at: datetime | None
    review_voided_at: datetime | None
    department_zh: str
    department_en: str
    review_comment: str
    service_score: Decimal | None
    owner_weight: int
    review_weight: int


class CreditPort(Protocol):
    async def black_listed(self, session: AsyncSession, agency_ids: list[int], at: datetime) -> set[int]:
        """Agencies with a black-list entry in force at `at` (they may not quote)."""
        ...

    async def standing_at(self, session: AsyncSession, agency_ids: list[int], at: datetime) -> dict[int, Standing]:
        """Score, grade and red-list status of each agency at `at`."""
        ...

    async def record_refusal(self, session: AsyncSession, *, agency_id: int, job_id: int, job_no: str,
                             reason: str, actor: str) -> str:
        """Record that the winner refused to sign (a violation, in the caller's transaction); returns its severity."""
        ...

    async def record_overdue_service(self, session: AsyncSession, *, agency_id: int, job_id: int, job_no: str,
                                     days_late: int, actor: str) -> None:
        """Record a `minor` "overdue service" violation with the days late (in the caller's transaction)."""
        ...

    async def violations_of(self, session: AsyncSession, agency_id: int) -> list[ViolationRef]:
        """The agency's recorded violations, newest first."""
        ...

    async def record_violation_for(self, session: AsyncSession, *, agency_id: int, severity: str, kind: str,
                                   description: str, evidence: str, actor: str, job_id: int | None,
                                   event: dict) -> ViolationRef:
        """Record a violation a regulator found (e.g. concluding an upheld complaint) with its audit event
        (`event` is its data, the violation's id added) and the agency's notice, in the caller's transaction."""
        ...

    async def evaluation_of(self, session: AsyncSession, job_id: int) -> JobEvaluation | None:
        """The job's rating, review and service score as they stand now; None before either exists."""
        ...


_credit: CreditPort | None = None


def use_credit(port: CreditPort) -> None:
    """Wire the credit port (the composition root does, once)."""
    global _credit
    _credit = port


def credit() -> CreditPort:
    """The wired credit port."""
    if _credit is None:
        raise RuntimeError("the credit port is not wired: import app.main (the composition root) first")
    return _credit
