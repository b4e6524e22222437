"""What the public home page shows: the latest notices (jobs open for quotes), the latest results (awarded
jobs) and the headline figures. Public and hit often: a fixed number of small queries, on indexed columns
(`job.status`, `job.quote_deadline`, primary keys), whatever the number of jobs.

Nothing sealed: a notice carries its title, category, cap and deadline only (never how many quotes it has);
a result is an awarded job, whose quotes have been opened, with its winner and awarded price."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Integer, cast
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import ensure_aware
from marketplace.domain.headline import Headline, headline
from marketplace.models import (
    AWARDED,
    COMPLETED,
    CONTRACTED,
    DRAFT,
    PUBLISHED,
    RATED,
    Agency,
    Job,
    Quote,
    Selection,
    ServiceCategory,
)

LATEST = 5  # notices and results on the home page
AWARDED_STATES = (AWARDED, CONTRACTED, COMPLETED, RATED)  # as the savings report counts them


@dataclass(frozen=True)
class Notice:
    job_no: str
    title: str
    category: ServiceCategory
    budget_cap: Decimal
    method: str
    quote_deadline: datetime


@dataclass(frozen=True)
class Result:
    job_no: str
    title: str
    category: ServiceCategory
    budget_cap: Decimal
    method: str
    winner_code: str
    winner_name: str
    price: Decimal
    awarded_at: datetime


async def latest_notices(db: AsyncSession, now: datetime, limit: int = LATEST) -> list[Notice]:
    """The jobs open for quotes now (published, deadline ahead), latest published first."""
    rows = (await db.exec(
        select(Job, ServiceCategory).join(ServiceCategory, ServiceCategory.id == Job.category_id)
        .where(Job.status == PUBLISHED, col(Job.quote_deadline) > now)
        .order_by(col(Job.published_at).desc(), col(Job.id).desc()).limit(limit))).all()
    return [Notice(job.job_no, job.title, cat, job.budget_cap, job.method, ensure_aware(job.quote_deadline))
            for job, cat in rows]


def _won(*columns):
    """`columns` of the awarded jobs joined to their winning quote (`selection.winner_quote_id` holds its id)."""
    return (select(*columns).select_from(Job).join(Selection, Selection.job_id == Job.id)
            .join(Quote, Quote.id == cast(Selection.winner_quote_id, Integer))
            .where(col(Job.status).in_(AWARDED_STATES), col(Selection.winner_quote_id).is_not(None)))


async def latest_results(db: AsyncSession, limit: int = LATEST) -> list[Result]:
    """The latest awarded jobs with their winner and awarded price, latest award first."""
    rows = (await db.exec(
        _won(Job, ServiceCategory, Quote.price, Agency.credit_code, Agency.name)
        .join(ServiceCategory, ServiceCategory.id == Job.category_id)
        .join(Agency, Agency.id == Quote.agency_id)
        .order_by(col(Job.awarded_at).desc(), col(Job.id).desc()).limit(limit))).all()
    return [Result(job.job_no, job.title, cat, job.budget_cap, job.method, code, name, price,
                   ensure_aware(job.awarded_at or job.closed_at))
            for job, cat, price, code, name in rows]


async def headline_figures(db: AsyncSession) -> Headline:
    """Jobs published and awarded, total saved and the savings rate over the awarded jobs: two aggregates."""
    published = (await db.exec(select(func.count()).select_from(Job).where(
        Job.status != DRAFT, col(Job.published_at).is_not(None)))).one()
    awarded, caps, prices = (await db.exec(_won(
        func.count(), func.coalesce(func.sum(Job.budget_cap), 0), func.coalesce(func.sum(Quote.price), 0)))).one()
    return headline(published, awarded, caps, prices)
