"""Clarifications (澄清/变更公告): agencies' questions, the owner's public answers, and amendments.

Sealed-safe by construction: any approved agency may ask (asking needs no quote, so a question says nothing
about who quoted); no page, API, notice or audit event but the regulators' names the asker; the public
list holds answered questions only, so nobody can count askers either. An amendment notifies every agency
with a live quote (one notice per agency, unseen by anyone else) and each must re-confirm its quote for it
to count at the deadline. A sealed job's deadline moves only once its key holders registered the new one.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.audit import append_event
from app.auth import CurrentUser
from app.canonical import format_time
from app.clock import ensure_aware, utcnow
from app.errors import Conflict, Forbidden, InputError, NotFound
from app.forms import parse
from app.i18n import gettext as _
from app.models import Notification, User
from app.settings import Settings, get_settings
from marketplace.clarification_models import Amendment, Question
from marketplace.domain.clarifications import EarlierDeadline, amended_deadline, quote_confirmed
from marketplace.models import APPROVED, LIVE, PUBLISHED, Agency, Attachment, Job, Quote
from marketplace.schemas.clarifications import (
    AmendmentIn,
    AmendmentOut,
    AnswerIn,
    ClarificationsOut,
    QuestionIn,
    QuestionOut,
    WithdrawnFileOut,
)
from marketplace.services import attachments
from marketplace.services.jobs import own_job, public_job

# What an amendment may not change (DESIGN: cancel and re-publish instead).
NOT_AMENDABLE = ("budget_cap", "category_code", "item_code", "min_level", "method", "price_weight",
                 "credit_weight", "state_funded")
ASKER = "agency"  # the actor of question events: never the asking agency


def _open_before_deadline(job: Job) -> None:
    if job.status != PUBLISHED:
        raise Conflict(_("This job is not open for quotes."), data={"code": "job_not_open"})
    if ensure_aware(job.quote_deadline) <= utcnow():
        raise Conflict(_("The quote deadline has passed."), data={"code": "deadline_passed"})


async def _notify_users(session: AsyncSession, *, agency_ids: list[int] = (), owner_id: int | None = None,
                        kind: str, data: dict[str, Any]) -> None:
    q = select(User.id).where(User.is_active == True)  # noqa: E712
    if owner_id is not None:
        q = q.where(User.owner_id == owner_id)
    else:
        q = q.where(col(User.agency_id).in_(list(agency_ids)))
    for uid in (await session.exec(q)).all():
        session.add(Notification(user_id=uid, kind=kind, data=data))


async def ask_question(session: AsyncSession, user: CurrentUser, job_no: str, data: QuestionIn) -> Question:
    agency = await session.get(Agency, user.agency_id) if user.agency_id else None
    if agency is None:
        raise Forbidden(_("You are not allowed to do this."))
    if agency.status != APPROVED:
        raise Forbidden(_("Only an approved agency may ask questions."))
    job = await public_job(session, job_no)
    _open_before_deadline(job)
    question = Question(job_id=job.id, asker_agency_id=agency.id, asker_user_id=user.id, text=data.text)
    session.add(question)
    await session.flush()
    await append_event(session, actor=ASKER, kind="question.asked", subject=f"job:{job.job_no}",
                       data={"question": question.id})
    await _notify_users(session, owner_id=job.owner_id, kind="question.asked", data={"job": job.job_no})
    await session.commit()
    return question


async def answer_question(session: AsyncSession, user: CurrentUser, job_no: str, question_id: int,
                          data: AnswerIn) -> Question:
    """The owner answers a question publicly (once; the answer is part of the notice)."""
    job = await own_job(session, user, job_no)
    question = await session.get(Question, question_id)
    if question is None or question.job_id != job.id:
        raise NotFound(_("No such question."))
    if job.status != PUBLISHED:
        raise Conflict(_("Questions can be answered only while the job is open."), data={"code": "job_not_open"})
    if question.answered_at is not None:
        raise Conflict(_("This question was already answered."), data={"code": "already_answered"})
    question.answer = data.answer
    question.answered_at = utcnow()
    question.answered_by = actor_of(user)
    session.add(question)
    await append_event(session, actor=actor_of(user), kind="question.answered", subject=f"job:{job.job_no}",
                       data={"question": question.id, "question_text": question.text, "answer": data.answer})
    await _notify_users(session, agency_ids=[question.asker_agency_id], kind="question.answered",
                        data={"job": job.job_no})
    await session.commit()
    return question


def amendment_input(raw: dict[str, Any]) -> AmendmentIn:
    """The amendment a request carries; naming the cap, category, item, level or method is refused."""
    named = [k for k in NOT_AMENDABLE if k in raw and str(raw[k]).strip() != ""]
    if named:
        msg = _("An amendment cannot change the budget cap, category, catalogue item, minimum level or selection "
                "method: cancel the job and publish it again.")
        raise InputError(msg, fields={k: msg for k in named}, data={"code": "not_amendable", "fields": named})
    return parse(AmendmentIn, raw)


async def amend_job(session: AsyncSession, user: CurrentUser, job_no: str, data: AmendmentIn, *,
                    files: list[tuple[str, bytes]] = (), settings: Settings | None = None) -> Amendment:
    """Publish an amendment: the deadline moves to the one asked for, and so that 3 days remain; `files` are
    added to the notice's attachments and those `data.withdraw` names withdrawn; every agency with a live quote
    is notified and must re-confirm. A sealed job's key holders register the new deadline first (over HTTP, no
    transaction open): if they do not, nothing is written (503). Files and withdrawals are checked before
    anything happens (one bad file or attachment named: nothing)."""
    settings = settings or get_settings()
    job = await own_job(session, user, job_no)
    _open_before_deadline(job)
    leaving = await attachments.check_withdrawals(session, job, data.withdraw)
    checked = await attachments.check_files(session, job, list(files), leaving=len(leaving)) if files else []
    now = utcnow()
    current = ensure_aware(job.quote_deadline)
    try:
        move = amended_deadline(now, current, data.quote_deadline)
    except EarlierDeadline:
        msg = _("The new deadline must be later than the current one ({deadline}).", deadline=format_time(current))
        raise InputError(msg, fields={"quote_deadline": msg}, data={"code": "deadline_not_later"}) from None
    sealing = None
    if move.deadline != current and job.sealing:
        from marketplace.services.key_holders import reregister_job

        sealing = await reregister_job(session, settings, job, move.deadline)
        await session.refresh(job)  # the registration took time without a transaction: still open, same deadline?
        if job.status != PUBLISHED or ensure_aware(job.quote_deadline) != current:
            raise Conflict(_("The job changed while the amendment was being published; please try again."))
    seq = (await session.exec(select(func.coalesce(func.max(Amendment.seq), 0))
                              .where(Amendment.job_id == job.id))).one() + 1
    amendment = Amendment(job_id=job.id, seq=seq, text=data.text, deadline_before=current,
                          deadline_after=move.deadline, requested_deadline=data.quote_deadline,
                          moved_for_minimum=move.moved_for_minimum, attachments_changed=bool(checked or leaving),
                          published_at=utcnow(), published_by=actor_of(user))
    session.add(amendment)
    try:
        await session.flush()
    except IntegrityError:  # another amendment of this job took the same number at the same moment
        await session.rollback()
        raise Conflict(_("Another amendment of this job was published at the same moment. Reload and try again."),
                       data={"code": "amendment_race"}) from None
    await attachments.withdraw(session, leaving, seq, amendment.published_at)
    added = await attachments.store_checked(session, user, job, checked, Path(settings.var_dir)) if checked else []
    if move.deadline != current:
        job.quote_deadline = move.deadline
        if sealing is not None:
            job.sealing = sealing
        session.add(job)
    bidders = list((await session.exec(select(Quote.agency_id).where(
        Quote.job_id == job.id, Quote.status == LIVE).distinct())).all())
    await append_event(session, actor=actor_of(user), kind="job.amended", subject=f"job:{job.job_no}",
                       data={"seq": seq, "text": data.text, "deadline_before": format_time(current),
                             "deadline_after": format_time(move.deadline),
                             "moved_for_minimum": move.moved_for_minimum,
                             "attachments_added": [{"filename": a.filename, "sha256": a.sha256} for a in added],
                             **({"attachments_withdrawn": [{"filename": a.filename, "sha256": a.sha256}
                                                           for a in leaving]} if leaving else {})})
    if bidders:
        await _notify_users(session, agency_ids=bidders, kind="job.amended",
                            data={"job": job.job_no, "deadline": format_time(move.deadline)})
    await session.commit()
    await session.refresh(amendment)
    return amendment


async def last_amendment_at(session: AsyncSession, job_id: int) -> datetime | None:
    at = (await session.exec(select(func.max(Amendment.published_at)).where(Amendment.job_id == job_id))).one()
    return ensure_aware(at) if at is not None else None


def counts_after_amendment(quote: Quote, last_at: datetime | None) -> bool:
    return quote_confirmed(ensure_aware(quote.submitted_at),
                           ensure_aware(quote.reconfirmed_at) if quote.reconfirmed_at else None, last_at)


async def reconfirm_quote(session: AsyncSession, user: CurrentUser, job_no: str) -> Quote:
    """The agency re-confirms its live quote after an amendment (the quote itself is unchanged)."""
    if not user.agency_id:
        raise Forbidden(_("You are not allowed to do this."))
    job = await public_job(session, job_no)
    _open_before_deadline(job)
    quote = (await session.exec(select(Quote).where(Quote.job_id == job.id, Quote.agency_id == user.agency_id,
                                                    Quote.status == LIVE))).first()
    if quote is None:
        raise NotFound(_("You have no live quote on this job."))
    last = await last_amendment_at(session, job.id)
    if counts_after_amendment(quote, last):
        raise Conflict(_("Your quote needs no re-confirmation: it already counts."), data={"code": "confirmed"})
    quote.reconfirmed_at = utcnow()
    session.add(quote)
    from marketplace.services.quotes import SEALED_BIDDER

    await append_event(session, actor=SEALED_BIDDER, kind="quote.reconfirmed", subject=f"job:{job.job_no}",
                       data={"receipt": quote.receipt})
    await session.commit()
    return quote


async def clarifications_of(session: AsyncSession, job: Job, user: CurrentUser | None) -> ClarificationsOut:
    """What the reader may see: the amendments; answered questions (plus the agency's own unanswered ones;
    all of them for the owner, regulators and admins, who alone see how many wait); the asker only for
    regulators and admins."""
    is_owner = bool(user and user.owner_id and user.owner_id == job.owner_id)
    staff = bool(user and user.role in ("regulator", "admin"))
    own_agency = user.agency_id if user and user.role == "agency" else None
    amendments = (await session.exec(select(Amendment).where(Amendment.job_id == job.id)
                                     .order_by(col(Amendment.seq)))).all()
    rows = (await session.exec(select(Question, Agency.credit_code).join(Agency, Agency.id == Question.asker_agency_id)
                               .where(Question.job_id == job.id).order_by(col(Question.id)))).all()
    questions = []
    for q, code in rows:
        mine = own_agency is not None and q.asker_agency_id == own_agency
        if q.answered_at is None and not (is_owner or staff or mine):
            continue
        questions.append(QuestionOut(id=q.id, text=q.text, asked_at=ensure_aware(q.asked_at), answer=q.answer,
                                     answered_at=ensure_aware(q.answered_at) if q.answered_at else None, mine=mine,
                                     asker_agency_code=code if staff else None))
    withdrawn: dict[int, list[WithdrawnFileOut]] = {}
    if any(a.attachments_changed for a in amendments):
        for f in (await session.exec(select(Attachment).where(Attachment.job_id == job.id,
                                                              col(Attachment.withdrawn_seq).is_not(None))
                                     .order_by(col(Attachment.id)))).all():
            withdrawn.setdefault(f.withdrawn_seq, []).append(WithdrawnFileOut(
                id=f.id, filename=f.filename, url=f"/jobs/{job.job_no}/attachments/{f.id}"))
    out = ClarificationsOut(
        job_no=job.job_no, quote_deadline=ensure_aware(job.quote_deadline),
        amendments=[AmendmentOut(seq=a.seq, text=a.text, published_at=ensure_aware(a.published_at),
                                 deadline_before=ensure_aware(a.deadline_before),
                                 deadline_after=ensure_aware(a.deadline_after), moved_for_minimum=a.moved_for_minimum,
                                 attachments_changed=a.attachments_changed, withdrawn=withdrawn.get(a.seq, []))
                    for a in amendments],
        questions=questions)
    if is_owner or staff:
        out.unanswered = sum(1 for q, _c in rows if q.answered_at is None)
    if own_agency is not None and job.status == PUBLISHED:
        quote = (await session.exec(select(Quote).where(Quote.job_id == job.id, Quote.agency_id == own_agency,
                                                        Quote.status == LIVE))).first()
        if quote is not None:
            last = ensure_aware(amendments[-1].published_at) if amendments else None
            out.reconfirm_needed = not counts_after_amendment(quote, last)
    return out
