"""Ratings' items on the workbench (marketplace.services.workbench): the owner's ratings due within the
rating window, the agency's appeals waiting for the regulator. Registered on import (app.main)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from app.auth import CurrentUser
from app.clock import ensure_aware
from app.i18n import gettext as _
from marketplace.models import COMPLETED, Job
from marketplace.services.workbench import Row, Source, agency_id, filed, owner_id, register
from ratings.models import Appeal, Rating
from ratings.services.ratings import RATING_WINDOW_DAYS


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
    return (select(Job, Appeal).join(Rating, Rating.job_id == Job.id).join(Appeal, Appeal.rating_id == Rating.id)
            .where(Appeal.agency_id == agency_id(u), Appeal.status == "open").order_by(col(Appeal.id)))


def _appeal_row(r: Any) -> Row:
    job, appeal = r
    return Row(job.job_no, job.title, "/agency/ratings",
               note=filed(appeal.created_at))


register(Source("ratings_due", "owner", lambda: _("Services to rate"), query=_ratings_due, row=_rating_row,
                due_label=lambda: _("Rating period ends")))
register(Source("appeals", "agency", lambda: _("Your appeals waiting for a decision"), urgent=False, query=_appeals,
                row=_appeal_row))
