"""Sealed quotes: submit, replace, withdraw until the deadline; nothing about them shows before opening."""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit import append_event
from app.auth import CurrentUser
from app.clock import ensure_aware, utcnow
from app.errors import Conflict, Forbidden, InputError, NotFound
from app.i18n import gettext as _
from marketplace.domain.money import money
from marketplace.domain.receipts import compute_receipt, receipt_body
from marketplace.models import LIVE, PUBLISHED, REPLACED, WITHDRAWN, Agency, Job, Quote
from marketplace.schemas import QuoteIn
from marketplace.services.eligibility import eligibility_reasons, reason_text
from marketplace.services.jobs import public_job

SEALED_BIDDER = "sealed-bidder"


async def _agency_of(session: AsyncSession, user: CurrentUser) -> Agency:
    agency = await session.get(Agency, user.agency_id) if user.agency_id else None
    if agency is None:
        raise Forbidden(_("You are not allowed to do this."))
    return agency


async def _open_job_for_quotes(session: AsyncSession, job_no: str) -> Job:
    job = await public_job(session, job_no)
    if job.status != PUBLISHED:
        raise Conflict(reason_text("job_not_open"), data={"code": "job_not_open"})
    if ensure_aware(job.quote_deadline) <= utcnow():
        raise Conflict(reason_text("deadline_passed"), data={"code": "deadline_passed"})
    return job


async def submit_quote(session: AsyncSession, user: CurrentUser, job_no: str, data: QuoteIn, *,
                       client_ip: str = "", user_agent: str = "") -> Quote:
    """Submit or replace this agency's quote; the previous live one becomes `replaced`."""
    agency = await _agency_of(session, user)
    job = await _open_job_for_quotes(session, job_no)
    reasons = await eligibility_reasons(session, agency, job, utcnow())
    if reasons:
        raise Forbidden(" ".join(reason_text(r) for r in reasons), data={"reasons": reasons})
    if data.price > job.budget_cap:
        msg = _("The price must not exceed the budget cap of ¥{cap}.", cap=money(job.budget_cap))
        raise InputError(msg, fields={"price": msg})
    previous = (await session.exec(select(Quote).where(Quote.job_id == job.id, Quote.agency_id == agency.id,
                                                       Quote.status == LIVE))).first()
    if previous:
        previous.status = REPLACED
        session.add(previous)
        await session.flush()
    quote = Quote(job_id=job.id, agency_id=agency.id, price=data.price, service_days=data.service_days,
                  note=data.note, status=LIVE, submitted_at=utcnow(), nonce=secrets.token_hex(16),
                  client_ip=client_ip[:64], user_agent=user_agent[:300])
    session.add(quote)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict(_("Another quote from your agency was submitted at the same moment. Reload and try again."))
    quote.receipt = compute_receipt(receipt_body(job.job_no, quote, agency.credit_code))
    session.add(quote)
    # The audit event records the receipt only: neither the price nor the bidder
    # is visible before the deadline (the receipt names the agency once opened).
    await append_event(session, actor=SEALED_BIDDER, kind="quote.replaced" if previous else "quote.submitted",
                       subject=f"job:{job.job_no}", data={"receipt": quote.receipt})
    await session.commit()
    return quote


async def withdraw_quote(session: AsyncSession, user: CurrentUser, job_no: str) -> Quote:
    agency = await _agency_of(session, user)
    job = await _open_job_for_quotes(session, job_no)
    quote = (await session.exec(select(Quote).where(Quote.job_id == job.id, Quote.agency_id == agency.id,
                                                    Quote.status == LIVE))).first()
    if quote is None:
        raise NotFound(_("You have no live quote on this job."))
    quote.status = WITHDRAWN
    session.add(quote)
    await append_event(session, actor=SEALED_BIDDER, kind="quote.withdrawn", subject=f"job:{job.job_no}",
                       data={"receipt": quote.receipt})
    await session.commit()
    return quote


async def my_quote(session: AsyncSession, user: CurrentUser, job: Job) -> Quote | None:
    if not user or not user.agency_id:
        return None
    return (await session.exec(select(Quote).where(Quote.job_id == job.id, Quote.agency_id == user.agency_id)
                               .order_by(col(Quote.id).desc()))).first()


async def live_quote_count(session: AsyncSession, job_id: int) -> int:
    return (await session.exec(select(func.count()).select_from(Quote).where(
        Quote.job_id == job_id, Quote.status == LIVE))).one()
