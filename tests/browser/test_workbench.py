"""An owner and an agency log in and land on their workbench (工作台), at desktop (1366 px) and phone
(390 px) width: the cards show the counts the API gives, a card's link lists that many items, and
nothing is wider than the phone's screen."""

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.browser.test_credit_flow import post_job
from tests.browser.test_market_flow import PASSWORD, api_session, register_orgs
from tests.browser.test_registration_flow import login, logout

DEVICES = {"desktop": {"viewport": {"width": 1366, "height": 900}},
           "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}}

_FITS = """() => {
  const w = window.innerWidth, wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width && r.right > w + 1 && !el.closest('.table-wrap, pre')) wide.push(`${el.tagName}#${el.id}.${el.className}`);
  }
  return {scroll: document.documentElement.scrollWidth, inner: w, wide: wide.slice(0, 8)};
}"""


@pytest.fixture(scope="module")
def seeded(server):
    """An owner with two drafts and an open call, three agencies that may quote on it."""
    base = server["base"]
    register_orgs(base, random.Random(), prefix="wb")
    c, h = api_session(base, "wbowner", PASSWORD)
    try:
        deadline = (datetime.now(ZoneInfo("UTC")) + timedelta(hours=2)).isoformat()
        for title in ("工作台草稿一", "工作台草稿二"):
            r = c.post("/api/owner/jobs", headers=h, json={
                "title": title, "project_name": "示范项目", "project_code": "P-1", "category_code": "EIA",
                "item_code": "EIA-01",
                "budget_cap": "100000.00", "method": "lowest", "quote_deadline": deadline, "service_days": 30})
            assert r.status_code == 201, r.text
    finally:
        c.close()
    post_job(base, "wbowner", "工作台开放项目")


def api_counts(base: str, user: str) -> dict[str, int]:
    c, _h = api_session(base, user, PASSWORD)
    try:
        return {i["key"]: i["count"] for i in c.get("/api/workbench").json()["items"]}
    finally:
        c.close()


def fits(page) -> None:
    got = page.evaluate(_FITS)
    assert got["scroll"] <= got["inner"] + 1 and not got["wide"], (page.url, got)


def lands_and_follows(page, base: str, user: str, key: str, target: str, rows: str, device: str) -> None:
    login(page, base, user, PASSWORD)
    assert page.url == f"{base}/workbench", page.url
    expected = api_counts(base, user)
    for card in page.locator("#workbench .wb-card").all():
        k = card.get_attribute("id").removeprefix("wb-")
        assert int(card.get_attribute("data-count")) == expected[k], k
        assert card.is_visible()
    assert expected[key] >= 1
    if device == "phone":
        fits(page)
    with page.expect_navigation():
        page.click(f"#wb-{key}")
    assert page.url.startswith(f"{base}{target}"), page.url
    assert page.locator(rows).count() == expected[key]
    if device == "phone":
        fits(page)
    logout(page)


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_owner_and_agency_land_on_their_workbench(server, browser, seeded, device):
    base = server["base"]
    context = browser.new_context(locale="zh-CN", **DEVICES[device])
    page = context.new_page()
    page.set_default_timeout(15000)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        lands_and_follows(page, base, "wbowner", "drafts", "/owner/jobs?status=draft", "#owner-jobs tbody tr", device)
        assert api_counts(base, "wbowner")["drafts"] == 2
        lands_and_follows(page, base, "wbagency0", "open_calls", "/agency/jobs", "#open-jobs tbody tr", device)
    finally:
        context.close()
    assert not errors, errors
