"""Open data: the facts of published jobs loaded for the pure OCDS builder (marketplace.domain.ocds).

Facts are loaded in a fixed number of queries per batch of jobs. Quotes are loaded only
for jobs whose quotes are open (`quotes_are_open`), so a sealed price never reaches the
builder."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from sqlalchemy import Integer, String, and_, bindparam, case, cast, func, join, literal
from sqlalchemy.orm import aliased
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.clock import ensure_aware
from app.i18n import get_locale
from app.models import AuditEvent
from marketplace.catalogue_models import ServiceItem
from marketplace.clarification_models import Amendment
from marketplace.domain import ocds
from marketplace.domain.service_timer import Step, timer_state
from marketplace.models import (
    CONTRACT_CONFIRMED,
    DRAFT,
    LIVE,
    Agency,
    Attachment,
    Contract,
    Job,
    Owner,
    Quote,
    Selection,
    ServiceCategory,
    ServiceStep,
)
from marketplace.services.jobs import quotes_are_open

# Audit events that change a job's award after its selection (DESIGN step 10) or end it.
AWARD_CHANGES = ("selection.excluded", "job.direct_rechosen", "job.failed")


def _aware(dt: datetime | None) -> datetime | None:
    return ensure_aware(dt)


async def job_facts(db: AsyncSession, jobs: list[Job]) -> list[ocds.JobFacts]:
    """What the releases of `jobs` need, batched: a fixed number of queries however many jobs.

    Every column read here (of the job or of any other row) must be one of `fact_signals`' too: the bulk feed
    sends a kept release while its job's signal is unchanged."""
    if not jobs:
        return []
    ids = [j.id for j in jobs]
    zh = get_locale() == "zh_CN"
    cats = {c.id: c for c in (await db.exec(select(ServiceCategory))).all()}
    item_ids = {j.item_id for j in jobs if j.item_id}
    items = {i.id: i for i in (await db.exec(select(ServiceItem).where(col(ServiceItem.id).in_(item_ids)))).all()
             } if item_ids else {}
    owner_ids = {j.owner_id for j in jobs}
    owners = {o.id: o for o in (await db.exec(select(Owner).where(col(Owner.id).in_(owner_ids)))).all()}
    bids = await _bids(db, [j.id for j in jobs if quotes_are_open(j)])
    selections = {s.job_id: s for s in (await db.exec(select(Selection).where(col(Selection.job_id).in_(ids)))).all()}
    # A contract is published once both parties have confirmed it (signed = the agency's confirmation).
    contracts = {c.job_id: c for c in (await db.exec(select(Contract).where(
        col(Contract.job_id).in_(ids), Contract.status == CONTRACT_CONFIRMED))).all()}
    steps: dict[int, list[ServiceStep]] = {}
    for step in (await db.exec(select(ServiceStep).where(col(ServiceStep.job_id).in_(list(contracts)))
                               .order_by(col(ServiceStep.at), col(ServiceStep.id)))).all():
        steps.setdefault(step.job_id, []).append(step)
    files: dict[int, list[ocds.AttachmentFacts]] = {i: [] for i in ids}
    attached = select(Attachment).where(col(Attachment.job_id).in_(ids)).order_by(col(Attachment.id))
    for a in (await db.exec(attached)).all():
        files[a.job_id].append(ocds.AttachmentFacts(a.id, a.filename, a.content_type, _aware(a.created_at),
                                                    _aware(a.withdrawn_at) if a.withdrawn_at else None))
    amended: dict[int, list[ocds.AmendmentFacts]] = {i: [] for i in ids}
    for a in (await db.exec(select(Amendment).where(col(Amendment.job_id).in_(ids))
                            .order_by(col(Amendment.job_id), col(Amendment.seq)))).all():
        amended[a.job_id].append(ocds.AmendmentFacts(a.seq, _aware(a.published_at), a.text,
                                                     _aware(a.deadline_before), _aware(a.deadline_after)))
    changed = await _award_changes(db, [j for j in jobs if j.id in selections])
    copied = await _published_job_nos(db, {j.copied_from_id for j in jobs if j.copied_from_id})
    out = []
    for job in jobs:
        cat, owner, item = cats[job.category_id], owners[job.owner_id], items.get(job.item_id)
        sel, contract = selections.get(job.id), contracts.get(job.id)
        out.append(ocds.JobFacts(
            job_no=job.job_no, title=job.title, description=job.description, status=job.status, method=job.method,
            budget_cap=job.budget_cap, owner=ocds.Organisation(owner.credit_code, owner.name),
            category_code=cat.code, category_name=cat.name_zh if zh else cat.name_en,
            published_at=_aware(job.published_at), quote_deadline=_aware(job.quote_deadline),
            service_days=job.service_days, project_name=job.project_name, project_code=job.project_code,
            price_weight=job.price_weight, credit_weight=job.credit_weight, closed_at=_aware(job.closed_at),
            cancelled_at=_aware(job.cancelled_at), publicity_ends_at=_aware(job.publicity_ends_at),
            completed_at=_aware(job.completed_at), bids=tuple(bids.get(job.id, ())), sealing=job.sealing,
            selection=_selection(sel, changed.get(job.job_no)) if sel else None,
            contract=_contract_facts(contract, steps.get(job.id, [])) if contract else None,
            attachments=tuple(files[job.id]), copied_from=copied.get(job.copied_from_id),
            item_code=item.code if item else None, item_name=(item.name_zh if zh else item.name_en) if item else "",
            amendments=tuple(amended[job.id])))
    return out


async def _bids(db: AsyncSession, opened_ids: list[int]) -> dict[int, list[ocds.Bid]]:
    """The quotes live at the deadline of jobs whose quotes are open (never of the others)."""
    out: dict[int, list[ocds.Bid]] = {}
    if not opened_ids:
        return out
    # Only the columns a bid shows: whole rows would decode every envelope and opened quote (JSON) too.
    rows = (await db.exec(select(Quote.job_id, Quote.id, Quote.price, Quote.service_days, Quote.submitted_at,
                                 Quote.eligible, Agency.credit_code, Agency.name)
                          .join(Agency, Agency.id == Quote.agency_id).where(
        col(Quote.job_id).in_(opened_ids), Quote.status == LIVE).order_by(col(Quote.id)))).all()
    for job_id, quote_id, price, service_days, submitted_at, eligible, code, name in rows:
        out.setdefault(job_id, []).append(ocds.Bid(
            quote_id=str(quote_id), agency=ocds.Organisation(code, name), price=price,
            service_days=service_days, submitted_at=_aware(submitted_at), eligible=bool(eligible)))
    return out


def _selection(sel: Selection, changed_at: datetime | None) -> ocds.SelectionFacts:
    return ocds.SelectionFacts(
        selected_at=_aware(sel.selected_at), winner_quote_id=sel.winner_quote_id,
        excluded=tuple(ocds.Exclusion(e["quote_id"], e["reason"]) for e in sel.excluded), changed_at=changed_at,
        direct_reason=str(sel.params.get("reason", "")) if sel.method == "direct" else "")


async def _award_changes(db: AsyncSession, jobs: list[Job]) -> dict[str, datetime]:
    """job_no → when its award last changed after the selection (from the audit chain)."""
    if not jobs:
        return {}
    rows = (await db.exec(select(AuditEvent.subject, AuditEvent.at).where(
        col(AuditEvent.subject).in_([f"job:{j.job_no}" for j in jobs]), col(AuditEvent.kind).in_(AWARD_CHANGES)))).all()
    out: dict[str, datetime] = {}
    for subject, at in rows:
        job_no, at = subject.removeprefix("job:"), _aware(at)
        out[job_no] = max(out.get(job_no, at), at)
    return out


async def _published_job_nos(db: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    stmt = select(Job.id, Job.job_no).where(col(Job.id).in_(ids), col(Job.published_at).is_not(None))
    return dict((await db.exec(stmt)).all())


def touched_since(since: datetime):
    """Jobs that may have a release dated at or after `since` (a superset; the exact test is on the release)."""
    award_changed = select(AuditEvent.seq).where(
        AuditEvent.subject == literal("job:") + Job.job_no, col(AuditEvent.kind).in_(AWARD_CHANGES),
        AuditEvent.at >= since).exists()
    return or_(*(col(c) >= since for c in (Job.published_at, Job.cancelled_at, Job.closed_at, Job.awarded_at,
                                          Job.publicity_ends_at, Job.contracted_at, Job.completed_at)),
               award_changed)


def _contract_facts(contract: Contract, steps: list[ServiceStep]) -> ocds.ContractFacts:
    """The contract as OCDS publishes it: signed when both parties had confirmed, with the service timer's
    due date at the start and after each of its steps (None while paused)."""
    signed = _aware(contract.agency_confirmed_at or contract.confirmed_at)
    if contract.started_at is None:
        return ocds.ContractFacts(str(contract.quote_id), contract.amount, signed)
    start = _aware(contract.started_at)
    timeline = [Step(s.kind, _aware(s.at), s.days) for s in steps]
    changes = []
    for i, step in enumerate(timeline):
        state = timer_state(start, contract.service_days, timeline[:i + 1], step.at)
        changes.append(ocds.ServiceChange(step.at, step.kind, step.days, None if state.paused else state.due_at))
    return ocds.ContractFacts(str(contract.quote_id), contract.amount, signed, service_days=contract.service_days,
                              due_at=timer_state(start, contract.service_days, [], start).due_at,
                              changes=tuple(changes))


def _field(column) -> object:
    """A column as self-delimiting text: "<length>:<text>", or "-" for NULL (so that a row of them is unambiguous)."""
    text = cast(column, String)
    return func.coalesce(cast(func.length(text), String) + literal(":") + text, literal("-"))


def _rows_of(entity, where, order_by, *columns) -> object:
    """The `columns` of the rows of `entity` matching `where` (correlated with the job), in `order_by` order, as one
    text: every field self-delimiting (`_field`), one row after the other (NULL when there is none)."""
    row = _field(columns[0])
    for c in columns[1:]:
        row = row + _field(c)
    rows = select(row.label("row")).select_from(entity).where(where).order_by(*order_by).correlate(Job).subquery()
    return select(func.aggregate_strings(rows.c.row, literal(","))).scalar_subquery()


async def fact_signals(db: AsyncSession, last_job_id: int, since: datetime | None, limit: int) -> list[tuple]:
    """(job id, then everything `job_facts` reads for that job) of the next `limit` published jobs after
    `last_job_id` (touched at or after `since`, if given), by id; one statement. Equal rows (under the same locale) mean equal facts; rows that differ may still have equal
    facts (e.g. a quote to a job whose quotes are not open yet)."""
    params = {"last_job_id": last_job_id, "limit": limit}
    if since is not None:
        params["since"] = since
    return [tuple(row) for row in (await db.exec(_signals_statement(since is not None), params=params)).all()]


@cache
def _signals_statement(with_since: bool):
    """`fact_signals`' statement, built once (it is large: building it costs more than running it)."""
    copied = aliased(Job)
    stmt = select(
        Job.id, Job.job_no, Job.title, Job.description, Job.status, Job.method, Job.budget_cap, Job.owner_id,
        Job.category_id, Job.item_id, Job.published_at, Job.quote_deadline, Job.service_days, Job.project_name,
        Job.project_code, Job.price_weight, Job.credit_weight, Job.closed_at, Job.cancelled_at, Job.publicity_ends_at,
        Job.completed_at, cast(Job.sealing, String), Job.copied_from_id,
        Owner.credit_code, Owner.name, ServiceCategory.code, ServiceCategory.name_zh, ServiceCategory.name_en,
        ServiceItem.code, ServiceItem.name_zh, ServiceItem.name_en,
        Selection.id, Selection.selected_at, Selection.winner_quote_id, cast(Selection.excluded, String),
        Selection.method, cast(Selection.params, String),
        Contract.id, Contract.quote_id, Contract.amount, Contract.confirmed_at, Contract.agency_confirmed_at,
        Contract.started_at, Contract.service_days,
        copied.job_no, copied.published_at,
        select(func.max(AuditEvent.at)).where(
            AuditEvent.subject == literal("job:") + Job.job_no, col(AuditEvent.kind).in_(AWARD_CHANGES)
        ).correlate(Job).scalar_subquery(),
        # The quotes only once they can be open (`quotes_are_open` needs closed_at); live or not: a superset.
        case((col(Job.closed_at).is_not(None), _rows_of(
            join(Quote, Agency, Agency.id == Quote.agency_id), Quote.job_id == Job.id, [col(Quote.id)],
            Quote.id, Quote.status, Quote.price, Quote.service_days, Quote.submitted_at, Quote.eligible,
            Agency.credit_code, Agency.name))),
        _rows_of(ServiceStep, ServiceStep.job_id == Job.id, [col(ServiceStep.id)],
                 ServiceStep.id, ServiceStep.kind, ServiceStep.at, ServiceStep.days),
        _rows_of(Attachment, Attachment.job_id == Job.id, [col(Attachment.id)],
                 Attachment.id, Attachment.filename, Attachment.content_type, Attachment.created_at,
                 Attachment.withdrawn_at),
        _rows_of(Amendment, Amendment.job_id == Job.id, [col(Amendment.id)],
                 Amendment.id, Amendment.seq, Amendment.published_at, Amendment.text, Amendment.deadline_before,
                 Amendment.deadline_after),
    ).join(Owner, Owner.id == Job.owner_id).join(ServiceCategory, ServiceCategory.id == Job.category_id) \
        .outerjoin(ServiceItem, ServiceItem.id == Job.item_id) \
        .outerjoin(Selection, Selection.job_id == Job.id) \
        .outerjoin(Contract, and_(Contract.job_id == Job.id, Contract.status == CONTRACT_CONFIRMED)) \
        .outerjoin(copied, and_(copied.id == Job.copied_from_id, col(copied.published_at).is_not(None))) \
        .where(Job.id > bindparam("last_job_id", type_=Integer), Job.status != DRAFT, col(Job.published_at).is_not(None))
    if with_since:
        stmt = stmt.where(touched_since(bindparam("since", type_=Job.__table__.c.published_at.type)))
    return stmt.order_by(col(Job.id)).limit(bindparam("limit", type_=Integer))
