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
