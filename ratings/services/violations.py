"""Violations recorded by regulators (and by the marketplace through the credit port), and early lifts of list entries."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import update
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.audit import append_event
from app.auth import CurrentUser
from app.clock import utcnow
from app.errors import Conflict, InputError, NotFound
from app.i18n import gettext as _
from app.i18n import ngettext
from marketplace.models import Agency
from marketplace.schemas import check_credit_code
from marketplace.services.registry import notify
from ratings.models import ListEntry, Violation
from ratings.schemas import ViolationIn
from ratings.services.recompute import list_change


async def add_violation(session: AsyncSession, agency: Agency, *, severity: str, kind: str, description: str,
                        evidence: str, recorded_by: str, event: Callable[[Violation], dict[str, Any]],
                        job_id: int | None = None) -> Violation:
    """The one place a violation is stored, with its `violation.recorded` audit event (caller commits)."""
    v = Violation(agency_id=agency.id, severity=severity, kind=kind, description=description, evidence=evidence,
                  job_id=job_id, recorded_by=recorded_by)
    session.add(v)
    await session.flush()
    await append_event(session, actor=recorded_by, kind="violation.recorded", subject=f"agency:{agency.credit_code}",
                       data=event(v))
    return v


async def record_refusal(session: AsyncSession, *, agency_id: int, job_id: int, job_no: str, reason: str,
                         actor: str) -> str:
    """The winner refused to sign (DESIGN): a `major` violation, `severe` from the second time."""
    earlier = (await session.exec(select(Violation.id).where(Violation.agency_id == agency_id,
                                                             Violation.kind == "refused_to_sign"))).first()
    severity = "severe" if earlier else "major"
    agency = await session.get(Agency, agency_id)
    await add_violation(session, agency, severity=severity, kind="refused_to_sign", description=reason,
                        evidence=f"job:{job_no}", recorded_by=actor, job_id=job_id,
                        event=lambda _v: {"severity": severity, "kind": "refused_to_sign", "job": job_no})
    return severity


async def record_overdue_service(session: AsyncSession, *, agency_id: int, job_id: int, job_no: str, days_late: int,
                                 actor: str) -> Violation:
    """The first result came after the service's due date (DESIGN "After the award"): a `minor` violation
    "overdue service", with the days late as evidence."""
    agency = await session.get(Agency, agency_id)
    return await add_violation(session, agency, severity="minor", kind="overdue_service",
                               description=ngettext("Overdue service: the result came {n} day late.",
                                                    "Overdue service: the result came {n} days late.", days_late),
                               evidence=f"job:{job_no}; days_late:{days_late}", recorded_by=actor, job_id=job_id,
                               event=lambda _v: {"severity": "minor", "kind": "overdue_service", "job": job_no,
                                                 "days_late": days_late})


async def record_violation(session: AsyncSession, user: CurrentUser, data: ViolationIn) -> Violation:
    try:
        code = check_credit_code(data.agency_code)
    except ValueError as exc:
        raise InputError(str(exc), fields={"agency_code": str(exc)}) from None
    agency = (await session.exec(select(Agency).where(Agency.credit_code == code))).first()
    if agency is None:
        msg = _("No such agency.")
        raise InputError(msg, fields={"agency_code": msg})
    v = await add_violation(session, agency, severity=data.severity, kind=data.kind, description=data.description,
                            evidence=data.evidence, recorded_by=actor_of(user),
                            event=lambda v: {"violation_id": v.id, "severity": v.severity, "kind": v.kind})
    await notify(session, agency_id=agency.id, kind="violation.recorded", data={"reason": v.description})
    await session.commit()
    return v


async def lift_entry(session: AsyncSession, user: CurrentUser, entry_id: int, reason: str) -> ListEntry:
    entry = await session.get(ListEntry, entry_id)
    if entry is None:
        raise NotFound(_("No such list entry."))
    if entry.kind != "black":
        # A red-list entry follows the score; lifting it early would be undone at once.
        raise Conflict(_("A red-list entry cannot be lifted; it ends when the agency no longer qualifies."))
    now = utcnow()
    res = await session.exec(update(ListEntry).where(ListEntry.id == entry_id, col(ListEntry.lifted_at).is_(None),
                                                     or_(col(ListEntry.ends_at).is_(None), col(ListEntry.ends_at) > now))
                             .values(lifted_at=now, lift_reason=reason))
    if res.rowcount != 1:
        raise Conflict(_("This entry has already ended."))
    agency = await session.get(Agency, entry.agency_id)
    await list_change(session, agency, entry.kind, "lifted", {"entry_id": entry.id, "reason": reason}, by=actor_of(user))
    await session.commit()
    await session.refresh(entry)
    return entry
