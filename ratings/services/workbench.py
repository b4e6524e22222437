"""Ratings' items on the workbench (marketplace.services.workbench): the owner's ratings due within the
rating window, the agency's appeals waiting for the regulator, the reviewer's results to review. Registered on import (app.main)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, func, select

from app.auth import CurrentUser
from app.clock import ensure_aware
from app.i18n import gettext as _
from app.models import User
from marketplace.models import COMPLETED, Job
from marketplace.services.workbench import Row, Source, agency_id, filed, owner_id, register
from ratings.models import Appeal, Rating, Review
from ratings.services.ratings import RATING_WINDOW_DAYS
from ratings.services.reviews import review_due, to_review_query


def _ratings_due(u: CurrentUser, now: datetime) -> Any:
    # ratings.rate_job: a completed job, within the rating window from its completion; soonest to close first.
    return (select(Job).where(Job.owner_id == owner_id(u), Job.status == COMPLETED,
                              col(Job.completed_at) >= now - timedelta(days=RATING_WINDOW_DAYS))
            .order_by(col(Job.completed_at), col(Job.id)))


def _rating_row(job: Job) -> Row:
    return Row(job.job_no, job.title, f"/owner/jobs/{job.job_no}/rate",
               ensure_aware(job.completed_at) + timedelta(days=RATING_WINDOW_DAYS))


def _appeals(u: CurrentUser, now: datetime) -> Any:
    # ratings.appeals: open until the regulator upholds or dismisses it.
    return (select(Job, Appeal).select_from(Appeal).outerjoin(Rating, Rating.id == Appeal.rating_id)
            .outerjoin(Review, Review.id == Appeal.review_id)
            .join(Job, Job.id == func.coalesce(Rating.job_id, Review.job_id))
            .where(Appeal.agency_id == agency_id(u), Appeal.status == "open").order_by(col(Appeal.id)))


def _appeal_row(r: Any) -> Row:
    job, appeal = r
    return Row(job.job_no, job.title, "/agency/ratings",
               note=filed(appeal.created_at))


register(Source("ratings_due", "owner", lambda: _("Services to rate"), query=_ratings_due, row=_rating_row,
                due_label=lambda: _("Rating period ends")))
register(Source("appeals", "agency", lambda: _("Your appeals waiting for a decision"), urgent=False, query=_appeals,
                row=_appeal_row))


def _reviews_due(u: CurrentUser, now: datetime) -> Any:
    # ratings.reviews.review_job: a completed job under the reviewer's department, within 30 days, not reviewed.
    department = select(User.department_id).where(User.id == u.id).scalar_subquery()
    return to_review_query(department, now).with_only_columns(Job)


def _review_row(job: Job) -> Row:
    return Row(job.job_no, job.title, f"/reviewer/jobs/{job.job_no}/review", review_due(job))


register(Source("reviews_due", "reviewer", lambda: _("Results to review"), query=_reviews_due, row=_review_row,
                due_label=lambda: _("Review period ends")))
