"""Registry services: categories, agency and owner registration and review."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import new_user, username_taken
from app.audit import append_event
from app.clock import utcnow
from app.errors import Conflict, InputError, NotFound
from app.forms import contains
from app.i18n import gettext as _
from app.models import Notification, User
from marketplace.models import APPROVED, PENDING, REJECTED, SUSPENDED, Agency, Owner, Qualification, ServiceCategory
from marketplace.schemas import (
    AgencyProfileIn,
    AgencySignup,
    CategoryIn,
    OwnerSignup,
    QualificationIn,
)

# DESIGN "Core objects": the categories every installation starts with.
DEFAULT_CATEGORIES = [
    ("EIA", "环境影响评价", "Environmental impact assessment"),
    ("SAFETY", "安全评价", "Safety evaluation"),
    ("SURVEY", "工程勘察", "Engineering survey"),
    ("DESIGN", "工程设计", "Engineering design"),
    ("COST", "工程造价咨询", "Construction cost consulting"),
    ("MAPPING", "测绘", "Surveying and mapping"),
    ("LAND", "土地评估", "Land appraisal"),
    ("SOILWATER", "水土保持方案编制", "Soil and water conservation plan"),
    ("ENERGY", "节能评估", "Energy conservation assessment"),
    ("GEOHAZARD", "地质灾害危险性评估", "Geological hazard risk assessment"),
    ("SUPERVISION", "建设工程监理", "Construction supervision"),
    ("TENDER", "招标代理", "Tendering agency"),
]


async def seed_categories(session: AsyncSession) -> int:
    """Insert the default categories that are missing; returns how many were added."""
    existing = set((await session.exec(select(ServiceCategory.code))).all())
    added = 0
    for i, (code, zh, en) in enumerate(DEFAULT_CATEGORIES):
        if code not in existing:
            session.add(ServiceCategory(code=code, name_zh=zh, name_en=en, sort_order=i))
            added += 1
    if added:
        await append_event(session, actor="system", kind="category.seeded", subject="categories",
                           data={"added": added})
        await session.commit()
    return added


async def list_categories(session: AsyncSession, active_only: bool = True) -> list[ServiceCategory]:
    q = select(ServiceCategory).order_by(col(ServiceCategory.sort_order), col(ServiceCategory.id))
    if active_only:
        q = q.where(ServiceCategory.active == True)  # noqa: E712
    return list((await session.exec(q)).all())


async def _categories_by_code(session: AsyncSession) -> dict[str, ServiceCategory]:
    return {c.code: c for c in await list_categories(session, active_only=True)}


async def notify(session: AsyncSession, *, agency_id: int | None = None, owner_id: int | None = None,
                 kind: str, data: dict) -> None:
    q = select(User.id)
    q = q.where(User.agency_id == agency_id) if agency_id else q.where(User.owner_id == owner_id)
    for uid in (await session.exec(q)).all():
        session.add(Notification(user_id=uid, kind=kind, data=data))


def _check_qualifications(quals: list[QualificationIn], cats: dict[str, ServiceCategory]) -> None:
    fields: dict[str, str] = {}
    seen: set[str] = set()
    today = date.today()
    for i, q in enumerate(quals):
        if q.category_code not in cats:
            fields[f"qualifications.{i}.category_code"] = _("Unknown service category.")
        elif q.category_code in seen:
            fields[f"qualifications.{i}.category_code"] = _("This category is listed twice.")
        if q.valid_until < today:
            fields[f"qualifications.{i}.valid_until"] = _("This certificate has already expired.")
        seen.add(q.category_code)
    if fields:
        raise InputError(_("Please correct the marked fields."), fields=fields)


async def _refuse_duplicate_org(session: AsyncSession, model, code: str, username: str) -> None:
    taken = (await session.exec(select(func.count()).select_from(model).where(model.credit_code == code))).one()
    if taken:
        msg = _("An organisation with this unified social credit code is already registered.")
        raise Conflict(msg, fields={"credit_code": msg})
    if await username_taken(session, username):
        msg = _("This user name is already taken.")
        raise Conflict(msg, fields={"username": msg})


async def register_agency(session: AsyncSession, data: AgencySignup) -> Agency:
    cats = await _categories_by_code(session)
    _check_qualifications(data.qualifications, cats)
    await _refuse_duplicate_org(session, Agency, data.credit_code, data.username)
    agency = Agency(credit_code=data.credit_code, name=data.name, legal_rep=data.legal_rep,
                    contact_name=data.contact_name, phone=data.phone, email=data.email,
                    address=data.address, district=data.district, status=PENDING)
    session.add(agency)
    try:
        await session.flush()
        for q in data.qualifications:
            session.add(Qualification(agency_id=agency.id, category_id=cats[q.category_code].id, level=q.level,
                                      certificate_no=q.certificate_no, valid_until=q.valid_until, status=PENDING))
        await new_user(session, username=data.username, password=data.password, role="agency",
                       display_name=data.contact_name, agency_id=agency.id)
        await append_event(session, actor=f"user:{data.username}", kind="agency.registered",
                           subject=f"agency:{agency.credit_code}",
                           data={"name": agency.name, "qualifications": [q.category_code for q in data.qualifications]})
        await session.commit()
    except IntegrityError:
        await session.rollback()
        msg = _("An organisation with this unified social credit code is already registered.")
        raise Conflict(msg, fields={"credit_code": msg}) from None
    return agency


async def register_owner(session: AsyncSession, data: OwnerSignup) -> Owner:
    await _refuse_duplicate_org(session, Owner, data.credit_code, data.username)
    owner = Owner(credit_code=data.credit_code, name=data.name, contact_name=data.contact_name,
                  phone=data.phone, email=data.email, address=data.address, district=data.district)
    session.add(owner)
    try:
        await session.flush()
        await new_user(session, username=data.username, password=data.password, role="owner",
                       display_name=data.contact_name, owner_id=owner.id)
        await append_event(session, actor=f"user:{data.username}", kind="owner.registered",
                           subject=f"owner:{owner.credit_code}", data={"name": owner.name})
        await session.commit()
    except IntegrityError:
        await session.rollback()
        msg = _("An organisation with this unified social credit code is already registered.")
        raise Conflict(msg, fields={"credit_code": msg}) from None
    return owner


async def get_agency(session: AsyncSession, agency_id: int) -> Agency:
    agency = await session.get(Agency, agency_id)
    if agency is None:
        raise NotFound(_("No such agency."))
    return agency


async def get_agency_by_code(session: AsyncSession, code: str) -> Agency:
    agency = (await session.exec(select(Agency).where(Agency.credit_code == code.upper()))).first()
    if agency is None:
        raise NotFound(_("No such agency."))
    return agency


async def get_owner(session: AsyncSession, owner_id: int) -> Owner:
    owner = await session.get(Owner, owner_id)
    if owner is None:
        raise NotFound(_("No such owner organisation."))
    return owner


def _require_reason(decision: str, reason: str) -> None:
    if decision == "reject" and not reason.strip():
        msg = _("Give a reason for the rejection.")
        raise InputError(msg, fields={"reason": msg})


async def decide_agency(session: AsyncSession, actor: str, agency_id: int, decision: str, reason: str) -> Agency:
    agency = await get_agency(session, agency_id)
    if agency.status != PENDING:
        raise Conflict(_("This registration has already been decided."))
    _require_reason(decision, reason)
    agency.status = APPROVED if decision == "approve" else REJECTED
    agency.status_reason = reason
    agency.reviewed_at = utcnow()
    session.add(agency)
    if decision == "approve":
        # Approving a registration approves the qualifications it was filed with.
        for q in (await session.exec(select(Qualification).where(
                Qualification.agency_id == agency.id, Qualification.status == PENDING))).all():
            q.status = APPROVED
            q.updated_at = utcnow()
            session.add(q)
    await append_event(session, actor=actor, kind=f"agency.{'approved' if decision == 'approve' else 'rejected'}",
                       subject=f"agency:{agency.credit_code}", data={"reason": reason})
    await notify(session, agency_id=agency.id, kind=f"registration.{agency.status}", data={"reason": reason})
    await session.commit()
    return agency


async def change_agency_status(session: AsyncSession, actor: str, agency_id: int, action: str, reason: str) -> Agency:
    agency = await get_agency(session, agency_id)
    if action == "suspend":
        if agency.status != APPROVED:
            raise Conflict(_("Only an approved agency can be suspended."))
        agency.status = SUSPENDED
    else:
        if agency.status != SUSPENDED:
            raise Conflict(_("Only a suspended agency can be reinstated."))
        agency.status = APPROVED
    agency.status_reason = reason
    session.add(agency)
    await append_event(session, actor=actor, kind=f"agency.{'suspended' if action == 'suspend' else 'reinstated'}",
                       subject=f"agency:{agency.credit_code}", data={"reason": reason})
    await notify(session, agency_id=agency.id, kind=f"agency.{agency.status}", data={"reason": reason})
    await session.commit()
    return agency


async def decide_owner(session: AsyncSession, actor: str, owner_id: int, decision: str, reason: str) -> Owner:
    owner = await get_owner(session, owner_id)
    if owner.status != PENDING:
        raise Conflict(_("This registration has already been decided."))
    _require_reason(decision, reason)
    owner.status = APPROVED if decision == "approve" else REJECTED
    owner.status_reason = reason
    owner.reviewed_at = utcnow()
    session.add(owner)
    await append_event(session, actor=actor, kind=f"owner.{'approved' if decision == 'approve' else 'rejected'}",
                       subject=f"owner:{owner.credit_code}", data={"reason": reason})
    await notify(session, owner_id=owner.id, kind=f"registration.{owner.status}", data={"reason": reason})
    await session.commit()
    return owner


async def decide_qualification(session: AsyncSession, actor: str, qualification_id: int, decision: str,
                               reason: str) -> Qualification:
    qual = await session.get(Qualification, qualification_id)
    if qual is None:
        raise NotFound(_("No such qualification."))
    if qual.status != PENDING:
        raise Conflict(_("This qualification has already been reviewed."))
    _require_reason(decision, reason)
    agency = await get_agency(session, qual.agency_id)
    cat = await session.get(ServiceCategory, qual.category_id)
    qual.status = APPROVED if decision == "approve" else REJECTED
    qual.status_reason = reason
    qual.updated_at = utcnow()
    session.add(qual)
    await append_event(session, actor=actor, kind=f"qualification.{qual.status}",
                       subject=f"agency:{agency.credit_code}",
                       data={"category": cat.code, "level": qual.level, "reason": reason})
    await notify(session, agency_id=agency.id, kind=f"qualification.{qual.status}",
                 data={"category": cat.code, "reason": reason})
    await session.commit()
    return qual


async def update_agency_profile(session: AsyncSession, actor: str, agency_id: int, data: AgencyProfileIn) -> Agency:
    agency = await get_agency(session, agency_id)
    changed = {}
    for field, value in data.model_dump().items():
        if getattr(agency, field) != value:
            changed[field] = value
            setattr(agency, field, value)
    if changed:
        session.add(agency)
        await append_event(session, actor=actor, kind="agency.profile_updated",
                           subject=f"agency:{agency.credit_code}", data={"fields": sorted(changed)})
        await session.commit()
    return agency


async def save_qualification(session: AsyncSession, actor: str, agency_id: int, data: QualificationIn) -> Qualification:
    """Add or change a qualification; any change goes back to review (pending)."""
    cats = await _categories_by_code(session)
    _check_qualifications([data], cats)
    agency = await get_agency(session, agency_id)
    cat = cats[data.category_code]
    qual = (await session.exec(select(Qualification).where(
        Qualification.agency_id == agency_id, Qualification.category_id == cat.id))).first()
    if qual is None:
        qual = Qualification(agency_id=agency_id, category_id=cat.id, level=data.level,
                             certificate_no=data.certificate_no, valid_until=data.valid_until)
    else:
        qual.level, qual.certificate_no, qual.valid_until = data.level, data.certificate_no, data.valid_until
    qual.status = PENDING
    qual.status_reason = ""
    qual.updated_at = utcnow()
    session.add(qual)
    await append_event(session, actor=actor, kind="qualification.submitted", subject=f"agency:{agency.credit_code}",
                       data={"category": cat.code, "level": data.level, "certificate_no": data.certificate_no,
                             "valid_until": data.valid_until.isoformat()})
    await session.commit()
    return qual


async def qualifications_of(session: AsyncSession, agency_ids: list[int]) -> dict[int, list[tuple[Qualification, ServiceCategory]]]:
    out: dict[int, list[tuple[Qualification, ServiceCategory]]] = {i: [] for i in agency_ids}
    if not agency_ids:
        return out
    rows = (await session.exec(
        select(Qualification, ServiceCategory)
        .join(ServiceCategory, ServiceCategory.id == Qualification.category_id)
        .where(col(Qualification.agency_id).in_(agency_ids))
        .order_by(col(ServiceCategory.sort_order))
    )).all()
    for q, c in rows:
        out[q.agency_id].append((q, c))
    return out


@dataclass
class Listing:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


async def list_orgs(session: AsyncSession, model, *, status: str | None = None, q: str | None = None,
                    category: str | None = None, page: int = 1, per_page: int = 20) -> Listing:
    """Agencies or owners filtered by status, name/code search and (agencies) category."""
    stmt = select(model)
    count = select(func.count()).select_from(model)
    conds = []
    if status:
        conds.append(model.status == status)
    if q:
        conds.append(or_(contains(model.name, q), contains(model.credit_code, q)))
    if category and model is Agency:
        sub = (select(Qualification.agency_id).join(ServiceCategory, ServiceCategory.id == Qualification.category_id)
               .where(ServiceCategory.code == category, Qualification.status == APPROVED))
        conds.append(col(Agency.id).in_(sub))
    for c in conds:
        stmt, count = stmt.where(c), count.where(c)
    total = (await session.exec(count)).one()
    page = max(1, page)
    items = (await session.exec(stmt.order_by(col(model.created_at).desc(), col(model.id).desc())
                                .offset((page - 1) * per_page).limit(per_page))).all()
    return Listing(list(items), total, page, per_page)


async def pending_qualifications(session: AsyncSession, page: int = 1, per_page: int = 20) -> Listing:
    """Qualification changes of approved agencies awaiting review."""
    base = (select(Qualification, Agency, ServiceCategory)
            .join(Agency, Agency.id == Qualification.agency_id)
            .join(ServiceCategory, ServiceCategory.id == Qualification.category_id)
            .where(Qualification.status == PENDING, Agency.status != PENDING))
    total = (await session.exec(select(func.count()).select_from(base.subquery()))).one()
    rows = (await session.exec(base.order_by(col(Qualification.updated_at)).offset((page - 1) * per_page)
                               .limit(per_page))).all()
    return Listing(list(rows), total, page, per_page)


async def save_category(session: AsyncSession, actor: str, data: CategoryIn, category_id: int | None = None) -> ServiceCategory:
    if category_id is None:
        dup = (await session.exec(select(ServiceCategory).where(ServiceCategory.code == data.code))).first()
        if dup:
            msg = _("A category with this code already exists.")
            raise Conflict(msg, fields={"code": msg})
        cat = ServiceCategory(**data.model_dump())
        kind = "category.created"
    else:
        cat = await session.get(ServiceCategory, category_id)
        if cat is None:
            raise NotFound(_("No such category."))
        if data.code != cat.code:
            msg = _("The code of an existing category cannot be changed.")
            raise InputError(msg, fields={"code": msg})
        for k, v in data.model_dump().items():
            setattr(cat, k, v)
        kind = "category.updated"
    session.add(cat)
    await session.flush()
    await append_event(session, actor=actor, kind=kind, subject=f"category:{cat.code}",
                       data=data.model_dump())
    await session.commit()
    return cat


async def approved_counts(session: AsyncSession) -> tuple[int, int]:
    """How many agencies and how many owner organisations are approved (the home page's figures)."""
    agencies = (await session.exec(select(func.count()).select_from(Agency).where(Agency.status == APPROVED))).one()
    owners = (await session.exec(select(func.count()).select_from(Owner).where(Owner.status == APPROVED))).one()
    return agencies, owners
