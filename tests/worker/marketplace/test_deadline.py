"""Deadline processing through the in-process runner and through arq on Redis."""

import asyncio
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlmodel import func, select

import app.main  # noqa: E402,F401  (registers every task)
from app.auth import CurrentUser
from app.clock import utcnow
from app.models import AuditEvent
from app.tasks import InProcessQueue
from marketplace.models import Job, Selection
from marketplace.schemas import JobIn, QuoteIn
from marketplace.services.jobs import create_job, publish_job, schedule_close
from marketplace.services.quotes import submit_quote
from tests.conftest import TEST_REDIS_URL
from tests.helpers import make_agency, make_owner


async def job_with_quotes(sessionmaker, deadline_in: timedelta) -> Job:
    owner = await make_owner(sessionmaker, "own1")
    agencies = [await make_agency(sessionmaker, f"ag{i}") for i in range(3)]
    ou = CurrentUser(0, "own1", "owner", "", None, owner.id, None)
    async with sessionmaker() as s:
        job = await create_job(s, ou, JobIn.model_validate(dict(
            title="t", project_name="p", project_code="c", category_code="EIA", budget_cap="5000.00",
            item_code="EIA-01",
            method="random", quote_deadline=(utcnow() + timedelta(minutes=5)).isoformat(), service_days=9)))
        job = await publish_job(s, ou, job.job_no)
    for i, a in enumerate(agencies):
        async with sessionmaker() as s:
            await submit_quote(s, CurrentUser(0, f"ag{i}", "agency", "", a.id, None, None), job.job_no,
                                      QuoteIn(price=Decimal(f"{4000 + i}.00"), service_days=5))
    # The deadline comes sooner than published (as if time had passed).
    async with sessionmaker() as s:
        job = await s.get(Job, job.id)
        job.quote_deadline = utcnow() + deadline_in
        s.add(job)
        await s.commit()
    return job


async def selection_count(sessionmaker) -> int:
    async with sessionmaker() as s:
        return (await s.exec(select(func.count()).select_from(Selection))).one()


async def test_in_process_deadline_job_selects_at_the_deadline(app, sessionmaker):
    job = await job_with_quotes(sessionmaker, timedelta(milliseconds=400))
    queue = InProcessQueue({"sessionmaker": sessionmaker})
    await schedule_close(queue, job)
    await schedule_close(queue, job)  # queued twice: still one selection
    await asyncio.sleep(0.1)
    assert await selection_count(sessionmaker) == 0
    await asyncio.sleep(0.5)
    await queue.drain()
    assert await selection_count(sessionmaker) == 1
    async with sessionmaker() as s:
        assert (await s.get(Job, job.id)).status == "awarded"
    await queue.stop()


async def test_sweeper_selects_when_the_queued_job_was_lost(app, sessionmaker):
    job = await job_with_quotes(sessionmaker, timedelta(milliseconds=-1))
    queue = InProcessQueue({"sessionmaker": sessionmaker})
    results = await queue.run_now("sweep")
    async with sessionmaker() as s:
        assert (await s.get(Job, job.id)).status == "awarded"
    assert results["close_due_jobs"] == 1
    assert (await queue.run_now("sweep"))["close_due_jobs"] == 0
    assert await selection_count(sessionmaker) == 1
    async with sessionmaker() as s:
        assert (await s.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.kind == "job.selected"))).one() == 1


@pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL is not set: arq tests need a real Redis")
@pytest.mark.redis
async def test_arq_worker_selects_at_deadline_and_rerun_changes_nothing(app, settings, sessionmaker):
    from arq.worker import Worker

    from app.tasks import ArqQueue
    from app.worker import worker_settings

    job = await job_with_quotes(sessionmaker, timedelta(milliseconds=500))
    queue = ArqQueue(settings.redis_url)
    await queue.start()
    try:
        await schedule_close(queue, job)
        await queue.enqueue("close_job", job.id, key="close-again")  # a duplicate trigger
        workers = [Worker(**worker_settings(settings), burst=True, handle_signals=False, poll_delay=0.05)
                   for _ in range(2)]
        await asyncio.gather(*(w.main() for w in workers))
        for w in workers:
            await w.close()
        assert sum(w.jobs_failed for w in workers) == 0
        assert await selection_count(sessionmaker) == 1
        await queue.enqueue("close_job", job.id, key="close-third")
        w = Worker(**worker_settings(settings), burst=True, handle_signals=False, poll_delay=0.05)
        await w.main()
        await w.close()
        assert await selection_count(sessionmaker) == 1
    finally:
        await queue.stop()


async def test_sweepers_racing_over_a_backlog_select_every_job_once(app, sessionmaker, settings):
    """Three sweeps at once over twelve due jobs (in parallel on PostgreSQL, where a job another sweep
    holds is skipped): every job is selected exactly once and the sweeps' counts add up to twelve."""
    from marketplace.services.jobs import create_job, publish_job

    owner = await make_owner(sessionmaker, "own1")
    agencies = [await make_agency(sessionmaker, f"ag{i}") for i in range(3)]
    ou = CurrentUser(0, "own1", "owner", "", None, owner.id, None)
    job_ids = []
    for n in range(12):
        async with sessionmaker() as s:
            job = await create_job(s, ou, JobIn.model_validate(dict(
                title=f"t{n}", project_name="p", project_code="c", category_code="EIA", budget_cap="5000.00",
                item_code="EIA-01",
                method="random", quote_deadline=(utcnow() + timedelta(minutes=5)).isoformat(), service_days=9)))
            job = await publish_job(s, ou, job.job_no)
        for i, a in enumerate(agencies):
            async with sessionmaker() as s:
                await submit_quote(s, CurrentUser(0, f"ag{i}", "agency", "", a.id, None, None), job.job_no,
                                   QuoteIn(price=Decimal(f"{4000 + i}.00"), service_days=5))
        job_ids.append(job.id)
    async with sessionmaker() as s:
        for job_id in job_ids:
            job = await s.get(Job, job_id)
            job.quote_deadline = utcnow() - timedelta(seconds=1)
            s.add(job)
        await s.commit()
    ctx = {"sessionmaker": sessionmaker, "settings": settings}
    from marketplace.tasks import close_due_jobs

    counts = await asyncio.gather(*(close_due_jobs(ctx) for _ in range(3)))
    assert sum(counts) == 12
    assert await selection_count(sessionmaker) == 12
    async with sessionmaker() as s:
        statuses = (await s.exec(select(Job.status).where(Job.id.in_(job_ids)))).all()
        selected = (await s.exec(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.kind == "job.selected"))).one()
    assert set(statuses) == {"awarded"} and selected == 12
    assert await close_due_jobs(ctx) == 0
