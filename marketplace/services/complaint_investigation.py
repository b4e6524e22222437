"""The regulator's side of complaints (DESIGN "Service catalogue, commitments, clarifications, complaints"): the
list and detail with the complainant, the two steps received → investigating → concluded, the dashboard cards
and the regulator's outputs. Filing, the follow-up and the public list are in `complaints`.

Each step is a conditional UPDATE, so a step taken twice (or raced) is refused; its audit event never names the
complainant. On the investigation's start the complainant (if a user) and the party concerned (the agency, else
the job's owner) are told, so that it can answer the regulator; on the conclusion both again, with the outcome
and the reasons. An upheld complaint may link a violation of the agency concerned: an existing one, or one
recorded now through the credit port.
"""

from __future__ import annotations

from sqlalchemy import case, update
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.audit import append_event
from app.auth import CurrentUser
from app.clock import utcnow
from app.dashboard import Card
from app.errors import Conflict, InputError
from app.forms import contains
from app.i18n import gettext as _
from app.models import Notification, User
from marketplace.complaint_models import Complaint
from marketplace.models import Agency, Job
from marketplace.ports import ViolationRef, credit
from marketplace.schemas.complaints import ComplainantOut, ComplaintConclusionIn, RegulatorComplaintOut
from marketplace.services.complaints import (
    CONCLUDED,
    INVESTIGATING,
    RECEIVED,
    UPHELD,
    ComplaintView,
    by_number,
    files_of,
    page_of,
    state_fields,
    view_of,
    with_subjects,
)
from marketplace.services.dashboard import count
from marketplace.services.registry import Listing, notify


async def regulator_complaints(session: AsyncSession, status: str | None, q: str | None, page: int = 1,
                               per_page: int = 20) -> Listing:
    """Every complaint (of one status, or all; `q` searching the number, description, job, agency and contact),
    received first, then under investigation, newest first: (Complaint, Job | None, Agency | None) rows."""
    stmt = with_subjects()
    if status:
        stmt = stmt.where(Complaint.status == status)
    if q:
        stmt = stmt.where(or_(contains(Complaint.complaint_no, q), contains(Complaint.description, q),
                              contains(Job.job_no, q), contains(Job.title, q), contains(Agency.name, q),
                              contains(Agency.credit_code, q), contains(Complaint.contact_name, q),
                              contains(Complaint.contact, q)))
    state_first = case((Complaint.status == RECEIVED, 0), (Complaint.status == INVESTIGATING, 1), else_=2)
    return await page_of(session, stmt, (state_first, col(Complaint.id).desc()), page, per_page)


async def regulator_complaint(session: AsyncSession, complaint_no: str) -> ComplaintView:
    return await view_of(session, await by_number(session, complaint_no), with_complainant=True)


async def violations_to_link(session: AsyncSession, view: ComplaintView) -> list[ViolationRef]:
    """The agency's recorded violations, which an upheld complaint may link."""
    return await credit().violations_of(session, view.agency.id) if view.agency else []


# ---- the regulator's steps ------------------------------------------------------------------------

async def _tell(session: AsyncSession, c: Complaint, job: Job | None, complainant_kind: str, party_kind: str,
                reason: str = "") -> None:
    """The complainant (if a user) and the party concerned (the agency, else the job's owner)."""
    extra = {"reason": reason} if reason else {}
    if c.complainant_user_id:
        session.add(Notification(user_id=c.complainant_user_id, kind=complainant_kind,
                                 data={"complaint": c.complaint_no, **extra}))
    about = {"complaint": c.complaint_no, **({"job": job.job_no} if job else {}), **extra}
    if c.agency_id:
        await notify(session, agency_id=c.agency_id, kind=party_kind, data=about)
    elif job is not None:
        await notify(session, owner_id=job.owner_id, kind=party_kind, data=about)


async def start_investigation(session: AsyncSession, user: CurrentUser, complaint_no: str) -> Complaint:
    """received → investigating (409 from any other state)."""
    c = await by_number(session, complaint_no)
    if c.status != RECEIVED:
        raise Conflict(_("This complaint is already under investigation or concluded."))
    now = utcnow()
    res = await session.exec(update(Complaint).where(Complaint.id == c.id, Complaint.status == RECEIVED)
                             .values(status=INVESTIGATING, investigating_at=now, handled_by=actor_of(user)))
    if res.rowcount != 1:
        await session.rollback()
        raise Conflict(_("This complaint is already under investigation or concluded."))
    job = await session.get(Job, c.job_id) if c.job_id else None
    await append_event(session, actor=actor_of(user), kind="complaint.investigating",
                       subject=f"complaint:{c.complaint_no}", data={"from": RECEIVED, "to": INVESTIGATING})
    await _tell(session, c, job, "complaint.investigating", "complaint.concerning")
    await session.commit()
    await session.refresh(c)
    return c


async def _violation(session: AsyncSession, c: Complaint, data: ComplaintConclusionIn) -> tuple[int | None, bool]:
    """Check the violation to link (before anything is written); (its id or None, whether it is new)."""
    if data.violation == "none":
        return None, False
    if data.outcome != UPHELD:
        msg = _("Only an upheld complaint can link a violation.")
        raise InputError(msg, fields={"violation": msg})
    if c.agency_id is None:
        msg = _("This complaint names no agency: no violation can be linked to it.")
        raise InputError(msg, fields={"violation": msg})
    if data.violation == "existing":
        ids = {v.id for v in await credit().violations_of(session, c.agency_id)}
        if data.violation_id is None or data.violation_id not in ids:
            msg = _("Choose one of the violations recorded against this agency.")
            raise InputError(msg, fields={"violation_id": msg})
        return data.violation_id, False
    fields = {}
    if data.severity is None:
        fields["severity"] = _("Choose the severity of the violation.")
    if not data.kind:
        fields["kind"] = _("Name the kind of violation.")
    if fields:
        raise InputError(_("Please correct the marked fields."), fields=fields)
    return None, True


async def conclude(session: AsyncSession, user: CurrentUser, complaint_no: str,
                   data: ComplaintConclusionIn) -> tuple[Complaint, int | None]:
    """investigating → concluded, with the outcome and the reasons (published); the complaint and the agency whose
    credit must be recomputed (a new violation was recorded), if any. Refused, with nothing written: from
    `received` (investigate first), a second time, without reasons, or with a violation that does not fit."""
    c = await by_number(session, complaint_no)
    if c.status == CONCLUDED:
        raise Conflict(_("This complaint has already been concluded."))
    if c.status == RECEIVED:
        raise Conflict(_("Start the investigation first: a complaint goes from received to investigating, "
                         "then to concluded."))
    conclusion = data.conclusion.strip()
    if not conclusion:
        msg = _("Give the reasons for the conclusion; they are published with it.")
        raise InputError(msg, fields={"conclusion": msg})
    linked, new = await _violation(session, c, data)
    now = utcnow()
    res = await session.exec(update(Complaint).where(Complaint.id == c.id, Complaint.status == INVESTIGATING)
                             .values(status=CONCLUDED, outcome=data.outcome, conclusion=conclusion, concluded_at=now,
                                     handled_by=actor_of(user)))
    if res.rowcount != 1:
        await session.rollback()
        raise Conflict(_("This complaint has already been concluded."))
    recompute = None
    if new:
        v = await credit().record_violation_for(
            session, agency_id=c.agency_id, severity=data.severity, kind=data.kind,
            description=data.violation_description or conclusion, evidence=f"complaint:{c.complaint_no}",
            actor=actor_of(user), job_id=c.job_id, event={"complaint": c.complaint_no})
        linked, recompute = v.id, c.agency_id
    if linked is not None:
        await session.exec(update(Complaint).where(Complaint.id == c.id).values(violation_id=linked))
    job = await session.get(Job, c.job_id) if c.job_id else None
    await append_event(session, actor=actor_of(user), kind="complaint.concluded", subject=f"complaint:{c.complaint_no}",
                       data={"outcome": data.outcome, "conclusion": conclusion, "violation_id": linked})
    await _tell(session, c, job, "complaint.concluded", f"complaint.{data.outcome}", conclusion)
    await session.commit()
    await session.refresh(c)
    return c, recompute


# ---- the regulator's dashboard --------------------------------------------------------------------

async def cards(db: AsyncSession) -> list[Card]:
    received = await count(db, Complaint, Complaint.status == RECEIVED)
    investigating = await count(db, Complaint, Complaint.status == INVESTIGATING)
    return [
        Card("complaints_received", _("Complaints received, to investigate"), received,
             "/regulator/complaints?status=received", True),
        Card("complaints_investigating", _("Complaints under investigation"), investigating,
             "/regulator/complaints?status=investigating", True),
    ]


def regulator_out(view: ComplaintView, complainant: User | None = None) -> RegulatorComplaintOut:
    c = view.complaint
    who = complainant or view.complainant
    return RegulatorComplaintOut(
        **state_fields(view), violation_id=c.violation_id, handled_by=c.handled_by,
        complainant=ComplainantOut(username=who.username if who else None, role=who.role if who else None,
                                   contact_name=c.contact_name, contact=c.contact,
                                   anonymous=c.complainant_user_id is None))


async def regulator_outs(session: AsyncSession, listing: Listing) -> list[RegulatorComplaintOut]:
    """The listing's rows with their files and complainants (three queries for the page)."""
    ids = [c.id for c, _j, _a in listing.items]
    files = await files_of(session, ids)
    user_ids = {c.complainant_user_id for c, _j, _a in listing.items if c.complainant_user_id}
    users = {u.id: u for u in (await session.exec(select(User).where(col(User.id).in_(user_ids)))).all()} \
        if user_ids else {}
    return [regulator_out(ComplaintView(c, j, a, files[c.id]), users.get(c.complainant_user_id))
            for c, j, a in listing.items]
