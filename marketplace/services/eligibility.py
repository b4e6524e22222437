"""Who may quote on a job, and why not (DESIGN "Eligibility")."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import SHANGHAI, ensure_aware
from app.i18n import gettext as _
from marketplace.models import APPROVED, SUSPENDED, Agency, Job, JobExclusion, Qualification
from marketplace.ports import credit

REASONS = ("agency_not_approved", "agency_suspended", "black_listed", "not_qualified", "level_too_low",
           "certificate_expired", "excluded_by_owner", "over_cap", "price_not_positive", "envelope_invalid", "over_commitment", "not_reconfirmed")


def reason_text(code: str) -> str:
    return {
        "agency_not_approved": _("Your agency registration is not approved."),
        "agency_suspended": _("Your agency is suspended."),
        "black_listed": _("Your agency is on the black list and may not quote until the entry ends."),
        "not_qualified": _("Your agency holds no approved qualification in this service category."),
        "level_too_low": _("Your qualification level is below the minimum this job requires."),
        "certificate_expired": _("Your qualification certificate is not valid on the quote deadline."),
        "excluded_by_owner": _("The owner declared your agency conflicted for this job (回避)."),
        "over_cap": _("The price is above the budget cap."),
        "price_not_positive": _("The price is not above zero."),
        "envelope_invalid": _("The sealed envelope did not open to a valid quote."),
        "over_commitment": _("The service days exceed the time limit of the agency's service commitment in force "
                             "when the quote was submitted."),
        "not_reconfirmed": _("The quote was not re-confirmed after the job's last amendment."),
        "deadline_passed": _("The quote deadline has passed."),
        "job_not_open": _("This job is not open for quotes."),
    }.get(code, code)


def reasons_of(agency_status: str, black_listed: bool, qualification: tuple[int, date] | None, min_level: int,
               deadline: datetime, excluded: bool) -> list[str]:
    """The reasons from what was read: the agency's status, its black-list entry, its qualification in the job's
    category (level, valid until; None: none approved or expired), the job's minimum level and deadline, and
    the owner's exclusion (empty: eligible)."""
    reasons: list[str] = []
    if agency_status == SUSPENDED:
        reasons.append("agency_suspended")
    elif agency_status != APPROVED:
        reasons.append("agency_not_approved")
    if black_listed:
        reasons.append("black_listed")
    if qualification is None:
        reasons.append("not_qualified")
    else:
        level, valid_until = qualification
        if level > min_level:
            reasons.append("level_too_low")
        if valid_until < ensure_aware(deadline).astimezone(SHANGHAI).date():
            reasons.append("certificate_expired")
    if excluded:
        reasons.append("excluded_by_owner")
    return reasons


async def eligibility_reasons(session: AsyncSession, agency: Agency, job: Job, at: datetime) -> list[str]:
    """Why this agency may not quote on this job (empty: eligible)."""
    black = agency.id in await credit().black_listed(session, [agency.id], at)
    quals = (await session.exec(select(Qualification).where(
        Qualification.agency_id == agency.id, Qualification.category_id == job.category_id,
        Qualification.status.in_((APPROVED, "expired"))))).all()
    excluded = (await session.exec(select(func.count()).select_from(JobExclusion).where(
        JobExclusion.job_id == job.id, JobExclusion.agency_code == agency.credit_code))).one()
    return reasons_of(agency.status, black, (quals[0].level, quals[0].valid_until) if quals else None,
                      job.min_level, job.quote_deadline, bool(excluded))
