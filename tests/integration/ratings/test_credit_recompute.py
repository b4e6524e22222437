"""Credit recomputation in SQL agrees with the published formula; lists; idempotence."""

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlmodel import select

from app.clock import ensure_aware, utcnow
from app.models import AuditEvent
from marketplace.models import Contract, Job
from ratings.domain.credit import DEFAULT_PARAMS, credit_grade, credit_score
from ratings.models import AgencyCredit, ListEntry, Rating, Violation
from ratings.services.recompute import nightly_recompute, recompute_agency
from tests.conftest import ON_POSTGRES
from tests.helpers import count_rows, make_agency, make_owner


async def _contract(s, agency_id, owner_id, n):
    job = Job(job_no=f"JT-{agency_id}-{n}", owner_id=owner_id, title="t", project_name="p", project_code="c",
              category_id=1, budget_cap=Decimal("1000.00"), method="random", quote_deadline=utcnow(),
              service_days=1, status="rated")
    s.add(job)
    await s.flush()
    from marketplace.models import Quote
    q = Quote(job_id=job.id, agency_id=agency_id, price=Decimal("900.00"), service_days=1, nonce="n", status="live")
    s.add(q)
    await s.flush()
    c = Contract(job_id=job.id, quote_id=q.id, agency_id=agency_id, amount=q.price, confirmed_by="t")
    s.add(c)
    await s.flush()
    return job, c


async def seed_history(sessionmaker, n_agencies=6, seed=3):
    """Fixture rows for the formula check (ratings are normally made by owners)."""
    rng = random.Random(seed)
    owner = await make_owner(sessionmaker, "own1")
    agencies = [await make_agency(sessionmaker, f"ag{i}") for i in range(n_agencies)]
    now = utcnow()
    async with sessionmaker() as s:
        k = 0
        for a in agencies:
            for _ in range(rng.randint(0, 7)):
                k += 1
                job, c = await _contract(s, a.id, owner.id, k)
                score = Decimal(rng.choice(["100.00", "81.25", "56.25", "0.00", "93.75", "70.00"]))
                s.add(Rating(contract_id=c.id, job_id=job.id, agency_id=a.id, owner_id=owner.id, quality=3,
                             timeliness=3, fee_compliance=3, attitude=3, score=score,
                             rated_at=now - timedelta(days=rng.randint(0, 900), hours=rng.randint(0, 23))))
            if rng.random() < 0.4:
                s.add(Violation(agency_id=a.id, severity=rng.choice(["minor", "major"]), kind="test",
                                recorded_by="t", occurred_at=now - timedelta(days=rng.randint(0, 500))))
        await s.commit()
    return agencies, now


async def test_sql_scores_equal_the_published_formula(sessionmaker):
    agencies, now = await seed_history(sessionmaker, n_agencies=12)
    async with sessionmaker() as s:
        await nightly_recompute(s, now)
        for a in agencies:
            ratings = (await s.exec(select(Rating).where(Rating.agency_id == a.id))).all()
            viols = (await s.exec(select(Violation).where(Violation.agency_id == a.id))).all()
            expected = credit_score([(r.score, r.rated_at) for r in ratings],
                                    [(v.severity, v.occurred_at) for v in viols], now)
            credit = await s.get(AgencyCredit, a.id)
            assert Decimal(credit.score).quantize(Decimal("0.01")) == expected, a.id


async def test_nightly_twice_changes_nothing_and_lists_follow_scores(sessionmaker):
    agencies, now = await seed_history(sessionmaker, n_agencies=10, seed=11)
    async with sessionmaker() as s:
        first = await nightly_recompute(s, now)
        entries = await count_rows(sessionmaker, ListEntry)
        events = await count_rows(sessionmaker, AuditEvent)
        again = await nightly_recompute(s, now)
    assert again == {"black_added": 0, "red_ended": 0, "red_added": 0, "expired": 0}
    assert await count_rows(sessionmaker, ListEntry) == entries
    assert await count_rows(sessionmaker, AuditEvent) == events
    async with sessionmaker() as s:
        for credit in (await s.exec(select(AgencyCredit))).all():
            active_black = (await s.exec(select(ListEntry).where(ListEntry.agency_id == credit.agency_id,
                                                                  ListEntry.kind == "black"))).all()
            assert credit.black == bool(active_black)
            if Decimal(credit.score) < 60 and credit.rating_count >= 3:
                assert credit.black
    assert first["black_added"] + first["red_added"] == entries


async def test_per_agency_recompute_matches_nightly(sessionmaker):
    agencies, now = await seed_history(sessionmaker, n_agencies=5, seed=5)
    async with sessionmaker() as s:
        for a in agencies:
            await recompute_agency(s, a.id, now)
        single = {c.agency_id: (Decimal(c.score), c.grade, c.red, c.black) for c in (await s.exec(select(AgencyCredit))).all()}
        await nightly_recompute(s, now)
        s.expunge_all()
        nightly = {c.agency_id: (Decimal(c.score), c.grade, c.red, c.black) for c in (await s.exec(select(AgencyCredit))).all()}
    assert single == nightly


async def test_severe_violation_black_lists_for_twelve_months(sessionmaker):
    a = await make_agency(sessionmaker, "bad1")
    now = utcnow()
    async with sessionmaker() as s:
        s.add(Violation(agency_id=a.id, severity="severe", kind="forged_qualification", recorded_by="t",
                        occurred_at=now - timedelta(days=10)))
        await s.commit()
        credit = await recompute_agency(s, a.id, now)
        assert credit.black
        entry = (await s.exec(select(ListEntry).where(ListEntry.agency_id == a.id))).one()
        assert entry.reason == "severe_violation"
        assert 360 <= (entry.ends_at - entry.starts_at).days <= 366
        await recompute_agency(s, a.id, now)
    assert await count_rows(sessionmaker, ListEntry) == 1


async def test_credit_at_a_deadline_counts_ratings_given_by_then(sessionmaker):
    from ratings.services.standing import credit_at, grade_of
    agencies, now = await seed_history(sessionmaker, n_agencies=6, seed=9)
    async with sessionmaker() as s:
        at = now - timedelta(days=100)
        scores = await credit_at(s, [a.id for a in agencies], at)
        for a in agencies:
            ratings = (await s.exec(select(Rating).where(Rating.agency_id == a.id))).all()
            viols = (await s.exec(select(Violation).where(Violation.agency_id == a.id))).all()
            expected = credit_score([(r.score, r.rated_at) for r in ratings if r.rated_at <= at],
                                    [(v.severity, v.occurred_at) for v in viols if v.occurred_at <= at], at)
            assert scores[a.id] == expected
        assert any(scores[a.id] != Decimal("80.00") for a in agencies)  # ratings do count
        assert {grade_of(v, DEFAULT_PARAMS) for v in scores.values()} == {credit_grade(v) for v in scores.values()}


async def test_expiry_is_recorded_once(sessionmaker):
    a = await make_agency(sessionmaker, "was_black")
    now = utcnow()
    async with sessionmaker() as s:
        await nightly_recompute(s, now - timedelta(days=2))
        s.add(ListEntry(agency_id=a.id, kind="black", reason="low_score", starts_at=now - timedelta(days=180),
                        ends_at=now - timedelta(hours=3)))
        await s.commit()
        result = await nightly_recompute(s, now)
        assert result["expired"] == 1
        assert (await nightly_recompute(s, now + timedelta(minutes=1)))["expired"] == 0
        kinds = (await s.exec(select(AuditEvent.kind).where(AuditEvent.kind == "list.black_expired"))).all()
    assert kinds == ["list.black_expired"]


CHANGED = {"prior_mean": "70.00", "prior_weight": "5.00", "half_life_days": "200", "minor_deduction": "7.50",
           "major_deduction": "15.00", "severe_deduction": "30.00", "violation_window_days": "200",
           "grade_a_min": "85.00", "grade_b_min": "70.00", "grade_c_min": "50.00", "red_min_score": "75.00",
           "red_min_ratings": "2", "red_rating_window_days": "500", "red_clean_window_days": "400",
           "black_score_below": "65.00", "black_min_ratings": "2"}


async def test_changed_parameters_reach_sql_python_and_deadline_scores(sessionmaker):
    """Every score, grade and red flag computed in SQL with non-default settings equals the pure formula
    with the same settings; so does the credit at a deadline (the violation and clean windows differ
    here, so each is checked on its own)."""
    from app.models import PlatformSetting
    from ratings.domain.credit import red_list_eligible
    from ratings.parameters import PREFIX, from_texts, params_in_force, stored
    from ratings.services.standing import credit_at

    agencies, now = await seed_history(sessionmaker, n_agencies=14, seed=5)
    owner = (await make_owner(sessionmaker, "own_red"))
    good = [await make_agency(sessionmaker, f"good{i}") for i in range(2)]
    agencies += good
    async with sessionmaker() as s:
        for a in agencies[::3] + good[1:]:  # violations between the two windows' ends
            s.add(Violation(agency_id=a.id, severity="minor", kind="test", recorded_by="t",
                            occurred_at=now - timedelta(days=300)))
        for a in good:  # red-list material, except that good[1] had a violation 300 days ago
            for n in range(3):
                job, c = await _contract(s, a.id, owner.id, 100 + n)
                s.add(Rating(contract_id=c.id, job_id=job.id, agency_id=a.id, owner_id=owner.id, quality=5,
                             timeliness=5, fee_compliance=5, attitude=5, score=Decimal("100.00"),
                             rated_at=now - timedelta(days=10 + n)))
        for k, v in CHANGED.items():
            s.add(PlatformSetting(key=PREFIX + k, value=v))
        await s.commit()
        p = await params_in_force(s)
        assert p == from_texts({**await stored(s), **CHANGED}) and p.prior_mean == Decimal("70")
        await nightly_recompute(s, now)
        at = now - timedelta(days=50)
        deadline_scores = await credit_at(s, [a.id for a in agencies], at)
        reds = 0
        for a in agencies:
            ratings = (await s.exec(select(Rating).where(Rating.agency_id == a.id))).all()
            viols = (await s.exec(select(Violation).where(Violation.agency_id == a.id))).all()
            rs = [(r.score, r.rated_at) for r in ratings]
            vs = [(v.severity, v.occurred_at) for v in viols]
            expected = credit_score(rs, vs, now, p)
            credit = await s.get(AgencyCredit, a.id)
            assert Decimal(credit.score).quantize(Decimal("0.01")) == expected, a.id
            assert credit.grade == credit_grade(expected, p)
            red = red_list_eligible(expected, [r.rated_at for r in ratings], [v.occurred_at for v in viols], now, p)
            assert bool(credit.red) == (red and not credit.black), a.id
            reds += red
            assert deadline_scores[a.id] == credit_score([x for x in rs if x[1] <= at],
                                                         [x for x in vs if x[1] <= at], at, p)
        assert reds >= 1
        red_flags = [(await s.get(AgencyCredit, a.id)).red for a in good]
        assert red_flags == [True, False]  # 300 days ago: no deduction (200) but not clean (400)
        assert (await s.get(AgencyCredit, good[0].id)).score == (await s.get(AgencyCredit, good[1].id)).score


async def test_a_run_dated_before_the_last_adds_no_twin_entries(sessionmaker):
    """Two runs racing: the one whose clock was read earlier may get the lock later. Its entries
    must not duplicate those of the run it waited for (which start after its `now`)."""
    agencies, now = await seed_history(sessionmaker, n_agencies=10, seed=11)
    async with sessionmaker() as s:
        first = await nightly_recompute(s, now)
        assert first["black_added"] + first["red_added"] > 0  # the seed puts someone on a list
        entries = await count_rows(sessionmaker, ListEntry)
        events = await count_rows(sessionmaker, AuditEvent)
        late = await nightly_recompute(s, now - timedelta(seconds=1))
    assert late == {"black_added": 0, "red_ended": 0, "red_added": 0, "expired": 0}
    assert await count_rows(sessionmaker, ListEntry) == entries
    assert await count_rows(sessionmaker, AuditEvent) == events


@pytest.mark.skipif(not ON_POSTGRES, reason="the credit lock is a PostgreSQL advisory lock")
async def test_a_run_reads_its_clock_after_waiting_for_the_lock(sessionmaker):
    import asyncio

    from ratings.services.recompute import _PG_CREDIT_LOCK
    agencies, _now = await seed_history(sessionmaker, n_agencies=10, seed=11)
    async with sessionmaker() as holder:
        await holder.exec(text("SELECT pg_advisory_xact_lock(:k)").bindparams(k=_PG_CREDIT_LOCK))

        async def run():
            async with sessionmaker() as s:
                return await nightly_recompute(s)

        task = asyncio.create_task(run())
        await asyncio.sleep(0.5)
        assert not task.done()  # waiting for the lock
        released = utcnow()
        await holder.commit()
    result = await task
    assert result["black_added"] + result["red_added"] > 0
    async with sessionmaker() as s:
        starts = [e.starts_at for e in (await s.exec(select(ListEntry).where(ListEntry.reason != "severe_violation"))).all()]
    assert starts and all(ensure_aware(t) >= released for t in starts)


async def test_a_per_agency_run_dated_before_the_last_adds_no_twin_entries(sessionmaker):
    agencies, now = await seed_history(sessionmaker, n_agencies=10, seed=11)
    async with sessionmaker() as s:
        for a in agencies:
            await recompute_agency(s, a.id, now)
        entries = await count_rows(sessionmaker, ListEntry)
        events = await count_rows(sessionmaker, AuditEvent)
        assert entries > 0
        for a in agencies:
            await recompute_agency(s, a.id, now - timedelta(seconds=1))
    assert await count_rows(sessionmaker, ListEntry) == entries
    assert await count_rows(sessionmaker, AuditEvent) == events
