"""The registry's public and agency pages: sign-up (agency, owner), the agency's own profile and
qualifications, the public directory of agencies."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of
from app.auth import PUBLIC, roles
from app.cached_pages import shared_page
from app.db import DB
from app.errors import DomainError, NotFound
from app.forms import parse
from app.i18n import gettext as _
from app.web import done, form_action, read_input, render
from marketplace.controllers.page_helpers import Page, user_of
from marketplace.models import APPROVED, LEVELS, SUSPENDED, Agency
from marketplace.schemas import AgencyProfileIn, AgencySignup, OwnerSignup, QualificationIn
from marketplace.services import registry
from marketplace.services.agency_profiles import AGENCY_PUBLIC_PAGES, save_profile


def _qualification_rows(data: dict[str, Any]) -> dict[str, Any]:
    """Turn the sign-up form's numbered qualification fields into a list."""
    if "qualifications" in data and not isinstance(data["qualifications"], str):
        return data
    rows = []
    for i in range(4):
        code = str(data.get(f"q{i}_category", "")).strip()
        if not code:
            continue
        rows.append({"category_code": code, "level": data.get(f"q{i}_level", ""),
                     "certificate_no": data.get(f"q{i}_certificate_no", ""),
                     "valid_until": data.get(f"q{i}_valid_until", "")})
    return {**data, "qualifications": rows}


def _registered(request: Request):
    return done(request, lambda org: _("Registration of {name} received. An administrator will review it; "
                                       "log in to follow its status.", name=org.name), "/login")


# ---- sign-up -----------------------------------------------------------------

@get("/signup", opt=roles(PUBLIC))
async def signup_choice(request: Request) -> Template:
    return await render(request, "marketplace/registry/signup_choice.html")


@get("/signup/agency", opt=roles(PUBLIC))
async def signup_agency_page(request: Request, db: DB) -> Template:
    return await render(request, "marketplace/registry/signup_agency.html",
                        categories=await registry.list_categories(db), levels=LEVELS)


@post("/signup/agency", opt=roles(PUBLIC))
async def signup_agency_submit(request: Request, db: DB) -> Response | Template:
    data = _qualification_rows(await read_input(request))

    async def again(exc: DomainError) -> Template:
        data.pop("password", None)
        return await render(request, "marketplace/registry/signup_agency.html", status_code=exc.status_code,
                            categories=await registry.list_categories(db), levels=LEVELS,
                            form=data, errors=exc.fields, error=exc.message)

    return await form_action(db, lambda: registry.register_agency(db, parse(AgencySignup, data)),
                             _registered(request), again)


@get("/signup/owner", opt=roles(PUBLIC))
async def signup_owner_page(request: Request) -> Template:
    return await render(request, "marketplace/registry/signup_owner.html")


@post("/signup/owner", opt=roles(PUBLIC))
async def signup_owner_submit(request: Request, db: DB) -> Response | Template:
    data = await read_input(request)

    async def again(exc: DomainError) -> Template:
        data.pop("password", None)
        return await render(request, "marketplace/registry/signup_owner.html", status_code=exc.status_code,
                            form=data, errors=exc.fields, error=exc.message)

    return await form_action(db, lambda: registry.register_owner(db, parse(OwnerSignup, data)),
                             _registered(request), again)


# ---- agency's own profile ----------------------------------------------------------

async def _profile_page(request: Request, db: AsyncSession, status_code: int = 200,
                        form: dict[str, Any] | None = None, **extra: Any) -> Template:
    """The profile page; `form` (the profile's fields unless given) and `extra` carry a form shown again."""
    agency = await registry.get_agency(db, user_of(request).agency_id)
    quals = (await registry.qualifications_of(db, [agency.id]))[agency.id]
    return await render(request, "marketplace/registry/agency_profile.html", status_code=status_code, agency=agency,
                        quals=quals, categories=await registry.list_categories(db), levels=LEVELS,
                        form=agency.model_dump() if form is None else form, **extra)


@get("/agency/profile", opt=roles("agency"))
async def agency_profile_page(request: Request, db: DB) -> Template:
    return await _profile_page(request, db)


@post("/agency/profile", opt=roles("agency"))
async def agency_profile_submit(request: Request, db: DB) -> Response | Template:
    data = await read_input(request)
    return await form_action(
        db, lambda: save_profile(db, request.app.state.queue, user_of(request), parse(AgencyProfileIn, data)),
        done(request, _("Profile saved."), "/agency/profile"),
        lambda exc: _profile_page(request, db, status_code=exc.status_code, form=data, errors=exc.fields,
                                  error=exc.message))


@post("/agency/qualifications", opt=roles("agency"))
async def agency_qualification_submit(request: Request, db: DB) -> Response | Template:
    user = user_of(request)
    data = await read_input(request)
    return await form_action(
        db, lambda: registry.save_qualification(db, actor_of(user), user.agency_id, parse(QualificationIn, data)),
        done(request, _("Qualification submitted for review."), "/agency/profile"),
        lambda exc: _profile_page(request, db, status_code=exc.status_code, qform=data, qerrors=exc.fields,
                                  error=exc.message))


# ---- public directory ---------------------------------------------------------------------

@get("/agencies", opt=roles(PUBLIC))
async def directory_page(request: Request, db: DB, page: Page = 1, q: FromQuery[str | None] = None,
                         category: FromQuery[str | None] = None) -> Template:
    listing = await registry.list_orgs(db, Agency, status=APPROVED, q=q, category=category, page=page)
    quals = await registry.qualifications_of(db, [a.id for a in listing.items])
    return await render(request, "marketplace/registry/directory.html", listing=listing, quals=quals, q=q or "",
                        category=category or "", categories=await registry.list_categories(db))


@get("/agencies/{code:str}", opt=roles(PUBLIC))
async def agency_public_page(request: Request, db: DB, code: FromPath[str]) -> Response | Template:
    """The same for every visitor: cached while the agency's record is unchanged."""

    async def build() -> Template:
        agency = await registry.get_agency_by_code(db, code)
        if agency.status not in (APPROVED, SUSPENDED):
            raise NotFound(_("No such agency."))
        quals = [(q, c) for q, c in (await registry.qualifications_of(db, [agency.id]))[agency.id]
                 if q.status == APPROVED]
        return await render(request, "marketplace/registry/agency_public.html", agency=agency, quals=quals)

    return await shared_page(request, topics=(AGENCY_PUBLIC_PAGES,), build=build)


route_handlers = [
    signup_choice, signup_agency_page, signup_agency_submit, signup_owner_page, signup_owner_submit,
    agency_profile_page, agency_profile_submit, agency_qualification_submit, directory_page, agency_public_page,
]
