"""The service catalogue's API (中介服务事项清单): the public catalogue and departments, and the admins'
changes to departments and items (each audited)."""

from __future__ import annotations

from litestar import Request, get, post, put
from litestar.params import FromPath, FromQuery

from app.accounts import actor_of
from app.api_docs import body
from app.auth import PUBLIC, roles
from app.db import DB
from app.forms import parse
from app.web import read_input
from marketplace.controllers.page_helpers import Page, PerPage, user_of
from marketplace.domain.money import money
from marketplace.schemas.catalogue import (
    DepartmentIn,
    DepartmentListOut,
    DepartmentOut,
    ItemDetailOut,
    ItemIn,
    ItemListOut,
    ItemOut,
)
from marketplace.services import catalogue
from marketplace.services.job_notices import iso
from marketplace.services.registry import Listing


def _item_list(listing: Listing) -> ItemListOut:
    return ItemListOut(items=[ItemOut(**catalogue.item_out(*row)) for row in listing.items], total=listing.total,
                       page=listing.page, per_page=listing.per_page)


async def item_detail(db, code: str, page: int, per_page: int) -> ItemDetailOut:
    """A deactivated item is still shown (its jobs name it), marked `active: false`."""
    item, cat, dept = await catalogue.get_item(db, code, include_inactive=True)
    jobs = await catalogue.item_jobs(db, item, page=page, per_page=per_page)
    stats = await catalogue.item_statistics(db, item)
    return ItemDetailOut(
        **catalogue.item_out(item, cat, dept), statistics=catalogue.stats_out(stats),
        jobs=[{"job_id": j.job_no, "title": j.title, "status": j.status, "budget_cap": money(j.budget_cap),
               "min_level": j.min_level, "published_at": iso(j.published_at), "url": f"/jobs/{j.job_no}"}
              for j in jobs.items],
        jobs_total=jobs.total, page=jobs.page, per_page=jobs.per_page)


# ---- public -------------------------------------------------------------------------------------

@get("/api/catalogue", opt=roles(PUBLIC))
async def api_catalogue(db: DB, page: Page = 1, q: FromQuery[str | None] = None,
                        category: FromQuery[str | None] = None, department: FromQuery[str | None] = None,
                        per_page: PerPage = 20) -> ItemListOut:
    """The active catalogue items: search `q` (code, names, approval item, legal basis), `category` and
    `department` codes."""
    f = catalogue.ItemFilters(q=q or None, category=category or None, department=department or None)
    return _item_list(await catalogue.search_items(db, f, page=page, per_page=per_page))


@get("/api/catalogue/{code:str}", opt=roles(PUBLIC))
async def api_catalogue_item(db: DB, code: FromPath[str], page: Page = 1, per_page: PerPage = 20) -> ItemDetailOut:
    """One item with its statistics and a page of its public jobs (never a draft)."""
    return await item_detail(db, code, page, per_page)


@get("/api/departments", opt=roles(PUBLIC))
async def api_departments(db: DB) -> DepartmentListOut:
    """The active approving departments (审批部门)."""
    return DepartmentListOut(items=[catalogue.department_out(d) for d in await catalogue.list_departments(db)])


# ---- admins -------------------------------------------------------------------------------------

@get("/api/admin/catalogue/items", opt=roles("admin"))
async def api_admin_items(db: DB, page: Page = 1, q: FromQuery[str | None] = None,
                          category: FromQuery[str | None] = None, department: FromQuery[str | None] = None,
                          per_page: PerPage = 20) -> ItemListOut:
    """Every item, deactivated ones included."""
    f = catalogue.ItemFilters(q=q or None, category=category or None, department=department or None,
                              include_inactive=True)
    return _item_list(await catalogue.search_items(db, f, page=page, per_page=per_page))


@post("/api/admin/catalogue/items", opt=roles("admin"), status_code=201, operation_class=body(ItemIn))
async def api_item_create(request: Request, db: DB) -> ItemOut:
    """Body: ItemIn — code, names, category_code, approval item, department_code, legal basis, min_level 1..3."""
    data = parse(ItemIn, await read_input(request))
    item = await catalogue.save_item(db, actor_of(user_of(request)), data)
    return ItemOut(**catalogue.item_out(*await catalogue.get_item(db, item.code, include_inactive=True)))


@put("/api/admin/catalogue/items/{code:str}", opt=roles("admin"), operation_class=body(ItemIn))
async def api_item_update(request: Request, db: DB, code: FromPath[str]) -> ItemOut:
    data = parse(ItemIn, await read_input(request))
    item = await catalogue.save_item(db, actor_of(user_of(request)), data, code)
    return ItemOut(**catalogue.item_out(*await catalogue.get_item(db, item.code, include_inactive=True)))


@post("/api/admin/catalogue/items/{code:str}/deactivate", opt=roles("admin"), status_code=200)
async def api_item_deactivate(request: Request, db: DB, code: FromPath[str]) -> ItemOut:
    """New jobs can no longer name a deactivated item; its jobs keep it."""
    await catalogue.set_item_active(db, actor_of(user_of(request)), code, False)
    return ItemOut(**catalogue.item_out(*await catalogue.get_item(db, code, include_inactive=True)))


@post("/api/admin/catalogue/items/{code:str}/activate", opt=roles("admin"), status_code=200)
async def api_item_activate(request: Request, db: DB, code: FromPath[str]) -> ItemOut:
    await catalogue.set_item_active(db, actor_of(user_of(request)), code, True)
    return ItemOut(**catalogue.item_out(*await catalogue.get_item(db, code, include_inactive=True)))


@get("/api/admin/catalogue/departments", opt=roles("admin"))
async def api_admin_departments(db: DB) -> DepartmentListOut:
    """Every department, deactivated ones included."""
    return DepartmentListOut(items=[catalogue.department_out(d)
                                    for d in await catalogue.list_departments(db, active_only=False)])


@post("/api/admin/catalogue/departments", opt=roles("admin"), status_code=201, operation_class=body(DepartmentIn))
async def api_department_create(request: Request, db: DB) -> DepartmentOut:
    """Body: DepartmentIn — code, name_zh, name_en, active, sort_order."""
    data = parse(DepartmentIn, await read_input(request))
    return DepartmentOut(**catalogue.department_out(await catalogue.save_department(db, actor_of(user_of(request)),
                                                                                   data)))


@put("/api/admin/catalogue/departments/{code:str}", opt=roles("admin"), operation_class=body(DepartmentIn))
async def api_department_update(request: Request, db: DB, code: FromPath[str]) -> DepartmentOut:
    data = parse(DepartmentIn, await read_input(request))
    return DepartmentOut(**catalogue.department_out(await catalogue.save_department(db, actor_of(user_of(request)),
                                                                                   data, code)))


@post("/api/admin/catalogue/departments/{code:str}/deactivate", opt=roles("admin"), status_code=200)
async def api_department_deactivate(request: Request, db: DB, code: FromPath[str]) -> DepartmentOut:
    dept = await catalogue.set_department_active(db, actor_of(user_of(request)), code, False)
    return DepartmentOut(**catalogue.department_out(dept))


@post("/api/admin/catalogue/departments/{code:str}/activate", opt=roles("admin"), status_code=200)
async def api_department_activate(request: Request, db: DB, code: FromPath[str]) -> DepartmentOut:
    dept = await catalogue.set_department_active(db, actor_of(user_of(request)), code, True)
    return DepartmentOut(**catalogue.department_out(dept))


route_handlers = [
    api_catalogue, api_catalogue_item, api_departments, api_admin_items, api_item_create, api_item_update,
    api_item_deactivate, api_item_activate, api_admin_departments, api_department_create, api_department_update,
    api_department_deactivate, api_department_activate,
]
