"""The administrators' API: registrations and their review, qualification changes, service
categories, regulator accounts."""

from __future__ import annotations

from litestar import Request, get, post, put
from litestar.params import FromPath, FromQuery

from app.accounts import actor_of
from app.api_docs import body
from app.auth import roles
from app.db import DB
from app.forms import parse
from app.web import read_input
from marketplace.controllers.filters import registration_filters
from marketplace.controllers.page_helpers import Page, PerPage, recompute_later, user_of
from marketplace.models import Agency, Owner
from marketplace.schemas import (
    AgencyOut,
    CategoryIn,
    CategoryOut,
    Decision,
    OwnerOut,
    QualificationStateOut,
    RegistrationsOut,
    RegulatorIn,
    RegulatorOut,
    StatusChange,
)
from marketplace.services import registry
from marketplace.services.registry_outputs import agency_out, category_out, owner_out, registrations_out
from marketplace.services.regulators import create_regulator


@get("/api/admin/registrations", opt=roles("admin", "regulator"))
async def api_registrations(db: DB, page: Page = 1, kind: FromQuery[str] = "agency",
                            status: FromQuery[str | None] = "pending", q: FromQuery[str | None] = None,
                            category: FromQuery[str | None] = None, per_page: PerPage = 20) -> RegistrationsOut:
    """Agencies (in full) or owner organisations (`kind`) of one status (`pending` unless given; empty: all)."""
    kind, status = registration_filters(kind, status)
    listing = await registry.list_orgs(db, Agency if kind == "agency" else Owner, status=status, q=q,
                                       category=category, page=page, per_page=per_page)
    return await registrations_out(db, kind, listing)


@post("/api/admin/agencies/{agency_id:int}/decision", opt=roles("admin"), status_code=200,
      operation_class=body(Decision))
async def api_agency_decision(request: Request, db: DB, agency_id: FromPath[int]) -> AgencyOut:
    """Body: `{"decision": "approve"|"reject", "reason": str}` (reason required to reject)."""
    d = parse(Decision, await read_input(request))
    agency = await registry.decide_agency(db, actor_of(user_of(request)), agency_id, d.decision, d.reason)
    if d.decision == "approve":  # an approved agency gets its (prior) credit score now: ranked at once
        await recompute_later(request, agency_id)
    return await agency_out(db, agency)


@post("/api/admin/agencies/{agency_id:int}/status", opt=roles("admin"), status_code=200,
      operation_class=body(StatusChange))
async def api_agency_status(request: Request, db: DB, agency_id: FromPath[int]) -> AgencyOut:
    """Body: `{"action": "suspend"|"reinstate", "reason": str}`."""
    d = parse(StatusChange, await read_input(request))
    agency = await registry.change_agency_status(db, actor_of(user_of(request)), agency_id, d.action, d.reason)
    await recompute_later(request, agency_id)
    return await agency_out(db, agency)


@post("/api/admin/owners/{owner_id:int}/decision", opt=roles("admin"), status_code=200,
      operation_class=body(Decision))
async def api_owner_decision(request: Request, db: DB, owner_id: FromPath[int]) -> OwnerOut:
    d = parse(Decision, await read_input(request))
    return owner_out(await registry.decide_owner(db, actor_of(user_of(request)), owner_id, d.decision, d.reason))


@post("/api/admin/qualifications/{qualification_id:int}/decision", opt=roles("admin"), status_code=200,
      operation_class=body(Decision))
async def api_qualification_decision(request: Request, db: DB,
                                     qualification_id: FromPath[int]) -> QualificationStateOut:
    d = parse(Decision, await read_input(request))
    q = await registry.decide_qualification(db, actor_of(user_of(request)), qualification_id, d.decision, d.reason)
    return QualificationStateOut(id=q.id, status=q.status)


@post("/api/admin/categories", opt=roles("admin"), status_code=201,
      operation_class=body(CategoryIn))
async def api_category_create(request: Request, db: DB) -> CategoryOut:
    """Body: CategoryIn — code, name_zh, name_en, active, sort_order."""
    data = parse(CategoryIn, await read_input(request))
    return category_out(await registry.save_category(db, actor_of(user_of(request)), data))


@put("/api/admin/categories/{category_id:int}", opt=roles("admin"),
     operation_class=body(CategoryIn))
async def api_category_update(request: Request, db: DB, category_id: FromPath[int]) -> CategoryOut:
    data = parse(CategoryIn, await read_input(request))
    return category_out(await registry.save_category(db, actor_of(user_of(request)), data, category_id))


@post("/api/admin/regulators", opt=roles("admin"), status_code=201,
      operation_class=body(RegulatorIn))
async def api_regulator_create(request: Request, db: DB) -> RegulatorOut:
    """Body: RegulatorIn — username, password, display_name."""
    user = await create_regulator(db, actor_of(user_of(request)), parse(RegulatorIn, await read_input(request)))
    return RegulatorOut(id=user.id, username=user.username, role=user.role)


route_handlers = [
    api_registrations, api_agency_decision, api_agency_status, api_owner_decision, api_qualification_decision,
    api_category_create, api_category_update, api_regulator_create,
]
