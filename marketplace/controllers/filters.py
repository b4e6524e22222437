"""The listings' filters, each checked with `app.forms.FilterCheck`: an unknown value is a 400 with
the field named, never an empty page."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from app.forms import FilterCheck
from marketplace.domain.methods import METHODS
from marketplace.models import DRAFT, JOB_STATUSES, ORG_STATUSES
from marketplace.services import registry
from marketplace.services.jobs import JobFilters
from marketplace.services.objections import OBJECTION_STATUSES

PUBLIC_STATUSES = tuple(s for s in JOB_STATUSES if s != DRAFT)
ORG_KINDS = ("agency", "owner")


async def job_filters(db: AsyncSession, *, q: str | None = None, category: str | None = None,
                      method: str | None = None, district: str | None = None, status: str | None = None,
                      statuses: tuple[str, ...] = JOB_STATUSES) -> JobFilters:
    """A job list page's filters: search texts, a category code, a method, one of `statuses`."""
    check = FilterCheck()
    q = check.text("q", q)
    district = check.text("district", district)
    # The categories are read only when one is asked for.
    codes = [c.code for c in await registry.list_categories(db, active_only=False)] if category else []
    category = check.choice("category", category, codes)
    method = check.choice("method", method, METHODS)
    status = check.choice("status", status, statuses)
    check.done()
    return JobFilters(q=q, category=category, method=method, district=district, status=status)


def api_job_filters(f: JobFilters, *, drafts: bool = False) -> JobFilters:
    """The job API's status and method filters; `draft` only where drafts are listed (an owner's own)."""
    check = FilterCheck()
    f.status = check.choice("status", f.status, JOB_STATUSES)
    f.method = check.choice("method", f.method, METHODS)
    f.q, f.district, f.category = (check.safe("q", f.q), check.safe("district", f.district),
                                   check.safe("category", f.category))
    check.done()
    if f.status == DRAFT and not drafts:
        check.choice("status", f.status, PUBLIC_STATUSES)
        check.done()
    return f


def registration_filters(kind: str, status: str | None) -> tuple[str, str | None]:
    """The review list's filters: which registrations (`kind`, required) and their status."""
    check = FilterCheck()
    # The kind chooses the table: it is required, so an empty one is refused like an unknown one.
    chosen = check.choice("kind", kind, ORG_KINDS, required=True)
    status = check.choice("status", status, ORG_STATUSES)
    check.done()
    return chosen, status


def objection_status(status: str | None) -> str | None:
    """The objections lists' status filter (empty: all)."""
    check = FilterCheck()
    status = check.choice("status", status, OBJECTION_STATUSES)
    check.done()
    return status
