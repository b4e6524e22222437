"""An agency signs up, an admin approves it, the agency logs in and sees its status."""

import random
from datetime import date, timedelta

from marketplace.domain.credit_code import generate
from tests.browser.conftest import ADMIN_PASSWORD


def login(page, base, username, password):
    page.goto(base + "/login")
    page.fill("#f-username", username)
    page.fill("#f-password", password)
    submit(page, "button[type=submit]")


def submit(page, selector):
    """Click something that posts a form and wait for the page it leads to."""
    with page.expect_navigation():
        page.click(selector)


def logout(page):
    submit(page, "text=退出登录")


def test_agency_signs_up_admin_approves_agency_sees_status(server, page):
    base = server["base"]
    code = generate(random.Random())
    valid = (date.today() + timedelta(days=500)).isoformat()

    page.goto(base + "/signup/agency")
    page.fill("#f-username", "browseragency")
    page.fill("#f-password", "browser-agency-pass-7")
    page.fill("#f-credit_code", code[:-1] + ("0" if code[-1] != "0" else "1"))  # a typo first
    page.fill("#f-name", "浏览器测试工程咨询有限公司")
    page.fill("#f-legal_rep", "张三")
    page.fill("#f-contact_name", "李四")
    page.fill("#f-phone", "0571-88886666")
    page.fill("#f-address", "杭州市西湖区文三路 100 号")
    page.select_option("#q0c", "EIA")
    page.select_option("#q0l", "2")
    page.fill("#q0n", "HP-2026-001")
    page.fill("#q0v", valid)
    submit(page, "button[type=submit]")
    assert "校验码" in page.inner_text("#e-credit_code")
    page.fill("#f-password", "browser-agency-pass-7")
    page.fill("#f-credit_code", code)
    submit(page, "button[type=submit]")
    page.wait_for_url(base + "/login")
    assert "浏览器测试工程咨询有限公司" in page.inner_text(".flash")

    login(page, base, "browseragency", "browser-agency-pass-7")
    page.goto(base + "/account")
    assert page.inner_text("#org-status") == "待审核"
    logout(page)

    login(page, base, "admin", ADMIN_PASSWORD)
    page.goto(base + "/admin/registrations?kind=agency&status=pending")
    submit(page, "text=浏览器测试工程咨询有限公司")  # (a link: wait for its page, or content() may read a blank one)
    assert code in page.content()
    page.once("dialog", lambda d: d.accept())  # "Approve this registration?"
    submit(page, "#registration-decision button[value=approve]")
    assert page.inner_text("#agency-status") == "已通过"
    logout(page)

    login(page, base, "browseragency", "browser-agency-pass-7")
    page.goto(base + "/account")
    assert page.inner_text("#org-status") == "已通过"
    assert "注册已通过" in page.content() or "通过" in page.inner_text("main")
    page.screenshot(path=str(server["var"] / "agency-approved.png"), full_page=True)
