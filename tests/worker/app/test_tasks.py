"""Background jobs on the in-process runner and on arq with a real Redis."""

import asyncio
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import update
from sqlmodel import select

import app.main  # noqa: E402,F401  (registers every task)
from app.audit import verify_stored_chain
from app.models import AuditEvent, Notification
from app.tasks import REGISTRY, InProcessQueue
from marketplace.models import Qualification
from tests.conftest import TEST_REDIS_URL
from tests.helpers import make_agency


async def backdate_qualifications(sessionmaker, agency_id: int) -> None:
    async with sessionmaker() as s:
        await s.exec(update(Qualification).where(Qualification.agency_id == agency_id)
                     .values(valid_until=date.today() - timedelta(days=1)))
        await s.commit()


async def expiry_state(sessionmaker):
    async with sessionmaker() as s:
        statuses = sorted((await s.exec(select(Qualification.status))).all())
        events = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "qualification.expired"))).all()
        notes = (await s.exec(select(Notification).where(Notification.kind == "qualification.expired"))).all()
        return statuses, len(events), len(notes)


@pytest.fixture
async def due_work(sessionmaker):
    a = await make_agency(sessionmaker, "ag1", quals=(("EIA", 2), ("COST", 1)))
    await make_agency(sessionmaker, "ag2", quals=(("SURVEY", 3),))
    await backdate_qualifications(sessionmaker, a.id)
    return a


async def test_in_process_runner_runs_a_deferred_job_once(app, sessionmaker, due_work):
    queue = InProcessQueue({"sessionmaker": sessionmaker, "settings": app.state.settings})
    await queue.start()
    at = datetime.now(timezone.utc) + timedelta(milliseconds=300)
    await queue.enqueue("expire_qualifications", at=at)
    await asyncio.sleep(0.05)
    assert (await expiry_state(sessionmaker))[1] == 0  # not yet due
    await asyncio.sleep(0.4)
    await queue.drain()
    assert await expiry_state(sessionmaker) == (["approved", "expired", "expired"], 2, 2)
    # Running the job again, or the sweeper, changes nothing.
    await queue.enqueue("expire_qualifications")
    await queue.run_now("sweep")
    await queue.drain()
    assert await expiry_state(sessionmaker) == (["approved", "expired", "expired"], 2, 2)
    await queue.stop()
    async with sessionmaker() as s:
        assert (await verify_stored_chain(s)).ok


async def test_concurrent_runs_record_each_expiry_once(app, sessionmaker, due_work):
    ctx = {"sessionmaker": sessionmaker}
    await asyncio.gather(*(REGISTRY["expire_qualifications"](ctx) for _ in range(5)))
    assert await expiry_state(sessionmaker) == (["approved", "expired", "expired"], 2, 2)


async def test_sweeper_loop_finds_due_work_without_a_queued_job(app, sessionmaker, due_work):
    queue = InProcessQueue({"sessionmaker": sessionmaker}, sweep_interval=0.05)
    await queue.start()
    for _ in range(100):
        if (await expiry_state(sessionmaker))[1] == 2:
            break
        await asyncio.sleep(0.05)
    await queue.stop()
    assert await expiry_state(sessionmaker) == (["approved", "expired", "expired"], 2, 2)


async def test_a_failing_job_does_not_kill_the_runner(app, sessionmaker):
    queue = InProcessQueue({"sessionmaker": None})
    await queue.enqueue("expire_qualifications")  # fails: no sessionmaker
    await queue.drain()
    results = await queue.run_now("sweep")
    assert set(results) == {"expire_qualifications", "close_due_jobs", "service_timer_notices", "deem_results",
                            "nightly_credit_if_due", "send_outbox"}
    assert set(results.values()) <= {"error", "not yet", 0}  # send_outbox: no SMTP configured


redis_only = pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL is not set: arq tests need a real Redis")


async def _burst_worker(settings):
    from arq.worker import Worker

    from app.worker import worker_settings

    worker = Worker(**worker_settings(settings), burst=True, handle_signals=False, poll_delay=0.05)
    try:
        await worker.main()
    finally:
        await worker.close()
    return worker


@redis_only
@pytest.mark.redis
async def test_arq_worker_runs_deferred_job_and_repeat_changes_nothing(app, settings, sessionmaker, due_work):
    from app.tasks import ArqQueue

    queue = ArqQueue(settings.redis_url)
    await queue.start()
    try:
        await queue.enqueue("expire_qualifications", at=datetime.now(timezone.utc) + timedelta(milliseconds=300),
                            key="expire-1")
        await queue.enqueue("expire_qualifications", key="expire-2")
        worker = await _burst_worker(settings)
        assert worker.jobs_complete >= 2 and worker.jobs_failed == 0
        assert await expiry_state(sessionmaker) == (["approved", "expired", "expired"], 2, 2)
        await queue.enqueue("expire_qualifications", key="expire-3")
        await _burst_worker(settings)
        assert await expiry_state(sessionmaker) == (["approved", "expired", "expired"], 2, 2)
    finally:
        await queue.stop()


@redis_only
@pytest.mark.redis
async def test_two_arq_workers_in_parallel_record_once(app, settings, sessionmaker, due_work):
    from app.tasks import ArqQueue

    queue = ArqQueue(settings.redis_url)
    await queue.start()
    try:
        for i in range(6):
            await queue.enqueue("expire_qualifications", key=f"par-{i}")
        await asyncio.gather(_burst_worker(settings), _burst_worker(settings))
    finally:
        await queue.stop()
    assert await expiry_state(sessionmaker) == (["approved", "expired", "expired"], 2, 2)
