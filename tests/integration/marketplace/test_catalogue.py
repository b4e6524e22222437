"""The service catalogue (中介服务事项清单): public pages and API per role, jobs naming an item, statistics,
and the admins' changes (audited, validated, nothing written on bad input)."""

from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlmodel import select

from app.clock import utcnow
from app.models import AuditEvent
from marketplace.catalogue_data import DEFAULT_ITEMS
from marketplace.catalogue_models import Department, ServiceItem
from marketplace.models import Job
from tests.helpers import count_rows, login, make_agency, make_owner, make_user


def job_body(**over):
    body = {"title": "环境影响评价服务", "project_name": "城东道路改造", "project_code": "XM-2026-001",
            "category_code": "EIA", "item_code": "EIA-01", "min_level": 3, "budget_cap": "100000.00",
            "method": "random", "state_funded": True,
            "quote_deadline": (utcnow() + timedelta(hours=1)).isoformat(), "service_days": 60}
    body.update(over)
    return body


ITEM = {"code": "EIA-09", "name_zh": "环境影响后评价", "name_en": "Post-project environmental impact assessment",
        "category_code": "EIA", "approval_item_zh": "建设项目环境影响后评价备案",
        "approval_item_en": "Filing of a post-project EIA", "department_code": "ECO",
        "legal_basis": "《中华人民共和国环境影响评价法》第二十七条", "min_level": 2}


async def as_user(client, username, lang=None):
    client.cookies.clear()
    if lang:
        client.cookies.set("lang", lang)
    if username is None:
        return {"x-csrf-token": (await client.get("/api/csrf")).json()["csrf_token"]}
    return {"x-csrf-token": await login(client, username)}


@pytest.fixture
async def world(sessionmaker):
    await make_owner(sessionmaker, "own1")
    for i in range(3):
        await make_agency(sessionmaker, f"ag{i}", quals=(("EIA", 2),))
    await make_user(sessionmaker, "reg1", "regulator")
    await make_user(sessionmaker, "admin1", "admin")


async def new_job(client, h, **over):
    r = await client.post("/api/owner/jobs", json=job_body(**over), headers=h)
    assert r.status_code == 201, r.text
    return r.json()["job_id"]


async def publish(client, h, job_no):
    r = await client.post(f"/api/owner/jobs/{job_no}/publish", headers=h)
    assert r.status_code == 200, r.text


# ---- the seeded catalogue, public ----------------------------------------------------------------

async def test_seed_covers_every_category(sessionmaker):
    async with sessionmaker() as s:
        items = {i.code: i for i in (await s.exec(select(ServiceItem))).all()}
        depts = {d.code for d in (await s.exec(select(Department))).all()}
    assert {"ECO", "NRP", "HUD", "EMB", "WATER", "DRC"} <= depts
    assert len(items) == len(DEFAULT_ITEMS) >= 30
    for cat in ("EIA", "SAFETY", "SURVEY", "DESIGN", "COST", "MAPPING", "LAND", "SOILWATER", "ENERGY", "GEOHAZARD",
                "SUPERVISION", "TENDER"):
        assert items[f"{cat}-01"].min_level == 3 and items[f"{cat}-01"].active
    from marketplace.services.catalogue import seed_catalogue
    async with sessionmaker() as s:
        assert await seed_catalogue(s) == 0  # idempotent


@pytest.mark.parametrize("who", [None, "own1", "ag0", "reg1", "admin1"])
async def test_catalogue_pages_for_every_role(client, world, who):
    await as_user(client, who)
    r = await client.get("/catalogue")
    assert r.status_code == 200 and "EIA-01" in r.text and 'href="/catalogue"' in r.text
    r = await client.get("/catalogue?category=SAFETY")
    assert "SAFETY-02" in r.text and "EIA-01" not in r.text
    r = await client.get("/catalogue?department=WATER")
    assert "SOILWATER-01" in r.text and "EIA-01" not in r.text
    r = await client.get("/catalogue?q=节能审查")
    assert "ENERGY-01" in r.text and "EIA-01" not in r.text
    page2 = await client.get("/catalogue?page=2")
    assert page2.status_code == 200 and "TENDER-03" in page2.text and "EIA-01" not in page2.text
    r = await client.get("/catalogue/EIA-02")
    assert r.status_code == 200 and "建设项目环境影响评价文件审批" in r.text and "第二十二条" in r.text
    assert 'id="item-stats"' in r.text and 'id="item-jobs"' in r.text
    assert (await client.get("/catalogue/NOPE-01")).status_code == 404
    assert (await client.get("/catalogue?category=NOPE")).status_code == 400


async def test_catalogue_api_filters_and_pages(client, world):
    r = await client.get("/api/catalogue?per_page=100")
    assert r.status_code == 200 and r.json()["total"] == len(DEFAULT_ITEMS)
    r = (await client.get("/api/catalogue?category=EIA")).json()
    assert [i["code"] for i in r["items"]] == ["EIA-01", "EIA-02", "EIA-03"]
    assert r["items"][0]["department"]["code"] == "ECO" and r["items"][0]["url"] == "/catalogue/EIA-01"
    r = (await client.get("/api/catalogue?department=DRC&category=ENERGY")).json()
    assert r["total"] == 3 and {i["department"]["code"] for i in r["items"]} == {"DRC"}
    r = (await client.get("/api/catalogue?q=水土保持&per_page=2&page=2")).json()
    assert r["page"] == 2 and len(r["items"]) == 1 and r["total"] == 3
    r = await client.get("/api/catalogue?category=NOPE&department=NOPE")
    assert r.status_code == 400 and set(r.json()["fields"]) == {"category", "department"}
    r = (await client.get("/api/catalogue/SOILWATER-02")).json()
    assert r["min_level"] == 2 and r["department"]["name_zh"] == "水利局" and r["jobs"] == []
    assert r["statistics"] == {"jobs": 0, "total_caps": "0.00", "awarded": 0, "awarded_caps": "0.00",
                               "total_awarded": "0.00", "total_saved": "0.00", "savings_rate": None}
    assert (await client.get("/api/catalogue/NOPE")).status_code == 404
    deps = (await client.get("/api/departments")).json()["items"]
    assert [d["code"] for d in deps][:6] == ["ECO", "NRP", "HUD", "EMB", "WATER", "DRC"]


# ---- jobs name an item -----------------------------------------------------------------------------

async def test_job_names_item_and_item_page_shows_public_jobs_and_statistics(client, sessionmaker, world):
    h = await as_user(client, "own1")
    draft = await new_job(client, h, title="尚未发布的草稿")
    open_no = await new_job(client, h, title="公开征集中的环评")
    await publish(client, h, open_no)
    won_no = await new_job(client, h, title="已选定的环评", budget_cap="200000.00")
    await publish(client, h, won_no)
    r = (await client.get(f"/api/owner/jobs/{draft}")).json()
    assert r["item"]["code"] == "EIA-01" and r["item"]["department"] == {
        "code": "ECO", "name_zh": "生态环境局", "name_en": "Ecology and Environment Bureau"}
    for i, price in enumerate(["150000.00", "160000.00", "170000.00"]):
        hh = await as_user(client, f"ag{i}")
        r = await client.post(f"/api/jobs/{won_no}/quote", json={"price": price, "service_days": 40}, headers=hh)
        assert r.status_code == 201, r.text
    async with sessionmaker() as s:
        await s.exec(update(Job).where(Job.job_no == won_no).values(quote_deadline=utcnow() - timedelta(seconds=1)))
        await s.commit()
    hh = await as_user(client, "reg1")
    r = await client.post(f"/api/regulator/jobs/{won_no}/select", headers=hh)
    assert r.json()["status"] == "awarded", r.text
    won = (await client.get(f"/api/jobs/{won_no}")).json()
    price = won["result"]["price"]
    client.cookies.clear()
    # The public job page shows the item and its approving department.
    page = await client.get(f"/jobs/{open_no}")
    assert 'id="job-item"' in page.text and "EIA-01" in page.text and "生态环境局" in page.text
    assert "建设项目环境影响报告表审批" in page.text
    assert (await client.get(f"/api/jobs/{open_no}")).json()["item"]["code"] == "EIA-01"
    # The item's page and API: public jobs only (never the draft), with statistics.
    r = (await client.get("/api/catalogue/EIA-01")).json()
    assert {j["job_id"] for j in r["jobs"]} == {open_no, won_no} and r["jobs_total"] == 2
    stats = r["statistics"]
    assert stats["jobs"] == 2 and stats["total_caps"] == "300000.00" and stats["awarded"] == 1
    assert stats["awarded_caps"] == "200000.00" and stats["total_awarded"] == price
    from decimal import ROUND_HALF_UP, Decimal
    expect = ((Decimal("200000.00") - Decimal(price)) / Decimal("200000.00")).quantize(Decimal("0.0001"),
                                                                                     ROUND_HALF_UP)
    assert stats["savings_rate"] == str(expect)
    page = await client.get("/catalogue/EIA-01")
    assert open_no in page.text and won_no in page.text
    assert draft not in page.text and "尚未发布的草稿" not in page.text
    assert (await client.get("/api/catalogue/EIA-01?per_page=1&page=2")).json()["jobs"][0]["job_id"] == open_no


async def test_job_item_bad_input_is_400_and_writes_nothing(client, sessionmaker, world):
    h = await as_user(client, "own1", lang="en")
    jobs, events = await count_rows(sessionmaker, Job), await count_rows(sessionmaker, AuditEvent)
    r = await client.post("/api/owner/jobs", json=job_body(item_code="SAFETY-01"), headers=h)
    assert r.status_code == 400
    assert r.json()["fields"]["item_code"] == "This catalogue item belongs to another category."
    # EIA-02's floor is Class B: a job asking for Class C is below it.
    r = await client.post("/api/owner/jobs", json=job_body(item_code="EIA-02", min_level=3), headers=h)
    assert r.status_code == 400
    assert r.json()["fields"]["min_level"] == "This catalogue item requires a minimum level of Class B or higher."
    r = await client.post("/api/owner/jobs", json=job_body(item_code="NOPE-01"), headers=h)
    assert r.status_code == 400 and r.json()["fields"]["item_code"] == "Unknown service catalogue item."
    body = job_body()
    del body["item_code"]
    r = await client.post("/api/owner/jobs", json=body, headers=h)
    assert r.status_code == 400 and r.json()["fields"]["item_code"] == "This field is required."
    async with sessionmaker() as s:
        await s.exec(update(ServiceItem).where(ServiceItem.code == "EIA-03").values(active=False))
        await s.commit()
    r = await client.post("/api/owner/jobs", json=job_body(item_code="EIA-03", min_level=1), headers=h)
    assert r.status_code == 400 and "item_code" in r.json()["fields"]
    assert await count_rows(sessionmaker, Job) == jobs and await count_rows(sessionmaker, AuditEvent) == events
    # At or above the floor is fine: Class B and Class A on EIA-02.
    for level in (2, 1):
        r = await client.post("/api/owner/jobs", json=job_body(item_code="EIA-02", min_level=level), headers=h)
        assert r.status_code == 201 and r.json()["item"]["code"] == "EIA-02"
    # An edit is checked the same way.
    job_no = r.json()["job_id"]
    r = await client.put(f"/api/owner/jobs/{job_no}", json=job_body(item_code="SAFETY-02", min_level=1), headers=h)
    assert r.status_code == 400 and "item_code" in r.json()["fields"]


CHOSEN = 'value="EIA-02" data-category="EIA" data-level="2" data-floor="Lowest level allowed: Class B"'


async def test_owner_form_offers_items_grouped_and_checks_them(client, sessionmaker, world):
    h = await as_user(client, "own1", lang="en")
    page = await client.get("/owner/jobs/new")
    assert page.status_code == 200 and 'id="f-item_code"' in page.text and '<optgroup label=' in page.text
    assert 'value="EIA-02" data-category="EIA" data-level="2"' in page.text and "/static/job_form.js" in page.text
    form = {"title": "环评", "project_name": "城南道路", "project_code": "P-1", "category_code": "EIA",
            "item_code": "EIA-02", "min_level": "3", "budget_cap": "100000.00", "method": "random",
            "state_funded": "true", "quote_deadline": (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M"),
            "service_days": "30", "beacon_source": "none", "csrf_token": h["x-csrf-token"]}
    r = await client.post("/owner/jobs/new", data=form)
    assert r.status_code == 400 and "requires a minimum level of Class B" in r.text
    assert f"{CHOSEN} selected" in r.text
    assert await count_rows(sessionmaker, Job) == 0
    r = await client.post("/owner/jobs/new", data={**form, "min_level": "2"})
    assert r.status_code == 303
    job_no = r.headers["location"].rsplit("/", 1)[-1]
    edit = await client.get(f"/owner/jobs/{job_no}/edit")
    assert f"{CHOSEN} selected" in edit.text


# ---- the admins' changes ------------------------------------------------------------------------

async def test_admin_api_crud_is_audited(client, sessionmaker, world):
    h = await as_user(client, "admin1")
    r = await client.post("/api/admin/catalogue/departments", json={"code": "TRANS", "name_zh": "交通运输局",
                                                                  "name_en": "Transport Bureau"}, headers=h)
    assert r.status_code == 201 and r.json()["active"] is True
    r = await client.post("/api/admin/catalogue/items", json={**ITEM, "department_code": "TRANS"}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["department"]["code"] == "TRANS" and r.json()["min_level"] == 2
    r = await client.put("/api/admin/catalogue/items/EIA-09", json={**ITEM, "min_level": 1}, headers=h)
    assert r.status_code == 200 and r.json()["min_level"] == 1 and r.json()["department"]["code"] == "ECO"
    r = await client.post("/api/admin/catalogue/items/EIA-09/deactivate", headers=h)
    assert r.status_code == 200 and r.json()["active"] is False
    assert "EIA-09" not in {i["code"] for i in (await client.get("/api/catalogue?category=EIA")).json()["items"]}
    assert (await client.get("/api/admin/catalogue/items?category=EIA")).json()["total"] == 4
    assert (await client.get("/api/catalogue/EIA-09")).json()["active"] is False  # still shown, marked
    r = await client.put("/api/admin/catalogue/departments/TRANS", json={"code": "TRANS", "name_zh": "交通运输局",
                                                                       "name_en": "Transport Bureau", "sort_order": 9},
                         headers=h)
    assert r.status_code == 200 and r.json()["sort_order"] == 9
    r = await client.post("/api/admin/catalogue/departments/TRANS/deactivate", headers=h)
    assert r.status_code == 200 and r.json()["active"] is False
    assert "TRANS" not in {d["code"] for d in (await client.get("/api/departments")).json()["items"]}
    async with sessionmaker() as s:
        events = {e.kind: e for e in (await s.exec(select(AuditEvent))).all()}
    assert events["catalogue_item.created"].data["before"] is None
    assert events["catalogue_item.created"].data["after"]["department"] == "TRANS"
    upd = events["catalogue_item.updated"].data
    assert (upd["before"]["min_level"], upd["after"]["min_level"]) == (2, 1)
    assert (upd["before"]["department"], upd["after"]["department"]) == ("TRANS", "ECO")
    off = events["catalogue_item.deactivated"].data
    assert (off["before"]["active"], off["after"]["active"]) == (True, False)
    assert events["department.updated"].data["after"]["sort_order"] == 9
    assert events["department.deactivated"].data["after"]["active"] is False
    # Jobs can no longer name the deactivated item.
    ho = await as_user(client, "own1")
    r = await client.post("/api/owner/jobs", json=job_body(item_code="EIA-09", min_level=1), headers=ho)
    assert r.status_code == 400 and "item_code" in r.json()["fields"]


async def test_admin_api_bad_input_and_roles_write_nothing(client, sessionmaker, world):
    h = await as_user(client, "admin1", lang="en")
    items, depts = await count_rows(sessionmaker, ServiceItem), await count_rows(sessionmaker, Department)
    events = await count_rows(sessionmaker, AuditEvent)
    r = await client.post("/api/admin/catalogue/items", json={**ITEM, "code": "EIA-01"}, headers=h)
    assert r.status_code == 409 and r.json()["fields"]["code"] == "A catalogue item with this code already exists."
    r = await client.post("/api/admin/catalogue/items", json={**ITEM, "category_code": "NOPE",
                                                             "department_code": "NOPE"}, headers=h)
    assert r.status_code == 400 and r.json()["fields"] == {"category_code": "Unknown service category.",
                                                           "department_code": "Unknown department."}
    for level in (0, 4, "x"):
        r = await client.post("/api/admin/catalogue/items", json={**ITEM, "min_level": level}, headers=h)
        assert r.status_code == 400 and "min_level" in r.json()["fields"], level
    r = await client.post("/api/admin/catalogue/items", json={**ITEM, "min_level": 4}, headers=h)
    assert r.json()["fields"]["min_level"] == "The level must be 1 (Class A), 2 (Class B) or 3 (Class C)."
    r = await client.post("/api/admin/catalogue/items", json={**ITEM, "code": "eia 9!", "name_zh": ""}, headers=h)
    assert r.status_code == 400 and {"code", "name_zh"} <= set(r.json()["fields"])
    r = await client.put("/api/admin/catalogue/items/EIA-01", json={**ITEM, "code": "EIA-77"}, headers=h)
    assert r.status_code == 400 and "code" in r.json()["fields"]
    assert (await client.put("/api/admin/catalogue/items/NOPE-1", json=ITEM, headers=h)).status_code == 404
    r = await client.post("/api/admin/catalogue/departments", json={"code": "ECO", "name_zh": "x", "name_en": "x"},
                          headers=h)
    assert r.status_code == 409 and r.json()["fields"]["code"] == "A department with this code already exists."
    assert (await client.post("/api/admin/catalogue/departments/NOPE/deactivate", headers=h)).status_code == 404
    for who in ("own1", "ag0", "reg1"):
        hh = await as_user(client, who)
        assert (await client.post("/api/admin/catalogue/items", json=ITEM, headers=hh)).status_code == 403, who
        assert (await client.post("/api/admin/catalogue/items/EIA-01/deactivate", headers=hh)).status_code == 403
        assert (await client.post("/api/admin/catalogue/departments", json={
            "code": "X", "name_zh": "x", "name_en": "x"}, headers=hh)).status_code == 403
        assert (await client.get("/admin/catalogue")).status_code == 403
    hh = await as_user(client, None)
    assert (await client.post("/api/admin/catalogue/items", json=ITEM, headers=hh)).status_code in (401, 403)
    assert await count_rows(sessionmaker, ServiceItem) == items
    assert await count_rows(sessionmaker, Department) == depts
    assert await count_rows(sessionmaker, AuditEvent) == events


async def test_admin_pages_create_edit_deactivate(client, sessionmaker, world):
    h = await as_user(client, "admin1", lang="en")
    token = h["x-csrf-token"]
    page = await client.get("/admin/catalogue")
    assert page.status_code == 200 and 'id="dept-ECO"' in page.text and 'id="admin-item-EIA-01"' in page.text
    assert (await client.get("/admin/catalogue/items/new")).status_code == 200
    items = await count_rows(sessionmaker, ServiceItem)
    form = {**ITEM, "min_level": "2", "active": "on", "csrf_token": token}
    r = await client.post("/admin/catalogue/items", data={**form, "min_level": "5", "department_code": "NOPE"})
    assert r.status_code == 400 and 'id="form-error"' in r.text and 'id="e-min_level"' in r.text
    r = await client.post("/admin/catalogue/items", data={**form, "department_code": "NOPE"})
    assert r.status_code == 400 and 'id="e-department_code"' in r.text and "Unknown department." in r.text
    assert 'value="环境影响后评价"' in r.text  # the form keeps what was typed
    r = await client.post("/admin/catalogue/items", data={**form, "code": "EIA-01"})
    assert r.status_code == 409 and "A catalogue item with this code already exists." in r.text
    assert await count_rows(sessionmaker, ServiceItem) == items
    r = await client.post("/admin/catalogue/items", data=form)
    assert r.status_code == 303 and r.headers["location"] == "/admin/catalogue"
    edit = await client.get("/admin/catalogue/items/EIA-09/edit")
    assert edit.status_code == 200 and "环境影响后评价" in edit.text
    r = await client.post("/admin/catalogue/items/EIA-09", data={**form, "name_zh": "环境影响后评价报告编制"})
    assert r.status_code == 303
    r = await client.post("/admin/catalogue/items/EIA-09/deactivate", data={"csrf_token": token})
    assert r.status_code == 303
    r = await client.post("/admin/catalogue/departments", data={"code": "ECO", "name_zh": "x", "name_en": "x",
                                                                "csrf_token": token})
    assert r.status_code == 409 and "A department with this code already exists." in r.text
    r = await client.post("/admin/catalogue/departments", data={"code": "TRANS", "name_zh": "交通运输局",
                                                                "name_en": "Transport Bureau", "csrf_token": token})
    assert r.status_code == 303
    r = await client.post("/admin/catalogue/departments/TRANS", data={"name_zh": "", "name_en": "Transport Bureau",
                                                                      "csrf_token": token})
    assert r.status_code == 400 and 'id="form-error"' in r.text
    r = await client.post("/admin/catalogue/departments/TRANS/deactivate", data={"csrf_token": token})
    assert r.status_code == 303
    async with sessionmaker() as s:
        item = (await s.exec(select(ServiceItem).where(ServiceItem.code == "EIA-09"))).one()
        dept = (await s.exec(select(Department).where(Department.code == "TRANS"))).one()
        kinds = [e.kind for e in (await s.exec(select(AuditEvent))).all()]
    assert item.name_zh == "环境影响后评价报告编制" and item.min_level == 2 and not item.active and not dept.active
    assert [k for k in kinds if k.startswith(("catalogue_item.", "department."))] == [
        "catalogue_item.created", "catalogue_item.updated", "catalogue_item.deactivated", "department.created",
        "department.deactivated"]
