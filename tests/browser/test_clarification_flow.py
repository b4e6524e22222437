"""Clarifications in a real browser, at desktop and phone width: an agency asks a question on the notice, the
owner answers it and publishes an amendment, the agency sees that its quote must be re-confirmed and
re-confirms it; the public sees the answer and the amendment but never who asked."""

import random

import pytest

from tests.browser.test_credit_flow import as_api, post_job
from tests.browser.test_market_flow import PASSWORD, register_orgs
from tests.browser.test_registration_flow import login, logout, submit
from tests.browser.test_workbench import DEVICES, fits


@pytest.fixture(scope="module")
def orgs(server):
    register_orgs(server["base"], random.Random(), prefix="cl")


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_agency_asks_owner_answers_and_amends_agency_reconfirms(server, browser, orgs, device):
    base = server["base"]
    job_no = post_job(base, "clowner", f"澄清流程项目（{device}）")
    r = as_api(base, "clagency0", "POST", f"/api/jobs/{job_no}/quote",
               json={"price": "88000.00", "service_days": 25, "note": ""})
    assert r.status_code == 201, r.text
    agency_code = as_api(base, "clagency0", "GET", "/api/agency/commitments").json()["agency_code"]
    context = browser.new_context(locale="zh-CN", **DEVICES[device])
    page = context.new_page()
    page.set_default_timeout(15000)
    try:
        login(page, base, "clagency0", PASSWORD)
        page.goto(f"{base}/jobs/{job_no}")
        page.fill("#f-question", "是否需要提供纸质成果？")
        submit(page, "#question-form button")
        assert page.locator("#questions li").count() == 1 and "是否需要提供纸质成果" in page.inner_text("#questions")
        fits(page)
        logout(page)

        login(page, base, "clowner", PASSWORD)
        page.goto(f"{base}/jobs/{job_no}")
        page.fill(".answer-form textarea", "需要提供纸质版 6 份。")
        page.once("dialog", lambda d: d.accept())
        submit(page, ".answer-form button")
        assert "需要提供纸质版 6 份" in page.inner_text("#questions")
        page.click("#amend-box summary")
        page.fill("#f-amend-text", "补充公告：成果需另附电子版光盘。")
        page.once("dialog", lambda d: d.accept())
        submit(page, "#amend-form button")
        assert "补充公告：成果需另附电子版光盘" in page.inner_text("#amendments")
        fits(page)
        logout(page)

        login(page, base, "clagency0", PASSWORD)
        page.goto(f"{base}/jobs/{job_no}")
        assert page.locator("#reconfirm-box").is_visible()
        page.once("dialog", lambda d: d.accept())
        submit(page, "#reconfirm-quote")
        assert page.locator("#reconfirm-box").count() == 0 and page.locator("#reconfirmed").is_visible()
        logout(page)

        # The public sees the answer and the amendment, never the asker.
        page.goto(f"{base}/jobs/{job_no}")
        text = page.inner_text("#clarifications")
        assert "需要提供纸质版 6 份" in text and "补充公告" in text
        assert agency_code not in page.content()
        fits(page)
    finally:
        context.close()
