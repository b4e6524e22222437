"""An owner rates a completed job and the agency's rank and profile change; a black-listed
agency is refused a quote with the reason shown."""

import random
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from tests.browser.test_market_flow import PASSWORD, api_session, move_deadline_into_the_past, register_orgs
from tests.browser.test_registration_flow import login, logout, submit


def post_job(base: str, owner: str, title: str) -> str:
    c, h = api_session(base, owner, PASSWORD)
    try:
        deadline = (datetime.now(ZoneInfo("UTC")) + timedelta(hours=2)).isoformat()
        r = c.post("/api/owner/jobs", headers=h, json={
            "title": title, "project_name": "示范项目", "project_code": "P-1", "category_code": "EIA",
            "item_code": "EIA-01",
            "budget_cap": "100000.00", "method": "lowest", "quote_deadline": deadline, "service_days": 30})
        assert r.status_code == 201, r.text
        job_no = r.json()["job_id"]
        assert c.post(f"/api/owner/jobs/{job_no}/publish", headers=h).status_code == 200
        return job_no
    finally:
        c.close()


def as_api(base: str, user: str, method: str, path: str, **kw) -> httpx.Response:
    c, h = api_session(base, user, PASSWORD)
    try:
        return c.request(method, path, headers=h, **kw)
    finally:
        c.close()


def wait_for(fn, seconds: float = 30):
    """Background jobs (in-process or an arq worker) run soon after the event."""
    deadline = time.monotonic() + seconds
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


def test_rating_moves_rank_and_black_list_refuses_quote(server, page):
    base, env = server["base"], server["env"]
    register_orgs(base, random.Random(), prefix="cr")
    job_no = post_job(base, "crowner", "信用流程环评项目")
    for i, price in enumerate(["81000.00", "82000.00", "83000.00"]):
        r = as_api(base, f"cragency{i}", "POST", f"/api/jobs/{job_no}/quote", json={"price": price, "service_days": 20})
        assert r.status_code == 201, r.text
    move_deadline_into_the_past(env, job_no)
    as_api(base, "crregulator", "POST", f"/api/regulator/jobs/{job_no}/select")
    move_deadline_into_the_past(env, job_no, column="publicity_ends_at")
    signed = {"file": ("signed.pdf", b"%PDF-1.4\n% signed\n%%EOF\n", "application/pdf")}
    assert as_api(base, "crowner", "POST", f"/api/owner/jobs/{job_no}/contract", files=signed).status_code == 201
    # The winning agency confirms the contract and submits the result (the others are told 404).
    confirmed = [a for a in (f"cragency{i}" for i in range(3))
                 if as_api(base, a, "POST", f"/api/jobs/{job_no}/contract/confirm").status_code == 200]
    assert len(confirmed) == 1
    result = [("file", ("result.pdf", b"%PDF-1.4\n% result\n%%EOF\n", "application/pdf"))]
    assert as_api(base, confirmed[0], "POST", f"/api/jobs/{job_no}/results", files=result).status_code == 201
    assert as_api(base, "crowner", "POST", f"/api/owner/jobs/{job_no}/result/confirm").status_code == 200
    winner = httpx.get(f"{base}/api/jobs/{job_no}").json()["result"]["winner_agency_code"]

    login(page, base, "crowner", PASSWORD)
    page.goto(f"{base}/owner/jobs/{job_no}")
    submit(page, "#rate-link a")
    for field in ("quality", "timeliness", "fee_compliance", "attitude"):
        page.select_option(f"#f-{field}", "5")
    page.fill("#f-comment", "成果优秀，按期完成。")
    page.once("dialog", lambda d: d.accept())  # "Submit this rating? It cannot be changed afterwards."
    submit(page, "#rate-form button")
    logout(page)

    def rated() -> bool:
        credit = httpx.get(f"{base}/api/agencies/{winner}/credit").json()
        return credit["rating_count"] == 1 and credit["score"] == "85.00"
    assert wait_for(rated), httpx.get(f"{base}/api/agencies/{winner}/credit").json()

    page.goto(f"{base}/rankings?q=cr")
    first_row = page.locator("#rankings tbody tr").first
    assert first_row.get_attribute("data-code") == winner
    assert "85.00" in first_row.inner_text()
    page.goto(f"{base}/agencies/{winner}/profile")
    assert page.inner_text("#credit-score").strip() == "85.00"
    assert job_no in page.inner_text("#jobs-won")
    page.screenshot(path=str(server["var"] / "profile.png"), full_page=True)

    # A severe violation black-lists another agency; it is refused a quote, and told why.
    loser = next(c for c in (httpx.get(f"{base}/api/jobs/{job_no}/draw").json()["candidates"])
                 if c["agency_code"] != winner)["agency_code"]
    r = as_api(base, "crregulator", "POST", "/api/regulator/violations", json={
        "agency_code": loser, "severity": "severe", "kind": "collusion", "description": "围标串标",
        "evidence": "调查报告第 12 号"})
    assert r.status_code == 201
    assert wait_for(lambda: any(e["agency_code"] == loser for e in httpx.get(f"{base}/api/lists/black").json()))
    second = post_job(base, "crowner", "第二个环评项目")
    loser_user = next(f"cragency{i}" for i in range(3)
                      if as_api(base, f"cragency{i}", "GET", "/api/agency/profile").json()["credit_code"] == loser)
    login(page, base, loser_user, PASSWORD)
    page.goto(f"{base}/jobs/{second}")
    assert "黑名单" in page.inner_text("#not-eligible")
    assert page.locator("#quote-form").count() == 0
    page.goto(f"{base}/lists")
    assert loser in page.content()
