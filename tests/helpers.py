"""Test helpers: users and organisations made through the real services, logins."""

from __future__ import annotations

import random
from datetime import date, timedelta

from app.accounts import new_user
from marketplace.domain import credit_code
from marketplace.schemas import AgencySignup, OwnerSignup, QualificationIn
from marketplace.services import registry

PASSWORD = "correct-horse-battery-9"
_rng = random.Random(4242)


def new_code() -> str:
    return credit_code.generate(_rng)


async def make_user(sessionmaker, username: str, role: str, password: str = PASSWORD):
    async with sessionmaker() as s:
        user = await new_user(s, username=username, password=password, role=role, display_name=username)
        await s.commit()
        return user


async def make_agency(sessionmaker, username: str, *, status: str = "approved", quals=(("EIA", 2),),
                      code: str | None = None, password: str = PASSWORD):
    code = code or new_code()
    async with sessionmaker() as s:
        agency = await registry.register_agency(s, AgencySignup(
            username=username, password=password, credit_code=code, name=f"{username} 咨询有限公司",
            legal_rep="张三", contact_name="李四", phone="0571-88886666", address="杭州市西湖区文三路 1 号",
            qualifications=[QualificationIn(category_code=c, level=lvl, certificate_no=f"C-{c}-{username}",
                                            valid_until=date.today() + timedelta(days=365)) for c, lvl in quals]))
        if status in ("approved", "suspended"):
            await registry.decide_agency(s, "test", agency.id, "approve", "")
        if status == "rejected":
            await registry.decide_agency(s, "test", agency.id, "reject", "test")
        if status == "suspended":
            await registry.change_agency_status(s, "test", agency.id, "suspend", "test")
        return agency


async def make_owner(sessionmaker, username: str, *, status: str = "approved", password: str = PASSWORD):
    async with sessionmaker() as s:
        owner = await registry.register_owner(s, OwnerSignup(
            username=username, password=password, credit_code=new_code(), name=f"{username} 建设局",
            contact_name="王五", phone="13800000000", address="杭州市上城区 2 号"))
        if status != "pending":
            await registry.decide_owner(s, "test", owner.id, "approve" if status == "approved" else "reject",
                                        "" if status == "approved" else "test")
        return owner


async def csrf(client) -> str:
    r = await client.get("/api/csrf")
    assert r.status_code == 200
    return r.json()["csrf_token"]


async def login(client, username: str, password: str = PASSWORD) -> str:
    """Log in through the API; returns the CSRF token of the new session."""
    token = await csrf(client)
    r = await client.post("/api/auth/login", json={"username": username, "password": password},
                          headers={"x-csrf-token": token})
    assert r.status_code == 200, r.text
    return r.json()["csrf_token"]


async def count_rows(sessionmaker, model) -> int:
    from sqlmodel import func, select

    async with sessionmaker() as s:
        return (await s.exec(select(func.count()).select_from(model))).one()


# ---- after the award: the two-party contract and the result, through the API --------------------

SIGNED_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% signed by both parties\n%%EOF\n"
RESULT_PDF = b"%PDF-1.4\n% the service's result report\n%%EOF\n"


async def as_headers(client, username: str) -> dict[str, str]:
    client.cookies.clear()
    return {"x-csrf-token": await login(client, username)}


async def contract_agency_username(sessionmaker, job_no: str) -> str:
    """The user name of the agency holding the job's contract (or, before it, the current winner)."""
    from sqlmodel import select

    from app.models import User
    from marketplace.models import Contract, Job, Quote, Selection

    async with sessionmaker() as s:
        job = (await s.exec(select(Job).where(Job.job_no == job_no))).one()
        contract = (await s.exec(select(Contract).where(Contract.job_id == job.id))).first()
        if contract is not None:
            agency_id = contract.agency_id
        else:
            sel = (await s.exec(select(Selection).where(Selection.job_id == job.id))).one()
            agency_id = (await s.get(Quote, int(sel.winner_quote_id))).agency_id
        return (await s.exec(select(User.username).where(User.agency_id == agency_id))).first()


async def sign_contract(client, sessionmaker, job_no: str, owner: str) -> str:
    """The owner uploads the signed PDF and confirms; the winning agency confirms. Returns its user name."""
    h = await as_headers(client, owner)
    r = await client.post(f"/api/owner/jobs/{job_no}/contract", headers=h,
                          files={"file": ("signed.pdf", SIGNED_PDF, "application/pdf")})
    assert r.status_code == 201, r.text
    agency = await contract_agency_username(sessionmaker, job_no)
    r = await client.post(f"/api/jobs/{job_no}/contract/confirm", headers=await as_headers(client, agency))
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    return agency


async def complete_service(client, sessionmaker, job_no: str, owner: str) -> dict[str, str]:
    """Sign the contract, submit a result and confirm it: the job is completed. Returns the owner's headers
    (the client is left signed in as the owner)."""
    await sign_contract(client, sessionmaker, job_no, owner)
    return await finish_service(client, sessionmaker, job_no, owner)


async def finish_service(client, sessionmaker, job_no: str, owner: str) -> dict[str, str]:
    """On a contracted job: the agency submits a result, the owner confirms it. The owner's headers."""
    agency = await contract_agency_username(sessionmaker, job_no)
    r = await client.post(f"/api/jobs/{job_no}/results", headers=await as_headers(client, agency),
                          files=[("file", ("result.pdf", RESULT_PDF, "application/pdf"))], data={"note": "成果报告"})
    assert r.status_code == 201, r.text
    h = await as_headers(client, owner)
    r = await client.post(f"/api/owner/jobs/{job_no}/result/confirm", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    return h


# ---- a job through the owner's API --------------------------------------------------------------

def job_body(**over) -> dict:
    """A valid job body (an EIA job, lowest price, not state-funded, deadline in 10 days); `over` changes fields."""
    from datetime import timedelta

    from app.clock import utcnow

    body = {"title": "环境影响评价服务", "project_name": "城东道路改造", "project_code": "XM-2026-001",
            "category_code": "EIA", "item_code": "EIA-01", "min_level": 3, "budget_cap": "100000.00",
            "method": "lowest", "state_funded": False,
            "quote_deadline": (utcnow() + timedelta(days=10)).isoformat(), "service_days": 60}
    body.update(over)
    return body


async def publish_via_api(client, owner: str = "own1", **over) -> str:
    """`owner` drafts and publishes a job (`job_body(**over)`); returns its job number."""
    h = await as_headers(client, owner)
    r = await client.post("/api/owner/jobs", json=job_body(**over), headers=h)
    assert r.status_code == 201, r.text
    job_no = r.json()["job_id"]
    r = await client.post(f"/api/owner/jobs/{job_no}/publish", headers=h)
    assert r.status_code == 200, r.text
    return job_no

