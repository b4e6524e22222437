"""Daily use on a phone (390 × 844): no page is wider than the screen, the header navigation
collapses into a "Menu" button that toggles it, and tables show one card per row, each cell with
its column's header (app/static/nav.js labels the cells, app.css lays them out). At desktop width
(1366 px) the menu button is hidden, the links are shown and tables are tables."""

import os
import random

import httpx
import pytest

from tests.browser.conftest import ADMIN_PASSWORD
from tests.browser.test_credit_flow import as_api, post_job
from tests.browser.test_market_flow import (
    PASSWORD,
    move_deadline_into_the_past,
    register_orgs,
)
from tests.browser.test_registration_flow import login

# Run once, in the embedded browser suite: the layout does not depend on the database.
pytestmark = pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")),
                                reason="the layout does not depend on the database")

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1366, "height": 900}}

_WIDTH = """() => {
  const w = window.innerWidth, wide = [];
  const clipped = (el) => {
    for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) return true;
    }
    return false;
  };
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > w + 1 && !clipped(el)) {
      wide.push(`${el.tagName}#${el.id}.${el.className} ${Math.round(r.left)}..${Math.round(r.right)}`);
    }
  }
  // Tables are cards now: none needs its wrapper's sideways scroll any more.
  const tables = [...document.querySelectorAll('.table-wrap')].filter((t) => t.scrollWidth > t.clientWidth + 1)
    .map((t) => `${t.querySelector('table').id || 'table'} ${t.scrollWidth}>${t.clientWidth}`);
  return {scroll: document.documentElement.scrollWidth, inner: w, wide: wide.slice(0, 8), tables};
}"""

_CELL = """(cell) => {
  const th = cell.closest('table').tHead.rows[0].cells[cell.cellIndex];
  return {display: getComputedStyle(cell).display, row: getComputedStyle(cell.parentElement).display,
          label: cell.getAttribute('data-label'), header: th.textContent.trim(),
          before: getComputedStyle(cell, '::before').content};
}"""


@pytest.fixture(scope="module")
def seeded(server):
    """Organisations of every role, and a job whose quotes are in and whose draw is done (the
    notice then has its widest tables and longest hashes)."""
    base, env = server["base"], server["env"]
    register_orgs(base, random.Random(), prefix="ph")
    job_no = post_job(base, "phowner", "手机版式检查环评项目")
    for i, price in enumerate(["71000.00", "72000.00", "73000.00"]):
        r = as_api(base, f"phagency{i}", "POST", f"/api/jobs/{job_no}/quote", json={"price": price, "service_days": 25})
        assert r.status_code == 201, r.text
    move_deadline_into_the_past(env, job_no)
    assert as_api(base, "phregulator", "POST", f"/api/regulator/jobs/{job_no}/select").status_code == 200
    agency_code = as_api(base, "phagency0", "GET", "/api/agency/profile").json()["credit_code"]
    open_job = post_job(base, "phowner", "手机版式检查开放项目")  # open for quotes: the quote form
    return {"job": job_no, "open_job": open_job, "agency_code": agency_code}


class Browsing:
    """A browser context of one device that records uncaught script errors and console errors."""

    def __init__(self, browser, device):
        self.context = browser.new_context(locale="zh-CN", **device)
        self.page = self.context.new_page()
        self.page.set_default_timeout(15000)
        self.errors = []
        self.page.on("pageerror", lambda e: self.errors.append(f"{self.page.url}: {e}"))
        self.page.on("console", self._console)
        self.page.on("response", self._response)

    def _console(self, m) -> None:
        # A failed load is reported as a console error too: _response names it (or lets favicon.ico pass).
        if m.type == "error" and not m.text.startswith("Failed to load resource"):
            self.errors.append(f"{self.page.url}: {m.text}")

    def _response(self, r) -> None:
        if r.status >= 400 and not r.url.endswith("/favicon.ico"):
            self.errors.append(f"{self.page.url}: {r.status} {r.url}")

    def visit(self, url: str) -> None:
        r = self.page.goto(url)
        assert r is not None and r.status == 200, (url, r and r.status)

    def close(self) -> None:
        self.context.close()


def fits(page) -> None:
    """Nothing is wider than the screen, except inside something that scrolls by itself (a <pre>)."""
    got = page.evaluate(_WIDTH)
    assert got["inner"] == 390 and got["scroll"] <= got["inner"] + 1 and not got["wide"], (page.url, got)
    assert not got["tables"], (page.url, got)


def check_menu(page) -> None:
    """The nav is collapsed behind the button; a click (or Enter) opens it, Escape closes it."""
    button, links = page.locator("#menu-toggle"), page.locator("#main-nav a")
    assert button.is_visible() and button.get_attribute("aria-controls") == "main-nav"
    assert button.get_attribute("aria-expanded") == "false" and not links.first.is_visible()
    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    assert all(links.nth(i).is_visible() for i in range(links.count()))
    fits(page)
    page.keyboard.press("Escape")
    assert button.get_attribute("aria-expanded") == "false" and not links.first.is_visible()
    button.focus()
    page.keyboard.press("Enter")
    assert button.get_attribute("aria-expanded") == "true" and links.first.is_visible()
    page.keyboard.press("Enter")
    assert button.get_attribute("aria-expanded") == "false"


def check_card(page, selector: str) -> None:
    cell = page.locator(selector).first
    got = cell.evaluate(_CELL)
    assert got["display"] == "block" and got["row"] == "block", (selector, got)
    assert got["header"] and got["label"] == got["header"] and got["before"] == f'"{got["header"]}"', (selector, got)


def test_every_role_at_phone_width(server, browser, seeded):
    base, job, code = server["base"], seeded["job"], seeded["agency_code"]
    public = ["/", "/jobs", f"/jobs/{job}", f"/jobs/{seeded['open_job']}", "/rankings", "/agencies",
              f"/agencies/{code}", "/lists", "/reports/savings", "/protocol/marketdraw-v1", "/catalogue",
              "/catalogue/EIA-01", "/complaints", "/complaints/new", "/complaints/follow-up"]
    pages = {
        None: public + ["/login", "/signup", "/signup/agency", "/signup/owner"],
        "phowner": ["/workbench", "/owner/jobs", "/owner/jobs/new", f"/owner/jobs/{job}", "/account"],
        "phagency0": ["/workbench", "/agency/commitments", "/agency/jobs", "/agency/quotes", f"/jobs/{job}", f"/jobs/{seeded['open_job']}",
                      "/agency/profile", "/agency/ratings", "/agency/credit", "/account"],
        "phregulator": ["/regulator", "/regulator/selections", "/regulator/objections", "/regulator/appeals",
                        "/regulator/violations", "/regulator/signals", "/regulator/services", "/regulator/sealing",
                        "/regulator/audit", "/regulator/complaints", f"/jobs/{job}", "/account"],
        "admin": ["/admin/registrations?kind=agency&status=approved", "/admin/registrations?kind=owner&status=approved",
                  "/admin/qualifications", "/admin/categories", "/admin/contract-templates", "/admin/key-holders",
                  "/admin/regulators", "/admin/parameters", "/admin/catalogue", "/admin/reviewers", "/regulator",
                  "/account"],
    }
    seen = []
    for user, paths in pages.items():
        b = Browsing(browser, PHONE)
        try:
            page = b.page
            if user:
                login(page, base, user, ADMIN_PASSWORD if user == "admin" else PASSWORD)
            for path in paths:
                b.visit(base + path)
                fits(page)
                seen.append((user, path))
                if user == "admin" and path.startswith("/admin/registrations"):
                    # … and the registration's own page, reached from the list.
                    href = page.locator("main a[href^='/admin/agencies/'], main a[href^='/admin/owners/']").first
                    b.visit(base + href.get_attribute("href"))
                    fits(page)
            if user is None:
                b.visit(base + "/jobs")
                check_menu(page)
                check_card(page, "#jobs tbody tr td:nth-child(2)")
                b.visit(f"{base}/jobs/{job}")
                check_card(page, "#draw-candidates tbody tr td:nth-child(3)")
                b.visit(base + "/rankings")
                if page.locator("#rankings tbody tr td:nth-child(2)").count():
                    check_card(page, "#rankings tbody tr td:nth-child(2)")
            if user == "admin":
                check_menu(page)  # the longest menu
            assert not b.errors, b.errors
        finally:
            b.close()
    assert len(seen) >= 40, seen


def test_desktop_width_and_without_script(server, browser, seeded):
    base = server["base"]
    b = Browsing(browser, DESKTOP)
    try:
        page = b.page
        b.visit(base + "/jobs")
        assert not page.locator("#menu-toggle").is_visible()
        links = page.locator("#main-nav a")
        assert all(links.nth(i).is_visible() for i in range(links.count()))
        nav = page.locator("#main-nav").evaluate(
            "n => [getComputedStyle(n).display, getComputedStyle(n).flexDirection]")
        assert nav == ["flex", "row"]
        shown = page.locator("#jobs").evaluate("""t => [getComputedStyle(t).display,
            getComputedStyle(t.tHead).display, getComputedStyle(t.tBodies[0].rows[0]).display,
            getComputedStyle(t.tBodies[0].rows[0].cells[1]).display,
            getComputedStyle(t.tBodies[0].rows[0].cells[1], '::before').content]""")
        assert shown == ["table", "table-header-group", "table-row", "table-cell", "none"]
        b.visit(f"{base}/jobs/{seeded['job']}")
        assert page.locator("#draw-candidates td").first.evaluate("c => getComputedStyle(c).display") == "table-cell"
        assert not b.errors, b.errors
    finally:
        b.close()

    # Without JavaScript a phone gets every link, no button, and tables that scroll inside their wrapper.
    context = browser.new_context(locale="zh-CN", java_script_enabled=False, **PHONE)
    try:
        page = context.new_page()
        page.goto(base + "/jobs")
        assert not page.locator("#menu-toggle").is_visible()
        assert page.locator("#main-nav a").first.is_visible()
        assert page.locator("#jobs td").first.evaluate("c => getComputedStyle(c).display") == "table-cell"
        assert page.evaluate("document.documentElement.scrollWidth") <= 391
        assert httpx.get(base + "/static/nav.js").status_code == 200
    finally:
        context.close()
