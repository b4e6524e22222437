"""Registry routes: sign-up, agency profile, admin review, categories, directory."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post, put
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from app.accounts import actor_of, new_user
from app.api_docs import body
from app.audit import append_event
from app.auth import PUBLIC, CurrentUser, roles
from app.db import DB
from app.errors import DomainError, InputError
from app.forms import parse
from app.i18n import gettext as _
from app.models import User
from app.web import flash, read_input, redirect, render
from marketplace.models import APPROVED, LEVELS, ORG_STATUSES, Agency, Owner, Qualification
from marketplace.schemas import (
    AgencyOut,
    AgencyProfileIn,
    AgencyPublicOut,
    AgencySignup,
    CategoryIn,
    CategoryOut,
    Decision,
    OwnerOut,
    OwnerSignup,
    QualificationIn,
    QualificationOut,
    RegulatorIn,
    StatusChange,
)
from marketplace.services import registry

Page = Annotated[int, QueryParameter(name="page", ge=1, le=100000)]
MAX_PER_PAGE = 100


def _user(request: Request) -> CurrentUser:
    return request.scope["user"]


def _qual_out(q: Qualification, cat) -> QualificationOut:
    return QualificationOut(id=q.id, category_code=cat.code, level=q.level, certificate_no=q.certificate_no,
                            valid_until=q.valid_until, status=q.status, status_reason=q.status_reason)


async def _agency_out(db: AsyncSession, agency: Agency, public: bool) -> AgencyOut | AgencyPublicOut:
    quals = (await registry.qualifications_of(db, [agency.id]))[agency.id]
    qs = [_qual_out(q, c) for q, c in quals if not public or q.status == APPROVED]
    if public:
        return AgencyPublicOut(credit_code=agency.credit_code, name=agency.name, district=agency.district,
                               status=agency.status, qualifications=qs)
    return AgencyOut(id=agency.id, credit_code=agency.credit_code, name=agency.name, district=agency.district,
                     status=agency.status, qualifications=qs, legal_rep=agency.legal_rep,
                     contact_name=agency.contact_name, phone=agency.phone, email=agency.email,
                     address=agency.address, status_reason=agency.status_reason, created_at=agency.created_at)


def _owner_out(o: Owner) -> OwnerOut:
    return OwnerOut(**{k: getattr(o, k) for k in OwnerOut.model_fields})


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


# ---- sign-up -----------------------------------------------------------------

@get("/signup", opt=roles(PUBLIC))
async def signup_choice(request: Request) -> Template:
    return await render(request, "marketplace/registry/signup_choice.html")


@get("/signup/agency", opt=roles(PUBLIC))
async def signup_agency_page(request: Request, db: DB) -> Template:
    return await render(request, "marketplace/registry/signup_agency.html", categories=await registry.list_categories(db),
                        levels=LEVELS)


@post("/signup/agency", opt=roles(PUBLIC))
async def signup_agency_submit(request: Request, db: DB) -> Response | Template:
    data = _qualification_rows(await read_input(request))
    try:
        agency = await registry.register_agency(db, parse(AgencySignup, data))
    except DomainError as exc:
        data.pop("password", None)
        return await render(request, "marketplace/registry/signup_agency.html", status_code=exc.status_code,
                            categories=await registry.list_categories(db), levels=LEVELS,
                            form=data, errors=exc.fields, error=exc.message)
    await flash(request, _("Registration of {name} received. An administrator will review it; "
                           "log in to follow its status.", name=agency.name))
    return redirect("/login")


@get("/signup/owner", opt=roles(PUBLIC))
async def signup_owner_page(request: Request) -> Template:
    return await render(request, "marketplace/registry/signup_owner.html")


@post("/signup/owner", opt=roles(PUBLIC))
async def signup_owner_submit(request: Request, db: DB) -> Response | Template:
    data = await read_input(request)
    try:
        owner = await registry.register_owner(db, parse(OwnerSignup, data))
    except DomainError as exc:
        data.pop("password", None)
        return await render(request, "marketplace/registry/signup_owner.html", status_code=exc.status_code,
                            form=data, errors=exc.fields, error=exc.message)
    await flash(request, _("Registration of {name} received. An administrator will review it; "
                           "log in to follow its status.", name=owner.name))
    return redirect("/login")


@post("/api/signup/agency", opt=roles(PUBLIC), status_code=201,
      operation_class=body(AgencySignup))
async def api_signup_agency(request: Request, db: DB) -> AgencyOut:
    """Body: AgencySignup — username, password, credit_code, name, legal_rep, contact_name,
    phone, email, address, district, qualifications [{category_code, level, certificate_no, valid_until}]."""
    agency = await registry.register_agency(db, parse(AgencySignup, await read_input(request)))
    return await _agency_out(db, agency, public=False)


@post("/api/signup/owner", opt=roles(PUBLIC), status_code=201,
      operation_class=body(OwnerSignup))
async def api_signup_owner(request: Request, db: DB) -> OwnerOut:
    """Body: OwnerSignup — username, password, credit_code, name, contact_name, phone, email, address, district."""
    owner = await registry.register_owner(db, parse(OwnerSignup, await read_input(request)))
    return _owner_out(owner)


# ---- agency's own profile ----------------------------------------------------------

@get("/agency/profile", opt=roles("agency"))
async def agency_profile_page(request: Request, db: DB) -> Template:
    agency = await registry.get_agency(db, _user(request).agency_id)
    quals = (await registry.qualifications_of(db, [agency.id]))[agency.id]
    return await render(request, "marketplace/registry/agency_profile.html", agency=agency, quals=quals,
                        categories=await registry.list_categories(db), levels=LEVELS,
                        form=agency.model_dump())


async def _save_profile(request: Request, db: AsyncSession, user: CurrentUser, data: AgencyProfileIn) -> Agency:
    """Save the agency's own profile; a new name or district shows on the cached ranking page at once."""
    before = (await registry.get_agency(db, user.agency_id)).model_dump(include={"name", "district"})
    agency = await registry.update_agency_profile(db, actor_of(user), user.agency_id, data)
    if agency.model_dump(include={"name", "district"}) != before:
        await _rerank(request, agency.id)
    return agency


@post("/agency/profile", opt=roles("agency"))
async def agency_profile_submit(request: Request, db: DB) -> Response | Template:
    user = _user(request)
    data = await read_input(request)
    try:
        await _save_profile(request, db, user, parse(AgencyProfileIn, data))
    except DomainError as exc:
        agency = await registry.get_agency(db, user.agency_id)
        quals = (await registry.qualifications_of(db, [agency.id]))[agency.id]
        return await render(request, "marketplace/registry/agency_profile.html", status_code=exc.status_code, agency=agency,
                            quals=quals, categories=await registry.list_categories(db), levels=LEVELS,
                            form=data, errors=exc.fields, error=exc.message)
    await flash(request, _("Profile saved."))
    return redirect("/agency/profile")


@post("/agency/qualifications", opt=roles("agency"))
async def agency_qualification_submit(request: Request, db: DB) -> Response | Template:
    user = _user(request)
    data = await read_input(request)
    try:
        await registry.save_qualification(db, actor_of(user), user.agency_id, parse(QualificationIn, data))
    except DomainError as exc:
        agency = await registry.get_agency(db, user.agency_id)
        quals = (await registry.qualifications_of(db, [agency.id]))[agency.id]
        return await render(request, "marketplace/registry/agency_profile.html", status_code=exc.status_code, agency=agency,
                            quals=quals, categories=await registry.list_categories(db), levels=LEVELS,
                            form=agency.model_dump(), qform=data, qerrors=exc.fields, error=exc.message)
    await flash(request, _("Qualification submitted for review."))
    return redirect("/agency/profile")


@get("/api/agency/profile", opt=roles("agency"))
async def api_agency_profile(request: Request, db: DB) -> AgencyOut:
    return await _agency_out(db, await registry.get_agency(db, _user(request).agency_id), public=False)


@put("/api/agency/profile", opt=roles("agency"),
      operation_class=body(AgencyProfileIn))
async def api_agency_profile_update(request: Request, db: DB) -> AgencyOut:
    """Body: AgencyProfileIn — name, legal_rep, contact_name, phone, email, address, district."""
    user = _user(request)
    agency = await _save_profile(request, db, user, parse(AgencyProfileIn, await read_input(request)))
    return await _agency_out(db, agency, public=False)


@post("/api/agency/qualifications", opt=roles("agency"), status_code=201,
      operation_class=body(QualificationIn))
async def api_agency_qualification(request: Request, db: DB) -> AgencyOut:
    """Body: QualificationIn — category_code, level (1–3), certificate_no, valid_until. Goes back to review."""
    user = _user(request)
    await registry.save_qualification(db, actor_of(user), user.agency_id,
                                      parse(QualificationIn, await read_input(request)))
    return await _agency_out(db, await registry.get_agency(db, user.agency_id), public=False)


# ---- admin review ------------------------------------------------------------------

def _check_filters(kind: str, status: str | None) -> None:
    fields = {}
    if kind not in ("agency", "owner"):
        fields["kind"] = _("Choose one of the offered values.")
    if status and status not in ORG_STATUSES:
        fields["status"] = _("Choose one of the offered values.")
    if fields:
        raise InputError(_("Unknown filter value."), fields=fields)


@get("/admin/registrations", opt=roles("admin", "regulator"))
async def registrations_page(request: Request, db: DB, page: Page = 1, kind: FromQuery[str] = "agency",
                             status: FromQuery[str | None] = "pending", q: FromQuery[str | None] = None,
                             category: FromQuery[str | None] = None) -> Template:
    _check_filters(kind, status or None)
    model = Agency if kind == "agency" else Owner
    listing = await registry.list_orgs(db, model, status=status or None, q=q, category=category, page=page)
    quals = await registry.qualifications_of(db, [a.id for a in listing.items]) if kind == "agency" else {}
    return await render(request, "marketplace/registry/admin_registrations.html", listing=listing, kind=kind,
                        status=status or "", q=q or "", category=category or "", quals=quals,
                        categories=await registry.list_categories(db, active_only=False), statuses=ORG_STATUSES)


@get("/api/admin/registrations", opt=roles("admin", "regulator"))
async def api_registrations(db: DB, page: Page = 1, kind: FromQuery[str] = "agency",
                            status: FromQuery[str | None] = "pending", q: FromQuery[str | None] = None,
                            category: FromQuery[str | None] = None,
                            per_page: Annotated[int, QueryParameter(name="per_page", ge=1, le=MAX_PER_PAGE)] = 20) -> dict[str, Any]:
    _check_filters(kind, status or None)
    model = Agency if kind == "agency" else Owner
    listing = await registry.list_orgs(db, model, status=status or None, q=q, category=category, page=page,
                                       per_page=per_page)
    if kind == "agency":
        items = [(await _agency_out(db, a, public=False)).model_dump(mode="json") for a in listing.items]
    else:
        items = [_owner_out(o).model_dump(mode="json") for o in listing.items]
    return {"items": items, "total": listing.total, "page": listing.page, "per_page": listing.per_page}


@get("/admin/agencies/{agency_id:int}", opt=roles("admin", "regulator"))
async def admin_agency_page(request: Request, db: DB, agency_id: FromPath[int]) -> Template:
    agency = await registry.get_agency(db, agency_id)
    quals = (await registry.qualifications_of(db, [agency.id]))[agency.id]
    return await render(request, "marketplace/registry/admin_agency.html", agency=agency, quals=quals)


@get("/admin/owners/{owner_id:int}", opt=roles("admin", "regulator"))
async def admin_owner_page(request: Request, db: DB, owner_id: FromPath[int]) -> Template:
    return await render(request, "marketplace/registry/admin_owner.html", owner=await registry.get_owner(db, owner_id))


async def _form_action(request: Request, back: str, action) -> Response:
    """Run a page form action; on a domain error go back with the message."""
    try:
        await action(await read_input(request))
    except DomainError as exc:
        msg = exc.message + ("" if not exc.fields else " " + " ".join(exc.fields.values()))
        await flash(request, msg, "error")
        return redirect(back)
    await flash(request, _("Saved."))
    return redirect(back)


async def _credit_for_new_agency(request: Request, agency_id: int, decision: str) -> None:
    """An approved agency gets its (prior) credit score now, so it is ranked at once."""
    if decision == "approve":
        await request.app.state.queue.enqueue("recompute_credit", agency_id)


async def _rerank(request: Request, agency_id: int) -> None:
    """A suspension or reinstatement shows on the ranking page at once (the recompute renews its cache)."""
    await request.app.state.queue.enqueue("recompute_credit", agency_id)


@post("/admin/agencies/{agency_id:int}/decision", opt=roles("admin"))
async def admin_agency_decision(request: Request, db: DB, agency_id: FromPath[int]) -> Response:
    async def act(data):
        d = parse(Decision, data)
        await registry.decide_agency(db, actor_of(_user(request)), agency_id, d.decision, d.reason)
        await _credit_for_new_agency(request, agency_id, d.decision)
    return await _form_action(request, f"/admin/agencies/{agency_id}", act)


@post("/admin/agencies/{agency_id:int}/status", opt=roles("admin"))
async def admin_agency_status(request: Request, db: DB, agency_id: FromPath[int]) -> Response:
    async def act(data):
        d = parse(StatusChange, data)
        await registry.change_agency_status(db, actor_of(_user(request)), agency_id, d.action, d.reason)
        await _rerank(request, agency_id)
    return await _form_action(request, f"/admin/agencies/{agency_id}", act)


@post("/admin/owners/{owner_id:int}/decision", opt=roles("admin"))
async def admin_owner_decision(request: Request, db: DB, owner_id: FromPath[int]) -> Response:
    async def act(data):
        d = parse(Decision, data)
        await registry.decide_owner(db, actor_of(_user(request)), owner_id, d.decision, d.reason)
    return await _form_action(request, f"/admin/owners/{owner_id}", act)


@post("/admin/qualifications/{qualification_id:int}/decision", opt=roles("admin"))
async def admin_qualification_decision(request: Request, db: DB, qualification_id: FromPath[int]) -> Response:
    back = str(request.query_params.get("back", "/admin/qualifications"))
    back = back if back.startswith("/admin/") else "/admin/qualifications"

    async def act(data):
        d = parse(Decision, data)
        await registry.decide_qualification(db, actor_of(_user(request)), qualification_id, d.decision, d.reason)
    return await _form_action(request, back, act)


@get("/admin/qualifications", opt=roles("admin", "regulator"))
async def admin_qualifications_page(request: Request, db: DB, page: Page = 1) -> Template:
    return await render(request, "marketplace/registry/admin_qualifications.html",
                        listing=await registry.pending_qualifications(db, page=page))


@post("/api/admin/agencies/{agency_id:int}/decision", opt=roles("admin"), status_code=200,
      operation_class=body(Decision))
async def api_agency_decision(request: Request, db: DB, agency_id: FromPath[int]) -> AgencyOut:
    """Body: `{"decision": "approve"|"reject", "reason": str}` (reason required to reject)."""
    d = parse(Decision, await read_input(request))
    agency = await registry.decide_agency(db, actor_of(_user(request)), agency_id, d.decision, d.reason)
    await _credit_for_new_agency(request, agency_id, d.decision)
    return await _agency_out(db, agency, public=False)


@post("/api/admin/agencies/{agency_id:int}/status", opt=roles("admin"), status_code=200,
      operation_class=body(StatusChange))
async def api_agency_status(request: Request, db: DB, agency_id: FromPath[int]) -> AgencyOut:
    """Body: `{"action": "suspend"|"reinstate", "reason": str}`."""
    d = parse(StatusChange, await read_input(request))
    agency = await registry.change_agency_status(db, actor_of(_user(request)), agency_id, d.action, d.reason)
    await _rerank(request, agency_id)
    return await _agency_out(db, agency, public=False)


@post("/api/admin/owners/{owner_id:int}/decision", opt=roles("admin"), status_code=200,
      operation_class=body(Decision))
async def api_owner_decision(request: Request, db: DB, owner_id: FromPath[int]) -> OwnerOut:
    d = parse(Decision, await read_input(request))
    return _owner_out(await registry.decide_owner(db, actor_of(_user(request)), owner_id, d.decision, d.reason))


@post("/api/admin/qualifications/{qualification_id:int}/decision", opt=roles("admin"), status_code=200,
      operation_class=body(Decision))
async def api_qualification_decision(request: Request, db: DB, qualification_id: FromPath[int]) -> dict[str, Any]:
    d = parse(Decision, await read_input(request))
    q = await registry.decide_qualification(db, actor_of(_user(request)), qualification_id, d.decision, d.reason)
    return {"id": q.id, "status": q.status}


# ---- categories ---------------------------------------------------------------------

def _cat_out(c) -> CategoryOut:
    return CategoryOut(id=c.id, code=c.code, name_zh=c.name_zh, name_en=c.name_en, active=c.active,
                       sort_order=c.sort_order)


@get("/api/categories", opt=roles(PUBLIC))
async def api_categories(db: DB) -> list[CategoryOut]:
    return [_cat_out(c) for c in await registry.list_categories(db)]


@post("/api/admin/categories", opt=roles("admin"), status_code=201,
      operation_class=body(CategoryIn))
async def api_category_create(request: Request, db: DB) -> CategoryOut:
    """Body: CategoryIn — code, name_zh, name_en, active, sort_order."""
    return _cat_out(await registry.save_category(db, actor_of(_user(request)), parse(CategoryIn, await read_input(request))))


@put("/api/admin/categories/{category_id:int}", opt=roles("admin"),
      operation_class=body(CategoryIn))
async def api_category_update(request: Request, db: DB, category_id: FromPath[int]) -> CategoryOut:
    return _cat_out(await registry.save_category(db, actor_of(_user(request)),
                                                 parse(CategoryIn, await read_input(request)), category_id))


@get("/admin/categories", opt=roles("admin"))
async def categories_page(request: Request, db: DB) -> Template:
    return await render(request, "marketplace/registry/admin_categories.html",
                        categories=await registry.list_categories(db, active_only=False))


def _checkbox(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "active": data.get("active") in ("on", "true", "1", True)}


@post("/admin/categories", opt=roles("admin"))
async def categories_create(request: Request, db: DB) -> Response:
    async def act(data):
        await registry.save_category(db, actor_of(_user(request)), parse(CategoryIn, _checkbox(data)))
    return await _form_action(request, "/admin/categories", act)


@post("/admin/categories/{category_id:int}", opt=roles("admin"))
async def categories_update(request: Request, db: DB, category_id: FromPath[int]) -> Response:
    async def act(data):
        await registry.save_category(db, actor_of(_user(request)), parse(CategoryIn, _checkbox(data)), category_id)
    return await _form_action(request, "/admin/categories", act)


# ---- regulator accounts ------------------------------------------------------------------

async def _create_regulator(db: AsyncSession, actor: str, data: RegulatorIn) -> User:
    user = await new_user(db, username=data.username, password=data.password, role="regulator",
                          display_name=data.display_name)
    await append_event(db, actor=actor, kind="account.regulator_created", subject=f"user:{user.username}",
                       data={"display_name": data.display_name})
    await db.commit()
    return user


@get("/admin/regulators", opt=roles("admin"))
async def regulators_page(request: Request, db: DB) -> Template:
    from sqlmodel import select
    regs = (await db.exec(select(User).where(User.role == "regulator").order_by(User.id))).all()
    return await render(request, "marketplace/registry/admin_regulators.html", regulators=regs)


@post("/admin/regulators", opt=roles("admin"))
async def regulators_create(request: Request, db: DB) -> Response:
    async def act(data):
        await _create_regulator(db, actor_of(_user(request)), parse(RegulatorIn, data))
    return await _form_action(request, "/admin/regulators", act)


@post("/api/admin/regulators", opt=roles("admin"), status_code=201,
      operation_class=body(RegulatorIn))
async def api_regulator_create(request: Request, db: DB) -> dict[str, Any]:
    """Body: RegulatorIn — username, password, display_name."""
    user = await _create_regulator(db, actor_of(_user(request)), parse(RegulatorIn, await read_input(request)))
    return {"id": user.id, "username": user.username, "role": user.role}


# ---- public directory ---------------------------------------------------------------------

@get("/agencies", opt=roles(PUBLIC))
async def directory_page(request: Request, db: DB, page: Page = 1, q: FromQuery[str | None] = None,
                         category: FromQuery[str | None] = None) -> Template:
    listing = await registry.list_orgs(db, Agency, status=APPROVED, q=q, category=category, page=page)
    quals = await registry.qualifications_of(db, [a.id for a in listing.items])
    return await render(request, "marketplace/registry/directory.html", listing=listing, quals=quals, q=q or "",
                        category=category or "", categories=await registry.list_categories(db))


@get("/agencies/{code:str}", opt=roles(PUBLIC))
async def agency_public_page(request: Request, db: DB, code: FromPath[str]) -> Template:
    agency = await registry.get_agency_by_code(db, code)
    if agency.status not in (APPROVED, "suspended"):
        raise registry.NotFound(_("No such agency."))
    quals = [(q, c) for q, c in (await registry.qualifications_of(db, [agency.id]))[agency.id] if q.status == APPROVED]
    return await render(request, "marketplace/registry/agency_public.html", agency=agency, quals=quals)


@get("/api/agencies", opt=roles(PUBLIC))
async def api_directory(db: DB, page: Page = 1, q: FromQuery[str | None] = None,
                        category: FromQuery[str | None] = None,
                        per_page: Annotated[int, QueryParameter(name="per_page", ge=1, le=MAX_PER_PAGE)] = 20) -> dict[str, Any]:
    listing = await registry.list_orgs(db, Agency, status=APPROVED, q=q, category=category, page=page,
                                       per_page=per_page)
    items = [(await _agency_out(db, a, public=True)).model_dump(mode="json") for a in listing.items]
    return {"items": items, "total": listing.total, "page": listing.page, "per_page": listing.per_page}


@get("/api/agencies/{code:str}", opt=roles(PUBLIC))
async def api_agency_public(db: DB, code: FromPath[str]) -> AgencyPublicOut:
    agency = await registry.get_agency_by_code(db, code)
    if agency.status not in (APPROVED, "suspended"):
        raise registry.NotFound(_("No such agency."))
    return await _agency_out(db, agency, public=True)


route_handlers = [
    signup_choice, signup_agency_page, signup_agency_submit, signup_owner_page, signup_owner_submit,
    api_signup_agency, api_signup_owner, agency_profile_page, agency_profile_submit, agency_qualification_submit,
    api_agency_profile, api_agency_profile_update, api_agency_qualification, registrations_page, api_registrations,
    admin_agency_page, admin_owner_page, admin_agency_decision, admin_agency_status, admin_owner_decision,
    admin_qualification_decision, admin_qualifications_page, api_agency_decision, api_agency_status,
    api_owner_decision, api_qualification_decision, api_categories, api_category_create, api_category_update,
    categories_page, categories_create, categories_update, regulators_page, regulators_create,
    api_regulator_create, directory_page, agency_public_page, api_directory, api_agency_public,
]
