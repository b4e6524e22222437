"""What an agency sees of the jobs: the open calls with whether it may quote (and why not), its own
quotes, and their receipts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import utcnow
from app.errors import NotFound
from app.forms import contains
from app.i18n import gettext as _
from marketplace.domain.receipts import receipt_body, sealed_receipt_body
from marketplace.models import LIVE, PUBLISHED, Agency, Job, Quote, ServiceCategory
from marketplace.schemas import AgencyJobListOut, AgencyJobOut, QuoteReceiptOut, SealedReceiptOut
from marketplace.services.eligibility import eligibility_reasons, reason_text
from marketplace.services.job_notices import job_notices
from marketplace.services.jobs import JobFilters, list_jobs
from marketplace.services.registry import Listing


@dataclass
class OpenCalls:
    listing: Listing              # (Job, ServiceCategory) rows, soonest deadline first
    reasons: dict[int, list[str]]  # job id -> why this agency may not quote (empty: it may)
    quoted: set[int]              # ids of the jobs it has a live quote on


async def open_calls(db: AsyncSession, agency: Agency, *, q: str | None, category: str | None, page: int,
                     per_page: int, eligible_only: bool = False) -> OpenCalls:
    """Published jobs before their deadline (search in title, project and number; category), each with
    this agency's eligibility and whether it has quoted; with `eligible_only`, only those it may quote on
    (eligibility is decided per job, so the open calls are all checked before the page is cut)."""
    now = utcnow()
    stmt = (select(Job, ServiceCategory).join(ServiceCategory, ServiceCategory.id == Job.category_id)
            .where(Job.status == PUBLISHED, Job.quote_deadline > now))
    if q:
        stmt = stmt.where(contains(Job.title, q) | contains(Job.project_name, q) | contains(Job.job_no, q))
    if category:
        stmt = stmt.where(ServiceCategory.code == category)
    ordered = stmt.order_by(col(Job.quote_deadline), col(Job.id))
    if eligible_only:
        every = (await db.exec(ordered)).all()
        checked = [(row, await eligibility_reasons(db, agency, row[0], now)) for row in every]
        mine = [row for row, why in checked if not why]
        total, rows = len(mine), mine[(page - 1) * per_page:page * per_page]
    else:
        total = (await db.exec(select(func.count()).select_from(stmt.subquery()))).one()
        rows = (await db.exec(ordered.offset((page - 1) * per_page).limit(per_page))).all()
    reasons = {job.id: await eligibility_reasons(db, agency, job, now) for job, _c in rows}
    quoted = set((await db.exec(select(Quote.job_id).where(
        Quote.agency_id == agency.id, Quote.status == LIVE,
        col(Quote.job_id).in_([job.id for job, _c in rows] or [0])))).all())
    return OpenCalls(Listing(list(rows), total, page, per_page), reasons, quoted)


async def open_jobs_out(db: AsyncSession, agency_id: int | None, page: int, per_page: int) -> AgencyJobListOut:
    """Published jobs as the public sees them, each with `eligible` and the exact reasons when not."""
    agency = await db.get(Agency, agency_id)
    listing = await list_jobs(db, JobFilters(status=PUBLISHED), page, per_page)
    items = []
    jobs = [job for job, _cat in listing.items]
    for job, out in zip(jobs, await job_notices(db, jobs), strict=True):
        reasons = await eligibility_reasons(db, agency, job, utcnow())
        items.append(AgencyJobOut(**out.given(), eligible=not reasons, reasons=reasons,
                                  reason_texts=[reason_text(r) for r in reasons]))
    return AgencyJobListOut(items=items, total=listing.total, page=listing.page, per_page=listing.per_page)


async def agency_quotes(db: AsyncSession, agency_id: int | None, page: int, per_page: int) -> Listing:
    """The agency's quotes, newest first, as (Quote, Job) rows."""
    stmt = select(Quote, Job).join(Job, Job.id == Quote.job_id).where(Quote.agency_id == (agency_id or 0))
    total = (await db.exec(select(func.count()).select_from(stmt.subquery()))).one()
    rows = (await db.exec(stmt.order_by(col(Quote.id).desc()).offset((page - 1) * per_page).limit(per_page))).all()
    return Listing(list(rows), total, page, per_page)


async def receipt_file(db: AsyncSession, agency_id: int | None, quote_id: int) -> dict[str, Any]:
    """One of the agency's own quotes as its receipt file: the fields the receipt commits to, and the
    receipt; 404 for anyone else's."""
    quote = await db.get(Quote, quote_id)
    if quote is None or agency_id is None or quote.agency_id != agency_id:
        raise NotFound(_("No such quote."))
    job = await db.get(Job, quote.job_id)
    agency = await db.get(Agency, quote.agency_id)
    if quote.envelope is not None:  # a sealed quote: the sealed receipt's fields and the envelope
        return {**sealed_receipt_body(job.job_no, quote, agency.credit_code), "receipt": quote.receipt,
                "envelope": quote.envelope}
    return {**receipt_body(job.job_no, quote, agency.credit_code), "receipt": quote.receipt}


async def quote_receipt(db: AsyncSession, job: Job, quote: Quote) -> QuoteReceiptOut | SealedReceiptOut:
    """The agency's quote on `job` with its receipt, status and note (a sealed one: with its envelope)."""
    agency = await db.get(Agency, quote.agency_id)
    return receipt_answer(job.job_no, quote, agency.credit_code)


def receipt_answer(job_no: str, quote: Quote, agency_code: str) -> QuoteReceiptOut | SealedReceiptOut:
    """The answer to a quote just stored or withdrawn, from what is in hand: once the quote is committed
    nothing more is read, so a database failure cannot turn a stored quote into an error. A sealed quote
    answers its sealed receipt's fields, the receipt and its envelope (no price: there is none)."""
    if quote.envelope is not None:
        return SealedReceiptOut(**sealed_receipt_body(job_no, quote, agency_code), receipt=quote.receipt,
                                status=quote.status, envelope=quote.envelope)
    body = receipt_body(job_no, quote, agency_code)
    return QuoteReceiptOut(**body, receipt=quote.receipt, status=quote.status, note=quote.note)


async def own_agency_code(db: AsyncSession, agency_id: int | None) -> str:
    """The signed-in agency's credit code (read before it quotes)."""
    agency = await db.get(Agency, agency_id) if agency_id else None
    if agency is None:
        raise NotFound(_("No such agency."))
    return agency.credit_code
