"""After the owner's 10 days to confirm the contract pass, the regulator sees the job as overdue and may
give the owner more time, with a reason (an audit event and a notice); bad input changes nothing."""

import re
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import update
from sqlmodel import select

from app.clock import ensure_aware, utcnow
from app.models import AuditEvent, Notification
from marketplace.models import Job
from marketplace.schemas import QuoteIn
from marketplace.services.jobs import create_job, get_job, publish_job
from marketplace.services.quotes import submit_quote
from marketplace.services.selection import close_and_select
from tests.helpers import SIGNED_PDF, count_rows, csrf, login, make_agency, make_owner, make_user
from tests.integration.marketplace.test_selection_flow import job_in, pass_deadline, user_of

PDF = {"file": ("signed.pdf", SIGNED_PDF, "application/pdf")}


async def _awarded_job(sessionmaker, owner, agencies, *, overdue: bool, title: str = "环评服务") -> Job:
    ou = user_of("own1", "owner", owner_id=owner.id)
    async with sessionmaker() as s:
        job = await create_job(s, ou, job_in(method="lowest", title=title))
        job = await publish_job(s, ou, job.job_no)
    for a, p in zip(agencies, ["50000.00", "52000.00", "53000.00"]):
        async with sessionmaker() as s:
            await submit_quote(s, user_of("ag", "agency", agency_id=a.id), job.job_no,
                                      QuoteIn(price=Decimal(p), service_days=50))
    await pass_deadline(sessionmaker, job)
    assert await close_and_select(sessionmaker, job.id) == "selected"
    now = utcnow()
    due = now - timedelta(hours=1) if overdue else now + timedelta(days=3)
    async with sessionmaker() as s:
        await s.exec(update(Job).where(Job.id == job.id).values(publicity_ends_at=now - timedelta(days=10),
                                                                contract_due_at=due))
        await s.commit()
        return await get_job(s, job.job_no)


async def _world(sessionmaker):
    owner = await make_owner(sessionmaker, "own1")
    agencies = [await make_agency(sessionmaker, f"ag{i}", quals=(("EIA", 2),)) for i in range(3)]
    await make_user(sessionmaker, "reg1", "regulator")
    late = await _awarded_job(sessionmaker, owner, agencies, overdue=True, title="逾期未签合同")
    on_time = await _awarded_job(sessionmaker, owner, agencies, overdue=False, title="按期签约中")
    return late, on_time


async def _due(sessionmaker, job_no: str):
    async with sessionmaker() as s:
        return ensure_aware((await get_job(s, job_no)).contract_due_at)


async def test_overdue_contract_is_shown_and_the_regulator_extends_it(client, sessionmaker):
    late, on_time = await _world(sessionmaker)
    # The owner is told the window passed, is not offered the confirm button, and the API refuses.
    h = {"x-csrf-token": await login(client, "own1")}
    page = (await client.get(f"/owner/jobs/{late.job_no}")).text
    assert 'id="contract-overdue"' in page and 'id="contract-form"' not in page
    assert 'id="contract-form"' in (await client.get(f"/owner/jobs/{on_time.job_no}")).text
    r = await client.post(f"/api/owner/jobs/{late.job_no}/contract", headers=h, files=PDF)
    assert r.status_code == 409
    # Nobody but a regulator may extend.
    r = await client.post(f"/api/regulator/jobs/{late.job_no}/contract-window", json={"days": 5, "reason": "x"},
                          headers=h)
    assert r.status_code == 403
    client.cookies.clear()

    h = {"x-csrf-token": await login(client, "reg1")}
    listing = (await client.get("/regulator/selections?status=contract_overdue")).text
    assert late.job_no in listing and on_time.job_no not in listing
    assert f'action="/regulator/jobs/{late.job_no}/contract-window"' in listing
    events = await count_rows(sessionmaker, AuditEvent)
    before = await _due(sessionmaker, late.job_no)
    for bad, field in (({"days": 0, "reason": "x"}, "days"), ({"days": 31, "reason": "x"}, "days"),
                       ({"days": 5, "reason": ""}, "reason"), ({"days": "abc", "reason": "x"}, "days")):
        r = await client.post(f"/api/regulator/jobs/{late.job_no}/contract-window", json=bad, headers=h)
        assert r.status_code == 400 and field in r.json()["fields"], (bad, r.text)
    assert await _due(sessionmaker, late.job_no) == before and await count_rows(sessionmaker, AuditEvent) == events

    r = await client.post(f"/api/regulator/jobs/{late.job_no}/contract-window",
                          json={"days": 5, "reason": "业主因机构改革延误签约"}, headers=h)
    assert r.status_code == 200, r.text
    after = await _due(sessionmaker, late.job_no)
    assert timedelta(days=5) - timedelta(minutes=1) < after - utcnow() <= timedelta(days=5)
    async with sessionmaker() as s:
        ev = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "job.contract_window_extended"))).one()
        assert ev.subject == f"job:{late.job_no}" and ev.data["days"] == 5 and ev.data["reason"] == "业主因机构改革延误签约"
        note = (await s.exec(select(Notification).where(Notification.kind == "contract.window_extended"))).one()
        assert note.data["job"] == late.job_no
    # A shorter extension than what the owner already has is refused; nothing changes.
    r = await client.post(f"/api/regulator/jobs/{late.job_no}/contract-window", json={"days": 1, "reason": "x"},
                          headers=h)
    assert r.status_code == 409 and await _due(sessionmaker, late.job_no) == after
    assert late.job_no not in (await client.get("/regulator/selections?status=contract_overdue")).text
    client.cookies.clear()

    # The owner now confirms; a job whose owner confirmed the contract cannot be extended.
    h = {"x-csrf-token": await login(client, "own1")}
    account = (await client.get("/account")).text
    assert late.job_no in account and "contract.window_extended" not in account
    r = await client.post(f"/api/owner/jobs/{late.job_no}/contract", headers=h, files=PDF)
    assert r.status_code == 201, r.text
    client.cookies.clear()
    h = {"x-csrf-token": await login(client, "reg1")}
    r = await client.post(f"/api/regulator/jobs/{late.job_no}/contract-window", json={"days": 5, "reason": "x"},
                          headers=h)
    assert r.status_code == 409


async def test_the_regulator_extends_through_the_page(client, sessionmaker):
    late, _on_time = await _world(sessionmaker)
    await login(client, "reg1")
    token = await csrf(client)
    url = f"/regulator/jobs/{late.job_no}/contract-window"
    r = await client.post(url, data={"csrf_token": token, "days": "45", "reason": "延期"})
    assert r.status_code == 400 and 'id="page-error"' in r.text
    assert re.search(r'name="reason"[^>]*value="延期"', r.text)  # the form keeps what was typed
    r = await client.post(url, data={"csrf_token": token, "days": "7", "reason": "延期",
                                     "back": "/regulator/selections?status=contract_overdue"})
    assert r.status_code in (302, 303) and r.headers["location"] == "/regulator/selections?status=contract_overdue"
    assert timedelta(days=7) - timedelta(minutes=1) < await _due(sessionmaker, late.job_no) - utcnow()
    page = (await client.get("/regulator/selections")).text
    assert late.job_no in page and f'action="{url}"' not in page  # no longer overdue
    r = await client.post(url, data={"csrf_token": token, "days": "2", "reason": "再延"})
    assert r.status_code == 409 and 'id="page-error"' in r.text
