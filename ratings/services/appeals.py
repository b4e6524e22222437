"""Agencies appeal a rating or a review; a regulator upholds (the evaluation is voided) or dismisses it once."""

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
from ratings.models import Appeal, Rating, Review

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


async def appeal_review(session: AsyncSession, user: CurrentUser, review_id: int, reason: str) -> Appeal:
    """The agency appeals a department's review of its result, within 15 days of the review, once."""
    review = await session.get(Review, review_id)
    if review is None or review.agency_id != user.agency_id:
        raise NotFound(_("No such review."))
    if review.voided_at is not None:
        raise Conflict(_("This review has been voided."))
    if utcnow() > ensure_aware(review.reviewed_at) + timedelta(days=APPEAL_WINDOW_DAYS):
        raise Conflict(_("The 15-day appeal period has ended."))
    appeal = Appeal(review_id=review.id, agency_id=review.agency_id, reason=reason)
    session.add(appeal)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict(_("This review has already been appealed.")) from None
    agency = await session.get(Agency, review.agency_id)
    await append_event(session, actor=actor_of(user), kind="appeal.filed", subject=f"agency:{agency.credit_code}",
                       data={"review_id": review.id, "appeal_id": appeal.id})
    await session.commit()
    return appeal


async def decide_appeal(session: AsyncSession, user: CurrentUser, appeal_id: int, uphold: bool, reason: str) -> Appeal:
    appeal, status, now = await decide_once(session, Appeal, appeal_id, uphold, reason, actor_of(user),
                                            missing=_("No such appeal."),
                                            decided=_("This appeal has already been decided."))
    agency = await session.get(Agency, appeal.agency_id)
    if uphold and appeal.rating_id is not None:
        await session.exec(update(Rating).where(Rating.id == appeal.rating_id).values(voided_at=now, void_reason=reason))
    if uphold and appeal.review_id is not None:
        await session.exec(update(Review).where(Review.id == appeal.review_id).values(voided_at=now, void_reason=reason))
    about = {"review_id": appeal.review_id} if appeal.review_id is not None else {"rating_id": appeal.rating_id}
    await append_event(session, actor=actor_of(user), kind=f"appeal.{status}", subject=f"agency:{agency.credit_code}",
                       data={"appeal_id": appeal.id, **about, "reason": reason})
    notice = "review_appeal" if appeal.review_id is not None else "appeal"
    await notify(session, agency_id=agency.id, kind=f"{notice}.{status}", data={"reason": reason})
    await session.commit()
    await session.refresh(appeal)
    return appeal
