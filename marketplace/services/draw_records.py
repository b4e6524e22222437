"""The public draw record of a job and its opened quotes."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.canonical import format_time
from marketplace.domain.receipts import receipt_body
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


async def draw_record(session: AsyncSession, job: Job) -> dict[str, Any] | None:
    """The draw record (DESIGN field list) plus the opened quotes with their nonces; None before selection."""
    sel = await selection_of(session, job)
    if sel is None:
        return None
    record = record_of(job, sel)
    record["quotes"] = await opened_quotes(session, job)
    return record


async def opened_quotes(session: AsyncSession, job: Job) -> list[dict[str, Any]]:
    """Every quote live at the deadline, with receipt, nonce and eligibility (after opening only)."""
    rows = (await session.exec(select(Quote, Agency).join(Agency, Agency.id == Quote.agency_id).where(
        Quote.job_id == job.id, Quote.status == LIVE).order_by(col(Quote.id)))).all()
    out = []
    for q, a in rows:
        body = receipt_body(job.job_no, q, a.credit_code)
        out.append({**body, "receipt": q.receipt, "agency_name": a.name, "eligible": bool(q.eligible),
                    "ineligible_reasons": [r for r in q.ineligible_reason.split(",") if r]})
    return out
