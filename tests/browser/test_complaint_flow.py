"""A member of the public files a complaint about a job on a phone, without an account, with an evidence file;
writes down the number and the one-time code; a reload files nothing again; with number and code they follow the
complaint and download their own evidence. The regulator investigates and concludes it at desktop width; the
follow-up then shows the outcome, and the public list shows the concluded complaint without the complainant."""

import random
import re

from tests.browser.test_credit_flow import post_job
from tests.browser.test_market_flow import PASSWORD, register_orgs
from tests.browser.test_phone_layout import DESKTOP, PHONE, Browsing, fits
from tests.browser.test_registration_flow import login, submit

EVIDENCE = b"%PDF-1.4\n% quotes that look alike\n%%EOF\n"


def follow_up(b: Browsing, base: str, no: str, code: str) -> None:
    b.visit(f"{base}/complaints/follow-up?no={no}")
    b.page.fill("#f-code", code)
    submit(b.page, "main form button[type=submit]")
    assert b.page.locator("#complaint-state").count() == 1


def test_anonymous_complaint_on_a_phone_followed_and_concluded(server, browser, tmp_path):
    base = server["base"]
    register_orgs(base, random.Random(), prefix="cp")
    job_no = post_job(base, "cpowner", "投诉流程环评项目")
    evidence = tmp_path / "报价对比.pdf"
    evidence.write_bytes(EVIDENCE)

    phone = Browsing(browser, PHONE)
    try:
        page = phone.page
        phone.visit(f"{base}/complaints/new?job={job_no}")
        fits(page)
        assert page.input_value("#f-job_no") == job_no
        page.fill("#f-description", "三家机构的报价文件格式与错字完全相同，疑似围标。")
        page.set_input_files("#f-file", str(evidence))
        page.fill("#f-contact_name", "李明")
        page.fill("#f-contact", "13900001111")
        submit(page, "#complaint-form button[type=submit]")
        assert page.url.endswith("/complaints/filed")
        fits(page)
        no = page.inner_text("#complaint-no").strip()
        code = page.inner_text("#follow-up-code").strip()
        assert re.fullmatch(r"TS\d{4}-\d{5}", no) and re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}", code)
        # A reload neither files again nor shows the code again.
        page.reload()
        assert "/complaints/follow-up" in page.url and page.locator("#follow-up-code").count() == 0
        follow_up(phone, base, no, code)
        fits(page)
        assert page.inner_text("#complaint-state") == "已受理"
        with page.expect_download() as dl:
            page.click("#evidence-files button")
        saved = tmp_path / "downloaded.pdf"
        dl.value.save_as(saved)
        assert saved.read_bytes() == EVIDENCE
        assert not phone.errors, phone.errors
    finally:
        phone.close()

    desk = Browsing(browser, DESKTOP)
    try:
        page = desk.page
        login(page, base, "cpregulator", PASSWORD)
        desk.visit(f"{base}/regulator/complaints")
        submit(page, f"a[href='/regulator/complaints/{no}']")
        assert "李明" in page.inner_text("#complainant")
        submit(page, "#investigate-form button")
        assert "调查" in page.inner_text("#complaint-state")
        page.select_option("#f-outcome", "not_upheld")
        page.fill("#f-conclusion", "经核查，报价文件由同一模板生成，未发现串通证据。")
        page.once("dialog", lambda d: d.accept())
        submit(page, "#conclude-form button")
        assert page.inner_text("#complaint-state") == "已办结"
        assert not desk.errors, desk.errors
    finally:
        desk.close()

    again = Browsing(browser, PHONE)
    try:
        follow_up(again, base, no, code)
        page = again.page
        assert page.inner_text("#complaint-outcome") == "不成立"
        assert "同一模板" in page.inner_text("#complaint-conclusion")
        again.visit(f"{base}/complaints")
        fits(page)
        listing = page.inner_text("main")
        assert no in listing and "李明" not in listing and "13900001111" not in listing
        assert not again.errors, again.errors
    finally:
        again.close()
