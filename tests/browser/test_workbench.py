"""Every role logs in and lands on its workbench (工作台), at desktop (1366 px) and phone (390 px) width: the
cards show the counts the API gives, a card's link lists that many items, and nothing is wider than the phone's
screen. Owner, agency, administrator and reviewer on the workbench; the regulator on its dashboard."""

import random
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from marketplace.domain.credit_code import generate
from tests.browser.conftest import ADMIN_PASSWORD
from tests.browser.test_credit_flow import post_job
from tests.browser.test_market_flow import PASSWORD, api_session, register_orgs
from tests.browser.test_registration_flow import login, logout
from tests.browser.test_review_flow import create_reviewer

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


def api_counts(base: str, user: str, password: str = PASSWORD) -> dict[str, int]:
    c, _h = api_session(base, user, password)
    try:
        return {i["key"]: i["count"] for i in c.get("/api/workbench").json()["items"]}
    finally:
        c.close()


def fits(page) -> None:
    got = page.evaluate(_FITS)
    assert got["scroll"] <= got["inner"] + 1 and not got["wide"], (page.url, got)


def lands_and_follows(page, base: str, user: str, key: str, target: str, rows: str, device: str,
                      password: str = PASSWORD) -> None:
    login(page, base, user, password)
    assert page.url == f"{base}/workbench", page.url
    expected = api_counts(base, user, password)
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


@contextmanager
def device_page(browser, device: str):
    """A page in Chinese at the device's width; no page error may be raised while it is open."""
    context = browser.new_context(locale="zh-CN", **DEVICES[device])
    page = context.new_page()
    page.set_default_timeout(15000)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, errors


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_owner_and_agency_land_on_their_workbench(server, browser, seeded, device):
    base = server["base"]
    with device_page(browser, device) as page:
        lands_and_follows(page, base, "wbowner", "drafts", "/owner/jobs?status=draft", "#owner-jobs tbody tr", device)
        assert api_counts(base, "wbowner")["drafts"] == 2
        lands_and_follows(page, base, "wbagency0", "open_calls", "/agency/jobs", "#open-jobs tbody tr", device)


def pending_agency(base: str, name: str) -> None:
    """An agency registration left for the administrator."""
    with httpx.Client(base_url=base, timeout=20) as anon:
        h = {"x-csrf-token": anon.get("/api/csrf").json()["csrf_token"]}
        r = anon.post("/api/signup/agency", headers=h, json={
            "username": f"u{random.getrandbits(40):x}", "password": PASSWORD, "credit_code": generate(random.Random()),
            "name": name, "legal_rep": "张三", "contact_name": "李四", "phone": "0571-88886666", "address": "杭州市",
            "qualifications": [{"category_code": "EIA", "level": 2, "certificate_no": "HP-9",
                                "valid_until": (date.today() + timedelta(days=400)).isoformat()}]})
        assert r.status_code == 201, r.text


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_admin_regulator_and_reviewer_land_on_theirs(server, browser, seeded, device):
    base = server["base"]
    pending_agency(base, f"工作台待审机构（{device}）")
    with device_page(browser, device) as page:
        # The administrator: the registrations waiting, listed on the registrations page.
        lands_and_follows(page, base, "admin", "agency_registrations", "/admin/registrations",
                          "table tbody tr", device, password=ADMIN_PASSWORD)
        # The regulator lands on its dashboard: the same cards as its API, each linking to its page.
        login(page, base, "wbregulator", PASSWORD)
        assert page.url == f"{base}/regulator", page.url
        expected = api_counts(base, "wbregulator")
        cards = page.locator("#dashboard .dash-card").all()
        assert {c.get_attribute("id").removeprefix("card-") for c in cards} == set(expected)
        for card in cards:
            key = card.get_attribute("id").removeprefix("card-")
            assert int(card.locator(".stat").get_attribute("data-count")) == expected[key], key
        assert expected["registrations"] >= 1
        if device == "phone":
            fits(page)
        with page.expect_navigation():
            page.click("#card-registrations")
        assert f"工作台待审机构（{device}）" in page.inner_text("main")
        logout(page)
        # A reviewer of the approving department (made by the administrator): its workbench.
        create_reviewer(page, base, f"wbreviewer{device}")
        login(page, base, f"wbreviewer{device}", PASSWORD)
        assert page.url == f"{base}/workbench", page.url
        expected = api_counts(base, f"wbreviewer{device}")
        assert set(expected) == {"reviews_due"}
        card = page.locator("#wb-reviews_due")
        assert int(card.get_attribute("data-count")) == expected["reviews_due"] and card.is_visible()
        if device == "phone":
            fits(page)
        logout(page)
