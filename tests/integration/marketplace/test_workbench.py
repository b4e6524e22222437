"""The workbench (工作台): per role, what waits, each count equal to the number of items its link lists; the
login lands there; the header's unread-notifications badge."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import update
from sqlmodel import col, func, select

from app.clock import utcnow
from app.models import Notification, User
from marketplace.models import Job
from tests.helpers import (
    RESULT_PDF,
    SIGNED_PDF,
    csrf,
    finish_service,
    login,
    make_agency,
    make_owner,
)
from tests.integration.marketplace.test_jobs_api import (  # noqa: F401 (world is a fixture)
    as_user,
    end_publicity,
    job_body,
    pass_deadline,
    published_job,
    quote_all,
    world,
)

PDF = {"file": ("signed.pdf", SIGNED_PDF, "application/pdf")}
pytestmark = pytest.mark.usefixtures("world")  # own1, own2, ag0–ag3 (EIA), nosurvey, reg1, admin1
RESULT = [("file", ("result.pdf", RESULT_PDF, "application/pdf"))]
STARS = {"quality": 5, "timeliness": 4, "fee_compliance": 5, "attitude": 4, "comment": "按期完成"}


def listed(html: str) -> int:
    """Rows of the first table body of a page (the empty-state row, spanning the columns, is not an item)."""
    if "<tbody>" not in html:
        return 0
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return sum(1 for row in re.findall(r"<tr[ >].*?</tr>", body, re.DOTALL) if "colspan" not in row)


async def workbench(client, who: str) -> dict[str, dict]:
    client.cookies.clear()
    await login(client, who)
    r = await client.get("/api/workbench")
    assert r.status_code == 200, r.text
    return {item["key"]: item for item in r.json()["items"]}


async def expect(client, who: str, **counts: int) -> dict[str, dict]:
    """`who`'s workbench shows these counts (API and page), and each card's link lists that many items."""
    items = await workbench(client, who)
    page = await client.get("/workbench")
    assert page.status_code == 200
    for key, n in counts.items():
        assert items[key]["count"] == n, (who, key, items[key])
        assert re.search(rf'id="wb-{key}" href="[^"]+" data-count="{n}"', page.text), (who, key)
        target = await client.get(items[key]["href"])
        assert target.status_code == 200, (who, key, items[key]["href"])
        assert listed(target.text) == n, (who, key, items[key]["href"])
    return items


async def test_anonymous_is_sent_to_log_in(client):
    r = await client.get("/workbench")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/workbench")
    assert (await client.get("/api/workbench")).status_code == 401
    assert (await client.get("/workbench/drafts")).status_code == 303


async def test_the_page_login_lands_on_the_workbench_unless_next_says_otherwise(client):
    assert 'name="next" value="/workbench"' in (await client.get("/login")).text
    token = await csrf(client)
    r = await client.post("/login", data={"username": "own1", "password": "correct-horse-battery-9",
                                          "csrf_token": token})
    assert r.status_code == 303 and r.headers["location"] == "/workbench"
    page = await client.get("/workbench")
    assert page.status_code == 200 and 'id="workbench"' in page.text and 'id="nav-workbench"' in page.text
    client.cookies.clear()
    token = await csrf(client)
    r = await client.post("/login", data={"username": "ag0", "password": "correct-horse-battery-9",
                                          "csrf_token": token, "next": "/agency/quotes"})
    assert r.headers["location"] == "/agency/quotes"


async def test_owner_and_agency_see_what_waits_through_a_job_s_life(client, sessionmaker):
    h = await as_user(client, "own1")
    for _ in range(2):
        assert (await client.post("/api/owner/jobs", json=job_body(), headers=h)).status_code == 201
    open_no = await published_job(client)  # stays open for quotes
    await quote_all(client, open_no)
    direct_no = await published_job(client, method="direct", budget_cap="90000.00", state_funded=False)
    await quote_all(client, direct_no, ["88000.00", "87000.00"])
    low_no = await published_job(client, method="lowest")  # ag0's price is abnormally low and wins
    await quote_all(client, low_no, ["30000.00", "80000.00", "82000.00", "84000.00"])
    for job_no in (direct_no, low_no):
        await pass_deadline(sessionmaker, job_no)
        r = await client.post(f"/api/regulator/jobs/{job_no}/select", headers=await as_user(client, "reg1"))
        assert r.status_code == 200, r.text

    await expect(client, "own1", drafts=2, awaiting_choice=1, awaiting_beacon=0, justifications_to_decide=0,
                 contracts_to_upload=0, results_to_confirm=0, ratings_due=0, objections=0)
    await expect(client, "ag0", open_calls=1, live_quotes=1, awards=1, justifications_to_write=1,
                 contracts_to_confirm=0, service_deadlines=0, results_returned=0, appeals=0)
    await expect(client, "nosurvey", open_calls=0, live_quotes=0, awards=0)
    # Another owner sees none of own1's jobs.
    await expect(client, "own2", drafts=0, awaiting_choice=0, objections=0)

    # A bidder objects; the winner justifies its price.
    r = await client.post(f"/api/jobs/{low_no}/objections", json={"reason": "中选人报价过低"},
                          headers=await as_user(client, "ag1"))
    assert r.status_code == 201
    objection_id = r.json()["id"]
    r = await client.post(f"/api/jobs/{low_no}/justification", json={"reason": "自有设备，成本较低"},
                          headers=await as_user(client, "ag0"))
    assert r.status_code == 200
    await expect(client, "own1", objections=1, justifications_to_decide=1)
    await expect(client, "ag0", justifications_to_write=0)

    # The owner accepts, the publicity ends: the contract waits while the objection is open, then is due.
    h = await as_user(client, "own1")
    r = await client.post(f"/api/owner/jobs/{low_no}/justification-decision", json={"decision": "accept"}, headers=h)
    assert r.status_code == 200
    await end_publicity(sessionmaker, low_no)
    await expect(client, "own1", justifications_to_decide=0, contracts_to_upload=0)
    r = await client.post(f"/api/regulator/objections/{objection_id}/decision",
                          json={"decision": "dismiss", "reason": "不属实"}, headers=await as_user(client, "reg1"))
    assert r.status_code == 200
    await expect(client, "own1", objections=0, contracts_to_upload=1)

    # The owner uploads the signed contract: the agency confirms it; then the timer runs.
    h = await as_user(client, "own1")
    assert (await client.post(f"/api/owner/jobs/{low_no}/contract", headers=h, files=PDF)).status_code == 201
    await expect(client, "own1", contracts_to_upload=0)
    await expect(client, "ag0", contracts_to_confirm=1, awards=1)
    assert (await client.post(f"/api/jobs/{low_no}/contract/confirm",
                              headers=await as_user(client, "ag0"))).status_code == 200
    await expect(client, "ag0", contracts_to_confirm=0, awards=0, service_deadlines=1)
    r = await client.post(f"/api/jobs/{low_no}/extensions", json={"days": 5, "reason": "等待业主资料"},
                          headers=await as_user(client, "ag0"))
    assert r.status_code == 201
    await expect(client, "own1", extensions_to_decide=1)

    # The result: submitted, returned, resubmitted and confirmed; then rated and appealed.
    r = await client.post(f"/api/jobs/{low_no}/results", headers=await as_user(client, "ag0"), files=RESULT,
                          data={"note": "成果报告"})
    assert r.status_code == 201, r.text
    await expect(client, "own1", results_to_confirm=1)
    await expect(client, "ag0", service_deadlines=0)
    r = await client.post(f"/api/owner/jobs/{low_no}/result/return", json={"reason": "缺少附图"},
                          headers=await as_user(client, "own1"))
    assert r.status_code == 200
    await expect(client, "own1", results_to_confirm=0)
    await expect(client, "ag0", results_returned=1)
    h = await finish_service(client, sessionmaker, low_no, "own1")
    await expect(client, "own1", ratings_due=1, results_to_confirm=0)
    items = await expect(client, "ag0", results_returned=0)
    assert items["appeals"]["count"] == 0
    h = await as_user(client, "own1")
    assert (await client.post(f"/api/owner/jobs/{low_no}/rating", json=STARS, headers=h)).status_code == 201
    await expect(client, "own1", ratings_due=0)
    h = await as_user(client, "ag0")
    rating_id = (await client.get("/api/agency/ratings", headers=h)).json()[0]["id"]
    r = await client.post(f"/api/agency/ratings/{rating_id}/appeal", json={"reason": "评分与事实不符"}, headers=h)
    assert r.status_code == 201, r.text
    await expect(client, "ag0", appeals=1)

    # The urgent items are summed in the API and named on the page.
    client.cookies.clear()
    await login(client, "own1")
    body = (await client.get("/api/workbench")).json()
    assert body["role"] == "owner" and body["waiting"] == sum(i["count"] for i in body["items"] if i["urgent"])
    assert {"key", "label", "count", "href", "urgent"} <= set(body["items"][0])


async def test_a_card_of_another_role_or_unknown_is_404_and_a_card_listed_elsewhere_redirects(client):
    client.cookies.clear()
    await login(client, "own1")
    assert (await client.get("/workbench/open_calls")).status_code == 404
    assert (await client.get("/workbench/nonsense")).status_code == 404
    r = await client.get("/workbench/drafts")
    assert r.status_code == 303 and r.headers["location"] == "/owner/jobs?status=draft"
    page = await client.get("/workbench/awaiting_choice")
    assert page.status_code == 200 and 'id="workbench-empty"' in page.text


async def test_admin_workbench_counts_registrations_and_key_holders(client, sessionmaker):
    await make_agency(sessionmaker, "newagency", status="pending")
    await make_owner(sessionmaker, "newowner1", status="pending")
    await make_owner(sessionmaker, "newowner2", status="pending")
    items = await expect(client, "admin1", agency_registrations=1, owner_registrations=2, qualifications=0,
                         key_holders=0)
    assert items["agency_registrations"]["urgent"] and not items["key_holders"]["urgent"]


async def test_the_regulator_s_workbench_is_its_dashboard(client):
    client.cookies.clear()
    await login(client, "reg1")
    r = await client.get("/workbench")
    assert r.status_code == 303 and r.headers["location"] == "/regulator"
    body = (await client.get("/api/workbench")).json()
    assert body["role"] == "regulator"
    assert {"due", "objections", "appeals", "registrations"} <= {i["key"] for i in body["items"]}


def badge(html: str) -> tuple[int, str] | None:
    m = re.search(r'<a href="/account" class="unread-badge" id="unread-badge" aria-label="([^"]+)"[^>]*>(\d+)</a>',
                  html)
    return (int(m.group(2)), m.group(1)) if m else None


async def test_the_unread_badge_counts_the_user_s_unread_notifications_until_the_inbox_is_seen(
        client, sessionmaker):
    async with sessionmaker() as s:
        # The registrations' approvals were notified: read, so the counts below start from none.
        await s.exec(update(Notification).values(read_at=utcnow()))
        users = {u.username: u.id for u in (await s.exec(User.__table__.select())).all()}
        for _ in range(3):
            s.add(Notification(user_id=users["own1"], kind="contract.confirmed", data={"job": "X"}))
        s.add(Notification(user_id=users["own2"], kind="contract.confirmed", data={"job": "X"}))
        await s.commit()
    # Visitors see no badge, and the pages work.
    for path in ("/", "/jobs", "/login"):
        r = await client.get(path)
        assert r.status_code == 200 and 'id="unread-badge"' not in r.text, path
    client.cookies.clear()
    await login(client, "own1")
    for path in ("/", "/jobs", "/workbench", "/owner/jobs"):
        got = badge((await client.get(path)).text)
        assert got is not None and got[0] == 3 and "3" in got[1], path
    # Seeing the inbox reads them: the badge goes on that page and after it; others' stay unread.
    account = await client.get("/account")
    assert account.status_code == 200 and badge(account.text) is None
    assert badge((await client.get("/jobs")).text) is None
    client.cookies.clear()
    await login(client, "own2")
    assert badge((await client.get("/jobs")).text)[0] == 1
    async with sessionmaker() as s:
        unread = (await s.exec(select(func.count()).select_from(Notification)
                               .where(col(Notification.read_at).is_(None)))).one()
    assert unread == 1
    # Jobs are untouched by any of this.
    async with sessionmaker() as s:
        assert (await s.exec(Job.__table__.select())).all() == []
