"""The service's result (成果) and its sign-off (DESIGN "After the award").

The agency submits result files with a note; the owner confirms (the job is `completed`, which
opens rating) or returns it with a reason, and the agency submits again; every round is kept.
An owner who does not answer within 10 working days is deemed to have confirmed (a sweeper step,
audit event `result.deemed`). A first submission after the timer's due date (pauses and approved
extensions counted) records a `minor` "overdue service" violation, with the days late, when the
result is confirmed.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.audit import append_event
from app.auth import CurrentUser
from app.canonical import format_time
from app.clock import ensure_aware, utcnow
from app.errors import Conflict, InputError, NotFound
from app.i18n import gettext as _
from marketplace.domain.service_timer import days_late_between, owner_answer_due
from marketplace.models import COMPLETED, CONTRACTED, Contract, Job, ResultFile, ResultRound
from marketplace.ports import credit
from marketplace.services.attachments import checked_file, store_file, stored_file
from marketplace.services.contracts import contract_of, may_see_files
from marketplace.services.jobs import get_job, own_job
from marketplace.services.registry import notify
from marketplace.services.timers import timer_of

MAX_FILES = 10
SUBMITTED, RETURNED, CONFIRMED, DEEMED = "submitted", "returned", "confirmed", "deemed"
SYSTEM = "system"


async def rounds_of(session: AsyncSession, job_id: int) -> list[ResultRound]:
    return list((await session.exec(select(ResultRound).where(ResultRound.job_id == job_id)
                                    .order_by(col(ResultRound.round)))).all())


async def files_of(session: AsyncSession, job_id: int) -> dict[int, list[ResultFile]]:
    files: dict[int, list[ResultFile]] = {}
    for f in (await session.exec(select(ResultFile).where(ResultFile.job_id == job_id)
                                 .order_by(col(ResultFile.id)))).all():
        files.setdefault(f.round_id, []).append(f)
    return files


async def submit_result(session: AsyncSession, user: CurrentUser, job_no: str, note: str,
                        files: list[tuple[str, bytes]], var_dir: Path) -> ResultRound:
    """The contracted agency submits its result: one to ten files (the attachments' types and sizes)."""
    job = await get_job(session, job_no)
    contract = await contract_of(session, job, for_update=True)
    if contract is None or user.agency_id is None or contract.agency_id != user.agency_id:
        raise NotFound(_("There is no contract of yours on this job."))
    if job.status != CONTRACTED or contract.started_at is None:
        raise Conflict(_("Results can be submitted only on a contracted job."))
    if not files:
        msg = _("Attach at least one result file.")
        raise InputError(msg, fields={"file": msg})
    if len(files) > MAX_FILES:
        msg = _("At most {n} files per submission.", n=MAX_FILES)
        raise InputError(msg, fields={"file": msg})
    checked = [(*checked_file(name, data), data) for name, data in files]  # all checked before anything is stored
    rounds = await rounds_of(session, job.id)
    if rounds and rounds[-1].status == SUBMITTED:
        raise Conflict(_("The last submission is still waiting for the owner's answer."))
    now = utcnow()
    days_late = 0
    if not rounds:  # lateness is that of the first submission
        state = await timer_of(session, job, contract, now)
        days_late = days_late_between(state.due_at, now)
    rnd = ResultRound(job_id=job.id, round=len(rounds) + 1, note=(note or "").strip(), submitted_at=now,
                      submitted_by=actor_of(user), answer_due_at=owner_answer_due(now), days_late=days_late)
    session.add(rnd)
    await session.flush()
    listed = []
    for name, content_type, data in checked:
        digest = store_file(var_dir, data)
        session.add(ResultFile(round_id=rnd.id, job_id=job.id, filename=name, content_type=content_type,
                               size=len(data), sha256=digest))
        listed.append({"filename": name, "sha256": digest, "size": len(data)})
    await append_event(session, actor=actor_of(user), kind="result.submitted", subject=f"job:{job.job_no}",
                       data={"round": rnd.round, "files": listed, "days_late": days_late,
                             "answer_due": format_time(rnd.answer_due_at)})
    await notify(session, owner_id=job.owner_id, kind="result.submitted",
                 data={"job": job.job_no, "answer_due": format_time(rnd.answer_due_at)})
    await session.commit()
    await session.refresh(rnd)
    return rnd


async def _waiting_round(session: AsyncSession, job: Job) -> ResultRound:
    rounds = await rounds_of(session, job.id)
    if job.status != CONTRACTED or not rounds or rounds[-1].status != SUBMITTED:
        raise Conflict(_("There is no result waiting for an answer."))
    rnd = rounds[-1]
    if utcnow() > ensure_aware(rnd.answer_due_at):
        raise Conflict(_("The 10 working days for answering have passed: the result is deemed confirmed."))
    return rnd


async def _complete(session: AsyncSession, job: Job, contract: Contract, rnd: ResultRound, status: str,
                    actor: str, now: datetime) -> None:
    """Confirm (or deem confirmed) `rnd`: the job is completed, lateness becomes a violation (caller commits)."""
    res = await session.exec(update(ResultRound).where(ResultRound.id == rnd.id, ResultRound.status == SUBMITTED)
                             .values(status=status, answered_at=now, answered_by=actor))
    moved = await session.exec(update(Job).where(Job.id == job.id, Job.status == CONTRACTED)
                               .values(status=COMPLETED, completed_at=now))
    if res.rowcount != 1 or moved.rowcount != 1:
        await session.rollback()
        raise Conflict(_("This result has already been answered."))
    first = (await session.exec(select(ResultRound).where(ResultRound.job_id == job.id, ResultRound.round == 1))).one()
    await append_event(session, actor=actor, kind="result.deemed" if status == DEEMED else "result.confirmed",
                       subject=f"job:{job.job_no}", data={"round": rnd.round, "days_late": first.days_late})
    await append_event(session, actor=actor, kind="job.completed", subject=f"job:{job.job_no}",
                       data={"round": rnd.round})
    if first.days_late > 0:
        await credit().record_overdue_service(session, agency_id=contract.agency_id, job_id=job.id,
                                              job_no=job.job_no, days_late=first.days_late, actor=actor)
    await notify(session, agency_id=contract.agency_id, kind=f"result.{status}", data={"job": job.job_no})


async def confirm_result(session: AsyncSession, user: CurrentUser, job_no: str) -> Job:
    job = await own_job(session, user, job_no)
    contract = await contract_of(session, job, for_update=True)
    rnd = await _waiting_round(session, job)
    await _complete(session, job, contract, rnd, CONFIRMED, actor_of(user), utcnow())
    await session.commit()
    await session.refresh(job)
    return job


async def return_result(session: AsyncSession, user: CurrentUser, job_no: str, reason: str) -> ResultRound:
    job = await own_job(session, user, job_no)
    reason = (reason or "").strip()
    if not reason:
        msg = _("Say why the result is returned.")
        raise InputError(msg, fields={"reason": msg})
    contract = await contract_of(session, job, for_update=True)
    rnd = await _waiting_round(session, job)
    res = await session.exec(update(ResultRound).where(ResultRound.id == rnd.id, ResultRound.status == SUBMITTED)
                             .values(status=RETURNED, answered_at=utcnow(), answered_by=actor_of(user),
                                     return_reason=reason))
    if res.rowcount != 1:
        raise Conflict(_("This result has already been answered."))
    await append_event(session, actor=actor_of(user), kind="result.returned", subject=f"job:{job.job_no}",
                       data={"round": rnd.round, "reason": reason})
    await notify(session, agency_id=contract.agency_id, kind="result.returned",
                 data={"job": job.job_no, "reason": reason})
    await session.commit()
    await session.refresh(rnd)
    return rnd


async def deem_unanswered_results(session: AsyncSession, now: datetime | None = None,
                                  completed: list[int] | None = None) -> int:
    """Results the owner left unanswered for 10 working days are deemed confirmed (a sweeper step; each
    round once: the guarded updates in `_complete` let one sweeper win). The agencies of the completed
    jobs are appended to `completed` (their credit is recomputed after a lateness violation)."""
    now = now or utcnow()
    due = (await session.exec(select(ResultRound.id).where(ResultRound.status == SUBMITTED,
                                                           ResultRound.answer_due_at <= now))).all()
    done = 0
    for round_id in due:
        rnd = await session.get(ResultRound, round_id)
        job = await session.get(Job, rnd.job_id)
        contract = await contract_of(session, job, for_update=True)
        try:
            await _complete(session, job, contract, rnd, DEEMED, SYSTEM, now)
        except Conflict:
            continue  # another sweeper answered it first
        await session.commit()
        done += 1
        if completed is not None:
            completed.append(contract.agency_id)
    return done


async def result_counts(session: AsyncSession, job_id: int) -> tuple[int, int]:
    """(rounds submitted, rounds returned): what the public sees of the result."""
    rows = dict((await session.exec(select(ResultRound.status, func.count()).where(ResultRound.job_id == job_id)
                                    .group_by(ResultRound.status))).all())
    return sum(rows.values()), rows.get(RETURNED, 0)


async def result_file(session: AsyncSession, user: CurrentUser | None, job_no: str, file_id: int,
                      var_dir: Path) -> tuple[ResultFile, Path]:
    job = await get_job(session, job_no)
    contract = await contract_of(session, job)
    f = await session.get(ResultFile, file_id)
    if f is None or f.job_id != job.id or contract is None or not await may_see_files(session, user, job, contract):
        raise NotFound(_("No such file."))
    return f, stored_file(var_dir, f.sha256)
