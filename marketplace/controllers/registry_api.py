"""The registry's public and agency API: sign-up, the agency's own profile and qualifications, the
public directory and the categories."""

from __future__ import annotations

from litestar import Request, get, post, put
from litestar.params import FromPath, FromQuery

from app.accounts import actor_of
from app.api_docs import body
from app.auth import PUBLIC, roles
from app.db import DB
from app.errors import NotFound
from app.forms import parse
from app.i18n import gettext as _
from app.web import read_input
from marketplace.controllers.page_helpers import Page, PerPage, user_of
from marketplace.models import APPROVED, SUSPENDED, Agency
from marketplace.schemas import (
    AgencyDirectoryOut,
    AgencyOut,
    AgencyProfileIn,
    AgencyPublicOut,
    AgencySignup,
    CategoryOut,
    OwnerOut,
    OwnerSignup,
    QualificationIn,
)
from marketplace.services import registry
from marketplace.services.agency_profiles import save_profile
from marketplace.services.registry_outputs import agency_out, agency_public_out, category_out, directory_out, owner_out


@post("/api/signup/agency", opt=roles(PUBLIC), status_code=201,
      operation_class=body(AgencySignup))
async def api_signup_agency(request: Request, db: DB) -> AgencyOut:
    """Body: AgencySignup — username, password, credit_code, name, legal_rep, contact_name,
    phone, email, address, district, qualifications [{category_code, level, certificate_no, valid_until}]."""
    agency = await registry.register_agency(db, parse(AgencySignup, await read_input(request)))
    return await agency_out(db, agency)


@post("/api/signup/owner", opt=roles(PUBLIC), status_code=201,
      operation_class=body(OwnerSignup))
async def api_signup_owner(request: Request, db: DB) -> OwnerOut:
    """Body: OwnerSignup — username, password, credit_code, name, contact_name, phone, email, address, district."""
    owner = await registry.register_owner(db, parse(OwnerSignup, await read_input(request)))
    return owner_out(owner)


@get("/api/agency/profile", opt=roles("agency"))
async def api_agency_profile(request: Request, db: DB) -> AgencyOut:
    return await agency_out(db, await registry.get_agency(db, user_of(request).agency_id))


@put("/api/agency/profile", opt=roles("agency"),
     operation_class=body(AgencyProfileIn))
async def api_agency_profile_update(request: Request, db: DB) -> AgencyOut:
    """Body: AgencyProfileIn — name, legal_rep, contact_name, phone, email, address, district."""
    data = parse(AgencyProfileIn, await read_input(request))
    return await agency_out(db, await save_profile(db, request.app.state.queue, user_of(request), data))


@post("/api/agency/qualifications", opt=roles("agency"), status_code=201,
      operation_class=body(QualificationIn))
async def api_agency_qualification(request: Request, db: DB) -> AgencyOut:
    """Body: QualificationIn — category_code, level (1–3), certificate_no, valid_until. Goes back to review."""
    user = user_of(request)
    await registry.save_qualification(db, actor_of(user), user.agency_id,
                                      parse(QualificationIn, await read_input(request)))
    return await agency_out(db, await registry.get_agency(db, user.agency_id))


@get("/api/agencies", opt=roles(PUBLIC))
async def api_directory(db: DB, page: Page = 1, q: FromQuery[str | None] = None,
                        category: FromQuery[str | None] = None, per_page: PerPage = 20) -> AgencyDirectoryOut:
    """Approved agencies (search by name or code; category), with their approved qualifications."""
    listing = await registry.list_orgs(db, Agency, status=APPROVED, q=q, category=category, page=page,
                                       per_page=per_page)
    return await directory_out(db, listing)


@get("/api/agencies/{code:str}", opt=roles(PUBLIC))
async def api_agency_public(db: DB, code: FromPath[str]) -> AgencyPublicOut:
    agency = await registry.get_agency_by_code(db, code)
    if agency.status not in (APPROVED, SUSPENDED):
        raise NotFound(_("No such agency."))
    return await agency_public_out(db, agency)


@get("/api/categories", opt=roles(PUBLIC))
async def api_categories(db: DB) -> list[CategoryOut]:
    return [category_out(c) for c in await registry.list_categories(db)]


route_handlers = [
    api_signup_agency, api_signup_owner, api_agency_profile, api_agency_profile_update, api_agency_qualification,
    api_directory, api_agency_public, api_categories,
]
