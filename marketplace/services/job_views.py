"""What the job's pages show: the notice (result, draw explained, the agency's own box) and the
owner's manage page. Sealed until opening: before that the only figure about quotes any page shows is
the live count, and only to the job's owner."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import CurrentUser
from app.canonical import canonical
from app.clock import ensure_aware, utcnow
from app.i18n import gettext as _
from marketplace.catalogue_models import Department, ServiceItem
from marketplace.domain.due_dates import EVALUATION_WINDOW_DAYS
from marketplace.domain.methods import min_quotes_required
from marketplace.domain.money import money
from marketplace.domain.receipts import RECEIPT_FIELDS, compute_receipt
from marketplace.domain.records import explain
from marketplace.domain.sealing_notice import holder_deadline
from marketplace.models import (
    AWARDED,
    CANCELLED,
    CLOSED,
    DRAFT,
    FAILED,
    LIVE,
    PUBLISHED,
    Agency,
    Contract,
    Job,
    JobExclusion,
    Objection,
    Owner,
    ServiceCategory,
)
from marketplace.services.draw_records import opened_quotes, record_of
from marketplace.services.eligibility import eligibility_reasons, reason_text
from marketplace.services.jobs import quotes_are_open
from marketplace.services.opening_view import opening_steps, validity_text
from marketplace.services.quotes import live_quote_count, my_quote
from marketplace.services.selection import selection_of


def failure_text(job: Job, eligible: int) -> str:
    """Why the job failed (流标)."""
    if job.status_reason == "no_candidate_left":
        return _("No candidate was left after the exclusions.")
    return _("Too few eligible quotes: {n} eligible, at least {required} required.",
             n=eligible, required=min_quotes_required(job.state_funded))


def _iso(dt: datetime | None) -> str:
    return ensure_aware(dt).isoformat() if dt else ""


async def job_view(db: AsyncSession, job: Job, user: CurrentUser | None, *, base_url: str,
                   pasted_receipt: str = "") -> dict[str, Any]:
    """Everything the notice and the manage page show about a job, sealed until opening; for an agency
    also its own quote, whether it may quote, object or must justify, and the check of its receipt
    (`pasted_receipt`: a receipt it pasted to compare)."""
    now = utcnow()
    deadline = ensure_aware(job.quote_deadline)
    cat = await db.get(ServiceCategory, job.category_id)
    item = await db.get(ServiceItem, job.item_id) if job.item_id else None  # None: older than the catalogue
    item_dept = await db.get(Department, item.department_id) if item else None
    owner = await db.get(Owner, job.owner_id)
    exclusions = list((await db.exec(select(JobExclusion.agency_code).where(JobExclusion.job_id == job.id)
                                     .order_by(JobExclusion.agency_code))).all())
    opened = quotes_are_open(job)
    is_owner = bool(user and user.role == "owner" and user.owner_id == job.owner_id)
    # Sealed: before opening nothing about the quotes but their number (for the owner) is read.
    quotes = await opened_quotes(db, job) if opened else []
    for q in quotes:
        q["reasons_text"] = [reason_text(r) for r in q["ineligible_reasons"]]
        if q.get("envelope_validity") not in (None, "", "valid"):
            q["reasons_text"].append(validity_text(q["envelope_validity"]))
        q["submitted_dt"] = datetime.fromisoformat(q["submitted_at"].replace("Z", "+00:00"))
    names = {q["quote_id"]: q["agency_name"] for q in quotes}
    sel = await selection_of(db, job) if opened else None
    winner = None
    if sel and sel.winner_quote_id:
        winner = next((q for q in quotes if q["quote_id"] == sel.winner_quote_id), None)
    objections = list((await db.exec(select(Objection).where(Objection.job_id == job.id)
                                     .order_by(col(Objection.id)))).all())
    contract = (await db.exec(select(Contract).where(Contract.job_id == job.id))).first()
    publicity_ends = ensure_aware(job.publicity_ends_at)
    view = {
        "job": job, "cat": cat, "item": item, "item_dept": item_dept, "owner": owner, "exclusions": exclusions, "now": now,
        "deadline": deadline, "deadline_iso": _iso(deadline), "before_deadline": deadline > now,
        # marketseal-v1: the deadline the holders' statements name, for the page's notice check before sealing.
        "sealing_deadline": holder_deadline(job.quote_deadline) if job.sealing else "",
        # Sealed (DESIGN): until the quotes are opened only the job's owner sees how many there are.
        "live_count": (await live_quote_count(db, job.id)
                       if job.status != DRAFT and (opened or is_owner) else None),
        "opened": opened, "quotes": quotes, "eligible_count": sum(1 for q in quotes if q["eligible"]),
        "sel": sel, "winner": winner,
        "winner_saved": money(job.budget_cap - Decimal(winner["price"])) if winner else "",
        "min_required": min_quotes_required(job.state_funded),
        "draw": explain(record_of(job, sel), names) if sel else None,
        "opening": opening_steps(job, quotes) if opened else None,
        "awaiting_keys": bool(job.sealing) and job.status == PUBLISHED and deadline <= now,
        "objections": objections, "open_objections": sum(1 for o in objections if o.status == "open"),
        "contract": contract,
        "in_publicity": job.status == AWARDED and publicity_ends is not None and now < publicity_ends,
        "publicity_over": publicity_ends is not None and now >= publicity_ends,
        "failure": failure_text(job, sum(1 for q in quotes if q["eligible"])) if job.status == FAILED else "",
        "draw_url": f"{base_url}/api/jobs/{job.job_no}/draw",
        "is_owner": is_owner,
        "awaiting_beacon": job.status == CLOSED and job.beacon_source == "manual" and not job.beacon_value,
        "awaiting_choice": job.status == CLOSED and job.method == "direct",
        "due_for_selection": job.status == PUBLISHED and deadline <= now,
    }
    if user and user.role == "agency":
        view.update(await _agency_view(db, user, job, view, pasted_receipt))
    return view


async def _agency_view(db: AsyncSession, user: CurrentUser, job: Job, view: dict[str, Any],
                       pasted: str) -> dict[str, Any]:
    agency = await db.get(Agency, user.agency_id) if user.agency_id else None
    mine = await my_quote(db, user, job)
    can_quote = job.status == PUBLISHED and view["before_deadline"] and agency is not None
    reasons = await eligibility_reasons(db, agency, job, utcnow()) if can_quote else []
    check = None
    if mine is not None and view["opened"]:
        published = next((q for q in view["quotes"] if q["quote_id"] == str(mine.id)), None)
        if published is not None:
            body = {k: published[k] for k in RECEIPT_FIELDS}
            recomputed = compute_receipt(body)
            check = {"body": body, "body_json": canonical(body).decode(), "recomputed": recomputed,
                     "held": mine.receipt, "published": published["receipt"],
                     "ok": recomputed == mine.receipt == published["receipt"],
                     "pasted": pasted, "pasted_ok": pasted == recomputed if pasted else None}
    sel = view["sel"]
    live_mine = mine is not None and mine.status == LIVE
    return {
        "agency": agency, "mine": mine, "can_quote": can_quote and not reasons, "quote_reasons": reasons,
        "receipt_check": check,
        "can_object": view["in_publicity"] and live_mine,
        "must_justify": bool(sel and sel.abnormal_status == "awaiting" and live_mine
                             and sel.winner_quote_id == str(mine.id)),
    }


async def manage_view(db: AsyncSession, job: Job, view: dict[str, Any]) -> dict[str, Any]:
    """What the owner's manage page adds to `job_view`: which of its actions are open now."""
    sel = view["sel"]
    now = view["now"]
    due = ensure_aware(sel.abnormal_due_at) if sel and sel.abnormal_due_at else None
    return dict(
        can_edit=job.status == DRAFT,
        can_cancel=job.status == DRAFT or (job.status == PUBLISHED and view["before_deadline"]),
        can_copy=job.status in (FAILED, CANCELLED),
        rating_ends_at=(ensure_aware(job.completed_at) + timedelta(days=EVALUATION_WINDOW_DAYS)
                        if job.completed_at else None),
        eligible_quotes=[q for q in view["quotes"] if q["eligible"]] if view["awaiting_choice"] else [],
        can_decide_justification=bool(job.status == AWARDED and sel and (
            sel.abnormal_status == "submitted" or (sel.abnormal_status == "awaiting" and due and now > due))),
        can_accept_justification=bool(sel and sel.abnormal_status == "submitted"),
        can_confirm=(job.status == AWARDED and bool(sel and sel.winner_quote_id) and view["publicity_over"]
                     and not (view.get("perf") and view["perf"].contract)),
        contract_overdue=(job.status == AWARDED and bool(job.contract_due_at)
                          and now > ensure_aware(job.contract_due_at)
                          and not (view.get("perf") and view["perf"].contract)),
        can_refuse=job.status == AWARDED and bool(sel and sel.winner_quote_id),
        copied_from=(await db.get(Job, job.copied_from_id)) if job.copied_from_id else None,
    )
