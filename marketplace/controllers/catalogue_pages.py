"""The service catalogue's pages (中介服务事项清单): the public list and item pages, and the admins' pages
to manage departments and items (create, edit, deactivate; each change audited)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.auth import PUBLIC, roles
from app.db import DB
from app.errors import DomainError
from app.forms import parse
from app.i18n import gettext as _
from app.web import done, form_action, read_input
from marketplace.controllers.page_helpers import PER_PAGE, Page, pager_base, render_page, user_of
from marketplace.models import LEVELS
from marketplace.schemas.catalogue import DepartmentIn, ItemIn
from marketplace.services import catalogue, registry


def _checkbox(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "active": data.get("active") in ("on", "true", "1", True)}


async def _filter_choices(db: AsyncSession, *, include_inactive: bool = False) -> dict[str, Any]:
    return {"categories": await registry.list_categories(db, active_only=not include_inactive),
            "departments": await catalogue.list_departments(db, active_only=not include_inactive)}


# ---- public -------------------------------------------------------------------------------------

@get("/catalogue", opt=roles(PUBLIC))
async def catalogue_page(request: Request, db: DB, page: Page = 1, q: FromQuery[str | None] = None,
                         category: FromQuery[str | None] = None,
                         department: FromQuery[str | None] = None) -> Template:
    f = catalogue.ItemFilters(q=(q or "").strip() or None, category=category or None, department=department or None)
    listing = await catalogue.search_items(db, f, page=page, per_page=PER_PAGE)
    params = {"q": f.q, "category": f.category, "department": f.department}
    return await render_page(request, "marketplace/catalogue/list.html", listing=listing, filters=params,
                             pager_base=pager_base("/catalogue", params), **await _filter_choices(db))


@get("/catalogue/{code:str}", opt=roles(PUBLIC))
async def catalogue_item_page(request: Request, db: DB, code: FromPath[str], page: Page = 1) -> Template:
    item, cat, dept = await catalogue.get_item(db, code, include_inactive=True)  # its jobs still name it
    jobs = await catalogue.item_jobs(db, item, page=page, per_page=PER_PAGE)
    stats = await catalogue.item_statistics(db, item)
    return await render_page(request, "marketplace/catalogue/item.html", item=item, cat=cat, dept=dept, jobs=jobs,
                             stats=stats, pager_base=f"/catalogue/{item.code}?")


# ---- admins -------------------------------------------------------------------------------------

async def _admin_page(request: Request, db: AsyncSession, *, page: int = 1, q: str | None = None,
                      category: str | None = None, department: str | None = None, status_code: int = 200,
                      **extra: Any) -> Template:
    f = catalogue.ItemFilters(q=(q or "").strip() or None, category=category or None, department=department or None,
                              include_inactive=True)
    listing = await catalogue.search_items(db, f, page=page, per_page=PER_PAGE)
    params = {"q": f.q, "category": f.category, "department": f.department}
    extra.setdefault("dept_form", {"sort_order": "100"})
    extra.setdefault("dept_errors", {})
    return await render_page(request, "marketplace/catalogue/admin.html", status_code=status_code, listing=listing,
                             filters=params, pager_base=pager_base("/admin/catalogue", params),
                             all_departments=await catalogue.list_departments(db, active_only=False),
                             **await _filter_choices(db, include_inactive=True), **extra)


@get("/admin/catalogue", opt=roles("admin"))
async def admin_catalogue_page(request: Request, db: DB, page: Page = 1, q: FromQuery[str | None] = None,
                               category: FromQuery[str | None] = None,
                               department: FromQuery[str | None] = None) -> Template:
    return await _admin_page(request, db, page=page, q=q, category=category, department=department)


async def _item_form(request: Request, db: AsyncSession, *, code: str | None, form: dict[str, Any],
                     status_code: int = 200, errors: dict[str, str] | None = None, error: str = "") -> Template:
    return await render_page(request, "marketplace/catalogue/admin_item.html", status_code=status_code, code=code,
                             form=form, errors=errors or {}, error=error, levels=LEVELS,
                             **await _filter_choices(db, include_inactive=True))


def _item_values(item, cat, dept) -> dict[str, Any]:
    return {"code": item.code, "name_zh": item.name_zh, "name_en": item.name_en, "category_code": cat.code,
            "approval_item_zh": item.approval_item_zh, "approval_item_en": item.approval_item_en,
            "department_code": dept.code, "legal_basis": item.legal_basis, "min_level": str(item.min_level),
            "active": item.active, "sort_order": str(item.sort_order)}


@get("/admin/catalogue/items/new", opt=roles("admin"))
async def admin_item_new(request: Request, db: DB) -> Template:
    return await _item_form(request, db, code=None, form={"min_level": "3", "sort_order": "100", "active": True})


@post("/admin/catalogue/items", opt=roles("admin"))
async def admin_item_create(request: Request, db: DB) -> Response | Template:
    data = _checkbox(await read_input(request))
    return await form_action(
        db, lambda: catalogue.save_item(db, actor_of(user_of(request)), parse(ItemIn, data)),
        done(request, lambda item: _("Catalogue item {code} saved.", code=item.code), "/admin/catalogue"),
        lambda exc: _item_form(request, db, code=None, form=data, status_code=exc.status_code, errors=exc.fields,
                               error=exc.message))


@get("/admin/catalogue/items/{code:str}/edit", opt=roles("admin"))
async def admin_item_edit(request: Request, db: DB, code: FromPath[str]) -> Template:
    row = await catalogue.get_item(db, code, include_inactive=True)
    return await _item_form(request, db, code=row[0].code, form=_item_values(*row))


@post("/admin/catalogue/items/{code:str}", opt=roles("admin"))
async def admin_item_update(request: Request, db: DB, code: FromPath[str]) -> Response | Template:
    data = _checkbox(await read_input(request))
    item, _cat, _dept = await catalogue.get_item(db, code, include_inactive=True)
    data["code"] = item.code  # the code of an existing item is fixed

    return await form_action(
        db, lambda: catalogue.save_item(db, actor_of(user_of(request)), parse(ItemIn, data), item.code),
        done(request, lambda it: _("Catalogue item {code} saved.", code=it.code), "/admin/catalogue"),
        lambda exc: _item_form(request, db, code=item.code, form=data, status_code=exc.status_code,
                               errors=exc.fields, error=exc.message))


async def _admin_action(request: Request, db: AsyncSession, action, message: str) -> Response | Template:
    async def again(exc: DomainError) -> Template:
        return await _admin_page(request, db, status_code=exc.status_code, error=exc.message)

    return await form_action(db, action, done(request, message, "/admin/catalogue"), again)


@post("/admin/catalogue/items/{code:str}/deactivate", opt=roles("admin"))
async def admin_item_deactivate(request: Request, db: DB, code: FromPath[str]) -> Response | Template:
    return await _admin_action(request, db, lambda: catalogue.set_item_active(db, actor_of(user_of(request)),
                                                                             code, False),
                               _("Catalogue item {code} deactivated.", code=code))


@post("/admin/catalogue/items/{code:str}/activate", opt=roles("admin"))
async def admin_item_activate(request: Request, db: DB, code: FromPath[str]) -> Response | Template:
    return await _admin_action(request, db, lambda: catalogue.set_item_active(db, actor_of(user_of(request)),
                                                                             code, True),
                               _("Catalogue item {code} activated.", code=code))


@post("/admin/catalogue/departments", opt=roles("admin"))
async def admin_department_create(request: Request, db: DB) -> Response | Template:
    data = _checkbox({"active": "on", **await read_input(request)})

    async def again(exc: DomainError) -> Template:
        return await _admin_page(request, db, status_code=exc.status_code, dept_form=data, dept_errors=exc.fields,
                                 error=exc.message)

    return await form_action(
        db, lambda: catalogue.save_department(db, actor_of(user_of(request)), parse(DepartmentIn, data)),
        done(request, lambda d: _("Department {code} saved.", code=d.code), "/admin/catalogue"), again)


@post("/admin/catalogue/departments/{code:str}", opt=roles("admin"))
async def admin_department_update(request: Request, db: DB, code: FromPath[str]) -> Response | Template:
    data = _checkbox(await read_input(request))
    data["code"] = code

    async def again(exc: DomainError) -> Template:
        detail = "; ".join(exc.fields.values()) if exc.fields else ""
        return await _admin_page(request, db, status_code=exc.status_code,
                                 error=f"{code}: {exc.message} {detail}".strip())

    return await form_action(
        db, lambda: catalogue.save_department(db, actor_of(user_of(request)), parse(DepartmentIn, data), code),
        done(request, lambda d: _("Department {code} saved.", code=d.code), "/admin/catalogue"), again)


@post("/admin/catalogue/departments/{code:str}/deactivate", opt=roles("admin"))
async def admin_department_deactivate(request: Request, db: DB, code: FromPath[str]) -> Response | Template:
    return await _admin_action(request, db, lambda: catalogue.set_department_active(db, actor_of(user_of(request)),
                                                                                   code, False),
                               _("Department {code} deactivated.", code=code))


@post("/admin/catalogue/departments/{code:str}/activate", opt=roles("admin"))
async def admin_department_activate(request: Request, db: DB, code: FromPath[str]) -> Response | Template:
    return await _admin_action(request, db, lambda: catalogue.set_department_active(db, actor_of(user_of(request)),
                                                                                   code, True),
                               _("Department {code} activated.", code=code))


route_handlers = [
    catalogue_page, catalogue_item_page, admin_catalogue_page, admin_item_new, admin_item_create, admin_item_edit,
    admin_item_update, admin_item_deactivate, admin_item_activate, admin_department_create, admin_department_update,
    admin_department_deactivate, admin_department_activate,
]
