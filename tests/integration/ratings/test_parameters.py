"""Platform parameters: public read, admin change with audit, validation, effect on jobs."""

from sqlmodel import select

from app.models import AuditEvent, PlatformSetting
from tests.helpers import count_rows, csrf, login, make_agency, make_owner, make_user
from tests.integration.marketplace.test_jobs_api import job_body


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
    assert await count_rows(sessionmaker, PlatformSetting) == 1  # the tests' own "sealing" row: nothing written
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


async def _run_recompute_jobs(app):
    queue = app.state.queue
    if hasattr(queue, "drain"):
        await queue.drain()
    else:  # arq: run the queued job inline, as a worker would
        from app.tasks import REGISTRY
        await REGISTRY["recompute_all_credit"]({"sessionmaker": app.state.sessionmaker})


async def test_admin_changes_credit_parameters_and_every_score_follows(client, app, sessionmaker):
    from ratings.services.recompute import nightly_recompute

    await make_user(sessionmaker, "admin1", "admin")
    await make_user(sessionmaker, "reg1", "regulator")
    agency = await make_agency(sessionmaker, "ag1")
    async with sessionmaker() as s:
        await nightly_recompute(s)
    credit = (await client.get(f"/api/agencies/{agency.credit_code}/credit")).json()
    assert credit["score"] == "80.00" and credit["grade"] == "B" and credit["parameters"]["prior_mean"] == "80.00"
    h = {"x-csrf-token": await login(client, "admin1")}
    events = await count_rows(sessionmaker, AuditEvent)
    settings_rows = await count_rows(sessionmaker, PlatformSetting)
    bad_bodies = (
        {"prior_mean": "101"}, {"prior_weight": "0"}, {"half_life_days": 0}, {"minor_deduction": "-1"},
        {"grade_a_min": "70.00"},  # below grade B's 75
        {"grade_c_min": "80.00"},  # above grade B's 75
        {"red_min_score": "50.00"},  # not above the black-list threshold 60
        {"black_months": "six"}, {"prior_mean": "70", "no_such_parameter": 1},
        {"prior_mean": "70", "publicity_days": 0},  # one bad field: nothing of the body is written
    )
    for bad in bad_bodies:
        r = await client.put("/api/admin/parameters", json=bad, headers=h)
        assert r.status_code == 400, bad
        assert set(r.json()["fields"]) & (set(bad) | {"no_such_parameter"}), (bad, r.json())
    assert await count_rows(sessionmaker, PlatformSetting) == settings_rows
    assert await count_rows(sessionmaker, AuditEvent) == events
    r = await client.put("/api/admin/parameters", json={"prior_mean": "70", "grade_b_min": "70.00",
                                                        "half_life_days": 365}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["credit"]["prior_mean"] == "70.00" and r.json()["credit"]["grade_b_min"] == "70.00"
    async with sessionmaker() as s:
        evs = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "parameter.changed")
                            .order_by(AuditEvent.seq))).all()
    # half_life_days was given unchanged: no event for it
    assert [(e.subject, e.data) for e in evs] == [
        ("parameter:credit.prior_mean", {"old": "80.00", "new": "70.00"}),
        ("parameter:credit.grade_b_min", {"old": "75.00", "new": "70.00"})]
    await _run_recompute_jobs(app)
    credit = (await client.get(f"/api/agencies/{agency.credit_code}/credit")).json()
    assert credit["score"] == "70.00" and credit["grade"] == "B"
    assert credit["parameters"]["prior_mean"] == "70.00"
    assert (await client.get("/api/parameters")).json()["credit"]["prior_mean"] == "70.00"
    client.cookies.clear()
    page = (await client.get("/rankings")).text
    assert "m = 70.00" in page and "70.00" in page
    # regulators read the page but cannot change anything
    h = {"x-csrf-token": await login(client, "reg1")}
    page = await client.get("/admin/parameters")
    assert page.status_code == 200 and 'name="prior_mean" value="70.00" disabled' in page.text
    assert "<button>" not in page.text.split('id="parameters-form"')[1].split("</form>")[0]
    assert (await client.put("/api/admin/parameters", json={"prior_mean": "60"}, headers=h)).status_code == 403


async def test_credit_parameters_form_shows_errors_in_place(client, sessionmaker):
    await make_user(sessionmaker, "admin1", "admin")
    await login(client, "admin1")
    token = await csrf(client)
    r = await client.post("/admin/parameters", data={"csrf_token": token, "grade_a_min": "50.00",
                                                    "direct_threshold": "100000.00"})
    assert r.status_code == 400 and 'id="c-grade_a_min" name="grade_a_min" value="50.00" aria-invalid="true"' in r.text
    assert await count_rows(sessionmaker, PlatformSetting) == 1  # the tests' own "sealing" row: nothing written
    r = await client.post("/admin/parameters", data={"csrf_token": token, "black_months": "3"})
    assert r.status_code == 303
    page = (await client.get("/admin/parameters")).text
    assert 'name="black_months" value="3"' in page
