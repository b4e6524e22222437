"""Service scores in every credit computation: the set-based SQL (nightly and per agency), the credit at a moment
and the published inputs agree with ratings.domain.service_score and the credit formula, with ratings only,
reviews only, both, voided ones and later ones; and with ratings alone nothing changes."""

import random
from datetime import timedelta
from decimal import Decimal

from sqlmodel import select

from app.clock import ensure_aware, utcnow
from marketplace.catalogue_models import Department
from ratings.domain.credit import DEFAULT_PARAMS, CreditParams, credit_score
from ratings.domain.service_score import Evaluation, service_score
from ratings.models import AgencyCredit, Rating, Review, Violation
from ratings.services.recompute import nightly_recompute, recompute_agency
from ratings.services.service_scores import counted_jobs
from ratings.services.standing import credit_at
from tests.helpers import make_agency, make_owner, make_user
from tests.integration.ratings.test_credit_recompute import _contract

RATING_SCORES = ["100.00", "81.25", "56.25", "0.00", "93.75", "70.00", "12.35", "0.05"]
REVIEW_SCORES = ["100.00", "65.00", "0.00", "25.00", "80.00", "45.00"]


async def seed_mixed(sessionmaker, n_agencies=10, seed=7):
    rng = random.Random(seed)
    owner = await make_owner(sessionmaker, "own1")
    reviewer = await make_user(sessionmaker, "rev1", "reviewer")
    agencies = [await make_agency(sessionmaker, f"ag{i}") for i in range(n_agencies)]
    now = utcnow()
    async with sessionmaker() as s:
        dept = (await s.exec(select(Department).where(Department.code == "ECO"))).one()
        k = 0
        for a in agencies:
            for _ in range(rng.randint(0, 7)):
                k += 1
                job, c = await _contract(s, a.id, owner.id, k)
                kind = rng.choice(["rating", "review", "both", "both", "voided_review", "voided_rating", "later"])
                rated_at = now - timedelta(days=rng.randint(0, 800), hours=rng.randint(0, 23))
                if kind != "review":
                    s.add(Rating(contract_id=c.id, job_id=job.id, agency_id=a.id, owner_id=owner.id, quality=3,
                                 timeliness=3, fee_compliance=3, attitude=3, score=Decimal(rng.choice(RATING_SCORES)),
                                 rated_at=rated_at,
                                 voided_at=rated_at + timedelta(days=3) if kind == "voided_rating" else None))
                if kind != "rating":
                    reviewed_at = (now + timedelta(days=2) if kind == "later"
                                   else rated_at + timedelta(days=rng.randint(-5, 10)))
                    reviewed_at = min(reviewed_at, now - timedelta(minutes=1)) if kind != "later" else reviewed_at
                    s.add(Review(contract_id=c.id, job_id=job.id, agency_id=a.id, department_id=dept.id,
                                 reviewer_user_id=reviewer.id, result_quality=3, compliance=3,
                                 score=Decimal(rng.choice(REVIEW_SCORES)), reviewed_at=reviewed_at,
                                 voided_at=reviewed_at + timedelta(hours=5) if kind == "voided_review" else None))
            if rng.random() < 0.3:
                s.add(Violation(agency_id=a.id, severity="minor", kind="test", recorded_by="t",
                                occurred_at=now - timedelta(days=rng.randint(0, 400))))
        await s.commit()
    return agencies, now


async def expected_scores(s, agency_id, now, p: CreditParams = DEFAULT_PARAMS):
    """The formula from the rows, computed here independently of the services."""
    ratings = {r.contract_id: r for r in (await s.exec(select(Rating).where(Rating.agency_id == agency_id))).all()}
    reviews = {v.contract_id: v for v in (await s.exec(select(Review).where(Review.agency_id == agency_id))).all()}
    services = []
    for contract_id in set(ratings) | set(reviews):
        r, v = ratings.get(contract_id), reviews.get(contract_id)
        o = Evaluation(r.score, ensure_aware(r.rated_at), r.voided_at and ensure_aware(r.voided_at)) if r else None
        d = Evaluation(v.score, ensure_aware(v.reviewed_at), v.voided_at and ensure_aware(v.voided_at)) if v else None
        sc = service_score(o, d, p.owner_weight, p.review_weight, as_of=now)
        if sc is not None:
            services.append((sc.score, sc.at))
    viols = [(x.severity, ensure_aware(x.occurred_at))
             for x in (await s.exec(select(Violation).where(Violation.agency_id == agency_id))).all()]
    return credit_score(services, viols, now, p), len(services)


async def test_sql_and_python_agree_on_service_scores(sessionmaker):
    agencies, now = await seed_mixed(sessionmaker)
    async with sessionmaker() as s:
        await nightly_recompute(s, now)
        nightly = {}
        for a in agencies:
            expected, n = await expected_scores(s, a.id, now)
            credit = await s.get(AgencyCredit, a.id)
            assert Decimal(credit.score).quantize(Decimal("0.01")) == expected, a.id
            assert credit.rating_count == n, a.id
            nightly[a.id] = (Decimal(credit.score), credit.rating_count)
            # The credit at that moment (best_value, random_weighted) is the same number.
            assert (await credit_at(s, [a.id], now))[a.id] == expected
    # The per-agency recompute gives the same.
    for a in agencies:
        async with sessionmaker() as s:
            credit = await recompute_agency(s, a.id, now)
            assert (Decimal(credit.score), credit.rating_count) == nightly[a.id]


async def test_inputs_published_match_the_rows(sessionmaker):
    """What the API publishes per job (no moment: every evaluation not voided)."""
    agencies, _now = await seed_mixed(sessionmaker, n_agencies=6, seed=9)
    async with sessionmaker() as s:
        jobs = await counted_jobs(s, [a.id for a in agencies], DEFAULT_PARAMS, with_details=True)
    seen = 0
    for a in agencies:
        for c in jobs[a.id]:
            seen += 1
            assert c.job_no.startswith("JT-")
            assert (c.service.review_score is None) == (c.review is None or c.review.voided_at is not None)
            assert (c.service.owner_score is None) == (c.rating is None or c.rating.voided_at is not None)
            assert c.department is None or c.department.code == "ECO"
            if c.service.owner_score is not None:
                assert c.service.at == ensure_aware(c.rating.rated_at)
            else:
                assert c.service.at == ensure_aware(c.review.reviewed_at)
    assert seen > 5


async def test_weights_reach_the_sql(sessionmaker):
    agencies, now = await seed_mixed(sessionmaker, n_agencies=6, seed=11)
    from app.models import PlatformSetting
    async with sessionmaker() as s:
        s.add(PlatformSetting(key="credit.owner_weight", value="40"))
        s.add(PlatformSetting(key="credit.review_weight", value="60"))
        await s.commit()
    p = CreditParams(owner_weight=40, review_weight=60)
    async with sessionmaker() as s:
        await nightly_recompute(s, now)
        for a in agencies:
            expected, _n = await expected_scores(s, a.id, now, p)
            assert Decimal((await s.get(AgencyCredit, a.id)).score).quantize(Decimal("0.01")) == expected
            assert (await credit_at(s, [a.id], now))[a.id] == expected


async def test_a_tie_is_rounded_up_in_sql_too(sessionmaker):
    """70 × 81.25 + 30 × 0 = 5687.5 → 56.875 → 56.88 (binary doubles would give 56.87 or 56.88 by luck);
    70 × 12.35 → 8.645 → 8.65 (doubles give 8.64)."""
    owner = await make_owner(sessionmaker, "own1")
    reviewer = await make_user(sessionmaker, "rev1", "reviewer")
    agency = await make_agency(sessionmaker, "ag0")
    now = utcnow()
    async with sessionmaker() as s:
        dept = (await s.exec(select(Department))).first()
        for n, (o, v) in enumerate((("81.25", "0.00"), ("12.35", "0.00"))):
            job, c = await _contract(s, agency.id, owner.id, n)
            s.add(Rating(contract_id=c.id, job_id=job.id, agency_id=agency.id, owner_id=owner.id, quality=3,
                         timeliness=3, fee_compliance=3, attitude=3, score=Decimal(o), rated_at=now))
            s.add(Review(contract_id=c.id, job_id=job.id, agency_id=agency.id, department_id=dept.id,
                         reviewer_user_id=reviewer.id, result_quality=1, compliance=1, score=Decimal(v),
                         reviewed_at=now))
        await s.commit()
    async with sessionmaker() as s:
        await recompute_agency(s, agency.id, now)
        credit = await s.get(AgencyCredit, agency.id)
        # (3 × 80 + 56.88 + 8.65) / 5 = 61.106 → 61.11 (with 56.87 and 8.64 it would be 61.10)
        assert f"{Decimal(credit.score):.2f}" == "61.11"
        assert (await credit_at(s, [agency.id], now))[agency.id] == Decimal("61.11")
