"""The bulk feeds keep the lines they built (issue 9): the OCDS feed too reads a batch in a fixed number of
statements, a second read of an unchanged feed sends the kept lines (one statement a batch for the draws), and
a kept line is rebuilt as soon as what it shows changes (an exclusion after the selection)."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import delete, event, func, update
from sqlmodel import SQLModel, col, select

from app.clock import utcnow
from app.models import AuditEvent
from marketplace.catalogue_models import ServiceItem
from marketplace.clarification_models import Amendment
from marketplace.controllers import open_data_api
from marketplace.models import (
    Agency,
    Attachment,
    Contract,
    Job,
    Owner,
    Quote,
    Selection,
    ServiceCategory,
    ServiceStep,
)
from marketplace.schemas import QuoteIn
from marketplace.services import bulk_feeds
from marketplace.services.awards import record_refusal
from marketplace.services.jobs import create_job, publish_job
from marketplace.services.quotes import submit_quote
from marketplace.services.selection import close_and_select
from tests.integration.marketplace.test_bulk_feed_statements import drawn_job
from tests.integration.marketplace.test_selection_flow import (
    job_in,
    market_world,  # noqa: F401 (the fixture)
    pass_deadline,
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


async def test_an_unchanged_release_feed_is_sent_from_the_kept_lines(client, app, sessionmaker, market_world,
                                                                    monkeypatch):
    """One statement a batch (the jobs' signals) once every release is kept, however many batches."""
    monkeypatch.setattr(open_data_api, "BATCH", 2)
    owner, agencies = market_world
    jobs = [await drawn_job(sessionmaker, owner, agencies, n) for n in range(5)]
    first, lines = await fetch(client, app, "/api/ocds/releases.jsonl")
    again, kept = await fetch(client, app, "/api/ocds/releases.jsonl")
    assert kept == lines and len(lines) == 5
    assert again == 4 < first  # 3 batches and the empty one that ends the feed
    for job_no, line in zip(jobs, kept, strict=True):
        assert parse(line) == await latest_release(client, job_no)


async def test_a_kept_release_follows_every_fact_it_shows(client, app, sessionmaker, market_world, monkeypatch):
    """A change to any fact a release reads (each kind below) rebuilds that job's line, and only that one; the
    line is then the one-job endpoint's latest release."""
    owner, agencies = market_world
    job_no = await drawn_job(sessionmaker, owner, agencies, 1)
    other = await drawn_job(sessionmaker, owner, agencies, 2)
    async with sessionmaker() as s:
        job = (await s.exec(select(Job).where(Job.job_no == job_no))).one()
        sel = (await s.exec(select(Selection).where(Selection.job_id == job.id))).one()
        winner = (await s.exec(select(Quote).where(Quote.id == int(sel.winner_quote_id)))).one()
        loser = (await s.exec(select(Quote).where(Quote.job_id == job.id, Quote.id != winner.id)
                              .order_by(col(Quote.id)))).first()
        copied_from = (await s.exec(select(Job.id).where(Job.job_no == other))).one()
        ids = {"job": job.id, "owner": job.owner_id, "category": job.category_id, "item": job.item_id,
               "winner": winner.id, "agency": winner.agency_id, "loser": loser.id, "copied": copied_from}

    _n, lines = await fetch(client, app, "/api/ocds/releases.jsonl")
    assert len(lines) == 2

    async def change(stmt, shared: bool = False) -> None:
        """`stmt` (a statement, or a row to add) changes the job's release (and the other job's, if `shared`)."""
        nonlocal lines
        async with sessionmaker() as s:
            await s.exec(stmt) if not isinstance(stmt, SQLModel) else s.add(stmt)
            await s.commit()
        n, after = await fetch(client, app, "/api/ocds/releases.jsonl")
        assert after[0] != lines[0], stmt  # this job's line is rebuilt …
        assert (after[1] != lines[1]) == shared, stmt  # … and the other's kept, unless it shows the change too
        assert parse(after[0]) == await latest_release(client, job_no)
        assert parse(after[1]) == await latest_release(client, other)
        assert n < 16, n  # a fixed number of statements (the signals, the jobs, their facts, the empty batch)
        lines = after

    now = utcnow()
    await change(update(Job).where(Job.id == ids["job"]).values(title="改过的标题"))  # the job's own columns
    await change(update(Job).where(Job.id == ids["job"]).values(description="改过的说明"))
    await change(update(Owner).where(Owner.id == ids["owner"]).values(name="改名的业主"), shared=True)  # the buyer
    await change(update(ServiceCategory).where(ServiceCategory.id == ids["category"]).values(name_zh="改名的类别"),
                 shared=True)
    await change(update(ServiceItem).where(ServiceItem.id == ids["item"]).values(name_zh="改名的事项"), shared=True)
    await change(update(Agency).where(Agency.id == ids["agency"]).values(name="改名的中介"), shared=True)  # a tenderer
    await change(update(Quote).where(Quote.id == ids["loser"]).values(eligible=False))  # a bid
    await change(Attachment(job_id=ids["job"], filename="补充.pdf", content_type="application/pdf", size=3,
                            sha256="0" * 64))  # the documents
    await change(update(Attachment).where(Attachment.job_id == ids["job"]).values(filename="补充说明.pdf"))
    await change(delete(Attachment).where(Attachment.job_id == ids["job"]))
    await change(Attachment(job_id=ids["job"], filename="撤回.pdf", content_type="application/pdf", size=3,
                            sha256="1" * 64))
    await change(update(Attachment).where(Attachment.job_id == ids["job"]).values(withdrawn_at=now, withdrawn_seq=1))
    await change(Amendment(job_id=ids["job"], seq=1, text="延长截止时间", published_at=now - timedelta(days=1),
                           published_by="own1",
                           deadline_before=now - timedelta(hours=2), deadline_after=now - timedelta(seconds=1)))
    await change(update(Job).where(Job.id == ids["job"]).values(copied_from_id=ids["copied"]))  # related process
    await change(update(Job).where(Job.id == ids["job"]).values(publicity_ends_at=now - timedelta(seconds=1)))
    # The award: an exclusion, then when it was recorded in the audit chain (the date of the award update).
    await change(update(Selection).where(Selection.job_id == ids["job"]).values(
        excluded=[{"quote_id": str(ids["winner"]), "reason": "refused_to_sign"}], winner_quote_id=str(ids["loser"])))
    async with sessionmaker() as s:
        seq = (await s.exec(select(func.max(AuditEvent.seq)))).one()
    await change(AuditEvent(seq=seq + 1, at=now + timedelta(hours=1), actor="test", kind="selection.excluded",
                            subject=f"job:{job_no}", prev_hash="", hash="f" * 64))
    await change(update(Selection).where(Selection.job_id == ids["job"]).values(
        excluded=[], winner_quote_id=str(ids["winner"])))
    # The contract: published once both parties confirmed it, then its service timer's steps, then completion.
    contract = Contract(job_id=ids["job"], quote_id=ids["winner"], agency_id=ids["agency"], amount=Decimal("80001.00"),
                        confirmed_at=now, confirmed_by="own1", status="owner_confirmed", service_days=50)
    async with sessionmaker() as s:
        s.add(contract)
        await s.exec(update(Job).where(Job.id == ids["job"]).values(status="contracted", contracted_at=now))
        await s.commit()
    await change(update(Contract).where(Contract.job_id == ids["job"]).values(
        status="confirmed", agency_confirmed_at=now + timedelta(minutes=1), started_at=now + timedelta(minutes=1)))
    await change(update(Contract).where(Contract.job_id == ids["job"]).values(amount=Decimal("79999.50")))
    await change(ServiceStep(job_id=ids["job"], kind="pause", at=now + timedelta(days=1), actor="own1"))
    await change(update(ServiceStep).where(ServiceStep.job_id == ids["job"]).values(at=now + timedelta(days=2)))
    await change(update(Job).where(Job.id == ids["job"]).values(status="completed", completed_at=now + timedelta(days=3)))


async def test_a_kept_release_follows_the_moment(client, app, sessionmaker, market_world, monkeypatch):
    """Unchanged facts, but the publicity period ends: the award becomes active (`ocds.moment_key`)."""
    owner, agencies = market_world
    job_no = await drawn_job(sessionmaker, owner, agencies, 1)
    now = utcnow()
    async with sessionmaker() as s:
        await s.exec(update(Job).where(Job.job_no == job_no).values(publicity_ends_at=now + timedelta(hours=1)))
        await s.commit()
    _n, before = await fetch(client, app, "/api/ocds/releases.jsonl")
    _n, kept = await fetch(client, app, "/api/ocds/releases.jsonl")
    assert kept == before
    later = now + timedelta(hours=2)
    monkeypatch.setattr(bulk_feeds, "utcnow", lambda: later)
    monkeypatch.setattr(open_data_api, "utcnow", lambda: later)
    _n, after = await fetch(client, app, "/api/ocds/releases.jsonl")
    assert after != before and parse(after[0])["awards"][0]["status"] == "active"
    assert parse(after[0]) == await latest_release(client, job_no)


async def test_the_release_feed_opens_the_quotes_when_the_job_closes(client, app, sessionmaker, market_world):
    owner, agencies = market_world
    ou = user_of("own1", "owner", owner_id=owner.id)
    async with sessionmaker() as s:
        job = await create_job(s, ou, job_in(project_code="P-2026-open"))
        job = await publish_job(s, ou, job.job_no)
    for i, a in enumerate(agencies):
        async with sessionmaker() as s:
            await submit_quote(s, user_of("ag", "agency", agency_id=a.id), job.job_no,
                               QuoteIn(price=Decimal(80000 + 1000 * i), service_days=50))
    _n, before = await fetch(client, app, "/api/ocds/releases.jsonl")
    assert "bids" not in parse(before[0])
    await pass_deadline(sessionmaker, job)
    assert await close_and_select(sessionmaker, job.id) == "selected"
    _n, after = await fetch(client, app, "/api/ocds/releases.jsonl")
    assert parse(after[0])["bids"]["details"] and parse(after[0]) == await latest_release(client, job.job_no)
