"""Jobs as the JSON API publishes them (`JobOut`), to the public or to their owner; never a price
before the quotes are opened.

Batched: a page of jobs costs a fixed number of queries, not a few per job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.canonical import format_time
from app.clock import ensure_aware
from app.page_cache import watch
from marketplace.catalogue_models import Department, ServiceItem
from marketplace.domain.money import money
from marketplace.models import (
    DRAFT,
    LIVE,
    Agency,
    Attachment,
    Job,
    Quote,
    Selection,
    ServiceCategory,
)
from marketplace.schemas import JobListOut, JobOut
from marketplace.services.attachments import in_force
from marketplace.services.draw_records import opened_quotes
from marketplace.services.jobs import JobFilters, list_jobs, quotes_are_open

JOB_PAGES = "jobs"  # the cache topic of the public job pages: list, notices, the API's list (app/page_cache.py)


def _sealed_quote(session: Any, quote: Quote) -> bool:
    """A quote written while its job's quotes are still sealed shows on no shared page (before opening
    a page shows nothing of the quotes but the count, to the owner only); the opening itself writes the
    job, which moves the version. Unknown here (job not loaded): counted as a change."""
    job = session.identity_map.get(session.identity_key(Job, quote.job_id))
    return job is not None and not quotes_are_open(job)


def _quote_insert(state: Any) -> bool:
    """A new quote shows on no shared page: quotes are inserted only while their job takes quotes (the
    submission's one statement refuses after the deadline, marketplace.services.quotes), when a page
    shows nothing of them; later changes to quotes come with a write of their job or selection."""
    return bool(state.is_insert)


# What the job pages are read from: a write to any of these moves their version.
watch(JOB_PAGES, ["job", "selection", "quote", "objection", "contract", "service_category", "service_item",
                  "department", "owner_org", "agency", "job_exclusion", "job_amendment", "job_question",
                  "attachment", "service_step", "service_extension", "result_round", "result_file",
                  "sealing_release", "key_holder", "rating", "review", "platform_setting"],
      skip={"quote": _sealed_quote}, bulk_skip={"quote": _quote_insert})


def iso(dt: datetime | None) -> str | None:
    """A time as the API shows it (the hashed form: UTC, microseconds, 'Z'); None when unset."""
    return format_time(ensure_aware(dt)) if dt else None


async def job_notices(db: AsyncSession, jobs: list[Job], *, owner_view: bool = False) -> list[JobOut]:
    """Jobs as the public (or their owner, `owner_view`) may see them; never a price before opening."""
    if not jobs:
        return []
    ids = [j.id for j in jobs]
    cats = {c.id: c.code for c in (await db.exec(select(ServiceCategory))).all()}
    item_ids = {j.item_id for j in jobs if j.item_id}
    item_rows = (await db.exec(select(ServiceItem, Department)
                               .join(Department, Department.id == ServiceItem.department_id).where(col(ServiceItem.id).in_(item_ids)))).all() if item_ids else []
    items = {i.id: {"code": i.code, "name_zh": i.name_zh, "name_en": i.name_en, "approval_item_zh": i.approval_item_zh,
                    "approval_item_en": i.approval_item_en, "min_level": i.min_level,
                    "department": {"code": d.code, "name_zh": d.name_zh, "name_en": d.name_en}} for i, d in item_rows}
    files: dict[int, list[Attachment]] = {i: [] for i in ids}
    for a in (await db.exec(select(Attachment).where(col(Attachment.job_id).in_(ids), in_force())
                            .order_by(col(Attachment.id)))).all():
        files[a.job_id].append(a)
    counts = dict((await db.exec(select(Quote.job_id, func.count()).where(
        col(Quote.job_id).in_(ids), Quote.status == LIVE).group_by(Quote.job_id))).all())
    selections = {sel.job_id: sel for sel in (await db.exec(select(Selection).where(
        col(Selection.job_id).in_(ids)))).all()}
    winner_ids = [int(sel.winner_quote_id) for sel in selections.values() if sel.winner_quote_id]
    winners = {str(q.id): (q, a) for q, a in (await db.exec(
        select(Quote, Agency).join(Agency, Agency.id == Quote.agency_id).where(col(Quote.id).in_(winner_ids)))).all()
    } if winner_ids else {}
    out = []
    for job in jobs:
        item: dict[str, Any] = {
            "job_id": job.job_no, "title": job.title, "project_name": job.project_name,
            "project_code": job.project_code, "category": cats[job.category_id],
            "item": items.get(job.item_id) if job.item_id else None, "min_level": job.min_level,
            "budget_cap": money(job.budget_cap), "method": job.method, "price_weight": job.price_weight,
            "credit_weight": job.credit_weight, "state_funded": job.state_funded,
            "quote_deadline": iso(job.quote_deadline), "service_days": job.service_days,
            "description": job.description, "district": job.district, "beacon_source": job.beacon_source,
            "beacon_label": job.beacon_label, "beacon_value": job.beacon_value, "status": job.status,
            "seed_commitment": job.seed_commitment, "published_at": iso(job.published_at),
            "closed_at": iso(job.closed_at), "awarded_at": iso(job.awarded_at),
            "publicity_ends_at": iso(job.publicity_ends_at), "contract_due_at": iso(job.contract_due_at),
            "status_reason": job.status_reason, "sealing": job.sealing,
            "attachments": [{"id": a.id, "filename": a.filename, "size": a.size, "sha256": a.sha256,
                             "url": f"/jobs/{job.job_no}/attachments/{a.id}"} for a in files[job.id]],
        }
        if job.status != DRAFT and (owner_view or quotes_are_open(job)):
            # Sealed (DESIGN): until the quotes are opened only the job's owner sees how many there are.
            item["quote_count"] = counts.get(job.id, 0)
        sel = selections.get(job.id)
        if sel is not None:
            win = winners.get(sel.winner_quote_id or "")
            item["result"] = {"winner_quote_id": sel.winner_quote_id,
                              "winner_agency_code": win[1].credit_code if win else None,
                              "winner_agency_name": win[1].name if win else None,
                              "price": money(win[0].price) if win else None,
                              "selected_at": iso(sel.selected_at), "excluded": sel.excluded,
                              "abnormally_low": sel.abnormal_quote_id, "abnormal_status": sel.abnormal_status,
                              "draw": f"/api/jobs/{job.job_no}/draw"}
        if owner_view and quotes_are_open(job):
            item["quotes"] = await opened_quotes(db, job)
        out.append(JobOut(**item))
    return out


async def job_notice(db: AsyncSession, job: Job, *, owner_view: bool = False) -> JobOut:
    return (await job_notices(db, [job], owner_view=owner_view))[0]


async def notice_listing(db: AsyncSession, f: JobFilters, page: int, per_page: int,
                         include_drafts: bool = False) -> JobListOut:
    """A page of `list_jobs`, each job as the public sees it."""
    listing = await list_jobs(db, f, page, per_page, include_drafts=include_drafts)
    return JobListOut(items=await job_notices(db, [job for job, _cat in listing.items]), total=listing.total,
                      page=listing.page, per_page=listing.per_page)
