"""Opening quotes at the deadline and exactly-once selection.

Exactly once: every trigger (deadline task, sweeper, a regulator's "select now",
retries) calls `close_and_select`, which claims the job with a conditional UPDATE
(published -> closed, only past the deadline); the claim and the selection commit in
one transaction, and `selection.job_id` is unique, so a second trigger finds nothing
to do and changes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.audit import append_event
from app.auth import CurrentUser
from app.canonical import format_time
from app.clock import ensure_aware, utcnow
from app.db import SessionMaker
from app.errors import Conflict, InputError
from app.i18n import gettext as _
from marketplace.domain import methods
from marketplace.domain.draw import Candidate
from marketplace.domain.due_dates import add_working_days
from marketplace.domain.sealing.schedule import OPEN
from marketplace.models import AWARDED, CLOSED, FAILED, LIVE, PUBLISHED, Agency, Job, Quote, Selection
from marketplace.parameters import int_param
from marketplace.ports import credit
from marketplace.services import opening
from marketplace.services.beacons import source_of
from marketplace.services.clarifications import counts_after_amendment, last_amendment_at
from marketplace.services.commitments import commitment_at
from marketplace.services.eligibility import eligibility_reasons
from marketplace.services.jobs import get_job, own_job
from marketplace.services.quotes import live_quote_count
from marketplace.services.registry import notify

CLOSED_AWAITING_BEACON = "awaiting_beacon"


CLOSED_AWAITING_CHOICE = "awaiting_choice"
AWAITING_KEYS = "awaiting_keys"  # a sealed job past its deadline without the releases to open it yet


async def _claim_close(session: AsyncSession, job_id: int) -> bool:
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        # A job another trigger is selecting right now is skipped, not waited for: parallel sweepers
        # and deadline tasks then work on different jobs. If that trigger fails, its transaction rolls
        # back and the job stays due for the next sweep; the conditional UPDATE below and the unique
        # selection.job_id still make the selection happen once.
        free = (await session.exec(select(Job.id).where(Job.id == job_id, Job.status == PUBLISHED,
                                                        Job.quote_deadline <= now)
                                   .with_for_update(skip_locked=True))).first()
        if free is None:
            return False
    res = await session.exec(update(Job).where(Job.id == job_id, Job.status == PUBLISHED, Job.quote_deadline <= now)
                             .values(status=CLOSED, closed_at=now))
    return res.rowcount == 1


async def _open_quotes(session: AsyncSession, job: Job) -> list[tuple[Quote, Agency]]:
    """Evaluate eligibility of every live quote as of the deadline and record it."""
    rows = (await session.exec(select(Quote, Agency).join(Agency, Agency.id == Quote.agency_id).where(
        Quote.job_id == job.id, Quote.status == LIVE).order_by(col(Quote.id)))).all()
    deadline = ensure_aware(job.quote_deadline)
    last_amendment = await last_amendment_at(session, job.id)
    eligible = []
    for quote, agency in rows:
        reasons = await eligibility_reasons(session, agency, job, deadline)
        if quote.envelope is not None and quote.envelope_validity != "valid":
            reasons.append("envelope_invalid")  # marketseal-v1: an invalid envelope is an ineligible quote
        elif quote.opened is not None and Decimal(quote.opened["price"]) <= 0:
            reasons.append("price_not_positive")
        elif quote.price is None or quote.price > job.budget_cap:
            reasons.append("over_cap")  # a sealed price too large for the money column is over any cap
        if quote.service_days is not None:
            # Judged by the commitment in force at submission (a sealed quote's days are known only now).
            committed = await commitment_at(session, agency.id, job.category_id, quote.submitted_at)
            if committed is not None and quote.service_days > committed.time_limit_days:
                reasons.append("over_commitment")
        if not counts_after_amendment(quote, last_amendment):
            reasons.append("not_reconfirmed")
        quote.eligible = not reasons
        quote.ineligible_reason = ",".join(reasons)
        session.add(quote)
        if not reasons:
            eligible.append((quote, agency))
    return eligible


async def _candidates(session: AsyncSession, job: Job, eligible: list[tuple[Quote, Agency]]) -> tuple[list[Candidate], dict[str, Any]]:
    inputs: dict[str, Any] = {}
    weights = {q.id: 1 for q, _a in eligible}
    if job.method in ("random_weighted", "best_value"):
        standing = await credit().standing_at(session, [a.id for _q, a in eligible], ensure_aware(job.quote_deadline))
        if job.method == "random_weighted":
            # DESIGN: weight by credit grade (A 4, B 3, C 2, D 1); a red-listed agency weighs 4.
            weights = {q.id: methods.GRADE_WEIGHTS["A" if standing[a.id].red_listed else standing[a.id].grade]
                       for q, a in eligible}
        else:
            inputs = {"price_weight": job.price_weight, "credit_weight": job.credit_weight,
                      "credit_scores": {str(q.id): standing[a.id].score for q, a in eligible}}
    cands = [Candidate(quote_id=str(q.id), agency_code=a.credit_code, price=q.price, weight=weights[q.id])
             for q, a in eligible]
    return cands, inputs


async def _select(session: AsyncSession, job: Job, eligible: list[tuple[Quote, Agency]], *,
                  actor_name: str, direct_choice: dict[str, str] | None = None) -> Selection:
    """Run the method and store the record; the caller holds the claim and commits."""
    cands, inputs = await _candidates(session, job, eligible)
    if direct_choice:
        inputs = {"chosen_quote_id": direct_choice["quote_id"], "reason": direct_choice["reason"]}
    beacon = source_of(job).value(job)
    if beacon is None:
        raise Conflict(_("This job is not waiting for a beacon value."))
    result = methods.select(job.method, job.job_no, job.server_seed, beacon, cands, inputs)
    now = utcnow()
    sel = Selection(job_id=job.id, method=job.method, params=result.params, beacon=beacon,
                    candidates=[c.to_json() for c in result.candidates], candidates_digest=result.candidates_digest,
                    final_seed=result.final_seed, order=result.order, ranking=result.ranking, excluded=[],
                    winner_quote_id=result.winner_quote_id, selected_at=now)
    session.add(sel)
    await session.flush()  # the unique job_id refuses a second selection here
    publicity = await int_param(session, "publicity_days")
    contract_days = await int_param(session, "contract_days")
    job.status = AWARDED
    job.awarded_at = now
    job.publicity_ends_at = now + timedelta(days=publicity)
    job.contract_due_at = job.publicity_ends_at + timedelta(days=contract_days)
    session.add(job)
    await flag_abnormal(session, job, sel)
    await append_event(session, actor=actor_name, kind="job.selected", subject=f"job:{job.job_no}",
                       data={"method": job.method, "winner_quote_id": sel.winner_quote_id,
                             "candidates_digest": sel.candidates_digest, "final_seed": sel.final_seed,
                             "server_seed": job.server_seed, "beacon": beacon})
    winner = await winning_quote(session, sel)
    if winner:
        await notify(session, agency_id=winner.agency_id, kind="job.won", data={"job": job.job_no})
    return sel


async def winning_quote(session: AsyncSession, sel: Selection) -> Quote | None:
    return await session.get(Quote, int(sel.winner_quote_id)) if sel.winner_quote_id else None


async def flag_abnormal(session: AsyncSession, job: Job, sel: Selection) -> None:
    sel.abnormal_quote_id, sel.abnormal_status, sel.abnormal_due_at = None, "", None
    if job.method not in methods.ABNORMALLY_LOW_METHODS or not sel.winner_quote_id:
        session.add(sel)
        return
    excluded = {e["quote_id"] for e in sel.excluded}
    prices = {c["quote_id"]: Decimal(c["price"]) for c in sel.candidates if c["quote_id"] not in excluded}
    winner_price = prices.pop(sel.winner_quote_id)
    if methods.abnormally_low(winner_price, prices.values()):
        sel.abnormal_quote_id = sel.winner_quote_id
        sel.abnormal_status = "awaiting"
        sel.abnormal_due_at = add_working_days(utcnow(), await int_param(session, "justification_working_days"))
        await append_event(session, actor="system", kind="selection.abnormally_low", subject=f"job:{job.job_no}",
                           data={"quote_id": sel.winner_quote_id, "due": format_time(sel.abnormal_due_at)})
    session.add(sel)


async def close_and_select(sessionmaker: SessionMaker, job_id: int, actor_name: str = "system") -> str:
    """Open quotes at the deadline and select; safe to call any number of times.

    A sealed job (marketseal-v1) first collects the holders' releases (no transaction open); it is opened
    when `opening_state` says so, in the claimed transaction, and answers "awaiting_keys" until then."""
    sealed = await opening.collect(sessionmaker, job_id)
    async with sessionmaker() as session:
        if sealed is not None and await opening.awaits_opening(session, job_id):
            job = await session.get(Job, job_id)
            if (await opening.state_of(session, job)).state != OPEN:
                await session.rollback()
                return AWAITING_KEYS
        if not await _claim_close(session, job_id):
            await session.rollback()
            return "noop"
        job = await session.get(Job, job_id)
        await session.refresh(job)
        if job.sealing and await opening.awaits_opening(session, job_id):
            if (await opening.state_of(session, job)).state != OPEN:  # claimed before the releases came
                await session.rollback()
                return AWAITING_KEYS
            await opening.open_envelopes(session, job, actor_name)
        eligible = await _open_quotes(session, job)
        await append_event(session, actor=actor_name, kind="job.closed", subject=f"job:{job.job_no}",
                           data={"live_quotes": await _live_count(session, job.id), "eligible": len(eligible)})
        if len(eligible) < methods.min_quotes_required(job.state_funded):
            job.status = FAILED
            job.status_reason = "too_few_eligible"
            session.add(job)
            await append_event(session, actor=actor_name, kind="job.failed", subject=f"job:{job.job_no}",
                               data={"eligible": len(eligible),
                                     "required": methods.min_quotes_required(job.state_funded)})
            await session.commit()
            return "failed"
        if job.method == "direct":
            await session.commit()
            return CLOSED_AWAITING_CHOICE
        if source_of(job).value(job) is None:
            await session.commit()
            return CLOSED_AWAITING_BEACON
        await _select(session, job, eligible, actor_name=actor_name)
        await session.commit()
        return "selected"


async def _live_count(session: AsyncSession, job_id: int) -> int:

    return await live_quote_count(session, job_id)


async def _eligible_rows(session: AsyncSession, job: Job) -> list[tuple[Quote, Agency]]:
    return list((await session.exec(select(Quote, Agency).join(Agency, Agency.id == Quote.agency_id).where(
        Quote.job_id == job.id, Quote.status == LIVE, Quote.eligible == True))).all())  # noqa: E712


async def enter_beacon(sessionmaker: SessionMaker, user: CurrentUser, job_no: str, value: str) -> Selection:
    """A regulator enters the public randomness named on the notice; selection follows."""
    async with sessionmaker() as session:
        job = await get_job(session, job_no)
        if job.beacon_source != "manual":
            raise Conflict(_("This job does not wait for a beacon value."))
        if job.status != CLOSED or job.beacon_value:
            raise Conflict(_("This job is not waiting for a beacon value."))
        res = await session.exec(update(Job).where(Job.id == job.id, Job.status == CLOSED,
                                                   col(Job.beacon_value).is_(None)).values(beacon_value=value))
        if res.rowcount != 1:
            raise Conflict(_("This job has already been selected."))
        await session.refresh(job)
        await append_event(session, actor=actor_of(user), kind="job.beacon_entered", subject=f"job:{job.job_no}",
                           data={"beacon": value, "label": job.beacon_label})
        try:
            sel = await _select(session, job, await _eligible_rows(session, job), actor_name=actor_of(user))
            await session.commit()
        except IntegrityError:
            await session.rollback()
            raise Conflict(_("This job has already been selected.")) from None
        return sel


async def choose_direct(sessionmaker: SessionMaker, user: CurrentUser, job_no: str, quote_id: str, reason: str) -> Selection:
    async with sessionmaker() as session:
        job = await own_job(session, user, job_no)
        if job.method != "direct" or job.status != CLOSED:
            raise Conflict(_("This job is not waiting for a direct choice."))
        eligible = await _eligible_rows(session, job)
        previous = await selection_of(session, job)
        excluded = {e["quote_id"] for e in previous.excluded} if previous else set()
        if quote_id not in {str(q.id) for q, _a in eligible} - excluded:
            msg = _("Choose one of the eligible quotes.")
            raise InputError(msg, fields={"quote_id": msg})
        if previous is not None:
            # A new choice after the previous one was excluded (step 10 for `direct`).
            return await _rechoose_direct(session, job, previous, quote_id, reason, actor_of(user))
        try:
            sel = await _select(session, job, eligible, actor_name=actor_of(user),
                                direct_choice={"quote_id": quote_id, "reason": reason})
            await session.commit()
        except IntegrityError:
            await session.rollback()
            raise Conflict(_("This job has already been selected.")) from None
        return sel


async def _rechoose_direct(session: AsyncSession, job: Job, sel: Selection, quote_id: str, reason: str,
                           actor_name: str) -> Selection:
    res = await session.exec(update(Job).where(Job.id == job.id, Job.status == CLOSED).values(status=AWARDED))
    if res.rowcount != 1:
        raise Conflict(_("This job is not waiting for a direct choice."))
    now = utcnow()
    sel.params = {"chosen_quote_id": quote_id, "reason": reason}
    sel.ranking = [quote_id]
    sel.winner_quote_id = quote_id
    session.add(sel)
    await session.refresh(job)
    job.publicity_ends_at = now + timedelta(days=await int_param(session, "publicity_days"))
    job.contract_due_at = job.publicity_ends_at + timedelta(days=await int_param(session, "contract_days"))
    session.add(job)
    await append_event(session, actor=actor_name, kind="job.direct_rechosen", subject=f"job:{job.job_no}",
                       data={"winner_quote_id": quote_id, "reason": reason})
    winner = await winning_quote(session, sel)
    await notify(session, agency_id=winner.agency_id, kind="job.won", data={"job": job.job_no})
    await session.commit()
    return sel


async def selection_of(session: AsyncSession, job: Job) -> Selection | None:
    return (await session.exec(select(Selection).where(Selection.job_id == job.id))).first()
