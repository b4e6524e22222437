"""The API documentation works without Internet access; an admin changes a credit parameter in the
form and every score, the formula on the public ranking page and the cached page follow."""

import random
import re
from urllib.parse import urlparse

import httpx

from tests.browser.conftest import ADMIN_PASSWORD
from tests.browser.test_credit_flow import wait_for
from tests.browser.test_market_flow import api_session, register_orgs
from tests.browser.test_registration_flow import login, logout, submit


def test_api_documentation_renders_from_the_app_alone(server, page):
    base = server["base"]
    elsewhere = []

    def only_local(route):
        if urlparse(route.request.url).hostname != "127.0.0.1":
            elsewhere.append(route.request.url)
            return route.abort()
        return route.continue_()

    page.route("**/*", only_local)
    page.goto(base + "/schema")
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() >= 20
    assert page.get_by_text("/api/jobs/{job_no}/draw", exact=True).count() >= 1
    assert elsewhere == []


def test_admin_changes_prior_mean_and_scores_follow(server, page):
    base = server["base"]
    register_orgs(base, random.Random(7), prefix="pf")

    def credit():
        items = httpx.get(f"{base}/api/rankings", params={"q": "浙江pf第1"}).json()["items"]
        return items[0] if items else None

    assert wait_for(lambda: credit() and credit()["score"] == "80.00"), credit()
    code = credit()["agency_code"]
    login(page, base, "admin", ADMIN_PASSWORD)
    page.goto(base + "/admin/parameters")
    page.fill("#c-prior_mean", "70")
    page.fill("#c-grade_b_min", "80")  # so that 70 is grade C
    submit(page, "#parameters-form button")
    assert page.locator(".flash").first.inner_text().strip() == "参数已保存。"
    assert page.input_value("#c-prior_mean") == "70.00"
    try:
        assert wait_for(lambda: credit()["score"] == "70.00"), credit()
        assert credit()["grade"] == "C"
        logout(page)
        # Anonymous: the cached pages were made stale by the recompute. Every prior-only agency now scores 70, so
        # which page lists this one depends on how many agencies the earlier tests registered.
        row = page.locator(f'tr[data-code="{code}"]')
        for n in range(1, 21):
            page.goto(f"{base}/rankings?page={n}")
            if row.count():
                break
        assert "70.00" in row.inner_text() and row.locator(".grade").inner_text() == "C"
        assert re.search(r"m = 70\.00", page.locator("#formula").inner_text())
        api = httpx.get(f"{base}/api/agencies/{code}/credit").json()
        assert api["parameters"]["prior_mean"] == "70.00" and api["parameters"]["grade_b_min"] == "80.00"
    finally:  # put the published defaults back for whatever runs next
        c, h = api_session(base, "admin", ADMIN_PASSWORD)
        try:
            r = c.put("/api/admin/parameters", json={"prior_mean": "80", "grade_b_min": "75"}, headers=h)
            assert r.status_code == 200, r.text
        finally:
            c.close()
    assert wait_for(lambda: credit()["score"] == "80.00"), credit()
