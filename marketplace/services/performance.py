"""The job's performance record after the award, as each viewer may see it (DESIGN "After the award":
the public sees the contract publicity, the timer's dates and states, the number of returns and the
completion date; the parties and regulators also see the files, reasons and rounds)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import CurrentUser
from app.clock import ensure_aware, utcnow
from app.i18n import gettext as _
from marketplace.domain.money import money
from marketplace.domain.service_timer import local_date
from marketplace.models import Agency, Job, Owner
from marketplace.schemas import (
    ContractPublicityOut,
    ExtensionOut,
    PerformanceOut,
    ResultFileOut,
    ResultRoundOut,
    TimerOut,
    TimerStepOut,
)
from marketplace.services.contracts import contract_of, job_reviewer, may_see_contract_file
from marketplace.services.job_notices import iso
from marketplace.services.results import files_of, result_counts, rounds_of
from marketplace.services.timers import extensions_of, steps_of, timer_of


async def performance(db: AsyncSession, job: Job, user: CurrentUser | None) -> PerformanceOut:
    contract = await contract_of(db, job)
    submitted, returned = await result_counts(db, job.id)
    out = PerformanceOut(job_id=job.job_no, status=job.status, contract=None, timer=None,
                         results_submitted=submitted, results_returned=returned, completed_at=iso(job.completed_at))
    if contract is None:
        return out
    party = may_see_contract_file(user, job, contract)
    files_visible = party or await job_reviewer(db, user, job)  # the job's reviewers see the files too
    owner = await db.get(Owner, job.owner_id)
    agency = await db.get(Agency, contract.agency_id)
    started = ensure_aware(contract.started_at) if contract.started_at else None
    out.contract = ContractPublicityOut(
        status=contract.status, owner=owner.name, agency=agency.name, agency_code=agency.credit_code,
        amount=money(contract.amount), service_days=contract.service_days,
        owner_confirmed_at=iso(contract.confirmed_at), agency_confirm_due_at=iso(contract.agency_confirm_due_at),
        agency_confirmed_at=iso(contract.agency_confirmed_at), start_date=local_date(started) if started else None,
        file_sha256=contract.file_sha256,
        file_url=f"/jobs/{job.job_no}/contract.pdf" if files_visible and contract.file_sha256 else None)
    state = await timer_of(db, job, contract)
    if state is not None:
        steps = await steps_of(db, job.id)
        out.timer = TimerOut(started_at=iso(state.started_at), due_at=iso(state.due_at),
                             service_days=state.service_days, extension_days=state.extension_days,
                             paused=state.paused, remaining_days=state.remaining_days, overdue=state.overdue,
                             steps=[TimerStepOut(kind=s.kind, at=iso(s.at), reason=s.reason if party else "",
                                                 days=s.days) for s in steps])
    if party:
        out.extensions = [ExtensionOut(id=e.id, days=e.days, reason=e.reason, status=e.status,
                                       requested_at=iso(e.requested_at), decided_at=iso(e.decided_at),
                                       decision_reason=e.decision_reason) for e in await extensions_of(db, job.id)]
    if files_visible:
        files = await files_of(db, job.id)
        out.rounds = [ResultRoundOut(
            round=r.round, status=r.status, note=r.note, submitted_at=iso(r.submitted_at),
            answer_due_at=iso(r.answer_due_at), answered_at=iso(r.answered_at), return_reason=r.return_reason,
            days_late=r.days_late,
            files=[ResultFileOut(id=f.id, filename=f.filename, size=f.size, sha256=f.sha256,
                                 url=f"/jobs/{job.job_no}/results/{f.id}") for f in files.get(r.id, [])])
            for r in await rounds_of(db, job.id)]
    return out


def next_step(perf: PerformanceOut | None, actor: str, job: Job) -> tuple[str, str | None] | None:
    """What the owner or the agency does next on the job after the award, and by when (ISO time or None):
    the line the job page shows above the record. None for everyone else, or when nothing is expected."""
    if perf is None or actor not in ("owner", "agency"):
        return None
    c, owner = perf.contract, actor == "owner"
    in_publicity = job.publicity_ends_at is not None and ensure_aware(job.publicity_ends_at) > utcnow()
    if job.status == "awarded" and c is None and in_publicity:
        end = iso(job.publicity_ends_at)
        return ((_("The publicity period ends {due}; then sign the contract with the agency and upload it."), end)
                if owner else (_("The publicity period ends {due}; then sign the contract with the owner."), end))
    if job.status == "awarded" and c is None:
        due = iso(job.contract_due_at)
        return ((_("Next: sign the contract with the agency and upload it, by {due}."), due) if owner
                else (_("Next: sign the contract with the owner; the owner uploads it by {due}."), due))
    if c is not None and c.status == "owner_confirmed":
        return ((_("Waiting for the agency to confirm the contract, by {due}."), c.agency_confirm_due_at) if owner
                else (_("Next: confirm or refuse the signed contract, by {due}."), c.agency_confirm_due_at))
    rounds = perf.rounds or []
    if job.status == "contracted" and rounds and rounds[-1].status == "submitted":
        due = rounds[-1].answer_due_at
        return ((_("Next: confirm or return the result, by {due}."), due) if owner
                else (_("Waiting for the owner's answer to your result, by {due}."), due))
    if job.status == "contracted" and perf.timer is not None:
        due = perf.timer.due_at
        if any(e.status == "pending" for e in perf.extensions or []):
            return ((_("Next: decide the agency's extension request."), None) if owner
                    else (_("Waiting for the owner's decision on your extension request."), None))
        return ((_("The service is running; its result is due {due}."), due) if owner
                else (_("Next: submit the result, by {due}."), due))
    if job.status == "completed" and owner:
        return _("Next: rate the agency."), None
    return None
