"""Platform parameters: public read, admin change with audit, validation, effect on jobs."""

from sqlmodel import select

from app.models import AuditEvent, PlatformSetting
from tests.helpers import count_rows, csrf, login, make_owner, make_user
from tests.integration.test_market_api import job_body


async def test_admin_changes_direct_threshold_and_it_applies(client, sessionmaker):
    await make_user(sessionmaker, "admin1", "admin")
    await make_owner(sessionmaker, "own1")
    assert (await client.get("/api/parameters")).json()["platform"]["direct_threshold"] == "100000.00"
    h = {"x-csrf-token": await login(client, "own1")}
    r = await client.post("/api/owner/jobs", json=job_body(method="direct", budget_cap="150000.00"), headers=h)
    assert r.status_code == 400 and "method" in r.json()["fields"]
    client.cookies.clear()
    h = {"x-csrf-token": await login(client, "admin1")}
    for bad in ({"direct_threshold": "-1"}, {"publicity_days": 0}, {"contract_days": "x"}, {"unknown": 1}):
        r = await client.put("/api/admin/parameters", json=bad, headers=h)
        assert r.status_code == 400, bad
    assert await count_rows(sessionmaker, PlatformSetting) == 0
    r = await client.put("/api/admin/parameters", json={"direct_threshold": "200000.00"}, headers=h)
    assert r.status_code == 200 and r.json()["platform"]["direct_threshold"] == "200000.00"
    async with sessionmaker() as s:
        ev = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "parameter.changed"))).one()
    assert ev.data == {"old": "100000.00", "new": "200000.00"} and ev.subject == "parameter:direct_threshold"
    page = await client.get("/admin/parameters")
    assert page.status_code == 200 and "200000.00" in page.text
    token = await csrf(client)
    r = await client.post("/admin/parameters", data={"csrf_token": token, "publicity_days": "99"})
    assert r.status_code == 400
    r = await client.post("/admin/parameters", data={"csrf_token": token, "publicity_days": "5"})
    assert r.status_code == 303
    client.cookies.clear()
    h = {"x-csrf-token": await login(client, "own1")}
    r = await client.post("/api/owner/jobs", json=job_body(method="direct", budget_cap="150000.00"), headers=h)
    assert r.status_code == 201
    r = await client.put("/api/admin/parameters", json={"publicity_days": 1}, headers=h)
    assert r.status_code == 403
