"""Which audit events would tell who quoted on a job whose quotes are still sealed.

A quote's events (`quote.submitted`, `quote.replaced`, `quote.withdrawn`, `quote.reconfirmed`) name the job in their
subject: listed before the quotes are opened, they would let a regulator or an admin count a
job's live quotes (DESIGN "Sealed": only the owner sees the count). The audit page shows such
events as sealed until the job is opened; the chain itself is unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, and_, literal
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.models import AuditEvent
from marketplace.models import CANCELLED, DRAFT, PUBLISHED, Job
from marketplace.services.jobs import quotes_are_open

QUOTE_EVENT_KINDS = ("quote.submitted", "quote.replaced", "quote.withdrawn", "quote.reconfirmed")


async def sealed_events(session: AsyncSession, events: Iterable[AuditEvent]) -> set[int]:
    """The seq of each quote event whose job has not had its quotes opened."""
    quote_events = [e for e in events if e.kind in QUOTE_EVENT_KINDS and e.subject.startswith("job:")]
    if not quote_events:
        return set()
    job_nos = {e.subject.removeprefix("job:") for e in quote_events}
    jobs = (await session.exec(select(Job).where(col(Job.job_no).in_(job_nos)))).all()
    opened = {j.job_no for j in jobs if quotes_are_open(j)}
    return {e.seq for e in quote_events if e.subject.removeprefix("job:") not in opened}


def sealed_clause() -> ColumnElement[bool]:
    """The SQL condition true of exactly the events `sealed_events` masks: a quote event of a job whose quotes
    have not been opened (or of a job number no job has). A view of the audit chain that names a kind or a subject leaves
    them out, totals included, so that no filter counts them."""
    opened = (select(literal("job:") + col(Job.job_no))
              .where(col(Job.status).not_in((DRAFT, PUBLISHED, CANCELLED)), col(Job.closed_at).is_not(None)))
    return and_(col(AuditEvent.kind).in_(QUOTE_EVENT_KINDS), col(AuditEvent.subject).startswith("job:"),
                col(AuditEvent.subject).not_in(opened))
