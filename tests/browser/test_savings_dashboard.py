"""The savings dashboard in a real browser, on a desktop and on a phone: every chart is drawn (an svg or a
canvas in each chart container), the console stays clean, and at 390 px nothing overflows sideways."""

import random
import time

from tests.browser.test_credit_flow import as_api, post_job
from tests.browser.test_market_flow import move_deadline_into_the_past, register_orgs

CHARTS = ("month", "method", "category", "district", "selection", "agencies", "methods")


def award_two_jobs(base: str, env: dict) -> None:
    register_orgs(base, random.Random(), prefix="sd")
    for n, prices in enumerate((["81000.00", "82000.00", "83000.00"], ["64000.00", "61000.00", "66000.00"])):
        job_no = post_job(base, "sdowner", f"节支看板环评项目{n}")
        for i, price in enumerate(prices):
            r = as_api(base, f"sdagency{i}", "POST", f"/api/jobs/{job_no}/quote",
                       json={"price": price, "service_days": 20})
            assert r.status_code == 201, r.text
        move_deadline_into_the_past(env, job_no)
        assert as_api(base, "sdregulator", "POST", f"/api/regulator/jobs/{job_no}/select").status_code == 200


def wait_until(page, script: str, seconds: float = 10) -> None:
    """Poll `script` from here (page.wait_for_function evaluates strings in the page, which the CSP forbids)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(script):
        assert time.monotonic() < deadline, script
        page.wait_for_timeout(100)


def drawn(page, name: str) -> bool:
    return page.locator(f'[data-chart="{name}"]').locator("svg, canvas").count() > 0


def no_sideways_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_dashboard_draws_its_charts_on_desktop_and_phone(server, page):
    base = server["base"]
    award_two_jobs(base, server["env"])
    errors: list[str] = []
    # A failed load is a console error too ("Failed to load resource", without the address): the responses
    # name it, and the browser's own /favicon.ico request may fail.
    page.on("console", lambda m: errors.append(m.text) if m.type == "error"
            and not m.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400
            and not r.url.endswith("/favicon.ico") else None)

    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(base + "/reports/savings?group_by=method")
    wait_until(page, "document.querySelectorAll('[data-chart] svg').length >= 8")
    for name in (*CHARTS, "rate"):
        assert drawn(page, name), name
        container = page.locator(f'[data-chart="{name}"]')
        assert container.get_attribute("aria-label"), name
        assert page.locator(f"#{container.get_attribute('aria-describedby')}").count() == 1, name
    # A chart under a heading of its own words leaves its title to the heading; another draws its title.
    assert page.locator("#title-month").inner_text() not in page.locator('[data-chart="month"] svg').first.inner_html()
    rate_title = page.evaluate("JSON.parse(document.getElementById('report-data').textContent).charts.rate.title")
    assert rate_title in page.locator('[data-chart="rate"] svg').first.inner_html()
    assert no_sideways_overflow(page)
    wide = page.evaluate("document.querySelector('[data-chart=\"month\"] svg').getBoundingClientRect().width")

    # The phone: the charts follow the window's width, and after a reload they are drawn at that width.
    page.set_viewport_size({"width": 390, "height": 844})
    wait_until(page, "document.querySelector('[data-chart=\"month\"] svg').getBoundingClientRect().width"
                           " <= document.querySelector('[data-chart=\"month\"]').clientWidth + 1")
    narrow = page.evaluate("document.querySelector('[data-chart=\"month\"] svg').getBoundingClientRect().width")
    assert narrow < wide and narrow <= 390
    assert no_sideways_overflow(page)
    page.reload()
    wait_until(page, "document.querySelectorAll('[data-chart] svg').length >= 8")
    for name in CHARTS:
        assert drawn(page, name), name
        box = page.locator(f'[data-chart="{name}"] svg').first.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390 + 0.5, (name, box)
    assert no_sideways_overflow(page), page.evaluate("document.documentElement.scrollWidth")
    assert errors == []
