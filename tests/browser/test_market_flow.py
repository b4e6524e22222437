"""An owner posts a job, three agencies quote, the deadline passes, the public result page
shows the winner and the draw step by step, and the standalone verifier says OK."""

import asyncio
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import text

from marketplace.domain.credit_code import generate
from tests.browser.conftest import ADMIN_PASSWORD, ROOT
from tests.browser.test_registration_flow import login, logout, submit

PASSWORD = "market-flow-pass-2026"


def api_session(base: str, username: str, password: str) -> tuple[httpx.Client, dict]:
    c = httpx.Client(base_url=base, timeout=20)
    token = c.get("/api/csrf").json()["csrf_token"]
    r = c.post("/api/auth/login", json={"username": username, "password": password}, headers={"x-csrf-token": token})
    assert r.status_code == 200, r.text
    return c, {"x-csrf-token": r.json()["csrf_token"]}


def register_orgs(base: str, rng: random.Random, prefix: str = "flow") -> None:
    """Organisations through the public API, approved by the admin."""
    with httpx.Client(base_url=base, timeout=20) as anon:
        owner_id, agency_ids = _signups(anon, rng, prefix)
    admin, ah = api_session(base, "admin", ADMIN_PASSWORD)
    try:
        assert admin.post(f"/api/admin/owners/{owner_id}/decision", json={"decision": "approve"}, headers=ah).status_code == 200
        for a in agency_ids:
            assert admin.post(f"/api/admin/agencies/{a}/decision", json={"decision": "approve"},
                              headers=ah).status_code == 200
        r = admin.post("/api/admin/regulators", headers=ah, json={"username": f"{prefix}regulator", "password": PASSWORD,
                                                                  "display_name": "监管员"})
        assert r.status_code == 201
    finally:
        admin.close()


def _signups(anon: httpx.Client, rng: random.Random, prefix: str) -> tuple[int, list[int]]:
    h = {"x-csrf-token": anon.get("/api/csrf").json()["csrf_token"]}
    valid = (date.today() + timedelta(days=400)).isoformat()
    r = anon.post("/api/signup/owner", headers=h, json={
        "username": f"{prefix}owner", "password": PASSWORD, "credit_code": generate(rng), "name": "示范区交通运输局",
        "contact_name": "王五", "phone": "0574-12345678", "address": "宁波市"})
    assert r.status_code == 201, r.text
    owner_id = r.json()["id"]
    agency_ids = []
    for i in range(3):
        r = anon.post("/api/signup/agency", headers=h, json={
            "username": f"{prefix}agency{i}", "password": PASSWORD, "credit_code": generate(rng),
            "name": f"浙江{prefix}第{i + 1}环境咨询有限公司", "legal_rep": "张三", "contact_name": "李四", "phone": "0571-88886666",
            "address": "杭州市", "qualifications": [{"category_code": "EIA", "level": 2, "certificate_no": f"HP-{i}",
                                                    "valid_until": valid}]})
        assert r.status_code == 201, r.text
        agency_ids.append(r.json()["id"])
    return owner_id, agency_ids


def move_deadline_into_the_past(env: dict, job_no: str, column: str = "quote_deadline") -> None:
    """Time passes: the deadline is moved to a second ago in the server's database."""
    from app.db import make_engine
    from app.settings import normalise_database_url

    url = normalise_database_url(env.get("DATABASE_URL") or f"sqlite:///{env['MARKET_VAR_DIR']}/market.db")

    async def move() -> None:
        engine = make_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text(f"UPDATE job SET {column} = :t WHERE job_no = :j"),
                               {"t": datetime.now(ZoneInfo("UTC")) - timedelta(seconds=1), "j": job_no})
        await engine.dispose()

    # Playwright's sync API keeps an event loop running in this thread.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, move()).result()


def test_owner_posts_agencies_quote_public_sees_verified_draw(server, page):
    base = server["base"]
    register_orgs(base, random.Random())

    login(page, base, "flowowner", PASSWORD)
    page.goto(base + "/owner/jobs/new")
    page.fill("#f-title", "城东快速路环境影响评价")
    page.fill("#f-project_name", "城东快速路改扩建工程")
    page.fill("#f-project_code", "2026-330200-48-01-000001")
    page.select_option("#f-category_code", "EIA")
    page.select_option("#f-item_code", "EIA-01")
    page.fill("#f-budget_cap", "120000.00")
    page.select_option("#f-method", "random")
    deadline = datetime.now(ZoneInfo("Asia/Shanghai")) + timedelta(minutes=30)
    page.fill("#f-quote_deadline", deadline.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#f-service_days", "45")
    submit(page, "#job-form button[type=submit], #job-form button")
    job_no = page.url.rstrip("/").split("/")[-2] if page.url.endswith("/edit") else page.url.rstrip("/").split("/")[-1]
    assert job_no.startswith("J"), page.url
    page.goto(f"{base}/owner/jobs/{job_no}/publish")
    submit(page, "#publish-confirm button")
    commitment = httpx.get(f"{base}/api/jobs/{job_no}").json()["seed_commitment"]
    assert len(commitment) == 64 and commitment in page.content()
    logout(page)

    prices = ["98765.43", "87654.32", "109876.54"]
    for i, price in enumerate(prices):
        login(page, base, f"flowagency{i}", PASSWORD)
        page.goto(f"{base}/jobs/{job_no}")
        page.fill("#f-price", price)
        page.fill("#f-service_days", "40")
        page.once("dialog", lambda d: d.accept())  # "Submit this quote? You may replace or withdraw it …"
        submit(page, "#quote-form button")
        assert len(page.inner_text("#my-receipt").strip()) >= 64
        logout(page)

    page.goto(f"{base}/jobs/{job_no}")
    assert all(p not in page.content() for p in prices)  # sealed until the deadline

    move_deadline_into_the_past(server["env"], job_no)
    login(page, base, "flowregulator", PASSWORD)
    page.goto(f"{base}/jobs/{job_no}")
    if page.locator("#regulator-actions form[action$='/select'] button").count():
        page.once("dialog", lambda d: d.accept())
        submit(page, "#regulator-actions form[action$='/select'] button")
    # The quotes are open: the regulator's collusion signals show that the three agencies registered
    # one contact phone (and one legal representative), with links to the job and the agencies.
    page.goto(f"{base}/regulator")  # the dashboard counts them and leads there
    assert int(page.get_attribute("#card-signals .stat", "data-count")) >= 2
    with page.expect_navigation():
        page.click("#card-signals")
    assert "/regulator/signals?date_from=" in page.url
    page.select_option("#sk", "same_phone")
    page.fill("#sq", job_no)
    submit(page, "form[role=search] button")
    # Grouped by agency pair: three agencies sharing one phone are three pairs, each naming the job.
    pairs = page.locator("tr.pair")
    assert pairs.count() == 3
    assert all("same_phone" in (pairs.nth(i).get_attribute("data-kinds") or "") and job_no in pairs.nth(i).inner_text()
               for i in range(3))
    # The one-by-one view lists the finding naming all three.
    page.goto(page.url + "&view=findings")
    row = page.locator("tr.signal")
    assert row.count() == 1 and row.get_attribute("data-kind") == "same_phone"
    assert job_no in row.inner_text() and "0571-88886666" in row.inner_text()
    assert row.locator("a[href^='/agencies/']").count() == 3
    with page.expect_navigation():
        row.locator(f"a[href='/jobs/{job_no}']").click()
    assert page.url == f"{base}/jobs/{job_no}"
    logout(page)

    page.goto(f"{base}/jobs/{job_no}")
    winner = page.inner_text("#winner")
    assert "环境咨询有限公司" in winner
    record = httpx.get(f"{base}/api/jobs/{job_no}/draw").json()
    won = next(q for q in record["quotes"] if q["quote_id"] == record["winner_quote_id"])
    assert won["price"] in prices and won["price"] in page.inner_text("#winner-price").replace(",", "")
    assert won["agency_name"] in winner
    for step in ("#server-seed", "#candidates-digest", "#final-seed", "#draw-order", "#draw-winner"):
        assert page.locator(step).count() == 1, step
    assert record["final_seed"] in page.content() and record["candidates_digest"] in page.content()
    page.screenshot(path=str(server["var"] / "public-result.png"), full_page=True)

    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "verify_draw.py"), f"{base}/api/jobs/{job_no}/draw"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stdout.startswith("OK"), r.stdout + r.stderr
