"""The demo's reviewers (审批部门) and their reviews, through the services the pages use.

One reviewer account per approving department of the catalogue (`reviewer1` … in the catalogue's department
order: ECO, NRP, HUD, EMB, WATER, DRC), each with a random password nobody is told (`reset_demo_passwords` gives
one, e.g. `reviewer1`, a one-time password). Then most completed and rated demo jobs (about four in five, chosen
from the job number, so the choice is the same on every run) get their department's review at a moment within the
30 days after completion, on the demo replay clock (app.clock.set_clock_offset, as scripts/seed_jobs.py does), never
after the real now. A department sees the same work the owner saw: its marks follow the owner's rating of the job
(or, where the owner did not rate it, the agency's other ratings), give or take a star. The three lowest reviews old enough are appealed by their agencies: one upheld (voided), one
dismissed, one left open. Every agency reviewed is recomputed at the end. Call it after the jobs are seeded::

    from scripts.seed_reviews import seed_reviews

    added["reviews"] = await seed_reviews(sessionmaker)

Idempotent: existing reviewer accounts and reviews are kept and a job reviewed already is skipped, so a second run
adds nothing. Returns the number of reviews recorded now. Prints nothing (no passwords).
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from app.accounts import as_current, new_user
from app.audit import append_event
from app.clock import ensure_aware, set_clock_offset
from app.db import SessionMaker
from app.models import User
from marketplace.catalogue_models import Department, ServiceItem
from marketplace.models import COMPLETED, RATED, Agency, Contract, Job
from ratings.models import Appeal, Rating, Review
from ratings.review_schemas import ReviewIn
from ratings.services.appeals import appeal_review, decide_appeal
from ratings.services.recompute import recompute_agency
from ratings.services.reviews import REVIEW_WINDOW_DAYS, review_job
from scripts.seed_plan import UNSHOWN_PASSWORD

REVIEWER_PREFIX = "reviewer"
SHARE = 0.8  # of the completed and rated jobs reviewed
COMMENTS = {
    5: ["成果文件内容完整，结论明确，符合审批要求。", "报告编制规范，技术路线合理，可直接作为审批依据。"],
    4: ["成果基本符合审批要求，个别图表需补充说明。", "内容较完整，引用标准准确，格式有少量瑕疵。"],
    3: ["成果满足基本要求，但部分章节论证不够充分。", "需补充现场调查资料后方可作为审批依据。"],
    2: ["成果存在较多缺漏，与审批要求差距明显。", "引用的技术规范已废止，结论依据不足。"],
    1: ["成果不符合审批要求，需重新编制。"],
}
APPEAL_REASON = "审查意见所指问题已在成果补充材料中说明，请求复核。"


def _pick(job_no: str) -> random.Random:
    return random.Random(int(hashlib.sha256(f"review-{job_no}".encode()).hexdigest()[:16], 16))


def _real_now() -> datetime:
    return datetime.now(UTC)


def _at(t: datetime) -> None:
    set_clock_offset(t - _real_now())


async def ensure_reviewers(sessionmaker: SessionMaker) -> dict[int, User]:
    """One reviewer per active department (reviewer1 …); {department id: user}."""
    out: dict[int, User] = {}
    async with sessionmaker() as session:
        departments = (await session.exec(select(Department).where(col(Department.active).is_(True))
                                          .order_by(col(Department.sort_order), col(Department.id)))).all()
        for i, dept in enumerate(departments, start=1):
            username = f"{REVIEWER_PREFIX}{i}"
            user = (await session.exec(select(User).where(User.username == username))).first()
            if user is None:
                display = f"{dept.name_zh}审查员"
                user = await new_user(session, username=username, password=UNSHOWN_PASSWORD,
                                      role="reviewer", display_name=display)
                user.department_id = dept.id
                session.add(user)
                await append_event(session, actor="seed", kind="account.reviewer_created",
                                   subject=f"user:{username}", data={"display_name": display, "department": dept.code})
                await session.commit()
            if user.role == "reviewer" and user.department_id is not None:
                out[user.department_id] = user
    return out


async def seed_reviews(sessionmaker: SessionMaker) -> int:
    reviewers = await ensure_reviewers(sessionmaker)
    async with sessionmaker() as session:
        rows = (await session.exec(
            select(Job, ServiceItem.department_id).join(ServiceItem, ServiceItem.id == Job.item_id)
            .where(col(Job.status).in_((COMPLETED, RATED)), col(Job.completed_at).is_not(None))
            .where(~select(Review.id).where(Review.job_id == Job.id).exists())
            .order_by(col(Job.completed_at), col(Job.id)))).all()
        agency_of = dict((await session.exec(select(Contract.job_id, Contract.agency_id))).all())
        rated = (await session.exec(select(Rating.job_id, Rating.agency_id, Rating.score)
                                    .where(col(Rating.voided_at).is_(None)))).all()
    by_job = {job_id: float(score) for job_id, _a, score in rated}
    by_agency: dict[int, list[float]] = {}
    for _j, agency_id, score in rated:
        by_agency.setdefault(agency_id, []).append(float(score))
    now = _real_now()
    # Each department's latest result still inside its review window stays for its reviewer to review (the demo
    # reviewer1 … logs in to a result waiting for them).
    waiting = {dept_id: job.id for job, dept_id in rows
               if ensure_aware(job.completed_at) > now - timedelta(days=REVIEW_WINDOW_DAYS - 2)}
    added: list[Review] = []
    try:
        for job, dept_id in rows:
            reviewer = reviewers.get(dept_id)
            rng = _pick(job.job_no)
            if reviewer is None or rng.random() >= SHARE or waiting.get(dept_id) == job.id:
                continue
            done = ensure_aware(job.completed_at)
            latest = min(done + timedelta(days=REVIEW_WINDOW_DAYS - 1), now - timedelta(minutes=5))
            if latest <= done:
                continue
            t = done + (latest - done) * rng.uniform(0.05, 0.9)
            seen = by_agency.get(agency_of.get(job.id), [])
            basis = by_job.get(job.id, sum(seen) / len(seen) if seen else None)  # the owner's view, 0–100
            if basis is None:
                quality = rng.choices([5, 4, 3, 2, 1], weights=[30, 40, 18, 9, 3])[0]
            else:
                quality = max(1, min(5, round(1 + basis / 25) + rng.choices([-1, 0, 1], weights=[1, 6, 1])[0]))
            compliance = max(1, min(5, quality + rng.choices([-1, 0, 1], weights=[1, 4, 1])[0]))
            _at(t)
            async with sessionmaker() as session:
                review = await review_job(session, as_current(reviewer), job.job_no, ReviewIn(
                    result_quality=quality, compliance=compliance, comment=rng.choice(COMMENTS[quality])))
            added.append(review)
        await _appeals(sessionmaker, added, now)
    finally:
        set_clock_offset(timedelta(0))
    for agency_id in sorted({r.agency_id for r in added}):
        async with sessionmaker() as session:
            await recompute_agency(session, agency_id)
    return len(added)


async def _appeals(sessionmaker: SessionMaker, added: list[Review], now: datetime) -> None:
    """The three lowest reviews old enough to have been appealed and decided: upheld, dismissed, left open."""
    async with sessionmaker() as session:
        if (await session.exec(select(Appeal.id).where(col(Appeal.review_id).is_not(None)))).first():
            return  # a previous run filed them
        regulator = (await session.exec(select(User).where(User.role == "regulator").order_by(col(User.id)))).first()
    old = [r for r in added if ensure_aware(r.reviewed_at) + timedelta(days=20) < now]
    for n, review in enumerate(sorted(old, key=lambda r: (r.score, r.id))[:3]):
        async with sessionmaker() as session:
            agency_user = (await session.exec(select(User).join(Agency, Agency.id == User.agency_id).join(
                Contract, Contract.agency_id == Agency.id).where(Contract.id == review.contract_id)
                .order_by(col(User.id)))).first()
        if agency_user is None:
            continue
        filed = ensure_aware(review.reviewed_at) + timedelta(days=3)
        _at(filed)
        async with sessionmaker() as session:
            appeal = await appeal_review(session, as_current(agency_user), review.id, APPEAL_REASON)
        if n == 2 or regulator is None:
            continue  # left open for the regulator
        _at(filed + timedelta(days=6))
        async with sessionmaker() as session:
            await decide_appeal(session, as_current(regulator), appeal.id, n == 0,
                                "复核后认定审查意见依据不足，撤销该审查评价。" if n == 0 else "审查意见有据，维持原评价。")
