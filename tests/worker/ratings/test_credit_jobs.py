"""Credit recomputation jobs: on events and nightly, in-process and on arq; reruns change nothing."""


import pytest
from sqlmodel import func, select

import app.main  # noqa: E402,F401  (registers every task)
from app.models import AuditEvent, PlatformSetting
from app.tasks import InProcessQueue
from ratings.models import AgencyCredit, ListEntry
from tests.conftest import TEST_REDIS_URL
from tests.integration.ratings.test_credit_recompute import seed_history


async def snapshot(sessionmaker):
    async with sessionmaker() as s:
        credits = sorted((c.agency_id, str(c.score), c.grade, c.red, c.black)
                         for c in (await s.exec(select(AgencyCredit))).all())
        entries = (await s.exec(select(func.count()).select_from(ListEntry))).one()
        events = (await s.exec(select(func.count()).select_from(AuditEvent))).one()
    return credits, entries, events


async def test_event_and_nightly_jobs_in_process(app, sessionmaker, monkeypatch):
    import ratings.tasks
    monkeypatch.setattr(ratings.tasks, "NIGHTLY_HOUR", 0)
    agencies, _now = await seed_history(sessionmaker, n_agencies=6, seed=21)
    queue = InProcessQueue({"sessionmaker": sessionmaker})
    for a in agencies:
        await queue.enqueue("recompute_credit", a.id)
    await queue.drain()
    after_events = await snapshot(sessionmaker)
    assert len(after_events[0]) == 6
    for a in agencies:
        await queue.enqueue("recompute_credit", a.id)
    await queue.drain()
    assert (await snapshot(sessionmaker))[1:] == after_events[1:]  # no new list entries or events
    first = await queue.run_now("nightly_credit_if_due")
    assert first.startswith("{")
    assert await queue.run_now("nightly_credit_if_due") == "done"  # once per Beijing day
    async with sessionmaker() as s:
        assert (await s.get(PlatformSetting, "credit_nightly_done_on")) is not None
    await queue.stop()


@pytest.mark.skipif(not TEST_REDIS_URL, reason="TEST_REDIS_URL is not set: arq tests need a real Redis")
@pytest.mark.redis
async def test_recompute_through_arq_twice_changes_nothing(app, settings, sessionmaker):
    from arq.worker import Worker

    from app.tasks import ArqQueue
    from app.worker import worker_settings

    agencies, _now = await seed_history(sessionmaker, n_agencies=4, seed=22)
    queue = ArqQueue(settings.redis_url)
    await queue.start()
    try:
        for round_ in range(2):
            for a in agencies:
                await queue.enqueue("recompute_credit", a.id, key=f"r{round_}-{a.id}")
            w = Worker(**worker_settings(settings), burst=True, handle_signals=False, poll_delay=0.05)
            await w.main()
            await w.close()
            assert w.jobs_failed == 0
            state = await snapshot(sessionmaker)
            if round_ == 0:
                first = state
        assert state[1:] == first[1:] and len(state[0]) == 4
        assert [c[:3] for c in state[0]] == [c[:3] for c in first[0]]
    finally:
        await queue.stop()


async def test_recompute_all_after_a_parameter_change_concurrently_and_twice(app, sessionmaker):
    """After a credit parameter changes, everyone is recomputed; the job racing itself (two admins'
    changes, a retry) and running again adds no list entry or event twice."""
    import asyncio

    from ratings.parameters import PREFIX
    agencies, _now = await seed_history(sessionmaker, n_agencies=8, seed=23)
    queue = InProcessQueue({"sessionmaker": sessionmaker})
    await queue.run_now("recompute_all_credit")
    before = await snapshot(sessionmaker)
    async with sessionmaker() as s:
        s.add(PlatformSetting(key=PREFIX + "black_score_below", value="79.00"))
        s.add(PlatformSetting(key=PREFIX + "black_min_ratings", value="1"))
        await s.commit()
    await asyncio.gather(*(queue.run_now("recompute_all_credit") for _ in range(3)))
    after = await snapshot(sessionmaker)
    blacks = [c for c in after[0] if c[4]]
    assert len(blacks) > len([c for c in before[0] if c[4]])  # the stricter threshold black-listed more
    async with sessionmaker() as s:
        rows = (await s.exec(select(ListEntry.agency_id, func.count()).where(ListEntry.kind == "black")
                             .group_by(ListEntry.agency_id))).all()
    assert rows and all(n == 1 for _a, n in rows)
    await queue.run_now("recompute_all_credit")
    assert (await snapshot(sessionmaker))[1:] == after[1:]
    await queue.stop()
