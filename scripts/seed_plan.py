"""Demo jobs, planned: what scripts/seed_jobs.py will replay, decided from the seed alone (pure).

Which owner, category, cap, bidders, prices, timings and twists each demo job gets comes
from random.Random and a seeded Faker; nothing here touches the database.
"""


from __future__ import annotations

import random
import secrets
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import combinations
from pathlib import Path

if __name__ == "__main__":  # also runnable as `python scripts/seed_jobs.py`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from faker import Faker

import app.main  # noqa: F401  (the composition root: wires the domains' ports and tasks)
from marketplace.catalogue_data import DEFAULT_ITEMS
from marketplace.domain.methods import OPTIMAL_PERCENTAGES, optimal_reference
from marketplace.services.registry import DEFAULT_CATEGORIES

DEFAULT_SEED = 20261127  # the demo's seed: organisations (seed_demo) and jobs (seed_jobs)
# The one password of every seeded account that is not a demo account (organisations, reviewers, the
# administrator and regulator until `reset_demo_passwords` gives the demo accounts their own): random per run and
# never shown, so those accounts cannot log in until reset, as before; one password lets the seed hash it once
# (`app.passwords.one_hash_per_password`) instead of an argon2 hash per account.
UNSHOWN_PASSWORD = secrets.token_urlsafe(12)
DEMO_PREFIX = "DEMO-"
# The demo's one city: owners are its bureaus (the city's own, 市本级, or a district's), named after their place;
# agencies are registered in its districts and counties. Ten each, so the seed's draws are what they were.
CITY, CITY_LEVEL = "宁波市", "市本级"
OWNER_DISTRICTS = [CITY_LEVEL, "海曙区", "江北区", "北仑区", "镇海区", "鄞州区", "奉化区", "余姚市", "慈溪市", "宁海县"]
AGENCY_DISTRICTS = ["海曙区", "江北区", "北仑区", "镇海区", "鄞州区", "奉化区", "余姚市", "慈溪市", "宁海县", "象山县"]


def place_of(district: str) -> str:
    """What a bureau or project of the district is named after: the city for the city's own, else the district."""
    return CITY if district == CITY_LEVEL else district


def address_in(district: str, street: str) -> str:
    return f"浙江省{CITY}{'' if district == CITY_LEVEL else district}{street}"
BLOCK = 40
# Final outcomes of one block of 40 plan entries (shuffled per block).  29 of
# 40 end with a selection, so 320 jobs give ~232 draw records, 176 of them completed (enough rated work for the
# regulars below to earn their place in the ranking and on the red list).
BLOCK_OUTCOMES = {"draft": 2, "open": 4, "cancelled": 2, "failed": 3, "awarded": 3, "contracted": 4,
                  "completed": 22}
SELECTED_OUTCOMES = ("awarded", "contracted", "completed")
# The states only a moment near the present can show (a wait still running), and one rare twist, each planned
# once on a job of its own after the blocks: (outcome, method, hold). `Replay` stops each where its hold says.
HOLDS = [
    ("awarded", "direct", "choice"),                 # closed: the owner has not chosen yet
    ("awarded", "random", "beacon"),                 # closed: the regulator has not entered the beacon yet
    ("awarded", "lowest", "justify"),                # abnormally low: the winner's 2 working days are running
    ("awarded", "lowest", "justified"),              # abnormally low: justified, the owner has not decided
    ("awarded", "random_weighted", "agency_to_confirm"),  # the owner signed, the agency's 5 working days run
    ("contracted", "optimal", "result_submitted"),   # the result is with the owner, its 10 working days run
    ("contracted", "best_value", "extension_requested"),  # the agency asked for more days, the owner is to answer
    ("completed", "lowest", "refused"),              # the winner refused to sign (a major violation); the next
]                                                    # in order signed and completed
JUSTIFY_HOLDS = ("justify", "justified")
HOLD_AGES = {  # hours since the deadline of the holds that wait on a clock still running now
    "choice": (8, 28), "beacon": (2, 6), "justify": (2, 5), "justified": (12, 20),
    "agency_to_confirm": (100, 110),  # the 3 days' publicity over a day or so ago, the owner signed since
}
METHOD_WEIGHTS = {"random": 25, "random_weighted": 15, "lowest": 20, "optimal": 15, "best_value": 15, "direct": 10}
DIRECT_CAP = Decimal("100000.00")
# Standing (DESIGN "Ratings and credit"): a market has its regulars, agencies that quote on most of their
# categories' jobs, usually at the lowest sensible price, and whom owners choosing directly prefer; owners and
# approving departments rate their work highly, so they lead the ranking and the best reach the red list.  A few
# poor performers win on price too, and are rated so low that they end on the black list.  Everyone else is
# ordinary.  Targets: completed jobs each is planned to win where the method lets price or choice decide.
REGULARS, LEADERS, KEEN = 22, 7, 3
REGULAR_WINS, LEADER_WINS, POOR, POOR_WINS = 4, 7, 2, 5  # every one its REGULAR_WINS first, then the rest
REGULAR_BIDS = 0.9  # how often one of the KEEN regulars (or poor performers) most in need of work quotes
FAVOURED_METHODS = ("lowest", "best_value", "optimal", "direct")

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
    item: str  # the catalogue item: one of the category's whose level floor allows min_level
    rng: random.Random = field(repr=False)
    favourite: int | None = None  # the regular (or poor performer) priced to win, or the owner's direct choice
    overdue: bool = False  # a contracted job whose service time has run out (neither paused nor extended)
    hold: str = ""  # one of HOLDS' holds: where the replay leaves this job (or its one twist)


@dataclass
class Standing:
    """Who the demo's regulars and poor performers are: agency id -> completed jobs it is planned to win."""

    regulars: dict[int, int]
    poor: dict[int, int]
    homes: dict[int, set[str]] = field(default_factory=dict)  # the categories each one quotes on regularly

    def of(self, agency_id: int) -> str:
        return "regular" if agency_id in self.regulars else "poor" if agency_id in self.poor else "ordinary"

    @property
    def favoured(self) -> dict[int, int]:
        return {**self.regulars, **self.poor}


def standings(seed: int, pools: Pools, exclude: set[int] | frozenset[int] = frozenset()) -> Standing:
    """The regulars: agencies qualified at level 1 or 2, those with the widest reach first, at least two in
    every category; the LEADERS among them (widest reach) aim at more work. Then POOR poor performers among
    the rest. Each is at home in its level-1/2 categories. `exclude` (the demo login agency, whose own story
    is told elsewhere) is neither."""
    rng = random.Random(f"{seed}-standing")
    good: dict[int, list[str]] = {}
    reach: Counter[int] = Counter()  # level 1 may serve every job of its category, level 2 all but the level-1 ones
    for cat in sorted(pools.by_category):
        for agency_id, _code, level in pools.by_category[cat]:
            if level <= 2 and agency_id not in exclude:
                good.setdefault(agency_id, []).append(cat)
                reach[agency_id] += 3 - level
    tie = {a: rng.random() for a in sorted(good)}
    ranked = sorted(good, key=lambda a: (-reach[a], tie[a]))
    chosen: list[int] = []
    for cat in sorted(pools.by_category):  # two in every category first, then the widest reach
        short = max(0, 2 - sum(cat in good[c] for c in chosen))
        chosen.extend([a for a in ranked if cat in good[a] and a not in chosen][:short])
    chosen += [a for a in ranked if a not in chosen][:max(0, REGULARS - len(chosen))]
    leaders = set(sorted(chosen, key=lambda a: (-reach[a], tie[a]))[:LEADERS])
    # Poor performers among the rest, at home in two categories if any are left (in a small market all of those
    # may be regulars: then in one).
    rest = [a for a in ranked if a not in chosen and len(good[a]) >= 2] or [a for a in ranked if a not in chosen]
    poor = sorted(rng.sample(rest, min(POOR, len(rest))))
    return Standing({a: LEADER_WINS if a in leaders else REGULAR_WINS for a in sorted(chosen)},
                    {a: POOR_WINS for a in poor}, {a: set(good[a]) for a in [*chosen, *poor]})


# ---- planning (pure: seed, pools and owners in, plans out) ------------------------------------


BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 "
    "Safari/537.36 Edg/130.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
)
def shared_offices(plans: list[JobPlan], rings: int = 2, exclude: set[int] | frozenset[int] = frozenset()
                   ) -> dict[int, int]:
    """The demo's rings: the `rings` pairs of agencies that bid together most often quote from one
    office and one computer (what the collusion signals are for). Maps the second agency to the first.
    Agencies in `exclude` (the regulars and poor performers, who bid together on everything) are in no ring."""
    together: Counter[tuple[int, int]] = Counter()
    for p in plans:
        together.update(combinations(sorted({b[0] for b in p.bidders} - set(exclude)), 2))
    offices: dict[int, int] = {}
    for (a, b), _n in sorted(together.items(), key=lambda kv: (-kv[1], kv[0])):
        if len(offices) >= rings:
            break
        if not {a, b} & (set(offices) | set(offices.values())):
            offices[b] = a
    return offices


def ring_exclusions(standing: Standing, demo_agency_id: int | None) -> set[int]:
    """Who is in no ring: the regulars and poor performers, and the demo login's agency ("agency1"), which a
    visitor must find free to quote, not black-listed for collusion."""
    return set(standing.favoured) | ({demo_agency_id} if demo_agency_id is not None else set())


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
    return within_cap(price, cap)


def _favour(rng: random.Random, bidders: list[tuple[int, Decimal, int, str]], favourite: int, method: str,
            cap: Decimal, cutter: int | None) -> list[tuple[int, Decimal, int, str]]:
    """The favourite's quote priced to win: under the lowest other (lowest, best_value; an undercutter
    aside, who still comes first unless rejected), or nearest the optimal reference."""
    others = [b[1] for b in bidders if b[0] != favourite]
    if method == "optimal" and others:
        price = _optimal_price(others, cap)
    else:
        # Low enough that a second thought of another bidder (3–7 % off) or a better credit score in
        # best_value rarely beats it, not so low as to be abnormally low (≤ 70 % of the next).
        fair = [b[1] for b in bidders if b[0] not in (favourite, cutter)]
        price = min(fair) * Decimal(str(rng.uniform(0.84, 0.9))) if fair else cap * Decimal(str(rng.uniform(0.7, 0.8)))
        if cutter is not None:  # the undercutter must stay abnormally low (≤ 70 % of the next): just under the rest
            low = next(b[1] for b in bidders if b[0] == cutter)
            price = max(low / Decimal("0.695"), min(fair) * Decimal(str(rng.uniform(0.95, 0.98))) if fair else price)
    return [(a, within_cap(price, cap) if a == favourite else p, days, note) for a, p, days, note in bidders]


def _optimal_price(others: list[Decimal], cap: Decimal) -> Decimal:
    """The price nearest the optimal reference (the trimmed mean × p %, p drawn from 95–98 at selection, the
    favourite's own price in the mean) for as many of the four p as can be: searched on a grid."""
    mean = sum(others) / len(others)
    best: tuple[tuple[int, Decimal], Decimal] | None = None
    for i in range(81):
        x = within_cap(mean * (Decimal("0.86") + Decimal(i) / 500), cap)
        wins = 0
        for p in OPTIMAL_PERCENTAGES:
            ref = optimal_reference([*others, x], p)
            wins += all(abs(x - ref) < abs(o - ref) for o in others)
        key = (wins, -abs(x - optimal_reference([*others, x], 97)))
        if best is None or key > best[0]:
            best = (key, x)
    return best[1]


def within_cap(price: Decimal, cap: Decimal) -> Decimal:
    """Keep a quote between 55 % and 99 % of the cap (whole cents inside the range)."""
    lo = (cap * Decimal("0.55")).quantize(Decimal("0.01"), rounding="ROUND_CEILING")
    hi = (cap * Decimal("0.99")).quantize(Decimal("0.01"), rounding="ROUND_FLOOR")
    return min(max(_money(price), lo), hi)


def _project(rng: random.Random, fake: Faker) -> str:
    """A project name, with "{place}" where the owner's place goes (`place_of`; the owner is drawn later)."""
    street, place = fake.street_name(), "{place}"
    return rng.choice([
        f"{street}改扩建工程", f"{street}道路提升及管网改造工程", f"{street}大桥维修加固工程",
        f"{place}第{rng.choice(NUMBERS)}实验学校新建项目", f"{place}污水处理厂提标改造工程",
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
              demo_agency_id: int | None = None, standing: Standing | None = None,
              districts: dict[int, str] | None = None) -> list[JobPlan]:
    """Everything seed_jobs will do, decided from the seed (and the organisations) alone; `districts` (owner id →
    district) names each project after its owner's place. After the `count` entries come the HOLDS (none when
    `count` is 0), each with bidders from outside the regulars and poor performers, so that what the hold shows
    (an abnormally low winner, a refusal) happens to an ordinary agency."""
    if standing is None:
        standing = standings(seed, pools, {demo_agency_id} if demo_agency_id is not None else set())
    favoured = standing.favoured
    wins: Counter[int] = Counter()  # completed jobs planned for each favoured agency so far

    def shortfall(agency_id: int) -> tuple[int, int]:  # short of the floor first, then short of the target
        floor = min(favoured[agency_id], max(REGULAR_WINS, standing.poor.get(agency_id, 0)))
        return max(0, floor - wins[agency_id]), favoured[agency_id] - wins[agency_id]
    fake = Faker("zh_CN")
    cat_names = {c: zh for c, zh, _en in DEFAULT_CATEGORIES}
    plans = []
    blocks: dict[int, tuple[list[str], list[str]]] = {}
    ring: set[int] = set()  # the rings' agencies (`shared_offices`): the holds keep clear of them (black-listed)
    for i in range(count + (len(HOLDS) if count else 0)):
        hold = ""
        if i >= count:
            if i == count:
                ring = {a for pair in shared_offices(plans, exclude=ring_exclusions(standing, demo_agency_id)).items()
                        for a in pair}
            outcome, method, hold = HOLDS[i - count]
            overdue = False
        else:
            b = i // BLOCK
            if b not in blocks:
                blocks[b] = _block(seed, b)
            outcomes, methods = blocks[b]
            outcome = outcomes[i % BLOCK]
            overdue = outcome == "contracted" and b % 2 == 0 and "contracted" not in outcomes[: i % BLOCK]
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
        state_funded = state_funded or bool(hold)  # three quotes at least: a runner-up for the twists
        # Category and level with enough qualified agencies for what the job must go through.
        need = (3 if state_funded else 1) if selected else 0
        min_level = rng.choices([3, 2, 1], weights=[50, 35, 15])[0]
        cats = list(CAP_RANGES)
        rng.shuffle(cats)
        def eligible(c: str, level: int) -> list[tuple[int, str, int]]:
            return [a for a in pools.eligible(c, level) if not hold or a[0] not in {*favoured, *ring}]
        category = next((c for c in cats if len(eligible(c, min_level)) >= max(need, 4)), None)
        if category is None:
            min_level = 3
            category = max(cats, key=lambda c: len(eligible(c, 3)))
        pool = eligible(category, min_level)
        if selected and len(pool) < 3:
            state_funded = False
        cap = _cap(rng, category, method == "direct")
        project = _project(rng, fake)
        title = rng.choice(TITLES[category])
        service_days = rng.randint(20, 150)
        beacon = method != "direct" and rng.random() < 0.15
        if hold:
            beacon = hold == "beacon"
        pw = cw = None
        if method == "best_value" and rng.random() < 0.5:
            pw = rng.choice([50, 70, 80])
            cw = 100 - pw
        # Timeline.
        window = timedelta(days=rng.randint(3, 10), hours=rng.randint(0, 8))
        if hold in HOLD_AGES:  # a wait still running now: the deadline passed just long enough ago
            deadline = now - timedelta(hours=rng.uniform(*HOLD_AGES[hold]))
            created = deadline - window
        elif outcome in ("draft", "open"):
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
            if outcome == "contracted":  # still within its service period ...
                service_days = rng.randint(int(extra_days) + 40, int(extra_days) + 150)
                if overdue:  # ... but for `overdue`: started over 30 days ago with at most 20 days promised
                    extra_days, service_days = max(extra_days, 35.0), 20
            created = now - span - timedelta(days=extra_days)
            deadline = created + window
        # Bidders.
        if selected:
            n = rng.randint(3, 6) if state_funded else rng.randint(1, 4)
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
        favourite = None
        if selected:  # the regulars (and poor performers) of the category quote on most of its jobs
            regular = sorted((a for a in order if category in standing.homes.get(a[0], ())),
                             key=lambda a: shortfall(a[0]), reverse=True)  # the most in need of work first
            keen = [a for a in regular[:KEEN] if rng.random() < REGULAR_BIDS]
            bidders_pool = keen + [a for a in order if a not in keen][:max(0, n - len(keen))]
            rng.shuffle(bidders_pool)
            spare = [a for a in order if a not in bidders_pool]
            # Where price or the owner's choice decides, the one that most needs the work is priced to win.
            needs = [(shortfall(a[0]), rng.random(), a[0]) for a in keen
                     if a[0] in standing.regulars or wins[a[0]] < favoured[a[0]]]
            if method in FAVOURED_METHODS and needs and not hold:
                favourite = max(needs)[2]
                wins[favourite] += outcome == "completed"
        else:
            bidders_pool, spare = order[:n], order[n:]
        exclusions = [spare[0][1]] if spare and rng.random() < 0.1 else []
        level = rng.uniform(0.62, 0.92)  # how keen this market is, as a share of the cap
        # Now and then one bidder undercuts the rest (异常低价 in lowest / best_value): never a favoured one.
        cutter = next((k for k, a in enumerate(bidders_pool) if a[0] not in favoured), None)
        undercut = (selected and method in ("lowest", "best_value") and len(bidders_pool) >= 2
                    and cutter is not None and (rng.random() < 0.3 or hold in JUSTIFY_HOLDS))
        if undercut:
            level = max(level, 0.88)
        bidders = []
        for k, a in enumerate(bidders_pool):
            price = _price(rng, cap, level, undercut and k == cutter)
            if undercut and k != cutter:
                price = max(price, within_cap(cap * Decimal("0.85"), cap))
            bidders.append((a[0], price, max(1, int(service_days * rng.uniform(0.7, 1.0))), rng.choice(QUOTE_NOTES)))
        if favourite is not None and method != "direct":
            bidders = _favour(rng, bidders, favourite, method, cap, bidders_pool[cutter][0] if undercut else None)
        created = created.replace(second=0, microsecond=0)
        deadline = deadline.replace(minute=0 if rng.random() < 0.7 else 30, second=0, microsecond=0)
        description = (f"{project}已完成立项审批，现通过中介服务超市公开选取{cat_names[category]}服务机构。"
                       f"服务内容：按国家及地方现行规范完成{cat_names[category]}工作并提交成果文件，"
                       f"配合业主完成相关审查、备案。服务期限：合同签订后 {service_days} 日历天。")
        # The catalogue item, spread over the category's items the level allows (its own stream: the rest of
        # the plan is what it was before the catalogue).
        items = [code for code, *_rest, floor in DEFAULT_ITEMS if code.rsplit("-", 1)[0] == category
                 and min_level <= floor]
        item = random.Random(f"{seed}-item-{i}").choice(items)
        owner_id = owner_ids[0] if rng.random() < 0.2 else rng.choice(owner_ids)
        place = place_of((districts or {}).get(owner_id, CITY_LEVEL))
        project, description = project.replace("{place}", place), description.replace("{place}", place)
        title = title.format(p=project)
        plans.append(JobPlan(
            index=i, code=f"{DEMO_PREFIX}{i + 1:04d}", outcome=outcome, method=method,
            owner_id=owner_id, category=category,
            min_level=min_level, state_funded=state_funded, cap=cap, title=title, project_name=project,
            description=description, service_days=service_days, beacon=beacon, price_weight=pw, credit_weight=cw,
            exclusions=exclusions, bidders=bidders, created=created, deadline=deadline, item=item, rng=rng,
            favourite=favourite, overdue=overdue, hold=hold))
    return plans
