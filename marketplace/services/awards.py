"""After the selection: objections, abnormally low prices, refusal to sign, the owner's contract window."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.audit import append_event
from app.auth import CurrentUser
from app.canonical import format_time
from app.clock import ensure_aware, utcnow
from app.errors import Conflict, Forbidden, InputError
from app.i18n import gettext as _
from marketplace.models import (
    AWARDED,
    COMPLETED,
    LIVE,
    RATED,
    Job,
    Objection,
    Quote,
    Selection,
)
from marketplace.ports import credit
from marketplace.services.contracts import contract_of, withdraw_unconfirmed_contract
from marketplace.services.decisions import decide_once
from marketplace.services.jobs import get_job, own_job, public_job
from marketplace.services.registry import notify
from marketplace.services.selection import selection_of, winning_quote
from marketplace.services.winners import exclude_winner


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
    await append_event(session, actor=actor_of(user), kind="objection.filed", subject=f"job:{job.job_no}",
                       data={"objection_id": obj.id, "against_quote_id": obj.against_quote_id})
    await session.commit()
    return obj


async def decide_objection(session: AsyncSession, user: CurrentUser, objection_id: int, decision: str, reason: str) -> Objection:
    obj, status, _now = await decide_once(session, Objection, objection_id, decision == "uphold", reason, actor_of(user),
                                          missing=_("No such objection."),
                                          decided=_("This objection has already been decided."))
    job = await session.get(Job, obj.job_id)
    await append_event(session, actor=actor_of(user), kind=f"objection.{status}",
                       subject=f"job:{job.job_no}", data={"objection_id": obj.id, "reason": reason})
    if decision == "uphold":
        sel = await selection_of(session, job)
        if job.status == AWARDED and sel.winner_quote_id == obj.against_quote_id:
            await exclude_winner(session, job, sel, "objection_upheld", actor_of(user))
    await session.commit()
    await session.refresh(obj)
    return obj


async def submit_justification(session: AsyncSession, user: CurrentUser, job_no: str, text_: str) -> Selection:
    job = await public_job(session, job_no)
    sel = await selection_of(session, job)
    winner = await winning_quote(session, sel) if sel else None
    if not sel or sel.abnormal_status not in ("awaiting",) or winner is None or winner.agency_id != user.agency_id:
        raise Conflict(_("No justification is requested from your agency on this job."))
    if utcnow() > ensure_aware(sel.abnormal_due_at):
        raise Conflict(_("The time to justify the price has passed."))
    sel.abnormal_status = "submitted"
    sel.abnormal_justification = text_
    session.add(sel)
    await append_event(session, actor=actor_of(user), kind="selection.justification_submitted",
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
    await append_event(session, actor=actor_of(user), kind=f"selection.justification_{'accepted' if accept else 'rejected'}",
                       subject=f"job:{job.job_no}", data={"quote_id": sel.abnormal_quote_id, "reason": reason})
    if accept:
        sel.abnormal_status = "accepted"
        session.add(sel)
    else:
        await exclude_winner(session, job, sel, "abnormally_low_rejected", actor_of(user))
    await session.commit()
    return sel


async def record_refusal(session: AsyncSession, user: CurrentUser, job_no: str, reason: str) -> Job:
    """The winner refused to sign: a major violation (severe the second time), next candidate."""
    job = await own_job(session, user, job_no)
    if job.status != AWARDED:
        raise Conflict(_("Only an awarded job can record a refusal to sign."))
    if utcnow() < ensure_aware(job.publicity_ends_at):
        raise Conflict(_("A refusal to sign can be recorded only after the publicity period ends."))
    await withdraw_unconfirmed_contract(session, job)  # one the agency may still confirm stops this
    sel = await selection_of(session, job)
    winner = await winning_quote(session, sel)
    await credit().record_refusal(session, agency_id=winner.agency_id, job_id=job.id, job_no=job.job_no,
                                  reason=reason, actor=actor_of(user))
    await exclude_winner(session, job, sel, "refused_to_sign", actor_of(user))
    await session.commit()
    return job


async def extend_contract_window(session: AsyncSession, user: CurrentUser, job_no: str, days: int,
                                 reason: str) -> Job:
    """A regulator gives the owner `days` more (from now) to confirm the contract, with a reason.

    DESIGN gives the owner 10 days and says nothing of what follows; without this an
    awarded job whose window passed could only end by a recorded refusal.
    """
    job = await get_job(session, job_no)
    if job.status != AWARDED or await contract_of(session, job) is not None:
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
    await append_event(session, actor=actor_of(user), kind="job.contract_window_extended", subject=f"job:{job.job_no}",
                       data={"days": days, "reason": reason, "from": format_time(old_due) if old_due else None,
                             "to": format_time(new_due)})
    await notify(session, owner_id=job.owner_id, kind="contract.window_extended",
                 data={"job": job.job_no, "due": format_time(new_due), "reason": reason})
    await session.commit()
    await session.refresh(job)
    return job


async def mark_rated(session: AsyncSession, job: Job) -> None:
    """A completed job becomes `rated` (once; the rating's caller commits). 409 if it is not completed."""
    res = await session.exec(update(Job).where(Job.id == job.id, Job.status == COMPLETED).values(status=RATED))
    if res.rowcount != 1:
        raise Conflict(_("This contract has already been rated."))
