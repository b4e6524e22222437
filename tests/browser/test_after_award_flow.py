"""After the award (DESIGN "After the award"), in the browser, on desktop and at phone width: the owner
uploads the signed contract, the agency confirms it, submits a result, the owner returns it, the agency
resubmits, the owner confirms and rates — and the public notice shows the contract publicity and the
completion, but neither the files nor the return reason."""

import os
import random
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.browser.test_credit_flow import as_api, post_job
from tests.browser.test_market_flow import (
    PASSWORD,
    move_deadline_into_the_past,
    register_orgs,
)
from tests.browser.test_registration_flow import login, logout, submit

DEVICES = {
    "desktop": {"viewport": {"width": 1200, "height": 900}},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
              "device_scale_factor": 2},
}
RETURN_REASON = "第三章监测数据缺少采样点位图，请补充后重新提交。"


def _pdf(label: str) -> bytes:
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
            b"% " + label.encode() + b"\ntrailer << /Root 1 0 R >>\n%%EOF\n")


@pytest.fixture(params=list(DEVICES))
def device(request, browser):
    """A page at the device's width (the conftest's `page` is the desktop one)."""
    context = browser.new_context(locale="zh-CN", **DEVICES[request.param])
    p = context.new_page()
    p.set_default_timeout(15000)
    yield request.param, p
    context.close()


_OVERFLOW = """(w) => {
  const wide = [];
  for (const el of document.querySelectorAll('main *')) {
    if (el.closest('.table-wrap')) continue;  // wide tables scroll inside their wrapper
    const r = el.getBoundingClientRect();
    if (r.width && r.right > w + 1) wide.push(`${el.tagName}#${el.id}.${el.className} ${Math.round(r.left)}..${Math.round(r.right)}`);
  }
  return {scroll: document.documentElement.scrollWidth, inner: window.innerWidth, wide: wide.slice(0, 8)};
}"""


def fits(name: str, page, width: int) -> None:
    """At phone width nothing of the page is wider than the screen."""
    got = page.evaluate(_OVERFLOW, width)
    assert got["inner"] == width and got["scroll"] <= got["inner"] + 1 and not got["wide"], (name, page.url, got)


def flash(page) -> str:
    return page.locator(".flash").first.inner_text()


def awarded_job(server, prefix: str) -> tuple[str, str]:
    """Through the API: a job with three quotes, selected, its publicity period over; returns the job and
    the winning agency's user name."""
    base, env = server["base"], server["env"]
    register_orgs(base, random.Random(), prefix=prefix)
    job_no = post_job(base, f"{prefix}owner", "履约流程环评项目")
    for i, price in enumerate(["81000.00", "82000.00", "83000.00"]):
        r = as_api(base, f"{prefix}agency{i}", "POST", f"/api/jobs/{job_no}/quote",
                   json={"price": price, "service_days": 20})
        assert r.status_code == 201, r.text
    move_deadline_into_the_past(env, job_no)
    assert as_api(base, f"{prefix}regulator", "POST", f"/api/regulator/jobs/{job_no}/select").status_code == 200
    move_deadline_into_the_past(env, job_no, column="publicity_ends_at")
    winner = httpx.get(f"{base}/api/jobs/{job_no}").json()["result"]["winner_agency_code"]
    user = next(f"{prefix}agency{i}" for i in range(3)
                if as_api(base, f"{prefix}agency{i}", "GET", "/api/agency/profile").json()["credit_code"] == winner)
    return job_no, user


def test_contract_result_return_resubmit_confirm_rate_public_record(server, device, tmp_path):
    name, page = device
    phone = name == "phone"
    width = DEVICES[name]["viewport"]["width"]
    base = server["base"]
    prefix = "awp" if phone else "awd"
    job_no, agency = awarded_job(server, prefix)
    files = {}
    for label in ("signed", "result-1", "result-2"):
        files[label] = tmp_path / f"{label}.pdf"
        files[label].write_bytes(_pdf(label))

    # The owner uploads the signed contract and confirms it.
    login(page, base, f"{prefix}owner", PASSWORD)
    page.goto(f"{base}/owner/jobs/{job_no}")
    assert page.get_attribute("#contract-form", "data-confirm")
    if phone:
        fits("manage: contract form", page, width)
    page.set_input_files("#f-contract-file", str(files["signed"]))
    page.once("dialog", lambda d: d.accept())  # "Upload this signed contract and confirm it? …"
    submit(page, "#contract-form button")
    assert page.url == f"{base}/owner/jobs/{job_no}"
    assert "签署的合同已上传并确认" in flash(page)
    assert page.locator("#contract-form").count() == 0
    assert page.locator("#contract-publicity").is_visible()
    assert "等待" in page.inner_text("#contract-state")
    logout(page)

    # The winning agency sees the file on the notice and confirms: the service timer starts.
    login(page, base, agency, PASSWORD)
    page.goto(f"{base}/jobs/{job_no}")
    assert page.locator("#contract-confirm-form").is_visible()
    assert page.locator("#contract-refuse-form").is_visible()
    assert page.get_attribute("#contract-file", "href") == f"/jobs/{job_no}/contract.pdf"
    if phone:
        fits("notice: contract confirm form", page, width)
    page.once("dialog", lambda d: d.accept())  # "Confirm this signed contract? The service timer starts now."
    submit(page, "#contract-confirm-form button")
    assert "您已确认合同" in flash(page)
    assert page.inner_text("#contract-state").strip() == "双方均已确认"
    assert page.locator("#service-due").inner_text().strip()
    assert "计时中" in page.inner_text("#timer-state")
    assert page.locator("#contract-confirm-form").count() == 0

    # … and submits its result with a note.
    assert page.locator("#result-form").is_visible() and page.locator("#extension-form").is_visible()
    if phone:
        fits("notice: result and extension forms", page, width)
        page.locator("#performance").screenshot(path=str(server["var"] / "after-award-phone-agency.png"))
    page.set_input_files("#f-result-files", str(files["result-1"]))
    page.fill("#f-result-note", "环评报告书（送审稿）。")
    submit(page, "#result-form button")
    assert "成果已提交" in flash(page)
    assert "环评报告书（送审稿）" in page.inner_text("#round-1")
    assert page.locator("#round-1 a", has_text="result-1.pdf").count() == 1
    assert page.locator("#result-form").count() == 0  # waiting for the owner
    assert page.inner_text("#result-counts").strip() == "1 / 0"
    logout(page)

    # The owner returns it with a reason.
    login(page, base, f"{prefix}owner", PASSWORD)
    page.goto(f"{base}/owner/jobs/{job_no}")
    assert page.locator("#result-confirm-form").is_visible() and page.locator("#result-return-form").is_visible()
    assert page.locator("#timer-form").is_visible()
    if phone:
        fits("manage: result answer forms", page, width)
        page.locator("#performance").screenshot(path=str(server["var"] / "after-award-phone-manage.png"))
    page.fill("#f-return-reason", RETURN_REASON)
    submit(page, "#result-return-form button")
    assert "成果已退回" in flash(page)
    assert RETURN_REASON in page.inner_text("#round-1")
    assert page.locator("#result-confirm-form").count() == 0
    logout(page)

    # The agency reads the reason and resubmits.
    login(page, base, agency, PASSWORD)
    page.goto(f"{base}/jobs/{job_no}")
    assert RETURN_REASON in page.inner_text("#round-1")
    page.set_input_files("#f-result-files", str(files["result-2"]))
    page.fill("#f-result-note", "已补充采样点位图。")
    submit(page, "#result-form button")
    assert "成果已提交" in flash(page)
    assert page.locator("#round-2 a", has_text="result-2.pdf").count() == 1
    assert page.inner_text("#result-counts").strip() == "2 / 1"
    logout(page)

    # The owner confirms the second submission (→ completed) and rates the agency.
    login(page, base, f"{prefix}owner", PASSWORD)
    page.goto(f"{base}/owner/jobs/{job_no}")
    assert "已补充采样点位图" in page.inner_text("#round-2")
    page.once("dialog", lambda d: d.accept())  # "Confirm the result? The service is then completed."
    submit(page, "#result-confirm-form button")
    assert "成果已确认" in flash(page)
    assert "完成" in page.inner_text("#timer-state")
    assert page.locator("#result-return-form").count() == 0 and page.locator("#timer-form").count() == 0
    submit(page, "#rate-link a")
    for field in ("quality", "timeliness", "fee_compliance", "attitude"):
        page.select_option(f"#f-{field}", "4")
    page.fill("#f-comment", "退回一次后按要求补充，成果合格。")
    if phone:
        fits("rating form", page, width)
    page.once("dialog", lambda d: d.accept())  # "Submit this rating? It cannot be changed afterwards."
    submit(page, "#rate-form button")
    assert page.url == f"{base}/owner/jobs/{job_no}"
    assert "75.00" in flash(page)  # (4 − 1) ÷ 4 × 100
    logout(page)
    assert httpx.get(f"{base}/api/jobs/{job_no}").json()["status"] == "rated"

    # The public notice: the contract publicity and the completion, no files, no notes, no reason.
    perf = httpx.get(f"{base}/api/jobs/{job_no}/performance").json()
    tz = ZoneInfo(os.environ.get("DISPLAY_TIMEZONE") or "Asia/Shanghai")
    completed = datetime.fromisoformat(perf["completed_at"]).astimezone(tz).strftime("%Y-%m-%d %H:%M")
    page.goto(f"{base}/jobs/{job_no}")
    publicity = page.locator("#contract-publicity")
    assert publicity.is_visible()
    text = publicity.inner_text()
    assert "示范区交通运输局" in text and "环境咨询有限公司" in text
    assert perf["contract"]["amount"].replace(",", "") in text.replace(",", "")
    assert page.inner_text("#contract-state").strip() == "双方均已确认"
    assert page.inner_text("#timer-state").strip() == f"已于 {completed} 完成"
    assert page.inner_text("#result-counts").strip() == "2 / 1"
    html = page.content()
    assert RETURN_REASON not in html and "已补充采样点位图" not in html and "环评报告书（送审稿）" not in html
    assert page.locator("#contract-file").count() == 0
    assert page.locator(f"a[href^='/jobs/{job_no}/results/'], a[href$='/contract.pdf']").count() == 0
    assert httpx.get(f"{base}/jobs/{job_no}/contract.pdf").status_code in (403, 404)
    if phone:
        fits("public notice", page, width)
    page.screenshot(path=str(server["var"] / f"after-award-{name}-public.png"), full_page=True)
