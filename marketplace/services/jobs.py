"""Jobs (procurement notices): drafting, editing, publishing with the seed commitment, cancelling, copying, listing.

Every service runs inside the caller's session and commits itself; audit events are
appended in the same transaction as the change they record."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.audit import append_event
from app.auth import CurrentUser
from app.canonical import format_time
from app.clock import SHANGHAI, ensure_aware, utcnow
from app.errors import Conflict, Forbidden, InputError, NotFound
from app.forms import contains
from app.i18n import gettext as _
from app.settings import Settings, get_settings
from marketplace.catalogue_models import ServiceItem
from marketplace.domain.catalogue import item_problem
from marketplace.domain.draw import seed_commitment
from marketplace.domain.money import grouped, money
from marketplace.domain.sealing_notice import holder_deadline, section_digest
from marketplace.models import (
    APPROVED,
    AWARDED,
    CANCELLED,
    DRAFT,
    FAILED,
    PUBLISHED,
    Contract,
    Job,
    JobExclusion,
    Owner,
    ServiceCategory,
)
from marketplace.parameters import direct_threshold, int_param, sealing_on
from marketplace.schemas import JobIn
from marketplace.services.beacons import SOURCES
from marketplace.services.catalogue import level_label
from marketplace.services.key_holders import register_job
from marketplace.services.registry import Listing


async def get_job(session: AsyncSession, job_no: str) -> Job:
    job = (await session.exec(select(Job).where(Job.job_no == job_no))).first()
    if job is None:
        raise NotFound(_("No such job."))
    return job


async def own_job(session: AsyncSession, user: CurrentUser, job_no: str) -> Job:
    """The job if it belongs to the user's owner organisation; 404 otherwise (no leak)."""
    job = (await session.exec(select(Job).where(Job.job_no == job_no))).first()
    if job is None or job.owner_id != user.owner_id:
        raise NotFound(_("No such job."))
    return job


async def public_job(session: AsyncSession, job_no: str) -> Job:
    job = (await session.exec(select(Job).where(Job.job_no == job_no))).first()
    if job is None or job.status == DRAFT or job.published_at is None:  # never published: never public
        raise NotFound(_("No such job."))
    return job


async def _require_approved_owner(session: AsyncSession, user: CurrentUser) -> Owner:
    owner = await session.get(Owner, user.owner_id) if user.owner_id else None
    if owner is None or owner.status != APPROVED:
        raise Forbidden(_("Your organisation must be approved before it can post jobs."))
    return owner


async def _check_job(session: AsyncSession, data: JobIn, *,
                     for_publish: bool) -> tuple[ServiceCategory, ServiceItem]:
    fields: dict[str, str] = {}
    cat = (await session.exec(select(ServiceCategory).where(ServiceCategory.code == data.category_code,
                                                            ServiceCategory.active == True))).first()  # noqa: E712
    if cat is None:
        fields["category_code"] = _("Unknown service category.")
    item = (await session.exec(select(ServiceItem).where(ServiceItem.code == data.item_code,
                                                         ServiceItem.active == True))).first()  # noqa: E712
    if item is None:
        fields["item_code"] = _("Unknown service catalogue item.")
    elif cat is not None:
        item_cat = cat if item.category_id == cat.id else await session.get(ServiceCategory, item.category_id)
        problem = item_problem(item_category_code=item_cat.code, item_floor=item.min_level,
                               category_code=data.category_code,
                               job_level=data.min_level)
        if problem == "category":
            fields["item_code"] = _("This catalogue item belongs to another category.")
        elif problem == "level":
            fields["min_level"] = _("This catalogue item requires a minimum level of {level} or higher.",
                                    level=level_label(item.min_level))
    if data.method == "direct" and data.budget_cap > await direct_threshold(session):
        fields["method"] = _("Direct selection is allowed only when the budget cap is at most ¥{limit}.",
                             limit=grouped(await direct_threshold(session)))
    if data.method == "best_value":
        pw = 60 if data.price_weight is None else data.price_weight
        cw = 40 if data.credit_weight is None else data.credit_weight
        if pw + cw != 100:
            fields["price_weight"] = _("The price weight and the credit weight must add up to 100.")
    if SOURCES[data.beacon_source].needs_label and not data.beacon_label.strip():
        fields["beacon_label"] = _("Name the public randomness value that will be entered (for example a beacon round).")
    if data.method == "direct" and data.beacon_source != "none":
        fields["beacon_source"] = _("Direct selection does not use a beacon.")
    if data.quote_deadline <= utcnow() + timedelta(minutes=1 if for_publish else 0):
        fields["quote_deadline"] = _("The quote deadline must be in the future.")
    if data.quote_deadline > utcnow() + timedelta(days=365):
        fields["quote_deadline"] = _("The quote deadline must be within a year.")
    if fields:
        raise InputError(_("Please correct the marked fields."), fields=fields)
    return cat, item


def _apply_job_fields(job: Job, data: JobIn, cat: ServiceCategory, item: ServiceItem) -> None:
    job.title, job.project_name, job.project_code = data.title, data.project_name, data.project_code
    job.category_id, job.min_level, job.budget_cap = cat.id, data.min_level, data.budget_cap
    job.item_id = item.id
    job.method, job.state_funded = data.method, data.state_funded
    if data.method == "best_value":
        job.price_weight = 60 if data.price_weight is None else data.price_weight
        job.credit_weight = 40 if data.credit_weight is None else data.credit_weight
    else:
        job.price_weight = job.credit_weight = None
    job.quote_deadline, job.service_days, job.description = data.quote_deadline, data.service_days, data.description
    job.beacon_source, job.beacon_label = data.beacon_source, data.beacon_label.strip()


async def _set_exclusions(session: AsyncSession, job: Job, codes: list[str]) -> None:
    for old in (await session.exec(select(JobExclusion).where(JobExclusion.job_id == job.id))).all():
        await session.delete(old)
    await session.flush()
    for code in codes:
        session.add(JobExclusion(job_id=job.id, agency_code=code))


async def create_job(session: AsyncSession, user: CurrentUser, data: JobIn) -> Job:
    owner = await _require_approved_owner(session, user)
    cat, item = await _check_job(session, data, for_publish=False)
    job = Job(owner_id=owner.id, district=owner.district, budget_cap=data.budget_cap, method=data.method,
              title=data.title, project_name=data.project_name, project_code=data.project_code,
              category_id=cat.id, quote_deadline=data.quote_deadline, service_days=data.service_days)
    _apply_job_fields(job, data, cat, item)
    job.publicity_days = await int_param(session, "publicity_days")
    session.add(job)
    await session.flush()
    job.job_no = f"J{utcnow().astimezone(SHANGHAI).year}-{job.id:05d}"
    await _set_exclusions(session, job, data.exclusions)
    await append_event(session, actor=actor_of(user), kind="job.drafted", subject=f"job:{job.job_no}",
                       data={"title": job.title, "method": job.method, "budget_cap": money(job.budget_cap),
                             "item": item.code})
    await session.commit()
    return job


async def update_job(session: AsyncSession, user: CurrentUser, job_no: str, data: JobIn) -> Job:
    job = await own_job(session, user, job_no)
    if job.status != DRAFT:
        raise Conflict(_("Only a draft can be edited."))
    cat, item = await _check_job(session, data, for_publish=False)
    _apply_job_fields(job, data, cat, item)
    session.add(job)
    await _set_exclusions(session, job, data.exclusions)
    await append_event(session, actor=actor_of(user), kind="job.edited", subject=f"job:{job.job_no}",
                       data={"title": job.title, "method": job.method, "budget_cap": money(job.budget_cap),
                             "item": item.code})
    await session.commit()
    return job


async def job_input(session: AsyncSession, job: Job) -> JobIn:
    cat = await session.get(ServiceCategory, job.category_id)
    item = await session.get(ServiceItem, job.item_id) if job.item_id else None  # None: older than the catalogue
    excl = (await session.exec(select(JobExclusion.agency_code).where(JobExclusion.job_id == job.id))).all()
    return JobIn.model_construct(
        title=job.title, project_name=job.project_name, project_code=job.project_code, category_code=cat.code,
        item_code=item.code if item else "",
        min_level=job.min_level, budget_cap=job.budget_cap, method=job.method, price_weight=job.price_weight,
        credit_weight=job.credit_weight, state_funded=job.state_funded,
        quote_deadline=ensure_aware(job.quote_deadline), service_days=job.service_days,
        description=job.description, beacon_source=job.beacon_source, beacon_label=job.beacon_label,
        exclusions=list(excl))


async def publish_job(session: AsyncSession, user: CurrentUser, job_no: str, settings: Settings | None = None) -> Job:
    """Publish a draft: the server seed is made and its commitment published now.

    With the `sealing` parameter on, the job is first registered with every active key holder
    (marketseal-v1; `key_holders.register_job`, over HTTP with no transaction open) and the notice's
    sealing section stored on it; if that fails (503 naming the holders, 409 for a threshold the active
    holders cannot meet) nothing is written and the job stays a draft. ``settings`` (the platform id and
    its register key) defaults to the process's settings.
    """
    job = await own_job(session, user, job_no)
    if job.status != DRAFT:
        raise Conflict(_("Only a draft can be published."))
    await _require_approved_owner(session, user)
    await _check_job(session, await job_input(session, job), for_publish=True)
    sealing = None
    if await sealing_on(session):
        deadline = job.quote_deadline
        sealing = await register_job(session, settings or get_settings(), job.job_no, deadline)
        await session.refresh(job)  # registration took time without a transaction: still this draft?
        if job.status != DRAFT or holder_deadline(job.quote_deadline) != holder_deadline(deadline):
            raise Conflict(_("The job changed while it was being published; please try again."))
        job.sealing = sealing
    seed = secrets.token_bytes(32)
    job.server_seed = seed.hex()
    job.seed_commitment = seed_commitment(seed)
    job.status = PUBLISHED
    job.published_at = utcnow()
    session.add(job)
    await append_event(session, actor=actor_of(user), kind="job.published", subject=f"job:{job.job_no}",
                       data={"seed_commitment": job.seed_commitment, "quote_deadline": format_time(job.quote_deadline),
                             "method": job.method, "budget_cap": money(job.budget_cap),
                             "beacon_source": job.beacon_source, "beacon_label": job.beacon_label,
                             **({"sealing_digest": section_digest(sealing), "sealing_threshold": sealing["threshold"],
                                 "sealing_holders": [h["id"] for h in sealing["holders"]]} if sealing else {})})
    await session.commit()
    return job


async def cancel_job(session: AsyncSession, user: CurrentUser, job_no: str, reason: str) -> Job:
    job = await own_job(session, user, job_no)
    now = utcnow()
    res = await session.exec(update(Job).where(
        Job.id == job.id, or_(Job.status == DRAFT, (Job.status == PUBLISHED) & (Job.quote_deadline > now)))
        .values(status=CANCELLED, cancelled_at=now, status_reason=reason))
    if res.rowcount != 1:
        raise Conflict(_("A job can be cancelled only before its quote deadline."))
    await append_event(session, actor=actor_of(user), kind="job.cancelled", subject=f"job:{job.job_no}",
                       data={"reason": reason})
    await session.commit()
    await session.refresh(job)
    return job


async def republish_copy(session: AsyncSession, user: CurrentUser, job_no: str) -> Job:
    """A failed (流标) or cancelled job copied into a new draft."""
    job = await own_job(session, user, job_no)
    if job.status not in (FAILED, CANCELLED):
        raise Conflict(_("Only a failed or cancelled job can be copied."))
    data = await job_input(session, job)
    data.quote_deadline = utcnow() + timedelta(days=7)
    copy = await create_job(session, user, data)
    copy.copied_from_id = job.id
    session.add(copy)
    await session.commit()
    return copy


@dataclass
class JobFilters:
    q: str | None = None
    category: str | None = None
    method: str | None = None
    district: str | None = None
    status: str | None = None
    owner_id: int | None = None
    # Awarded jobs whose contract window closed before this time (the owner did not confirm).
    contract_overdue_at: datetime | None = None


async def list_jobs(session: AsyncSession, f: JobFilters, page: int = 1, per_page: int = 20,
                    include_drafts: bool = False) -> Listing:
    stmt = select(Job, ServiceCategory).join(ServiceCategory, ServiceCategory.id == Job.category_id)
    conds = []
    if not include_drafts:
        # Public listings show what was published: not drafts, nor drafts cancelled before publication.
        conds.append(col(Job.published_at).is_not(None))
    if f.q:
        conds.append(or_(contains(Job.title, f.q), contains(Job.project_name, f.q), contains(Job.job_no, f.q),
                         contains(Job.project_code, f.q)))
    if f.category:
        conds.append(ServiceCategory.code == f.category)
    if f.method:
        conds.append(Job.method == f.method)
    if f.district:
        conds.append(Job.district == f.district)
    if f.status:
        conds.append(Job.status == f.status)
    if f.owner_id:
        conds.append(Job.owner_id == f.owner_id)
    if f.contract_overdue_at:
        # The owner's window has passed without the owner uploading the signed contract (a contract the
        # agency has still to confirm is the agency's window, not the owner's).
        conds += [Job.status == AWARDED, col(Job.contract_due_at) < f.contract_overdue_at,
                  ~select(Contract.id).where(Contract.job_id == Job.id).exists()]
    for c in conds:
        stmt = stmt.where(c)
    total = (await session.exec(select(func.count()).select_from(stmt.subquery()))).one()
    rows = (await session.exec(stmt.order_by(col(Job.id).desc()).offset((page - 1) * per_page).limit(per_page))).all()
    return Listing(list(rows), total, page, per_page)


def quotes_are_open(job: Job) -> bool:
    """Prices are visible to anyone only once quotes have been opened."""
    return job.status not in (DRAFT, PUBLISHED, CANCELLED) and job.closed_at is not None


async def schedule_close(queue, job: Job, moved: bool = False) -> None:
    """Queue the deadline job (after commit); the sweeper covers a lost entry. A deadline moved by an amendment
    (`moved`) is queued under a key of its own: the entry at the old deadline finds the job not yet due."""
    deadline = ensure_aware(job.quote_deadline)
    key = f"close:{job.id}:{int(deadline.timestamp())}" if moved else f"close:{job.id}"
    await queue.enqueue("close_job", job.id, at=deadline, key=key)


async def job_districts(session: AsyncSession) -> list[str]:
    """The districts of the published jobs, for the public list's filter."""
    rows = (await session.exec(select(Job.district).where(Job.status != DRAFT, Job.district != "")
                               .distinct().order_by(Job.district))).all()
    return list(rows)
