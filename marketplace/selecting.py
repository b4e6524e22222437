"""Opening quotes, exactly-once selection, and everything after it.

Exactly once: every trigger (deadline job, sweeper, a regulator's "select
now", retries) calls `close_and_select`, which claims the job with a
conditional UPDATE (published → closed, only past the deadline); the claim and
the selection commit in one transaction, and `selection.job_id` is unique, so
a second trigger finds nothing to do and changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit import append_event
from app.audit_chain import format_time
from app.auth import CurrentUser
from app.db import SessionMaker
from app.errors import Conflict, Forbidden, InputError
from app.i18n import gettext as _
from app.params import int_param
from marketplace import selection as methods
from marketplace.beacons import source_of
from marketplace.draw import Candidate
from marketplace.market import (
    actor, add_working_days, decide_once, eligibility_reasons, ensure_aware, get_job, money, own_job, public_job,
    receipt_body,
)
from marketplace.models import (
    AWARDED, CLOSED, COMPLETED, CONTRACTED, FAILED, LIVE, PUBLISHED, Agency, Contract, Job, Objection, Quote,
    Selection, utcnow,
)
from marketplace.registry import notify
from ratings.eligibility import credit_at, credit_params, grade_of, red_listed
from ratings.models import Violation

CLOSED_AWAITING_BEACON = "awaiting_beacon"
CLOSED_AWAITING_CHOICE = "awaiting_choice"


async def _claim_close(session: AsyncSession, job_id: int) -> bool:
    now = utcnow()
    res = await session.exec(update(Job).where(Job.id == job_id, Job.status == PUBLISHED, Job.quote_deadline <= now)
                             .values(status=CLOSED, closed_at=now))
    return res.rowcount == 1


async def _open_quotes(session: AsyncSession, job: Job) -> list[tuple[Quote, Agency]]:
    """Evaluate eligibility of every live quote as of the deadline and record it."""
    rows = (await session.exec(select(Quote, Agency).join(Agency, Agency.id == Quote.agency_id).where(
        Quote.job_id == job.id, Quote.status == LIVE).order_by(col(Quote.id)))).all()
    deadline = ensure_aware(job.quote_deadline)
    eligible = []
    for quote, agency in rows:
        reasons = await eligibility_reasons(session, agency, job, deadline)
        if quote.price > job.budget_cap:
            reasons.append("over_cap")
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
        params = await credit_params(session)
        scores = await credit_at(session, [a.id for _q, a in eligible], ensure_aware(job.quote_deadline), params)
        if job.method == "random_weighted":
            # DESIGN: weight by credit grade (A 4, B 3, C 2, D 1); a red-listed agency weighs 4.
            red = await red_listed(session, [a.id for _q, a in eligible], ensure_aware(job.quote_deadline))
            weights = {q.id: methods.GRADE_WEIGHTS["A" if a.id in red else grade_of(scores[a.id], params)]
                       for q, a in eligible}
        else:
            inputs = {"price_weight": job.price_weight, "credit_weight": job.credit_weight,
                      "credit_scores": {str(q.id): scores[a.id] for q, a in eligible}}
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
    await _flag_abnormal(session, job, sel)
    await append_event(session, actor=actor_name, kind="job.selected", subject=f"job:{job.job_no}",
                       data={"method": job.method, "winner_quote_id": sel.winner_quote_id,
                             "candidates_digest": sel.candidates_digest, "final_seed": sel.final_seed,
                             "server_seed": job.server_seed, "beacon": beacon})
    winner = await _winner(session, sel)
    if winner:
        await notify(session, agency_id=winner.agency_id, kind="job.won", data={"job": job.job_no})
    return sel


async def _winner(session: AsyncSession, sel: Selection) -> Quote | None:
    return await session.get(Quote, int(sel.winner_quote_id)) if sel.winner_quote_id else None


async def _flag_abnormal(session: AsyncSession, job: Job, sel: Selection) -> None:
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
    """Open quotes at the deadline and select; safe to call any number of times."""
    async with sessionmaker() as session:
        if not await _claim_close(session, job_id):
            await session.rollback()
            return "noop"
        job = await session.get(Job, job_id)
        await session.refresh(job)
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
    from marketplace.market import live_quote_count

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
        await append_event(session, actor=actor(user), kind="job.beacon_entered", subject=f"job:{job.job_no}",
                           data={"beacon": value, "label": job.beacon_label})
        try:
            sel = await _select(session, job, await _eligible_rows(session, job), actor_name=actor(user))
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
            return await _rechoose_direct(session, job, previous, quote_id, reason, actor(user))
        try:
            sel = await _select(session, job, eligible, actor_name=actor(user),
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
    winner = await _winner(session, sel)
    await notify(session, agency_id=winner.agency_id, kind="job.won", data={"job": job.job_no})
    await session.commit()
    return sel


async def selection_of(session: AsyncSession, job: Job) -> Selection | None:
    return (await session.exec(select(Selection).where(Selection.job_id == job.id))).first()


async def _exclude_winner(session: AsyncSession, job: Job, sel: Selection, reason: str, actor_name: str) -> str | None:
    """DESIGN step 10: remove the current winner, re-apply with the same order."""
    if not sel.winner_quote_id:
        raise Conflict(_("There is no winner to exclude."))
    excluded = [*sel.excluded, {"quote_id": sel.winner_quote_id, "reason": reason}]
    cands = [Candidate.from_json(c) for c in sel.candidates]
    new_winner = methods.reapply(job.method, cands, sel.order, sel.params, [e["quote_id"] for e in excluded])
    sel.excluded = excluded
    sel.winner_quote_id = new_winner
    session.add(sel)
    now = utcnow()
    await append_event(session, actor=actor_name, kind="selection.excluded", subject=f"job:{job.job_no}",
                       data={"quote_id": excluded[-1]["quote_id"], "reason": reason, "new_winner_quote_id": new_winner})
    remaining = {c["quote_id"] for c in sel.candidates} - {e["quote_id"] for e in excluded}
    if new_winner is None and job.method == "direct" and remaining:
        # The owner chooses again among the remaining eligible quotes.
        job.status = CLOSED
        job.publicity_ends_at = job.contract_due_at = None
    elif new_winner is None:
        job.status = FAILED
        job.status_reason = "no_candidate_left"
        await append_event(session, actor=actor_name, kind="job.failed", subject=f"job:{job.job_no}",
                           data={"reason": "no_candidate_left"})
    else:
        # The next candidate's result is published for a new publicity period.
        publicity = await int_param(session, "publicity_days")
        job.publicity_ends_at = now + timedelta(days=publicity)
        job.contract_due_at = job.publicity_ends_at + timedelta(days=await int_param(session, "contract_days"))
        await _flag_abnormal(session, job, sel)
        winner = await _winner(session, sel)
        await notify(session, agency_id=winner.agency_id, kind="job.won", data={"job": job.job_no})
    session.add(job)
    return new_winner


def _in_publicity(job: Job) -> bool:
    return job.status == AWARDED and job.publicity_ends_at is not None and utcnow() < ensure_aware(job.publicity_ends_at)


async def file_objection(session: AsyncSession, user: CurrentUser, job_no: str, reason: str) -> Objection:
    job = await public_job(session, job_no)
    bid = (await session.exec(select(Quote).where(Quote.job_id == job.id, Quote.agency_id == user.agency_id,
                                                  Quote.status == LIVE))).first()
    if bid is None:
        raise Forbidden(_("Only an agency that quoted on this job can object."))
    if not _in_publicity(job):
        raise Conflict(_("Objections can be filed only during the publicity period."))
    sel = await selection_of(session, job)
    open_dup = (await session.exec(select(Objection).where(Objection.job_id == job.id, Objection.agency_id == user.agency_id,
                                                           Objection.status == "open"))).first()
    if open_dup:
        raise Conflict(_("Your agency already has an open objection on this job."))
    obj = Objection(job_id=job.id, agency_id=user.agency_id, against_quote_id=sel.winner_quote_id or "", reason=reason)
    session.add(obj)
    await session.flush()
    await append_event(session, actor=actor(user), kind="objection.filed", subject=f"job:{job.job_no}",
                       data={"objection_id": obj.id, "against_quote_id": obj.against_quote_id})
    await session.commit()
    return obj


async def decide_objection(session: AsyncSession, user: CurrentUser, objection_id: int, decision: str, reason: str) -> Objection:
    obj, status, _now = await decide_once(session, Objection, objection_id, decision == "uphold", reason, actor(user),
                                          missing=_("No such objection."),
                                          decided=_("This objection has already been decided."))
    job = await session.get(Job, obj.job_id)
    await append_event(session, actor=actor(user), kind=f"objection.{status}",
                       subject=f"job:{job.job_no}", data={"objection_id": obj.id, "reason": reason})
    if decision == "uphold":
        sel = await selection_of(session, job)
        if job.status == AWARDED and sel.winner_quote_id == obj.against_quote_id:
            await _exclude_winner(session, job, sel, "objection_upheld", actor(user))
    await session.commit()
    await session.refresh(obj)
    return obj


async def submit_justification(session: AsyncSession, user: CurrentUser, job_no: str, text_: str) -> Selection:
    job = await public_job(session, job_no)
    sel = await selection_of(session, job)
    winner = await _winner(session, sel) if sel else None
    if not sel or sel.abnormal_status not in ("awaiting",) or winner is None or winner.agency_id != user.agency_id:
        raise Conflict(_("No justification is requested from your agency on this job."))
    if utcnow() > ensure_aware(sel.abnormal_due_at):
        raise Conflict(_("The time to justify the price has passed."))
    sel.abnormal_status = "submitted"
    sel.abnormal_justification = text_
    session.add(sel)
    await append_event(session, actor=actor(user), kind="selection.justification_submitted",
                       subject=f"job:{job.job_no}", data={"quote_id": sel.abnormal_quote_id})
    await session.commit()
    return sel


async def decide_justification(session: AsyncSession, user: CurrentUser, job_no: str, accept: bool, reason: str) -> Selection:
    job = await own_job(session, user, job_no)
    if not accept and not reason.strip():
        msg = _("Give a reason for rejecting the justification.")
        raise InputError(msg, fields={"reason": msg})
    sel = await selection_of(session, job)
    if not sel or job.status != AWARDED or sel.abnormal_status not in ("awaiting", "submitted"):
        raise Conflict(_("There is no abnormally low price to decide on."))
    if sel.abnormal_status == "awaiting" and (accept or utcnow() <= ensure_aware(sel.abnormal_due_at)):
        raise Conflict(_("Wait for the agency's justification (or for its deadline to pass before rejecting)."))
    await append_event(session, actor=actor(user), kind=f"selection.justification_{'accepted' if accept else 'rejected'}",
                       subject=f"job:{job.job_no}", data={"quote_id": sel.abnormal_quote_id, "reason": reason})
    if accept:
        sel.abnormal_status = "accepted"
        session.add(sel)
    else:
        await _exclude_winner(session, job, sel, "abnormally_low_rejected", actor(user))
    await session.commit()
    return sel


async def record_refusal(session: AsyncSession, user: CurrentUser, job_no: str, reason: str) -> Job:
    """The winner refused to sign: a major violation (severe the second time), next candidate."""
    job = await own_job(session, user, job_no)
    if job.status != AWARDED:
        raise Conflict(_("Only an awarded job can record a refusal to sign."))
    if utcnow() < ensure_aware(job.publicity_ends_at):
        raise Conflict(_("A refusal to sign can be recorded only after the publicity period ends."))
    sel = await selection_of(session, job)
    winner = await _winner(session, sel)
    earlier = (await session.exec(select(Violation).where(Violation.agency_id == winner.agency_id,
                                                          Violation.kind == "refused_to_sign"))).all()
    severity = "severe" if earlier else "major"
    session.add(Violation(agency_id=winner.agency_id, severity=severity, kind="refused_to_sign",
                          description=reason, evidence=f"job:{job.job_no}", job_id=job.id, recorded_by=actor(user)))
    agency = await session.get(Agency, winner.agency_id)
    await append_event(session, actor=actor(user), kind="violation.recorded", subject=f"agency:{agency.credit_code}",
                       data={"severity": severity, "kind": "refused_to_sign", "job": job.job_no})
    await _exclude_winner(session, job, sel, "refused_to_sign", actor(user))
    await session.commit()
    return job


async def confirm_contract(session: AsyncSession, user: CurrentUser, job_no: str) -> Contract:
    job = await own_job(session, user, job_no)
    sel = await selection_of(session, job)
    now = utcnow()
    if job.status == CONTRACTED:
        raise Conflict(_("The contract has already been confirmed."))
    if job.status != AWARDED or sel is None or not sel.winner_quote_id:
        raise Conflict(_("Only an awarded job can be contracted."))
    if now < ensure_aware(job.publicity_ends_at):
        raise Conflict(_("The contract can be confirmed only after the publicity period ends."))
    if now > ensure_aware(job.contract_due_at):
        raise Conflict(_("The 10-day window for confirming the contract has passed."))
    open_obj = (await session.exec(select(Objection).where(Objection.job_id == job.id, Objection.status == "open"))).first()
    if open_obj:
        raise Conflict(_("An objection is still open."))
    if sel.abnormal_status in ("awaiting", "submitted"):
        raise Conflict(_("The abnormally low price must be decided first."))
    res = await session.exec(update(Job).where(Job.id == job.id, Job.status == AWARDED)
                             .values(status=CONTRACTED, contracted_at=now))
    if res.rowcount != 1:
        raise Conflict(_("The contract has already been confirmed."))
    winner = await _winner(session, sel)
    contract = Contract(job_id=job.id, quote_id=winner.id, agency_id=winner.agency_id, amount=winner.price,
                        confirmed_at=now, confirmed_by=actor(user))
    session.add(contract)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict(_("The contract has already been confirmed.")) from None
    await append_event(session, actor=actor(user), kind="job.contracted", subject=f"job:{job.job_no}",
                       data={"quote_id": str(winner.id), "amount": money(winner.price)})
    await session.commit()
    return contract


async def extend_contract_window(session: AsyncSession, user: CurrentUser, job_no: str, days: int,
                                 reason: str) -> Job:
    """A regulator gives the owner `days` more (from now) to confirm the contract, with a reason.

    DESIGN gives the owner 10 days and says nothing of what follows; without this an
    awarded job whose window passed could only end by a recorded refusal.
    """
    job = await get_job(session, job_no)
    if job.status != AWARDED:
        raise Conflict(_("Only an awarded job waiting for its contract can be given more time."))
    now = utcnow()
    if job.publicity_ends_at is None or now < ensure_aware(job.publicity_ends_at):
        raise Conflict(_("The contract window has not started: the publicity period is still running."))
    old_due = ensure_aware(job.contract_due_at)
    new_due = now + timedelta(days=days)
    if old_due and new_due <= old_due:
        raise Conflict(_("The owner's current deadline is later than this extension would give."))
    res = await session.exec(update(Job).where(Job.id == job.id, Job.status == AWARDED,
                                               Job.contract_due_at == job.contract_due_at)
                             .values(contract_due_at=new_due))
    if res.rowcount != 1:
        raise Conflict(_("The job changed meanwhile; reload and try again."))
    await append_event(session, actor=actor(user), kind="job.contract_window_extended", subject=f"job:{job.job_no}",
                       data={"days": days, "reason": reason, "from": format_time(old_due) if old_due else None,
                             "to": format_time(new_due)})
    await notify(session, owner_id=job.owner_id, kind="contract.window_extended",
                 data={"job": job.job_no, "due": format_time(new_due), "reason": reason})
    await session.commit()
    await session.refresh(job)
    return job


async def complete_job(session: AsyncSession, user: CurrentUser, job_no: str) -> Job:
    job = await own_job(session, user, job_no)
    res = await session.exec(update(Job).where(Job.id == job.id, Job.status == CONTRACTED)
                             .values(status=COMPLETED, completed_at=utcnow()))
    if res.rowcount != 1:
        raise Conflict(_("Only a contracted job can be marked completed."))
    await append_event(session, actor=actor(user), kind="job.completed", subject=f"job:{job.job_no}", data={})
    await session.commit()
    await session.refresh(job)
    return job


# ---- the public record ---------------------------------------------------------------------

async def draw_record(session: AsyncSession, job: Job) -> dict[str, Any] | None:
    """The draw record (DESIGN field list) plus the opened quotes with their nonces."""
    sel = await selection_of(session, job)
    if sel is None:
        return None
    record = {
        "protocol": "marketdraw-v1", "job_id": job.job_no, "method": sel.method, "params": sel.params,
        "seed_commitment": job.seed_commitment, "server_seed": job.server_seed, "beacon": sel.beacon,
        "candidates": sel.candidates, "candidates_digest": sel.candidates_digest, "final_seed": sel.final_seed,
        "order": sel.order, "excluded": sel.excluded, "winner_quote_id": sel.winner_quote_id,
        "selected_at": format_time(ensure_aware(sel.selected_at)),
    }
    record["quotes"] = await opened_quotes(session, job)
    return record


async def opened_quotes(session: AsyncSession, job: Job) -> list[dict[str, Any]]:
    """Every quote live at the deadline, with receipt, nonce and eligibility (after opening only)."""
    rows = (await session.exec(select(Quote, Agency).join(Agency, Agency.id == Quote.agency_id).where(
        Quote.job_id == job.id, Quote.status == LIVE).order_by(col(Quote.id)))).all()
    out = []
    for q, a in rows:
        body = receipt_body(job.job_no, q, a.credit_code)
        out.append({**body, "receipt": q.receipt, "agency_name": a.name, "eligible": bool(q.eligible),
                    "ineligible_reasons": [r for r in q.ineligible_reason.split(",") if r]})
    return out
