"""An administrator creates a reviewer of the approving department; the reviewer signs in, reviews a completed
job of its department, and the agency's score on its public profile changes by exactly what the formula says."""

import random
from datetime import datetime
from decimal import Decimal

import httpx

from ratings.domain.credit import CreditParams, credit_score, rating_score
from ratings.domain.service_score import combine, review_score
from tests.browser.conftest import ADMIN_PASSWORD
from tests.browser.test_credit_flow import as_api, post_job, wait_for
from tests.browser.test_market_flow import PASSWORD, move_deadline_into_the_past, register_orgs
from tests.browser.test_registration_flow import login, logout, submit


def completed_job(base: str, env: dict, prefix: str) -> str:
    job_no = post_job(base, f"{prefix}owner", "审查流程环评项目")
    for i, price in enumerate(["81000.00", "82000.00", "83000.00"]):
        r = as_api(base, f"{prefix}agency{i}", "POST", f"/api/jobs/{job_no}/quote",
                   json={"price": price, "service_days": 20})
        assert r.status_code == 201, r.text
    move_deadline_into_the_past(env, job_no)
    as_api(base, f"{prefix}regulator", "POST", f"/api/regulator/jobs/{job_no}/select")
    move_deadline_into_the_past(env, job_no, column="publicity_ends_at")
    signed = {"file": ("signed.pdf", b"%PDF-1.4\n% signed\n%%EOF\n", "application/pdf")}
    assert as_api(base, f"{prefix}owner", "POST", f"/api/owner/jobs/{job_no}/contract", files=signed).status_code == 201
    confirmed = [a for a in (f"{prefix}agency{i}" for i in range(3))
                 if as_api(base, a, "POST", f"/api/jobs/{job_no}/contract/confirm").status_code == 200]
    assert len(confirmed) == 1
    result = [("file", ("result.pdf", b"%PDF-1.4\n% result\n%%EOF\n", "application/pdf"))]
    assert as_api(base, confirmed[0], "POST", f"/api/jobs/{job_no}/results", files=result).status_code == 201
    assert as_api(base, f"{prefix}owner", "POST", f"/api/owner/jobs/{job_no}/result/confirm").status_code == 200
    return job_no


def create_reviewer(page, base: str, username: str) -> None:
    """The administrator creates a reviewer of 生态环境局 (ECO, the department of item EIA-01), through the page."""
    login(page, base, "admin", ADMIN_PASSWORD)
    page.goto(f"{base}/admin/reviewers")
    page.fill("#vu", username)
    page.fill("#vn", "生态环境局审查员")
    page.select_option("#vd", "ECO")
    page.fill("#vp", PASSWORD)
    submit(page, "#reviewer-form button")
    assert username in page.inner_text("table")
    logout(page)


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso)


def test_reviewer_reviews_and_the_profile_score_follows_the_formula(server, page):
    base, env, prefix = server["base"], server["env"], "rv"
    register_orgs(base, random.Random(), prefix=prefix)
    job_no = completed_job(base, env, prefix)
    winner = httpx.get(f"{base}/api/jobs/{job_no}").json()["result"]["winner_agency_code"]
    # Marks chosen so that no credit score lies on a rounding tie (the decay weight is a hair under 1).
    stars = {"quality": 5, "timeliness": 5, "fee_compliance": 4, "attitude": 4, "comment": "按期完成。"}
    r = as_api(base, f"{prefix}owner", "POST", f"/api/owner/jobs/{job_no}/rating", json=stars)
    assert r.status_code == 201, r.text
    owner_score = rating_score(5, 5, 4, 4)  # 91.25
    assert r.json()["score"] == f"{owner_score:.2f}"
    assert wait_for(lambda: httpx.get(f"{base}/api/agencies/{winner}/credit").json()["rating_count"] == 1)
    before = httpx.get(f"{base}/api/agencies/{winner}/credit").json()
    p = CreditParams.from_json(before["parameters"])
    rated_at = at(before["ratings"][0]["rated_at"])
    assert before["score"] == f"{credit_score([(owner_score, rated_at)], [], at(before['computed_at']), p):.2f}"

    create_reviewer(page, base, f"{prefix}reviewer")

    # The reviewer signs in, finds the job on its list and reviews it.
    login(page, base, f"{prefix}reviewer", PASSWORD)
    page.goto(f"{base}/reviewer")
    row = page.locator(f"#job-{job_no}")
    assert row.count() == 1
    submit(page, f"#job-{job_no} a.btn")
    assert page.locator(f'a[href="/jobs/{job_no}/contract.pdf"]').count() == 1  # the job's reviewers see the file
    page.select_option("#f-result_quality", "5")
    page.select_option("#f-compliance", "4")
    page.fill("#f-comment", "成果符合审批要求。")
    page.once("dialog", lambda d: d.accept())  # "Submit this review? It cannot be changed afterwards."
    submit(page, "#review-form button")
    review = review_score(5, 4)  # 90.00
    assert page.inner_text("#review-score").strip() == f"{review:.2f}"
    logout(page)

    # The service score and the credit, computed here from the published formula and parameters.
    service = combine(owner_score, review, p.owner_weight, p.review_weight)  # 90.875 → 90.88

    def reviewed():
        credit = httpx.get(f"{base}/api/agencies/{winner}/credit").json()
        return credit if credit["ratings"] and credit["ratings"][0]["review_score"] else None
    after = wait_for(reviewed)
    assert after, httpx.get(f"{base}/api/agencies/{winner}/credit").json()
    row = after["ratings"][0]
    assert (row["owner_score"], row["review_score"], row["score"]) == (
        f"{owner_score:.2f}", f"{review:.2f}", f"{service:.2f}")
    assert row["rated_at"] == before["ratings"][0]["rated_at"]  # dated by the owner's rating

    def recomputed():
        credit = httpx.get(f"{base}/api/agencies/{winner}/credit").json()
        expected = credit_score([(service, rated_at)], [], at(credit["computed_at"]), p)
        return (credit, expected) if credit["score"] == f"{expected:.2f}" else None
    found = wait_for(recomputed)
    assert found, httpx.get(f"{base}/api/agencies/{winner}/credit").json()
    credit, expected = found
    page.goto(f"{base}/agencies/{winner}/profile")
    shown = Decimal(page.inner_text("#credit-score").strip())
    assert shown == expected
    assert shown - Decimal(before["score"]) == expected - credit_score([(owner_score, rated_at)], [],
                                                                       at(credit["computed_at"]), p)
    reviews = page.inner_text("#reviews")
    assert "成果符合审批要求" in reviews and "生态环境局" in reviews and f"{prefix}reviewer" not in reviews
    page.screenshot(path=str(server["var"] / "review-profile.png"), full_page=True)
