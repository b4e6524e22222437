"""An agency's public record: its credit and what it is computed from, jobs won, ratings by criterion,
violations and list history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import String, cast
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import CurrentUser
from app.clock import ensure_aware, utcnow
from app.errors import NotFound
from app.i18n import gettext as _
from app.page_cache import watch
from marketplace.models import Agency, Job, Quote, Selection, ServiceCategory
from marketplace.services import registry
from ratings.domain.credit import CENT, PROVISIONAL_BELOW, RATING_CRITERIA, CreditParams
from ratings.models import AgencyCredit, ListEntry, Rating, Violation
from ratings.parameters import params_in_force
from ratings.services.list_entries import in_force
from ratings.services.rankings import PUBLIC_STATUSES
from ratings.services.recompute import inputs_of
from ratings.services.reviews import review_summary, reviews_of_agency
from ratings.services.savings_report import AWARDED_STATES
from ratings.services.service_scores import CountedJob

JOBS_WON_LIMIT = 100
REVIEWS_SHOWN = 20
AGENCY_PAGES = "agencies"  # the cache topic of the public credit pages: profiles, rankings, savings

# What an agency's public record is read from (with the job pages' tables, `JOB_PAGES`): a write to any
# of these moves the version of the cached profile, ranking and savings bodies (app/page_cache.py).
watch(AGENCY_PAGES, ["agency", "qualification", "service_category", "agency_credit", "rating", "rating_appeal",
                     "review", "violation", "list_entry", "commitment", "platform_setting", "department",
                     "service_item", "owner_org"])


async def public_agency(db: AsyncSession, code: str) -> Agency:
    """The agency with this credit code (any case) if the public may see it; 404 otherwise."""
    if len(code) > 18:
        raise NotFound(_("No such agency."))
    agency = await registry.get_agency_by_code(db, code)
    if agency.status not in PUBLIC_STATUSES:
        raise NotFound(_("No such agency."))
    return agency


async def own_agency(db: AsyncSession, user: CurrentUser) -> Agency:
    """The agency of the signed-in agency user; 404 if there is none."""
    agency = await db.get(Agency, user.agency_id) if user.agency_id else None
    if agency is None:
        raise NotFound(_("No such agency."))
    return agency


async def jobs_won(db: AsyncSession, agency_id: int) -> tuple[list[tuple[Job, Quote, ServiceCategory]], int]:
    """The latest JOBS_WON_LIMIT jobs awarded to the agency, and how many it won in all."""
    stmt = (select(Job, Quote, ServiceCategory)
            .join(Selection, Selection.job_id == Job.id)
            .join(Quote, cast(Quote.id, String) == Selection.winner_quote_id)
            .join(ServiceCategory, ServiceCategory.id == Job.category_id)
            .where(Quote.agency_id == agency_id, col(Job.status).in_(AWARDED_STATES)))
    total = (await db.exec(select(func.count()).select_from(stmt.subquery()))).one()
    rows = (await db.exec(stmt.order_by(col(Job.awarded_at).desc(), col(Job.id).desc()).limit(JOBS_WON_LIMIT))).all()
    return list(rows), total


async def rating_summary(db: AsyncSession, agency_id: int) -> dict[str, Any]:
    """How many ratings count (voided ones do not) and their mean per criterion and score, to 0.01."""
    row = (await db.exec(select(func.count(), func.avg(Rating.quality), func.avg(Rating.timeliness),
                                func.avg(Rating.fee_compliance), func.avg(Rating.attitude), func.avg(Rating.score))
                         .where(Rating.agency_id == agency_id, col(Rating.voided_at).is_(None)))).one()
    count, *avgs = row
    keys = (*RATING_CRITERIA, "score")
    return {"count": count, **{k: (None if v is None else Decimal(str(v)).quantize(CENT)) for k, v in zip(keys, avgs)}}


async def credit_record(db: AsyncSession, agency: Agency) -> dict[str, Any]:
    """Score, grade, list status, violations and list history of one agency (what the public sees)."""
    now = utcnow()
    credit = await db.get(AgencyCredit, agency.id)
    p = await params_in_force(db)
    window = timedelta(days=p.violation_window_days)
    violations = (await db.exec(select(Violation).where(Violation.agency_id == agency.id)
                                .order_by(col(Violation.occurred_at).desc(), col(Violation.id).desc()))).all()
    entries = (await db.exec(select(ListEntry).where(ListEntry.agency_id == agency.id)
                             .order_by(col(ListEntry.starts_at).desc(), col(ListEntry.id).desc()))).all()
    return {
        "agency": agency, "credit": credit, "now": now, "params": p,
        "provisional": (credit.rating_count if credit else 0) < PROVISIONAL_BELOW,
        "violations": [{"v": v, "deduction": p.deduction(v.severity),
                        "active": now - window < ensure_aware(v.occurred_at) <= now} for v in violations],
        "entries": [{"e": e, "in_force": in_force(e, now)} for e in entries],
        "red_now": any(e.kind == "red" and in_force(e, now) for e in entries),
        "black_now": any(e.kind == "black" and in_force(e, now) for e in entries),
        "reviews": await reviews_of_agency(db, agency.id, limit=REVIEWS_SHOWN),
        "review_summary": await review_summary(db, agency.id),
    }


@dataclass(frozen=True)
class CreditInputs:
    """Everything an agency's published score is computed from, as of `now`."""

    agency: Agency
    credit: AgencyCredit | None
    ratings: list[CountedJob]  # one per rated job, with its service score
    violations: list[Violation]
    entries: list[ListEntry]
    params: CreditParams
    now: datetime

    @property
    def provisional(self) -> bool:
        return (self.credit.rating_count if self.credit else 0) < PROVISIONAL_BELOW

    def deducts(self, violation: Violation) -> bool:
        """Whether the violation is within the window before `now`, so that it deducts."""
        return ensure_aware(violation.occurred_at) > self.now - timedelta(days=self.params.violation_window_days)


async def credit_inputs(db: AsyncSession, code: str) -> CreditInputs:
    """The public agency's credit and its inputs (rated jobs with their service scores, violations, list
    entries oldest first)."""
    agency = await public_agency(db, code)
    now = utcnow()
    p = await params_in_force(db)
    ratings, violations = await inputs_of(db, agency.id, p)
    credit = await db.get(AgencyCredit, agency.id)
    entries = (await db.exec(select(ListEntry).where(ListEntry.agency_id == agency.id)
                             .order_by(col(ListEntry.starts_at)))).all()
    return CreditInputs(agency, credit, ratings, violations, list(entries), p, now)
