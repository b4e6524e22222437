"""An owner attaches two files to a draft (with a progress bar each), sees both listed, removes one,
publishes, and the public notice lists the remaining one; on a desktop and on a phone (no sideways
overflow at 390 px), with a clean console."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from scripts.seed_attachments import demo_pdf
from tests.browser.test_market_flow import PASSWORD, api_session, register_orgs
from tests.browser.test_registration_flow import login, submit


def draft(base: str, username: str, title: str) -> str:
    c, h = api_session(base, username, PASSWORD)
    try:
        r = c.post("/api/owner/jobs", headers=h, json={
            "title": title, "project_name": "城西污水处理厂扩建工程", "project_code": "2026-330100-46-01-000077",
            "category_code": "EIA", "min_level": 3, "budget_cap": "150000.00", "method": "random",
            "item_code": "EIA-01",
            "state_funded": True, "quote_deadline": (datetime.now(UTC) + timedelta(hours=3)).isoformat(),
            "service_days": 60, "description": "编制环境影响报告书"})
        assert r.status_code == 201, r.text
        return r.json()["job_id"]
    finally:
        c.close()


def no_sideways_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture
def errors(page):
    found: list[str] = []
    # A failed load is a console error too ("Failed to load resource", without the address): the responses
    # name it, and the browser's own /favicon.ico request may fail.
    page.on("console", lambda m: found.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: found.append(str(e)))
    page.on("response", lambda r: found.append(f"{r.status} {r.url}") if r.status >= 400
            and not r.url.endswith("/favicon.ico") else None)
    return found


def files(page) -> list[str]:
    return [t.strip() for t in page.locator("#job-files-list .file-name").all_inner_texts()]


def test_owner_attaches_removes_and_publishes(server, page, errors):
    base = server["base"]
    register_orgs(base, random.Random(), prefix="attach")
    login(page, base, "attachowner", PASSWORD)
    long_name = "技术要求-" + "很长的文件名" * 12 + ".pdf"  # a long name wraps, it does not push the page sideways
    for width, start in ((1366, "/edit"), (390, "")):
        page.set_viewport_size({"width": width, "height": 900})
        job_no = draft(base, "attachowner", f"附件测试 {width}")
        page.goto(f"{base}/owner/jobs/{job_no}{start}")
        assert page.locator("#no-files").count() == 1
        page.set_input_files("#attach-form-input", [
            {"name": "比选文件.pdf", "mimeType": "application/pdf", "buffer": demo_pdf("Selection documents")},
            {"name": long_name, "mimeType": "application/pdf", "buffer": demo_pdf("Technical requirements", pad=5000)},
        ])
        page.click("#attach-form button[type=submit]")
        page.wait_for_selector("#attach-form[data-uploaded='2']")
        assert page.locator("#attach-form-progress progress").count() == 2
        assert page.locator("#attach-form-progress li.saved").count() == 2
        assert all(v == 100 for v in page.locator("#attach-form-progress progress").evaluate_all(
            "bars => bars.map(b => b.value)"))
        assert page.url == f"{base}/owner/jobs/{job_no}{start}"  # uploaded in place, no reload
        assert files(page) == ["比选文件.pdf", long_name]
        assert "KB" in page.inner_text("#job-files-list") and "PDF" in page.inner_text("#job-files-list")
        assert page.locator("#no-files").count() == 0
        assert no_sideways_overflow(page), page.evaluate("document.documentElement.scrollWidth")
        page.screenshot(path=str(server["var"] / f"attachments-{width}.png"), full_page=True)

        page.once("dialog", lambda d: d.accept())
        submit(page, "#job-files-list li.file:first-child form.file-remove button")
        assert files(page) == [long_name]
        assert "比选文件.pdf" in page.inner_text(".flash")

        page.goto(f"{base}/owner/jobs/{job_no}/publish")
        assert page.locator("#notice-files-list .file-name").all_inner_texts() == [long_name]
        submit(page, "#publish-confirm button")
        assert page.locator("#attach-form").count() == 0 and page.locator(".file-remove").count() == 0
        assert files(page) == [long_name]  # the owner's page lists it, fixed

        page.goto(f"{base}/jobs/{job_no}")
        link = page.locator("#notice-files-list a.file-name")
        assert link.all_inner_texts() == [long_name]
        assert "KB" in page.inner_text("#notice-files") and "PDF" in page.inner_text("#notice-files")
        with page.expect_download() as dl:
            link.click()
        assert dl.value.suggested_filename == long_name
        assert no_sideways_overflow(page), page.evaluate("document.documentElement.scrollWidth")
    assert errors == []
