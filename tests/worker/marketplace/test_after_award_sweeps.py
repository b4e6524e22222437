"""The after-award sweeper steps run once however often and however concurrently the sweep runs:
the 80 % notice goes to each party once, a result left unanswered is deemed confirmed once."""

import asyncio
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import func, select

from app.clock import utcnow
from app.models import AuditEvent, Notification
from app.tasks import InProcessQueue
from marketplace.models import Contract, Job, ResultRound
from tests.helpers import RESULT_PDF, as_headers, sign_contract
from tests.integration.marketplace.test_after_award import awarded
from tests.integration.marketplace.test_jobs_api import world  # noqa: F401 (a fixture)


async def count(sessionmaker, model, *where) -> int:
    async with sessionmaker() as s:
        return (await s.exec(select(func.count()).select_from(model).where(*where))).one()


async def test_racing_sweeps_send_each_notice_once_and_deem_once(client, app, sessionmaker, settings, world):
    job_no = await awarded(client, sessionmaker)
    agency = await sign_contract(client, sessionmaker, job_no, "own1")
    r = await client.post(f"/api/jobs/{job_no}/results", headers=await as_headers(client, agency),
                          files=[("file", ("r.pdf", RESULT_PDF, "application/pdf"))])
    assert r.status_code == 201, r.text
    async with sessionmaker() as s:  # 80 % of the 40 days has run, and the owner's 10 working days are over
        await s.exec(update(Contract).values(started_at=utcnow() - timedelta(days=33)))
        await s.exec(update(ResultRound).values(answer_due_at=utcnow() - timedelta(seconds=1)))
        await s.commit()
    queue = InProcessQueue({"sessionmaker": sessionmaker, "settings": settings})
    await asyncio.gather(*(queue.run_now("sweep") for _ in range(4)))
    await queue.run_now("sweep")
    await queue.drain()
    assert await count(sessionmaker, Notification, Notification.kind == "service.time_80") == 2
    assert await count(sessionmaker, AuditEvent, AuditEvent.kind == "result.deemed") == 1
    assert await count(sessionmaker, AuditEvent, AuditEvent.kind == "job.completed") == 1
    assert await count(sessionmaker, Job, Job.job_no == job_no, Job.status == "completed") == 1
    assert await count(sessionmaker, Notification, Notification.kind == "result.deemed") == 1  # the agency's user
    await queue.stop()
