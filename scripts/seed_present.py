"""What the demo's users did lately, at the present, after the year's jobs, through the services.

Registry changes: qualification changes filed by approved agencies (two waiting for the administrator, one
level-up approved, one new category rejected), one catalogue item retired and the city's own contract template
for surveys uploaded by the administrator. Inboxes: every user last read its notifications some days ago, so
the header's unread badge counts what came since. Deterministic from the seed; a second run adds nothing."""

from __future__ import annotations

import io
import random
from datetime import date, timedelta
from pathlib import Path

from docx import Document
from sqlmodel import col, select

from app.auth import CurrentUser
from app.clock import set_clock_offset
from app.db import SessionMaker
from app.models import AuditEvent, User
from marketplace.catalogue_models import ServiceItem
from marketplace.models import APPROVED, Agency, Job, Qualification, ServiceCategory
from marketplace.schemas import QualificationIn
from marketplace.services import catalogue, contract_templates, registry
from marketplace.services.accounts import mark_notifications_read

REJECT_REASON = "资质证书编号与发证机关公示信息不一致，请核实后重新提交"
TEMPLATE_CATEGORY = "SURVEY"
TEMPLATE_TITLE = "宁波市工程勘察中介服务合同（市级示范文本，2026 年版）"


def city_template() -> bytes:
    """The platform's default contract template under the city's own title (still filled by the same fields)."""
    doc = Document(io.BytesIO(contract_templates.default_template()))
    doc.paragraphs[0].insert_paragraph_before(TEMPLATE_TITLE)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


async def seed_registry_changes(sessionmaker: SessionMaker, seed: int, var_dir: Path,
                                demo_username: str = "agency1") -> int:
    """File the changes; returns how many (0 when a change was filed before: the demo has them)."""
    async with sessionmaker() as s:
        if (await s.exec(select(AuditEvent.seq).where(AuditEvent.kind == "qualification.submitted").limit(1))).first():
            return 0
        users = dict((await s.exec(select(User.agency_id, User.username).where(col(User.agency_id).is_not(None))
                                   .order_by(col(User.id).desc()))).all())  # the first user of each agency
        agency_ids = [a for a in (await s.exec(select(Agency.id).where(Agency.status == APPROVED)
                                               .order_by(Agency.id))).all()
                      if a in users and users[a] != demo_username]
        held: dict[int, dict[str, Qualification]] = {}
        for qual, code in (await s.exec(select(Qualification, ServiceCategory.code).join(
                ServiceCategory, ServiceCategory.id == Qualification.category_id))).all():
            held.setdefault(qual.agency_id, {})[code] = qual
        codes = sorted(c.code for c in await registry.list_categories(s))
        used = set((await s.exec(select(Job.item_id))).all())
        unused = [i.code for i in (await s.exec(select(ServiceItem).where(ServiceItem.active == True)  # noqa: E712
                                                .order_by(ServiceItem.code))).all() if i.id not in used]
    rng = random.Random(f"{seed}-registry-changes")
    upgradable = [a for a in agency_ids if any(q.level > 1 and q.status == APPROVED for q in held.get(a, {}).values())]
    if not upgradable:
        return 0
    up = rng.choice(upgradable)
    newcomers = [a for a in agency_ids if a != up and set(codes) - set(held.get(a, {}))]  # a category to add
    if len(newcomers) < 3:
        return 0
    others = rng.sample(newcomers, 3)
    today = date.today()
    filed = 0

    async def file(agency_id: int, data: QualificationIn) -> Qualification:
        async with sessionmaker() as s:
            return await registry.save_qualification(s, f"user:{users[agency_id]}", agency_id, data)

    def certificate(code: str) -> str:
        return f"{code[:3]}-{rng.randint(100000, 999999)}"

    # A level up in a category it holds, approved (the administrator checked the new certificate).
    code, qual = rng.choice(sorted((c, q) for c, q in held[up].items() if q.level > 1 and q.status == APPROVED))
    changed = await file(up, QualificationIn(category_code=code, level=qual.level - 1, certificate_no=certificate(code),
                                             valid_until=today + timedelta(days=rng.randint(700, 1500))))
    async with sessionmaker() as s:
        await registry.decide_qualification(s, "user:admin", changed.id, "approve", "")
    filed += 1
    # New categories: two waiting for review, one rejected.
    for k, agency_id in enumerate(others):
        code = rng.choice(sorted(set(codes) - set(held.get(agency_id, {}))))
        new = await file(agency_id, QualificationIn(category_code=code, level=rng.choice([2, 3]),
                                                    certificate_no=certificate(code),
                                                    valid_until=today + timedelta(days=rng.randint(400, 1500))))
        if k == 2:
            async with sessionmaker() as s:
                await registry.decide_qualification(s, "user:admin", new.id, "reject", REJECT_REASON)
        filed += 1
    if unused:  # an item no job names is retired from the catalogue (it stays listed as inactive)
        async with sessionmaker() as s:
            await catalogue.set_item_active(s, "user:admin", rng.choice(unused), False)
    async with sessionmaker() as s:
        survey = (await s.exec(select(ServiceCategory).where(ServiceCategory.code == TEMPLATE_CATEGORY))).first()
        if survey is not None:
            await contract_templates.upload_template(s, "user:admin", survey.id, "工程勘察合同示范文本.docx",
                                                     city_template(), var_dir)
    return filed


async def read_inboxes(sessionmaker: SessionMaker, seed: int) -> int:
    """Each active user opened its inbox (the account page) 1 to 10 days ago, at that simulated moment: what
    came before is read, what came since is not. Returns how many notifications were read."""
    rng = random.Random(f"{seed}-inboxes")
    async with sessionmaker() as s:
        users = (await s.exec(select(User).where(User.is_active == True).order_by(User.id))).all()  # noqa: E712
    read = 0
    try:
        for u in users:
            set_clock_offset(-timedelta(days=rng.uniform(1, 10)))
            async with sessionmaker() as s:
                read += await mark_notifications_read(s, CurrentUser(
                    id=u.id, username=u.username, role=u.role, display_name=u.display_name, agency_id=u.agency_id,
                    owner_id=u.owner_id, locale=u.locale))
    finally:
        set_clock_offset(timedelta(0))
    return read
