"""The service timer of a contracted job (DESIGN "After the award": 服务时限).

The owner pauses (暂停计时) and resumes it with a reason; the agency asks for an extension (延期)
with a reason and the owner approves it (days added) or rejects it. Every step is an audit event
and a row of `service_step` (pauses, resumes, approved extensions), from which
:mod:`marketplace.domain.service_timer` computes the due date. A sweeper step sends the 80 %
and due-date notices, each once per contract.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.audit import append_event
from app.auth import CurrentUser
from app.canonical import format_time
from app.clock import ensure_aware, utcnow
from app.errors import Conflict, InputError, NotFound
from app.i18n import gettext as _
from marketplace.domain.service_timer import (
    EXTEND,
    MAX_EXTENSION_DAYS,
    PAUSE,
    RESUME,
    Step,
    TimerState,
    notice_at,
    timer_state,
)
from marketplace.models import CONTRACT_CONFIRMED, CONTRACTED, Contract, Job, ServiceExtension, ServiceStep
from marketplace.services.contracts import contract_of
from marketplace.services.jobs import get_job, own_job
from marketplace.services.registry import notify


async def steps_of(session: AsyncSession, job_id: int) -> list[ServiceStep]:
    return list((await session.exec(select(ServiceStep).where(ServiceStep.job_id == job_id)
                                    .order_by(col(ServiceStep.at), col(ServiceStep.id)))).all())


def as_steps(rows: list[ServiceStep]) -> list[Step]:
    return [Step(r.kind, ensure_aware(r.at), r.days) for r in rows]


async def timer_of(session: AsyncSession, job: Job, contract: Contract | None = None,
                   now: datetime | None = None) -> TimerState | None:
    """The timer as it stands now, or None before both parties have confirmed."""
    contract = contract or await contract_of(session, job)
    if contract is None or contract.started_at is None:
        return None
    rows = await steps_of(session, job.id)
    return timer_state(ensure_aware(contract.started_at), contract.service_days, as_steps(rows), now or utcnow())


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        msg = _("Give a reason.")
        raise InputError(msg, fields={"reason": msg})
    return reason


def _days(days: int) -> int:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_EXTENSION_DAYS:
        msg = _("An extension is 1 to {n} days.", n=MAX_EXTENSION_DAYS)
        raise InputError(msg, fields={"days": msg})
    return days


async def _running_contract(session: AsyncSession, job: Job) -> Contract:
    """The job's confirmed contract, locked for this step (one pause at a time, however many clicks)."""
    if job.status != CONTRACTED:
        raise Conflict(_("The service timer runs only on a contracted job."))
    contract = await contract_of(session, job, for_update=True)
    if contract is None or contract.status != CONTRACT_CONFIRMED or contract.started_at is None:
        raise Conflict(_("The service timer runs only on a contracted job."))
    return contract


async def _step(session: AsyncSession, user: CurrentUser, job: Job, kind: str, reason: str, days: int = 0,
                extension_id: int | None = None) -> ServiceStep:
    step = ServiceStep(job_id=job.id, kind=kind, actor=actor_of(user), reason=reason, days=days,
                       extension_id=extension_id, at=utcnow())
    session.add(step)
    await session.flush()
    return step


async def pause_timer(session: AsyncSession, user: CurrentUser, job_no: str, reason: str) -> TimerState:
    job = await own_job(session, user, job_no)
    reason = _reason(reason)
    contract = await _running_contract(session, job)
    state = await timer_of(session, job, contract)
    if state.paused:
        raise Conflict(_("The service timer is already paused."))
    await _step(session, user, job, PAUSE, reason)
    await append_event(session, actor=actor_of(user), kind="service.paused", subject=f"job:{job.job_no}",
                       data={"reason": reason})
    await notify(session, agency_id=contract.agency_id, kind="service.paused", data={"job": job.job_no,
                                                                                     "reason": reason})
    await session.commit()
    return await timer_of(session, job, contract)


async def resume_timer(session: AsyncSession, user: CurrentUser, job_no: str, reason: str) -> TimerState:
    job = await own_job(session, user, job_no)
    reason = _reason(reason)
    contract = await _running_contract(session, job)
    state = await timer_of(session, job, contract)
    if not state.paused:
        raise Conflict(_("The service timer is not paused."))
    await _step(session, user, job, RESUME, reason)
    after = await timer_of(session, job, contract)
    await append_event(session, actor=actor_of(user), kind="service.resumed", subject=f"job:{job.job_no}",
                       data={"reason": reason, "service_due": format_time(after.due_at)})
    await notify(session, agency_id=contract.agency_id, kind="service.resumed",
                 data={"job": job.job_no, "service_due": format_time(after.due_at)})
    await session.commit()
    return after


async def request_extension(session: AsyncSession, user: CurrentUser, job_no: str, days: int,
                            reason: str) -> ServiceExtension:
    job = await get_job(session, job_no)
    contract = await contract_of(session, job)
    if contract is None or user.agency_id is None or contract.agency_id != user.agency_id:
        raise NotFound(_("There is no contract of yours on this job."))
    days, reason = _days(days), _reason(reason)
    await _running_contract(session, job)
    pending = (await session.exec(select(ServiceExtension.id).where(ServiceExtension.job_id == job.id,
                                                                    ServiceExtension.status == "pending"))).first()
    if pending:
        raise Conflict(_("An extension request is already waiting for the owner."))
    ext = ServiceExtension(job_id=job.id, days=days, reason=reason, requested_by=actor_of(user))
    session.add(ext)
    await session.flush()
    await append_event(session, actor=actor_of(user), kind="service.extension_requested",
                       subject=f"job:{job.job_no}", data={"extension_id": ext.id, "days": days, "reason": reason})
    await notify(session, owner_id=job.owner_id, kind="service.extension_requested",
                 data={"job": job.job_no, "days": days})
    await session.commit()
    return ext


async def decide_extension(session: AsyncSession, user: CurrentUser, job_no: str, extension_id: int, approve: bool,
                           reason: str, days: int | None = None) -> ServiceExtension:
    """The owner approves (the requested days, or fewer/more given as `days`) or rejects (with a reason)."""
    job = await own_job(session, user, job_no)
    ext = await session.get(ServiceExtension, extension_id)
    if ext is None or ext.job_id != job.id:
        raise NotFound(_("No such extension request."))
    reason = (reason or "").strip() if approve else _reason(reason)
    granted = _days(ext.days if days is None else days) if approve else 0
    contract = await _running_contract(session, job)
    res = await session.exec(update(ServiceExtension).where(ServiceExtension.id == ext.id,
                                                            ServiceExtension.status == "pending")
                             .values(status="approved" if approve else "rejected", decided_at=utcnow(),
                                     decided_by=actor_of(user), decision_reason=reason))
    if res.rowcount != 1:
        raise Conflict(_("This extension request has already been decided."))
    data: dict[str, Any] = {"extension_id": ext.id, "reason": reason}
    if approve:
        await _step(session, user, job, EXTEND, reason, days=granted, extension_id=ext.id)
        data |= {"days": granted, "service_due": format_time((await timer_of(session, job, contract)).due_at)}
    kind = f"service.extension_{'approved' if approve else 'rejected'}"
    await append_event(session, actor=actor_of(user), kind=kind, subject=f"job:{job.job_no}", data=data)
    await notify(session, agency_id=contract.agency_id, kind=kind,
                 data={"job": job.job_no, "days": granted, "reason": reason})
    await session.commit()
    await session.refresh(ext)
    return ext


async def extensions_of(session: AsyncSession, job_id: int) -> list[ServiceExtension]:
    return list((await session.exec(select(ServiceExtension).where(ServiceExtension.job_id == job_id)
                                    .order_by(col(ServiceExtension.id)))).all())


async def send_timer_notices(session: AsyncSession, now: datetime | None = None) -> int:
    """The 80 % and due-date notices to both parties, each once per contract (a sweeper step: a notice is
    claimed by setting its column where it is still empty, so two sweepers send it once)."""
    now = now or utcnow()
    rows = (await session.exec(
        select(Contract, Job).join(Job, Job.id == Contract.job_id)
        .where(Job.status == CONTRACTED, col(Contract.started_at).is_not(None),
               col(Contract.notice_due_sent_at).is_(None)))).all()
    sent = 0
    for contract, job in rows:
        state = timer_state(ensure_aware(contract.started_at), contract.service_days,
                            as_steps(await steps_of(session, job.id)), now)
        due_reached = state.used >= state.allowed
        eighty = notice_at(state)
        for column, kind, reached in (("notice_80_sent_at", "service.time_80", eighty is not None and now >= eighty),
                                      ("notice_due_sent_at", "service.due", due_reached)):
            if not reached or getattr(contract, column) is not None:
                continue
            res = await session.exec(update(Contract).where(Contract.id == contract.id,
                                                            col(getattr(Contract, column)).is_(None))
                                     .values({column: now}))
            if res.rowcount != 1:
                continue
            data = {"job": job.job_no, "service_due": format_time(state.due_at)}
            await notify(session, agency_id=contract.agency_id, kind=kind, data=data)
            await notify(session, owner_id=job.owner_id, kind=kind, data=data)
            sent += 1
        await session.commit()
    return sent


async def overdue_services(session: AsyncSession,
                           now: datetime | None = None) -> list[tuple[Job, Contract, TimerState]]:
    """Contracted jobs whose service time has run out, most overdue first (regulators' list)."""
    now = now or utcnow()
    rows = (await session.exec(select(Contract, Job).join(Job, Job.id == Contract.job_id)
                               .where(Job.status == CONTRACTED, col(Contract.started_at).is_not(None)))).all()
    out = []
    for contract, job in rows:
        state = timer_state(ensure_aware(contract.started_at), contract.service_days,
                            as_steps(await steps_of(session, job.id)), now)
        if state.overdue:
            out.append((job, contract, state))
    out.sort(key=lambda t: t[2].remaining)
    return out
