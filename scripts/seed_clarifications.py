"""The demo's commitments, questions and answers, and amendments, through the services the pages use.

Called by `scripts.seed_jobs` at the end of the replay (the key holders still in process, so an amendment
that moves a sealed job's deadline registers it with them): every approved agency publishes a commitment
per qualified category; agencies ask questions on the open jobs and owners answer most; a few open jobs
are amended (one with a later deadline, one moved so that 3 days remain, one text only), and most of their
bidders re-confirm — the demo agency `agency1` does not, so its workbench shows the quote to re-confirm.
A second run adds nothing (it does nothing once a question exists).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from app.clock import ensure_aware
from app.errors import Conflict
from marketplace.catalogue_models import Commitment
from marketplace.clarification_models import Question
from marketplace.models import APPROVED, LIVE, PUBLISHED, Agency, Job, Qualification, Quote, ServiceCategory
from marketplace.schemas.clarifications import AmendmentIn, AnswerIn, CommitmentIn, QuestionIn
from marketplace.services import attachments
from marketplace.services.clarifications import amend_job, answer_question, ask_question, reconfirm_quote
from marketplace.services.commitments import publish_commitment
from scripts.seed_attachments import demo_pdf

CONTENT = {
    "EIA": "建设项目环境影响报告书（表）编制、技术评估配合及报批服务",
    "SAFETY": "安全预评价、安全验收评价报告编制，配合专家评审并修改完善",
    "SURVEY": "岩土工程勘察（初勘、详勘），提交勘察报告并配合施工图审查",
    "DESIGN": "方案设计、初步设计及施工图设计，配合审查并提供施工配合服务",
    "COST": "投资估算、设计概算、工程量清单及招标控制价编制，结算审核",
    "MAPPING": "地形图测绘、规划放线、竣工测量及不动产测绘",
    "LAND": "土地使用权价格评估、出让底价评估及评估报告备案",
    "SOILWATER": "生产建设项目水土保持方案报告书（表）编制并配合审批",
    "ENERGY": "固定资产投资项目节能报告编制并配合节能审查",
    "GEOHAZARD": "地质灾害危险性评估报告编制并配合专家审查与备案",
    "SUPERVISION": "施工阶段质量、进度、投资控制及安全生产管理的监理工作",
    "TENDER": "招标方案策划、招标文件编制、开评标组织及合同签订协助",
}
FEES = ["按国家发展改革委指导价下浮{r}%计取", "按《工程勘察设计收费标准》计费，优惠{r}%", "按项目规模分档计费，总价包干，较指导价优惠{r}%"]
QA = [("项目前期资料（可研批复、用地预审意见）何时可以提供？", "相关资料将在合同签订后 3 个工作日内提供。"),
      ("服务期限是否包含专家评审及修改时间？", "服务期限含专家评审及按意见修改的时间。"),
      ("是否需要进行现场踏勘？可否安排统一踏勘时间？", "不组织统一踏勘，报价人可自行前往项目现场。"),
      ("报价是否应包含专家评审会务费用？", "专家评审会务费用由业主承担，不计入报价。"),
      ("成果文件需提交纸质版几份？", "成果文件提交纸质版 8 份及电子版 1 份。"),
      ("若审批部门要求补充专题，费用如何计取？", "补充专题费用已包含在本次报价范围内，不另行计取。"),
      ("项目是否已取得规划选址意见？", "已取得规划选址意见，复印件见公告附件。")]
AMENDMENTS = ["补充公告：服务范围增加噪声专项评价，请各投标人据此核实报价。",
              "变更公告：应投标人提问，延长报价截止时间，其他内容不变。",
              "澄清公告：附件中项目用地面积以可研批复为准（12.6 公顷）；原附件撤回，以本公告所附修订版为准。"]


async def seed_clarifications(replay: Any, seed: int, now: datetime) -> dict[str, int]:
    """Commitments, questions, answers, amendments and re-confirmations, at moments up to `now`."""
    async with replay.sm() as s:
        if (await s.exec(select(Question.id).limit(1))).first() is not None:
            return {}
    rng = random.Random(seed * 7 + 11)
    added = {"commitments": await _commitments(replay, rng, now - timedelta(minutes=90))}
    async with replay.sm() as s:
        jobs = list((await s.exec(select(Job).where(Job.status == PUBLISHED, Job.quote_deadline > now + timedelta(hours=1))
                                  .order_by(col(Job.id)))).all())
        quals = (await s.exec(select(Qualification.agency_id, Qualification.category_id).join(
            Agency, Agency.id == Qualification.agency_id).where(Agency.status == APPROVED,
                                                                 Qualification.status == APPROVED))).all()
        bidders = (await s.exec(select(Quote.job_id, Quote.agency_id).where(
            col(Quote.job_id).in_([j.id for j in jobs]), Quote.status == LIVE))).all()
    by_category: dict[int, list[int]] = {}
    for agency_id, category_id in quals:
        if ("agency", agency_id) in replay.users:
            by_category.setdefault(category_id, []).append(agency_id)
    live: dict[int, list[int]] = {}
    for job_id, agency_id in bidders:
        live.setdefault(job_id, []).append(agency_id)
    added.update(await _questions(replay, rng, jobs, by_category, now))
    added.update(await _amendments(replay, rng, jobs, live, now))
    return added


async def _commitments(replay: Any, rng: random.Random, at: datetime) -> int:
    async with replay.sm() as s:
        rows = (await s.exec(select(Agency.id, ServiceCategory.code).join(
            Qualification, Qualification.agency_id == Agency.id).join(
            ServiceCategory, ServiceCategory.id == Qualification.category_id).where(
            Agency.status == APPROVED, Qualification.status == APPROVED).order_by(Agency.id, ServiceCategory.code)
            .distinct())).all()
        done = set((await s.exec(select(Commitment.agency_id, Commitment.category_id))).all())
    if done:
        return 0
    replay.at(at)
    n = 0
    for agency_id, cat in rows:
        if ("agency", agency_id) not in replay.users:
            continue
        rate = rng.choice([5, 8, 10, 12, 15, 20])
        # Over every demo quote's days on the open jobs (20–150), so no open job's quote becomes ineligible.
        days = rng.choice([150, 180, 240, 365])
        await replay.call(publish_commitment, replay.agency(agency_id), CommitmentIn(
            category_code=cat, content=CONTENT.get(cat, "按合同约定提供中介服务"), time_limit_days=days,
            fee_standard=rng.choice(FEES).format(r=rate), fee_rate=100 - rate if rng.random() < 0.6 else None))
        n += 1
    return n


async def _questions(replay: Any, rng: random.Random, jobs: list[Job], by_category: dict[int, list[int]],
                     now: datetime) -> dict[str, int]:
    moments: list[tuple[datetime, Job, int, str, str, datetime | None]] = []
    for job in jobs:
        pool = by_category.get(job.category_id, [])
        start = ensure_aware(job.published_at)
        for _ in range(rng.choice([0, 1, 1, 2, 3]) if pool else 0):
            asked = start + (now - start) * rng.uniform(0.05, 0.6)
            text, answer = rng.choice(QA)
            answered = asked + (now - asked) * rng.uniform(0.2, 0.9) if rng.random() < 0.7 else None
            moments.append((asked, job, rng.choice(pool), text, answer, answered))
    moments.sort(key=lambda m: (m[0], m[1].id))
    answers: list[tuple[datetime, Job, int, str]] = []
    asked = 0
    for t, job, agency_id, text, answer, answered in moments:
        replay.at(t)
        q = await replay.call(ask_question, replay.agency(agency_id), job.job_no, QuestionIn(text=text))
        asked += 1
        if answered is not None:
            answers.append((answered, job, q.id, answer))
    answers.sort(key=lambda a: a[0])
    for t, job, qid, answer in answers:
        replay.at(t)
        await replay.call(answer_question, replay.owner(job.owner_id), job.job_no, qid, AnswerIn(answer=answer))
    return {"questions": asked, "answers": len(answers)}


async def _amendments(replay: Any, rng: random.Random, jobs: list[Job], live: dict[int, list[int]],
                      now: datetime) -> dict[str, int]:
    demo = next((a for (role, a) in replay.users if role == "agency" and replay.users[(role, a)].username == "agency1"),
                None)
    with_bids = [j for j in jobs if len(live.get(j.id, [])) >= 2]
    # The demo agency's own quotes first (its workbench then shows one to re-confirm), then the others.
    with_bids.sort(key=lambda j: (demo not in live.get(j.id, []), j.id))
    soon = [j for j in with_bids if ensure_aware(j.quote_deadline) - now < timedelta(days=3)]
    picked: list[tuple[Job, datetime | None]] = []
    if soon:
        picked.append((soon[0], None))  # moved so that 3 days remain
    rest = [j for j in with_bids if all(j.id != p.id for p, _ in picked)]
    if rest:
        picked.append((rest[0], ensure_aware(rest[0].quote_deadline) + timedelta(days=7)))  # a later deadline
    if len(rest) > 1:
        picked.append((rest[1], None))  # text only (or moved, if under 3 days)
    t = now - timedelta(minutes=30)
    reconfirmed = 0
    for i, (job, later) in enumerate(picked):
        replay.at(t + timedelta(minutes=i))
        withdraw, files = [], []
        if i == 2:  # the clarification replaces the job's last attachment by a revised one (changed attachments)
            last = (await replay.read(lambda s, job=job: attachments.attachments_of(s, job)))[-1:]
            withdraw = [a.id for a in last]
            files = [(f"{a.filename.removesuffix('.pdf')}-修订版.pdf", demo_pdf("修订版", job.job_no)) for a in last]
        await replay.call(amend_job, replay.owner(job.owner_id), job.job_no,
                          AmendmentIn(text=AMENDMENTS[i % len(AMENDMENTS)], quote_deadline=later, withdraw=withdraw),
                          files=files)
    replay.at(now - timedelta(minutes=10))
    for job, _later in picked:
        for agency_id in live[job.id]:
            if agency_id != demo and rng.random() < 0.7:
                try:
                    await replay.call(reconfirm_quote, replay.agency(agency_id), job.job_no)
                except Conflict:  # quoted after the amendment: it already counts
                    continue
                reconfirmed += 1
    return {"amendments": len(picked), "reconfirmed": reconfirmed}
