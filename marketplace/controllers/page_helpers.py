"""What the marketplace's pages share: translated names for codes, the render wrapper, the pager and
safe "back" links; and, with the API, the page parameters, the signed-in user and the recompute queued
after a change that moves an agency's ranking."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from litestar import Request
from litestar.response import Template

from app.clock import ensure_aware, utcnow
from app.errors import DomainError
from app.i18n import gettext as _
from app.web import PER_PAGE, Page, PerPage, pager_base, render, user_of, yes_no  # noqa: F401  (shared with the controllers)
from marketplace.domain.methods import METHODS
from marketplace.domain.money import grouped, money
from marketplace.models import AWARDED, CANCELLED, CLOSED, CONTRACTED, DRAFT, FAILED, PUBLISHED
from marketplace.services.eligibility import reason_text


async def recompute_later(request: Request, agency_id: int) -> None:
    """Queue the recompute of one agency's credit: a change to its standing (approval, suspension,
    reinstatement) shows on the ranking page at once, as the recompute renews the ranking cache."""
    await request.app.state.queue.enqueue("recompute_credit", agency_id)


# ---- names (translated per request) ---------------------------------------------------------

def method_name(code: str) -> str:
    return {
        "random": _("Random draw"), "random_weighted": _("Credit-weighted draw"), "lowest": _("Lowest price"),
        "optimal": _("Optimal price"), "best_value": _("Best value"), "direct": _("Direct selection"),
    }.get(code, code)


def job_status_name(status: str) -> str:
    return {
        DRAFT: _("Draft"), PUBLISHED: _("Open for quotes"), CLOSED: _("Quotes opened"),
        AWARDED: _("Awarded, not yet contracted"), CONTRACTED: _("Contracted"), "completed": _("Completed"),
        "rated": _("Rated"), FAILED: _("Failed (流标)"), CANCELLED: _("Cancelled"),
    }.get(status, status)


def job_badge_name(job: Any) -> str:
    """A job's status as its badge reads: an awarded job is in its publicity, then waits for its contract (the
    clock alone moves it: a cached page holding the badge is valid until `badge_changes_at`)."""
    if job.status == AWARDED:
        ends = getattr(job, "publicity_ends_at", None)
        return _("Awarded, contract pending") if ends is not None and ensure_aware(ends) <= utcnow() \
            else _("Awarded (publicity)")
    return job_status_name(job.status)


def badge_changes_at(jobs: Iterable[Any]) -> datetime | None:
    """The next moment one of these jobs' badges reads differently by the clock alone (a publicity ending)."""
    now = utcnow()
    ends = [ensure_aware(j.publicity_ends_at) for j in jobs if j.status == AWARDED and j.publicity_ends_at]
    return min((e for e in ends if e > now), default=None)


def quote_status_name(status: str) -> str:
    return {"live": _("Live"), "withdrawn": _("Withdrawn"), "replaced": _("Replaced")}.get(status, status)


def exclusion_reason_name(code: str) -> str:
    return {
        "objection_upheld": _("Objection upheld"),
        "abnormally_low_rejected": _("Abnormally low price not justified"),
        "refused_to_sign": _("Refused to sign the contract"),
    }.get(code, code)


def objection_status_name(status: str) -> str:
    return {"open": _("Open"), "upheld": _("Upheld"), "dismissed": _("Dismissed")}.get(status, status)


def _names() -> dict[str, Any]:
    return dict(money=money, grouped_money=grouped, method_name=method_name, job_status_name=job_status_name,
                job_badge_name=job_badge_name,
                quote_status_name=quote_status_name, exclusion_reason_name=exclusion_reason_name,
                objection_status_name=objection_status_name, reason_text=reason_text, yes_no=yes_no,
                method_codes=METHODS)


async def render_page(request: Request, template: str, status_code: int = 200, **context: Any) -> Template:
    """`app.web.render` with the names above available to the template."""
    return await render(request, template, status_code=status_code, **_names(), **context)


# ---- links and messages ---------------------------------------------------------------------

def safe_back(value: Any, default: str) -> str:
    """A form's `back` link if it points to a job or a regulator's page of this site; else `default`."""
    if isinstance(value, str) and value.startswith(("/jobs/", "/regulator/")) and "//" not in value:
        return value
    return default


def domain_message(exc: DomainError) -> str:
    """The error's message with its per-field messages, for a page that shows one line."""
    return exc.message + ("" if not exc.fields else " " + " ".join(exc.fields.values()))
