"""Background tasks of the marketplace (idempotent; ids in, never objects)."""

from __future__ import annotations

import asyncio
import random
from datetime import date
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from app.audit import append_event
from app.clock import utcnow
from app.tasks import sweep_step, task
from marketplace.models import APPROVED, PUBLISHED, Agency, Job, Qualification, ServiceCategory
from marketplace.services.opening import state_of as opening_state_of
from marketplace.services.registry import notify
from marketplace.services.results import deem_unanswered_results
from marketplace.services.selection import AWAITING_KEYS, close_and_select
from marketplace.services.timers import send_timer_notices

EXPIRED = "expired"
SWEEP_PARALLEL = 4  # due jobs a sweeper closes at once on PostgreSQL


@sweep_step
async def expire_qualifications(ctx: dict[str, Any]) -> int:
    """Mark approved qualifications past their valid-until date as expired.

    Each row is claimed with a conditional UPDATE, so concurrent or repeated
    runs record each expiry (and its audit event) exactly once.
    """

    today = date.today()
    done = 0
    async with ctx["sessionmaker"]() as session:
        due = (await session.exec(
            select(Qualification.id).where(Qualification.status == APPROVED, col(Qualification.valid_until) < today)
        )).all()
        for qid in due:
            res = await session.exec(
                update(Qualification).where(Qualification.id == qid, Qualification.status == APPROVED)
                .values(status=EXPIRED)
            )
            if res.rowcount != 1:
                continue
            qual = await session.get(Qualification, qid)
            agency = await session.get(Agency, qual.agency_id)
            cat = await session.get(ServiceCategory, qual.category_id)
            await append_event(session, actor="system", kind="qualification.expired",
                               subject=f"agency:{agency.credit_code}",
                               data={"category": cat.code, "valid_until": qual.valid_until.isoformat()})
            await notify(session, agency_id=agency.id, kind="qualification.expired", data={"category": cat.code})
            await session.commit()
            done += 1
    return done


@task
async def close_job(ctx: dict[str, Any], job_id: int) -> str:
    """At the deadline: open quotes and select (a no-op when already done or not due).

    A sealed job still waiting for its holders' releases is tried again at the end of the grace period
    (when it opens with `k` of them); the sweeper keeps asking the holders until then and after."""

    outcome = await close_and_select(ctx["sessionmaker"], job_id)
    queue = ctx.get("queue")
    if outcome == AWAITING_KEYS and queue is not None:
        async with ctx["sessionmaker"]() as session:
            job = await session.get(Job, job_id)
            state = await opening_state_of(session, job)
        if state.retry_at is not None:
            await queue.enqueue("close_job", job_id, at=state.retry_at,
                                key=f"open:{job_id}:{int(state.retry_at.timestamp())}")
    return outcome


@sweep_step
async def close_due_jobs(ctx: dict[str, Any]) -> int:
    """Find published jobs past their deadline (a lost or late queued job changes nothing)."""

    async with ctx["sessionmaker"]() as session:
        due = (await session.exec(select(Job.id).where(Job.status == PUBLISHED, Job.quote_deadline <= utcnow())
                                  .order_by(Job.quote_deadline).limit(500))).all()
    # On PostgreSQL several at a time (each in its own transaction; a job another worker holds is
    # skipped): a backlog clears at the rate of the deadline tasks. SQLite has one writer anyway.
    settings = ctx.get("settings")
    limit = asyncio.Semaphore(1 if settings is None or settings.is_sqlite else SWEEP_PARALLEL)
    shuffled = list(due)
    random.shuffle(shuffled)  # two workers sweeping at once start at different jobs

    async def close(job_id: int) -> bool:
        async with limit:
            return await close_and_select(ctx["sessionmaker"], job_id) not in ("noop", AWAITING_KEYS)

    return sum(await asyncio.gather(*(close(job_id) for job_id in shuffled)))


@sweep_step
async def service_timer_notices(ctx: dict[str, Any]) -> int:
    """The 80 % and due-date notices of running service timers, each once per contract."""
    async with ctx["sessionmaker"]() as session:
        return await send_timer_notices(session)


@sweep_step
async def deem_results(ctx: dict[str, Any]) -> int:
    """Results left unanswered for 10 working days are deemed confirmed, each once; the agency's credit is
    recomputed (a late result is a violation)."""
    completed: list[int] = []
    async with ctx["sessionmaker"]() as session:
        done = await deem_unanswered_results(session, completed=completed)
    queue = ctx.get("queue")
    for agency_id in completed if queue is not None else ():
        await queue.enqueue("recompute_credit", agency_id)
    return done
