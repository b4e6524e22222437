"""Open data: OCDS 1.1 releases of every published job (public JSON API).

The releases are built by the pure `marketplace.ocds` from facts loaded here in a fixed
number of queries per batch of jobs. Quotes are loaded only for jobs whose quotes are
open (`market.quotes_are_open`), so a sealed price never reaches the builder.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timezone
from typing import Any

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Stream
from sqlalchemy import literal
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.auth import PUBLIC, roles
from app.errors import InputError, NotFound
from app.i18n import get_locale, gettext as _
from app.models import AuditEvent
from marketplace import market, ocds
from marketplace.models import (
    DRAFT, LIVE, Agency, Attachment, Contract, Job, Owner, Quote, Selection, ServiceCategory, utcnow,
)
from marketplace.schemas import SHANGHAI

DB = NamedDependency[AsyncSession]
BATCH = 200
# Audit events that change a job's award after its selection (DESIGN step 10) or end it.
AWARD_CHANGES = ("selection.excluded", "job.direct_rechosen", "job.failed")
JSON = "application/json"


def _aware(dt: datetime | None) -> datetime | None:
    return market.ensure_aware(dt)


def publication(request: Request) -> ocds.Publication:
    """Links on the request's host, texts in the request's language."""
    return ocds.Publication(base_url=str(request.base_url).rstrip("/"),
                            publisher_name=_("Intermediary Service Supermarket"),
                            language="zh" if get_locale() == "zh_CN" else "en", translate=_)


async def job_facts(db: AsyncSession, jobs: list[Job]) -> list[ocds.JobFacts]:
    """What the releases of `jobs` need, batched: a fixed number of queries however many jobs."""
    if not jobs:
        return []
    ids = [j.id for j in jobs]
    zh = get_locale() == "zh_CN"
    cats = {c.id: c for c in (await db.exec(select(ServiceCategory))).all()}
    owner_ids = {j.owner_id for j in jobs}
    owners = {o.id: o for o in (await db.exec(select(Owner).where(col(Owner.id).in_(owner_ids)))).all()}
    bids = await _bids(db, [j.id for j in jobs if market.quotes_are_open(j)])
    selections = {s.job_id: s for s in (await db.exec(select(Selection).where(col(Selection.job_id).in_(ids)))).all()}
    contracts = {c.job_id: c for c in (await db.exec(select(Contract).where(col(Contract.job_id).in_(ids)))).all()}
    files: dict[int, list[ocds.AttachmentFacts]] = {i: [] for i in ids}
    attached = select(Attachment).where(col(Attachment.job_id).in_(ids)).order_by(col(Attachment.id))
    for a in (await db.exec(attached)).all():
        files[a.job_id].append(ocds.AttachmentFacts(a.id, a.filename, a.content_type, _aware(a.created_at)))
    changed = await _award_changes(db, [j for j in jobs if j.id in selections])
    copied = await _published_job_nos(db, {j.copied_from_id for j in jobs if j.copied_from_id})
    out = []
    for job in jobs:
        cat, owner = cats[job.category_id], owners[job.owner_id]
        sel, contract = selections.get(job.id), contracts.get(job.id)
        out.append(ocds.JobFacts(
            job_no=job.job_no, title=job.title, description=job.description, status=job.status, method=job.method,
            budget_cap=job.budget_cap, owner=ocds.Organisation(owner.credit_code, owner.name),
            category_code=cat.code, category_name=cat.name_zh if zh else cat.name_en,
            published_at=_aware(job.published_at), quote_deadline=_aware(job.quote_deadline),
            service_days=job.service_days, project_name=job.project_name, project_code=job.project_code,
            price_weight=job.price_weight, credit_weight=job.credit_weight, closed_at=_aware(job.closed_at),
            cancelled_at=_aware(job.cancelled_at), publicity_ends_at=_aware(job.publicity_ends_at),
            completed_at=_aware(job.completed_at), bids=tuple(bids.get(job.id, ())),
            selection=_selection(sel, changed.get(job.job_no)) if sel else None,
            contract=ocds.ContractFacts(str(contract.quote_id), contract.amount, _aware(contract.confirmed_at))
            if contract else None,
            attachments=tuple(files[job.id]), copied_from=copied.get(job.copied_from_id)))
    return out


async def _bids(db: AsyncSession, opened_ids: list[int]) -> dict[int, list[ocds.Bid]]:
    """The quotes live at the deadline of jobs whose quotes are open (never of the others)."""
    out: dict[int, list[ocds.Bid]] = {}
    if not opened_ids:
        return out
    rows = (await db.exec(select(Quote, Agency).join(Agency, Agency.id == Quote.agency_id).where(
        col(Quote.job_id).in_(opened_ids), Quote.status == LIVE).order_by(col(Quote.id)))).all()
    for q, a in rows:
        out.setdefault(q.job_id, []).append(ocds.Bid(
            quote_id=str(q.id), agency=ocds.Organisation(a.credit_code, a.name), price=q.price,
            service_days=q.service_days, submitted_at=_aware(q.submitted_at), eligible=bool(q.eligible)))
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


def _json(obj: Any) -> Response:
    return Response(ocds.dumps(obj).encode(), media_type=JSON)


def parse_since(value: str | None) -> datetime | None:
    """`?since=`: an ISO 8601 date or date-time; without a zone it is Beijing time, like every deadline."""
    if value is None or not value.strip():
        return None
    try:
        since = datetime.fromisoformat(value.strip())
    except ValueError:
        msg = _("Give since as an ISO 8601 date or date-time, for example 2026-01-31 or 2026-01-31T08:00:00+08:00.")
        raise InputError(msg, fields={"since": msg}) from None
    since = since.replace(tzinfo=SHANGHAI) if since.tzinfo is None else since
    try:
        return since.astimezone(timezone.utc)
    except OverflowError:  # within a day of year 1 or 9999: before everything, or after everything
        return None if since.year == 1 else datetime.max.replace(tzinfo=timezone.utc)


def _touched_since(since: datetime):
    """Jobs that may have a release dated at or after `since` (a superset; the exact test is on the release)."""
    award_changed = select(AuditEvent.seq).where(
        AuditEvent.subject == literal("job:") + Job.job_no, col(AuditEvent.kind).in_(AWARD_CHANGES),
        AuditEvent.at >= since).exists()
    return or_(*(col(c) >= since for c in (Job.published_at, Job.cancelled_at, Job.closed_at, Job.awarded_at,
                                          Job.publicity_ends_at, Job.contracted_at, Job.completed_at)),
               award_changed)


# ---- endpoints ------------------------------------------------------------------------------------

@get("/api/jobs/{job_no:str}/ocds", opt=roles(PUBLIC), media_type=JSON)
async def api_job_ocds(request: Request, db: DB, job_no: FromPath[str]) -> Response:
    """The job's OCDS 1.1 release package: one release per stage reached (tender, opening, award, contract,
    completion). Nothing about quotes before they are opened; amounts are exact JSON numbers."""
    job = await market.public_job(db, job_no)
    if job.published_at is None:  # a draft cancelled before it was ever published
        raise NotFound(_("No such job."))
    pub, now = publication(request), utcnow()
    facts = (await job_facts(db, [job]))[0]
    return _json(ocds.release_package(ocds.releases(facts, pub, now), pub, uri=str(request.url), published_date=now))


@get("/api/ocds/releases.jsonl", opt=roles(PUBLIC), media_type="application/x-ndjson")
async def api_ocds_releases(request: Request, since: FromQuery[str | None] = None) -> Stream:
    """The latest OCDS release of every published job, one JSON object per line, oldest job first.
    `?since=2026-01-31` (ISO 8601; Beijing time without a zone) keeps the jobs whose latest release is
    dated at or after it."""
    after = parse_since(since)
    sessionmaker, pub = request.app.state.sessionmaker, publication(request)
    cutoff = ocds.format_date(after) if after else None

    async def lines() -> AsyncIterator[bytes]:
        last = 0
        while True:
            async with sessionmaker() as db:
                stmt = select(Job).where(Job.id > last, Job.status != DRAFT, col(Job.published_at).is_not(None))
                if after is not None:
                    stmt = stmt.where(_touched_since(after))
                jobs = list((await db.exec(stmt.order_by(col(Job.id)).limit(BATCH))).all())
                if not jobs:
                    return
                facts = await job_facts(db, jobs)
            now = utcnow()
            for f in facts:
                release = ocds.latest_release(f, pub, now)
                if cutoff is None or release["date"] >= cutoff:
                    yield (ocds.dumps(release) + "\n").encode()
            last = jobs[-1].id

    return Stream(lines(), media_type="application/x-ndjson")


route_handlers: list = [api_job_ocds, api_ocds_releases]
