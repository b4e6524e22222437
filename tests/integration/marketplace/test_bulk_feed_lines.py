"""The bulk feeds keep the lines they built (issue 9): the OCDS feed too reads a batch in a fixed number of
statements, a second read of an unchanged feed sends the kept lines (one statement a batch for the draws), and
a kept line is rebuilt as soon as what it shows changes (an exclusion after the selection)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import event, update

from app.clock import utcnow
from marketplace.models import Job
from marketplace.services.awards import record_refusal
from tests.integration.marketplace.test_bulk_feed_statements import drawn_job
from tests.integration.marketplace.test_selection_flow import (
    market_world,  # noqa: F401 (the fixture)
    user_of,
)


async def fetch(client, app, path: str) -> tuple[int, list[str]]:
    """(SELECT statements, lines) of one whole read of a feed."""
    seen: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        seen.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        r = await client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert r.status_code == 200
    return len([s for s in seen if s.lstrip().upper().startswith("SELECT")]), r.text.strip().splitlines()


def parse(text: str):
    return json.loads(text, parse_float=Decimal)


async def latest_release(client, job_no: str):
    r = await client.get(f"/api/jobs/{job_no}/ocds")
    assert r.status_code == 200
    return parse(r.text)["releases"][-1]


async def test_the_release_feed_reads_a_batch_in_a_fixed_number_of_statements(client, app, sessionmaker,
                                                                             market_world):
    owner, agencies = market_world
    jobs = [await drawn_job(sessionmaker, owner, agencies, n) for n in range(2)]
    small, lines = await fetch(client, app, "/api/ocds/releases.jsonl")
    assert len(lines) == 2
    jobs += [await drawn_job(sessionmaker, owner, agencies, n) for n in range(2, 6)]
    large, lines = await fetch(client, app, "/api/ocds/releases.jsonl")
    assert len(lines) == 6 and small == large, (small, large)
    for job_no, line in zip(jobs, lines, strict=True):
        assert parse(line) == await latest_release(client, job_no)


async def test_an_unchanged_draw_feed_is_sent_from_the_kept_lines(client, app, sessionmaker, market_world):
    owner, agencies = market_world
    jobs = [await drawn_job(sessionmaker, owner, agencies, n) for n in range(3)]
    first, lines = await fetch(client, app, "/api/draws.jsonl")
    again, kept = await fetch(client, app, "/api/draws.jsonl")
    assert kept == lines and len(lines) == 3
    assert again == 2 < first  # one statement for the batch (the kept lines' keys), one for the empty batch
    for job_no, line in zip(jobs, kept, strict=True):
        assert line == (await client.get(f"/api/jobs/{job_no}/draw")).text


async def test_a_kept_line_follows_an_exclusion(client, app, sessionmaker, market_world):
    owner, agencies = market_world
    job_no = await drawn_job(sessionmaker, owner, agencies, 1)
    other = await drawn_job(sessionmaker, owner, agencies, 2)
    _n, draws_before = await fetch(client, app, "/api/draws.jsonl")
    _n, releases_before = await fetch(client, app, "/api/ocds/releases.jsonl")
    async with sessionmaker() as s:  # the winner refuses to sign once the publicity period is over
        await s.exec(update(Job).where(Job.job_no == job_no).values(publicity_ends_at=utcnow() - timedelta(seconds=1)))
        await s.commit()
        await record_refusal(s, user_of("own1", "owner", owner_id=owner.id), job_no, "拒签")
    _n, draws_after = await fetch(client, app, "/api/draws.jsonl")
    _n, releases_after = await fetch(client, app, "/api/ocds/releases.jsonl")
    assert draws_after[0] != draws_before[0] and draws_after[1] == draws_before[1]
    assert json.loads(draws_after[0])["excluded"][0]["reason"] == "refused_to_sign"
    for n, number in enumerate((job_no, other)):
        assert draws_after[n] == (await client.get(f"/api/jobs/{number}/draw")).text
        assert parse(releases_after[n]) == await latest_release(client, number)
    assert releases_after[0] != releases_before[0] and releases_after[1] == releases_before[1]
