"""Reviews by approving departments (审批部门) over HTTP: accounts, the reviewer's flow per role and every bad
input, the service score in the credit API, appeals of reviews, the files a reviewer may see, the pages."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from sqlalchemy import update
from sqlmodel import select

from app.clock import ensure_aware, utcnow
from app.models import AuditEvent, User
from marketplace.catalogue_models import Department, ServiceItem
from marketplace.models import Job
from ratings.domain.credit import credit_score
from ratings.models import AgencyCredit, Appeal, Rating, Review
from tests.helpers import complete_service, count_rows, login, make_agency, make_owner, make_user
from tests.integration.marketplace.test_jobs_api import as_user, end_publicity, pass_deadline, published_job
from tests.integration.ratings.test_ratings_api import completed_job

STARS = {"quality": 5, "timeliness": 4, "fee_compliance": 5, "attitude": 3, "comment": "按期完成"}  # 86.25
REVIEW = {"result_quality": 4, "compliance": 3, "comment": "成果符合审批要求"}  # (2.4 + 1.2 − 1) / 4 × 100 = 65


async def settle(app):
    """Let queued recompute jobs finish (in-process), or run them inline as a worker would (arq)."""
    queue = app.state.queue
    if hasattr(queue, "drain"):
        await queue.drain()
        return
    from app.tasks import REGISTRY
    async with app.state.sessionmaker() as s:
        ids = set((await s.exec(select(Rating.agency_id))).all()) | set((await s.exec(select(Review.agency_id))).all())
    for agency_id in ids:
        await REGISTRY["recompute_credit"]({"sessionmaker": app.state.sessionmaker}, agency_id)


async def make_reviewer(sessionmaker, username: str, department_code: str):
    async with sessionmaker() as s:
        dept = (await s.exec(select(Department).where(Department.code == department_code))).one()
    user = await make_user(sessionmaker, username, "reviewer")
    async with sessionmaker() as s:
        await s.exec(update(User).where(User.id == user.id).values(department_id=dept.id))
        await s.commit()
    return user


async def set_item(sessionmaker, job_no: str, item_code: str = "EIA-01") -> None:
    async with sessionmaker() as s:
        item = (await s.exec(select(ServiceItem).where(ServiceItem.code == item_code))).one()
        await s.exec(update(Job).where(Job.job_no == job_no).values(item_id=item.id))
        await s.commit()


@pytest.fixture
async def world(sessionmaker):
    await make_owner(sessionmaker, "own1")
    await make_owner(sessionmaker, "own2")
    for i in range(4):
        await make_agency(sessionmaker, f"ag{i}", quals=(("EIA", 2),))
    await make_user(sessionmaker, "reg1", "regulator")
    await make_user(sessionmaker, "admin1", "admin")
    await make_reviewer(sessionmaker, "rev_eco", "ECO")
    await make_reviewer(sessionmaker, "rev_nrp", "NRP")


async def reviewed_world_job(client, sessionmaker):
    job_no, _h = await completed_job(client, sessionmaker)
    await set_item(sessionmaker, job_no, "EIA-01")  # 生态环境局 (ECO)
    return job_no


async def winner_code(client, job_no):
    return (await client.get(f"/api/jobs/{job_no}")).json()["result"]["winner_agency_code"]


async def snapshot(sessionmaker):
    return [await count_rows(sessionmaker, m) for m in (Review, AuditEvent, Appeal)]


# ---- accounts --------------------------------------------------------------------------------------

async def test_admins_create_reviewer_accounts_of_a_department(client, sessionmaker, world):
    body = {"username": "rev_water", "password": "another-good-pass-7", "display_name": "水利局 审查员",
            "department_code": "water"}
    for who in ("own1", "ag0", "reg1", "rev_eco"):
        r = await client.post("/api/admin/reviewers", json=body, headers=await as_user(client, who))
        assert r.status_code == 403, (who, r.status_code)
    h = await as_user(client, "admin1")
    r = await client.post("/api/admin/reviewers", json={**body, "department_code": "NOPE"}, headers=h)
    assert r.status_code == 400 and r.json()["fields"]["department_code"]
    r = await client.post("/api/admin/reviewers", json={**body, "password": "short"}, headers=h)
    assert r.status_code == 400 and r.json()["fields"]["password"]
    r = await client.post("/api/admin/reviewers", json=body, headers=h)
    assert r.status_code == 201 and r.json() == {"id": r.json()["id"], "username": "rev_water", "role": "reviewer",
                                                 "department": "WATER"}
    assert (await client.post("/api/admin/reviewers", json=body, headers=h)).status_code == 409
    async with sessionmaker() as s:
        user = (await s.exec(select(User).where(User.username == "rev_water"))).one()
        dept = await s.get(Department, user.department_id)
        event = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "account.reviewer_created"))).one()
    assert dept.code == "WATER" and user.role == "reviewer" and event.data["department"] == "WATER"
    page = await client.get("/admin/reviewers")
    assert page.status_code == 200 and "rev_water" in page.text and "水利局" in page.text
    # The form: a bad department shows the form again with the message; a good one redirects.
    token = h["x-csrf-token"]
    r = await client.post("/admin/reviewers", data={**body, "username": "rev_w2", "department_code": "",
                                                     "csrf_token": token})
    assert r.status_code == 400 and 'id="reviewer-form"' in r.text
    r = await client.post("/admin/reviewers", data={**body, "username": "rev_w2", "csrf_token": token})
    assert r.status_code == 303
    # The new reviewer signs in and lands on its (empty) list.
    client.cookies.clear()
    await login(client, "rev_w2", body["password"])
    assert (await client.get("/reviewer")).status_code == 200


# ---- the reviewer's flow and bad input ---------------------------------------------------------------

async def test_reviewer_reviews_a_completed_job_of_its_department(client, app, sessionmaker, world):
    job_no = await reviewed_world_job(client, sessionmaker)
    url = f"/api/reviewer/jobs/{job_no}/review"
    # The department's reviewer sees the job waiting; another department's does not.
    await as_user(client, "rev_eco")
    queue = (await client.get("/api/reviewer/jobs")).json()
    assert [q["job_id"] for q in queue] == [job_no] and queue[0]["can_review"] and queue[0]["item_code"] == "EIA-01"
    work = (await client.get("/api/workbench")).json()
    assert work["role"] == "reviewer" and next(i for i in work["items"] if i["key"] == "reviews_due")["count"] == 1
    await as_user(client, "rev_nrp")
    assert (await client.get("/api/reviewer/jobs")).json() == []
    before = await snapshot(sessionmaker)
    # Every other role, and the other department, is refused; nothing is written.
    r = await client.post(url, json=REVIEW, headers=await as_user(client, "rev_nrp"))
    assert r.status_code == 403 and r.json()["error"]
    for who in ("own1", "ag0", "reg1", "admin1"):
        r = await client.post(url, json=REVIEW, headers=await as_user(client, who))
        assert r.status_code == 403, (who, r.status_code)
    client.cookies.clear()
    token = (await client.get("/api/csrf")).json()["csrf_token"]
    assert (await client.post(url, json=REVIEW, headers={"x-csrf-token": token})).status_code == 401
    # Values outside 1..5, a missing comment, wrong types: 400 with the field named.
    h = await as_user(client, "rev_eco")
    for bad, field in (({**REVIEW, "result_quality": 0}, "result_quality"), ({**REVIEW, "compliance": 6}, "compliance"),
                       ({**REVIEW, "comment": ""}, "comment"), ({**REVIEW, "result_quality": "x"}, "result_quality"),
                       ({"comment": "c"}, "result_quality")):
        r = await client.post(url, json=bad, headers=h)
        assert r.status_code == 400 and field in r.json()["fields"], (bad, r.text)
    assert (await client.post("/api/reviewer/jobs/J2099-99999/review", json=REVIEW, headers=h)).status_code == 404
    assert await snapshot(sessionmaker) == before
    # The review: 65.00, once.
    r = await client.post(url, json=REVIEW, headers=h)
    assert r.status_code == 201 and r.json()["score"] == "65.00"
    r = await client.post(url, json=REVIEW, headers=h)
    assert r.status_code == 409 and r.json()["error"]
    assert await count_rows(sessionmaker, Review) == 1
    async with sessionmaker() as s:
        review = (await s.exec(select(Review))).one()
        dept = await s.get(Department, review.department_id)
        event = (await s.exec(select(AuditEvent).where(AuditEvent.kind == "review.recorded"))).one()
    assert dept.code == "ECO" and review.result_quality == 4 and review.compliance == 3 and event.data["score"] == "65.00"
    # The queue no longer lists it as waiting; "all" still shows it with its score.
    assert (await client.get("/api/reviewer/jobs")).json() == []
    everything = (await client.get("/api/reviewer/jobs?show=all")).json()
    assert everything[0]["review_score"] == "65.00" and not everything[0]["can_review"]
    assert (await client.get("/api/reviewer/jobs?show=bogus")).status_code == 400
    # The public sees the review on the job: department, not the reviewer.
    client.cookies.clear()
    shown = (await client.get(f"/api/jobs/{job_no}/review")).json()
    assert shown["department"] == "ECO" and shown["score"] == "65.00" and "rev_eco" not in str(shown)
    await settle(app)


async def test_review_window_and_state(client, sessionmaker, world):
    job_no = await reviewed_world_job(client, sessionmaker)
    async with sessionmaker() as s:
        await s.exec(update(Job).where(Job.job_no == job_no).values(completed_at=utcnow() - timedelta(days=30, minutes=1)))
        await s.commit()
    h = await as_user(client, "rev_eco")
    r = await client.post(f"/api/reviewer/jobs/{job_no}/review", json=REVIEW, headers=h)
    assert r.status_code == 409 and "30" in r.json()["error"]
    assert (await client.get("/api/reviewer/jobs")).json() == []  # out of time: not waiting
    page = await client.get(f"/reviewer/jobs/{job_no}/review")
    assert page.status_code == 409 and 'id="blocked"' in page.text and 'id="review-form"' not in page.text
    # Just inside the window it may be reviewed.
    async with sessionmaker() as s:
        await s.exec(update(Job).where(Job.job_no == job_no).values(completed_at=utcnow() - timedelta(days=29, hours=23)))
        await s.commit()
    assert (await client.post(f"/api/reviewer/jobs/{job_no}/review", json=REVIEW, headers=h)).status_code == 201
    # A job of the department that is not completed yet cannot be reviewed.
    other = await published_job(client)
    await set_item(sessionmaker, other)
    h = await as_user(client, "rev_eco")
    r = await client.post(f"/api/reviewer/jobs/{other}/review", json=REVIEW, headers=h)
    assert r.status_code == 409 and await count_rows(sessionmaker, Review) == 1


# ---- the service score in the credit ---------------------------------------------------------------

async def test_credit_api_publishes_every_service_score_with_its_parts(client, app, sessionmaker, world):
    job_no = await reviewed_world_job(client, sessionmaker)
    h = await as_user(client, "own1")
    assert (await client.post(f"/api/owner/jobs/{job_no}/rating", json=STARS, headers=h)).status_code == 201
    await settle(app)
    code = await winner_code(client, job_no)
    credit = (await client.get(f"/api/agencies/{code}/credit")).json()
    assert credit["score"] == "81.56"  # the owner's rating alone, as before
    h = await as_user(client, "rev_eco")
    assert (await client.post(f"/api/reviewer/jobs/{job_no}/review", json=REVIEW, headers=h)).status_code == 201
    await settle(app)
    credit = (await client.get(f"/api/agencies/{code}/credit")).json()
    [row] = credit["ratings"]
    assert row["job_id"] == job_no and row["owner_score"] == "86.25" and row["review_score"] == "65.00"
    assert (row["owner_weight"], row["review_weight"]) == (70, 30) and row["department"] == "ECO"
    # (70 × 86.25 + 30 × 65) / 100 = 79.875 → 79.88, dated by the owner's rating.
    assert row["score"] == "79.88" and row["rated_at"] == row["owner_rated_at"]
    assert credit["parameters"]["owner_weight"] == 70 and credit["parameters"]["review_weight"] == 30
    assert "Service score" in credit["formula"]
    # (3 × 80 + 79.88) / 4 = 79.97
    assert credit["score"] == "79.97" and credit["rating_count"] == 1
    # A second job of the same agency reviewed but not rated: the review alone, dated by the review.
    job2 = await second_job_won_by(client, sessionmaker, code)
    h = await as_user(client, "rev_eco")
    r = await client.post(f"/api/reviewer/jobs/{job2}/review", json={**REVIEW, "result_quality": 2, "compliance": 2},
                          headers=h)
    assert r.status_code == 201 and r.json()["score"] == "25.00"
    await settle(app)
    credit = (await client.get(f"/api/agencies/{code}/credit")).json()
    only = next(x for x in credit["ratings"] if x["job_id"] == job2)
    assert only["owner_score"] is None and only["score"] == "25.00" and only["rated_at"] == only["reviewed_at"]
    assert credit["rating_count"] == 2
    # Anyone re-derives the published score from the published inputs.
    await assert_rederived(client, code)


async def assert_rederived(client, code):
    from datetime import datetime

    from ratings.domain.credit import CreditParams
    from ratings.domain.service_score import combine

    credit = (await client.get(f"/api/agencies/{code}/credit")).json()
    p = CreditParams.from_json({k: v for k, v in credit["parameters"].items()})
    services = []
    for row in credit["ratings"]:
        o, v = row["owner_score"], row["review_score"]
        s = combine(D(o), D(v), row["owner_weight"], row["review_weight"]) if o and v else D(o or v)
        assert f"{s:.2f}" == row["score"]
        services.append((s, datetime.fromisoformat(row["rated_at"])))
    violations = [(v["severity"], datetime.fromisoformat(v["occurred_at"]))
                  for v in credit["violations"]]
    at = datetime.fromisoformat(credit["computed_at"])
    assert f"{credit_score(services, violations, at, p):.2f}" == credit["score"]
    # And the outside re-derivation (standard library only) agrees.
    from scripts.verify_credit import verify
    assert verify(credit) == []
    assert verify({**credit, "score": "1.00"}) and verify({**credit, "ratings": [{**credit["ratings"][0], "score": "1.00"}]})


async def second_job_won_by(client, sessionmaker, code) -> str:
    """Another completed ECO job, won by the agency with this code (it quotes lowest)."""
    job_no = await published_job(client, method="lowest")
    async with sessionmaker() as s:
        from marketplace.models import Agency
        winner = (await s.exec(select(User.username).join(Agency, Agency.id == User.agency_id)
                               .where(Agency.credit_code == code))).first()
    others = [f"ag{i}" for i in range(4) if f"ag{i}" != winner][:2]
    for who, price in ((winner, "60000.00"), (others[0], "70000.00"), (others[1], "80000.00")):
        r = await client.post(f"/api/jobs/{job_no}/quote", json={"price": price, "service_days": 40},
                              headers=await as_user(client, who))
        assert r.status_code == 201, r.text
    await pass_deadline(sessionmaker, job_no)
    await client.post(f"/api/regulator/jobs/{job_no}/select", headers=await as_user(client, "reg1"))
    await end_publicity(sessionmaker, job_no)
    await complete_service(client, sessionmaker, job_no, "own1")
    await set_item(sessionmaker, job_no)
    return job_no


async def test_credit_at_a_moment_counts_the_reviews_given_by_then(client, app, sessionmaker, world):
    from ratings.services.standing import credit_at

    job_no = await reviewed_world_job(client, sessionmaker)
    await client.post(f"/api/owner/jobs/{job_no}/rating", json=STARS, headers=await as_user(client, "own1"))
    before_review = utcnow()
    h = await as_user(client, "rev_eco")
    assert (await client.post(f"/api/reviewer/jobs/{job_no}/review", json=REVIEW, headers=h)).status_code == 201
    async with sessionmaker() as s:
        review = (await s.exec(select(Review))).one()
        rating = (await s.exec(select(Rating))).one()
        at = ensure_aware(review.reviewed_at) + timedelta(seconds=1)
        scores = await credit_at(s, [review.agency_id], at)
        earlier = await credit_at(s, [review.agency_id], before_review)
    assert scores[review.agency_id] == credit_score([(D("79.88"), ensure_aware(rating.rated_at))], [], at)
    assert earlier[review.agency_id] == credit_score([(D("86.25"), ensure_aware(rating.rated_at))], [], before_review)


async def test_weights_are_admin_parameters_and_a_change_recomputes(client, app, sessionmaker, world):
    job_no = await reviewed_world_job(client, sessionmaker)
    await client.post(f"/api/owner/jobs/{job_no}/rating", json=STARS, headers=await as_user(client, "own1"))
    await client.post(f"/api/reviewer/jobs/{job_no}/review", json=REVIEW, headers=await as_user(client, "rev_eco"))
    await settle(app)
    code = await winner_code(client, job_no)
    h = await as_user(client, "admin1")
    # Weights that do not add up to 100 are refused, nothing changes.
    r = await client.put("/api/admin/parameters", json={"owner_weight": 60}, headers=h)
    assert r.status_code == 400 and "owner_weight" in r.json()["fields"]
    r = await client.put("/api/admin/parameters", json={"owner_weight": 101, "review_weight": -1}, headers=h)
    assert r.status_code == 400
    r = await client.put("/api/admin/parameters", json={"owner_weight": 50, "review_weight": 50}, headers=h)
    assert r.status_code == 200 and r.json()["credit"]["owner_weight"] == 50
    await settle(app)
    from app.tasks import REGISTRY
    await REGISTRY["recompute_all_credit"]({"sessionmaker": app.state.sessionmaker})
    credit = (await client.get(f"/api/agencies/{code}/credit")).json()
    # (50 × 86.25 + 50 × 65) / 100 = 75.625 → 75.63; (240 + 75.63) / 4 = 78.9075 → 78.91
    assert credit["ratings"][0]["score"] == "75.63" and credit["score"] == "78.91"
    assert credit["ratings"][0]["owner_weight"] == 50
    page = await client.get("/admin/parameters")
    assert 'name="owner_weight"' in page.text and 'name="review_weight"' in page.text
    rankings = (await client.get("/rankings")).text
    assert "50" in rankings


# ---- appeals of reviews ---------------------------------------------------------------------------

async def test_agency_appeals_a_review_and_the_regulator_upholds_it(client, app, sessionmaker, world):
    job_no = await reviewed_world_job(client, sessionmaker)
    await client.post(f"/api/owner/jobs/{job_no}/rating", json=STARS, headers=await as_user(client, "own1"))
    await client.post(f"/api/reviewer/jobs/{job_no}/review", json=REVIEW, headers=await as_user(client, "rev_eco"))
    await settle(app)
    code = await winner_code(client, job_no)
    assert (await client.get(f"/api/agencies/{code}/credit")).json()["score"] == "79.97"
    h = await as_user(client, "ag0")
    mine = (await client.get("/api/agency/reviews")).json()
    assert len(mine) == 1 and mine[0]["department"] == "ECO" and mine[0]["score"] == "65.00"
    review_id = mine[0]["id"]
    url = f"/api/agency/reviews/{review_id}/appeal"
    assert (await client.post(url, json={"reason": "x"}, headers=await as_user(client, "ag1"))).status_code == 404
    assert (await client.post(url, json={"reason": "x"}, headers=await as_user(client, "rev_eco"))).status_code == 403
    h = await as_user(client, "ag0")
    assert (await client.post(url, json={"reason": ""}, headers=h)).status_code == 400
    r = await client.post(url, json={"reason": "审查意见与事实不符"}, headers=h)
    assert r.status_code == 201 and r.json()["status"] == "open"
    assert (await client.post(url, json={"reason": "again"}, headers=h)).status_code == 409
    work = (await client.get("/api/workbench")).json()
    assert next(i for i in work["items"] if i["key"] == "appeals")["count"] == 1
    h = await as_user(client, "reg1")
    queue = (await client.get("/api/regulator/appeals")).json()
    assert queue[0]["review_id"] == review_id and queue[0]["rating_id"] is None
    page = await client.get("/regulator/appeals")
    assert page.status_code == 200 and "65.00" in page.text and "生态环境局" in page.text
    r = await client.post(f"/api/regulator/appeals/{queue[0]['id']}/decision",
                          json={"decision": "uphold", "reason": "审查依据不足"}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "upheld"
    await settle(app)
    async with sessionmaker() as s:
        review = await s.get(Review, review_id)
    assert review.voided_at is not None and review.void_reason == "审查依据不足"
    credit = (await client.get(f"/api/agencies/{code}/credit")).json()
    # The voided review is absent: the owner's rating alone again.
    assert credit["score"] == "81.56" and credit["ratings"][0]["review_score"] is None
    assert credit["ratings"][0]["score"] == "86.25"
    await as_user(client, "ag0")
    shown = (await client.get("/api/agency/reviews")).json()
    assert shown[0]["voided"] is True and shown[0]["appeal_status"] == "upheld"
    # A voided review cannot be appealed again.
    assert (await client.post(url, json={"reason": "x"}, headers=await as_user(client, "ag0"))).status_code == 409


async def test_review_appeal_dismissed_and_out_of_time(client, app, sessionmaker, world):
    job_no = await reviewed_world_job(client, sessionmaker)
    await client.post(f"/api/reviewer/jobs/{job_no}/review", json=REVIEW, headers=await as_user(client, "rev_eco"))
    h = await as_user(client, "ag0")
    review_id = (await client.get("/api/agency/reviews")).json()[0]["id"]
    # Through the page form: filed, the regulator dismisses it, the review stands.
    page = await client.get("/agency/ratings")
    assert f'id="review-appeal-form-{review_id}"' in page.text and "生态环境局" in page.text
    assert "rev_eco" not in page.text
    r = await client.post(f"/agency/reviews/{review_id}/appeal", data={"reason": "", "csrf_token": h["x-csrf-token"]})
    assert r.status_code == 400
    r = await client.post(f"/agency/reviews/{review_id}/appeal", data={"reason": "不服", "csrf_token": h["x-csrf-token"]})
    assert r.status_code == 303
    h = await as_user(client, "reg1")
    appeal_id = (await client.get("/api/regulator/appeals")).json()[0]["id"]
    r = await client.post(f"/regulator/appeals/{appeal_id}/decision",
                          data={"decision": "dismiss", "reason": "审查意见成立", "csrf_token": h["x-csrf-token"]})
    assert r.status_code == 303
    async with sessionmaker() as s:
        assert (await s.get(Review, review_id)).voided_at is None
    await settle(app)
    code = await winner_code(client, job_no)
    assert (await client.get(f"/api/agencies/{code}/credit")).json()["ratings"][0]["score"] == "65.00"
    # Another review, 16 days old: too late to appeal.
    job2 = await second_job_won_by(client, sessionmaker, code)
    await client.post(f"/api/reviewer/jobs/{job2}/review", json=REVIEW, headers=await as_user(client, "rev_eco"))
    async with sessionmaker() as s:
        await s.exec(update(Review).where(Review.id != review_id).values(reviewed_at=utcnow() - timedelta(days=16)))
        await s.commit()
        late = (await s.exec(select(Review).where(Review.id != review_id))).one()
    h = await as_user(client, await username_of(sessionmaker, late.agency_id))
    r = await client.post(f"/api/agency/reviews/{late.id}/appeal", json={"reason": "x"}, headers=h)
    assert r.status_code == 409 and "15" in r.json()["error"]
    assert await count_rows(sessionmaker, Appeal) == 1


async def username_of(sessionmaker, agency_id):
    async with sessionmaker() as s:
        return (await s.exec(select(User.username).where(User.agency_id == agency_id))).first()


# ---- files and pages ---------------------------------------------------------------------------------

async def test_the_jobs_reviewers_see_the_contract_and_result_files(client, sessionmaker, world):
    job_no = await reviewed_world_job(client, sessionmaker)
    await as_user(client, "rev_eco")
    perf = (await client.get(f"/api/jobs/{job_no}/performance")).json()
    assert perf["contract"]["file_url"] and perf["rounds"] and not perf["extensions"]  # files, not the reasons
    assert (await client.get(perf["contract"]["file_url"])).status_code == 200
    result_url = perf["rounds"][0]["files"][0]["url"]
    assert (await client.get(result_url)).status_code == 200
    # Another department's reviewer, like the public, sees the publicity only.
    await as_user(client, "rev_nrp")
    perf = (await client.get(f"/api/jobs/{job_no}/performance")).json()
    assert perf["contract"]["file_url"] is None and not perf["rounds"]
    assert (await client.get(f"/jobs/{job_no}/contract.pdf")).status_code == 404
    assert (await client.get(result_url)).status_code == 404


async def test_reviewer_pages(client, app, sessionmaker, world):
    job_no = await reviewed_world_job(client, sessionmaker)
    h = await as_user(client, "rev_eco")
    page = await client.get("/reviewer")
    assert page.status_code == 200 and job_no in page.text and "生态环境局" in page.text
    assert 'href="/reviewer"' in (await client.get("/workbench")).text
    form = await client.get(f"/reviewer/jobs/{job_no}/review")
    assert form.status_code == 200 and 'id="review-form"' in form.text and f"/jobs/{job_no}/contract.pdf" in form.text
    token = h["x-csrf-token"]
    bad = await client.post(f"/reviewer/jobs/{job_no}/review", data={"result_quality": "9", "compliance": "3",
                                                                     "comment": "c", "csrf_token": token})
    assert bad.status_code == 400 and 'aria-invalid="true"' in bad.text and await count_rows(sessionmaker, Review) == 0
    r = await client.post(f"/reviewer/jobs/{job_no}/review", data={**REVIEW, "csrf_token": token})
    assert r.status_code == 303
    shown = await client.get(f"/reviewer/jobs/{job_no}/review")
    assert shown.status_code == 200 and 'id="review-score">65.00' in shown.text and 'id="review-form"' not in shown.text
    again = await client.post(f"/reviewer/jobs/{job_no}/review", data={**REVIEW, "csrf_token": token})
    assert again.status_code == 409
    # Another department's reviewer may not open the form; other roles may not open the list.
    await as_user(client, "rev_nrp")
    assert (await client.get(f"/reviewer/jobs/{job_no}/review")).status_code == 403
    for who in ("own1", "ag0", "reg1", "admin1"):
        await as_user(client, who)
        assert (await client.get("/reviewer")).status_code == 403, who
    client.cookies.clear()
    assert (await client.get("/reviewer")).status_code in (303, 401)
    # The agency's public profile shows the review: department and comment, never the reviewer.
    await settle(app)
    code = await winner_code(client, job_no)
    profile = await client.get(f"/agencies/{code}/profile")
    assert 'id="reviews"' in profile.text and "成果符合审批要求" in profile.text and "生态环境局" in profile.text
    assert "rev_eco" not in profile.text
    async with sessionmaker() as s:
        credit = (await s.exec(select(AgencyCredit))).all()
    assert credit


async def test_reviewer_without_a_department_is_refused(client, sessionmaker, world):
    await make_user(sessionmaker, "rev_none", "reviewer")
    job_no = await reviewed_world_job(client, sessionmaker)
    h = await as_user(client, "rev_none")
    assert (await client.get("/reviewer")).status_code == 403
    r = await client.post(f"/api/reviewer/jobs/{job_no}/review", json=REVIEW, headers=h)
    assert r.status_code == 403 and await count_rows(sessionmaker, Review) == 0


async def test_the_job_page_shows_its_rating_review_and_service_score(client, app, sessionmaker, world):
    job_no = await reviewed_world_job(client, sessionmaker)
    client.cookies.clear()
    assert 'id="evaluation"' not in (await client.get(f"/jobs/{job_no}")).text  # completed, not evaluated yet
    await client.post(f"/api/owner/jobs/{job_no}/rating", json=STARS, headers=await as_user(client, "own1"))
    client.cookies.clear()
    page = (await client.get(f"/jobs/{job_no}")).text
    evaluation = page[page.index('id="evaluation"'):]
    assert "86.25" in evaluation and "未审查" in evaluation and "仅按业主评价" in evaluation
    await client.post(f"/api/reviewer/jobs/{job_no}/review", json=REVIEW, headers=await as_user(client, "rev_eco"))
    # 70 % × 86.25 + 30 % × 65.00 = 79.875 → 79.88 (half up), as the credit API publishes it.
    await settle(app)
    credit = (await client.get(f"/api/agencies/{await winner_code(client, job_no)}/credit")).json()
    assert credit["ratings"][0]["score"] == "79.88"
    for who in (None, "own1"):  # the public notice and the owner's own page
        if who:
            await as_user(client, who)
        else:
            client.cookies.clear()
        page = (await client.get(f"/jobs/{job_no}" if who is None else f"/owner/jobs/{job_no}")).text
        evaluation = page[page.index('id="evaluation"'):]
        assert all(t in evaluation for t in ("86.25", "65.00", "生态环境局", "成果符合审批要求", "<strong>79.88</strong>",
                                             "70% × 业主评价 + 30% × 审批部门审查")), who
        assert "rev_eco" not in evaluation  # the department, never the reviewer
    # The agency's appeal against the review is upheld: the review shows voided, the rating alone counts.
    review_id = (await client.get("/api/agency/reviews", headers=await as_user(client, "ag0"))).json()[0]["id"]
    await client.post(f"/api/agency/reviews/{review_id}/appeal", json={"reason": "审查意见与事实不符"},
                      headers=await as_user(client, "ag0"))
    h = await as_user(client, "reg1")
    appeal = (await client.get("/api/regulator/appeals")).json()[0]["id"]
    r = await client.post(f"/api/regulator/appeals/{appeal}/decision", json={"decision": "uphold", "reason": "依据不足"},
                          headers=h)
    assert r.status_code == 200
    client.cookies.clear()
    page = (await client.get(f"/jobs/{job_no}")).text
    evaluation = page[page.index('id="evaluation"'):]
    assert "已作废" in evaluation and "<strong>86.25</strong>" in evaluation and "仅按业主评价" in evaluation
    client.cookies.set("lang", "en")
    english = (await client.get(f"/jobs/{job_no}")).text
    evaluation = english[english.index('id="evaluation"'):]
    assert all(t in evaluation for t in ("Service score", "Ecology and Environment Bureau", "Voided",
                                         "the owner&#39;s rating alone")), evaluation[:1500]
