"""The draw-record feed reads a batch in a fixed number of statements (issue 9: "O(1) statements per batch"):
the same count for 2 drawn jobs as for 6, and the same records as the one-job endpoint."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import event

from marketplace.schemas import QuoteIn
from marketplace.services.jobs import create_job, publish_job
from marketplace.services.quotes import submit_quote
from marketplace.services.selection import close_and_select
from tests.integration.marketplace.test_selection_flow import (
    job_in,
    market_world,  # noqa: F401 (the fixture)
    pass_deadline,
    user_of,
)


async def drawn_job(sessionmaker, owner, agencies, n: int) -> str:
    ou = user_of("own1", "owner", owner_id=owner.id)
    async with sessionmaker() as s:
        job = await create_job(s, ou, job_in(project_code=f"P-2026-{n}"))
        job = await publish_job(s, ou, job.job_no)
    for i, a in enumerate(agencies):
        async with sessionmaker() as s:
            await submit_quote(s, user_of("ag", "agency", agency_id=a.id), job.job_no,
                               QuoteIn(price=Decimal(80000 + 1000 * i + n), service_days=50))
    await pass_deadline(sessionmaker, job)
    assert await close_and_select(sessionmaker, job.id) == "selected"
    return job.job_no


async def feed_statements(client, app) -> tuple[int, list[str]]:
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        r = await client.get("/api/draws.jsonl")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert r.status_code == 200
    return len([s for s in seen if s.lstrip().upper().startswith("SELECT")]), r.text.strip().splitlines()


async def test_the_draw_feed_reads_a_batch_in_a_fixed_number_of_statements(client, app, sessionmaker, market_world):
    owner, agencies = market_world
    jobs = [await drawn_job(sessionmaker, owner, agencies, n) for n in range(2)]
    small, lines = await feed_statements(client, app)
    assert len(lines) == 2
    jobs += [await drawn_job(sessionmaker, owner, agencies, n) for n in range(2, 6)]
    large, lines = await feed_statements(client, app)
    assert len(lines) == 6 and small == large, (small, large)
    for job_no, line in zip(jobs, lines, strict=True):
        assert line == (await client.get(f"/api/jobs/{job_no}/draw")).text
