"""Demo jobs: a year of marketplace activity replayed through the real services.

    python -m scripts.seed_jobs [--seed N] [--count 320]

Needs the organisations of scripts/seed_demo.py (approved owners and agencies,
the "regulator" account).  Every job is created, published, quoted on, closed,
selected, objected to, contracted and completed only through the service
functions of marketplace.market / marketplace.selecting, acting as the owner,
agency or regulator users of the database.  Jobs "in the past" are made by
shifting the platform clock (models.set_clock_offset) to the simulated moment
of each step; the offset is always put back to zero.

Deterministic from the seed: the plan (which owner, category, cap, bidders,
prices, timings, twists) comes from random.Random and a seeded Faker.  What the
platform itself draws at random (server seeds, hence the draws' winners, and
quote nonces) is not ours to fix, so winners differ between databases; every
later step adapts to the winner it finds.

Idempotent: plan entry i has project code DEMO-{i+1:04d}; entries already in
the database are skipped, so a second run adds nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from itertools import combinations
from pathlib import Path

if __name__ == "__main__":  # also runnable as `python scripts/seed_jobs.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faker import Faker
from sqlmodel import col, select
from tqdm import tqdm

import app.main  # noqa: F401  (the composition root: wires the domains' ports and tasks)
from app.auth import CurrentUser
from app.clock import ensure_aware, set_clock_offset
from app.db import SessionMaker, make_engine, make_sessionmaker
from app.models import User
from marketplace.models import APPROVED, AWARDED, Agency, Job, Owner, Qualification, Quote, Selection, ServiceCategory
from marketplace.schemas import JobIn, QuoteIn
from marketplace.services.awards import (
    complete_job,
    confirm_contract,
    decide_justification,
    decide_objection,
    file_objection,
    record_refusal,
    submit_justification,
)
from marketplace.services.jobs import cancel_job, create_job, publish_job
from marketplace.services.quotes import submit_quote, withdraw_quote
from marketplace.services.registry import DEFAULT_CATEGORIES
from marketplace.services.selection import (
    CLOSED_AWAITING_BEACON,
    CLOSED_AWAITING_CHOICE,
    choose_direct,
    close_and_select,
    enter_beacon,
)
from ratings.models import Violation
from ratings.schemas import RatingIn
from ratings.services.ratings import rate_job
from ratings.services.recompute import nightly_recompute
from scripts.seed_demo import DEFAULT_SEED  # the organisations' seed

DEMO_PREFIX = "DEMO-"
BLOCK = 40
# Final outcomes of one block of 40 plan entries (shuffled per block).  27 of
# 40 end with a selection, so 320 jobs give ~216 draw records.
BLOCK_OUTCOMES = {"draft": 2, "open": 5, "cancelled": 2, "failed": 4, "awarded": 5, "contracted": 8,
                  "completed": 14}
SELECTED_OUTCOMES = ("awarded", "contracted", "completed")
METHOD_WEIGHTS = {"random": 25, "random_weighted": 15, "lowest": 20, "optimal": 15, "best_value": 15, "direct": 10}
DIRECT_CAP = Decimal("100000.00")

CAP_RANGES = {  # (min, max) budget cap in yuan per category
    "EIA": (30_000, 600_000), "SAFETY": (20_000, 300_000), "SURVEY": (50_000, 1_500_000),
    "DESIGN": (100_000, 2_000_000), "COST": (20_000, 800_000), "MAPPING": (20_000, 400_000),
    "LAND": (20_000, 200_000), "SOILWATER": (20_000, 300_000), "ENERGY": (20_000, 200_000),
    "GEOHAZARD": (20_000, 300_000), "SUPERVISION": (100_000, 2_000_000), "TENDER": (20_000, 300_000),
}
TITLES = {
    "EIA": ["{p}环境影响评价", "{p}环境影响报告表编制"],
    "SAFETY": ["{p}安全预评价", "{p}安全验收评价"],
    "SURVEY": ["{p}工程勘察", "{p}岩土工程详细勘察"],
    "DESIGN": ["{p}施工图设计", "{p}方案及初步设计"],
    "COST": ["{p}全过程工程造价咨询", "{p}工程量清单及招标控制价编制", "{p}竣工结算审核"],
    "MAPPING": ["{p}地形图测绘", "{p}竣工测量", "{p}规划放线及核实测量"],
    "LAND": ["{p}用地土地估价", "{p}国有建设用地使用权出让地价评估"],
    "SOILWATER": ["{p}水土保持方案编制"],
    "ENERGY": ["{p}节能评估报告编制"],
    "GEOHAZARD": ["{p}地质灾害危险性评估"],
    "SUPERVISION": ["{p}施工监理", "{p}全过程监理服务"],
    "TENDER": ["{p}施工招标代理", "{p}设备采购招标代理"],
}
NUMBERS = "一二三四五六七八九"
DIRECT_REASONS = ["该机构近三年承担同类项目 5 个以上，服务方案最契合本项目", "报价合理且承诺服务周期最短",
                  "该机构熟悉本项目前期资料，可缩短工作周期", "技术负责人具有同类工程经验，响应方案完整"]
OBJECTION_REASONS = ["中选机构拟派项目负责人同期在其他项目任职，存疑", "中选机构资质证书有效期存疑，请核查",
                     "中选报价明显低于成本，可能影响服务质量", "中选机构近期存在不良行为记录，请核实"]
DISMISS_REASONS = ["经核查，中选机构资质及人员符合要求，异议不成立", "异议缺乏事实依据，予以驳回"]
UPHOLD_REASONS = ["经核查，中选机构拟派负责人确在其他项目任职，异议成立", "经核查，中选机构资质证书已过期，异议成立"]
JUSTIFICATIONS = ["我单位在本区域有在建同类项目，人员设备可共用，成本较低，详见成本分析表",
                  "本项目可复用我单位已有的区域基础资料，外业工作量减少约三成",
                  "我单位自有检测设备及专业团队，无需外委，报价包含全部服务内容"]
ACCEPT_REASONS = ["成本说明合理，予以接受", "经评审，低价理由充分"]
REJECT_REASONS = ["成本说明不足以支撑报价，不予接受", "未提供有效成本构成，存在低于成本风险"]
REFUSAL_REASONS = ["中选机构书面告知无法按中选价格签订合同", "中选机构逾期未签订合同，视为放弃中选"]
CANCEL_REASONS = ["项目计划调整，暂停选取", "项目立项批复调整，取消本次选取", "服务内容需重新核定，另行公告"]
QUOTE_NOTES = ["", "", "承诺按期完成并提交成果", "拟派技术负责人具有高级职称", "可提供现场驻点服务", "报价含全部税费"]


@dataclass
class Pools:
    """Approved agencies with an approved qualification, per category: (agency_id, code, level)."""

    by_category: dict[str, list[tuple[int, str, int]]]

    def eligible(self, category: str, min_level: int) -> list[tuple[int, str, int]]:
        return [a for a in self.by_category.get(category, []) if a[2] <= min_level]


@dataclass
class JobPlan:
    index: int
    code: str
    outcome: str
    method: str
    owner_id: int
    category: str
    min_level: int
    state_funded: bool
    cap: Decimal
    title: str
    project_name: str
    description: str
    service_days: int
    beacon: bool
    price_weight: int | None
    credit_weight: int | None
    exclusions: list[str]
    bidders: list[tuple[int, Decimal, int, str]]  # agency_id, price, service_days, note
    created: datetime
    deadline: datetime
    rng: random.Random = field(repr=False)


# ---- planning (pure: seed, pools and owners in, plans out) ------------------------------------


BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 "
    "Safari/537.36 Edg/130.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
)
def shared_offices(plans: list["JobPlan"], rings: int = 2) -> dict[int, int]:
    """The demo's rings: the `rings` pairs of agencies that bid together most often quote from one
    office and one computer (what the collusion signals are for). Maps the second agency to the first."""
    together: Counter[tuple[int, int]] = Counter()
    for p in plans:
        together.update(combinations(sorted({b[0] for b in p.bidders}), 2))
    offices: dict[int, int] = {}
    for (a, b), _n in sorted(together.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(offices) >= rings:
            break
        if not {a, b} & (set(offices) | set(offices.values())):
            offices[b] = a
    return offices


def sender(agency_id: int, offices: dict[int, int]) -> dict[str, str]:
    """The demo's client address and browser of an agency's quotes (one office network each)."""
    a = offices.get(agency_id, agency_id)
    return {"client_ip": f"10.20.{a // 250}.{a % 250 + 1}", "user_agent": BROWSERS[a % len(BROWSERS)]}


def _money(value: Decimal | float | int) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _cap(rng: random.Random, category: str, direct: bool) -> Decimal:
    lo, hi = CAP_RANGES[category]
    if direct:
        lo, hi = 20_000, 100_000
    value = lo * (hi / lo) ** rng.random()  # log-uniform: many small jobs, a few large ones
    return Decimal(max(20_000, min(int(round(value / 100)) * 100, hi)))


def _price(rng: random.Random, cap: Decimal, level: float, low: bool) -> Decimal:
    ratio = rng.uniform(0.55, 0.59) if low else min(0.99, max(0.55, rng.gauss(level, 0.07)))
    price = cap * Decimal(str(ratio))
    if rng.random() < 0.4:  # many agencies quote round figures
        price = (price / 10).quantize(Decimal("1"), rounding=ROUND_HALF_UP) * 10
    return _within(price, cap)


def _within(price: Decimal, cap: Decimal) -> Decimal:
    """Keep a quote between 55 % and 99 % of the cap (whole cents inside the range)."""
    lo = (cap * Decimal("0.55")).quantize(Decimal("0.01"), rounding="ROUND_CEILING")
    hi = (cap * Decimal("0.99")).quantize(Decimal("0.01"), rounding="ROUND_FLOOR")
    return min(max(_money(price), lo), hi)


def _project(rng: random.Random, fake: Faker) -> str:
    place, street = fake.district(), fake.street_name()
    return rng.choice([
        f"{street}改扩建工程", f"{street}道路提升及管网改造工程", f"{street}大桥维修加固工程",
        f"{place}区第{rng.choice(NUMBERS)}实验学校新建项目", f"{place}污水处理厂提标改造工程",
        f"{place}人民医院门诊综合楼建设项目", f"{place}{fake.last_name()}家河综合整治工程",
        f"{place}安置小区（{rng.choice(NUMBERS[:4])}期）建设项目", f"{place}产业园基础设施配套工程",
        f"{place}中心公园提升改造工程", f"{place}农贸市场改造提升项目", f"{place}养老服务中心新建工程",
        f"{place}体育中心建设项目", f"{place}城乡供水一体化工程", f"{place}幼儿园新建工程",
    ])


def _weighted_method(rng: random.Random) -> str:
    return rng.choices(list(METHOD_WEIGHTS), weights=list(METHOD_WEIGHTS.values()))[0]


def _block(seed: int, b: int) -> tuple[list[str], list[str]]:
    """The shuffled outcomes of block b, and the methods of its selected jobs (each method twice at least)."""
    rng = random.Random(f"{seed}-block-{b}")
    outcomes = [o for o, n in BLOCK_OUTCOMES.items() for _ in range(n)]
    rng.shuffle(outcomes)
    n_selected = sum(1 for o in outcomes if o in SELECTED_OUTCOMES)
    methods = [m for m in METHOD_WEIGHTS for _ in range(2)]
    methods += [_weighted_method(rng) for _ in range(n_selected - len(methods))]
    rng.shuffle(methods)
    return outcomes, methods


def plan_jobs(seed: int, count: int, pools: Pools, owner_ids: list[int], now: datetime,
              demo_agency_id: int | None = None) -> list[JobPlan]:
    """Everything seed_jobs will do, decided from the seed (and the organisations) alone."""
    fake = Faker("zh_CN")
    cat_names = {c: zh for c, zh, _en in DEFAULT_CATEGORIES}
    plans = []
    blocks: dict[int, tuple[list[str], list[str]]] = {}
    for i in range(count):
        b = i // BLOCK
        if b not in blocks:
            blocks[b] = _block(seed, b)
        outcomes, methods = blocks[b]
        outcome = outcomes[i % BLOCK]
        if outcome in SELECTED_OUTCOMES:
            pos = sum(1 for o in outcomes[: i % BLOCK] if o in SELECTED_OUTCOMES)
            method = methods[pos]
        else:
            method = None
        rng = random.Random(f"{seed}-job-{i}")
        fake.seed_instance(seed * 100_003 + i)
        method = method or _weighted_method(rng)
        selected = outcome in SELECTED_OUTCOMES
        state_funded = rng.random() < (0.55 if method == "direct" else 0.75)
        if outcome == "failed":
            state_funded = state_funded or rng.random() < 0.7
        # Category and level with enough qualified agencies for what the job must go through.
        need = (3 if state_funded else 1) if selected else 0
        min_level = rng.choices([3, 2, 1], weights=[50, 35, 15])[0]
        cats = list(CAP_RANGES)
        rng.shuffle(cats)
        category = next((c for c in cats if len(pools.eligible(c, min_level)) >= max(need, 4)), None)
        if category is None:
            min_level = 3
            category = max(cats, key=lambda c: len(pools.eligible(c, 3)))
        pool = pools.eligible(category, min_level)
        if selected and len(pool) < 3:
            state_funded = False
        cap = _cap(rng, category, method == "direct")
        project = _project(rng, fake)
        title = rng.choice(TITLES[category]).format(p=project)
        service_days = rng.randint(20, 150)
        beacon = method != "direct" and rng.random() < 0.15
        pw = cw = None
        if method == "best_value" and rng.random() < 0.5:
            pw = rng.choice([50, 70, 80])
            cw = 100 - pw
        # Timeline.
        window = timedelta(days=rng.randint(3, 10), hours=rng.randint(0, 8))
        if outcome in ("draft", "open"):
            created = now - timedelta(days=rng.uniform(0.15, 6))  # published ≤ 3 h later
            deadline = now + timedelta(days=rng.uniform(1, 20))
        elif outcome == "awarded":
            waits = method == "direct" or beacon
            deadline = now - timedelta(days=rng.uniform(0.2, 2.0) + (0.9 if waits else 0))
            created = deadline - window
        else:
            span = window + timedelta(days=30)  # room for objections, refusals, publicity, contract
            if outcome == "completed":
                span += timedelta(days=service_days)
            extra = {"completed": 330 - span.days, "contracted": 45, "cancelled": 300,
                     "failed": 320}[outcome]
            extra_days = rng.uniform(0, max(extra, 5))
            if outcome == "contracted":  # still within its service period
                service_days = rng.randint(int(extra_days) + 40, int(extra_days) + 150)
            created = now - span - timedelta(days=extra_days)
            deadline = created + window
        # Bidders.
        if selected:
            n = rng.randint(3, 9) if state_funded else rng.randint(1, 6)
        elif outcome == "failed":
            n = rng.randint(0, 2) if state_funded else 0
        elif outcome == "open":
            n = rng.randint(0, 5)
        elif outcome == "cancelled":
            n = rng.randint(0, 2)
        else:
            n = 0
        order = list(pool)
        rng.shuffle(order)
        if demo_agency_id is not None and rng.random() < 0.4:  # the demo login "agency1" bids often
            order.sort(key=lambda a: a[0] != demo_agency_id)
        bidders_pool, spare = order[:n], order[n:]
        exclusions = [spare[0][1]] if spare and rng.random() < 0.1 else []
        level = rng.uniform(0.62, 0.92)  # how keen this market is, as a share of the cap
        # Now and then one bidder undercuts the rest (异常低价 in lowest / best_value).
        undercut = (selected and method in ("lowest", "best_value") and len(bidders_pool) >= 2
                    and rng.random() < 0.3)
        if undercut:
            level = max(level, 0.88)
        bidders = []
        for k, a in enumerate(bidders_pool):
            price = _price(rng, cap, level, undercut and k == 0)
            if undercut and k > 0:
                price = max(price, _within(cap * Decimal("0.85"), cap))
            bidders.append((a[0], price, max(1, int(service_days * rng.uniform(0.7, 1.0))), rng.choice(QUOTE_NOTES)))
        created = created.replace(second=0, microsecond=0)
        deadline = deadline.replace(minute=0 if rng.random() < 0.7 else 30, second=0, microsecond=0)
        description = (f"{project}已完成立项审批，现通过中介服务超市公开选取{cat_names[category]}服务机构。"
                       f"服务内容：按国家及地方现行规范完成{cat_names[category]}工作并提交成果文件，"
                       f"配合业主完成相关审查、备案。服务期限：合同签订后 {service_days} 日历天。")
        plans.append(JobPlan(
            index=i, code=f"{DEMO_PREFIX}{i + 1:04d}", outcome=outcome, method=method,
            owner_id=owner_ids[0] if rng.random() < 0.2 else rng.choice(owner_ids), category=category,
            min_level=min_level, state_funded=state_funded, cap=cap, title=title, project_name=project,
            description=description, service_days=service_days, beacon=beacon, price_weight=pw, credit_weight=cw,
            exclusions=exclusions, bidders=bidders, created=created, deadline=deadline, rng=rng))
    return plans


# ---- running a plan through the services ------------------------------------------------------


class Replay:
    """Acts as the users of one database, at simulated moments, through the services."""

    def __init__(self, sessionmaker: SessionMaker, users: dict[tuple[str, int], CurrentUser],
                 regulator: CurrentUser, limit: datetime, offices: dict[int, int] | None = None):
        self.sm = sessionmaker
        self.offices = offices or {}
        self.users = users
        self.regulator = regulator
        self.limit = limit  # nothing may happen later than this (the real present)
        self.refused_agencies: set[int] = set()

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
        data = JobIn(title=p.title, project_name=p.project_name, project_code=p.code, category_code=p.category,
                     min_level=p.min_level, budget_cap=p.cap, method=p.method, price_weight=p.price_weight,
                     credit_weight=p.credit_weight, state_funded=p.state_funded, quote_deadline=p.deadline,
                     service_days=p.service_days, description=p.description,
                     beacon_source="manual" if p.beacon else "none",
                     beacon_label=f"drand 主网截止后首个轮次（约第 {rng.randint(4_000_000, 5_500_000)} 轮）" if p.beacon else "",
                     exclusions=p.exclusions)
        self.at(t)
        job = await self.call(create_job, owner, data)
        if p.outcome == "draft":
            return
        if p.outcome == "cancelled" and rng.random() < 0.3:
            self.at(t + timedelta(hours=rng.uniform(1, 48)))
            await self.call(cancel_job, owner, job.job_no, rng.choice(CANCEL_REASONS))
            return
        t += timedelta(minutes=rng.randint(5, 180))
        self.at(t)
        await self.call(publish_job, owner, job.job_no)
        end = min(p.deadline, self.limit) if p.outcome != "cancelled" else t + (p.deadline - t) * rng.uniform(0.3, 0.9)
        await self.quotes(p, job.job_no, t, end - timedelta(minutes=10))
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
            chosen = eligible[0] if rng.random() < 0.4 else rng.choice(eligible)
            await choose_direct(self.sm, owner, job.job_no, str(chosen.id), rng.choice(DIRECT_REASONS))
        await self.after_selection(p, job, t)

    async def quotes(self, p: JobPlan, job_no: str, start: datetime, end: datetime) -> None:
        """Each agency quotes from its own office address and browser, except one planted ring."""
        rng = p.rng
        if not p.bidders or end <= start:
            return
        moments = sorted(start + (end - start) * rng.random() for _ in p.bidders)
        replacements = []
        for (agency_id, price, days, note), t in zip(p.bidders, moments):
            self.at(t)
            await self.call(submit_quote, self.agency(agency_id), job_no,
                            QuoteIn(price=price, service_days=days, note=note), **sender(agency_id, self.offices))
            if rng.random() < 0.12:
                replacements.append((agency_id, price, days, note, t))
        for agency_id, price, days, note, t in replacements:  # a second thought before the deadline
            t2 = t + (end - t) * rng.uniform(0.2, 0.9)
            self.at(t2)
            if rng.random() < 0.15 and len(p.bidders) > 3:
                await self.call(withdraw_quote, self.agency(agency_id), job_no)
            else:
                newer = _within(price * Decimal(str(rng.uniform(0.93, 0.99))), p.cap)
                await self.call(submit_quote, self.agency(agency_id), job_no,
                                QuoteIn(price=newer, service_days=days, note=note), **sender(agency_id, self.offices))

    def _fits(self, t: datetime) -> bool:
        return t <= self.limit

    async def abnormal(self, p: JobPlan, job: Job, t: datetime) -> datetime | None:
        """Settle an abnormally-low flag on the winner of the moment; None when time ran out."""
        rng = p.rng
        while True:
            job, sel, win = await self.selection(job.id)
            if job.status != AWARDED or sel.abnormal_status not in ("awaiting", "submitted"):
                return t
            others = len(sel.candidates) - len(sel.excluded) - 1
            reject = others >= 1 and rng.random() < 0.3
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
                t_just = t + timedelta(hours=rng.uniform(2, 20))
                if not self._fits(t_just):
                    return None
                self.at(t_just)
                await self.call(submit_justification, self.agency(win.agency_id), job.job_no,
                                rng.choice(JUSTIFICATIONS))
                t = t_just
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
        if roll < 0.18 and p.method != "direct":
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
                    uphold = others >= 1 and roll < 0.05
                    self.at(t_dec)
                    await self.call(decide_objection, self.regulator, obj.id,
                                    "uphold" if uphold else "dismiss",
                                    rng.choice(UPHOLD_REASONS if uphold else DISMISS_REASONS))
                    t = t_dec
                    if uphold:
                        t = await self.abnormal(p, job, t)
                        if t is None:
                            return
        if p.outcome == "awarded":
            return
        # Publicity over: the owner confirms (or records that the winner refused to sign).
        job, sel, win = await self.selection(job.id)
        t = max(t, ensure_aware(job.publicity_ends_at)) + timedelta(hours=rng.uniform(2, 90))
        others = len(sel.candidates) - len(sel.excluded) - 1
        if not self._fits(t):  # a long twist ran out of time: still awaiting the contract
            return
        if (rng.random() < 0.06 and p.method != "direct" and others >= 1
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
        await self.call(confirm_contract, self.owner(p.owner_id), job.job_no)
        if p.outcome != "completed":
            return
        t_done = min(t + timedelta(days=p.service_days * rng.uniform(0.6, 1.0)), self.limit)
        if t_done <= t:
            return
        self.at(t_done)
        await self.call(complete_job, self.owner(p.owner_id), job.job_no)
        # Most owners rate within the 30-day window; ratings lean to the good side.
        t_rate = t_done + timedelta(days=rng.uniform(0.5, 12))
        if rng.random() < 0.75 and self._fits(t_rate):
            self.at(t_rate)
            stars = [rng.choices([5, 4, 3, 2, 1], [50, 30, 12, 5, 3])[0] for _ in range(4)]
            await self.call(rate_job, self.owner(p.owner_id), job.job_no, RatingIn(
                quality=stars[0], timeliness=stars[1], fee_compliance=stars[2], attitude=stars[3],
                comment=rng.choice(RATING_COMMENTS)))

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


async def seed_jobs(sessionmaker: SessionMaker, *, seed: int = DEFAULT_SEED, count: int = 320,
                    progress: bool = True) -> dict[str, int]:
    """Replay `count` demo jobs; returns how many of the jobs added now ended in each status."""
    now = datetime.now(timezone.utc) - timedelta(minutes=2)
    users, regulator, owner_ids, pools, existing, demo_agency = await _load(sessionmaker, now)
    if len(existing) >= count:
        return {}
    if not owner_ids or not pools.by_category:
        raise SystemExit("no approved owners or agencies: run scripts/seed_demo.py first")
    planned = plan_jobs(seed, count, pools, owner_ids, now, demo_agency)
    plans = [p for p in planned if p.code not in existing]
    plans.sort(key=lambda p: (p.created, p.index))  # job numbers follow simulated time
    replay = Replay(sessionmaker, users, regulator, now, shared_offices(planned))
    bar = tqdm(total=len(plans), desc="demo jobs", unit="job", disable=not progress or not plans)
    try:
        for p in plans:
            await replay.run(p)
            bar.update(1)
    finally:
        set_clock_offset(timedelta(0))
        bar.close()
    if plans:
        async with sessionmaker() as s:
            await nightly_recompute(s)  # scores and lists as they stand today
    codes = [p.code for p in plans]
    async with sessionmaker() as s:
        statuses = (await s.exec(select(Job.status).where(col(Job.project_code).in_(codes)))).all()
    return dict(sorted(Counter(statuses).items()))


async def _main(seed_value: int, count: int) -> None:
    from app.settings import get_settings

    engine = make_engine(get_settings().database_url)
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
