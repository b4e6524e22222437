"""The public draw record of a job and its opened quotes."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.canonical import format_time
from marketplace.domain.receipts import receipt_body, sealed_time
from marketplace.domain.records import draw_record as build
from marketplace.domain.records import outcome_of
from marketplace.models import LIVE, Agency, Job, Quote, Selection
from marketplace.services.selection import selection_of


def record_of(job: Job, sel: Selection) -> dict[str, Any]:
    """The job's draw record from its stored selection, built by the one pure builder."""
    outcome = outcome_of({"method": sel.method, "candidates": sel.candidates, "candidates_digest": sel.candidates_digest,
                          "final_seed": sel.final_seed, "order": sel.order, "params": sel.params,
                          "winner_quote_id": sel.winner_quote_id}, sel.ranking)
    return build(outcome, job_id=job.job_no, server_seed_hex=job.server_seed, beacon=sel.beacon,
                 selected_at=format_time(sel.selected_at), excluded=sel.excluded,
                 published_commitment=job.seed_commitment)


async def draw_records(session: AsyncSession, rows: list[tuple[Selection, Job]]) -> list[dict[str, Any]]:
    """The draw records of a batch of selections with their jobs, in two statements whatever the batch size
    (the selections and jobs, given; every live quote of those jobs with its agency, one query)."""
    by_job: dict[int, list[tuple[Quote, Agency]]] = {job.id: [] for _sel, job in rows}
    if by_job:
        quotes = (await session.exec(select(Quote, Agency).join(Agency, Agency.id == Quote.agency_id).where(
            col(Quote.job_id).in_(list(by_job)), Quote.status == LIVE).order_by(col(Quote.job_id), col(Quote.id)))).all()
        for q, a in quotes:
            by_job[q.job_id].append((q, a))
    return [_record(job, sel, by_job[job.id]) for sel, job in rows]


def _record(job: Job, sel: Selection, rows: list[tuple[Quote, Agency]]) -> dict[str, Any]:
    record = record_of(job, sel)
    record["quotes"] = [_opened_quote(job, q, a) for q, a in rows]
    if job.sealing and job.opening:
        record.update(sealing_keys(job, rows))
    return record


async def draw_record(session: AsyncSession, job: Job) -> dict[str, Any] | None:
    """The draw record (DESIGN field list) plus the opened quotes with their nonces; None before selection.
    A sealed job's record carries the marketseal-v1 keys (`sealing`, `released`, `rejected_releases`,
    `envelopes`)."""
    sel = await selection_of(session, job)
    if sel is None:
        return None
    return _record(job, sel, await _live_rows(session, job))


async def _live_rows(session: AsyncSession, job: Job) -> list[tuple[Quote, Agency]]:
    return list((await session.exec(select(Quote, Agency).join(Agency, Agency.id == Quote.agency_id).where(
        Quote.job_id == job.id, Quote.status == LIVE).order_by(col(Quote.id)))).all())


def _opened_quote(job: Job, q: Quote, a: Agency) -> dict[str, Any]:
    common = {"receipt": q.receipt, "agency_name": a.name, "eligible": bool(q.eligible),
              "ineligible_reasons": [r for r in q.ineligible_reason.split(",") if r]}
    if q.envelope is None:
        return {**receipt_body(job.job_no, q, a.credit_code), **common}
    opened = q.opened or {}
    return {"job_id": job.job_no, "quote_id": str(q.id), "agency_code": a.credit_code,
            "price": opened.get("price"), "service_days": opened.get("service_days"), "note": opened.get("note"),
            "submitted_at": sealed_time(q.submitted_at), "nonce": opened.get("nonce", ""), **common,
            "envelope_validity": q.envelope_validity}


def sealing_keys(job: Job, rows: list[tuple[Quote, Agency]]) -> dict[str, Any]:
    """The marketseal-v1 keys of a sealed job's record: the notice's section, the releases used and the
    others obtained (frozen at opening), and every live quote's envelope with its validity."""
    return {"sealing": job.sealing, "released": job.opening["released"],
            "rejected_releases": job.opening["rejected_releases"],
            "envelopes": [{"quote_id": str(q.id), "agency_code": a.credit_code, "envelope": q.envelope,
                           "envelope_digest": q.envelope_digest, "submitted_at": sealed_time(q.submitted_at),
                           "receipt": q.receipt, "validity": q.envelope_validity}
                          for q, a in rows if q.envelope is not None]}


async def opened_quotes(session: AsyncSession, job: Job) -> list[dict[str, Any]]:
    """Every quote live at the deadline, with receipt, nonce and eligibility (after opening only)."""
    return [_opened_quote(job, q, a) for q, a in await _live_rows(session, job)]
