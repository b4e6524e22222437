"""Agencies' service commitments (服务承诺, DESIGN "Service catalogue, commitments …").

Per category it is qualified in, an approved agency publishes its service content, time limit (days) and fee
standard. Publishing again closes the version in force and opens a new one (dated; audited): a quote is
judged by the version in force when it was submitted, so a later change never re-judges an earlier quote.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.sql.selectable import ScalarSelect
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.audit import append_event
from app.auth import CurrentUser
from app.clock import ensure_aware, utcnow
from app.errors import Forbidden, InputError, NotFound
from app.i18n import get_locale
from app.i18n import gettext as _
from marketplace.catalogue_models import Commitment
from marketplace.models import APPROVED, Agency, Qualification, ServiceCategory
from marketplace.schemas.clarifications import CommitmentIn, CommitmentListOut, CommitmentOut

CENT = Decimal("0.01")


def in_force_at(at: datetime):
    """SQL condition: the commitment version in force at `at`."""
    return (col(Commitment.valid_from) <= at) & or_(col(Commitment.valid_to).is_(None), col(Commitment.valid_to) > at)


async def commitment_at(session: AsyncSession, agency_id: int, category_id: int, at: datetime) -> Commitment | None:
    """The agency's commitment in the category in force at `at` (None: it had published none)."""
    return (await session.exec(select(Commitment).where(
        Commitment.agency_id == agency_id, Commitment.category_id == category_id, in_force_at(ensure_aware(at)))
        .order_by(col(Commitment.valid_from).desc()))).first()


def over_commitment_text(limit: int, days: int) -> str:
    return _("Your service commitment in this category promises at most {limit} days; this quote promises {days}.",
             limit=limit, days=days)


def check_days_within(limit: int | None, days: int) -> None:
    """Refuse an unsealed quote whose service days exceed `limit`, the time limit of the commitment in force
    (None: the agency published none in the category)."""
    if limit is not None and days > limit:
        msg = over_commitment_text(limit, days)
        raise InputError(msg, fields={"service_days": msg}, data={"code": "over_commitment", "time_limit_days": limit})


def time_limit_in_force(agency_id: Any, category_id: Any, at: Any) -> ScalarSelect[int]:
    """SQL scalar: the time limit of the agency's commitment in the category in force at `at` (NULL: none);
    `commitment_at`'s choice, for a caller that reads it with other things in one query."""
    return (select(Commitment.time_limit_days).where(Commitment.agency_id == agency_id,
                                                     Commitment.category_id == category_id, in_force_at(at))
            .order_by(col(Commitment.valid_from).desc()).limit(1).scalar_subquery())


async def check_service_days(session: AsyncSession, agency_id: int, category_id: int, days: int) -> None:
    """Refuse an unsealed quote whose service days exceed the commitment in force now."""
    c = await commitment_at(session, agency_id, category_id, utcnow())
    check_days_within(c.time_limit_days if c is not None else None, days)


async def qualified_categories(session: AsyncSession, agency_id: int) -> list[ServiceCategory]:
    """The categories the agency holds an approved qualification in (where it may publish a commitment)."""
    return list((await session.exec(select(ServiceCategory).join(
        Qualification, Qualification.category_id == ServiceCategory.id).where(
        Qualification.agency_id == agency_id, Qualification.status == APPROVED)
        .order_by(col(ServiceCategory.sort_order), col(ServiceCategory.id)).distinct())).all())


def _row(c: Commitment) -> dict:
    return {"content": c.content, "time_limit_days": c.time_limit_days, "fee_standard": c.fee_standard,
            "fee_rate": str(Decimal(c.fee_rate).quantize(CENT)) if c.fee_rate is not None else None}


async def publish_commitment(session: AsyncSession, user: CurrentUser, data: CommitmentIn) -> Commitment:
    agency = await session.get(Agency, user.agency_id) if user.agency_id else None
    if agency is None:
        raise Forbidden(_("You are not allowed to do this."))
    if agency.status != APPROVED:
        raise Forbidden(_("Only an approved agency may publish commitments."))
    cats = {c.code: c for c in await qualified_categories(session, agency.id)}
    cat = cats.get(data.category_code)
    if cat is None:
        msg = _("Your agency holds no approved qualification in this category.")
        raise InputError(msg, fields={"category_code": msg})
    now = utcnow()
    current = await commitment_at(session, agency.id, cat.id, now)
    if current is not None:
        if _row(current) == _row(Commitment(agency_id=agency.id, category_id=cat.id, content=data.content,
                                            time_limit_days=data.time_limit_days, fee_standard=data.fee_standard,
                                            fee_rate=data.fee_rate, created_by="")):
            return current  # nothing changed: no new version
        current.valid_to = now
        session.add(current)
    new = Commitment(agency_id=agency.id, category_id=cat.id, content=data.content,
                     time_limit_days=data.time_limit_days, fee_standard=data.fee_standard, fee_rate=data.fee_rate,
                     valid_from=now, created_by=actor_of(user))
    session.add(new)
    await append_event(session, actor=actor_of(user), kind="commitment.published",
                       subject=f"agency:{agency.credit_code}",
                       data={"category": cat.code, "before": _row(current) if current else None, "after": _row(new)})
    await session.commit()
    await session.refresh(new)
    return new


async def commitments_out(session: AsyncSession, agency_code: str) -> CommitmentListOut:
    """An agency's commitments in force now, and every earlier version (newest first)."""
    agency = (await session.exec(select(Agency).where(Agency.credit_code == agency_code,
                                                      Agency.status == APPROVED))).first()
    if agency is None:
        raise NotFound(_("No such agency."))
    now = utcnow()
    rows = (await session.exec(select(Commitment, ServiceCategory).join(
        ServiceCategory, ServiceCategory.id == Commitment.category_id).where(Commitment.agency_id == agency.id)
        .order_by(col(ServiceCategory.sort_order), col(Commitment.valid_from).desc()))).all()

    def out(c: Commitment, cat: ServiceCategory) -> CommitmentOut:
        return CommitmentOut(category_code=cat.code, category_name=cat.name_zh if get_locale() == "zh_CN" else cat.name_en,
                             content=c.content, time_limit_days=c.time_limit_days, fee_standard=c.fee_standard,
                             fee_rate=c.fee_rate, valid_from=ensure_aware(c.valid_from),
                             valid_to=ensure_aware(c.valid_to) if c.valid_to else None)
    in_force = [out(c, cat) for c, cat in rows if c.valid_to is None or ensure_aware(c.valid_to) > now]
    history = [out(c, cat) for c, cat in rows if not (c.valid_to is None or ensure_aware(c.valid_to) > now)]
    return CommitmentListOut(agency_code=agency.credit_code, in_force=in_force, history=history)
