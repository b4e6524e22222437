"""Demo reviews: reviewer accounts per department, reviews within 30 days on the replay clock, idempotent."""

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from app import clock
from app.audit import verify_stored_chain
from app.clock import ensure_aware
from app.models import User
from marketplace.catalogue_models import Department, ServiceItem
from marketplace.models import Job
from ratings.models import AgencyCredit, Appeal, Review
from scripts.seed_demo import seed
from scripts.seed_jobs import seed_jobs
from scripts.seed_reviews import seed_reviews
from tests.helpers import count_rows


async def test_demo_reviews(app, sessionmaker, capsys):
    await seed(sessionmaker, agencies=60, owners=8, jobs=0, progress=False)
    await seed_jobs(sessionmaker, seed=7, count=40, progress=False)
    added = await seed_reviews(sessionmaker)
    assert clock._clock_offset == timedelta(0)
    assert "password" not in capsys.readouterr().out.lower()
    now = datetime.now(UTC)
    async with sessionmaker() as s:
        reviewers = (await s.exec(select(User, Department).join(Department, Department.id == User.department_id)
                                  .where(User.role == "reviewer").order_by(col(User.username)))).all()
        assert len(reviewers) >= 4 and reviewers[0][0].username == "reviewer1"
        assert len({d.code for _u, d in reviewers}) == len(reviewers)
        reviewable = (await s.exec(select(Job).where(col(Job.status).in_(("completed", "rated"))))).all()
        reviews = (await s.exec(select(Review, Job, ServiceItem).join(Job, Job.id == Review.job_id)
                                .join(ServiceItem, ServiceItem.id == Job.item_id))).all()
        by_user = {u.id: u for u, _d in reviewers}
        for review, job, item in reviews:
            done = ensure_aware(job.completed_at)
            assert done <= ensure_aware(review.reviewed_at) <= min(done + timedelta(days=30), now)
            assert review.department_id == item.department_id == by_user[review.reviewer_user_id].department_id
        assert added == len(reviews) and len(reviews) >= len(reviewable) // 2 > 0
        report = await verify_stored_chain(s)
        assert report.ok, report
        credits = (await s.exec(select(AgencyCredit))).all()
        assert credits
    appeals = await count_rows(sessionmaker, Appeal)
    # A second run adds nothing.
    assert await seed_reviews(sessionmaker) == 0
    assert await count_rows(sessionmaker, Review) == len(reviews) and await count_rows(sessionmaker, Appeal) == appeals
