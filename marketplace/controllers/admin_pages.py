"""The administrators' (and, to read, the regulators') pages: registrations and their review,
qualification changes, service categories, regulator accounts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.auth import roles
from app.db import DB
from app.errors import DomainError
from app.forms import parse
from app.i18n import gettext as _
from app.web import done, flash, form_action, read_input, redirect, render
from marketplace.controllers.filters import registration_filters
from marketplace.controllers.page_helpers import Page, domain_message, recompute_later, user_of
from marketplace.models import ORG_STATUSES, Agency, Owner
from marketplace.schemas import CategoryIn, Decision, RegulatorIn, StatusChange
from marketplace.services import registry
from marketplace.services.regulators import create_regulator, regulator_accounts


async def _review_action(request: Request, db: AsyncSession, back: str,
                         act: Callable[[dict[str, Any]], Awaitable[str]]) -> Response:
    """Run a form of these pages with `form_action`: `act` returns what was saved, said in a flash message on
    the way back to `back`; on a domain error (unreadable input included) back there too, with its message."""
    async def run() -> str:
        return await act(await read_input(request))

    async def back_with_message(exc: DomainError) -> Response:
        await flash(request, domain_message(exc), "error")
        return redirect(back)

    return await form_action(db, run, done(request, lambda said: said, back), back_with_message)


def _decided(name: str, decision: str) -> str:
    return (_("The registration of {name} was approved.", name=name) if decision == "approve"
            else _("The registration of {name} was rejected.", name=name))


# ---- registrations and their review -------------------------------------------------------------

@get("/admin/registrations", opt=roles("admin", "regulator"))
async def registrations_page(request: Request, db: DB, page: Page = 1, kind: FromQuery[str] = "agency",
                             status: FromQuery[str | None] = "pending", q: FromQuery[str | None] = None,
                             category: FromQuery[str | None] = None) -> Template:
    kind, status = registration_filters(kind, status)
    model = Agency if kind == "agency" else Owner
    listing = await registry.list_orgs(db, model, status=status, q=q, category=category, page=page)
    quals = await registry.qualifications_of(db, [a.id for a in listing.items]) if kind == "agency" else {}
    return await render(request, "marketplace/registry/admin_registrations.html", listing=listing, kind=kind,
                        status=status or "", q=q or "", category=category or "", quals=quals,
                        categories=await registry.list_categories(db, active_only=False), statuses=ORG_STATUSES)


@get("/admin/agencies/{agency_id:int}", opt=roles("admin", "regulator"))
async def admin_agency_page(request: Request, db: DB, agency_id: FromPath[int]) -> Template:
    agency = await registry.get_agency(db, agency_id)
    quals = (await registry.qualifications_of(db, [agency.id]))[agency.id]
    return await render(request, "marketplace/registry/admin_agency.html", agency=agency, quals=quals)


@get("/admin/owners/{owner_id:int}", opt=roles("admin", "regulator"))
async def admin_owner_page(request: Request, db: DB, owner_id: FromPath[int]) -> Template:
    return await render(request, "marketplace/registry/admin_owner.html", owner=await registry.get_owner(db, owner_id))


@post("/admin/agencies/{agency_id:int}/decision", opt=roles("admin"))
async def admin_agency_decision(request: Request, db: DB, agency_id: FromPath[int]) -> Response:
    async def act(data):
        d = parse(Decision, data)
        agency = await registry.decide_agency(db, actor_of(user_of(request)), agency_id, d.decision, d.reason)
        if d.decision == "approve":  # an approved agency gets its (prior) credit score now: ranked at once
            await recompute_later(request, agency_id)
        return _decided(agency.name, d.decision)
    return await _review_action(request, db, f"/admin/agencies/{agency_id}", act)


@post("/admin/agencies/{agency_id:int}/status", opt=roles("admin"))
async def admin_agency_status(request: Request, db: DB, agency_id: FromPath[int]) -> Response:
    async def act(data):
        d = parse(StatusChange, data)
        agency = await registry.change_agency_status(db, actor_of(user_of(request)), agency_id, d.action, d.reason)
        await recompute_later(request, agency_id)
        return (_("{name} was suspended: it cannot quote until reinstated.", name=agency.name)
                if d.action == "suspend" else _("{name} was reinstated.", name=agency.name))
    return await _review_action(request, db, f"/admin/agencies/{agency_id}", act)


@post("/admin/owners/{owner_id:int}/decision", opt=roles("admin"))
async def admin_owner_decision(request: Request, db: DB, owner_id: FromPath[int]) -> Response:
    async def act(data):
        d = parse(Decision, data)
        owner = await registry.decide_owner(db, actor_of(user_of(request)), owner_id, d.decision, d.reason)
        return _decided(owner.name, d.decision)
    return await _review_action(request, db, f"/admin/owners/{owner_id}", act)


@post("/admin/qualifications/{qualification_id:int}/decision", opt=roles("admin"))
async def admin_qualification_decision(request: Request, db: DB, qualification_id: FromPath[int]) -> Response:
    back = str(request.query_params.get("back", "/admin/qualifications"))
    back = back if back.startswith("/admin/") else "/admin/qualifications"

    async def act(data):
        d = parse(Decision, data)
        qual = await registry.decide_qualification(db, actor_of(user_of(request)), qualification_id, d.decision,
                                                   d.reason)
        return (_("Qualification {no} was approved.", no=qual.certificate_no) if d.decision == "approve"
                else _("Qualification {no} was rejected.", no=qual.certificate_no))
    return await _review_action(request, db, back, act)


@get("/admin/qualifications", opt=roles("admin", "regulator"))
async def admin_qualifications_page(request: Request, db: DB, page: Page = 1) -> Template:
    return await render(request, "marketplace/registry/admin_qualifications.html",
                        listing=await registry.pending_qualifications(db, page=page))


# ---- categories ---------------------------------------------------------------------

@get("/admin/categories", opt=roles("admin"))
async def categories_page(request: Request, db: DB) -> Template:
    return await render(request, "marketplace/registry/admin_categories.html",
                        categories=await registry.list_categories(db, active_only=False))


def _checkbox(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "active": data.get("active") in ("on", "true", "1", True)}


@post("/admin/categories", opt=roles("admin"))
async def categories_create(request: Request, db: DB) -> Response:
    async def act(data):
        category = await registry.save_category(db, actor_of(user_of(request)), parse(CategoryIn, _checkbox(data)))
        return _("Category {code} saved.", code=category.code)
    return await _review_action(request, db, "/admin/categories", act)


@post("/admin/categories/{category_id:int}", opt=roles("admin"))
async def categories_update(request: Request, db: DB, category_id: FromPath[int]) -> Response:
    async def act(data):
        category = await registry.save_category(db, actor_of(user_of(request)), parse(CategoryIn, _checkbox(data)),
                                                category_id)
        return _("Category {code} saved.", code=category.code)
    return await _review_action(request, db, "/admin/categories", act)


# ---- regulator accounts ------------------------------------------------------------------

@get("/admin/regulators", opt=roles("admin"))
async def regulators_page(request: Request, db: DB) -> Template:
    return await render(request, "marketplace/registry/admin_regulators.html", regulators=await regulator_accounts(db))


@post("/admin/regulators", opt=roles("admin"))
async def regulators_create(request: Request, db: DB) -> Response:
    async def act(data):
        user = await create_regulator(db, actor_of(user_of(request)), parse(RegulatorIn, data))
        return _("Regulator account {name} created.", name=user.username)
    return await _review_action(request, db, "/admin/regulators", act)


route_handlers = [
    registrations_page, admin_agency_page, admin_owner_page, admin_agency_decision, admin_agency_status,
    admin_owner_decision, admin_qualification_decision, admin_qualifications_page, categories_page,
    categories_create, categories_update, regulators_page, regulators_create,
]
