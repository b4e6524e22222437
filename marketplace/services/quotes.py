"""Sealed quotes: submit, replace, withdraw until the deadline; nothing about them shows before opening."""

from __future__ import annotations

import json
import secrets
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit import append_event
from app.auth import CurrentUser
from app.clock import ensure_aware, utcnow
from app.errors import Conflict, Forbidden, InputError, NotFound
from app.forms import parse
from app.i18n import gettext as _
from marketplace.domain.money import grouped
from marketplace.domain.receipts import compute_receipt, compute_sealed_receipt, receipt_body, sealed_receipt_body
from marketplace.domain.sealing import envelope_digest, envelope_ephemerals, envelope_problem
from marketplace.domain.sealing.envelope import EPHEMERAL_REUSED
from marketplace.models import LIVE, PUBLISHED, REPLACED, WITHDRAWN, Agency, Job, Quote, SealedEphemeral
from marketplace.schemas import QuoteIn, SealedQuoteIn
from marketplace.services.commitments import check_service_days
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


def sealed_only_message() -> str:
    return _("This job takes sealed quotes only: submit the envelope sealed on your machine, never the price.")


def quote_input(job: Job, raw: dict[str, Any]) -> QuoteIn | SealedQuoteIn:
    """The quote a request carries, by the job's kind: a sealed job takes `{"envelope": {...}}` only (a
    price, service days or note beside it, or instead of it, is refused: they must never leave the
    bidder's machine); an unsealed job refuses an envelope. A form sends the envelope as JSON text."""
    if job.sealing:
        plain = [key for key in ("price", "service_days", "note") if key in raw]
        if plain or "envelope" not in raw:
            raise InputError(sealed_only_message(), data={"code": "sealed_only"})
        envelope = raw["envelope"]
        if isinstance(envelope, str):
            try:
                envelope = json.loads(envelope)
            except ValueError:
                envelope = None
        if not isinstance(envelope, dict):
            raise InputError(_("The envelope is not a JSON object."), data={"code": "envelope_problem"})
        return SealedQuoteIn(envelope=envelope)
    if "envelope" in raw:
        raise InputError(_("This job does not take sealed quotes: submit the price, service days and note."),
                         data={"code": "not_sealed"})
    return parse(QuoteIn, raw)


def _claimed_ephemerals(envelope: Any) -> list[str]:
    """The ephemerals an envelope names (whatever its shape; `envelope_problem` judges the shape)."""
    shares = envelope.get("shares") if isinstance(envelope, dict) else None
    if not isinstance(shares, list):
        return []
    return [s["ephemeral"] for s in shares if isinstance(s, dict) and isinstance(s.get("ephemeral"), str)]


async def accepted_ephemerals(session: AsyncSession, job_id: int, envelope: Any) -> set[str]:
    """Which of the envelope's ephemerals an envelope accepted for the job before already used (replaced and
    withdrawn ones included): one indexed query, whatever the number of quotes."""
    claimed = _claimed_ephemerals(envelope)
    if not claimed:
        return set()
    return set((await session.exec(select(SealedEphemeral.ephemeral).where(
        SealedEphemeral.job_id == job_id, col(SealedEphemeral.ephemeral).in_(claimed)))).all())


def ephemeral_reused_error() -> InputError:
    return InputError(_("The envelope is not well formed: {problem}.", problem=EPHEMERAL_REUSED),
                      data={"code": "envelope_problem", "problem": EPHEMERAL_REUSED})


async def submit_quote(session: AsyncSession, user: CurrentUser, job_no: str, data: QuoteIn | SealedQuoteIn, *,
                       client_ip: str = "", user_agent: str = "") -> Quote:
    """Submit or replace this agency's quote; the previous live one becomes `replaced`.

    On a sealed job (`job.sealing`) the quote is the envelope only (checked with the core's
    `envelope_problem`, then the eligibility that needs no price); its price and service days stay null
    until opening and its receipt is the sealed receipt. `data` must match the job (see `quote_input`)."""
    agency = await _agency_of(session, user)
    job = await _open_job_for_quotes(session, job_no)
    sealed = isinstance(data, SealedQuoteIn)
    if sealed != bool(job.sealing):
        raise InputError(sealed_only_message() if job.sealing else
                         _("This job does not take sealed quotes: submit the price, service days and note."))
    if sealed:
        problem = envelope_problem(data.envelope, job_id=job.job_no, agency_code=agency.credit_code,
                                   holder_ids=[h["id"] for h in job.sealing["holders"]],
                                   accepted_ephemerals=await accepted_ephemerals(session, job.id, data.envelope))
        if problem is not None:
            raise InputError(_("The envelope is not well formed: {problem}.", problem=problem),
                             data={"code": "envelope_problem", "problem": problem})
    reasons = await eligibility_reasons(session, agency, job, utcnow())
    if reasons:
        raise Forbidden(" ".join(reason_text(r) for r in reasons), data={"reasons": reasons})
    if not sealed and data.price > job.budget_cap:
        msg = _("The price must not exceed the budget cap of ¥{cap}.", cap=grouped(job.budget_cap))
        raise InputError(msg, fields={"price": msg})
    if not sealed:
        await check_service_days(session, agency.id, job.category_id, data.service_days)
    previous = (await session.exec(select(Quote).where(Quote.job_id == job.id, Quote.agency_id == agency.id,
                                                       Quote.status == LIVE))).first()
    if previous:
        previous.status = REPLACED
        session.add(previous)
        await session.flush()
    common = {"job_id": job.id, "agency_id": agency.id, "status": LIVE, "client_ip": client_ip[:64],
              "user_agent": user_agent[:300]}
    if sealed:
        # Whole seconds: the sealed receipt writes marketseal-v1 times (YYYY-MM-DDTHH:MM:SSZ).
        quote = Quote(**common, envelope=data.envelope, envelope_digest=envelope_digest(data.envelope),
                      submitted_at=utcnow().replace(microsecond=0), nonce="",
                      reconfirmed_at=utcnow())  # to the microsecond: after an amendment of the same second
    else:
        quote = Quote(**common, price=data.price, service_days=data.service_days, note=data.note,
                      submitted_at=utcnow(), nonce=secrets.token_hex(16))
    session.add(quote)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict(_("Another quote from your agency was submitted at the same moment. Reload and try again."))
    if sealed:
        # The unique (job, ephemeral) index refuses an ephemeral another envelope of this job used, even one
        # submitted at the same moment.
        for ephemeral in envelope_ephemerals(data.envelope):
            session.add(SealedEphemeral(job_id=job.id, ephemeral=ephemeral, quote_id=quote.id))
        try:
            await session.flush()
        except IntegrityError:
            await session.rollback()
            raise ephemeral_reused_error() from None
    quote.receipt = (compute_sealed_receipt(sealed_receipt_body(job.job_no, quote, agency.credit_code)) if sealed
                     else compute_receipt(receipt_body(job.job_no, quote, agency.credit_code)))
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
