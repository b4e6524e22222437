"""The contract's two-party confirmation (DESIGN "After the award": 合同).

After the publicity period, within its contract window, the owner uploads the signed contract (a
PDF) and confirms it; the winning agency then confirms the same file within 5 working days, or
refuses, which is a refusal to sign (a `major` violation, the next candidate is offered the job).
When both have confirmed the job is `contracted` and the service timer starts with the winner's
promised service days. Both confirmations are audit events carrying the file's sha256.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.audit import append_event
from app.auth import CurrentUser
from app.canonical import format_time
from app.clock import ensure_aware, utcnow
from app.errors import Conflict, NotFound
from app.i18n import gettext as _
from app.models import User
from marketplace.catalogue_models import ServiceItem
from marketplace.domain.money import money
from marketplace.domain.service_timer import agency_confirm_due, timer_state
from marketplace.models import (
    AWARDED,
    CONTRACT_CONFIRMED,
    CONTRACT_OWNER_CONFIRMED,
    CONTRACTED,
    Contract,
    Job,
    Objection,
)
from marketplace.ports import credit
from marketplace.services.attachments import checked_file, store_file, stored_file
from marketplace.services.jobs import get_job, own_job
from marketplace.services.registry import notify
from marketplace.services.selection import selection_of, winning_quote
from marketplace.services.winners import exclude_winner

PDF_ONLY = {".pdf": ("application/pdf", (b"%PDF",))}


def pdf_only_message() -> str:
    return _("The signed contract must be a PDF file.")


async def contract_of(session: AsyncSession, job: Job, *, for_update: bool = False) -> Contract | None:
    stmt = select(Contract).where(Contract.job_id == job.id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.exec(stmt)).first()


async def confirm_contract(session: AsyncSession, user: CurrentUser, job_no: str, filename: str, data: bytes,
                           var_dir: Path) -> Contract:
    """The owner uploads the signed contract and confirms it (after the publicity period, in the window)."""
    job = await own_job(session, user, job_no)
    sel = await selection_of(session, job)
    now = utcnow()
    if job.status == CONTRACTED or await contract_of(session, job) is not None:
        raise Conflict(_("The contract has already been confirmed."))
    if job.status != AWARDED or sel is None or not sel.winner_quote_id:
        raise Conflict(_("Only an awarded job can be contracted."))
    if now < ensure_aware(job.publicity_ends_at):
        raise Conflict(_("The contract can be confirmed only after the publicity period ends."))
    if now > ensure_aware(job.contract_due_at):
        raise Conflict(_("The 10-day window for confirming the contract has passed."))
    open_obj = (await session.exec(select(Objection).where(Objection.job_id == job.id,
                                                           Objection.status == "open"))).first()
    if open_obj:
        raise Conflict(_("An objection is still open."))
    if sel.abnormal_status in ("awaiting", "submitted"):
        raise Conflict(_("The abnormally low price must be decided first."))
    name, _type = checked_file(filename, data, PDF_ONLY, pdf_only_message())
    winner = await winning_quote(session, sel)
    digest = store_file(var_dir, data)
    due = agency_confirm_due(now)
    contract = Contract(job_id=job.id, quote_id=winner.id, agency_id=winner.agency_id, amount=winner.price,
                        confirmed_at=now, confirmed_by=actor_of(user), status=CONTRACT_OWNER_CONFIRMED,
                        file_name=name, file_sha256=digest, file_size=len(data), service_days=winner.service_days,
                        agency_confirm_due_at=due)
    session.add(contract)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict(_("The contract has already been confirmed.")) from None
    await append_event(session, actor=actor_of(user), kind="contract.owner_confirmed", subject=f"job:{job.job_no}",
                       data={"quote_id": str(winner.id), "amount": money(winner.price), "sha256": digest,
                             "size": len(data), "agency_confirm_due": format_time(due)})
    await notify(session, agency_id=winner.agency_id, kind="contract.to_confirm",
                 data={"job": job.job_no, "due": format_time(due)})
    await session.commit()
    return contract


async def _agency_contract(session: AsyncSession, user: CurrentUser, job_no: str) -> tuple[Job, Contract]:
    """The job and its contract waiting for this agency's confirmation (404 for anyone else: no leak)."""
    job = await get_job(session, job_no)
    contract = await contract_of(session, job, for_update=True)
    if contract is None or user.agency_id is None or contract.agency_id != user.agency_id:
        raise NotFound(_("There is no contract of yours on this job."))
    if contract.status == CONTRACT_CONFIRMED:
        raise Conflict(_("The contract has already been confirmed."))
    if utcnow() > ensure_aware(contract.agency_confirm_due_at):
        raise Conflict(_("The 5 working days for confirming the contract have passed."))
    return job, contract


async def agency_confirm_contract(session: AsyncSession, user: CurrentUser, job_no: str) -> Contract:
    """The winning agency confirms the file the owner uploaded: the job is contracted, the timer starts."""
    job, contract = await _agency_contract(session, user, job_no)
    now = utcnow()
    res = await session.exec(update(Contract).where(Contract.id == contract.id,
                                                    Contract.status == CONTRACT_OWNER_CONFIRMED)
                             .values(status=CONTRACT_CONFIRMED, agency_confirmed_at=now,
                                     agency_confirmed_by=actor_of(user), started_at=now))
    moved = await session.exec(update(Job).where(Job.id == job.id, Job.status == AWARDED)
                               .values(status=CONTRACTED, contracted_at=now))
    if res.rowcount != 1 or moved.rowcount != 1:
        await session.rollback()
        raise Conflict(_("The contract has already been confirmed."))
    due = timer_state(now, contract.service_days, [], now).due_at
    await append_event(session, actor=actor_of(user), kind="job.contracted", subject=f"job:{job.job_no}",
                       data={"quote_id": str(contract.quote_id), "amount": money(contract.amount),
                             "sha256": contract.file_sha256, "service_days": contract.service_days,
                             "service_due": format_time(due)})
    await notify(session, owner_id=job.owner_id, kind="contract.confirmed",
                 data={"job": job.job_no, "service_due": format_time(due)})
    await session.commit()
    await session.refresh(contract)
    return contract


async def agency_refuse_contract(session: AsyncSession, user: CurrentUser, job_no: str, reason: str) -> Job:
    """The winning agency refuses the contract: a refusal to sign, and the next candidate is offered the job."""
    job, contract = await _agency_contract(session, user, job_no)
    sel = await selection_of(session, job)
    await append_event(session, actor=actor_of(user), kind="contract.refused", subject=f"job:{job.job_no}",
                       data={"quote_id": str(contract.quote_id), "sha256": contract.file_sha256, "reason": reason})
    await credit().record_refusal(session, agency_id=contract.agency_id, job_id=job.id, job_no=job.job_no,
                                  reason=reason, actor=actor_of(user))
    await session.exec(delete(Contract).where(Contract.id == contract.id))
    await exclude_winner(session, job, sel, "refused_to_sign", actor_of(user))
    await notify(session, owner_id=job.owner_id, kind="contract.refused", data={"job": job.job_no, "reason": reason})
    await session.commit()
    await session.refresh(job)
    return job


async def withdraw_unconfirmed_contract(session: AsyncSession, job: Job) -> None:
    """Before the owner records a refusal to sign: a contract the agency let lapse goes (caller commits);
    one the agency may still confirm stops the owner."""
    contract = await contract_of(session, job, for_update=True)
    if contract is None:
        return
    if contract.status == CONTRACT_CONFIRMED:
        raise Conflict(_("The contract has already been confirmed."))
    if utcnow() <= ensure_aware(contract.agency_confirm_due_at):
        raise Conflict(_("The agency may still confirm the contract until {due}.",
                         due=format_time(contract.agency_confirm_due_at)))
    await session.exec(delete(Contract).where(Contract.id == contract.id))


def may_see_contract_file(user: CurrentUser | None, job: Job, contract: Contract) -> bool:
    """The file is for the parties and regulators (DESIGN); the public sees the publicity only."""
    if user is None:
        return False
    return (user.role == "regulator" or (user.owner_id is not None and user.owner_id == job.owner_id)
            or (user.agency_id is not None and user.agency_id == contract.agency_id))


async def job_reviewer(session: AsyncSession, user: CurrentUser | None, job: Job) -> bool:
    """Whether the user is a reviewer of the approving department of the job's catalogue item."""
    if user is None or user.role != "reviewer" or job.item_id is None:
        return False
    account = await session.get(User, user.id)
    item = await session.get(ServiceItem, job.item_id)
    return bool(account and account.is_active and account.department_id is not None and item
                and item.department_id == account.department_id)


async def may_see_files(session: AsyncSession, user: CurrentUser | None, job: Job, contract: Contract) -> bool:
    """The contract file and the result files: the parties, regulators and the job's reviewers (DESIGN)."""
    return may_see_contract_file(user, job, contract) or await job_reviewer(session, user, job)


async def contract_file(session: AsyncSession, user: CurrentUser | None, job_no: str,
                        var_dir: Path) -> tuple[Contract, Path]:
    job = await get_job(session, job_no)
    contract = await contract_of(session, job)
    if contract is None or not contract.file_sha256 or not await may_see_files(session, user, job, contract):
        raise NotFound(_("No such file."))
    return contract, stored_file(var_dir, contract.file_sha256)
