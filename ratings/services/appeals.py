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


async def _file_appeal(session: AsyncSession, user: CurrentUser, evaluation: Rating | Review | None, given_at,
                       field: str, texts: dict[str, str], reason: str) -> Appeal:
    """The agency appeals an evaluation of its work (an owner's rating or a department's review), within
    15 days of it, once; `field` is the appeal's column naming it, `texts` the messages in its words."""
    if evaluation is None or evaluation.agency_id != user.agency_id:
        raise NotFound(texts["missing"])
    if evaluation.voided_at is not None:
        raise Conflict(texts["voided"])
    if utcnow() > ensure_aware(given_at(evaluation)) + timedelta(days=APPEAL_WINDOW_DAYS):
        raise Conflict(_("The 15-day appeal period has ended."))
    appeal = Appeal(**{field: evaluation.id}, agency_id=evaluation.agency_id, reason=reason)
    session.add(appeal)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise Conflict(texts["twice"]) from None
    agency = await session.get(Agency, evaluation.agency_id)
    await append_event(session, actor=actor_of(user), kind="appeal.filed", subject=f"agency:{agency.credit_code}",
                       data={field: evaluation.id, "appeal_id": appeal.id})
    await session.commit()
    return appeal


async def appeal_rating(session: AsyncSession, user: CurrentUser, rating_id: int, reason: str) -> Appeal:
    return await _file_appeal(session, user, await session.get(Rating, rating_id), lambda r: r.rated_at,
                              "rating_id", {"missing": _("No such rating."), "voided": _("This rating has been voided."),
                                            "twice": _("This rating has already been appealed.")}, reason)


async def appeal_review(session: AsyncSession, user: CurrentUser, review_id: int, reason: str) -> Appeal:
    """The agency appeals a department's review of its result, within 15 days of the review, once."""
    return await _file_appeal(session, user, await session.get(Review, review_id), lambda r: r.reviewed_at,
                              "review_id", {"missing": _("No such review."), "voided": _("This review has been voided."),
                                            "twice": _("This review has already been appealed.")}, reason)


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
