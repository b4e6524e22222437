"""Agencies appeal a rating; a regulator upholds or dismisses it once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.audit import append_event
from app.auth import CurrentUser
from app.clock import ensure_aware, utcnow
from app.errors import Conflict, NotFound
from app.i18n import gettext as _
from marketplace.models import Agency
from marketplace.services.decisions import decide_once
from marketplace.services.registry import notify
from ratings.models import Appeal, Rating

APPEAL_WINDOW_DAYS = 15


async def appeal_rating(session: AsyncSession, user: CurrentUser, rating_id: int, reason: str) -> Appeal:
    rating = await session.get(Rating, rating_id)
    if rating is None or rating.agency_id != user.agency_id:
        raise NotFound(_("No such rating."))
    if rating.voided_at is not None:
        raise Conflict(_("This rating has been voided."))
    if utcnow() > ensure_aware(rating.rated_at) + timedelta(days=APPEAL_WINDOW_DAYS):
        raise Conflict(_("The 15-day appeal period has ended."))
    appeal = Appeal(rating_id=rating.id, agency_id=rating.agency_id, reason=reason)
    session.add(appeal)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict(_("This rating has already been appealed.")) from None
    agency = await session.get(Agency, rating.agency_id)
    await append_event(session, actor=actor_of(user), kind="appeal.filed", subject=f"agency:{agency.credit_code}",
                       data={"rating_id": rating.id, "appeal_id": appeal.id})
    await session.commit()
    return appeal


async def decide_appeal(session: AsyncSession, user: CurrentUser, appeal_id: int, uphold: bool, reason: str) -> Appeal:
    appeal, status, now = await decide_once(session, Appeal, appeal_id, uphold, reason, actor_of(user),
                                            missing=_("No such appeal."),
                                            decided=_("This appeal has already been decided."))
    agency = await session.get(Agency, appeal.agency_id)
    if uphold:
        await session.exec(update(Rating).where(Rating.id == appeal.rating_id).values(voided_at=now, void_reason=reason))
    await append_event(session, actor=actor_of(user), kind=f"appeal.{status}", subject=f"agency:{agency.credit_code}",
                       data={"appeal_id": appeal.id, "rating_id": appeal.rating_id, "reason": reason})
    await notify(session, agency_id=agency.id, kind=f"appeal.{status}", data={"reason": reason})
    await session.commit()
    await session.refresh(appeal)
    return appeal
