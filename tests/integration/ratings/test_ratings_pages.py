"""Ratings, appeals, violations, rankings, lists and the savings report through their HTML pages."""

import json
import re
from datetime import timedelta

import pytest
from sqlmodel import select

from app.clock import SHANGHAI, utcnow
from app.i18n import catalog
from marketplace.models import Agency, Job
from ratings.models import AgencyCredit, Appeal, ListEntry, Rating, Violation
from tests.helpers import count_rows, make_agency, make_owner, make_user
from tests.integration.marketplace.test_jobs_pages import as_user, post
from tests.integration.ratings.test_ratings_api import completed_job, settle

STARS = {"quality": "5", "timeliness": "4", "fee_compliance": "5", "attitude": "3", "comment": "按期完成，质量好"}


def zh(msgid: str) -> str:
    """A message as the (default, Chinese) pages show it."""
    return catalog("zh_CN").get(msgid, msgid)


@pytest.fixture
async def world(sessionmaker):
    await make_owner(sessionmaker, "own1")
    await make_owner(sessionmaker, "own2")
    agencies = [await make_agency(sessionmaker, f"ag{i}", quals=(("EIA", 2),)) for i in range(4)]
    await make_agency(sessionmaker, "pend", status="pending")
    await make_user(sessionmaker, "reg1", "regulator")
    await make_user(sessionmaker, "admin1", "admin")
    return agencies


async def code_of(sessionmaker, username: str) -> str:
    async with sessionmaker() as s:
        return (await s.exec(select(Agency.credit_code).where(Agency.name.like(f"{username} %")))).one()


async def rated_job(client, sessionmaker) -> str:
    """A completed job (ag0 won at 70,000 of a 100,000 cap) rated through the form."""
    job_no, _h = await completed_job(client, sessionmaker)
    token = await as_user(client, "own1")
    r = await post(client, f"/owner/jobs/{job_no}/rate", token, **STARS)
    assert r.status_code == 303, r.text
    return job_no


def report_data(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S)
    assert m, "the report data is embedded in the page"
    return json.loads(m.group(1))


# ---- owner rates -------------------------------------------------------------------------

async def test_owner_rates_a_completed_job_through_the_form(client, app, sessionmaker, world):
    job_no, _h = await completed_job(client, sessionmaker)
    token = await as_user(client, "own1")
    page = await client.get(f"/owner/jobs/{job_no}/rate")
    assert page.status_code == 200 and 'id="rate-form"' in page.text and 'name="csrf_token"' in page.text
    # Bad stars and a missing comment: 400, the form again with the field marked, nothing written.
    r = await post(client, f"/owner/jobs/{job_no}/rate", token, **{**STARS, "quality": "6"})
    assert r.status_code == 400 and 'id="e-quality"' in r.text and 'id="rate-form"' in r.text
    r = await post(client, f"/owner/jobs/{job_no}/rate", token, **{**STARS, "attitude": "x"})
    assert r.status_code == 400 and 'id="e-attitude"' in r.text
    r = await post(client, f"/owner/jobs/{job_no}/rate", token, **{**STARS, "comment": "  "})
    assert r.status_code == 400 and 'id="e-comment"' in r.text
    assert await count_rows(sessionmaker, Rating) == 0
    # Another owner cannot see or rate the job; an agency may not use the owner's form.
    token2 = await as_user(client, "own2")
    assert (await client.get(f"/owner/jobs/{job_no}/rate")).status_code == 404
    assert (await post(client, f"/owner/jobs/{job_no}/rate", token2, **STARS)).status_code == 404
    token_ag = await as_user(client, "ag0")
    assert (await post(client, f"/owner/jobs/{job_no}/rate", token_ag, **STARS)).status_code == 403
    assert await count_rows(sessionmaker, Rating) == 0
    # The owner rates: 303 back to the job with a flash naming the score.
    token = await as_user(client, "own1")
    r = await post(client, f"/owner/jobs/{job_no}/rate", token, **STARS)
    assert r.status_code == 303 and r.headers["location"] == f"/owner/jobs/{job_no}"
    assert "86.25" in (await client.get(r.headers["location"])).text
    # A second rating: 409 with the message, still one rating.
    r = await post(client, f"/owner/jobs/{job_no}/rate", token, **{**STARS, "quality": "1"})
    assert r.status_code == 409 and zh("This contract has already been rated.") in r.text
    assert await count_rows(sessionmaker, Rating) == 1
    page = await client.get(f"/owner/jobs/{job_no}/rate")
    assert page.status_code == 200 and 'id="your-rating"' in page.text and 'id="rate-form"' not in page.text
    await settle(app)
    async with sessionmaker() as s:
        credit = await s.get(AgencyCredit, world[0].id)
    assert credit.rating_count == 1 and f"{credit.score:.2f}" == "81.56"


async def test_rate_page_refuses_a_job_not_completed_and_late_ratings(client, sessionmaker, world):
    job_no, _h = await completed_job(client, sessionmaker)
    async with sessionmaker() as s:
        job = (await s.exec(select(Job).where(Job.job_no == job_no))).one()
        job.completed_at = utcnow() - timedelta(days=31)
        s.add(job)
        await s.commit()
    token = await as_user(client, "own1")
    page = await client.get(f"/owner/jobs/{job_no}/rate")
    assert page.status_code == 409 and zh("The 30-day rating period has ended.") in page.text
    r = await post(client, f"/owner/jobs/{job_no}/rate", token, **STARS)
    assert r.status_code == 409 and await count_rows(sessionmaker, Rating) == 0
    assert (await client.get("/owner/jobs/NOPE-1/rate")).status_code == 404


# ---- agency appeals, regulator decides --------------------------------------------------------

async def test_agency_appeals_and_regulator_decides_through_forms(client, app, sessionmaker, world):
    job_no = await rated_job(client, sessionmaker)
    async with sessionmaker() as s:
        rid = (await s.exec(select(Rating.id))).one()
    token = await as_user(client, "ag0")
    page = await client.get("/agency/ratings")
    assert page.status_code == 200 and job_no in page.text and "86.25" in page.text and "按期完成，质量好" in page.text
    assert f'id="appeal-form-{rid}"' in page.text and 'name="csrf_token"' in page.text
    # Another agency sees nothing and cannot appeal.
    token1 = await as_user(client, "ag1")
    assert job_no not in (await client.get("/agency/ratings")).text
    assert (await post(client, f"/agency/ratings/{rid}/appeal", token1, reason="x")).status_code == 404
    token = await as_user(client, "ag0")
    r = await post(client, f"/agency/ratings/{rid}/appeal", token, reason="   ")
    assert r.status_code == 400 and f'id="appeal-form-{rid}"' in r.text
    assert await count_rows(sessionmaker, Appeal) == 0
    r = await post(client, f"/agency/ratings/{rid}/appeal", token, reason="评分与事实不符")
    assert r.status_code == 303 and r.headers["location"] == "/agency/ratings"
    page = await client.get("/agency/ratings")
    assert f'id="appeal-form-{rid}"' not in page.text and "评分与事实不符" in page.text
    r = await post(client, f"/agency/ratings/{rid}/appeal", token, reason="again")
    assert r.status_code == 409 and zh("This rating has already been appealed.") in r.text
    assert await count_rows(sessionmaker, Appeal) == 1
    async with sessionmaker() as s:
        appeal_id = (await s.exec(select(Appeal.id))).one()
    # An agency cannot decide; an admin sees the appeal without the form.
    assert (await post(client, f"/regulator/appeals/{appeal_id}/decision", token, decision="uphold",
                       reason="x")).status_code == 403
    await as_user(client, "admin1")
    page = await client.get("/regulator/appeals")
    assert page.status_code == 200 and f'id="appeal-{appeal_id}"' in page.text
    assert f'id="decision-form-{appeal_id}"' not in page.text
    token_reg = await as_user(client, "reg1")
    page = await client.get("/regulator/appeals")
    assert f'id="decision-form-{appeal_id}"' in page.text and "评分与事实不符" in page.text
    assert (await client.get("/regulator/appeals?status=bogus")).status_code == 400
    assert f'id="appeal-{appeal_id}"' not in (await client.get("/regulator/appeals?status=upheld")).text
    r = await post(client, f"/regulator/appeals/{appeal_id}/decision", token_reg, decision="maybe", reason="x")
    assert r.status_code == 400 and f'id="decision-form-{appeal_id}"' in r.text
    r = await post(client, f"/regulator/appeals/{appeal_id}/decision", token_reg, decision="uphold", reason="")
    assert r.status_code == 400
    async with sessionmaker() as s:
        assert (await s.get(Appeal, appeal_id)).status == "open"
    r = await post(client, f"/regulator/appeals/{appeal_id}/decision", token_reg, decision="uphold", reason="证据充分")
    assert r.status_code == 303 and r.headers["location"] == "/regulator/appeals"
    r = await post(client, f"/regulator/appeals/{appeal_id}/decision", token_reg, decision="dismiss", reason="x")
    assert r.status_code == 409 and zh("This appeal has already been decided.") in r.text
    assert (await post(client, "/regulator/appeals/999999/decision", token_reg, decision="dismiss",
                       reason="x")).status_code == 404
    async with sessionmaker() as s:
        assert (await s.get(Appeal, appeal_id)).status == "upheld"
        assert (await s.get(Rating, rid)).voided_at is not None
    await settle(app)
    await as_user(client, "ag0")
    page = await client.get("/agency/ratings")
    assert 'class="badge voided"' in page.text and "证据充分" in page.text
    credit = await client.get("/agency/credit")
    assert credit.status_code == 200 and '<div class="stat" id="credit-score">80.00</div>' in credit.text


async def test_appeal_form_hidden_after_15_days(client, sessionmaker, world):
    await rated_job(client, sessionmaker)
    async with sessionmaker() as s:
        rating = (await s.exec(select(Rating))).one()
        rating.rated_at = utcnow() - timedelta(days=16)
        s.add(rating)
        await s.commit()
    token = await as_user(client, "ag0")
    page = await client.get("/agency/ratings")
    assert f'id="rating-{rating.id}"' in page.text and f'id="appeal-form-{rating.id}"' not in page.text
    r = await post(client, f"/agency/ratings/{rating.id}/appeal", token, reason="late")
    assert r.status_code == 409 and zh("The 15-day appeal period has ended.") in r.text
    assert await count_rows(sessionmaker, Appeal) == 0


# ---- regulator: violations and list entries -----------------------------------------------------

async def test_regulator_records_a_violation_and_lifts_the_black_list_entry(client, app, sessionmaker, world):
    code = await code_of(sessionmaker, "ag1")
    violation = dict(agency_code=code, severity="severe", kind="collusion", description="围标",
                     evidence="调查报告 2026-11")
    # An agency may not record violations; nothing is written.
    token_ag = await as_user(client, "ag0")
    assert (await post(client, "/regulator/violations", token_ag, **violation)).status_code == 403
    assert (await client.get("/regulator/violations")).status_code == 403
    token = await as_user(client, "reg1")
    page = await client.get("/regulator/violations")
    assert page.status_code == 200 and 'id="violation-form"' in page.text
    r = await post(client, "/regulator/violations", token, **{**violation, "evidence": ""})
    assert r.status_code == 400 and 'id="e-evidence"' in r.text and 'value="collusion"' in r.text
    r = await post(client, "/regulator/violations", token, **{**violation, "severity": "tiny"})
    assert r.status_code == 400 and 'id="e-severity"' in r.text
    r = await post(client, "/regulator/violations", token, **{**violation, "agency_code": "91330000MA00000000"})
    assert r.status_code == 400 and 'id="e-agency_code"' in r.text
    assert await count_rows(sessionmaker, Violation) == 0
    r = await post(client, "/regulator/violations", token, **violation)
    assert r.status_code == 303 and r.headers["location"] == "/regulator/violations"
    await settle(app)
    async with sessionmaker() as s:
        entry = (await s.exec(select(ListEntry).where(ListEntry.kind == "black"))).one()
    lists = await client.get("/lists")
    black = lists.text.split('id="black-list"')[1]
    assert code in black and f'data-entry="{entry.id}"' in black and code not in lists.text.split('id="black-list"')[0]
    page = await client.get("/regulator/violations")
    assert f'id="lift-form-{entry.id}"' in page.text and "调查报告 2026-11" in page.text
    # Lifting needs a reason; then the entry ends and the black list is empty.
    r = await post(client, f"/regulator/list-entries/{entry.id}/lift", token, reason="")
    assert r.status_code == 400 and f'id="lift-form-{entry.id}"' in r.text
    token_ag = await as_user(client, "ag1")
    assert (await post(client, f"/regulator/list-entries/{entry.id}/lift", token_ag, reason="x")).status_code == 403
    async with sessionmaker() as s:
        assert (await s.get(ListEntry, entry.id)).lifted_at is None
    token = await as_user(client, "reg1")
    r = await post(client, f"/regulator/list-entries/{entry.id}/lift", token, reason="信用修复完成")
    assert r.status_code == 303
    await settle(app)
    async with sessionmaker() as s:
        lifted = await s.get(ListEntry, entry.id)
        assert lifted.lifted_at is not None and lifted.lift_reason == "信用修复完成"
        assert (await s.get(AgencyCredit, world[1].id)).black is False
    assert code not in (await client.get("/lists")).text
    r = await post(client, f"/regulator/list-entries/{entry.id}/lift", token, reason="again")
    assert r.status_code == 409 and zh("This entry has already ended.") in r.text
    assert (await post(client, "/regulator/list-entries/999999/lift", token, reason="x")).status_code == 404
    # The profile keeps the history: the violation and the lifted entry with its reason.
    profile = await client.get(f"/agencies/{code}/profile")
    assert profile.status_code == 200 and "信用修复完成" in profile.text
    assert "调查报告" not in profile.text  # evidence stays with the regulator


async def test_red_list_entries_are_not_lifted_by_hand(client, sessionmaker, world):
    async with sessionmaker() as s:
        entry = ListEntry(agency_id=world[2].id, kind="red", reason="score_and_record",
                          starts_at=utcnow() - timedelta(days=1))
        s.add(entry)
        await s.commit()
        entry_id = entry.id
    lists = await client.get("/lists")
    assert f'data-entry="{entry_id}"' in lists.text.split('id="red-list"')[1].split('id="black-list"')[0]
    token = await as_user(client, "reg1")
    page = await client.get("/regulator/violations")
    assert f'id="entry-{entry_id}"' in page.text and f'id="lift-form-{entry_id}"' not in page.text
    r = await post(client, f"/regulator/list-entries/{entry_id}/lift", token, reason="x")
    assert r.status_code == 409
    async with sessionmaker() as s:
        assert (await s.get(ListEntry, entry_id)).lifted_at is None


# ---- public: rankings, profile, lists --------------------------------------------------------------

async def test_rankings_page_filters_and_formula(client, sessionmaker, world):
    from ratings.services.recompute import nightly_recompute

    async with sessionmaker() as s:
        await nightly_recompute(s)
    page = await client.get("/rankings")
    assert page.status_code == 200
    codes = re.findall(r'<tr data-code="([0-9A-Z]{18})">', page.text)
    assert len(codes) == 4 and page.text.count('class="badge provisional"') >= 4
    assert f'href="/agencies/{codes[0]}/profile"' in page.text
    assert 'id="formula"' in page.text and "<code>prior_mean</code>" in page.text
    params = json.loads(re.search(r'id="credit-parameters">(.*?)</script>', page.text, re.S).group(1))
    assert params["prior_mean"] == "80.00" and params["prior_weight"] == "3.00"
    for bad in ("grade=Z", "list=purple", "category=NOPE", "q=" + "x" * 101):
        r = await client.get(f"/rankings?{bad}")
        assert r.status_code == 400 and 'id="page-error"' in r.text and 'id="formula"' in r.text, bad
    assert len(re.findall(r"<tr data-code=", (await client.get("/rankings?grade=B")).text)) == 4
    assert len(re.findall(r"<tr data-code=", (await client.get("/rankings?grade=A")).text)) == 0
    assert len(re.findall(r"<tr data-code=", (await client.get("/rankings?list=black")).text)) == 0
    assert len(re.findall(r"<tr data-code=", (await client.get("/rankings?category=EIA&q=ag2")).text)) == 1
    ag3 = await code_of(sessionmaker, "ag3")
    assert re.findall(r'<tr data-code="([0-9A-Z]{18})">', (await client.get(f"/rankings?q={ag3.lower()}")).text) == [ag3]
    assert (await client.get("/rankings?page=0")).status_code == 400


async def test_profile_shows_jobs_won_ratings_and_violations(client, app, sessionmaker, world):
    job_no = await rated_job(client, sessionmaker)
    code = await code_of(sessionmaker, "ag0")
    token = await as_user(client, "reg1")
    r = await post(client, "/regulator/violations", token, agency_code=code, severity="minor", kind="late_delivery",
                   description="逾期提交报告", evidence="监督检查记录")
    assert r.status_code == 303
    await settle(app)
    await as_user(client, None)
    page = await client.get(f"/agencies/{code}/profile")
    assert page.status_code == 200
    won = page.text.split('id="jobs-won"')[1].split("</section>")[0]
    assert f'href="/jobs/{job_no}"' in won and "¥70,000.00" in won and "¥100,000.00" in won
    summary = page.text.split('id="rating-summary"')[1].split("</section>")[0]
    assert 'data-criterion="quality">5.00<' in summary and 'data-criterion="attitude">3.00<' in summary
    violations = page.text.split('id="violations"')[1].split("</section>")[0]
    assert '<td class="num">5.00</td>' in violations and "逾期提交报告" not in violations
    # 81.5625 less the minor deduction of 5 → 76.56, still provisional (one rating).
    assert '<div class="stat" id="credit-score">76.56</div>' in page.text and 'class="badge provisional"' in page.text
    assert 'id="qualifications"' in page.text and "C-EIA-ag0" in page.text
    other = await client.get(f"/agencies/{await code_of(sessionmaker, 'ag1')}/profile")
    assert other.status_code == 200 and f'href="/jobs/{job_no}"' not in other.text
    assert (await client.get("/agencies/91330000MA00000000/profile")).status_code == 404
    assert (await client.get(f"/agencies/{await code_of(sessionmaker, 'pend')}/profile")).status_code == 404
    assert (await client.get("/agencies/" + "X" * 40 + "/profile")).status_code == 404


async def test_lists_page_is_public_and_empty_lists_say_so(client, world):
    page = await client.get("/lists")
    assert page.status_code == 200 and 'id="red-list"' in page.text and 'id="black-list"' in page.text
    assert page.text.count(zh("No agency is on this list.")) == 2


# ---- public: savings report ----------------------------------------------------------------

async def test_savings_report_page(client, sessionmaker, world):
    job_no, _h = await completed_job(client, sessionmaker)
    await as_user(client, None)
    page = await client.get("/reports/savings?group_by=method")
    assert page.status_code == 200 and 'id="baseline"' in page.text
    assert '<div class="stat" id="total-count">1</div>' in page.text
    assert '<div class="stat" id="total-saved">¥30,000.00</div>' in page.text
    assert '<div class="stat" id="savings-rate">30.00%</div>' in page.text
    assert '<tr data-group="lowest">' in page.text and '<script src="/static/charts.js" defer></script>' in page.text
    data = report_data(page.text)
    assert data["report"]["baseline"] == "cap" and data["report"]["overall"]["total_saved"] == "30000.00"
    assert data["report"]["groups"]["lowest"]["savings_rate"] == "0.3000"
    assert [(b["value"], b["text"]) for b in data["charts"]["rate"]["bars"]] == [(30.0, "30.00%")]
    method_bars = {b["value"] for b in data["charts"]["methods"]["bars"]}
    assert len(data["charts"]["methods"]["bars"]) == 6 and method_bars == {0, 1}
    assert 'href="/api/reports/savings.csv?group_by=method"' in page.text
    assert 'href="/api/reports/savings.xlsx?group_by=method"' in page.text
    csv_r = await client.get("/api/reports/savings.csv?group_by=method")
    assert csv_r.status_code == 200 and "30000.00" in csv_r.content.decode("utf-8-sig")
    # Filters carry into the export links; a period without awards shows zero.
    today = utcnow().astimezone(SHANGHAI).date()
    page = await client.get(f"/reports/savings?date_from={today}&date_to={today}&category=EIA&method=lowest")
    assert page.status_code == 200 and '<div class="stat" id="total-count">1</div>' in page.text
    assert f'savings.csv?date_from={today}&amp;date_to={today}&amp;category=EIA&amp;method=lowest"' in page.text
    page = await client.get(f"/reports/savings?date_to={today - timedelta(days=1)}")
    assert page.status_code == 200 and '<div class="stat" id="total-count">0</div>' in page.text
    assert report_data(page.text)["charts"]["rate"]["bars"] == []
    async with sessionmaker() as s:
        from marketplace.models import Owner
        owner_code = (await s.exec(select(Owner.credit_code).where(Owner.name.like("own1 %")))).one()
    page = await client.get(f"/reports/savings?owner={owner_code.lower()}&group_by=owner")
    assert page.status_code == 200 and f'<tr data-group="{owner_code}">' in page.text
    page = await client.get("/reports/savings?group_by=month")
    assert f'<tr data-group="{today:%Y-%m}">' in page.text
    # Reversed dates and unknown values: 400 with the message, the filter form kept.
    r = await client.get("/reports/savings?date_from=2026-12-01&date_to=2026-11-01")
    assert r.status_code == 400 and zh("The end date is before the start date.") in r.text
    assert 'id="page-error"' in r.text and 'value="2026-12-01"' in r.text and 'id="report-data"' not in r.text
    for bad in ("date_from=2026-13-01", "method=bogus", "category=NOPE", "group_by=bogus",
                "owner=91330000MA00000000", "district=Atlantis"):
        r = await client.get(f"/reports/savings?{bad}")
        assert r.status_code == 400 and 'id="page-error"' in r.text, bad
    assert job_no


async def test_charts_script_is_served_locally(client):
    r = await client.get("/static/charts.js")
    assert r.status_code == 200 and "report-data" in r.text and "http://www.w3.org/2000/svg" in r.text
    assert "cdn" not in r.text.lower()


# ---- access -----------------------------------------------------------------------------------

async def test_pages_check_roles(client, sessionmaker, world):
    await as_user(client, None)
    for path in ("/rankings", "/lists", "/reports/savings", "/static/charts.js"):
        assert (await client.get(path)).status_code == 200, path
    for path in ("/agency/ratings", "/agency/credit", "/regulator/appeals", "/regulator/violations", "/owner/jobs/X/rate"):
        r = await client.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
    await as_user(client, "own1")
    for path in ("/agency/ratings", "/agency/credit", "/regulator/appeals", "/regulator/violations"):
        assert (await client.get(path)).status_code == 403, path
    token = await as_user(client, "ag0")
    assert (await client.get("/owner/jobs/X/rate")).status_code == 403
    assert (await post(client, "/regulator/appeals/1/decision", token, decision="dismiss", reason="x")).status_code == 403
    assert (await client.get("/agency/credit")).status_code == 200
    # The CSRF token is required on every form.
    r = await client.post("/agency/ratings/1/appeal", data={"reason": "x"})
    assert r.status_code == 403 and await count_rows(sessionmaker, Appeal) == 0
    token = await as_user(client, "admin1")
    assert (await client.get("/regulator/violations")).status_code == 200
    r = await post(client, "/regulator/violations", token, agency_code=world[0].credit_code, severity="minor",
                   kind="x", description="x", evidence="x")
    assert r.status_code == 403 and await count_rows(sessionmaker, Violation) == 0


async def test_navigation_links(client, world):
    html = (await client.get("/")).text
    for href in ("/rankings", "/lists", "/reports/savings"):
        assert f'href="{href}"' in html
    await as_user(client, "reg1")
    html = (await client.get("/")).text
    assert 'href="/regulator/appeals"' in html and 'href="/regulator/violations"' in html
