"""The demo's complaints (投诉举报), through the services the pages use.

Eight complaints against the demo's published jobs and approved agencies, in every state: two received, two
under investigation, two concluded upheld (one recording a new violation, one linking a violation the agency
already has, or recording one where it has none) and two concluded not upheld; half anonymous (with a contact; the
follow-up codes are not kept), half filed by the demo owner `owner1` and agency `agency1`, five with evidence
files (small valid PDFs, stored under var/uploads like every upload). Call it after the jobs are seeded::

    from scripts.seed_complaints import seed_complaints

    added["complaints"] = await seed_complaints(sessionmaker)

`sessionmaker_or_session` is a sessionmaker (a session of its own is opened) or an `AsyncSession` (used as it
is; every step is committed by its service). Idempotent: a complaint whose description the database already holds
is not filed again, so a second run adds nothing. Returns the number of complaints filed now.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import as_current
from app.models import User
from marketplace.complaint_models import Complaint
from marketplace.models import APPROVED, DRAFT, Agency, Contract, Job
from marketplace.schemas.complaints import ComplaintConclusionIn, ComplaintIn
from marketplace.services import complaint_investigation as investigation
from marketplace.services import complaints
from ratings.services.recompute import recompute_agency
from scripts.seed_attachments import demo_pdf

REGULATOR, OWNER, AGENCY = "regulator", "owner1", "agency1"


@dataclass(frozen=True)
class Planned:
    description: str
    about: str                 # "job", "agency" or "both" (a contracted job and its agency)
    filer: str | None          # a demo user name, or None: anonymous with `contact`
    contact: tuple[str, str]
    files: tuple[str, ...]
    state: str                 # received, investigating, upheld_new, upheld_existing, not_upheld
    conclusion: str = ""


PLAN = (
    Planned("比选公告设置的业绩条件明显指向个别机构，涉嫌排斥潜在报价人。", "job", None, ("陈先生", "13905710001"),
            ("比选公告截图.pdf",), "received"),
    Planned("该机构在服务过程中要求另行支付“加急费”，超出其公布的服务承诺收费标准。", "agency", OWNER, ("", ""), (),
            "received"),
    Planned("中选机构的项目负责人同时在另一项目任职，实际未到岗提供服务。", "both", None, ("刘女士", "liu.demo@example.com"),
            ("考勤记录.pdf", "现场照片说明.pdf"), "investigating"),
    Planned("报价截止后仍有机构被允许补交资料，程序不公。", "job", AGENCY, ("", ""), (), "investigating"),
    Planned("机构收取的服务费用高于中选价格，另以“专家评审费”名义向业主收费。", "agency", None, ("周先生", "13905710003"),
            ("收费凭证.pdf",), "upheld_new",
            "经调取合同及收费凭证核实，该机构在中选价格之外另行收取费用，违反服务承诺及合同约定，投诉成立。"),
    Planned("机构提交的成果文件与其他项目雷同，疑似套用模板未实际开展工作。", "both", OWNER, ("", ""),
            ("成果比对说明.pdf",), "upheld_existing",
            "经组织专家比对，成果文件主要章节与另一项目雷同，未按合同开展现场工作，投诉成立。"),
    Planned("怀疑本次随机抽取结果被人为干预。", "job", None, ("匿名群众", "13905710005"), (), "not_upheld",
            "经核查，本次抽取按 marketdraw-v1 协议进行，种子承诺与抽取记录可公开验证，复算结果一致，投诉不成立。"),
    Planned("机构在服务期内长期无法联系，影响项目进度。", "agency", AGENCY, ("", ""), ("通话记录.pdf",), "not_upheld",
            "经核查，机构已按约定提交阶段成果，联系记录显示其在工作时间内均有应答，投诉不成立。"),
)


async def _targets(session: AsyncSession) -> tuple[list[Job], list[Agency], list[tuple[Job, Agency]]]:
    """Published jobs, approved agencies and contracted jobs with their agency, in a fixed order."""
    jobs = list((await session.exec(select(Job).where(Job.status != DRAFT, col(Job.published_at).is_not(None))
                                    .order_by(col(Job.id)).limit(50))).all())
    agencies = list((await session.exec(select(Agency).where(Agency.status == APPROVED)
                                        .order_by(col(Agency.id)).limit(50))).all())
    pairs = list((await session.exec(select(Job, Agency).join(Contract, Contract.job_id == Job.id)
                                     .join(Agency, Agency.id == Contract.agency_id)
                                     .order_by(col(Job.id)).limit(20))).all())
    return jobs, agencies, pairs


async def _user(session: AsyncSession, username: str | None) -> Any:
    if username is None:
        return None
    user = (await session.exec(select(User).where(User.username == username))).first()
    return as_current(user) if user else None


async def _seed(session: AsyncSession, var_dir: Path) -> int:
    regulator = await _user(session, REGULATOR)
    jobs, agencies, pairs = await _targets(session)
    if regulator is None or not jobs or not agencies:
        return 0  # nothing to complain about yet (or no regulator to handle it)
    have = set((await session.exec(select(Complaint.description))).all())
    added = 0
    for i, p in enumerate(PLAN):
        if p.description in have:
            continue
        job = agency = None
        if p.about == "both":  # a contracted job and its agency, or any two where nothing is contracted yet
            job, agency = pairs[i % len(pairs)] if pairs else (jobs[(i * 7) % len(jobs)], agencies[i % len(agencies)])
        elif p.about == "job":
            job = jobs[(i * 7) % len(jobs)]
        else:
            agency = agencies[(i * 5 + 1) % len(agencies)]
        user = await _user(session, p.filer)
        name, contact = p.contact if user is None else ("", "")
        if user is None and not name:
            name, contact = "匿名举报人", "13905710009"
        data = ComplaintIn(job_no=job.job_no if job else "", agency_code=agency.credit_code if agency else "",
                           description=p.description, contact_name=name, contact=contact)
        files = [(f, demo_pdf("Complaint evidence", f"{i + 1}")) for f in p.files]
        c, _code = await complaints.file_complaint(session, user, data, files, var_dir)
        added += 1
        if p.state == "received":
            continue
        await investigation.start_investigation(session, regulator, c.complaint_no)
        if p.state == "investigating":
            continue
        outcome = "not_upheld" if p.state == "not_upheld" else "upheld"
        link: dict[str, Any] = {}
        if p.state == "upheld_existing" and c.agency_id:
            existing = await investigation.violations_to_link(session, await investigation.regulator_complaint(
                session, c.complaint_no))
            link = {"violation": "existing", "violation_id": existing[0].id} if existing else {}
        if p.state == "upheld_new" or (p.state == "upheld_existing" and not link and c.agency_id):
            link = {"violation": "new", "severity": "minor", "kind": "fee_violation" if p.state == "upheld_new"
                    else "poor_quality", "violation_description": p.conclusion}
        _c, recompute = await investigation.conclude(session, regulator, c.complaint_no, ComplaintConclusionIn(
            outcome=outcome, conclusion=p.conclusion, **link))
        if recompute:
            await recompute_agency(session, recompute)  # the app queues this; the seed runs it at once
    return added


async def seed_complaints(sessionmaker_or_session: Any, *, var_dir: Path | None = None) -> int:
    """File (and handle) the demo complaints that are missing; the number filed now."""
    if var_dir is None:
        from app.settings import get_settings

        var_dir = get_settings().var_dir
    if isinstance(sessionmaker_or_session, AsyncSession):
        return await _seed(sessionmaker_or_session, var_dir)
    async with sessionmaker_or_session() as session:
        return await _seed(session, var_dir)
