"""The service catalogue (中介服务事项清单): departments, items, seeding, search, statistics and admin edits.

DESIGN "Service catalogue, commitments, clarifications, complaints": every job names one item; an item
belongs to a service category, serves an approval item (审批事项) of an approving department and sets the
floor of the job's minimum qualification level (1 = 甲级 … 3 = 丙级; a job's level must be <= the floor).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from app.audit import append_event
from app.clock import utcnow
from app.errors import Conflict, InputError, NotFound
from app.forms import contains
from app.i18n import gettext as _
from marketplace.catalogue_data import DEFAULT_DEPARTMENTS, DEFAULT_ITEMS
from marketplace.catalogue_models import Department, ServiceItem
from marketplace.domain.catalogue import ItemStats, item_stats
from marketplace.domain.money import money
from marketplace.models import AWARDED, COMPLETED, CONTRACTED, DRAFT, RATED, Job, Quote, Selection, ServiceCategory
from marketplace.schemas.catalogue import DepartmentIn, ItemIn
from marketplace.services.registry import Listing


async def seed_catalogue(session: AsyncSession) -> int:
    """Insert the default departments and items that are missing (after the categories); returns how many."""
    departments = {d.code: d for d in (await session.exec(select(Department))).all()}
    added_departments = 0
    for i, (code, zh, en) in enumerate(DEFAULT_DEPARTMENTS):
        if code not in departments:
            departments[code] = Department(code=code, name_zh=zh, name_en=en, sort_order=i)
            session.add(departments[code])
            added_departments += 1
    if added_departments:
        await session.flush()
    categories = {c.code: c for c in (await session.exec(select(ServiceCategory))).all()}
    existing = set((await session.exec(select(ServiceItem.code))).all())
    added_items = 0
    for i, (code, zh, en, appr_zh, appr_en, dept, basis, floor) in enumerate(DEFAULT_ITEMS):
        cat = categories.get(code.rsplit("-", 1)[0])
        if code in existing or cat is None:
            continue
        session.add(ServiceItem(code=code, name_zh=zh, name_en=en, category_id=cat.id, approval_item_zh=appr_zh,
                                approval_item_en=appr_en, department_id=departments[dept].id, legal_basis=basis,
                                min_level=floor, sort_order=i))
        added_items += 1
    if added_departments or added_items:
        await append_event(session, actor="system", kind="catalogue.seeded", subject="catalogue",
                           data={"departments": added_departments, "items": added_items})
        await session.commit()
    return added_departments + added_items


def level_label(level: int) -> str:
    return {1: _("Class A"), 2: _("Class B"), 3: _("Class C")}.get(level, str(level))


# ---- reading --------------------------------------------------------------------------------------

async def list_departments(session: AsyncSession, active_only: bool = True) -> list[Department]:
    q = select(Department).order_by(col(Department.sort_order), col(Department.id))
    if active_only:
        q = q.where(Department.active == True)  # noqa: E712
    return list((await session.exec(q)).all())


async def items_for_form(session: AsyncSession) -> list[tuple[ServiceItem, ServiceCategory, Department]]:
    """The active items of active categories, for the job form (grouped there by category)."""
    q = (select(ServiceItem, ServiceCategory, Department)
         .join(ServiceCategory, ServiceCategory.id == ServiceItem.category_id)
         .join(Department, Department.id == ServiceItem.department_id)
         .where(ServiceItem.active == True, ServiceCategory.active == True)  # noqa: E712
         .order_by(col(ServiceCategory.sort_order), col(ServiceCategory.id), col(ServiceItem.sort_order),
                   col(ServiceItem.code)))
    return list((await session.exec(q)).all())


@dataclass
class ItemFilters:
    q: str | None = None
    category: str | None = None
    department: str | None = None
    include_inactive: bool = False  # admins see deactivated items too


async def check_item_filters(session: AsyncSession, f: ItemFilters) -> ItemFilters:
    """Unknown category or department codes and over-long text are field errors (400)."""
    fields: dict[str, str] = {}
    if f.q is not None and len(f.q) > 100:
        fields["q"] = _("At most {n} characters.", n=100)
    if f.category and not (await session.exec(select(ServiceCategory.id).where(
            ServiceCategory.code == f.category))).first():
        fields["category"] = _("Unknown service category.")
    if f.department and not (await session.exec(select(Department.id).where(
            Department.code == f.department))).first():
        fields["department"] = _("Unknown department.")
    if fields:
        raise InputError(_("Please correct the marked fields."), fields=fields)
    return f


async def search_items(session: AsyncSession, f: ItemFilters, page: int = 1, per_page: int = 20) -> Listing:
    """A page of (item, category, department) rows matching the filters."""
    f = await check_item_filters(session, f)
    stmt = (select(ServiceItem, ServiceCategory, Department)
            .join(ServiceCategory, ServiceCategory.id == ServiceItem.category_id)
            .join(Department, Department.id == ServiceItem.department_id))
    if not f.include_inactive:
        stmt = stmt.where(ServiceItem.active == True)  # noqa: E712
    if f.q:
        stmt = stmt.where(or_(contains(ServiceItem.code, f.q), contains(ServiceItem.name_zh, f.q),
                              contains(ServiceItem.name_en, f.q), contains(ServiceItem.approval_item_zh, f.q),
                              contains(ServiceItem.approval_item_en, f.q), contains(ServiceItem.legal_basis, f.q)))
    if f.category:
        stmt = stmt.where(ServiceCategory.code == f.category)
    if f.department:
        stmt = stmt.where(Department.code == f.department)
    total = (await session.exec(select(func.count()).select_from(stmt.subquery()))).one()
    rows = (await session.exec(stmt.order_by(col(ServiceCategory.sort_order), col(ServiceCategory.id),
                                             col(ServiceItem.sort_order), col(ServiceItem.code))
                               .offset((page - 1) * per_page).limit(per_page))).all()
    return Listing(list(rows), total, page, per_page)


async def get_item(session: AsyncSession, code: str, *, include_inactive: bool = False,
                   ) -> tuple[ServiceItem, ServiceCategory, Department]:
    row = (await session.exec(select(ServiceItem, ServiceCategory, Department)
                              .join(ServiceCategory, ServiceCategory.id == ServiceItem.category_id)
                              .join(Department, Department.id == ServiceItem.department_id)
                              .where(ServiceItem.code == code))).first()
    if row is None or (not row[0].active and not include_inactive):
        raise NotFound(_("No such catalogue item."))
    return row


def _public_jobs(item: ServiceItem):
    return select(Job).where(Job.item_id == item.id, Job.status != DRAFT, col(Job.published_at).is_not(None))


async def item_jobs(session: AsyncSession, item: ServiceItem, page: int = 1, per_page: int = 20) -> Listing:
    """A page of the item's public jobs (never a draft, nor a job cancelled before publication), newest first."""
    stmt = _public_jobs(item)
    total = (await session.exec(select(func.count()).select_from(stmt.subquery()))).one()
    rows = (await session.exec(stmt.order_by(col(Job.id).desc()).offset((page - 1) * per_page).limit(per_page))).all()
    return Listing(list(rows), total, page, per_page)


async def item_statistics(session: AsyncSession, item: ServiceItem) -> ItemStats:
    """The item's public job count and caps, and over its awarded jobs the awarded total and savings rate."""
    public = _public_jobs(item).subquery()
    count, caps = (await session.exec(select(func.count(), func.coalesce(func.sum(public.c.budget_cap), 0))
                                      .select_from(public))).one()
    rows = (await session.exec(
        select(Job.budget_cap, Selection.winner_quote_id).join(Selection, Selection.job_id == Job.id)
        .where(Job.item_id == item.id, col(Job.status).in_((AWARDED, CONTRACTED, COMPLETED, RATED)),
               col(Selection.winner_quote_id).is_not(None)))).all()
    ids = [int(w) for _c, w in rows]
    prices = dict((await session.exec(select(Quote.id, Quote.price).where(col(Quote.id).in_(ids)))).all()
                  ) if ids else {}
    awarded = [(Decimal(c), Decimal(prices[int(w)])) for c, w in rows if int(w) in prices]
    return item_stats(int(count), Decimal(str(caps)), awarded)


# ---- outputs ----------------------------------------------------------------------------------------

def department_out(d: Department) -> dict:
    return {"code": d.code, "name_zh": d.name_zh, "name_en": d.name_en, "active": d.active, "sort_order": d.sort_order}


def item_out(item: ServiceItem, cat: ServiceCategory, dept: Department) -> dict:
    return {"code": item.code, "name_zh": item.name_zh, "name_en": item.name_en, "category": cat.code,
            "approval_item_zh": item.approval_item_zh, "approval_item_en": item.approval_item_en,
            "department": department_out(dept), "legal_basis": item.legal_basis, "min_level": item.min_level,
            "active": item.active, "sort_order": item.sort_order, "url": f"/catalogue/{item.code}"}


def stats_out(s: ItemStats) -> dict:
    return {"jobs": s.jobs, "total_caps": money(s.total_caps), "awarded": s.awarded,
            "awarded_caps": money(s.awarded_caps), "total_awarded": money(s.total_awarded),
            "total_saved": money(s.total_saved),
            "savings_rate": None if s.savings_rate is None else str(s.savings_rate)}


# ---- the admins' changes (each audited with before and after) -----------------------------------------

def _department_state(d: Department) -> dict:
    return department_out(d)


def _item_state(item: ServiceItem, cat_code: str, dept_code: str) -> dict:
    return {"code": item.code, "name_zh": item.name_zh, "name_en": item.name_en, "category": cat_code,
            "approval_item_zh": item.approval_item_zh, "approval_item_en": item.approval_item_en,
            "department": dept_code, "legal_basis": item.legal_basis, "min_level": item.min_level,
            "active": item.active, "sort_order": item.sort_order}


async def get_department(session: AsyncSession, code: str) -> Department:
    d = (await session.exec(select(Department).where(Department.code == code))).first()
    if d is None:
        raise NotFound(_("No such department."))
    return d


async def save_department(session: AsyncSession, actor: str, data: DepartmentIn,
                          code: str | None = None) -> Department:
    """Create a department (`code` None) or edit the one with `code` (whose code cannot change)."""
    if code is None:
        if (await session.exec(select(Department.id).where(Department.code == data.code))).first():
            msg = _("A department with this code already exists.")
            raise Conflict(msg, fields={"code": msg})
        dept, before, kind = Department(**data.model_dump()), None, "department.created"
    else:
        dept = await get_department(session, code)
        if data.code != dept.code:
            msg = _("The code of an existing department cannot be changed.")
            raise InputError(msg, fields={"code": msg})
        before, kind = _department_state(dept), "department.updated"
        for k, v in data.model_dump().items():
            setattr(dept, k, v)
    session.add(dept)
    await session.flush()
    await append_event(session, actor=actor, kind=kind, subject=f"department:{dept.code}",
                       data={"before": before, "after": _department_state(dept)})
    await session.commit()
    return dept


async def set_department_active(session: AsyncSession, actor: str, code: str, active: bool) -> Department:
    dept = await get_department(session, code)
    before = _department_state(dept)
    dept.active = active
    session.add(dept)
    await session.flush()
    await append_event(session, actor=actor, kind="department.activated" if active else "department.deactivated",
                       subject=f"department:{dept.code}", data={"before": before, "after": _department_state(dept)})
    await session.commit()
    return dept


async def _item_refs(session: AsyncSession, data: ItemIn) -> tuple[ServiceCategory, Department]:
    fields: dict[str, str] = {}
    cat = (await session.exec(select(ServiceCategory).where(ServiceCategory.code == data.category_code))).first()
    if cat is None:
        fields["category_code"] = _("Unknown service category.")
    dept = (await session.exec(select(Department).where(Department.code == data.department_code))).first()
    if dept is None:
        fields["department_code"] = _("Unknown department.")
    if fields:
        raise InputError(_("Please correct the marked fields."), fields=fields)
    return cat, dept


async def save_item(session: AsyncSession, actor: str, data: ItemIn, code: str | None = None) -> ServiceItem:
    """Create an item (`code` None) or edit the one with `code` (whose code cannot change)."""
    cat, dept = await _item_refs(session, data)
    values = data.model_dump(exclude={"category_code", "department_code"})
    if code is None:
        if (await session.exec(select(ServiceItem.id).where(ServiceItem.code == data.code))).first():
            msg = _("A catalogue item with this code already exists.")
            raise Conflict(msg, fields={"code": msg})
        item = ServiceItem(**values, category_id=cat.id, department_id=dept.id)
        before, kind = None, "catalogue_item.created"
    else:
        item, old_cat, old_dept = await get_item(session, code, include_inactive=True)
        if data.code != item.code:
            msg = _("The code of an existing catalogue item cannot be changed.")
            raise InputError(msg, fields={"code": msg})
        before, kind = _item_state(item, old_cat.code, old_dept.code), "catalogue_item.updated"
        for k, v in values.items():
            setattr(item, k, v)
        item.category_id, item.department_id, item.updated_at = cat.id, dept.id, utcnow()
    session.add(item)
    await session.flush()
    await append_event(session, actor=actor, kind=kind, subject=f"catalogue_item:{item.code}",
                       data={"before": before, "after": _item_state(item, cat.code, dept.code)})
    await session.commit()
    return item


async def set_item_active(session: AsyncSession, actor: str, code: str, active: bool) -> ServiceItem:
    item, cat, dept = await get_item(session, code, include_inactive=True)
    before = _item_state(item, cat.code, dept.code)
    item.active, item.updated_at = active, utcnow()
    session.add(item)
    await session.flush()
    kind = "catalogue_item.activated" if active else "catalogue_item.deactivated"
    await append_event(session, actor=actor, kind=kind, subject=f"catalogue_item:{item.code}",
                       data={"before": before, "after": _item_state(item, cat.code, dept.code)})
    await session.commit()
    return item
