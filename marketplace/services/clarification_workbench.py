"""Clarifications on the workbench (marketplace.services.workbench): the owner's questions to answer, the
agency's quotes to re-confirm after an amendment. Registered on import (app.main)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, exists, or_, select

from app.auth import CurrentUser
from app.clock import ensure_aware
from app.i18n import gettext as _
from marketplace.clarification_models import Amendment, Question
from marketplace.models import LIVE, PUBLISHED, Job, Quote
from marketplace.services.workbench import Row, Source, agency_id, owner_id, register


def _questions(u: CurrentUser, now: datetime) -> Any:
    # clarifications.answer_question: an unanswered question on an own job that is still open.
    return (select(Job).where(Job.owner_id == owner_id(u), Job.status == PUBLISHED,
                              exists().where(Question.job_id == Job.id, col(Question.answered_at).is_(None)))
            .order_by(col(Job.quote_deadline), col(Job.id)))


def _question_row(job: Job) -> Row:
    return Row(job.job_no, job.title, f"/jobs/{job.job_no}#clarifications", ensure_aware(job.quote_deadline))


def _to_reconfirm(u: CurrentUser, now: datetime) -> Any:
    # clarifications.reconfirm_quote: a live quote before the deadline with an amendment after its submission
    # and after its last re-confirmation (domain.clarifications.quote_confirmed).
    later = exists().where(Amendment.job_id == Job.id, col(Amendment.published_at) > col(Quote.submitted_at),
                           or_(col(Quote.reconfirmed_at).is_(None), col(Amendment.published_at) > col(Quote.reconfirmed_at)))
    return (select(Job).join(Quote, Quote.job_id == Job.id)
            .where(Quote.agency_id == agency_id(u), Quote.status == LIVE, Job.status == PUBLISHED,
                   Job.quote_deadline > now, later)
            .order_by(col(Job.quote_deadline), col(Job.id)))


def _reconfirm_row(job: Job) -> Row:
    return Row(job.job_no, job.title, f"/jobs/{job.job_no}#clarifications", ensure_aware(job.quote_deadline))


register(Source("questions_to_answer", "owner", lambda: _("Questions to answer"), query=_questions, row=_question_row,
                due_label=lambda: _("Quote deadline")))
register(Source("quotes_to_reconfirm", "agency", lambda: _("Quotes to re-confirm after an amendment"),
                query=_to_reconfirm, row=_reconfirm_row, due_label=lambda: _("Quote deadline")))
