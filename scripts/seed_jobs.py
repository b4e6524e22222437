"""Demo jobs: a year of marketplace activity replayed through the real services.

    python -m scripts.seed_jobs [--seed N] [--count 320]

Needs the organisations of scripts/seed_demo.py (approved owners and agencies,
the "regulator" account).  Every job is created, published, quoted on, closed,
selected, objected to, contracted and completed only through the service
functions of marketplace.services (jobs, quotes, selection, awards), acting as the owner,
agency or regulator users of the database.  Jobs "in the past" are made by
shifting the platform clock (app.clock.set_clock_offset) to the simulated moment
of each step; the offset is always put back to zero.

Deterministic from the seed: the plan (which owner, category, cap, bidders,
prices, timings, twists: scripts/seed_plan.py) comes from random.Random and a seeded Faker.  What the
platform itself draws at random (server seeds, hence the draws' winners, and
quote nonces) is not ours to fix, so winners differ between databases; every
later step adapts to the winner it finds.

Idempotent: plan entry i has project code DEMO-{i+1:04d}; entries already in
the database are skipped, so a second run adds nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

if __name__ == "__main__":  # also runnable as `python scripts/seed_jobs.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlmodel import col, select
from tqdm import tqdm

import app.main  # noqa: F401  (the composition root: wires the domains' ports and tasks)
from app.auth import CurrentUser
from app.clock import ensure_aware, set_clock_offset
from app.db import SessionMaker, make_sessionmaker
from app.errors import Forbidden
from app.models import User
from app.settings import get_settings
from marketplace.models import APPROVED, AWARDED, Agency, Job, Owner, Qualification, Quote, Selection, ServiceCategory
from marketplace.schemas import JobIn, QuoteIn, SealedQuoteIn
from marketplace.services.awards import (
    decide_justification,
    decide_objection,
    file_objection,
    record_refusal,
    submit_justification,
)
from marketplace.services.contracts import agency_confirm_contract, confirm_contract
from marketplace.services.jobs import cancel_job, create_job, publish_job
from marketplace.services.keyholder_client import reset_transport, use_transport
from marketplace.services.quotes import submit_quote, withdraw_quote
from marketplace.services.results import confirm_result, deem_unanswered_results, return_result, submit_result
from marketplace.services.selection import (
    CLOSED_AWAITING_BEACON,
    CLOSED_AWAITING_CHOICE,
    choose_direct,
    close_and_select,
    enter_beacon,
)
from marketplace.services.timers import decide_extension, pause_timer, request_extension, resume_timer
from ratings.models import ListEntry, Violation
from ratings.schemas import RatingIn, ViolationIn
from ratings.services.appeals import appeal_rating, decide_appeal
from ratings.services.ratings import rate_job
from ratings.services.recompute import nightly_recompute, recompute_agency
from ratings.services.violations import lift_entry, record_violation
from scripts import seed_sealing
from scripts.seed_attachments import attach_demo_files
from scripts.seed_clarifications import seed_clarifications
from scripts.seed_engine import make_seed_engine
from scripts.seed_plan import (  # noqa: F401  (DEMO_PREFIX: the tests read it from here)
    ACCEPT_REASONS,
    CANCEL_REASONS,
    DEFAULT_SEED,
    DEMO_PREFIX,
    DIRECT_REASONS,
    DISMISS_REASONS,
    HOLDS,
    JUSTIFICATIONS,
    OBJECTION_REASONS,
    REFUSAL_REASONS,
    REJECT_REASONS,
    UPHOLD_REASONS,
    JobPlan,
    Pools,
    Standing,
    plan_jobs,
    ring_exclusions,
    sender,
    shared_offices,
    standings,
    within_cap,
)

SEALED_DAYS = 45  # the administrator turns sealing on this many days before today: later jobs are sealed
PAUSE_REASONS = ["等待业主提供项目可研批复文件", "项目选址调整，暂停编制", "等待业主补充地勘资料"]
RETURN_REASONS = ["成果缺少附图附件，请补充", "结论与监测数据不一致，请复核", "未按合同约定格式编制"]


def signed_pdf(job_no: str) -> bytes:
    """A stand-in for the scanned signed contract (a minimal PDF naming the job)."""
    return f"%PDF-1.4\n% demo: signed contract of {job_no}\n%%EOF\n".encode()


def result_pdf(tag: str) -> bytes:
    return f"%PDF-1.4\n% demo: result report {tag}\n%%EOF\n".encode()


# ---- running a plan through the services ------------------------------------------------------


class Replay:
    """Acts as the users of one database, at simulated moments, through the services."""

    def __init__(self, sessionmaker: SessionMaker, users: dict[tuple[str, int], CurrentUser],
                 regulator: CurrentUser, limit: datetime, offices: dict[int, int] | None = None,
                 standing: Standing | None = None):
        self.sm = sessionmaker
        self.offices = offices or {}
        self.standing = standing or Standing({}, {})  # regulars and poor performers: how owners rate them
        self.users = users
        self.regulator = regulator
        self.limit = limit  # nothing may happen later than this (the real present)
        self.refused_agencies: set[int] = set()
        self.var_dir = get_settings().var_dir  # where the signed contracts and results are stored
        self.sealed_from: datetime | None = None  # jobs created from then on are sealed (marketseal-v1)
        self.sealing_on = False
        self.codes: dict[int, str] = {}  # agency id -> credit code (the envelope's agency_code)
        self.story: list[tuple[datetime, Any]] = []  # (moment, coroutine function): the regulator's findings
        self.hold_bidders: set[int] = set()  # who quotes on the holds (scripts/seed_plan.HOLDS): kept off the lists

    async def play_story(self, until: datetime) -> None:
        """Play the story's moments up to `until`, each at its own simulated time."""
        while self.story and self.story[0][0] <= until:
            t, play = self.story.pop(0)
            self.at(t)
            await play()

    def at(self, t: datetime) -> None:
        if t > self.limit:
            raise AssertionError(f"simulated time {t} is in the future")
        set_clock_offset(t - datetime.now(timezone.utc))

    def owner(self, owner_id: int) -> CurrentUser:
        return self.users[("owner", owner_id)]

    def agency(self, agency_id: int) -> CurrentUser:
        return self.users[("agency", agency_id)]

    async def call(self, fn, *args, **kwargs):
        async with self.sm() as session:
            return await fn(session, *args, **kwargs)

    async def read(self, fn):
        async with self.sm() as session:
            return await fn(session)

    async def rows(self, stmt) -> list:
        async with self.sm() as session:
            return list((await session.exec(stmt)).all())

    async def selection(self, job_id: int) -> tuple[Job, Selection | None, Quote | None]:
        async def q(s):
            job = await s.get(Job, job_id)
            sel = (await s.exec(select(Selection).where(Selection.job_id == job_id))).first()
            win = await s.get(Quote, int(sel.winner_quote_id)) if sel and sel.winner_quote_id else None
            return job, sel, win
        return await self.read(q)

    # -- the lifecycle

    async def run(self, p: JobPlan) -> None:
        rng, owner = p.rng, self.owner(p.owner_id)
        t = p.created
        await self.play_story(t)
        data = JobIn(title=p.title, project_name=p.project_name, project_code=p.code, category_code=p.category,
                     item_code=p.item, min_level=p.min_level, budget_cap=p.cap, method=p.method, price_weight=p.price_weight,
                     credit_weight=p.credit_weight, state_funded=p.state_funded, quote_deadline=p.deadline,
                     service_days=p.service_days, description=p.description,
                     beacon_source="manual" if p.beacon else "none",
                     beacon_label=f"drand 主网截止后首个轮次（约第 {rng.randint(4_000_000, 5_500_000)} 轮）" if p.beacon else "",
                     exclusions=p.exclusions)
        self.at(t)
        if self.sealed_from is not None and t >= self.sealed_from and not self.sealing_on:
            await seed_sealing.switch(self.sm, "user:admin", on=True)  # the administrator, audited
            self.sealing_on = True
        job = await self.call(create_job, owner, data)
        await attach_demo_files(self.sm, owner, job.job_no, var_dir=self.var_dir)  # 比选文件, often 技术要求
        if p.outcome == "draft":
            return
        if p.outcome == "cancelled" and rng.random() < 0.3:
            self.at(t + timedelta(hours=rng.uniform(1, 48)))
            await self.call(cancel_job, owner, job.job_no, rng.choice(CANCEL_REASONS))
            return
        t += timedelta(minutes=rng.randint(5, 180))
        self.at(t)
        job = await self.call(publish_job, owner, job.job_no)
        end = min(p.deadline, self.limit) if p.outcome != "cancelled" else t + (p.deadline - t) * rng.uniform(0.3, 0.9)
        await self.quotes(p, job.job_no, t, end - timedelta(minutes=10), job.sealing)
        if p.outcome == "open":
            return
        if p.outcome == "cancelled":
            self.at(end)
            await self.call(cancel_job, owner, job.job_no, rng.choice(CANCEL_REASONS))
            return
        # The deadline passes; the deadline job (or the sweeper) closes and selects.
        t = p.deadline + timedelta(minutes=rng.randint(1, 20))
        self.at(t)
        outcome = await close_and_select(self.sm, job.id, "system")
        if outcome == "failed":
            return
        if outcome in (CLOSED_AWAITING_BEACON, CLOSED_AWAITING_CHOICE) and p.hold in ("beacon", "choice"):
            return  # closed, waiting for the regulator's beacon or the owner's choice
        if outcome == CLOSED_AWAITING_BEACON:
            t += timedelta(hours=rng.uniform(0.5, 4))
            self.at(t)
            await enter_beacon(self.sm, self.regulator, job.job_no,
                                         f"drand-{rng.randint(4_000_000, 5_500_000)}:{rng.getrandbits(256):064x}")
        elif outcome == CLOSED_AWAITING_CHOICE:
            t += timedelta(hours=rng.uniform(2, 20))
            self.at(t)
            eligible = await self.rows(select(Quote).where(Quote.job_id == job.id, Quote.eligible == True)  # noqa: E712
                                       .order_by(col(Quote.price), col(Quote.id)))
            favourite = [q for q in eligible if q.agency_id == p.favourite]
            if favourite and rng.random() < 0.95:  # the owner's usual agency, when it quoted
                chosen = favourite[0]
            else:
                chosen = eligible[0] if rng.random() < 0.4 else rng.choice(eligible)
            await choose_direct(self.sm, owner, job.job_no, str(chosen.id), rng.choice(DIRECT_REASONS))
        await self.after_selection(p, job, t)

    def quote_in(self, sealing: dict | None, job_no: str, agency_id: int, price: Decimal, days: int, note: str,
                 *, malformed: bool = False) -> QuoteIn | SealedQuoteIn:
        """The quote as the agency's page sends it: the price itself, or on a sealed job the envelope only."""
        if not sealing:
            return QuoteIn(price=price, service_days=days, note=note)
        return SealedQuoteIn(envelope=seed_sealing.envelope_for(sealing, job_no, self.codes[agency_id],
                                                                f"{price:.2f}", days, note, malformed=malformed))

    async def quotes(self, p: JobPlan, job_no: str, start: datetime, end: datetime, sealing: dict | None = None) -> None:
        """Each agency quotes from its own office address and browser, except one planted ring. On a sealed
        job one bidder in about twelve sends a broken envelope (a plaintext that is not a quote)."""
        rng = p.rng
        if not p.bidders or end <= start:
            return
        moments = sorted(start + (end - start) * rng.random() for _ in p.bidders)
        replacements = []
        for (agency_id, price, days, note), t in zip(p.bidders, moments):
            self.at(t)
            # (the favourite sends a sound envelope and keeps its quote: it wants the work)
            # (nor do the bidders of a hold: what it shows must happen)
            broken = bool(sealing) and rng.random() < 0.08 and agency_id != p.favourite and not p.hold
            try:
                await self.call(submit_quote, self.agency(agency_id), job_no,
                                self.quote_in(sealing, job_no, agency_id, price, days, note, malformed=broken),
                                **sender(agency_id, self.offices))
            except Forbidden:  # black-listed since the plan was made: the platform refuses its quote
                continue
            if rng.random() < 0.12 and agency_id != p.favourite and not p.hold:
                replacements.append((agency_id, price, days, note, t))
        for agency_id, price, days, note, t in replacements:  # a second thought before the deadline
            t2 = t + (end - t) * rng.uniform(0.2, 0.9)
            self.at(t2)
            if rng.random() < 0.15 and len(p.bidders) > 3:
                await self.call(withdraw_quote, self.agency(agency_id), job_no)
            else:
                newer = within_cap(price * Decimal(str(rng.uniform(0.93, 0.99))), p.cap)
                await self.call(submit_quote, self.agency(agency_id), job_no,
                                self.quote_in(sealing, job_no, agency_id, newer, days, note),
                                **sender(agency_id, self.offices))

    def _fits(self, t: datetime) -> bool:
        return t <= self.limit

    async def abnormal(self, p: JobPlan, job: Job, t: datetime) -> datetime | None:
        """Settle an abnormally-low flag on the winner of the moment; None when time ran out."""
        rng = p.rng
        while True:
            job, sel, win = await self.selection(job.id)
            if job.status != AWARDED or sel.abnormal_status not in ("awaiting", "submitted"):
                return t
            if p.hold == "justify":
                return None  # the winner's time to justify is still running
            others = len(sel.candidates) - len(sel.excluded) - 1
            reject = others >= 1 and rng.random() < 0.3 and not p.hold
            if sel.abnormal_status == "awaiting" and reject and rng.random() < 0.3:
                # No justification came: the owner rejects once the time to justify has passed.
                t_due = ensure_aware(sel.abnormal_due_at) + timedelta(hours=rng.uniform(1, 20))
                if not self._fits(t_due):
                    return None
                self.at(t_due)
                await self.call(decide_justification, self.owner(p.owner_id), job.job_no, False,
                                "逾期未提交低价说明")
                t = t_due
                continue
            if sel.abnormal_status == "awaiting":
                t_just = t + timedelta(hours=rng.uniform(2, 8 if p.hold else 20))
                if not self._fits(t_just):
                    return None
                self.at(t_just)
                await self.call(submit_justification, self.agency(win.agency_id), job.job_no,
                                rng.choice(JUSTIFICATIONS))
                t = t_just
                if p.hold == "justified":
                    return None  # the owner has not decided yet
            t_dec = t + timedelta(hours=rng.uniform(3, 24))
            if not self._fits(t_dec):
                return None
            self.at(t_dec)
            await self.call(decide_justification, self.owner(p.owner_id), job.job_no, not reject,
                            rng.choice(REJECT_REASONS if reject else ACCEPT_REASONS))
            t = t_dec
            if not reject:
                return t

    async def after_selection(self, p: JobPlan, job: Job, t: datetime) -> None:
        rng = p.rng
        t = await self.abnormal(p, job, t)
        if t is None:
            return
        # Objections during publicity: most dismissed, a few upheld, some left open (awarded).
        roll = rng.random()
        if roll < 0.18 and p.method != "direct" and not p.hold:
            job, sel, win = await self.selection(job.id)
            losers = sorted(set(await self.rows(select(Quote.agency_id).where(
                Quote.job_id == job.id, Quote.status == "live", Quote.agency_id != win.agency_id))))
            t_obj = t + timedelta(hours=rng.uniform(3, 40))
            if losers and self._fits(t_obj) and t_obj < ensure_aware(job.publicity_ends_at):
                self.at(t_obj)
                obj = await self.call(file_objection, self.agency(rng.choice(losers)), job.job_no,
                                      rng.choice(OBJECTION_REASONS))
                t = t_obj
                t_dec = t + timedelta(hours=rng.uniform(4, 30))
                leave_open = p.outcome == "awarded" and rng.random() < 0.5
                if self._fits(t_dec) and not leave_open:
                    others = len(sel.candidates) - len(sel.excluded) - 1
                    # A regular's award is upheld against only rarely (it keeps its planned wins).
                    uphold = others >= 1 and roll < (0.05 if self.standing.of(win.agency_id) != "regular" else 0.015)
                    self.at(t_dec)
                    await self.call(decide_objection, self.regulator, obj.id,
                                    "uphold" if uphold else "dismiss",
                                    rng.choice(UPHOLD_REASONS if uphold else DISMISS_REASONS))
                    t = t_dec
                    if uphold:
                        t = await self.abnormal(p, job, t)
                        if t is None:
                            return
        if p.outcome == "awarded" and p.hold != "agency_to_confirm":
            return
        # Publicity over: the owner confirms (or records that the winner refused to sign).
        job, sel, win = await self.selection(job.id)
        t = max(t, ensure_aware(job.publicity_ends_at)) + timedelta(hours=rng.uniform(2, 12 if p.hold else 90))
        others = len(sel.candidates) - len(sel.excluded) - 1
        if not self._fits(t):  # a long twist ran out of time: still awaiting the contract
            return
        if ((p.hold == "refused" or (not p.hold and rng.random() < 0.06)) and p.method != "direct" and others >= 1
                and self.standing.of(win.agency_id) != "regular"  # a regular signs: no violation on its record
                and win.agency_id not in self.refused_agencies and not await self.has_refused(win.agency_id)):
            self.at(t)
            await self.call(record_refusal, self.owner(p.owner_id), job.job_no, rng.choice(REFUSAL_REASONS))
            self.refused_agencies.add(win.agency_id)
            t = await self.abnormal(p, job, t)
            if t is None:
                return
            job, sel, win = await self.selection(job.id)
            t = max(t, ensure_aware(job.publicity_ends_at)) + timedelta(hours=rng.uniform(2, 90))
            if not self._fits(t):
                return
        self.at(t)
        owner = self.owner(p.owner_id)
        await self.call(confirm_contract, owner, job.job_no, f"{job.job_no}-合同.pdf", signed_pdf(job.job_no),
                        self.var_dir)
        if p.hold == "agency_to_confirm":
            return  # the agency's 5 working days to confirm are running
        t = t + timedelta(hours=rng.uniform(2, 60))  # the agency confirms within its 5 working days
        if not self._fits(t):
            return  # waiting for the agency's confirmation
        self.at(t)
        agency = self.agency(win.agency_id)
        await self.call(agency_confirm_contract, agency, job.job_no)
        t_done = await self.service(p, job, owner, agency, t)
        if t_done is None:
            return
        # Most owners rate within the 30-day window: a regular's work highly, a poor performer's badly, the
        # rest leaning to the good side.
        t_rate = t_done + timedelta(days=rng.uniform(0.5, 12))
        if rng.random() < 0.85 and self._fits(t_rate):
            self.at(t_rate)
            stars_of, comments = STARS[self.standing.of(win.agency_id)]
            stars = [rng.choices(*stars_of)[0] for _ in range(4)]
            rating = await self.call(rate_job, self.owner(p.owner_id), job.job_no, RatingIn(
                quality=stars[0], timeliness=stars[1], fee_compliance=stars[2], attitude=stars[3],
                comment=rng.choice(comments)))
            if sum(stars) <= 15 and rng.random() < (1.0 if self.standing.of(win.agency_id) == "poor" else 0.8):
                await self.appeal(rng, agency, rating.id, t_rate)

    async def appeal(self, rng, agency: CurrentUser, rating_id: int, t: datetime) -> None:
        """A poorly rated agency appeals within the 15 days; the regulator upholds (the rating is voided) or
        dismisses it some days later, or it is still pending at the present."""
        latest = min(t + timedelta(days=12), self.limit - timedelta(minutes=5))  # a recent one appeals by now
        if latest <= t + timedelta(hours=2):
            return
        t_appeal = t + (latest - t) * rng.uniform(0.1, 1.0)
        self.at(t_appeal)
        appeal = await self.call(appeal_rating, agency, rating_id, rng.choice(APPEAL_REASONS))
        t_decide = t_appeal + timedelta(days=rng.uniform(2, 20))
        if not self._fits(t_decide) or t_appeal > self.limit - timedelta(days=60):
            return  # pending: the regulator has not decided the appeals of the last weeks yet
        self.at(t_decide)
        # A poor performer's low marks are well founded: the regulator seldom voids them.
        uphold = rng.random() < (0.1 if self.standing.of(agency.agency_id) == "poor" else 0.45)
        await self.call(decide_appeal, self.regulator, appeal.id, uphold,
                        rng.choice(APPEAL_UPHOLD if uphold else APPEAL_DISMISS))

    async def service(self, p, job: Job, owner: CurrentUser, agency: CurrentUser, t: datetime) -> datetime | None:
        """The service after both confirmations: some timers paused and resumed or extended, the result
        submitted (some late), some returned once, confirmed by the owner or, once in a while, deemed
        confirmed. Returns when the job was completed, or None while it is still running."""
        rng = p.rng
        days = max(1, (await self.selection(job.id))[2].service_days)
        if rng.random() < 0.15 and not p.overdue and not p.hold and self._fits(t + timedelta(days=2)):
            self.at(t + timedelta(days=rng.uniform(1, 2)))
            await self.call(pause_timer, owner, job.job_no, rng.choice(PAUSE_REASONS))
            t = t + timedelta(days=rng.uniform(2, 6))
            if not self._fits(t):
                return None  # paused now
            self.at(t)
            await self.call(resume_timer, owner, job.job_no, "业主资料已提供，恢复计时")
        if rng.random() < 0.12 and not p.overdue and not p.hold and self._fits(t + timedelta(days=3)):
            self.at(t + timedelta(days=rng.uniform(1, 3)))
            ext = await self.call(request_extension, agency, job.job_no, rng.choice([5, 10, 15]),
                                  "现场踏勘受天气影响，申请延期")
            self.at(t + timedelta(days=rng.uniform(3, 4)))
            await self.call(decide_extension, owner, job.job_no, ext.id, rng.random() < 0.8, "同意延期")
            t = t + timedelta(days=4)
        if p.hold in ("result_submitted", "extension_requested"):
            # Lately: the agency hands in its result (the owner's 10 working days to answer run), or asks for
            # more days (the owner is to decide).
            moment = max(self.limit - timedelta(days=rng.uniform(1, 3)), t + (self.limit - t) / 2)
            self.at(moment)
            if p.hold == "result_submitted":
                await self.call(submit_result, agency, job.job_no, "成果报告及附件", [
                    (f"{job.job_no}-成果报告.pdf", result_pdf(job.job_no))], self.var_dir)
            else:
                await self.call(request_extension, agency, job.job_no, 15, "项目选址调整，需补充勘察，申请延期")
            return None
        if p.outcome != "completed":
            pause_at = t + timedelta(days=min(1.0, days / 4))
            if rng.random() < 0.2 and not p.overdue and self._fits(pause_at):  # some owners have it paused now
                self.at(pause_at)
                await self.call(pause_timer, owner, job.job_no, rng.choice(PAUSE_REASONS))
            return None  # the timer is running (or has run out: overdue), or paused
        standing = self.standing.of(agency.agency_id)
        # Now and then a little late; a regular on time, a poor performer often late (an overdue violation).
        late = {"regular": (0.5, 0.85), "poor": (0.8, 1.3)}.get(standing, (0.55, 1.08))
        t_submit = t + timedelta(days=days * rng.uniform(*late))
        if not self._fits(t_submit):
            return None
        self.at(t_submit)
        await self.call(submit_result, agency, job.job_no, "成果报告及附件", [(f"{job.job_no}-成果报告.pdf",
                                                                              result_pdf(job.job_no))], self.var_dir)
        t_answer = t_submit + timedelta(days=rng.uniform(1, 8))
        returns = {"regular": 0.0, "poor": 0.5}.get(standing, 0.18)  # a regular's result passes first time
        if rng.random() < returns and self._fits(t_answer + timedelta(days=4)):
            self.at(t_answer)
            await self.call(return_result, owner, job.job_no, rng.choice(RETURN_REASONS))
            t_submit = t_answer + timedelta(days=rng.uniform(1, 3))
            self.at(t_submit)
            await self.call(submit_result, agency, job.job_no, "已按意见修改",
                            [(f"{job.job_no}-成果报告-修改稿.pdf", result_pdf(job.job_no + "-2"))], self.var_dir)
            t_answer = t_submit + timedelta(days=rng.uniform(1, 6))
        if rng.random() < 0.04:  # the owner never answers: deemed confirmed after 10 working days
            t_answer = t_submit + timedelta(days=15)
            if not self._fits(t_answer):
                return None
            self.at(t_answer)
            await self.call(deem_unanswered_results)
            return t_answer
        if not self._fits(t_answer):
            return None
        self.at(t_answer)
        await self.call(confirm_result, owner, job.job_no)
        return t_answer

    async def has_refused(self, agency_id: int) -> bool:
        """A second refusal would be a severe violation (black list): the demo keeps to one per agency."""
        async def q(s):
            return (await s.exec(select(Violation.id).where(
                Violation.agency_id == agency_id, Violation.kind == "refused_to_sign"))).first()
        return await self.read(q) is not None


# ---- entry points ---------------------------------------------------------------------------


async def _load(sessionmaker: SessionMaker, now: datetime):
    async with sessionmaker() as s:
        users = (await s.exec(select(User).where(User.is_active == True))).all()  # noqa: E712
        regulator = next((u for u in users if u.username == "regulator"), None)
        if regulator is None:
            raise SystemExit("no 'regulator' user: run scripts/seed_demo.py first")
        by_org: dict[tuple[str, int], CurrentUser] = {}
        for u in sorted(users, key=lambda u: u.id):
            cu = CurrentUser(id=u.id, username=u.username, role=u.role, display_name=u.display_name,
                             agency_id=u.agency_id, owner_id=u.owner_id, locale=u.locale)
            if u.owner_id:
                by_org.setdefault(("owner", u.owner_id), cu)
            if u.agency_id:
                by_org.setdefault(("agency", u.agency_id), cu)
        owner_ids = [o for o in (await s.exec(select(Owner.id).where(Owner.status == APPROVED).order_by(Owner.id))).all()
                     if ("owner", o) in by_org]
        today = now.date()
        rows = (await s.exec(select(Agency.id, Agency.credit_code, ServiceCategory.code, Qualification.level)
                             .join(Qualification, Qualification.agency_id == Agency.id)
                             .join(ServiceCategory, ServiceCategory.id == Qualification.category_id)
                             .where(Agency.status == APPROVED, Qualification.status == APPROVED,
                                    Qualification.valid_until >= today + timedelta(days=60))
                             .order_by(Agency.id))).all()
        existing = set((await s.exec(select(Job.project_code).where(
            col(Job.project_code).startswith(DEMO_PREFIX)))).all())
        demo_agency = next((u.agency_id for u in users if u.username == "agency1"), None)
    pools: dict[str, list[tuple[int, str, int]]] = {}
    for agency_id, code, cat, level in rows:
        if ("agency", agency_id) in by_org:
            pools.setdefault(cat, []).append((agency_id, code, level))
    cu_reg = CurrentUser(id=regulator.id, username=regulator.username, role=regulator.role,
                         display_name=regulator.display_name, agency_id=None, owner_id=None, locale=regulator.locale)
    return by_org, cu_reg, owner_ids, Pools(pools), existing, demo_agency


RATING_COMMENTS = ["成果质量较高，按期提交。", "沟通顺畅，收费规范。", "报告基本符合要求，个别章节需补充。",
                   "响应及时，服务态度好。", "进度略有延误，但最终完成质量尚可。", "专业能力强，建议继续合作。"]
REGULAR_COMMENTS = ["成果质量高，提前提交，多次合作均很满意。", "专业能力强，响应及时，收费规范，建议继续合作。",
                    "技术负责人全程驻场，成果一次通过审查。"]
POOR_COMMENTS = ["成果多次退回修改仍不符合要求，严重延误工期。", "服务期内多次无法联系，另行要求增加费用。",
                 "报告内容大量套用其他项目，结论依据不足。"]
STARS = {  # per standing (scripts/seed_plan.Standing): (stars, weights) of each criterion, and the comments
    "regular": (([5, 4], [95, 5]), REGULAR_COMMENTS),
    "ordinary": (([5, 4, 3, 2, 1], [35, 40, 15, 7, 3]), RATING_COMMENTS),
    "poor": (([3, 2, 1], [20, 40, 40]), POOR_COMMENTS),
}


APPEAL_REASONS = ["评价所述延误系业主资料提供不及时所致，附往来函件", "成果已按合同约定提交，评价与事实不符",
                  "收费严格按合同执行，无额外收费，请复核"]
APPEAL_UPHOLD = ["经核查，延误原因在业主一方，撤销该评价", "经核查，评价依据不足，予以撤销"]
APPEAL_DISMISS = ["经核查，评价有事实依据，维持原评价", "申诉理由不成立，予以驳回"]
SEVERE = [("collusion_finding", "经调查认定与关联机构串通报价（围标串标）", "监管调查报告及报价终端信息比对记录"),
          ("forged_qualification", "投标时提交伪造的资质证书", "发证机关出具的资质核查回函")]


def black_list_story(replay: "Replay", now: datetime) -> list[tuple[datetime, Any]]:
    """The regulator's severe findings (DESIGN "Black list") as moments of the replay: the planted ring's two
    agencies for collusion 120 days ago (black-listed for 12 months: they quote no more), and one agency
    for a forged certificate 200 days ago, lifted early after credit repair 20 days ago. Each through the
    services, with the recomputation they trigger; `Replay.run` plays each before the first job after it."""
    ring = [a for pair in sorted(replay.offices.items())[:1] for a in pair]
    forged = sorted(set(replay.codes) - set(replay.offices) - set(replay.offices.values())
                    - set(replay.standing.regulars) - replay.hold_bidders)[:1]  # (a regular's record stays clean)

    def finding(agency_id: int, which: int):
        async def play() -> None:
            kind, description, evidence = SEVERE[which]
            await replay.call(record_violation, replay.regulator, ViolationIn(
                agency_code=replay.codes[agency_id], severity="severe", kind=kind, description=description,
                evidence=evidence))
            async with replay.sm() as s:
                await recompute_agency(s, agency_id)
                await s.commit()
        return play

    def lift(agency_id: int):
        async def play() -> None:
            async with replay.sm() as s:
                entry = (await s.exec(select(ListEntry).where(
                    ListEntry.agency_id == agency_id, ListEntry.kind == "black",
                    col(ListEntry.lifted_at).is_(None)))).first()
            if entry is not None:
                await replay.call(lift_entry, replay.regulator, entry.id, "完成信用修复：提交整改报告并公开信用承诺")
        return play

    moments = [(now - timedelta(days=120), finding(a, 0)) for a in ring]
    moments += [(now - timedelta(days=200), finding(a, 1)) for a in forged]
    moments += [(now - timedelta(days=20), lift(a)) for a in forged]
    return sorted(moments, key=lambda m: m[0])


async def _synchronous(sessionmaker: SessionMaker, value: int | None) -> int | None:
    """Set SQLite's `synchronous` on the (one, pooled) connection and return what it was; None elsewhere. The
    replay commits some ten thousand small transactions: in WAL mode NORMAL (1) skips the fsync of each commit
    and stays safe from corruption, at the risk of losing the last commits on a power cut, which a re-run of the
    idempotent seed puts back."""
    async with sessionmaker() as s:
        if value is None or s.get_bind().dialect.name != "sqlite":
            return None
        conn = await s.connection()
        before = (await conn.exec_driver_sql("PRAGMA synchronous")).scalar()
        await conn.exec_driver_sql(f"PRAGMA synchronous={int(value)}")
        return before


async def seed_jobs(sessionmaker: SessionMaker, *, seed: int = DEFAULT_SEED, count: int = 320,
                    progress: bool = True) -> dict[str, int]:
    """Replay `count` demo jobs; returns how many of the jobs added now ended in each status."""
    now = datetime.now(timezone.utc) - timedelta(minutes=2)
    users, regulator, owner_ids, pools, existing, demo_agency = await _load(sessionmaker, now)
    if len(existing) >= count + (len(HOLDS) if count else 0):
        return {}
    if not owner_ids or not pools.by_category:
        raise SystemExit("no approved owners or agencies: run scripts/seed_demo.py first")
    standing = standings(seed, pools, {demo_agency} if demo_agency is not None else set())
    async with sessionmaker() as s:
        districts = dict((await s.exec(select(Owner.id, Owner.district).where(col(Owner.id).in_(owner_ids)))).all())
    planned = plan_jobs(seed, count, pools, owner_ids, now, demo_agency, standing, districts)
    plans = [p for p in planned if p.code not in existing]
    plans.sort(key=lambda p: (p.created, p.index))  # job numbers follow simulated time
    offices = shared_offices([p for p in planned if not p.hold], exclude=ring_exclusions(standing, demo_agency))
    replay = Replay(sessionmaker, users, regulator, now, offices, standing)
    replay.hold_bidders = {b[0] for p in planned if p.hold for b in p.bidders}
    settings = get_settings()
    async with sessionmaker() as s:
        fresh = (await s.exec(select(Job.id).limit(1))).first() is None
    holders = seed_sealing.DemoHolders(settings.var_dir, settings.platform_id, fresh=fresh)
    token = use_transport(holders.transport)
    bar = tqdm(total=len(plans), desc="demo jobs", unit="job", disable=not progress or not plans)
    synchronous = await _synchronous(sessionmaker, 1)
    try:
        if plans:
            replay.at(plans[0].created - timedelta(hours=1))
            # The history starts unsealed (as a platform that ran before sealing existed); the administrator
            # adds the holders, then turns sealing on SEALED_DAYS before today.
            await seed_sealing.switch(sessionmaker, "user:admin", on=False)
            await seed_sealing.configure(sessionmaker, "user:admin", holders)
            replay.sealed_from = now - timedelta(days=SEALED_DAYS)
            async with sessionmaker() as s:
                replay.codes = dict((await s.exec(select(Agency.id, Agency.credit_code))).all())
            replay.story = black_list_story(replay, now)
        for p in plans:
            await replay.run(p)
            bar.update(1)
        if plans:  # with the holders still in process: an amendment may move a sealed job's deadline
            await seed_clarifications(replay, seed, now)
        if plans:
            await replay.play_story(now)  # what falls after the last job
            set_clock_offset(timedelta(0))
            async with sessionmaker() as s:
                await nightly_recompute(s)  # scores and lists as they stand today
    finally:
        set_clock_offset(timedelta(0))
        reset_transport(token)
        holders.close()
        bar.close()
        await _synchronous(sessionmaker, synchronous)
    codes = [p.code for p in plans]
    async with sessionmaker() as s:
        statuses = (await s.exec(select(Job.status).where(col(Job.project_code).in_(codes)))).all()
    return dict(sorted(Counter(statuses).items()))


async def _main(seed_value: int, count: int) -> None:
    from app.settings import get_settings

    engine = make_seed_engine(get_settings().database_url)
    started = time.perf_counter()
    try:
        added = await seed_jobs(make_sessionmaker(engine), seed=seed_value, count=count)
    finally:
        await engine.dispose()
    total = sum(added.values())
    print(f"added {total} jobs in {time.perf_counter() - started:.1f} s: {added}" if total
          else "nothing to add: the demo jobs are already there")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--count", type=int, default=320)
    args = parser.parse_args()
    asyncio.run(_main(args.seed, args.count))
