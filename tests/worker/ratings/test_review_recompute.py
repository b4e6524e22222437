"""Recomputation after a department's review and after the service-score weights change, by the background jobs
(in-process, or an arq worker on Redis); running them again changes nothing."""

from decimal import Decimal

from sqlmodel import select

import app.main  # noqa: F401  (registers every task)
from app.models import AuditEvent
from ratings.models import AgencyCredit, ListEntry, Review
from tests.conftest import TEST_REDIS_URL
from tests.helpers import count_rows, make_agency, make_owner, make_user
from tests.integration.marketplace.test_jobs_api import as_user
from tests.integration.ratings.test_ratings_api import completed_job
from tests.integration.ratings.test_reviews import REVIEW, STARS, make_reviewer, set_item, winner_code


async def run_jobs(app, settings):
    """What the queued jobs do: the in-process queue drains; on Redis an arq worker runs them (burst)."""
    queue = app.state.queue
    if hasattr(queue, "drain"):
        await queue.drain()
        return
    import time

    from arq.constants import default_queue_name
    from arq.worker import Worker

    from app.worker import worker_settings
    # The job's own deadline and publicity tasks wait in the queue for later; a burst worker would wait for them.
    await queue.pool.zremrangebyscore(default_queue_name, int(time.time() * 1000) + 1000, "+inf")
    w = Worker(**worker_settings(settings), burst=True, handle_signals=False, poll_delay=0.05)
    await w.main()
    await w.close()
    assert w.jobs_failed == 0


async def state(sessionmaker):
    async with sessionmaker() as s:
        credits = sorted((c.agency_id, str(c.score), c.grade, c.rating_count, c.red, c.black)
                         for c in (await s.exec(select(AgencyCredit))).all())
    return credits, await count_rows(sessionmaker, ListEntry), await count_rows(sessionmaker, AuditEvent)


async def test_a_review_and_a_weight_change_are_recomputed_once(client, app, settings, sessionmaker):
    await make_owner(sessionmaker, "own1")
    for i in range(4):
        await make_agency(sessionmaker, f"ag{i}", quals=(("EIA", 2),))
    await make_user(sessionmaker, "reg1", "regulator")
    await make_user(sessionmaker, "admin1", "admin")
    await make_reviewer(sessionmaker, "rev_eco", "ECO")
    job_no, h = await completed_job(client, sessionmaker)
    await set_item(sessionmaker, job_no)
    assert (await client.post(f"/api/owner/jobs/{job_no}/rating", json=STARS, headers=h)).status_code == 201
    await run_jobs(app, settings)
    code = await winner_code(client, job_no)
    async with sessionmaker() as s:
        credit = [c for c in (await s.exec(select(AgencyCredit))).all() if c.score != Decimal("80.00")]
    assert [f"{c.score:.2f}" for c in credit] == ["81.56"]  # the rating alone
    # The review queues the recompute: (3 × 80 + 79.88) / 4 = 79.97.
    r = await client.post(f"/api/reviewer/jobs/{job_no}/review", json=REVIEW, headers=await as_user(client, "rev_eco"))
    assert r.status_code == 201
    await run_jobs(app, settings)
    assert (await client.get(f"/api/agencies/{code}/credit")).json()["score"] == "79.97"
    after_review = await state(sessionmaker)
    # Running the per-agency task again changes nothing.
    async with sessionmaker() as s:
        winner = (await s.exec(select(Review.agency_id))).one()
    await app.state.queue.enqueue("recompute_credit", winner, key=f"again-{winner}")
    await run_jobs(app, settings)
    again = await state(sessionmaker)
    assert [c[:4] for c in again[0]] == [c[:4] for c in after_review[0]] and again[1:] == after_review[1:]
    # A weight change (admin) queues the recompute of everyone: (50 × 86.25 + 50 × 65) / 100 = 75.63;
    # (240 + 75.63) / 4 = 78.9075 → 78.91.
    r = await client.put("/api/admin/parameters", json={"owner_weight": 50, "review_weight": 50},
                         headers=await as_user(client, "admin1"))
    assert r.status_code == 200
    await run_jobs(app, settings)
    credit = (await client.get(f"/api/agencies/{code}/credit")).json()
    assert credit["score"] == "78.91" and credit["ratings"][0]["score"] == "75.63"
    after_weights = await state(sessionmaker)
    # And once more: nothing changes but the computation time.
    await app.state.queue.enqueue("recompute_all_credit", key="again-all")
    await run_jobs(app, settings)
    twice = await state(sessionmaker)
    assert [c[:4] for c in twice[0]] == [c[:4] for c in after_weights[0]] and twice[1:] == after_weights[1:]
    assert bool(TEST_REDIS_URL) == (not hasattr(app.state.queue, "drain"))
